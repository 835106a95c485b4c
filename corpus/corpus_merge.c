/*
 * corpus_merge.c: `reprise merge OUT.db SHARD.db...`: the runs of a replay
 * sharded over several generators (`replay --shard I/N`, one corpus file
 * each) become one run in OUT.db, exact to the result: every result row is
 * copied, on one timeline (each shard's times are shifted by how much later
 * than the earliest shard its clock started). OUT.db is created from the
 * first shard's capture when it does not exist.
 *
 * The shards' results are read in primary-key order (loop, exchange, copy)
 * and merged k ways into that order, so OUT's results table is appended
 * to in key order (no B-tree page splits) and an overlap is seen as two
 * equal keys before anything of it is written. OUT is written through
 * the corpus's bulk mode (rollback journal; into a new file without fsync)
 * in one transaction.
 *
 * Refused, with OUT.db unchanged (the transaction is rolled back; a new
 * OUT.db is removed): shards of different captures (the capture's row and
 * a fingerprint of its exchanges must agree), of different replays (label,
 * mode and every option but those of the shard itself must agree), a
 * missing or duplicated shard index, and shards that overlap (two results
 * for the same loop, exchange and copy). Shards and an existing OUT are
 * checked through read-only handles before OUT is opened for writing.
 */
#include "corpus_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corpus/corpus_cli.h"

#define MERGE_MAX_SHARDS 4096
#define MERGE_BATCH 4096 /* results per corpus_add_results call */

/* Options that may differ between the shards of one replay: the shard's
 * own, and the generator's sizing (a pod may run more engine threads). */
#define SHARD_KEYS                                                          \
    "'$.shard_index', '$.shard_count', '$.shard_concurrency',"              \
    " '$.start_at_us', '$.threads', '$.max_connections', '$.spin_us'"

struct shard {
    const char *path;
    struct corpus *rd;         /* read-only handle, open while merging */
    sqlite3_stmt *sel;         /* its results in key order */
    int64_t run_id, capture_id;
    int index, count;          /* --shard I/N; count 0 when not sharded */
    char label[128];
    char *options;             /* options without the shard's own keys */
    char *target, *mode, *status;
    int64_t started_us, ended_us;
    int64_t t0_wall_us;        /* wall clock of the run's time zero */
    int64_t first_sent_us;     /* its first send, µs after its time zero;
                                  -1 when none was sent */
    int64_t first_late_us;     /* how late that send was for its due time */
    int64_t results;
    char fingerprint[160];     /* of the capture and its exchanges */
    int64_t offset_us;         /* added to its times in the merged run */
    int64_t key[3];            /* current row: loop, exchange_id, copy */
    int at_end;
};

static void shard_free(struct shard *s)
{
    sqlite3_finalize(s->sel);
    corpus_close(s->rd, NULL);
    free(s->options);
    free(s->target);
    free(s->mode);
    free(s->status);
}

static char *dup_col(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return strdup(t ? t : "");
}

/* The capture's identity: its row and a digest of its exchanges (count,
 * id range, a sum over their times and targets). Two copies of one corpus
 * agree; two captures, or a capture cut short, do not. `schema` is "main"
 * or the name a shard is attached as. */
static int fingerprint(struct corpus *c, const char *schema, int64_t cap,
                       char *out, size_t n, char *err)
{
    char sql[768];
    snprintf(sql, sizeof sql,
             "SELECT c.started_us, c.source, (SELECT COUNT(*) || ':' ||"
             " IFNULL(MIN(id), 0) || ':' || IFNULL(MAX(id), 0) || ':' ||"
             " IFNULL(SUM(req_first_us %% 1000003), 0) || ':' ||"
             " IFNULL(SUM(length(target)), 0) FROM %s.exchanges"
             " WHERE capture_id = c.id) FROM %s.captures c WHERE c.id = ?",
             schema, schema);
    sqlite3_stmt *st;
    int r = corpus_prepare(c, sql, &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, cap);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(out, n, "%lld|%s|%s", (long long)sqlite3_column_int64(st, 0),
                 (const char *)sqlite3_column_text(st, 1),
                 (const char *)sqlite3_column_text(st, 2));
    else if (rc == SQLITE_DONE)
        snprintf(out, n, "none");
    else
        r = corpus_db_fail(c, rc, "reading the capture", err);
    sqlite3_finalize(st);
    return r;
}

/* Reads the run to merge from the shard's own read handle: the latest run
 * labelled `label`, or without a label the latest sharded run. */
static int read_shard(struct shard *sh, const char *label, char *err)
{
    static const char sql[] =
        "SELECT id, capture_id, label, target, mode, status, started_us,"
        " ended_us,"
        " CASE WHEN json_valid(options) THEN"
        "  json_extract(options, '$.shard_index') END,"
        " CASE WHEN json_valid(options) THEN"
        "  json_extract(options, '$.shard_count') END,"
        " CASE WHEN json_valid(options) THEN json_remove(options, "
        SHARD_KEYS ") END,"
        " CASE WHEN json_valid(summary) THEN"
        "  json_extract(summary, '$.t0_wall_us') END,"
        " (SELECT COUNT(*) FROM results WHERE run_id = r.id)"
        " FROM runs r WHERE (?1 IS NULL AND CASE WHEN json_valid(options)"
        " THEN json_extract(options, '$.shard_count') END IS NOT NULL)"
        " OR label = ?1 ORDER BY id DESC LIMIT 1";
    struct corpus *c = sh->rd;
    sqlite3_stmt *st;
    int r = corpus_prepare(c, sql, &st, err);
    if (r)
        return r;
    if (label)
        sqlite3_bind_text(st, 1, label, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return corpus_db_fail(c, rc, "reading the shard's runs", err);
        if (label)
            return rp_fail(err, RP_EINPUT, "%s: no run labelled '%s'",
                           sh->path, label);
        return rp_fail(err, RP_EINPUT, "%s: no sharded run (replay "
                       "--shard I/N) to merge; name one with --label",
                       sh->path);
    }
    sh->run_id = sqlite3_column_int64(st, 0);
    sh->capture_id = sqlite3_column_int64(st, 1);
    snprintf(sh->label, sizeof sh->label, "%s",
             sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(
                                              st, 2) : "");
    sh->target = dup_col(st, 3);
    sh->mode = dup_col(st, 4);
    sh->status = dup_col(st, 5);
    sh->started_us = sqlite3_column_int64(st, 6);
    sh->ended_us = sqlite3_column_int64(st, 7);
    sh->count = sqlite3_column_type(st, 9) == SQLITE_NULL
                    ? 0 : sqlite3_column_int(st, 9);
    sh->index = sqlite3_column_int(st, 8);
    sh->options = dup_col(st, 10);
    sh->t0_wall_us = sqlite3_column_type(st, 11) == SQLITE_NULL
                         ? sh->started_us : sqlite3_column_int64(st, 11);
    sh->results = sqlite3_column_int64(st, 12);
    sh->first_sent_us = -1;
    sqlite3_finalize(st);
    if (!sh->options || !sh->target || !sh->mode || !sh->status)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    if (!sh->count)
        return rp_fail(err, RP_EINPUT, "%s: run %lld '%s' was not replayed "
                       "with --shard I/N", sh->path, (long long)sh->run_id,
                       sh->label);
    return fingerprint(c, "main", sh->capture_id, sh->fingerprint,
                       sizeof sh->fingerprint, err);
}

static int exec_sql(struct corpus *c, const char *sql, const char *what,
                    char *err)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : corpus_db_fail(c, rc, what, err);
}

static int attach(struct corpus *c, const char *path, char *err)
{
    sqlite3_stmt *st;
    int r = corpus_prepare(c, "ATTACH DATABASE ? AS s", &st, err);
    if (r)
        return r;
    /* the plain path: it was checked to exist and to be a corpus (ATTACH
     * would create a missing one), and only SELECTs read it */
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : corpus_db_fail(c, rc, "attaching", err);
}

static void detach(struct corpus *c)
{
    sqlite3_exec(c->db, "DETACH DATABASE s", NULL, NULL, NULL);
}

/* Runs sql with up to three int64 parameters; returns 0 or an error. */
static int run_i64(struct corpus *c, const char *sql, int n, int64_t a,
                   int64_t b, int64_t d, const char *what, char *err)
{
    sqlite3_stmt *st;
    int r = corpus_prepare(c, sql, &st, err);
    if (r)
        return r;
    if (n > 0)
        sqlite3_bind_int64(st, 1, a);
    if (n > 1)
        sqlite3_bind_int64(st, 2, b);
    if (n > 2)
        sqlite3_bind_int64(st, 3, d);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return rp_fail(err, RP_EINPUT, "%s", what);
    return corpus_db_fail(c, rc, what, err);
}

/* Copies capture cap (its row, connections, exchanges and their bodies)
 * from the attached shard into OUT. */
static int copy_capture(struct corpus *c, int64_t cap, char *err)
{
    /* a shard older than schema v3 has no request_line column (it is the
     * last one): its rows fill the columns before it */
    sqlite3_stmt *q;
    int r = corpus_prepare(c, "SELECT 1 FROM pragma_table_info('exchanges',"
                              " 's') WHERE name = 'request_line'", &q, err);
    if (r)
        return r;
    int has_line = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    const char *sql[] = {
        "INSERT INTO captures SELECT * FROM s.captures WHERE id = ?1",
        "INSERT INTO connections SELECT * FROM s.connections"
        " WHERE capture_id = ?1",
        has_line
            ? "INSERT INTO exchanges SELECT * FROM s.exchanges"
              " WHERE capture_id = ?1"
            : "INSERT INTO exchanges (id, capture_id, connection_id, seq,"
              " method, target, host, version, req_first_us, req_last_us,"
              " req_headers, req_body_hash, req_body_stored_bytes,"
              " req_body_size_bytes, req_wire_bytes, status, reason, interim,"
              " resp_first_us, resp_last_us, resp_headers, resp_body_hash,"
              " resp_body_stored_bytes, resp_body_size_bytes, resp_wire_bytes,"
              " flags) SELECT * FROM s.exchanges WHERE capture_id = ?1",
        "INSERT OR IGNORE INTO bodies SELECT b.* FROM s.bodies b"
        " WHERE b.hash IN (SELECT req_body_hash FROM s.exchanges"
        " WHERE capture_id = ?1 UNION SELECT resp_body_hash"
        " FROM s.exchanges WHERE capture_id = ?1)",
    };
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
        if ((r = run_i64(c, sql[i], 1, cap, 0, 0, "copying the capture", err)))
            return r;
    return 0;
}

static int cmp_index(const void *x, const void *y)
{
    const struct shard *a = x, *b = y;
    return (a->index > b->index) - (a->index < b->index);
}

/* Checks that the shards are the N parts of one replay of one capture. */
static int check_shards(struct shard *sh, int n, char *err)
{
    const struct shard *z = &sh[0];
    for (int i = 1; i < n; i++) {
        const struct shard *s = &sh[i];
        if (strcmp(s->fingerprint, z->fingerprint) ||
            s->capture_id != z->capture_id)
            return rp_fail(err, RP_EINPUT, "%s and %s hold different "
                           "captures (or different copies of one): shards "
                           "must replay the same corpus", z->path, s->path);
        if (strcmp(s->label, z->label) || strcmp(s->mode, z->mode) ||
            strcmp(s->options, z->options))
            return rp_fail(err, RP_EINPUT, "%s (run '%s') and %s (run '%s') "
                           "are not shards of one replay: their labels, "
                           "modes or options differ", z->path, z->label,
                           s->path, s->label);
        if (s->count != z->count)
            return rp_fail(err, RP_EINPUT, "%s is shard %d/%d but %s is "
                           "shard %d/%d", z->path, z->index, z->count,
                           s->path, s->index, s->count);
    }
    if (z->count != n)
        return rp_fail(err, RP_EINPUT, "the replay has %d shards and %d "
                       "were given: every shard once, no more", z->count, n);
    qsort(sh, (size_t)n, sizeof *sh, cmp_index);
    for (int i = 0; i < n; i++) {
        if (sh[i].index < 0 || sh[i].index >= n)
            return rp_fail(err, RP_EINPUT, "%s: shard index %d is not in "
                           "0..%d", sh[i].path, sh[i].index, n - 1);
        if (i && sh[i].index == sh[i - 1].index)
            return rp_fail(err, RP_EINPUT, "shard %d/%d is given twice: %s "
                           "and %s", sh[i].index, n, sh[i - 1].path,
                           sh[i].path);
    }
    for (int i = 0; i < n; i++)
        if (sh[i].index != i)
            return rp_fail(err, RP_EINPUT, "shard %d/%d is missing", i, n);
    return 0;
}

/* ---- the k-way merge of the results ------------------------------------ */

/* Result columns as read from a shard and written to OUT. */
#define SEL_RESULTS                                                         \
    "SELECT loop, exchange_id, copy, scheduled_us, sent_us, first_byte_us," \
    " done_us, connect_us, status, resp_bytes, body_hash, error_class,"    \
    " error FROM results WHERE run_id = ? ORDER BY loop, exchange_id, copy"

/* Steps shard s to its next row: 0 (key set, or at_end) or an error. */
static int shard_step(struct shard *s, char *err)
{
    int rc = sqlite3_step(s->sel);
    if (rc == SQLITE_ROW) {
        for (int k = 0; k < 3; k++)
            s->key[k] = sqlite3_column_int64(s->sel, k);
        return 0;
    }
    s->at_end = 1;
    return rc == SQLITE_DONE ? 0
                             : corpus_db_fail(s->rd, rc, "reading its "
                                              "results", err);
}

static int key_less(const struct shard *a, const struct shard *b)
{
    for (int k = 0; k < 3; k++)
        if (a->key[k] != b->key[k])
            return a->key[k] < b->key[k];
    return a->index < b->index;
}

static void heap_down(struct shard **h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, m = i;
        if (l < n && key_less(h[l], h[m]))
            m = l;
        if (l + 1 < n && key_less(h[l + 1], h[m]))
            m = l + 1;
        if (m == i)
            return;
        struct shard *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int64_t col_time(sqlite3_stmt *st, int i, int64_t offset)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? -1 : sqlite3_column_int64(st, i) + offset;
}

struct batch {
    struct corpus_result r[MERGE_BATCH];
    char *errs[MERGE_BATCH];   /* copies of the error messages */
    size_t n, nerrs;
};

static int batch_flush(struct corpus *c, int64_t run, struct batch *b,
                       char *err)
{
    int r = b->n ? corpus_add_results(c, run, b->r, b->n, NULL, err) : 0;
    for (size_t i = 0; i < b->nerrs; i++)
        free(b->errs[i]);
    b->n = b->nerrs = 0;
    return r;
}

/* Copies the current row of s into the batch, its times shifted. */
static int take_row(struct shard *s, struct batch *b)
{
    sqlite3_stmt *st = s->sel;
    struct corpus_result *x = &b->r[b->n];
    memset(x, 0, sizeof *x);
    x->loop = (int)s->key[0];
    x->exchange_id = s->key[1];
    x->copy = (int)s->key[2];
    x->scheduled_us = col_time(st, 3, s->offset_us);
    x->sent_us = col_time(st, 4, s->offset_us);
    x->first_byte_us = col_time(st, 5, s->offset_us);
    x->done_us = col_time(st, 6, s->offset_us);
    x->connect_us = col_time(st, 7, 0);
    x->status = sqlite3_column_int(st, 8);
    x->resp_bytes = sqlite3_column_int64(st, 9);
    if (sqlite3_column_bytes(st, 10) == RP_HASH_LEN) {
        memcpy(x->body_hash, sqlite3_column_blob(st, 10), RP_HASH_LEN);
        x->has_body_hash = 1;
    }
    const char *cls = (const char *)sqlite3_column_text(st, 11);
    x->error_class = cls ? corpus_errclass_parse(cls) : CORPUS_ERR_NONE;
    const char *msg = (const char *)sqlite3_column_text(st, 12);
    if (msg) {
        if (!(b->errs[b->nerrs] = strdup(msg)))
            return RP_ENOMEM;
        x->error = b->errs[b->nerrs++];
    }
    if (x->sent_us >= 0 && (s->first_sent_us < 0 ||
                            x->sent_us - s->offset_us < s->first_sent_us)) {
        s->first_sent_us = x->sent_us - s->offset_us;
        s->first_late_us = x->scheduled_us >= 0
                               ? x->sent_us - x->scheduled_us : 0;
    }
    b->n++;
    return 0;
}

/* Merges the shards' results into run `run` in key order; counts them and
 * the failures (errors other than not_sent). */
static int merge_results(struct corpus *c, struct shard *sh, int n,
                         int64_t run, int64_t *total, int64_t *errors,
                         char *err)
{
    struct shard **h = calloc((size_t)n, sizeof *h);
    struct batch *b = calloc(1, sizeof *b);
    int r = 0, nh = 0;
    if (!h || !b) {
        r = rp_fail(err, RP_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n && !r; i++) {
        if ((r = corpus_prepare(sh[i].rd, SEL_RESULTS, &sh[i].sel, err)))
            break;
        sqlite3_bind_int64(sh[i].sel, 1, sh[i].run_id);
        if (!(r = shard_step(&sh[i], err)) && !sh[i].at_end)
            h[nh++] = &sh[i];
    }
    for (int i = nh / 2 - 1; i >= 0; i--)
        heap_down(h, nh, i);
    int64_t last[3] = {-1, -1, -1};
    const struct shard *last_s = NULL;
    while (!r && nh) {
        struct shard *s = h[0];
        if (last_s && !memcmp(last, s->key, sizeof last)) {
            r = rp_fail(err, RP_EINPUT, "shard %d/%d (%s) overlaps shard "
                        "%d/%d (%s): exchange %lld copy %lld loop %lld is in "
                        "both; shards must be disjoint parts of one replay",
                        s->index, n, s->path, last_s->index, n,
                        last_s->path, (long long)s->key[1],
                        (long long)s->key[2], (long long)s->key[0]);
            break;
        }
        memcpy(last, s->key, sizeof last);
        last_s = s;
        if ((r = take_row(s, b))) {
            rp_fail(err, r, "out of memory");
            break;
        }
        (*total)++;
        const struct corpus_result *x = &b->r[b->n - 1];
        *errors += x->error_class != CORPUS_ERR_NONE &&
                   x->error_class != CORPUS_ERR_NOT_SENT;
        if (b->n == MERGE_BATCH && (r = batch_flush(c, run, b, err)))
            break;
        if ((r = shard_step(s, err)))
            break;
        if (s->at_end)
            h[0] = h[--nh];
        heap_down(h, nh, 0);
    }
    if (!r)
        r = batch_flush(c, run, b, err);
done:
    if (b)
        batch_flush(c, run, b, NULL); /* frees what an error left */
    free(b);
    free(h);
    return r;
}

struct spread {
    int64_t t0_us;        /* the earliest shard's time zero (wall clock) */
    int64_t t0_spread_us; /* max - min of the shards' time zeros */
    int64_t first_spread_us; /* max - min of the wall-clock instants of the
                                shards' first sends */
    int64_t start_spread_us; /* max - min of (time zero + the first send's
                                lateness): when each shard's schedule
                                really began */
};

static void spread_of(const struct shard *sh, int n, struct spread *sp)
{
    int64_t t0_lo = INT64_MAX, t0_hi = INT64_MIN, f_lo = INT64_MAX,
            f_hi = INT64_MIN, s_lo = INT64_MAX, s_hi = INT64_MIN;
    for (int i = 0; i < n; i++) {
        int64_t t = sh[i].t0_wall_us;
        t0_lo = t < t0_lo ? t : t0_lo;
        t0_hi = t > t0_hi ? t : t0_hi;
        if (sh[i].first_sent_us < 0)
            continue;
        int64_t f = t + sh[i].first_sent_us, s = t + sh[i].first_late_us;
        f_lo = f < f_lo ? f : f_lo;
        f_hi = f > f_hi ? f : f_hi;
        s_lo = s < s_lo ? s : s_lo;
        s_hi = s > s_hi ? s : s_hi;
    }
    sp->t0_us = t0_lo;
    sp->t0_spread_us = t0_hi - t0_lo;
    sp->first_spread_us = f_hi >= f_lo ? f_hi - f_lo : -1;
    sp->start_spread_us = s_hi >= s_lo ? s_hi - s_lo : -1;
}

static int merge(struct corpus *c, struct shard *sh, int n, int created,
                 int64_t *run_out, int64_t *total, struct spread *sp,
                 char *err)
{
    int r = 0;
    int64_t started = sh[0].started_us, ended = 0, errors = 0;
    int complete = 1;
    spread_of(sh, n, sp); /* time zeros only: no first sends read yet */
    for (int i = 0; i < n; i++) {
        if (sh[i].started_us < started)
            started = sh[i].started_us;
        if (sh[i].ended_us > ended)
            ended = sh[i].ended_us;
        complete &= !strcmp(sh[i].status, "complete");
        sh[i].offset_us = sh[i].t0_wall_us - sp->t0_us;
    }
    /* attached before the transaction: SQLite refuses ATTACH inside one */
    if (created && (r = attach(c, sh[0].path, err)))
        return r;
    if ((r = corpus_journal_ready(c, err)) ||
        (r = exec_sql(c, "BEGIN IMMEDIATE", "starting the merge", err))) {
        if (created)
            detach(c);
        return r;
    }
    c->hold = 1; /* one transaction: committed below or rolled back */
    char fp[160];
    if (created)
        r = copy_capture(c, sh[0].capture_id, err);
    if (!r)
        r = fingerprint(c, "main", sh[0].capture_id, fp, sizeof fp, err);
    if (!r && strcmp(fp, sh[0].fingerprint))
        r = rp_fail(err, RP_EINPUT, "%s does not hold the shards' capture "
                    "%lld (or holds another copy of it): merge into a copy "
                    "of the corpus the shards replayed, or a new file",
                    c->path, (long long)sh[0].capture_id);
    if (r)
        goto fail;
    /* the merged run: the shards' options without their shard keys */
    sqlite3_stmt *st;
    if ((r = corpus_prepare(c, "INSERT INTO runs(capture_id, label, target,"
                            " mode, options, started_us, ended_us,"
                            " tool_version, status) VALUES"
                            " (?, ?, ?, ?, json_set(?, '$.merged_shards', ?),"
                            " ?, ?, ?, ?)", &st, err)))
        goto fail;
    sqlite3_bind_int64(st, 1, sh[0].capture_id);
    sqlite3_bind_text(st, 2, sh[0].label, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, sh[0].target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, sh[0].mode, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, sh[0].options, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, n);
    sqlite3_bind_int64(st, 7, started);
    sqlite3_bind_int64(st, 8, ended);
    sqlite3_bind_text(st, 9, "reprise " RP_VERSION, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, complete ? "complete" : "interrupted", -1,
                      SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        r = corpus_db_fail(c, rc, "adding the merged run", err);
        goto fail;
    }
    int64_t run = sqlite3_last_insert_rowid(c->db);
    if ((r = merge_results(c, sh, n, run, total, &errors, err)))
        goto fail;
    spread_of(sh, n, sp);
    char summary[320];
    snprintf(summary, sizeof summary, "{\"merged_shards\":%d,"
             "\"results\":%lld,\"start_spread_us\":%lld,"
             "\"first_send_spread_us\":%lld,\"t0_spread_us\":%lld,"
             "\"t0_wall_us\":%lld}", n, (long long)*total,
             (long long)sp->start_spread_us, (long long)sp->first_spread_us,
             (long long)sp->t0_spread_us, (long long)sp->t0_us);
    if ((r = corpus_prepare(c, "UPDATE runs SET result_count = ?,"
                            " error_count = ?, summary = ? WHERE id = ?",
                            &st, err)))
        goto fail;
    sqlite3_bind_int64(st, 1, *total);
    sqlite3_bind_int64(st, 2, errors);
    sqlite3_bind_text(st, 3, summary, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, run);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        r = corpus_db_fail(c, rc, "counting the merged results", err);
        goto fail;
    }
    c->hold = 0;
    if ((r = corpus_commit(c, err)))
        goto fail;
    if (created)
        detach(c);
    *run_out = run;
    return 0;
fail:
    c->hold = 0;
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    if (created)
        detach(c);
    return r;
}

static void merge_usage(FILE *f)
{
    fprintf(f,
        "usage: reprise merge [--label NAME] OUT.db SHARD.db...\n\n"
        "Combine the runs of a sharded replay ('reprise replay --shard I/N',\n"
        "one corpus file per shard) into one run in OUT.db, keeping every\n"
        "result, so that 'reprise analyze' judges the whole replay with exact\n"
        "percentiles. Each shard's times are put on the earliest shard's\n"
        "clock (its time zero, t0_wall_us). The start spread (when each\n"
        "shard's first send went out, against its due time), the spread of\n"
        "the time zeros and of the first sends are printed and stored in the\n"
        "run's summary (start_spread_us, t0_spread_us, first_send_spread_us).\n"
        "OUT.db is created from the first shard's capture when it does not\n"
        "exist; an existing OUT.db must hold the same capture (a copy of the\n"
        "corpus the shards replayed). The results are merged in key order\n"
        "and written in one transaction through the rollback journal (no\n"
        "fsync into a new file).\n\n"
        "Refused, with exit 2 and OUT.db unchanged: shards of different\n"
        "captures or of different replays (label, mode, options other than\n"
        "the shard's own and the generator's sizing: --threads,\n"
        "--max-connections, --spin), a missing or duplicated shard, shards\n"
        "that overlap.\n\n"
        "flags:\n"
        "  --label NAME   merge the latest run labelled NAME of each shard\n"
        "                 (default: the latest sharded run of each)\n"
        "  -h, --help     print this help and exit\n");
}

int corpus_cmd_merge(int argc, char **argv)
{
    char err[RP_ERRLEN] = "";
    const char *label = NULL, *outp = NULL;
    const char *paths[MERGE_MAX_SHARDS];
    int n = 0, r = 0, created = 0;
    struct shard *sh = NULL;
    struct corpus *c = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            merge_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--label")) {
            if (++i >= argc) {
                r = rp_fail(err, RP_EUSAGE, "--label needs a value");
                goto done;
            }
            label = argv[i];
        } else if (!strncmp(a, "--label=", 8)) {
            label = a + 8;
        } else if (a[0] == '-' && a[1]) {
            r = rp_fail(err, RP_EUSAGE, "unknown flag '%s'; see 'reprise "
                        "merge --help'", a);
            goto done;
        } else if (!outp) {
            outp = a;
        } else if (n < MERGE_MAX_SHARDS) {
            paths[n++] = a;
        } else {
            r = rp_fail(err, RP_EUSAGE, "at most %d shards", MERGE_MAX_SHARDS);
            goto done;
        }
    }
    if (!outp || !n) {
        r = rp_fail(err, RP_EUSAGE, "usage: reprise merge OUT.db SHARD.db...");
        goto done;
    }
    struct stat sb;
    for (int i = 0; i < n; i++) {
        if (stat(paths[i], &sb)) {
            r = rp_fail(err, RP_EINPUT, "%s: %s", paths[i], strerror(errno));
            goto done;
        }
        struct stat ob;
        if (!stat(outp, &ob) && ob.st_ino == sb.st_ino &&
            ob.st_dev == sb.st_dev) {
            r = rp_fail(err, RP_EUSAGE, "%s is a shard and the output: merge "
                        "into another file", outp);
            goto done;
        }
    }
    /* A merge holds every shard open: let it have the descriptors. */
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max &&
        rl.rlim_cur < (rlim_t)n * 2 + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    sh = calloc((size_t)n, sizeof *sh);
    if (!sh) {
        r = rp_fail(err, RP_ENOMEM, "out of memory");
        goto done;
    }
    /* every shard, and OUT when it exists, is checked through read-only
     * handles before anything is written */
    for (int i = 0; i < n && !r; i++) {
        sh[i].path = paths[i];
        if (!(r = corpus_open(paths[i], CORPUS_READ, &sh[i].rd, err)))
            r = read_shard(&sh[i], label, err);
    }
    if (!r)
        r = check_shards(sh, n, err);
    created = stat(outp, &sb) != 0;
    if (!r && !created) {
        struct corpus *o;
        char fp[160];
        if (!(r = corpus_open(outp, CORPUS_READ, &o, err)))
            r = fingerprint(o, "main", sh[0].capture_id, fp, sizeof fp, err);
        corpus_close(o, NULL);
        if (!r && strcmp(fp, sh[0].fingerprint))
            r = rp_fail(err, RP_EINPUT, "%s does not hold the shards' "
                        "capture %lld (or holds another copy of it): merge "
                        "into a copy of the corpus the shards replayed, or "
                        "a new file", outp, (long long)sh[0].capture_id);
    }
    if (r) {
        created = 0; /* nothing was created: nothing to remove */
        goto done;
    }
    if ((r = corpus_open(outp, CORPUS_IMPORT, &c, err)))
        goto done;
    int64_t run = 0, total = 0;
    struct spread sp;
    if ((r = merge(c, sh, n, created, &run, &total, &sp, err)))
        goto done;
    printf("merged %d shards of '%s' (capture %lld) into run %lld of %s: "
           "%lld results\n", n, sh[0].label, (long long)sh[0].capture_id,
           (long long)run, outp, (long long)total);
    if (sp.start_spread_us >= 0)
        printf("start spread %.3f ms (the shards' first sends, each against "
               "its due time); clocks' time zeros %.3f ms apart; first sends "
               "%.3f ms apart\n", (double)sp.start_spread_us / 1000.0,
               (double)sp.t0_spread_us / 1000.0,
               (double)sp.first_spread_us / 1000.0);
    else
        printf("start spread unknown: no shard sent a request; clocks' time "
               "zeros %.3f ms apart\n", (double)sp.t0_spread_us / 1000.0);
    for (int i = 0; i < n; i++)
        printf("  shard %d/%d  %-40s run %lld, %lld results, clock +%.3f ms, "
               "first send at %.3f ms (%.3f ms late)\n", sh[i].index, n,
               sh[i].path, (long long)sh[i].run_id, (long long)sh[i].results,
               (double)sh[i].offset_us / 1000.0,
               (double)sh[i].first_sent_us / 1000.0,
               (double)sh[i].first_late_us / 1000.0);
done:
    if (c) {
        char err2[RP_ERRLEN];
        int r2 = corpus_close(c, err2);
        if (!r && r2) {
            r = r2;
            snprintf(err, sizeof err, "%s", err2);
        }
    }
    if (r && created && outp) {
        /* nothing of a refused merge stays behind */
        unlink(outp);
        char side[4200];
        snprintf(side, sizeof side, "%s-wal", outp);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", outp);
        unlink(side);
    }
    for (int i = 0; sh && i < n; i++)
        shard_free(&sh[i]);
    free(sh);
    if (r) {
        fprintf(stderr, "reprise: merge: %s\n", err);
        return rp_exit_code(r);
    }
    return fflush(stdout) ? 1 : 0;
}
