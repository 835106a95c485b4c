/*
 * saturation.c: whether, and from when, the candidate's target stopped
 * keeping pace with the load it was offered. A claim needs evidence that a
 * stall, a burst or a slower release cannot fake:
 *   - only open-model runs (--speed, --rate): in a closed loop (--max) the
 *     generator waits for the target, so nothing queues and the run's
 *     throughput is the target's answer to its concurrency, not a limit;
 *   - from some point to the end of the offered load, the offered rate
 *     holds (>= 90% of what it was just before) while the target completes
 *     fewer than 90% of it, from that point on (its first window) as over
 *     the whole span;
 *   - the target's backlog (sent to it but not done: the generator's own
 *     lateness does not count) grows by at least 10% of what came due over
 *     that span, in most (60%) of its buckets: a burst at a high multiple
 *     or a stall of the host queues and then drains, so its backlog falls
 *     as often as it rises;
 *   - Little's law: at the end, more requests are in flight than twice
 *     what a target keeping pace would hold (achieved rate x its early mean
 *     latency), and the median latency has at least doubled.
 * The sentence it supports is "throughput stopped tracking offered load at
 * X req/s", never a capacity: finding the limit needs stepped load.
 */
#include "analyze/an_priv.h"

#include <math.h>
#include <stdlib.h>

/* Median of the per-bucket p50 latencies of ticks [lo, hi), or -1. */
static int64_t median_p50(const struct an_timeline *a, size_t lo, size_t hi)
{
    int64_t v[AN_MAX_TICKS];
    size_t m = 0;
    for (size_t i = lo; i < hi && m < AN_MAX_TICKS; i++)
        if (a->tick[i].lat && rp_hist_count(a->tick[i].lat))
            v[m++] = rp_hist_value_at_percentile(a->tick[i].lat, 50);
    if (!m)
        return -1;
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            int64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[m / 2];
}

void an_find_saturation(struct an_analysis *an)
{
    struct an_saturation *sat = &an->sat;
    const struct an_timeline *a = &an->tl[AN_CAND];
    size_t n = a->nticks;
    sat->found = 0;
    if (!an->set[AN_CAND].open_model || n < 8)
        return;
    size_t last_due = 0;
    for (size_t i = 0; i < n; i++)
        if (a->tick[i].due)
            last_due = i;
    double secs = (double)a->tick_us / 1e6;
    /* the target's backlog at the end of each tick: sent but not done */
    double *backlog = malloc(n * sizeof *backlog);
    if (!backlog)
        return;
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc += (double)a->tick[i].sent - (double)a->tick[i].done;
        backlog[i] = acc;
    }
    size_t early = (last_due + 1) / 4;
    int64_t base_p50 = median_p50(a, 0, early > 0 ? early : 1);
    double early_done = 0, early_lat = 0;
    for (size_t i = 0; i < (early > 0 ? early : 1); i++) {
        early_done += (double)a->tick[i].done;
        early_lat += a->tick[i].lat_sum_us;
    }
    double w0_s = early_done > 0 ? early_lat / early_done / 1e6 : 0;
    size_t w = n / 8 < 3 ? 3 : n / 8;
    size_t min_span = (size_t)ceil(500000.0 / (double)a->tick_us);
    if (min_span < w)
        min_span = w;
    if (base_p50 < 0 || !(w0_s > 0))
        goto done;
    for (size_t i = early > w ? early : w; i + min_span <= last_due + 1;
         i++) {
        size_t m = last_due + 1 - i;
        double due_after = 0, done_after = 0, due_before = 0;
        size_t grew = 0;
        for (size_t j = i; j <= last_due; j++) {
            due_after += (double)a->tick[j].due;
            done_after += (double)a->tick[j].done;
            grew += backlog[j] > backlog[j - 1];
        }
        for (size_t j = i - w; j < i; j++)
            due_before += (double)a->tick[j].due;
        double offered = due_after / (double)m / secs;
        double achieved = done_after / (double)m / secs;
        double offered_before = due_before / (double)w / secs;
        double start = backlog[i - 1], end = backlog[last_due];
        double little = achieved * w0_s;
        if (offered < 0.9 * offered_before || achieved >= 0.9 * offered)
            continue;
        /* and it falls behind right there, not only later on */
        double due_w = 0, done_w = 0;
        for (size_t j = i; j < i + w && j <= last_due; j++) {
            due_w += (double)a->tick[j].due;
            done_w += (double)a->tick[j].done;
        }
        size_t wend = i + w - 1 <= last_due ? i + w - 1 : last_due;
        if (done_w >= 0.9 * due_w || backlog[wend] <= backlog[i - 1])
            continue;
        if (end - start < 0.1 * due_after || (double)grew < 0.6 * (double)m)
            continue;
        if (end < 2 * little + 10)
            continue;
        int64_t p50 = median_p50(a, i, last_due + 1);
        if (p50 < 2 * base_p50 || p50 < base_p50 + 1000)
            continue;
        sat->found = 1;
        sat->t_us = (int64_t)i * a->tick_us;
        sat->achieved_rps = achieved;
        sat->offered_rps = offered;
        sat->inflight_start = start;
        sat->inflight_end = end;
        sat->little = little;
        sat->p50_us = p50;
        break;
    }
done:
    free(backlog);
}
