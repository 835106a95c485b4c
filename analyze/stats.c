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
