/*
 * engine.c: one replay engine per --threads, each a thread running libcurl
 * multi on its own epoll set through curl_multi_socket_action. Jobs arrive
 * from the feeder's ring into a due-time heap; a timerfd armed at the next
 * due time (or libcurl's timeout, whichever is first) wakes the loop with
 * microsecond precision, so requests leave when they are due whether or not
 * earlier responses arrived (open model) or, in --max, as soon as one of the
 * N slots is free (closed model). Easy handles are reused, so libcurl keeps
 * connections alive. In --sessions mode a captured connection's requests go
 * one at a time, in order, on one easy handle, and a request that becomes
 * due while its session is busy waits (its lateness is recorded). Every job
 * yields exactly one result, batched into the recorder's queue.
 */
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
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

#define HEAP_FILL 2048       /* jobs pulled ahead from the ring */
#define MAX_FILL_MIN 64      /* --max: pull ahead 2 x slots, at least this */
#define BATCH 64             /* results per push to the recorder */
#define BATCH_AGE_US 5000    /* push a partial batch after this long */
#define MAX_SLEEP_US 50000   /* wake at least this often (stop, batches) */
#define H2_STREAMS 100       /* in-flight requests per connection with h2 */
#define PREWARM_SLOTS 64     /* easy handles made before the start */
#define PRECONNECT 16        /* connections opened before the start */
#define PRECONNECT_WAIT_MS 1000
#define SESS_IDLE_US 10000000 /* a session idle this long ends */
#define SESS_MAXAGE_S 9L     /* libcurl: idle >= 10 s is not reused */
#define NLANES 16384         /* pinned sessions at once per engine */
#define LANE_PORT_BASE 10000 /* lane i prefers local port base + i */
#define LANE_PORT_RANGE 20000L

struct rp_sess;
struct rp_fdst;

struct rp_slot {
    CURL *h;
    struct rp_engine *e;
    struct rp_job job;          /* the job in flight */
    struct rp_sess *sess;       /* --sessions: owner */
    EVP_MD_CTX *md;
    int md_on;                  /* digest started (first body byte seen) */
    int busy;
    int64_t bytes;              /* response body bytes */
    int64_t sent_us;
    char errbuf[CURL_ERROR_SIZE];
    struct rp_slot *next_free;
};

/* A replayed session (--sessions): one captured connection (and copy,
 * loop) on one easy handle and one replay connection. The connection is
 * pinned through libcurl's pool key: each live session binds its own local
 * port preference (lane), so no other session's request can take its idle
 * connection, and its first request forces a fresh connection. A session
 * idle for SESS_IDLE_US ends; libcurl then no longer reuses its connection
 * (CURLOPT_MAXAGE_CONN), and a later request of the same captured
 * connection starts a new session. */
struct rp_sess {
    int64_t conn_id;
    int copy, loop;
    struct rp_slot *slot;       /* its easy handle, busy while in flight */
    int lane;                   /* pool key (local port), -1 when none */
    int fresh;                  /* next request opens a new connection */
    int idle;                   /* on the idle list */
    int64_t idle_until_us;
    struct rp_sess *idle_prev, *idle_next;
    struct rp_job *wait;        /* FIFO of due jobs waiting for the slot */
    size_t whead, wn, wcap;
    struct rp_sess *next;       /* hash chain */
};

struct rp_engine {
    struct rp_ctx *c;
    int idx;
    CURLM *multi;
    EVP_MD *sha256;
    int epfd, tfd, efd;
    int64_t curl_deadline;      /* run-relative µs, -1 when none */
    int64_t armed_us;           /* what the timerfd is armed for */
    struct rp_heap heap;
    size_t heap_fill;           /* jobs to hold (--max needs few: cheaper
                                   heap operations) */
    struct rp_ring *ring;
    int ring_done;
    size_t ring_n;              /* jobs left in the ring at the last pull */
    struct rp_slot **slots;     /* every slot ever made */
    int nslots, slots_cap;
    struct rp_slot *free_slots;
    int inflight, max_inflight;
    int kick;                   /* handles added since the last kick */
    int capped;                 /* due requests wait for the cap */
    struct rp_sess **stab;      /* session hash table */
    size_t stab_cap, nsess;
    struct rp_res batch[BATCH];
    size_t nbatch;
    int64_t batch_first_us;
    int64_t grace_end_us;       /* stopping: abort in-flight after this */
    struct rp_fdst *fds;        /* epoll state by descriptor */
    size_t nfds;
    struct rp_sess *idle_head, *idle_tail; /* idle sessions, oldest first */
    int *lanes;                 /* free lanes (a stack) */
    int nlanes;
    int pre[PRECONNECT];        /* connected before the start, unused yet */
    int npre;
    struct sockaddr_storage pre_addr; /* the address they are connected to */
    socklen_t pre_addrlen;
};

int64_t ctx_now(const struct rp_ctx *c)
{
    return rp_mono_us() -
           atomic_load_explicit(&c->t0_mono_us, memory_order_relaxed);
}

enum corpus_errclass engine_errclass(int code)
{
    switch ((CURLcode)code) {
    case CURLE_OK:
        return CORPUS_ERR_NONE;
    case CURLE_COULDNT_CONNECT:
        return CORPUS_ERR_REFUSED;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return CORPUS_ERR_RESET;
    case CURLE_OPERATION_TIMEDOUT:
        return CORPUS_ERR_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return CORPUS_ERR_DNS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return CORPUS_ERR_TLS;
    default:
        return CORPUS_ERR_PROTOCOL;
    }
}

/* ---- results ------------------------------------------------------------ */

static void batch_flush(struct rp_engine *e)
{
    for (size_t i = 0; i < e->nbatch; i++)
        resq_push(&e->c->resq, e->idx, &e->batch[i]);
    e->nbatch = 0;
}

static struct rp_res *batch_next(struct rp_engine *e)
{
    if (e->nbatch == BATCH)
        batch_flush(e);
    if (!e->nbatch)
        e->batch_first_us = ctx_now(e->c);
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
    r->copy = j->copy;
    r->loop = j->loop;
    r->scheduled_us = j->due_us;
    r->sent_us = r->first_byte_us = r->done_us = -1;
    r->error_class = ec;
    r->error = msg ? strdup(msg) : NULL;
    rq_unref(j->rq);
    j->rq = NULL;
}

/* ---- libcurl callbacks -------------------------------------------------- */

/* epoll bookkeeping per descriptor. Sockets libcurl opens through
 * open_cb are ours: when libcurl stops watching one (a kept-alive
 * connection between two requests) it stays in the epoll set, marked
 * inactive, so the next request on it costs no epoll_ctl; an event on an
 * inactive one removes it then. Other descriptors (the resolver's) are
 * added and removed as libcurl asks, since they are closed behind our
 * back. */
struct rp_fdst {
    uint8_t ours;    /* opened by open_cb, closed by close_cb */
    uint8_t pre;     /* connected before the start (see preconnect) */
    uint8_t in_ep;   /* in the epoll set */
    uint8_t active;  /* libcurl wants events for it */
    uint32_t events; /* EPOLL* mask registered */
};

static struct rp_fdst *fdst(struct rp_engine *e, int fd)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= e->nfds) {
        size_t n = e->nfds ? e->nfds : 256;
        while (n <= (size_t)fd)
            n *= 2;
        struct rp_fdst *v = realloc(e->fds, n * sizeof *v);
        if (!v)
            return NULL;
        memset(v + e->nfds, 0, (n - e->nfds) * sizeof *v);
        e->fds = v;
        e->nfds = n;
    }
    return &e->fds[fd];
}

/* A connection made before the start to the address libcurl asks for,
 * if one is left and the server has not closed it meanwhile; else -1. */
static int take_preconnected(struct rp_engine *e, const struct curl_sockaddr *a)
{
    if (a->socktype != SOCK_STREAM || a->addrlen != e->pre_addrlen ||
        memcmp(&a->addr, &e->pre_addr, a->addrlen))
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

static curl_socket_t open_cb(void *clientp, curlsocktype purpose,
                             struct curl_sockaddr *a)
{
    struct rp_engine *e = clientp;
    (void)purpose;
    int pre = e->npre ? take_preconnected(e, a) : -1;
    int fd = pre >= 0 ? pre
                      : socket(a->family, a->socktype | SOCK_CLOEXEC,
                               a->protocol);
    struct rp_fdst *st = fdst(e, fd);
    if (st) {
        memset(st, 0, sizeof *st);
        st->ours = 1;
        st->pre = pre >= 0;
    }
    return fd >= 0 ? fd : CURL_SOCKET_BAD;
}

/* Tells libcurl not to connect a socket that open_cb took ready-made. */
static int sockopt_cb(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
    struct rp_engine *e = clientp;
    (void)purpose;
    struct rp_fdst *st = fdst(e, fd); /* open_cb registered it */
    return st && st->pre ? CURL_SOCKOPT_ALREADY_CONNECTED : CURL_SOCKOPT_OK;
}

/* Opens up to n connections to the target before the clock starts, so the
 * first requests do not wait for handshakes (at 10k req/s a cold start
 * opened 30-100 connections in the first 10 ms and sent them 1-7 ms late).
 * open_cb hands them to libcurl for the address it asks for; whatever is
 * not taken is closed at the end. Best effort: a failure here only means
 * a cold start, and a refused target is reported by the replay itself. */
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

static int close_cb(void *clientp, curl_socket_t fd)
{
    struct rp_engine *e = clientp;
    struct rp_fdst *st = fdst(e, fd);
    if (st) {
        if (st->in_ep)
            epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
        memset(st, 0, sizeof *st);
    }
    return close(fd);
}

static void ep_set(struct rp_engine *e, int fd, uint32_t events)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.fd = fd;
    ev.events = events;
    if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
        epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int sock_cb(CURL *h, curl_socket_t s, int what, void *userp,
                   void *socketp)
{
    struct rp_engine *e = userp;
    struct rp_fdst *st = fdst(e, s);
    (void)h;
    (void)socketp;
    if (what == CURL_POLL_REMOVE) {
        if (st && st->ours && st->in_ep) {
            st->active = 0;
            return 0;
        }
        epoll_ctl(e->epfd, EPOLL_CTL_DEL, s, NULL);
        if (st)
            st->in_ep = st->active = 0;
        return 0;
    }
    uint32_t events = 0;
    if (what & CURL_POLL_IN)
        events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        events |= EPOLLOUT;
    if (!st) {
        ep_set(e, s, events);
        return 0;
    }
    if (!st->in_ep) {
        struct epoll_event ev;
        memset(&ev, 0, sizeof ev);
        ev.data.fd = s;
        ev.events = events;
        if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, s, &ev) < 0 && errno == EEXIST)
            epoll_ctl(e->epfd, EPOLL_CTL_MOD, s, &ev);
    } else if (st->events != events) {
        ep_set(e, s, events);
    }
    st->in_ep = st->active = 1;
    st->events = events;
    return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    struct rp_engine *e = userp;
    (void)m;
    e->curl_deadline = timeout_ms < 0 ? -1
                                      : ctx_now(e->c) + timeout_ms * 1000;
    return 0;
}

static size_t write_cb(char *p, size_t size, size_t n, void *userp)
{
    struct rp_slot *s = userp;
    size_t len = size * n;
    if (!len)
        return 0;
    if (!s->md_on) {
        EVP_DigestInit_ex(s->md, s->e->sha256, NULL);
        s->md_on = 1;
    }
    EVP_DigestUpdate(s->md, p, len);
    s->bytes += (int64_t)len;
    return len;
}

/* ---- slots -------------------------------------------------------------- */

static struct rp_slot *slot_get(struct rp_engine *e)
{
    struct rp_slot *s = e->free_slots;
    if (s) {
        e->free_slots = s->next_free;
        return s;
    }
    if (e->nslots == e->slots_cap) {
        int nc = e->slots_cap ? e->slots_cap * 2 : 64;
        struct rp_slot **v = realloc(e->slots, (size_t)nc * sizeof *v);
        if (!v)
            return NULL;
        e->slots = v;
        e->slots_cap = nc;
    }
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->e = e;
    s->h = curl_easy_init();
    s->md = EVP_MD_CTX_new();
    if (!s->h || !s->md) {
        curl_easy_cleanup(s->h);
        EVP_MD_CTX_free(s->md);
        free(s);
        return NULL;
    }
    const struct rp_opts *o = e->c->o;
    CURL *h = s->h;
    curl_easy_setopt(h, CURLOPT_URL, o->base_url);
    curl_easy_setopt(h, CURLOPT_PRIVATE, s);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* no proxy from the environment */
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_cb);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, e);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, e);
    curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
    curl_easy_setopt(h, CURLOPT_SOCKOPTDATA, e);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     (long)((o->timeout_us + 999) / 1000));
    if (o->http2) {
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                         !strcmp(o->scheme, "https")
                             ? (long)CURL_HTTP_VERSION_2TLS
                             : (long)CURL_HTTP_VERSION_2_0);
        curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                         (long)CURL_HTTP_VERSION_1_1);
    }
    if (o->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (o->cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
    if (o->sessions)
        curl_easy_setopt(h, CURLOPT_MAXAGE_CONN, SESS_MAXAGE_S);
    e->slots[e->nslots++] = s;
    return s;
}

static void slot_put(struct rp_engine *e, struct rp_slot *s)
{
    s->busy = 0;
    s->sess = NULL;
    s->next_free = e->free_slots;
    e->free_slots = s;
}

/* Sets the method and body of a reused handle from scratch. */
static void set_method(CURL *h, const struct rp_rq *rq)
{
    const char *m = rq->method;
    curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    if (!strcmp(m, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        return;
    }
    if (rq->body_len || !strcmp(m, "POST") || !strcmp(m, "PUT") ||
        !strcmp(m, "PATCH")) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)rq->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                         rq->body ? (const char *)rq->body : "");
        if (strcmp(m, "POST"))
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    } else if (strcmp(m, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    }
}

/* Starts job j on slot s (consumes the job's reference on success and on
 * failure, which is recorded as a result). */
static void start(struct rp_engine *e, struct rp_slot *s, struct rp_job *j)
{
    struct rp_ctx *c = e->c;
    CURL *h = s->h;
    s->job = *j;
    s->bytes = 0;
    s->md_on = 0;
    s->errbuf[0] = '\0';
    s->busy = 1;
    if (s->sess) {
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, s->sess->fresh ? 1L : 0L);
        s->sess->fresh = 0;
    }
    curl_easy_setopt(h, CURLOPT_REQUEST_TARGET, j->rq->target);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, j->rq->headers);
    set_method(h, j->rq);
    s->sent_us = ctx_now(c);
    if (c->o->mode == RM_MAX) /* closed model: due when a slot frees up */
        s->job.due_us = j->due_us = s->sent_us;
    CURLMcode mc = curl_multi_add_handle(e->multi, h);
    if (mc != CURLM_OK) {
        job_not_sent(e, &s->job, CORPUS_ERR_OTHER, curl_multi_strerror(mc));
        s->busy = 0;
        if (!s->sess) /* a session's caller decides what happens to it */
            slot_put(e, s);
        return;
    }
    e->inflight++;
    e->kick = 1;
    atomic_fetch_add_explicit(&c->sent, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->inflight, 1, memory_order_relaxed);
}

/* ---- sessions ----------------------------------------------------------- */

static size_t sess_hash(int64_t conn, int copy, int loop)
{
    uint64_t x = (uint64_t)conn * 0x9E3779B97F4A7C15ull ^
                 (uint64_t)copy * 0xC2B2AE3D27D4EB4Full ^ (uint64_t)loop;
    return (size_t)(x ^ (x >> 29));
}

static struct rp_sess **sess_find(struct rp_engine *e, int64_t conn,
                                  int copy, int loop)
{
    if (!e->stab_cap)
        return NULL;
    struct rp_sess **pp = &e->stab[sess_hash(conn, copy, loop) &
                                   (e->stab_cap - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->conn_id == conn && (*pp)->copy == copy &&
            (*pp)->loop == loop)
            return pp;
    return pp;
}

static struct rp_sess *sess_add(struct rp_engine *e, int64_t conn, int copy,
                                int loop)
{
    if (e->nsess * 2 >= e->stab_cap) {
        size_t nc = e->stab_cap ? e->stab_cap * 2 : 1024;
        struct rp_sess **nt = calloc(nc, sizeof *nt);
        if (!nt)
            return NULL;
        for (size_t i = 0; i < e->stab_cap; i++) {
            struct rp_sess *s = e->stab[i], *next;
            for (; s; s = next) {
                next = s->next;
                size_t b = sess_hash(s->conn_id, s->copy, s->loop) & (nc - 1);
                s->next = nt[b];
                nt[b] = s;
            }
        }
        free(e->stab);
        e->stab = nt;
        e->stab_cap = nc;
    }
    struct rp_sess *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->conn_id = conn;
    s->copy = copy;
    s->loop = loop;
    size_t b = sess_hash(conn, copy, loop) & (e->stab_cap - 1);
    s->next = e->stab[b];
    e->stab[b] = s;
    e->nsess++;
    return s;
}

static void idle_unlink(struct rp_engine *e, struct rp_sess *s)
{
    if (!s->idle)
        return;
    if (s->idle_prev)
        s->idle_prev->idle_next = s->idle_next;
    else
        e->idle_head = s->idle_next;
    if (s->idle_next)
        s->idle_next->idle_prev = s->idle_prev;
    else
        e->idle_tail = s->idle_prev;
    s->idle_prev = s->idle_next = NULL;
    s->idle = 0;
}

static void idle_append(struct rp_engine *e, struct rp_sess *s, int64_t now)
{
    s->idle = 1;
    s->idle_until_us = now + SESS_IDLE_US;
    s->idle_next = NULL;
    s->idle_prev = e->idle_tail;
    if (e->idle_tail)
        e->idle_tail->idle_next = s;
    else
        e->idle_head = s;
    e->idle_tail = s;
}

/* Gives a new session its easy handle and, when one is free, a lane. */
static void sess_bind(struct rp_engine *e, struct rp_sess *ss,
                      struct rp_slot *s)
{
    ss->slot = s;
    s->sess = ss;
    ss->fresh = 1;
    ss->lane = e->nlanes ? e->lanes[--e->nlanes] : -1;
    if (ss->lane >= 0) {
        curl_easy_setopt(s->h, CURLOPT_LOCALPORT,
                         (long)(LANE_PORT_BASE + ss->lane));
        curl_easy_setopt(s->h, CURLOPT_LOCALPORTRANGE, LANE_PORT_RANGE);
    }
}

/* Ends a session: its handle goes back to the pool, its lane is freed. */
static void sess_end(struct rp_engine *e, struct rp_sess *ss)
{
    struct rp_sess **pp = sess_find(e, ss->conn_id, ss->copy, ss->loop);
    if (pp && *pp == ss)
        *pp = ss->next;
    e->nsess--;
    idle_unlink(e, ss);
    struct rp_slot *s = ss->slot;
    if (s) {
        if (ss->lane >= 0) {
            curl_easy_setopt(s->h, CURLOPT_LOCALPORT, 0L);
            curl_easy_setopt(s->h, CURLOPT_LOCALPORTRANGE, 1L);
            e->lanes[e->nlanes++] = ss->lane;
        }
        curl_easy_setopt(s->h, CURLOPT_FRESH_CONNECT, 0L);
        slot_put(e, s);
    }
    free(ss->wait);
    free(ss);
}

static void expire_idle(struct rp_engine *e, int64_t now)
{
    while (e->idle_head && e->idle_head->idle_until_us <= now)
        sess_end(e, e->idle_head);
}

static int sess_wait_push(struct rp_sess *s, const struct rp_job *j)
{
    if (s->wn == s->wcap) {
        size_t nc = s->wcap ? s->wcap * 2 : 4;
        struct rp_job *v = malloc(nc * sizeof *v);
        if (!v)
            return RP_ENOMEM;
        for (size_t i = 0; i < s->wn; i++)
            v[i] = s->wait[(s->whead + i) % s->wcap];
        free(s->wait);
        s->wait = v;
        s->wcap = nc;
        s->whead = 0;
    }
    s->wait[(s->whead + s->wn) % s->wcap] = *j;
    s->wn++;
    return 0;
}

static int sess_wait_pop(struct rp_sess *s, struct rp_job *j)
{
    if (!s->wn)
        return 0;
    *j = s->wait[s->whead];
    s->whead = (s->whead + 1) % s->wcap;
    s->wn--;
    return 1;
}

/* ---- completion --------------------------------------------------------- */

static void fill_result(struct rp_engine *e, struct rp_slot *s, CURLcode cc,
                        int64_t done_us, const char *msg)
{
    CURL *h = s->h;
    struct rp_res *r = batch_next(e);
    long status = 0, nconn = 0;
    curl_off_t ttfb = 0, conn = 0;
    r->exchange_id = s->job.rq->ex_id;
    r->copy = s->job.copy;
    r->loop = s->job.loop;
    r->scheduled_us = s->job.due_us;
    r->sent_us = s->sent_us;
    r->done_us = done_us;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconn);
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &conn);
    r->status = (int)status;
    r->first_byte_us = status > 0 && ttfb > 0 ? s->sent_us + (int64_t)ttfb
                                                : -1;
    if (r->first_byte_us > done_us)
        r->first_byte_us = done_us;
    r->connect_us = nconn > 0 ? (int64_t)conn : 0;
    r->resp_bytes = s->bytes;
    if (cc == CURLE_OK && s->md_on) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        EVP_DigestFinal_ex(s->md, md, &mdlen);
        memcpy(r->body_hash, md, RP_HASH_LEN);
        r->has_body_hash = 1;
    }
    r->error_class = msg ? CORPUS_ERR_OTHER : engine_errclass((int)cc);
    if (msg)
        r->error = strdup(msg);
    else if (cc != CURLE_OK)
        r->error = strdup(s->errbuf[0] ? s->errbuf : curl_easy_strerror(cc));
}

/* Ends the transfer on slot s, records it and starts what waits for it. */
static void finish(struct rp_engine *e, struct rp_slot *s, CURLcode cc,
                   const char *msg)
{
    struct rp_ctx *c = e->c;
    int64_t now = ctx_now(c);
    fill_result(e, s, cc, now, msg);
    curl_multi_remove_handle(e->multi, s->h);
    rq_unref(s->job.rq);
    s->job.rq = NULL;
    s->busy = 0;
    e->inflight--;
    atomic_fetch_sub_explicit(&c->inflight, 1, memory_order_relaxed);
    struct rp_sess *ss = s->sess;
    if (ss) {
        struct rp_job next;
        while (!atomic_load(&c->stop) && sess_wait_pop(ss, &next)) {
            start(e, s, &next);
            if (s->busy)
                return;
        }
        if (!atomic_load(&c->stop)) {
            idle_append(e, ss, now); /* keeps its connection for a while */
            return;
        }
        while (sess_wait_pop(ss, &next))
            job_not_sent(e, &next, CORPUS_ERR_NOT_SENT, NULL);
        sess_end(e, ss);
        return;
    }
    slot_put(e, s);
}

static void read_done(struct rp_engine *e)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(e->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        CURLcode cc = m->data.result;
        if (priv)
            finish(e, (struct rp_slot *)(void *)priv, cc, NULL);
    }
}

static void kick(struct rp_engine *e)
{
    int running;
    while (e->kick) {
        e->kick = 0;
        curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        read_done(e);
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
    while (e->heap.n < e->heap_fill && spsc_pop(&r->q, &j))
        if (heap_push(&e->heap, &j))
            job_not_sent(e, &j, CORPUS_ERR_OTHER, "out of memory");
    e->ring_n = spsc_len(&r->q);
    e->ring_done = done;
}

/* 1 when a new request may start now. */
static int may_send(struct rp_engine *e)
{
    return e->inflight < e->max_inflight;
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
            struct rp_sess **pp = sess_find(e, t->rq->conn_id, t->copy,
                                            t->loop);
            ss = pp ? *pp : NULL;
            if (ss && ss->slot->busy) {
                heap_pop(&e->heap, &j);
                if (sess_wait_push(ss, &j))
                    job_not_sent(e, &j, CORPUS_ERR_OTHER, "out of memory");
                continue;
            }
        }
        if (!may_send(e)) {
            e->capped = c->o->mode != RM_MAX;
            break;
        }
        heap_pop(&e->heap, &j);
        /* Due while the cap was reached: it waited for a connection. */
        if (e->capped)
            atomic_fetch_add_explicit(&c->cap_hits, 1, memory_order_relaxed);
        if (ss) { /* an idle session: same handle, same connection */
            idle_unlink(e, ss);
            start(e, ss->slot, &j);
            if (!ss->slot->busy)
                idle_append(e, ss, now);
            continue;
        }
        struct rp_slot *s = slot_get(e);
        if (s && c->o->sessions) {
            ss = sess_add(e, j.rq->conn_id, j.copy, j.loop);
            if (!ss) {
                slot_put(e, s);
                s = NULL;
            } else {
                sess_bind(e, ss, s);
            }
        }
        if (!s) {
            job_not_sent(e, &j, CORPUS_ERR_OTHER, "out of memory");
            continue;
        }
        start(e, s, &j);
        if (ss && !s->busy)
            sess_end(e, ss);
    }
}

/* Stopping: every job not yet sent becomes a NOT_SENT result. */
static void drop_pending(struct rp_engine *e, enum corpus_errclass ec,
                         int record)
{
    struct rp_job j;
    while (heap_pop(&e->heap, &j)) {
        if (record)
            job_not_sent(e, &j, ec, NULL);
        else
            rq_unref(j.rq);
    }
    for (size_t i = 0; i < e->stab_cap; i++)
        for (struct rp_sess *s = e->stab[i]; s; s = s->next)
            while (sess_wait_pop(s, &j)) {
                if (record)
                    job_not_sent(e, &j, ec, NULL);
                else
                    rq_unref(j.rq);
            }
}

static void abort_inflight(struct rp_engine *e)
{
    for (int i = 0; i < e->nslots; i++) {
        struct rp_slot *s = e->slots[i];
        if (s->busy)
            finish(e, s, CURLE_OK, "run interrupted before the response "
                                   "completed");
    }
}

/* ---- the loop ----------------------------------------------------------- */

static void arm(struct rp_engine *e, int64_t wake_us)
{
    if (wake_us == e->armed_us)
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

void *engine_main(void *arg)
{
    struct rp_engine *e = arg;
    struct rp_ctx *c = e->c;
    const struct rp_opts *o = c->o;
    struct epoll_event evs[64];
    int stopping = 0, time_up = 0, running;
    int64_t grace_us = o->timeout_us < 2000000 ? o->timeout_us : 2000000;

    char name[16];
    snprintf(name, sizeof name, "rp-engine%d", e->idx);
    pthread_setname_np(pthread_self(), name);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    /* Make the first handles now, not when the first requests are due. */
    struct rp_slot *warm = NULL;
    for (int i = 0; i < e->max_inflight && i < PREWARM_SLOTS; i++) {
        struct rp_slot *s = slot_get(e);
        if (!s)
            break;
        s->next_free = warm;
        warm = s;
    }
    while (warm) {
        struct rp_slot *next = warm->next_free;
        slot_put(e, warm);
        warm = next;
    }
    /* Sessions pin connections by local port and h2 needs one: neither
     * takes ready-made connections. */
    if (!o->sessions && !o->http2)
        preconnect(e, e->max_inflight < PRECONNECT ? e->max_inflight
                                                   : PRECONNECT);
    atomic_fetch_add(&c->ready, 1);
    while (!atomic_load(&c->go)) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    for (;;) {
        int64_t now = ctx_now(c);
        if (!stopping && atomic_load(&c->stop)) {
            stopping = 1;
            e->grace_end_us = now + grace_us;
        }
        if (!time_up && o->mode == RM_MAX && o->duration_us &&
            now >= o->duration_us) {
            time_up = 1;
            atomic_store(&c->time_up, 1);
        }
        pull_ring(e);
        expire_idle(e, now);
        if (time_up) {
            drop_pending(e, CORPUS_ERR_NOT_SENT, 0);
        } else if (stopping) {
            drop_pending(e, CORPUS_ERR_NOT_SENT, atomic_load(&c->stop) < 2);
            if (e->inflight && now >= e->grace_end_us)
                abort_inflight(e);
        } else {
            dispatch_due(e, now);
        }
        kick(e);
        if (e->curl_deadline >= 0 && ctx_now(c) >= e->curl_deadline) {
            e->curl_deadline = -1;
            curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0,
                                     &running);
            read_done(e);
            kick(e);
            continue;
        }
        now = ctx_now(c);
        if (e->nbatch && now - e->batch_first_us >= BATCH_AGE_US)
            batch_flush(e);
        if (e->ring_done && !e->ring_n && !e->heap.n && !e->inflight)
            break;
        /* Sleep until the next thing to do. */
        int64_t wake = now + MAX_SLEEP_US;
        if (e->curl_deadline >= 0 && e->curl_deadline < wake)
            wake = e->curl_deadline;
        if (!stopping && !time_up && e->heap.n && may_send(e) &&
            e->heap.v[0].due_us < wake)
            wake = e->heap.v[0].due_us;
        if (stopping && e->inflight && e->grace_end_us < wake)
            wake = e->grace_end_us;
        if (e->ring_n && e->heap.n < e->heap_fill)
            wake = now;
        /* Busy-poll (--spin) while the next send is near: an idle CPU
         * halts, and on a VM waking it can take milliseconds. */
        int spin = !stopping && !time_up && o->mode != RM_MAX &&
                   e->heap.n && may_send(e) &&
                   e->heap.v[0].due_us - now <= o->spin_us;
        int n;
        if (wake <= now || spin) {
            n = epoll_wait(e->epfd, evs, 64, 0);
        } else {
            arm(e, wake);
            n = epoll_wait(e->epfd, evs, 64, -1);
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == e->tfd || fd == e->efd) {
                uint64_t v;
                ssize_t rr = read(fd, &v, sizeof v);
                (void)rr;
                if (fd == e->tfd)
                    e->armed_us = -1;
                continue;
            }
            struct rp_fdst *st = fd < (int)e->nfds ? &e->fds[fd] : NULL;
            if (st && st->in_ep && !st->active) {
                /* a kept-alive socket libcurl is not watching: closed by
                 * the server or noise; libcurl checks it before reuse */
                epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
                st->in_ep = 0;
                continue;
            }
            int flags = 0;
            if (evs[i].events & EPOLLIN)
                flags |= CURL_CSELECT_IN;
            if (evs[i].events & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
            if (evs[i].events & (EPOLLERR | EPOLLHUP))
                flags |= CURL_CSELECT_ERR;
            curl_multi_socket_action(e->multi, fd, flags, &running);
        }
        if (n > 0)
            read_done(e);
    }
    batch_flush(e);
    resq_producer_done(&c->resq);
    return NULL;
}

/* ---- setup -------------------------------------------------------------- */

int engine_new(struct rp_ctx *c, int idx, struct rp_engine **out, char *err)
{
    struct rp_engine *e = calloc(1, sizeof *e);
    const struct rp_opts *o = c->o;
    int share;
    if (!e)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    e->c = c;
    e->idx = idx;
    e->epfd = e->tfd = e->efd = -1;
    e->curl_deadline = -1;
    e->armed_us = -1;
    e->ring = &c->rings[idx];
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    e->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    e->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    e->multi = curl_multi_init();
    e->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    e->heap.v = malloc(HEAP_FILL * 2 * sizeof *e->heap.v);
    e->heap.cap = HEAP_FILL * 2;
    if (e->epfd < 0 || e->tfd < 0 || e->efd < 0 || !e->multi ||
        !e->sha256 || !e->heap.v) {
        engine_free(e);
        return rp_fail(err, RP_EIO, "cannot set up replay engine %d: %s",
                       idx, strerror(errno));
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = e->tfd;
    epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->tfd, &ev);
    ev.data.fd = e->efd;
    epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->efd, &ev);
    c->rings[idx].wake_fd = e->efd;

    if (o->sessions) {
        e->lanes = malloc(NLANES * sizeof *e->lanes);
        if (!e->lanes) {
            engine_free(e);
            return rp_fail(err, RP_ENOMEM, "out of memory");
        }
        for (int i = 0; i < NLANES; i++)
            e->lanes[i] = NLANES - 1 - i; /* lane 0 on top */
        e->nlanes = NLANES;
    }
    share = (o->max_connections + c->nengines - 1) / c->nengines;
    if (share < 1)
        share = 1;
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
    curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)share);
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)share);
    curl_multi_setopt(e->multi, CURLMOPT_PIPELINING,
                      o->http2 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
    if (o->mode == RM_MAX) {
        int conc = o->concurrency / c->nengines +
                   (idx < o->concurrency % c->nengines);
        e->max_inflight = conc > 0 ? conc : 0;
    } else {
        e->max_inflight = o->http2 ? share * H2_STREAMS : share;
    }
    if (o->mode == RM_MAX && !o->http2 && e->max_inflight > share)
        e->max_inflight = share;
    /* --max sends in ring order: a heap twice the slots never runs dry
     * between two pulls and keeps each pop a few levels deep. */
    e->heap_fill = HEAP_FILL;
    if (o->mode == RM_MAX && !o->sessions) {
        size_t fill = 2 * (size_t)e->max_inflight;
        e->heap_fill = fill < MAX_FILL_MIN ? MAX_FILL_MIN
                       : fill > HEAP_FILL  ? HEAP_FILL
                                           : fill;
    }
    *out = e;
    return 0;
}

void engine_wake(struct rp_engine *e)
{
    uint64_t one = 1;
    ssize_t w = write(e->efd, &one, sizeof one);
    (void)w;
}

void engine_free(struct rp_engine *e)
{
    if (!e)
        return;
    struct rp_job j;
    while (heap_pop(&e->heap, &j))
        rq_unref(j.rq);
    heap_free(&e->heap);
    for (size_t i = 0; i < e->stab_cap; i++) {
        struct rp_sess *s = e->stab[i], *next;
        for (; s; s = next) {
            next = s->next;
            while (sess_wait_pop(s, &j))
                rq_unref(j.rq);
            free(s->wait);
            free(s);
        }
    }
    free(e->stab);
    for (int i = 0; i < e->nslots; i++) {
        struct rp_slot *s = e->slots[i];
        if (s->busy) {
            curl_multi_remove_handle(e->multi, s->h);
            rq_unref(s->job.rq);
        }
        curl_easy_cleanup(s->h);
        EVP_MD_CTX_free(s->md);
        free(s);
    }
    free(e->slots);
    while (e->npre)
        close(e->pre[--e->npre]);
    if (e->multi)
        curl_multi_cleanup(e->multi);
    free(e->fds);
    free(e->lanes);
    EVP_MD_free(e->sha256);
    if (e->epfd >= 0)
        close(e->epfd);
    if (e->tfd >= 0)
        close(e->tfd);
    if (e->efd >= 0)
        close(e->efd);
    free(e);
}
