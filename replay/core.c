/*
 * core.c: the engine core, one per --threads, each on its own thread. It
 * pulls jobs from the feeder's ring into a due-time heap, and a timerfd
 * armed at the next due time (or the transport's own deadline, whichever
 * is first) wakes its epoll loop with microsecond precision, so requests
 * leave when they are due whether or not earlier responses arrived (open
 * model) or, in --max, as soon as one of the N slots is free (closed
 * model). It keeps the connection cap, the sessions (--sessions: a
 * captured connection's requests in order on one connection of its own; a
 * request that becomes due while its session is busy waits, and its
 * lateness is recorded), busy-polls near a due time (--spin), opens
 * connections before the start, stops in order (grace, then abort) and
 * batches results into the recorder's queue. Sockets and bytes are the
 * transport's (transport.h); every job yields exactly one result.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "replay/replay_int.h"
#include "replay/transport.h"

#define HEAP_FILL 2048       /* jobs pulled ahead from the ring */
#define MAX_FILL_MIN 64      /* --max: pull ahead 2 x slots, at least this */
#define BATCH 64             /* results per push to the recorder */
#define BATCH_AGE_US 5000    /* push a partial batch after this long */
#define MAX_SLEEP_US 50000   /* wake at least this often (stop, batches) */
#define H2_STREAMS 100       /* in-flight requests per connection with h2 */
#define PRECONNECT 16        /* connections opened before the start */
#define PRECONNECT_WAIT_MS 1000
#define SESS_IDLE_US 10000000 /* a session idle this long ends */
#define SESS_DEPTH 64        /* pipelined requests of a session in flight
                                when --pipeline does not say */

struct rp_engine {
    struct rp_ctx *c;
    int idx;
    const struct rp_transport *tp;
    struct rp_tp *t;
    int epfd, tfd, efd;
    int64_t armed_us;           /* what the timerfd is armed for */
    struct rp_heap heap;
    size_t heap_fill;           /* jobs to hold (--max needs few: cheaper
                                   heap operations) */
    struct rp_ring *ring;
    int ring_done;
    size_t ring_n;              /* jobs left in the ring at the last pull */
    int inflight, max_inflight;
    int conn_cap;               /* connections (sessions) at once */
    int depth;                  /* per pooled connection, for the transport */
    int sess_depth;             /* requests of one session in flight */
    int capped;                 /* due requests wait for the cap */
    int stopping;
    int warp_seen;              /* speed changes applied to the heap */
    struct rp_sess_table sess;
    struct rp_corr_tab *corr;   /* correlated values per session */
    struct rp_hook *hook;       /* --script, this engine's Lua state */
    struct rp_sess *ready_head, *ready_tail; /* sessions to look at */
    struct rp_res batch[BATCH];
    size_t nbatch;
    int64_t batch_first_us;
    int64_t grace_end_us;       /* stopping: abort in-flight after this */
    int64_t sent_delta;         /* c->sent and c->inflight not yet told */
    int64_t inflight_delta;     /* (published in batches: the recorder
                                   reads them for its progress line) */
    int pre[PRECONNECT];        /* connected before the start, unused yet */
    int npre;
    struct sockaddr_storage pre_addr; /* the address they are connected to */
    socklen_t pre_addrlen;
};

int64_t replay_now(const struct rp_ctx *c)
{
    return rp_mono_us() -
           atomic_load_explicit(&c->t0_mono_us, memory_order_relaxed);
}

/* ---- results ------------------------------------------------------------ */

/* Tells the run's counters what this engine sent since the last time. */
static void publish(struct rp_engine *e)
{
    struct rp_ctx *c = e->c;
    if (e->sent_delta) {
        atomic_fetch_add_explicit(&c->sent, (uint64_t)e->sent_delta,
                                  memory_order_relaxed);
        e->sent_delta = 0;
    }
    if (e->inflight_delta) {
        atomic_fetch_add_explicit(&c->inflight, (uint64_t)e->inflight_delta,
                                  memory_order_relaxed);
        e->inflight_delta = 0;
    }
}

static void batch_flush(struct rp_engine *e)
{
    publish(e);
    for (size_t i = 0; i < e->nbatch; i++)
        replay_resq_push(&e->c->resq, e->idx, &e->batch[i]);
    e->nbatch = 0;
}

static struct rp_res *batch_next(struct rp_engine *e)
{
    if (e->nbatch == BATCH)
        batch_flush(e);
    if (!e->nbatch)
        e->batch_first_us = replay_now(e->c);
    struct rp_res *r = &e->batch[e->nbatch++];
    memset(r, 0, sizeof *r);
    return r;
}

/* Records a job that was never sent and releases it. */
static void job_not_sent(struct rp_engine *e, struct rp_job *j,
                         enum corpus_errclass ec, const char *msg)
{
    struct rp_res *r = batch_next(e);
    r->exchange_id = j->rq->ex_id;
    r->endpoint = j->rq->endpoint;
    r->copy = j->copy;
    r->loop = j->loop;
    r->scheduled_us = j->due_us;
    r->sent_us = r->first_byte_us = r->done_us = -1;
    r->error_class = ec;
    r->error = msg ? strdup(msg) : NULL;
    replay_rq_unref(j->rq);
    j->rq = NULL;
}

/* --store-bodies: whether this response is kept (all; or sample: the
 * request is among the first of its endpoint, or the body differs from
 * the captured one), within --store-bodies-max. */
static int want_store(struct rp_engine *e, const struct rp_job *j,
                      const struct rp_outcome *out)
{
    const struct rp_opts *o = e->c->o;
    if (o->store_bodies == RP_STORE_NONE || !out->resp_headers ||
        out->error_class != CORPUS_ERR_NONE || !out->status)
        return 0;
    const struct rp_rq *rq = j->rq;
    /* sample: a sampled exchange in its first two loops and copies (two
     * answers to one request show its own noise), or a body that differs
     * from the captured one */
    if (o->store_bodies == RP_STORE_SAMPLE_MODE &&
        !((rq->flags & RQ_STORE_SAMPLE) && j->loop < 2 && j->copy < 2) &&
        !(rq->has_cap_hash && out->has_body_hash &&
          memcmp(rq->cap_hash, out->body_hash, RP_HASH_LEN)))
        return 0;
    uint64_t n = out->resp_headers_len + out->resp_body_len;
    uint64_t was = atomic_fetch_add_explicit(&e->c->stored_bytes, n,
                                             memory_order_relaxed);
    if ((int64_t)(was + n) > o->store_max_bytes) {
        atomic_fetch_sub_explicit(&e->c->stored_bytes, n,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&e->c->store_capped, 1,
                                  memory_order_relaxed);
        return 0;
    }
    atomic_fetch_add_explicit(&e->c->stored, 1, memory_order_relaxed);
    return 1;
}

/* Records the result of a job the transport started (or ended at once). */
static void record(struct rp_engine *e, struct rp_job *j,
                   const struct rp_outcome *out)
{
    struct rp_res *r = batch_next(e);
    r->exchange_id = j->rq->ex_id;
    r->endpoint = j->rq->endpoint;
    r->copy = j->copy;
    r->loop = j->loop;
    r->scheduled_us = j->due_us;
    r->sent_us = out->sent_us;
    r->done_us = out->done_us >= 0 ? out->done_us : replay_now(e->c);
    r->first_byte_us = out->first_byte_us;
    if (r->first_byte_us > r->done_us)
        r->first_byte_us = r->done_us;
    r->connect_us = out->connect_us;
    r->status = out->status;
    r->cap_status = j->rq->cap_status;
    r->subst = j->subst;
    r->missing = j->missing;
    r->resp_bytes = out->resp_bytes;
    if (out->has_body_hash) {
        memcpy(r->body_hash, out->body_hash, RP_HASH_LEN);
        r->has_body_hash = 1;
    }
    r->error_class = out->error_class;
    r->error = out->error ? strdup(out->error) : NULL;
    if (want_store(e, j, out) &&
        (r->resp = malloc(out->resp_headers_len + out->resp_body_len + 1))) {
        memcpy(r->resp, out->resp_headers ? out->resp_headers : "",
               out->resp_headers_len);
        if (out->resp_body_len)
            memcpy(r->resp + out->resp_headers_len, out->resp_body,
                   out->resp_body_len);
        r->resp_hlen = out->resp_headers_len;
        r->resp_blen = out->resp_body_len;
    }
    replay_rq_unref(j->rq);
    j->rq = NULL;
}

/* ---- sessions ----------------------------------------------------------- */

static void ready_push(struct rp_engine *e, struct rp_sess *s)
{
    if (s->ready)
        return;
    s->ready = 1;
    s->ready_next = NULL;
    if (e->ready_tail)
        e->ready_tail->ready_next = s;
    else
        e->ready_head = s;
    e->ready_tail = s;
}

static struct rp_sess *ready_pop(struct rp_engine *e)
{
    struct rp_sess *s = e->ready_head;
    if (!s)
        return NULL;
    e->ready_head = s->ready_next;
    if (!e->ready_head)
        e->ready_tail = NULL;
    s->ready = 0;
    return s;
}

/* Ends a session with nothing in flight: the transport lets go of its
 * connection, waiting jobs are released unrecorded (callers record them
 * first when they must). */
static void sess_end(struct rp_engine *e, struct rp_sess *s)
{
    struct rp_job j;
    if (s->ready) { /* unlink from the ready list */
        struct rp_sess **pp = &e->ready_head, *prev = NULL;
        while (*pp && *pp != s) {
            prev = *pp;
            pp = &(*pp)->ready_next;
        }
        if (*pp)
            *pp = s->ready_next;
        if (e->ready_tail == s)
            e->ready_tail = prev;
        s->ready = 0;
    }
    while (replay_sess_wait_pop(s, &j))
        replay_rq_unref(j.rq);
    e->tp->sess_end(e->t, s);
    replay_sess_remove(&e->sess, s);
}

static void expire_idle(struct rp_engine *e, int64_t now)
{
    while (e->sess.idle_head && e->sess.idle_head->idle_until_us <= now)
        sess_end(e, e->sess.idle_head);
}

/* 1 when session s may send job j now (the transport's cap aside): when
 * nothing of it is in flight, or when the captured client pipelined j and
 * the transport pipelines. Jobs already waiting go first. */
static int sess_may_take(const struct rp_engine *e, const struct rp_sess *s,
                         const struct rp_job *j, int waiting_ok)
{
    if (s->wn && !waiting_ok)
        return 0;
    if (!s->inflight)
        return 1;
    return e->tp->pipelines && (j->rq->flags & RQ_PIPELINED) &&
           s->inflight < e->sess_depth;
}

/* ---- starting ----------------------------------------------------------- */

/* 1 when a new request may start now. */
static int may_send(const struct rp_engine *e)
{
    return e->inflight < e->max_inflight;
}

/* Hands job j to the transport (on session s, or none). Consumes it. */
static void start_job(struct rp_engine *e, struct rp_job *j,
                      struct rp_sess *s)
{
    struct rp_ctx *c = e->c;
    struct rp_outcome now;
    if (c->o->mode == RM_MAX) /* closed model: due when a slot frees up */
        j->due_us = replay_now(c);
    e->inflight++;
    if (s)
        s->inflight++;
    e->sent_delta++;
    e->inflight_delta++;
    if (replay_corr_rewrites(c, j->rq)) {
        struct rp_corr_state *cs =
            replay_corr_state(&e->corr, j->rq->conn_id, j->copy, j->loop);
        struct rp_rq *n = NULL;
        int subst = 0, missing = 0;
        int r = replay_corr_apply(c, e->hook, j->rq, cs, j->copy, j->loop, &n,
                                  &subst, &missing);
        j->subst = (uint16_t)(subst < 65535 ? subst : 65535);
        j->missing = (uint16_t)(missing < 65535 ? missing : 65535);
        if (r == 0 && n) {
            replay_rq_unref(j->rq);
            j->rq = n;
        }
    }
    memset(&now, 0, sizeof now);
    if (e->tp->start(e->t, j, s, &now) == 0)
        return;
    if (now.sent_us < 0)
        e->sent_delta--;
    replay_core_done(e, j, s, &now);
}

void replay_core_done(struct rp_engine *e, struct rp_job *job,
                      struct rp_sess *sess, const struct rp_outcome *out)
{
    if (job->rq->flags & RQ_WANT_RESP)
        replay_corr_learn(e->c, e->hook,
                          replay_corr_state(&e->corr, job->rq->conn_id,
                                            job->copy, job->loop),
                          job->rq, out);
    record(e, job, out);
    e->inflight--;
    e->inflight_delta--;
    if (sess) {
        sess->inflight--;
        ready_push(e, sess); /* looked at on the core's next round */
    }
}

/* The sessions whose requests completed: send what waits for them, let
 * idle ones keep their connection for a while, end them when stopping. */
static void run_ready(struct rp_engine *e, int64_t now)
{
    struct rp_sess *s;
    struct rp_job j;
    int record_rest = atomic_load(&e->c->stop) < 2;
    while (e->ready_head) {
        if (e->stopping) {
            s = ready_pop(e);
            while (replay_sess_wait_pop(s, &j)) {
                if (record_rest)
                    job_not_sent(e, &j, CORPUS_ERR_NOT_SENT, NULL);
                else
                    replay_rq_unref(j.rq);
            }
            if (!s->inflight)
                sess_end(e, s);
            continue;
        }
        s = e->ready_head;
        const struct rp_job *top = replay_sess_wait_top(s);
        if (top && sess_may_take(e, s, top, 1)) {
            if (!may_send(e))
                return; /* stays ready until something completes */
            replay_sess_wait_pop(s, &j);
            replay_sess_idle_unlink(&e->sess, s);
            start_job(e, &j, s);
            continue; /* look at it again: more may go */
        }
        ready_pop(e);
        if (!s->inflight && !s->wn)
            replay_sess_idle_append(&e->sess, s, now + SESS_IDLE_US);
    }
}

/* ---- dispatch ----------------------------------------------------------- */

static void pull_ring(struct rp_engine *e)
{
    struct rp_ring *r = e->ring;
    struct rp_job j;
    if (e->ring_done && !e->ring_n)
        return;
    /* Read done first: once it is set and the ring is seen empty, no job
     * can follow. */
    int done = atomic_load_explicit(&r->done, memory_order_acquire);
    while (e->heap.n < e->heap_fill && replay_spsc_pop(&r->q, &j)) {
        /* the ring holds schedule time, the heap run time */
        if (e->warp_seen)
            j.due_us = replay_warp_due_n(e->c, j.due_us, e->warp_seen);
        if (replay_heap_push(&e->heap, &j))
            job_not_sent(e, &j, CORPUS_ERR_OTHER, "out of memory");
    }
    e->ring_n = replay_spsc_len(&r->q);
    e->ring_done = done;
}

static void dispatch_due(struct rp_engine *e, int64_t now)
{
    struct rp_ctx *c = e->c;
    struct rp_job j;
    for (;;) {
        struct rp_job *t = e->heap.n ? &e->heap.v[0] : NULL;
        if (!t || t->due_us > now) {
            e->capped = 0; /* every due request went out */
            break;
        }
        struct rp_sess *ss = NULL;
        if (c->o->sessions) {
            ss = replay_sess_find(&e->sess, t->rq->conn_id, t->copy, t->loop);
            if (ss && !sess_may_take(e, ss, t, 0)) {
                replay_heap_pop(&e->heap, &j);
                if (replay_sess_wait_push(ss, &j))
                    job_not_sent(e, &j, CORPUS_ERR_OTHER, "out of memory");
                continue;
            }
            /* A new session needs a connection of its own: at the cap,
             * the one idle longest gives up its own. */
            if (!ss && (int)e->sess.n >= e->conn_cap && e->sess.idle_head &&
                may_send(e))
                sess_end(e, e->sess.idle_head);
        }
        if (!may_send(e) ||
            (c->o->sessions && !ss && (int)e->sess.n >= e->conn_cap)) {
            e->capped = c->o->mode != RM_MAX;
            break;
        }
        replay_heap_pop(&e->heap, &j);
        /* Due while the cap was reached: it waited for a connection. */
        if (e->capped)
            atomic_fetch_add_explicit(&c->cap_hits, 1, memory_order_relaxed);
        if (c->o->sessions && !ss &&
            !(ss = replay_sess_add(&e->sess, j.rq->conn_id, j.copy, j.loop))) {
            job_not_sent(e, &j, CORPUS_ERR_OTHER, "out of memory");
            continue;
        }
        if (ss)
            replay_sess_idle_unlink(&e->sess, ss);
        start_job(e, &j, ss);
    }
}

/* The multiple changed (replay_warp_set): the jobs in the heap due after
 * the change move to the new pace from there, as warp_due would have
 * placed them, and the heap is rebuilt (the order is kept, but rounding
 * may tie two due times). */
static void rewarp(struct rp_engine *e, int n)
{
    struct rp_ctx *c = e->c;
    for (int i = e->warp_seen; i < n; i++) {
        int64_t at = atomic_load(&c->warp.seg[i].r_us);
        double kp = i ? atomic_load(&c->warp.seg[i - 1].k) : 1.0;
        double ratio = atomic_load(&c->warp.seg[i].k) / kp;
        struct rp_heap h = {0};
        struct rp_job j;
        while (replay_heap_pop(&e->heap, &j)) {
            if (j.due_us > at)
                j.due_us = at + (int64_t)((double)(j.due_us - at) * ratio);
            if (replay_heap_push(&h, &j))
                job_not_sent(e, &j, CORPUS_ERR_OTHER, "out of memory");
        }
        replay_heap_free(&e->heap);
        e->heap = h;
    }
    e->warp_seen = n;
}

/* Stopping: every job not yet sent becomes a NOT_SENT result. */
static void drop_pending(struct rp_engine *e, enum corpus_errclass ec,
                         int record_them)
{
    struct rp_job j;
    while (replay_heap_pop(&e->heap, &j)) {
        if (record_them)
            job_not_sent(e, &j, ec, NULL);
        else
            replay_rq_unref(j.rq);
    }
    for (size_t i = 0; i < e->sess.cap; i++)
        for (struct rp_sess *s = e->sess.tab[i]; s; s = s->next)
            while (replay_sess_wait_pop(s, &j)) {
                if (record_them)
                    job_not_sent(e, &j, ec, NULL);
                else
                    replay_rq_unref(j.rq);
            }
}

/* ---- pre-connected sockets ---------------------------------------------- */

/* Opens up to n connections to the target before the clock starts, so the
 * first requests do not wait for handshakes (at 10k req/s a cold start
 * opened 30-100 connections in the first 10 ms and sent them 1-7 ms late).
 * The transport takes them for the address it connects to
 * (replay_core_take_preconnected); whatever is not taken is closed at the
 * end. Best effort: a failure here only means a cold start, and a refused
 * target is reported by the replay itself. */
static void preconnect(struct rp_engine *e, int n)
{
    const struct rp_opts *o = e->c->o;
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(o->conn_host, o->conn_port, &hints, &ai) || !ai ||
        ai->ai_addrlen > sizeof e->pre_addr)
        goto done;
    memcpy(&e->pre_addr, ai->ai_addr, ai->ai_addrlen);
    e->pre_addrlen = ai->ai_addrlen;
    struct pollfd pf[PRECONNECT];
    int np = 0;
    for (int i = 0; i < n && i < PRECONNECT; i++) {
        int fd = socket(ai->ai_family,
                        SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            break;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* Only sockets still connecting are kept: libcurl 7.88 calls
         * connect() despite CURL_SOCKOPT_ALREADY_CONNECTED (curl issue
         * 10626, fixed in 8.0), which Linux answers with 0 for a socket
         * whose non-blocking connect completed since, but with EISCONN for
         * one that connected at once. */
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
            errno != EINPROGRESS) {
            close(fd);
            break;
        }
        pf[np].fd = fd;
        pf[np].events = POLLOUT;
        pf[np++].revents = 0;
    }
    int64_t end = rp_mono_us() + PRECONNECT_WAIT_MS * 1000LL;
    int pending = np;
    while (pending) {
        int64_t left = end - rp_mono_us();
        if (left <= 0 || poll(pf, (nfds_t)np, (int)(left / 1000) + 1) <= 0)
            break;
        for (int i = 0; i < np; i++) {
            if (pf[i].fd < 0 || !pf[i].revents)
                continue;
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (!getsockopt(pf[i].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) &&
                !soerr && !(pf[i].revents & (POLLERR | POLLHUP)))
                e->pre[e->npre++] = pf[i].fd;
            else
                close(pf[i].fd);
            pf[i].fd = -1;
            pending--;
        }
    }
    for (int i = 0; i < np; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd); /* not connected in time */
done:
    if (ai)
        freeaddrinfo(ai);
}

int replay_core_take_preconnected(struct rp_engine *e, const void *a,
                                  unsigned len)
{
    if (!e->npre || len != e->pre_addrlen || memcmp(a, &e->pre_addr, len))
        return -1;
    while (e->npre) {
        int fd = e->pre[--e->npre];
        char b;
        if (recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
            (errno == EAGAIN || errno == EWOULDBLOCK))
            return fd; /* open, and nothing unasked-for to read */
        close(fd);
    }
    return -1;
}

/* ---- the loop ----------------------------------------------------------- */

/* Arms the timerfd for wake_us. A timer already armed for a time between
 * now and wake_us is left alone unless exact: waking early only costs a
 * loop, re-arming costs a system call per round. */
static void arm(struct rp_engine *e, int64_t wake_us, int64_t now_us,
                int exact)
{
    if (wake_us == e->armed_us ||
        (!exact && e->armed_us > now_us && e->armed_us <= wake_us))
        return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    int64_t abs_us = atomic_load(&e->c->t0_mono_us) + wake_us;
    its.it_value.tv_sec = abs_us / 1000000;
    its.it_value.tv_nsec = (abs_us % 1000000) * 1000;
    if (its.it_value.tv_sec <= 0 && its.it_value.tv_nsec <= 0)
        its.it_value.tv_nsec = 1;
    timerfd_settime(e->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    e->armed_us = wake_us;
}

void *replay_engine_main(void *arg)
{
    struct rp_engine *e = arg;
    struct rp_ctx *c = e->c;
    const struct rp_opts *o = c->o;
    struct epoll_event evs[64];
    int time_up = 0;
    int64_t grace_us = o->timeout_us < 2000000 ? o->timeout_us : 2000000;

    char name[16];
    snprintf(name, sizeof name, "rp-engine%d", e->idx);
    pthread_setname_np(pthread_self(), name);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    /* Sessions want connections of their own and h2 needs a handshake of
     * its own: neither takes ready-made connections. */
    if (!o->sessions && !o->http2) {
        int n = e->max_inflight < e->conn_cap ? e->max_inflight : e->conn_cap;
        preconnect(e, n < PRECONNECT ? n : PRECONNECT);
    }
    atomic_fetch_add(&c->ready, 1);
    while (!atomic_load(&c->go)) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    for (;;) {
        int64_t now = replay_now(c);
        if (!e->stopping && atomic_load(&c->stop)) {
            e->stopping = 1;
            e->grace_end_us = now + grace_us;
            for (size_t i = 0; i < e->sess.cap; i++) /* end them */
                for (struct rp_sess *s = e->sess.tab[i]; s; s = s->next)
                    ready_push(e, s);
        }
        if (!time_up && atomic_load(&c->time_up))
            time_up = 1; /* a --stop-if ended the steps */
        if (!time_up && o->mode == RM_MAX && o->duration_us &&
            now >= o->duration_us) {
            time_up = 1;
            atomic_store(&c->time_up, 1);
        }
        int wn = atomic_load_explicit(&c->warp.n, memory_order_acquire);
        if (wn != e->warp_seen)
            rewarp(e, wn);
        pull_ring(e);
        expire_idle(e, now);
        if (time_up) {
            drop_pending(e, CORPUS_ERR_NOT_SENT, 0);
            run_ready(e, now);
        } else if (e->stopping) {
            drop_pending(e, CORPUS_ERR_NOT_SENT, atomic_load(&c->stop) < 2);
            run_ready(e, now);
            if (e->inflight && now >= e->grace_end_us)
                e->tp->abort_all(e->t, "run interrupted before the "
                                       "response completed");
        } else {
            run_ready(e, now);
            dispatch_due(e, now);
        }
        e->tp->flush(e->t);
        int64_t dl = e->tp->deadline(e->t);
        if (dl >= 0 && replay_now(c) >= dl) {
            e->tp->expire(e->t, replay_now(c));
            continue;
        }
        now = replay_now(c);
        if (e->nbatch && now - e->batch_first_us >= BATCH_AGE_US)
            batch_flush(e);
        if (e->ring_done && !e->ring_n && !e->heap.n && !e->inflight &&
            !e->ready_head)
            break;
        /* Sleep until the next thing to do. */
        int sendable = !e->stopping && !time_up && may_send(e);
        int64_t wake = now + MAX_SLEEP_US;
        int exact = 0; /* a due time: wake then, not earlier */
        if (dl >= 0 && dl < wake)
            wake = dl;
        if (sendable && e->heap.n && e->heap.v[0].due_us < wake) {
            wake = e->heap.v[0].due_us;
            exact = 1;
        }
        if (e->stopping && e->inflight && e->grace_end_us < wake)
            wake = e->grace_end_us;
        if (e->ring_n && e->heap.n < e->heap_fill)
            wake = now;
        if (e->ready_head && (may_send(e) || e->stopping))
            wake = now;
        /* Busy-poll (--spin) while the next send is near: an idle CPU
         * halts, and on a VM waking it can take milliseconds. */
        int spin = sendable && o->mode != RM_MAX && e->heap.n &&
                   e->heap.v[0].due_us - now <= o->spin_us;
        int n;
        if (wake <= now || spin) {
            n = epoll_wait(e->epfd, evs, 64, 0);
        } else {
            publish(e); /* before sleeping, so progress is current */
            arm(e, wake, now, exact);
            n = epoll_wait(e->epfd, evs, 64, -1);
        }
        for (int i = 0; i < n; i++) {
            uint64_t tok = evs[i].data.u64;
            if (tok == RP_TOK_TIMER || tok == RP_TOK_WAKE) {
                uint64_t v;
                ssize_t rr = read(tok == RP_TOK_TIMER ? e->tfd : e->efd, &v,
                                  sizeof v);
                (void)rr;
                if (tok == RP_TOK_TIMER)
                    e->armed_us = -1;
                continue;
            }
            e->tp->event(e->t, tok, evs[i].events);
        }
    }
    batch_flush(e);
    replay_resq_producer_done(&c->resq);
    return NULL;
}

/* ---- setup -------------------------------------------------------------- */

int replay_engine_new(struct rp_ctx *c, int idx, struct rp_engine **out,
                      char *err)
{
    struct rp_engine *e = calloc(1, sizeof *e);
    const struct rp_opts *o = c->o;
    int rc;
    if (!e)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    e->c = c;
    e->idx = idx;
    e->tp = c->tp;
    e->epfd = e->tfd = e->efd = -1;
    e->armed_us = -1;
    e->ring = &c->rings[idx];
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    e->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    e->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    e->heap.v = malloc(HEAP_FILL * 2 * sizeof *e->heap.v);
    e->heap.cap = HEAP_FILL * 2;
    if (e->epfd < 0 || e->tfd < 0 || e->efd < 0 || !e->heap.v) {
        rc = rp_fail(err, RP_EIO, "cannot set up replay engine %d: %s", idx,
                     strerror(errno));
        goto fail;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.u64 = RP_TOK_TIMER;
    epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->tfd, &ev);
    ev.data.u64 = RP_TOK_WAKE;
    epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->efd, &ev);
    c->rings[idx].wake_fd = e->efd;

    int share = (o->max_connections + c->nengines - 1) / c->nengines;
    if (share < 1)
        share = 1;
    int pipe_depth = e->tp->pipelines && o->pipeline > 1 ? o->pipeline : 1;
    e->depth = pipe_depth;
    e->conn_cap = share;
    e->sess_depth = !e->tp->pipelines ? 1
                    : o->pipeline_set ? o->pipeline : SESS_DEPTH;
    if (o->mode == RM_MAX) {
        int conc = o->shard_concurrency / c->nengines +
                   (idx < o->shard_concurrency % c->nengines);
        e->max_inflight = conc > 0 ? conc : 0;
        if (!o->http2 && !o->sessions &&
            e->max_inflight > share * pipe_depth)
            e->max_inflight = share * pipe_depth;
        if (o->sessions && e->max_inflight > share * e->sess_depth)
            e->max_inflight = share * e->sess_depth;
        /* N requests deep on each connection, as wrk's pipelining does */
        int need = (e->max_inflight + pipe_depth - 1) / pipe_depth;
        if (!o->sessions && need >= 1 && need < e->conn_cap)
            e->conn_cap = need;
    } else {
        e->max_inflight = o->http2 ? share * H2_STREAMS
                          : o->sessions ? share * e->sess_depth
                                        : share * pipe_depth;
    }
    /* --max sends in ring order: a heap twice the slots never runs dry
     * between two pulls and keeps each pop a few levels deep. */
    e->heap_fill = HEAP_FILL;
    if (o->mode == RM_MAX && !o->sessions) {
        size_t fill = 2 * (size_t)e->max_inflight;
        e->heap_fill = fill < MAX_FILL_MIN ? MAX_FILL_MIN
                       : fill > HEAP_FILL  ? HEAP_FILL
                                           : fill;
    }
    if (o->script && (rc = replay_hook_new(o->script, &e->hook, err)))
        goto fail;
    struct rp_tp_env env = {.core = e, .c = c, .idx = idx, .epfd = e->epfd,
                            .conn_cap = e->conn_cap, .depth = e->depth};
    if ((rc = e->tp->create(&env, &e->t, err)))
        goto fail;
    *out = e;
    return 0;
fail:
    replay_engine_free(e);
    return rc;
}

void replay_engine_wake(struct rp_engine *e)
{
    uint64_t one = 1;
    ssize_t w = write(e->efd, &one, sizeof one);
    (void)w;
}

void replay_engine_free(struct rp_engine *e)
{
    if (!e)
        return;
    struct rp_job j;
    /* the transport first: it drops what is in flight and what the
     * sessions hold */
    if (e->t)
        e->tp->destroy(e->t);
    while (replay_heap_pop(&e->heap, &j))
        replay_rq_unref(j.rq);
    replay_heap_free(&e->heap);
    replay_sess_table_free(&e->sess);
    replay_corr_tab_free(e->corr);
    replay_hook_free(e->hook);
    while (e->npre)
        close(e->pre[--e->npre]);
    if (e->epfd >= 0)
        close(e->epfd);
    if (e->tfd >= 0)
        close(e->tfd);
    if (e->efd >= 0)
        close(e->efd);
    free(e);
}
