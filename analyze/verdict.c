/*
 * verdict.c: the CI gate. Parses --fail-if conditions, adds the default
 * gates the user left open (an error rate or a status mix that moved
 * beyond a margin, significantly), evaluates every condition on every
 * endpoint, and turns the result into one of three verdicts, each with its
 * reasons in words:
 *   FAIL          a condition held (or every request of the candidate
 *                 failed);
 *   INCONCLUSIVE  the comparison cannot be trusted where it matters: a
 *                 run's generator fell behind its schedule while latency is
 *                 gated, the A/A noise run is not an A/A twin and its floor
 *                 decides the verdict, a condition could not be judged on an
 *                 endpoint that moved, or there was nothing to judge;
 *   PASS          none of that.
 * The order matters: what a starved generator cannot cause (errors, status
 * and body changes) fails outright; latency failures measured by a starved
 * generator are inconclusive, never a PASS.
 */
#include "analyze/an_priv.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- --fail-if ---------------------------------------------------------- */

static const struct {
    const char *name;
    enum an_cond_metric m;
} cond_metrics[] = {
    {"p50", AN_CM_P50}, {"p90", AN_CM_P90}, {"p95", AN_CM_P95},
    {"p99.9", AN_CM_P999}, {"p999", AN_CM_P999}, {"p99", AN_CM_P99},
    {"max", AN_CM_MAX}, {"mean", AN_CM_MEAN}, {"errors", AN_CM_ERRORS},
    {"status-changed", AN_CM_STATUS_CHANGED},
    {"body-changed", AN_CM_BODY_CHANGED},
    {"status-mix", AN_CM_STATUS_MIX}, {"capacity", AN_CM_CAPACITY},
    {"field-changed", AN_CM_FIELD_CHANGED},
};
#define NMETRICS (sizeof cond_metrics / sizeof cond_metrics[0])

int an_cond_is_latency(enum an_cond_metric m)
{
    return m <= AN_CM_MEAN;
}

int an_cond_parse(const char *s, struct an_cond *out, char *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->text, sizeof out->text, "%s", s);
    const char *p = s;
    size_t i;
    for (i = 0; i < NMETRICS; i++) {
        size_t n = strlen(cond_metrics[i].name);
        if (!strncasecmp(p, cond_metrics[i].name, n) &&
            (p[n] == '>' || p[n] == '<' || p[n] == ' ')) {
            out->metric = cond_metrics[i].m;
            p += n;
            break;
        }
    }
    if (i == NMETRICS)
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
    if (out->metric == AN_CM_CAPACITY) {
        /* capacity<-10%: the change of the maximum sustained throughput
         * from the baseline's, signed */
        char *e;
        double v = strtod(p, &e);
        if (e == p || !isfinite(v) || strcmp(e, "%"))
            return rp_fail(err, RP_EUSAGE, "--fail-if '%s': capacity is "
                           "judged by its change from the baseline, in "
                           "percent, e.g. 'capacity<-10%%'", s);
        out->relative = out->percent = 1;
        out->value = v;
        return 0;
    }
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
    } else if (an_cond_is_latency(out->metric)) {
        return rp_fail(err, RP_EUSAGE, "--fail-if '%s': give a unit "
                       "(ms, s, us or %%), e.g. 'p99>+10%%' or "
                       "'p95>250ms'", s);
    } else {
        out->percent = 1; /* errors>1 means 1% */
    }
    out->value = v;
    if (an_cond_is_latency(out->metric)) {
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
                   "'errors>1%%', 'status-changed>0.5%%', 'status-mix>1%%', "
                   "'body-changed>1%%', 'capacity<-10%%' (metrics: p50 p90 p95 "
                   "p99 p99.9 max mean errors status-changed status-mix "
                   "body-changed capacity)", s);
}

/* The default gates, each standing in for a condition of its kind that
 * the user did not give: a condition on errors replaces the error gate,
 * one on statuses (status-changed or status-mix) the status gate. */
void an_add_default_gates(struct an_opts *o)
{
    static const char *const gates[] = {"errors>+1%", "status-mix>1%"};
    int have_err = 0, have_status = 0;
    o->nuser = o->ncond;
    if (o->no_default_gates)
        return;
    for (int i = 0; i < o->ncond; i++) {
        have_err |= o->cond[i].metric == AN_CM_ERRORS;
        have_status |= o->cond[i].metric == AN_CM_STATUS_CHANGED ||
                       o->cond[i].metric == AN_CM_STATUS_MIX;
    }
    for (int g = 0; g < 2; g++) {
        if ((g == 0 ? have_err : have_status) || o->ncond >= AN_MAX_CONDS)
            continue;
        char err[RP_ERRLEN];
        if (an_cond_parse(gates[g], &o->cond[o->ncond], err) == 0)
            o->cond[o->ncond++].dflt = 1;
    }
}

void an_cond_label(const struct an_cond *k, char *out, size_t n)
{
    snprintf(out, n, "%s%s", k->text, k->dflt ? " (default)" : "");
}

/* ---- evaluating a condition -------------------------------------------- */

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

static int guards_up(const struct an_cond *k)
{
    return k->op == AN_OP_GT || k->op == AN_OP_GE;
}

enum { HELD_NO = 0, HELD_YES = 1, HELD_UNJUDGED = 2 };

struct cond_result {
    int held;       /* HELD_* */
    double value;   /* in the condition's unit, when held */
    int pi;         /* percentile index judged at, or -1 */
};

/* The highest percentile index at or below pi that both sides have enough
 * samples beyond to judge, or -1. */
static int judged_pct(const struct an_group *g, int pi)
{
    for (; pi >= 0; pi--)
        if (an_pct_judged(g->sum[AN_BASE].timed, g->sum[AN_CAND].timed,
                          an_pct[pi]))
            return pi;
    return -1;
}

/* A relative latency condition: the change must be significant in its
 * direction (Mann-Whitney, or the quantile test at that percentile),
 * beyond the noise floor (unless ignore_noise), and at least --min-effect.
 * A percentile too few samples lie beyond is judged at the highest lower
 * one that has enough; max has no test of its own and never counts. */
static void eval_latency_change(const struct an_analysis *a,
                                const struct an_cond *k,
                                const struct an_group *g, int ignore_noise,
                                struct cond_result *r)
{
    const struct an_summary *b = &g->sum[AN_BASE], *c = &g->sum[AN_CAND];
    const struct an_side *bs = &g->side[AN_BASE], *cs = &g->side[AN_CAND];
    enum an_cond_metric m = k->metric;
    if (!b->timed || m == AN_CM_MAX)
        return;
    if (m <= AN_CM_P999) {
        int pi = judged_pct(g, (int)m);
        if (pi < 0) {
            r->held = HELD_UNJUDGED;
            return;
        }
        r->pi = pi;
        m = (enum an_cond_metric)pi;
    }
    if (!ignore_noise && !g->beyond_noise)
        return;
    struct an_qtest q = {0};
    q.p = 1;
    if (m <= AN_CM_P999)
        an_quantile_test(cs->res.v, cs->res.n, bs->res.v, bs->res.n,
                         an_pct[m], &q);
    if (!an_sig_dir(g, &q, guards_up(k) ? 1 : -1, a->o->alpha))
        return;
    double cv = (double)metric_us(c, m), bv = (double)metric_us(b, m);
    if (fabs(cv - bv) < (double)a->o->min_effect_us)
        return; /* below --min-effect: not a real change */
    if (k->percent) {
        if (bv <= 0)
            return;
        r->value = (cv - bv) / bv * 100.0;
    } else {
        r->value = cv - bv;
    }
    r->held = op_holds(k->op, r->value, k->value);
}

static void eval_cond(const struct an_analysis *a, const struct an_cond *k,
                      const struct an_group *g, int ignore_noise,
                      struct cond_result *r)
{
    const struct an_summary *b = &g->sum[AN_BASE], *c = &g->sum[AN_CAND];
    double alpha = a->o->alpha;
    r->held = HELD_NO;
    r->value = 0;
    r->pi = -1;
    if (!c->count)
        return;
    double v;
    switch (k->metric) {
    case AN_CM_ERRORS:
        v = c->error_rate * 100.0;
        if (k->relative) {
            if (!b->count)
                return;
            v -= b->error_rate * 100.0;
            /* the default gate must never fire on a chance difference */
            if (k->dflt &&
                !(v > 0 && an_two_prop_p(c->errors, c->count, b->errors,
                                         b->count) < alpha))
                return;
        }
        break;
    case AN_CM_STATUS_CHANGED:
        if (!g->compared)
            return;
        v = 100.0 * (double)g->status_changed / (double)g->compared;
        break;
    case AN_CM_BODY_CHANGED:
        if (!g->body_compared)
            return;
        v = 100.0 * (double)g->body_changed / (double)g->body_compared;
        break;
    case AN_CM_STATUS_MIX:
        if (!b->count || !(g->mix_p < alpha))
            return; /* a mix moves by chance too: only a significant move */
        v = g->mix_pts;
        break;
    case AN_CM_FIELD_CHANGED:
        if (!g->fields.total)
            return;
        v = an_fields_max_share(g, NULL);
        break;
    default:
        if (!c->timed)
            return;
        if (k->relative) {
            eval_latency_change(a, k, g, ignore_noise, r);
            return;
        }
        v = (double)metric_us(c, k->metric);
        break;
    }
    r->value = v;
    r->held = op_holds(k->op, v, k->value);
}

static int add_failure(struct an_analysis *a, int cond,
                       const struct an_group *g, double value, int pi)
{
    if (a->nfail == a->fail_cap) {
        size_t cap = a->fail_cap ? a->fail_cap * 2 : 16;
        struct an_failure *nf = realloc(a->fail, cap * sizeof *nf);
        if (!nf)
            return RP_ENOMEM;
        a->fail = nf;
        a->fail_cap = cap;
    }
    a->fail[a->nfail++] = (struct an_failure){cond, g, value, pi};
    return 0;
}

void an_failure_value(const struct an_analysis *a,
                      const struct an_failure *x, char *out, size_t n)
{
    const struct an_cond *k = &a->o->cond[x->cond];
    char v[48], at[48] = "";
    if (x->pi >= 0 && (int)k->metric != x->pi)
        snprintf(at, sizeof at, ", judged at %s", an_pct_name[x->pi]);
    if (k->metric == AN_CM_ERRORS && k->relative)
        snprintf(v, sizeof v, "%+.2f points", x->value);
    else if (k->metric == AN_CM_STATUS_MIX)
        snprintf(v, sizeof v, "%.2f points moved", x->value);
    else if (k->metric == AN_CM_FIELD_CHANGED) {
        const struct an_field *f = NULL;
        an_fields_max_share(x->group, &f);
        snprintf(out, n, "%.2f%%: %.120s", x->value, f ? f->path : "?");
        return;
    }
    else if (k->percent)
        snprintf(v, sizeof v, k->relative ? "change %+.2f%%" : "%.2f%%",
                 x->value);
    else {
        char t[32];
        an_fmt_us(x->value, t, sizeof t);
        snprintf(v, sizeof v, "%s%s%s", k->relative ? "change " : "",
                 k->relative && x->value >= 0 ? "+" : "", t);
    }
    snprintf(out, n, "%s%s", v, at);
}

/* ---- the runs themselves ------------------------------------------------ */

const char *an_side_name(int side)
{
    return side == AN_BASE ? "baseline" : side == AN_CAND ? "candidate"
                                                           : "noise run";
}

/* A run's generator fell behind its schedule when its p99 lateness (sent
 * - scheduled) exceeds --max-lateness, or exceeds both --min-effect and
 * half of the run's own p99 latency: then the generator, not the target,
 * decides the tail. Only open-model runs (speed, rate) have a schedule to
 * fall behind; a closed loop (max) sends when a slot frees. */
static void check_starved(struct an_analysis *a, int side)
{
    struct an_set *s = &a->set[side];
    s->late_p99_us = -1;
    s->starved = 0;
    s->open_model = s->kind == CORPUS_SET_RUN && strcmp(s->mode, "max");
    if (!s->present || !s->lateness || !rp_hist_count(s->lateness))
        return;
    s->late_p99_us = rp_hist_value_at_percentile(s->lateness, 99);
    if (!s->open_model)
        return;
    const struct an_summary *m = &a->all.sum[side];
    int64_t l = s->late_p99_us;
    s->starved = l > a->o->max_lateness_us ||
                 (l > a->o->min_effect_us && m->timed &&
                  (double)l > 0.5 * (double)m->pct_us[3]);
}

/* Whether the noise run is an A/A twin of the baseline: not starved, and
 * the same errors, status mix and latency as the baseline within the
 * thresholds (significantly different is suspect). */
static void check_noise(struct an_analysis *a)
{
    struct an_set *ns = &a->set[AN_NOISE];
    struct an_group *all = &a->all;
    const struct an_summary *b = &all->sum[AN_BASE], *n = &all->sum[AN_NOISE];
    const struct an_opts *o = a->o;
    char t1[32], t2[32];
    a->noise_suspect = 0;
    if (!ns->present)
        return;
    if (ns->starved) {
        an_fmt_us((double)ns->late_p99_us, t1, sizeof t1);
        snprintf(a->noise_why, sizeof a->noise_why, "its generator fell "
                 "behind its schedule (p99 lateness %s)", t1);
        a->noise_suspect = 1;
        return;
    }
    if (!n->count) {
        snprintf(a->noise_why, sizeof a->noise_why, "it has no results");
        a->noise_suspect = 1;
        return;
    }
    double derr = (n->error_rate - b->error_rate) * 100.0;
    if (fabs(derr) > 1 &&
        an_two_prop_p(n->errors, n->count, b->errors, b->count) < o->alpha) {
        snprintf(a->noise_why, sizeof a->noise_why, "its error rate differs "
                 "from the baseline's (%.2f%% against %.2f%%)",
                 n->error_rate * 100, b->error_rate * 100);
        a->noise_suspect = 1;
        return;
    }
    double pts, p;
    an_status_mix(&all->side[AN_BASE], &all->side[AN_NOISE], &pts, &p);
    if (pts > 1 && p < o->alpha) {
        snprintf(a->noise_why, sizeof a->noise_why, "its status mix differs "
                 "from the baseline's by %.1f points", pts);
        a->noise_suspect = 1;
        return;
    }
    struct an_side *bs = &all->side[AN_BASE], *xs = &all->side[AN_NOISE];
    if (!b->timed || !n->timed)
        return;
    struct an_mw mw;
    an_mann_whitney(xs->res.v, xs->res.n, bs->res.v, bs->res.n, &mw);
    double d = (double)(n->pct_us[0] - b->pct_us[0]);
    double need = fmax((double)b->pct_us[0] * o->threshold_pct / 100.0,
                       (double)o->min_effect_us);
    if (mw.p < o->alpha && fabs(d) >= need) {
        an_fmt_us((double)b->pct_us[0], t1, sizeof t1);
        an_fmt_us((double)n->pct_us[0], t2, sizeof t2);
        snprintf(a->noise_why, sizeof a->noise_why, "its latency differs "
                 "from the baseline's (p50 %s against %s, p = %.2g)", t2, t1,
                 mw.p);
        a->noise_suspect = 1;
    }
}

/* ---- the verdict -------------------------------------------------------- */

const char *an_verdict_name(enum an_verdict v)
{
    return v == AN_FAIL ? "FAIL" : v == AN_INCONCLUSIVE ? "INCONCLUSIVE"
                                                         : "PASS";
}

int an_note_decides(const struct an_analysis *a, const struct an_note *n)
{
    return (n->kind == AN_NOTE_FAIL && a->verdict == AN_FAIL) ||
           (n->kind == AN_NOTE_INCONCLUSIVE && a->verdict == AN_INCONCLUSIVE);
}

int an_verdict_exit(enum an_verdict v)
{
    return v == AN_FAIL ? AN_EXIT_FAIL
           : v == AN_INCONCLUSIVE ? AN_EXIT_INCONCLUSIVE : AN_EXIT_PASS;
}

static void note(struct an_analysis *a, enum an_note_kind kind,
                 const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(struct an_analysis *a, enum an_note_kind kind,
                 const char *fmt, ...)
{
    if (a->nnotes >= AN_MAX_NOTES)
        return;
    struct an_note *n = &a->note[a->nnotes++];
    n->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->text, sizeof n->text, fmt, ap);
    va_end(ap);
}

/* "refused 240, 5xx 9" for side of group g into out. */
static void failure_mix(const struct an_group *g, int side, char *out,
                        size_t n)
{
    const struct an_side *s = &g->side[side];
    size_t used = 0;
    out[0] = '\0';
    for (int k = 1; k < CORPUS_ERR__COUNT && used < n; k++) {
        if (k == CORPUS_ERR_NOT_SENT || !s->errclass[k])
            continue;
        int w = snprintf(out + used, n - used, "%s%s %llu", used ? ", " : "",
                         corpus_errclass_name((enum corpus_errclass)k),
                         (unsigned long long)s->errclass[k]);
        used += w > 0 ? (size_t)w : 0;
    }
    uint64_t fivexx = s->status_class[5];
    if (fivexx && used < n)
        snprintf(out + used, n - used, "%s5xx %llu", used ? ", " : "",
                 (unsigned long long)fivexx);
}

/* Whether g moved significantly in direction dir (+1 slower): Mann-Whitney
 * says so, the shift reaches the threshold, and its p50 moved by more than
 * the compared runs' generators were late at p99: a generator that sent
 * requests 3 ms late cannot vouch for a 1 ms move of a dozen requests. */
static int moved(const struct an_analysis *a, const struct an_group *g,
                 int dir)
{
    if (!g->significant || !g->effect || !(dir > 0 ? g->mw.z > 0
                                                    : g->mw.z < 0))
        return 0;
    int64_t d = g->sum[AN_CAND].pct_us[0] - g->sum[AN_BASE].pct_us[0];
    int64_t late = a->set[AN_BASE].late_p99_us > a->set[AN_CAND].late_p99_us
                       ? a->set[AN_BASE].late_p99_us
                       : a->set[AN_CAND].late_p99_us;
    return (d < 0 ? -d : d) > late;
}

/* Evaluates the conditions on every gated group; with ignore_noise only
 * counts the latency failures (no notes, nothing recorded). */
static int evaluate(struct an_analysis *a, int ignore_noise, size_t *nlat,
                    char *err)
{
    const struct an_opts *o = a->o;
    *nlat = 0;
    for (size_t i = 0; i <= a->ngroups; i++) {
        /* the endpoints, then every request together, which catches an
         * error spike spread thin over many small endpoints; only the
         * default gates look at the whole */
        int whole = i == a->ngroups;
        struct an_group *g = whole ? &a->all : a->groups[i];
        if ((int64_t)g->sum[AN_CAND].count < o->min_count)
            continue;
        if (whole && a->ngroups <= 1)
            continue;
        for (int k = 0; k < o->ncond; k++) {
            const struct an_cond *c = &o->cond[k];
            if (c->metric == AN_CM_CAPACITY) /* the run's, below */
                continue;
            if (whole && !c->dflt)
                continue;
            if (ignore_noise && !an_cond_is_latency(c->metric))
                continue;
            struct cond_result r;
            eval_cond(a, c, g, ignore_noise, &r);
            if (ignore_noise) {
                *nlat += r.held == HELD_YES;
                continue;
            }
            if (r.held == HELD_UNJUDGED) {
                a->unjudged[k]++;
                if (moved(a, g, guards_up(c) ? 1 : -1)) {
                    if (!a->unjudged_moved[k]++)
                        a->unjudged_ex[k] = g;
                }
                continue;
            }
            if (r.pi >= 0 && r.pi != (int)c->metric)
                a->fallback[k][r.pi]++;
            if (r.held != HELD_YES)
                continue;
            g->failed = 1;
            if (an_cond_is_latency(c->metric))
                (*nlat)++;
            if (add_failure(a, k, g, r.value, r.pi))
                return rp_fail(err, RP_ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* One note per condition that held. When a starved generator measured the
 * latencies, a latency condition that held is a notice, not a reason. */
static void note_failures(struct an_analysis *a, int starved)
{
    const struct an_opts *o = a->o;
    for (int k = 0; k < o->ncond; k++) {
        size_t n = 0, first = 0;
        for (size_t i = 0; i < a->nfail; i++)
            if (a->fail[i].cond == k && !n++)
                first = i;
        if (!n)
            continue;
        char label[96], v[96];
        an_cond_label(&o->cond[k], label, sizeof label);
        an_failure_value(a, &a->fail[first], v, sizeof v);
        int untrusted = starved && an_cond_is_latency(o->cond[k].metric);
        note(a, untrusted ? AN_NOTE_INFO : AN_NOTE_FAIL,
             "%s held on %zu %s, e.g. %s (%s)%s", label, n,
             n == 1 ? "group" : "groups", a->fail[first].group->key, v,
             untrusted ? ", measured by a starved generator: not trusted"
                       : "");
    }
}

/* The capacity conditions (capacity<-10%): the change of the maximum
 * sustained throughput, when both runs are stepped and the candidate's
 * knee is the target's. Counts those that held and those that could not
 * be judged. */
static void judge_capacity(struct an_analysis *a, int *held, int *unjudged)
{
    const struct an_opts *o = a->o;
    char sb[256], sc[256], label[96];
    double ch = an_capacity_change(a);
    *held = *unjudged = 0;
    const struct an_capacity *kc = a->set[AN_CAND].cap;
    const struct an_capacity *kb = a->set[AN_BASE].cap;
    if (kc)
        an_capacity_sentence(a, AN_CAND, sc, sizeof sc);
    if (kb)
        an_capacity_sentence(a, AN_BASE, sb, sizeof sb);
    if (kc && kb && isfinite(ch))
        note(a, AN_NOTE_INFO, "capacity: %s, %s: %+.0f%%", sc, sb, ch);
    for (int k = 0; k < o->ncond; k++) {
        const struct an_cond *c = &o->cond[k];
        if (c->metric != AN_CM_CAPACITY)
            continue;
        an_cond_label(c, label, sizeof label);
        if (!kc || !kb) {
            (*unjudged)++;
            note(a, AN_NOTE_INCONCLUSIVE, "%s needs two stepped runs "
                 "(replay both with --steps): %s", label,
                 !kc ? (kb ? sc : "the candidate is not stepped")
                     : "the baseline is not a stepped run");
            continue;
        }
        if (!isfinite(ch)) {
            (*unjudged)++;
            note(a, AN_NOTE_INCONCLUSIVE, "%s could not be judged: %s; "
                 "%s (start the steps lower)", label, sc, sb);
            continue;
        }
        if (kc->gen_limited || kb->gen_limited) {
            (*unjudged)++;
            note(a, AN_NOTE_INCONCLUSIVE, "%s could not be judged: the "
                 "generator of the %s fell behind at its knee, so that "
                 "knee is reprise's, not the target's (more --threads, a "
                 "quieter machine)", label,
                 kc->gen_limited ? "candidate" : "baseline");
            continue;
        }
        if (op_holds(c->op, ch, c->value)) {
            (*held)++;
            note(a, AN_NOTE_FAIL, "%s held: %s, %s: %+.1f%%", label, sc, sb,
                 ch);
        }
    }
}

static void note_judging(struct an_analysis *a)
{
    const struct an_opts *o = a->o;
    for (int k = 0; k < o->ncond; k++) {
        char label[96];
        an_cond_label(&o->cond[k], label, sizeof label);
        for (int pi = 0; pi < AN_NPCT; pi++)
            if (a->fallback[k][pi])
                note(a, AN_NOTE_INFO, "%s was judged at %s on %d "
                     "endpoint%s with fewer than %d requests of a side "
                     "beyond %s", label, an_pct_name[pi], a->fallback[k][pi],
                     a->fallback[k][pi] == 1 ? "" : "s", AN_TAIL_MIN,
                     an_pct_name[o->cond[k].metric]);
        if (!a->unjudged[k])
            continue;
        if (a->unjudged_moved[k]) {
            const struct an_group *g = a->unjudged_ex[k];
            char b[32], c[32];
            an_fmt_us((double)g->sum[AN_BASE].pct_us[0], b, sizeof b);
            an_fmt_us((double)g->sum[AN_CAND].pct_us[0], c, sizeof c);
            note(a, AN_NOTE_INCONCLUSIVE, "%s could not be judged on %d "
                 "endpoint%s that moved significantly, e.g. %s (p50 %s -> "
                 "%s, %llu/%llu responses): even p50 needs %d requests of "
                 "each side beyond it; replay more traffic (--loop, "
                 "--duration)", label, a->unjudged_moved[k],
                 a->unjudged_moved[k] == 1 ? "" : "s", g->key, b, c,
                 (unsigned long long)g->sum[AN_BASE].timed,
                 (unsigned long long)g->sum[AN_CAND].timed, AN_TAIL_MIN);
        }
        int still = a->unjudged[k] - a->unjudged_moved[k];
        if (still > 0)
            note(a, AN_NOTE_INFO, "not judged: %s on %d endpoint%s with "
                 "fewer than %d requests of a side beyond p50 (none of them "
                 "moved significantly)", label, still, still == 1 ? "" : "s",
                 AN_TAIL_MIN);
    }
}

int an_decide(struct an_analysis *a, char *err)
{
    const struct an_opts *o = a->o;
    char t1[32], t2[32], name[256];
    for (int i = 0; i < AN_NSIDES; i++)
        check_starved(a, i);
    check_noise(a);
    size_t nlat = 0, nlat_nonoise = 0;
    int rc = evaluate(a, 0, &nlat, err);
    if (!rc && a->noise_suspect)
        rc = evaluate(a, 1, &nlat_nonoise, err);
    if (rc)
        return rc;
    size_t nother = a->nfail - nlat;
    int latency_gated = 0;
    for (int k = 0; k < o->ncond; k++)
        latency_gated |= an_cond_is_latency(o->cond[k].metric);
    const struct an_summary *c = &a->all.sum[AN_CAND];
    const struct an_summary *b = &a->all.sum[AN_BASE];
    int all_failed = c->count && c->errors == c->count;

    if (all_failed) {
        char mix[160];
        failure_mix(&a->all, AN_CAND, mix, sizeof mix);
        if (!o->allow_all_errors)
            note(a, AN_NOTE_FAIL, "every request of the candidate failed "
                 "(%llu of %llu: %s); nothing was measured "
                 "(--allow-all-errors accepts that)",
                 (unsigned long long)c->errors,
                 (unsigned long long)c->count, mix);
        else
            note(a, AN_NOTE_INFO, "every request of the candidate failed "
                 "(%s), accepted by --allow-all-errors", mix);
    }
    int starved = 0;
    for (int i = AN_BASE; i <= AN_CAND; i++)
        starved |= latency_gated && a->set[i].present && a->set[i].starved;
    note_failures(a, starved);
    int cap_held, cap_unjudged;
    judge_capacity(a, &cap_held, &cap_unjudged);
    nother += (size_t)cap_held;
    int nothing = !c->count || !b->count;
    if (!c->count)
        note(a, AN_NOTE_INCONCLUSIVE, "the candidate has no results to "
             "judge (%llu requests never sent)",
             (unsigned long long)a->set[AN_CAND].not_sent);
    if (!b->count)
        note(a, AN_NOTE_INCONCLUSIVE, "the baseline has no results to "
             "judge");
    for (int i = 0; i < AN_NSIDES; i++) {
        const struct an_set *s = &a->set[i];
        if (!s->present || !s->starved)
            continue;
        an_set_name(s, name, sizeof name);
        an_fmt_us((double)s->late_p99_us, t1, sizeof t1);
        an_fmt_us((double)o->max_lateness_us, t2, sizeof t2);
        if (i == AN_NOISE)
            continue; /* below, as a suspect noise run */
        if (latency_gated) {
            note(a, AN_NOTE_INCONCLUSIVE, "the %s, %s, fell behind its "
                 "schedule (p99 lateness %s; the bound is %s, or half its "
                 "p99 latency): its generator, not the target, measured the "
                 "latencies; replay on a quieter machine or with more "
                 "--threads", an_side_name(i), name, t1, t2);
        } else {
            note(a, AN_NOTE_INFO, "the %s, %s, fell behind its schedule "
                 "(p99 lateness %s); no latency is gated, so the verdict "
                 "stands", an_side_name(i), name, t1);
        }
    }
    if (a->noise_suspect) {
        an_set_name(&a->set[AN_NOISE], name, sizeof name);
        if (latency_gated && !nlat && nlat_nonoise)
            note(a, AN_NOTE_INCONCLUSIVE, "the noise run, %s, is not an A/A "
                 "twin of the baseline: %s; without its noise floor %zu "
                 "latency condition%s would fail, so the floor decides the "
                 "verdict: replay the A/A pair again", name, a->noise_why,
                 nlat_nonoise, nlat_nonoise == 1 ? "" : "s");
        else
            note(a, AN_NOTE_INFO, "the noise run, %s, is not an A/A twin of "
                 "the baseline (%s); the verdict does not depend on its "
                 "noise floor", name, a->noise_why);
    }
    if (a->set[AN_CAND].not_sent)
        note(a, AN_NOTE_INFO, "%llu requests of the candidate were never "
             "sent (the run was interrupted) and are not judged",
             (unsigned long long)a->set[AN_CAND].not_sent);
    note_judging(a);
    int unjudged_moved = 0;
    for (int k = 0; k < o->ncond; k++)
        unjudged_moved |= a->unjudged_moved[k] > 0;
    unjudged_moved |= cap_unjudged > 0;

    if (nother || (all_failed && !o->allow_all_errors))
        a->verdict = AN_FAIL;
    else if (nothing || starved)
        a->verdict = AN_INCONCLUSIVE;
    else if (nlat)
        a->verdict = AN_FAIL;
    else if ((a->noise_suspect && latency_gated && nlat_nonoise) ||
             unjudged_moved)
        a->verdict = AN_INCONCLUSIVE;
    else
        a->verdict = AN_PASS;
    return 0;
}
