/*
 * test_an_cli.c: `reprise analyze` end to end on a corpus built here
 * through the corpus API: one capture of three endpoints and four runs
 * ("v1", an A/A partner "v1b", "v2" which doubles GET /slow, turns 5% of
 * POST /orders into 500s and changes some /users bodies, and "v3" equal to
 * v1). Checks the JSON contract, every format, and the exit codes of
 * --fail-if (0 pass, 1 fail, 2 malformed or unknown run).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyze/analyze.h"
#include "corpus/corpus.h"

#define NEX 600
#define END ((const char *)NULL) /* variadic sentinel */

static char dir[64], db[128], out[128];
static int64_t nasty_id;

/* A request whose every part would break naive shell quoting. */
static const char nasty_headers[] =
    "Host: api.example\r\nX-Q: it's \"$(touch /tmp/rp-pwned)\" `id` \\ $HOME\r\n"
    "X-Ctl: a\x01" "b\x7f\r\nContent-Length: 17\r\nCookie: a=b; c='d'\r\n";
static const char nasty_body[] = "a'b\"c\\d$(x)%s%%\n\0z\x01\xff";
#define NASTY_BODY_LEN (sizeof nasty_body - 1)

static uint64_t rs = 12345;
static int64_t rnd(int64_t n)
{
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (int64_t)((rs >> 33) % (uint64_t)n);
}

static const char *target_of(int i, char *buf, size_t n)
{
    if (i % 3 == 0)
        snprintf(buf, n, "/users/%d?x=%d", 1000 + i, i);
    else if (i % 3 == 1)
        snprintf(buf, n, "/slow");
    else
        snprintf(buf, n, "/orders");
    return buf;
}

static int64_t lat_of(int i, int version)
{
    if (i % 3 == 0)
        return 1000 + rnd(200);
    if (i % 3 == 1)
        return version == 2 ? 10000 + rnd(2000) : 5000 + rnd(1000);
    return 2000 + rnd(300);
}

static int64_t run_begin(struct corpus *c, int64_t cap, const char *label)
{
    char err[RP_ERRLEN];
    struct corpus_run_info ri = {cap, label, "http://127.0.0.1:1", "speed",
                                 NULL, 1700000000000000};
    int64_t run;
    assert_int_equal(corpus_run_begin(c, &ri, &run, err), 0);
    return run;
}

/* One result: sent 20 us after it was due, done lat_us after, first byte
 * 50 us before that, answering body. */
static void put_result(struct corpus *c, int64_t run, int64_t ex, int loop,
                       int64_t due_us, int64_t lat_us, int status,
                       const char *body)
{
    char err[RP_ERRLEN];
    struct corpus_result r = {0};
    r.exchange_id = ex;
    r.loop = loop;
    r.scheduled_us = due_us;
    r.sent_us = due_us + 20;
    r.done_us = due_us + lat_us;
    r.first_byte_us = r.done_us - 50;
    r.status = status;
    rp_hash(body, strlen(body), r.body_hash);
    r.has_body_hash = 1;
    r.resp_bytes = (int64_t)strlen(body);
    assert_int_equal(corpus_add_result(c, run, &r, err), 0);
}

static void run_end(struct corpus *c, int64_t run, int64_t ended_us)
{
    char err[RP_ERRLEN];
    assert_int_equal(corpus_run_end(c, run, ended_us, "complete", NULL, err),
                     0);
}

static void add_run(struct corpus *c, int64_t cap, const char *label,
                    int version, const int64_t *ids)
{
    int64_t run = run_begin(c, cap, label);
    for (int i = 0; i < NEX; i++) {
        char body[64];
        int status = 200;
        snprintf(body, sizeof body, "body %d", i);
        if (version == 2 && i % 3 == 2 && i % 60 == 2)
            status = 500; /* 5% of /orders */
        if (version == 2 && i % 3 == 0 && i % 30 == 0)
            snprintf(body, sizeof body, "changed %d", i); /* 10% of /users */
        put_result(c, run, ids[i], 0, (int64_t)i * 10000, lat_of(i, version),
                   status, body);
    }
    run_end(c, run, 1700000010000000);
}

static int setup(void **state)
{
    (void)state;
    char err[RP_ERRLEN];
    snprintf(dir, sizeof dir, "/tmp/rp-an-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/c.db", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    struct corpus *c;
    assert_int_equal(corpus_open(db, CORPUS_CREATE, &c, err), 0);
    struct corpus_capture_info ci = {"prod", "file:x.pcap", NULL,
                                     1700000000000000, 0, NULL};
    int64_t cap, conn, ids[NEX];
    assert_int_equal(corpus_capture_begin(c, &ci, &cap, err), 0);
    struct corpus_conn cc = {cap, "10.0.0.1", 5000, "10.0.0.2", 80,
                             1700000000000000, 0};
    assert_int_equal(corpus_add_connection(c, &cc, &conn, err), 0);
    rs = 1;
    for (int i = 0; i < NEX; i++) {
        char t[64], body[64];
        struct corpus_exchange ex = {0};
        ex.capture_id = cap;
        ex.conn_id = conn;
        ex.seq = i;
        ex.method = i % 3 == 2 ? "POST" : "GET";
        ex.target = target_of(i, t, sizeof t);
        ex.host = "api.example";
        ex.version = "HTTP/1.1";
        ex.req.headers = "Host: api.example\r\n";
        ex.req.headers_len = strlen(ex.req.headers);
        int64_t t0 = 1700000000000000 + (int64_t)i * 10000;
        ex.req.first_us = t0;
        ex.req.last_us = t0 + 30;
        int64_t lat = lat_of(i, 1);
        ex.resp.first_us = t0 + lat - 50;
        ex.resp.last_us = t0 + lat;
        ex.status = 200;
        ex.reason = "OK";
        snprintf(body, sizeof body, "body %d", i);
        ex.resp.body = (const uint8_t *)body;
        ex.resp.body_len = ex.resp.body_size = strlen(body);
        ex.resp.headers = "Content-Type: text/plain\r\n";
        ex.resp.headers_len = strlen(ex.resp.headers);
        assert_int_equal(corpus_add_exchange(c, &ex, &ids[i], err), 0);
    }
    struct corpus_capture_stats st = {0};
    assert_int_equal(corpus_capture_end(c, cap, &st, err), 0);
    int64_t cap2;
    assert_int_equal(corpus_capture_begin(c, &ci, &cap2, err), 0);
    struct corpus_exchange nx = {0};
    nx.capture_id = cap2;
    nx.conn_id = conn;
    nx.method = "PUT";
    nx.target = "/it's/$(id)/[a]{b}?q='1'&r=$x";
    nx.host = "api.example";
    nx.version = "HTTP/1.1";
    nx.req.headers = nasty_headers;
    nx.req.headers_len = strlen(nasty_headers);
    nx.req.body = (const uint8_t *)nasty_body;
    nx.req.body_len = nx.req.body_size = NASTY_BODY_LEN;
    nx.req.first_us = 1700000000000000;
    nx.req.last_us = 1700000000000100;
    nx.status = 201;
    nx.reason = "Created\x1b[31m";
    nx.resp.first_us = 1700000000000900;
    nx.resp.last_us = 1700000000001000;
    nx.resp.headers = "X-Evil: \x1b]0;title\x07\r\n";
    nx.resp.headers_len = strlen(nx.resp.headers);
    assert_int_equal(corpus_add_exchange(c, &nx, &nasty_id, err), 0);
    assert_int_equal(corpus_capture_end(c, cap2, &st, err), 0);
    rs = 2;
    add_run(c, cap, "v1", 1, ids);
    rs = 3;
    add_run(c, cap, "v1b", 1, ids);
    rs = 5;
    add_run(c, cap, "v1noisy", 2, ids); /* an A/A partner as slow as v2 */
    rs = 4;
    add_run(c, cap, "v2", 2, ids);
    assert_int_equal(corpus_close(c, err), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs analyze with the given extra args (NULL-terminated) writing to
 * `out`; returns the exit code. */
static int analyze(const char *first, ...)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = "analyze";
    argv[argc++] = db;
    argv[argc++] = "-o";
    argv[argc++] = out;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    unlink(out);
    return an_cmd(argc, argv);
}

static char *slurp(void)
{
    FILE *f = fopen(out, "r");
    if (!f)
        return strdup("");
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strdup(buf);
}

/* The JSON object of endpoint name in s (up to the next endpoint). */
static char *endpoint_obj(char *s, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "{\"endpoint\": \"%s\"", name);
    char *p = strstr(s, "\"endpoints\": [");
    assert_non_null(p);
    p = strstr(p, key);
    if (!p)
        fail_msg("no endpoint %s in %s", name, s);
    char *end = strstr(p + 1, "{\"endpoint\": ");
    if (end)
        *end = '\0';
    return p;
}

static void test_json_contract(void **state)
{
    (void)state;
    /* v2's 5% of 500s on POST /orders fail the default gates */
    assert_int_equal(analyze("--baseline", "v1", "--candidate", "v2",
                             "--format", "json", END), 1);
    char *s = slurp();
    assert_non_null(strstr(s, "\"verdict\": \"fail\""));
    assert_non_null(strstr(s, "\"baseline\": {\"kind\": \"run\""));
    assert_non_null(strstr(s, "\"label\": \"v2\""));
    assert_non_null(strstr(s, "\"fail_if\": [], \"default_gates\": "
                              "[\"errors>+1%\", \"status-mix>1%\"]"));
    assert_non_null(strstr(s, "{\"condition\": \"errors>+1%\", "
                              "\"default\": true, \"endpoint\": "
                              "\"POST /orders\", \"value\": 5, \"unit\": "
                              "\"points\""));
    assert_non_null(strstr(s, "{\"condition\": \"status-mix>1%\", "
                              "\"default\": true, \"endpoint\": "
                              "\"POST /orders\""));
    assert_non_null(strstr(s, "\"verdict_reasons\": [\n  {\"kind\": "
                              "\"fail\", \"decides\": true, \"text\": "
                              "\"errors>+1% (default) "
                              "held on "));
    /* only the endpoint whose errors moved fails */
    assert_null(strstr(s, "\"endpoint\": \"GET /slow\", \"value\""));
    char *copy = strdup(s);
    char *slow = endpoint_obj(copy, "GET /slow");
    assert_non_null(strstr(slow, "\"count\": 200"));
    assert_non_null(strstr(slow, "\"regressed\": true"));
    assert_non_null(strstr(slow, "\"p50_us\": "));
    free(copy);
    copy = strdup(s);
    char *users = endpoint_obj(copy, "GET /users/:id");
    assert_non_null(strstr(users, "\"regressed\": false"));
    assert_non_null(strstr(users, "\"improved\": false"));
    assert_non_null(strstr(users, "\"body_changed\": {\"count\": 20"));
    free(copy);
    copy = strdup(s);
    char *orders = endpoint_obj(copy, "POST /orders");
    assert_non_null(strstr(orders, "\"status_changed\": {\"count\": 10"));
    assert_non_null(strstr(orders, "\"errors\": 10"));
    free(copy);
    /* regressed endpoints come first */
    char *e = strstr(s, "\"endpoints\": [");
    assert_non_null(e);
    assert_true(strstr(e, "GET /slow") < strstr(e, "GET /users/:id"));
    free(s);
}

/* analyze with the given conditions only (no default gates), v2 against
 * v1; returns the exit code */
#define GATE(...) analyze("--baseline", "v1", "--no-default-gates", \
                          __VA_ARGS__, END)

static void test_fail_if(void **state)
{
    (void)state;
    assert_int_equal(GATE("--fail-if", "p90>+10%"), 1);
    assert_int_equal(GATE("--fail-if", "p90>+150%"), 0);
    /* 200 requests per endpoint: two lie beyond p99, too few to judge it;
     * ten lie beyond p95, which is judged instead, and GET /slow doubled */
    assert_int_equal(GATE("--fail-if", "p99>+10%"), 1);
    char *nj = slurp();
    assert_non_null(strstr(nj, "note: p99>+10% was judged at p95 on 3 "
                               "endpoints"));
    assert_non_null(strstr(nj, "failed: p99>+10% on GET /slow (change "));
    assert_non_null(strstr(nj, ", judged at p95)"));
    free(nj);
    assert_int_equal(GATE("--fail-if", "p99>+150%"), 0);
    assert_int_equal(GATE("--fail-if", "p50>+3ms"), 1);
    assert_int_equal(GATE("--fail-if", "p50>+8ms"), 0);
    assert_int_equal(GATE("--fail-if", "p95>250ms"), 0);
    assert_int_equal(GATE("--fail-if", "p95>5ms"), 1);
    assert_int_equal(GATE("--fail-if", "errors>1%"), 1);
    assert_int_equal(GATE("--fail-if", "errors>6%"), 0);
    assert_int_equal(GATE("--fail-if", "status-changed>0.5%"), 1);
    assert_int_equal(GATE("--fail-if", "body-changed>1%"), 1);
    assert_int_equal(GATE("--fail-if", "body-changed>20%"), 0);
    /* A/A: v1b vs v1 is not significant, so relative conditions hold not;
     * its errors and statuses are v1's, so the default gates pass too */
    assert_int_equal(analyze("--baseline", "v1", "--candidate", "v1b",
                             "--fail-if", "p99>+1%", "--fail-if",
                             "p50>+1us", END), 0);
    /* JSON lists the failure */
    assert_int_equal(GATE("--fail-if", "p90>+10%", "--fail-if", "p99.9>+10%",
                          "--format", "json"), 1);
    char *s = slurp();
    assert_non_null(strstr(s, "\"verdict\": \"fail\""));
    assert_non_null(strstr(s, "{\"condition\": \"p90>+10%\", \"default\": "
                              "false, \"endpoint\": \"GET /slow\""));
    assert_non_null(strstr(s, "\"fail_if_fallback\": [{\"condition\": "
                              "\"p99.9>+10%\", \"judged_at\": \"p95\", "
                              "\"endpoints\": 3}]"));
    assert_non_null(strstr(s, "\"fail_if_not_judged\": []"));
    free(s);
    /* malformed */
    assert_int_equal(analyze("--fail-if", "p99>10%", END), 2);
    assert_int_equal(analyze("--fail-if", "latency>1", END), 2);
    assert_int_equal(analyze("--fail-if", "p99>", END), 2);
    assert_int_equal(analyze("--fail-if", "errors>5ms", END), 2);
    assert_int_equal(analyze("--fail-if", END), 2);
}

/* These two read which sets were compared and what each format writes;
 * the verdict, and so the default gates, is tested above and in
 * test_verdict.c. */
static void test_sets(void **state)
{
    (void)state;
    /* default: latest run (v2) against the capture */
    assert_int_equal(analyze("--no-default-gates", "--format", "json", END), 0);
    char *s = slurp();
    assert_non_null(strstr(s, "\"baseline\": {\"kind\": \"capture\""));
    assert_non_null(strstr(s, "\"candidate\": {\"kind\": \"run\", \"id\": 4"));
    free(s);
    assert_int_equal(analyze("--no-default-gates",
                             "--baseline", "previous", "--format", "json",
                             END), 0);
    s = slurp();
    assert_non_null(strstr(s, "\"baseline\": {\"kind\": \"run\", \"id\": 3"));
    free(s);
    assert_int_equal(analyze("--no-default-gates",
                             "--baseline", "capture:1", "--candidate", "1",
                             END), 0);
    assert_int_equal(analyze("--no-default-gates",
                             "--candidate", "nosuch", END), 2);
    assert_int_equal(analyze("--no-default-gates", "--baseline", "42", END), 2);
    assert_int_equal(analyze("--no-default-gates",
                             "--baseline", "capture:9", END), 2);
    assert_int_equal(analyze("--no-default-gates", "--noise", "nope", END), 2);
    assert_int_equal(analyze("--no-default-gates", "--bogus", END), 2);
    assert_int_equal(analyze("--no-default-gates", "--format", "pdf", END), 2);
    /* noise floor */
    assert_int_equal(analyze("--no-default-gates",
                             "--baseline", "v1", "--noise", "v1b",
                             "--format", "json", END), 0);
    s = slurp();
    assert_non_null(strstr(s, "\"noise_floor\": {\"p50_us\": "));
    free(s);
    /* a noise run that moved as much as the candidate would hide the
     * change; it is no A/A twin of the baseline, and without its floor the
     * gate fails: inconclusive, not a pass */
    assert_int_equal(analyze("--no-default-gates", "--baseline", "v1",
                             "--candidate", "v2", "--noise", "v1noisy",
                             "--fail-if", "p99>+10%", "--format", "json",
                             END), 3);
    s = slurp();
    assert_non_null(strstr(s, "\"verdict\": \"inconclusive\""));
    /* v1noisy has v2's 500s too */
    assert_non_null(strstr(s, "\"noise_suspect\": \"its error rate differs "
                              "from the baseline's (1.67% against 0.00%)\""));
    assert_non_null(strstr(s, "is not an A/A twin of the baseline"));
    char *slow = endpoint_obj(s, "GET /slow");
    assert_non_null(strstr(slow, "\"significant\": true"));
    assert_non_null(strstr(slow, "\"regressed\": false"));
    assert_non_null(strstr(slow, "\"beyond_noise\": false"));
    free(s);
    char *argv[] = {"analyze", "/nonexistent/x.db", NULL};
    assert_int_equal(an_cmd(2, argv), 2);
    char *help[] = {"analyze", "--help", NULL};
    assert_int_equal(an_cmd(2, help), 0);
}

static void test_formats(void **state)
{
    (void)state;
    const char *fmts[] = {"text", "csv", "markdown", "html"};
    const char *marks[] = {"GET /slow", "\"GET /slow\",\"regressed\"",
                           "| GET /slow |", "<svg"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(analyze("--no-default-gates",
                                 "--baseline", "v1", "--format", fmts[i],
                                 END), 0);
        char *s = slurp();
        if (!strstr(s, marks[i]))
            fail_msg("%s output lacks '%s':\n%s", fmts[i], marks[i], s);
        free(s);
    }
    assert_int_equal(analyze("--no-default-gates",
                             "--group-by", "status", "--format", "json",
                             END), 0);
    char *s = slurp();
    assert_non_null(strstr(s, "{\"endpoint\": \"500\""));
    free(s);
    assert_int_equal(analyze("--no-default-gates",
                             "--group-by", "host", "--format", "csv",
                             "--template", "/users/:uid", END), 0);
    s = slurp();
    assert_non_null(strstr(s, "\"api.example\""));
    free(s);
    assert_int_equal(analyze("--no-default-gates",
                             "--template", "/users/:uid", "--format",
                             "csv", END), 0);
    s = slurp();
    assert_non_null(strstr(s, "\"GET /users/:uid\""));
    free(s);
    /* --warmup 2s: the first 200 of 600 exchanges (10 ms apart) are left
     * out of the measurements but still diffed */
    assert_int_equal(analyze("--no-default-gates",
                             "--baseline", "v1", "--warmup", "2s", "--format",
                             "json", END), 0);
    s = slurp();
    assert_non_null(strstr(s, "\"warmup\": 200"));
    char *o = endpoint_obj(s, "POST /orders");
    assert_non_null(strstr(o, "\"baseline\": {\"count\": 134,"));
    assert_non_null(strstr(o, "\"status_changed\": {\"count\": 10,"));
    free(s);
    assert_int_equal(analyze("--no-default-gates",
                             "--keep-query", "--format", "csv", END), 0);
    s = slurp();
    assert_non_null(strstr(s, "\"GET /users/:id?x="));
    free(s);
}

/* Runs `reprise show` with args, stdout to `out`; returns the exit code. */
static int show(const char *first, ...)
{
    char *argv[16], idbuf[32];
    int argc = 0;
    snprintf(idbuf, sizeof idbuf, "%lld", (long long)nasty_id);
    argv[argc++] = "show";
    argv[argc++] = db;
    argv[argc++] = idbuf;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    fflush(stdout);
    int saved = dup(1);
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    dup2(fileno(f), 1);
    int rc = an_show_cmd(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fclose(f);
    return rc;
}

static void test_show(void **state)
{
    (void)state;
    assert_int_equal(show(NULL), 0);
    char *s = slurp();
    assert_non_null(strstr(s, "> PUT /it's/$(id)/[a]{b}?q='1'&r=$x HTTP/1.1"));
    assert_non_null(strstr(s, "X-Ctl: a\\x01b\\x7f"));
    assert_non_null(strstr(s, "< HTTP/1.1 201 Created\\x1b[31m"));
    assert_null(strchr(s, 0x1b)); /* no raw escape reaches a terminal */
    assert_non_null(strstr(s, "timings: "));
    free(s);
    assert_int_equal(show("--bogus", END), 2);
    char *argv[] = {"show", db, "999999", NULL};
    assert_int_equal(an_show_cmd(3, argv), 2);
}

/* The printed curl command, run by bash with a stand-in curl that records
 * its arguments and stdin, must reproduce the captured request exactly and
 * never run the command substitutions inside it. */
static void test_show_curl(void **state)
{
    (void)state;
    char cmd[1024], path[256];
    for (int with_target = 0; with_target < 2; with_target++) {
        if (with_target)
            assert_int_equal(show("--curl", "--target",
                                  "http://127.0.0.1:9", END), 0);
        else
            assert_int_equal(show("--curl", END), 0);
        unlink("/tmp/rp-pwned");
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && bash -c 'curl() { for a in \"$@\"; do "
                 "printf \"%%s\\0\" \"$a\"; done > args; cat > stdin; }; "
                 "source \"$0\"' '%s'", dir, out);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(access("/tmp/rp-pwned", F_OK), -1);
        snprintf(path, sizeof path, "%s/args", dir);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        static char args[8192];
        size_t n = fread(args, 1, sizeof args, f);
        fclose(f);
        /* collect the NUL-separated words */
        const char *w[64];
        int nw = 0;
        for (size_t i = 0; i < n && nw < 64; i += strlen(args + i) + 1)
            w[nw++] = args + i;
        int saw_url = 0, saw_q = 0, saw_ctl = 0, saw_cl = 0, saw_stdin = 0;
        int saw_host = 0;
        for (int i = 0; i < nw; i++) {
            if (!strcmp(w[i], with_target
                        ? "http://127.0.0.1:9/it's/$(id)/[a]{b}?q='1'&r=$x"
                        : "http://api.example/it's/$(id)/[a]{b}?q='1'&r=$x"))
                saw_url = 1;
            if (!strcmp(w[i], "X-Q: it's \"$(touch /tmp/rp-pwned)\" `id` "
                              "\\ $HOME"))
                saw_q = 1;
            if (!strcmp(w[i], "X-Ctl: a\x01" "b\x7f"))
                saw_ctl = 1;
            if (!strncmp(w[i], "Content-Length", 14))
                saw_cl = 1;
            if (!strcmp(w[i], "Host: api.example"))
                saw_host = 1;
            if (!strcmp(w[i], "@-"))
                saw_stdin = 1;
        }
        assert_true(saw_url);
        assert_true(saw_q);
        assert_true(saw_ctl);
        assert_false(saw_cl);
        assert_int_equal(saw_host, with_target);
        assert_true(saw_stdin); /* body has a NUL: fed through stdin */
        snprintf(path, sizeof path, "%s/stdin", dir);
        f = fopen(path, "r");
        assert_non_null(f);
        char body[256];
        n = fread(body, 1, sizeof body, f);
        fclose(f);
        assert_int_equal(n, NASTY_BODY_LEN);
        assert_memory_equal(body, nasty_body, NASTY_BODY_LEN);
    }
}

/* Runs that loop the capture: every loop's results pair with the captured
 * exchange, or with the same loop of a baseline run; a loop only one side
 * has is compared with nothing. */
static void add_loop_run(struct corpus *c, int64_t cap, const char *label,
                         const int64_t *ids, int n, int loops, int changed)
{
    int64_t run = run_begin(c, cap, label);
    /* arrival order: loop by loop, as a replay records them */
    for (int l = 0; l < loops; l++) {
        for (int i = 0; i < n; i++) {
            char body[64];
            snprintf(body, sizeof body, changed && l == 2 && i == 2
                     ? "changed %d" : "body %d", i);
            put_result(c, run, ids[i], l, (int64_t)(l * n + i) * 1000, 500,
                       changed && l == 1 && i == 1 ? 500 : 200, body);
        }
    }
    run_end(c, run, 1700000001000000);
}

/* The number after `key` in the object of endpoint name (s is kept). */
static long long field_of(const char *s, const char *name, const char *key)
{
    char *copy = strdup(s);
    assert_non_null(copy);
    char *p = strstr(endpoint_obj(copy, name), key);
    if (!p)
        fail_msg("no %s for %s", key, name);
    long long v = strtoll(p + strlen(key), NULL, 10);
    free(copy);
    return v;
}

static void test_loops(void **state)
{
    (void)state;
    char err[RP_ERRLEN], ldb[160];
    snprintf(ldb, sizeof ldb, "%s/loops.db", dir);
    struct corpus *c;
    assert_int_equal(corpus_open(ldb, CORPUS_CREATE, &c, err), 0);
    struct corpus_capture_info ci = {"l", "file:l.pcap", NULL,
                                     1700000000000000, 0, NULL};
    int64_t cap, conn, ids[3];
    assert_int_equal(corpus_capture_begin(c, &ci, &cap, err), 0);
    struct corpus_conn cc = {cap, "10.0.0.1", 5000, "10.0.0.2", 80,
                             1700000000000000, 0};
    assert_int_equal(corpus_add_connection(c, &cc, &conn, err), 0);
    for (int i = 0; i < 3; i++) {
        char t[16], body[64];
        struct corpus_exchange ex = {0};
        ex.capture_id = cap;
        ex.conn_id = conn;
        ex.seq = i;
        ex.method = "GET";
        snprintf(t, sizeof t, "/e%d", i);
        ex.target = t;
        ex.host = "api.example";
        ex.version = "HTTP/1.1";
        ex.req.first_us = 1700000000000000 + (int64_t)i * 1000;
        ex.req.last_us = ex.req.first_us + 10;
        ex.resp.first_us = ex.req.first_us + 400;
        ex.resp.last_us = ex.req.first_us + 500;
        ex.status = 200;
        snprintf(body, sizeof body, "body %d", i);
        ex.resp.body = (const uint8_t *)body;
        ex.resp.body_len = ex.resp.body_size = strlen(body);
        assert_int_equal(corpus_add_exchange(c, &ex, &ids[i], err), 0);
    }
    struct corpus_capture_stats st = {0};
    assert_int_equal(corpus_capture_end(c, cap, &st, err), 0);
    add_loop_run(c, cap, "same", ids, 3, 3, 0);
    add_loop_run(c, cap, "short", ids, 3, 2, 0);
    add_loop_run(c, cap, "changed", ids, 3, 3, 1);
    assert_int_equal(corpus_close(c, err), 0);

    const char *sets[][2] = {{"capture", "changed"}, {"same", "changed"},
                             {"short", "changed"}};
    for (int k = 0; k < 3; k++) {
        char *argv[] = {"analyze", ldb, "--baseline", (char *)sets[k][0],
                        "--candidate", (char *)sets[k][1], "--format",
                        "json", "-o", out, NULL};
        assert_int_equal(an_cmd(10, argv), 0);
        char *s = slurp();
        int loops = k == 2 ? 2 : 3; /* loops both sides have */
        for (int i = 0; i < 3; i++) {
            char name[32];
            snprintf(name, sizeof name, "GET /e%d", i);
            assert_int_equal(field_of(s, name, "\"compared\": "), loops);
        }
        /* the 500 is in loop 1, the changed body in loop 2 */
        assert_int_equal(field_of(s, "GET /e1", "\"status_changed\": "
                                  "{\"count\": "), 1);
        assert_int_equal(field_of(s, "GET /e2", "\"status_changed\": "
                                  "{\"count\": "), 0);
        assert_int_equal(field_of(s, "GET /e2", "\"body_changed\": "
                                  "{\"count\": "), k == 2 ? 0 : 1);
        free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_contract),
        cmocka_unit_test(test_fail_if),
        cmocka_unit_test(test_sets),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_show),
        cmocka_unit_test(test_show_curl),
        cmocka_unit_test(test_loops),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
