/*
 * report_capacity.c: the capacity section of a stepped run in every report
 * format: the per-step table, the knee, the maximum sustained throughput,
 * the USL fit, the limiting endpoint and the saturated series. The JSON
 * object's keys are documented in analyze/report_json.c and SCHEMA.md.
 */
#include "analyze/an_priv.h"

#include <math.h>
#include <string.h>

enum { CELLS = 12 };
static const char *const heads[CELLS] = {
    "STEP", "MULT", "OFFERED/S", "ACHIEVED/S", "P50", "P90", "P99",
    "ERRORS", "IN FLIGHT", "LITTLE", "LATE P99", "STATE"};

/* The cells of step i as text. */
static void step_cells(const struct an_capacity *k, int i,
                       char cell[CELLS][32])
{
    const struct an_cap_step *s = &k->step[i];
    snprintf(cell[0], 32, "%d", i + 1);
    snprintf(cell[1], 32, "x%g", s->multiple);
    snprintf(cell[2], 32, "%.1f", s->offered_rps);
    snprintf(cell[3], 32, "%.1f", s->achieved_rps);
    int64_t p[3] = {s->p50_us, s->p90_us, s->p99_us};
    for (int j = 0; j < 3; j++) {
        if (p[j] < 0)
            snprintf(cell[4 + j], 32, "none");
        else
            an_fmt_us((double)p[j], cell[4 + j], 32);
    }
    snprintf(cell[7], 32, "%.2f%%", s->error_pct);
    snprintf(cell[8], 32, "%.1f", s->inflight);
    snprintf(cell[9], 32, "%.1f", s->little);
    if (s->late_p99_us < 0)
        snprintf(cell[10], 32, "-");
    else
        an_fmt_us((double)s->late_p99_us, cell[10], 32);
    snprintf(cell[11], 32, "%s", i == k->knee ? "KNEE"
                                 : !s->kept_up ? "behind"
                                 : !s->slo_ok ? "SLO broke" : "kept up");
    if (i == k->knee && s->gen_limited)
        snprintf(cell[11], 32, "KNEE (generator)");
}

static void usl_text(const struct an_capacity *k, char *out, size_t n)
{
    const struct an_usl *u = &k->usl;
    if (!u->ok) {
        snprintf(out, n, "not fitted (needs 3 steps with requests in "
                 "flight)");
        return;
    }
    char peak[96];
    if (isinf(u->peak_rps))
        snprintf(peak, sizeof peak, "no peak: throughput still linear");
    else if (isinf(u->peak_n))
        snprintf(peak, sizeof peak, "levels off at %.0f req/s "
                 "(lambda/sigma)", u->peak_rps);
    else
        snprintf(peak, sizeof peak, "peak %.0f req/s at %.1f in flight",
                 u->peak_rps, u->peak_n);
    snprintf(out, n, "lambda %.4g req/s, sigma %.4g, kappa %.4g; %s "
             "(R^2 %.3f)", u->lambda, u->sigma, u->kappa, peak, u->r2);
}

/* The sentences after the table, each through fn. */
typedef void (*line_fn)(FILE *f, const char *line);

static void each_line(const struct an_analysis *a, int which, FILE *f,
                      line_fn fn)
{
    const struct an_capacity *k = a->set[which].cap;
    char line[1024], t[256];
    an_capacity_sentence(a, which, t, sizeof t);
    if (k->knee >= 0)
        snprintf(line, sizeof line, "%s; the knee: %s%s", t, k->knee_why,
                 k->gen_limited ? ". The generator fell behind there (p99 "
                 "lateness over --max-lateness while the target's service "
                 "time held): the knee is reprise's, not the target's "
                 "(more --threads or --max-connections, a quieter machine)" : "");
    else
        snprintf(line, sizeof line, "%s; every step kept up: the limit "
                 "lies above the last step", t);
    fn(f, line);
    usl_text(k, t, sizeof t);
    snprintf(line, sizeof line, "USL fit: %s", t);
    fn(f, line);
    if (k->limiting[0])
        snprintf(line, sizeof line, "limiting endpoint: %s (p90 x%.1f at "
                 "the knee; %.0f%% of the service demand)", k->limiting,
                 k->limiting_ratio, 100 * k->limiting_share);
    else
        snprintf(line, sizeof line, "limiting endpoint: none degraded%s",
                 k->knee < 0 ? " (no knee)" : "");
    fn(f, line);
    int nsat = 0;
    for (size_t i = 0; i < k->nseries; i++) {
        const struct an_cap_series *s = &k->series[i];
        if (!s->saturated)
            continue;
        nsat++;
        snprintf(line, sizeof line, "saturated: %s (%s): %s", s->name,
                 s->source, s->why);
        fn(f, line);
    }
    if (!nsat && k->nseries)
        fn(f, "saturated: no monitored series reached its ceiling at the "
              "knee");
    if (k->nseries || k->scrapes) {
        snprintf(line, sizeof line, "monitored: %zu series, %llu scrapes, "
                 "%llu failed%s%s%s", k->nseries,
                 (unsigned long long)k->scrapes,
                 (unsigned long long)k->scrapes_failed,
                 k->scrapes_failed ? " (first: " : "", k->scrape_error,
                 k->scrapes_failed ? ")" : "");
        fn(f, line);
    }
    if (k->series_dropped) {
        snprintf(line, sizeof line, "%llu points of series beyond the "
                 "first %d were not analyzed",
                 (unsigned long long)k->series_dropped, AN_CAP_SERIES);
        fn(f, line);
    }
}

/* ---- text ---------------------------------------------------------------- */

static void text_line(FILE *f, const char *line)
{
    fprintf(f, "  %s\n", line);
}

void an_capacity_report_text(const struct an_analysis *a, FILE *f)
{
    for (int which = AN_BASE; which <= AN_CAND; which++) {
        const struct an_capacity *k = a->set[which].cap;
        if (!k)
            continue;
        char name[200];
        an_set_name(&a->set[which], name, sizeof name);
        fprintf(f, "\ncapacity of the %s, %s (stepped by %s):\n",
                an_side_name(which), name, k->step_by);
        fputs(" ", f);
        for (int c = 0; c < CELLS; c++)
            fprintf(f, " %*s", c == CELLS - 1 ? 0 : 10, heads[c]);
        fputc('\n', f);
        for (int i = 0; i < k->nsteps; i++) {
            char cell[CELLS][32];
            step_cells(k, i, cell);
            fputs(" ", f);
            for (int c = 0; c < CELLS; c++)
                fprintf(f, " %*s", c == CELLS - 1 ? 0 : 10, cell[c]);
            fputc('\n', f);
        }
        each_line(a, which, f, text_line);
    }
}

/* ---- Markdown ------------------------------------------------------------ */

static void md_line(FILE *f, const char *line)
{
    fputs("- ", f);
    for (const char *p = line; *p; p++) {
        if (strchr("|*_`<>[]", *p))
            fputc('\\', f);
        fputc(*p, f);
    }
    fputc('\n', f);
}

void an_capacity_report_md(const struct an_analysis *a, FILE *f)
{
    for (int which = AN_BASE; which <= AN_CAND; which++) {
        const struct an_capacity *k = a->set[which].cap;
        if (!k)
            continue;
        char name[200];
        an_set_name(&a->set[which], name, sizeof name);
        fprintf(f, "\n**Capacity of the %s, %s** (stepped by %s)\n\n|",
                an_side_name(which), name, k->step_by);
        for (int c = 0; c < CELLS; c++)
            fprintf(f, " %s |", heads[c]);
        fputs("\n|", f);
        for (int c = 0; c < CELLS; c++)
            fputs(c < 2 || c == CELLS - 1 ? "---|" : "---:|", f);
        fputc('\n', f);
        for (int i = 0; i < k->nsteps; i++) {
            char cell[CELLS][32];
            step_cells(k, i, cell);
            fputc('|', f);
            for (int c = 0; c < CELLS; c++)
                fprintf(f, " %s |", cell[c]);
            fputc('\n', f);
        }
        fputc('\n', f);
        each_line(a, which, f, md_line);
    }
}

/* ---- HTML (the table; the charts are in report_html.c) ------------------- */

static void html_line(FILE *f, const char *line)
{
    fputs("<li>", f);
    an_html_str(f, line);
    fputs("</li>\n", f);
}

void an_capacity_report_html_table(const struct an_analysis *a, int which,
                                   FILE *f)
{
    const struct an_capacity *k = a->set[which].cap;
    fputs("<table class=\"capacity\"><tr>", f);
    for (int c = 0; c < CELLS; c++)
        fprintf(f, "<th>%s</th>", heads[c]);
    fputs("</tr>\n", f);
    for (int i = 0; i < k->nsteps; i++) {
        char cell[CELLS][32];
        step_cells(k, i, cell);
        fprintf(f, "<tr%s>", i == k->knee ? " class=\"knee\"" : "");
        for (int c = 0; c < CELLS; c++) {
            fputs("<td>", f);
            an_html_str(f, cell[c]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<ul>\n", f);
    each_line(a, which, f, html_line);
    fputs("</ul>\n", f);
}

/* ---- JSON ------------------------------------------------------------------ */

static void jus(FILE *f, int64_t v)
{
    if (v < 0)
        fputs("null", f);
    else
        fprintf(f, "%lld", (long long)v);
}

void an_capacity_report_json(const struct an_capacity *k, FILE *f)
{
    if (!k) {
        fputs("null", f);
        return;
    }
    fputs("{\"max_sustained_rps\": ", f);
    if (k->sustained >= 0)
        an_json_num(f, k->max_sustained_rps);
    else
        fputs("null", f);
    fputs(", \"sustained_step\": ", f);
    if (k->sustained >= 0)
        fprintf(f, "%d", k->sustained + 1);
    else
        fputs("null", f);
    fputs(", \"knee_step\": ", f);
    if (k->knee >= 0) {
        fprintf(f, "%d, \"knee_multiple\": ", k->knee + 1);
        an_json_num(f, k->step[k->knee].multiple);
        fputs(", \"knee_reason\": ", f);
        an_json_str(f, k->knee_why);
    } else {
        fputs("null, \"knee_multiple\": null, \"knee_reason\": null", f);
    }
    fprintf(f, ", \"generator_limited\": %s, \"step_by\": ",
            k->gen_limited ? "true" : "false");
    an_json_str(f, k->step_by);
    fputs(", \"stopped_by\": ", f);
    if (k->stopped_step) {
        fprintf(f, "{\"step\": %d, \"condition\": ", k->stopped_step);
        an_json_str(f, k->stopped_by);
        fputc('}', f);
    } else {
        fputs("null", f);
    }
    fputs(", \"limiting_endpoint\": ", f);
    if (k->limiting[0]) {
        an_json_str(f, k->limiting);
        fputs(", \"limiting_endpoint_p90_ratio\": ", f);
        an_json_num(f, k->limiting_ratio);
        fputs(", \"limiting_endpoint_demand_share\": ", f);
        an_json_num(f, k->limiting_share);
    } else {
        fputs("null, \"limiting_endpoint_p90_ratio\": null, "
              "\"limiting_endpoint_demand_share\": null", f);
    }
    fputs(", \"saturated_series\": [", f);
    int first = 1;
    for (size_t i = 0; i < k->nseries; i++)
        if (k->series[i].saturated) {
            if (!first)
                fputs(", ", f);
            first = 0;
            an_json_str(f, k->series[i].name);
        }
    fputs("], \"saturated\": [", f);
    first = 1;
    for (size_t i = 0; i < k->nseries; i++) {
        const struct an_cap_series *s = &k->series[i];
        if (!s->saturated)
            continue;
        fputs(first ? "{\"name\": " : ", {\"name\": ", f);
        first = 0;
        an_json_str(f, s->name);
        fputs(", \"source\": ", f);
        an_json_str(f, s->source);
        fputs(", \"why\": ", f);
        an_json_str(f, s->why);
        fputc('}', f);
    }
    fputs("], \"usl\": ", f);
    if (k->usl.ok) {
        fputs("{\"lambda\": ", f);
        an_json_num(f, k->usl.lambda);
        fputs(", \"sigma\": ", f);
        an_json_num(f, k->usl.sigma);
        fputs(", \"kappa\": ", f);
        an_json_num(f, k->usl.kappa);
        fputs(", \"peak_inflight\": ", f);
        an_json_num(f, k->usl.peak_n);
        fputs(", \"peak_rps\": ", f);
        an_json_num(f, k->usl.peak_rps);
        fputs(", \"r2\": ", f);
        an_json_num(f, k->usl.r2);
        fputc('}', f);
    } else {
        fputs("null", f);
    }
    fprintf(f, ", \"monitor\": {\"series\": %zu, \"scrapes\": %llu, "
               "\"scrapes_failed\": %llu, \"first_error\": ",
            k->nseries, (unsigned long long)k->scrapes,
            (unsigned long long)k->scrapes_failed);
    if (k->scrapes_failed)
        an_json_str(f, k->scrape_error);
    else
        fputs("null", f);
    fprintf(f, ", \"series_dropped\": %llu}, \"steps\": [",
            (unsigned long long)k->series_dropped);
    for (int i = 0; i < k->nsteps; i++) {
        const struct an_cap_step *s = &k->step[i];
        fprintf(f, "%s\n  {\"step\": %d, \"multiple\": ", i ? "," : "",
                i + 1);
        an_json_num(f, s->multiple);
        fprintf(f, ", \"start_us\": %lld, \"end_us\": %lld, \"due\": %llu, "
                   "\"offered_rps\": ", (long long)s->start_us,
                (long long)s->end_us, (unsigned long long)s->due);
        an_json_num(f, s->offered_rps);
        fputs(", \"achieved_rps\": ", f);
        an_json_num(f, s->achieved_rps);
        fputs(", \"p50_us\": ", f);
        jus(f, s->p50_us);
        fputs(", \"p90_us\": ", f);
        jus(f, s->p90_us);
        fputs(", \"p99_us\": ", f);
        jus(f, s->p99_us);
        fprintf(f, ", \"errors\": %llu, \"error_rate\": ",
                (unsigned long long)s->errors);
        an_json_num(f, s->error_pct / 100);
        fputs(", \"inflight\": ", f);
        an_json_num(f, s->inflight);
        fputs(", \"little_inflight\": ", f);
        an_json_num(f, s->little);
        fputs(", \"lateness_p99_us\": ", f);
        jus(f, s->late_p99_us);
        fprintf(f, ", \"kept_up\": %s, \"slo_ok\": %s, "
                   "\"generator_limited\": %s",
                s->kept_up ? "true" : "false", s->slo_ok ? "true" : "false",
                s->gen_limited ? "true" : "false");
        fputs(", \"series\": {", f);
        int fs = 1;
        for (size_t j = 0; j < k->nseries; j++) {
            const struct an_cap_series *x = &k->series[j];
            if (!x->step_n[i] || !x->gauge)
                continue;
            if (!fs)
                fputs(", ", f);
            fs = 0;
            an_json_str(f, x->name);
            fputs(": ", f);
            an_json_num(f, x->step_sum[i] / (double)x->step_n[i]);
        }
        fputs("}}", f);
    }
    fputs("]}", f);
}
