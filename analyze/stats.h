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
