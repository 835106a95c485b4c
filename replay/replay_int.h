/*
 * replay_int.h: what the replay/ sources share and nobody else sees. The
 * pipeline is: the feeder thread streams the corpus (its own read handle),
 * turns each selected exchange into a prepared request (struct rp_rq, shared
 * and reference counted by its --scale copies) and pushes jobs (one per
 * scheduled request, with its due time) in due order into one bounded ring
 * per engine. Each engine thread runs the core's epoll loop (core.c) with
 * one transport (transport.h: raw or curl) and pushes one result per job
 * into its own bounded result queue; the recorder thread
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

/* The transport that carries the requests (transport.h). */
enum rp_engine_kind { RE_RAW = 0, RE_CURL, RE_WIRE };

/* A target that is not HTTP (tp_wire.c). */
enum rp_wire { RW_NONE = 0, RW_REDIS, RW_PG, RW_TCP };

/* --session-key */
enum { RP_SKEY_CONN = 0, RP_SKEY_CLIENT, RP_SKEY_COOKIE, RP_SKEY_HEADER };

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

#define RP_MAX_STEPS 64
#define RP_MAX_STOPIF 16
#define RP_MAX_MONITOR 8
/* --store-bodies */
enum rp_store { RP_STORE_NONE, RP_STORE_SAMPLE_MODE, RP_STORE_ALL };

/* A --stop-if condition, absolute: METRIC OP VALUE with METRIC one of
 * p50 p90 p95 p99 p99.9 max mean (latency, µs) or errors (percent). */
enum rp_stop_metric { RS_P50, RS_P90, RS_P95, RS_P99, RS_P999, RS_MAX,
                      RS_MEAN, RS_ERRORS };
struct rp_stopif {
    char text[64];
    enum rp_stop_metric metric;
    int op;            /* '>' '<', or 'g' (>=) 'l' (<=) */
    double value;      /* µs, or percent for errors */
};
/* Parses one --stop-if expression: 0 or RP_EUSAGE with err filled. */
int replay_stopif_parse(const char *s, struct rp_stopif *out, char *err);
/* --extract NAME=FROM / --inject NAME=INTO: explicit correlation rules. */
struct rp_rule {
    char name[64];
    char loc[128];            /* extract: json:PATH, header:NAME (or regex);
                                 inject: header:NAME, path:I, query:NAME,
                                 json:PATH */
    int is_regex;             /* extract regex:RE (first group, or match) */
    regex_t re;
};

struct rp_opts {
    const char *db;
    const char *target;       /* as given */
    char scheme[8];           /* "http" or "https" */
    char base_url[600];       /* scheme://host:port/ without path */
    char conn_host[512];      /* the host to connect to (IPv6 unbracketed) */
    char conn_port[8];        /* its port, the scheme's default if not given */
    enum rp_wire wire;        /* redis://, postgres://, tcp://, else RW_NONE */
    char wire_user[128];      /* USER@ of a redis:// or postgres:// target */
    char wire_db[128];        /* /DB of a postgres:// target (default: user) */
    const char *password_file; /* --password-file */
    char wire_password[256];  /* its first line (wiped at cleanup) */
    int64_t quiet_gap_us;     /* tcp://: a reply ends after this silence */
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
    int no_correlate;         /* --no-correlate */
    struct rp_rule *extracts; /* --extract, malloc'd */
    int nextracts;
    struct rp_rule *injects;  /* --inject, malloc'd */
    int ninjects;
    const char *script;       /* --script FILE.lua, or NULL */
    const char *session_key;  /* --session-key as given, or NULL */
    int skey_kind;            /* RP_SKEY_* */
    const char *skey_name;    /* cookie or header name (view of argv) */
    int threads;
    int max_connections;      /* in total, over every engine */
    int64_t timeout_us;       /* per request */
    int64_t spin_us;          /* busy-poll when the next send is this near */
    enum rp_engine_kind engine; /* raw unless https, --http2 or --engine */
    int pipeline;             /* raw: requests in flight per connection */
    int pipeline_set;         /* --pipeline was given */
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
    int shard_index;          /* --shard I/N: I (0-based) */
    int shard_count;          /* N; 0 when not sharded */
    int shard_concurrency;    /* --max sharded: this shard's share of
                                 --concurrency (the shares sum to it) */
    int64_t start_at_us;      /* --start-at: wall clock of time zero, µs
                                 since the epoch; 0 = as soon as ready */
    double steps[RP_MAX_STEPS]; /* --steps: multiples, increasing */
    int nsteps;               /* 0 = not stepped */
    int64_t step_us;          /* --step-duration */
    int step_by_scale;        /* --step-by scale (else speed) */
    struct rp_stopif stopif[RP_MAX_STOPIF]; /* --stop-if */
    enum rp_store store_bodies; /* --store-bodies (default sample) */
    int64_t store_max_bytes;  /* --store-bodies-max */
    const char *monitor[RP_MAX_MONITOR]; /* --monitor URL */
    int nmonitor;
    int monitor_pid[RP_MAX_MONITOR];     /* --monitor-pid PID */
    int nmonitor_pid;
    int nstopif;
    const char *web;          /* --web [ADDR:]PORT, or NULL */
    char web_addr[64];        /* its address (127.0.0.1 when not given) */
    int web_port;             /* its port, 1..65535 */
    int64_t web_linger_us;    /* --web-linger: serve this long after the
                                 run ends */
};

/* 1 when session (captured connection conn_id, copy) belongs to shard
 * `index` of `count` (always 1 when count <= 1): splitmix64 of the pair,
 * reduced by multiply-shift, so shards are even and independent of how
 * connection ids are spaced. */
int replay_shard_has(int index, int count, int64_t conn_id, int copy);
/* Parses "+DUR" (from now) or an RFC 3339 UTC instant
 * ("2026-12-07T08:00:00Z", optional fractional seconds, "Z" or "+00:00")
 * into µs since the epoch. 0 or RP_EUSAGE with err filled. */
int replay_parse_start_at(const char *s, int64_t now_wall_us, int64_t *out,
                          char *err);

struct rp_ctx;
/* store.c: 1 when exchange ex is among the first RP_STORE_SAMPLE of its
 * endpoint (--store-bodies sample; decided once per exchange, the feeder's
 * thread only). */
int replay_store_sampled(struct rp_ctx *c, const struct corpus_exchange *ex);
void replay_store_free(struct rp_ctx *c);

/* Parses argv into *o; RP_EUSAGE with err filled on bad input. help is set
 * to 1 when --help was given (nothing else is checked then). Free with
 * replay_opts_cleanup. */
int replay_opts_parse(int argc, char **argv, struct rp_opts *o, int *help,
                      char *err);
void replay_opts_cleanup(struct rp_opts *o);
void replay_opts_usage(FILE *f);
/* The options as one JSON object (stored with the run). */
int replay_opts_json(const struct rp_opts *o, struct rp_buf *out);

/* ---- request shaping (shape.c, pure) ----------------------------------- */

/* The protocol of an exchange by its version column (capture/wire.h):
 * RW_NONE for HTTP. */
enum rp_wire replay_shape_wire_of(const char *version);
/* 1 when the exchange passes every filter (same kind: any; kinds: all). */
int replay_shape_filter_match(const struct rp_opts *o,
                              const struct corpus_exchange *ex,
                              int64_t rel_us);
/* Parses one --filter KEY=VALUE into *f (pattern is a view of arg). */
int replay_shape_filter_parse(const char *arg, struct rp_filter *f, char *err);
/* Compiles 'REGEX=REPLACEMENT' (the first '=' not preceded by a backslash
 * separates them; "\=" in the regex is a literal '='). */
int replay_shape_rewrite_parse(const char *arg, struct rp_rewrite *rw,
                               char *err);
void replay_shape_rewrite_free(struct rp_rewrite *rw);
/* Applies each rewrite in order (first match of each) to target; returns a
 * malloc'd string (NULL on allocation failure). */
char *replay_shape_rewrite_apply(const struct rp_opts *o, const char *target);

/* Appends to out the head a replayed request is sent with: the request
 * line "METHOD SP target SP version" (version HTTP/1.1 when empty), the
 * captured header lines hdrs[0..len) as they are (name case, order,
 * duplicates, folding, spacing) with the shaping edits applied, and the
 * empty line. The edits: a header named by --drop-header is left out;
 * --set-header takes the place of the first captured header of its name
 * (later ones of that name are left out) or is added at the end; --host
 * does the same for Host; a redaction marker's header is left out and
 * counted in *redacted_dropped (may be NULL). Returns 0 or RP_ENOMEM. */
int replay_shape_head(const struct rp_opts *o, const char *method,
                      const char *target, const char *version,
                      const char *hdrs, size_t len, struct rp_buf *out,
                      int *redacted_dropped);
/* 1 when a header value is a redaction marker written by capture. */
int replay_shape_is_redacted(const char *value, size_t len);
/* 1 for a header whose name --set-header and --drop-header refuse: the
 * framing headers, which follow the body (Content-Length,
 * Transfer-Encoding). */
int replay_shape_is_framing(const char *name, size_t len);

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
    int shard_index, shard_count; /* --shard I/N; count 0 = unsharded */
    int64_t nshard;       /* requests of one pass in this shard: the
                             (exchange, copy) pairs whose session it has;
                             nsel * scale when unsharded */
};

/* Due time in µs since the run's start of one scheduled request: exchange
 * with captured time t_us, index idx among the selected ones, copy, loop.
 * RM_MAX returns 0 (sent when a slot is free). */
int64_t replay_sched_due(const struct rp_plan *p, int64_t t_us, int64_t idx,
                         int copy, int64_t loop);
/* Total scheduled requests when finite (nshard * loops), else -1. */
int64_t replay_sched_total(const struct rp_plan *p);

/* ---- prepared requests and jobs ----------------------------------------- */

/* Flags of a prepared request. */
#define RQ_BODY_WIRE 0x1u    /* body holds its chunked framing as captured
                                (chunk lines, extensions, trailers) */
#define RQ_BODY_PARTIAL 0x2u /* body cut short at capture (incomplete, or
                                truncated by --max-body) */
#define RQ_PIPELINED 0x4u    /* the captured client sent it before the
                                previous response on its connection ended */
#define RQ_WANT_RESP 0x8u    /* the transport keeps its response's headers
                                and body: it hands out correlated values,
                                or --store-bodies may keep it */
#define RQ_STORE_SAMPLE 0x10u /* --store-bodies sample: among the first
                                 RP_STORE_SAMPLE of its endpoint: its
                                 responses are stored */
#define RP_STORE_SAMPLE 100

/* A prepared request, transport-neutral: the head as it is to be sent
 * (replay_shape_head: the captured bytes with the shaping edits) and the body
 * as stored. Each transport adds its own form once (prep, built by its prepare
 * on the feeder thread). Shared by its --scale copies and loops; immutable
 * once built. */
struct rp_rq {
    atomic_int refs;
    int64_t ex_id, conn_id;
    int64_t t_us;               /* captured request time */
    unsigned flags;             /* RQ_* */
    char *method;               /* malloc'd */
    char *target;               /* malloc'd, after --rewrite-path */
    char *head;                 /* malloc'd: request line, header lines,
                                   empty line */
    size_t head_len;
    uint8_t *body;              /* malloc'd or NULL */
    size_t body_len;
    void *prep;                 /* the transport's form, or NULL */
    void (*prep_free)(void *prep);
    int endpoint;               /* live statistics' endpoint (--web), or
                                   -1 */
    uint8_t cap_hash[RP_HASH_LEN]; /* the captured response body's hash */
    int has_cap_hash;           /* 0: none, or the body was cut short */
    int cap_status;             /* the captured status (0: none) */
    int64_t cap_resp_bytes;     /* the captured reply's wire bytes (tcp://
                                   waits for that many) */
    int redacted;               /* redacted header values its head leaves
                                   out (counted when it is sent as built) */
    /* correlation (corr.c): the links of this exchange (owned by the
     * run's rp_links), and when it sends values back, what the request is
     * rebuilt from per session: the captured header lines and version */
    const struct rp_exlinks *lk;
    char *cap_hdrs;             /* malloc'd or NULL */
    size_t cap_hdrs_len;
    char *version;              /* malloc'd or NULL */
};

void replay_rq_ref(struct rp_rq *rq);
void replay_rq_unref(struct rp_rq *rq); /* frees at zero; accepts NULL */

struct rp_job {
    struct rp_rq *rq;  /* one reference held by the job */
    int64_t due_us;    /* µs since run start */
    uint64_t seq;      /* global order, ties broken by it */
    int copy;
    int loop;
    uint16_t subst;    /* values correlation put into it (corr.c) */
    uint16_t missing;  /* values it sent back that were never got */
};

/* A min-heap of jobs by (due_us, seq). */
struct rp_heap {
    struct rp_job *v;
    size_t n, cap;
};
/* push: 0 or RP_ENOMEM; pop: 1, or 0 when empty. */
int replay_heap_push(struct rp_heap *h, const struct rp_job *j);
int replay_heap_pop(struct rp_heap *h, struct rp_job *out);
const struct rp_job *replay_heap_top(const struct rp_heap *h);
void replay_heap_free(struct rp_heap *h);

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
int replay_spsc_init(struct rp_spsc *q, size_t cap_pow2, size_t elem);
void replay_spsc_free(struct rp_spsc *q);
/* push: 0, or 1 when full; pop: 1, or 0 when empty. */
int replay_spsc_push(struct rp_spsc *q, const void *e);
int replay_spsc_pop(struct rp_spsc *q, void *out);
size_t replay_spsc_len(struct rp_spsc *q);

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
    int cap_status;    /* the captured status, 0 when none */
    int subst, missing; /* correlation of the request (rp_job) */
    int64_t resp_bytes;
    uint8_t body_hash[RP_HASH_LEN];
    int has_body_hash;
    enum corpus_errclass error_class;
    char *error; /* malloc'd or NULL; the recorder frees it */
    int endpoint; /* the request's live endpoint (rp_rq.endpoint), or -1 */
    char *resp;  /* --store-bodies: the response kept, malloc'd: its header
                    lines (resp_hlen bytes), then its body (resp_blen); the
                    recorder frees it */
    size_t resp_hlen, resp_blen;
};

/* Results to the recorder: one SPSC queue per producer (engines 0..n-1,
 * the feeder n), drained by the recorder. */
struct rp_resq {
    struct rp_spsc *q;
    int nq;
    atomic_int producers; /* still running; the recorder ends at 0 */
};

int replay_resq_init(struct rp_resq *q, int nproducers, size_t cap_pow2);
void replay_resq_cleanup(struct rp_resq *q); /* frees the error strings left */
/* Pushes r into producer p's queue, sleeping briefly while it is full. */
void replay_resq_push(struct rp_resq *q, int p, const struct rp_res *r);
void replay_resq_producer_done(struct rp_resq *q);

/* ---- sessions (sess.c) -------------------------------------------------- */

/* A replayed session (--sessions): one captured connection (and copy,
 * loop) on one replay connection of its own, owned by the core; the
 * transport keeps the connection (or what pins it) in tp. A session idle
 * for a while ends, and a later request of the same captured connection
 * starts a new one. */
struct rp_sess {
    int64_t conn_id;
    int copy, loop;
    void *tp;                   /* the transport's per-session state */
    int inflight;               /* its requests in flight */
    int ready;                  /* on the core's ready list */
    int idle;                   /* on the idle list */
    int64_t idle_until_us;
    struct rp_sess *idle_prev, *idle_next;
    struct rp_sess *ready_next;
    struct rp_job *wait;        /* FIFO of due jobs waiting for it */
    size_t whead, wn, wcap;
    struct rp_sess *next;       /* hash chain */
};

/* The sessions of one engine: a hash table and the idle list, oldest
 * first. */
struct rp_sess_table {
    struct rp_sess **tab;
    size_t cap, n;
    struct rp_sess *idle_head, *idle_tail;
};

/* The session of (conn, copy, loop), or NULL. */
struct rp_sess *replay_sess_find(struct rp_sess_table *t, int64_t conn,
                                 int copy, int loop);
/* Adds a new session; NULL when out of memory. */
struct rp_sess *replay_sess_add(struct rp_sess_table *t, int64_t conn,
                                int copy, int loop);
/* Unlinks s from the table and the idle list and frees it (its wait FIFO
 * must be empty or its jobs released by the caller). */
void replay_sess_remove(struct rp_sess_table *t, struct rp_sess *s);
void replay_sess_idle_append(struct rp_sess_table *t, struct rp_sess *s,
                             int64_t until_us);
void replay_sess_idle_unlink(struct rp_sess_table *t, struct rp_sess *s);
/* push: 0 or RP_ENOMEM; pop: 1, or 0 when empty. */
int replay_sess_wait_push(struct rp_sess *s, const struct rp_job *j);
int replay_sess_wait_pop(struct rp_sess *s, struct rp_job *j);
const struct rp_job *replay_sess_wait_top(const struct rp_sess *s);
/* Releases every job left in every session and frees the table. */
void replay_sess_table_free(struct rp_sess_table *t);

/* ---- sessions by key (skey.c) ------------------------------------------ */

struct rp_ctx;

/* --session-key: the session of each captured connection, the first
 * connection (lowest id) whose requests carried the same key value; a
 * connection without one is its own session. */
struct rp_skey;
/* Reads every exchange of the capture once and fills c->skey. 0 or a
 * negative code. */
int replay_skey_build(struct rp_ctx *c, int64_t capture_id, char *err);
/* The session id of captured connection conn_id (conn_id itself without
 * --session-key). */
int64_t replay_skey_sess(const struct rp_ctx *c, int64_t conn_id);
void replay_skey_free(struct rp_skey *k); /* accepts NULL */

/* ---- correlation (corr.c) ------------------------------------------------ */

/* What a correlated value is (the kind column of corpus correlations). */
#define RP_CORR_KINDS(X)                                                     \
    X(COOKIE, "cookie") X(BEARER, "bearer") X(CSRF, "csrf")                 \
    X(TOKEN, "token") X(ID, "id") X(CURSOR, "cursor") X(FORM, "form")      \
    X(VALUE, "value") X(GENERATED, "generated") X(RULE, "rule")           \
    X(SCRIPT, "script")
#define RP_CK_ENUM(e, s) CK_##e,
enum rp_corr_kind { RP_CORR_KINDS(RP_CK_ENUM) CK__COUNT };
#undef RP_CK_ENUM
extern const char *const replay_corr_kind_names[CK__COUNT];

struct rp_lin {                 /* a value the request sends back */
    char *loc, *mk;             /* where in the request; its marker */
    int kind;                   /* enum rp_corr_kind */
};
struct rp_lout {                /* a value the response hands out */
    char *loc, *mk;
};
struct rp_exlinks {             /* one exchange's links */
    int64_t ex_id;
    struct rp_lin *in;
    int nin, cin;
    struct rp_lout *out;
    int nout, cout;
    struct rp_exlinks *next;    /* hash chain */
};
struct rp_links {               /* a capture's links, read once */
    struct rp_exlinks **tab;
    size_t cap, n;
    size_t nlinks;
};
/* Reads the capture's correlations into c->links (none is not an
 * error). 0 or a negative code. */
int replay_links_load(struct rp_ctx *c, int64_t capture_id, char *err);
const struct rp_exlinks *replay_links_of(const struct rp_links *l,
                                         int64_t ex_id);
void replay_links_free(struct rp_links *l); /* accepts NULL */

/* Per engine: the values each session (captured session, copy, loop) was
 * answered, by marker. Kept for the whole run (a session that ends when
 * idle and starts again keeps its values). */
struct rp_corr_tab;
struct rp_corr_state;
/* The state of a session, made on first use; NULL when out of memory. */
struct rp_corr_state *replay_corr_state(struct rp_corr_tab **t, int64_t sess,
                                        int copy, int loop);
void replay_corr_tab_free(struct rp_corr_tab *t); /* accepts NULL */
/* The request rq as this session is to send it: the values it sends back
 * replaced by what the target answered the session (and generated UUIDs
 * made anew), into *out (one reference) with the transport's form; *out
 * NULL when nothing was replaced (send rq as it is). Counts into c. 0 or
 * a negative code. Engine thread. */
struct rp_hook;
int replay_corr_apply(struct rp_ctx *c, struct rp_hook *hook,
                      const struct rp_rq *rq, struct rp_corr_state *s,
                      int copy, int loop, struct rp_rq **out, int *subst,
                      int *missing);
/* Keeps, from the target's response (headers and body of the outcome),
 * the values rq's exchange handed out in the capture and those the
 * --extract rules take, and hands the response to the script. */
struct rp_outcome;
void replay_corr_learn(struct rp_ctx *c, struct rp_hook *hook,
                       struct rp_corr_state *s, const struct rp_rq *rq,
                       const struct rp_outcome *out);
/* 1 when rq is to be rebuilt per session (learned links, --inject,
 * --script). */
int replay_corr_rewrites(const struct rp_ctx *c, const struct rp_rq *rq);

/* ---- the LuaJIT hook (hook.c, the only file with Lua's headers) -------- */

/* One per engine (a Lua state is single-threaded). new: 0, or RP_EUSAGE
 * with err filled when the script does not load or defines neither
 * request nor response. */
int replay_hook_new(const char *file, struct rp_hook **out, char *err);
void replay_hook_free(struct rp_hook *h); /* accepts NULL */
/* Calls request(req, state): req's fields are method, target, headers
 * (header lines) and body; *changed is 1 when the script returned a table
 * that differs. state_ref: the session's table (0: made now). 0, or -1
 * when the script failed (its first message is printed once). */
struct proto_req_edit;
int replay_hook_request(struct rp_hook *h, int *state_ref,
                        struct rp_buf *method, struct proto_req_edit *ed,
                        int *changed);
/* Calls response(res, state) with res.status, res.headers, res.body. */
void replay_hook_response(struct rp_hook *h, int *state_ref, int status,
                          const char *hdrs, size_t hlen, const uint8_t *body,
                          size_t blen);
int replay_hook_has_request(const struct rp_hook *h);
int replay_hook_has_response(const struct rp_hook *h);

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
    uint64_t status_compared, status_matched; /* results whose exchange had
                                                 a captured status; of them
                                                 answered with it */
    struct rp_hist *latency, *service, *ttfb, *lateness; /* owned */
    int64_t first_sent_us, last_done_us;
};

/* A change of --speed or --rate while the run goes on (POST /api/speed).
 * The feeder computes due times at the multiple the run started with
 * ("schedule time"); segment i maps schedule time v >= v_us to run time
 * r_us + (v - v_us) * k, anchored at the moment of the change, so the
 * schedule re-anchors there and never drifts. Segments are written once,
 * before n is raised (release), and never change afterwards. */
#define RP_WARP_MAX 32
struct rp_warp {
    atomic_int n;               /* segments in force */
    struct rp_warp_seg {
        _Atomic int64_t v_us;   /* schedule time of the change */
        _Atomic int64_t r_us;   /* run time of the change */
        _Atomic double k;       /* run µs per schedule µs from there */
        _Atomic double from, to; /* the multiple before and after */
    } seg[RP_WARP_MAX];
    pthread_mutex_t mu;         /* serializes writers */
};

struct rp_transport;
struct rp_live;
struct rp_web;

struct replay_monitor;
struct rp_ctx;
/* monitor.c: --monitor and --monitor-pid (a thread of their own, from time
 * zero to the end of the run; stored with the run when it ends). start
 * leaves *out NULL when neither is given. */
int replay_monitor_start(struct rp_ctx *c, struct replay_monitor **out,
                         char *err);
void replay_monitor_stop(struct replay_monitor *m);
int replay_monitor_store(struct replay_monitor *m, struct corpus *wr,
                         int64_t run_id, char *err);
/* ,"monitor":[{source, scrapes, failed, series, series_dropped,
 * first_error}] */
int replay_monitor_json(const struct replay_monitor *m, struct rp_buf *b);
void replay_monitor_text(const struct replay_monitor *m, FILE *f);
void replay_monitor_free(struct replay_monitor *m);

struct replay_sampler;

struct rp_ctx {
    const struct rp_opts *o;
    struct replay_sampler *sampler; /* --store-bodies sample (store.c) */
    struct replay_monitor *mon; /* NULL without --monitor */
    const struct rp_transport *tp; /* raw or curl (transport.h) */
    struct rp_plan plan;
    struct corpus *rd;          /* feeder's read handle */
    struct corpus *wr;          /* recorder's write handle */
    int64_t run_id;
    atomic_int_least64_t t0_mono_us; /* monotonic time of the run's start */
    int64_t t0_wall_us;         /* wall clock of that start (--start-at,
                                   or as read when it was fixed) */
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
    /* --store-bodies: responses kept, their bytes, and those left out at
     * --store-bodies-max */
    atomic_uint_least64_t stored, stored_bytes, store_capped;
    atomic_uint_least64_t partial_bodies; /* captured request bodies cut
                                             short, sent as stored */
    int corr_on;                /* --sessions without --no-correlate */
    struct rp_links *links;     /* the capture's correlations, or NULL */
    struct rp_skey *skey;       /* --session-key, or NULL */
    uint64_t corr_nonce;        /* per run: generated values are new */
    atomic_uint_least64_t corr_by_kind[CK__COUNT]; /* values substituted */
    atomic_uint_least64_t corr_requests;  /* requests with a substitution */
    atomic_uint_least64_t corr_missing;   /* requests that sent back a value
                                             whose source failed or lacked
                                             it in this replay */
    atomic_uint_least64_t corr_missing_values;
    int64_t total;              /* planned requests, -1 when open-ended */
    struct rp_stats st;         /* the recorder's; read after it ends */
    int tty;                    /* progress on a terminal */
    /* --steps: per step, requests scheduled (by the feeder) and the
     * recorder's view of its results */
    atomic_uint_least64_t step_sched[RP_MAX_STEPS];
    struct rp_step_stats {
        uint64_t results, ok, errors, not_sent;
        struct rp_hist *latency; /* owned */
        int evaluated;
    } step[RP_MAX_STEPS];
    int nsteps_run;             /* steps that ran (up to the stopping one) */
    int stopped_step;           /* -1, or the step a --stop-if broke */
    int stopped_cond;           /* its condition index */
    double stopped_value;       /* the value that broke it */
    int64_t result_errors;      /* corpus write failures */
    char rec_err[RP_ERRLEN];
    char feed_err[RP_ERRLEN];
    int feed_rc;
    struct rp_warp warp;
    struct rp_live *live;       /* --web: the live statistics, or NULL */
    atomic_int_least64_t run_end_us; /* run time when every thread had
                                        ended (set before finished) */
    atomic_int finished;        /* the run has ended (--web-linger) */
};

/* Run-relative monotonic time in µs. */
int64_t replay_now(const struct rp_ctx *c);

/* Run time of schedule time v (µs since start) with the first n speed
 * changes (replay_warp_due uses every change published so far). */
int64_t replay_warp_due_n(const struct rp_ctx *c, int64_t v, int n);
int64_t replay_warp_due(const struct rp_ctx *c, int64_t v);
/* Changes the multiple (--speed or --rate, by the run's mode) to m from
 * now on. 0, or RP_EUSAGE with err filled (--max run, m out of range,
 * too many changes, run not started or ended). */
int replay_warp_set(struct rp_ctx *c, double m, char *err);
/* The multiple in force (--speed or --rate); 0 in --max. */
double replay_warp_multiple(const struct rp_ctx *c);

/* Feeder thread body (sched.c): arg is the rp_ctx. */
void *replay_feeder_main(void *arg);
/* First pass: fills c->plan (nsel, t0, span, gap). RP_EINPUT when nothing
 * is selected. */
int replay_sched_plan(struct rp_ctx *c, char *err);

/* Prepared requests (request.c). */
/* Builds the prepared request of one exchange (body read through c->rd,
 * head shaped, the transport's form added); *out holds one reference.
 * RQ_PIPELINED is set when pipelined is 1. 0 or a negative code. */
int replay_rq_build(struct rp_ctx *c, const struct corpus_exchange *ex,
                    int pipelined, struct rp_rq **out, char *err);

/* The payload of a chunked body p[0..n) (chunk lines, extensions and
 * trailers as captured; possibly cut short) into *out (malloc'd, NULL when
 * empty) and *out_len. 0 or RP_ENOMEM. */
int replay_rq_dechunk(const uint8_t *p, size_t n, uint8_t **out,
                      size_t *out_len);

/* Engines (core.c): one per --threads, each a core with its transport. */
struct rp_engine;
int replay_engine_new(struct rp_ctx *c, int idx, struct rp_engine **out,
                      char *err);
void replay_engine_free(struct rp_engine *e);
void *replay_engine_main(void *arg);
void replay_engine_wake(struct rp_engine *e); /* async-signal-safe */

/* Recorder (recorder.c). */
/* Allocates the statistics' histograms: 0 or RP_ENOMEM. stats_cleanup
 * frees them and accepts a zeroed struct. */
int replay_stats_init(struct rp_stats *st);
void replay_stats_cleanup(struct rp_stats *st);
void *replay_recorder_main(void *arg);
void replay_recorder_summary(struct rp_ctx *c, FILE *f, int64_t elapsed_us,
                             const char *status);
/* Frees the per-step histograms (accepts a zeroed context). */
void replay_recorder_steps_cleanup(struct rp_ctx *c);
int replay_recorder_summary_json(struct rp_ctx *c, struct rp_buf *out,
                                 int64_t elapsed_us, const char *status);

/* ---- live statistics (live.c) ------------------------------------------ */

/* What the web dashboard and /metrics show, fed by the recorder and read by
 * the web server's thread under one mutex; endpoints are named by
 * proto/endpoint's templates and bounded (RP_LIVE_MAX_EP, the rest are
 * "other"), time series are per second of run time and bounded
 * (RP_LIVE_SERIES seconds, the oldest dropped). */
#define RP_LIVE_MAX_EP 200
#define RP_LIVE_SERIES 3600

/* The fields of one result the live statistics need. */
struct rp_live_rec {
    int endpoint, status;
    enum corpus_errclass cls;
    int64_t scheduled_us, sent_us, done_us;
};

/* NULL when out of memory. free accepts NULL. */
struct rp_live *replay_live_new(void);
void replay_live_free(struct rp_live *l);
/* The endpoint index of a request (0..RP_LIVE_MAX_EP; the last is
 * "other"), adding its template when new. Thread-safe. */
int replay_live_endpoint(struct rp_live *l, const char *method,
                         const char *target);
/* Adds n results and moves the clock to now_us (run time) with inflight
 * requests in flight, under the lock. */
void replay_live_add(struct rp_live *l, const struct rp_live_rec *v,
                     size_t n, int64_t now_us, uint64_t inflight);
/* /api/stats (documented in corpus/SCHEMA.md) and /metrics (Prometheus
 * text format 0.0.4) into out. 0 or RP_ENOMEM. */
int replay_live_json(struct rp_live *l, const struct rp_ctx *c,
                     struct rp_buf *out);
int replay_live_metrics(struct rp_live *l, const struct rp_ctx *c,
                        struct rp_buf *out);

/* ---- web dashboard (web.c) ----------------------------------------------- */

/* Starts the server on o->web_addr:o->web_port with its own thread and
 * prints its address and control token. 0 or RP_EIO with err filled. */
int replay_web_start(struct rp_ctx *c, struct rp_web **out, char *err);
void replay_web_stop(struct rp_web *w); /* accepts NULL */

#endif
