/*
 * corpus_write.c: the writers of the corpus: captures, connections,
 * exchanges (bodies deflated and stored once per content hash), runs and
 * their results, each into the open write batch (corpus_open.c). When the
 * corpus is in async mode the public adds hand their rows to the writer
 * thread (corpus_async.c), which calls the corpus_write_* functions here;
 * those never call back into the async layer, so the dependency runs one
 * way: corpus_add_* -> corpus_async -> corpus_write_*.
 */
#include "corpus/corpus_priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

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
int corpus_write_capture_begin(struct corpus *c,
                                const struct corpus_capture_info *ci,
                                int64_t *capture_id, char *err)
{
    int r = corpus_tx_ensure(c, err);
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

int corpus_write_capture_end(struct corpus *c, int64_t capture_id,
                             const struct corpus_capture_stats *s, char *err)
{
    struct rp_buf json;
    rp_buf_init(&json, 1 << 16);
    if (corpus_stats_json(s, &json) || rp_buf_append(&json, "", 1)) {
        rp_buf_cleanup(&json);
        return rp_fail(err, RP_ENOMEM, "%s: out of memory", c->path);
    }
    int r = corpus_tx_ensure(c, err);
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

int corpus_write_run_begin(struct corpus *c, const struct corpus_run_info *ri,
                           int64_t *run_id, char *err)
{
    int r = corpus_tx_ensure(c, err);
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
    if (res->resp_headers)
        sqlite3_bind_text(st, i + 15, res->resp_headers,
                          (int)res->resp_headers_len, SQLITE_STATIC);
}

int corpus_write_results(struct corpus *c, int64_t run_id,
                       const struct corpus_result *res, size_t n,
                       size_t *added, char *err)
{
    size_t done = 0;
    int r = corpus_tx_ensure(c, err);
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
        for (size_t i = 0; i < k && !r; i++)
            if (res[i].resp_headers && res[i].resp_body && res[i].has_body_hash)
                r = store_body(c, res[i].resp_body, res[i].resp_body_len,
                               res[i].body_hash, err);
        if (r)
            break;
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


int corpus_write_run_end(struct corpus *c, int64_t run_id, int64_t ended_us,
                         const char *status, const char *summary_json,
                         char *err)
{
    int r = corpus_tx_ensure(c, err);
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
