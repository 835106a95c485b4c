/*
 * corpus_open.c: opening and migrating a corpus, the statement cache, the
 * error mapping and the write batch. A file is checked read-only before
 * anything is written to it: it must be empty/new, or carry our
 * application_id with a schema version this build knows. The schema moves
 * forward through corpus_migrations (corpus_schema.c), one step per
 * version. Writes go into one open transaction that is committed once a
 * second (checked on each add) and on flush/close, so a crash loses at most
 * the last second and the WAL keeps the file valid.
 */
#include "corpus/corpus_priv.h"

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

#define CORPUS_APPLICATION_ID 0x52505253 /* "RPRS" */
#define COMMIT_EVERY_US 1000000

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
    const char *sql = id != ST_EX_GET ? corpus_stmt_sql[id]
                      : c->version >= 3 ? corpus_ex_get_sql
                                        : corpus_ex_get_sql_v2;
    char batch[sizeof EX_ADD_SQL + CORPUS_EX_BATCH * sizeof EX_ADD_ROW];
    if (id == ST_RESULT_ADD_BATCH) {
        int n = snprintf(batch, sizeof batch, "INSERT OR REPLACE INTO "
                         "results(" RESULT_INSERT_COLUMNS ") VALUES ");
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
        r = exec(c, corpus_migrations[v], "upgrading the schema", err);
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
    /* IMMEDIATE: the batch takes the write lock now, waiting for it in
     * the busy handler. A deferred batch whose first statement reads (a
     * body's lookup before its insert) holds a read snapshot, and its
     * first write then fails at once (SQLITE_BUSY_SNAPSHOT, no wait) when
     * another replay committed meanwhile: two runs into one corpus. */
    int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
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
