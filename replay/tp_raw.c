/*
 * tp_raw.c: the raw HTTP/1.1 transport (transport.h), the default for
 * http:// targets. It writes each request's head and body as prepared
 * (the captured bytes with the user's edits: request line, header names in
 * their captured case and order, duplicates, chunked framing with its
 * extensions and trailers) with one sendmsg per connection and round, from
 * the request's own memory, and frames responses with proto/http_parse,
 * the framer capture uses: Content-Length, chunked with trailers,
 * close-delimited, HEAD/204/304, 1xx interim responses (100-continue
 * included), 101 and CONNECT tunnels. Connections are non-blocking sockets
 * on the core's epoll set, registered once for reading; writability is
 * asked for only while a write is stuck, so a request on a kept-alive
 * connection costs one write and one read. A connection carries up to
 * depth requests at once (--pipeline), answered in order.
 *
 * Every job ends exactly once: answered, or failed with a class (refused,
 * reset, timeout, protocol, dns) and a message that names the peer. A
 * request that got no byte of response because its kept-alive connection
 * died under it (the server closed it as the request went out, or closed
 * it after a "Connection: close" response to a request pipelined before
 * it) is sent once more on a fresh connection, as browsers and libcurl do.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "proto/http_parse.h"
#include "replay/replay_int.h"
#include "replay/transport.h"

#define RBUF_BYTES 65536     /* one read; shared by an engine's conns */
#define MAX_IOV 64           /* pieces per sendmsg */
#define RESP_KEEP_MAX (1u << 20) /* response bytes kept for correlation */
#define MAX_ADDRS 8          /* addresses of the target tried in order */

/* ---- prepared requests -------------------------------------------------- */

/* The bytes of a request as the raw transport writes them: usually the
 * shaped head and the stored body as they are; framing is only made up
 * where the stored body cannot be sent with the captured head (a body cut
 * short at capture, a chunked body stored de-chunked by an older reprise,
 * or a body without any framing header). */
struct raw_prep {
    struct iovec iov[4];
    int niov;
    size_t total;
    unsigned char is_head;    /* HEAD: the response has no body */
    unsigned char is_connect; /* CONNECT: a 2xx starts a tunnel */
    char *own;                /* bytes made here (head copy, chunk lines) */
    uint8_t *own_body;        /* de-chunked part of a partial body */
};

static void prep_free(void *p)
{
    struct raw_prep *rp = p;
    if (!rp)
        return;
    free(rp->own);
    free(rp->own_body);
    free(rp);
}

static void add_iov(struct raw_prep *p, const void *b, size_t n)
{
    if (!n)
        return;
    p->iov[p->niov].iov_base = (void *)b;
    p->iov[p->niov++].iov_len = n;
    p->total += n;
}

/* The head with every Content-Length value replaced by len (or, when it has
 * none, one added before the empty line), into *own. */
static int head_with_length(const struct rp_rq *rq, const struct http_head *h,
                            size_t len, char **own, size_t *own_len)
{
    struct rp_buf b;
    const char *p = rq->head;
    int rc = 0, have = 0;
    rp_buf_init(&b, 0);
    for (size_t i = 0; !rc && i < h->num_headers; i++) {
        const struct http_header *x = &h->headers[i];
        if (x->name_len != 14 || !http_name_is(x->name, 14, "content-length"))
            continue;
        rc = rp_buf_append(&b, p, (size_t)(x->value - p));
        if (!rc)
            rc = rp_buf_printf(&b, "%zu", len);
        p = x->value + x->value_len;
        have = 1;
    }
    const char *end = rq->head + rq->head_len;
    if (!rc && !have) { /* before the empty line */
        size_t keep = (size_t)(end - p);
        keep -= keep >= 2 && end[-2] == '\r' ? 2 : 1;
        rc = rp_buf_append(&b, p, keep);
        if (!rc)
            rc = rp_buf_printf(&b, "Content-Length: %zu\r\n\r\n", len);
    } else if (!rc) {
        rc = rp_buf_append(&b, p, (size_t)(end - p));
    }
    if (rc) {
        rp_buf_cleanup(&b);
        return RP_ENOMEM;
    }
    *own = b.data;
    *own_len = b.len;
    return 0;
}

static int tpr_prepare(const struct rp_opts *o, struct rp_rq *rq, char *err)
{
    struct raw_prep *p = calloc(1, sizeof *p);
    struct http_head h;
    struct http_header *hdrs = malloc(HTTP_MAX_HEADERS * sizeof *hdrs);
    int rc = 0;
    (void)o;
    if (!p || !hdrs) {
        rc = rp_fail(err, RP_ENOMEM, "out of memory");
        goto done;
    }
    p->is_head = !strcmp(rq->method, "HEAD");
    p->is_connect = !strcmp(rq->method, "CONNECT");
    int hr = http_parse_head(rq->head, rq->head_len, 1, &h, hdrs,
                             HTTP_MAX_HEADERS);
    enum http_body_kind kind = hr > 0 ? h.body_kind : HTTP_BODY_NONE;
    const uint8_t *body = rq->body;
    size_t blen = rq->body_len;
    if (hr > 0 && kind == HTTP_BODY_CHUNKED) {
        if ((rq->flags & RQ_BODY_WIRE) && !(rq->flags & RQ_BODY_PARTIAL)) {
            add_iov(p, rq->head, rq->head_len); /* as captured */
            add_iov(p, body, blen);
            goto done;
        }
        /* de-chunked (stored so, or made so from a partial capture): one
         * chunk and the last chunk */
        if ((rq->flags & RQ_BODY_WIRE) &&
            (rc = replay_rq_dechunk(rq->body, rq->body_len, &p->own_body,
                                    &blen))) {
            rp_fail(err, rc, "out of memory");
            goto done;
        }
        if (rq->flags & RQ_BODY_WIRE)
            body = p->own_body;
        p->own = malloc(32);
        if (!p->own) {
            rc = rp_fail(err, RP_ENOMEM, "out of memory");
            goto done;
        }
        int n = blen ? snprintf(p->own, 32, "%zx\r\n", blen) : 0;
        memcpy(p->own + n, "\r\n0\r\n\r\n", 8);
        add_iov(p, rq->head, rq->head_len);
        add_iov(p, p->own, (size_t)n);
        add_iov(p, body, blen);
        if (blen)
            add_iov(p, p->own + n, 7);
        else
            add_iov(p, p->own + n + 2, 5);
        goto done;
    }
    uint64_t want = kind == HTTP_BODY_LENGTH ? h.content_length : 0;
    if (hr <= 0 || want == blen) {
        add_iov(p, rq->head, rq->head_len);
        add_iov(p, body, blen);
        goto done;
    }
    size_t hl = 0;
    if (head_with_length(rq, &h, blen, &p->own, &hl)) {
        rc = rp_fail(err, RP_ENOMEM, "out of memory");
        goto done;
    }
    add_iov(p, p->own, hl);
    add_iov(p, body, blen);
done:
    free(hdrs);
    if (rc) {
        prep_free(p);
        return rc;
    }
    rq->prep = p;
    rq->prep_free = prep_free;
    return 0;
}

/* ---- the instance ------------------------------------------------------- */

enum { CN_CONNECTING = 0, CN_OPEN };
enum { POOL_NONE = 0, POOL_IDLE, POOL_PART };

struct conn;

/* One request handed to this transport, until its result. */
struct rreq {
    struct rp_job job;
    struct rp_sess *sess;
    struct conn *cn;
    struct rreq *next;          /* FIFO on its connection */
    struct rreq *tprev, *tnext; /* deadline list */
    int64_t start_us;           /* sent_us of its result */
    int64_t deadline_us;
    int64_t first_byte_us;      /* -1 until a response byte */
    int64_t connect_us;
    int status;                 /* final status, 0 until its head */
    int64_t bytes;
    EVP_MD_CTX *md;
    int md_on;
    struct rp_buf rhead, rbody; /* the response, kept for correlation
                                   (RQ_WANT_RESP); reused with the rreq */
    int retried;                /* sent once more already */
    int written;                /* every byte of it is out */
    struct rreq *next_free;
};

struct conn {
    struct rp_tp *t;
    int fd;
    int state;                  /* CN_* */
    int addr_i;                 /* address it connects to */
    int pool;                   /* POOL_* */
    struct conn *pprev, *pnext; /* in its pool */
    struct conn *aprev, *anext; /* every connection */
    struct conn *fnext;         /* flush list */
    int on_flush;
    struct rp_sess *sess;       /* owner, for a session's connection */
    int64_t connect_start_us;
    int64_t connect_us;         /* for the request that opened it */
    int reused;                 /* a response was complete on it */
    int closing;                /* takes no more requests */
    int inflight;               /* requests on it */
    struct rreq *head, *tail;   /* oldest (being answered) first */
    struct rreq *wr;            /* first request not fully written */
    size_t wr_off;              /* bytes of wr written */
    uint32_t ep_events;
    int dialled;                /* conn_dial was called */
    int dial_err;               /* errno of a connect that failed at once,
                                   reported on the next flush */
    int resp_close;             /* the response in progress ends it */
    int tunnel;                 /* 101 or CONNECT 2xx: no HTTP after it */
    struct http_stream hs;
};

struct rp_tp {
    struct rp_tp_env env;
    EVP_MD *sha256;
    struct addrinfo *ai;
    const struct addrinfo *addrs[MAX_ADDRS];
    char addr_txt[MAX_ADDRS][64]; /* "127.0.0.1:8080", "[::1]:80" */
    int naddrs;
    char dns_err[256];          /* set when the target does not resolve */
    int nconns;                 /* pooled (sessions' are not counted) */
    struct conn *idle, *part;   /* pools, most recently used first */
    struct conn *all;
    struct conn *flush_head, *flush_tail;
    struct rreq *dl_head, *dl_tail; /* by deadline */
    struct rreq *free_reqs;
    struct http_scratch scratch;
    uint8_t rbuf[RBUF_BYTES];
};

static int64_t now_us(const struct rp_tp *t)
{
    return replay_now(t->env.c);
}

static const char *peer(const struct conn *cn)
{
    return cn->t->addr_txt[cn->addr_i];
}

/* ---- lists -------------------------------------------------------------- */

static void pool_unlink(struct conn *cn)
{
    struct rp_tp *t = cn->t;
    struct conn **head = cn->pool == POOL_IDLE ? &t->idle : &t->part;
    if (cn->pool == POOL_NONE)
        return;
    if (cn->pprev)
        cn->pprev->pnext = cn->pnext;
    else
        *head = cn->pnext;
    if (cn->pnext)
        cn->pnext->pprev = cn->pprev;
    cn->pprev = cn->pnext = NULL;
    cn->pool = POOL_NONE;
}

/* Puts a pooled connection where its load says: idle, partly used (room
 * for another pipelined request), or none (full, closing, a session's). */
static void repool(struct conn *cn)
{
    struct rp_tp *t = cn->t;
    int want = cn->closing || cn->sess || cn->tunnel ? POOL_NONE
               : !cn->inflight                        ? POOL_IDLE
               : cn->inflight < t->env.depth          ? POOL_PART
                                                      : POOL_NONE;
    if (want == cn->pool)
        return;
    pool_unlink(cn);
    if (want == POOL_NONE)
        return;
    struct conn **head = want == POOL_IDLE ? &t->idle : &t->part;
    cn->pool = want;
    cn->pnext = *head;
    if (*head)
        (*head)->pprev = cn;
    *head = cn;
}

static void flush_add(struct conn *cn)
{
    struct rp_tp *t = cn->t;
    if (cn->on_flush)
        return;
    cn->on_flush = 1;
    cn->fnext = NULL;
    if (t->flush_tail)
        t->flush_tail->fnext = cn;
    else
        t->flush_head = cn;
    t->flush_tail = cn;
}

static void flush_unlink(struct conn *cn)
{
    struct rp_tp *t = cn->t;
    if (!cn->on_flush)
        return;
    struct conn **pp = &t->flush_head, *prev = NULL;
    while (*pp && *pp != cn) {
        prev = *pp;
        pp = &(*pp)->fnext;
    }
    if (*pp)
        *pp = cn->fnext;
    if (t->flush_tail == cn)
        t->flush_tail = prev;
    cn->on_flush = 0;
}

static void dl_unlink(struct rp_tp *t, struct rreq *r)
{
    if (r->tprev)
        r->tprev->tnext = r->tnext;
    else if (t->dl_head == r)
        t->dl_head = r->tnext;
    if (r->tnext)
        r->tnext->tprev = r->tprev;
    else if (t->dl_tail == r)
        t->dl_tail = r->tprev;
    r->tprev = r->tnext = NULL;
}

/* In deadline order; new requests have the latest deadline, so this walks
 * back only for a retried one. */
static void dl_insert(struct rp_tp *t, struct rreq *r)
{
    struct rreq *after = t->dl_tail;
    while (after && after->deadline_us > r->deadline_us)
        after = after->tprev;
    r->tprev = after;
    r->tnext = after ? after->tnext : t->dl_head;
    if (r->tnext)
        r->tnext->tprev = r;
    else
        t->dl_tail = r;
    if (after)
        after->tnext = r;
    else
        t->dl_head = r;
}

/* ---- requests ----------------------------------------------------------- */

static struct rreq *req_get(struct rp_tp *t)
{
    struct rreq *r = t->free_reqs;
    if (r) {
        t->free_reqs = r->next_free;
    } else {
        r = calloc(1, sizeof *r);
        if (!r)
            return NULL;
        r->md = EVP_MD_CTX_new();
        if (!r->md) {
            free(r);
            return NULL;
        }
    }
    EVP_MD_CTX *md = r->md;
    struct rp_buf rh = r->rhead, rb = r->rbody;
    memset(r, 0, sizeof *r);
    r->md = md;
    r->rhead = rh;
    r->rbody = rb;
    r->rhead.len = r->rbody.len = 0;
    if (!r->rhead.max_bytes) {
        rp_buf_init(&r->rhead, RESP_KEEP_MAX);
        rp_buf_init(&r->rbody, RESP_KEEP_MAX);
    }
    r->first_byte_us = -1;
    return r;
}

static void req_put(struct rp_tp *t, struct rreq *r)
{
    r->job.rq = NULL;
    r->next_free = t->free_reqs;
    t->free_reqs = r;
}

/* Hands r's result to the core; r is off every list and freed. */
static void req_done(struct rp_tp *t, struct rreq *r,
                     enum corpus_errclass ec, const char *msg)
{
    struct rp_outcome out;
    memset(&out, 0, sizeof out);
    out.sent_us = r->start_us;
    out.done_us = now_us(t);
    out.first_byte_us = r->first_byte_us;
    out.connect_us = r->connect_us;
    out.status = r->status;
    out.resp_bytes = r->bytes;
    out.error_class = ec;
    out.error = msg;
    if (r->job.rq->flags & RQ_WANT_RESP) {
        out.resp_headers = r->rhead.data;
        out.resp_headers_len = r->rhead.len;
        out.resp_body = (const uint8_t *)r->rbody.data;
        out.resp_body_len = r->rbody.len;
    }
    if (ec == CORPUS_ERR_NONE && r->md_on) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        EVP_DigestFinal_ex(r->md, md, &mdlen);
        memcpy(out.body_hash, md, RP_HASH_LEN);
        out.has_body_hash = 1;
    }
    struct rp_job job = r->job;
    struct rp_sess *sess = r->sess;
    dl_unlink(t, r);
    req_put(t, r);
    replay_core_done(t->env.core, &job, sess, &out);
}

/* ---- connections -------------------------------------------------------- */

static void ep_mod(struct conn *cn, uint32_t events)
{
    if (events == cn->ep_events || cn->fd < 0)
        return;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = (uint64_t)(uintptr_t)cn;
    epoll_ctl(cn->t->env.epfd, cn->ep_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
              cn->fd, &ev);
    cn->ep_events = events;
}

/* Starts connecting cn to its address (or takes a pre-connected socket).
 * 0, or an errno value when it failed at once. */
static int conn_dial(struct conn *cn)
{
    struct rp_tp *t = cn->t;
    const struct addrinfo *a = t->addrs[cn->addr_i];
    cn->connect_start_us = now_us(t);
    cn->ep_events = 0;
    int fd = cn->addr_i == 0 && !cn->sess
                 ? replay_core_take_preconnected(t->env.core, a->ai_addr,
                                                 (unsigned)a->ai_addrlen)
                 : -1;
    if (fd >= 0) {
        cn->fd = fd;
        cn->state = CN_OPEN;
        cn->connect_us = 0;
        ep_mod(cn, EPOLLIN);
        return 0;
    }
    fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    cn->fd = fd;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        cn->state = CN_OPEN;
        cn->connect_us = now_us(t) - cn->connect_start_us + 1;
        ep_mod(cn, EPOLLIN);
        return 0;
    }
    if (errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        cn->fd = -1;
        return e;
    }
    cn->state = CN_CONNECTING;
    ep_mod(cn, EPOLLIN | EPOLLOUT);
    return 0;
}

static struct conn *conn_new(struct rp_tp *t, struct rp_sess *sess)
{
    struct conn *cn = calloc(1, sizeof *cn);
    if (!cn)
        return NULL;
    cn->t = t;
    cn->fd = -1;
    cn->sess = sess;
    http_stream_init(&cn->hs, 0, &t->scratch);
    cn->anext = t->all;
    if (t->all)
        t->all->aprev = cn;
    t->all = cn;
    if (sess)
        sess->tp = cn;
    else
        t->nconns++;
    return cn;
}

/* Closes cn and frees it; nothing may be queued on it any more. */
static void conn_free(struct conn *cn)
{
    struct rp_tp *t = cn->t;
    pool_unlink(cn);
    flush_unlink(cn);
    if (cn->fd >= 0) {
        if (cn->ep_events)
            epoll_ctl(t->env.epfd, EPOLL_CTL_DEL, cn->fd, NULL);
        close(cn->fd);
    }
    if (cn->sess)
        cn->sess->tp = NULL;
    else
        t->nconns--;
    if (cn->aprev)
        cn->aprev->anext = cn->anext;
    else
        t->all = cn->anext;
    if (cn->anext)
        cn->anext->aprev = cn->aprev;
    http_stream_cleanup(&cn->hs);
    free(cn);
}

static int submit(struct rp_tp *t, struct rreq *r);

/* Ends the connection: each request on it gets error class ec and message
 * msg, except those that may go once more on a new connection (retry set,
 * no byte of their response seen, not sent once more already, and either
 * behind the first or on a connection that had answered before). */
static void conn_fail(struct conn *cn, enum corpus_errclass ec,
                      const char *msg, int retry)
{
    struct rp_tp *t = cn->t;
    struct rreq *r = cn->head, *next;
    int reused = cn->reused;
    cn->head = cn->tail = cn->wr = NULL;
    cn->inflight = 0;
    cn->closing = 1;
    conn_free(cn);
    for (int first = 1; r; r = next, first = 0) {
        next = r->next;
        r->next = NULL;
        r->cn = NULL;
        if (retry && !r->retried && r->first_byte_us < 0 &&
            (reused || !first)) {
            r->retried = 1;
            r->written = 0;
            r->status = 0;
            r->bytes = 0;
            r->md_on = 0;
            if (submit(t, r) == 0)
                continue;
        }
        req_done(t, r, ec, msg);
    }
}

/* A connect attempt failed with errno e: the next address, or failure. */
static void connect_failed(struct conn *cn, int e)
{
    struct rp_tp *t = cn->t;
    char msg[160];
    if (cn->fd >= 0) {
        if (cn->ep_events)
            epoll_ctl(t->env.epfd, EPOLL_CTL_DEL, cn->fd, NULL);
        close(cn->fd);
        cn->fd = -1;
        cn->ep_events = 0;
    }
    while (cn->addr_i + 1 < t->naddrs) {
        cn->addr_i++;
        if ((e = conn_dial(cn)) == 0)
            return;
    }
    if (e == ECONNREFUSED)
        snprintf(msg, sizeof msg, "connection refused by %s", peer(cn));
    else
        snprintf(msg, sizeof msg, "cannot connect to %s: %s", peer(cn),
                 strerror(e));
    conn_fail(cn, CORPUS_ERR_REFUSED, msg, 0);
}

/* Picks the connection for a request without a session: an idle one, a
 * new one while under the cap, else one with room for another pipelined
 * request. NULL when none (cannot happen within the core's cap) or out of
 * memory. */
static struct conn *pick(struct rp_tp *t)
{
    if (t->idle)
        return t->idle;
    if (t->nconns < t->env.conn_cap)
        return conn_new(t, NULL);
    return t->part;
}

/* Queues r on a connection (its session's, or a pooled one) and has it
 * written on the next flush. 0, or -1 when no connection could take it. */
static int submit(struct rp_tp *t, struct rreq *r)
{
    struct conn *cn;
    if (r->sess) {
        cn = r->sess->tp;
        if (cn && (cn->closing || cn->tunnel))
            cn = NULL;
        if (!cn)
            cn = conn_new(t, r->sess);
    } else {
        cn = pick(t);
    }
    if (!cn)
        return -1;
    if (!cn->dialled) { /* new: dial now; a failure is told on flush */
        cn->dialled = 1;
        cn->dial_err = conn_dial(cn);
        if (cn->dial_err)
            flush_add(cn);
        else if (cn->state == CN_OPEN)
            r->connect_us = cn->connect_us;
    }
    r->cn = cn;
    r->next = NULL;
    if (cn->tail)
        cn->tail->next = r;
    else
        cn->head = r;
    cn->tail = r;
    if (!cn->wr) {
        cn->wr = r;
        cn->wr_off = 0;
    }
    cn->inflight++;
    if (!cn->sess)
        repool(cn);
    if (cn->state == CN_OPEN)
        flush_add(cn);
    return 0;
}

/* Writes what is queued on cn. 0, or -1 when cn was ended. */
static int conn_write(struct conn *cn)
{
    struct iovec iov[MAX_IOV];
    int n = 0;
    size_t skip = cn->wr_off;
    for (struct rreq *r = cn->wr; r && n < MAX_IOV; r = r->next) {
        const struct raw_prep *p = r->job.rq->prep;
        for (int i = 0; i < p->niov && n < MAX_IOV; i++) {
            size_t l = p->iov[i].iov_len;
            if (skip >= l) {
                skip -= l;
                continue;
            }
            iov[n].iov_base = (char *)p->iov[i].iov_base + skip;
            iov[n++].iov_len = l - skip;
            skip = 0;
        }
    }
    if (!n) {
        ep_mod(cn, EPOLLIN);
        return 0;
    }
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)n;
    ssize_t w = sendmsg(cn->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            ep_mod(cn, EPOLLIN | EPOLLOUT);
            return 0;
        }
        char msg[160];
        snprintf(msg, sizeof msg, "connection to %s lost while sending: %s",
                 peer(cn), strerror(errno));
        conn_fail(cn, CORPUS_ERR_RESET, msg, 1);
        return -1;
    }
    size_t left = (size_t)w;
    while (cn->wr) {
        size_t l = ((const struct raw_prep *)cn->wr->job.rq->prep)->total;
        if (cn->wr_off + left < l) {
            cn->wr_off += left;
            break;
        }
        left -= l - cn->wr_off;
        cn->wr->written = 1;
        cn->wr = cn->wr->next;
        cn->wr_off = 0;
    }
    ep_mod(cn, cn->wr ? EPOLLIN | EPOLLOUT : EPOLLIN);
    return 0;
}

/* ---- responses ---------------------------------------------------------- */

/* 1 when the response head asks to end the connection after it. */
static int head_closes(const struct http_head *h)
{
    int close_tok = 0, keep_tok = 0;
    for (size_t i = 0; i < h->num_headers; i++) {
        const struct http_header *x = &h->headers[i];
        if (x->name_len != 10 || !http_name_is(x->name, 10, "connection"))
            continue;
        const char *v = x->value, *e = x->value + x->value_len;
        while (v < e) {
            while (v < e && (*v == ' ' || *v == '\t' || *v == ','))
                v++;
            const char *s = v;
            while (v < e && *v != ',' && *v != ' ' && *v != '\t')
                v++;
            if (http_name_is(s, (size_t)(v - s), "close"))
                close_tok = 1;
            else if (http_name_is(s, (size_t)(v - s), "keep-alive"))
                keep_tok = 1;
        }
    }
    return close_tok || (h->minor_version == 0 && !keep_tok);
}

/* The response to cn->head is complete: hand it over, then close the
 * connection if the response or a tunnel asks for it. 0, or -1 when cn was
 * ended. */
static int resp_complete(struct conn *cn)
{
    struct rp_tp *t = cn->t;
    struct rreq *r = cn->head;
    int ends = cn->resp_close || cn->tunnel || !r->written;
    cn->head = r->next;
    if (!cn->head)
        cn->tail = NULL;
    if (cn->wr == r) { /* answered before it was all written */
        cn->wr = r->next;
        cn->wr_off = 0;
    }
    cn->inflight--;
    cn->reused = 1;
    cn->resp_close = 0;
    req_done(t, r, CORPUS_ERR_NONE, NULL);
    if (ends) {
        char msg[160];
        snprintf(msg, sizeof msg, "connection closed by %s (%s) before it "
                 "answered this pipelined request", peer(cn),
                 cn->tunnel ? "it switched protocols" : "Connection: close");
        conn_fail(cn, CORPUS_ERR_RESET, msg, 1);
        return -1;
    }
    if (!cn->sess)
        repool(cn);
    return 0;
}

static int on_head(struct conn *cn)
{
    struct rreq *r = cn->head;
    const struct http_head *h = cn->hs.head;
    const struct raw_prep *p = r->job.rq->prep;
    int st = h->status;
    if (r->first_byte_us < 0)
        r->first_byte_us = now_us(cn->t);
    if (h->anomalies & HTTP_A_TOO_LARGE) { /* curl refuses these too */
        char msg[160];
        snprintf(msg, sizeof msg, "response head from %s larger than %u KiB "
                 "or %d lines", peer(cn), HTTP_HEAD_MAX / 1024,
                 HTTP_MAX_HEADERS);
        conn_fail(cn, CORPUS_ERR_PROTOCOL, msg, 0);
        return -1;
    }
    if (st >= 100 && st < 200 && st != 101) { /* interim: the final follows */
        http_stream_set_body(&cn->hs, HTTP_BODY_NONE, 0);
        return 0;
    }
    r->status = st;
    if (r->job.rq->flags & RQ_WANT_RESP) {
        r->rhead.len = 0;
        for (size_t i = 0; i < h->num_headers; i++) {
            const struct http_header *x = &h->headers[i];
            if (!x->name_len)
                continue;
            rp_buf_append(&r->rhead, x->name, x->name_len);
            rp_buf_append(&r->rhead, ": ", 2);
            rp_buf_append(&r->rhead, x->value, x->value_len);
            rp_buf_append(&r->rhead, "\r\n", 2);
        }
    }
    cn->resp_close = head_closes(h);
    cn->tunnel = st == 101 || (p->is_connect && st >= 200 && st < 300);
    enum http_body_kind kind = h->body_kind;
    if (p->is_head || st == 204 || st == 304 || cn->tunnel)
        kind = HTTP_BODY_NONE;
    if (http_stream_set_body(&cn->hs, kind, h->content_length))
        return resp_complete(cn);
    return 0;
}

static void on_body(struct conn *cn, const uint8_t *d, size_t n)
{
    struct rreq *r = cn->head;
    if (!r->md_on) {
        EVP_DigestInit_ex(r->md, cn->t->sha256, NULL);
        r->md_on = 1;
    }
    EVP_DigestUpdate(r->md, d, n);
    r->bytes += (int64_t)n;
    if (r->job.rq->flags & RQ_WANT_RESP) /* capped: the rest is dropped */
        rp_buf_append(&r->rbody, d, n);
}

/* Frames buf[0..n) of cn's response stream. 0, or -1 when cn was ended. */
static int conn_feed(struct conn *cn, const uint8_t *buf, size_t n)
{
    struct http_event ev;
    size_t off = 0;
    do {
        if (!cn->head && off < n) { /* nothing asked: noise ends it */
            conn_fail(cn, CORPUS_ERR_PROTOCOL, "unsolicited response", 0);
            return -1;
        }
        size_t k = http_stream_feed(&cn->hs, buf + off, n - off, 0, &ev);
        off += k;
        switch (ev.type) {
        case HTTP_EV_HEAD:
            if (on_head(cn) < 0)
                return -1;
            break;
        case HTTP_EV_BODY:
            on_body(cn, ev.data, ev.len);
            break;
        case HTTP_EV_END:
            if (resp_complete(cn) < 0)
                return -1;
            break;
        case HTTP_EV_ERROR:
        case HTTP_EV_UNPARSABLE: {
            char msg[160];
            snprintf(msg, sizeof msg, "malformed response from %s",
                     peer(cn));
            conn_fail(cn, CORPUS_ERR_PROTOCOL, msg, 0);
            return -1;
        }
        default:
            break;
        }
    } while (off < n || ev.type != HTTP_EV_NONE);
    return 0;
}

/* The server ended the stream (r == 0) or it broke (errno e). */
static void conn_eof(struct conn *cn, int e)
{
    char msg[160];
    if (!e && http_stream_fin(&cn->hs) == 1 && cn->head) {
        /* a close-delimited body ended */
        cn->resp_close = 1;
        resp_complete(cn);
        return;
    }
    if (!cn->head) { /* idle: the server let it go */
        conn_free(cn);
        return;
    }
    int got = cn->head->first_byte_us >= 0;
    if (e)
        snprintf(msg, sizeof msg, "connection to %s %s: %s", peer(cn),
                 got ? "broke during the response" : "broke before a response",
                 strerror(e));
    else
        snprintf(msg, sizeof msg, "connection closed by %s %s", peer(cn),
                 got ? "before the response was complete"
                     : "before any response");
    conn_fail(cn, CORPUS_ERR_RESET, msg, 1);
}

static void conn_read(struct conn *cn)
{
    struct rp_tp *t = cn->t;
    for (;;) {
        ssize_t r = read(cn->fd, t->rbuf, sizeof t->rbuf);
        if (r > 0) {
            if (cn->head && cn->head->first_byte_us < 0)
                cn->head->first_byte_us = now_us(t);
            if (conn_feed(cn, t->rbuf, (size_t)r) < 0 ||
                (size_t)r < sizeof t->rbuf)
                return;
            continue;
        }
        if (r == 0) {
            conn_eof(cn, 0);
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno == EINTR)
            continue;
        conn_eof(cn, errno);
        return;
    }
}

static void connected(struct conn *cn)
{
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(cn->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
    if (soerr) {
        connect_failed(cn, soerr);
        return;
    }
    cn->state = CN_OPEN;
    cn->connect_us = now_us(cn->t) - cn->connect_start_us + 1;
    if (cn->head && !cn->head->connect_us)
        cn->head->connect_us = cn->connect_us;
    ep_mod(cn, EPOLLIN);
    conn_write(cn);
}

/* ---- the transport's entry points ---------------------------------------- */

static int tpr_start(struct rp_tp *t, struct rp_job *j, struct rp_sess *ss,
                     struct rp_outcome *now)
{
    if (t->dns_err[0] || !t->naddrs) {
        now->sent_us = now->first_byte_us = now->done_us = -1;
        now->error_class = CORPUS_ERR_DNS;
        now->error = t->dns_err;
        return 1;
    }
    struct rreq *r = req_get(t);
    if (!r) {
        now->sent_us = now->first_byte_us = now->done_us = -1;
        now->error_class = CORPUS_ERR_OTHER;
        now->error = "out of memory";
        return 1;
    }
    r->job = *j;
    r->sess = ss;
    r->start_us = now_us(t);
    r->deadline_us = r->start_us + t->env.c->o->timeout_us;
    if (submit(t, r)) {
        req_put(t, r);
        now->sent_us = now->first_byte_us = now->done_us = -1;
        now->error_class = CORPUS_ERR_OTHER;
        now->error = "no connection could take the request (out of memory)";
        return 1;
    }
    dl_insert(t, r);
    return 0;
}

static void tpr_flush(struct rp_tp *t)
{
    struct conn *cn;
    while ((cn = t->flush_head)) {
        t->flush_head = cn->fnext;
        if (!t->flush_head)
            t->flush_tail = NULL;
        cn->on_flush = 0;
        if (cn->dial_err) {
            int e = cn->dial_err;
            cn->dial_err = 0;
            connect_failed(cn, e);
        } else if (cn->state == CN_OPEN) {
            conn_write(cn);
        }
    }
}

static void tpr_event(struct rp_tp *t, uint64_t token, uint32_t events)
{
    struct conn *cn = (struct conn *)(uintptr_t)token;
    (void)t;
    if (cn->state == CN_CONNECTING) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            connected(cn);
        return;
    }
    if ((events & EPOLLOUT) && cn->wr) {
        if (conn_write(cn) < 0)
            return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        conn_read(cn);
}

static int64_t tpr_deadline(struct rp_tp *t)
{
    return t->dl_head ? t->dl_head->deadline_us : -1;
}

static void tpr_expire(struct rp_tp *t, int64_t now)
{
    char msg[200];
    while (t->dl_head && t->dl_head->deadline_us <= now) {
        struct rreq *r = t->dl_head;
        struct conn *cn = r->cn;
        long ms = (long)(t->env.c->o->timeout_us / 1000);
        if (cn && cn->state == CN_CONNECTING)
            snprintf(msg, sizeof msg, "connection to %s timed out after %ld "
                     "ms (--timeout)", peer(cn), ms);
        else
            snprintf(msg, sizeof msg, "timed out after %ld ms (--timeout) "
                     "waiting for %s", ms, cn ? peer(cn) : "the target");
        if (cn) {
            conn_fail(cn, CORPUS_ERR_TIMEOUT, msg, 0); /* r among them */
        } else {
            req_done(t, r, CORPUS_ERR_TIMEOUT, msg);
        }
    }
}

static void tpr_abort_all(struct rp_tp *t, const char *msg)
{
    struct conn *cn = t->all, *next;
    for (; cn; cn = next) {
        next = cn->anext;
        if (cn->head)
            conn_fail(cn, CORPUS_ERR_OTHER, msg, 0);
    }
}

static void tpr_sess_end(struct rp_tp *t, struct rp_sess *ss)
{
    struct conn *cn = ss->tp;
    (void)t;
    if (cn) {
        if (cn->head) /* cannot happen: nothing of it is in flight */
            conn_fail(cn, CORPUS_ERR_OTHER, "session ended", 0);
        else
            conn_free(cn);
    }
    ss->tp = NULL;
}

/* ---- setup -------------------------------------------------------------- */

static void tpr_destroy(struct rp_tp *t)
{
    if (!t)
        return;
    while (t->all) {
        struct conn *cn = t->all;
        for (struct rreq *r = cn->head, *next; r; r = next) {
            next = r->next;
            replay_rq_unref(r->job.rq);
            EVP_MD_CTX_free(r->md);
            rp_buf_cleanup(&r->rhead);
            rp_buf_cleanup(&r->rbody);
            free(r);
        }
        cn->head = NULL;
        conn_free(cn);
    }
    while (t->free_reqs) {
        struct rreq *r = t->free_reqs;
        t->free_reqs = r->next_free;
        EVP_MD_CTX_free(r->md);
        rp_buf_cleanup(&r->rhead);
        rp_buf_cleanup(&r->rbody);
        free(r);
    }
    if (t->ai)
        freeaddrinfo(t->ai);
    EVP_MD_free(t->sha256);
    free(t);
}

static int tpr_create(const struct rp_tp_env *env, struct rp_tp **out,
                      char *err)
{
    struct rp_tp *t = calloc(1, sizeof *t);
    const struct rp_opts *o = env->c->o;
    struct addrinfo hints;
    if (!t)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    t->env = *env;
    if (t->env.depth < 1)
        t->env.depth = 1;
    t->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!t->sha256) {
        tpr_destroy(t);
        return rp_fail(err, RP_EIO, "cannot set up SHA-256 for replay engine "
                       "%d", env->idx);
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    int g = getaddrinfo(o->conn_host, o->conn_port, &hints, &t->ai);
    if (g == EAI_BADFLAGS || (g && hints.ai_flags)) { /* retry without */
        hints.ai_flags = 0;
        g = getaddrinfo(o->conn_host, o->conn_port, &hints, &t->ai);
    }
    if (g) {
        snprintf(t->dns_err, sizeof t->dns_err, "cannot resolve %.200s: %s",
                 o->conn_host, gai_strerror(g));
        t->ai = NULL;
    }
    for (const struct addrinfo *a = t->ai; a && t->naddrs < MAX_ADDRS;
         a = a->ai_next) {
        char host[INET6_ADDRSTRLEN + 2] = "?", port[8] = "?";
        getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, port,
                    sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
        snprintf(t->addr_txt[t->naddrs], sizeof t->addr_txt[0],
                 a->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
        t->addrs[t->naddrs++] = a;
    }
    *out = t;
    return 0;
}

const struct rp_transport replay_tp_raw = {
    .name = "raw",
    .pipelines = 1,
    .prepare = tpr_prepare,
    .create = tpr_create,
    .destroy = tpr_destroy,
    .start = tpr_start,
    .event = tpr_event,
    .deadline = tpr_deadline,
    .expire = tpr_expire,
    .flush = tpr_flush,
    .abort_all = tpr_abort_all,
    .sess_end = tpr_sess_end,
};
