/*
 * an_show.c: `reprise show DB ID [--curl]`: prints one captured exchange --
 * request line, headers and a body preview, the response likewise, and the
 * wire timings and what the latest runs measured for it -- or, with --curl,
 * a curl command line that reissues the request. Captured bytes are never trusted: control characters are
 * escaped before they reach a terminal, and in the curl command every
 * argument is shell-quoted ('...' or $'...'; a body with NUL bytes is fed
 * by printf through --data-binary @-). Nothing is ever run by a shell here.
 */
#include "analyze/analyze.h"
#include "analyze/an_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/rp.h"
#include "corpus/corpus.h"
#include "proto/http_parse.h"

static const char show_usage[] =
"usage: reprise show DB ID [--curl [--target URL]] [--body-bytes N] [--runs N]\n"
"       reprise show DB ID --diff [--baseline RUN|capture] [--candidate RUN]\n"
"                                 [--loop N] [--copy K]\n"
"\n"
"Prints exchange ID of the corpus DB: the request line, headers and body,\n"
"the response status, headers and body, the wire timings, what the latest\n"
"replay runs measured for it, and its flags. IDs appear in 'reprise\n"
"analyze' (slowest exchanges, correctness examples) and in 'reprise\n"
"export'. Control characters in captured data are shown escaped (\\xHH).\n"
"\n"
"  --curl           print a curl command reproducing the request instead:\n"
"                   method, target (sent as-is: --path-as-is, --globoff),\n"
"                   headers and body, every argument shell-quoted\n"
"  --target URL     with --curl: send to URL (scheme://host[:port]) instead\n"
"                   of http://HOST from the Host header; the original Host\n"
"                   header is kept\n"
"  --body-bytes N   body preview length in bytes (default 1024; 0 = all)\n"
"  --runs N         list the results of the latest N runs (default 10;\n"
"                   0 = none), grouped by loop: the first 10 loops one by\n"
"                   one, the rest summed up\n"
"  --diff           compare the exchange's stored responses in two sets\n"
"                   (replay --store-bodies): the field differences as\n"
"                   'reprise analyze' counts them, then both responses side\n"
"                   by side, JSON pretty-printed with sorted keys, each line\n"
"                   marked ' ' same, '|' changed, '<' baseline only, '>'\n"
"                   candidate only\n"
"  --baseline WHAT  with --diff: 'capture' (default) or a run id or label\n"
"  --candidate RUN  with --diff: a run id or label (default: the latest)\n"
"  --loop N, --copy K  with --diff: which result of a looping or scaled run\n"
"                   (default 0 and 0)\n"
"  -h, --help       this help\n";

/* Writes s[0..n) with control and non-ASCII bytes escaped as \xHH (tab and,
 * when keep_nl, newline kept). */
static void safe_write(FILE *f, const char *s, size_t n, int keep_nl,
                       const char *line_prefix)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' && keep_nl) {
            fputc('\n', f);
            if (line_prefix && i + 1 < n)
                fputs(line_prefix, f);
        } else if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
            fputc(c, f);
        } else if (c == '\r' && i + 1 < n && s[i + 1] == '\n' && keep_nl) {
            continue;
        } else {
            fprintf(f, "\\x%02x", c);
        }
    }
}

static void print_headers(FILE *f, const char *h, size_t n, const char *pfx)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && h[j] != '\n')
            j++;
        size_t end = j;
        if (end > i && h[end - 1] == '\r')
            end--;
        if (end > i) {
            fputs(pfx, f);
            safe_write(f, h + i, end - i, 0, NULL);
            fputc('\n', f);
        }
        i = j + 1;
    }
}

static void print_body(FILE *f, struct corpus *c, const struct corpus_msg *m,
                       size_t limit, const char *pfx)
{
    char err[RP_ERRLEN];
    if (!m->has_body && !m->body_size)
        return;
    fprintf(f, "%s\n%s[body: %llu bytes on the wire, %zu stored]\n", pfx, pfx,
            (unsigned long long)m->body_size, m->body_len);
    if (!m->has_body)
        return;
    uint8_t *b = NULL;
    size_t len = 0;
    if (corpus_body_get(c, m->body_hash, &b, &len, err)) {
        fprintf(f, "%s[body unavailable: %s]\n", pfx, err);
        return;
    }
    size_t n = limit && len > limit ? limit : len;
    fputs(pfx, f);
    safe_write(f, (const char *)b, n, 1, pfx);
    fputc('\n', f);
    if (n < len)
        fprintf(f, "%s[... %zu more bytes; --body-bytes 0 shows all]\n", pfx,
                len - n);
    free(b);
}

/* b - a, or -1 when a corpus holds times whose difference does not fit
 * (a hostile or hand-edited file must not overflow). */
static int64_t span_us(int64_t a, int64_t b)
{
    int64_t d;
    if (__builtin_sub_overflow(b, a, &d))
        return -1;
    return d;
}

static void fmt_dur(int64_t us, char *out, size_t n);

/* One result of an exchange's replay, as " copy 0: status 200, latency
 * 2.1ms, service time 1.9ms, 41 body bytes". */
static void print_result(FILE *f, const struct corpus_sample *s)
{
    char lat[32], svc[32];
    fmt_dur(s->latency_us, lat, sizeof lat);
    fmt_dur(s->service_us, svc, sizeof svc);
    fprintf(f, " copy %d: ", s->copy);
    if (s->error_class != CORPUS_ERR_NONE) {
        fprintf(f, "error %s", corpus_errclass_name(s->error_class));
        if (s->error) {
            fputs(" (", f);
            safe_write(f, s->error, strlen(s->error), 0, NULL);
            fputc(')', f);
        }
    } else {
        fprintf(f, "status %d, latency %s, service time %s, %lld body bytes",
                s->status, lat, svc, (long long)s->resp_bytes);
    }
}

struct links_arg {
    FILE *f;
    int n;
};

static int link_cb(void *arg, const struct corpus_link *l)
{
    struct links_arg *a = arg;
    if (!a->n++)
        fputs("correlations (replay --sessions substitutes what the target "
              "answered the session):\n", a->f);
    fputs("  ", a->f);
    safe_write(a->f, l->location, strlen(l->location), 0, NULL);
    if (l->source_exchange_id > 0 && l->source_location) {
        fputs(" <- ", a->f);
        safe_write(a->f, l->source_location, strlen(l->source_location), 0,
                   NULL);
        fprintf(a->f, " of exchange %lld", (long long)l->source_exchange_id);
    } else {
        fputs(" <- generated by the client (made anew per copy and run)",
              a->f);
    }
    fprintf(a->f, " (%s) ", l->kind);
    safe_write(a->f, l->value_hash, strlen(l->value_hash), 0, NULL);
    fputc('\n', a->f);
    return 0;
}

/* Prints the values exchange id's request sent back, and their sources. */
static int print_links(FILE *f, struct corpus *c, int64_t id, char *err)
{
    struct links_arg a = {f, 0};
    return corpus_links_each(c, 0, id, link_cb, &a, err);
}

/* What correlation did to the requests of one exchange in one run. */
#define SHOW_CORRS 64
struct corrs {
    struct corpus_result_corr v[SHOW_CORRS];
    int n;
};

static int corr_cb(void *arg, const struct corpus_result_corr *r)
{
    struct corrs *c = arg;
    if (c->n < SHOW_CORRS)
        c->v[c->n++] = *r;
    return 0;
}

static void print_corr(FILE *f, const struct corrs *c, int loop, int copy)
{
    for (int i = 0; i < c->n; i++)
        if (c->v[i].loop == loop && c->v[i].copy == copy) {
            fprintf(f, ", %d values substituted", c->v[i].substituted);
            if (c->v[i].uncorrelated)
                fprintf(f, " (%d never got in this replay)",
                        c->v[i].uncorrelated);
            return;
        }
}

#define SHOW_LOOPS 10 /* loops of a run printed one by one */

/* Prints what each of the latest max_runs runs measured for exchange id,
 * grouped by loop: the first SHOW_LOOPS loops one by one, the rest as a
 * count with their status mix and latency range. */
static int print_replays(FILE *f, struct corpus *c, int64_t id, int max_runs,
                         char *err)
{
    int header = 0;
    for (int n = 0; n < max_runs; n++) {
        struct corpus_run_row row;
        if (corpus_run_latest(c, n, &row, err))
            break; /* no more runs */
        struct corpus_sample_cursor *cur;
        int rc = corpus_samples_open_exchange(c, row.id, id, &cur, err);
        if (rc)
            return rc;
        struct corpus_sample s;
        struct corrs cr;
        cr.n = 0;
        if ((rc = corpus_result_corrs_each(c, row.id, id, corr_cb, &cr, err))) {
            corpus_samples_close(cur);
            return rc;
        }
        int loop = -1, loops = 0, first = 1;
        uint64_t rest = 0, rest_ok = 0, rest_err = 0;
        int64_t rest_min = -1, rest_max = -1;
        while ((rc = corpus_samples_next(cur, &s, err)) > 0) {
            if (!header++)
                fputs("replays:\n", f);
            if (first) {
                char started[40];
                rp_fmt_time_iso(row.started_us, 1, started, sizeof started);
                fprintf(f, "  run %lld", (long long)row.id);
                if (row.label[0]) {
                    fputs(" '", f);
                    safe_write(f, row.label, strlen(row.label), 0, NULL);
                    fputc('\'', f);
                }
                fprintf(f, " (started %s, %s):\n", started, row.mode);
                first = 0;
            }
            if (s.loop != loop) {
                loop = s.loop;
                loops++;
                if (loops <= SHOW_LOOPS)
                    fprintf(f, "%s    loop %d:", loops > 1 ? "\n" : "", loop);
            } else if (loops <= SHOW_LOOPS) {
                fputc(';', f);
            }
            if (loops <= SHOW_LOOPS) {
                print_result(f, &s);
                print_corr(f, &cr, s.loop, s.copy);
                continue;
            }
            rest++;
            if (s.error_class == CORPUS_ERR_NONE && s.status > 0) {
                rest_ok++;
                if (rest_min < 0 || s.latency_us < rest_min)
                    rest_min = s.latency_us;
                if (s.latency_us > rest_max)
                    rest_max = s.latency_us;
            } else {
                rest_err++;
            }
        }
        if (!first)
            fputc('\n', f);
        if (rest) {
            char lo[32], hi[32];
            fmt_dur(rest_min, lo, sizeof lo);
            fmt_dur(rest_max, hi, sizeof hi);
            fprintf(f, "    loops %d more: %llu results, %llu answered "
                    "(latency %s to %s), %llu errors\n", loops - SHOW_LOOPS,
                    (unsigned long long)rest, (unsigned long long)rest_ok,
                    lo, hi, (unsigned long long)rest_err);
        }
        corpus_samples_close(cur);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void fmt_dur(int64_t us, char *out, size_t n)
{
    if (us < 0)
        snprintf(out, n, "-");
    else if (us < 10000)
        snprintf(out, n, "%lldus", (long long)us);
    else
        snprintf(out, n, "%.1fms", (double)us / 1000.0);
}

/* ---- shell quoting ----------------------------------------------------- */

static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

/* Writes s[0..n) as one shell word: '...' when printable, else $'...'.
 * NUL bytes cannot be in an argument; callers avoid them. */
static void sh_quote(FILE *f, const char *s, size_t n)
{
    if (printable(s, n)) {
        fputc('\'', f);
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '\'')
                fputs("'\\''", f);
            else
                fputc(s[i], f);
        }
        fputc('\'', f);
        return;
    }
    fputs("$'", f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '\'')
            fprintf(f, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            fputc(c, f);
        else
            fprintf(f, "\\x%02x", c);
    }
    fputc('\'', f);
}

/* A printf(1) format that prints exactly s[0..n), NULs included, as one
 * single-quoted word with octal escapes. */
static void printf_quote(FILE *f, const uint8_t *s, size_t n)
{
    fputc('\'', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '%')
            fputs("%%", f);
        else if (c == '\\' || c == '\'' || c < 0x20 || c >= 0x7f)
            fprintf(f, "\\%03o", c);
        else
            fputc(c, f);
    }
    fputc('\'', f);
}

static int skip_header(const char *name, size_t n, int keep_host)
{
    static const char *const skip[] = {"content-length", "transfer-encoding",
                                       "connection", "expect", "keep-alive",
                                       "proxy-connection", "te", "upgrade"};
    if (n == 4 && !strncasecmp(name, "host", 4))
        return !keep_host;
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (strlen(skip[i]) == n && !strncasecmp(name, skip[i], n))
            return 1;
    return 0;
}

/* 1 when the header value in [v, end) is a redaction marker (see
 * capture/redact.h): such values are never sent, as in replay. */
static int is_redacted(const char *v, const char *end)
{
    for (; end - v >= 10; v++) /* "sid=[redacted ...]" too */
        if (*v == '[' && !memcmp(v, "[redacted ", 10))
            return 1;
    return 0;
}

/* Writes a comment naming the headers left out because they were redacted. */
static void note_redacted(FILE *f, const char *h, size_t n)
{
    int any = 0;
    for (size_t i = 0; h && i < n;) {
        size_t j = i;
        while (j < n && h[j] != '\n')
            j++;
        const char *colon = memchr(h + i, ':', j - i);
        if (colon && is_redacted(colon + 1, h + j)) {
            fprintf(f, "%s%.*s", any ? ", " : "# redacted at capture, so left "
                    "out (add them with -H): ", (int)(colon - (h + i)), h + i);
            any = 1;
        }
        i = j + 1;
    }
    if (any)
        fputc('\n', f);
}

static int print_curl(FILE *f, struct corpus *c,
                      const struct corpus_exchange *ex, const char *target,
                      char *err)
{
    uint8_t *body = NULL;
    size_t blen = 0;
    int rc = 0;
    if (ex->req.has_body &&
        (rc = corpus_body_get(c, ex->req.body_hash, &body, &blen, err)))
        return rc;
    /* stored with its chunked framing: curl gets the payload and frames
     * it itself */
    if (body && (ex->flags & CORPUS_EX_REQ_CHUNKED))
        blen = http_dechunk(body, blen, body);
    /* Notes go into the output as shell comments, so they stay with the
     * command and stderr carries only errors. */
    if (ex->req.body_len < ex->req.body_size)
        fprintf(f, "# the request body was truncated at capture (%zu of %llu "
                "bytes kept)\n", ex->req.body_len,
                (unsigned long long)ex->req.body_size);
    note_redacted(f, ex->req.headers, ex->req.headers_len);
    int nul = body && memchr(body, 0, blen) != NULL;
    if (nul) {
        fputs("printf ", f);
        printf_quote(f, body, blen);
        fputs(" | ", f);
    }
    fputs("curl -sS", f);
    if (!strcmp(ex->version, "HTTP/1.0"))
        fputs(" --http1.0", f);
    else
        fputs(" --http1.1", f);
    fputs(" --globoff --path-as-is", f);
    if (!strcmp(ex->method, "HEAD")) {
        fputs(" --head", f);
    } else if (strcmp(ex->method, "GET") || body) {
        fputs(" -X ", f);
        sh_quote(f, ex->method, strlen(ex->method));
    }
    /* URL: base + path; absolute-form targets keep their path only when a
     * --target is given. */
    const char *path = ex->target;
    const char *abs = strstr(path, "://");
    char url[8192];
    if (abs && path[0] != '/') {
        const char *slash = strchr(abs + 3, '/');
        if (target)
            snprintf(url, sizeof url, "%s%s", target, slash ? slash : "/");
        else
            snprintf(url, sizeof url, "%s", path);
    } else if (path[0] != '/') {
        snprintf(url, sizeof url, "%s/", target ? target : "http://localhost");
        if (strcmp(path, "*"))
            fprintf(stderr, "reprise: show: note: request-target '%s' is not "
                    "a path; curl gets '/'\n", path);
    } else if (target) {
        size_t tl = strlen(target);
        snprintf(url, sizeof url, "%.*s%s",
                 (int)(tl && target[tl - 1] == '/' ? tl - 1 : tl), target,
                 path);
    } else {
        snprintf(url, sizeof url, "http://%s%s",
                 *ex->host ? ex->host : "localhost", path);
    }
    fputs(" ", f);
    sh_quote(f, url, strlen(url));
    const char *h = ex->req.headers;
    size_t n = ex->req.headers_len, i = 0;
    while (h && i < n) {
        size_t j = i;
        while (j < n && h[j] != '\n')
            j++;
        size_t end = j;
        if (end > i && h[end - 1] == '\r')
            end--;
        const char *colon = memchr(h + i, ':', end - i);
        if (colon && !memchr(h + i, 0, end - i) &&
            !skip_header(h + i, (size_t)(colon - (h + i)), target != NULL) &&
            !is_redacted(colon + 1, h + end)) {
            fputs(" \\\n  -H ", f);
            sh_quote(f, h + i, end - i);
        }
        i = j + 1;
    }
    if (body) {
        if (nul) {
            fputs(" \\\n  --data-binary @-", f);
        } else {
            fputs(" \\\n  --data-binary ", f);
            sh_quote(f, (const char *)body, blen);
        }
    }
    fputc('\n', f);
    free(body);
    return 0;
}

int an_show_cmd(int argc, char **argv)
{
    char err[RP_ERRLEN] = "";
    const char *db = NULL, *id_s = NULL, *target = NULL;
    const char *dbase = NULL, *dcand = NULL;
    int curl = 0, rc = 0, diff = 0;
    int64_t id = 0, limit = 1024, runs = 10, dloop = 0, dcopy = 0;
    struct corpus *c = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(show_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--curl")) {
            curl = 1;
        } else if (!strcmp(a, "--diff")) {
            diff = 1;
        } else if (!strcmp(a, "--baseline") || !strcmp(a, "--candidate") ||
                   !strcmp(a, "--loop") || !strcmp(a, "--copy")) {
            if (i + 1 >= argc) {
                rc = rp_fail(err, RP_EUSAGE, "%s needs a value", a);
                goto done;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--baseline"))
                dbase = v;
            else if (!strcmp(a, "--candidate"))
                dcand = v;
            else if ((rc = rp_parse_i64(v, a, 0, INT32_MAX,
                                        a[3] == 'l' ? &dloop : &dcopy, err)))
                goto done;
        } else if (!strcmp(a, "--target") || !strcmp(a, "--body-bytes") ||
                   !strcmp(a, "--runs")) {
            if (i + 1 >= argc) {
                rc = rp_fail(err, RP_EUSAGE, "%s needs a value", a);
                goto done;
            }
            if (!strcmp(a, "--target")) {
                target = argv[++i];
                if (!strstr(target, "://")) {
                    rc = rp_fail(err, RP_EUSAGE, "--target '%s': expected "
                                 "a URL such as http://127.0.0.1:8080",
                                 target);
                    goto done;
                }
            } else if (!strcmp(a, "--runs")) {
                if ((rc = rp_parse_i64(argv[++i], "--runs", 0, 1000, &runs,
                                       err)))
                    goto done;
            } else if ((rc = rp_parse_i64(argv[++i], "--body-bytes", 0,
                                          INT64_MAX, &limit, err))) {
                goto done;
            }
        } else if (a[0] == '-' && a[1]) {
            rc = rp_fail(err, RP_EUSAGE, "unknown flag '%s'; see 'reprise "
                         "show --help'", a);
            goto done;
        } else if (!db) {
            db = a;
        } else if (!id_s) {
            id_s = a;
        } else {
            rc = rp_fail(err, RP_EUSAGE, "unexpected argument '%s'", a);
            goto done;
        }
    }
    if (!db || !id_s) {
        rc = rp_fail(err, RP_EUSAGE, "usage: reprise show DB ID [--curl]");
        goto done;
    }
    if ((rc = rp_parse_i64(id_s, "exchange ID", 1, INT64_MAX, &id, err)))
        goto done;
    if ((rc = corpus_open(db, CORPUS_READ, &c, err)))
        goto done;
    struct corpus_exchange ex;
    if ((rc = corpus_ex_get(c, id, &ex, err)))
        goto done;
    if ((dbase || dcand || dloop || dcopy) && !diff) {
        rc = rp_fail(err, RP_EUSAGE, "--baseline, --candidate, --loop and "
                     "--copy go with --diff");
        goto done;
    }
    if (curl && diff) {
        rc = rp_fail(err, RP_EUSAGE, "give --curl or --diff, not both");
        goto done;
    }
    if (curl && ex.version && *ex.version && strncmp(ex.version, "HTTP/", 5)) {
        /* RESP2, RESP3, PG3, TCP (corpus/SCHEMA.md, "Other protocols") */
        rc = rp_fail(err, RP_EUSAGE, "exchange %lld is not HTTP (%s): --curl "
                     "reproduces HTTP requests; replay it with 'reprise "
                     "replay --target redis://, postgres:// or tcp://'",
                     (long long)id, ex.version);
        goto done;
    }
    if (curl) {
        rc = print_curl(stdout, c, &ex, target, err);
        goto done;
    }
    if (diff) {
        rc = an_show_diff(stdout, c, &ex, dbase, dcand, (int)dloop,
                          (int)dcopy, err);
        goto done;
    }
    FILE *f = stdout;
    fprintf(f, "exchange %lld (capture %lld, connection %lld, request #%lld "
            "on it)\n", (long long)ex.id, (long long)ex.capture_id,
            (long long)ex.conn_id, (long long)ex.seq);
    fputs("> ", f);
    if (ex.request_line) { /* not "method target version": as sent */
        safe_write(f, ex.request_line, strlen(ex.request_line), 0, NULL);
    } else {
        safe_write(f, ex.method, strlen(ex.method), 0, NULL);
        fputc(' ', f);
        safe_write(f, ex.target, strlen(ex.target), 0, NULL);
        fputc(' ', f);
        safe_write(f, ex.version, strlen(ex.version), 0, NULL);
    }
    fputc('\n', f);
    if (ex.req.headers)
        print_headers(f, ex.req.headers, ex.req.headers_len, "> ");
    print_body(f, c, &ex.req, (size_t)limit, "> ");
    if (ex.status > 0) {
        fprintf(f, "< %s %d ", ex.version, ex.status);
        if (ex.reason)
            safe_write(f, ex.reason, strlen(ex.reason), 0, NULL);
        fputc('\n', f);
        if (ex.interim)
            fprintf(f, "< [interim responses: %s]\n", ex.interim);
        if (ex.resp.headers)
            print_headers(f, ex.resp.headers, ex.resp.headers_len, "< ");
        print_body(f, c, &ex.resp, (size_t)limit, "< ");
    } else {
        fputs("< (no response seen)\n", f);
    }
    char t[4][32];
    int resp = ex.status > 0;
    fmt_dur(span_us(ex.req.first_us, ex.req.last_us), t[0], sizeof t[0]);
    fmt_dur(resp ? span_us(ex.req.last_us, ex.resp.first_us) : -1, t[1],
            sizeof t[1]);
    fmt_dur(resp ? span_us(ex.resp.first_us, ex.resp.last_us) : -1, t[2],
            sizeof t[2]);
    fmt_dur(resp ? span_us(ex.req.first_us, ex.resp.last_us) : -1, t[3],
            sizeof t[3]);
    fprintf(f, "timings: request sent in %s, first response byte %s later, "
            "response received in %s; total %s\n", t[0], t[1], t[2], t[3]);
    char when[40];
    rp_fmt_time_iso(ex.req.first_us, 1, when, sizeof when);
    fprintf(f, "wire: request %llu bytes, response %llu bytes; first "
            "request byte at %s (%lld us since the epoch)\n",
            (unsigned long long)ex.req.wire_bytes,
            (unsigned long long)ex.resp.wire_bytes, when,
            (long long)ex.req.first_us);
    if ((rc = print_links(f, c, ex.id, err)))
        goto done;
    if (runs > 0 && (rc = print_replays(f, c, ex.id, (int)runs, err)))
        goto done;
    if (ex.flags) { /* the names export writes (one list, in corpus/) */
        fputs("flags:", f);
        for (int i = 0; i < 32; i++)
            if ((ex.flags & (1u << i)) && corpus_flag_name(1u << i))
                fprintf(f, " %s", corpus_flag_name(1u << i));
        fputc('\n', f);
    }
done:
    corpus_close(c, NULL);
    if (!rc && (fflush(stdout) != 0 || ferror(stdout)))
        rc = rp_fail(err, RP_EIO, "standard output: write failed: %s",
                     strerror(errno));
    if (rc) {
        fprintf(stderr, "reprise: show: %s\n", err);
        return rp_exit_code(rc);
    }
    return 0;
}
