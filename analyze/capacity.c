/*
 * capacity.c: the answer to a stepped run (`reprise replay --steps`): per
 * load step, the offered and achieved throughput, latency, errors,
 * requests in flight and the generator's lateness; then the knee, the
 * maximum sustained throughput, a fit of the Universal Scalability Law,
 * the limiting endpoint and the monitored series that saturated.
 *
 * Definitions (DESIGN.md, "Finding the limit"):
 *   - offered: requests due in the step's window / its length; achieved:
 *     requests answered without error (status < 500) within the window /
 *     its length, whenever they were due: what the target completed;
 *   - a step keeps up when achieved >= AN_KEEP_UP (95%) of offered;
 *   - in flight: the integral of requests sent and not done over the
 *     window / its length, checked against Little's law (achieved x mean
 *     latency of the requests done in it);
 *   - the knee: the first step that did not keep up or broke a --stop-if;
 *   - the maximum sustained throughput: the highest achieved rate of a step
 *     before the knee (it kept up and met the SLO);
 *   - the generator fell behind, not the target, when the knee step's p99
 *     lateness exceeds --max-lateness while the target's service time
 *     (done - sent) held: its p90 under 1.5x (and 1 ms over) the first
 *     step's. A target at its limit queues what it is sent, so its service
 *     time grows; a generator that cannot send fast enough (CPU, or too few
 *     --max-connections) leaves it flat;
 *   - the limiting endpoint: of the endpoints whose p90 at the knee is at
 *     least 1.5x (and 1ms over) their p90 at the first step, the one with
 *     the largest share of the service demand (requests x mean service
 *     time at the first step): when a shared pool or CPU runs out, every
 *     endpoint queues alike, and the one that consumes it is the one to
 *     look at; when one endpoint has a bottleneck of its own, it alone
 *     degrades;
 *   - a saturated series: a gauge whose mean at the knee reaches 90% of
 *     its ceiling (a gauge of the same source named like it with max,
 *     limit, size, capacity or total for its last word) when it was below
 *     that at the first step; a process sampled with --monitor-pid using
 *     0.95 cores or more; or a gauge that rose to its run maximum by the
 *     knee and stayed within 5% of it while the load kept rising (a
 *     plateau).
 */
#include "analyze/an_priv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct an_cap_series *series_find(struct an_capacity *k,
                                         const char *source,
                                         const char *name)
{
    /* points come ordered by series: the last one is the likely match */
    for (size_t i = k->nseries; i-- > 0;)
        if (!strcmp(k->series[i].name, name) &&
            !strcmp(k->series[i].source, source))
            return &k->series[i];
    return NULL;
}

static int step_of(const struct an_capacity *k, int64_t t_us)
{
    if (!k->nsteps || t_us < k->step[0].start_us)
        return -1;
    for (int i = 0; i < k->nsteps; i++)
        if (t_us < k->step[i].end_us)
            return i;
    return -1;
}

static int monitor_point(void *arg, const char *source, const char *name,
                         const char *type, int64_t t_us, double value)
{
    struct an_capacity *k = arg;
    if (!source)
        return 0;
    if (!name) { /* a failed scrape */
        if (!k->scrapes_failed++)
            snprintf(k->scrape_error, sizeof k->scrape_error, "%s: %s",
                     source, type ? type : "failed");
        return 0;
    }
    struct an_cap_series *s = series_find(k, source, name);
    if (!s) {
        if (k->nseries == AN_CAP_SERIES) {
            k->series_dropped++;
            return 0;
        }
        struct an_cap_series *n = realloc(k->series, (k->nseries + 1) *
                                                        sizeof *n);
        if (!n)
            return RP_ENOMEM;
        k->series = n;
        s = &n[k->nseries];
        memset(s, 0, sizeof *s);
        s->source = strdup(source);
        s->name = strdup(name);
        s->t_us = malloc(AN_CAP_POINTS * sizeof *s->t_us);
        s->v = malloc(AN_CAP_POINTS * sizeof *s->v);
        if (!s->source || !s->name || !s->t_us || !s->v) {
            free(s->source);
            free(s->name);
            free(s->t_us);
            free(s->v);
            return RP_ENOMEM;
        }
        k->nseries++;
        s->gauge = type && !strcmp(type, "gauge");
        s->max = s->min = value;
    }
    if (!isfinite(value))
        return 0;
    if (value > s->max)
        s->max = value;
    if (value < s->min)
        s->min = value;
    int st = step_of(k, t_us);
    if (st >= 0) {
        s->step_sum[st] += value;
        s->step_n[st]++;
    }
    if (s->npoints < AN_CAP_POINTS) {
        s->t_us[s->npoints] = t_us;
        s->v[s->npoints++] = value;
    }
    return 0;
}

int an_capacity_open(struct an_analysis *a, struct corpus *c, int which,
                     char *err)
{
    struct an_set *set = &a->set[which];
    if (!set->present || set->kind != CORPUS_SET_RUN)
        return 0;
    struct corpus_run_steps rs;
    int rc = corpus_run_steps_get(c, set->id, &rs, err);
    if (rc || !rs.n)
        return rc;
    struct an_capacity *k = calloc(1, sizeof *k);
    if (!k)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    k->nsteps = rs.n;
    for (int i = 0; i < rs.n; i++) {
        k->step[i].multiple = rs.step[i].multiple;
        k->step[i].start_us = rs.step[i].start_us;
        k->step[i].end_us = rs.step[i].end_us;
    }
    snprintf(k->step_by, sizeof k->step_by, "%s", rs.step_by);
    k->stopped_step = rs.stopped_step;
    snprintf(k->stopped_by, sizeof k->stopped_by, "%s", rs.stopped_by);
    k->knee = k->sustained = -1;
    set->cap = k;
    return corpus_monitor_read(c, set->id, monitor_point, k, &k->scrapes,
                               err);
}

void an_capacity_free(struct an_capacity *k)
{
    if (!k)
        return;
    for (int i = 0; i < CORPUS_MAX_STEPS; i++) {
        rp_hist_free(k->step[i].lat);
        rp_hist_free(k->step[i].late);
        rp_hist_free(k->step[i].svc);
    }
    for (size_t i = 0; i < k->nseries; i++) {
        free(k->series[i].source);
        free(k->series[i].name);
        free(k->series[i].t_us);
        free(k->series[i].v);
    }
    free(k->series);
    free(k);
}

void an_gstep_free(struct an_group *g)
{
    for (int s = 0; s < 2; s++) {
        if (!g->gstep[s])
            continue;
        for (int i = 0; i < CORPUS_MAX_STEPS; i++)
            rp_hist_free(g->gstep[s][i].lat);
        free(g->gstep[s]);
        g->gstep[s] = NULL;
    }
}

static int hist_add(struct rp_hist **h, int64_t v)
{
    if (!*h && !(*h = rp_hist_new()))
        return RP_ENOMEM;
    return rp_hist_record(*h, v < 0 ? 0 : v);
}

int an_capacity_add(struct an_analysis *a, int which, struct an_group *g,
                    const struct corpus_sample *s)
{
    struct an_capacity *k = a->set[which].cap;
    if (!k || which > AN_CAND)
        return 0;
    int i = step_of(k, s->t_us);
    int answered = s->error_class == CORPUS_ERR_NONE && s->status > 0 &&
                   s->latency_us >= 0;
    int failed = s->error_class != CORPUS_ERR_NONE || s->status >= 500 ||
                 s->status == 0;
    if (i >= 0) {
        struct an_cap_step *st = &k->step[i];
        st->due++;
        st->errors += failed;
        if (answered && hist_add(&st->lat, s->latency_us))
            return RP_ENOMEM;
        if (s->service_us >= 0 && s->latency_us >= s->service_us &&
            hist_add(&st->late, s->latency_us - s->service_us))
            return RP_ENOMEM;
        if (answered && s->service_us >= 0 && hist_add(&st->svc, s->service_us))
            return RP_ENOMEM;
        if (g && answered) {
            if (!g->gstep[which] &&
                !(g->gstep[which] = calloc(CORPUS_MAX_STEPS,
                                           sizeof *g->gstep[which])))
                return RP_ENOMEM;
            struct an_gstep *gs = &g->gstep[which][i];
            gs->n++;
            gs->svc_sum_us += (double)(s->service_us >= 0 ? s->service_us
                                                          : s->latency_us);
            if (hist_add(&gs->lat, s->latency_us))
                return RP_ENOMEM;
        }
    }
    if (s->latency_us < 0)
        return 0;
    int64_t done = s->t_us + s->latency_us;
    int64_t sent = s->service_us >= 0 && s->service_us <= s->latency_us
                       ? done - s->service_us : s->t_us;
    int j = step_of(k, done);
    if (j >= 0 && !failed) {
        k->step[j].done++;
        k->step[j].done_lat_us += (double)(done - sent);
        k->step[j].done_n++;
    }
    /* in flight: [sent, done) spread over the windows it crosses */
    for (int w = step_of(k, sent); w >= 0 && w < k->nsteps; w++) {
        struct an_cap_step *st = &k->step[w];
        int64_t lo = sent > st->start_us ? sent : st->start_us;
        int64_t hi = done < st->end_us ? done : st->end_us;
        if (hi > lo)
            st->busy_us += (double)(hi - lo);
        if (done < st->end_us)
            break;
    }
    return 0;
}

static int64_t pct_or(const struct rp_hist *h, double p)
{
    return h && rp_hist_count(h) ? rp_hist_value_at_percentile(h, p) : -1;
}

/* Least squares fit of N/X = a + b (N-1) + c N (N-1) (the USL, linear in
 * 1/lambda, sigma/lambda, kappa/lambda), with sigma and kappa kept >= 0:
 * when a coefficient comes out negative it is fixed at 0 and the rest are
 * fitted again. */
static void usl_fit(struct an_capacity *k)
{
    double n[CORPUS_MAX_STEPS], x[CORPUS_MAX_STEPS];
    int m = 0;
    for (int i = 0; i < k->nsteps; i++)
        if (k->step[i].inflight > 0 && k->step[i].achieved_rps > 0) {
            n[m] = k->step[i].inflight;
            x[m++] = k->step[i].achieved_rps;
        }
    k->usl.ok = 0;
    if (m < 3)
        return;
    for (int use = 3; use >= 1; use--) { /* 3: a,b,c; 2: a,b; 1: a */
        double A[3][4] = {{0}};
        for (int i = 0; i < m; i++) {
            double f[3] = {1, n[i] - 1, n[i] * (n[i] - 1)};
            double y = n[i] / x[i];
            for (int r = 0; r < use; r++) {
                for (int s = 0; s < use; s++)
                    A[r][s] += f[r] * f[s];
                A[r][3] += f[r] * y;
            }
        }
        /* Gauss-Jordan with partial pivoting */
        int singular = 0;
        for (int col = 0; col < use && !singular; col++) {
            int p = col;
            for (int r = col + 1; r < use; r++)
                if (fabs(A[r][col]) > fabs(A[p][col]))
                    p = r;
            if (fabs(A[p][col]) < 1e-18) {
                singular = 1;
                break;
            }
            for (int s = 0; s < 4; s++) {
                double t = A[col][s];
                A[col][s] = A[p][s];
                A[p][s] = t;
            }
            for (int r = 0; r < use; r++) {
                if (r == col)
                    continue;
                double f = A[r][col] / A[col][col];
                for (int s = 0; s < 4; s++)
                    A[r][s] -= f * A[col][s];
            }
        }
        if (singular)
            continue;
        double co[3] = {0, 0, 0};
        for (int r = 0; r < use; r++)
            co[r] = A[r][3] / A[r][r];
        if (co[0] <= 0 || (use >= 2 && co[1] < 0) || (use == 3 && co[2] < 0))
            continue;
        k->usl.ok = 1;
        k->usl.lambda = 1 / co[0];
        k->usl.sigma = co[1] * k->usl.lambda;
        k->usl.kappa = co[2] * k->usl.lambda;
        break;
    }
    if (!k->usl.ok)
        return;
    const struct an_usl *u = &k->usl;
    if (u->kappa > 0 && u->sigma < 1) {
        k->usl.peak_n = sqrt((1 - u->sigma) / u->kappa);
        double pn = k->usl.peak_n;
        k->usl.peak_rps = u->lambda * pn /
                          (1 + u->sigma * (pn - 1) + u->kappa * pn * (pn - 1));
    } else if (u->sigma > 0) {
        k->usl.peak_n = INFINITY; /* an asymptote: lambda / sigma */
        k->usl.peak_rps = u->lambda / u->sigma;
    } else {
        k->usl.peak_n = INFINITY;
        k->usl.peak_rps = INFINITY; /* linear: no limit seen */
    }
    /* goodness of fit on X */
    double mean = 0, ss = 0, se = 0;
    for (int i = 0; i < m; i++)
        mean += x[i] / m;
    for (int i = 0; i < m; i++) {
        double f = u->lambda * n[i] /
                   (1 + u->sigma * (n[i] - 1) + u->kappa * n[i] * (n[i] - 1));
        se += (x[i] - f) * (x[i] - f);
        ss += (x[i] - mean) * (x[i] - mean);
    }
    k->usl.r2 = ss > 0 ? 1 - se / ss : 1;
}

/* p90 of endpoint g's step i on side `which`, or -1. */
static int64_t gstep_p90(const struct an_group *g, int which, int i)
{
    if (!g->gstep[which] || g->gstep[which][i].n < 5)
        return -1;
    return pct_or(g->gstep[which][i].lat, 90);
}

static void limiting_endpoint(struct an_analysis *a, int which,
                              struct an_capacity *k)
{
    int at = k->knee >= 0 ? k->knee : k->nsteps - 1;
    double demand_all = 0;
    for (size_t i = 0; i < a->ngroups; i++) {
        const struct an_group *g = a->groups[i];
        if (g->gstep[which])
            demand_all += g->gstep[which][0].svc_sum_us;
    }
    double best = -1;
    k->limiting[0] = 0;
    if (at <= 0 || demand_all <= 0)
        return;
    for (size_t i = 0; i < a->ngroups; i++) {
        const struct an_group *g = a->groups[i];
        int64_t p0 = gstep_p90(g, which, 0), pk = gstep_p90(g, which, at);
        if (p0 <= 0 || pk < 0)
            continue;
        double ratio = (double)pk / (double)p0;
        if (ratio < 1.5 || pk - p0 < 1000)
            continue;
        double share = g->gstep[which][0].svc_sum_us / demand_all;
        if (share > best) {
            best = share;
            snprintf(k->limiting, sizeof k->limiting, "%s", g->key);
            k->limiting_ratio = ratio;
            k->limiting_share = share;
        }
    }
}

/* The ceiling of gauge s: a series of its source whose name is s's with
 * the last word (after the last '_', labels kept) replaced by max, limit,
 * size or capacity; NAN when none. */
static double ceiling_of(const struct an_capacity *k,
                         const struct an_cap_series *s)
{
    static const char *const words[] = {"max", "limit", "size", "capacity",
                                        "total"};
    const char *brace = strchr(s->name, '{');
    size_t base = brace ? (size_t)(brace - s->name) : strlen(s->name);
    size_t us = base;
    while (us > 0 && s->name[us - 1] != '_')
        us--;
    if (!us)
        return NAN;
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        char want[AN_KEYLEN];
        snprintf(want, sizeof want, "%.*s%s%s", (int)us, s->name, words[w],
                 brace ? brace : "");
        if (!strcmp(want, s->name))
            continue;
        for (size_t i = 0; i < k->nseries; i++)
            if (!strcmp(k->series[i].name, want) &&
                !strcmp(k->series[i].source, s->source) &&
                k->series[i].gauge && k->series[i].max > 0)
                return k->series[i].max;
    }
    return NAN;
}

static void saturated_series(struct an_capacity *k)
{
    int at = k->knee;
    if (at < 0)
        return;
    for (size_t i = 0; i < k->nseries; i++) {
        struct an_cap_series *s = &k->series[i];
        for (int j = 0; j < k->nsteps; j++)
            s->step_mean[j] = s->step_n[j] ? s->step_sum[j] /
                                                 (double)s->step_n[j]
                                           : NAN;
        if (!s->gauge || !s->step_n[at])
            continue;
        double v = s->step_mean[at], first = s->step_mean[0];
        double ceil = ceiling_of(k, s);
        if (isfinite(ceil) && v >= 0.9 * ceil && !(first >= 0.9 * ceil)) {
            s->saturated = 1;
            snprintf(s->why, sizeof s->why, "mean %.4g at the knee, %.0f%% "
                     "of its ceiling %.4g", v, 100 * v / ceil, ceil);
            continue;
        }
        if (!strcmp(s->name, "process_cpu_cores") && v >= 0.95) {
            s->saturated = 1;
            snprintf(s->why, sizeof s->why, "%.2f cores at the knee",
                     v);
            continue;
        }
        /* a plateau: risen by the knee, held near the run's maximum from
         * then on while the load kept rising */
        if (!(s->max > 0) || !isfinite(first) || v < 0.95 * s->max ||
            v < 1.5 * first + 1e-9 || at == 0)
            continue;
        int held = 1, later = 0;
        for (int j = at + 1; j < k->nsteps; j++)
            if (s->step_n[j]) {
                later++;
                held &= s->step_mean[j] >= 0.95 * s->max &&
                        s->step_mean[j] <= 1.05 * v;
            }
        if (held && later) {
            s->saturated = 1;
            snprintf(s->why, sizeof s->why, "plateau: %.4g from the knee "
                     "on (its maximum %.4g) while the load rose", v,
                     s->max);
        }
    }
}

static void compute_side(struct an_analysis *a, int which)
{
    struct an_capacity *k = a->set[which].cap;
    if (!k)
        return;
    const struct an_opts *o = a->o;
    for (int i = 0; i < k->nsteps; i++) {
        struct an_cap_step *st = &k->step[i];
        double secs = (double)(st->end_us - st->start_us) / 1e6;
        if (secs <= 0)
            secs = 1;
        st->offered_rps = (double)st->due / secs;
        st->achieved_rps = (double)st->done / secs;
        st->error_pct = st->due ? 100.0 * (double)st->errors /
                                      (double)st->due : 0;
        st->inflight = st->busy_us / (secs * 1e6);
        st->little = st->done_n ? st->achieved_rps *
                                      (st->done_lat_us / (double)st->done_n) /
                                      1e6
                                : 0;
        st->p50_us = pct_or(st->lat, 50);
        st->p90_us = pct_or(st->lat, 90);
        st->p99_us = pct_or(st->lat, 99);
        st->late_p99_us = pct_or(st->late, 99);
        st->kept_up = st->due && st->achieved_rps >=
                                     AN_KEEP_UP * st->offered_rps;
        st->slo_ok = k->stopped_step != i + 1;
        st->svc_p90_us = pct_or(st->svc, 90);
    }
    int64_t svc0 = k->nsteps ? k->step[0].svc_p90_us : -1;
    /* the first step has nothing to compare its service time with: it is
     * never blamed on the generator (start lower to tell) */
    for (int i = 1; i < k->nsteps; i++) {
        struct an_cap_step *st = &k->step[i];
        st->gen_limited = st->late_p99_us > o->max_lateness_us && svc0 >= 0 &&
                          st->svc_p90_us >= 0 &&
                          (double)st->svc_p90_us < 1.5 * (double)svc0 + 1000;
    }
    k->knee = -1;
    for (int i = 0; i < k->nsteps && k->knee < 0; i++) {
        const struct an_cap_step *st = &k->step[i];
        if (!st->kept_up) {
            k->knee = i;
            snprintf(k->knee_why, sizeof k->knee_why, "achieved %.1f of "
                     "%.1f req/s offered (%.0f%%)", st->achieved_rps,
                     st->offered_rps,
                     st->offered_rps > 0 ? 100 * st->achieved_rps /
                                               st->offered_rps : 0);
        } else if (!st->slo_ok) {
            k->knee = i;
            snprintf(k->knee_why, sizeof k->knee_why, "--stop-if '%s' broke",
                     k->stopped_by);
        }
    }
    k->gen_limited = k->knee >= 0 && k->step[k->knee].gen_limited;
    k->sustained = -1;
    k->max_sustained_rps = 0;
    int upto = k->knee >= 0 ? k->knee : k->nsteps;
    for (int i = 0; i < upto; i++)
        if (k->step[i].achieved_rps > k->max_sustained_rps) {
            k->max_sustained_rps = k->step[i].achieved_rps;
            k->sustained = i;
        }
    usl_fit(k);
    limiting_endpoint(a, which, k);
    saturated_series(k);
}

void an_capacity_compute(struct an_analysis *a)
{
    compute_side(a, AN_BASE);
    compute_side(a, AN_CAND);
}

double an_capacity_change(const struct an_analysis *a)
{
    const struct an_capacity *b = a->set[AN_BASE].cap;
    const struct an_capacity *c = a->set[AN_CAND].cap;
    if (!b || !c || b->sustained < 0 || c->sustained < 0 ||
        b->max_sustained_rps <= 0)
        return NAN;
    return 100 * (c->max_sustained_rps - b->max_sustained_rps) /
           b->max_sustained_rps;
}

void an_capacity_sentence(const struct an_analysis *a, int which, char *out,
                          size_t n)
{
    const struct an_capacity *k = a->set[which].cap;
    char name[200], knee[96];
    an_set_name(&a->set[which], name, sizeof name);
    if (!k) {
        snprintf(out, n, "%s is not a stepped run", name);
        return;
    }
    if (k->knee >= 0)
        snprintf(knee, sizeof knee, "knee at step %d, x%g", k->knee + 1,
                 k->step[k->knee].multiple);
    else
        snprintf(knee, sizeof knee, "no knee up to x%g",
                 k->step[k->nsteps - 1].multiple);
    if (k->sustained < 0)
        snprintf(out, n, "%s sustains no step (%s)", name, knee);
    else
        snprintf(out, n, "%s sustains %.0f req/s (%s)", name,
                 k->max_sustained_rps, knee);
}
