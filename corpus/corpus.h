/*
 * corpus.h: the reprise corpus, a SQLite file holding captures, connections,
 * exchanges (request + paired response + wire timings), deduplicated
 * zlib-compressed bodies, replay runs and their results. This module is the
 * only code in reprise that includes sqlite3.h; everything else goes through
 * this header. The schema is documented for users in corpus/SCHEMA.md.
 *
 * Writing is batched: adds go into an open transaction that is committed at
 * least once a second (and by corpus_flush / corpus_close), so a crash loses
 * at most the last second and always leaves a valid file (SQLite WAL).
 *
 * Conventions: functions return 0 (RP_OK) or a negative RP_E* code with a
 * sentence in err[RP_ERRLEN]. Pointers inside structs returned by cursors
 * are views that stay valid until the next call on that cursor.
 * All times are int64_t microseconds. A struct corpus must be used by one
 * thread at a time (open one per thread; SQLite allows many readers and
 * one writer on the same file).
 */
#ifndef RP_CORPUS_H
#define RP_CORPUS_H

#include <stdint.h>
#include <stdio.h>

#include "../common/rp.h"

#define CORPUS_SCHEMA_VERSION 6
/* The oldest schema version that reading commands read as it is: version 2
 * only reordered the results table's key, which the queries do not depend
 * on (they sort when the file's order differs). Writers upgrade. */
#define CORPUS_SCHEMA_READABLE 1

struct corpus;

enum corpus_open_mode {
    CORPUS_READ = 0,  /* must exist; read-only */
    CORPUS_WRITE = 1, /* must exist; migrated forward if older */
    CORPUS_CREATE = 2, /* created (mode 0600) if missing, else as WRITE */
    /* As CREATE, for a bulk load that nobody needs to read while it runs
     * (importing a pcap file): writes go through SQLite's rollback journal
     * instead of the WAL, so each page is written once rather than into the
     * WAL and again when it is folded in at close (about 30% faster). Still
     * committed at least once a second; readers opened alongside wait for
     * each commit (busy timeout) instead of reading beside it. */
    CORPUS_IMPORT = 3
};

/* Opens path. Fails with RP_EINPUT (and changes nothing in the file) when
 * the file is not a reprise corpus or has a newer schema than this build;
 * RP_EIO when it cannot be opened or created. *out is set on success. */
int corpus_open(const char *path, enum corpus_open_mode mode,
                struct corpus **out, char *err);
/* Commits pending writes and closes. Accepts NULL. Returns the commit
 * result (0 or RP_EIO). */
int corpus_close(struct corpus *c, char *err);
/* Commits the current write batch now. */
int corpus_flush(struct corpus *c, char *err);
/* Switches the asynchronous writer on (on = 1) or off (0), for a capture's
 * bulk writes. While on, corpus_add_connection, corpus_connection_end and
 * corpus_add_exchange copy their input into a bounded queue and return at
 * once; a writer thread owned by c compresses and inserts, committing at
 * least once a second. The ids they return are the rows' ids unless
 * another process adds rows to the file meanwhile; connection ids stay
 * valid handles for this corpus's corpus_add_exchange and
 * corpus_connection_end until async is switched off either way (they are
 * mapped to the real rows). The first write error is returned by the next
 * call (and every later one).
 * corpus_flush waits until everything queued is committed; corpus_close and
 * the other write functions switch it off first; readers must not be used
 * while it is on. Switching off waits for the queue to drain and returns
 * the writer's first error, if any. The connection is then used by the
 * caller's thread again. */
int corpus_set_async(struct corpus *c, int on, char *err);

/* ---- captures ---------------------------------------------------------- */

struct corpus_capture_info {
    const char *label;   /* may be NULL */
    const char *source;  /* "file:PATH" or "iface:NAME" */
    const char *filter;  /* BPF expression or NULL */
    int64_t started_us;  /* wall clock, first packet or start of capture */
    int redacted;        /* 1 when redaction was on */
    const char *options_json; /* capture options as a JSON object, or NULL */
};

/* Capture statistics: X(field, label, line, always, unit). This one list
 * makes the struct, the JSON stored with the capture (one key per field,
 * documented in SCHEMA.md) and the summary `reprise capture` prints: line
 * by line (0 traffic, 1 requests, 2 exchanges, 3 not HTTP/1.x, 4 outside
 * messages), "N label" joined by commas; items with always 0 only when not
 * 0; unit 1 prints bytes as MB. Every request seen is an exchange or counted
 * by cause: requests = exchanges + the sum of the lost_* fields. */
#define CORPUS_CAPTURE_STATS(X)                                             \
    X(packets, "packets", 0, 1, 0)            /* seen by reprise */         \
    X(bytes, "bytes", 0, 1, 1)                /* of those packets */        \
    X(flows, "connections", 0, 1, 0)          /* TCP connections tracked */ \
    X(gaps, "gaps", 0, 1, 0)                  /* sequence gaps (losses) */  \
    X(evictions, "evictions", 0, 1, 0)        /* flows dropped for the
                                                 memory cap */              \
    X(ip_fragments, "IP fragments", 0, 1, 0)  /* skipped */                 \
    X(non_tcp, "packets not TCP", 0, 1, 0)    /* or undecodable */          \
    X(pcap_drops, "dropped by the kernel", 0, 1, 0)    /* libpcap */        \
    X(pcap_ifdrops, "by the interface", 0, 1, 0)       /* libpcap */        \
    X(requests, "seen", 1, 1, 0)              /* request starts seen */     \
    X(exchanges, "recorded as exchanges", 1, 1, 0) /* exchanges written */  \
    X(lost_tunnel, "dropped as tunnel bytes", 1, 0, 0) /* parsed as
                            requests after a CONNECT or Upgrade that the
                            server's answer turned into a tunnel */        \
    X(lost_no_memory, "lost for want of memory", 1, 0, 0)                  \
    X(requests_in_gaps, "more lost in capture gaps (estimated)", 1, 0, 0)  \
                                              /* not seen, so not in the
                                                 identity above */          \
    X(incomplete, "incomplete", 2, 1, 0)      /* an incomplete message */   \
    X(no_response, "without response", 2, 1, 0)                            \
    X(malformed, "malformed", 2, 1, 0)        /* flag malformed */          \
    X(ambiguous, "with ambiguous framing", 2, 1, 0) /* ambiguous-framing */ \
    X(http09, "HTTP/0.9", 2, 0, 0)                                          \
    X(upgraded, "upgraded", 2, 0, 0)          /* 101 / CONNECT tunnels */   \
    X(unparsable, "connections", 3, 1, 0)     /* connections carrying
                            no HTTP/1.x: the sum of the *_connections */   \
    X(tls_connections, "TLS", 3, 0, 0)                                      \
    X(http2_connections, "HTTP/2", 3, 0, 0)                                 \
    X(redis_connections, "Redis", 3, 0, 0)                                  \
    X(postgresql_connections, "PostgreSQL", 3, 0, 0)                        \
    X(mysql_connections, "MySQL", 3, 0, 0)                                  \
    X(ssh_connections, "SSH", 3, 0, 0)                                      \
    X(other_connections, "protocol unknown", 3, 0, 0)                       \
    X(unpaired_responses, "responses without a request", 4, 0, 0) /* the
                            capture began mid-connection, or the request
                            was lost in a gap */                           \
    X(unframed_bytes, "bytes outside any message", 4, 0, 0) /* garbage,
                            resynchronization, mid-stream starts */        \
    X(correlations, "values learned", 5, 0, 0) /* rows of the
                            correlations table this capture wrote */       \
    X(redis_recorded, "Redis connections recorded", 6, 0, 0)               \
    X(postgres_recorded, "PostgreSQL connections recorded", 6, 0, 0)       \
    X(tcp_recorded, "generic TCP connections recorded", 6, 0, 0)           \
    X(pushes, "server pushes (not replies)", 6, 0, 0)                      \
    X(copies, "COPY operations", 6, 0, 0)                                  \
    X(startups, "PostgreSQL startups (not stored)", 6, 0, 0)               \
    X(secrets, "secrets replaced by markers", 6, 0, 0)

struct corpus_capture_stats {
#define CORPUS_STAT_FIELD(f, label, line, always, unit) uint64_t f;
    CORPUS_CAPTURE_STATS(CORPUS_STAT_FIELD)
#undef CORPUS_STAT_FIELD
    int64_t ended_us;          /* wall clock, last packet or end of capture */
};

/* Writes st as the capture's summary to f: one line per group of the list,
 * the first prefixed with "reprise: capture ID: " (when is appended to the
 * id, e.g. " so far"). */
void corpus_capture_stats_print(const struct corpus_capture_stats *st,
                                int64_t id, const char *when, FILE *f);
/* requests - exchanges - the lost_* counts: 0 when every request seen is
 * accounted for. */
int64_t corpus_capture_stats_unaccounted(const struct corpus_capture_stats *st);

int corpus_capture_begin(struct corpus *c, const struct corpus_capture_info *ci,
                         int64_t *capture_id, char *err);
int corpus_capture_end(struct corpus *c, int64_t capture_id,
                       const struct corpus_capture_stats *st, char *err);

/* ---- connections and exchanges (written by capture) -------------------- */

struct corpus_conn {
    int64_t capture_id;
    const char *client_addr; /* textual IP */
    int client_port;
    const char *server_addr;
    int server_port;
    int64_t first_us, last_us; /* first/last packet seen (last may be 0) */
};

/* Adds a connection row; *conn_id receives its id. */
int corpus_add_connection(struct corpus *c, const struct corpus_conn *conn,
                          int64_t *conn_id, char *err);
/* Updates last_us of a connection (when it closes). */
int corpus_connection_end(struct corpus *c, int64_t conn_id, int64_t last_us,
                          char *err);

/* One HTTP message (request or response) of an exchange. */
struct corpus_msg {
    const char *headers;   /* raw header lines "Name: value\r\n"..., without
                              the start line and the empty line; may be NULL */
    size_t headers_len;
    const uint8_t *body;   /* writing: body bytes (possibly truncated), after
                              de-chunking; reading: always NULL, use
                              corpus_body_get with body_hash */
    size_t body_len;       /* bytes in body as stored */
    uint64_t body_size;    /* true body size on the wire (>= body_len) */
    uint8_t body_hash[RP_HASH_LEN]; /* reading: hash of the stored body */
    int has_body;          /* reading: 1 when a body is stored */
    uint64_t wire_bytes;   /* whole message on the wire, start line included */
    int64_t first_us, last_us; /* wire time of first and last byte (epoch) */
};

/* Exchange flags. */
#define CORPUS_EX_REQ_INCOMPLETE  0x01u /* request cut short (gap, close) */
#define CORPUS_EX_RESP_INCOMPLETE 0x02u
#define CORPUS_EX_NO_RESPONSE     0x04u /* no response seen at all */
#define CORPUS_EX_REQ_TRUNCATED   0x08u /* request body > --max-body */
#define CORPUS_EX_RESP_TRUNCATED  0x10u
#define CORPUS_EX_REDACTED        0x20u /* some value was redacted */
#define CORPUS_EX_UPGRADED        0x40u /* 101 / CONNECT: tunnel followed */
#define CORPUS_EX_MALFORMED       0x80u /* the request (or response) breaks
                                           RFC 9112: "malformed" */
#define CORPUS_EX_AMBIGUOUS      0x100u /* where it begins or ends depends on
                                           a framing choice (README):
                                           "ambiguous-framing" */
/* The stored request body is its chunked framing as on the wire (chunk-size
 * lines with extensions, data, last chunk, trailers), and its sizes count
 * that framing; without it a stored body is the payload alone (corpora
 * written by earlier versions stored chunked request bodies so). */
#define CORPUS_EX_REQ_CHUNKED     0x400u
/* The name of one flag bit as export writes it ("no_response",
 * "ambiguous-framing"), or NULL for a bit that has none. */
const char *corpus_flag_name(uint32_t bit);

struct corpus_exchange {
    int64_t id;            /* reading: row id; writing: ignored */
    int64_t capture_id;
    int64_t conn_id;
    int64_t seq;           /* 0-based order of the request in its connection */
    const char *method;    /* NUL-terminated */
    const char *target;    /* request-target exactly as sent */
    const char *host;      /* Host header value, or "" */
    const char *version;   /* "HTTP/1.1" */
    const char *request_line; /* the request line as sent when it is not
                              "method SP target SP version" (malformed,
                              extra tokens, runs of spaces, HTTP/0.9), else
                              NULL */
    struct corpus_msg req;
    int status;            /* 0 when no response was seen */
    const char *reason;    /* reason phrase, or NULL */
    const char *interim;   /* 1xx statuses seen before the final one, as
                              "100,103", or NULL */
    struct corpus_msg resp;
    uint32_t flags;        /* CORPUS_EX_* */
};

/* Adds an exchange; stores its bodies (compressed, deduplicated). */
int corpus_add_exchange(struct corpus *c, const struct corpus_exchange *ex,
                        int64_t *ex_id, char *err);

/* Reading exchanges in request order (req.first_us, then id).
 * capture_id <= 0 means all captures. */
struct corpus_ex_cursor;
int corpus_ex_open(struct corpus *c, int64_t capture_id,
                   struct corpus_ex_cursor **out, char *err);
/* Returns 1 with *ex filled (views valid until the next call), 0 at the
 * end, or a negative error. */
int corpus_ex_next(struct corpus_ex_cursor *cur, struct corpus_exchange *ex,
                   char *err);
void corpus_ex_close(struct corpus_ex_cursor *cur);

/* Number of exchanges in a capture (all captures when capture_id <= 0). */
int corpus_ex_count(struct corpus *c, int64_t capture_id, int64_t *n,
                    char *err);
/* Reads one exchange by id into *ex; views stay valid until the next call
 * of corpus_ex_get on c. Returns RP_EINPUT if there is no such exchange. */
int corpus_ex_get(struct corpus *c, int64_t ex_id, struct corpus_exchange *ex,
                  char *err);

/* Inflates the body with that hash into *out (malloc'd, caller frees) and
 * its length into *len. RP_EINPUT if absent. */
int corpus_body_get(struct corpus *c, const uint8_t hash[RP_HASH_LEN],
                    uint8_t **out, size_t *len, char *err);

/* Counts the stored bodies (deduplicated) with their total size and their
 * compressed size in the file. Any out pointer may be NULL. */
int corpus_body_stats(struct corpus *c, int64_t *count, int64_t *size_bytes,
                      int64_t *stored_bytes, char *err);

/* ---- runs and results (written by replay) ------------------------------ */

struct corpus_run_info {
    int64_t capture_id;
    const char *label;        /* may be NULL */
    const char *target;       /* target URL */
    const char *mode;         /* "speed", "rate", "max" */
    const char *options_json; /* every option of the run as a JSON object */
    int64_t started_us;       /* wall clock */
};

/* Error classes of a result. Stored as their names (see corpus_errclass). */
enum corpus_errclass {
    CORPUS_ERR_NONE = 0,
    CORPUS_ERR_REFUSED,
    CORPUS_ERR_RESET,
    CORPUS_ERR_TIMEOUT,
    CORPUS_ERR_DNS,
    CORPUS_ERR_TLS,
    CORPUS_ERR_PROTOCOL,
    CORPUS_ERR_NOT_SENT, /* never sent: run interrupted before it was due */
    CORPUS_ERR_OTHER,
    CORPUS_ERR__COUNT
};
const char *corpus_errclass_name(enum corpus_errclass e); /* "refused"... */
enum corpus_errclass corpus_errclass_parse(const char *name);

struct corpus_result {
    int64_t exchange_id;
    int copy;              /* 0..K-1 for --scale K */
    int loop;              /* loop index for --loop */
    /* times in µs since the run's start (monotonic); -1 when not reached */
    int64_t scheduled_us, sent_us, first_byte_us, done_us;
    int64_t connect_us;    /* time spent connecting, 0 when reused */
    int status;            /* 0 when no response */
    int64_t resp_bytes;    /* response body bytes */
    uint8_t body_hash[RP_HASH_LEN];
    int has_body_hash;
    enum corpus_errclass error_class;
    const char *error;     /* message, or NULL */
    /* --store-bodies: the response kept with the result (headers as
     * "Name: value\r\n" lines, body stored by body_hash, deduplicated);
     * NULL when not kept */
    const char *resp_headers;
    size_t resp_headers_len;
    const uint8_t *resp_body;
    size_t resp_body_len;
};

/* Switches a writable corpus to its journal now (WAL, or the bulk
 * import's) instead of at the first write. A process that also streams
 * the corpus calls it before it starts: a read in rollback mode holds a
 * lock that another process's switch to WAL waits for, and two processes
 * both reading and then switching wait for each other. */
int corpus_journal_ready(struct corpus *c, char *err);
int corpus_run_begin(struct corpus *c, const struct corpus_run_info *ri,
                     int64_t *run_id, char *err);
int corpus_add_result(struct corpus *c, int64_t run_id,
                      const struct corpus_result *r, char *err);
/* Adds n results, in multi-row inserts (cheaper per row than one by one).
 * *added (may be NULL) gets the number written: all of them, or on an
 * error those before the failing statement (none when the commit
 * fails). */
int corpus_add_results(struct corpus *c, int64_t run_id,
                       const struct corpus_result *r, size_t n,
                       size_t *added, char *err);
/* status: "complete" or "interrupted". summary_json may be NULL. */
int corpus_run_end(struct corpus *c, int64_t run_id, int64_t ended_us,
                   const char *status, const char *summary_json, char *err);

struct corpus_run_row {
    int64_t id, capture_id;
    char label[128], target[512], mode[32], status[32];
    int64_t started_us, ended_us;
    int64_t results;         /* number of results */
    /* from the run's stored options (0 or "" when not recorded) */
    double speed;            /* mode speed: the multiple */
    double rate;             /* mode rate: requests per second */
    int concurrency;         /* mode max: requests in flight */
    int scale;               /* --scale copies */
    char engine[16];         /* the transport that ran, e.g. "curl" */
    char tool_version[32];   /* reprise version that recorded the run */
    /* from its summary: correlated values by kind, "cookie 105 bearer
     * 24 ..." ("" when the run did not correlate), and the requests that
     * sent back a value the replay never got (-1 unknown) */
    char correlated[256];
    int64_t uncorrelated;
};

/* Finds a run by numeric id or by label (the latest run with that label).
 * RP_EINPUT with a clear message when there is none, naming the labels
 * close to the one given (case-insensitively equal, a typo or two away,
 * or containing it) or else the latest runs. */
int corpus_run_find(struct corpus *c, const char *id_or_label,
                    struct corpus_run_row *out, char *err);
/* The latest run labelled `label` into *out with *found = 1, or *found = 0
 * when no run has that label (or label is NULL). Returns 0 or RP_EIO. */
int corpus_run_label_latest(struct corpus *c, const char *label,
                            struct corpus_run_row *out, int *found,
                            char *err);
/* The n-th latest run (n = 0 latest, 1 the one before). RP_EINPUT if none. */
int corpus_run_latest(struct corpus *c, int n, struct corpus_run_row *out,
                      char *err);

/* The load steps of a run replayed with --steps, from its summary JSON. */
#define CORPUS_MAX_STEPS 64
struct corpus_run_steps {
    int n;                   /* steps that ran; 0 when not stepped */
    struct corpus_run_step {
        double multiple;     /* the step's multiple of speed, rate or scale */
        int64_t start_us, end_us; /* due times of its requests, µs since
                                     the run's start: [start, end) */
    } step[CORPUS_MAX_STEPS];
    char step_by[16];        /* "speed", "rate" or "scale" */
    int stopped_step;        /* 1-based step a --stop-if broke, 0 none */
    char stopped_by[64];     /* its condition */
};
/* Reads run_id's steps into *out (n = 0 for a run without steps or whose
 * summary is missing or damaged). 0 or RP_EIO. */
int corpus_run_steps_get(struct corpus *c, int64_t run_id,
                         struct corpus_run_steps *out, char *err);

/* ---- monitored series (replay --monitor, --monitor-pid) ---------------- */

/* One scrape of one source at t_us (µs since the run's start): its points
 * (names with their labels, e.g. 'pool_busy{pool="db"}'), or its error. */
struct corpus_monitor_point {
    const char *name;
    const char *type;        /* "gauge", "counter", "untyped", ... */
    double value;
};
struct corpus_monitor_scrape {
    const char *source;      /* the URL, or "pid:PID" */
    int64_t t_us, took_us;
    const char *error;       /* NULL when it succeeded */
    const struct corpus_monitor_point *point;
    size_t npoints;
};
/* Stores the scrapes of run_id in one transaction. 0 or RP_EIO. */
int corpus_monitor_write(struct corpus *c, int64_t run_id,
                         const struct corpus_monitor_scrape *s, size_t n,
                         char *err);
/* Calls fn for every point of run_id, by series then time; then, with
 * name NULL, once per failed scrape (value: its time, error in type).
 * A corpus older than schema v6 has none. 0, fn's non-zero return, or
 * RP_EIO. */
typedef int (*corpus_monitor_fn)(void *arg, const char *source,
                                 const char *name, const char *type,
                                 int64_t t_us, double value);
int corpus_monitor_read(struct corpus *c, int64_t run_id,
                        corpus_monitor_fn fn, void *arg, uint64_t *scrapes,
                        char *err);

/* ---- samples (read by analyze) ----------------------------------------- */

/* A measured outcome of one request: either a replay result or, for a
 * capture used as baseline, the wire timing of the captured exchange. */
struct corpus_sample {
    int64_t exchange_id;
    int copy;
    int loop;                   /* 0 for a capture */
    const char *method, *target, *host; /* views */
    int status;                 /* 0 when none */
    enum corpus_errclass error_class;
    int64_t t_us;               /* when it was due, µs since start of set */
    int64_t latency_us;         /* run: done - scheduled;
                                   capture: resp last - req first byte */
    int64_t service_us;         /* run: done - sent; capture: as latency */
    int64_t ttfb_us;            /* run: first byte - sent;
                                   capture: resp first - req last byte */
    int64_t resp_bytes;
    uint8_t body_hash[RP_HASH_LEN];
    int has_body_hash;          /* 0 when no body, or (capture) when the
                                   stored body is truncated or incomplete */
    const char *error;          /* run: the error message, or NULL (view) */
    int has_response;           /* its response is stored (a capture's
                                   always; a run's with --store-bodies):
                                   corpus_response_get reads it */
    int64_t held_us;            /* run with --sessions: of the lateness,
                                   the time it waited for its session's
                                   previous request (the target's doing);
                                   else 0 */
    const char *version;        /* the exchange's protocol version
                                   ("HTTP/1.1", "RESP2", "RESP3", "PG3",
                                   "TCP"), or NULL when unknown (view) */
};

enum corpus_set_kind { CORPUS_SET_CAPTURE, CORPUS_SET_RUN };
struct corpus_sample_cursor;
/* Opens the samples of a capture (kind CAPTURE, id = capture id), ordered
 * by exchange id, or of a run (kind RUN, id = run id), ordered by loop,
 * exchange id, then copy. */
int corpus_samples_open(struct corpus *c, enum corpus_set_kind kind,
                        int64_t id, struct corpus_sample_cursor **out,
                        char *err);
/* Opens one exchange's results in a run (every loop and copy), in the same
 * order. */
int corpus_samples_open_exchange(struct corpus *c, int64_t run_id,
                                 int64_t exchange_id,
                                 struct corpus_sample_cursor **out, char *err);
int corpus_samples_next(struct corpus_sample_cursor *cur,
                        struct corpus_sample *s, char *err); /* 1, 0, <0 */
void corpus_samples_close(struct corpus_sample_cursor *cur);

/* The stored response of exchange_id in a capture (set_id its id; loop
 * and copy ignored) or of one result of a run: its header lines (malloc'd,
 * NUL-terminated) and its body (malloc'd; NULL when the body was not kept,
 * was cut short at capture, or there is none). Free both. RP_EINPUT when
 * nothing is stored for it. */
int corpus_response_get(struct corpus *c, enum corpus_set_kind kind,
                        int64_t set_id, int64_t exchange_id, int loop,
                        int copy, char **headers, size_t *hlen,
                        uint8_t **body, size_t *blen, char *err);

/* ---- listing and export ------------------------------------------------ */

/* Writes the `reprise ls` listing (captures with stats, runs with counts). */
int corpus_list(struct corpus *c, FILE *out, char *err);
/* Writes one JSON object per exchange (public contract, see SCHEMA.md). */
int corpus_export_jsonl(struct corpus *c, int64_t capture_id, FILE *out,
                        char *err);
/* `reprise export --format har`: capture_id's exchanges, or run_id's
 * results with their captured requests, as one HAR 1.2 document
 * (corpus_har.c). */
int corpus_export_har(struct corpus *c, int64_t capture_id, FILE *out,
                      char *err);
int corpus_export_har_run(struct corpus *c, int64_t run_id, FILE *out,
                          char *err);
/* Latest capture id, or RP_EINPUT if the corpus has no capture. */
/* A correlation learned at capture: a value that a response handed out
 * (source) and a later request sent back (exchange_id at location). Only
 * the keyed hash of the value is stored (value_hash, a redaction marker),
 * never the value. A value the client generated itself (a UUID) has no
 * source: source_exchange_id 0, source_location NULL. Locations: in a
 * request "cookie:NAME", "auth:SCHEME", "header:NAME", "path:I" (0-based
 * segment), "query:NAME", "json:PATH", "form:NAME"; in a response
 * "set-cookie:NAME", "json:PATH", "location:path:I", "location:query:NAME",
 * "hidden:NAME" (PATH: keys and array indexes joined by '.'). Strings are
 * views valid until the next call on the cursor (or copied by the add). */
struct corpus_link {
    int64_t exchange_id;
    const char *location;
    const char *kind;           /* cookie, bearer, csrf, id, cursor, token,
                                   form, generated */
    int64_t source_exchange_id; /* 0: generated by the client */
    const char *source_location;
    const char *value_hash;
};
/* Inserts n links in one transaction (the caller flushed any async writes
 * first: capture writes them at its end). 0 or a negative code. */
int corpus_add_links(struct corpus *c, const struct corpus_link *l, size_t n,
                     char *err);
/* Calls fn for every link of the capture (exchange_id >= 0) or of one
 * exchange (capture_id 0, exchange_id given), in (exchange, location)
 * order; a non-zero return of fn stops the walk and is returned. A corpus
 * older than schema v6 has none (0). */
int corpus_links_each(struct corpus *c, int64_t capture_id,
                      int64_t exchange_id,
                      int (*fn)(void *arg, const struct corpus_link *l),
                      void *arg, char *err);
/* What correlation did to one replayed request (result_correlations). */
struct corpus_result_corr {
    int64_t exchange_id;
    int copy, loop;
    int substituted;  /* values put into the request */
    int uncorrelated; /* values it sent back that this replay never got */
};
/* Inserts n rows for run_id (the recorder, beside the results). */
int corpus_add_result_corrs(struct corpus *c, int64_t run_id,
                            const struct corpus_result_corr *v, size_t n,
                            char *err);
/* Calls fn for each row of (run_id, exchange_id), by loop and copy; a
 * corpus before v6 has none. */
int corpus_result_corrs_each(struct corpus *c, int64_t run_id,
                             int64_t exchange_id,
                             int (*fn)(void *arg,
                                       const struct corpus_result_corr *r),
                             void *arg, char *err);

/* The client address of a captured connection into out (64 bytes); "" when
 * unknown. 0 or a negative code. */
int corpus_conn_client(struct corpus *c, int64_t conn_id, char *out,
                       char *err);

int corpus_capture_latest(struct corpus *c, int64_t *capture_id, char *err);

#endif
