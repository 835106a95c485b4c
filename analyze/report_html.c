/*
 * report_html.c: one self-contained HTML file (no scripts, no network):
 * the verdict, the endpoint table, correctness differences and three
 * inline SVG charts: the latency CDF of baseline vs candidate, p50/p99
 * bars per endpoint, and the candidate's requests/s and latency over time.
 */
#include "analyze/an_priv.h"

#include <math.h>
#include <string.h>

#define W 760
#define H 260
#define ML 64 /* left margin for axis labels */
#define MB 30
#define MT 14
#define MR 16
#define BASE_COLOR "#7f8c8d"
#define CAND_COLOR "#d35400"

static void html_str(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void svg_open(FILE *f, const char *title, int h)
{
    fprintf(f, "<h3>");
    html_str(f, title);
    fprintf(f, "</h3>\n<svg "
            "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"sans-serif\" font-size=\"11\">\n"
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
            "stroke=\"#ccc\"/>\n", W, h, W, h, ML, MT, W - ML - MR,
            h - MT - MB);
}

static void legend(FILE *f, int x, const char *color, const char *text)
{
    fprintf(f, "<rect x=\"%d\" y=\"2\" width=\"10\" height=\"10\" "
            "fill=\"%s\"/><text x=\"%d\" y=\"11\">", x, color, x + 14);
    html_str(f, text);
    fputs("</text>\n", f);
}

/* x position of latency v on a log axis [lo, hi]. */
static double logx(double v, double lo, double hi)
{
    if (v < lo)
        v = lo;
    return ML + (log(v) - log(lo)) / (log(hi) - log(lo)) * (W - ML - MR);
}

static void cdf_line(FILE *f, const struct rp_hist *h, double lo, double hi,
                     const char *color)
{
    uint64_t n = rp_hist_count(h);
    if (!n)
        return;
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
            "points=\"", color);
    struct rp_hist_iter it;
    rp_hist_iter_init(&it, h);
    double py = H - MB;
    fprintf(f, "%.1f,%.1f ", logx((double)rp_hist_min(h), lo, hi), py);
    while (rp_hist_iter_next(&it)) {
        double x = logx((double)it.highest_us, lo, hi);
        double y = H - MB - (double)it.cumulative / (double)n * (H - MB - MT);
        fprintf(f, "%.1f,%.1f %.1f,%.1f ", x, py, x, y);
        py = y;
    }
    fputs("\"/>\n", f);
}

static void cdf_chart(const struct an_analysis *a, FILE *f)
{
    const struct rp_hist *hb = a->all.side[AN_BASE].lat;
    const struct rp_hist *hc = a->all.side[AN_CAND].lat;
    double lo = 1e18, hi = 0;
    if (rp_hist_count(hb)) {
        lo = fmin(lo, (double)rp_hist_min(hb));
        hi = fmax(hi, (double)rp_hist_max(hb));
    }
    if (rp_hist_count(hc)) {
        lo = fmin(lo, (double)rp_hist_min(hc));
        hi = fmax(hi, (double)rp_hist_max(hc));
    }
    if (hi <= 0)
        return;
    lo = pow(10, floor(log10(fmax(lo, 1))));
    hi = pow(10, ceil(log10(fmax(hi, lo * 10))));
    svg_open(f, "Latency CDF, all requests (log scale)", H);
    for (double t = lo; t <= hi * 1.0001; t *= 10) {
        char lbl[32];
        an_fmt_us(t, lbl, sizeof lbl);
        double x = logx(t, lo, hi);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                "stroke=\"#eee\"/><text x=\"%.1f\" y=\"%d\" "
                "text-anchor=\"middle\">%s</text>\n", x, MT, x, H - MB, x,
                H - MB + 14, lbl);
    }
    for (int q = 0; q <= 4; q++) {
        double y = H - MB - q / 4.0 * (H - MB - MT);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d%%"
                "</text>\n", ML - 4, y + 4, q * 25);
    }
    cdf_line(f, hb, lo, hi, BASE_COLOR);
    cdf_line(f, hc, lo, hi, CAND_COLOR);
    legend(f, ML + 10, BASE_COLOR, "baseline");
    legend(f, ML + 100, CAND_COLOR, "candidate");
    fputs("</svg>\n", f);
}

static void bar_chart(const struct an_analysis *a, FILE *f)
{
    size_t n = a->ngroups < 20 ? a->ngroups : 20;
    if (!n)
        return;
    double mx = 1;
    for (size_t i = 0; i < n; i++) {
        const struct an_group *g = a->groups[a->order[i]];
        mx = fmax(mx, (double)g->sum[AN_BASE].pct_us[3]);
        mx = fmax(mx, (double)g->sum[AN_CAND].pct_us[3]);
    }
    int row = 30, h = MT + (int)n * row + MB, left = 250;
    fprintf(f, "<h3>p50 (solid) and p99 (light) per endpoint</h3>\n"
            "<svg width=\"%d\" "
            "height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n",
            W, h);
    legend(f, left, BASE_COLOR, "baseline");
    legend(f, left + 90, CAND_COLOR, "candidate");
    double span = W - left - MR - 60;
    for (size_t i = 0; i < n; i++) {
        const struct an_group *g = a->groups[a->order[i]];
        int y = MT + (int)i * row;
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
                left - 6, y + 17);
        char key[64];
        snprintf(key, sizeof key, "%.60s", g->key);
        html_str(f, key);
        fputs("</text>\n", f);
        for (int s = 0; s < 2; s++) {
            const struct an_summary *m = &g->sum[s == 0 ? AN_BASE : AN_CAND];
            const char *col = s == 0 ? BASE_COLOR : CAND_COLOR;
            int yy = y + 3 + s * 12;
            double w99 = (double)m->pct_us[3] / mx * span;
            double w50 = (double)m->pct_us[0] / mx * span;
            char lbl[32];
            an_fmt_us((double)m->pct_us[3], lbl, sizeof lbl);
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"10\" "
                    "fill=\"%s\" opacity=\"0.35\"/><rect x=\"%d\" y=\"%d\" "
                    "width=\"%.1f\" height=\"10\" fill=\"%s\"/><text "
                    "x=\"%.1f\" y=\"%d\">%s</text>\n", left, yy, w99, col,
                    left, yy, w50, col, left + w99 + 4, yy + 9, lbl);
        }
    }
    fputs("</svg>\n", f);
}

static void timeline_chart(const struct an_analysis *a, FILE *f)
{
    if (a->nticks < 2)
        return;
    double secs = (double)a->tick_us / 1e6, rmax = 1, lmax = 1;
    for (size_t i = 0; i < a->nticks; i++) {
        rmax = fmax(rmax, (double)a->tick[i].due / secs);
        rmax = fmax(rmax, (double)a->tick[i].done / secs);
        if (a->tick[i].lat)
            lmax = fmax(lmax, (double)rp_hist_value_at_percentile(a->tick[i].lat,
                                                               99));
    }
    double pw = W - ML - MR;
    for (int chart = 0; chart < 2; chart++) {
        svg_open(f, chart == 0 ? "Candidate: requests/s over time"
                               : "Candidate: latency over time (p50, p99)",
                 H);
        double top = chart == 0 ? rmax : lmax;
        for (int q = 0; q <= 4; q++) {
            double y = H - MB - q / 4.0 * (H - MB - MT);
            char lbl[32];
            if (chart == 0)
                snprintf(lbl, sizeof lbl, "%.0f", top * q / 4);
            else
                an_fmt_us(top * q / 4, lbl, sizeof lbl);
            fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s"
                    "</text>\n", ML - 4, y + 4, lbl);
        }
        for (int q = 0; q <= 4; q++) {
            double t = (double)a->nticks * (double)a->tick_us * q / 4;
            char lbl[32];
            an_fmt_us(t, lbl, sizeof lbl);
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s"
                    "</text>\n", ML + pw * q / 4, H - MB + 14, lbl);
        }
        for (int line = 0; line < 2; line++) {
            const char *col = line == 0 ? CAND_COLOR : "#2c3e50";
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" "
                    "stroke-width=\"1.5\" points=\"", col);
            for (size_t i = 0; i < a->nticks; i++) {
                const struct an_tick *t = &a->tick[i];
                double v;
                if (chart == 0)
                    v = (double)(line == 0 ? t->due : t->done) / secs;
                else if (t->lat)
                    v = (double)rp_hist_value_at_percentile(t->lat,
                                                         line == 0 ? 50 : 99);
                else
                    continue;
                double x = ML + pw * ((double)i + 0.5) / (double)a->nticks;
                double y = H - MB - v / top * (H - MB - MT);
                fprintf(f, "%.1f,%.1f ", x, y);
            }
            fputs("\"/>\n", f);
        }
        legend(f, ML + 10, CAND_COLOR, chart == 0 ? "sent (due) per s" : "p50");
        legend(f, ML + 150, "#2c3e50", chart == 0 ? "completed per s" : "p99");
        if (a->saturated) {
            double x = ML + pw * (double)a->sat_t_us /
                                ((double)a->nticks * (double)a->tick_us);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                    "stroke=\"red\" stroke-dasharray=\"4\"/><text x=\"%.1f\" "
                    "y=\"%d\" fill=\"red\">saturation</text>\n", x, MT, x,
                    H - MB, x + 3, MT + 12);
        }
        fputs("</svg>\n", f);
    }
}

int an_report_html(const struct an_analysis *a, FILE *f)
{
    const struct an_opts *o = a->o;
    char bn[256], cn[256];
    an_set_name(&a->set[AN_BASE], bn, sizeof bn);
    an_set_name(&a->set[AN_CAND], cn, sizeof cn);
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
          "<title>reprise: ", f);
    html_str(f, cn);
    fputs(" vs ", f);
    html_str(f, bn);
    fputs("</title>\n<style>body{font-family:sans-serif;margin:2em;"
          "color:#222}table{border-collapse:collapse;font-size:13px}"
          "td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}"
          "td:first-child,th:first-child{text-align:left}"
          ".bad{color:#c0392b;font-weight:bold}.good{color:#27ae60}"
          ".verdict{font-size:1.3em}</style></head><body>\n<h1>reprise: ",
          f);
    html_str(f, cn);
    fputs(" vs baseline ", f);
    html_str(f, bn);
    fputs("</h1>\n", f);
    if (o->ncond)
        fprintf(f, "<p class=\"verdict %s\">verdict: %s</p>\n",
                a->verdict_fail ? "bad" : "good",
                a->verdict_fail ? "FAIL" : "PASS");
    fprintf(f, "<p>Compared %s, grouped by %s. A change is real when p50 "
            "or p99 moves by at least max(%g%%, %lld us)%s, significantly "
            "(p &lt; %g: Mann-Whitney U, or a quantile test for a change of "
            "the tail alone).</p>\n",
            o->metric == AN_METRIC_SERVICE ? "service time" : "latency",
            an_group_by_name(o->group_by), o->threshold_pct,
            (long long)o->min_effect_us,
            a->set[AN_NOISE].present ? " plus the A/A noise floor" : "",
            o->alpha);
    if (a->nfail) {
        fputs("<h2>Failed conditions</h2><ul>\n", f);
        for (size_t i = 0; i < a->nfail && i < 100; i++) {
            fputs("<li><code>", f);
            html_str(f, o->cond[a->fail[i].cond].text);
            fputs("</code> on ", f);
            html_str(f, a->fail[i].group->key);
            fprintf(f, " (%.4g%s)</li>\n", a->fail[i].value,
                    o->cond[a->fail[i].cond].percent ? "%" : " us");
        }
        fputs("</ul>\n", f);
    }
    fputs("<h2>Endpoints</h2>\n<table><tr><th>endpoint</th><th>count b/c"
          "</th><th>errors c</th>", f);
    for (int i = 0; i < AN_NPCT; i++)
        fprintf(f, "<th>%s b</th><th>%s c</th>", an_pct_name[i],
                an_pct_name[i]);
    fputs("<th>p-value</th><th>status changed</th><th>body changed</th>"
          "<th>verdict</th></tr>\n", f);
    for (size_t k = 0; k <= a->ngroups; k++) {
        const struct an_group *g = k < a->ngroups ? a->groups[a->order[k]]
                                                  : &a->all;
        const struct an_summary *b = &g->sum[AN_BASE], *c = &g->sum[AN_CAND];
        fputs("<tr><td>", f);
        html_str(f, g->key);
        fprintf(f, "</td><td>%llu/%llu</td><td>%.2f%%</td>",
                (unsigned long long)b->count, (unsigned long long)c->count,
                c->error_rate * 100);
        for (int i = 0; i < AN_NPCT; i++) {
            char x[32], y[32];
            an_fmt_us((double)b->pct_us[i], x, sizeof x);
            an_fmt_us((double)c->pct_us[i], y, sizeof y);
            fprintf(f, "<td>%s</td><td>%s</td>", x, y);
        }
        fprintf(f, "<td>%.3g</td><td>%llu/%llu</td><td>%llu/%llu</td>"
                "<td class=\"%s\">%s</td></tr>\n", g->mw.p,
                (unsigned long long)g->status_changed,
                (unsigned long long)g->compared,
                (unsigned long long)g->body_changed,
                (unsigned long long)g->body_compared,
                g->failed || g->regressed ? "bad" : g->improved ? "good" : "",
                an_verdict_word(a, g));
    }
    fputs("</table>\n", f);
    int hdr = 0;
    for (size_t i = 0; i < a->ngroups; i++) {
        const struct an_group *g = a->groups[a->order[i]];
        if (!g->status_changed && !g->body_changed)
            continue;
        if (!hdr++)
            fputs("<h2>Correctness</h2>\n<p>Share of exchanges whose status "
                  "or response body hash differs from the baseline's for the "
                  "same exchange.</p><ul>\n", f);
        fputs("<li>", f);
        html_str(f, g->key);
        fprintf(f, ": status changed %llu/%llu, body changed %llu/%llu; "
                "examples:", (unsigned long long)g->status_changed,
                (unsigned long long)g->compared,
                (unsigned long long)g->body_changed,
                (unsigned long long)g->body_compared);
        for (int k = 0; k < g->n_status_ex; k++)
            fprintf(f, " %lld", (long long)g->status_ex[k]);
        for (int k = 0; k < g->n_body_ex; k++)
            fprintf(f, " %lld", (long long)g->body_ex[k]);
        fputs("</li>\n", f);
    }
    if (hdr)
        fputs("</ul>\n", f);
    const struct an_group *top[10];
    int nt = an_top_contributors(a, top, 10);
    if (nt) {
        fputs("<h2>Largest contributions to the latency change</h2>\n"
              "<table><tr><th>endpoint</th><th>count &times; mean change"
              "</th><th>mean change</th></tr>\n", f);
        for (int k = 0; k < nt; k++) {
            char x[32], y[32];
            an_fmt_us(top[k]->contribution_us, x, sizeof x);
            an_fmt_us(top[k]->sum[AN_CAND].mean_us -
                          top[k]->sum[AN_BASE].mean_us, y, sizeof y);
            fputs("<tr><td>", f);
            html_str(f, top[k]->key);
            fprintf(f, "</td><td>%s</td><td>%s</td></tr>\n", x, y);
        }
        fputs("</table>\n", f);
    }
    if (a->saturated) {
        char x[32], y[32];
        an_fmt_us((double)a->sat_t_us, x, sizeof x);
        an_fmt_us((double)a->sat_p50_us, y, sizeof y);
        fprintf(f, "<p><b>Saturation</b>: from %s into the candidate run, "
                "throughput stopped growing at %.0f req/s while p50 rose to "
                "%s.</p>\n", x, a->sat_rps, y);
    }
    fputs("<h2>Charts</h2>\n", f);
    cdf_chart(a, f);
    bar_chart(a, f);
    timeline_chart(a, f);
    if (a->nslow) {
        fputs("<h2>Slowest candidate exchanges</h2>\n<table><tr><th>exchange"
              "</th><th>latency</th><th>status</th><th>endpoint</th></tr>\n",
              f);
        for (int i = 0; i < a->nslow; i++) {
            char x[32];
            an_fmt_us((double)a->slow[i].latency_us, x, sizeof x);
            fprintf(f, "<tr><td>%lld</td><td>%s</td><td>%d</td><td>",
                    (long long)a->slow[i].exchange_id, x, a->slow[i].status);
            html_str(f, a->slow[i].endpoint);
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n<p>Inspect one with <code>reprise show ", f);
        html_str(f, o->db);
        fputs(" ID</code>.</p>\n", f);
    }
    fputs("</body></html>\n", f);
    return ferror(f) ? RP_EIO : 0;
}
