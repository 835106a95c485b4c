/*
 * report_html.c: one self-contained HTML file (no scripts, no network)
 * that carries everything the text report does: the verdict with its
 * reasons, the sets compared (targets, mode, speed, noise run, lateness),
 * the endpoint table with its change columns, failed conditions and
 * notices, error classes with their messages, status transitions, the
 * largest contributions, saturation and the slowest exchanges; then inline
 * SVG charts: the latency CDF of baseline vs candidate, p50/p99 bars per
 * endpoint, and requests/s and latency over time with the baseline drawn
 * beside the candidate. Every mark has a tooltip (an SVG <title>).
 * Sections carry ids (verdict, runs, notices, failed, endpoints, errors,
 * transitions, contributions, saturation, capacity, capacity-baseline,
 * charts, slowest) for tests. A stepped run adds its capacity: the per-step
 * table, offered vs achieved throughput and latency per step with the knee
 * marked, and the monitored series over the run with the step boundaries.
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


static void svg_open(FILE *f, const char *title, int h)
{
    fprintf(f, "<h3>");
    an_html_str(f, title);
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
    an_html_str(f, text);
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
                     const char *color, const char *who)
{
    uint64_t n = rp_hist_count(h);
    if (!n)
        return;
    char p50[32], p99[32];
    an_fmt_us((double)rp_hist_value_at_percentile(h, 50), p50, sizeof p50);
    an_fmt_us((double)rp_hist_value_at_percentile(h, 99), p99, sizeof p99);
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
    fprintf(f, "\"><title>%s: %llu responses, p50 %s, p99 %s</title>"
            "</polyline>\n", who, (unsigned long long)n, p50, p99);
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
    cdf_line(f, hb, lo, hi, BASE_COLOR, "baseline");
    cdf_line(f, hc, lo, hi, CAND_COLOR, "candidate");
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
        an_html_str(f, key);
        fputs("</text>\n", f);
        for (int s = 0; s < 2; s++) {
            const struct an_summary *m = &g->sum[s == 0 ? AN_BASE : AN_CAND];
            const char *col = s == 0 ? BASE_COLOR : CAND_COLOR;
            int yy = y + 3 + s * 12;
            double w99 = (double)m->pct_us[3] / mx * span;
            double w50 = (double)m->pct_us[0] / mx * span;
            char l50[32], l99[32];
            an_fmt_pct(m, 0, l50, sizeof l50);
            an_fmt_pct(m, 3, l99, sizeof l99);
            fprintf(f, "<g><title>");
            an_html_str(f, g->key);
            fprintf(f, ", %s: p50 %s, p99 %s, %llu requests</title>"
                    "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"10\" "
                    "fill=\"%s\" opacity=\"0.35\"/><rect x=\"%d\" y=\"%d\" "
                    "width=\"%.1f\" height=\"10\" fill=\"%s\"/><text "
                    "x=\"%.1f\" y=\"%d\">%s</text></g>\n",
                    s == 0 ? "baseline" : "candidate", l50, l99,
                    (unsigned long long)m->count, left, yy, w99, col, left,
                    yy, w50, col, left + w99 + 4, yy + 9, l99);
        }
    }
    fputs("</svg>\n", f);
}

/* The value a timeline chart draws for bucket t: requests due or done per
 * second (chart 0), or the p50 or p99 latency (chart 1); -1 for none. */
static double tick_value(const struct an_timeline *tl, size_t i, int chart,
                         int line)
{
    const struct an_tick *t = &tl->tick[i];
    double secs = (double)tl->tick_us / 1e6;
    if (chart == 0)
        return (double)(line == 0 ? t->due : t->done) / secs;
    if (!t->lat || !rp_hist_count(t->lat))
        return -1;
    return (double)rp_hist_value_at_percentile(t->lat, line == 0 ? 50 : 99);
}

/* The candidate's and the baseline's timelines on one time axis: the
 * candidate's seconds; a baseline that ran longer or shorter (a capture
 * replayed at --speed X) is stretched to the candidate's span, and the
 * chart says so. */
static void timeline_chart(const struct an_analysis *a, FILE *f)
{
    const struct an_timeline *tc = &a->tl[AN_CAND], *tb = &a->tl[AN_BASE];
    if (tc->nticks < 2)
        return;
    double span_c = (double)tc->nticks * (double)tc->tick_us;
    double span_b = (double)tb->nticks * (double)tb->tick_us;
    int scaled = tb->nticks && fabs(span_b - span_c) > 0.2 * span_c;
    double rmax = 1, lmax = 1;
    for (int side = 0; side < 2; side++) {
        const struct an_timeline *tl = side ? tc : tb;
        for (size_t i = 0; i < tl->nticks; i++) {
            rmax = fmax(rmax, tick_value(tl, i, 0, 0));
            rmax = fmax(rmax, tick_value(tl, i, 0, 1));
            lmax = fmax(lmax, tick_value(tl, i, 1, 1));
        }
    }
    double pw = W - ML - MR;
    for (int chart = 0; chart < 2; chart++) {
        svg_open(f, chart == 0 ? "Requests/s over time"
                               : "Latency over time (p50, p99)", H);
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
            char lbl[32];
            an_fmt_us(span_c * q / 4, lbl, sizeof lbl);
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s"
                    "</text>\n", ML + pw * q / 4, H - MB + 14, lbl);
        }
        /* baseline dashed and grey, candidate solid */
        for (int side = 0; side < 2; side++) {
            const struct an_timeline *tl = side ? tc : tb;
            if (!tl->nticks)
                continue;
            for (int line = 0; line < 2; line++) {
                const char *col = side ? (line == 0 ? CAND_COLOR : "#2c3e50")
                                       : BASE_COLOR;
                fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" "
                        "stroke-width=\"1.5\"%s points=\"", col,
                        side ? "" : line ? " stroke-dasharray=\"2 2\""
                                         : " stroke-dasharray=\"5 3\"");
                for (size_t i = 0; i < tl->nticks; i++) {
                    double v = tick_value(tl, i, chart, line);
                    if (v < 0)
                        continue;
                    double x = ML + pw * ((double)i + 0.5) /
                                        (double)tl->nticks;
                    double y = H - MB - v / top * (H - MB - MT);
                    fprintf(f, "%.1f,%.1f ", x, y);
                }
                fputs("\"/>\n", f);
            }
        }
        /* one tooltip per candidate bucket, with the baseline's value at
         * the same share of its run */
        for (size_t i = 0; i < tc->nticks; i++) {
            double x0 = ML + pw * (double)i / (double)tc->nticks;
            char t0[32], v[4][32];
            an_fmt_us((double)i * (double)tc->tick_us, t0, sizeof t0);
            size_t bi = tb->nticks ? (size_t)((double)i / (double)tc->nticks *
                                              (double)tb->nticks) : 0;
            for (int side = 0; side < 2; side++)
                for (int line = 0; line < 2; line++) {
                    const struct an_timeline *tl = side ? tc : tb;
                    size_t k = side ? i : bi;
                    double val = k < tl->nticks ? tick_value(tl, k, chart,
                                                             line) : -1;
                    char *out = v[side * 2 + line];
                    if (val < 0)
                        snprintf(out, 32, "-");
                    else if (chart == 0)
                        snprintf(out, 32, "%.0f", val);
                    else
                        an_fmt_us(val, out, 32);
                }
            fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.2f\" height=\"%d\""
                    " fill=\"transparent\"><title>%s: candidate %s %s, %s %s;"
                    " baseline %s %s, %s %s</title></rect>\n", x0, MT,
                    pw / (double)tc->nticks, H - MB - MT, t0,
                    chart ? "p50" : "due/s", v[2], chart ? "p99" : "done/s",
                    v[3], chart ? "p50" : "due/s", v[0],
                    chart ? "p99" : "done/s", v[1]);
        }
        legend(f, ML + 10, CAND_COLOR,
               chart == 0 ? "candidate due per s" : "candidate p50");
        legend(f, ML + 170, "#2c3e50",
               chart == 0 ? "candidate done per s" : "candidate p99");
        legend(f, ML + 340, BASE_COLOR,
               scaled ? "baseline (dashed; stretched to the candidate's "
                        "span)"
                      : "baseline (dashed)");
        if (a->sat.found) {
            double x = ML + pw * (double)a->sat.t_us / span_c;
            fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                    "stroke=\"red\" stroke-dasharray=\"4\"/><text x=\"%.1f\" "
                    "y=\"%d\" fill=\"red\">saturation</text>\n", x, MT, x,
                    H - MB, x + 3, MT + 12);
        }
        fputs("</svg>\n", f);
    }
}

struct html_ctx {
    FILE *f;
};


/* ---- capacity (stepped runs) ------------------------------------------- */

static double step_x(int i, int n)
{
    return ML + (n > 1 ? (double)i / (n - 1) : 0.5) * (W - ML - MR - 20) + 10;
}

static void knee_mark(FILE *f, const struct an_capacity *k, int h)
{
    if (k->knee < 0)
        return;
    double x = step_x(k->knee, k->nsteps);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
            "stroke=\"red\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" "
            "y=\"%d\" fill=\"red\">knee</text>\n", x, MT, x, h - MB, x + 3,
            MT + 12);
}

static void step_axis(FILE *f, const struct an_capacity *k, int h)
{
    for (int i = 0; i < k->nsteps; i++)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">x%g"
                "</text>\n", step_x(i, k->nsteps), h - MB + 14,
                k->step[i].multiple);
}

static void throughput_chart(const struct an_capacity *k, FILE *f)
{
    double top = 1;
    for (int i = 0; i < k->nsteps; i++) {
        if (k->step[i].offered_rps > top)
            top = k->step[i].offered_rps;
        if (k->step[i].achieved_rps > top)
            top = k->step[i].achieved_rps;
    }
    top *= 1.1;
    svg_open(f, "Offered vs achieved requests/s per step", H);
    legend(f, ML, BASE_COLOR, "offered");
    legend(f, ML + 90, CAND_COLOR, "achieved");
    fprintf(f, "<text x=\"4\" y=\"%d\">%.0f/s</text><text x=\"4\" y=\"%d\">"
            "0</text>\n", MT + 10, top, H - MB);
    for (int line = 0; line < 2; line++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\""
                "%s points=\"", line ? CAND_COLOR : BASE_COLOR,
                line ? "" : " stroke-dasharray=\"6 4\"");
        for (int i = 0; i < k->nsteps; i++) {
            double v = line ? k->step[i].achieved_rps
                            : k->step[i].offered_rps;
            fprintf(f, "%.1f,%.1f ", step_x(i, k->nsteps),
                    H - MB - v / top * (H - MT - MB));
        }
        fputs("\"/>\n", f);
        for (int i = 0; i < k->nsteps; i++) {
            double v = line ? k->step[i].achieved_rps
                            : k->step[i].offered_rps;
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\">"
                    "<title>step %d x%g: %s %.1f req/s</title></circle>\n",
                    step_x(i, k->nsteps), H - MB - v / top * (H - MT - MB),
                    line ? CAND_COLOR : BASE_COLOR, i + 1,
                    k->step[i].multiple, line ? "achieved" : "offered", v);
        }
    }
    if (k->sustained >= 0) {
        double y = H - MB - k->max_sustained_rps / top * (H - MT - MB);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                "stroke=\"green\" stroke-dasharray=\"2 3\"/><text x=\"%d\" "
                "y=\"%.1f\" fill=\"green\">max sustained %.0f/s</text>\n",
                ML, y, W - MR, y, ML + 4, y - 3, k->max_sustained_rps);
    }
    knee_mark(f, k, H);
    step_axis(f, k, H);
    fputs("</svg>\n", f);
}

static void latency_step_chart(const struct an_capacity *k, FILE *f)
{
    static const char *const color[3] = {"#2980b9", "#8e44ad", CAND_COLOR};
    static const char *const name[3] = {"p50", "p90", "p99"};
    double lo = 1e12, hi = 1;
    for (int i = 0; i < k->nsteps; i++) {
        int64_t v[3] = {k->step[i].p50_us, k->step[i].p90_us,
                        k->step[i].p99_us};
        for (int j = 0; j < 3; j++)
            if (v[j] > 0) {
                if (v[j] < lo)
                    lo = (double)v[j];
                if (v[j] > hi)
                    hi = (double)v[j];
            }
    }
    if (lo >= hi) {
        lo = hi / 10;
        if (lo < 1)
            lo = 1;
    }
    lo /= 1.5;
    hi *= 1.5;
    char a[32], b[32];
    an_fmt_us(hi, a, sizeof a);
    an_fmt_us(lo, b, sizeof b);
    svg_open(f, "Latency per step (p50, p90, p99; log scale)", H);
    for (int j = 0; j < 3; j++)
        legend(f, ML + 70 * j, color[j], name[j]);
    fprintf(f, "<text x=\"4\" y=\"%d\">%s</text><text x=\"4\" y=\"%d\">%s"
            "</text>\n", MT + 10, a, H - MB, b);
    for (int j = 0; j < 3; j++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\""
                " points=\"", color[j]);
        for (int i = 0; i < k->nsteps; i++) {
            int64_t v = j == 0 ? k->step[i].p50_us
                        : j == 1 ? k->step[i].p90_us : k->step[i].p99_us;
            if (v <= 0)
                continue;
            double y = H - MB - (log((double)v) - log(lo)) /
                                    (log(hi) - log(lo)) * (H - MT - MB);
            fprintf(f, "%.1f,%.1f ", step_x(i, k->nsteps), y);
        }
        fputs("\"/>\n", f);
    }
    knee_mark(f, k, H);
    step_axis(f, k, H);
    fputs("</svg>\n", f);
}

/* One monitored series over the run's time, the step boundaries dashed. */
static void series_chart(const struct an_capacity *k,
                         const struct an_cap_series *s, FILE *f)
{
    const int h = 180;
    int64_t t_end = k->step[k->nsteps - 1].end_us;
    for (size_t i = 0; i < s->npoints; i++)
        if (s->t_us[i] > t_end)
            t_end = s->t_us[i];
    if (t_end <= 0)
        t_end = 1;
    double top = s->max > 0 ? s->max * 1.1 : 1, bot = s->min < 0 ? s->min : 0;
    char title[AN_KEYLEN + 64];
    snprintf(title, sizeof title, "%s%s", s->name,
             s->saturated ? " (saturated at the knee)" : "");
    svg_open(f, title, h);
    fprintf(f, "<text x=\"4\" y=\"%d\">%.4g</text><text x=\"4\" y=\"%d\">"
            "%.4g</text>\n", MT + 10, top, h - MB, bot);
    double span = (double)(W - ML - MR);
    for (int i = 0; i < k->nsteps; i++) {
        double x = ML + (double)k->step[i].start_us / (double)t_end * span;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                "stroke=\"%s\" stroke-dasharray=\"3 3\"/><text x=\"%.1f\" "
                "y=\"%d\">x%g</text>\n", x, MT, x, h - MB,
                i == k->knee ? "red" : "#aaa", x + 2, h - MB + 14,
                k->step[i].multiple);
    }
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
            "points=\"", CAND_COLOR);
    for (size_t i = 0; i < s->npoints; i++)
        fprintf(f, "%.1f,%.1f ", ML + (double)s->t_us[i] / (double)t_end *
                                          span,
                h - MB - (s->v[i] - bot) / (top - bot) * (h - MT - MB));
    fputs("\"><title>", f);
    an_html_str(f, s->source);
    fputs("</title></polyline>\n</svg>\n", f);
}

static void capacity_section(const struct an_analysis *a, FILE *f)
{
    for (int which = AN_BASE; which <= AN_CAND; which++) {
        const struct an_capacity *k = a->set[which].cap;
        if (!k)
            continue;
        char name[200];
        an_set_name(&a->set[which], name, sizeof name);
        fprintf(f, "<h2 id=\"capacity%s\">Capacity of the %s, ",
                which == AN_BASE ? "-baseline" : "", an_side_name(which));
        an_html_str(f, name);
        fputs("</h2>\n", f);
        an_capacity_report_html_table(a, which, f);
        throughput_chart(k, f);
        latency_step_chart(k, f);
        /* the saturated series first, then the other gauges */
        int drawn = 0;
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < k->nseries && drawn < AN_CAP_CHARTED;
                 i++) {
                const struct an_cap_series *s = &k->series[i];
                if (pass == 0 ? !s->saturated : s->saturated || !s->gauge ||
                                                    s->max == s->min)
                    continue;
                series_chart(k, s, f);
                drawn++;
            }
    }
}

static void li_line(void *arg, int side, const char *line)
{
    (void)side;
    struct html_ctx *h = arg;
    fputs("<li>", h->f);
    an_html_str(h->f, line);
    fputs("</li>\n", h->f);
}

static void set_row(void *arg, int side, const char *line)
{
    struct html_ctx *h = arg;
    fprintf(h->f, "<tr><th>%s</th><td>", an_side_name(side));
    an_html_str(h->f, line);
    fputs("</td></tr>\n", h->f);
}

static void endpoint_table(const struct an_analysis *a, FILE *f)
{
    fputs("<h2 id=\"endpoints\">Endpoints</h2>\n<table><tr><th>endpoint</th>"
          "<th>count b/c</th><th>errors b</th><th>errors c</th>", f);
    for (int i = 0; i < AN_NPCT; i++)
        fprintf(f, "<th>%s b</th><th>%s c</th><th>%s d</th>",
                an_pct_name[i], an_pct_name[i], an_pct_name[i]);
    fputs("<th>p-value</th><th>status changed</th><th>status mix</th>"
          "<th>body changed</th><th>verdict</th></tr>\n", f);
    for (size_t k = 0; k <= a->ngroups; k++) {
        const struct an_group *g = k < a->ngroups ? a->groups[a->order[k]]
                                                  : &a->all;
        const struct an_summary *b = &g->sum[AN_BASE], *c = &g->sum[AN_CAND];
        fputs(k < a->ngroups ? "<tr><td>" : "<tr class=\"all\"><td>", f);
        an_html_str(f, g->key);
        fprintf(f, "</td><td>%llu/%llu</td><td>%.2f%%</td><td>%.2f%%</td>",
                (unsigned long long)b->count, (unsigned long long)c->count,
                b->error_rate * 100, c->error_rate * 100);
        for (int i = 0; i < AN_NPCT; i++) {
            char x[32], y[32], d[32];
            an_fmt_pct(b, i, x, sizeof x);
            an_fmt_pct(c, i, y, sizeof y);
            an_fmt_change(b, c, i, d, sizeof d);
            fprintf(f, "<td>%s</td><td>%s</td><td>%s</td>", x, y, d);
        }
        char pv[16];
        if (g->side[AN_BASE].res.n && g->side[AN_CAND].res.n)
            snprintf(pv, sizeof pv, "%.3g", g->mw.p);
        else
            snprintf(pv, sizeof pv, "-");
        fprintf(f, "<td>%s</td><td>%llu/%llu</td><td>%.1f pts</td>"
                "<td>%llu/%llu</td><td class=\"%s\">%s</td></tr>\n", pv,
                (unsigned long long)g->status_changed,
                (unsigned long long)g->compared, g->mix_pts,
                (unsigned long long)g->body_changed,
                (unsigned long long)g->body_compared,
                g->failed || g->regressed ? "bad" : g->improved ? "good" : "",
                an_verdict_word(a, g));
    }
    fputs("</table>\n", f);
}

int an_report_html(const struct an_analysis *a, FILE *f)
{
    const struct an_opts *o = a->o;
    struct html_ctx hc = {f};
    char bn[256], cn[256];
    an_set_name(&a->set[AN_BASE], bn, sizeof bn);
    an_set_name(&a->set[AN_CAND], cn, sizeof cn);
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
          "<title>reprise: ", f);
    an_html_str(f, cn);
    fputs(" vs ", f);
    an_html_str(f, bn);
    fputs("</title>\n<style>body{font-family:sans-serif;margin:2em;"
          "color:#222}table{border-collapse:collapse;font-size:13px}"
          "td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}"
          "td:first-child,th:first-child{text-align:left}"
          "tr.all{font-weight:bold}"
          ".bad{color:#c0392b;font-weight:bold}.good{color:#27ae60}"
          ".inconclusive{color:#b7950b;font-weight:bold}"
          ".verdict{font-size:1.3em}</style></head><body>\n<h1>reprise: ",
          f);
    an_html_str(f, cn);
    fputs(" vs baseline ", f);
    an_html_str(f, bn);
    fputs("</h1>\n", f);
    static const char *const vclass[] = {"good", "bad", "inconclusive"};
    int ndef = o->ncond - o->nuser;
    fprintf(f, "<p id=\"verdict\" class=\"verdict %s\">verdict: %s</p>\n"
            "<p>%d given condition%s, %d default gate%s; exit %d.</p>\n",
            vclass[a->verdict], an_verdict_name(a->verdict), o->nuser,
            o->nuser == 1 ? "" : "s", ndef, ndef == 1 ? "" : "s",
            an_verdict_exit(a->verdict));
    fputs("<ul id=\"reasons\">\n", f);
    for (int i = 0; i < a->nnotes; i++)
        if (an_note_decides(a, &a->note[i])) {
            fprintf(f, "<li class=\"%s\">",
                    a->verdict == AN_FAIL ? "bad" : "inconclusive");
            an_html_str(f, a->note[i].text);
            fputs("</li>\n", f);
        }
    fputs("</ul>\n<h2 id=\"runs\">Runs compared</h2>\n<table>\n", f);
    an_each_set_line(a, set_row, &hc);
    fputs("</table>\n", f);
    fprintf(f, "<p>Compared %s, grouped by %s. A change is real when p50 "
            "or p99 (p90 where p99 has fewer than %d samples beyond it) "
            "moves by at least max(%g%%, %lld us)%s, significantly (p &lt; "
            "%g: Mann-Whitney U, or a quantile test for a change of the "
            "tail alone).</p>\n",
            o->metric == AN_METRIC_SERVICE ? "service time" : "latency",
            an_group_by_name(o->group_by), AN_TAIL_MIN, o->threshold_pct,
            (long long)o->min_effect_us,
            a->set[AN_NOISE].present ? " plus the A/A noise floor" : "",
            o->alpha);
    fputs("<h2 id=\"notices\">Notices</h2>\n<ul>\n", f);
    int nnot = 0;
    for (int i = 0; i < a->nnotes; i++)
        if (!an_note_decides(a, &a->note[i])) {
            fputs("<li>", f);
            an_html_str(f, a->note[i].text);
            fputs("</li>\n", f);
            nnot++;
        }
    if (!nnot)
        fputs("<li>none</li>\n", f);
    fputs("</ul>\n", f);
    if (a->nfail) {
        fputs("<h2 id=\"failed\">Failed conditions</h2><ul>\n", f);
        for (size_t i = 0; i < a->nfail && i < 100; i++) {
            char label[96], v[96];
            an_cond_label(&o->cond[a->fail[i].cond], label, sizeof label);
            an_failure_value(a, &a->fail[i], v, sizeof v);
            fputs("<li><code>", f);
            an_html_str(f, label);
            fputs("</code> on ", f);
            an_html_str(f, a->fail[i].group->key);
            fputs(" (", f);
            an_html_str(f, v);
            fputs(")</li>\n", f);
        }
        if (a->nfail > 100)
            fprintf(f, "<li>... %zu more</li>\n", a->nfail - 100);
        fputs("</ul>\n", f);
    }
    endpoint_table(a, f);
    fputs("<h2 id=\"errors\">Errors</h2>\n", f);
    int nerr = 0;
    for (int side = AN_BASE; side <= AN_CAND; side++) {
        if (!a->set[side].nmsg && !a->all.side[side].status_class[5])
            continue;
        fprintf(f, "<h3>%s</h3><ul>\n", an_side_name(side));
        an_each_error_line(a, side, li_line, &hc);
        fputs("</ul>\n", f);
        nerr++;
    }
    if (!nerr)
        fputs("<p>No request failed.</p>\n", f);
    fputs("<h2 id=\"transitions\">Correctness</h2>\n<p>Exchanges whose "
          "status or response body hash differs from the baseline's for the "
          "same exchange; inspect one with <code>reprise show ", f);
    an_html_str(f, o->db);
    fputs(" ID</code>.</p><ul>\n", f);
    int hdr = 0;
    for (size_t i = 0; i < a->ngroups; i++) {
        const struct an_group *g = a->groups[a->order[i]];
        if (!g->status_changed && !g->body_changed)
            continue;
        hdr++;
        fputs("<li>", f);
        an_html_str(f, g->key);
        fprintf(f, ": status changed %llu/%llu, body changed %llu/%llu",
                (unsigned long long)g->status_changed,
                (unsigned long long)g->compared,
                (unsigned long long)g->body_changed,
                (unsigned long long)g->body_compared);
        if (g->n_body_ex) {
            fputs(" (body e.g.", f);
            for (int k = 0; k < g->n_body_ex; k++)
                fprintf(f, " %lld", (long long)g->body_ex[k]);
            fputc(')', f);
        }
        fputs("<ul>\n", f);
        an_each_transition(g, li_line, &hc);
        fputs("</ul></li>\n", f);
    }
    if (!hdr)
        fprintf(f, "<li>no status or body change in %llu compared "
                "exchanges</li>\n", (unsigned long long)a->all.compared);
    fputs("</ul>\n", f);
    uint64_t ftotal = 0;
    for (size_t i = 0; i < a->ngroups; i++)
        ftotal += a->groups[i]->fields.total;
    if (ftotal) {
        fprintf(f, "<h2 id=\"fields\">Fields</h2>\n<p>%llu exchanges with "
                "both responses stored, compared field by field; noise "
                "fields are listed apart.</p>\n<ul>\n",
                (unsigned long long)ftotal);
        if (!an_each_field_line(a, 0, li_line, &hc))
            fputs("<li>no field changed (beyond the noise below)</li>\n", f);
        fputs("</ul>\n<h3 id=\"noise-fields\">Noise fields</h3>\n<ul>\n",
              f);
        an_each_field_line(a, 1, li_line, &hc);
        fputs("</ul>\n", f);
    }
    const struct an_group *top[10];
    int nt = an_top_contributors(a, top, 10);
    if (nt) {
        fputs("<h2 id=\"contributions\">Largest contributions to the latency "
              "change</h2>\n<table><tr><th>endpoint</th><th>count &times; "
              "mean change</th><th>mean change</th></tr>\n", f);
        for (int k = 0; k < nt; k++) {
            char x[32], y[32];
            an_fmt_us(top[k]->contribution_us, x, sizeof x);
            an_fmt_us(top[k]->sum[AN_CAND].mean_us -
                          top[k]->sum[AN_BASE].mean_us, y, sizeof y);
            fputs("<tr><td>", f);
            an_html_str(f, top[k]->key);
            fprintf(f, "</td><td>%s</td><td>%s</td></tr>\n", x, y);
        }
        fputs("</table>\n", f);
    }
    if (a->sat.found) {
        char x[32], y[32];
        an_fmt_us((double)a->sat.t_us, x, sizeof x);
        an_fmt_us((double)a->sat.p50_us, y, sizeof y);
        fprintf(f, "<p id=\"saturation\"><b>Saturation</b>: from %s into the "
                "candidate run, throughput stopped tracking offered load at "
                "%.0f req/s (offered %.0f req/s): requests in flight grew "
                "from %.0f to %.0f, where a target keeping pace would hold "
                "about %.0f (Little's law), and p50 rose to %s.</p>\n", x,
                a->sat.achieved_rps, a->sat.offered_rps,
                a->sat.inflight_start, a->sat.inflight_end, a->sat.little,
                y);
    }
    capacity_section(a, f);
    fputs("<h2 id=\"charts\">Charts</h2>\n", f);
    cdf_chart(a, f);
    bar_chart(a, f);
    timeline_chart(a, f);
    if (a->nslow) {
        fputs("<h2 id=\"slowest\">Slowest candidate exchanges</h2>\n<table>"
              "<tr><th>exchange</th><th>copy</th><th>loop</th><th>latency"
              "</th><th>status</th><th>endpoint</th></tr>\n", f);
        for (int i = 0; i < a->nslow; i++) {
            char x[32];
            an_fmt_us((double)a->slow[i].latency_us, x, sizeof x);
            fprintf(f, "<tr><td>%lld</td><td>%d</td><td>%d</td><td>%s</td>"
                    "<td>%d</td><td>", (long long)a->slow[i].exchange_id,
                    a->slow[i].copy, a->slow[i].loop, x, a->slow[i].status);
            an_html_str(f, a->slow[i].endpoint);
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n<p>Inspect one with <code>reprise show ", f);
        an_html_str(f, o->db);
        fputs(" ID</code>.</p>\n", f);
    }
    fputs("</body></html>\n", f);
    return ferror(f) ? RP_EIO : 0;
}
