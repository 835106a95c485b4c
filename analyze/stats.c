/*
 * stats.c: Mann-Whitney U with tie correction and a reservoir sampler (see
 * stats.h). Ranks come from walking the two sorted samples together, so
 * the test costs two sorts and one merge, without a combined array.
 */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/rp.h"

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

double an_norm_sf(double z) { return 0.5 * erfc(z / sqrt(2.0)); }

void an_mann_whitney(int64_t *a, size_t na, int64_t *b, size_t nb,
                     struct an_mw *out)
{
    memset(out, 0, sizeof *out);
    out->p = 1;
    if (!na || !nb)
        return;
    qsort(a, na, sizeof *a, cmp_i64);
    qsort(b, nb, sizeof *b, cmp_i64);
    double r1 = 0, ties = 0, rank = 1; /* rank of the next value */
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        int64_t v;
        if (j >= nb || (i < na && a[i] <= b[j]))
            v = a[i];
        else
            v = b[j];
        size_t ta = 0, tb = 0;
        while (i < na && a[i] == v) {
            i++;
            ta++;
        }
        while (j < nb && b[j] == v) {
            j++;
            tb++;
        }
        double t = (double)(ta + tb);
        double avg = rank + (t - 1) / 2;
        r1 += avg * (double)ta;
        ties += t * t * t - t;
        rank += t;
    }
    double n1 = (double)na, n2 = (double)nb, n = n1 + n2;
    out->u1 = r1 - n1 * (n1 + 1) / 2;
    double mu = n1 * n2 / 2;
    double var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)));
    if (!(var > 0))
        return;
    double d = out->u1 - mu;
    /* continuity correction towards the mean */
    double dc = d > 0 ? d - 0.5 : d < 0 ? d + 0.5 : 0;
    if ((d > 0 && dc < 0) || (d < 0 && dc > 0))
        dc = 0;
    out->z = dc / sqrt(var);
    double p = 2 * an_norm_sf(fabs(out->z));
    out->p = p > 1 ? 1 : p;
}

void an_reservoir_init(struct an_reservoir *r, size_t max)
{
    memset(r, 0, sizeof *r);
    r->max = max;
    r->rng = 0x9e3779b97f4a7c15ull;
}

void an_reservoir_cleanup(struct an_reservoir *r)
{
    free(r->v);
    r->v = NULL;
    r->n = r->cap = 0;
}

static uint64_t next_rand(uint64_t *s)
{
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int an_reservoir_add(struct an_reservoir *r, int64_t v)
{
    r->seen++;
    if (r->n < r->max) {
        if (r->n == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 64;
            if (cap > r->max)
                cap = r->max;
            int64_t *nv = realloc(r->v, cap * sizeof *nv);
            if (!nv)
                return RP_ENOMEM;
            r->v = nv;
            r->cap = cap;
        }
        r->v[r->n++] = v;
        return 0;
    }
    uint64_t k = next_rand(&r->rng) % r->seen;
    if (k < r->max)
        r->v[k] = v;
    return 0;
}

/* Number of values > t in sorted v[0..n). */
static size_t count_above(const int64_t *v, size_t n, int64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return n - lo;
}

/* log of the hypergeometric probability of k successes in a draw of n from
 * N with K successes. */
static double log_hyper(double k, double n, double K, double N)
{
    return lgamma(K + 1) - lgamma(k + 1) - lgamma(K - k + 1) +
           lgamma(N - K + 1) - lgamma(n - k + 1) - lgamma(N - K - n + k + 1) -
           (lgamma(N + 1) - lgamma(n + 1) - lgamma(N - n + 1));
}

void an_quantile_test(const int64_t *a, size_t na, const int64_t *b,
                      size_t nb, double pct, struct an_qtest *out)
{
    memset(out, 0, sizeof *out);
    out->p = 1;
    if (!na || !nb)
        return;
    /* pooled nearest-rank percentile by walking both sorted arrays */
    size_t n = na + nb;
    size_t rank = (size_t)ceil(pct / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    size_t i = 0, j = 0;
    int64_t t = 0;
    for (size_t r = 0; r < rank; r++) {
        if (j >= nb || (i < na && a[i] <= b[j]))
            t = a[i++];
        else
            t = b[j++];
    }
    out->t = t;
    size_t ea = count_above(a, na, t), eb = count_above(b, nb, t);
    out->above_a = ea;
    out->above_b = eb;
    out->diff = (double)ea / (double)na - (double)eb / (double)nb;
    out->p = an_two_prop_p(ea, na, eb, nb);
}

double an_two_prop_p(uint64_t ea, uint64_t na, uint64_t eb, uint64_t nb)
{
    if (!na || !nb)
        return 1;
    double K = (double)(ea + eb), N = (double)(na + nb), A = (double)na;
    if (K == 0 || K == N)
        return 1;
    double small = K < N - K ? K : N - K;
    if (small <= 500) {
        /* Fisher: sum the probabilities of tables as or less likely */
        double kmin = K - (N - A) > 0 ? K - (N - A) : 0;
        double kmax = K < A ? K : A;
        double lp0 = log_hyper((double)ea, A, K, N), sum = 0;
        for (double k = kmin; k <= kmax; k++) {
            double lp = log_hyper(k, A, K, N);
            if (lp <= lp0 + 1e-7)
                sum += exp(lp);
        }
        return sum > 1 ? 1 : sum;
    }
    double pp = K / N;
    double diff = (double)ea / A - (double)eb / (double)nb;
    double se = sqrt(pp * (1 - pp) * (1 / A + 1 / (double)nb));
    if (!(se > 0))
        return 1;
    double p = 2 * an_norm_sf(fabs(diff) / se);
    return p > 1 ? 1 : p;
}

double an_sign_test_p(uint64_t k, uint64_t n)
{
    if (!n)
        return 1;
    uint64_t lo = k < n - k ? k : n - k;
    if (n > 2000) {
        /* normal approximation with continuity correction */
        double z = ((double)n / 2 - (double)lo - 0.5) /
                   sqrt((double)n / 4);
        double p = 2 * an_norm_sf(z);
        return p > 1 ? 1 : p;
    }
    double sum = 0, ln2 = log(2);
    for (uint64_t i = 0; i <= lo; i++)
        sum += exp(lgamma((double)n + 1) - lgamma((double)i + 1) -
                   lgamma((double)(n - i) + 1) - (double)n * ln2);
    double p = 2 * sum;
    return p > 1 ? 1 : p;
}
