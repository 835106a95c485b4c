/*
 * report_md.c: a Markdown report sized for a pull-request comment: the
 * verdict with its reasons, the sets compared, failed conditions, a table
 * of the endpoints that changed (regressions first, at most 30 rows), the
 * error causes and the status transitions.
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

struct md_ctx {
    FILE *f;
    const char *prefix;
};

static void md_line(void *arg, int side, const char *line)
{
    (void)side;
    struct md_ctx *m = arg;
    fputs(m->prefix, m->f);
    md_str(m->f, line);
    fputc('\n', m->f);
}

static void md_set_line(void *arg, int side, const char *line)
{
    struct md_ctx *m = arg;
    fprintf(m->f, "- %s: ", an_side_name(side));
    md_str(m->f, line);
    fputc('\n', m->f);
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
    static const char *const mark[] = {":white_check_mark:", ":x:",
                                       ":warning:"};
    fprintf(f, "### reprise: %s **%s** ", mark[a->verdict],
            an_verdict_name(a->verdict));
    md_str(f, cn);
    fputs(" vs ", f);
    md_str(f, bn);
    fputs("\n\n", f);
    struct md_ctx m = {f, "- "};
    for (int i = 0; i < a->nnotes; i++)
        if (an_note_decides(a, &a->note[i])) {
            fputs("- ", f);
            md_str(f, a->note[i].text);
            fputc('\n', f);
        }
    for (int i = 0; i < a->nnotes; i++)
        if (!an_note_decides(a, &a->note[i])) {
            fputs("- note: ", f);
            md_str(f, a->note[i].text);
            fputc('\n', f);
        }
    if (a->nnotes)
        fputc('\n', f);
    char me[32];
    an_fmt_us((double)o->min_effect_us, me, sizeof me);
    fprintf(f, "%zu endpoints, %zu regressed, %zu improved; %llu vs %llu "
            "requests. A change is real when p50 or p99 moves by at least "
            "max(%g%%, %s)%s, significantly (p < %g). Exit %d.\n\n",
            a->ngroups, nreg, nimp,
            (unsigned long long)a->all.sum[AN_CAND].count,
            (unsigned long long)a->all.sum[AN_BASE].count, o->threshold_pct,
            me, a->set[AN_NOISE].present ? " plus the A/A noise floor" : "",
            o->alpha, an_verdict_exit(a->verdict));
    an_each_set_line(a, md_set_line, &m);
    fputc('\n', f);
    if (a->nfail) {
        fputs("**Failed conditions**\n\n", f);
        for (size_t i = 0; i < a->nfail && i < 20; i++) {
            char label[96], v[96];
            an_cond_label(&o->cond[a->fail[i].cond], label, sizeof label);
            an_failure_value(a, &a->fail[i], v, sizeof v);
            fputs("- `", f);
            fputs(label, f);
            fputs("` on ", f);
            md_str(f, a->fail[i].group->key);
            fputs(" (", f);
            md_str(f, v);
            fputs(")\n", f);
        }
        if (a->nfail > 20)
            fprintf(f, "- ... %zu more\n", a->nfail - 20);
        fputc('\n', f);
    }
    fputs("| endpoint | count | errors | p50 | p99 | p-value | verdict |\n"
          "|---|---:|---:|---:|---:|---:|---|\n", f);
    size_t rows = a->ngroups < 30 ? a->ngroups : 30;
    for (size_t i = 0; i <= rows; i++) {
        const struct an_group *g = i < rows ? a->groups[a->order[i]] : &a->all;
        const struct an_summary *b = &g->sum[AN_BASE], *c = &g->sum[AN_CAND];
        char x[4][32], d[2][24];
        an_fmt_pct(b, 0, x[0], sizeof x[0]);
        an_fmt_pct(c, 0, x[1], sizeof x[1]);
        an_fmt_pct(b, 3, x[2], sizeof x[2]);
        an_fmt_pct(c, 3, x[3], sizeof x[3]);
        an_fmt_change(b, c, 0, d[0], sizeof d[0]);
        an_fmt_change(b, c, 3, d[1], sizeof d[1]);
        fputs(i < rows ? "| " : "| **", f);
        md_str(f, g->key);
        char pv[16];
        if (!g->side[AN_BASE].res.n || !g->side[AN_CAND].res.n)
            snprintf(pv, sizeof pv, "-");
        else if (g->mw.p < 0.0001)
            snprintf(pv, sizeof pv, "<0.0001");
        else
            snprintf(pv, sizeof pv, "%.4f", g->mw.p);
        fprintf(f, "%s | %llu | %.1f%% | %s → %s (%s) | %s → %s (%s) | %s "
                "| %s%s%s |\n", i < rows ? "" : "**",
                (unsigned long long)c->count, c->error_rate * 100, x[0], x[1],
                d[0], x[2], x[3], d[1], pv,
                g->regressed || g->failed ? "**" : "", an_verdict_word(a, g),
                g->regressed || g->failed ? "**" : "");
    }
    if (a->ngroups > rows)
        fprintf(f, "\n%zu more endpoints without change are not shown.\n",
                a->ngroups - rows);
    for (int side = AN_BASE; side <= AN_CAND; side++) {
        if (!a->set[side].nmsg && !a->all.side[side].status_class[5])
            continue;
        fprintf(f, "\n**Errors of the %s**\n\n", an_side_name(side));
        m.prefix = "- ";
        an_each_error_line(a, side, md_line, &m);
    }
    int hdr = 0;
    for (size_t i = 0; i < a->ngroups; i++) {
        const struct an_group *g = a->groups[a->order[i]];
        if (!g->status_changed && !g->body_changed)
            continue;
        if (!hdr++)
            fprintf(f, "\n**Correctness** (same exchange, baseline vs "
                    "candidate; `reprise show %s ID`)\n\n", o->db);
        fputs("- ", f);
        md_str(f, g->key);
        fprintf(f, ": status changed %.1f%%, body changed %.1f%%",
                g->compared ? 100.0 * (double)g->status_changed /
                                  (double)g->compared : 0,
                g->body_compared ? 100.0 * (double)g->body_changed /
                                       (double)g->body_compared : 0);
        if (g->n_body_ex)
            fprintf(f, " (body e.g. %lld)", (long long)g->body_ex[0]);
        fputc('\n', f);
        m.prefix = "  - ";
        an_each_transition(g, md_line, &m);
        if (hdr >= 20)
            break;
    }
    uint64_t ftotal = 0;
    for (size_t i = 0; i < a->ngroups; i++)
        ftotal += a->groups[i]->fields.total;
    if (ftotal) {
        fprintf(f, "\n**Fields** (%llu exchanges with both responses "
                "stored)\n\n", (unsigned long long)ftotal);
        m.prefix = "- ";
        if (!an_each_field_line(a, 0, md_line, &m))
            fputs("- no field changed (beyond the noise below)\n", f);
        m.prefix = "- noise: ";
        an_each_field_line(a, 1, md_line, &m);
    }
    an_capacity_report_md(a, f);
    return ferror(f) ? RP_EIO : 0;
}
