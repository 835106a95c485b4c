/*
 * report_text.c: the human report: the sets compared (target, mode,
 * lateness), an aligned table per endpoint (failing and regressed
 * endpoints first), the error causes, correctness differences as status
 * transitions, the endpoints that contribute most to the latency change,
 * saturation, the slowest exchanges, and the verdict with its reasons.
 * Colour only when asked or on a tty.
 */
#include "analyze/an_priv.h"

#include <math.h>
#include <string.h>

#define RED "\033[31m"
#define GREEN "\033[32m"
#define BOLD "\033[1m"
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
        an_fmt_pct(b, pi[k], cell[2 * k], sizeof cell[0]);
        an_fmt_pct(c, pi[k], cell[2 * k + 1], sizeof cell[0]);
        an_fmt_change(b, c, pi[k], d[k], sizeof d[k]);
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

struct text_ctx {
    FILE *f;
    const char *prefix;
    int last_side;
};

/* Prints the role before a set's first line and indents its second. */
static void set_line(void *arg, int side, const char *line)
{
    struct text_ctx *t = arg;
    fprintf(t->f, "  %-10s %s\n", side == t->last_side ? ""
                                  : side == AN_NOISE ? "noise"
                                                     : an_side_name(side),
            line);
    t->last_side = side;
}

static void plain_line(void *arg, int side, const char *line)
{
    (void)side;
    struct text_ctx *t = arg;
    fprintf(t->f, "%s%s\n", t->prefix, line);
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
    struct text_ctx tc = {f, "", -1};
    an_each_set_line(a, set_line, &tc);
    for (int i = 0; i < AN_NSIDES; i++)
        if (a->set[i].present && a->set[i].starved)
            fprintf(f, "  %swarning%s: the %s fell behind its schedule; "
                    "latency counts that wait, service time does not\n",
                    color ? RED : "", color ? RESET : "", an_side_name(i));
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

    for (int side = AN_BASE; side <= AN_CAND; side++) {
        const struct an_set *st = &a->set[side];
        if (!st->nmsg && !a->all.side[side].status_class[5])
            continue;
        fprintf(f, "\nerrors of the %s (class, count, message):\n",
                an_side_name(side));
        tc.prefix = "  ";
        an_each_error_line(a, side, plain_line, &tc);
    }

    int hdr = 0;
    for (size_t i = 0; i < a->ngroups; i++) {
        const struct an_group *g = a->groups[a->order[i]];
        if (!g->status_changed && !g->body_changed)
            continue;
        if (!hdr++)
            fputs("\ncorrectness (candidate vs baseline, same exchange):\n",
                  f);
        fprintf(f, "  %s:", g->key);
        if (g->status_changed)
            fprintf(f, " status changed %llu/%llu (%.1f%%)",
                    (unsigned long long)g->status_changed,
                    (unsigned long long)g->compared,
                    100.0 * (double)g->status_changed / (double)g->compared);
        if (g->status_changed && g->body_changed)
            fputc(';', f);
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
        tc.prefix = "    ";
        an_each_transition(g, plain_line, &tc);
    }
    if (!hdr && a->all.compared)
        fprintf(f, "\ncorrectness: no status or body change in %llu "
                "compared exchanges\n", (unsigned long long)a->all.compared);
    uint64_t ftotal = 0;
    for (size_t i = 0; i < a->ngroups; i++)
        ftotal += a->groups[i]->fields.total;
    if (ftotal) {
        fprintf(f, "\nfields (%llu exchanges with both responses stored, "
                "field by field):\n", (unsigned long long)ftotal);
        tc.prefix = "  ";
        if (!an_each_field_line(a, 0, plain_line, &tc))
            fprintf(f, "  no field changed (beyond the noise below)\n");
        tc.prefix = "  noise: ";
        an_each_field_line(a, 1, plain_line, &tc);
        if (a->fields_dropped)
            fprintf(f, "  %llu pairs beyond the first 200000 of a kind were "
                    "not diffed\n", (unsigned long long)a->fields_dropped);
    }
    if (a->all.compared) {
        fputs("\nstatus match (the candidate answered the baseline's status, "
              "same exchange):\n", f);
        for (size_t i = 0; i < a->ngroups; i++) {
            const struct an_group *g = a->groups[a->order[i]];
            if (g->compared)
                fprintf(f, "  %-*s %6.1f%%  %llu/%llu\n", w, g->key,
                        100.0 * (double)(g->compared - g->status_changed) /
                            (double)g->compared,
                        (unsigned long long)(g->compared - g->status_changed),
                        (unsigned long long)g->compared);
        }
        if (a->ngroups > 1)
            fprintf(f, "  %-*s %6.1f%%  %llu/%llu\n", w, a->all.key,
                    100.0 * (double)(a->all.compared - a->all.status_changed) /
                        (double)a->all.compared,
                    (unsigned long long)(a->all.compared -
                                         a->all.status_changed),
                    (unsigned long long)a->all.compared);
    }

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
    if (a->sat.found) {
        an_fmt_us((double)a->sat.t_us, t1, sizeof t1);
        an_fmt_us((double)a->sat.p50_us, t2, sizeof t2);
        fprintf(f, "\nsaturation: from %s into the candidate run, throughput "
                "stopped tracking offered load at %.0f req/s (offered %.0f "
                "req/s): requests in flight grew from %.0f to %.0f, where a "
                "target keeping pace would hold about %.0f (Little's law), "
                "and p50 rose to %s\n", t1, a->sat.achieved_rps,
                a->sat.offered_rps, a->sat.inflight_start,
                a->sat.inflight_end, a->sat.little, t2);
    }
    an_capacity_report_text(a, f);
    if (a->nslow) {
        fprintf(f, "\nslowest candidate exchanges ('reprise show %s ID'):\n"
                "  %8s  %4s  %4s  %9s  %6s  %s\n", o->db, "ID", "COPY",
                "LOOP", "LATENCY", "STATUS", "ENDPOINT");
        int n = a->nslow < 5 ? a->nslow : 5;
        for (int k = 0; k < n; k++) {
            const struct an_slow *sl = &a->slow[k]; /* slowest first */
            an_fmt_us((double)sl->latency_us, t1, sizeof t1);
            fprintf(f, "  %8lld  %4d  %4d  %9s  %6d  %s\n",
                    (long long)sl->exchange_id, sl->copy, sl->loop, t1,
                    sl->status, sl->endpoint);
        }
    }

    fputc('\n', f);
    for (size_t i = 0; i < a->nfail; i++) {
        const struct an_failure *x = &a->fail[i];
        char label[96], v[96];
        an_cond_label(&o->cond[x->cond], label, sizeof label);
        an_failure_value(a, x, v, sizeof v);
        fprintf(f, "%sfailed%s: %s on %s (%s)\n", color ? RED : "",
                color ? RESET : "", label, x->group->key, v);
    }
    for (int i = 0; i < a->nnotes; i++)
        if (!an_note_decides(a, &a->note[i]))
            fprintf(f, "note: %s\n", a->note[i].text);
    const char *vc = a->verdict == AN_FAIL ? RED
                     : a->verdict == AN_PASS ? GREEN : BOLD;
    int ndef = o->ncond - o->nuser;
    fprintf(f, "verdict: %s%s%s (%d given condition%s, %d default gate%s; "
            "exit %d)\n", color ? vc : "", an_verdict_name(a->verdict),
            color ? RESET : "", o->nuser, o->nuser == 1 ? "" : "s", ndef,
            ndef == 1 ? "" : "s", an_verdict_exit(a->verdict));
    for (int i = 0; i < a->nnotes; i++)
        if (an_note_decides(a, &a->note[i]))
            fprintf(f, "  because: %s\n", a->note[i].text);
    return ferror(f) ? RP_EIO : 0;
}
