/*
 * stats.h: the significance test analyze uses to decide whether a latency
 * change is real: the two-sided Mann-Whitney U test with the normal
 * approximation, tie correction and continuity correction (as
 * scipy.stats.mannwhitneyu(..., method="asymptotic") computes it), plus a
 * deterministic reservoir sample that bounds the test's input size.
 */
#ifndef RP_STATS_H
#define RP_STATS_H

#include <stddef.h>
#include <stdint.h>

struct an_mw {
    double u1;      /* U statistic of the first sample */
    double z;       /* standardized U1 (continuity-corrected), sign: >0
                       when the first sample tends to be larger */
    double p;       /* two-sided p-value; 1 when a side is empty or all
                       values are equal */
};

/* Runs the test on a[0..na) and b[0..nb). The arrays are sorted in place.
 * Never fails. */
void an_mann_whitney(int64_t *a, size_t na, int64_t *b, size_t nb,
                     struct an_mw *out);

/* Quantile test: do a and b differ in how often they exceed their pooled
 * p-th percentile? (Mood's median test for p = 50, generalized.) The
 * pooled percentile t is taken from both samples together; the counts of
 * values > t are compared with Fisher's exact test when the smaller margin
 * is at most 500, else with a two-proportion z-test. Under "same
 * distribution" the labels are exchangeable, so the test is valid for any
 * percentile however few values lie beyond it. */
struct an_qtest {
    int64_t t;          /* pooled percentile */
    uint64_t above_a, above_b; /* values > t */
    double diff;        /* share above in a minus share above in b */
    double p;           /* two-sided p-value; 1 when undecidable */
};
/* a and b must be sorted ascending (an_mann_whitney leaves them so). */
void an_quantile_test(const int64_t *a, size_t na, const int64_t *b,
                      size_t nb, double pct, struct an_qtest *out);

/* Two-sided test that xa of na and xb of nb are the same share: Fisher's
 * exact test when the smaller margin is at most 500, else a two-proportion
 * z-test. 1 when undecidable (a side empty, or all or none above). */
double an_two_prop_p(uint64_t xa, uint64_t na, uint64_t xb, uint64_t nb);

/* Exact two-sided sign test (binomial, p = 1/2): the p-value of k of n
 * discordant pairs going one way (McNemar's test for paired shares);
 * normal approximation above 2000 pairs. 1 when n is 0. */
double an_sign_test_p(uint64_t k, uint64_t n);

/* Upper tail of the standard normal distribution, P(Z > z). */
double an_norm_sf(double z);

/* Reservoir sampling (algorithm R) with a fixed-seed generator, so two
 * analyses of the same data pick the same sample. */
struct an_reservoir {
    int64_t *v;      /* kept values */
    size_t n;        /* values kept */
    size_t cap;      /* allocated */
    size_t max;      /* reservoir size */
    uint64_t seen;   /* values offered */
    uint64_t rng;    /* generator state */
};
void an_reservoir_init(struct an_reservoir *r, size_t max);
void an_reservoir_cleanup(struct an_reservoir *r);
/* Returns 0 or RP_ENOMEM. */
int an_reservoir_add(struct an_reservoir *r, int64_t v);

#endif
