/*
 * tp_curl.c: the libcurl transport (transport.h), for https:// targets,
 * --http2 and --engine curl. Each engine runs one libcurl multi handle on
 * the core's epoll set through curl_multi_socket_action; easy handles are
 * pooled and reused, so libcurl keeps connections alive. libcurl rebuilds
 * every request from options, so this file also holds what that costs: the
 * header dialect (hop-by-hop and framing headers left to libcurl, empty
 * values as "Name;", suppressions so libcurl adds no Accept, Content-Type
 * or Expect the client never sent), chunked bodies sent de-chunked, and
 * the mapping of libcurl's result codes to reprise's error classes. In
 * --sessions a session keeps one easy handle whose connection is pinned
 * through libcurl's pool key: each live session binds its own local port
 * preference (lane), so no other session's request takes its idle
 * connection, and its first request forces a fresh connection. Nothing
 * else in reprise includes curl.h.
 */
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/http_parse.h"
#include "replay/replay_int.h"
#include "replay/transport.h"

#define PREWARM_SLOTS 64     /* easy handles made before the start */
#define SESS_MAXAGE_S 9L     /* libcurl: idle >= 10 s is not reused */
#define NLANES 16384         /* pinned sessions at once per engine */
#define LANE_PORT_BASE 10000 /* lane i prefers local port base + i */
#define LANE_PORT_RANGE 20000L
#define TOK_FD_BASE 16u      /* epoll token = descriptor + this */

/* ---- prepared requests -------------------------------------------------- */

/* Headers libcurl derives itself or that describe the captured connection
 * rather than the request: never handed to libcurl. */
static const char *const hop_headers[] = {
    "content-length", "transfer-encoding", "connection", "keep-alive",
    "expect", "upgrade", "proxy-connection", "te", "http2-settings",
};

static int is_hop(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof hop_headers / sizeof *hop_headers; i++)
        if (http_name_is(name, n, hop_headers[i]))
            return 1;
    return 0;
}

/* Emits "Name: value", or "Name;" for an empty value (libcurl's syntax for
 * an empty header; "Name:" would remove it). */
static int emit_header(const char *name, size_t nlen, const char *val,
                       size_t vlen, int (*emit)(void *, const char *),
                       void *arg)
{
    char stack[512];
    size_t need = nlen + vlen + 3;
    char *line = need <= sizeof stack ? stack : malloc(need);
    if (!line)
        return RP_ENOMEM;
    memcpy(line, name, nlen);
    if (vlen) {
        memcpy(line + nlen, ": ", 2);
        memcpy(line + nlen + 2, val, vlen);
        line[nlen + 2 + vlen] = '\0';
    } else {
        line[nlen] = ';';
        line[nlen + 1] = '\0';
    }
    int rc = emit(arg, line);
    if (line != stack)
        free(line);
    return rc;
}

int replay_curl_header_lines(const char *head, size_t len, int has_body,
                             int (*emit)(void *arg, const char *line),
                             void *arg)
{
    struct http_head h;
    struct http_header *hdrs = malloc(HTTP_MAX_HEADERS * sizeof *hdrs);
    struct rp_buf fold;
    int have_host = 0, have_accept = 0, have_ctype = 0, rc = 0;
    size_t n = 0;
    if (!hdrs)
        return RP_ENOMEM;
    rp_buf_init(&fold, 0);
    if (http_parse_head(head, len, 1, &h, hdrs, HTTP_MAX_HEADERS) > 0)
        n = h.num_headers;
    for (size_t i = 0; !rc && i < n; i++) {
        const struct http_header *x = &hdrs[i];
        if (x->line_len && (x->line[0] == ' ' || x->line[0] == '\t'))
            continue; /* a continuation, joined below */
        if (!x->name_len || !memchr(x->line, ':', x->line_len))
            continue; /* not a header libcurl can send */
        /* obs-fold continuation lines join the value with one space */
        const char *val = x->value;
        size_t vlen = x->value_len;
        if (i + 1 < n && hdrs[i + 1].line_len &&
            (hdrs[i + 1].line[0] == ' ' || hdrs[i + 1].line[0] == '\t')) {
            rp_buf_reset(&fold);
            rc = rp_buf_append(&fold, x->value, x->value_len);
            for (size_t k = i + 1; !rc && k < n && hdrs[k].line_len &&
                                   (hdrs[k].line[0] == ' ' ||
                                    hdrs[k].line[0] == '\t');
                 k++) {
                rc = rp_buf_append(&fold, " ", 1);
                if (!rc)
                    rc = rp_buf_append(&fold, hdrs[k].value,
                                       hdrs[k].value_len);
            }
            if (rc)
                break;
            val = fold.data ? fold.data : "";
            vlen = fold.len;
        }
        if (is_hop(x->name, x->name_len))
            continue;
        if (http_name_is(x->name, x->name_len, "host")) {
            if (have_host)
                continue; /* libcurl sends one */
            have_host = 1;
        }
        if (http_name_is(x->name, x->name_len, "accept"))
            have_accept = 1;
        if (http_name_is(x->name, x->name_len, "content-type"))
            have_ctype = 1;
        rc = emit_header(x->name, x->name_len, val, vlen, emit, arg);
    }
    if (!rc && !have_accept)
        rc = emit(arg, "Accept:");
    if (!rc && has_body && !have_ctype)
        rc = emit(arg, "Content-Type:");
    if (!rc)
        rc = emit(arg, "Expect:");
    rp_buf_cleanup(&fold);
    free(hdrs);
    return rc;
}

/* libcurl's form of a request. */
struct curl_prep {
    struct curl_slist *headers;
    const uint8_t *body;      /* rq->body, or own_body when de-chunked */
    size_t body_len;
    uint8_t *own_body;
};

static void prep_free(void *p)
{
    struct curl_prep *cp = p;
    if (!cp)
        return;
    curl_slist_free_all(cp->headers);
    free(cp->own_body);
    free(cp);
}

static int slist_emit(void *arg, const char *line)
{
    struct curl_slist **l = arg;
    struct curl_slist *n = curl_slist_append(*l, line);
    if (!n)
        return RP_ENOMEM;
    *l = n;
    return 0;
}

static int method_has_body(const char *m, size_t body_len)
{
    return body_len > 0 || !strcmp(m, "POST") || !strcmp(m, "PUT") ||
           !strcmp(m, "PATCH");
}

static int tpc_prepare(const struct rp_opts *o, struct rp_rq *rq, char *err)
{
    struct curl_prep *cp = calloc(1, sizeof *cp);
    (void)o;
    if (!cp)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    cp->body = rq->body;
    cp->body_len = rq->body_len;
    /* libcurl frames the body itself: a chunked one goes de-chunked */
    if ((rq->flags & RQ_BODY_WIRE) &&
        replay_rq_dechunk(rq->body, rq->body_len, &cp->own_body,
                          &cp->body_len)) {
        prep_free(cp);
        return rp_fail(err, RP_ENOMEM, "out of memory");
    }
    if (rq->flags & RQ_BODY_WIRE)
        cp->body = cp->own_body;
    if (replay_curl_header_lines(rq->head, rq->head_len,
                                 method_has_body(rq->method, cp->body_len),
                                 slist_emit, &cp->headers)) {
        prep_free(cp);
        return rp_fail(err, RP_ENOMEM, "out of memory building headers");
    }
    rq->prep = cp;
    rq->prep_free = prep_free;
    return 0;
}

/* ---- error classes ------------------------------------------------------ */

enum corpus_errclass replay_curl_errclass(int code)
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

/* ---- the instance ------------------------------------------------------- */

struct rp_fdst;

#define RESP_KEEP_MAX (1u << 20) /* response bytes kept for correlation */

struct slot {
    CURL *h;
    struct rp_tp *t;
    struct rp_job job;          /* the job in flight */
    struct rp_sess *sess;       /* --sessions: owner */
    EVP_MD_CTX *md;
    int md_on;                  /* digest started (first body byte seen) */
    int busy;
    int lane;                   /* --sessions: pool key (local port), -1 */
    int fresh;                  /* next request opens a new connection */
    int64_t bytes;              /* response body bytes */
    int64_t sent_us;
    char errbuf[CURL_ERROR_SIZE];
    struct rp_buf rhead, rbody; /* the response, kept for correlation
                                   (RQ_WANT_RESP) */
    struct slot *next_free;
};

struct rp_tp {
    struct rp_tp_env env;
    CURLM *multi;
    EVP_MD *sha256;
    int64_t deadline;           /* libcurl's timeout, run-relative, or -1 */
    int kick;                   /* handles added since the last kick */
    struct slot **slots;        /* every slot ever made */
    int nslots, slots_cap;
    struct slot *free_slots;
    struct rp_fdst *fds;        /* epoll state by descriptor */
    size_t nfds;
    int *lanes;                 /* free lanes (a stack) */
    int nlanes;
};

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

static struct rp_fdst *fdst(struct rp_tp *t, int fd)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= t->nfds) {
        size_t n = t->nfds ? t->nfds : 256;
        while (n <= (size_t)fd)
            n *= 2;
        struct rp_fdst *v = realloc(t->fds, n * sizeof *v);
        if (!v)
            return NULL;
        memset(v + t->nfds, 0, (n - t->nfds) * sizeof *v);
        t->fds = v;
        t->nfds = n;
    }
    return &t->fds[fd];
}

static curl_socket_t open_cb(void *clientp, curlsocktype purpose,
                             struct curl_sockaddr *a)
{
    struct rp_tp *t = clientp;
    (void)purpose;
    int pre = a->socktype == SOCK_STREAM
                  ? replay_core_take_preconnected(t->env.core, &a->addr,
                                                  a->addrlen)
                  : -1;
    int fd = pre >= 0 ? pre
                      : socket(a->family, a->socktype | SOCK_CLOEXEC,
                               a->protocol);
    struct rp_fdst *st = fdst(t, fd);
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
    struct rp_tp *t = clientp;
    (void)purpose;
    struct rp_fdst *st = fdst(t, fd); /* open_cb registered it */
    return st && st->pre ? CURL_SOCKOPT_ALREADY_CONNECTED : CURL_SOCKOPT_OK;
}

static int close_cb(void *clientp, curl_socket_t fd)
{
    struct rp_tp *t = clientp;
    struct rp_fdst *st = fdst(t, fd);
    if (st) {
        if (st->in_ep)
            epoll_ctl(t->env.epfd, EPOLL_CTL_DEL, fd, NULL);
        memset(st, 0, sizeof *st);
    }
    return close(fd);
}

static void ep_ctl(struct rp_tp *t, int op, int fd, uint32_t events)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.u64 = (uint64_t)fd + TOK_FD_BASE;
    ev.events = events;
    epoll_ctl(t->env.epfd, op, fd, &ev);
}

static void ep_set(struct rp_tp *t, int fd, uint32_t events)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.u64 = (uint64_t)fd + TOK_FD_BASE;
    ev.events = events;
    if (epoll_ctl(t->env.epfd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
        epoll_ctl(t->env.epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int sock_cb(CURL *h, curl_socket_t s, int what, void *userp,
                   void *socketp)
{
    struct rp_tp *t = userp;
    struct rp_fdst *st = fdst(t, s);
    (void)h;
    (void)socketp;
    if (what == CURL_POLL_REMOVE) {
        if (st && st->ours && st->in_ep) {
            st->active = 0;
            return 0;
        }
        epoll_ctl(t->env.epfd, EPOLL_CTL_DEL, s, NULL);
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
        ep_set(t, s, events);
        return 0;
    }
    if (!st->in_ep) {
        struct epoll_event ev;
        memset(&ev, 0, sizeof ev);
        ev.data.u64 = (uint64_t)s + TOK_FD_BASE;
        ev.events = events;
        if (epoll_ctl(t->env.epfd, EPOLL_CTL_ADD, s, &ev) < 0 &&
            errno == EEXIST)
            ep_ctl(t, EPOLL_CTL_MOD, s, events);
    } else if (st->events != events) {
        ep_set(t, s, events);
    }
    st->in_ep = st->active = 1;
    st->events = events;
    return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    struct rp_tp *t = userp;
    (void)m;
    t->deadline =
        timeout_ms < 0 ? -1 : replay_now(t->env.c) + timeout_ms * 1000;
    return 0;
}

static size_t write_cb(char *p, size_t size, size_t n, void *userp)
{
    struct slot *s = userp;
    size_t len = size * n;
    if (!len)
        return 0;
    if (!s->md_on) {
        EVP_DigestInit_ex(s->md, s->t->sha256, NULL);
        s->md_on = 1;
    }
    EVP_DigestUpdate(s->md, p, len);
    s->bytes += (int64_t)len;
    if (s->job.rq && (s->job.rq->flags & RQ_WANT_RESP))
        rp_buf_append(&s->rbody, p, len); /* capped: the rest is dropped */
    return len;
}

/* Response header lines, kept only for correlation; a status line starts
 * them again (an interim response came first). */
static size_t header_cb(char *p, size_t size, size_t n, void *userp)
{
    struct slot *s = userp;
    size_t len = size * n;
    if (!s->job.rq || !(s->job.rq->flags & RQ_WANT_RESP))
        return len;
    if (len >= 5 && !memcmp(p, "HTTP/", 5))
        s->rhead.len = 0;
    else if (len > 2)
        rp_buf_append(&s->rhead, p, len);
    return len;
}

/* ---- slots -------------------------------------------------------------- */

static struct slot *slot_get(struct rp_tp *t)
{
    struct slot *s = t->free_slots;
    if (s) {
        t->free_slots = s->next_free;
        return s;
    }
    if (t->nslots == t->slots_cap) {
        int nc = t->slots_cap ? t->slots_cap * 2 : 64;
        struct slot **v = realloc(t->slots, (size_t)nc * sizeof *v);
        if (!v)
            return NULL;
        t->slots = v;
        t->slots_cap = nc;
    }
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->t = t;
    s->lane = -1;
    s->h = curl_easy_init();
    s->md = EVP_MD_CTX_new();
    if (!s->h || !s->md) {
        curl_easy_cleanup(s->h);
        EVP_MD_CTX_free(s->md);
        free(s);
        return NULL;
    }
    const struct rp_opts *o = t->env.c->o;
    CURL *h = s->h;
    curl_easy_setopt(h, CURLOPT_URL, o->base_url);
    curl_easy_setopt(h, CURLOPT_PRIVATE, s);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
    rp_buf_init(&s->rhead, RESP_KEEP_MAX);
    rp_buf_init(&s->rbody, RESP_KEEP_MAX);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* no proxy from the environment */
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_cb);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
    curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, t);
    curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
    curl_easy_setopt(h, CURLOPT_SOCKOPTDATA, t);
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
    t->slots[t->nslots++] = s;
    return s;
}

static void slot_put(struct rp_tp *t, struct slot *s)
{
    s->busy = 0;
    s->sess = NULL;
    s->next_free = t->free_slots;
    t->free_slots = s;
}

/* Sets the method and body of a reused handle from scratch. */
static void set_method(CURL *h, const struct rp_rq *rq)
{
    const struct curl_prep *cp = rq->prep;
    const char *m = rq->method;
    curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    if (!strcmp(m, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        return;
    }
    if (method_has_body(m, cp->body_len)) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)cp->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                         cp->body ? (const char *)cp->body : "");
        if (strcmp(m, "POST"))
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    } else if (strcmp(m, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    }
}

/* Gives a session its easy handle and, when one is free, a lane. */
static struct slot *sess_bind(struct rp_tp *t, struct rp_sess *ss)
{
    struct slot *s = slot_get(t);
    if (!s)
        return NULL;
    ss->tp = s;
    s->fresh = 1;
    s->lane = t->nlanes ? t->lanes[--t->nlanes] : -1;
    if (s->lane >= 0) {
        curl_easy_setopt(s->h, CURLOPT_LOCALPORT,
                         (long)(LANE_PORT_BASE + s->lane));
        curl_easy_setopt(s->h, CURLOPT_LOCALPORTRANGE, LANE_PORT_RANGE);
    }
    return s;
}

static void tpc_sess_end(struct rp_tp *t, struct rp_sess *ss)
{
    struct slot *s = ss->tp;
    ss->tp = NULL;
    if (!s)
        return;
    if (s->lane >= 0) {
        curl_easy_setopt(s->h, CURLOPT_LOCALPORT, 0L);
        curl_easy_setopt(s->h, CURLOPT_LOCALPORTRANGE, 1L);
        t->lanes[t->nlanes++] = s->lane;
        s->lane = -1;
    }
    curl_easy_setopt(s->h, CURLOPT_FRESH_CONNECT, 0L);
    s->fresh = 0;
    slot_put(t, s);
}

static int tpc_start(struct rp_tp *t, struct rp_job *j, struct rp_sess *ss,
                     struct rp_outcome *now)
{
    struct slot *s = ss ? ss->tp : slot_get(t);
    if (ss && !s)
        s = sess_bind(t, ss);
    if (!s) {
        now->sent_us = now->first_byte_us = -1;
        now->done_us = -1;
        now->error_class = CORPUS_ERR_OTHER;
        now->error = "out of memory";
        return 1;
    }
    CURL *h = s->h;
    s->job = *j;
    s->rhead.len = s->rbody.len = 0;
    s->sess = ss;
    s->bytes = 0;
    s->md_on = 0;
    s->errbuf[0] = '\0';
    s->busy = 1;
    if (ss) {
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, s->fresh ? 1L : 0L);
        s->fresh = 0;
    }
    curl_easy_setopt(h, CURLOPT_REQUEST_TARGET, j->rq->target);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER,
                     ((const struct curl_prep *)j->rq->prep)->headers);
    set_method(h, j->rq);
    s->sent_us = replay_now(t->env.c);
    CURLMcode mc = curl_multi_add_handle(t->multi, h);
    if (mc != CURLM_OK) {
        s->busy = 0;
        if (!ss) /* a session keeps its handle */
            slot_put(t, s);
        now->sent_us = now->first_byte_us = -1;
        now->done_us = -1;
        now->error_class = CORPUS_ERR_OTHER;
        now->error = curl_multi_strerror(mc);
        return 1;
    }
    t->kick = 1;
    return 0;
}

/* ---- completion --------------------------------------------------------- */

/* Ends the transfer on slot s and hands its result to the core. */
static void finish(struct rp_tp *t, struct slot *s, CURLcode cc,
                   const char *msg)
{
    CURL *h = s->h;
    struct rp_outcome out;
    long status = 0, nconn = 0;
    curl_off_t ttfb = 0, conn = 0;
    memset(&out, 0, sizeof out);
    out.sent_us = s->sent_us;
    out.done_us = replay_now(t->env.c);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconn);
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &conn);
    out.status = (int)status;
    out.first_byte_us = status > 0 && ttfb > 0 ? s->sent_us + (int64_t)ttfb
                                               : -1;
    out.connect_us = nconn > 0 ? (int64_t)conn : 0;
    out.resp_bytes = s->bytes;
    if (s->job.rq && (s->job.rq->flags & RQ_WANT_RESP)) {
        out.resp_headers = s->rhead.data;
        out.resp_headers_len = s->rhead.len;
        out.resp_body = (const uint8_t *)s->rbody.data;
        out.resp_body_len = s->rbody.len;
    }
    if (cc == CURLE_OK && !msg && s->md_on) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        EVP_DigestFinal_ex(s->md, md, &mdlen);
        memcpy(out.body_hash, md, RP_HASH_LEN);
        out.has_body_hash = 1;
    }
    out.error_class = msg ? CORPUS_ERR_OTHER : replay_curl_errclass((int)cc);
    if (msg)
        out.error = msg;
    else if (cc != CURLE_OK)
        out.error = s->errbuf[0] ? s->errbuf : curl_easy_strerror(cc);
    curl_multi_remove_handle(t->multi, h);
    struct rp_job job = s->job;
    struct rp_sess *ss = s->sess;
    s->job.rq = NULL;
    s->busy = 0;
    if (!ss)
        slot_put(t, s);
    replay_core_done(t->env.core, &job, ss, &out);
}

static void read_done(struct rp_tp *t)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(t->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        CURLcode cc = m->data.result;
        if (priv)
            finish(t, (struct slot *)(void *)priv, cc, NULL);
    }
}

static void tpc_flush(struct rp_tp *t)
{
    int running;
    while (t->kick) {
        t->kick = 0;
        curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        read_done(t);
    }
}

static int64_t tpc_deadline(struct rp_tp *t)
{
    return t->deadline;
}

static void tpc_expire(struct rp_tp *t, int64_t now_us)
{
    int running;
    (void)now_us;
    t->deadline = -1;
    curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    read_done(t);
    tpc_flush(t);
}

static void tpc_event(struct rp_tp *t, uint64_t token, uint32_t events)
{
    int running, fd = (int)(token - TOK_FD_BASE);
    struct rp_fdst *st = fd >= 0 && (size_t)fd < t->nfds ? &t->fds[fd] : NULL;
    if (st && st->in_ep && !st->active) {
        /* a kept-alive socket libcurl is not watching: closed by the
         * server or noise; libcurl checks it before reuse */
        epoll_ctl(t->env.epfd, EPOLL_CTL_DEL, fd, NULL);
        st->in_ep = 0;
        return;
    }
    int flags = 0;
    if (events & EPOLLIN)
        flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (events & (EPOLLERR | EPOLLHUP))
        flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(t->multi, fd, flags, &running);
    read_done(t);
}

static void tpc_abort_all(struct rp_tp *t, const char *msg)
{
    for (int i = 0; i < t->nslots; i++) {
        struct slot *s = t->slots[i];
        if (s->busy)
            finish(t, s, CURLE_OK, msg);
    }
}

/* ---- setup -------------------------------------------------------------- */

static void tpc_destroy(struct rp_tp *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->nslots; i++) {
        struct slot *s = t->slots[i];
        if (s->busy) {
            curl_multi_remove_handle(t->multi, s->h);
            replay_rq_unref(s->job.rq);
        }
        curl_easy_cleanup(s->h);
        EVP_MD_CTX_free(s->md);
        rp_buf_cleanup(&s->rhead);
        rp_buf_cleanup(&s->rbody);
        free(s);
    }
    free(t->slots);
    if (t->multi)
        curl_multi_cleanup(t->multi);
    free(t->fds);
    free(t->lanes);
    EVP_MD_free(t->sha256);
    free(t);
}

static int tpc_create(const struct rp_tp_env *env, struct rp_tp **out,
                      char *err)
{
    struct rp_tp *t = calloc(1, sizeof *t);
    const struct rp_opts *o = env->c->o;
    if (!t)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    t->env = *env;
    t->deadline = -1;
    t->multi = curl_multi_init();
    t->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!t->multi || !t->sha256) {
        tpc_destroy(t);
        return rp_fail(err, RP_EIO, "cannot set up libcurl for replay engine "
                       "%d", env->idx);
    }
    if (o->sessions) {
        t->lanes = malloc(NLANES * sizeof *t->lanes);
        if (!t->lanes) {
            tpc_destroy(t);
            return rp_fail(err, RP_ENOMEM, "out of memory");
        }
        for (int i = 0; i < NLANES; i++)
            t->lanes[i] = NLANES - 1 - i; /* lane 0 on top */
        t->nlanes = NLANES;
    }
    curl_multi_setopt(t->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(t->multi, CURLMOPT_SOCKETDATA, t);
    curl_multi_setopt(t->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(t->multi, CURLMOPT_TIMERDATA, t);
    curl_multi_setopt(t->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      (long)env->conn_cap);
    curl_multi_setopt(t->multi, CURLMOPT_MAXCONNECTS, (long)env->conn_cap);
    curl_multi_setopt(t->multi, CURLMOPT_PIPELINING,
                      o->http2 ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING);
    /* Make the first handles now, not when the first requests are due. */
    struct slot *warm = NULL;
    for (int i = 0; i < env->conn_cap && i < PREWARM_SLOTS; i++) {
        struct slot *s = slot_get(t);
        if (!s)
            break;
        s->next_free = warm;
        warm = s;
    }
    while (warm) {
        struct slot *next = warm->next_free;
        slot_put(t, warm);
        warm = next;
    }
    *out = t;
    return 0;
}

static int tpc_global_init(char *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT))
        return rp_fail(err, RP_EIO, "libcurl initialisation failed");
    return 0;
}

static void tpc_global_cleanup(void)
{
    curl_global_cleanup();
}

const struct rp_transport replay_tp_curl = {
    .name = "curl",
    .pipelines = 0,
    .global_init = tpc_global_init,
    .global_cleanup = tpc_global_cleanup,
    .prepare = tpc_prepare,
    .create = tpc_create,
    .destroy = tpc_destroy,
    .start = tpc_start,
    .event = tpc_event,
    .deadline = tpc_deadline,
    .expire = tpc_expire,
    .flush = tpc_flush,
    .abort_all = tpc_abort_all,
    .sess_end = tpc_sess_end,
};
