/*
 * hist.c: the log-linear histogram (see hist.h). Row 0 counts the values
 * 0..127 one by one; row k >= 1 covers [2^(k+6), 2^(k+7)) in 128 buckets of
 * width 2^(k-1). Rows are allocated on first use and carry their own total
 * so percentile walks skip empty rows.
 */
#include "hist.h"

#include <stdlib.h>
#include <string.h>

#include "common/rp.h"

#define SUB 128
#define ROWS 32 /* row 31 ends at 2^38 */

struct hist_row {
    uint64_t total;
    uint64_t n[SUB];
};

struct rp_hist {
    struct hist_row *row[ROWS];
    uint64_t count;
    int64_t min, max;
    double sum;
};

struct rp_hist *rp_hist_new(void)
{
    struct rp_hist *h = calloc(1, sizeof *h);
    return h;
}

void rp_hist_free(struct rp_hist *h)
{
    if (!h)
        return;
    for (int i = 0; i < ROWS; i++)
        free(h->row[i]);
    free(h);
}

void rp_hist_reset(struct rp_hist *h)
{
    for (int i = 0; i < ROWS; i++)
        if (h->row[i])
            memset(h->row[i], 0, sizeof *h->row[i]);
    h->count = 0;
    h->min = h->max = 0;
    h->sum = 0;
}

static void locate(int64_t v, int *r, int *s)
{
    if (v < SUB) {
        *r = 0;
        *s = (int)v;
        return;
    }
    if (v >= RP_HIST_MAX_VALUE)
        v = RP_HIST_MAX_VALUE - 1;
    int e = 63 - __builtin_clzll((unsigned long long)v); /* >= 7 */
    int k = e - 6;
    *r = k;
    *s = (int)((v >> (k - 1)) - SUB);
}

/* Lowest value and width of bucket (r, s). */
static void bucket_range(int r, int s, int64_t *lo, int64_t *width)
{
    if (r == 0) {
        *lo = s;
        *width = 1;
        return;
    }
    *width = (int64_t)1 << (r - 1);
    *lo = ((int64_t)SUB + s) << (r - 1);
}

int rp_hist_record_n(struct rp_hist *h, int64_t v, uint64_t n)
{
    if (n == 0)
        return 0;
    if (v < 0)
        v = 0;
    int r, s;
    locate(v, &r, &s);
    if (!h->row[r]) {
        h->row[r] = calloc(1, sizeof *h->row[r]);
        if (!h->row[r])
            return RP_ENOMEM;
    }
    h->row[r]->n[s] += n;
    h->row[r]->total += n;
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (h->count == 0 || v > h->max)
        h->max = v;
    h->count += n;
    h->sum += (double)v * (double)n;
    return 0;
}

int rp_hist_record(struct rp_hist *h, int64_t v)
{
    return rp_hist_record_n(h, v, 1);
}

int rp_hist_merge(struct rp_hist *dst, const struct rp_hist *src)
{
    if (!src->count)
        return 0;
    for (int r = 0; r < ROWS; r++) {
        if (!src->row[r] || !src->row[r]->total)
            continue;
        if (!dst->row[r]) {
            dst->row[r] = calloc(1, sizeof *dst->row[r]);
            if (!dst->row[r])
                return RP_ENOMEM;
        }
        for (int s = 0; s < SUB; s++)
            dst->row[r]->n[s] += src->row[r]->n[s];
        dst->row[r]->total += src->row[r]->total;
    }
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (dst->count == 0 || src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
    return 0;
}

static int64_t clamp(const struct rp_hist *h, int64_t v)
{
    if (v < h->min)
        return h->min;
    if (v > h->max)
        return h->max;
    return v;
}

int64_t rp_hist_value_at_percentile(const struct rp_hist *h, double p)
{
    if (!h->count)
        return 0;
    if (!(p > 0))
        return h->min;
    if (p >= 100)
        return h->max;
    double want = p / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    uint64_t cum = 0;
    for (int r = 0; r < ROWS; r++) {
        const struct hist_row *row = h->row[r];
        if (!row || !row->total)
            continue;
        if (cum + row->total < rank) {
            cum += row->total;
            continue;
        }
        for (int s = 0; s < SUB; s++) {
            cum += row->n[s];
            if (cum >= rank) {
                int64_t lo, w;
                bucket_range(r, s, &lo, &w);
                return clamp(h, lo + (w - 1) / 2);
            }
        }
    }
    return h->max;
}

uint64_t rp_hist_count(const struct rp_hist *h) { return h->count; }
int64_t rp_hist_min(const struct rp_hist *h) { return h->count ? h->min : 0; }
int64_t rp_hist_max(const struct rp_hist *h) { return h->count ? h->max : 0; }
double rp_hist_mean(const struct rp_hist *h)
{
    return h->count ? h->sum / (double)h->count : 0;
}

void rp_hist_iter_init(struct rp_hist_iter *it, const struct rp_hist *h)
{
    memset(it, 0, sizeof *it);
    it->h = h;
}

int rp_hist_iter_next(struct rp_hist_iter *it)
{
    const struct rp_hist *h = it->h;
    while (it->index < ROWS * SUB) {
        int r = it->index / SUB, s = it->index % SUB;
        if (!h->row[r] || !h->row[r]->total) {
            it->index = (r + 1) * SUB;
            continue;
        }
        it->index++;
        uint64_t n = h->row[r]->n[s];
        if (!n)
            continue;
        int64_t lo, w;
        bucket_range(r, s, &lo, &w);
        it->count = n;
        it->cumulative += n;
        it->value_us = clamp(h, lo + (w - 1) / 2);
        it->highest_us = clamp(h, lo + w - 1);
        return 1;
    }
    return 0;
}
