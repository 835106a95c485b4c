/*
 * compare.c: turns the accumulators into a comparison: per-group summaries
 * (percentiles from the histograms, over the requests that got a response:
 * a failed request is an error, never a 0 us latency), the Mann-Whitney
 * test on the kept samples, the minimum-effect and noise-floor checks that
 * decide "regressed" / "improved", the status mix, and the report order.
 * The verdict (verdict.c) and the saturation point (saturation.c) are
 * decided from what this computes.
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
    out->timed = rp_hist_count(s->lat);
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

/* Share of the samples of c with status key `key`. */
static double key_share(const struct an_codes *c, uint64_t total, int key)
{
    for (int i = 0; total && i < c->len; i++)
        if (c->key[i] == key)
            return (double)c->n[i] / (double)total;
    return 0;
}

static uint64_t key_count(const struct an_codes *c, int key)
{
    for (int i = 0; i < c->len; i++)
        if (c->key[i] == key)
            return c->n[i];
    return 0;
}

/* The status mix of side y against side x of g: the total variation
 * distance of their status-key distributions in points (half the summed
 * share differences: the share of requests whose status would have to
 * change to turn one mix into the other), and its significance: the
 * smallest two-proportion p-value over the keys, times the number of keys
 * (Bonferroni). Keys that did not fit the table count as one "other". */
void an_status_mix(const struct an_side *x, const struct an_side *y,
                   double *pts, double *p)
{
    *pts = 0;
    *p = 1;
    uint64_t nx = x->count, ny = y->count;
    if (!nx || !ny)
        return;
    int keys[2 * AN_MAX_CODES];
    int nk = 0;
    for (int s = 0; s < 2; s++) {
        const struct an_codes *c = s ? &y->codes : &x->codes;
        for (int i = 0; i < c->len; i++) {
            int seen = 0;
            for (int k = 0; k < nk; k++)
                seen |= keys[k] == c->key[i];
            if (!seen)
                keys[nk++] = c->key[i];
        }
    }
    double tv = fabs((double)x->codes.other / (double)nx -
                     (double)y->codes.other / (double)ny);
    double pmin = an_two_prop_p(x->codes.other, nx, y->codes.other, ny);
    for (int k = 0; k < nk; k++) {
        tv += fabs(key_share(&x->codes, nx, keys[k]) -
                   key_share(&y->codes, ny, keys[k]));
        double pk = an_two_prop_p(key_count(&x->codes, keys[k]), nx,
                                  key_count(&y->codes, keys[k]), ny);
        if (pk < pmin)
            pmin = pk;
    }
    *pts = tv / 2 * 100.0;
    double bonf = pmin * (double)(nk + 1);
    *p = bonf > 1 ? 1 : bonf;
}

/* When (nearly) every candidate request has its baseline twin, the status
 * mix is tested on the pairs, which is far stronger than comparing two
 * mixes: for each pair of status keys {x, y}, the exchanges that went
 * x -> y and those that went y -> x are the two sides of a sign test
 * (McNemar); the smallest p-value times the number of such pairs
 * (Bonferroni) is the mix's. Eight of 92 exchanges turning 200 -> 404 and
 * none the other way is p = 0.008; as two unpaired mixes it is not
 * significant. Changes that did not fit the transition table are left
 * out, which can only make the test weaker. */
static void paired_mix_p(struct an_group *g)
{
    uint64_t nb = g->sum[AN_BASE].count, nc = g->sum[AN_CAND].count;
    uint64_t lo = nb < nc ? nb : nc;
    if (!g->compared || (double)g->compared < 0.9 * (double)lo)
        return;
    double pmin = 1;
    int npairs = 0;
    for (int i = 0; i < g->ntrans; i++) {
        const struct an_trans *t = &g->trans[i];
        uint64_t back = 0;
        int seen = 0;
        for (int k = 0; k < g->ntrans; k++) {
            const struct an_trans *u = &g->trans[k];
            if (u->from == t->to && u->to == t->from) {
                back = u->count;
                seen |= k < i; /* the pair was counted at k */
            }
        }
        if (seen)
            continue;
        npairs++;
        double p = an_sign_test_p(back, t->count + back);
        if (p < pmin)
            pmin = p;
    }
    double bonf = pmin * (npairs ? npairs : 1);
    g->mix_p = bonf > 1 ? 1 : bonf;
}

static int cmp_trans(const void *x, const void *y)
{
    const struct an_trans *a = x, *b = y;
    if (a->count != b->count)
        return a->count < b->count ? 1 : -1;
    return a->from != b->from ? a->from - b->from : a->to - b->to;
}

void an_judge(struct an_group *g, const struct an_analysis *a)
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
    uint64_t nb = g->sum[AN_BASE].timed, nc = g->sum[AN_CAND].timed;
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
    an_status_mix(b, c, &g->mix_pts, &g->mix_p);
    paired_mix_p(g);
    qsort(g->trans, (size_t)g->ntrans, sizeof g->trans[0], cmp_trans);
}

/* ---- ordering ----------------------------------------------------------- */

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

int an_compute(struct an_analysis *a, char *err)
{
    an_judge(&a->all, a);
    for (size_t i = 0; i < a->ngroups; i++)
        an_judge(a->groups[i], a);
    an_capacity_compute(a);
    int rc = an_decide(a, err);
    if (rc)
        return rc;
    a->order = malloc((a->ngroups ? a->ngroups : 1) * sizeof *a->order);
    if (!a->order)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    for (size_t i = 0; i < a->ngroups; i++)
        a->order[i] = i;
    sort_ctx = a;
    qsort(a->order, a->ngroups, sizeof *a->order, cmp_groups);
    sort_ctx = NULL;
    qsort(a->slow, (size_t)a->nslow, sizeof a->slow[0], cmp_slow);
    an_find_saturation(a);
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
