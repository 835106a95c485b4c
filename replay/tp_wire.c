/*
 * tp_wire.c: the transport (transport.h) for redis://, postgres:// and
 * tcp:// targets. Every job belongs to a session (the options force
 * --sessions), and each session has one connection, which carries its
 * jobs in captured order: a PostgreSQL session keeps its prepared
 * statements and transaction, a Redis session its SELECTed db. Requests
 * the captured client pipelined (sent before the previous reply) go out
 * pipelined, up to 64 in flight, and their replies pair in order.
 * A job writes the captured client bytes as they are (capture/wire.h);
 * its reply is framed by the framer capture used (proto/resp,
 * proto/pgwire): the job ends after as many replies as it sent commands
 * (Redis; pushes are not replies), or ReadyForQuery messages as it sent
 * Query/Sync/FunctionCall messages (PostgreSQL); in tcp mode after the
 * captured reply's size or --quiet-gap of silence. The reply's bytes are
 * hashed as capture stored them (without pushes, and without
 * NoticeResponse, ParameterStatus and notifications), so a changed reply
 * shows as a changed body. PostgreSQL connections authenticate with the
 * user and database of the target and the password of --password-file
 * (cleartext, MD5 or SCRAM-SHA-256), never with captured credentials; a
 * Redis connection sends AUTH first when a password is given (unless the
 * session's first command is its own AUTH), and a captured AUTH or HELLO
 * AUTH whose secrets were replaced by markers gets it too.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/pgwire.h"
#include "proto/resp.h"
#include "replay/pg_auth.h"
#include "replay/replay_int.h"
#include "replay/transport.h"

#define RBUF_BYTES 65536
#define STARTUP_MSG_MAX (64u << 10) /* a startup-phase message kept whole */
#define RESP_KEEP_MAX (1u << 20)

/* ---- prepared requests -------------------------------------------------- */

struct wire_prep {
    const uint8_t *bytes;   /* what is written: the captured bytes, or own */
    size_t len;
    uint8_t *own;
    int replies;            /* replies that end the job */
};

static void prep_free(void *p)
{
    struct wire_prep *wp = p;
    if (!wp)
        return;
    free(wp->own);
    free(wp);
}

/* Counts the commands (Redis) or reply-ending messages (PostgreSQL) in
 * the captured client bytes; -1 when they do not frame. */
static int count_units(enum rp_wire w, const uint8_t *p, size_t n)
{
    int units = 0;
    struct resp_reader rr;
    struct pg_reader pr;
    resp_reader_init(&rr, 1);
    pg_reader_init(&pr, 1);
    while (n) {
        int done = 0;
        const char *why;
        struct resp_msg rm;
        struct pg_msg pm;
        long k = w == RW_REDIS ? resp_read(&rr, p, n, &done, &rm, &why)
                               : pg_read(&pr, p, n, &done, &pm, &why);
        if (k < 0 || (k == 0 && !done))
            return -1;
        p += k;
        n -= (size_t)k;
        if (done && (w == RW_REDIS ||
                     pm.type == 'Q' || pm.type == 'S' || pm.type == 'F'))
            units++;
    }
    return units;
}

/* Appends "AUTH [user] password" with the target's credentials. 0 or
 * RP_ENOMEM. */
static int put_auth(const struct rp_opts *o, struct rp_buf *out)
{
    struct resp_arg a[3];
    int n = 0;
    a[n].p = (const uint8_t *)"AUTH";
    a[n++].n = 4;
    if (o->wire_user[0]) {
        a[n].p = (const uint8_t *)o->wire_user;
        a[n++].n = strlen(o->wire_user);
    }
    a[n].p = (const uint8_t *)o->wire_password;
    a[n++].n = strlen(o->wire_password);
    return resp_write_command(out, a, n);
}

/* A captured Redis AUTH, or HELLO ... AUTH user password, whose secrets
 * are markers, rebuilt with the target's credentials into p->own (HELLO
 * keeps its other arguments). 0 when it is not one or was rebuilt. */
static int auth_rebuild(const struct rp_opts *o, struct rp_rq *rq,
                        struct wire_prep *p)
{
    struct resp_arg argv[16];
    int argc = 0;
    if (!o->wire_password[0] ||
        (strcmp(rq->method, "AUTH") && strcmp(rq->method, "HELLO")) ||
        resp_split_command(rq->body, rq->body_len, argv, 16, &argc) ||
        argc > 16)
        return 0;
    struct rp_buf b;
    rp_buf_init(&b, 0);
    int rc = 0;
    if (!strcmp(rq->method, "AUTH")) {
        if (argc < 2 || argc > 3 ||
            !replay_shape_is_redacted((const char *)argv[argc - 1].p,
                                      argv[argc - 1].n))
            return 0;
        rc = put_auth(o, &b);
    } else { /* HELLO [protover [AUTH username password] [SETNAME name]] */
        int at = -1;
        for (int i = 1; i + 2 < argc; i++)
            if (argv[i].n == 4 && !strncasecmp((const char *)argv[i].p,
                                               "AUTH", 4))
                at = i;
        if (at < 0 || !replay_shape_is_redacted(
                          (const char *)argv[at + 2].p, argv[at + 2].n))
            return 0;
        argv[at + 1].p = (const uint8_t *)(o->wire_user[0] ? o->wire_user
                                                           : "default");
        argv[at + 1].n = strlen((const char *)argv[at + 1].p);
        argv[at + 2].p = (const uint8_t *)o->wire_password;
        argv[at + 2].n = strlen(o->wire_password);
        rc = resp_write_command(&b, argv, argc);
    }
    if (rc) {
        rp_buf_cleanup(&b);
        return RP_ENOMEM;
    }
    p->own = (uint8_t *)b.data;
    p->bytes = p->own;
    p->len = b.len;
    return 0;
}

static int tpw_prepare(const struct rp_opts *o, struct rp_rq *rq, char *err)
{
    struct wire_prep *p = calloc(1, sizeof *p);
    if (!p)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    p->bytes = rq->body;
    p->len = rq->body_len;
    if (o->wire == RW_TCP) {
        p->replies = 1;
    } else {
        p->replies = count_units(o->wire, rq->body, rq->body_len);
        if (p->replies < 0) /* cut short at capture: sent, answered as it
                               comes, ended by the timeout */
            p->replies = 1;
        if (o->wire == RW_REDIS && auth_rebuild(o, rq, p)) {
            prep_free(p);
            return rp_fail(err, RP_ENOMEM, "out of memory");
        }
    }
    rq->prep = p;
    rq->prep_free = prep_free;
    return 0;
}

/* ---- the instance ------------------------------------------------------- */

enum { WC_IDLE = 0, WC_CONNECTING, WC_STARTUP, WC_READY };

/* A session's requests in flight at once: the core sends a request before
 * the previous one's reply only when the captured client pipelined it, up
 * to its SESS_DEPTH (64). */
#define WJOB_MAX 64

/* One request handed to a connection, until its result. */
struct wjob {
    struct rp_job job;
    int64_t start_us;            /* handed to the connection (sent_us) */
    int64_t first_byte_us, deadline_us;
    int64_t connect_us;          /* connecting and the protocol's start
                                    (PostgreSQL authentication, AUTH), for
                                    the first request of a connection */
    int queued;                  /* its bytes are in out */
    int replies_left;
    int err_reply;
    int64_t bytes;
    EVP_MD_CTX *md;
    struct rp_buf keep;          /* reply kept for --store-bodies */
};

struct wconn {
    struct rp_tp *t;
    struct rp_sess *sess;
    int fd;
    int state;
    uint32_t ep_events;
    struct wconn *prev, *next;   /* every connection */
    struct wconn *fnext;         /* flush list */
    int on_flush;
    /* the requests in flight, oldest (being answered) first: a ring of
     * WJOB_MAX, allocated with the first */
    struct wjob *jobs;
    int jhead, jn;
    int64_t dial_us;             /* when the connection was dialled */
    int64_t last_byte_us;        /* tcp: for the quiet gap */
    int in_msg;                  /* a server message is being read */
    int hash_msg;                /* ... and its bytes count in the reply */
    /* output */
    struct rp_buf out;
    size_t out_off;
    /* framing of what the server sends */
    struct resp_reader rr;
    struct pg_reader pr;
    /* startup phase: messages kept whole */
    struct rp_buf smsg;
    struct replay_scram scram;
    int scram_on;
    char fail[256];              /* why the startup failed */
    int refused;                 /* ... for good (credentials, database):
                                    the session's jobs fail at once, the
                                    server is not asked again */
};

struct rp_tp {
    struct rp_tp_env env;
    EVP_MD *sha256;
    struct addrinfo *ai;
    char addr_txt[64];
    char dns_err[256];
    char dial_err[320];
    struct wconn *all;
    struct wconn *flush_head;
    uint8_t rbuf[RBUF_BYTES];
};

static int64_t now_us(const struct rp_tp *t) { return replay_now(t->env.c); }

static const struct rp_opts *opts(const struct rp_tp *t)
{
    return t->env.c->o;
}

static void ep_set(struct wconn *wc, uint32_t events)
{
    if (events == wc->ep_events || wc->fd < 0)
        return;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = (uint64_t)(uintptr_t)wc;
    epoll_ctl(wc->t->env.epfd, wc->ep_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
              wc->fd, &ev);
    wc->ep_events = events;
}

static void flush_add(struct wconn *wc)
{
    if (wc->on_flush)
        return;
    wc->on_flush = 1;
    wc->fnext = wc->t->flush_head;
    wc->t->flush_head = wc;
}

static void flush_unlink(struct wconn *wc)
{
    if (!wc->on_flush)
        return;
    for (struct wconn **pp = &wc->t->flush_head; *pp; pp = &(*pp)->fnext)
        if (*pp == wc) {
            *pp = wc->fnext;
            break;
        }
    wc->on_flush = 0;
}

/* Closes the socket; the connection can be dialled again. */
static void conn_close(struct wconn *wc)
{
    flush_unlink(wc);
    if (wc->fd >= 0) {
        if (wc->ep_events)
            epoll_ctl(wc->t->env.epfd, EPOLL_CTL_DEL, wc->fd, NULL);
        close(wc->fd);
    }
    wc->fd = -1;
    wc->ep_events = 0;
    wc->state = WC_IDLE;
    wc->out.len = 0;
    wc->out_off = 0;
    wc->smsg.len = 0;
    wc->in_msg = 0;
    if (wc->scram_on)
        replay_scram_cleanup(&wc->scram);
    wc->scram_on = 0;
}

static struct wjob *job_at(const struct wconn *wc, int i)
{
    return &wc->jobs[(wc->jhead + i) % WJOB_MAX];
}

/* The request being answered, or NULL. */
static struct wjob *head(const struct wconn *wc)
{
    return wc->jn ? job_at(wc, 0) : NULL;
}

/* Ends the request being answered. */
static void job_end(struct wconn *wc, enum corpus_errclass ec,
                    const char *msg)
{
    struct rp_tp *t = wc->t;
    struct wjob *h = head(wc);
    if (!h)
        return;
    struct rp_outcome out;
    memset(&out, 0, sizeof out);
    out.sent_us = h->start_us;
    out.first_byte_us = h->first_byte_us;
    out.done_us = now_us(t);
    out.connect_us = h->connect_us;
    out.error_class = ec;
    out.error = msg;
    if (ec == CORPUS_ERR_NONE) {
        out.status = h->err_reply ? 500 : 200;
        out.resp_bytes = h->bytes;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (EVP_DigestFinal_ex(h->md, md, &mdlen) && mdlen >= RP_HASH_LEN) {
            memcpy(out.body_hash, md, RP_HASH_LEN);
            out.has_body_hash = 1;
        }
        if (h->job.rq->flags & RQ_WANT_RESP) {
            out.resp_body = (const uint8_t *)h->keep.data;
            out.resp_body_len = h->keep.len;
            /* no headers on the wire: "" lets --store-bodies keep the
             * reply (core.c, want_store), only when it was kept whole,
             * since the hash it is stored under covers all of it */
            if (h->keep.len == (size_t)h->bytes) {
                out.resp_headers = "";
                out.resp_headers_len = 0;
            }
        }
    }
    struct rp_job job = h->job;
    h->job.rq = NULL;
    h->queued = 0;
    wc->jhead = (wc->jhead + 1) % WJOB_MAX;
    wc->jn--;
    replay_core_done(t->env.core, &job, wc->sess, &out);
}

/* The connection failed: every request on it ends with ec, the socket is
 * closed. */
static void conn_fail(struct wconn *wc, enum corpus_errclass ec,
                      const char *what)
{
    char msg[384];
    snprintf(msg, sizeof msg, "%s: %s", wc->t->addr_txt, what);
    conn_close(wc);
    while (wc->jn)
        job_end(wc, ec, msg);
}

static enum corpus_errclass errno_class(int e)
{
    switch (e) {
    case ECONNREFUSED:
        return CORPUS_ERR_REFUSED;
    case ECONNRESET:
    case EPIPE:
        return CORPUS_ERR_RESET;
    case ETIMEDOUT:
        return CORPUS_ERR_TIMEOUT;
    default:
        return CORPUS_ERR_OTHER;
    }
}

/* Puts the bytes of the requests not sent yet in the output once the
 * connection is ready. */
static void queue_jobs(struct wconn *wc)
{
    if (wc->state != WC_READY)
        return;
    for (int i = 0; i < wc->jn; i++) {
        struct wjob *jb = job_at(wc, i);
        if (jb->queued)
            continue;
        const struct wire_prep *p = jb->job.rq->prep;
        if (p->len && rp_buf_append(&wc->out, p->bytes, p->len)) {
            conn_fail(wc, CORPUS_ERR_OTHER, "out of memory");
            return;
        }
        jb->queued = 1;
        jb->replies_left = p->replies;
        wc->last_byte_us = now_us(wc->t);
        if (wc->dial_us >= 0) { /* the first request of a connection */
            jb->connect_us = wc->last_byte_us - wc->dial_us + 1;
            wc->dial_us = -1;
        }
        flush_add(wc);
    }
}

/* The connection is open: the protocol's own start, then the job. */
static void conn_opened(struct wconn *wc)
{
    const struct rp_opts *o = opts(wc->t);
    resp_reader_init(&wc->rr, 0);
    pg_reader_init(&wc->pr, 0);
    wc->state = WC_READY;
    if (o->wire == RW_PG) {
        wc->state = WC_STARTUP;
        if (replay_pgauth_startup(&wc->out, o->wire_user, o->wire_db)) {
            conn_fail(wc, CORPUS_ERR_OTHER, "out of memory");
            return;
        }
        flush_add(wc);
    } else if (o->wire == RW_REDIS && o->wire_password[0] &&
               !(wc->jn && ((const struct wire_prep *)
                                head(wc)->job.rq->prep)->own)) {
        /* a session whose first command is its own AUTH (or HELLO AUTH)
         * gets that rebuilt with the credentials instead */
        if (put_auth(o, &wc->out)) {
            conn_fail(wc, CORPUS_ERR_OTHER, "out of memory");
            return;
        }
        wc->state = WC_STARTUP;
        flush_add(wc);
    }
    ep_set(wc, EPOLLIN);
    queue_jobs(wc);
}

static int conn_dial(struct wconn *wc)
{
    struct rp_tp *t = wc->t;
    const struct addrinfo *a = t->ai;
    wc->dial_us = now_us(t);
    int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    if (fd < 0)
        return errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    wc->fd = fd;
    wc->ep_events = 0;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        conn_opened(wc);
        return 0;
    }
    if (errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        wc->fd = -1;
        return e;
    }
    wc->state = WC_CONNECTING;
    ep_set(wc, EPOLLIN | EPOLLOUT);
    return 0;
}

static struct wconn *conn_new(struct rp_tp *t, struct rp_sess *sess)
{
    struct wconn *wc = calloc(1, sizeof *wc);
    if (!wc)
        return NULL;
    wc->t = t;
    wc->sess = sess;
    wc->fd = -1;
    wc->dial_us = -1;
    rp_buf_init(&wc->out, 0);
    rp_buf_init(&wc->smsg, STARTUP_MSG_MAX);
    wc->next = t->all;
    if (t->all)
        t->all->prev = wc;
    t->all = wc;
    if (sess)
        sess->tp = wc;
    return wc;
}

static void conn_free(struct wconn *wc)
{
    struct rp_tp *t = wc->t;
    conn_close(wc);
    if (wc->prev)
        wc->prev->next = wc->next;
    else
        t->all = wc->next;
    if (wc->next)
        wc->next->prev = wc->prev;
    if (wc->sess)
        wc->sess->tp = NULL;
    for (int i = 0; wc->jobs && i < WJOB_MAX; i++) {
        EVP_MD_CTX_free(wc->jobs[i].md);
        rp_buf_cleanup(&wc->jobs[i].keep);
    }
    free(wc->jobs);
    rp_buf_cleanup(&wc->out);
    rp_buf_cleanup(&wc->smsg);
    free(wc);
}

/* ---- the startup phase -------------------------------------------------- */

/* A complete PostgreSQL message during the startup, in wc->smsg. */
static void pg_startup_msg(struct wconn *wc, const struct pg_msg *m)
{
    const struct rp_opts *o = opts(wc->t);
    const uint8_t *msg = (const uint8_t *)wc->smsg.data;
    size_t n = wc->smsg.len;
    char err[RP_ERRLEN];
    if (n != m->bytes) {
        conn_fail(wc, CORPUS_ERR_PROTOCOL, "startup message too long");
        return;
    }
    if (m->type == 'E') {
        char state[6];
        const char *text = "";
        size_t tl = 0;
        pg_msg_error(msg, n, state, &text, &tl);
        snprintf(wc->fail, sizeof wc->fail, "the server refused the "
                 "session: %s %.*s", state, (int)(tl < 200 ? tl : 200),
                 text);
        /* 28xxx: authorization, 3D000: no such database */
        wc->refused = !strncmp(state, "28", 2) || !strcmp(state, "3D000");
        conn_fail(wc, CORPUS_ERR_PROTOCOL, wc->fail);
        return;
    }
    if (m->type == 'Z') {
        wc->state = WC_READY;
        queue_jobs(wc);
        return;
    }
    if (m->type != 'R')
        return; /* ParameterStatus, BackendKeyData, notices */
    uint32_t code;
    const uint8_t *data;
    size_t dl;
    if (pg_msg_auth(msg, n, &code, &data, &dl)) {
        conn_fail(wc, CORPUS_ERR_PROTOCOL, "malformed authentication "
                  "request");
        return;
    }
    if (code == 0)
        return;
    if (code != 12 && !o->wire_password[0]) {
        snprintf(wc->fail, sizeof wc->fail, "the server asks for a "
                 "password: give it with --password-file");
        wc->refused = 1;
        conn_fail(wc, CORPUS_ERR_PROTOCOL, wc->fail);
        return;
    }
    int rc = 0;
    err[0] = '\0';
    switch (code) {
    case 3:
        rc = replay_pgauth_cleartext(&wc->out, o->wire_password);
        break;
    case 5:
        rc = dl < 4 ? RP_EINPUT
                    : replay_pgauth_md5(&wc->out, o->wire_user,
                                        o->wire_password, data);
        break;
    case 10:
        if (wc->scram_on)
            replay_scram_cleanup(&wc->scram);
        memset(&wc->scram, 0, sizeof wc->scram);
        wc->scram_on = 1;
        rc = replay_scram_start(&wc->scram, data, dl, NULL, &wc->out, err);
        break;
    case 11:
        rc = wc->scram_on ? replay_scram_continue(&wc->scram,
                                                  o->wire_password, data, dl,
                                                  &wc->out, err)
                          : RP_EINPUT;
        break;
    case 12:
        rc = wc->scram_on ? replay_scram_finish(&wc->scram, data, dl, err)
                          : RP_EINPUT;
        break;
    default:
        snprintf(err, sizeof err, "authentication method %u is not "
                 "supported (cleartext, md5 and SCRAM-SHA-256 are)", code);
        rc = RP_EINPUT;
    }
    if (rc) {
        snprintf(wc->fail, sizeof wc->fail, "authentication: %.200s",
                 err[0] ? err : "malformed exchange");
        wc->refused = 1;
        conn_fail(wc, CORPUS_ERR_PROTOCOL, wc->fail);
        return;
    }
    flush_add(wc);
}

/* ---- replies ------------------------------------------------------------- */

static void reply_bytes(struct wconn *wc, const uint8_t *p, size_t n)
{
    struct wjob *h = head(wc);
    if (!h || !n)
        return;
    if (h->first_byte_us < 0)
        h->first_byte_us = now_us(wc->t);
    if (!wc->hash_msg)
        return;
    h->bytes += (int64_t)n;
    EVP_DigestUpdate(h->md, p, n);
    if (h->job.rq->flags & RQ_WANT_RESP) {
        size_t room = h->keep.max_bytes - h->keep.len;
        rp_buf_append(&h->keep, p, n < room ? n : room);
    }
}

/* Bytes read from the server, framed message by message. */
static void got_bytes(struct wconn *wc, const uint8_t *p, size_t n)
{
    const struct rp_opts *o = opts(wc->t);
    if (o->wire == RW_TCP) {
        struct wjob *h = head(wc);
        if (!h || !h->queued)
            return; /* nothing asked: dropped */
        wc->hash_msg = 1;
        reply_bytes(wc, p, n);
        wc->last_byte_us = now_us(wc->t);
        if (h->job.rq->cap_resp_bytes > 0 &&
            h->bytes >= h->job.rq->cap_resp_bytes)
            job_end(wc, CORPUS_ERR_NONE, NULL);
        return;
    }
    while (n && wc->fd >= 0) {
        int done = 0;
        const char *why = "";
        struct resp_msg rm;
        struct pg_msg pm;
        int startup = wc->state == WC_STARTUP;
        if (!wc->in_msg) {
            wc->in_msg = 1;
            wc->hash_msg = o->wire == RW_REDIS ? p[0] != '>'
                           : p[0] != 'N' && p[0] != 'S' && p[0] != 'A';
            wc->hash_msg = wc->hash_msg && !startup;
        }
        long k = o->wire == RW_REDIS
                     ? resp_read(&wc->rr, p, n, &done, &rm, &why)
                     : pg_read(&wc->pr, p, n, &done, &pm, &why);
        if (k < 0) {
            char msg[200];
            snprintf(msg, sizeof msg, "the reply does not frame: %s", why);
            conn_fail(wc, CORPUS_ERR_PROTOCOL, msg);
            return;
        }
        if (startup) {
            if (o->wire == RW_PG && rp_buf_append(&wc->smsg, p, (size_t)k)) {
                conn_fail(wc, CORPUS_ERR_PROTOCOL, "startup message too "
                          "long");
                return;
            }
        } else {
            reply_bytes(wc, p, (size_t)k);
        }
        p += k;
        n -= (size_t)k;
        if (!done) {
            if (!k)
                return;
            continue;
        }
        wc->in_msg = 0;
        if (startup) {
            if (o->wire == RW_PG) {
                pg_startup_msg(wc, &pm);
                wc->smsg.len = 0;
            } else if (rm.type == '-') {
                snprintf(wc->fail, sizeof wc->fail, "AUTH failed: %s",
                         rm.first);
                wc->refused = 1;
                conn_fail(wc, CORPUS_ERR_PROTOCOL, wc->fail);
            } else {
                wc->state = WC_READY;
                queue_jobs(wc);
            }
            continue;
        }
        struct wjob *h = head(wc);
        if (!h || !h->queued)
            continue; /* unasked (a push between requests) */
        int ends = 0;
        if (o->wire == RW_REDIS) {
            if (rm.push)
                continue;
            if (rm.type == '-' || rm.type == '!')
                h->err_reply = 1;
            ends = 1;
        } else {
            if (pm.type == 'E')
                h->err_reply = 1;
            ends = pm.type == 'Z';
        }
        if (ends && --h->replies_left <= 0)
            job_end(wc, CORPUS_ERR_NONE, NULL);
    }
}

static void do_write(struct wconn *wc)
{
    while (wc->out_off < wc->out.len) {
        ssize_t k = send(wc->fd, wc->out.data + wc->out_off,
                         wc->out.len - wc->out_off, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                ep_set(wc, EPOLLIN | EPOLLOUT);
                return;
            }
            conn_fail(wc, errno_class(errno), strerror(errno));
            return;
        }
        wc->out_off += (size_t)k;
    }
    wc->out.len = wc->out_off = 0;
    ep_set(wc, EPOLLIN);
}

/* ---- the transport's functions ----------------------------------------- */

static int tpw_start(struct rp_tp *t, struct rp_job *job, struct rp_sess *sess,
                     struct rp_outcome *now)
{
    if (t->dns_err[0] || !t->ai) {
        memset(now, 0, sizeof *now);
        now->sent_us = -1;
        now->first_byte_us = -1;
        now->error_class = CORPUS_ERR_DNS;
        now->error = t->dns_err;
        return 1;
    }
    struct wconn *wc = sess ? sess->tp : NULL;
    if (!wc && !(wc = conn_new(t, sess))) {
        memset(now, 0, sizeof *now);
        now->sent_us = now->first_byte_us = -1;
        now->error_class = CORPUS_ERR_OTHER;
        now->error = "out of memory";
        return 1;
    }
    if (wc->jn == WJOB_MAX || (wc->jn && opts(t)->wire == RW_TCP) ||
        (!wc->jobs && !(wc->jobs = calloc(WJOB_MAX, sizeof *wc->jobs)))) {
        /* the core sends no more than SESS_DEPTH of a session at once, and
         * never pipelines a turn-taking (tcp) session */
        memset(now, 0, sizeof *now);
        now->sent_us = now->first_byte_us = -1;
        now->error_class = CORPUS_ERR_OTHER;
        now->error = wc->jobs ? "session busy" : "out of memory";
        return 1;
    }
    if (wc->refused) { /* the same answer, without asking again */
        memset(now, 0, sizeof *now);
        now->sent_us = now->first_byte_us = -1;
        now->error_class = CORPUS_ERR_PROTOCOL;
        now->error = wc->fail;
        return 1;
    }
    struct wjob *jb = job_at(wc, wc->jn);
    if (!jb->md && !(jb->md = EVP_MD_CTX_new())) {
        memset(now, 0, sizeof *now);
        now->sent_us = now->first_byte_us = -1;
        now->error_class = CORPUS_ERR_OTHER;
        now->error = "out of memory";
        return 1;
    }
    if (!jb->keep.max_bytes)
        rp_buf_init(&jb->keep, RESP_KEEP_MAX);
    jb->job = *job;
    jb->queued = 0;
    jb->first_byte_us = -1;
    jb->bytes = 0;
    jb->err_reply = 0;
    jb->keep.len = 0;
    jb->connect_us = 0;
    jb->start_us = now_us(t);
    EVP_DigestInit_ex(jb->md, t->sha256, NULL);
    const int64_t timeout = opts(t)->timeout_us;
    jb->deadline_us = timeout > 0 ? jb->start_us + timeout : -1;
    wc->jn++;
    if (wc->fd < 0) {
        int e = conn_dial(wc);
        if (e) {
            snprintf(t->dial_err, sizeof t->dial_err, "%s: %s", t->addr_txt,
                     strerror(e));
            wc->jn--;
            jb->job.rq = NULL;
            memset(now, 0, sizeof *now);
            now->sent_us = now->first_byte_us = -1;
            now->error_class = errno_class(e);
            now->error = t->dial_err; /* copied by the core */
            return 1;
        }
    } else {
        queue_jobs(wc);
    }
    return 0;
}

static void tpw_event(struct rp_tp *t, uint64_t token, uint32_t events)
{
    struct wconn *wc = (struct wconn *)(uintptr_t)token;
    (void)t;
    if (wc->fd < 0)
        return;
    if (wc->state == WC_CONNECTING) {
        int e = 0;
        socklen_t el = sizeof e;
        getsockopt(wc->fd, SOL_SOCKET, SO_ERROR, &e, &el);
        if (e) {
            conn_fail(wc, errno_class(e), strerror(e));
            return;
        }
        if (!(events & (EPOLLOUT | EPOLLIN)))
            return;
        conn_opened(wc);
        if (wc->fd >= 0)
            do_write(wc);
        return;
    }
    if (events & EPOLLOUT)
        do_write(wc);
    if (wc->fd < 0 || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    for (int round = 0; round < 16 && wc->fd >= 0; round++) {
        ssize_t k = recv(wc->fd, t->rbuf, sizeof t->rbuf, 0);
        if (k > 0) {
            got_bytes(wc, t->rbuf, (size_t)k);
            if ((size_t)k < sizeof t->rbuf)
                break;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (k == 0 && opts(t)->wire == RW_TCP && head(wc) &&
            head(wc)->queued && head(wc)->first_byte_us >= 0) {
            /* the reply ended with the stream */
            conn_close(wc);
            job_end(wc, CORPUS_ERR_NONE, NULL);
            return;
        }
        conn_fail(wc, k == 0 ? CORPUS_ERR_RESET : errno_class(errno),
                  k == 0 ? "the server closed the connection"
                         : strerror(errno));
        return;
    }
}

/* The earliest deadline of wc: its oldest request's (later ones were
 * started later), or the end of a tcp reply's quiet gap. */
static int64_t conn_deadline(const struct wconn *wc, int64_t gap)
{
    const struct wjob *h = head(wc);
    if (!h)
        return -1;
    int64_t d = h->deadline_us;
    if (gap && h->queued && !wc->out.len) {
        int64_t q = wc->last_byte_us + gap;
        if (d < 0 || q < d)
            d = q;
    }
    return d;
}

static int64_t tpw_deadline(struct rp_tp *t)
{
    int64_t best = -1;
    int64_t gap = opts(t)->wire == RW_TCP ? opts(t)->quiet_gap_us : 0;
    for (struct wconn *wc = t->all; wc; wc = wc->next) {
        int64_t d = conn_deadline(wc, gap);
        if (d >= 0 && (best < 0 || d < best))
            best = d;
    }
    return best;
}

static void tpw_expire(struct rp_tp *t, int64_t now)
{
    int64_t gap = opts(t)->wire == RW_TCP ? opts(t)->quiet_gap_us : 0;
    for (struct wconn *wc = t->all; wc; wc = wc->next) {
        const struct wjob *h = head(wc);
        if (!h)
            continue;
        if (h->deadline_us >= 0 && now >= h->deadline_us) {
            conn_fail(wc, CORPUS_ERR_TIMEOUT, "no complete reply before "
                      "--timeout");
            continue;
        }
        if (gap && h->queued && !wc->out.len &&
            now >= wc->last_byte_us + gap)
            job_end(wc, CORPUS_ERR_NONE, NULL); /* the quiet gap ends it */
    }
}

static void tpw_flush(struct rp_tp *t)
{
    while (t->flush_head) {
        struct wconn *wc = t->flush_head;
        t->flush_head = wc->fnext;
        wc->on_flush = 0;
        if (wc->fd >= 0 && wc->state != WC_CONNECTING)
            do_write(wc);
    }
}

static void tpw_abort_all(struct rp_tp *t, const char *msg)
{
    for (struct wconn *wc = t->all; wc; wc = wc->next)
        if (wc->jn) {
            conn_close(wc);
            while (wc->jn)
                job_end(wc, CORPUS_ERR_OTHER, msg);
        }
}

static void tpw_sess_end(struct rp_tp *t, struct rp_sess *sess)
{
    (void)t;
    if (sess->tp)
        conn_free(sess->tp);
}

static void tpw_destroy(struct rp_tp *t)
{
    if (!t)
        return;
    while (t->all)
        conn_free(t->all);
    if (t->ai)
        freeaddrinfo(t->ai);
    EVP_MD_free(t->sha256);
    free(t);
}

static int tpw_create(const struct rp_tp_env *env, struct rp_tp **out,
                      char *err)
{
    struct rp_tp *t = calloc(1, sizeof *t);
    const struct rp_opts *o = env->c->o;
    if (!t)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    t->env = *env;
    if (!(t->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL))) {
        tpw_destroy(t);
        return rp_fail(err, RP_EIO, "cannot set up SHA-256");
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(o->conn_host, o->conn_port, &hints, &t->ai);
    if (g) {
        snprintf(t->dns_err, sizeof t->dns_err, "cannot resolve %.200s: %s",
                 o->conn_host, gai_strerror(g));
        t->ai = NULL;
    } else {
        char host[INET6_ADDRSTRLEN + 2] = "?", port[8] = "?";
        getnameinfo(t->ai->ai_addr, t->ai->ai_addrlen, host, sizeof host,
                    port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
        snprintf(t->addr_txt, sizeof t->addr_txt,
                 t->ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
                 port);
    }
    *out = t;
    return 0;
}

const struct rp_transport replay_tp_wire = {
    .name = "wire",
    .pipelines = 1, /* a session's requests, when its client pipelined them */
    .prepare = tpw_prepare,
    .create = tpw_create,
    .destroy = tpw_destroy,
    .start = tpw_start,
    .event = tpw_event,
    .deadline = tpw_deadline,
    .expire = tpw_expire,
    .flush = tpw_flush,
    .abort_all = tpw_abort_all,
    .sess_end = tpw_sess_end,
};
