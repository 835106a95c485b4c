/*
 * sched.c: the replay schedule and the feeder thread. Due times are pure
 * functions of the captured timeline and the mode (anchored to the run's
 * start, so they never drift): --speed divides captured time, --rate spaces
 * requests evenly, --max has no due times. --scale K adds K-1 copies offset
 * inside the mean captured gap and --loop continues the timeline after one
 * span plus one gap. The feeder streams the corpus through its own read
 * handle, builds each request once (shared by its copies), merges copies
 * into due order through a small reorder heap and hands jobs to the engines
 * by captured connection, so a session stays on one thread. Small corpora
 * are kept in memory after the first pass so loops do not re-read them;
 * large ones are streamed on every pass, so memory does not grow with size.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "replay/replay_int.h"

#define CACHE_MAX_REQS 65536
#define CACHE_MAX_BYTES ((size_t)16 << 20)
#define RING_WAIT_MS 50
#define PIPE_SLOTS 16384 /* captured connections whose last response end
                            the feeder remembers (direct mapped) */

/* --ambiguous skip (the default): exchanges whose framing the capture had
 * to guess, or that break RFC 9112, are not replayed. */
static int ambiguous_skipped(const struct rp_opts *o,
                             const struct corpus_exchange *ex)
{
    return !o->ambiguous_send &&
           (ex->flags & (CORPUS_EX_AMBIGUOUS | CORPUS_EX_MALFORMED));
}

int64_t replay_sched_due(const struct rp_plan *p, int64_t t_us, int64_t idx,
                         int copy, int64_t loop)
{
    switch (p->mode) {
    case RM_SPEED: {
        double rel = (double)(t_us - p->t0_us) +
                     (double)copy * (double)p->gap_us / (double)p->scale +
                     (double)loop * (double)(p->span_us + p->gap_us);
        return (int64_t)(rel / p->speed);
    }
    case RM_RATE: {
        double m = ((double)loop * (double)p->nsel + (double)idx) *
                       (double)p->scale + (double)copy;
        return (int64_t)(m * 1e6 / p->rate);
    }
    default:
        return 0;
    }
}

int64_t replay_warp_due_n(const struct rp_ctx *c, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        const struct rp_warp_seg *g = &c->warp.seg[i];
        int64_t gv = atomic_load_explicit(&g->v_us, memory_order_relaxed);
        if (v >= gv)
            return atomic_load_explicit(&g->r_us, memory_order_relaxed) +
                   (int64_t)((double)(v - gv) *
                             atomic_load_explicit(&g->k,
                                                  memory_order_relaxed));
    }
    return v;
}

int64_t replay_warp_due(const struct rp_ctx *c, int64_t v)
{
    return replay_warp_due_n(
        c, v, atomic_load_explicit(&c->warp.n, memory_order_acquire));
}

double replay_warp_multiple(const struct rp_ctx *c)
{
    int n = atomic_load_explicit(&c->warp.n, memory_order_acquire);
    if (c->o->mode == RM_MAX)
        return 0;
    return n ? atomic_load(&c->warp.seg[n - 1].to)
             : c->o->mode == RM_RATE ? c->o->rate : c->o->speed;
}

int replay_warp_set(struct rp_ctx *c, double m, char *err)
{
    const struct rp_opts *o = c->o;
    if (o->mode == RM_MAX)
        return rp_fail(err, RP_EUSAGE, "a --max run has no multiple to "
                       "change (only --speed and --rate runs do)");
    if (!(m > 0) || m > 1e6 || isnan(m))
        return rp_fail(err, RP_EUSAGE, "the new %s must be a number above "
                       "0 and at most 1e6", o->mode == RM_RATE ? "rate"
                                                               : "speed");
    pthread_mutex_lock(&c->warp.mu);
    int rc = 0;
    int n = atomic_load(&c->warp.n);
    int64_t now = replay_now(c);
    if (!atomic_load(&c->go) || now < 0 || atomic_load(&c->stop) ||
        atomic_load(&c->finished)) {
        rc = rp_fail(err, RP_EUSAGE, "the run is not sending (not started, "
                     "stopping or ended)");
        goto done;
    }
    if (n == RP_WARP_MAX) {
        rc = rp_fail(err, RP_EUSAGE, "at most %d changes of the multiple "
                     "in one run", RP_WARP_MAX);
        goto done;
    }
    double base = o->mode == RM_RATE ? o->rate : o->speed;
    double from = replay_warp_multiple(c);
    /* the schedule time that is due now, under the segment in force */
    int64_t v = now;
    if (n) {
        const struct rp_warp_seg *g = &c->warp.seg[n - 1];
        v = atomic_load(&g->v_us) +
            (int64_t)((double)(now - atomic_load(&g->r_us)) /
                      atomic_load(&g->k));
    }
    struct rp_warp_seg *g = &c->warp.seg[n];
    atomic_store(&g->v_us, v);
    atomic_store(&g->r_us, now);
    atomic_store(&g->k, base / m);
    atomic_store(&g->from, from);
    atomic_store(&g->to, m);
    atomic_store_explicit(&c->warp.n, n + 1, memory_order_release);
    rp_info("--%s changed from %g to %g at %.3f s (from the dashboard)",
            o->mode == RM_RATE ? "rate" : "speed", from, m,
            (double)now / 1e6);
    for (int i = 0; i < c->nengines; i++)
        if (c->engines[i])
            replay_engine_wake(c->engines[i]);
done:
    pthread_mutex_unlock(&c->warp.mu);
    return rc;
}

int64_t replay_sched_total(const struct rp_plan *p)
{
    if (p->loops <= 0)
        return -1;
    return p->nshard * p->loops;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

int replay_shard_has(int index, int count, int64_t conn_id, int copy)
{
    if (count <= 1)
        return 1;
    uint64_t h = splitmix64(splitmix64((uint64_t)conn_id) + (uint64_t)copy);
    return (int)(((h >> 32) * (uint64_t)count) >> 32) == index;
}

/* 1 when this run schedules copy `copy` of an exchange of captured
 * connection conn_id. */
static int in_shard(const struct rp_plan *p, int64_t conn_id, int copy)
{
    return replay_shard_has(p->shard_index, p->shard_count, conn_id, copy);
}

int replay_sched_plan(struct rp_ctx *c, char *err)
{
    struct corpus_ex_cursor *cur = NULL;
    struct corpus_exchange ex;
    struct rp_plan *p = &c->plan;
    int64_t first = 0, last = 0, n = 0, nshard = 0;
    int rc, have_origin = 0;

    if (c->o->capture_id > 0) {
        p->capture_id = c->o->capture_id;
    } else if ((rc = corpus_capture_latest(c->rd, &p->capture_id, err))) {
        return rc;
    }
    if (c->o->skey_kind != RP_SKEY_CONN &&
        (rc = replay_skey_build(c, p->capture_id, err)))
        return rc;
    if (c->corr_on && (rc = replay_links_load(c, p->capture_id, err)))
        return rc;
    if ((rc = corpus_ex_open(c->rd, p->capture_id, &cur, err)))
        return rc;
    int64_t skipped = 0;
    while ((rc = corpus_ex_next(cur, &ex, err)) == 1) {
        if (!have_origin) {
            p->origin_us = ex.req.first_us;
            have_origin = 1;
        }
        if (!replay_shape_filter_match(c->o, &ex,
                                       ex.req.first_us - p->origin_us))
            continue;
        if (ambiguous_skipped(c->o, &ex)) {
            skipped++;
            continue;
        }
        if (!n)
            first = ex.req.first_us;
        last = ex.req.first_us;
        n++;
        for (int k = 0; k < c->o->scale; k++)
            nshard += replay_shard_has(c->o->shard_index, c->o->shard_count,
                                       replay_skey_sess(c, ex.conn_id), k);
    }
    corpus_ex_close(cur);
    if (rc < 0)
        return rc;
    if (!have_origin)
        return rp_fail(err, RP_EINPUT, "%s: capture %lld not found or has "
                       "no exchanges; 'reprise ls %s' lists the captures",
                       c->o->db, (long long)p->capture_id, c->o->db);
    if (skipped)
        rp_info("%lld exchange%s of capture %lld flagged ambiguous-framing "
                "or malformed %s left out; --ambiguous send replays them",
                (long long)skipped, skipped == 1 ? "" : "s",
                (long long)p->capture_id, skipped == 1 ? "is" : "are");
    if (!n)
        return rp_fail(err, RP_EINPUT, "%s: no exchange of capture %lld "
                       "matches the --filter options%s", c->o->db,
                       (long long)p->capture_id,
                       skipped ? " (and --ambiguous skip)" : "");
    p->nsel = n;
    p->t0_us = first;
    p->span_us = last - first;
    p->gap_us = n > 1 ? p->span_us / (n - 1) : 1000000;
    if (p->gap_us <= 0)
        p->gap_us = 1000; /* every request at one instant: 1 ms apart */
    p->scale = c->o->scale;
    p->mode = c->o->mode;
    p->speed = c->o->speed;
    p->rate = c->o->rate;
    p->duration_us = c->o->duration_us;
    p->loops = c->o->loops ? c->o->loops : (c->o->duration_us ? 0 : 1);
    p->shard_index = c->o->shard_index;
    p->shard_count = c->o->shard_count;
    p->nshard = nshard;
    if (p->shard_count && !nshard)
        rp_warn("shard %d/%d holds none of the %lld selected sessions: its "
                "run records no requests (fewer shards would do)",
                p->shard_index, p->shard_count, (long long)n * p->scale);
    if (c->o->nsteps) { /* the steps end the run; the capture loops */
        p->duration_us = c->o->step_us * c->o->nsteps;
        p->loops = 0;
    }
    return 0;
}

/* ---- ring (feeder -> engine) ------------------------------------------- */

static void wake(int fd)
{
    uint64_t one = 1;
    if (fd >= 0) {
        ssize_t w = write(fd, &one, sizeof one);
        (void)w;
    }
}

/* Pushes j; returns 0, or 1 without pushing when the run stopped (or the
 * time is up) while waiting for room. */
static int ring_push(struct rp_ctx *c, struct rp_ring *r,
                     const struct rp_job *j)
{
    /* Full: poll every 1 ms (the ring holds far more than that). In --max
     * without sessions, where the ring stays full and jobs have no due
     * times, wait instead until the engine has taken half of it, backing
     * off up to 8 ms: the ring is refilled in bulk with few wake-ups. */
    int bulk = c->o->mode == RM_MAX && !c->o->sessions;
    struct timespec ts = {0, 1000000};
    while (replay_spsc_push(&r->q, j)) {
        do {
            if (atomic_load(&c->stop) || atomic_load(&c->time_up))
                return 1;
            nanosleep(&ts, NULL);
            if (bulk && ts.tv_nsec < 8000000)
                ts.tv_nsec *= 2;
        } while (bulk && replay_spsc_len(&r->q) > r->q.cap / 2);
    }
    /* One job in the ring: the engine emptied it and may be asleep. */
    if (replay_spsc_len(&r->q) == 1)
        wake(r->wake_fd);
    return 0;
}

static void ring_done(struct rp_ring *r)
{
    atomic_store(&r->done, 1);
    wake(r->wake_fd);
}

/* ---- the feeder --------------------------------------------------------- */

struct feeder {
    struct rp_ctx *c;
    struct rp_heap reorder;
    uint64_t seq;
    unsigned rr;               /* round robin for --max without sessions */
    struct rp_res notsent[256];
    size_t nnotsent;
    int draining;              /* stopped: NOT_SENT results, no sends */
    int finished;              /* nothing more is scheduled */
    struct rp_rq **cache;      /* loop 0's requests when small */
    size_t ncache, cache_cap, cache_bytes;
    int cache_off;             /* too big: stream every pass */
    struct {                   /* per captured connection (hashed): when
                                  its last response ended */
        int64_t conn_id, resp_last_us;
    } *pipe;
    struct rp_plan sp;         /* the plan of the current step (the run's
                                  plan when not stepped) */
    int64_t off_us;            /* the current step's start */
    int64_t loop_base;         /* loops of the steps before */
    int64_t pass;              /* passes over the corpus so far */
};

/* Counts one scheduled request in its step (--steps). */
static void step_count(struct rp_ctx *c, int64_t due_us)
{
    if (!c->o->nsteps)
        return;
    int64_t k = due_us / c->o->step_us;
    if (k >= 0 && k < c->o->nsteps)
        atomic_fetch_add(&c->step_sched[k], 1);
}

/* 1 when the captured client sent ex before the response to its previous
 * request on the same connection had ended (pipelining). Exchanges come in
 * request order, so the previous one of a connection was seen just before;
 * a connection whose entry was taken by another one counts as not
 * pipelined. */
static int was_pipelined(struct feeder *f, const struct corpus_exchange *ex)
{
    if (!f->pipe || ex->conn_id <= 0)
        return 0;
    uint64_t h = (uint64_t)ex->conn_id * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 40) & (PIPE_SLOTS - 1);
    int p = f->pipe[i].conn_id == ex->conn_id && ex->seq > 0 &&
            ex->req.first_us < f->pipe[i].resp_last_us;
    f->pipe[i].conn_id = ex->conn_id;
    f->pipe[i].resp_last_us = ex->status ? ex->resp.last_us : 0;
    return p;
}

static void notsent_flush(struct feeder *f)
{
    for (size_t i = 0; i < f->nnotsent; i++)
        replay_resq_push(&f->c->resq, f->c->nengines, &f->notsent[i]);
    f->nnotsent = 0;
}

static void notsent_add(struct feeder *f, int64_t ex_id, int copy, int loop,
                        int64_t due_us, int endpoint)
{
    struct rp_res *r = &f->notsent[f->nnotsent++];
    memset(r, 0, sizeof *r);
    r->exchange_id = ex_id;
    r->copy = copy;
    r->loop = loop;
    r->scheduled_us = due_us;
    r->sent_us = r->first_byte_us = r->done_us = -1;
    r->error_class = CORPUS_ERR_NOT_SENT;
    r->endpoint = endpoint;
    if (f->nnotsent == sizeof f->notsent / sizeof *f->notsent)
        notsent_flush(f);
}

static int route(struct feeder *f, const struct rp_job *j)
{
    struct rp_ctx *c = f->c;
    if (c->nengines == 1)
        return 0;
    if (c->o->mode == RM_MAX && !c->o->sessions)
        return (int)(f->rr++ % (unsigned)c->nengines);
    uint64_t key = (uint64_t)j->rq->conn_id * (uint64_t)c->plan.scale +
                   (uint64_t)j->copy;
    return (int)(key % (uint64_t)c->nengines);
}

/* Hands one job to its engine, or records it as not sent when the run was
 * stopped. Consumes the job's reference. */
static void emit_job(struct feeder *f, struct rp_job *j)
{
    struct rp_ctx *c = f->c;
    if (!f->draining && (atomic_load(&c->stop) || atomic_load(&c->time_up)))
        f->draining = 1;
    if (!f->draining) {
        atomic_fetch_add(&c->scheduled, 1);
        int64_t due = j->due_us;
        step_count(c, due); /* before the push: the engine owns j then */
        if (!ring_push(c, &c->rings[route(f, j)], j))
            return;
        f->draining = 1;
        atomic_fetch_sub(&c->scheduled, 1);
        if (c->o->nsteps && due / c->o->step_us < c->o->nsteps)
            atomic_fetch_sub(&c->step_sched[due / c->o->step_us], 1);
    }
    /* --max --duration: requests after the end are not part of the run. */
    if (!atomic_load(&c->time_up) && atomic_load(&c->stop) < 2) {
        atomic_fetch_add(&c->scheduled, 1);
        step_count(c, j->due_us);
        notsent_add(f, j->rq->ex_id, j->copy, j->loop,
                    replay_warp_due(c, j->due_us), j->rq->endpoint);
    }
    replay_rq_unref(j->rq);
}

/* Emits every reordered job due at or before limit (all when limit < 0). */
static void emit_until(struct feeder *f, int64_t limit)
{
    const struct rp_job *t;
    struct rp_job j;
    while ((t = replay_heap_top(&f->reorder)) &&
           (limit < 0 || t->due_us <= limit)) {
        replay_heap_pop(&f->reorder, &j);
        emit_job(f, &j);
    }
}

/* The run is open-ended and stopped: nothing further is scheduled. */
static int open_ended_stop(struct feeder *f)
{
    struct rp_ctx *c = f->c;
    if (atomic_load(&c->time_up) || atomic_load(&c->stop) >= 2)
        return 1;
    if (atomic_load(&c->stop) && c->o->nsteps)
        return 1; /* later steps are not part of an interrupted run */
    return atomic_load(&c->stop) && c->plan.mode == RM_MAX &&
           c->plan.loops == 0;
}

/* Schedules the copies of one request (idx-th selected, loop). Takes over
 * the caller's reference to rq. */
static int schedule_rq(struct feeder *f, struct rp_rq *rq, int64_t idx,
                       int64_t loop)
{
    const struct rp_plan *p = &f->sp;
    int64_t due0 = replay_sched_due(p, rq->t_us, idx, 0, loop);
    /* --duration counts run time, so the multiple in force decides */
    if (p->duration_us && p->mode != RM_MAX &&
        replay_warp_due(f->c, due0) >= p->duration_us) {
        f->finished = 1;
        replay_rq_unref(rq);
        return 0;
    }
    for (int k = 0; k < p->scale; k++) {
        struct rp_job j = {0};
        j.rq = rq;
        j.copy = k;
        j.loop = (int)(f->loop_base + loop);
        j.due_us = replay_sched_due(p, rq->t_us, idx, k, loop);
        j.seq = f->seq++;
        if (p->duration_us && p->mode != RM_MAX &&
            replay_warp_due(f->c, j.due_us) >= p->duration_us)
            continue;
        if (!in_shard(p, rq->conn_id, k))
            continue;
        j.due_us += f->off_us;
        replay_rq_ref(rq);
        if (replay_heap_push(&f->reorder, &j)) {
            replay_rq_unref(rq);
            replay_rq_unref(rq);
            return rp_fail(f->c->feed_err, RP_ENOMEM, "out of memory");
        }
    }
    replay_rq_unref(rq);
    /* Later requests are due no earlier than this one's first copy. */
    emit_until(f, due0 + f->off_us);
    return 0;
}

static void cache_drop(struct feeder *f)
{
    for (size_t i = 0; i < f->ncache; i++)
        replay_rq_unref(f->cache[i]);
    free(f->cache);
    f->cache = NULL;
    f->ncache = f->cache_cap = 0;
    f->cache_off = 1;
}

static void cache_add(struct feeder *f, struct rp_rq *rq)
{
    if (f->cache_off)
        return;
    /* the transport's form: about as much again as the head */
    size_t bytes = rq->body_len + 2 * rq->head_len + strlen(rq->target) + 256;
    if (f->ncache >= CACHE_MAX_REQS ||
        f->cache_bytes + bytes > CACHE_MAX_BYTES) {
        cache_drop(f);
        return;
    }
    if (f->ncache == f->cache_cap) {
        size_t nc = f->cache_cap ? f->cache_cap * 2 : 256;
        struct rp_rq **v = realloc(f->cache, nc * sizeof *v);
        if (!v) {
            cache_drop(f);
            return;
        }
        f->cache = v;
        f->cache_cap = nc;
    }
    replay_rq_ref(rq);
    f->cache[f->ncache++] = rq;
    f->cache_bytes += bytes;
}

/* One pass over the selected exchanges. */
static int feed_pass(struct feeder *f, int64_t loop)
{
    struct rp_ctx *c = f->c;
    struct corpus_ex_cursor *cur = NULL;
    struct corpus_exchange ex;
    int64_t idx = 0;
    int rc;

    if (f->pass > 0 && !f->cache_off && f->cache) {
        for (size_t i = 0; i < f->ncache && !f->finished; i++) {
            if (open_ended_stop(f))
                return 0;
            replay_rq_ref(f->cache[i]);
            if ((rc = schedule_rq(f, f->cache[i], (int64_t)i, loop)))
                return rc;
        }
        return 0;
    }
    if ((rc = corpus_ex_open(c->rd, c->plan.capture_id, &cur, c->feed_err)))
        return rc;
    while (!f->finished && (rc = corpus_ex_next(cur, &ex, c->feed_err)) == 1) {
        if (open_ended_stop(f))
            break;
        if (!replay_shape_filter_match(c->o, &ex,
                                       ex.req.first_us - c->plan.origin_us) ||
            ambiguous_skipped(c->o, &ex))
            continue;
        struct rp_rq *rq = NULL;
        if (f->draining || atomic_load(&c->stop)) {
            /* Stopped: the due time is all a NOT_SENT result needs. */
            for (int k = 0; k < f->sp.scale; k++) {
                int64_t due =
                    replay_sched_due(&f->sp, ex.req.first_us, idx, k, loop);
                if (f->sp.duration_us && f->sp.mode != RM_MAX &&
                    replay_warp_due(c, due) >= f->sp.duration_us) {
                    if (k == 0)
                        f->finished = 1;
                    continue;
                }
                if (atomic_load(&c->stop) >= 2)
                    break;
                if (!in_shard(&c->plan, replay_skey_sess(c, ex.conn_id), k))
                    continue;
                atomic_fetch_add(&c->scheduled, 1);
                step_count(c, due + f->off_us);
                notsent_add(f, ex.id, k, (int)(f->loop_base + loop),
                            replay_warp_due(c, due) + f->off_us, -1);
            }
            f->draining = 1;
            idx++;
            continue;
        }
        if ((rc = replay_rq_build(c, &ex, was_pipelined(f, &ex), &rq,
                                  c->feed_err)))
            break;
        if (f->pass == 0)
            cache_add(f, rq);
        if ((rc = schedule_rq(f, rq, idx, loop)))
            break;
        idx++;
    }
    corpus_ex_close(cur);
    /* stopped before the end of the capture (a stop, an error, or a step
     * or --duration ending within the pass: f->finished): the cache is
     * partial, and a later pass or step must read the whole capture */
    if (f->pass == 0 && f->cache && !f->cache_off &&
        (f->finished || rc != 0 || (size_t)idx != f->ncache))
        cache_drop(f);
    return rc < 0 ? rc : 0;
}

void *replay_feeder_main(void *arg)
{
    struct rp_ctx *c = arg;
    struct feeder f;
    int rc = 0;
    memset(&f, 0, sizeof f);
    f.c = c;
    f.cache_off = c->plan.loops == 1; /* one pass: nothing to reuse */
    if (c->o->sessions)
        f.pipe = calloc(PIPE_SLOTS, sizeof *f.pipe); /* NULL: none known */
    pthread_setname_np(pthread_self(), "rp-feeder");
    /* The rings hold seconds of work ahead: let the engines go first. */
    setpriority(PRIO_PROCESS, (id_t)gettid(), 5);
    f.finished = c->plan.nshard == 0; /* an empty shard */
    f.sp = c->plan;
    if (!c->o->nsteps) {
        for (int64_t loop = 0; !f.finished && !open_ended_stop(&f) &&
                               (c->plan.loops == 0 || loop < c->plan.loops);
             loop++, f.pass++) {
            if ((rc = feed_pass(&f, loop)))
                break;
        }
    }
    /* --steps: each step its own plan (multiple, duration), re-anchored at
     * its start; the loop numbers continue so results stay distinct. */
    for (int k = 0; !rc && k < c->o->nsteps && !open_ended_stop(&f); k++) {
        double m = c->o->steps[k];
        f.sp = c->plan;
        f.sp.duration_us = c->o->step_us;
        f.sp.loops = 0;
        if (c->o->step_by_scale)
            f.sp.scale = (int)m;
        else if (f.sp.mode == RM_RATE)
            f.sp.rate = c->plan.rate * m;
        else
            f.sp.speed = c->plan.speed * m;
        f.off_us = (int64_t)k * c->o->step_us;
        f.finished = c->plan.nshard == 0;
        int64_t loop = 0;
        for (; !f.finished && !open_ended_stop(&f); loop++, f.pass++)
            if ((rc = feed_pass(&f, loop)))
                break;
        f.loop_base += loop;
    }
    emit_until(&f, -1);
    notsent_flush(&f);
    cache_drop(&f);
    free(f.pipe);
    replay_heap_free(&f.reorder);
    c->feed_rc = rc;
    if (rc)
        atomic_store(&c->stop, 2);
    atomic_store(&c->feed_done, 1);
    for (int i = 0; i < c->nengines; i++)
        ring_done(&c->rings[i]);
    replay_resq_producer_done(&c->resq);
    return NULL;
}
