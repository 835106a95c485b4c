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
#ifndef RP_HIST_H
#define RP_HIST_H

#include <stdint.h>

struct hist;

/* Largest value recorded as itself; larger values are clamped to it (the
 * true maximum is still reported by hist_max). About 76 hours. */
#define HIST_MAX_VALUE ((int64_t)1 << 38)

/* Returns a new empty histogram, or NULL when out of memory. Free it with
 * hist_free (which accepts NULL). */
struct hist *hist_new(void);
void hist_free(struct hist *h);
/* Forgets every value and keeps the memory. */
void hist_reset(struct hist *h);

/* Records value v (negative values count as 0) n times. Returns 0, or
 * RP_ENOMEM when a bucket row could not be allocated (h is unchanged). */
int hist_record(struct hist *h, int64_t v);
int hist_record_n(struct hist *h, int64_t v, uint64_t n);
/* Adds every value of src to dst. Returns 0 or RP_ENOMEM (dst may then
 * hold part of src). */
int hist_merge(struct hist *dst, const struct hist *src);

/* The value at percentile p (0..100): the nearest-rank value, within the
 * histogram's precision and clamped to [min, max]. 0 when empty. */
int64_t hist_value_at_percentile(const struct hist *h, double p);
uint64_t hist_count(const struct hist *h);
int64_t hist_min(const struct hist *h); /* 0 when empty */
int64_t hist_max(const struct hist *h); /* 0 when empty */
double hist_mean(const struct hist *h); /* exact; 0 when empty */

/* Walks the non-empty buckets in increasing order; lives on the stack:
 *   struct hist_iter it; hist_iter_init(&it, h);
 *   while (hist_iter_next(&it)) use(it.value_us, it.count, it.cumulative);
 */
struct hist_iter {
    const struct hist *h;
    int index;            /* next bucket to look at */
    int64_t value_us;     /* representative (mid) value of this bucket */
    int64_t highest_us;   /* highest value that falls in this bucket */
    uint64_t count;       /* values in this bucket */
    uint64_t cumulative;  /* values in this bucket and all lower ones */
};
void hist_iter_init(struct hist_iter *it, const struct hist *h);
int hist_iter_next(struct hist_iter *it); /* 1 while a bucket was found */

#endif
