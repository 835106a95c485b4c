/*
 * corpus_list.c: the human listing of a corpus (`reprise ls`: captures with
 * their key statistics, runs with result and error counts, as aligned text)
 * and the JSON-lines export of exchanges, whose keys are a public contract
 * documented in corpus/SCHEMA.md. Counts come from columns filled when a
 * capture or run ends, so listing a 10M-exchange corpus does not scan it;
 * only unfinished captures and runs are counted live.
 */
#include "corpus_priv.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"

#define LIST_MAX_COLS 16

/* A small text table: cells are kept until printing to align columns. */
struct table {
    int ncols;
    char **cells;   /* rows * ncols strings */
    size_t rows, cap;
    int width[LIST_MAX_COLS];
};

static int table_add(struct table *t, char *const *row)
{
    if (t->rows == t->cap) {
        size_t ncap = t->cap ? 2 * t->cap : 16;
        char **nc = realloc(t->cells, ncap * (size_t)t->ncols * sizeof *nc);
        if (!nc)
            return RP_ENOMEM;
        t->cells = nc;
        t->cap = ncap;
    }
    for (int i = 0; i < t->ncols; i++) {
        char *s = strdup(row[i] ? row[i] : "");
        if (!s) {
            for (int j = 0; j < i; j++)
                free(t->cells[t->rows * (size_t)t->ncols + (size_t)j]);
            return RP_ENOMEM;
        }
        int w = (int)strlen(s);
        if (w > t->width[i])
            t->width[i] = w;
        t->cells[t->rows * (size_t)t->ncols + (size_t)i] = s;
    }
    t->rows++;
    return RP_OK;
}

/* Numbers are right-aligned (numeric[i] = 1), text left-aligned; the last
 * column is not padded. */
static void table_print(const struct table *t, const int *numeric, FILE *out)
{
    for (size_t r = 0; r < t->rows; r++) {
        fputs("  ", out);
        for (int i = 0; i < t->ncols; i++) {
            const char *s = t->cells[r * (size_t)t->ncols + (size_t)i];
            int last = i == t->ncols - 1;
            if (numeric[i])
                fprintf(out, "%*s", t->width[i], s);
            else
                fprintf(out, "%-*s", last ? 0 : t->width[i], s);
            fputs(last ? "\n" : "  ", out);
        }
    }
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->rows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
}

static void fmt_duration(int64_t us, char *out, size_t n)
{
    if (us < 0)
        snprintf(out, n, "-");
    else if (us < 60 * 1000000LL)
        snprintf(out, n, "%.1fs", (double)us / 1e6);
    else if (us < 3600 * 1000000LL)
        snprintf(out, n, "%lldm%02llds", (long long)(us / 60000000),
                 (long long)(us / 1000000 % 60));
    else
        snprintf(out, n, "%lldh%02lldm", (long long)(us / 3600000000LL),
                 (long long)(us / 60000000 % 60));
}

/* Column b minus column a, or -1 when b is NULL or the difference does not
 * fit (a damaged file). */
static int64_t col_span(sqlite3_stmt *st, int a, int b)
{
    int64_t d;
    if (sqlite3_column_type(st, b) == SQLITE_NULL ||
        __builtin_sub_overflow((int64_t)sqlite3_column_int64(st, b),
                               (int64_t)sqlite3_column_int64(st, a), &d))
        return -1;
    return d;
}

static void fmt_i64(sqlite3_stmt *st, int i, char *out, size_t n)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        snprintf(out, n, "-");
    else
        snprintf(out, n, "%lld", (long long)sqlite3_column_int64(st, i));
}

/* Ends a listing: reports a failed step, prints "WHAT: N" and the table,
 * and frees the statement and the table. Returns the first error. */
static int list_finish(struct corpus *c, sqlite3_stmt *st, struct table *t,
                       int r, int rc, const char *what, const int *numeric,
                       FILE *out, char *err)
{
    if (!r && rc != SQLITE_DONE) {
        char ctx[64];
        snprintf(ctx, sizeof ctx, "listing %s", what);
        r = corpus_db_fail(c, rc, ctx, err);
    }
    if (!r) {
        fprintf(out, "%s: %zu\n", what, t->rows - 1);
        if (t->rows > 1)
            table_print(t, numeric, out);
    }
    sqlite3_finalize(st);
    table_free(t);
    return r;
}

static int list_captures(struct corpus *c, FILE *out, char *err)
{
    /* LOST: requests seen that are no exchange (counted by cause in the
     * stats); NOT_HTTP: connections that carried no HTTP/1.x. Captures
     * made before these counts existed show "-". */
    static const char *const head[] = {
        "ID", "LABEL", "STARTED (UTC)", "DURATION", "EXCHANGES", "PACKETS",
        "DROPS", "NO_RESP", "INCOMPLETE", "MALFORMED", "AMBIGUOUS", "LOST",
        "NOT_HTTP", "GAPS", "SOURCE",
    };
    static const int numeric[] = {1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0};
    enum { NCOLS = sizeof head / sizeof head[0], NSTATS = 9 };
    struct table t = {.ncols = NCOLS};
    sqlite3_stmt *st = NULL;
    int r = table_add(&t, (char *const *)head);
    if (!r)
        r = corpus_prepare(c,
            "SELECT id, label, source, started_us, ended_us,"
            " COALESCE(exchange_count, (SELECT COUNT(*) FROM exchanges"
            "  WHERE capture_id = cap.id)),"
            " json_extract(js, '$.packets'),"
            " json_extract(js, '$.pcap_drops')"
            "  + json_extract(js, '$.pcap_ifdrops'),"
            " json_extract(js, '$.no_response'),"
            " json_extract(js, '$.incomplete'),"
            " json_extract(js, '$.malformed'),"
            " json_extract(js, '$.ambiguous'),"
            " json_extract(js, '$.requests') - json_extract(js, '$.exchanges'),"
            " json_extract(js, '$.unparsable'),"
            " json_extract(js, '$.gaps')"
            " FROM (SELECT *, CASE WHEN json_valid(stats) THEN stats END AS js"
            "  FROM captures) AS cap ORDER BY id", &st, err);
    int rc = SQLITE_DONE;
    while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char id[24], started[32], dur[24], nums[1 + NSTATS][24];
        fmt_i64(st, 0, id, sizeof id);
        corpus_fmt_time(sqlite3_column_int64(st, 3), started, sizeof started);
        fmt_duration(col_span(st, 3, 4), dur, sizeof dur);
        for (int i = 0; i <= NSTATS; i++)
            fmt_i64(st, 5 + i, nums[i], sizeof nums[i]);
        const char *label = (const char *)sqlite3_column_text(st, 1);
        char *row[NCOLS] = {id, (char *)(label ? label : "-"), started, dur};
        for (int i = 0; i <= NSTATS; i++)
            row[4 + i] = nums[i];
        row[NCOLS - 1] = (char *)sqlite3_column_text(st, 2);
        if (table_add(&t, row))
            r = rp_fail(err, RP_ENOMEM, "%s: out of memory", c->path);
    }
    return list_finish(c, st, &t, r, rc, "captures", numeric, out, err);
}

/* An integer of the run's summary JSON, NULL when it has none. */
#define SUMMARY_INT(key)                                                   \
    "CASE WHEN json_valid(summary) THEN json_extract(summary, '$." key    \
    "') END"

static int list_runs(struct corpus *c, FILE *out, char *err)
{
    static const char *const head[] = {
        "ID", "LABEL", "CAPTURE", "MODE", "STATUS", "STARTED (UTC)",
        "DURATION", "RESULTS", "ERRORS", "NOT_SENT", "TARGET",
    };
    static const int numeric[] = {1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0};
    struct table t = {.ncols = 11};
    sqlite3_stmt *st = NULL;
    int r = table_add(&t, (char *const *)head);
    if (!r)
        r = corpus_prepare(c,
            "SELECT id, label, capture_id, mode, status, started_us, ended_us,"
            " COALESCE(result_count, (SELECT COUNT(*) FROM results"
            "  WHERE run_id = runs.id)),"
            /* errors as the run's summary counted them (transport
             * errors; never-sent requests apart), so ls and the summary
             * agree; counted afresh for a run that has no summary */
            " COALESCE(" SUMMARY_INT("errors") ", (SELECT COUNT(*)"
            "  FROM results WHERE run_id = runs.id AND error_class IS NOT"
            "  NULL AND error_class != 'not_sent')),"
            " COALESCE(" SUMMARY_INT("not_sent") ", (SELECT COUNT(*)"
            "  FROM results WHERE run_id = runs.id"
            "  AND error_class = 'not_sent')),"
            " target FROM runs ORDER BY id", &st, err);
    int rc = SQLITE_DONE;
    while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char id[24], cap[24], started[32], dur[24], nres[24], nerr[24];
        char nns[24];
        fmt_i64(st, 0, id, sizeof id);
        fmt_i64(st, 2, cap, sizeof cap);
        corpus_fmt_time(sqlite3_column_int64(st, 5), started, sizeof started);
        fmt_duration(col_span(st, 5, 6), dur, sizeof dur);
        fmt_i64(st, 7, nres, sizeof nres);
        fmt_i64(st, 8, nerr, sizeof nerr);
        fmt_i64(st, 9, nns, sizeof nns);
        const char *label = (const char *)sqlite3_column_text(st, 1);
        char *row[] = {id, (char *)(label ? label : "-"), cap,
                       (char *)sqlite3_column_text(st, 3),
                       (char *)sqlite3_column_text(st, 4), started, dur, nres,
                       nerr, nns, (char *)sqlite3_column_text(st, 10)};
        if (table_add(&t, row))
            r = rp_fail(err, RP_ENOMEM, "%s: out of memory", c->path);
    }
    return list_finish(c, st, &t, r, rc, "runs", numeric, out, err);
}

int corpus_list(struct corpus *c, FILE *out, char *err)
{
    struct stat sb;
    char wal[4096];
    double mib = stat(c->path, &sb) == 0 ? (double)sb.st_size / 1048576.0 : 0;
    /* while a writer is active, recent data sits in the -wal file */
    snprintf(wal, sizeof wal, "%s-wal", c->path);
    if (stat(wal, &sb) == 0)
        mib += (double)sb.st_size / 1048576.0;
    fprintf(out, "%s: reprise corpus, schema v%d, %.1f MiB\n", c->path,
            c->version, mib);
    int r = list_captures(c, out, err);
    if (!r)
        r = list_runs(c, out, err);
    if (!r && (fflush(out) != 0 || ferror(out)))
        r = rp_fail(err, RP_EIO, "write failed: %m");
    return r;
}

/* ---- export ------------------------------------------------------------ */

static const struct {
    uint32_t bit;
    const char *name;
} flag_names[] = {
    {CORPUS_EX_REQ_INCOMPLETE, "req_incomplete"},
    {CORPUS_EX_RESP_INCOMPLETE, "resp_incomplete"},
    {CORPUS_EX_NO_RESPONSE, "no_response"},
    {CORPUS_EX_REQ_TRUNCATED, "req_truncated"},
    {CORPUS_EX_RESP_TRUNCATED, "resp_truncated"},
    {CORPUS_EX_REDACTED, "redacted"},
    {CORPUS_EX_UPGRADED, "upgraded"},
    {CORPUS_EX_MALFORMED, "malformed"},
    {CORPUS_EX_AMBIGUOUS, "ambiguous-framing"},
    {CORPUS_EX_REQ_CHUNKED, "req_chunked"},
};

const char *corpus_flag_name(uint32_t bit)
{
    for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
        if (flag_names[i].bit == bit)
            return flag_names[i].name;
    return NULL;
}

/* Appends v in decimal (printf is most of the export's time otherwise). */
static int put_i64(struct rp_buf *b, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return rp_buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* Appends ,"key": */
static int put_key(struct rp_buf *b, const char *key)
{
    int r = rp_buf_append(b, ",\"", 2);
    if (!r)
        r = rp_buf_puts(b, key);
    if (!r)
        r = rp_buf_append(b, "\":", 2);
    return r;
}

/* "key":<integer or null> */
static int json_i64(struct rp_buf *b, const char *key, sqlite3_stmt *st,
                    int i)
{
    int r = put_key(b, key);
    if (r)
        return r;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return rp_buf_append(b, "null", 4);
    return put_i64(b, sqlite3_column_int64(st, i));
}

static int json_text(struct rp_buf *b, const char *key, sqlite3_stmt *st,
                     int i)
{
    int r = put_key(b, key);
    if (r)
        return r;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return rp_buf_append(b, "null", 4);
    const char *s = (const char *)sqlite3_column_text(st, i);
    return rp_buf_json_str(b, s, (size_t)sqlite3_column_bytes(st, i));
}

/* "key":<b - a> when has, else null (also when b - a overflows) */
static int json_span(struct rp_buf *b, const char *key, int has,
                     sqlite3_stmt *st, int a, int bcol)
{
    int r = put_key(b, key);
    if (r)
        return r;
    int64_t d;
    if (!has || sqlite3_column_type(st, a) == SQLITE_NULL ||
        sqlite3_column_type(st, bcol) == SQLITE_NULL ||
        __builtin_sub_overflow((int64_t)sqlite3_column_int64(st, bcol),
                               (int64_t)sqlite3_column_int64(st, a), &d))
        return rp_buf_append(b, "null", 4);
    return put_i64(b, d);
}

/* Columns of the export query, in order. */
enum {
    X_ID, X_CAPTURE, X_CONN, X_SEQ, X_REQ_FIRST, X_REQ_LAST, X_RESP_FIRST,
    X_RESP_LAST, X_METHOD, X_TARGET, X_HOST, X_VERSION, X_STATUS, X_REASON,
    X_INTERIM, X_REQ_WIRE, X_RESP_WIRE, X_REQ_BODY, X_RESP_BODY, X_FLAGS,
    X_REQUEST_LINE,
};

static int export_row(sqlite3_stmt *st, struct rp_buf *b)
{
    int has_resp = sqlite3_column_int(st, X_STATUS) > 0;
    int r = rp_buf_append(b, "{\"id\":", 6);
    if (!r) r = put_i64(b, sqlite3_column_int64(st, X_ID));
    if (!r) r = json_i64(b, "capture", st, X_CAPTURE);
    if (!r) r = json_i64(b, "conn", st, X_CONN);
    if (!r) r = json_i64(b, "seq", st, X_SEQ);
    if (!r) r = json_i64(b, "ts_us", st, X_REQ_FIRST);
    if (!r) r = json_i64(b, "req_last_us", st, X_REQ_LAST);
    if (!r) r = json_i64(b, "resp_first_us", st, X_RESP_FIRST);
    if (!r) r = json_i64(b, "resp_last_us", st, X_RESP_LAST);
    if (!r) r = json_text(b, "method", st, X_METHOD);
    if (!r) r = json_text(b, "target", st, X_TARGET);
    if (!r) r = json_text(b, "host", st, X_HOST);
    if (!r) r = json_text(b, "version", st, X_VERSION);
    if (!r) r = json_text(b, "request_line", st, X_REQUEST_LINE);
    if (!r) {
        if (has_resp)
            r = json_i64(b, "status", st, X_STATUS);
        else
            r = rp_buf_puts(b, ",\"status\":null");
    }
    if (!r) r = json_text(b, "reason", st, X_REASON);
    if (!r) r = json_text(b, "interim", st, X_INTERIM);
    if (!r) r = json_i64(b, "req_bytes", st, X_REQ_WIRE);
    if (!r) r = json_i64(b, "resp_bytes", st, X_RESP_WIRE);
    if (!r) r = json_i64(b, "req_body_bytes", st, X_REQ_BODY);
    if (!r) r = json_i64(b, "resp_body_bytes", st, X_RESP_BODY);
    if (!r) r = json_span(b, "wire_ttfb_us", has_resp, st, X_REQ_LAST,
                          X_RESP_FIRST);
    if (!r) r = json_span(b, "wire_latency_us", has_resp, st, X_REQ_FIRST,
                          X_RESP_LAST);
    uint32_t flags = (uint32_t)sqlite3_column_int64(st, X_FLAGS);
    if (!r) r = rp_buf_puts(b, ",\"flags\":[");
    int first = 1;
    for (size_t i = 0; !r && i < sizeof flag_names / sizeof flag_names[0];
         i++) {
        if (flags & flag_names[i].bit) {
            r = rp_buf_printf(b, "%s\"%s\"", first ? "" : ",",
                              flag_names[i].name);
            first = 0;
        }
    }
    if (!r) r = rp_buf_puts(b, "]}\n");
    return r;
}

int corpus_export_jsonl(struct corpus *c, int64_t capture_id, FILE *out,
                        char *err)
{
    static const char cols[] =
        "SELECT id, capture_id, connection_id, seq, req_first_us, req_last_us,"
        " resp_first_us, resp_last_us, method, target, host, version, status,"
        " reason, interim, req_wire_bytes, resp_wire_bytes,"
        " req_body_size_bytes, resp_body_size_bytes, flags, ";
    char sql[1024];
    sqlite3_stmt *st;
    int r;
    if (capture_id > 0) {
        r = corpus_prepare(c, "SELECT 1 FROM captures WHERE id = ?", &st, err);
        if (r)
            return r;
        sqlite3_bind_int64(st, 1, capture_id);
        int rc0 = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc0 == SQLITE_DONE)
            return rp_fail(err, RP_EINPUT, "%s: no capture with id %lld "
                           "('reprise ls' lists them)", c->path,
                           (long long)capture_id);
        if (rc0 != SQLITE_ROW)
            return corpus_db_fail(c, rc0, "reading captures", err);
    }
    snprintf(sql, sizeof sql, "%s%s FROM exchanges %s", cols,
             c->version >= 3 ? "request_line" : "NULL",
             capture_id > 0
                 ? "WHERE capture_id = ? ORDER BY capture_id, req_first_us, id"
                 : "ORDER BY capture_id, req_first_us, id");
    r = corpus_prepare(c, sql, &st, err);
    if (r)
        return r;
    if (capture_id > 0)
        sqlite3_bind_int64(st, 1, capture_id);
    struct rp_buf b;
    rp_buf_init(&b, 64 << 20);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rp_buf_reset(&b);
        if ((r = export_row(st, &b))) {
            r = rp_fail(err, r, "%s: exchange %lld does not fit in memory",
                        c->path, (long long)sqlite3_column_int64(st, X_ID));
            break;
        }
        if (fwrite(b.data, 1, b.len, out) != b.len) {
            r = rp_fail(err, RP_EIO, "write failed: %m");
            break;
        }
    }
    if (!r && rc != SQLITE_DONE)
        r = corpus_db_fail(c, rc, "reading exchanges", err);
    if (!r && (fflush(out) != 0 || ferror(out)))
        r = rp_fail(err, RP_EIO, "write failed: %m");
    rp_buf_cleanup(&b);
    sqlite3_finalize(st);
    return r;
}
