/*
 * test_verdict.c: the verdict cannot be fooled. A corpus built here through
 * the corpus API holds one capture (GET /a and GET /b, 400 requests each,
 * GET /small with 30 and GET /tiny with 12) and runs that reproduce each
 * way a gate was once fooled: a dead target, a TLS failure, every answer a
 * 401, a small endpoint whose p50 quadrupled under a p90 gate, a starved
 * A/A noise run hiding a regression, a starved candidate, and a plain A/A
 * twin that must pass. Each case checks the verdict, its exit code (0
 * PASS, 1 FAIL, 3 INCONCLUSIVE) and the reason given, in JSON and text.
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

#define END ((const char *)NULL)
#define NA 400
#define NB 400
#define NSMALL 30
#define NTINY 12
#define NEX (NA + NB + NSMALL + NTINY)

static char dir[64], db[128], out[128];
static int64_t ids[NEX];
static uint64_t rs = 1;

static int64_t rnd(int64_t n)
{
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (int64_t)((rs >> 33) % (uint64_t)n);
}

/* Endpoint of exchange i: the first NA are /a, then /b, /small, /tiny. */
static const char *path_of(int i)
{
    return i < NA ? "/a" : i < NA + NB ? "/b" : i < NA + NB + NSMALL
                                                  ? "/small" : "/tiny";
}

/* Service time of exchange i in microseconds, with some spread. */
static int64_t svc_of(int i)
{
    const char *p = path_of(i);
    if (!strcmp(p, "/a"))
        return 10000 + rnd(1000);
    if (!strcmp(p, "/b"))
        return 2000 + rnd(200);
    return 500 + rnd(50);
}

enum kind { NORMAL, DEAD, TLS, AUTH };

struct spec {
    const char *label;
    enum kind kind;
    double slow_a;      /* multiplies /a's service time */
    double slow_small;  /* /small's */
    double slow_tiny;   /* /tiny's */
    int late_every;     /* every Nth request sent late_us late (0: none) */
    int64_t late_us;
    uint64_t seed;
};

static void add_run(struct corpus *c, int64_t cap, const struct spec *sp)
{
    char err[RP_ERRLEN];
    struct corpus_run_info ri = {cap, sp->label, "http://127.0.0.1:1",
                                 "speed", "{\"speed\":10}", 1700000000000000};
    int64_t run;
    assert_int_equal(corpus_run_begin(c, &ri, &run, err), 0);
    rs = sp->seed;
    for (int i = 0; i < NEX; i++) {
        struct corpus_result r = {0};
        r.exchange_id = ids[i];
        r.scheduled_us = (int64_t)i * 2000;
        int64_t late = 20;
        if (sp->late_every && i % sp->late_every == 0)
            late = sp->late_us;
        r.sent_us = r.scheduled_us + late;
        double m = !strcmp(path_of(i), "/a") ? sp->slow_a
                   : !strcmp(path_of(i), "/small") ? sp->slow_small
                   : !strcmp(path_of(i), "/tiny") ? sp->slow_tiny : 1;
        int64_t svc = (int64_t)((double)svc_of(i) * (m > 0 ? m : 1));
        r.done_us = r.sent_us + svc;
        r.first_byte_us = r.done_us - 10;
        switch (sp->kind) {
        case DEAD:
            r.error_class = CORPUS_ERR_REFUSED;
            r.error = "Failed to connect to 127.0.0.1 port 1 after 0 ms: "
                      "Couldn't connect to server";
            r.first_byte_us = -1;
            r.done_us = r.sent_us + 100;
            break;
        case TLS:
            r.error_class = CORPUS_ERR_TLS;
            r.error = "SSL certificate problem: self-signed certificate";
            r.first_byte_us = -1;
            break;
        case AUTH:
            r.status = 401;
            break;
        case NORMAL:
            r.status = 200;
            break;
        }
        assert_int_equal(corpus_add_result(c, run, &r, err), 0);
    }
    assert_int_equal(corpus_run_end(c, run, 1700000002000000, "complete",
                                    NULL, err), 0);
}

static int setup(void **state)
{
    (void)state;
    char err[RP_ERRLEN];
    snprintf(dir, sizeof dir, "/tmp/rp-verdict-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/v.db", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    struct corpus *c;
    assert_int_equal(corpus_open(db, CORPUS_CREATE, &c, err), 0);
    struct corpus_capture_info ci = {"prod", "file:x.pcap", NULL,
                                     1700000000000000, 1, NULL};
    int64_t cap, conn;
    assert_int_equal(corpus_capture_begin(c, &ci, &cap, err), 0);
    struct corpus_conn cc = {cap, "10.0.0.1", 5000, "10.0.0.2", 80,
                             1700000000000000, 0};
    assert_int_equal(corpus_add_connection(c, &cc, &conn, err), 0);
    for (int i = 0; i < NEX; i++) {
        struct corpus_exchange ex = {0};
        ex.capture_id = cap;
        ex.conn_id = conn;
        ex.seq = i;
        ex.method = "GET";
        ex.target = path_of(i);
        ex.host = "api.example";
        ex.version = "HTTP/1.1";
        ex.req.first_us = 1700000000000000 + (int64_t)i * 20000;
        ex.req.last_us = ex.req.first_us;
        ex.resp.first_us = ex.req.first_us + 900;
        ex.resp.last_us = ex.req.first_us + 1000;
        ex.status = 200;
        assert_int_equal(corpus_add_exchange(c, &ex, &ids[i], err), 0);
    }
    struct corpus_capture_stats st = {0};
    assert_int_equal(corpus_capture_end(c, cap, &st, err), 0);
    const struct spec runs[] = {
        {"base", NORMAL, 1, 1, 1, 0, 0, 11},
        {"aa", NORMAL, 1, 1, 1, 0, 0, 12},
        {"dead", DEAD, 1, 1, 1, 0, 0, 13},
        {"tls", TLS, 1, 1, 1, 0, 0, 14},
        {"auth", AUTH, 1, 1, 1, 0, 0, 15},
        {"slowsmall", NORMAL, 1, 4, 1, 0, 0, 16},
        {"slowtiny", NORMAL, 1, 1, 4, 0, 0, 17},
        {"regress", NORMAL, 1.33, 1, 1, 0, 0, 18},
        /* an A/A twin whose generator sent every request 6 ms late: its
         * noise floor (6 ms at p50) would hide /a's 33% (3.5 ms) */
        {"noise-starved", NORMAL, 1, 1, 1, 1, 6000, 19},
        {"starved", NORMAL, 1, 1, 1, 30, 20000, 20},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
        add_run(c, cap, &runs[i]);
    assert_int_equal(corpus_close(c, err), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    if (getenv("RP_KEEP_TEST_FILES")) {
        fprintf(stderr, "kept %s\n", dir);
        return 0;
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* analyze DB -o out ARGS...; returns the exit code */
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
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void has(const char *s, const char *want)
{
    if (!strstr(s, want))
        fail_msg("'%s' not in:\n%.4000s", want, s);
}

static void test_dead_target(void **state)
{
    (void)state;
    assert_int_equal(analyze("--baseline", "base", "--candidate", "dead",
                             "--fail-if", "p99>+10%", "--format", "json",
                             END), 1);
    const char *s = slurp();
    has(s, "\"verdict\": \"fail\"");
    has(s, "every request of the candidate failed (842 of 842: refused "
           "842)");
    /* failed requests are not 0 us requests */
    has(s, "\"candidate\": {\"count\": 842, \"errors\": 842, "
           "\"error_rate\": 1, \"status\": {\"none\": 842}, "
           "\"errors_by_class\": {\"refused\": 842}, \"timed\": 0, "
           "\"mean_us\": null, \"p50_us\": null");
    has(s, "\"change\": {\"p50_us\": null, \"p50_ratio\": null");
    has(s, "\"error_messages\": [{\"class\": \"refused\", \"count\": 842, "
           "\"message\": \"Failed to connect to 127.0.0.1 port 1 after N "
           "ms: Couldn't connect to server\"}]");
    has(s, "\"transitions\": [{\"from\": \"200\", \"to\": \"refused\", "
           "\"count\": 400");
    /* whatever --fail-if says */
    assert_int_equal(analyze("--baseline", "base", "--candidate", "dead",
                             "--no-default-gates", "--fail-if", "p99>+10%",
                             END), 1);
    s = slurp();
    has(s, "verdict: FAIL");
    has(s, "  because: every request of the candidate failed");
    has(s, "latency none (no responses)");
    has(s, "400/400 100.0%   10.5ms     none    none");
    /* unless asked in so many words */
    assert_int_equal(analyze("--baseline", "base", "--candidate", "dead",
                             "--no-default-gates", "--allow-all-errors",
                             END), 0);
}

static void test_tls_failure(void **state)
{
    (void)state;
    assert_int_equal(analyze("--baseline", "base", "--candidate", "tls",
                             "--fail-if", "p90>+10%", END), 1);
    const char *s = slurp();
    has(s, "errors of the candidate (class, count, message):\n"
           "  tls 842 (100.0%): SSL certificate problem: self-signed "
           "certificate\n");
    has(s, "verdict: FAIL");
}

static void test_all_401(void **state)
{
    (void)state;
    assert_int_equal(analyze("--baseline", "base", "--candidate", "auth",
                             END), 1);
    const char *s = slurp();
    has(s, "failed: status-mix>1% (default) on GET /a (100.00 points "
           "moved)");
    /* transitions, not bare exchange ids */
    has(s, "  GET /a: status changed 400/400 (100.0%)\n"
           "    200 -> 401: 400 (e.g. ");
    assert_int_equal(analyze("--baseline", "base", "--candidate", "auth",
                             "--format", "markdown", END), 1);
    s = slurp();
    has(s, "### reprise: :x: **FAIL**");
    has(s, "  - 200 -\\> 401: 400 (e.g. ");
}

static void test_small_endpoint_p90_gate(void **state)
{
    (void)state;
    /* /small: 30 requests, too few beyond p90; judged at p50 instead */
    assert_int_equal(analyze("--baseline", "base", "--candidate", "slowsmall",
                             "--fail-if", "p90>+10%", "--format", "json",
                             END), 1);
    const char *s = slurp();
    has(s, "{\"condition\": \"p90>+10%\", \"default\": false, \"endpoint\": "
           "\"GET /small\"");
    has(s, "\"judged_at\": \"p50\"}");
    has(s, "\"fail_if_fallback\": [{\"condition\": \"p90>+10%\", "
           "\"judged_at\": \"p50\", \"endpoints\": 1}]");
    /* /tiny: 12 requests, not even p50 is judged, and it moved: the gate
     * cannot say PASS */
    assert_int_equal(analyze("--baseline", "base", "--candidate", "slowtiny",
                             "--fail-if", "p90>+10%", END), 3);
    s = slurp();
    has(s, "verdict: INCONCLUSIVE");
    has(s, "  because: p90>+10% could not be judged on 1 endpoint that "
           "moved significantly, e.g. GET /tiny");
    /* a tiny endpoint that did not move is no reason */
    assert_int_equal(analyze("--baseline", "base", "--candidate", "aa",
                             "--fail-if", "p90>+10%", END), 0);
    s = slurp();
    has(s, "note: not judged: p90>+10% on 1 endpoint");
}

static void test_starved_noise_run(void **state)
{
    (void)state;
    /* with an honest A/A twin the regression fails the gate */
    assert_int_equal(analyze("--baseline", "base", "--candidate", "regress",
                             "--noise", "aa", "--fail-if", "p50>+10%", END),
                     1);
    /* a starved twin's floor would hide it: inconclusive, never PASS */
    assert_int_equal(analyze("--baseline", "base", "--candidate", "regress",
                             "--noise", "noise-starved", "--fail-if",
                             "p50>+10%", "--format", "json", END), 3);
    const char *s = slurp();
    has(s, "\"verdict\": \"inconclusive\"");
    has(s, "\"noise_suspect\": \"its generator fell behind its schedule "
           "(p99 lateness 6.00ms)\"");
    has(s, "\"kind\": \"inconclusive\", \"decides\": true, "
           "\"text\": \"the noise run, run 9 "
           "'noise-starved', is not an A/A twin of the baseline");
    has(s, "\"label\": \"noise-starved\", \"capture_id\": 1, \"target\": "
           "\"http://127.0.0.1:1\", \"mode\": \"speed\", \"status\": "
           "\"complete\", \"speed\": 10");
    /* the same suspect twin next to a candidate that did not move: its
     * floor decides nothing, so the verdict stands */
    assert_int_equal(analyze("--baseline", "base", "--candidate", "aa",
                             "--noise", "noise-starved", "--fail-if",
                             "p50>+10%", END), 0);
    s = slurp();
    has(s, "note: the noise run, run 9 'noise-starved', is not an A/A twin");
}

static void test_starved_candidate(void **state)
{
    (void)state;
    assert_int_equal(analyze("--baseline", "base", "--candidate", "starved",
                             "--fail-if", "p99>+10%", END), 3);
    const char *s = slurp();
    has(s, "warning: the candidate fell behind its schedule");
    has(s, "  because: the candidate, run 10 'starved', fell behind its "
           "schedule (p99 lateness 20.0ms");
    /* no latency gated: lateness cannot cause errors or status changes */
    assert_int_equal(analyze("--baseline", "base", "--candidate", "starved",
                             END), 0);
    s = slurp();
    has(s, "note: the candidate, run 10 'starved', fell behind its schedule");
    has(s, "verdict: PASS (0 given conditions, 2 default gates; exit 0)");
    /* the bound is a flag */
    assert_int_equal(analyze("--baseline", "base", "--candidate", "starved",
                             "--fail-if", "p99>+10%", "--max-lateness",
                             "50ms", "--min-effect", "25ms", END), 0);
}

static void test_aa_passes(void **state)
{
    (void)state;
    assert_int_equal(analyze("--baseline", "base", "--candidate", "aa",
                             "--fail-if", "p99>+10%", "--fail-if",
                             "p50>+10%", "--format", "json", END), 0);
    const char *s = slurp();
    has(s, "\"verdict\": \"pass\"");
    has(s, "\"failed_conditions\": []");
    has(s, "\"default_gates\": [\"errors>+1%\", \"status-mix>1%\"]");
}

static void test_default_gates_overridden(void **state)
{
    (void)state;
    /* a condition on errors stands in for the error gate; the status gate
     * still fails the 401s */
    assert_int_equal(analyze("--baseline", "base", "--candidate", "auth",
                             "--fail-if", "errors>50%", "--format", "json",
                             END), 1);
    const char *s = slurp();
    has(s, "\"fail_if\": [\"errors>50%\"], \"default_gates\": "
           "[\"status-mix>1%\"]");
    /* and one on statuses stands in for the status gate */
    assert_int_equal(analyze("--baseline", "base", "--candidate", "auth",
                             "--fail-if", "status-changed>100%", END), 0);
    assert_int_equal(analyze("--baseline", "base", "--candidate", "auth",
                             "--fail-if", "status-mix>1%", "--format",
                             "json", END), 1);
    s = slurp();
    has(s, "\"fail_if\": [\"status-mix>1%\"], \"default_gates\": "
           "[\"errors>+1%\"]");
    /* malformed */
    assert_int_equal(analyze("--fail-if", "status-mix>+1%", END), 2);
    assert_int_equal(analyze("--max-lateness", "soon", END), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dead_target),
        cmocka_unit_test(test_tls_failure),
        cmocka_unit_test(test_all_401),
        cmocka_unit_test(test_small_endpoint_p90_gate),
        cmocka_unit_test(test_starved_noise_run),
        cmocka_unit_test(test_starved_candidate),
        cmocka_unit_test(test_aa_passes),
        cmocka_unit_test(test_default_gates_overridden),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
