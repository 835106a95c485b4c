/*
 * test_live.c: unit tests of what `replay --web` shows: the live
 * statistics (endpoint templates and their cap, the per-second series with
 * offered and achieved counts, errors by class and final percentiles,
 * /api/stats and the /metrics exposition with escaped labels and
 * cumulative buckets), the speed re-anchor (replay_warp_*: the schedule
 * continues from the change at the new pace, segments chain, --max and
 * bad values are refused) and the --web / --web-linger options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/replay_int.h"

static struct rp_live_rec rec(int ep, int status, enum corpus_errclass cls,
                              int64_t sched_ms, int64_t done_ms)
{
    struct rp_live_rec r;
    r.endpoint = ep;
    r.status = status;
    r.cls = cls;
    r.scheduled_us = sched_ms * 1000;
    r.sent_us = cls == CORPUS_ERR_NOT_SENT ? -1 : sched_ms * 1000 + 100;
    r.done_us = cls == CORPUS_ERR_NOT_SENT ? -1 : done_ms * 1000;
    return r;
}

/* A context good enough for the writers: options, run id, no threads. */
static void ctx_init(struct rp_ctx *c, struct rp_opts *o, enum rp_mode m)
{
    memset(c, 0, sizeof *c);
    memset(o, 0, sizeof *o);
    o->target = "http://127.0.0.1:1";
    o->mode = m;
    o->speed = 1;
    o->rate = 100;
    c->o = o;
    c->run_id = 7;
    c->total = -1;
    pthread_mutex_init(&c->warp.mu, NULL);
    atomic_store(&c->go, 1);
    atomic_store(&c->t0_mono_us, rp_mono_us() - 10000000); /* 10 s ago */
}

static void test_endpoints(void **state)
{
    (void)state;
    struct rp_live *l = replay_live_new();
    assert_non_null(l);
    int a = replay_live_endpoint(l, "GET", "/users/42/orders?x=1");
    int b = replay_live_endpoint(l, "GET", "/users/7/orders");
    int c = replay_live_endpoint(l, "POST", "/users/7/orders");
    assert_int_equal(a, b); /* one template */
    assert_int_not_equal(a, c);
    char t[64];
    for (int i = 0; i < RP_LIVE_MAX_EP + 50; i++) {
        snprintf(t, sizeof t, "/page-%c%c%c", 'a' + i % 26, 'a' + i / 26 % 26,
                 'a' + i / 676);
        int e = replay_live_endpoint(l, "GET", t);
        assert_true(e >= 0 && e <= RP_LIVE_MAX_EP);
    }
    /* the table is full: a new template is "other" */
    assert_int_equal(replay_live_endpoint(l, "GET", "/new-one"),
                     RP_LIVE_MAX_EP);
    struct rp_live_rec r = rec(RP_LIVE_MAX_EP, 200, CORPUS_ERR_NONE, 10, 12);
    replay_live_add(l, &r, 1, 20000, 0);
    struct rp_ctx cx;
    struct rp_opts o;
    ctx_init(&cx, &o, RM_SPEED);
    struct rp_buf out;
    rp_buf_init(&out, 0);
    assert_int_equal(replay_live_json(l, &cx, &out), 0);
    assert_non_null(strstr(out.data, "\"endpoints_capped\":true"));
    assert_non_null(strstr(out.data, "{\"endpoint\":\"other\",\"count\":1,"));
    assert_non_null(strstr(out.data, "\"endpoint\":\"GET /users/:id/orders\""));
    rp_buf_cleanup(&out);
    replay_live_free(l);
}

static void test_series(void **state)
{
    (void)state;
    struct rp_live *l = replay_live_new();
    assert_non_null(l);
    int e = replay_live_endpoint(l, "GET", "/a");
    struct rp_live_rec v[] = {
        rec(e, 200, CORPUS_ERR_NONE, 100, 101),   /* second 0 */
        rec(e, 200, CORPUS_ERR_NONE, 1100, 1102), /* second 1 */
        rec(e, 200, CORPUS_ERR_NONE, 1200, 1210),
        rec(e, 503, CORPUS_ERR_NONE, 1300, 1301),
        rec(e, 0, CORPUS_ERR_TIMEOUT, 1900, 2900), /* due 1, done 2 */
        rec(e, 0, CORPUS_ERR_NOT_SENT, 3000, 0),   /* not in the series */
    };
    replay_live_add(l, v, sizeof v / sizeof *v, 5500000, 3);
    struct rp_ctx cx;
    struct rp_opts o;
    ctx_init(&cx, &o, RM_SPEED);
    struct rp_buf out;
    rp_buf_init(&out, 0);
    assert_int_equal(replay_live_json(l, &cx, &out), 0);
    const char *s = out.data;
    assert_non_null(strstr(s, "\"inflight\":3,\"results\":6,\"responses\":4,"
                              "\"errors\":1,\"not_sent\":1,"));
    assert_non_null(strstr(s, "\"status_classes\":{\"1xx\":0,\"2xx\":3,"
                              "\"3xx\":0,\"4xx\":0,\"5xx\":1}"));
    assert_non_null(strstr(s, "{\"t\":0,\"offered\":1,\"achieved\":1,"));
    /* second 1: three due and done (one 5xx), one due whose timeout ended
     * in second 2; its percentiles are final (5.5 s > 1 + 2) */
    assert_non_null(strstr(s, "{\"t\":1,\"offered\":4,\"achieved\":3,"
                              "\"errors\":0,\"5xx\":1,\"error_classes\":{},"
                              "\"inflight\":0,\"final\":true,\"p50_us\":2003,"
                              "\"p90_us\":10000,\"p99_us\":10000,"
                              "\"lateness_p99_us\":100}"));
    assert_non_null(strstr(s, "{\"t\":2,\"offered\":0,\"achieved\":0,"
                              "\"errors\":1,\"5xx\":0,\"error_classes\":"
                              "{\"timeout\":1},"));
    /* the current second is open: no percentiles yet */
    assert_non_null(strstr(s, "{\"t\":5,\"offered\":0,\"achieved\":0,"
                              "\"errors\":0,\"5xx\":0,\"error_classes\":{},"
                              "\"inflight\":3,\"final\":false,"
                              "\"p50_us\":null"));
    rp_buf_reset(&out);

    assert_int_equal(replay_live_metrics(l, &cx, &out), 0);
    s = out.data;
    assert_non_null(strstr(s, "# TYPE reprise_requests_total counter\n"));
    assert_non_null(strstr(s, "reprise_requests_total{endpoint=\"GET /a\","
                              "class=\"2xx\"} 3\n"));
    assert_non_null(strstr(s, "reprise_requests_total{endpoint=\"GET /a\","
                              "class=\"5xx\"} 1\n"));
    assert_non_null(strstr(s, "reprise_requests_total{endpoint=\"GET /a\","
                              "class=\"timeout\"} 1\n"));
    assert_null(strstr(s, "not_sent"));
    /* latencies 1, 2, 10 and 1 ms (the 5xx): each counted at its bucket's
     * representative value, so 1 ms is in le=0.001, 2 ms in 0.0025 */
    assert_non_null(strstr(s, "reprise_request_duration_seconds_bucket{"
                              "endpoint=\"GET /a\",le=\"0.0005\"} 0\n"));
    assert_non_null(strstr(s, "reprise_request_duration_seconds_bucket{"
                              "endpoint=\"GET /a\",le=\"0.0025\"} 3\n"));
    assert_non_null(strstr(s, "reprise_request_duration_seconds_bucket{"
                              "endpoint=\"GET /a\",le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(s, "reprise_request_duration_seconds_count{"
                              "endpoint=\"GET /a\"} 4\n"));
    assert_non_null(strstr(s, "reprise_inflight_requests 3\n"));
    assert_non_null(strstr(s, "reprise_lateness_seconds_count 5\n"));
    assert_non_null(strstr(s, "reprise_speed_multiple 1\n"));
    rp_buf_cleanup(&out);
    replay_live_free(l);
}

static void test_label_escape(void **state)
{
    (void)state;
    struct rp_live *l = replay_live_new();
    int e = replay_live_endpoint(l, "GET", "/a\"b\\c");
    struct rp_live_rec r = rec(e, 200, CORPUS_ERR_NONE, 0, 1);
    replay_live_add(l, &r, 1, 1000, 0);
    struct rp_ctx cx;
    struct rp_opts o;
    ctx_init(&cx, &o, RM_MAX);
    struct rp_buf out;
    rp_buf_init(&out, 0);
    assert_int_equal(replay_live_metrics(l, &cx, &out), 0);
    assert_non_null(strstr(out.data, "{endpoint=\"GET /a\\\"b\\\\c\","
                                     "class=\"2xx\"} 1\n"));
    assert_null(strstr(out.data, "reprise_speed_multiple")); /* --max */
    rp_buf_reset(&out);
    assert_int_equal(replay_live_json(l, &cx, &out), 0);
    assert_non_null(strstr(out.data, "\"endpoint\":\"GET /a\\\"b\\\\c\""));
    assert_non_null(strstr(out.data, "\"mode\":\"max\",\"multiple\":null"));
    rp_buf_cleanup(&out);
    replay_live_free(l);
}

static void test_warp(void **state)
{
    (void)state;
    struct rp_ctx c;
    struct rp_opts o;
    char err[RP_ERRLEN];
    rp_quiet = 1; /* each change is logged */
    ctx_init(&c, &o, RM_SPEED);
    o.speed = 2;
    assert_true(replay_warp_due(&c, 123456) == 123456); /* no change yet */
    assert_true(replay_warp_multiple(&c) == 2);
    assert_int_equal(replay_warp_set(&c, 0, err), RP_EUSAGE);
    assert_int_equal(replay_warp_set(&c, -3, err), RP_EUSAGE);
    /* from x2 to x4 at about 10 s: what was due later comes twice as fast */
    assert_int_equal(replay_warp_set(&c, 4, err), 0);
    int64_t at = atomic_load(&c.warp.seg[0].r_us);
    int64_t v0 = atomic_load(&c.warp.seg[0].v_us);
    assert_true(at > 9900000 && at < 12000000);
    assert_true(v0 == at); /* before the first change, schedule = run time */
    assert_true(replay_warp_due(&c, v0 + 1000000) == at + 500000);
    assert_true(replay_warp_due(&c, v0 - 1000) == v0 - 1000); /* before */
    assert_true(replay_warp_multiple(&c) == 4);
    /* a second change chains from where the first one has got to */
    atomic_store(&c.t0_mono_us, atomic_load(&c.t0_mono_us) - 2000000);
    assert_int_equal(replay_warp_set(&c, 1, err), 0);
    int64_t at2 = atomic_load(&c.warp.seg[1].r_us);
    int64_t v2 = atomic_load(&c.warp.seg[1].v_us);
    /* 2 s of run time at x4 (k 0.5) covered 4 s of schedule time */
    assert_true(llabs((v2 - v0) - 2 * (at2 - at)) < 2);
    assert_true(llabs(replay_warp_due(&c, v2 + 1000000) - (at2 + 2000000)) < 2);
    /* the first n changes only, as an engine applies them */
    assert_true(replay_warp_due_n(&c, v2 + 1000000, 1) ==
                at + (v2 + 1000000 - v0) / 2);
    /* bounded: at most RP_WARP_MAX changes */
    for (int i = 2; i < RP_WARP_MAX; i++)
        assert_int_equal(replay_warp_set(&c, 1 + i, err), 0);
    assert_int_equal(replay_warp_set(&c, 3, err), RP_EUSAGE);
    /* stopping: refused */
    ctx_init(&c, &o, RM_RATE);
    atomic_store(&c.stop, 1);
    assert_int_equal(replay_warp_set(&c, 3, err), RP_EUSAGE);
    /* --max has no multiple */
    ctx_init(&c, &o, RM_MAX);
    assert_int_equal(replay_warp_set(&c, 3, err), RP_EUSAGE);
    assert_non_null(strstr(err, "--max"));
}

static void test_web_opts(void **state)
{
    (void)state;
    struct rp_opts o;
    char err[RP_ERRLEN];
    int help;
    struct {
        const char *arg;
        const char *addr;
        int port;
    } ok[] = {
        {"8089", "127.0.0.1", 8089},
        {"0", "127.0.0.1", 0},
        {"0.0.0.0:9000", "0.0.0.0", 9000},
        {"[::1]:9001", "::1", 9001},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char *argv[] = {"replay", "c.db", "--target", "http://127.0.0.1:1",
                        "--web", (char *)ok[i].arg, "--web-linger", "2s"};
        assert_int_equal(replay_opts_parse(8, argv, &o, &help, err), 0);
        assert_string_equal(o.web_addr, ok[i].addr);
        assert_int_equal(o.web_port, ok[i].port);
        assert_true(o.web_linger_us == 2000000);
        replay_opts_cleanup(&o);
    }
    const char *bad[] = {"localhost:80", "70000", "1.2.3.4:", ":80", "[::1",
                         "x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *argv[] = {"replay", "c.db", "--target", "http://127.0.0.1:1",
                        "--web", (char *)bad[i]};
        assert_int_equal(replay_opts_parse(6, argv, &o, &help, err),
                         RP_EUSAGE);
        replay_opts_cleanup(&o);
    }
    char *nolink[] = {"replay", "c.db", "--target", "http://127.0.0.1:1",
                      "--web-linger", "1s"};
    assert_int_equal(replay_opts_parse(6, nolink, &o, &help, err), RP_EUSAGE);
    assert_non_null(strstr(err, "--web-linger needs --web"));
    replay_opts_cleanup(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_label_escape),
        cmocka_unit_test(test_warp),
        cmocka_unit_test(test_web_opts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
