/*
 * an_cli.c: `reprise analyze`: parses flags, resolves the baseline, the
 * candidate and the optional A/A noise run in the corpus, streams their
 * samples (an_load), compares them and decides the verdict (an_compute)
 * and writes the report in every format asked for. Exit codes: 0 PASS, 1
 * FAIL (or a runtime failure), 2 bad usage or input (unknown run,
 * malformed flag), 3 INCONCLUSIVE.
 */
#include "analyze/analyze.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/an_priv.h"

static const char usage_text[] =
"usage: reprise analyze DB [--baseline RUN|capture|previous] [--candidate RUN]\n"
"                          [options]\n"
"\n"
"Compares a replay run (the candidate) with a baseline per endpoint: count,\n"
"errors, status mix, latency percentiles and their change, whether the change\n"
"is real (significance tests, a minimum effect and an optional A/A noise\n"
"floor), and which responses changed status or body; then the endpoints that\n"
"contribute most to the change, the candidate's saturation point if any and\n"
"its slowest exchanges (see 'reprise show'). RUN is a run id or a run label\n"
"(the latest run with that label).\n"
"A run replayed with --steps (and --monitor) also gets its capacity: per\n"
"step offered and achieved req/s, p50/p90/p99, errors, in flight (with\n"
"Little's law), lateness; the knee (first step achieving under 95% of its\n"
"offered load, or breaking a --stop-if), the maximum sustained throughput\n"
"(best step before the knee), a Universal Scalability Law fit, the limiting\n"
"endpoint and the monitored series saturated at the knee.\n"
"\n"
"Sets:\n"
"  --candidate RUN      run to judge (default: the latest run)\n"
"  --baseline WHAT      'capture' (default): the wire timings, statuses and\n"
"                       bodies of the candidate's capture; 'capture:ID': that\n"
"                       capture; 'previous': the run before the candidate;\n"
"                       or a RUN id or label\n"
"  --noise RUN          an A/A partner of the baseline (same release, run\n"
"                       again); per endpoint, its p50/p99 difference from\n"
"                       the baseline is the noise floor a change must exceed\n"
"                       (on top of the threshold)\n"
"\n"
"Fields (responses stored: a capture's, a run's with replay --store-bodies):\n"
"  --ignore-field 'ENDPOINT PATH'  treat PATH of ENDPOINT ('*': every one)\n"
"                       as noise, e.g. 'GET /api/items/:id $.took_ms'; paths\n"
"                       as the report writes them: $.a.b[*].c (JSON bodies),\n"
"                       header:NAME (lower case), body (other bodies).\n"
"                       Repeatable. Noise is also learned: fields that differ\n"
"                       between the baseline and --noise, across the\n"
"                       baseline's own copies and loops, or (times only)\n"
"                       between the capture and the baseline\n"
"\n"
"Grouping:\n"
"  --group-by KIND      endpoint (default), host, status or none\n"
"  --template PATTERN   endpoint rule, tried before the automatic ones, in\n"
"                       order; repeatable. '[METHOD ]/users/:id/orders':\n"
"                       ':name' matches one segment, a final '*' the rest\n"
"  --keep-query         keep the query string in endpoint names\n"
"                       Automatic rules: numeric, UUID, hex (8+ chars with a\n"
"                       digit) and token-like (16+ base64 chars mixing letters\n"
"                       and digits) segments become ':id'\n"
"\n"
"Judging:\n"
"  --metric M           latency (default; from the scheduled time, corrected\n"
"                       for coordinated omission) or service (from sent)\n"
"  --alpha P            significance level of the test (default 0.01)\n"
"  --threshold PCT      minimum p50 or p99 shift in percent (default 10)\n"
"  --min-effect DUR     minimum absolute shift (default 1ms). An endpoint is\n"
"                       'regressed' or 'improved' when its p50 or p99 (p90\n"
"                       when fewer than 10 samples of a side lie beyond\n"
"                       p99: under 1000 requests) moved\n"
"                       by at least max(threshold, min-effect) plus the\n"
"                       noise floor (with --noise), and the move is\n"
"                       significant (p < alpha) in that direction: by\n"
"                       Mann-Whitney U (the distribution moved) or, when\n"
"                       that finds no shift, by a quantile test at that\n"
"                       percentile (Fisher's exact test on the shares above\n"
"                       the pooled percentile)\n"
"  --fail-if EXPR       FAIL when EXPR holds for any endpoint; repeatable.\n"
"                       METRIC OP VALUE with METRIC p50 p90 p95 p99 p99.9 max\n"
"                       mean errors status-changed status-mix body-changed\n"
"                       field-changed capacity,\n"
"                       OP > >= < <=:\n"
"                         p99>+10%  p50>+5ms   change from the baseline; only\n"
"                                              counts when significant in that\n"
"                                              direction (as above; never for\n"
"                                              max), beyond the noise floor,\n"
"                                              and at least --min-effect. A\n"
"                                              percentile needs 10 samples of\n"
"                                              each side beyond it; where it\n"
"                                              has fewer, the highest lower\n"
"                                              one that has them is judged\n"
"                                              (p99 -> p95 -> p90 -> p50), and\n"
"                                              said\n"
"                         p95>250ms            absolute candidate value (of\n"
"                                              the requests that got a\n"
"                                              response: a failed request is\n"
"                                              an error, never a latency)\n"
"                         errors>1%  errors>+1% error rate (5xx, transport\n"
"                                              errors, no response), absolute\n"
"                                              or in points over the baseline\n"
"                         status-changed>0.5%  share of exchanges whose status\n"
"                                              differs from the baseline's\n"
"                         status-mix>1%        how far the status mix moved:\n"
"                                              the share of requests whose\n"
"                                              status would have to change to\n"
"                                              turn one mix into the other,\n"
"                                              when significant\n"
"                         body-changed>1%      share of exchanges whose body\n"
"                                              hash differs\n"
"                         field-changed>1%     share of compared exchanges in\n"
"                                              which one response field (not\n"
"                                              noise) changed\n"
"                         capacity<-10%        both runs stepped (replay\n"
"                                              --steps): the maximum\n"
"                                              sustained throughput changed\n"
"                                              by less than -10%; judged\n"
"                                              once per comparison\n"
"\n"
"Verdict: PASS, FAIL or INCONCLUSIVE, always printed with its reasons.\n"
"  Default gates stand in for conditions you did not give: 'errors>+1%'\n"
"  (the error rate rose by more than 1 point, significantly: Fisher's exact\n"
"  test, p < alpha), unless a --fail-if names errors, and 'status-mix>1%',\n"
"  unless one names status-changed or status-mix. Both apply to every\n"
"  endpoint and to all requests together. A candidate whose every request\n"
"  failed is FAIL whatever the conditions say.\n"
"  INCONCLUSIVE when the comparison cannot be trusted where it matters: a\n"
"  latency condition is given and the baseline's or the candidate's\n"
"  generator fell behind its schedule (p99 lateness over --max-lateness, or\n"
"  over --min-effect and half that run's p99 latency); the noise run is not\n"
"  an A/A twin of the baseline (starved, other errors, status mix or\n"
"  latency) and without its floor a latency condition would fail; a\n"
"  condition could not be judged, even at p50, on an endpoint that moved\n"
"  significantly the way it guards (and by more than the generators' p99\n"
"  lateness); or a side has no results. Errors,\n"
"  status and body changes FAIL even then: a late generator cannot cause\n"
"  them.\n"
"  --no-default-gates   only the conditions given\n"
"  --allow-all-errors   a candidate whose every request failed may pass\n"
"                       (testing an outage on purpose, say)\n"
"  --max-lateness DUR   p99 lateness beyond which a run's generator counts\n"
"                       as starved (default 5ms)\n"
"  --warmup DUR         leave out of the measurements the requests due in the\n"
"                       first DUR of each run or capture (cold caches and\n"
"                       connections); they are still compared for status\n"
"                       and body (default 0)\n"
"  --min-count N        endpoints with fewer candidate requests are reported\n"
"                       but not gated by --fail-if (default 1)\n"
"\n"
"Output:\n"
"  --format F           text (default), json, csv, markdown or html\n"
"  -o, --output FILE    write the report to FILE instead of stdout;\n"
"                       repeatable (-o report.html -o report.json): the\n"
"                       format is taken from the extension (.txt .json\n"
"                       .csv .md .html), else from --format\n"
"  --top N              rows in the text table (default 50; 0 = all)\n"
"  --color, --no-color  force colour on or off (default: on a terminal,\n"
"                       unless NO_COLOR is set)\n"
"  -h, --help           this help\n"
"\n"
"Exit status: 0 PASS, 1 FAIL (or a runtime failure), 2 bad usage or input\n"
"(unknown run or label, malformed expression), 3 INCONCLUSIVE.\n";

/* Returns the value of flag `name` at argv[*i] ("--x V" or "--x=V"), or
 * NULL when argv[*i] is not that flag. *missing is set when it is but has
 * no value. */
static const char *flag_value(int argc, char **argv, int *i,
                              const char *name, int *missing)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n))
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n])
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

/* The format named s (a --format value or a file extension): 0, or -1. */
static int format_of(const char *s, enum an_format *out)
{
    static const struct {
        const char *name;
        enum an_format f;
    } names[] = {
        {"text", AN_FMT_TEXT}, {"txt", AN_FMT_TEXT}, {"json", AN_FMT_JSON},
        {"csv", AN_FMT_CSV}, {"markdown", AN_FMT_MD}, {"md", AN_FMT_MD},
        {"html", AN_FMT_HTML}, {"htm", AN_FMT_HTML},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name)) {
            *out = names[i].f;
            return 0;
        }
    return -1;
}

static int parse_args(int argc, char **argv, struct an_opts *o, char *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int miss = 0, rc;
#define FLAG(name) ((v = flag_value(argc, argv, &i, name, &miss)) || miss)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            return 1;
        } else if (!strcmp(a, "--keep-query")) {
            http_templater_free(o->tmpl);
            if (!(o->tmpl = http_templater_new(1)))
                return RP_ENOMEM;
        } else if (!strcmp(a, "--color")) {
            o->color = 1;
        } else if (!strcmp(a, "--no-color")) {
            o->color = 0;
        } else if (!strcmp(a, "--no-default-gates")) {
            o->no_default_gates = 1;
        } else if (!strcmp(a, "--allow-all-errors")) {
            o->allow_all_errors = 1;
        } else if (FLAG("--max-lateness")) {
            if (miss)
                goto missing;
            if ((rc = rp_parse_duration_us(v, "--max-lateness",
                                           &o->max_lateness_us, err)))
                return rc;
        } else if (FLAG("--baseline")) {
            if (miss)
                goto missing;
            o->baseline = v;
        } else if (FLAG("--candidate")) {
            if (miss)
                goto missing;
            o->candidate = v;
        } else if (FLAG("--noise")) {
            if (miss)
                goto missing;
            o->noise = v;
        } else if (FLAG("--template")) {
            if (miss)
                goto missing;
            if ((rc = http_templater_add(o->tmpl, v, err)))
                return rc;
        } else if (FLAG("--group-by")) {
            if (miss)
                goto missing;
            if (!strcmp(v, "endpoint"))
                o->group_by = AN_BY_ENDPOINT;
            else if (!strcmp(v, "host"))
                o->group_by = AN_BY_HOST;
            else if (!strcmp(v, "status"))
                o->group_by = AN_BY_STATUS;
            else if (!strcmp(v, "none"))
                o->group_by = AN_BY_NONE;
            else
                return rp_fail(err, RP_EUSAGE, "--group-by '%s': expected "
                               "endpoint, host, status or none", v);
        } else if (FLAG("--metric")) {
            if (miss)
                goto missing;
            if (!strcmp(v, "latency"))
                o->metric = AN_METRIC_LATENCY;
            else if (!strcmp(v, "service"))
                o->metric = AN_METRIC_SERVICE;
            else
                return rp_fail(err, RP_EUSAGE, "--metric '%s': expected "
                               "latency or service", v);
        } else if (FLAG("--alpha")) {
            if (miss)
                goto missing;
            if ((rc = rp_parse_double(v, "--alpha", 0, &o->alpha, err)))
                return rc;
            if (o->alpha >= 1)
                return rp_fail(err, RP_EUSAGE, "--alpha %s: expected a "
                               "probability between 0 and 1", v);
        } else if (FLAG("--threshold")) {
            if (miss)
                goto missing;
            char tmp[64];
            snprintf(tmp, sizeof tmp, "%s", v);
            size_t l = strlen(tmp);
            if (l && tmp[l - 1] == '%')
                tmp[l - 1] = '\0';
            if ((rc = rp_parse_double(tmp, "--threshold", -1e-300,
                                      &o->threshold_pct, err)))
                return rc;
        } else if (FLAG("--min-effect")) {
            if (miss)
                goto missing;
            if ((rc = rp_parse_duration_us(v, "--min-effect",
                                           &o->min_effect_us, err)))
                return rc;
        } else if (FLAG("--warmup")) {
            if (miss)
                goto missing;
            if ((rc = rp_parse_duration_us(v, "--warmup", &o->warmup_us,
                                           err)))
                return rc;
        } else if (FLAG("--min-count")) {
            if (miss)
                goto missing;
            if ((rc = rp_parse_i64(v, "--min-count", 0, INT64_MAX,
                                   &o->min_count, err)))
                return rc;
        } else if (FLAG("--ignore-field")) {
            if (miss)
                goto missing;
            const char *sp = strrchr(v, ' ');
            if (!sp || sp == v || !sp[1] || o->nignore >= AN_MAX_IGNORE ||
                (size_t)(sp - v) >= sizeof o->ignore[0].endpoint ||
                strlen(sp + 1) >= sizeof o->ignore[0].path)
                return rp_fail(err, RP_EUSAGE, "--ignore-field '%s': give "
                               "'ENDPOINT PATH', e.g. 'GET /api/items/:id "
                               "$.took_ms' or '* header:x-request-id' (at "
                               "most %d)", v, AN_MAX_IGNORE);
            struct an_ignore *ig = &o->ignore[o->nignore++];
            snprintf(ig->endpoint, sizeof ig->endpoint, "%.*s",
                     (int)(sp - v), v);
            snprintf(ig->path, sizeof ig->path, "%s", sp + 1);
        } else if (FLAG("--top")) {
            if (miss)
                goto missing;
            int64_t t;
            if ((rc = rp_parse_i64(v, "--top", 0, 1000000, &t, err)))
                return rc;
            o->top = (int)t;
        } else if (FLAG("--fail-if")) {
            if (miss)
                goto missing;
            if (o->ncond >= AN_MAX_CONDS)
                return rp_fail(err, RP_EUSAGE, "at most %d --fail-if",
                               AN_MAX_CONDS);
            if ((rc = an_cond_parse(v, &o->cond[o->ncond], err)))
                return rc;
            o->ncond++;
        } else if (FLAG("--format")) {
            if (miss)
                goto missing;
            if (format_of(v, &o->format))
                return rp_fail(err, RP_EUSAGE, "--format '%s': expected "
                               "text, json, csv, markdown or html", v);
            o->format_given = 1;
        } else if (FLAG("--output") || FLAG("-o")) {
            if (miss)
                goto missing;
            if (o->nout >= AN_MAX_OUT)
                return rp_fail(err, RP_EUSAGE, "at most %d -o", AN_MAX_OUT);
            o->out[o->nout++].path = v;
        } else if (a[0] == '-' && a[1]) {
            return rp_fail(err, RP_EUSAGE, "unknown flag '%s'; see "
                           "'reprise analyze --help'", a);
        } else if (!o->db) {
            o->db = a;
        } else {
            return rp_fail(err, RP_EUSAGE, "unexpected argument '%s' (the "
                           "corpus is '%s'); see 'reprise analyze --help'",
                           a, o->db);
        }
        continue;
    missing:
        return rp_fail(err, RP_EUSAGE, "%s needs a value; see 'reprise "
                       "analyze --help'", a);
#undef FLAG
    }
    if (!o->db)
        return rp_fail(err, RP_EUSAGE, "missing DB; usage: reprise analyze "
                       "DB [--baseline RUN] [--candidate RUN]");
    /* each -o takes its format from its extension, else from --format;
     * one -o with --format keeps --format whatever the name */
    for (int i = 0; i < o->nout; i++) {
        struct an_output *x = &o->out[i];
        const char *dot = strrchr(x->path, '.');
        const char *slash = strrchr(x->path, '/');
        int known = dot && (!slash || dot > slash) &&
                    !format_of(dot + 1, &x->format);
        if (o->format_given && (o->nout == 1 || !known))
            x->format = o->format;
        else if (!known && o->nout > 1)
            return rp_fail(err, RP_EUSAGE, "-o %s: cannot tell the format "
                           "from the name; use .txt, .json, .csv, .md or "
                           ".html, or one -o with --format", x->path);
        else if (!known)
            x->format = o->format;
    }
    an_add_default_gates(o);
    return 0;
}

static void set_from_run(struct an_set *s, const struct corpus_run_row *r)
{
    memset(s, 0, sizeof *s);
    s->present = 1;
    s->kind = CORPUS_SET_RUN;
    s->id = r->id;
    s->capture_id = r->capture_id;
    snprintf(s->label, sizeof s->label, "%s", r->label);
    snprintf(s->target, sizeof s->target, "%s", r->target);
    snprintf(s->mode, sizeof s->mode, "%s", r->mode);
    snprintf(s->status, sizeof s->status, "%s", r->status);
    snprintf(s->engine, sizeof s->engine, "%s", r->engine);
    snprintf(s->correlated, sizeof s->correlated, "%s", r->correlated);
    s->uncorrelated = r->uncorrelated;
    s->speed = r->speed;
    s->rate = r->rate;
    s->concurrency = r->concurrency;
    s->scale = r->scale;
    s->started_us = r->started_us;
    s->wall_us = r->ended_us > r->started_us ? r->ended_us - r->started_us : 0;
}

static int resolve(struct corpus *c, struct an_analysis *a, char *err)
{
    const struct an_opts *o = a->o;
    struct corpus_run_row row;
    int rc;
    if (o->candidate) {
        if ((rc = corpus_run_find(c, o->candidate, &row, err)))
            return rc;
    } else if ((rc = corpus_run_latest(c, 0, &row, err))) {
        return rp_fail(err, RP_EINPUT, "%s has no replay run to analyze; "
                       "run 'reprise replay %s TARGET' first", o->db, o->db);
    }
    set_from_run(&a->set[AN_CAND], &row);
    int64_t cand_id = row.id;
    const char *b = o->baseline;
    if (!b || !strcmp(b, "capture") || !strncmp(b, "capture:", 8)) {
        struct an_set *s = &a->set[AN_BASE];
        memset(s, 0, sizeof *s);
        s->present = 1;
        s->kind = CORPUS_SET_CAPTURE;
        s->id = a->set[AN_CAND].capture_id;
        if (s->id <= 0 && (rc = corpus_capture_latest(c, &s->id, err)))
            return rc;
        if (b && b[7] == ':') {
            if ((rc = rp_parse_i64(b + 8, "--baseline capture:ID", 1,
                                   INT64_MAX, &s->id, err)))
                return rc;
            int64_t n = 0;
            if ((rc = corpus_ex_count(c, s->id, &n, err)))
                return rc;
            if (!n)
                return rp_fail(err, RP_EINPUT, "%s: capture %lld has no "
                               "exchanges (see 'reprise ls %s')", o->db,
                               (long long)s->id, o->db);
        }
        s->capture_id = s->id;
    } else if (!strcmp(b, "previous")) {
        int found = 0;
        for (int n = 0; n < 100000; n++) {
            if (corpus_run_latest(c, n, &row, err))
                break;
            if (row.id < cand_id) {
                found = 1;
                break;
            }
        }
        if (!found)
            return rp_fail(err, RP_EINPUT, "%s: no run before run %lld to "
                           "use as --baseline previous", o->db,
                           (long long)cand_id);
        set_from_run(&a->set[AN_BASE], &row);
    } else {
        if ((rc = corpus_run_find(c, b, &row, err)))
            return rc;
        set_from_run(&a->set[AN_BASE], &row);
    }
    if (a->set[AN_BASE].kind == CORPUS_SET_RUN && a->set[AN_BASE].id == cand_id)
        rp_warn("analyze: the baseline and the candidate are the same run "
                "(%lld)", (long long)cand_id);
    if (o->noise) {
        if ((rc = corpus_run_find(c, o->noise, &row, err)))
            return rc;
        set_from_run(&a->set[AN_NOISE], &row);
    }
    return 0;
}

/* Writes the report in x's format to x's file (or stdout). */
static int write_report(const struct an_analysis *a,
                        const struct an_output *x, int color_opt, char *err)
{
    FILE *out = stdout;
    if (x->path && !(out = fopen(x->path, "w")))
        return rp_fail(err, RP_EIO, "cannot write %s: %m", x->path);
    int color = color_opt >= 0 ? color_opt
                : (!x->path && isatty(1) && !getenv("NO_COLOR"));
    int rc = 0;
    switch (x->format) {
    case AN_FMT_TEXT: rc = an_report_text(a, out, color); break;
    case AN_FMT_JSON: rc = an_report_json(a, out); break;
    case AN_FMT_CSV: rc = an_report_csv(a, out); break;
    case AN_FMT_MD: rc = an_report_md(a, out); break;
    case AN_FMT_HTML: rc = an_report_html(a, out); break;
    }
    if (fflush(out) || rc)
        rc = rp_fail(err, RP_EIO, "cannot write the report to %s: %m",
                     x->path ? x->path : "standard output");
    if (out != stdout && fclose(out) && !rc)
        rc = rp_fail(err, RP_EIO, "cannot write %s: %m", x->path);
    return rc;
}

int an_cmd(int argc, char **argv)
{
    char err[RP_ERRLEN] = "";
    struct an_opts o;
    struct an_analysis a;
    struct corpus *c = NULL;
    int rc, exit_code = 2;
    memset(&o, 0, sizeof o);
    o.alpha = 0.01;
    o.threshold_pct = 10;
    o.min_effect_us = 1000;
    o.min_count = 1;
    o.color = -1;
    o.top = 50;
    o.max_lateness_us = 5000;
    an_analysis_init(&a, &o);
    o.tmpl = http_templater_new(0);
    if (!o.tmpl) {
        rc = rp_fail(err, RP_ENOMEM, "out of memory");
        goto done;
    }
    rc = parse_args(argc, argv, &o, err);
    if (rc == 1) {
        fputs(usage_text, stdout);
        exit_code = 0;
        rc = 0;
        goto out;
    }
    if (rc)
        goto done;
    if ((rc = corpus_open(o.db, CORPUS_READ, &c, err)))
        goto done;
    if ((rc = resolve(c, &a, err)))
        goto done;
    if ((rc = an_capacity_open(&a, c, AN_BASE, err)) ||
        (rc = an_capacity_open(&a, c, AN_CAND, err)))
        goto done;
    if ((rc = an_load(&a, c, err)))
        goto done;
    if ((rc = an_fields_compute(&a, c, err)))
        goto done;
    if ((rc = an_compute(&a, err)))
        goto done;
    if (!o.nout) {
        o.out[0].path = NULL;
        o.out[0].format = o.format;
        o.nout = 1;
    }
    for (int i = 0; i < o.nout && !rc; i++)
        rc = write_report(&a, &o.out[i], o.color, err);
done:
    if (rc) {
        fprintf(stderr, "reprise: analyze: %s\n", err);
        exit_code = rp_exit_code(rc);
    } else {
        exit_code = an_verdict_exit(a.verdict);
    }
out:
    an_analysis_cleanup(&a);
    http_templater_free(o.tmpl);
    corpus_close(c, NULL);
    return exit_code;
}
