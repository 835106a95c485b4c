/*
 * test_prom.c: the strict Prometheus text-format parser: a real exposition
 * (HELP, TYPE, labels with escapes, histogram samples typed by their
 * family, NaN and Inf, timestamps, CRLF), each kind of malformed line
 * reported with its line number, and random corruptions of a valid
 * exposition never crash (bounded: 20,000 mutations).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "proto/prom.h"

struct seen {
    int n;
    char series[16][PROTO_PROM_NAME_MAX];
    char name[16][PROTO_PROM_NAME_MAX];
    char type[16][16];
    double v[16];
};

static int collect(void *arg, const char *series, const char *name,
                   const char *type, double value)
{
    struct seen *s = arg;
    if (s->n < 16) {
        snprintf(s->series[s->n], PROTO_PROM_NAME_MAX, "%s", series);
        snprintf(s->name[s->n], PROTO_PROM_NAME_MAX, "%s", name);
        snprintf(s->type[s->n], 16, "%s", type);
        s->v[s->n] = value;
    }
    s->n++;
    return 0;
}

static const char good[] =
    "# HELP pool_busy Worker slots in use.\n"
    "# TYPE pool_busy gauge\n"
    "pool_busy 3\n"
    "pool_busy{pool=\"db\",host=\"a\\\"b\\\\c\\n\"} 4.5e1\r\n"
    "# TYPE req_seconds histogram\n"
    "req_seconds_bucket{le=\"0.1\"} 10 1700000000000\n"
    "req_seconds_bucket{le=\"+Inf\",} 12\n"
    "req_seconds_sum 1.5\n"
    "req_seconds_count 12\n"
    "\n"
    "# a comment\n"
    "untyped_one NaN\n"
    "neg:colon -Inf\n"
    "  spaced_gauge_count\t+Inf\n";

static void test_good(void **state)
{
    (void)state;
    struct seen s = {0};
    char err[256] = "";
    assert_int_equal(proto_prom_parse(good, strlen(good), collect, &s, err,
                                      sizeof err), 0);
    assert_int_equal(s.n, 9);
    assert_string_equal(s.series[0], "pool_busy");
    assert_string_equal(s.type[0], "gauge");
    assert_true(s.v[0] == 3);
    assert_string_equal(s.series[1],
                        "pool_busy{pool=\"db\",host=\"a\\\"b\\\\c\\n\"}");
    assert_string_equal(s.name[1], "pool_busy");
    assert_true(s.v[1] == 45);
    assert_string_equal(s.name[2], "req_seconds_bucket");
    assert_string_equal(s.type[2], "histogram");
    assert_string_equal(s.type[4], "histogram");
    assert_string_equal(s.type[5], "histogram");
    assert_string_equal(s.type[6], "untyped");
    assert_true(isnan(s.v[6]));
    assert_true(isinf(s.v[7]) && s.v[7] < 0);
    assert_string_equal(s.series[8], "spaced_gauge_count");
    assert_string_equal(s.type[8], "untyped");
}

static void expect_bad(const char *text, const char *want)
{
    struct seen s = {0};
    char err[256] = "";
    int rc = proto_prom_parse(text, strlen(text), collect, &s, err,
                              sizeof err);
    if (rc != -1 || !strstr(err, want))
        fail_msg("'%s': rc %d, err '%s', wanted '%s'", text, rc, err, want);
}

static void test_bad(void **state)
{
    (void)state;
    expect_bad("ok 1\n9bad 1\n", "line 2: expected a metric name");
    expect_bad("a{b=\"c\" 1\n", "line 1: a: expected ',' or '}'");
    expect_bad("a{b=c} 1\n", "must be quoted");
    expect_bad("a{b=\"c} 1\n", "unterminated label value");
    expect_bad("a{b=\"\\x\"} 1\n", "bad escape");
    expect_bad("a{=\"x\"} 1\n", "expected a label name");
    expect_bad("a{b\"x\"} 1\n", "expected '='");
    expect_bad("a\n", "expected a space and a value");
    expect_bad("a one\n", "'one' is not a number");
    expect_bad("a 0x10\n", "not a number");
    expect_bad("a infinity\n", "not a number");
    expect_bad("a 1 12.5\n", "not a timestamp");
    expect_bad("a 1 2 3\n", "not a timestamp");
    expect_bad("# TYPE a gauge\n# TYPE a counter\n", "line 2: a second TYPE");
    expect_bad("# TYPE a meter\n", "unknown type 'meter'");
    expect_bad("# TYPE\n", "TYPE without a metric name");
    expect_bad("# HELP\n", "HELP without a metric name");
    char nul[] = "a 1\nb\0 2\n";
    struct seen s = {0};
    char err[256] = "";
    assert_int_equal(proto_prom_parse(nul, sizeof nul - 1, collect, &s, err,
                                      sizeof err), -1);
    assert_non_null(strstr(err, "line 2: a NUL byte"));
}

static int stop_at_two(void *arg, const char *series, const char *name,
                       const char *type, double value)
{
    (void)series, (void)name, (void)type, (void)value;
    return ++*(int *)arg == 2 ? 7 : 0;
}

static void test_callback_stops(void **state)
{
    (void)state;
    int n = 0;
    char err[64];
    assert_int_equal(proto_prom_parse("a 1\nb 2\nc 3\n", 12, stop_at_two, &n,
                                      err, sizeof err), 7);
    assert_int_equal(n, 2);
}

static int count_only(void *arg, const char *series, const char *name,
                      const char *type, double value)
{
    (void)series, (void)name, (void)type, (void)value;
    (*(int *)arg)++;
    return 0;
}

static void test_mutations(void **state)
{
    (void)state;
    size_t n = strlen(good);
    char *b = malloc(n);
    assert_non_null(b);
    srand(12345);
    int ok = 0, bad = 0;
    for (int round = 0; round < 20000; round++) {
        memcpy(b, good, n);
        size_t len = n - (size_t)(rand() % 8);
        for (int k = 0; k < 1 + rand() % 4; k++)
            b[rand() % len] = (char)(rand() % 256);
        int cnt = 0;
        char err[256];
        if (proto_prom_parse(b, len, count_only, &cnt, err, sizeof err))
            bad++;
        else
            ok++;
    }
    free(b);
    assert_true(ok > 0 && bad > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
