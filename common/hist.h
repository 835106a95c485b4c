/*
 * hist.h: a log-linear latency histogram in the spirit of HdrHistogram.
 * Values are int64_t microseconds from 0 to about 76 hours; values below 128
 * are counted exactly and every power of two above is split into 128 linear
 * buckets, so a reported value is within 0.4% of a recorded one (the bucket
 * midpoint is reported). Bucket rows are allocated lazily, 1 KiB per power
 * of two actually used, so a histogram that sees one latency band costs a
 * few KiB. Histograms merge exactly (bucket-wise addition), which is what
 * lets analyze keep one per endpoint and per second and combine them.
 */
#ifndef RP_COMMON_HIST_H
#define RP_COMMON_HIST_H

#include <stdint.h>

struct rp_hist;

/* Largest value recorded as itself; larger values are clamped to it (the
 * true maximum is still reported by rp_hist_max). About 76 hours. */
#define RP_HIST_MAX_VALUE ((int64_t)1 << 38)

/* Returns a new empty histogram, or NULL when out of memory. Free it with
 * rp_hist_free (which accepts NULL). */
struct rp_hist *rp_hist_new(void);
void rp_hist_free(struct rp_hist *h);
/* Forgets every value and keeps the memory. */
void rp_hist_reset(struct rp_hist *h);

/* Records value v (negative values count as 0) n times. Returns 0, or
 * RP_ENOMEM when a bucket row could not be allocated (h is unchanged). */
int rp_hist_record(struct rp_hist *h, int64_t v);
int rp_hist_record_n(struct rp_hist *h, int64_t v, uint64_t n);
/* Adds every value of src to dst. Returns 0 or RP_ENOMEM (dst may then
 * hold part of src). */
int rp_hist_merge(struct rp_hist *dst, const struct rp_hist *src);

/* The value at percentile p (0..100): the nearest-rank value, within the
 * histogram's precision and clamped to [min, max]. 0 when empty. */
int64_t rp_hist_value_at_percentile(const struct rp_hist *h, double p);
uint64_t rp_hist_count(const struct rp_hist *h);
int64_t rp_hist_min(const struct rp_hist *h); /* 0 when empty */
int64_t rp_hist_max(const struct rp_hist *h); /* 0 when empty */
double rp_hist_mean(const struct rp_hist *h); /* exact; 0 when empty */

/* Walks the non-empty buckets in increasing order; lives on the stack:
 *   struct rp_hist_iter it; rp_hist_iter_init(&it, h);
 *   while (rp_hist_iter_next(&it)) use(it.value_us, it.count, it.cumulative);
 */
struct rp_hist_iter {
    const struct rp_hist *h;
    int index;            /* next bucket to look at */
    int64_t value_us;     /* representative (mid) value of this bucket */
    int64_t highest_us;   /* highest value that falls in this bucket */
    uint64_t count;       /* values in this bucket */
    uint64_t cumulative;  /* values in this bucket and all lower ones */
};
void rp_hist_iter_init(struct rp_hist_iter *it, const struct rp_hist *h);
int rp_hist_iter_next(struct rp_hist_iter *it); /* 1 while a bucket was found */

#endif
