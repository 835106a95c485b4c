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

/* Cached statements, prepared on first use (see corpus_stmt). */
enum corpus_stmt_id {
    ST_CAPTURE_BEGIN,
    ST_CAPTURE_END,
    ST_CONN_ADD,
    ST_CONN_END,
    ST_BODY_ADD,
    ST_EX_ADD,
    ST_EX_GET,
    ST_BODY_GET,
    ST_RUN_BEGIN,
    ST_RUN_END,
    ST_RESULT_ADD,
    ST__COUNT
};

struct corpus {
    sqlite3 *db;
    char *path;                 /* as given to corpus_open */
    int writable;               /* opened with WRITE or CREATE */
    int64_t last_commit_us;     /* monotonic time of the last commit */
    sqlite3_stmt *stmt[ST__COUNT];
    uint8_t *zbuf;              /* compression scratch, reused */
    size_t zbuf_cap;
    z_stream deflater;          /* kept across bodies: deflateInit costs */
    int deflater_ready;         /* ~300 KiB of fresh pages per call */
    z_stream inflater;
    int inflater_ready;
    sqlite3_stmt *body_exists;  /* SELECT 1 FROM bodies WHERE hash = ? */
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
/* Prepares a one-off statement; err filled on failure. */
int corpus_prepare(struct corpus *c, const char *sql, sqlite3_stmt **st,
                   char *err);
/* Formats wall-clock µs as "2026-11-28T05:58:47Z" into out (>= 32 bytes);
 * "-" when us <= 0. */
void corpus_fmt_time(int64_t us, char *out, size_t outlen);

#endif
