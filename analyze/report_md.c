/*
 * report_md.c: a Markdown report sized for a pull-request comment: the
 * verdict, failed conditions, a table of the endpoints that changed
 * (regressions first, at most 30 rows) and correctness differences.
 */
#include "analyze/an_priv.h"

#include <math.h>
#include <string.h>

/* Writes s with Markdown table metacharacters escaped. */
static void md_str(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (strchr("|\\`*_<>[]", *s))
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

int an_report_md(const struct an_analysis *a, FILE *f)
{
    const struct an_opts *o = a->o;
    char bn[256], cn[256];
    an_set_name(&a->set[AN_BASE], bn, sizeof bn);
    an_set_name(&a->set[AN_CAND], cn, sizeof cn);
    size_t nreg = 0, nimp = 0;
    for (size_t i = 0; i < a->ngroups; i++) {
        nreg += a->groups[i]->regressed;
        nimp += a->groups[i]->improved;
    }
    const char *verdict = !o->ncond ? ""
                          : a->verdict_fail ? ":x: **FAIL** "
                          : ":white_check_mark: **PASS** ";
    fprintf(f, "### reprise: %s%s vs %s\n\n", verdict, cn, bn);
    char me[32];
    an_fmt_us((double)o->min_effect_us, me, sizeof me);
    fprintf(f, "%zu endpoints, %zu regressed, %zu improved; %llu vs %llu "
            "requests. A change is real when p50 or p99 moves by at least "
            "max(%g%%, %s)%s, significantly (p < %g).\n\n", a->ngroups, nreg,
            nimp, (unsigned long long)a->all.sum[AN_CAND].count,
            (unsigned long long)a->all.sum[AN_BASE].count, o->threshold_pct,
            me, a->set[AN_NOISE].present ? " plus the A/A noise floor" : "",
            o->alpha);
    if (a->nfail) {
        fputs("**Failed conditions**\n\n", f);
        for (size_t i = 0; i < a->nfail && i < 20; i++) {
            const struct an_cond *k = &o->cond[a->fail[i].cond];
            fputs("- `", f);
            fputs(k->text, f);
            fputs("` on ", f);
            md_str(f, a->fail[i].group->key);
            if (k->percent)
                fprintf(f, " (%+.2f%%)\n", a->fail[i].value);
            else
                fprintf(f, " (%.0f us)\n", a->fail[i].value);
        }
        if (a->nfail > 20)
            fprintf(f, "- ... %zu more\n", a->nfail - 20);
        fputc('\n', f);
    }
    an_print_unjudged(f, a, "`", ".\n\n");
    fputs("| endpoint | count | errors | p50 | p99 | p-value | verdict |\n"
          "|---|---:|---:|---:|---:|---:|---|\n", f);
    size_t rows = a->ngroups < 30 ? a->ngroups : 30;
    for (size_t i = 0; i <= rows; i++) {
        const struct an_group *g = i < rows ? a->groups[a->order[i]] : &a->all;
        const struct an_summary *b = &g->sum[AN_BASE], *c = &g->sum[AN_CAND];
        char x[4][32];
        an_fmt_us((double)b->pct_us[0], x[0], sizeof x[0]);
        an_fmt_us((double)c->pct_us[0], x[1], sizeof x[1]);
        an_fmt_us((double)b->pct_us[3], x[2], sizeof x[2]);
        an_fmt_us((double)c->pct_us[3], x[3], sizeof x[3]);
        double d50 = an_pct_change((double)b->pct_us[0], (double)c->pct_us[0]);
        double d99 = an_pct_change((double)b->pct_us[3], (double)c->pct_us[3]);
        fputs(i < rows ? "| " : "| **", f);
        md_str(f, g->key);
        char pv[16];
        if (g->mw.p < 0.0001)
            snprintf(pv, sizeof pv, "<0.0001");
        else
            snprintf(pv, sizeof pv, "%.4f", g->mw.p);
        fprintf(f, "%s | %llu | %.1f%% | %s → %s (%+.1f%%) "
                "| %s → %s (%+.1f%%) | %s | %s%s%s |\n", i < rows ? "" : "**",
                (unsigned long long)c->count, c->error_rate * 100, x[0], x[1],
                isnan(d50) ? 0 : d50, x[2], x[3], isnan(d99) ? 0 : d99,
                pv, g->regressed || g->failed ? "**" : "",
                an_verdict_word(a, g), g->regressed || g->failed ? "**" : "");
    }
    if (a->ngroups > rows)
        fprintf(f, "\n%zu more endpoints without change are not shown.\n",
                a->ngroups - rows);
    int hdr = 0;
    for (size_t i = 0; i < a->ngroups; i++) {
        const struct an_group *g = a->groups[a->order[i]];
        if (!g->status_changed && !g->body_changed)
            continue;
        if (!hdr++)
            fputs("\n**Correctness** (same exchange, baseline vs "
                  "candidate)\n\n", f);
        fputs("- ", f);
        md_str(f, g->key);
        fprintf(f, ": status changed %.1f%%, body changed %.1f%%",
                g->compared ? 100.0 * (double)g->status_changed /
                                  (double)g->compared : 0,
                g->body_compared ? 100.0 * (double)g->body_changed /
                                       (double)g->body_compared : 0);
        if (g->n_status_ex || g->n_body_ex) {
            fputs(" (e.g. `reprise show ", f);
            fputs(o->db, f);
            fprintf(f, " %lld`)", (long long)(g->n_status_ex ? g->status_ex[0]
                                                            : g->body_ex[0]));
        }
        fputc('\n', f);
        if (hdr >= 20)
            break;
    }
    return ferror(f) ? RP_EIO : 0;
}
