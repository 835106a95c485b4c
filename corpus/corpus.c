/*
 * corpus.c: opening, schema migration and the batched writer of the reprise
 * corpus. A file is checked read-only before anything is written to it: it
 * must be empty/new, or carry our application_id with a schema version this
 * build knows. The schema moves forward through an array of SQL steps, one
 * per version. Writes go into one open transaction that is committed once a
 * second (checked on each add) and on flush/close, so a crash loses at most
 * the last second and the WAL keeps the file valid. Bodies are deflated and
 * stored once per content hash.
 */
#include "corpus_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include <zlib.h>

#define CORPUS_APPLICATION_ID 0x52505253 /* "RPRS" */
#define COMMIT_EVERY_US 1000000

/* The results table (one row per scheduled request of a run), with the
 * primary key of its schema version, and the view over it; shared by the
 * migrations that create them. */
#define RESULT_COLUMNS                                                       \
    "run_id, exchange_id, copy, loop, scheduled_us, sent_us, first_byte_us," \
    " done_us, connect_us, status, resp_bytes, body_hash, error_class, error"
#define RESULTS_TABLE(primary_key)                                           \
    "CREATE TABLE results (\n"                                               \
    "  run_id INTEGER NOT NULL REFERENCES runs(id),\n"                       \
    "  exchange_id INTEGER NOT NULL REFERENCES exchanges(id),\n"             \
    "  copy INTEGER NOT NULL,\n"                                             \
    "  loop INTEGER NOT NULL,\n"                                             \
    "  scheduled_us INTEGER,\n"                                              \
    "  sent_us INTEGER,\n"                                                   \
    "  first_byte_us INTEGER,\n"                                             \
    "  done_us INTEGER,\n"                                                   \
    "  connect_us INTEGER,\n"                                                \
    "  status INTEGER NOT NULL,\n"                                           \
    "  resp_bytes INTEGER NOT NULL,\n"                                       \
    "  body_hash BLOB,\n"                                                    \
    "  error_class TEXT,\n"                                                  \
    "  error TEXT,\n"                                                        \
    "  " primary_key "\n"                                                    \
    ") WITHOUT ROWID;\n"
#define RESULT_TIMINGS_VIEW \
    "CREATE VIEW result_timings AS SELECT\n"                         \
    "  r.run_id, r.exchange_id, r.copy, r.loop, e.method, e.host,\n" \
    "  CASE WHEN instr(e.target, '?') > 0\n"                         \
    "       THEN substr(e.target, 1, instr(e.target, '?') - 1)\n"    \
    "       ELSE e.target END AS path,\n"                            \
    "  e.target, r.status, r.error_class, r.scheduled_us,\n"         \
    "  r.done_us - r.scheduled_us AS latency_us,\n"                  \
    "  r.done_us - r.sent_us AS service_us,\n"                       \
    "  r.sent_us - r.scheduled_us AS lateness_us,\n"                 \
    "  r.first_byte_us - r.sent_us AS ttfb_us,\n"                    \
    "  r.connect_us, r.resp_bytes\n"                                 \
    "FROM results r JOIN exchanges e ON e.id = r.exchange_id;\n"

/* migrations[v] moves a corpus from user_version v to v + 1. */
static const char *const migrations[CORPUS_SCHEMA_VERSION] = {
    /* 0 -> 1: the first schema */
    "CREATE TABLE meta (\n"
    "  key TEXT PRIMARY KEY,\n"
    "  value TEXT\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE captures (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  label TEXT,\n"
    "  source TEXT NOT NULL,\n"
    "  filter TEXT,\n"
    "  started_us INTEGER NOT NULL,\n"
    "  ended_us INTEGER,\n"
    "  redacted INTEGER NOT NULL DEFAULT 0,\n"
    "  options TEXT,\n"
    "  stats TEXT,\n"
    "  exchange_count INTEGER,\n"
    "  tool_version TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE connections (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  capture_id INTEGER NOT NULL REFERENCES captures(id),\n"
    "  client_addr TEXT NOT NULL,\n"
    "  client_port INTEGER NOT NULL,\n"
    "  server_addr TEXT NOT NULL,\n"
    "  server_port INTEGER NOT NULL,\n"
    "  first_us INTEGER NOT NULL,\n"
    "  last_us INTEGER\n"
    ");\n"
    "CREATE INDEX connections_by_capture ON connections(capture_id);\n"
    "CREATE TABLE bodies (\n"
    "  hash BLOB PRIMARY KEY,\n"
    "  size_bytes INTEGER NOT NULL,\n"
    "  stored_bytes INTEGER NOT NULL,\n"
    "  data BLOB NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE exchanges (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  capture_id INTEGER NOT NULL REFERENCES captures(id),\n"
    "  connection_id INTEGER REFERENCES connections(id),\n"
    "  seq INTEGER NOT NULL,\n"
    "  method TEXT NOT NULL,\n"
    "  target TEXT NOT NULL,\n"
    "  host TEXT NOT NULL,\n"
    "  version TEXT NOT NULL,\n"
    "  req_first_us INTEGER NOT NULL,\n"
    "  req_last_us INTEGER NOT NULL,\n"
    "  req_headers TEXT,\n"
    "  req_body_hash BLOB REFERENCES bodies(hash),\n"
    "  req_body_stored_bytes INTEGER NOT NULL,\n"
    "  req_body_size_bytes INTEGER NOT NULL,\n"
    "  req_wire_bytes INTEGER NOT NULL,\n"
    "  status INTEGER NOT NULL,\n"
    "  reason TEXT,\n"
    "  interim TEXT,\n"
    "  resp_first_us INTEGER,\n"
    "  resp_last_us INTEGER,\n"
    "  resp_headers TEXT,\n"
    "  resp_body_hash BLOB REFERENCES bodies(hash),\n"
    "  resp_body_stored_bytes INTEGER NOT NULL,\n"
    "  resp_body_size_bytes INTEGER NOT NULL,\n"
    "  resp_wire_bytes INTEGER NOT NULL,\n"
    "  flags INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX exchanges_by_capture_time "
    "ON exchanges(capture_id, req_first_us, id);\n"
    "CREATE TABLE runs (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  capture_id INTEGER REFERENCES captures(id),\n"
    "  label TEXT,\n"
    "  target TEXT NOT NULL,\n"
    "  mode TEXT NOT NULL,\n"
    "  options TEXT,\n"
    "  started_us INTEGER NOT NULL,\n"
    "  ended_us INTEGER,\n"
    "  tool_version TEXT NOT NULL,\n"
    "  status TEXT NOT NULL DEFAULT 'running',\n"
    "  summary TEXT,\n"
    "  result_count INTEGER,\n"
    "  error_count INTEGER\n"
    ");\n"
    "CREATE INDEX runs_by_label ON runs(label, id);\n"
    RESULTS_TABLE("PRIMARY KEY (run_id, exchange_id, copy, loop)")
    "CREATE VIEW exchange_timings AS SELECT\n"
    "  e.id AS exchange_id, e.capture_id, e.method, e.host,\n"
    "  CASE WHEN instr(e.target, '?') > 0\n"
    "       THEN substr(e.target, 1, instr(e.target, '?') - 1)\n"
    "       ELSE e.target END AS path,\n"
    "  e.target, e.status,\n"
    "  e.req_first_us - (SELECT MIN(f.req_first_us) FROM exchanges f\n"
    "                    WHERE f.capture_id = e.capture_id) AS t_us,\n"
    "  CASE WHEN e.status > 0 THEN e.resp_last_us - e.req_first_us END\n"
    "    AS latency_us,\n"
    "  CASE WHEN e.status > 0 THEN e.resp_first_us - e.req_last_us END\n"
    "    AS ttfb_us,\n"
    "  e.resp_body_size_bytes AS resp_bytes\n"
    "FROM exchanges e;\n"
    RESULT_TIMINGS_VIEW
    "INSERT INTO meta(key, value) VALUES ('created_by', 'reprise "
    RP_VERSION "');\n",
    /* 1 -> 2: results keyed by loop before exchange, so a looping replay
     * appends its rows near the end of the table instead of between the
     * rows of every earlier loop (SCHEMA.md, "Why loop comes first"). */
    "DROP VIEW result_timings;\n"
    "ALTER TABLE results RENAME TO results_v1;\n"
    RESULTS_TABLE("PRIMARY KEY (run_id, loop, exchange_id, copy)")
    "INSERT INTO results(" RESULT_COLUMNS ")\n"
    "  SELECT " RESULT_COLUMNS " FROM results_v1\n"
    "  ORDER BY run_id, loop, exchange_id, copy;\n"
    "DROP TABLE results_v1;\n"
    RESULT_TIMINGS_VIEW,
    /* 2 -> 3: the request line as sent, kept when it is not "method SP
     * target SP version" (malformed, extra tokens, HTTP/0.9); NULL for
     * every older row, whose request lines were all of that form */
    "ALTER TABLE exchanges ADD COLUMN request_line TEXT;\n",
    /* 3 -> 4: correlations learned at capture (SCHEMA.md, "correlations") */
    "CREATE TABLE IF NOT EXISTS correlations (\n"
    "  exchange_id INTEGER NOT NULL REFERENCES exchanges(id),\n"
    "  location TEXT NOT NULL,\n"
    "  kind TEXT NOT NULL,\n"
    "  source_exchange_id INTEGER REFERENCES exchanges(id),\n"
    "  source_location TEXT,\n"
    "  value_hash TEXT NOT NULL,\n"
    "  PRIMARY KEY (exchange_id, location)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX IF NOT EXISTS correlations_by_source "
    "ON correlations(source_exchange_id);\n"
    "CREATE TABLE IF NOT EXISTS result_correlations (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
    "  loop INTEGER NOT NULL,\n"
    "  exchange_id INTEGER NOT NULL REFERENCES exchanges(id),\n"
    "  copy INTEGER NOT NULL,\n"
    "  substituted INTEGER NOT NULL,\n"
    "  uncorrelated INTEGER NOT NULL,\n"
    "  PRIMARY KEY (run_id, loop, exchange_id, copy)\n"
    ") WITHOUT ROWID;\n",
};

/* Inserting exchanges, one row or CORPUS_EX_BATCH rows per statement (the
 * writer thread's bulk path: per-statement costs are a fifth of a row's). */
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

#define RESULT_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define RESULT_ADD_COLUMNS 14

static const char *const stmt_sql[ST__COUNT] = {
    [ST_CAPTURE_BEGIN] =
        "INSERT INTO captures(label, source, filter, started_us, redacted,"
        " options, tool_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [ST_CAPTURE_END] =
        "UPDATE captures SET ended_us = ?1, stats = ?2, exchange_count ="
        " (SELECT COUNT(*) FROM exchanges WHERE capture_id = ?3)"
        " WHERE id = ?3",
    [ST_CONN_ADD] =
        "INSERT INTO connections(capture_id, client_addr, client_port,"
        " server_addr, server_port, first_us, last_us)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
    [ST_CONN_END] = "UPDATE connections SET last_us = ? WHERE id = ?",
    [ST_BODY_ADD] =
        "INSERT OR IGNORE INTO bodies(hash, size_bytes, stored_bytes, data)"
        " VALUES (?, ?, ?, ?)",
    [ST_EX_ADD] = EX_ADD_SQL EX_ADD_ROW,
    [ST_EX_ADD_BATCH] = NULL, /* EX_ADD_SQL with CORPUS_EX_BATCH rows */
    [ST_EX_GET] = NULL, /* built by corpus_read.c (shares its column list) */
    [ST_BODY_GET] = "SELECT size_bytes, data FROM bodies WHERE hash = ?",
    [ST_RUN_BEGIN] =
        "INSERT INTO runs(capture_id, label, target, mode, options,"
        " started_us, tool_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [ST_RUN_END] =
        "UPDATE runs SET ended_us = ?1, status = ?2, summary = ?3,"
        " result_count = (SELECT COUNT(*) FROM results WHERE run_id = ?4),"
        " error_count = (SELECT COUNT(*) FROM results WHERE run_id = ?4"
        " AND error_class IS NOT NULL AND error_class != 'not_sent')"
        " WHERE id = ?4",
    [ST_RESULT_ADD] =
        "INSERT OR REPLACE INTO results(" RESULT_COLUMNS ")"
        " VALUES " RESULT_ROW,
    [ST_RESULT_ADD_BATCH] = NULL, /* CORPUS_RESULT_BATCH rows, built */
};

/* Defined in corpus_read.c so the reader owns its column list. */
extern const char corpus_ex_get_sql[], corpus_ex_get_sql_v2[];

int corpus_db_fail(struct corpus *c, int rc, const char *what, char *err)
{
    int saved_errno = errno; /* SQLite's system errno is not always set */
    const char *path = c && c->path ? c->path : "corpus";
    const char *msg = c && c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
    int sys = c && c->db ? sqlite3_system_errno(c->db) : 0;
    if (!sys)
        sys = saved_errno;
    if ((rc & 0xff) == SQLITE_IOERR && (sys == ENOSPC || sys == EFBIG ||
                                         sys == EDQUOT))
        rc = SQLITE_FULL;
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return rp_fail(err, RP_EIO,
                       "%s: %s: disk full (or file size limit reached); "
                       "everything committed before is kept, free space and "
                       "retry", path, what);
    case SQLITE_IOERR:
        return rp_fail(err, RP_EIO, "%s: %s: I/O error (%s%s%s); everything "
                       "committed before is kept", path, what, msg,
                       sys ? ": " : "", sys ? strerror(sys) : "");
    case SQLITE_NOMEM:
        return rp_fail(err, RP_ENOMEM, "%s: %s: out of memory", path, what);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return rp_fail(err, RP_EIO,
                       "%s: %s: the corpus is locked by another process (%s)",
                       path, what, msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return rp_fail(err, RP_EINPUT, "%s: %s: the file is damaged (%s)",
                       path, what, msg);
    case SQLITE_READONLY:
        return rp_fail(err, RP_EIO, "%s: %s: the corpus is read-only (%s)",
                       path, what, msg);
    default:
        return rp_fail(err, RP_EIO, "%s: %s: %s", path, what, msg);
    }
}

int corpus_prepare(struct corpus *c, const char *sql, sqlite3_stmt **st,
                   char *err)
{
    int rc = sqlite3_prepare_v3(c->db, sql, -1, 0, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return corpus_db_fail(c, rc, "preparing a query", err);
    }
    return RP_OK;
}

sqlite3_stmt *corpus_stmt(struct corpus *c, enum corpus_stmt_id id,
                          char *err)
{
    sqlite3_stmt *st = c->stmt[id];
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    const char *sql = id != ST_EX_GET ? stmt_sql[id]
                      : c->version >= 3 ? corpus_ex_get_sql
                                        : corpus_ex_get_sql_v2;
    char batch[sizeof EX_ADD_SQL + CORPUS_EX_BATCH * sizeof EX_ADD_ROW];
    if (id == ST_RESULT_ADD_BATCH) {
        int n = snprintf(batch, sizeof batch, "INSERT OR REPLACE INTO "
                         "results(" RESULT_COLUMNS ") VALUES ");
        for (int i = 0; i < CORPUS_RESULT_BATCH; i++)
            n += snprintf(batch + n, sizeof batch - (size_t)n, "%s"
                          RESULT_ROW, i ? "," : "");
        sql = batch;
    }
    if (id == ST_EX_ADD_BATCH) {
        size_t n = strlen(EX_ADD_SQL);
        memcpy(batch, EX_ADD_SQL, n);
        for (int i = 0; i < CORPUS_EX_BATCH; i++) {
            if (i)
                batch[n++] = ',';
            memcpy(batch + n, EX_ADD_ROW, strlen(EX_ADD_ROW));
            n += strlen(EX_ADD_ROW);
        }
        batch[n] = '\0';
        sql = batch;
    }
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
                           NULL) != SQLITE_OK) {
        corpus_db_fail(c, sqlite3_errcode(c->db), "preparing a query", err);
        return NULL;
    }
    c->stmt[id] = st;
    return st;
}

void corpus_fmt_time(int64_t us, char *out, size_t outlen)
{
    rp_fmt_time_iso(us, 0, out, outlen);
}

static int exec(struct corpus *c, const char *sql, const char *what, char *err)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? RP_OK : corpus_db_fail(c, rc, what, err);
}

/* ---- opening ----------------------------------------------------------- */

/* Reads application_id, user_version and the number of schema objects. */
static int read_header(sqlite3 *db, int *app_id, int *version, int *objects)
{
    static const char *const q[3] = {
        "PRAGMA application_id", "PRAGMA user_version",
        "SELECT COUNT(*) FROM sqlite_master",
    };
    int *outs[3] = {app_id, version, objects};
    for (int i = 0; i < 3; i++) {
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(db, q[i], -1, &st, NULL);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(st);
            if (rc == SQLITE_ROW) {
                *outs[i] = sqlite3_column_int(st, 0);
                rc = SQLITE_OK;
            }
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

/* Rolls back the hot journal that an import killed mid-batch left (see
 * CORPUS_IMPORT), which a read-only connection cannot do: SQLite does it on
 * the first read of a read-write connection, and only when no live writer
 * holds the journal. Returns an SQLite result code. */
static int roll_back_hot_journal(const char *path)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL,
                          NULL);
    }
    sqlite3_close(db);
    return rc;
}

/* Checks the file without writing to it (beyond finishing the rollback of
 * a killed writer's batch, as any SQLite client would). *fresh = 1 when it
 * is an empty database that needs the schema; *version receives its
 * user_version. */
static int check_file(const char *path, enum corpus_open_mode mode,
                      int *fresh, int *version, char *err)
{
    sqlite3 *db = NULL;
    int app_id = 0, objects = 0, r = RP_OK;
    int rc = SQLITE_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        sqlite3_close(db);
        db = NULL;
        rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
        if (rc == SQLITE_OK) {
            /* another process may be switching the journal mode now */
            sqlite3_busy_timeout(db, 5000);
            rc = read_header(db, &app_id, version, &objects);
        }
        if (rc != SQLITE_READONLY || attempt)
            break;
        int rrc = roll_back_hot_journal(path);
        if (rrc != SQLITE_OK) {
            r = rp_fail(err, RP_EIO,
                        "%s: a writer was killed in the middle of a batch; "
                        "rolling it back needs write access to the file and "
                        "its folder: %s", path, sqlite3_errstr(rrc));
            goto done;
        }
    }
    if (rc != SQLITE_OK) {
        if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
            r = rp_fail(err, RP_EINPUT,
                        "%s: not a reprise corpus (not an SQLite database)",
                        path);
        else
            r = rp_fail(err, RP_EIO, "%s: cannot read: %s", path,
                        db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        goto done;
    }
    *fresh = 0;
    if (app_id != CORPUS_APPLICATION_ID) {
        if (app_id == 0 && objects == 0 && *version == 0) {
            *fresh = 1;
            if (mode == CORPUS_READ)
                r = rp_fail(err, RP_EINPUT,
                            "%s: empty file, not a reprise corpus yet", path);
        } else {
            r = rp_fail(err, RP_EINPUT,
                        "%s: not a reprise corpus (an SQLite database with "
                        "application_id 0x%08x and %d schema objects; reprise "
                        "writes only its own files)", path, (unsigned)app_id,
                        objects);
        }
        goto done;
    }
    if (*version > CORPUS_SCHEMA_VERSION) {
        r = rp_fail(err, RP_EINPUT,
                    "%s: corpus schema version %d is newer than this reprise "
                    "(%s) understands (%d); use a newer reprise", path,
                    *version, RP_VERSION, CORPUS_SCHEMA_VERSION);
    } else if (*version < CORPUS_SCHEMA_READABLE && mode == CORPUS_READ) {
        r = rp_fail(err, RP_EINPUT,
                    "%s: corpus schema version %d is older than %d; a writing "
                    "command (capture, replay) upgrades it", path, *version,
                    CORPUS_SCHEMA_READABLE);
    }
done:
    sqlite3_close(db);
    return r;
}

/* Creates a missing file with mode 0600 (SQLite would use 0644). */
static int create_file(const char *path, int *created, char *err)
{
    *created = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        *created = 1;
        return RP_OK;
    }
    if (errno == EEXIST)
        return RP_OK;
    return rp_fail(err, RP_EIO, "%s: cannot create: %s", path,
                   strerror(errno));
}

/* Switches the journal to WAL before the first write, so a writer that
 * fails before writing anything (unknown capture, bad option) leaves the
 * file byte-for-byte unchanged. A bulk import uses the rollback journal
 * instead, with synchronous=FULL (NORMAL is not crash-safe there); a file
 * another process holds in WAL mode stays in WAL (the switch needs it
 * alone), which is only slower. */
static int journal_on(struct corpus *c, char *err)
{
    if (c->journal_ready)
        return RP_OK;
    if (c->bulk) {
        sqlite3_exec(c->db, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
        /* Into a new file there is nothing older to protect: commits hand
         * the pages to the OS without fsync (a killed import still rolls
         * back to its last commit; only a crash of the machine can leave
         * the new file unusable, and the pcap is still there). Into an
         * existing corpus every commit is durable. */
        int r = exec(c, c->bulk_fresh ? "PRAGMA synchronous = OFF"
                                      : "PRAGMA synchronous = FULL",
                     "setting up the journal", err);
        if (!r)
            c->journal_ready = 1;
        return r;
    }
    /* The switch needs the file alone for a moment, and SQLite answers
     * BUSY at once, without its busy handler, when another process is
     * opening, switching or closing the corpus at the same time (replays
     * started side by side): retried for up to the busy timeout. */
    int rc = SQLITE_BUSY;
    for (int i = 0; i < 500; i++) {
        rc = sqlite3_exec(c->db, "PRAGMA journal_mode = WAL", NULL, NULL,
                          NULL);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (rc != SQLITE_OK)
        return corpus_db_fail(c, rc, "setting up the journal", err);
    c->journal_ready = 1;
    return RP_OK;
}

int corpus_journal_ready(struct corpus *c, char *err)
{
    if (!c->writable)
        return rp_fail(err, RP_EINTERNAL, "%s: opened read-only", c->path);
    return journal_on(c, err);
}

/* Runs the migration steps from version `from` up to ours in one
 * transaction, re-checking the version under the write lock. */
static int migrate(struct corpus *c, int from, char *err)
{
    int r = exec(c, "BEGIN IMMEDIATE", "locking for the schema upgrade", err);
    if (r)
        return r;
    int app_id = 0, version = 0, objects = 0;
    int rc = read_header(c->db, &app_id, &version, &objects);
    if (rc != SQLITE_OK) {
        r = corpus_db_fail(c, rc, "reading the schema version", err);
        goto done;
    }
    if (version != from ||
        (app_id != CORPUS_APPLICATION_ID && (app_id || objects))) {
        r = rp_fail(err, RP_EINPUT,
                    "%s: the file changed while it was opened; retry",
                    c->path);
        goto done;
    }
    if (from > 0) /* rebuilding a big results table takes a while */
        rp_info("%s: upgrading the corpus from schema v%d to v%d (once)",
                c->path, from, CORPUS_SCHEMA_VERSION);
    for (int v = from; v < CORPUS_SCHEMA_VERSION && !r; v++)
        r = exec(c, migrations[v], "upgrading the schema", err);
    if (!r) {
        char sql[128];
        snprintf(sql, sizeof sql,
                 "PRAGMA application_id = %d; PRAGMA user_version = %d",
                 CORPUS_APPLICATION_ID, CORPUS_SCHEMA_VERSION);
        r = exec(c, sql, "writing the schema version", err);
    }
    if (!r)
        r = exec(c, "COMMIT", "committing the schema", err);
done:
    if (r)
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

/* SQLite's memory statistics take a global mutex on every allocation (a
 * few % of a capture's writer thread); nothing here reads them. Only
 * possible before SQLite initializes; later it is a harmless no-op. */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;
static void sqlite_setup(void) { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }

int corpus_open(const char *path, enum corpus_open_mode mode,
                struct corpus **out, char *err)
{
    pthread_once(&sqlite_once, sqlite_setup);
    struct corpus *c = NULL;
    int r, fresh = 0, version = 0, created = 0;
    struct stat sb;
    *out = NULL;
    if (!path || !*path)
        return rp_fail(err, RP_EUSAGE, "no corpus file given");
    if (stat(path, &sb) != 0) {
        int creates = mode == CORPUS_CREATE || mode == CORPUS_IMPORT;
        if (errno != ENOENT || !creates)
            return rp_fail(err, errno == ENOENT ? RP_EINPUT : RP_EIO,
                           "%s: %s", path, strerror(errno));
        if ((r = create_file(path, &created, err)))
            return r;
    } else if (S_ISDIR(sb.st_mode)) {
        return rp_fail(err, RP_EINPUT, "%s: is a directory, not a corpus",
                       path);
    }
    r = check_file(path, mode, &fresh, &version, err);
    if (r)
        goto done;

    c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        r = rp_fail(err, RP_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    c->writable = mode != CORPUS_READ;
    c->version = fresh || c->writable ? CORPUS_SCHEMA_VERSION : version;
    c->bulk = mode == CORPUS_IMPORT;
    c->bulk_fresh = c->bulk && fresh;
    if (c->writable) {
        /* A file size limit (ulimit -f) must reach us as EFBIG, handled
         * like a full disk (rollback, RP_EIO, valid file), not as SIGXFSZ
         * killing the process in the middle of a batch. */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_IGN;
        sigaction(SIGXFSZ, &sa, NULL);
    }
    /* One thread at a time per struct corpus (see corpus.h), so SQLite's
     * own mutexes are not needed. */
    int flags = (c->writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) |
                SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        r = corpus_db_fail(c, rc, "opening", err);
        goto done;
    }
    sqlite3_busy_timeout(c->db, 5000);
    sqlite3_extended_result_codes(c->db, 0);
    /* Small page caches: writers append in key order and readers stream,
     * so a big cache bought no speed (measured for capture, replay and
     * analyze) but made peak RSS grow with the corpus up to its size. */
    if (c->writable) {
        r = exec(c, "PRAGMA synchronous = NORMAL;"
                    " PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY;"
                    " PRAGMA wal_autocheckpoint = 16384",
                 "setting up the journal", err);
        if (!r && (fresh || version < CORPUS_SCHEMA_VERSION)) {
            r = journal_on(c, err);
            if (!r)
                r = migrate(c, version, err);
        }
    } else {
        r = exec(c, "PRAGMA cache_size = -4096; PRAGMA temp_store = MEMORY",
                 "setting up the cache", err);
    }
    if (r)
        goto done;
    c->last_commit_us = rp_mono_us();
    *out = c;
    c = NULL;
done:
    if (c)
        corpus_close(c, NULL);
    if (r && created)
        unlink(path);
    return r;
}

int corpus_flush(struct corpus *c, char *err)
{
    if (!c->aq)
        return corpus_commit(c, err);
    int r = corpus_async_hold(c, err);
    if (!r)
        r = corpus_commit(c, err);
    corpus_async_release(c, r, err);
    return r;
}

int corpus_commit(struct corpus *c, char *err)
{
    c->last_commit_us = rp_mono_us();
    if (sqlite3_get_autocommit(c->db))
        return RP_OK;
    int rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return RP_OK;
    int r = corpus_db_fail(c, rc, "committing", err);
    memset(c->body_seen_ok, 0, sizeof c->body_seen_ok);
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

int corpus_close(struct corpus *c, char *err)
{
    if (!c)
        return RP_OK;
    int r = RP_OK;
    char tmp[RP_ERRLEN];
    if (c->aq)
        r = corpus_set_async(c, 0, err ? err : tmp);
    if (c->db) {
        for (int i = 0; i < ST__COUNT; i++)
            sqlite3_finalize(c->stmt[i]);
        sqlite3_finalize(c->body_exists);
        if (c->writable && c->journal_ready) {
            int rc = corpus_commit(c, r ? tmp : err ? err : tmp);
            if (!r)
                r = rc;
            /* Folds the WAL into the main file and leaves WAL mode, so the
             * closed corpus is one self-contained file that read-only
             * openers use without -wal/-shm side files. Both fail harmlessly
             * (SQLITE_BUSY) while another process has the corpus open; the
             * next writer switches back to WAL. */
            sqlite3_busy_timeout(c->db, 0); /* never wait for readers */
            sqlite3_exec(c->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
                         NULL);
            sqlite3_exec(c->db, "PRAGMA journal_mode = DELETE", NULL, NULL,
                         NULL);
        }
        sqlite3_close_v2(c->db);
    }
    if (c->deflater_ready)
        deflateEnd(&c->deflater);
    if (c->inflater_ready)
        inflateEnd(&c->inflater);
    free(c->zbuf);
    free(c->path);
    free(c);
    return r;
}

/* ---- the write batch --------------------------------------------------- */

int corpus_tx_ensure(struct corpus *c, char *err)
{
    if (!c->writable)
        return rp_fail(err, RP_EINTERNAL, "%s: opened read-only", c->path);
    if (!sqlite3_get_autocommit(c->db))
        return RP_OK;
    int r = journal_on(c, err);
    if (r)
        return r;
    int rc = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
    return rc == SQLITE_OK ? RP_OK : corpus_db_fail(c, rc, "starting a batch",
                                                    err);
}

int corpus_tx_maybe_commit(struct corpus *c, char *err)
{
    int64_t now = rp_mono_us();
    if (c->hold || now - c->last_commit_us < COMMIT_EVERY_US)
        return RP_OK;
    return corpus_commit(c, err);
}

/* Steps a write statement to completion. */
static int step_done(struct corpus *c, sqlite3_stmt *st, const char *what,
                     char *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return RP_OK;
    int r = corpus_db_fail(c, rc, what, err);
    memset(c->body_seen_ok, 0, sizeof c->body_seen_ok);
    /* After SQLITE_FULL or an I/O error the batch is dropped as a whole
     * (SQLite may have rolled part of it back already), so the file keeps
     * exactly what was committed before; the next add starts a new one. */
    int prim = rc & 0xff;
    if ((prim == SQLITE_FULL || prim == SQLITE_IOERR) &&
        !sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_i64_or_null(sqlite3_stmt *st, int i, int64_t v, int64_t null)
{
    if (v == null)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

/* Switches async mode off before a write that is not queued. */
static int sync_mode(struct corpus *c, char *err)
{
    return c->aq ? corpus_set_async(c, 0, err) : RP_OK;
}

int corpus_capture_begin(struct corpus *c, const struct corpus_capture_info *ci,
                         int64_t *capture_id, char *err)
{
    int r = sync_mode(c, err);
    if (!r)
        r = corpus_tx_ensure(c, err);
    sqlite3_stmt *st = r ? NULL : corpus_stmt(c, ST_CAPTURE_BEGIN, err);
    if (!st)
        return r ? r : RP_EIO;
    bind_text_or_null(st, 1, ci->label);
    sqlite3_bind_text(st, 2, ci->source ? ci->source : "", -1, SQLITE_STATIC);
    bind_text_or_null(st, 3, ci->filter);
    sqlite3_bind_int64(st, 4, ci->started_us);
    sqlite3_bind_int(st, 5, ci->redacted ? 1 : 0);
    bind_text_or_null(st, 6, ci->options_json);
    sqlite3_bind_text(st, 7, RP_VERSION, -1, SQLITE_STATIC);
    if ((r = step_done(c, st, "adding a capture", err)))
        return r;
    if (capture_id)
        *capture_id = sqlite3_last_insert_rowid(c->db);
    /* A capture row is committed at once so `ls` shows it while running. */
    return corpus_flush(c, err);
}

int corpus_capture_end(struct corpus *c, int64_t capture_id,
                       const struct corpus_capture_stats *s, char *err)
{
    struct rp_buf json;
    rp_buf_init(&json, 1 << 16);
    if (corpus_stats_json(s, &json) || rp_buf_append(&json, "", 1)) {
        rp_buf_cleanup(&json);
        return rp_fail(err, RP_ENOMEM, "%s: out of memory", c->path);
    }
    int r = sync_mode(c, err);
    if (!r)
        r = corpus_tx_ensure(c, err);
    sqlite3_stmt *st = r ? NULL : corpus_stmt(c, ST_CAPTURE_END, err);
    if (!st) {
        rp_buf_cleanup(&json);
        return r ? r : RP_EIO;
    }
    bind_i64_or_null(st, 1, s->ended_us, 0);
    sqlite3_bind_text(st, 2, json.data, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, capture_id);
    r = step_done(c, st, "ending a capture", err);
    rp_buf_cleanup(&json);
    if (r)
        return r;
    if (sqlite3_changes(c->db) != 1)
        return rp_fail(err, RP_EINTERNAL, "%s: no capture %lld", c->path,
                       (long long)capture_id);
    return corpus_flush(c, err);
}

int corpus_add_connection(struct corpus *c, const struct corpus_conn *cn,
                          int64_t *conn_id, char *err)
{
    if (c->aq)
        return corpus_async_add_connection(c, cn, conn_id, err);
    int r = corpus_write_connection(c, cn, conn_id, err);
    return r ? r : corpus_tx_maybe_commit(c, err);
}

int corpus_write_connection(struct corpus *c, const struct corpus_conn *cn,
                            int64_t *conn_id, char *err)
{
    int r = corpus_tx_ensure(c, err);
    sqlite3_stmt *st = r ? NULL : corpus_stmt(c, ST_CONN_ADD, err);
    if (!st)
        return r ? r : RP_EIO;
    sqlite3_bind_int64(st, 1, cn->capture_id);
    sqlite3_bind_text(st, 2, cn->client_addr ? cn->client_addr : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(st, 3, cn->client_port);
    sqlite3_bind_text(st, 4, cn->server_addr ? cn->server_addr : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(st, 5, cn->server_port);
    sqlite3_bind_int64(st, 6, cn->first_us);
    bind_i64_or_null(st, 7, cn->last_us, 0);
    if ((r = step_done(c, st, "adding a connection", err)))
        return r;
    if (conn_id)
        *conn_id = sqlite3_last_insert_rowid(c->db);
    return RP_OK;
}

int corpus_connection_end(struct corpus *c, int64_t conn_id, int64_t last_us,
                          char *err)
{
    if (c->aq)
        return corpus_async_connection_end(c, conn_id, last_us, err);
    int r = corpus_write_connection_end(c, conn_id, last_us, err);
    return r ? r : corpus_tx_maybe_commit(c, err);
}

int corpus_write_connection_end(struct corpus *c, int64_t conn_id,
                                int64_t last_us, char *err)
{
    int r = corpus_tx_ensure(c, err);
    sqlite3_stmt *st = r ? NULL : corpus_stmt(c, ST_CONN_END, err);
    if (!st)
        return r ? r : RP_EIO;
    sqlite3_bind_int64(st, 1, last_us);
    sqlite3_bind_int64(st, 2, conn_id);
    return step_done(c, st, "ending a connection", err);
}

/* Deflates and stores a body (hash: its rp_hash) once per hash. A body
 * already stored is recognised before it is compressed, a recent one
 * without even a lookup (body_seen). */
static int store_body(struct corpus *c, const uint8_t *body, size_t len,
                      const uint8_t hash[RP_HASH_LEN], char *err)
{
    size_t slot = (((size_t)hash[0] << 8) | hash[1]) % CORPUS_BODY_SEEN;
    if (c->body_seen_ok[slot] &&
        !memcmp(c->body_seen[slot], hash, RP_HASH_LEN))
        return RP_OK;
    if (!c->body_exists &&
        corpus_prepare(c, "SELECT 1 FROM bodies WHERE hash = ?",
                       &c->body_exists, err))
        return RP_EIO;
    sqlite3_bind_blob(c->body_exists, 1, hash, RP_HASH_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(c->body_exists);
    sqlite3_reset(c->body_exists);
    if (rc == SQLITE_ROW)
        goto seen;
    if (rc != SQLITE_DONE)
        return corpus_db_fail(c, rc, "looking up a body", err);

    if (!c->deflater_ready) {
        if (deflateInit(&c->deflater, 6) != Z_OK)
            return rp_fail(err, RP_ENOMEM, "%s: zlib: out of memory",
                           c->path);
        c->deflater_ready = 1;
    } else {
        deflateReset(&c->deflater);
    }
    uLong bound = deflateBound(&c->deflater, (uLong)len);
    if (len > UINT32_MAX / 2 || bound > INT32_MAX)
        return rp_fail(err, RP_ENOMEM, "%s: a %zu-byte body is too large to "
                       "store", c->path, len);
    if (bound > c->zbuf_cap) {
        uint8_t *nb = realloc(c->zbuf, bound);
        if (!nb)
            return rp_fail(err, RP_ENOMEM, "%s: out of memory compressing a "
                           "%zu-byte body", c->path, len);
        c->zbuf = nb;
        c->zbuf_cap = bound;
    }
    c->deflater.next_in = (Bytef *)(uintptr_t)body;
    c->deflater.avail_in = (uInt)len;
    c->deflater.next_out = c->zbuf;
    c->deflater.avail_out = (uInt)bound;
    if (deflate(&c->deflater, Z_FINISH) != Z_STREAM_END)
        return rp_fail(err, RP_EINTERNAL, "%s: zlib failed on a body",
                       c->path);
    size_t zlen = bound - c->deflater.avail_out;
    sqlite3_stmt *st = corpus_stmt(c, ST_BODY_ADD, err);
    if (!st)
        return RP_EIO;
    sqlite3_bind_blob(st, 1, hash, RP_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)len);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)zlen);
    sqlite3_bind_blob(st, 4, c->zbuf, (int)zlen, SQLITE_STATIC);
    int r = step_done(c, st, "storing a body", err);
    if (r)
        return r;
seen:
    memcpy(c->body_seen[slot], hash, RP_HASH_LEN);
    c->body_seen_ok[slot] = 1;
    return RP_OK;
}

/* Binds one message's columns starting at column i (see ST_EX_ADD). With
 * hashed, m->body_hash already holds the body's hash (and is bound); else
 * it is computed into hash, which must live until the statement runs. */
static int bind_msg(struct corpus *c, sqlite3_stmt *st, int i,
                    const struct corpus_msg *m, int hashed,
                    uint8_t hash[RP_HASH_LEN], char *err)
{
    if (m->headers)
        sqlite3_bind_text(st, i, m->headers, (int)m->headers_len,
                          SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
    if (m->body && m->body_len > 0) {
        const uint8_t *h = hashed ? m->body_hash : hash;
        if (!hashed)
            rp_hash(m->body, m->body_len, hash);
        int r = store_body(c, m->body, m->body_len, h, err);
        if (r)
            return r;
        sqlite3_bind_blob(st, i + 1, h, RP_HASH_LEN, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(st, i + 1);
    }
    size_t stored = m->body ? m->body_len : 0;
    sqlite3_bind_int64(st, i + 2, (sqlite3_int64)stored);
    sqlite3_bind_int64(st, i + 3, (sqlite3_int64)(m->body_size > stored
                                                      ? m->body_size
                                                      : stored));
    sqlite3_bind_int64(st, i + 4, (sqlite3_int64)m->wire_bytes);
    return RP_OK;
}

int corpus_add_exchange(struct corpus *c, const struct corpus_exchange *ex,
                        int64_t *ex_id, char *err)
{
    if (c->aq)
        return corpus_async_add_exchange(c, ex, ex_id, err);
    int r = corpus_write_exchanges(c, &ex, 1, 0, ex_id, err);
    return r ? r : corpus_tx_maybe_commit(c, err);
}

/* Binds one exchange's EX_ADD_COLUMNS parameters after parameter b; the
 * hash buffers as in bind_msg. */
static int bind_exchange(struct corpus *c, sqlite3_stmt *st, int b,
                         const struct corpus_exchange *ex, int hashed,
                         uint8_t req_hash[RP_HASH_LEN],
                         uint8_t resp_hash[RP_HASH_LEN], char *err)
{
    int r;
    sqlite3_bind_int64(st, b + 1, ex->capture_id);
    bind_i64_or_null(st, b + 2, ex->conn_id, 0);
    sqlite3_bind_int64(st, b + 3, ex->seq);
    sqlite3_bind_text(st, b + 4, ex->method ? ex->method : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, b + 5, ex->target ? ex->target : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, b + 6, ex->host ? ex->host : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, b + 7, ex->version ? ex->version : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, b + 8, ex->req.first_us);
    sqlite3_bind_int64(st, b + 9, ex->req.last_us);
    if ((r = bind_msg(c, st, b + 10, &ex->req, hashed, req_hash, err)))
        return r;
    sqlite3_bind_int(st, b + 15, ex->status);
    bind_text_or_null(st, b + 16, ex->reason);
    bind_text_or_null(st, b + 17, ex->interim);
    bind_i64_or_null(st, b + 18, ex->resp.first_us, 0);
    bind_i64_or_null(st, b + 19, ex->resp.last_us, 0);
    if ((r = bind_msg(c, st, b + 20, &ex->resp, hashed, resp_hash, err)))
        return r;
    sqlite3_bind_int64(st, b + 25, ex->flags);
    bind_text_or_null(st, b + 26, ex->request_line);
    return RP_OK;
}

int corpus_write_exchanges(struct corpus *c,
                           const struct corpus_exchange *const *ex, int n,
                           int hashed, int64_t *ex_id, char *err)
{
    uint8_t req_hash[RP_HASH_LEN], resp_hash[RP_HASH_LEN];
    if (n != 1 && (n != CORPUS_EX_BATCH || !hashed))
        return rp_fail(err, RP_EINTERNAL, "%s: %d exchanges in one insert",
                       c->path, n);
    int r = corpus_tx_ensure(c, err);
    if (r)
        return r;
    /* Every parameter is bound below and step_done resets, so a prepared
     * statement is used as is (no clear_bindings per row). Bodies are
     * stored while binding: store_body uses its own statements. */
    enum corpus_stmt_id sid = n == 1 ? ST_EX_ADD : ST_EX_ADD_BATCH;
    sqlite3_stmt *st = c->stmt[sid];
    if (!st)
        st = corpus_stmt(c, sid, err);
    if (!st)
        return RP_EIO;
    for (int i = 0; i < n; i++)
        if ((r = bind_exchange(c, st, i * EX_ADD_COLUMNS, ex[i], hashed,
                               req_hash, resp_hash, err)))
            return r;
    if ((r = step_done(c, st, "adding an exchange", err)))
        return r;
    if (ex_id)
        *ex_id = sqlite3_last_insert_rowid(c->db);
    return RP_OK;
}

int corpus_run_begin(struct corpus *c, const struct corpus_run_info *ri,
                     int64_t *run_id, char *err)
{
    int r = sync_mode(c, err);
    if (!r)
        r = corpus_tx_ensure(c, err);
    sqlite3_stmt *st = r ? NULL : corpus_stmt(c, ST_RUN_BEGIN, err);
    if (!st)
        return r ? r : RP_EIO;
    bind_i64_or_null(st, 1, ri->capture_id, 0);
    bind_text_or_null(st, 2, ri->label);
    sqlite3_bind_text(st, 3, ri->target ? ri->target : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, ri->mode ? ri->mode : "", -1, SQLITE_STATIC);
    bind_text_or_null(st, 5, ri->options_json);
    sqlite3_bind_int64(st, 6, ri->started_us);
    sqlite3_bind_text(st, 7, RP_VERSION, -1, SQLITE_STATIC);
    if ((r = step_done(c, st, "adding a run", err)))
        return r;
    if (run_id)
        *run_id = sqlite3_last_insert_rowid(c->db);
    return corpus_flush(c, err);
}

/* Binds one result's columns from parameter i + 1 on. */
static void bind_result(sqlite3_stmt *st, int i, int64_t run_id,
                        const struct corpus_result *res)
{
    sqlite3_bind_int64(st, i + 1, run_id);
    sqlite3_bind_int64(st, i + 2, res->exchange_id);
    sqlite3_bind_int(st, i + 3, res->copy);
    sqlite3_bind_int(st, i + 4, res->loop);
    if (res->scheduled_us >= 0)
        sqlite3_bind_int64(st, i + 5, res->scheduled_us);
    if (res->sent_us >= 0)
        sqlite3_bind_int64(st, i + 6, res->sent_us);
    if (res->first_byte_us >= 0)
        sqlite3_bind_int64(st, i + 7, res->first_byte_us);
    if (res->done_us >= 0)
        sqlite3_bind_int64(st, i + 8, res->done_us);
    if (res->connect_us >= 0)
        sqlite3_bind_int64(st, i + 9, res->connect_us);
    sqlite3_bind_int(st, i + 10, res->status);
    sqlite3_bind_int64(st, i + 11, res->resp_bytes);
    if (res->has_body_hash)
        sqlite3_bind_blob(st, i + 12, res->body_hash, RP_HASH_LEN,
                          SQLITE_STATIC);
    if (res->error_class != CORPUS_ERR_NONE)
        sqlite3_bind_text(st, i + 13, corpus_errclass_name(res->error_class),
                          -1, SQLITE_STATIC);
    bind_text_or_null(st, i + 14, res->error);
}

int corpus_add_results(struct corpus *c, int64_t run_id,
                       const struct corpus_result *res, size_t n,
                       size_t *added, char *err)
{
    size_t done = 0;
    int r = sync_mode(c, err);
    if (!r)
        r = corpus_tx_ensure(c, err);
    while (!r && n) {
        /* CORPUS_RESULT_BATCH rows per statement when there are as many:
         * the statement's own costs are paid once for all of them */
        int batch = n >= CORPUS_RESULT_BATCH;
        size_t k = batch ? CORPUS_RESULT_BATCH : 1;
        sqlite3_stmt *st = corpus_stmt(c, batch ? ST_RESULT_ADD_BATCH
                                                : ST_RESULT_ADD, err);
        if (!st) {
            r = RP_EIO;
            break;
        }
        for (size_t i = 0; i < k; i++)
            bind_result(st, (int)i * RESULT_ADD_COLUMNS, run_id, &res[i]);
        if ((r = step_done(c, st, "adding results", err)))
            break;
        res += k;
        n -= k;
        done += k;
    }
    if (!r && (r = corpus_tx_maybe_commit(c, err)))
        done = 0; /* the commit failed: these rows did not land either */
    if (added)
        *added = done;
    return r;
}

int corpus_add_result(struct corpus *c, int64_t run_id,
                      const struct corpus_result *res, char *err)
{
    return corpus_add_results(c, run_id, res, 1, NULL, err);
}

int corpus_run_end(struct corpus *c, int64_t run_id, int64_t ended_us,
                   const char *status, const char *summary_json, char *err)
{
    int r = sync_mode(c, err);
    if (!r)
        r = corpus_tx_ensure(c, err);
    sqlite3_stmt *st = r ? NULL : corpus_stmt(c, ST_RUN_END, err);
    if (!st)
        return r ? r : RP_EIO;
    bind_i64_or_null(st, 1, ended_us, 0);
    sqlite3_bind_text(st, 2, status ? status : "complete", -1, SQLITE_STATIC);
    bind_text_or_null(st, 3, summary_json);
    sqlite3_bind_int64(st, 4, run_id);
    if ((r = step_done(c, st, "ending a run", err)))
        return r;
    if (sqlite3_changes(c->db) != 1)
        return rp_fail(err, RP_EINTERNAL, "%s: no run %lld", c->path,
                       (long long)run_id);
    return corpus_flush(c, err);
}

static const char *const errclass_names[CORPUS_ERR__COUNT] = {
    [CORPUS_ERR_NONE] = "none",         [CORPUS_ERR_REFUSED] = "refused",
    [CORPUS_ERR_RESET] = "reset",       [CORPUS_ERR_TIMEOUT] = "timeout",
    [CORPUS_ERR_DNS] = "dns",           [CORPUS_ERR_TLS] = "tls",
    [CORPUS_ERR_PROTOCOL] = "protocol", [CORPUS_ERR_NOT_SENT] = "not_sent",
    [CORPUS_ERR_OTHER] = "other",
};

const char *corpus_errclass_name(enum corpus_errclass e)
{
    if ((int)e < 0 || e >= CORPUS_ERR__COUNT)
        return "other";
    return errclass_names[e];
}

enum corpus_errclass corpus_errclass_parse(const char *name)
{
    if (!name || !*name)
        return CORPUS_ERR_NONE;
    for (int i = 0; i < CORPUS_ERR__COUNT; i++)
        if (!strcmp(name, errclass_names[i]))
            return (enum corpus_errclass)i;
    return CORPUS_ERR_OTHER;
}
