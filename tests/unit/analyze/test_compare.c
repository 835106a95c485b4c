/*
 * test_compare.c: the decision rules of compare.c in isolation: parsing of
 * --fail-if expressions (valid and malformed), and which test decides that
 * a shift is significant in a direction (Mann-Whitney for the body, the
 * quantile test only when the body did not move, never a tail burst
 * against a body that moved the other way).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analyze/an_priv.h"

static void test_cond_parse(void **state)
{
    (void)state;
    char err[RP_ERRLEN];
    struct an_cond c;
    assert_int_equal(an_cond_parse("p99>+10%", &c, err), 0);
    assert_int_equal(c.metric, AN_CM_P99);
    assert_int_equal(c.op, AN_OP_GT);
    assert_true(c.relative && c.percent && c.value == 10);
    assert_int_equal(an_cond_parse("p50>+5ms", &c, err), 0);
    assert_true(c.relative && !c.percent && c.value == 5000);
    assert_int_equal(an_cond_parse("p95>250ms", &c, err), 0);
    assert_true(!c.relative && !c.percent && c.value == 250000);
    assert_int_equal(an_cond_parse("p99.9>=1.5s", &c, err), 0);
    assert_int_equal(c.metric, AN_CM_P999);
    assert_int_equal(c.op, AN_OP_GE);
    assert_true(c.value == 1500000);
    assert_int_equal(an_cond_parse("mean > 800us", &c, err), 0);
    assert_true(c.metric == AN_CM_MEAN && c.value == 800);
    assert_int_equal(an_cond_parse("errors>1%", &c, err), 0);
    assert_true(c.metric == AN_CM_ERRORS && c.percent && !c.relative);
    assert_int_equal(an_cond_parse("errors>+0.5%", &c, err), 0);
    assert_true(c.relative && c.value == 0.5);
    assert_int_equal(an_cond_parse("errors>2", &c, err), 0); /* 2% */
    assert_true(c.percent && c.value == 2);
    assert_int_equal(an_cond_parse("status-changed>0.5%", &c, err), 0);
    assert_int_equal(c.metric, AN_CM_STATUS_CHANGED);
    assert_int_equal(an_cond_parse("body-changed>1%", &c, err), 0);
    assert_int_equal(c.metric, AN_CM_BODY_CHANGED);
    assert_int_equal(an_cond_parse("max<2s", &c, err), 0);
    assert_int_equal(c.op, AN_OP_LT);
    const char *bad[] = {"p99>10%", "p99", "p99>", "p99>fast", "p98>1ms",
                         "errors>5ms", "body-changed>+1%", "p99=1ms",
                         "p99>-5%", "p99>10", "", ">1ms", "p99>1ms junk"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (an_cond_parse(bad[i], &c, err) != RP_EUSAGE)
            fail_msg("'%s' parsed", bad[i]);
        assert_non_null(strstr(err, "--fail-if"));
    }
}

static void test_sig_dir(void **state)
{
    (void)state;
    struct an_group g;
    struct an_qtest q;
    memset(&g, 0, sizeof g);
    memset(&q, 0, sizeof q);
    /* body slower */
    g.mw.p = 0.001;
    g.mw.z = 3;
    q.p = 0.5;
    assert_true(an_sig_dir(&g, &q, 1, 0.01));
    assert_false(an_sig_dir(&g, &q, -1, 0.01));
    /* body not moved, tail heavier: the quantile test decides */
    g.mw.p = 0.4;
    g.mw.z = 0.8;
    q.p = 0.002;
    q.diff = 0.02;
    assert_true(an_sig_dir(&g, &q, 1, 0.01));
    assert_false(an_sig_dir(&g, &q, -1, 0.01));
    q.p = 0.05;
    assert_false(an_sig_dir(&g, &q, 1, 0.01));
    /* body faster, tail burst slower: not a slowdown */
    g.mw.p = 0.0009;
    g.mw.z = -3.3;
    q.p = 0.0019;
    q.diff = 0.01;
    assert_false(an_sig_dir(&g, &q, 1, 0.01));
    assert_true(an_sig_dir(&g, &q, -1, 0.01));
}

static void test_pct_judged(void **state)
{
    (void)state;
    /* at least AN_TAIL_MIN samples of each side beyond the percentile */
    assert_true(an_pct_judged(1000, 1000, 99));
    assert_false(an_pct_judged(999, 5000, 99));
    assert_false(an_pct_judged(5000, 999, 99));
    assert_true(an_pct_judged(100, 100, 90));
    assert_false(an_pct_judged(99, 100, 90));
    assert_true(an_pct_judged(20, 20, 50));
    assert_true(an_pct_judged(10000, 10000, 99.9));
    assert_false(an_pct_judged(9999, 10000, 99.9));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cond_parse),
        cmocka_unit_test(test_sig_dir),
        cmocka_unit_test(test_pct_judged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
