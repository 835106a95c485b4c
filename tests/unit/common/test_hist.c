/*
 * test_hist.c: the histogram against exact nearest-rank percentiles of
 * sorted data for several distributions (uniform, exponential, log-normal,
 * bimodal, constant), plus merging, clamping, the iterator and reset.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/hist.h"

#define N 200000

static uint64_t rng = 88172645463325252ull;
static double unif(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}
static double normal(void)
{
    return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif());
}

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t exact(const int64_t *s, size_t n, double p)
{
    if (p <= 0)
        return s[0];
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return s[rank - 1];
}

static void check(int64_t *v, size_t n, const char *what)
{
    struct rp_hist *h = rp_hist_new();
    assert_non_null(h);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rp_hist_record(h, v[i]), 0);
        sum += (double)v[i];
    }
    qsort(v, n, sizeof *v, cmp);
    assert_int_equal(rp_hist_count(h), n);
    assert_int_equal(rp_hist_min(h), v[0]);
    assert_int_equal(rp_hist_max(h), v[n - 1]);
    assert_true(fabs(rp_hist_mean(h) - sum / (double)n) < 1e-6 * sum / n + 1e-9);
    const double ps[] = {0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        int64_t e = exact(v, n, ps[i]), got = rp_hist_value_at_percentile(h, ps[i]);
        double rel = e ? fabs((double)(got - e)) / (double)e : (double)got;
        if (rel > 0.01)
            fail_msg("%s p%g: exact %lld, hist %lld (%.3f%%)", what, ps[i],
                     (long long)e, (long long)got, rel * 100);
    }
    rp_hist_free(h);
}

static void test_distributions(void **state)
{
    (void)state;
    int64_t *v = malloc(N * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < N; i++)
        v[i] = (int64_t)(unif() * 1e6);
    check(v, N, "uniform");
    for (size_t i = 0; i < N; i++)
        v[i] = (int64_t)(-log(unif()) * 5000);
    check(v, N, "exponential");
    for (size_t i = 0; i < N; i++)
        v[i] = (int64_t)exp(8 + 1.5 * normal());
    check(v, N, "lognormal");
    for (size_t i = 0; i < N; i++)
        v[i] = unif() < 0.9 ? (int64_t)(800 + 50 * normal())
                            : (int64_t)(2e6 + 2e5 * normal());
    check(v, N, "bimodal");
    for (size_t i = 0; i < N; i++)
        v[i] = 123456;
    check(v, N, "constant");
    for (size_t i = 0; i < 1000; i++)
        v[i] = (int64_t)i; /* small exact values */
    check(v, 1000, "small");
    for (size_t i = 0; i < N; i++)
        v[i] = (int64_t)(unif() * 3.6e9 * 10); /* up to 10 hours */
    check(v, N, "hours");
    free(v);
}

static void test_merge(void **state)
{
    (void)state;
    struct rp_hist *a = rp_hist_new(), *b = rp_hist_new(), *all = rp_hist_new();
    for (int i = 0; i < 10000; i++) {
        int64_t x = (int64_t)(unif() * 50000), y = (int64_t)(unif() * 5e6);
        rp_hist_record(a, x);
        rp_hist_record(b, y);
        rp_hist_record(all, x);
        rp_hist_record(all, y);
    }
    assert_int_equal(rp_hist_merge(a, b), 0);
    assert_int_equal(rp_hist_count(a), 20000);
    assert_int_equal(rp_hist_min(a), rp_hist_min(all));
    assert_int_equal(rp_hist_max(a), rp_hist_max(all));
    for (double p = 1; p < 100; p += 7.3)
        assert_int_equal(rp_hist_value_at_percentile(a, p),
                         rp_hist_value_at_percentile(all, p));
    /* merging an empty histogram changes nothing; into an empty one copies */
    struct rp_hist *e = rp_hist_new();
    assert_int_equal(rp_hist_merge(a, e), 0);
    assert_int_equal(rp_hist_count(a), 20000);
    assert_int_equal(rp_hist_merge(e, a), 0);
    assert_int_equal(rp_hist_value_at_percentile(e, 50),
                     rp_hist_value_at_percentile(a, 50));
    rp_hist_free(a);
    rp_hist_free(b);
    rp_hist_free(all);
    rp_hist_free(e);
}

static void test_edges(void **state)
{
    (void)state;
    struct rp_hist *h = rp_hist_new();
    assert_int_equal(rp_hist_value_at_percentile(h, 50), 0);
    assert_int_equal(rp_hist_count(h), 0);
    assert_true(rp_hist_mean(h) == 0);
    rp_hist_record(h, -5); /* counts as 0 */
    assert_int_equal(rp_hist_min(h), 0);
    rp_hist_record(h, RP_HIST_MAX_VALUE * 4); /* clamped bucket, true max kept */
    assert_int_equal(rp_hist_max(h), RP_HIST_MAX_VALUE * 4);
    assert_int_equal(rp_hist_value_at_percentile(h, 100), RP_HIST_MAX_VALUE * 4);
    assert_int_equal(rp_hist_record_n(h, 1000, 8), 0);
    assert_int_equal(rp_hist_count(h), 10);
    struct rp_hist_iter it;
    rp_hist_iter_init(&it, h);
    uint64_t total = 0;
    int64_t last = -1;
    while (rp_hist_iter_next(&it)) {
        assert_true(it.value_us > last);
        last = it.value_us;
        total += it.count;
        assert_int_equal(it.cumulative, total);
    }
    assert_int_equal(total, 10);
    rp_hist_reset(h);
    assert_int_equal(rp_hist_count(h), 0);
    rp_hist_record(h, 42);
    assert_int_equal(rp_hist_value_at_percentile(h, 50), 42);
    rp_hist_free(h);
    rp_hist_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distributions),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
