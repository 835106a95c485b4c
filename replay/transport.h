/*
 * transport.h: the seam between replay's engine core and the code that owns
 * sockets and bytes, in the spirit of wrk's `struct sock`. The core (core.c)
 * owns everything about *when*: jobs from the feeder's ring, the due-time
 * heap, sessions, the connection cap, the timerfd/eventfd loop, spinning,
 * stop and grace, pre-connected sockets and result batching. A transport
 * owns *how*: connections, the bytes written, the framing of responses and
 * the error classes. The core hands it one job at a time (start), passes on
 * readiness of the descriptors it registered (event), asks for its earliest
 * deadline and tells it when that passed (expire), lets it write what it
 * queued (flush), and makes it give up everything in flight (abort_all).
 * Every started job comes back exactly once through replay_core_done. Two
 * transports exist: raw (tp_raw.c: HTTP/1.1 on plain TCP, the captured
 * bytes verbatim) and curl (tp_curl.c: libcurl multi, for TLS and HTTP/2).
 * Nothing outside a transport's own file includes its library's headers.
 *
 * Threads: prepare/unprepare run on the feeder thread (and wherever the
 * last reference to a request is dropped); everything else runs on the
 * engine thread that created the instance.
 */
#ifndef RP_REPLAY_TRANSPORT_H
#define RP_REPLAY_TRANSPORT_H

#include <stdint.h>

#include "replay/replay_int.h"

/* epoll tokens (epoll_event.data.u64) the core keeps for itself; any other
 * token belongs to the transport that registered the descriptor. */
#define RP_TOK_TIMER 1u
#define RP_TOK_WAKE 2u

/* How one request ended, filled by the transport. */
struct rp_outcome {
    int64_t sent_us;        /* handed to the connection, run-relative; -1
                               when it never was */
    int64_t first_byte_us;  /* first response byte, -1 when none */
    int64_t done_us;        /* complete or failed; -1: the core uses now */
    int64_t connect_us;     /* connecting took this long; 0 when reused */
    int status;             /* final HTTP status, 0 when none */
    int64_t resp_bytes;     /* response body bytes (after de-chunking) */
    uint8_t body_hash[RP_HASH_LEN];
    int has_body_hash;
    enum corpus_errclass error_class;
    const char *error;      /* message (copied by the core), or NULL */
    /* With RQ_WANT_RESP (correlation): the response's header lines
     * ("Name: value\r\n") and its body (de-chunked, capped), valid during
     * replay_core_done; NULL when the transport keeps none. */
    const char *resp_headers;
    size_t resp_headers_len;
    const uint8_t *resp_body;
    size_t resp_body_len;
};

/* What an engine's core gives its transport instance. */
struct rp_tp_env {
    struct rp_engine *core; /* for replay_core_* calls */
    struct rp_ctx *c;       /* options and the run's clock */
    int idx;                /* engine index, 0..threads-1 */
    int epfd;               /* the engine's epoll set */
    int conn_cap;           /* connections this engine may hold at once */
    int depth;              /* requests in flight per connection (1, or
                               --pipeline N with a pipelining transport) */
};

struct rp_tp; /* one transport instance per engine */

struct rp_transport {
    const char *name;       /* "raw", "curl": stored with the run */
    int pipelines;          /* 1: a connection carries several requests at
                               once (--pipeline, pipelined sessions) */
    /* Once per process before any engine exists, and after all are gone;
     * either may be NULL. 0 or a negative code with err filled. */
    int (*global_init)(char *err);
    void (*global_cleanup)(void);
    /* Feeder thread: builds the transport's own form of a prepared request
     * from its neutral form, once per request (its copies share it), and
     * stores it in rq->prep with rq->prep_free. 0 or a negative code. */
    int (*prepare)(const struct rp_opts *o, struct rp_rq *rq, char *err);
    /* Engine thread. */
    int (*create)(const struct rp_tp_env *env, struct rp_tp **out,
                  char *err);
    void (*destroy)(struct rp_tp *t); /* accepts NULL; drops what is left */
    /* Starts *job (its due_us already final), on sess's connection when
     * sess is not NULL (the transport keeps its per-session state in
     * sess->tp and releases it in sess_end). Returns 0 when started: the
     * job is the transport's until it calls replay_core_done. Returns 1
     * when it ended at once (*now filled; the job is still the caller's).
     * Never calls replay_core_done from inside start. */
    int (*start)(struct rp_tp *t, struct rp_job *job, struct rp_sess *sess,
                 struct rp_outcome *now);
    /* Readiness of a descriptor registered with one of its tokens. */
    void (*event)(struct rp_tp *t, uint64_t token, uint32_t events);
    /* Earliest run-relative µs at which expire must run, -1 when none. */
    int64_t (*deadline)(struct rp_tp *t);
    void (*expire)(struct rp_tp *t, int64_t now_us);
    /* Writes (or hands to the library) what start queued; the core calls
     * it after each round of starts and events. */
    void (*flush)(struct rp_tp *t);
    /* Ends every request in flight now, each with error class other and
     * message msg (the grace after a stop is over). */
    void (*abort_all)(struct rp_tp *t, const char *msg);
    /* A session ends: releases what sess->tp holds. Nothing of it is in
     * flight. */
    void (*sess_end)(struct rp_tp *t, struct rp_sess *sess);
};

extern const struct rp_transport replay_tp_raw;
extern const struct rp_transport replay_tp_curl;
extern const struct rp_transport replay_tp_wire;

/* The transport of a run's options. */
const struct rp_transport *replay_transport(const struct rp_opts *o);

/* Ends a started job: records its result from *out, releases the job's
 * request reference and, for a session, lets its next request go (on the
 * core's next round, never from inside this call). */
void replay_core_done(struct rp_engine *e, struct rp_job *job,
                      struct rp_sess *sess, const struct rp_outcome *out);

/* A connection opened before the start to the address a (len bytes), if
 * one is left and still open; the caller owns the descriptor. -1 when
 * none. */
int replay_core_take_preconnected(struct rp_engine *e, const void *a,
                                  unsigned len);

/* The curl transport's pure parts, for its unit tests: the header lines
 * libcurl gets for a shaped head (emit gets each NUL-terminated line; its
 * non-zero return stops the walk and is returned), and the error class of
 * a libcurl result code. */
int replay_curl_header_lines(const char *head, size_t len, int has_body,
                             int (*emit)(void *arg, const char *line),
                             void *arg);
enum corpus_errclass replay_curl_errclass(int curl_code);

#endif
