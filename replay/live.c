/*
 * live.c: the live statistics behind `replay --web`: what the dashboard
 * page, /api/stats and /metrics show while the run goes on. The recorder
 * feeds it with the results it drains (one lock per drained batch, never
 * on an engine's hot path) and the web server's thread reads it under the
 * same mutex. Endpoints are named by proto/endpoint's templates ("GET
 * /users/:id"), at most RP_LIVE_MAX_EP of them, the rest counted as
 * "other", so a Prometheus label set stays bounded whatever the traffic.
 * The time series has one point per second of run time: offered (requests
 * due in that second), achieved (responses completed in it), errors by
 * class, in flight, and latency and lateness percentiles of the requests
 * completed in it. A second's percentiles are final once results for it
 * can no longer arrive (two seconds later: the engines hand results over
 * in batches at most 10 ms old); counts stay exact for late arrivals.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proto/endpoint.h"
#include "replay/replay_int.h"

#define OPEN_SECS 4       /* seconds whose percentiles are still open */
#define FINAL_LAG_S 2     /* a second is final this long after its end */
#define EP_NAME_MAX 200

struct ep {
    char name[EP_NAME_MAX];
    uint64_t count;              /* results of sent requests */
    uint64_t errors;             /* transport errors */
    uint64_t by_status[6];       /* index status/100, 0 = none */
    uint64_t by_class[CORPUS_ERR__COUNT];
    uint64_t count_prev;         /* count at the last second's end */
    uint64_t per_s;              /* results in the last full second */
    struct rp_hist *latency;     /* done - scheduled of responses, µs */
};

struct point {
    int64_t sec;                 /* run second; -1 unused */
    uint64_t offered, achieved, errors, s5xx;
    uint64_t by_class[CORPUS_ERR__COUNT];
    uint64_t inflight;           /* sampled during the second */
    int final;                   /* percentiles below are computed */
    int64_t p50_us, p90_us, p99_us, late_p99_us; /* -1: none */
};

struct rp_live {
    pthread_mutex_t mu;
    struct http_templater *tmpl;
    struct ep ep[RP_LIVE_MAX_EP + 1]; /* the last is "other" */
    int nep;
    int other_used;
    struct point pt[RP_LIVE_SERIES];
    int64_t now_sec;             /* latest run second seen */
    int64_t final_upto;          /* seconds below are final */
    struct {                     /* percentiles of the open seconds */
        int64_t sec;
        struct rp_hist *lat, *late;
    } open[OPEN_SECS];
    uint64_t results, ok, errors, not_sent;
    uint64_t by_status[6];
    uint64_t by_class[CORPUS_ERR__COUNT];
    uint64_t inflight;
    struct rp_hist *latency, *lateness;
};

struct rp_live *replay_live_new(void)
{
    struct rp_live *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    pthread_mutex_init(&l->mu, NULL);
    l->tmpl = http_templater_new(0);
    l->latency = rp_hist_new();
    l->lateness = rp_hist_new();
    int ok = l->tmpl && l->latency && l->lateness;
    for (int i = 0; i < OPEN_SECS; i++) {
        l->open[i].sec = -1;
        l->open[i].lat = rp_hist_new();
        l->open[i].late = rp_hist_new();
        ok = ok && l->open[i].lat && l->open[i].late;
    }
    for (int i = 0; i < RP_LIVE_SERIES; i++)
        l->pt[i].sec = -1;
    snprintf(l->ep[RP_LIVE_MAX_EP].name, EP_NAME_MAX, "other");
    l->ep[RP_LIVE_MAX_EP].latency = rp_hist_new();
    if (!ok || !l->ep[RP_LIVE_MAX_EP].latency) {
        replay_live_free(l);
        return NULL;
    }
    return l;
}

void replay_live_free(struct rp_live *l)
{
    if (!l)
        return;
    http_templater_free(l->tmpl);
    rp_hist_free(l->latency);
    rp_hist_free(l->lateness);
    for (int i = 0; i < OPEN_SECS; i++) {
        rp_hist_free(l->open[i].lat);
        rp_hist_free(l->open[i].late);
    }
    for (int i = 0; i < l->nep; i++)
        rp_hist_free(l->ep[i].latency);
    rp_hist_free(l->ep[RP_LIVE_MAX_EP].latency);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

int replay_live_endpoint(struct rp_live *l, const char *method,
                         const char *target)
{
    char name[EP_NAME_MAX];
    http_endpoint(l->tmpl, method, target, name, sizeof name);
    pthread_mutex_lock(&l->mu);
    int i;
    for (i = 0; i < l->nep; i++)
        if (!strcmp(l->ep[i].name, name))
            goto done;
    if (l->nep == RP_LIVE_MAX_EP || !(l->ep[i].latency = rp_hist_new())) {
        i = RP_LIVE_MAX_EP;
        l->other_used = 1;
        goto done;
    }
    memcpy(l->ep[i].name, name, sizeof name);
    l->nep++;
done:
    pthread_mutex_unlock(&l->mu);
    return i;
}

static struct point *point_at(struct rp_live *l, int64_t sec)
{
    if (sec < 0 || sec <= l->now_sec - RP_LIVE_SERIES)
        return NULL; /* dropped from the series */
    struct point *p = &l->pt[sec % RP_LIVE_SERIES];
    if (p->sec != sec) {
        memset(p, 0, sizeof *p);
        p->sec = sec;
        p->p50_us = p->p90_us = p->p99_us = p->late_p99_us = -1;
    }
    return p;
}

static void finalize(struct rp_live *l, int64_t sec)
{
    struct point *p = point_at(l, sec);
    int k = (int)(sec % OPEN_SECS);
    if (p) {
        p->final = 1;
        if (l->open[k].sec == sec && rp_hist_count(l->open[k].lat)) {
            p->p50_us = rp_hist_value_at_percentile(l->open[k].lat, 50);
            p->p90_us = rp_hist_value_at_percentile(l->open[k].lat, 90);
            p->p99_us = rp_hist_value_at_percentile(l->open[k].lat, 99);
        }
        if (l->open[k].sec == sec && rp_hist_count(l->open[k].late))
            p->late_p99_us = rp_hist_value_at_percentile(l->open[k].late, 99);
    }
    rp_hist_reset(l->open[k].lat);
    rp_hist_reset(l->open[k].late);
    l->open[k].sec = -1;
}

/* Moves the clock to second sec: finalizes what can no longer change and
 * rolls the endpoints' per-second rates over. */
static void advance(struct rp_live *l, int64_t sec)
{
    if (sec <= l->now_sec)
        return;
    int64_t prev = l->now_sec;
    l->now_sec = sec;
    while (l->final_upto <= sec - FINAL_LAG_S)
        finalize(l, l->final_upto++);
    for (int i = 0; i <= RP_LIVE_MAX_EP; i++) {
            struct ep *e = &l->ep[i];
            e->per_s = sec == prev + 1 ? e->count - e->count_prev : 0;
            e->count_prev = e->count;
        }
}

static void add_one(struct rp_live *l, const struct rp_live_rec *r)
{
    l->results++;
    if (r->cls == CORPUS_ERR_NOT_SENT) {
        l->not_sent++;
        return;
    }
    struct ep *e = &l->ep[r->endpoint >= 0 && r->endpoint <= RP_LIVE_MAX_EP
                              ? r->endpoint : RP_LIVE_MAX_EP];
    int sc = r->status > 0 && r->status / 100 < 6 ? r->status / 100 : 0;
    e->count++;
    e->by_status[sc]++;
    e->by_class[r->cls]++;
    l->by_status[sc]++;
    l->by_class[r->cls]++;
    int64_t dsec = r->done_us >= 0 ? r->done_us / 1000000 : l->now_sec;
    if (dsec > l->now_sec)
        advance(l, dsec);
    struct point *ps = point_at(l, r->scheduled_us / 1000000);
    if (ps)
        ps->offered++;
    struct point *pd = point_at(l, dsec);
    int k = (int)(dsec % OPEN_SECS);
    int open = dsec >= l->final_upto;
    if (open && l->open[k].sec != dsec) {
        rp_hist_reset(l->open[k].lat);
        rp_hist_reset(l->open[k].late);
        l->open[k].sec = dsec;
    }
    if (r->sent_us >= 0) {
        int64_t late = r->sent_us - r->scheduled_us;
        (void)rp_hist_record(l->lateness, late);
        if (open)
            (void)rp_hist_record(l->open[k].late, late);
    }
    if (r->cls == CORPUS_ERR_NONE) {
        int64_t lat = r->done_us - r->scheduled_us;
        l->ok++;
        (void)rp_hist_record(l->latency, lat);
        (void)rp_hist_record(e->latency, lat);
        if (open)
            (void)rp_hist_record(l->open[k].lat, lat);
        if (pd)
            pd->achieved++;
        if (pd && sc == 5)
            pd->s5xx++;
    } else {
        l->errors++;
        e->errors++;
        if (pd) {
            pd->errors++;
            pd->by_class[r->cls]++;
        }
    }
}

void replay_live_add(struct rp_live *l, const struct rp_live_rec *v,
                     size_t n, int64_t now_us, uint64_t inflight)
{
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < n; i++)
        add_one(l, &v[i]);
    if (now_us >= 0) {
        advance(l, now_us / 1000000);
        struct point *p = point_at(l, l->now_sec);
        if (p && inflight > p->inflight)
            p->inflight = inflight; /* the second's peak */
    }
    l->inflight = inflight;
    pthread_mutex_unlock(&l->mu);
}

/* ---- /api/stats ---------------------------------------------------------- */

static int json_pcts(struct rp_buf *o, const char *name,
                     const struct rp_hist *h)
{
    if (!rp_hist_count(h))
        return rp_buf_printf(o, "\"%s\":{\"count\":0,\"p50_us\":null,"
                                "\"p90_us\":null,\"p99_us\":null,"
                                "\"max_us\":null}", name);
    return rp_buf_printf(o, "\"%s\":{\"count\":%llu,\"p50_us\":%lld,"
                            "\"p90_us\":%lld,\"p99_us\":%lld,"
                            "\"max_us\":%lld}", name,
                         (unsigned long long)rp_hist_count(h),
                         (long long)rp_hist_value_at_percentile(h, 50),
                         (long long)rp_hist_value_at_percentile(h, 90),
                         (long long)rp_hist_value_at_percentile(h, 99),
                         (long long)rp_hist_max(h));
}

static int json_classes(struct rp_buf *o, const uint64_t *by_class,
                        int skip_zero)
{
    int rc = rp_buf_puts(o, "{"), first = 1;
    for (int k = 1; !rc && k < CORPUS_ERR__COUNT; k++) {
        if (k == CORPUS_ERR_NOT_SENT || (skip_zero && !by_class[k]))
            continue;
        rc = rp_buf_printf(o, "%s\"%s\":%llu", first ? "" : ",",
                           corpus_errclass_name((enum corpus_errclass)k),
                           (unsigned long long)by_class[k]);
        first = 0;
    }
    return rc ? rc : rp_buf_puts(o, "}");
}

static int json_status(struct rp_buf *o, const uint64_t *s)
{
    return rp_buf_printf(o, "{\"1xx\":%llu,\"2xx\":%llu,\"3xx\":%llu,"
                            "\"4xx\":%llu,\"5xx\":%llu}",
                         (unsigned long long)s[1], (unsigned long long)s[2],
                         (unsigned long long)s[3], (unsigned long long)s[4],
                         (unsigned long long)s[5]);
}

static int json_i(struct rp_buf *o, int64_t v)
{
    return v < 0 ? rp_buf_puts(o, "null")
                 : rp_buf_printf(o, "%lld", (long long)v);
}

static const char *mode_name(enum rp_mode m)
{
    return m == RM_RATE ? "rate" : m == RM_MAX ? "max" : "speed";
}

static int json_run(struct rp_buf *o, const struct rp_ctx *c)
{
    int fin = atomic_load(&c->finished);
    int64_t elapsed = fin ? (int64_t)atomic_load(&c->run_end_us)
                          : replay_now(c);
    /* run_id is written before go is set (seq_cst), read after it */
    int rc = atomic_load(&c->go)
                 ? rp_buf_printf(o, "{\"run_id\":%lld,\"label\":",
                                 (long long)c->run_id)
                 : rp_buf_puts(o, "{\"run_id\":null,\"label\":");
    if (!rc)
        rc = c->o->label ? rp_buf_json_str(o, c->o->label,
                                           strlen(c->o->label))
                         : rp_buf_puts(o, "null");
    if (!rc)
        rc = rp_buf_puts(o, ",\"target\":");
    if (!rc)
        rc = rp_buf_json_str(o, c->o->target, strlen(c->o->target));
    if (!rc)
        rc = rp_buf_printf(
            o, ",\"state\":\"%s\",\"mode\":\"%s\",\"multiple\":",
            fin ? "finished"
                : atomic_load(&c->stop) ? "stopping"
                : atomic_load(&c->go) ? "running" : "starting",
            mode_name(c->o->mode));
    if (!rc)
        rc = c->o->mode == RM_MAX
                 ? rp_buf_puts(o, "null")
                 : rp_buf_printf(o, "%g", replay_warp_multiple(c));
    if (!rc)
        rc = rp_buf_printf(o, ",\"elapsed_us\":%lld,\"planned\":",
                           (long long)(elapsed > 0 ? elapsed : 0));
    if (!rc)
        rc = json_i(o, c->total);
    if (!rc)
        rc = rp_buf_printf(o, ",\"sent\":%llu,\"speed_changes\":[",
                           (unsigned long long)atomic_load(&c->sent));
    int n = atomic_load_explicit(&c->warp.n, memory_order_acquire);
    for (int i = 0; !rc && i < n; i++)
        rc = rp_buf_printf(o, "%s{\"at_us\":%lld,\"from\":%g,\"to\":%g}",
                           i ? "," : "",
                           (long long)atomic_load(&c->warp.seg[i].r_us),
                           atomic_load(&c->warp.seg[i].from),
                           atomic_load(&c->warp.seg[i].to));
    /* --steps: every step's start, planned (the run may stop earlier) */
    if (!rc)
        rc = rp_buf_puts(o, "],\"steps\":[");
    for (int i = 0; !rc && i < c->o->nsteps; i++)
        rc = rp_buf_printf(o, "%s{\"step\":%d,\"multiple\":%g,"
                              "\"start_us\":%lld}", i ? "," : "", i + 1,
                           c->o->steps[i],
                           (long long)((int64_t)i * c->o->step_us));
    return rc ? rc : rp_buf_puts(o, "],");
}

int replay_live_json(struct rp_live *l, const struct rp_ctx *c,
                     struct rp_buf *o)
{
    int rc = json_run(o, c);
    pthread_mutex_lock(&l->mu);
    if (!rc)
        rc = rp_buf_printf(o, "\"inflight\":%llu,\"results\":%llu,"
                              "\"responses\":%llu,\"errors\":%llu,"
                              "\"not_sent\":%llu,\"status_classes\":",
                           (unsigned long long)l->inflight,
                           (unsigned long long)l->results,
                           (unsigned long long)l->ok,
                           (unsigned long long)l->errors,
                           (unsigned long long)l->not_sent);
    if (!rc)
        rc = json_status(o, l->by_status);
    if (!rc)
        rc = rp_buf_puts(o, ",\"error_classes\":");
    if (!rc)
        rc = json_classes(o, l->by_class, 0);
    if (!rc)
        rc = rp_buf_puts(o, ",");
    if (!rc)
        rc = json_pcts(o, "latency", l->latency);
    if (!rc)
        rc = rp_buf_puts(o, ",");
    if (!rc)
        rc = json_pcts(o, "lateness", l->lateness);
    if (!rc)
        rc = rp_buf_puts(o, ",\"series\":[");
    int64_t from = l->now_sec - RP_LIVE_SERIES + 1;
    int first = 1;
    for (int64_t s = from < 0 ? 0 : from; !rc && s <= l->now_sec; s++) {
        const struct point *p = &l->pt[s % RP_LIVE_SERIES];
        if (p->sec != s) { /* a second with nothing in it */
            rc = rp_buf_printf(o, "%s{\"t\":%lld,\"offered\":0,"
                                  "\"achieved\":0,\"errors\":0,\"5xx\":0,"
                                  "\"error_classes\":{},\"inflight\":0,"
                                  "\"final\":%s,\"p50_us\":null,"
                                  "\"p90_us\":null,\"p99_us\":null,"
                                  "\"lateness_p99_us\":null}",
                               first ? "" : ",", (long long)s,
                               s < l->final_upto ? "true" : "false");
            first = 0;
            continue;
        }
        rc = rp_buf_printf(o, "%s{\"t\":%lld,\"offered\":%llu,"
                              "\"achieved\":%llu,\"errors\":%llu,"
                              "\"5xx\":%llu,\"error_classes\":",
                           first ? "" : ",", (long long)s,
                           (unsigned long long)p->offered,
                           (unsigned long long)p->achieved,
                           (unsigned long long)p->errors,
                           (unsigned long long)p->s5xx);
        first = 0;
        if (!rc)
            rc = json_classes(o, p->by_class, 1);
        if (!rc)
            rc = rp_buf_printf(o, ",\"inflight\":%llu,\"final\":%s,"
                                  "\"p50_us\":",
                               (unsigned long long)p->inflight,
                               p->final ? "true" : "false");
        if (!rc)
            rc = json_i(o, p->p50_us);
        if (!rc)
            rc = rp_buf_puts(o, ",\"p90_us\":");
        if (!rc)
            rc = json_i(o, p->p90_us);
        if (!rc)
            rc = rp_buf_puts(o, ",\"p99_us\":");
        if (!rc)
            rc = json_i(o, p->p99_us);
        if (!rc)
            rc = rp_buf_puts(o, ",\"lateness_p99_us\":");
        if (!rc)
            rc = json_i(o, p->late_p99_us);
        if (!rc)
            rc = rp_buf_puts(o, "}");
    }
    if (!rc)
        rc = rp_buf_printf(o, "],\"endpoints_capped\":%s,\"endpoints\":[",
                           l->other_used ? "true" : "false");
    first = 1;
    for (int i = 0; !rc && i <= RP_LIVE_MAX_EP; i++) {
        const struct ep *e = &l->ep[i];
        if (i >= l->nep && i != RP_LIVE_MAX_EP)
            continue;
        if (i == RP_LIVE_MAX_EP && !e->count)
            continue;
        rc = rp_buf_printf(o, "%s{\"endpoint\":", first ? "" : ",");
        first = 0;
        if (!rc)
            rc = rp_buf_json_str(o, e->name, strlen(e->name));
        if (!rc)
            rc = rp_buf_printf(o, ",\"count\":%llu,\"per_s\":%llu,"
                                  "\"errors\":%llu,\"p50_us\":",
                               (unsigned long long)e->count,
                               (unsigned long long)e->per_s,
                               (unsigned long long)e->errors);
        int have = rp_hist_count(e->latency) > 0;
        if (!rc)
            rc = json_i(o, have ? rp_hist_value_at_percentile(e->latency, 50)
                                : -1);
        if (!rc)
            rc = rp_buf_puts(o, ",\"p99_us\":");
        if (!rc)
            rc = json_i(o, have ? rp_hist_value_at_percentile(e->latency, 99)
                                : -1);
        if (!rc)
            rc = rp_buf_puts(o, ",\"status\":");
        if (!rc)
            rc = json_status(o, e->by_status);
        if (!rc)
            rc = rp_buf_puts(o, "}");
    }
    pthread_mutex_unlock(&l->mu);
    return rc ? rc : rp_buf_puts(o, "]}");
}

/* ---- /metrics ------------------------------------------------------------ */

/* Upper bounds of the duration buckets, in seconds (Prometheus' defaults
 * with finer steps below 5 ms, where replayed services live). */
static const double le_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                              0.05,   0.1,   0.25,   0.5,   1,    2.5,
                              5,      10,    30};
#define NLE (sizeof le_s / sizeof *le_s)

/* A label value: backslash, double quote and newline escaped. */
static int label(struct rp_buf *o, const char *s)
{
    int rc = 0;
    for (; !rc && *s; s++) {
        if (*s == '\\' || *s == '"')
            rc = rp_buf_printf(o, "\\%c", *s);
        else if (*s == '\n')
            rc = rp_buf_puts(o, "\\n");
        else
            rc = rp_buf_append(o, s, 1);
    }
    return rc;
}

/* The buckets, sum and count of h (µs) as metric name with an optional
 * endpoint label. Counts by bucket come from the histogram's own buckets
 * (each counted at its representative value), so they only grow. */
static int hist_metric(struct rp_buf *o, const char *name, const char *ep,
                       const struct rp_hist *h)
{
    uint64_t cum[NLE];
    struct rp_hist_iter it;
    memset(cum, 0, sizeof cum);
    rp_hist_iter_init(&it, h);
    while (rp_hist_iter_next(&it))
        for (size_t i = 0; i < NLE; i++)
            if ((double)it.value_us <= le_s[i] * 1e6)
                cum[i] += it.count;
    int rc = 0;
    for (size_t i = 0; !rc && i <= NLE; i++) {
        rc = rp_buf_printf(o, "%s_bucket{", name);
        if (!rc && ep) {
            rc = rp_buf_puts(o, "endpoint=\"");
            if (!rc)
                rc = label(o, ep);
            if (!rc)
                rc = rp_buf_puts(o, "\",");
        }
        if (!rc && i < NLE)
            rc = rp_buf_printf(o, "le=\"%g\"} %llu\n", le_s[i],
                               (unsigned long long)cum[i]);
        else if (!rc)
            rc = rp_buf_printf(o, "le=\"+Inf\"} %llu\n",
                               (unsigned long long)rp_hist_count(h));
    }
    for (int k = 0; !rc && k < 2; k++) {
        rc = rp_buf_printf(o, "%s_%s", name, k ? "count" : "sum");
        if (!rc && ep) {
            rc = rp_buf_puts(o, "{endpoint=\"");
            if (!rc)
                rc = label(o, ep);
            if (!rc)
                rc = rp_buf_puts(o, "\"}");
        }
        if (!rc && k)
            rc = rp_buf_printf(o, " %llu\n",
                               (unsigned long long)rp_hist_count(h));
        else if (!rc)
            rc = rp_buf_printf(o, " %.9g\n", rp_hist_mean(h) *
                                   (double)rp_hist_count(h) / 1e6);
    }
    return rc;
}

int replay_live_metrics(struct rp_live *l, const struct rp_ctx *c,
                        struct rp_buf *o)
{
    static const char *cls[6] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
    int rc = rp_buf_puts(
        o, "# HELP reprise_requests_total Replayed requests that ended, by "
           "endpoint template and class (status class 1xx..5xx, or the "
           "error class: refused, reset, timeout, ...).\n"
           "# TYPE reprise_requests_total counter\n");
    pthread_mutex_lock(&l->mu);
    for (int i = 0; !rc && i <= RP_LIVE_MAX_EP; i++) {
        const struct ep *e = &l->ep[i];
        if (i >= l->nep && i != RP_LIVE_MAX_EP)
            continue;
        for (int k = 0; !rc && k < 6 + CORPUS_ERR__COUNT; k++) {
            uint64_t v;
            const char *name;
            if (k < 6) {
                v = k ? e->by_status[k] : 0; /* errors are counted below */
                name = cls[k];
            } else {
                int ec = k - 6;
                if (ec == CORPUS_ERR_NONE || ec == CORPUS_ERR_NOT_SENT)
                    continue;
                v = e->by_class[ec];
                name = corpus_errclass_name((enum corpus_errclass)ec);
            }
            if (!v)
                continue;
            rc = rp_buf_puts(o, "reprise_requests_total{endpoint=\"");
            if (!rc)
                rc = label(o, e->name);
            if (!rc)
                rc = rp_buf_printf(o, "\",class=\"%s\"} %llu\n", name,
                                   (unsigned long long)v);
        }
    }
    if (!rc)
        rc = rp_buf_puts(
            o, "# HELP reprise_request_duration_seconds Latency of the "
               "responses (done - scheduled, corrected for coordinated "
               "omission), by endpoint template.\n"
               "# TYPE reprise_request_duration_seconds histogram\n");
    for (int i = 0; !rc && i <= RP_LIVE_MAX_EP; i++) {
        const struct ep *e = &l->ep[i];
        if ((i >= l->nep && i != RP_LIVE_MAX_EP) ||
            !rp_hist_count(e->latency))
            continue;
        rc = hist_metric(o, "reprise_request_duration_seconds", e->name,
                         e->latency);
    }
    if (!rc)
        rc = rp_buf_printf(
            o, "# HELP reprise_inflight_requests Requests sent and not yet "
               "answered.\n# TYPE reprise_inflight_requests gauge\n"
               "reprise_inflight_requests %llu\n"
               "# HELP reprise_lateness_seconds The generator's lateness "
               "(sent - scheduled).\n"
               "# TYPE reprise_lateness_seconds histogram\n",
            (unsigned long long)l->inflight);
    if (!rc)
        rc = hist_metric(o, "reprise_lateness_seconds", NULL, l->lateness);
    pthread_mutex_unlock(&l->mu);
    if (!rc && c->o->mode != RM_MAX)
        rc = rp_buf_printf(
            o, "# HELP reprise_speed_multiple The --speed or --rate in "
               "force.\n# TYPE reprise_speed_multiple gauge\n"
               "reprise_speed_multiple %g\n", replay_warp_multiple(c));
    return rc;
}
