/*
 * test_stats.c: Mann-Whitney U against known values. The first case is
 * the example of scipy.stats.mannwhitneyu's documentation
 * (method="asymptotic": U=17, p=0.11134688653314041); the others were
 * computed by hand with average ranks, tie correction and continuity
 * correction (the same definition scipy uses).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "analyze/stats.h"

static void run(int64_t *a, size_t na, int64_t *b, size_t nb, double u,
                double p)
{
    struct an_mw r;
    an_mann_whitney(a, na, b, nb, &r);
    if (fabs(r.u1 - u) > 1e-9 || fabs(r.p - p) > 1e-9)
        fail_msg("U %.6f (want %.6f), p %.12f (want %.12f)", r.u1, u, r.p, p);
}

static void test_known(void **state)
{
    (void)state;
    int64_t males[] = {19, 22, 16, 29, 24}, females[] = {20, 11, 17, 12};
    run(males, 5, females, 4, 17, 0.11134688653314041);
    int64_t a[] = {1, 2, 3, 4, 5}, b[] = {6, 7, 8, 9, 10};
    run(a, 5, b, 5, 0, 0.012185780355344818);
    /* ties: ranks of 3 (five of them) averaged, tie term 5^3-5 + ... */
    int64_t c[] = {1, 2, 2, 3, 3, 3, 4}, d[] = {3, 3, 4, 4, 5, 5, 6};
    run(c, 7, d, 7, 6, 0.017854292789382976);
    /* all equal: no evidence */
    int64_t e[] = {5, 5, 5}, f[] = {5, 5, 5};
    run(e, 3, f, 3, 4.5, 1);
    /* empty side */
    struct an_mw r;
    an_mann_whitney(a, 5, b, 0, &r);
    assert_true(r.p == 1);
}

static void test_direction_and_power(void **state)
{
    (void)state;
    enum { N = 5000 };
    static int64_t x[N], y[N];
    uint64_t s = 1;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = 1000 + (int64_t)(s >> 54);
        y[i] = 1100 + (int64_t)((s * 31) >> 54);
    }
    struct an_mw r;
    an_mann_whitney(y, N, x, N, &r);
    assert_true(r.p < 1e-6);
    assert_true(r.z > 0); /* first sample larger */
    an_mann_whitney(x, N, y, N, &r);
    assert_true(r.z < 0);
    assert_true(fabs(an_norm_sf(0) - 0.5) < 1e-12);
    assert_true(fabs(an_norm_sf(1.959963984540054) - 0.025) < 1e-9);
}

static void test_quantile(void **state)
{
    (void)state;
    struct an_qtest q;
    /* pooled 43.75th percentile is 7: 8 of a and 1 of b above it; Fisher
     * two-sided for [[8, 2], [1, 5]] is 0.03496503496503496 (the value of
     * scipy.stats.fisher_exact) */
    int64_t a[] = {1, 2, 10, 11, 12, 13, 14, 15, 16, 17};
    int64_t b[] = {3, 4, 5, 6, 7, 18};
    an_quantile_test(a, 10, b, 6, 43.75, &q);
    assert_int_equal(q.t, 7);
    assert_int_equal(q.above_a, 8);
    assert_int_equal(q.above_b, 1);
    assert_true(fabs(q.p - 0.03496503496503496) < 1e-9);
    assert_true(q.diff > 0);
    /* [[3, 97], [10, 90]] at the pooled 93.5th percentile: p 0.0817940530 */
    static int64_t c[100], d[100];
    for (int i = 0; i < 100; i++) {
        c[i] = i < 97 ? i + 1 : 1000 + i;
        d[i] = i < 90 ? i + 1 : 2000 + i;
    }
    an_quantile_test(c, 100, d, 100, 93.5, &q);
    assert_int_equal(q.t, 97);
    assert_int_equal(q.above_a, 3);
    assert_int_equal(q.above_b, 10);
    assert_true(fabs(q.p - 0.08179405296897922) < 1e-9);
    assert_true(q.diff < 0);
    /* large margins use the z-test: 3000 vs 2000 of 10000 above */
    static int64_t e[10000], f[10000];
    for (int i = 0; i < 10000; i++) {
        e[i] = i < 7000 ? 1 : 5;
        f[i] = i < 8000 ? 1 : 5;
    }
    an_quantile_test(e, 10000, f, 10000, 50, &q);
    assert_int_equal(q.t, 1);
    /* z = 0.1 / sqrt(0.25 * 0.75 * 2 / 10000) = 16.33: p ~ 6e-60 */
    assert_true(q.p < 1e-50 && q.p > 0);
    /* identical samples: nothing */
    an_quantile_test(e, 10000, e, 10000, 99, &q);
    assert_true(q.p > 0.99);
    an_quantile_test(e, 0, f, 10, 99, &q);
    assert_true(q.p == 1);
}

static void test_reservoir(void **state)
{
    (void)state;
    struct an_reservoir r1, r2;
    an_reservoir_init(&r1, 100);
    an_reservoir_init(&r2, 100);
    double sum = 0;
    for (int64_t i = 0; i < 100000; i++) {
        assert_int_equal(an_reservoir_add(&r1, i), 0);
        an_reservoir_add(&r2, i);
    }
    assert_int_equal(r1.n, 100);
    assert_int_equal(r1.seen, 100000);
    for (size_t i = 0; i < r1.n; i++) {
        assert_int_equal(r1.v[i], r2.v[i]); /* deterministic */
        sum += (double)r1.v[i];
    }
    /* a uniform sample of 0..99999 has a mean near 50000 */
    assert_true(fabs(sum / 100 - 50000) < 10000);
    an_reservoir_cleanup(&r1);
    an_reservoir_cleanup(&r2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known),
        cmocka_unit_test(test_direction_and_power),
        cmocka_unit_test(test_quantile),
        cmocka_unit_test(test_reservoir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
