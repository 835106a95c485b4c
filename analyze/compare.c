/*
 * compare.c: turns the accumulators into a comparison: per-group summaries
 * (percentiles from the histograms), the Mann-Whitney test on the kept
 * samples, the minimum-effect and noise-floor checks that decide
 * "regressed" / "improved", the --fail-if conditions, the report order and
 * the saturation point of the candidate's timeline.
 */
#include "analyze/an_priv.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const double an_pct[AN_NPCT] = {50, 90, 95, 99, 99.9};
const char *const an_pct_name[AN_NPCT] = {"p50", "p90", "p95", "p99",
                                          "p99.9"};
const char *const an_pct_key[AN_NPCT] = {"p50", "p90", "p95", "p99",
                                         "p999"};

int64_t an_set_duration_us(const struct an_set *s)
{
    int64_t d = s->t_last_us - s->t_first_us;
    return d > 0 ? d : 0;
}

double an_pct_change(double b, double c)
{
    if (b == 0)
        return NAN;
    return (c - b) / b * 100.0;
}

static void summarize(const struct an_side *s, const struct an_set *set,
                      struct an_summary *out)
{
    memset(out, 0, sizeof *out);
    if (!s->lat)
        return;
    out->count = s->count;
    out->errors = s->errors;
    out->error_rate = s->count ? (double)s->errors / (double)s->count : 0;
    out->mean_us = rp_hist_mean(s->lat);
    for (int i = 0; i < AN_NPCT; i++)
        out->pct_us[i] = rp_hist_value_at_percentile(s->lat, an_pct[i]);
    out->min_us = rp_hist_min(s->lat);
    out->max_us = rp_hist_max(s->lat);
    out->svc_p50_us = rp_hist_value_at_percentile(s->svc, 50);
    out->svc_p99_us = rp_hist_value_at_percentile(s->svc, 99);
    out->ttfb_p50_us = rp_hist_value_at_percentile(s->ttfb, 50);
    int64_t d = an_set_duration_us(set);
    out->rps = d > 0 ? (double)s->count / ((double)d / 1e6) : 0;
}

/* The shift of percentile index pi (candidate - baseline): whether it
 * reaches the threshold need = max(threshold %, min effect), whether it
 * exceeds the A/A noise floor noise_us (< 0: no noise run), and whether it
 * counts for the verdict: |shift| >= need + noise, i.e. the threshold is
 * applied on top of the noise floor, as Diffy subtracts noise from the raw
 * difference before thresholding. */
struct shift {
    int64_t d;
    int over_threshold, over_noise, counts;
};

static struct shift shift_of(const struct an_group *g, const struct an_opts *o,
                             int pi, int64_t noise_us)
{
    struct shift r;
    int64_t b = g->sum[AN_BASE].pct_us[pi], c = g->sum[AN_CAND].pct_us[pi];
    r.d = c - b;
    int64_t ad = r.d < 0 ? -r.d : r.d;
    double need = (double)b * o->threshold_pct / 100.0;
    if (need < (double)o->min_effect_us)
        need = (double)o->min_effect_us;
    r.over_threshold = (double)ad >= need && ad > 0;
    r.over_noise = noise_us < 0 || ad > noise_us;
    r.counts = r.over_threshold &&
               (double)ad >= need + (double)(noise_us > 0 ? noise_us : 0);
    return r;
}

int an_sig_dir(const struct an_group *g, const struct an_qtest *q, int dir,
               double alpha)
{
    int mw_sig = g->mw.p < alpha;
    if (mw_sig && (dir > 0 ? g->mw.z > 0 : g->mw.z < 0))
        return 1;
    /* a tail that moved against a body that significantly moved the
     * other way is a burst (a stall), not a shift */
    return !mw_sig && q->p < alpha && (dir > 0 ? q->diff > 0 : q->diff < 0);
}

/* The A/A noise floor at percentile index pi: |noise - baseline|, or -1
 * without a usable noise run. */
static int64_t noise_at(const struct an_group *g, int noisy, int pi)
{
    if (!noisy)
        return -1;
    int64_t d = g->sum[AN_NOISE].pct_us[pi] - g->sum[AN_BASE].pct_us[pi];
    return d < 0 ? -d : d;
}

int an_pct_judged(uint64_t n_base, uint64_t n_cand, double pct)
{
    double beyond = 1.0 - pct / 100.0;
    return (double)n_base * beyond >= AN_TAIL_MIN - 1e-9 &&
           (double)n_cand * beyond >= AN_TAIL_MIN - 1e-9;
}

static void judge(struct an_group *g, const struct an_analysis *a)
{
    const struct an_opts *o = a->o;
    for (int i = 0; i < AN_NSIDES; i++)
        summarize(&g->side[i], &a->set[i], &g->sum[i]);
    struct an_side *b = &g->side[AN_BASE], *c = &g->side[AN_CAND];
    an_mann_whitney(c->res.v, c->res.n, b->res.v, b->res.n, &g->mw);
    g->significant = b->res.n > 0 && c->res.n > 0 && g->mw.p < o->alpha;
    const struct an_side *ns = &g->side[AN_NOISE];
    int noisy = a->set[AN_NOISE].present && ns->lat && rp_hist_count(ns->lat) &&
                rp_hist_count(b->lat);
    g->noise_us[0] = noise_at(g, noisy, 0);
    g->noise_us[1] = noise_at(g, noisy, 3);
    /* The tail judged: p99, or p90 when p99 would rest on fewer than
     * AN_TAIL_MIN samples of a side (AN_PCT index 3 and 1). */
    uint64_t nb = g->sum[AN_BASE].count, nc = g->sum[AN_CAND].count;
    g->tail = an_pct_judged(nb, nc, an_pct[3])   ? 3
              : an_pct_judged(nb, nc, an_pct[1]) ? 1
                                                 : -1;
    struct shift s50 = shift_of(g, o, 0, g->noise_us[0]);
    struct shift st = {0, 0, 0, 0};
    if (g->tail >= 0)
        st = shift_of(g, o, g->tail, noise_at(g, noisy, g->tail));
    int timed = rp_hist_count(b->lat) && rp_hist_count(c->lat);
    /* A shift is significant in its direction when Mann-Whitney says the
     * whole distribution moved that way, or, when the body did not move,
     * the quantile test at that percentile does (a tail-only change). The
     * quantile test alone would miss a p99 shift of a small sample;
     * Mann-Whitney alone would miss a change of the slowest 1%. */
    an_quantile_test(c->res.v, c->res.n, b->res.v, b->res.n, 50, &g->q50);
    an_quantile_test(c->res.v, c->res.n, b->res.v, b->res.n, 99, &g->q99);
    struct an_qtest qt = g->q99;
    if (g->tail == 1)
        an_quantile_test(c->res.v, c->res.n, b->res.v, b->res.n, an_pct[1],
                         &qt);
    g->effect = timed && (s50.over_threshold || st.over_threshold);
    g->beyond_noise = timed && (s50.over_noise || st.over_noise);
    int up = (s50.counts && s50.d > 0 && an_sig_dir(g, &g->q50, 1, o->alpha)) ||
             (st.counts && st.d > 0 && an_sig_dir(g, &qt, 1, o->alpha));
    int down =
        (s50.counts && s50.d < 0 && an_sig_dir(g, &g->q50, -1, o->alpha)) ||
        (st.counts && st.d < 0 && an_sig_dir(g, &qt, -1, o->alpha));
    g->regressed = timed && up;
    g->improved = timed && down && !up;
    double dm = g->sum[AN_CAND].mean_us - g->sum[AN_BASE].mean_us;
    g->contribution_us = timed ? dm * (double)rp_hist_count(c->lat) : 0;
}

/* ---- --fail-if --------------------------------------------------------- */

static const struct {
    const char *name;
    enum an_cond_metric m;
} cond_metrics[] = {
    {"p50", AN_CM_P50}, {"p90", AN_CM_P90}, {"p95", AN_CM_P95},
    {"p99.9", AN_CM_P999}, {"p999", AN_CM_P999}, {"p99", AN_CM_P99},
    {"max", AN_CM_MAX}, {"mean", AN_CM_MEAN}, {"errors", AN_CM_ERRORS},
    {"status-changed", AN_CM_STATUS_CHANGED},
    {"body-changed", AN_CM_BODY_CHANGED},
};

static int is_latency(enum an_cond_metric m)
{
    return m <= AN_CM_MEAN;
}

int an_cond_parse(const char *s, struct an_cond *out, char *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->text, sizeof out->text, "%s", s);
    const char *p = s;
    size_t i;
    for (i = 0; i < sizeof cond_metrics / sizeof cond_metrics[0]; i++) {
        size_t n = strlen(cond_metrics[i].name);
        if (!strncasecmp(p, cond_metrics[i].name, n) &&
            (p[n] == '>' || p[n] == '<' || p[n] == ' ')) {
            out->metric = cond_metrics[i].m;
            p += n;
            break;
        }
    }
    if (i == sizeof cond_metrics / sizeof cond_metrics[0])
        goto bad;
    while (*p == ' ')
        p++;
    if (p[0] == '>' || p[0] == '<') {
        int ge = p[1] == '=';
        out->op = p[0] == '>' ? (ge ? AN_OP_GE : AN_OP_GT)
                              : (ge ? AN_OP_LE : AN_OP_LT);
        p += 1 + ge;
    } else {
        goto bad;
    }
    while (*p == ' ')
        p++;
    if (*p == '+') {
        out->relative = 1;
        p++;
    }
    char *end;
    double v = strtod(p, &end);
    if (end == p || !isfinite(v) || v < 0)
        goto bad;
    p = end;
    if (!strcmp(p, "%")) {
        out->percent = 1;
    } else if (!strcmp(p, "us")) {
        out->value = v;
    } else if (!strcmp(p, "ms")) {
        v *= 1e3;
    } else if (!strcmp(p, "s")) {
        v *= 1e6;
    } else if (*p) {
        goto bad;
    } else if (is_latency(out->metric)) {
        return rp_fail(err, RP_EUSAGE, "--fail-if '%s': give a unit "
                       "(ms, s, us or %%), e.g. 'p99>+10%%' or "
                       "'p95>250ms'", s);
    } else {
        out->percent = 1; /* errors>1 means 1% */
    }
    out->value = v;
    if (is_latency(out->metric)) {
        if (out->percent && !out->relative)
            return rp_fail(err, RP_EUSAGE, "--fail-if '%s': a percentage of "
                           "a latency must be a change, e.g. 'p99>+10%%'",
                           s);
    } else {
        if (!out->percent)
            return rp_fail(err, RP_EUSAGE, "--fail-if '%s': %s is a rate; "
                           "give a percentage, e.g. 'errors>1%%'", s,
                           cond_metrics[i].name);
        if (out->relative && out->metric != AN_CM_ERRORS)
            return rp_fail(err, RP_EUSAGE, "--fail-if '%s': '+' only "
                           "applies to latencies and errors", s);
    }
    return 0;
bad:
    return rp_fail(err, RP_EUSAGE, "--fail-if '%s': expected METRIC OP "
                   "VALUE, e.g. 'p99>+10%%', 'p50>+5ms', 'p95>250ms', "
                   "'errors>1%%', 'status-changed>0.5%%', "
                   "'body-changed>1%%' (metrics: p50 p90 p95 p99 p99.9 max "
                   "mean errors status-changed body-changed)", s);
}

static int64_t metric_us(const struct an_summary *s, enum an_cond_metric m)
{
    if (m <= AN_CM_P999)
        return s->pct_us[m];
    if (m == AN_CM_MAX)
        return s->max_us;
    return (int64_t)llround(s->mean_us);
}

static int op_holds(enum an_cond_op op, double v, double limit)
{
    switch (op) {
    case AN_OP_GT: return v > limit;
    case AN_OP_GE: return v >= limit;
    case AN_OP_LT: return v < limit;
    case AN_OP_LE: return v <= limit;
    }
    return 0;
}

/* Evaluates cond on g: 1 when it holds (and *value is set), 0 otherwise,
 * 2 when it is a relative percentile condition too few samples lie beyond
 * to judge. */
static int cond_holds(const struct an_cond *k, const struct an_group *g,
                      double alpha, int64_t min_effect_us, double *value)
{
    const struct an_summary *b = &g->sum[AN_BASE], *c = &g->sum[AN_CAND];
    if (!c->count)
        return 0;
    double v;
    switch (k->metric) {
    case AN_CM_ERRORS:
        v = c->error_rate * 100.0;
        if (k->relative) {
            if (!b->count)
                return 0;
            v -= b->error_rate * 100.0;
        }
        break;
    case AN_CM_STATUS_CHANGED:
        if (!g->compared)
            return 0;
        v = 100.0 * (double)g->status_changed / (double)g->compared;
        break;
    case AN_CM_BODY_CHANGED:
        if (!g->body_compared)
            return 0;
        v = 100.0 * (double)g->body_changed / (double)g->body_compared;
        break;
    default: {
        if (!rp_hist_count(g->side[AN_CAND].lat))
            return 0;
        double cv = (double)metric_us(c, k->metric);
        if (!k->relative) {
            v = cv;
            break;
        }
        /* a change must be significant in its own direction (Mann-Whitney,
         * or the quantile test at that percentile) and beyond the noise
         * floor; max has no test of its own and never counts */
        const struct an_side *bs = &g->side[AN_BASE], *cs = &g->side[AN_CAND];
        int up = k->op == AN_OP_GT || k->op == AN_OP_GE;
        if (!rp_hist_count(bs->lat) || k->metric == AN_CM_MAX)
            return 0;
        if (k->metric <= AN_CM_P999 &&
            !an_pct_judged(b->count, c->count, an_pct[k->metric]))
            return 2;
        if (!g->beyond_noise)
            return 0;
        struct an_qtest q = {0};
        q.p = 1;
        if (k->metric <= AN_CM_P999)
            an_quantile_test(cs->res.v, cs->res.n, bs->res.v, bs->res.n,
                             an_pct[k->metric], &q);
        if (!an_sig_dir(g, &q, up ? 1 : -1, alpha))
            return 0;
        double bv = (double)metric_us(b, k->metric);
        if (fabs(cv - bv) < (double)min_effect_us)
            return 0; /* below --min-effect: not a real change */
        if (k->percent) {
            if (bv <= 0)
                return 0;
            v = (cv - bv) / bv * 100.0;
        } else {
            v = cv - bv;
        }
        break;
    }
    }
    *value = v;
    return op_holds(k->op, v, k->value);
}

static int add_failure(struct an_analysis *a, int cond,
                       const struct an_group *g, double value)
{
    if (a->nfail == a->fail_cap) {
        size_t cap = a->fail_cap ? a->fail_cap * 2 : 16;
        struct an_failure *nf = realloc(a->fail, cap * sizeof *nf);
        if (!nf)
            return RP_ENOMEM;
        a->fail = nf;
        a->fail_cap = cap;
    }
    a->fail[a->nfail++] = (struct an_failure){cond, g, value};
    return 0;
}

/* ---- ordering and saturation ------------------------------------------- */

static const struct an_analysis *sort_ctx;

static int rank_of(const struct an_group *g)
{
    if (g->failed)
        return 0;
    if (g->regressed)
        return 1;
    if (g->improved)
        return 3;
    return 2;
}

static int cmp_groups(const void *x, const void *y)
{
    const struct an_group *g = sort_ctx->groups[*(const size_t *)x];
    const struct an_group *h = sort_ctx->groups[*(const size_t *)y];
    int rg = rank_of(g), rh = rank_of(h);
    if (rg != rh)
        return rg - rh;
    if (g->contribution_us != h->contribution_us)
        return g->contribution_us < h->contribution_us ? 1 : -1;
    uint64_t cg = g->sum[AN_CAND].count + g->sum[AN_BASE].count;
    uint64_t ch = h->sum[AN_CAND].count + h->sum[AN_BASE].count;
    if (cg != ch)
        return cg < ch ? 1 : -1;
    return strcmp(g->key, h->key);
}

static int cmp_slow(const void *x, const void *y)
{
    const struct an_slow *a = x, *b = y;
    if (a->latency_us != b->latency_us)
        return a->latency_us < b->latency_us ? 1 : -1;
    return (a->exchange_id > b->exchange_id) -
           (a->exchange_id < b->exchange_id);
}

/* The first tick after which median latency is more than twice its early
 * level (and 1 ms more) while completions per second stop growing and fall
 * behind the requests that became due. */
static void find_saturation(struct an_analysis *a)
{
    size_t n = a->nticks;
    if (n < 8)
        return;
    int64_t *p50 = calloc(n, sizeof *p50);
    if (!p50)
        return;
    size_t early = n / 4, m = 0;
    for (size_t i = 0; i < n; i++) {
        p50[i] = a->tick[i].lat ? rp_hist_value_at_percentile(a->tick[i].lat, 50)
                                : -1;
    }
    int64_t base = -1;
    {
        int64_t tmp[AN_MAX_TICKS];
        for (size_t i = 0; i < early; i++)
            if (p50[i] >= 0)
                tmp[m++] = p50[i];
        if (m) {
            for (size_t i = 1; i < m; i++)
                for (size_t j = i; j > 0 && tmp[j - 1] > tmp[j]; j--) {
                    int64_t t = tmp[j];
                    tmp[j] = tmp[j - 1];
                    tmp[j - 1] = t;
                }
            base = tmp[m / 2];
        }
    }
    if (base < 0)
        goto done;
    size_t w = n / 8 < 3 ? 3 : n / 8;
    size_t last_due = 0; /* the last tick with requests due */
    double due_all = 0, done_all = 0;
    for (size_t i = 0; i < n; i++)
        if (a->tick[i].due)
            last_due = i;
    for (size_t i = 0; i <= last_due; i++) {
        due_all += (double)a->tick[i].due;
        done_all += (double)a->tick[i].done;
    }
    double due_before = 0, done_before = 0; /* ticks before i */
    for (size_t i = 0; i < early; i++) {
        due_before += (double)a->tick[i].due;
        done_before += (double)a->tick[i].done;
    }
    for (size_t i = early; i + 1 < n; i++) {
        if (i > early) {
            due_before += (double)a->tick[i - 1].due;
            done_before += (double)a->tick[i - 1].done;
        }
        if (p50[i] < 0 || p50[i] <= 2 * base || p50[i] < base + 1000)
            continue;
        /* rate before vs at/after i, over windows of w ticks */
        size_t lo = i >= w ? i - w : 0, hi = i + w < n ? i + w : n;
        double before = 0, after = 0, offered_before = 0, offered_after = 0;
        for (size_t j = lo; j < i; j++) {
            before += (double)a->tick[j].done;
            offered_before += (double)a->tick[j].due;
        }
        for (size_t j = i; j < hi; j++) {
            after += (double)a->tick[j].done;
            offered_after += (double)a->tick[j].due;
        }
        before /= (double)(i - lo);
        after /= (double)(hi - i);
        offered_before /= (double)(i - lo);
        offered_after /= (double)(hi - i);
        /* saturated: completions stop growing while the offered load
         * holds or grows and the target falls behind it, and stays behind
         * (the backlog, due but not done, at the end of the offered load
         * exceeds the one at i by 5% of what came due since). A slower
         * target that keeps pace with its arrivals is not saturated, nor
         * is one held back by a stall of the generator or the host (VM
         * steal), whose backlog drains afterwards: the demo claimed
         * saturation from such a stall. */
        double backlog_i = due_before - done_before;
        double backlog_end = due_all - done_all;
        int stays_behind =
            i <= last_due &&
            backlog_end >= backlog_i + 0.05 * (due_all - due_before);
        if (after <= before * 1.05 && offered_after >= offered_before * 0.95 &&
            after < offered_after * 0.9 && stays_behind) {
            a->saturated = 1;
            a->sat_t_us = (int64_t)i * a->tick_us;
            a->sat_rps = before / ((double)a->tick_us / 1e6);
            a->sat_p50_us = p50[i];
            break;
        }
    }
done:
    free(p50);
}

int an_compute(struct an_analysis *a, char *err)
{
    judge(&a->all, a);
    for (size_t i = 0; i < a->ngroups; i++)
        judge(a->groups[i], a);
    for (size_t i = 0; i < a->ngroups; i++) {
        struct an_group *g = a->groups[i];
        if ((int64_t)g->sum[AN_CAND].count < a->o->min_count)
            continue;
        for (int k = 0; k < a->o->ncond; k++) {
            double v;
            int held = cond_holds(&a->o->cond[k], g, a->o->alpha,
                                  a->o->min_effect_us, &v);
            if (held == 2)
                a->unjudged[k]++;
            if (held == 1) {
                g->failed = 1;
                if (add_failure(a, k, g, v))
                    return rp_fail(err, RP_ENOMEM, "out of memory");
            }
        }
    }
    a->verdict_fail = a->nfail > 0;
    a->order = malloc((a->ngroups ? a->ngroups : 1) * sizeof *a->order);
    if (!a->order)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    for (size_t i = 0; i < a->ngroups; i++)
        a->order[i] = i;
    sort_ctx = a;
    qsort(a->order, a->ngroups, sizeof *a->order, cmp_groups);
    sort_ctx = NULL;
    qsort(a->slow, (size_t)a->nslow, sizeof a->slow[0], cmp_slow);
    find_saturation(a);
    return 0;
}

int an_top_contributors(const struct an_analysis *a,
                        const struct an_group **top, int max)
{
    int nt = 0;
    for (size_t j = 0; j < a->ngroups; j++) {
        const struct an_group *g = a->groups[j];
        if (!(g->contribution_us > 0))
            continue;
        if (nt == max && top[nt - 1]->contribution_us >= g->contribution_us)
            continue;
        int at = nt < max ? nt++ : max - 1;
        top[at] = g;
        for (int k = at; k > 0 && top[k - 1]->contribution_us <
                                      top[k]->contribution_us; k--) {
            const struct an_group *t = top[k];
            top[k] = top[k - 1];
            top[k - 1] = t;
        }
    }
    return nt;
}
