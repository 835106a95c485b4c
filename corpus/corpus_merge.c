/*
 * corpus_merge.c: `reprise merge OUT.db SHARD.db...`: the runs of a replay
 * sharded over several generators (`replay --shard I/N`, one corpus file
 * each) become one run in OUT.db, exact to the result: every result row is
 * copied, on one timeline (each shard's times are shifted by how much later
 * than the earliest shard its clock started). OUT.db is created from the
 * first shard's capture when it does not exist.
 *
 * Refused, with OUT.db unchanged (one transaction; a new OUT.db is
 * removed): shards of different captures (the capture's row and a
 * fingerprint of its exchanges must agree), of different replays (label,
 * mode and every option but the shard must agree), a missing or duplicated
 * shard index, and shards that overlap (two results for the same loop,
 * exchange and copy: the results table's primary key refuses the second).
 */
#include "corpus_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corpus/corpus_cli.h"

#define MERGE_MAX_SHARDS 4096

struct shard {
    const char *path;
    int64_t run_id, capture_id;
    int index, count;          /* --shard I/N; count 0 when not sharded */
    char label[128];
    char *options;             /* options without the shard's own keys */
    char *target, *mode, *status;
    int64_t started_us, ended_us;
    int64_t t0_wall_us;        /* wall clock of the run's time zero */
    int64_t first_sent_us;     /* its first send, µs after its time zero */
    int64_t results;
    char fingerprint[160];     /* of the capture and its exchanges */
    int64_t offset_us;         /* added to its times in the merged run */
};

static void shard_free(struct shard *s)
{
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

/* Reads the run to merge from the shard attached as `s`: the latest run
 * labelled `label`, or without a label the latest sharded run. */
static int read_shard(struct corpus *c, struct shard *sh, const char *label,
                      char *err)
{
    static const char sql[] =
        "SELECT id, capture_id, label, target, mode, status, started_us,"
        " ended_us,"
        " CASE WHEN json_valid(options) THEN"
        "  json_extract(options, '$.shard_index') END,"
        " CASE WHEN json_valid(options) THEN"
        "  json_extract(options, '$.shard_count') END,"
        " CASE WHEN json_valid(options) THEN json_remove(options,"
        "  '$.shard_index', '$.shard_count', '$.start_at_us') END,"
        " CASE WHEN json_valid(summary) THEN"
        "  json_extract(summary, '$.t0_wall_us') END,"
        " (SELECT MIN(sent_us) FROM s.results WHERE run_id = r.id),"
        " (SELECT COUNT(*) FROM s.results WHERE run_id = r.id)"
        " FROM s.runs r WHERE (?1 IS NULL AND CASE WHEN json_valid(options)"
        " THEN json_extract(options, '$.shard_count') END IS NOT NULL)"
        " OR label = ?1 ORDER BY id DESC LIMIT 1";
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
    sh->first_sent_us = sqlite3_column_type(st, 12) == SQLITE_NULL
                            ? -1 : sqlite3_column_int64(st, 12);
    sh->results = sqlite3_column_int64(st, 13);
    sqlite3_finalize(st);
    if (!sh->options || !sh->target || !sh->mode || !sh->status)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    if (!sh->count)
        return rp_fail(err, RP_EINPUT, "%s: run %lld '%s' was not replayed "
                       "with --shard I/N", sh->path, (long long)sh->run_id,
                       sh->label);
    return fingerprint(c, "s", sh->capture_id, sh->fingerprint,
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

/* Copies the results of shard sh into run `run` of OUT, its times shifted
 * by its offset, reading the shard over a connection of its own (ATTACH is
 * refused inside a transaction, and SQLite attaches at most ten files). */
static int copy_results(struct corpus *c, const struct shard *sh, int n,
                        int64_t run, sqlite3_stmt *ins, char *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *sel = NULL;
    int r = 0;
    int rc = sqlite3_open_v2(sh->path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_prepare_v2(db, "SELECT exchange_id, copy, loop,"
                                " scheduled_us, sent_us, first_byte_us,"
                                " done_us, connect_us, status, resp_bytes,"
                                " body_hash, error_class, error FROM results"
                                " WHERE run_id = ?", -1, &sel, NULL);
    }
    if (rc != SQLITE_OK) {
        r = rp_fail(err, RP_EIO, "%s: reading its results: %s", sh->path,
                    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        goto done;
    }
    sqlite3_bind_int64(sel, 1, sh->run_id);
    static const int times[] = {3, 4, 5, 6}; /* scheduled, sent, first, done */
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, run);
        for (int col = 0; col < 13; col++) {
            int shift = 0;
            for (size_t t = 0; t < sizeof times / sizeof times[0]; t++)
                shift |= times[t] == col;
            if (sqlite3_column_type(sel, col) == SQLITE_NULL)
                sqlite3_bind_null(ins, col + 2);
            else if (shift)
                sqlite3_bind_int64(ins, col + 2,
                                   sqlite3_column_int64(sel, col) +
                                       sh->offset_us);
            else
                sqlite3_bind_value(ins, col + 2,
                                   sqlite3_column_value(sel, col));
        }
        int w = sqlite3_step(ins);
        if ((w & 0xff) == SQLITE_CONSTRAINT) {
            r = rp_fail(err, RP_EINPUT, "shard %d/%d (%s) overlaps another "
                        "shard: exchange %lld copy %d loop %d is in both; "
                        "shards must be disjoint parts of one replay",
                        sh->index, n, sh->path,
                        (long long)sqlite3_column_int64(sel, 0),
                        sqlite3_column_int(sel, 1), sqlite3_column_int(sel, 2));
            goto done;
        }
        if (w != SQLITE_DONE) {
            r = corpus_db_fail(c, w, "adding the merged results", err);
            goto done;
        }
    }
    if (rc != SQLITE_DONE)
        r = rp_fail(err, RP_EIO, "%s: reading its results: %s", sh->path,
                    sqlite3_errmsg(db));
done:
    sqlite3_finalize(sel);
    sqlite3_close(db);
    return r;
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

static int merge(struct corpus *c, struct shard *sh, int n, int created,
                 int64_t *run_out, int64_t *spread_out, char *err)
{
    int r = 0;
    int64_t t0 = sh[0].t0_wall_us, started = sh[0].started_us, ended = 0;
    int64_t first_lo = INT64_MAX, first_hi = INT64_MIN;
    int complete = 1;
    for (int i = 0; i < n; i++) {
        if (sh[i].t0_wall_us < t0)
            t0 = sh[i].t0_wall_us;
        if (sh[i].started_us < started)
            started = sh[i].started_us;
        if (sh[i].ended_us > ended)
            ended = sh[i].ended_us;
        complete &= !strcmp(sh[i].status, "complete");
    }
    for (int i = 0; i < n; i++) {
        sh[i].offset_us = sh[i].t0_wall_us - t0;
        if (sh[i].first_sent_us >= 0) {
            int64_t f = sh[i].t0_wall_us + sh[i].first_sent_us;
            first_lo = f < first_lo ? f : first_lo;
            first_hi = f > first_hi ? f : first_hi;
        }
    }
    *spread_out = first_hi >= first_lo ? first_hi - first_lo : -1;
    sqlite3_stmt *ins = NULL;
    /* attached before the transaction: SQLite refuses ATTACH inside one */
    if ((r = attach(c, sh[0].path, err)))
        return r;
    if ((r = exec_sql(c, "BEGIN IMMEDIATE", "starting the merge", err))) {
        detach(c);
        return r;
    }
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
    char summary[160];
    snprintf(summary, sizeof summary, "{\"merged_shards\":%d,"
             "\"start_spread_us\":%lld,\"t0_wall_us\":%lld}", n,
             (long long)*spread_out, (long long)t0);
    sqlite3_stmt *st;
    if ((r = corpus_prepare(c, "INSERT INTO runs(capture_id, label, target,"
                            " mode, options, started_us, ended_us,"
                            " tool_version, status, summary) VALUES"
                            " (?, ?, ?, ?, json_set(?, '$.merged_shards', ?),"
                            " ?, ?, ?, ?, ?)", &st, err)))
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
    sqlite3_bind_text(st, 11, summary, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        r = corpus_db_fail(c, rc, "adding the merged run", err);
        goto fail;
    }
    int64_t run = sqlite3_last_insert_rowid(c->db);
    r = corpus_prepare(c, "INSERT INTO results(run_id, exchange_id, copy,"
                       " loop, scheduled_us, sent_us, first_byte_us, done_us,"
                       " connect_us, status, resp_bytes, body_hash,"
                       " error_class, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
                       " ?, ?, ?, ?, ?, ?)", &ins, err);
    for (int i = 0; i < n && !r; i++)
        r = copy_results(c, &sh[i], n, run, ins, err);
    sqlite3_finalize(ins);
    ins = NULL;
    if (!r)
        r = run_i64(c, "UPDATE runs SET result_count = (SELECT COUNT(*)"
                    " FROM results WHERE run_id = ?1), error_count = (SELECT"
                    " COUNT(*) FROM results WHERE run_id = ?1 AND error_class"
                    " IS NOT NULL AND error_class != 'not_sent') WHERE"
                    " id = ?1", 1, run, 0, 0, "counting the merged results",
                    err);
    if (r)
        goto fail;
    if ((r = exec_sql(c, "COMMIT", "committing the merge", err)))
        goto fail;
    detach(c);
    *run_out = run;
    return 0;
fail:
    sqlite3_finalize(ins);
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
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
        "clock; the spread of the shards' first sends is printed and stored\n"
        "in the run's summary. OUT.db is created from the first shard's\n"
        "capture when it does not exist; an existing OUT.db must hold the same\n"
        "capture (a copy of the corpus the shards replayed).\n\n"
        "Refused, with exit 2 and OUT.db unchanged: shards of different\n"
        "captures or of different replays (label, mode, options), a missing\n"
        "or duplicated shard, shards that overlap.\n\n"
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
    /* every shard must be a readable corpus before anything is written */
    for (int i = 0; i < n; i++) {
        struct corpus *s;
        if ((r = corpus_open(paths[i], CORPUS_READ, &s, err)))
            goto done;
        corpus_close(s, NULL);
    }
    created = stat(outp, &sb) != 0;
    if ((r = corpus_open(outp, CORPUS_CREATE, &c, err)) ||
        (r = corpus_flush(c, err)))
        goto done;
    sh = calloc((size_t)n, sizeof *sh);
    if (!sh) {
        r = rp_fail(err, RP_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n && !r; i++) {
        sh[i].path = paths[i];
        if (!(r = attach(c, paths[i], err)))
            r = read_shard(c, &sh[i], label, err);
        detach(c);
    }
    if (!r)
        r = check_shards(sh, n, err);
    int64_t run = 0, spread = -1, total = 0;
    if (!r)
        r = merge(c, sh, n, created, &run, &spread, err);
    if (r)
        goto done;
    for (int i = 0; i < n; i++)
        total += sh[i].results;
    printf("merged %d shards of '%s' (capture %lld) into run %lld of %s: "
           "%lld results; first sends %s%.3f ms apart\n", n, sh[0].label,
           (long long)sh[0].capture_id, (long long)run, outp,
           (long long)total, spread < 0 ? "unknown, " : "",
           spread < 0 ? 0.0 : (double)spread / 1000.0);
    for (int i = 0; i < n; i++)
        printf("  shard %d/%d  %-40s run %lld, %lld results, clock +%.3f ms, "
               "first send at %.3f ms\n", sh[i].index, n, sh[i].path,
               (long long)sh[i].run_id, (long long)sh[i].results,
               (double)sh[i].offset_us / 1000.0,
               (double)sh[i].first_sent_us / 1000.0);
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
