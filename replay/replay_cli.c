/*
 * replay_cli.c: `reprise replay`, the orchestration of a replay run. It
 * parses the options, makes the first pass over the corpus that fixes the
 * schedule, opens the run, starts the recorder, the feeder and one engine
 * per --threads, turns SIGINT/SIGTERM into an orderly stop, and closes the
 * run with its status and summary. The corpus write handle is used by this
 * thread before the threads start and after they end, by the recorder only
 * in between; the feeder reads through its own handle.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#include "replay/replay.h"
#include "replay/replay_int.h"
#include "replay/transport.h"

#define RING_CAP 2048
#define RESQ_CAP 16384 /* results per producer queue */
#define START_DELAY_US 2000   /* after priming, before the first due time */
#define PRIME_MAX_US 1000000  /* longest wait for the feeder to prime */

static struct rp_ctx *volatile sig_ctx;

static void on_signal(int sig)
{
    struct rp_ctx *c = sig_ctx;
    (void)sig;
    if (!c)
        return;
    atomic_fetch_add(&c->stop, 1);
    for (int i = 0; i < c->nengines; i++)
        if (c->engines[i])
            replay_engine_wake(c->engines[i]);
}

/* Waits until the feeder has filled the rings (or scheduled everything,
 * or a second passed), so the first due requests do not race the reader. */
static void prime(struct rp_ctx *c)
{
    uint64_t want = (uint64_t)RING_CAP * (uint64_t)c->nengines;
    if (c->total >= 0 && (uint64_t)c->total < want)
        want = (uint64_t)c->total;
    int64_t until = rp_mono_us() + PRIME_MAX_US;
    while (!atomic_load(&c->feed_done) && !atomic_load(&c->stop) &&
           atomic_load(&c->scheduled) < want && rp_mono_us() < until)
        usleep(1000);
}

const struct rp_transport *replay_transport(const struct rp_opts *o)
{
    return o->engine == RE_RAW    ? &replay_tp_raw
           : o->engine == RE_WIRE ? &replay_tp_wire
                                  : &replay_tp_curl;
}

/* Sleeps until wall-clock time wall_us (CLOCK_REALTIME, absolute: a clock
 * step by NTP while asleep moves the wake-up with it); returns early when
 * the run is stopped. */
static void sleep_until_wall(struct rp_ctx *c, int64_t wall_us)
{
    struct timespec ts = {(time_t)(wall_us / 1000000),
                          (long)(wall_us % 1000000) * 1000};
    while (!atomic_load(&c->stop) &&
           clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* Fixes the run's time zero: START_DELAY_US from now, or the --start-at
 * instant on the monotonic clock (read beside the wall clock just before
 * it, so the anchor is as exact as the two readings are close). */
static void fix_start(struct rp_ctx *c)
{
    int64_t at = c->o->start_at_us;
    if (at) {
        /* ready before the instant: time zero is the instant, even when the
         * wake-up overshoots it on a loaded machine (the first sends are
         * then late, and their lateness says so); shards stay aligned */
        int ahead = at - rp_wall_us() > 0;
        sleep_until_wall(c, at - START_DELAY_US);
        int64_t w = rp_wall_us(), m = rp_mono_us();
        if (ahead || at - w >= 0) {
            atomic_store(&c->t0_mono_us, m + (at - w));
            c->t0_wall_us = at;
            return;
        }
        rp_warn("ready %.3f ms after --start-at: starting now (the "
                "summary's t0_wall_us says when); give a later start",
                (double)(w - at) / 1000.0);
    }
    int64_t w = rp_wall_us(), m = rp_mono_us();
    atomic_store(&c->t0_mono_us, m + START_DELAY_US);
    c->t0_wall_us = w + START_DELAY_US;
}

static volatile sig_atomic_t linger_sig;

static void on_linger_signal(int sig)
{
    (void)sig;
    linger_sig = 1;
}

/* --web-linger: the dashboard keeps showing the final numbers for d_us,
 * or until SIGINT/SIGTERM. */
static void linger(struct rp_ctx *c, int64_t d_us)
{
    struct sigaction sa, oi, ot;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_linger_signal;
    sigemptyset(&sa.sa_mask);
    linger_sig = 0;
    sigaction(SIGINT, &sa, &oi);
    sigaction(SIGTERM, &sa, &ot);
    fflush(stdout);
    if (!c->o->quiet)
        rp_info("the dashboard stays up for %.1f s (--web-linger); Ctrl-C "
                "ends it", (double)d_us / 1e6);
    int64_t until = rp_mono_us() + d_us;
    while (!linger_sig && rp_mono_us() < until)
        usleep(20000);
    sigaction(SIGINT, &oi, NULL);
    sigaction(SIGTERM, &ot, NULL);
}

static const char *mode_name(enum rp_mode m)
{
    return m == RM_RATE ? "rate" : m == RM_MAX ? "max" : "speed";
}

static int run(struct rp_opts *o, char *err)
{
    struct rp_ctx c;
    struct corpus_run_info ri;
    struct rp_buf opts_json, sum_json;
    pthread_t rec_t, feed_t, *eng_t = NULL;
    int rec_started = 0, feed_started = 0, neng_started = 0, rc;
    struct sigaction sa, old_int, old_term;
    int sig_set = 0, run_open = 0;
    struct rp_web *web = NULL;

    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.warp.mu, NULL);
    rp_buf_init(&opts_json, 0);
    rp_buf_init(&sum_json, 0);
    c.o = o;
    c.stopped_step = -1;
    c.tp = replay_transport(o);
    c.tty = isatty(STDERR_FILENO);
    c.corr_on = o->sessions && !o->no_correlate;
    if (getrandom(&c.corr_nonce, sizeof c.corr_nonce, 0) !=
        (ssize_t)sizeof c.corr_nonce)
        c.corr_nonce = (uint64_t)rp_wall_us() ^ ((uint64_t)getpid() << 32);
    if (replay_stats_init(&c.st) || (o->web && !(c.live = replay_live_new()))) {
        rc = rp_fail(err, RP_ENOMEM, "out of memory");
        goto done;
    }

    if (access(o->db, F_OK)) {
        rc = rp_fail(err, RP_EINPUT, "%s: no such corpus file", o->db);
        goto done;
    }
    if ((rc = corpus_open(o->db, CORPUS_WRITE, &c.wr, err)))
        goto done;
    if ((rc = corpus_open(o->db, CORPUS_READ, &c.rd, err)))
        goto done;
    if ((rc = replay_sched_plan(&c, err)))
        goto done;
    /* In WAL before the feeder streams the corpus, so replays side by side
     * never wait for each other; not before the plan, so a replay refused
     * (unknown capture, nothing selected) leaves the file as it was. */
    if ((rc = corpus_journal_ready(c.wr, err)))
        goto done;
    c.total = replay_sched_total(&c.plan);

    c.nengines = o->threads;
    c.rings = calloc((size_t)c.nengines, sizeof *c.rings);
    c.engines = calloc((size_t)c.nengines, sizeof *c.engines);
    eng_t = calloc((size_t)c.nengines, sizeof *eng_t);
    if (!c.rings || !c.engines || !eng_t ||
        replay_resq_init(&c.resq, c.nengines + 1, RESQ_CAP)) {
        rc = rp_fail(err, RP_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < c.nengines; i++) {
        struct rp_ring *r = &c.rings[i];
        r->wake_fd = -1;
        atomic_init(&r->done, 0);
        if (replay_spsc_init(&r->q, RING_CAP, sizeof(struct rp_job))) {
            rc = rp_fail(err, RP_ENOMEM, "out of memory");
            goto done;
        }
    }
    for (int i = 0; i < c.nengines; i++)
        if ((rc = replay_engine_new(&c, i, &c.engines[i], err)))
            goto done;

    if ((rc = replay_opts_json(o, &opts_json))) {
        rp_fail(err, rc, "out of memory");
        goto done;
    }
    /* Before the run is opened, so a port in use leaves the corpus as it
     * was; the page shows the run once it is under way (go). */
    if (o->web && (rc = replay_web_start(&c, &web, err)))
        goto done;
    /* From here a signal ends the run in order (interrupted, not_sent
     * rows); before, nothing was written and the default action is fine. */
    sig_ctx = &c;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sig_set = 1;

    if (o->label) {
        struct corpus_run_row prev;
        int used = 0;
        if ((rc = corpus_run_label_latest(c.wr, o->label, &prev, &used,
                                          err)))
            goto done;
        if (used)
            rp_warn("the label '%s' already names run %lld; from now on it "
                    "means the new run (the latest with that label), and "
                    "run %lld stays reachable by its id", o->label,
                    (long long)prev.id, (long long)prev.id);
    }
    memset(&ri, 0, sizeof ri);
    ri.capture_id = c.plan.capture_id;
    ri.label = o->label;
    ri.target = o->target;
    ri.mode = mode_name(o->mode);
    ri.options_json = opts_json.data;
    ri.started_us = rp_wall_us();
    if ((rc = corpus_run_begin(c.wr, &ri, &c.run_id, err)))
        goto done;
    if ((rc = corpus_flush(c.wr, err)))
        goto done;
    run_open = 1;
    if (!o->quiet)
    {
        char shard[96] = "";
        if (o->shard_count)
            snprintf(shard, sizeof shard, ", shard %d/%d: %lld of %lld "
                     "requests a pass", o->shard_index, o->shard_count,
                     (long long)c.plan.nshard,
                     (long long)(c.plan.nsel * c.plan.scale));
        rp_info("run %lld: replaying %lld exchanges of capture %lld%s%s "
                "against %s (%s mode, %s engine)",
                (long long)c.run_id, (long long)c.plan.nsel,
                (long long)c.plan.capture_id, shard,
                c.total >= 0 ? "" : o->nsteps ? " in load steps"
                                              : " until --duration", o->target,
                mode_name(o->mode), c.tp->name);
    }

    if (o->start_at_us) {
        int64_t ahead = o->start_at_us - rp_wall_us();
        if (ahead < START_DELAY_US)
            rp_warn("--start-at is %s%.3f s %s: starting now, as soon as "
                    "the replay is ready (the summary's t0_wall_us says "
                    "when)", ahead < 0 ? "" : "only ",
                    (double)(ahead < 0 ? -ahead : ahead) / 1e6,
                    ahead < 0 ? "in the past" : "ahead");
        else if (!o->quiet)
            rp_info("waiting %.3f s for --start-at", (double)ahead / 1e6);
        if (ahead < START_DELAY_US)
            o->start_at_us = 0;
    }
    /* Provisional start for the recorder's clock until the rings are
     * primed; the engines read t0 only once they start. */
    atomic_store(&c.t0_mono_us, rp_mono_us());
    if (pthread_create(&rec_t, NULL, replay_recorder_main, &c)) {
        rc = rp_fail(err, RP_EIO, "cannot start the recorder thread");
        goto done;
    }
    rec_started = 1;
    if (pthread_create(&feed_t, NULL, replay_feeder_main, &c)) {
        rc = rp_fail(err, RP_EIO, "cannot start the feeder thread");
        atomic_store(&c.stop, 2);
        replay_resq_producer_done(&c.resq);
        for (int i = 0; i < c.nengines; i++)
            replay_resq_producer_done(&c.resq);
        goto done;
    }
    feed_started = 1;
    prime(&c);
    /* --start-at: the engines start (and open their first connections)
     * shortly before time zero, not while a long wait lasts; they have up
     * to PRIME_MAX_US to be ready */
    if (o->start_at_us)
        sleep_until_wall(&c, o->start_at_us - PRIME_MAX_US - 100000);
    for (int i = 0; i < c.nengines; i++) {
        if (pthread_create(&eng_t[i], NULL, replay_engine_main,
                           c.engines[i])) {
            rc = rp_fail(err, RP_EIO, "cannot start engine thread %d", i);
            atomic_store(&c.stop, 2);
            for (int k = i; k < c.nengines; k++)
                replay_resq_producer_done(&c.resq);
            /* the feeder may wait on a ring nobody drains: it gives up
             * when it sees stop */
            goto done;
        }
        neng_started++;
    }
    {
        /* Every engine set up: fix the start and let them go. */
        int64_t until = rp_mono_us() + PRIME_MAX_US;
        while (atomic_load(&c.ready) < c.nengines && rp_mono_us() < until)
            usleep(100);
        fix_start(&c);
        atomic_store(&c.go, 1);
    }
    /* the target watched from time zero (a failure to start it is the
     * run's failure: the user asked for the evidence) */
    if ((rc = replay_monitor_start(&c, &c.mon, err)))
        atomic_store(&c.stop, 2);

done:
    atomic_store(&c.go, 1); /* engines started before a failure must run */
    for (int i = 0; i < neng_started; i++)
        pthread_join(eng_t[i], NULL);
    if (feed_started)
        pthread_join(feed_t, NULL);
    if (rec_started)
        pthread_join(rec_t, NULL);
    atomic_store(&c.run_end_us, replay_now(&c));
    atomic_store(&c.finished, 1);
    if (sig_set) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sig_ctx = NULL;
    }
    replay_monitor_stop(c.mon);
    if (run_open) {
        int64_t elapsed = replay_now(&c);
        if (c.mon) {
            char err3[RP_ERRLEN];
            int rc3 = replay_monitor_store(c.mon, c.wr, c.run_id, err3);
            if (rc3 && !rc) {
                rc = rc3;
                snprintf(err, RP_ERRLEN, "%s", err3);
            }
        }
        /* a run whose results could not all be written is not complete */
        const char *status =
            atomic_load(&c.stop) || rc || c.feed_rc || c.result_errors
                ? "interrupted" : "complete";
        char err2[RP_ERRLEN];
        if (!rc && c.feed_rc)
            rc = rp_fail(err, c.feed_rc, "%s", c.feed_err);
        if (replay_recorder_summary_json(&c, &sum_json, elapsed, status))
            rp_buf_reset(&sum_json);
        int rc2 = corpus_run_end(c.wr, c.run_id, rp_wall_us(), status,
                                 sum_json.data, err2);
        if (!rc && rc2) {
            rc = rc2;
            snprintf(err, RP_ERRLEN, "%s", err2);
        }
        if (o->json && sum_json.data)
            printf("%s\n", sum_json.data);
        else if (!o->quiet)
            replay_recorder_summary(&c, stdout, elapsed, status);
        if ((fflush(stdout) || ferror(stdout)) && !rc)
            rc = rp_fail(err, RP_EIO, "cannot write the summary to standard "
                         "output: %s (the run is recorded as run %lld)",
                         strerror(errno), (long long)c.run_id);
        if (!rc && c.result_errors)
            rc = rp_fail(err, RP_EIO, "%lld results could not be written: "
                         "%s", (long long)c.result_errors, c.rec_err);
        if (web && o->web_linger_us)
            linger(&c, o->web_linger_us);
        /* a run that measured nothing must not pass for one that did */
        uint64_t sent_n = c.st.results - c.st.by_class[CORPUS_ERR_NOT_SENT];
        if (!rc && sent_n && !c.st.ok)
            rc = rp_fail(err, RP_EIO, "none of the %llu requests sent got "
                         "a response (see the causes above, or 'reprise "
                         "analyze'); the run is recorded as run %lld",
                         (unsigned long long)sent_n, (long long)c.run_id);
    }
    replay_monitor_free(c.mon);
    c.mon = NULL;
    replay_web_stop(web); /* before what its thread reads is freed */
    replay_store_free(&c);
    for (int i = 0; c.engines && i < c.nengines; i++)
        replay_engine_free(c.engines[i]);
    for (int i = 0; c.rings && i < c.nengines; i++) {
        struct rp_ring *r = &c.rings[i];
        struct rp_job j;
        while (r->q.v && replay_spsc_pop(&r->q, &j))
            replay_rq_unref(j.rq);
        replay_spsc_free(&r->q);
    }
    free(c.rings);
    free(c.engines);
    free(eng_t);
    replay_resq_cleanup(&c.resq);
    replay_stats_cleanup(&c.st);
    replay_recorder_steps_cleanup(&c);
    replay_live_free(c.live);
    pthread_mutex_destroy(&c.warp.mu);
    replay_links_free(c.links);
    replay_skey_free(c.skey);
    corpus_close(c.rd, NULL);
    if (c.wr) {
        char err3[RP_ERRLEN];
        int rc3 = corpus_close(c.wr, err3);
        if (!rc && rc3) {
            rc = rc3;
            snprintf(err, RP_ERRLEN, "%s", err3);
        }
    }
    rp_buf_cleanup(&opts_json);
    rp_buf_cleanup(&sum_json);
    return rc;
}

int replay_cmd(int argc, char **argv)
{
    struct rp_opts o;
    char err[RP_ERRLEN] = "";
    int help = 0, rc;

    rc = replay_opts_parse(argc, argv, &o, &help, err);
    if (help) {
        replay_opts_usage(stdout);
        replay_opts_cleanup(&o);
        return 0;
    }
    if (rc) {
        fprintf(stderr, "reprise: replay: %s\n", err);
        replay_opts_cleanup(&o);
        return rp_exit_code(rc);
    }
    if (o.quiet)
        rp_quiet = 1;
    const struct rp_transport *tp = replay_transport(&o);
    if (tp->global_init && (rc = tp->global_init(err))) {
        fprintf(stderr, "reprise: replay: %s\n", err);
        replay_opts_cleanup(&o);
        return rp_exit_code(rc);
    }
    rc = run(&o, err);
    if (tp->global_cleanup)
        tp->global_cleanup();
    if (rc)
        fprintf(stderr, "reprise: replay: %s\n", err);
    replay_opts_cleanup(&o);
    return rp_exit_code(rc);
}
