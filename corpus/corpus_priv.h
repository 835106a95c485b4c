/*
 * corpus_priv.h: what the .c files of corpus/ share and nobody else sees: the
 * struct corpus itself, the cache of prepared statements and the mapping of
 * SQLite result codes to RP_E* codes with a message naming the file.
 */
#ifndef RP_CORPUS_PRIV_H
#define RP_CORPUS_PRIV_H

#include <sqlite3.h>
#include <zlib.h>

#include "corpus.h"

#define CORPUS_BODY_SEEN 1024 /* slots of the body hash cache */
#define CORPUS_EX_BATCH 32     /* exchanges per multi-row insert (async) */
#define CORPUS_RESULT_BATCH 16 /* results per multi-row insert */

/* Column lists and row shapes of the write statements, shared by the
 * schema (corpus_schema.c) and the batch builders (corpus_open.c,
 * corpus_write.c). Inserting exchanges, one row or CORPUS_EX_BATCH rows
 * per statement (the writer thread's bulk path: per-statement costs are a
 * fifth of a row's). */
#define RESULT_COLUMNS                                                       \
    "run_id, exchange_id, copy, loop, scheduled_us, sent_us, first_byte_us," \
    " done_us, connect_us, status, resp_bytes, body_hash, error_class, error"
#define EX_ADD_COLUMNS 26
#define EX_ADD_SQL                                                           \
    "INSERT INTO exchanges(capture_id, connection_id, seq, method,"          \
    " target, host, version, req_first_us, req_last_us, req_headers,"        \
    " req_body_hash, req_body_stored_bytes, req_body_size_bytes,"            \
    " req_wire_bytes, status, reason, interim, resp_first_us,"               \
    " resp_last_us, resp_headers, resp_body_hash, resp_body_stored_bytes,"   \
    " resp_body_size_bytes, resp_wire_bytes, flags, request_line) VALUES "
#define EX_ADD_ROW                                                           \
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"   \
    " ?, ?, ?)"
/* what a result insert writes: the columns of every version, then
 * resp_headers (version 5) */
#define RESULT_INSERT_COLUMNS RESULT_COLUMNS ", resp_headers"
#define RESULT_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define RESULT_ADD_COLUMNS 15

/* Cached statements, prepared on first use (see corpus_stmt). */
enum corpus_stmt_id {
    ST_CAPTURE_BEGIN,
    ST_CAPTURE_END,
    ST_CONN_ADD,
    ST_CONN_END,
    ST_BODY_ADD,
    ST_EX_ADD,
    ST_EX_ADD_BATCH,
    ST_EX_GET,
    ST_BODY_GET,
    ST_RUN_BEGIN,
    ST_RUN_END,
    ST_RESULT_ADD,
    ST_RESULT_ADD_BATCH, /* CORPUS_RESULT_BATCH rows */
    ST__COUNT
};

/* corpus_schema.c */
extern const char *const corpus_migrations[CORPUS_SCHEMA_VERSION];
extern const char *const corpus_stmt_sql[]; /* by enum corpus_stmt_id */

struct corpus {
    sqlite3 *db;
    char *path;                 /* as given to corpus_open */
    int writable;               /* opened with WRITE or CREATE */
    int version;                /* schema version of the file (a reader
                                   may have an older readable one) */
    int journal_ready;          /* journal set up for writing (first write) */
    int bulk;                   /* opened CORPUS_IMPORT: rollback journal */
    int bulk_fresh;             /* ... into a new, empty file: no fsync */
    int64_t last_commit_us;     /* monotonic time of the last commit */
    int hold;                   /* keep the write batch open until
                                   corpus_commit (a merge is one
                                   transaction): no once-a-second commit */
    sqlite3_stmt *stmt[ST__COUNT];
    uint8_t *zbuf;              /* compression scratch, reused */
    size_t zbuf_cap;
    z_stream deflater;          /* kept across bodies: deflateInit costs */
    int deflater_ready;         /* ~300 KiB of fresh pages per call */
    z_stream inflater;
    int inflater_ready;
    sqlite3_stmt *body_exists;  /* SELECT 1 FROM bodies WHERE hash = ? */
    struct corpus_async *aq;    /* the writer thread, NULL unless async */
    /* Hashes of bodies known to be in the file or the open batch, so a
     * repeated body skips the lookup; emptied whenever a write fails (the
     * batch may be rolled back). Direct-mapped by the hash's first bytes. */
    uint8_t body_seen[CORPUS_BODY_SEEN][RP_HASH_LEN];
    uint8_t body_seen_ok[CORPUS_BODY_SEEN];
};

/* Returns the cached statement id (reset, bindings cleared), preparing it
 * on first use; NULL with err filled on failure. */
sqlite3_stmt *corpus_stmt(struct corpus *c, enum corpus_stmt_id id,
                          char *err);
/* Turns a SQLite failure rc during `what` into an RP_E* code and a message
 * "PATH: WHAT: detail". SQLITE_FULL becomes RP_EIO "disk full". */
int corpus_db_fail(struct corpus *c, int rc, const char *what, char *err);
/* Opens the write batch if none is open (BEGIN). */
int corpus_tx_ensure(struct corpus *c, char *err);
/* Commits when at least a second passed since the last commit. */
int corpus_tx_maybe_commit(struct corpus *c, char *err);
/* Commits the open batch now (the synchronous corpus_flush). */
int corpus_commit(struct corpus *c, char *err);
/* The writes behind corpus_add_connection, corpus_connection_end and
 * corpus_add_exchange, without the once-a-second commit check; *out_id
 * (may be NULL) receives the row id. With hashed, the messages' body_hash
 * fields hold their bodies' hashes. */
int corpus_write_connection(struct corpus *c, const struct corpus_conn *cn,
                            int64_t *out_id, char *err);
int corpus_write_connection_end(struct corpus *c, int64_t conn_id,
                                int64_t last_us, char *err);
/* Inserts n exchanges: 1, or CORPUS_EX_BATCH with hashed (one statement).
 * *out_id receives the last row's id. */
int corpus_write_exchanges(struct corpus *c,
                           const struct corpus_exchange *const *ex, int n,
                           int hashed, int64_t *out_id, char *err);
/* The synchronous writers behind the public corpus_capture_begin,
 * corpus_capture_end, corpus_run_begin, corpus_add_results and
 * corpus_run_end (corpus_write.c). The public ones (corpus_async.c) leave
 * async mode first; these never touch the writer thread. */
int corpus_write_capture_begin(struct corpus *c,
                               const struct corpus_capture_info *ci,
                               int64_t *capture_id, char *err);
int corpus_write_capture_end(struct corpus *c, int64_t capture_id,
                             const struct corpus_capture_stats *st,
                             char *err);
int corpus_write_run_begin(struct corpus *c, const struct corpus_run_info *ri,
                           int64_t *run_id, char *err);
int corpus_write_results(struct corpus *c, int64_t run_id,
                         const struct corpus_result *res, size_t n,
                         size_t *added, char *err);
int corpus_write_run_end(struct corpus *c, int64_t run_id, int64_t ended_us,
                         const char *status, const char *summary_json,
                         char *err);
/* Async mode (corpus_async.c), used only while c->aq is set: queueing
 * versions of the adds, and hold/release around a use of the connection
 * from the caller's thread (hold waits until the writer is idle and
 * returns its first error; release records r/msg as the error if r). */
int corpus_async_add_connection(struct corpus *c, const struct corpus_conn *cn,
                                int64_t *conn_id, char *err);
int corpus_async_connection_end(struct corpus *c, int64_t conn_id,
                                int64_t last_us, char *err);
int corpus_async_add_exchange(struct corpus *c,
                              const struct corpus_exchange *ex,
                              int64_t *ex_id, char *err);
int corpus_async_hold(struct corpus *c, char *err);
void corpus_async_release(struct corpus *c, int r, const char *msg);
/* Appends the capture statistics as a JSON object (corpus_stats.c).
 * Returns 0 or RP_ENOMEM. */
struct rp_buf;
int corpus_stats_json(const struct corpus_capture_stats *st,
                      struct rp_buf *b);
/* Prepares a one-off statement; err filled on failure. */
int corpus_prepare(struct corpus *c, const char *sql, sqlite3_stmt **st,
                   char *err);
/* Formats wall-clock µs as "2026-11-28T05:58:47Z" into out (>= 32 bytes);
 * "-" when us <= 0. */
void corpus_fmt_time(int64_t us, char *out, size_t outlen);

#endif
