/*
 * report_text.c: the human report: an aligned table per endpoint (failing
 * and regressed endpoints first), then correctness differences, the
 * endpoints that contribute most to the latency change, saturation, the
 * slowest exchanges and the verdict. Colour only when asked or on a tty.
 */
#include "analyze/an_priv.h"

#include <math.h>
#include <string.h>

#define RED "\033[31m"
#define GREEN "\033[32m"
#define BOLD "\033[1m"
#define DIM "\033[2m"
#define RESET "\033[0m"

const char *an_verdict_word(const struct an_analysis *a,
                            const struct an_group *g)
{
    (void)a;
    if (g->failed)
        return "FAIL";
    if (!g->sum[AN_BASE].count)
        return "new";
    if (!g->sum[AN_CAND].count)
        return "gone";
    if (g->regressed)
        return "regressed";
    if (g->improved)
        return "improved";
    if (g->significant && !g->effect)
        return "~ (small)";
    if (g->significant && g->noise_us[0] >= 0)
        return "~ (noise)";
    return "~";
}

static void pct_str(double b, double c, char *out, size_t n)
{
    double p = an_pct_change(b, c);
    if (isnan(p))
        snprintf(out, n, "-");
    else
        snprintf(out, n, "%+.1f%%", p);
}

static void row(FILE *f, int w, const struct an_analysis *a,
                const struct an_group *g, int color)
{
    const struct an_summary *b = &g->sum[AN_BASE], *c = &g->sum[AN_CAND];
    char cnt[48], err[16], cell[6][24], d[3][24], pv[16];
    snprintf(cnt, sizeof cnt, "%llu/%llu", (unsigned long long)b->count,
             (unsigned long long)c->count);
    snprintf(err, sizeof err, "%.1f%%", c->error_rate * 100);
    const int pi[3] = {0, 1, 3};
    for (int k = 0; k < 3; k++) {
        an_fmt_us(b->count ? (double)b->pct_us[pi[k]] : NAN, cell[2 * k],
                  sizeof cell[0]);
        an_fmt_us(c->count ? (double)c->pct_us[pi[k]] : NAN, cell[2 * k + 1],
                  sizeof cell[0]);
        pct_str((double)b->pct_us[pi[k]], (double)c->pct_us[pi[k]], d[k],
                sizeof d[k]);
    }
    if (g->side[AN_BASE].res.n && g->side[AN_CAND].res.n)
        snprintf(pv, sizeof pv, g->mw.p < 0.0001 ? "<0.0001" : "%.4f",
                 g->mw.p);
    else
        snprintf(pv, sizeof pv, "-");
    const char *v = an_verdict_word(a, g);
    const char *col = !color ? ""
                      : (g->failed || g->regressed) ? RED
                      : g->improved ? GREEN : "";
    int klen = (int)strlen(g->key);
    if (klen > w)
        fprintf(f, "%.*s~", w - 1, g->key);
    else
        fprintf(f, "%-*s", w, g->key);
    fprintf(f, " %13s %6s %8s %8s %7s %8s %8s %7s %8s %8s %7s %8s %s%s%s\n",
            cnt, err, cell[0], cell[1], d[0], cell[2], cell[3], d[1],
            cell[4], cell[5], d[2], pv, col, v, *col ? RESET : "");
}

void an_print_unjudged(FILE *f, const struct an_analysis *a,
                       const char *quote, const char *end)
{
    for (int k = 0; k < a->o->ncond; k++)
        if (a->unjudged[k])
            fprintf(f, "not judged: %s%s%s on %d endpoint%s with fewer than "
                    "%d requests of a side beyond that percentile%s", quote,
                    a->o->cond[k].text, quote, a->unjudged[k],
                    a->unjudged[k] == 1 ? "" : "s", AN_TAIL_MIN, end);
}

int an_report_text(const struct an_analysis *a, FILE *f, int color)
{
    const struct an_opts *o = a->o;
    char bn[256], cn[256], t1[32], t2[32];
    an_set_name(&a->set[AN_BASE], bn, sizeof bn);
    an_set_name(&a->set[AN_CAND], cn, sizeof cn);
    an_fmt_us((double)o->min_effect_us, t1, sizeof t1);
    fprintf(f, "%sreprise analyze%s: %s vs baseline %s\n", color ? BOLD : "",
            color ? RESET : "", cn, bn);
    for (int i = 0; i < AN_NSIDES; i++) {
        const struct an_set *s = &a->set[i];
        if (!s->present)
            continue;
        char nm[256];
        an_set_name(s, nm, sizeof nm);
        an_fmt_us((double)an_set_duration_us(s), t2, sizeof t2);
        fprintf(f, "  %-10s %s: %llu samples over %s", i == AN_BASE ? "baseline"
                : i == AN_CAND ? "candidate" : "noise", nm,
                (unsigned long long)s->samples, t2);
        if (s->not_sent)
            fprintf(f, ", %llu never sent", (unsigned long long)s->not_sent);
        if (s->warmup)
            fprintf(f, ", %llu in the warmup", (unsigned long long)s->warmup);
        if (s->kind == CORPUS_SET_RUN)
            fprintf(f, " (target %s, mode %s, %s)", s->target, s->mode,
                    s->status);
        fputc('\n', f);
        const struct an_summary *m = &a->all.sum[i];
        char x[4][32];
        an_fmt_us((double)m->pct_us[0], x[0], sizeof x[0]);
        an_fmt_us((double)m->pct_us[3], x[1], sizeof x[1]);
        fprintf(f, "  %-10s %.0f req/s, %.2f%% errors, %s p50 %s p99 %s",
                "", m->rps, m->error_rate * 100,
                o->metric == AN_METRIC_SERVICE ? "service" : "latency", x[0],
                x[1]);
        if (s->kind == CORPUS_SET_RUN && o->metric == AN_METRIC_LATENCY) {
            an_fmt_us((double)m->svc_p50_us, x[2], sizeof x[2]);
            an_fmt_us((double)m->svc_p99_us, x[3], sizeof x[3]);
            fprintf(f, "; service time p50 %s p99 %s", x[2], x[3]);
        }
        if (s->lateness && rp_hist_count(s->lateness)) {
            int64_t l99 = rp_hist_value_at_percentile(s->lateness, 99);
            an_fmt_us((double)l99, t2, sizeof t2);
            fprintf(f, "; lateness p99 %s", t2);
        }
        fputc('\n', f);
        if (s->lateness && rp_hist_count(s->lateness)) {
            int64_t l99 = rp_hist_value_at_percentile(s->lateness, 99);
            an_fmt_us((double)l99, t2, sizeof t2);
            if (l99 > 5000)
                fprintf(f, "  %swarning%s: this run fell behind its schedule "
                        "(lateness p99 %s); latency counts that wait, "
                        "service time does not\n", color ? RED : "",
                        color ? RESET : "", t2);
        }
    }
    static const char *const per[] = {"per endpoint", "per host",
                                      "per status", "over all requests"};
    fprintf(f, "  compared: %s %s; a change is real when p50 or p99 (p90 "
            "where p99 has fewer than %d samples beyond it) moves by >= "
            "max(%g%%, %s)%s, significantly (p < %g)\n\n",
            o->metric == AN_METRIC_SERVICE ? "service time" : "latency",
            per[o->group_by], AN_TAIL_MIN, o->threshold_pct, t1,
            a->set[AN_NOISE].present ? " plus the A/A noise floor" : "",
            o->alpha);

    int w = 8;
    for (size_t i = 0; i < a->ngroups; i++) {
        int l = (int)strlen(a->groups[i]->key);
        if (l > w)
            w = l;
    }
    if (w > 48)
        w = 48;
    fprintf(f, "%s%-*s %13s %6s %8s %8s %7s %8s %8s %7s %8s %8s %7s %8s %s%s\n",
            color ? BOLD : "", w,
            o->group_by == AN_BY_ENDPOINT ? "ENDPOINT" : "GROUP",
            "COUNT b/c", "ERR%", "p50 b", "p50 c", "p50 d", "p90 b", "p90 c",
            "p90 d", "p99 b", "p99 c", "p99 d", "p-value", "VERDICT",
            color ? RESET : "");
    size_t shown = a->ngroups;
    if (o->top > 0 && shown > (size_t)o->top)
        shown = (size_t)o->top;
    for (size_t i = 0; i < shown; i++)
        row(f, w, a, a->groups[a->order[i]], color);
    if (shown < a->ngroups)
        fprintf(f, "... %zu more (--top 0 shows all)\n", a->ngroups - shown);
    if (a->ngroups > 1)
        row(f, w, a, &a->all, 0);

    int hdr = 0;
    for (size_t i = 0; i < a->ngroups; i++) {
        const struct an_group *g = a->groups[a->order[i]];
        if (!g->status_changed && !g->body_changed)
            continue;
        if (!hdr++)
            fputs("\ncorrectness (candidate vs baseline, same exchange):\n",
                  f);
        fprintf(f, "  %s:", g->key);
        if (g->status_changed) {
            fprintf(f, " status changed %llu/%llu (%.1f%%), e.g.",
                    (unsigned long long)g->status_changed,
                    (unsigned long long)g->compared,
                    100.0 * (double)g->status_changed / (double)g->compared);
            for (int k = 0; k < g->n_status_ex; k++)
                fprintf(f, " %lld", (long long)g->status_ex[k]);
            if (g->body_changed)
                fputc(';', f);
        }
        if (g->body_changed) {
            fprintf(f, " body changed %llu/%llu (%.1f%%), e.g.",
                    (unsigned long long)g->body_changed,
                    (unsigned long long)g->body_compared,
                    100.0 * (double)g->body_changed /
                        (double)g->body_compared);
            for (int k = 0; k < g->n_body_ex; k++)
                fprintf(f, " %lld", (long long)g->body_ex[k]);
        }
        fputc('\n', f);
    }
    if (!hdr && a->all.compared)
        fprintf(f, "\ncorrectness: no status or body change in %llu "
                "compared exchanges\n", (unsigned long long)a->all.compared);

    const struct an_group *top[5];
    int nt = an_top_contributors(a, top, 5);
    if (nt) {
        fprintf(f, "\nlargest contributions to the latency change "
                "(count x mean change):\n");
        for (int k = 0; k < nt; k++) {
            an_fmt_us(top[k]->contribution_us, t1, sizeof t1);
            an_fmt_us(top[k]->sum[AN_CAND].mean_us -
                          top[k]->sum[AN_BASE].mean_us, t2, sizeof t2);
            fprintf(f, "  %-*s %10s total (%s each)\n", w, top[k]->key, t1,
                    t2);
        }
    }
    if (a->saturated) {
        an_fmt_us((double)a->sat_t_us, t1, sizeof t1);
        an_fmt_us((double)a->sat_p50_us, t2, sizeof t2);
        fprintf(f, "\nsaturation: from %s into the candidate run, throughput "
                "stopped growing at %.0f req/s while p50 rose to %s\n", t1,
                a->sat_rps, t2);
    }
    if (a->nslow) {
        fprintf(f, "\nslowest candidate exchanges ('reprise show %s ID'):\n",
                o->db);
        int n = a->nslow < 5 ? a->nslow : 5;
        for (int k = 0; k < n; k++) {
            const struct an_slow *sl = &a->slow[k]; /* slowest first */
            an_fmt_us((double)sl->latency_us, t1, sizeof t1);
            fprintf(f, "  %8lld  %9s  %3d  %s\n", (long long)sl->exchange_id,
                    t1, sl->status, sl->endpoint);
        }
    }
    if (o->ncond) {
        fputc('\n', f);
        for (size_t i = 0; i < a->nfail; i++) {
            const struct an_failure *x = &a->fail[i];
            const struct an_cond *k = &o->cond[x->cond];
            if (k->percent)
                snprintf(t1, sizeof t1, k->relative ? "%+.2f%%" : "%.2f%%",
                         x->value);
            else
                an_fmt_us(x->value, t1, sizeof t1);
            fprintf(f, "%sfailed%s: %s on %s (%s%s%s)\n", color ? RED : "",
                    color ? RESET : "", k->text, x->group->key,
                    k->relative ? "change " : "",
                    k->relative && !k->percent && x->value >= 0 ? "+" : "",
                    t1);
        }
        an_print_unjudged(f, a, "", "\n");
        fprintf(f, "verdict: %s%s%s (%d condition%s checked)\n",
                color ? (a->verdict_fail ? RED : GREEN) : "",
                a->verdict_fail ? "FAIL" : "PASS", color ? RESET : "",
                o->ncond, o->ncond == 1 ? "" : "s");
    }
    return ferror(f) ? RP_EIO : 0;
}
