/*
 * replay_int.h: what the replay/ sources share and nobody else sees. The
 * pipeline is: the feeder thread streams the corpus (its own read handle),
 * turns each selected exchange into a prepared request (struct rp_rq, shared
 * and reference counted by its --scale copies) and pushes jobs (one per
 * scheduled request, with its due time) in due order into one bounded ring
 * per engine. Each engine thread runs libcurl multi on epoll and pushes one
 * result per job into its own bounded result queue; the recorder thread
 * drains those queues into the corpus, keeps the statistics and prints
 * progress. The queues are lock-free single-producer single-consumer rings.
 * Only the recorder touches the write handle of the corpus after setup.
 */
#ifndef RP_REPLAY_INT_H
#define RP_REPLAY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <regex.h>

#include "common/buf.h"
#include "common/hist.h"
#include "common/rp.h"
#include "corpus/corpus.h"

/* ---- options ----------------------------------------------------------- */

enum rp_mode { RM_SPEED = 0, RM_RATE, RM_MAX };

enum rp_filter_kind {
    RF_METHOD,
    RF_PATH,
    RF_HOST,
    RF_STATUS,
    RF_FROM,
    RF_TO,
    RF__COUNT
};

struct rp_filter {
    enum rp_filter_kind kind;
    const char *pattern; /* METHOD/PATH/HOST: fnmatch glob (view of argv) */
    int status;          /* STATUS: exact code, or 1..5 for "2xx" style */
    int status_class;    /* 1 when status is a class ("5xx") */
    int64_t t_us;        /* FROM/TO: µs relative to the capture's start */
};

struct rp_rewrite {
    regex_t re;
    char *replacement; /* malloc'd; \0..\9 are back references */
};

struct rp_opts {
    const char *db;
    const char *target;       /* as given */
    char scheme[8];           /* "http" or "https" */
    char base_url[600];       /* scheme://host:port/ without path */
    char conn_host[512];      /* the host to connect to (IPv6 unbracketed) */
    char conn_port[8];        /* its port, the scheme's default if not given */
    int64_t capture_id;       /* 0 = latest */
    const char *label;
    enum rp_mode mode;
    double speed;             /* RM_SPEED: divisor of captured time */
    double rate;              /* RM_RATE: requests per second */
    int concurrency;          /* RM_MAX: requests in flight */
    int64_t duration_us;      /* 0 = none */
    int64_t loops;            /* 0 = not given */
    int scale;                /* copies of the traffic, >= 1 */
    int sessions;
    int threads;
    int max_connections;      /* in total, over every engine */
    int64_t timeout_us;       /* per request */
    int64_t spin_us;          /* busy-poll when the next send is this near */
    int http2, insecure;
    const char *cacert;
    const char *host;         /* Host override or NULL */
    struct rp_filter *filters;
    const char **filter_args;   /* as given, for the run's options */
    int nfilters;
    const char **set_headers; /* "Name: value" views of argv */
    int nset_headers;
    const char **drop_headers;
    int ndrop_headers;
    struct rp_rewrite *rewrites;
    const char **rewrite_args;
    int nrewrites;
    int quiet, json;
    int ambiguous_send;       /* --ambiguous send: replay exchanges flagged
                                 ambiguous-framing or malformed too */
};

/* Parses argv into *o; RP_EUSAGE with err filled on bad input. help is set
 * to 1 when --help was given (nothing else is checked then). Free with
 * rp_opts_cleanup. */
int rp_opts_parse(int argc, char **argv, struct rp_opts *o, int *help,
                  char *err);
void rp_opts_cleanup(struct rp_opts *o);
void rp_opts_usage(FILE *f);
/* The options as one JSON object (stored with the run). */
int rp_opts_json(const struct rp_opts *o, struct rp_buf *out);

/* ---- request shaping (shape.c, pure) ----------------------------------- */

/* 1 when the exchange passes every filter (same kind: any; kinds: all). */
int shape_filter_match(const struct rp_opts *o,
                       const struct corpus_exchange *ex, int64_t rel_us);
/* Parses one --filter KEY=VALUE into *f (pattern is a view of arg). */
int shape_filter_parse(const char *arg, struct rp_filter *f, char *err);
/* Compiles 'REGEX=REPLACEMENT' (the first '=' not preceded by a backslash
 * separates them; "\=" in the regex is a literal '='). */
int shape_rewrite_parse(const char *arg, struct rp_rewrite *rw, char *err);
void shape_rewrite_free(struct rp_rewrite *rw);
/* Applies each rewrite in order (first match of each) to target; returns a
 * malloc'd string (NULL on allocation failure). */
char *shape_rewrite_apply(const struct rp_opts *o, const char *target);

/* Produces the header lines to hand to libcurl for a captured header block:
 * hop-by-hop and framing headers dropped, --drop-header/--set-header
 * applied, redacted values dropped, Host as captured or --host, and the
 * suppressions that stop libcurl adding headers the client never sent
 * ("Accept:", "Content-Type:" for bodies, "Expect:"). emit gets each
 * NUL-terminated line and returns 0 or a negative code, which stops the
 * walk and is returned. *redacted_dropped counts dropped redacted values. */
int shape_headers(const struct rp_opts *o, const char *hdrs, size_t len,
                  int has_body, int (*emit)(void *arg, const char *line),
                  void *arg, int *redacted_dropped);
/* 1 when a header value is a redaction marker written by capture. */
int shape_is_redacted(const char *value, size_t len);

/* ---- schedule (sched.c) ------------------------------------------------- */

/* What the first pass over the corpus learns; fixes every due time. */
struct rp_plan {
    int64_t capture_id;
    int64_t origin_us;    /* first exchange of the capture (filter origin) */
    int64_t t0_us;        /* first selected exchange */
    int64_t span_us;      /* last - first selected */
    int64_t gap_us;       /* mean inter-arrival gap of the selection */
    int64_t nsel;         /* exchanges selected by the filters */
    int64_t loops;        /* passes; 0 = until --duration */
    int scale;
    enum rp_mode mode;
    double speed, rate;
    int64_t duration_us;  /* 0 = none */
};

/* Due time in µs since the run's start of one scheduled request: exchange
 * with captured time t_us, index idx among the selected ones, copy, loop.
 * RM_MAX returns 0 (sent when a slot is free). */
int64_t sched_due(const struct rp_plan *p, int64_t t_us, int64_t idx,
                  int copy, int64_t loop);
/* Total scheduled requests when finite (nsel * scale * loops), else -1. */
int64_t sched_total(const struct rp_plan *p);

/* ---- prepared requests and jobs ----------------------------------------- */

struct curl_slist;

struct rp_rq {
    atomic_int refs;
    int64_t ex_id, conn_id;
    int64_t t_us;               /* captured request time */
    char *method;               /* malloc'd */
    char *target;               /* malloc'd, after --rewrite-path */
    struct curl_slist *headers; /* owned */
    uint8_t *body;              /* malloc'd or NULL */
    size_t body_len;
};

void rq_ref(struct rp_rq *rq);
void rq_unref(struct rp_rq *rq); /* frees at zero; accepts NULL */

struct rp_job {
    struct rp_rq *rq;  /* one reference held by the job */
    int64_t due_us;    /* µs since run start */
    uint64_t seq;      /* global order, ties broken by it */
    int copy;
    int loop;
};

/* A min-heap of jobs by (due_us, seq). */
struct rp_heap {
    struct rp_job *v;
    size_t n, cap;
};
int heap_push(struct rp_heap *h, const struct rp_job *j); /* 0 / RP_ENOMEM */
int heap_pop(struct rp_heap *h, struct rp_job *out);      /* 1 / 0 if empty */
const struct rp_job *heap_top(const struct rp_heap *h);
void heap_free(struct rp_heap *h);

/* Bounded lock-free single-producer single-consumer queue of fixed-size
 * elements. No locks on the hot path, so a descheduled producer never
 * stalls an engine (no priority inversion). */
struct rp_spsc {
    atomic_size_t head;  /* next slot to pop (consumer) */
    char pad1[56];       /* head and tail on different cache lines */
    atomic_size_t tail;  /* next slot to push (producer) */
    char pad2[56];
    size_t cap;          /* power of two */
    size_t elem;         /* element size in bytes */
    unsigned char *v;
};
int spsc_init(struct rp_spsc *q, size_t cap_pow2, size_t elem);
void spsc_free(struct rp_spsc *q);
int spsc_push(struct rp_spsc *q, const void *e); /* 0, or 1 when full */
int spsc_pop(struct rp_spsc *q, void *out);      /* 1, or 0 when empty */
size_t spsc_len(struct rp_spsc *q);

/* Jobs from the feeder to one engine. */
struct rp_ring {
    struct rp_spsc q;
    atomic_int done; /* the feeder will push nothing more */
    int wake_fd;     /* the engine's eventfd, written when the engine may
                        be asleep on an empty ring */
};

/* ---- results ------------------------------------------------------------ */

struct rp_res {
    int64_t exchange_id;
    int copy, loop;
    int64_t scheduled_us, sent_us, first_byte_us, done_us, connect_us;
    int status;
    int64_t resp_bytes;
    uint8_t body_hash[RP_HASH_LEN];
    int has_body_hash;
    enum corpus_errclass error_class;
    char *error; /* malloc'd or NULL; the recorder frees it */
};

/* Results to the recorder: one SPSC queue per producer (engines 0..n-1,
 * the feeder n), drained by the recorder. */
struct rp_resq {
    struct rp_spsc *q;
    int nq;
    atomic_int producers; /* still running; the recorder ends at 0 */
};

int resq_init(struct rp_resq *q, int nproducers, size_t cap_pow2);
void resq_cleanup(struct rp_resq *q); /* frees the error strings left */
/* Pushes r into producer p's queue, sleeping briefly while it is full. */
void resq_push(struct rp_resq *q, int p, const struct rp_res *r);
void resq_producer_done(struct rp_resq *q);

/* ---- run context -------------------------------------------------------- */

#define RP_MAX_ERRMSGS 16  /* distinct error messages the summary keeps */

struct rp_stats {
    uint64_t results, ok, errors;
    /* the most common error messages (normalized: rp_errmsg_normalize) */
    struct rp_errmsg {
        enum corpus_errclass cls;
        char text[160];
        uint64_t count;
    } msg[RP_MAX_ERRMSGS];
    int nmsg;
    uint64_t msg_other;     /* failures whose message did not fit */
    uint64_t by_class[CORPUS_ERR__COUNT];
    uint64_t by_status[6];           /* index status/100 (0 = none) */
    uint64_t resp_bytes;
    struct rp_hist *latency, *service, *ttfb, *lateness; /* owned */
    int64_t first_sent_us, last_done_us;
};

struct rp_ctx {
    const struct rp_opts *o;
    struct rp_plan plan;
    struct corpus *rd;          /* feeder's read handle */
    struct corpus *wr;          /* recorder's write handle */
    int64_t run_id;
    atomic_int_least64_t t0_mono_us; /* monotonic time of the run's start */
    atomic_int ready;           /* engines set up and waiting for go */
    atomic_int go;              /* t0 is final: engines start */
    int nengines;
    struct rp_engine **engines;
    struct rp_ring *rings;      /* one per engine */
    struct rp_resq resq;
    atomic_int stop;            /* 1: SIGINT, stop sending; 2: twice */
    atomic_int time_up;         /* --duration reached (max mode) */
    atomic_int feed_done;       /* the feeder has scheduled everything */
    atomic_uint_least64_t sent, inflight, cap_hits, scheduled;
    atomic_uint_least64_t redacted_dropped;
    atomic_uint_least64_t partial_bodies; /* captured request bodies cut
                                             short, sent as stored */
    int64_t total;              /* planned requests, -1 when open-ended */
    struct rp_stats st;         /* the recorder's; read after it ends */
    int tty;                    /* progress on a terminal */
    int64_t result_errors;      /* corpus write failures */
    char rec_err[RP_ERRLEN];
    char feed_err[RP_ERRLEN];
    int feed_rc;
};

/* Run-relative monotonic time in µs. */
int64_t ctx_now(const struct rp_ctx *c);

/* Feeder thread body (sched.c): arg is the rp_ctx. */
void *feeder_main(void *arg);
/* First pass: fills c->plan (nsel, t0, span, gap). RP_EINPUT when nothing
 * is selected. */
int sched_plan(struct rp_ctx *c, char *err);

/* Engines (engine.c). */
struct rp_engine;
int engine_new(struct rp_ctx *c, int idx, struct rp_engine **out, char *err);
void engine_free(struct rp_engine *e);
void *engine_main(void *arg);
void engine_wake(struct rp_engine *e); /* async-signal-safe */
enum corpus_errclass engine_errclass(int curl_code);

/* Recorder (recorder.c). */
/* Allocates the statistics' histograms: 0 or RP_ENOMEM. stats_cleanup
 * frees them and accepts a zeroed struct. */
int rp_stats_init(struct rp_stats *st);
void rp_stats_cleanup(struct rp_stats *st);
void *recorder_main(void *arg);
void recorder_summary(struct rp_ctx *c, FILE *f, int64_t elapsed_us,
                      const char *status);
int recorder_summary_json(struct rp_ctx *c, struct rp_buf *out,
                          int64_t elapsed_us, const char *status);

#endif
