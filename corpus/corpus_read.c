/*
 * corpus_read.c: the streaming readers of the corpus: exchange cursors,
 * single exchange and body lookups, run lookups by id or label, and the
 * sample cursors analyze reads (a capture's wire timings or a run's
 * results). Cursors hand out views into SQLite's row buffers, valid until
 * the next call, so reading a million rows allocates nothing per row.
 */
#include "corpus_priv.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define EX_COLUMNS                                                          \
    "id, capture_id, connection_id, seq, method, target, host, version,"   \
    " req_first_us, req_last_us, req_headers, req_body_hash,"              \
    " req_body_stored_bytes, req_body_size_bytes, req_wire_bytes,"         \
    " status, reason, interim,"                                            \
    " resp_first_us, resp_last_us, resp_headers, resp_body_hash,"          \
    " resp_body_stored_bytes, resp_body_size_bytes, resp_wire_bytes, flags,"
/* request_line came with schema v3; older files read as NULL */
#define EX_COLUMNS_V3 EX_COLUMNS " request_line"
#define EX_COLUMNS_V2 EX_COLUMNS " NULL"

const char corpus_ex_get_sql[] =
    "SELECT " EX_COLUMNS_V3 " FROM exchanges WHERE id = ?";
const char corpus_ex_get_sql_v2[] =
    "SELECT " EX_COLUMNS_V2 " FROM exchanges WHERE id = ?";

struct corpus_ex_cursor {
    struct corpus *c;
    sqlite3_stmt *st;
};

struct corpus_sample_cursor {
    struct corpus *c;
    sqlite3_stmt *st;
    enum corpus_set_kind kind;
    int64_t origin_us; /* capture: first request's wire time */
};

static const char *text_or(sqlite3_stmt *st, int i, const char *dflt)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : dflt;
}

static int copy_hash(sqlite3_stmt *st, int i, uint8_t out[RP_HASH_LEN])
{
    if (sqlite3_column_bytes(st, i) != RP_HASH_LEN) {
        memset(out, 0, RP_HASH_LEN);
        return 0;
    }
    memcpy(out, sqlite3_column_blob(st, i), RP_HASH_LEN);
    return 1;
}

/* Columns first_us, last_us, headers, body_hash, stored, size, wire. */
static void fill_msg(sqlite3_stmt *st, int i, struct corpus_msg *m)
{
    m->first_us = sqlite3_column_int64(st, i);
    m->last_us = sqlite3_column_int64(st, i + 1);
    m->headers = (const char *)sqlite3_column_text(st, i + 2);
    m->headers_len = m->headers ? (size_t)sqlite3_column_bytes(st, i + 2) : 0;
    m->has_body = copy_hash(st, i + 3, m->body_hash);
    m->body = NULL;
    m->body_len = (size_t)sqlite3_column_int64(st, i + 4);
    m->body_size = (uint64_t)sqlite3_column_int64(st, i + 5);
    m->wire_bytes = (uint64_t)sqlite3_column_int64(st, i + 6);
}

static void fill_exchange(sqlite3_stmt *st, struct corpus_exchange *ex)
{
    memset(ex, 0, sizeof *ex);
    ex->id = sqlite3_column_int64(st, 0);
    ex->capture_id = sqlite3_column_int64(st, 1);
    ex->conn_id = sqlite3_column_int64(st, 2);
    ex->seq = sqlite3_column_int64(st, 3);
    ex->method = text_or(st, 4, "");
    ex->target = text_or(st, 5, "");
    ex->host = text_or(st, 6, "");
    ex->version = text_or(st, 7, "");
    fill_msg(st, 8, &ex->req);
    ex->status = sqlite3_column_int(st, 15);
    ex->reason = (const char *)sqlite3_column_text(st, 16);
    ex->interim = (const char *)sqlite3_column_text(st, 17);
    fill_msg(st, 18, &ex->resp);
    ex->flags = (uint32_t)sqlite3_column_int64(st, 25);
    ex->request_line = (const char *)sqlite3_column_text(st, 26);
}

int corpus_ex_open(struct corpus *c, int64_t capture_id,
                   struct corpus_ex_cursor **out, char *err)
{
    *out = NULL;
    struct corpus_ex_cursor *cur = calloc(1, sizeof *cur);
    if (!cur)
        return rp_fail(err, RP_ENOMEM, "%s: out of memory", c->path);
    cur->c = c;
    /* The index (capture_id, req_first_us, id) gives the order without a
     * sort; across all captures they come capture by capture. */
    static const char *const sqls[2][2] = {
        {"SELECT " EX_COLUMNS_V2 " FROM exchanges"
         " ORDER BY capture_id, req_first_us, id",
         "SELECT " EX_COLUMNS_V2 " FROM exchanges WHERE capture_id = ?"
         " ORDER BY capture_id, req_first_us, id"},
        {"SELECT " EX_COLUMNS_V3 " FROM exchanges"
         " ORDER BY capture_id, req_first_us, id",
         "SELECT " EX_COLUMNS_V3 " FROM exchanges WHERE capture_id = ?"
         " ORDER BY capture_id, req_first_us, id"},
    };
    const char *sql = sqls[c->version >= 3][capture_id > 0];
    int r = corpus_prepare(c, sql, &cur->st, err);
    if (r) {
        free(cur);
        return r;
    }
    if (capture_id > 0)
        sqlite3_bind_int64(cur->st, 1, capture_id);
    *out = cur;
    return RP_OK;
}

int corpus_ex_next(struct corpus_ex_cursor *cur, struct corpus_exchange *ex,
                   char *err)
{
    int rc = sqlite3_step(cur->st);
    if (rc == SQLITE_ROW) {
        fill_exchange(cur->st, ex);
        return 1;
    }
    if (rc == SQLITE_DONE)
        return 0;
    return corpus_db_fail(cur->c, rc, "reading exchanges", err);
}

void corpus_ex_close(struct corpus_ex_cursor *cur)
{
    if (!cur)
        return;
    sqlite3_finalize(cur->st);
    free(cur);
}

/* Runs a query returning one integer, with up to one int64 parameter. */
static int query_i64(struct corpus *c, const char *sql, int nparams,
                     int64_t param, int64_t *out, int *found, char *err)
{
    sqlite3_stmt *st;
    int r = corpus_prepare(c, sql, &st, err);
    if (r)
        return r;
    if (nparams)
        sqlite3_bind_int64(st, 1, param);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    *out = *found ? sqlite3_column_int64(st, 0) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = corpus_db_fail(c, rc, "querying", err);
    sqlite3_finalize(st);
    return r;
}

int corpus_ex_count(struct corpus *c, int64_t capture_id, int64_t *n,
                    char *err)
{
    int found;
    if (capture_id > 0)
        return query_i64(c, "SELECT COUNT(*) FROM exchanges"
                            " WHERE capture_id = ?", 1, capture_id, n, &found,
                         err);
    return query_i64(c, "SELECT COUNT(*) FROM exchanges", 0, 0, n, &found,
                     err);
}

int corpus_ex_get(struct corpus *c, int64_t ex_id, struct corpus_exchange *ex,
                  char *err)
{
    sqlite3_stmt *st = corpus_stmt(c, ST_EX_GET, err);
    if (!st)
        return RP_EIO;
    sqlite3_bind_int64(st, 1, ex_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        fill_exchange(st, ex);
        return RP_OK;
    }
    if (rc == SQLITE_DONE)
        return rp_fail(err, RP_EINPUT, "%s: no exchange with id %lld",
                       c->path, (long long)ex_id);
    return corpus_db_fail(c, rc, "reading an exchange", err);
}

/* Inflates exactly want bytes from z into out with the corpus's reused
 * inflater; -1 when the stream is damaged or has another length. */
static int inflate_body(struct corpus *c, const uint8_t *z, size_t zlen,
                        uint8_t *out, size_t want)
{
    if (!z || zlen > UINT32_MAX || want > UINT32_MAX)
        return -1;
    if (!c->inflater_ready) {
        if (inflateInit(&c->inflater) != Z_OK)
            return -1;
        c->inflater_ready = 1;
    } else if (inflateReset(&c->inflater) != Z_OK) {
        return -1;
    }
    c->inflater.next_in = (Bytef *)(uintptr_t)z;
    c->inflater.avail_in = (uInt)zlen;
    c->inflater.next_out = out;
    c->inflater.avail_out = (uInt)want;
    int zr = inflate(&c->inflater, Z_FINISH);
    return zr == Z_STREAM_END && c->inflater.avail_out == 0 ? 0 : -1;
}

int corpus_body_get(struct corpus *c, const uint8_t hash[RP_HASH_LEN],
                    uint8_t **out, size_t *len, char *err)
{
    *out = NULL;
    *len = 0;
    sqlite3_stmt *st = corpus_stmt(c, ST_BODY_GET, err);
    if (!st)
        return RP_EIO;
    sqlite3_bind_blob(st, 1, hash, RP_HASH_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    char hex[2 * RP_HASH_LEN + 1];
    rp_hash_hex(hash, hex);
    if (rc == SQLITE_DONE)
        return rp_fail(err, RP_EINPUT, "%s: no body with hash %s", c->path,
                       hex);
    if (rc != SQLITE_ROW)
        return corpus_db_fail(c, rc, "reading a body", err);
    sqlite3_int64 size = sqlite3_column_int64(st, 0);
    const uint8_t *z = sqlite3_column_blob(st, 1);
    int zlen = sqlite3_column_bytes(st, 1);
    int r = RP_OK;
    uint8_t *buf = NULL;
    /* deflate never shrinks data more than 1032:1: a larger size is a
     * damaged file, not a reason to allocate it */
    if (size < 0 || size > (sqlite3_int64)zlen * 1032 + 64) {
        r = rp_fail(err, RP_EINPUT, "%s: body %s is damaged (%lld bytes "
                    "from %d stored)", c->path, hex, (long long)size, zlen);
        goto done;
    }
    buf = malloc((size_t)size + 1);
    if (!buf) {
        r = rp_fail(err, size < 0 ? RP_EINPUT : RP_ENOMEM,
                    "%s: cannot hold body %s (%lld bytes)", c->path, hex,
                    (long long)size);
        goto done;
    }
    if (size > 0 && inflate_body(c, z, (size_t)zlen, buf, (size_t)size)) {
        free(buf);
        r = rp_fail(err, RP_EINPUT, "%s: body %s is damaged (zlib)", c->path,
                    hex);
        goto done;
    }
    buf[size] = 0;
    *out = buf;
    *len = (size_t)size;
done:
    sqlite3_reset(st);
    return r;
}

int corpus_body_stats(struct corpus *c, int64_t *count, int64_t *size_bytes,
                      int64_t *stored_bytes, char *err)
{
    sqlite3_stmt *st;
    int r = corpus_prepare(c, "SELECT COUNT(*), TOTAL(size_bytes),"
                              " TOTAL(stored_bytes) FROM bodies", &st, err);
    if (r)
        return r;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (count)
            *count = sqlite3_column_int64(st, 0);
        if (size_bytes)
            *size_bytes = sqlite3_column_int64(st, 1);
        if (stored_bytes)
            *stored_bytes = sqlite3_column_int64(st, 2);
    } else {
        r = corpus_db_fail(c, rc, "counting bodies", err);
    }
    sqlite3_finalize(st);
    return r;
}

/* ---- runs and captures ------------------------------------------------- */

/* The options a report names are read from the run's options JSON; a
 * damaged (non-JSON) options text reads as none. */
#define RUN_OPT(key)                                                       \
    " CASE WHEN json_valid(options) THEN json_extract(options, '$." key   \
    "') END,"
#define RUN_COLUMNS                                                        \
    "SELECT id, capture_id, label, target, mode, status, started_us,"     \
    " ended_us, COALESCE(result_count, (SELECT COUNT(*) FROM results"      \
    " WHERE run_id = runs.id)),"                                           \
    RUN_OPT("speed") RUN_OPT("rate") RUN_OPT("concurrency")               \
    RUN_OPT("scale") RUN_OPT("engine")                                     \
    " tool_version,"                                                       \
    " CASE WHEN json_valid(summary) THEN (SELECT group_concat(key || ' '"  \
    " || value, ' ') FROM json_each(summary, '$.correlated')"              \
    " WHERE value > 0) END,"                                               \
    " CASE WHEN json_valid(summary) THEN json_extract(summary,"            \
    " '$.uncorrelated_requests') END FROM runs "

static void copy_str(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s ? s : "");
}

static void fill_run(sqlite3_stmt *st, struct corpus_run_row *o)
{
    memset(o, 0, sizeof *o);
    o->id = sqlite3_column_int64(st, 0);
    o->capture_id = sqlite3_column_int64(st, 1);
    copy_str(o->label, sizeof o->label, text_or(st, 2, ""));
    copy_str(o->target, sizeof o->target, text_or(st, 3, ""));
    copy_str(o->mode, sizeof o->mode, text_or(st, 4, ""));
    copy_str(o->status, sizeof o->status, text_or(st, 5, ""));
    o->started_us = sqlite3_column_int64(st, 6);
    o->ended_us = sqlite3_column_int64(st, 7);
    o->results = sqlite3_column_int64(st, 8);
    o->speed = sqlite3_column_double(st, 9);
    o->rate = sqlite3_column_double(st, 10);
    o->concurrency = sqlite3_column_int(st, 11);
    o->scale = sqlite3_column_int(st, 12);
    copy_str(o->engine, sizeof o->engine, text_or(st, 13, ""));
    copy_str(o->tool_version, sizeof o->tool_version, text_or(st, 14, ""));
    copy_str(o->correlated, sizeof o->correlated, text_or(st, 15, ""));
    o->uncorrelated = sqlite3_column_type(st, 16) == SQLITE_NULL
                          ? -1 : sqlite3_column_int64(st, 16);
}

/* Runs a run query with an optional int or text parameter; *found = 1 when
 * a row was read into out. */
static int run_query(struct corpus *c, const char *where, const char *text,
                     int64_t num, struct corpus_run_row *out, int *found,
                     char *err)
{
    char sql[1024];
    sqlite3_stmt *st;
    snprintf(sql, sizeof sql, "%s%s", RUN_COLUMNS, where);
    int r = corpus_prepare(c, sql, &st, err);
    if (r)
        return r;
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, num);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (*found)
        fill_run(st, out);
    else if (rc != SQLITE_DONE)
        r = corpus_db_fail(c, rc, "reading runs", err);
    sqlite3_finalize(st);
    return r;
}

int corpus_run_steps_get(struct corpus *c, int64_t run_id,
                         struct corpus_run_steps *out, char *err)
{
    sqlite3_stmt *st;
    memset(out, 0, sizeof *out);
    int r = corpus_prepare(
        c, "SELECT json_extract(j.value, '$.multiple'),"
           " json_extract(j.value, '$.start_us'),"
           " json_extract(j.value, '$.end_us'),"
           " json_extract(runs.summary, '$.step_by'),"
           " json_extract(runs.summary, '$.stopped_by.step'),"
           " json_extract(runs.summary, '$.stopped_by.condition')"
           " FROM runs, json_each(runs.summary, '$.steps') AS j"
           " WHERE runs.id = ?1 AND json_valid(runs.summary)"
           " ORDER BY j.key", &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, run_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && out->n < CORPUS_MAX_STEPS) {
        struct corpus_run_step *k = &out->step[out->n++];
        k->multiple = sqlite3_column_double(st, 0);
        k->start_us = sqlite3_column_int64(st, 1);
        k->end_us = sqlite3_column_int64(st, 2);
        copy_str(out->step_by, sizeof out->step_by, text_or(st, 3, ""));
        out->stopped_step = sqlite3_column_int(st, 4);
        copy_str(out->stopped_by, sizeof out->stopped_by,
                 text_or(st, 5, ""));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = corpus_db_fail(c, rc, "reading a run's steps", err);
    sqlite3_finalize(st);
    return r;
}

/* Case-insensitive edit distance of a and b (Levenshtein), or a large
 * number when either is too long to matter as a typo. */
static int label_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 64 || nb > 64)
        return 1 << 20;
    int row[65];
    for (size_t j = 0; j <= nb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int up = row[j];
            int cost = tolower((unsigned char)a[i - 1]) !=
                       tolower((unsigned char)b[j - 1]);
            int v = diag + cost;
            if (row[j] + 1 < v)
                v = row[j] + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
        }
    }
    return row[nb];
}

/* Labels of any run close to `want` (case-insensitively equal, a few typos
 * away, or one containing the other), as "'v1' (run 3), 'v1b' (run 5)",
 * closest first, at most three; "" when none is close. */
static void suggest_labels(struct corpus *c, const char *want, char *out,
                           size_t n)
{
    struct near {
        char label[128];
        int64_t id;
        int d;
    } best[3];
    int nbest = 0;
    sqlite3_stmt *st;
    out[0] = '\0';
    if (!*want || sqlite3_prepare_v2(c->db, "SELECT label, MAX(id) FROM runs"
                                     " WHERE label IS NOT NULL GROUP BY label",
                                     -1, &st, NULL) != SQLITE_OK)
        return;
    int limit = (int)strlen(want) / 3 > 1 ? (int)strlen(want) / 3 : 1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *label = (const char *)sqlite3_column_text(st, 0);
        if (!label || !*label)
            continue;
        int d = label_distance(want, label);
        if (d > limit && !strcasestr(label, want) && !strcasestr(want, label))
            continue;
        if (d > limit)
            d = limit + 1; /* containment ranks after typos */
        int at = nbest < 3 ? nbest++ : 2;
        if (at == 2 && nbest == 3 && best[2].d <= d)
            continue;
        snprintf(best[at].label, sizeof best[at].label, "%s", label);
        best[at].id = sqlite3_column_int64(st, 1);
        best[at].d = d;
        for (int k = at; k > 0 && best[k - 1].d > best[k].d; k--) {
            struct near t = best[k];
            best[k] = best[k - 1];
            best[k - 1] = t;
        }
    }
    sqlite3_finalize(st);
    size_t used = 0;
    for (int k = 0; k < nbest && used < n; k++) {
        int w = snprintf(out + used, n - used, "%s'%s' (run %lld)",
                         k ? (k + 1 == nbest ? " or " : ", ") : "",
                         best[k].label, (long long)best[k].id);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* Appends "3 (v2), 2 (v1), 1" for the latest runs into out. */
static void list_runs(struct corpus *c, char *out, size_t n)
{
    sqlite3_stmt *st;
    size_t used = 0;
    int count = 0;
    out[0] = '\0';
    if (sqlite3_prepare_v2(c->db, "SELECT id, label FROM runs ORDER BY id"
                                  " DESC LIMIT 6", -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW && used < n) {
        const char *label = (const char *)sqlite3_column_text(st, 1);
        int w;
        if (++count > 5)
            w = snprintf(out + used, n - used, ", ...");
        else if (label)
            w = snprintf(out + used, n - used, "%s%lld (%s)",
                         used ? ", " : "", sqlite3_column_int64(st, 0), label);
        else
            w = snprintf(out + used, n - used, "%s%lld", used ? ", " : "",
                         sqlite3_column_int64(st, 0));
        if (w < 0)
            break;
        used += (size_t)w;
    }
    sqlite3_finalize(st);
}

int corpus_run_find(struct corpus *c, const char *id_or_label,
                    struct corpus_run_row *out, char *err)
{
    int found = 0, r;
    const char *s = id_or_label ? id_or_label : "";
    int numeric = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            numeric = 0;
    if (numeric && strlen(s) < 19) {
        r = run_query(c, "WHERE id = ?", NULL, strtoll(s, NULL, 10), out,
                      &found, err);
        if (r || found)
            return r;
    }
    r = run_query(c, "WHERE label = ? ORDER BY id DESC LIMIT 1", s, 0, out,
                  &found, err);
    if (r || found)
        return r;
    char runs[256], near[256];
    list_runs(c, runs, sizeof runs);
    if (!runs[0])
        return rp_fail(err, RP_EINPUT, "%s: no run '%s': the corpus has no "
                       "runs yet", c->path, s);
    near[0] = '\0';
    if (!numeric) /* an id that is not a run: no label is "close" to it */
        suggest_labels(c, s, near, sizeof near);
    if (near[0])
        return rp_fail(err, RP_EINPUT, "%s: no run with id or label '%s'; "
                       "did you mean %s?", c->path, s, near);
    return rp_fail(err, RP_EINPUT, "%s: no run with id or label '%s'; "
                   "runs (id (label), latest first): %s", c->path, s, runs);
}

int corpus_run_label_latest(struct corpus *c, const char *label,
                            struct corpus_run_row *out, int *found,
                            char *err)
{
    *found = 0;
    if (!label)
        return RP_OK;
    return run_query(c, "WHERE label = ? ORDER BY id DESC LIMIT 1", label, 0,
                     out, found, err);
}

int corpus_run_latest(struct corpus *c, int n, struct corpus_run_row *out,
                      char *err)
{
    int found = 0;
    int r = run_query(c, "ORDER BY id DESC LIMIT 1 OFFSET ?", NULL,
                      n < 0 ? 0 : n, out, &found, err);
    if (r || found)
        return r;
    if (n == 0)
        return rp_fail(err, RP_EINPUT, "%s: the corpus has no runs yet; "
                       "record one with 'reprise replay'", c->path);
    return rp_fail(err, RP_EINPUT, "%s: the corpus has fewer than %d runs",
                   c->path, n + 1);
}

int corpus_capture_latest(struct corpus *c, int64_t *capture_id, char *err)
{
    int found;
    int r = query_i64(c, "SELECT MAX(id) FROM captures", 0, 0, capture_id,
                      &found, err);
    if (r)
        return r;
    if (!found)
        return rp_fail(err, RP_EINPUT, "%s: the corpus has no captures yet; "
                       "record one with 'reprise capture'", c->path);
    return RP_OK;
}

/* ---- samples ----------------------------------------------------------- */

/* A run's results with what they measured, in the results table's key
 * order (loop, exchange, copy); `exchange` narrows it to one exchange. */
#define RUN_SAMPLES_SQL(exchange)                                            \
    "SELECT r.exchange_id, r.copy, e.method, e.target, e.host,"              \
    " r.status, r.error_class, IFNULL(r.scheduled_us, -1),"                  \
    " IFNULL(r.done_us - r.scheduled_us, -1),"                               \
    " IFNULL(r.done_us - r.sent_us, -1),"                                    \
    " IFNULL(r.first_byte_us - r.sent_us, -1),"                              \
    " r.resp_bytes, r.body_hash, r.loop, r.error, %s, %s, e.version"         \
    " FROM results r LEFT JOIN exchanges e ON e.id = r.exchange_id"          \
    " WHERE r.run_id = ?1" exchange                                          \
    " ORDER BY r.run_id, r.loop, r.exchange_id, r.copy"
/* How long a result of a --sessions run (one connection per captured
 * connection, in order) waited for the previous request of its session:
 * from when it was due to when that one was done, at most until it was
 * sent. That wait is the target's doing (its previous answer was late),
 * not the generator's, so analyze keeps it out of the generator's
 * lateness. Other runs wait for no one: 0. */
#define SESSION_HELD_SQL                                                     \
    "MAX(0, MIN(IFNULL(r.sent_us, 0), IFNULL(LAG(r.done_us) OVER"            \
    " (PARTITION BY e.connection_id, r.copy, r.loop ORDER BY e.seq), 0))"    \
    " - IFNULL(r.scheduled_us, 0))"

static int run_cursor(struct corpus *c, const char *sql, int64_t run_id,
                      int64_t exchange_id, struct corpus_sample_cursor **out,
                      char *err)
{
    struct corpus_sample_cursor *cur = calloc(1, sizeof *cur);
    if (!cur)
        return rp_fail(err, RP_ENOMEM, "%s: out of memory", c->path);
    cur->c = c;
    cur->kind = CORPUS_SET_RUN;
    /* schema v5 keeps the response headers of the results whose response
     * was stored (--store-bodies) */
    int found = 0;
    int64_t by_conn = 0;
    int r = query_i64(c, "SELECT instr(options, '\"sessions\":true') > 0"
                         " AND instr(options, '\"session_key\":\"') = 0"
                         " FROM runs WHERE id = ?", 1, run_id, &by_conn,
                      &found, err);
    if (r) {
        corpus_samples_close(cur);
        return r;
    }
    char q[2048];
    snprintf(q, sizeof q, sql,
             c->version >= 5 ? "r.resp_headers IS NOT NULL" : "0",
             found && by_conn ? SESSION_HELD_SQL : "0");
    r = corpus_prepare(c, q, &cur->st, err);
    if (r) {
        corpus_samples_close(cur);
        return r;
    }
    sqlite3_bind_int64(cur->st, 1, run_id);
    if (exchange_id >= 0)
        sqlite3_bind_int64(cur->st, 2, exchange_id);
    *out = cur;
    return RP_OK;
}

int corpus_samples_open_exchange(struct corpus *c, int64_t run_id,
                                 int64_t exchange_id,
                                 struct corpus_sample_cursor **out, char *err)
{
    *out = NULL;
    return run_cursor(c, RUN_SAMPLES_SQL(" AND r.exchange_id = ?2"), run_id,
                      exchange_id, out, err);
}

int corpus_samples_open(struct corpus *c, enum corpus_set_kind kind,
                        int64_t id, struct corpus_sample_cursor **out,
                        char *err)
{
    int found = 0, r;
    int64_t v;
    *out = NULL;
    if (kind == CORPUS_SET_CAPTURE) {
        r = query_i64(c, "SELECT id FROM captures WHERE id = ?", 1, id, &v,
                      &found, err);
        if (!r && !found)
            return rp_fail(err, RP_EINPUT, "%s: no capture with id %lld",
                           c->path, (long long)id);
    } else {
        r = query_i64(c, "SELECT id FROM runs WHERE id = ?", 1, id, &v,
                      &found, err);
        if (!r && !found)
            return rp_fail(err, RP_EINPUT, "%s: no run with id %lld",
                           c->path, (long long)id);
    }
    if (r)
        return r;
    if (kind == CORPUS_SET_RUN)
        return run_cursor(c, RUN_SAMPLES_SQL(""), id, -1, out, err);
    struct corpus_sample_cursor *cur = calloc(1, sizeof *cur);
    if (!cur)
        return rp_fail(err, RP_ENOMEM, "%s: out of memory", c->path);
    cur->c = c;
    cur->kind = kind;
    r = query_i64(c, "SELECT MIN(req_first_us) FROM exchanges"
                     " WHERE capture_id = ?", 1, id, &cur->origin_us,
                  &found, err);
    if (!r)
        r = corpus_prepare(c,
            "SELECT id, method, target, host, status, req_first_us,"
            " req_last_us, resp_first_us, resp_last_us,"
            /* a truncated or incomplete body's hash covers only
             * part of it: no hash, so it is never compared */
            " resp_body_size_bytes, CASE WHEN flags & 18 THEN NULL"
            " ELSE resp_body_hash END, version FROM exchanges"
            /* A capture's exchanges in id order: a range scan of the
             * table between its first and last id (both found in
             * exchanges_by_capture_time); `+` keeps the planner off
             * that index, which would need a sort. An index on
             * capture_id alone would make this a search, but costs
             * every capture ~20% of its insert time. */
            " WHERE id BETWEEN"
            " (SELECT MIN(id) FROM exchanges WHERE capture_id = ?1)"
            " AND (SELECT MAX(id) FROM exchanges WHERE capture_id = ?1)"
            " AND +capture_id = ?1 ORDER BY id", &cur->st, err);
    if (r) {
        corpus_samples_close(cur);
        return r;
    }
    sqlite3_bind_int64(cur->st, 1, id);
    *out = cur;
    return RP_OK;
}

/* b - a, or -1 when either is unknown (NULL) or the difference does not
 * fit (a damaged file). */
static int64_t span(sqlite3_stmt *st, int a, int b)
{
    if (sqlite3_column_type(st, a) == SQLITE_NULL ||
        sqlite3_column_type(st, b) == SQLITE_NULL)
        return -1;
    int64_t d;
    if (__builtin_sub_overflow((int64_t)sqlite3_column_int64(st, b),
                               (int64_t)sqlite3_column_int64(st, a), &d))
        return -1;
    return d;
}

/* A span the query computed, or -1 when it is not an integer (SQLite turns
 * an overflowing subtraction into a REAL: a damaged file). */
static int64_t span_col(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
        return -1;
    return sqlite3_column_int64(st, i);
}

/* Maps the stored class name back; no string compare for the common case
 * (no error, NULL). */
static enum corpus_errclass errclass_col(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return CORPUS_ERR_NONE;
    return corpus_errclass_parse((const char *)sqlite3_column_text(st, i));
}

int corpus_samples_next(struct corpus_sample_cursor *cur,
                        struct corpus_sample *s, char *err)
{
    sqlite3_stmt *st = cur->st;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return corpus_db_fail(cur->c, rc, "reading samples", err);
    s->held_us = 0;
    if (cur->kind == CORPUS_SET_CAPTURE) {
        s->exchange_id = sqlite3_column_int64(st, 0);
        s->copy = 0;
        s->loop = 0;
        s->method = text_or(st, 1, "");
        s->target = text_or(st, 2, "");
        s->host = text_or(st, 3, "");
        s->status = sqlite3_column_int(st, 4);
        s->error_class = CORPUS_ERR_NONE;
        if (__builtin_sub_overflow((int64_t)sqlite3_column_int64(st, 5),
                                   cur->origin_us, &s->t_us))
            s->t_us = 0;
        if (s->status > 0) {
            s->latency_us = span(st, 5, 8);
            s->ttfb_us = span(st, 6, 7);
        } else {
            s->latency_us = -1;
            s->ttfb_us = -1;
        }
        s->service_us = s->latency_us;
        s->resp_bytes = sqlite3_column_int64(st, 9);
        s->has_body_hash = copy_hash(st, 10, s->body_hash);
        s->error = NULL;
        s->has_response = s->status > 0;
        s->version = (const char *)sqlite3_column_text(st, 11);
    } else {
        s->exchange_id = sqlite3_column_int64(st, 0);
        s->copy = sqlite3_column_int(st, 1);
        s->method = text_or(st, 2, "");
        s->target = text_or(st, 3, "");
        s->host = text_or(st, 4, "");
        s->status = sqlite3_column_int(st, 5);
        s->error_class = errclass_col(st, 6);
        /* the spans are computed by the query: one column read each */
        s->t_us = sqlite3_column_int64(st, 7);
        s->latency_us = span_col(st, 8);
        s->service_us = span_col(st, 9);
        s->ttfb_us = span_col(st, 10);
        s->resp_bytes = sqlite3_column_int64(st, 11);
        s->has_body_hash = copy_hash(st, 12, s->body_hash);
        s->loop = sqlite3_column_int(st, 13);
        s->error = (const char *)sqlite3_column_text(st, 14);
        s->has_response = sqlite3_column_int(st, 15);
        s->held_us = sqlite3_column_int64(st, 16);
        s->version = (const char *)sqlite3_column_text(st, 17);
    }
    return 1;
}

void corpus_samples_close(struct corpus_sample_cursor *cur)
{
    if (!cur)
        return;
    sqlite3_finalize(cur->st);
    free(cur);
}

int corpus_response_get(struct corpus *c, enum corpus_set_kind kind,
                        int64_t set_id, int64_t exchange_id, int loop,
                        int copy, char **headers, size_t *hlen,
                        uint8_t **body, size_t *blen, char *err)
{
    sqlite3_stmt *st;
    *headers = NULL;
    *body = NULL;
    *hlen = *blen = 0;
    if (kind == CORPUS_SET_RUN && c->version < 5)
        return rp_fail(err, RP_EINPUT, "no stored response");
    int r = corpus_prepare(
        c, kind == CORPUS_SET_RUN
               ? "SELECT resp_headers, body_hash FROM results WHERE"
                 " run_id = ?1 AND loop = ?2 AND exchange_id = ?3 AND"
                 " copy = ?4 AND resp_headers IS NOT NULL"
               : "SELECT resp_headers, CASE WHEN flags & 18 THEN NULL"
                 " ELSE resp_body_hash END FROM exchanges WHERE id = ?3"
                 " AND capture_id = ?1 AND status > 0",
        &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, set_id);
    if (kind == CORPUS_SET_RUN) {
        sqlite3_bind_int(st, 2, loop);
        sqlite3_bind_int(st, 4, copy);
    }
    sqlite3_bind_int64(st, 3, exchange_id);
    int rc = sqlite3_step(st);
    uint8_t hash[RP_HASH_LEN];
    int has_hash = 0;
    if (rc == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (!(*headers = malloc(n + 1))) {
            sqlite3_finalize(st);
            return rp_fail(err, RP_ENOMEM, "out of memory");
        }
        if (n)
            memcpy(*headers, h, n);
        (*headers)[n] = 0;
        *hlen = n;
        has_hash = copy_hash(st, 1, hash);
    } else if (rc == SQLITE_DONE) {
        r = rp_fail(err, RP_EINPUT, "no stored response");
    } else {
        r = corpus_db_fail(c, rc, "reading a response", err);
    }
    sqlite3_finalize(st);
    if (!r && has_hash) {
        r = corpus_body_get(c, hash, body, blen, err);
        if (r == RP_EINPUT) /* the hash of a body not kept: none */
            r = 0;
    }
    if (r) {
        free(*headers);
        *headers = NULL;
    }
    return r;
}
