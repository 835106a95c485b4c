/*
 * test_capacity.c: the capacity math of a stepped run on a simulated
 * target of known capacity: a FIFO pool of 2 slots, GET /slow holding one
 * 8 ms and GET /fast 2 ms, alternating (capacity 2 / 5 ms = 400 req/s),
 * loaded in steps of 100..480 req/s. The knee is the first step over
 * capacity by more than 5%, the maximum sustained throughput the step
 * below it, the USL's predicted peak lies near 400, the limiting endpoint
 * is the one holding the pool longer, Little's law agrees with the
 * measured in-flight count, and a gauge that reaches its ceiling (a
 * sibling named _max) at the knee is saturated while one that does not is
 * not; a step broken by --stop-if is a knee too; a generator that cannot
 * send fast enough is said to be the generator, a late generator against
 * a target at its limit is not.
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

#include "analyze/an_priv.h"

#define STEP_US 2000000
static const double rates[] = {100, 200, 300, 360, 390, 440, 480};
#define NSTEPS (int)(sizeof rates / sizeof rates[0])

struct sim {
    struct an_opts o;
    struct an_analysis a;
    struct an_group g[2];
    struct an_group *gp[2];
    char key[2][32];
};

/* late_us: every request sent that late; send_rps: the generator cannot
 * send faster than that (0: no limit). */
static void setup_sim(struct sim *s, int64_t late_us, double send_rps)
{
    memset(s, 0, sizeof *s);
    s->o.max_lateness_us = 5000;
    s->a.o = &s->o;
    snprintf(s->key[0], 32, "GET /slow");
    snprintf(s->key[1], 32, "GET /fast");
    for (int i = 0; i < 2; i++) {
        s->g[i].key = s->key[i];
        s->gp[i] = &s->g[i];
    }
    s->a.groups = s->gp;
    s->a.ngroups = 2;
    struct an_capacity *k = calloc(1, sizeof *k);
    assert_non_null(k);
    k->nsteps = NSTEPS;
    for (int i = 0; i < NSTEPS; i++) {
        k->step[i].multiple = rates[i] / 100;
        k->step[i].start_us = (int64_t)i * STEP_US;
        k->step[i].end_us = (int64_t)(i + 1) * STEP_US;
    }
    snprintf(k->step_by, sizeof k->step_by, "rate");
    s->a.set[AN_CAND].present = 1;
    s->a.set[AN_CAND].cap = k;
    /* the pool: requests due at a fixed rate per step, FIFO on 2 slots */
    int64_t slot[2] = {0, 0}, last_sent = -1000000;
    long n = 0;
    for (int i = 0; i < NSTEPS; i++) {
        double gap = 1e6 / rates[i];
        for (double t = (double)i * STEP_US; t < (double)(i + 1) * STEP_US;
             t += gap, n++) {
            int64_t due = (int64_t)t, sent = due + late_us;
            if (send_rps > 0 && sent < last_sent + (int64_t)(1e6 / send_rps))
                sent = last_sent + (int64_t)(1e6 / send_rps);
            last_sent = sent;
            int slow = n % 2 == 0;
            int64_t svc = slow ? 8000 : 2000;
            int w = slot[0] <= slot[1] ? 0 : 1;
            int64_t start = sent > slot[w] ? sent : slot[w];
            slot[w] = start + svc;
            struct corpus_sample x = {0};
            x.exchange_id = n;
            x.status = 200;
            x.t_us = due;
            x.latency_us = slot[w] - due;
            x.service_us = slot[w] - sent;
            assert_int_equal(an_capacity_add(&s->a, AN_CAND,
                                             &s->g[slow ? 0 : 1], &x), 0);
        }
    }
}

static void free_sim(struct sim *s)
{
    an_capacity_free(s->a.set[AN_CAND].cap);
    for (int i = 0; i < 2; i++)
        an_gstep_free(&s->g[i]);
}

static void add_series(struct an_capacity *k, const char *name,
                       const double *mean)
{
    k->series = realloc(k->series, (k->nseries + 1) * sizeof *k->series);
    assert_non_null(k->series);
    struct an_cap_series *s = &k->series[k->nseries++];
    memset(s, 0, sizeof *s);
    s->source = strdup("http://127.0.0.1:1/metrics");
    s->name = strdup(name);
    s->gauge = 1;
    s->min = s->max = mean[0];
    for (int i = 0; i < NSTEPS; i++) {
        s->step_sum[i] = mean[i] * 10;
        s->step_n[i] = 10;
        if (mean[i] > s->max)
            s->max = mean[i];
        if (mean[i] < s->min)
            s->min = mean[i];
    }
}

static void test_known_capacity(void **state)
{
    (void)state;
    struct sim s;
    setup_sim(&s, 0, 0);
    struct an_capacity *k = s.a.set[AN_CAND].cap;
    static const double busy[NSTEPS] = {0.5, 1, 1.5, 1.8, 1.95, 2, 2};
    static const double max[NSTEPS] = {2, 2, 2, 2, 2, 2, 2};
    static const double heap[NSTEPS] = {10, 11, 10, 12, 11, 10, 11};
    add_series(k, "pool_busy{pool=\"w\"}", busy);
    add_series(k, "pool_max{pool=\"w\"}", max);
    add_series(k, "heap_bytes", heap);
    an_capacity_compute(&s.a);
    for (int i = 0; i < NSTEPS; i++)
        printf("step %d: offered %.1f achieved %.1f inflight %.2f little "
               "%.2f p90 %lld kept_up %d\n", i + 1, k->step[i].offered_rps,
               k->step[i].achieved_rps, k->step[i].inflight,
               k->step[i].little, (long long)k->step[i].p90_us,
               k->step[i].kept_up);
    assert_int_equal(k->knee, 5); /* 440 > 400 by 10% */
    assert_int_equal(k->sustained, 4);
    assert_true(fabs(k->max_sustained_rps - 390) < 4);
    assert_false(k->gen_limited);
    for (int i = 0; i < k->knee; i++) {
        assert_true(fabs(k->step[i].achieved_rps - rates[i]) <
                    0.02 * rates[i]);
        /* Little's law: in flight = throughput x time in the system */
        assert_true(fabs(k->step[i].inflight - k->step[i].little) <
                    0.05 * k->step[i].little + 0.02);
    }
    assert_true(fabs(k->step[6].achieved_rps - 400) < 8);
    assert_true(k->usl.ok);
    printf("usl: lambda %g sigma %g kappa %g peak %g r2 %g\n", k->usl.lambda,
           k->usl.sigma, k->usl.kappa, k->usl.peak_rps, k->usl.r2);
    assert_true(k->usl.peak_rps > 340 && k->usl.peak_rps < 460);
    assert_string_equal(k->limiting, "GET /slow");
    assert_true(fabs(k->limiting_share - 0.8) < 0.01);
    assert_true(k->series[0].saturated);
    assert_false(k->series[1].saturated); /* the ceiling itself */
    assert_false(k->series[2].saturated); /* never rose */
    free_sim(&s);
}

static void test_slo_knee(void **state)
{
    (void)state;
    struct sim s;
    setup_sim(&s, 0, 0);
    struct an_capacity *k = s.a.set[AN_CAND].cap;
    k->stopped_step = 3; /* --stop-if broke at step 3 (300 req/s) */
    snprintf(k->stopped_by, sizeof k->stopped_by, "p99>5ms");
    an_capacity_compute(&s.a);
    assert_int_equal(k->knee, 2);
    assert_non_null(strstr(k->knee_why, "--stop-if 'p99>5ms' broke"));
    assert_true(fabs(k->max_sustained_rps - 200) < 3);
    free_sim(&s);
}

static void test_generator_behind(void **state)
{
    (void)state;
    struct sim s;
    /* a generator that cannot send more than 300 req/s against a target
     * of 400: the knee is at 360 offered, lateness grows, and the target's
     * service time stays what it was: the generator's knee */
    setup_sim(&s, 0, 300);
    an_capacity_compute(&s.a);
    struct an_capacity *k = s.a.set[AN_CAND].cap;
    assert_int_equal(k->knee, 3);
    assert_true(k->gen_limited);
    free_sim(&s);
    /* every request 20 ms late, the target's own limit at 440: its
     * service time grows at the knee, so the knee is the target's */
    setup_sim(&s, 20000, 0);
    an_capacity_compute(&s.a);
    k = s.a.set[AN_CAND].cap;
    assert_int_equal(k->knee, 5);
    assert_false(k->gen_limited);
    free_sim(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_capacity),
        cmocka_unit_test(test_slo_knee),
        cmocka_unit_test(test_generator_behind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
