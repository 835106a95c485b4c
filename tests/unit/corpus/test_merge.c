/*
 * test_merge.c: `reprise merge`. A capture of 30 exchanges is copied into
 * three corpus files, each given the run of one shard (shard i holds the
 * exchanges whose index is i mod 3, two copies each, its clock started i ms
 * after shard 0's, its generator sized differently: threads,
 * max_connections, spin). Merged, they give one run with every result once, on
 * the earliest shard's clock; and every refusal (a missing shard, a shard
 * given twice, another capture, another replay, overlapping shards, a
 * shard that is also the output) exits 2 and leaves OUT as it was, or
 * removes the OUT the merge had created.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "corpus/corpus.h"
#include "corpus/corpus_cli.h"
#include "tests/unit/corpus/corpus_fixture.h"

#define NEX 30
#define T0 1700000000000000LL

static char shard_path[6][160];

/* A capture of NEX exchanges in path; returns its first exchange id. */
static int64_t make_capture(const char *path, const char *source)
{
    char err[RP_ERRLEN];
    struct corpus *c;
    assert_int_equal(corpus_open(path, CORPUS_CREATE, &c, err), 0);
    struct corpus_capture_info ci = {"prod", source, NULL, T0, 1, NULL};
    int64_t cap, conn, id, first = 0;
    assert_int_equal(corpus_capture_begin(c, &ci, &cap, err), 0);
    struct corpus_conn cc = {cap, "10.0.0.1", 5000, "10.0.0.2", 80, T0, 0};
    assert_int_equal(corpus_add_connection(c, &cc, &conn, err), 0);
    for (int i = 0; i < NEX; i++) {
        struct corpus_exchange ex = {0};
        char t[32];
        snprintf(t, sizeof t, "/item/%d", i);
        ex.capture_id = cap;
        ex.conn_id = conn;
        ex.seq = i;
        ex.method = "GET";
        ex.target = t;
        ex.host = "h";
        ex.version = "HTTP/1.1";
        ex.req.first_us = ex.req.last_us = T0 + i * 1000;
        ex.resp.first_us = ex.resp.last_us = T0 + i * 1000 + 500;
        ex.status = 200;
        ex.resp.body = (const uint8_t *)"ok";
        ex.resp.body_len = ex.resp.body_size = 2;
        assert_int_equal(corpus_add_exchange(c, &ex, &id, err), 0);
        if (!i)
            first = id;
    }
    struct corpus_capture_stats st = {0};
    assert_int_equal(corpus_capture_end(c, cap, &st, err), 0);
    assert_int_equal(corpus_close(c, err), 0);
    return first;
}

/* Adds the run of shard idx/count to path: the exchanges whose index is
 * idx mod count (or every one when all), copies 0 and 1, its time zero
 * idx ms after T0; options say the label, the mode and the shard. */
static void add_shard_run(const char *path, int64_t first, int idx,
                          int count, const char *label, double speed,
                          int all)
{
    char err[RP_ERRLEN], opts[384], sum[128];
    struct corpus *c;
    assert_int_equal(corpus_open(path, CORPUS_WRITE, &c, err), 0);
    snprintf(opts, sizeof opts, "{\"target\":\"http://127.0.0.1:1\","
             "\"mode\":\"speed\",\"speed\":%g,\"scale\":2,"
             "\"threads\":%d,\"max_connections\":%d,\"spin_us\":%d,"
             "\"shard_index\":%d,\"shard_count\":%d,\"start_at_us\":%lld}",
             speed, 1 + idx, 256 * (idx + 1), 2000 * idx, idx, count,
             (long long)T0);
    struct corpus_run_info ri = {1, label, "http://127.0.0.1:1", "speed",
                                 opts, T0 + idx * 1000};
    int64_t run;
    assert_int_equal(corpus_run_begin(c, &ri, &run, err), 0);
    for (int i = 0; i < NEX; i++) {
        if (!all && i % count != idx)
            continue;
        for (int copy = 0; copy < 2; copy++) {
            struct corpus_result r = {0};
            r.exchange_id = first + i;
            r.copy = copy;
            r.scheduled_us = i * 100 + copy * 50;
            r.sent_us = r.scheduled_us + 10;
            r.first_byte_us = r.sent_us + 200;
            r.done_us = r.sent_us + 300;
            r.status = 200;
            assert_int_equal(corpus_add_result(c, run, &r, err), 0);
        }
    }
    snprintf(sum, sizeof sum, "{\"t0_wall_us\":%lld}",
             (long long)(T0 + idx * 1000));
    assert_int_equal(corpus_run_end(c, run, T0 + 5000000, "complete", sum,
                                    err), 0);
    assert_int_equal(corpus_close(c, err), 0);
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    char *b = slurp(from, &n);
    assert_non_null(b);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    free(b);
}

static int merge(const char *first, ...)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = "merge";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return corpus_cmd_merge(argc, argv);
}

/* shards 0..2 of one replay, shard 3 a second copy of shard 1, shard 4 a
 * shard of another capture, shard 5 shard 2 of a replay at another speed */
static void make_shards(struct fixture *f)
{
    char base[160], other[160];
    snprintf(base, sizeof base, "%s/base.db", f->dir);
    snprintf(other, sizeof other, "%s/other.db", f->dir);
    int64_t first = make_capture(base, "file:prod.pcap");
    make_capture(other, "file:elsewhere.pcap");
    for (int i = 0; i < 6; i++) {
        snprintf(shard_path[i], sizeof shard_path[i], "%s/shard%d.db",
                 f->dir, i);
        copy_file(i == 4 ? other : base, shard_path[i]);
    }
    for (int i = 0; i < 3; i++)
        add_shard_run(shard_path[i], first, i, 3, "x10", 10, 0);
    add_shard_run(shard_path[3], first, 1, 3, "x10", 10, 0);
    add_shard_run(shard_path[4], first, 2, 3, "x10", 10, 0);
    add_shard_run(shard_path[5], first, 2, 3, "x10", 5, 0);
}

static void test_merge_exact(void **state)
{
    struct fixture *f = *state;
    make_shards(f);
    char out[160];
    snprintf(out, sizeof out, "%s/merged.db", f->dir);
    assert_int_equal(merge(out, shard_path[2], shard_path[0], shard_path[1],
                           NULL), 0);
    /* every result once: 30 exchanges x 2 copies */
    assert_string_equal(query_rows(out, "SELECT COUNT(*), COUNT(DISTINCT"
                                         " exchange_id || ':' || copy)"
                                         " FROM results"), "60|60\n");
    assert_string_equal(query_rows(out, "SELECT label, mode, status,"
                                         " result_count, error_count,"
                                         " json_extract(options,"
                                         " '$.merged_shards'),"
                                         " json_extract(options,"
                                         " '$.shard_index') FROM runs"),
                        "x10|speed|complete|60|0|3|NULL\n");
    /* on shard 0's clock: shard 2's exchange 2 was sent 2 ms later */
    assert_string_equal(query_rows(out, "SELECT r.sent_us FROM results r"
                                         " JOIN exchanges e ON e.id ="
                                         " r.exchange_id WHERE e.target ="
                                         " '/item/2' AND copy = 0"),
                        "2210\n");
    /* first sends: shard 0's at 10 us, shard 2's at 2 ms + 210 us; each
     * 10 us late, so their schedules began 2 ms apart, as their clocks */
    assert_string_equal(query_rows(out, "SELECT json_extract(summary,"
                                         " '$.first_send_spread_us'),"
                                         " json_extract(summary,"
                                         " '$.start_spread_us'),"
                                         " json_extract(summary,"
                                         " '$.t0_spread_us') FROM runs"),
                        "2200|2000|2000\n");
    /* the capture came along */
    assert_string_equal(query_rows(out, "SELECT COUNT(*) FROM exchanges"),
                        "30\n");
    /* merging into an existing copy of the corpus works too */
    char copy[160];
    snprintf(copy, sizeof copy, "%s/copy.db", f->dir);
    copy_file(shard_path[0], copy);
    assert_int_equal(merge("--label", "x10", copy, shard_path[0],
                           shard_path[1], shard_path[2], NULL), 0);
    assert_string_equal(query_rows(copy, "SELECT COUNT(*) FROM results"
                                          " WHERE run_id = (SELECT MAX(id)"
                                          " FROM runs)"), "60\n");
    /* shards written before schema v3 (no exchanges.request_line) merge
     * into a current OUT */
    char old[3][200], out2[160];
    for (int i = 0; i < 3; i++) {
        snprintf(old[i], sizeof old[i], "%s/v2-%d.db", f->dir, i);
        copy_file(shard_path[i], old[i]);
        sqlite3 *db;
        assert_int_equal(sqlite3_open(old[i], &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "ALTER TABLE exchanges DROP COLUMN"
                                          " request_line; PRAGMA user_version"
                                          " = 2", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
    }
    snprintf(out2, sizeof out2, "%s/merged2.db", f->dir);
    assert_int_equal(merge(out2, old[0], old[1], old[2], NULL), 0);
    assert_string_equal(query_rows(out2, "SELECT COUNT(*),"
                                          " COUNT(request_line) FROM"
                                          " exchanges"), "30|0\n");
}

/* Exit 2, and out as it was (or absent when it was absent). */
static void refused(const char *out, const char *a, const char *b,
                    const char *c)
{
    size_t n0 = 0, n1 = 0;
    char *before = slurp(out, &n0);
    assert_int_equal(merge(out, a, b, c, NULL), 2);
    char *after = slurp(out, &n1);
    if (!before) {
        assert_null(after);
    } else {
        assert_non_null(after);
        assert_int_equal(n0, n1);
        assert_memory_equal(before, after, n0);
    }
    free(before);
    free(after);
}

static void test_merge_refusals(void **state)
{
    struct fixture *f = *state;
    make_shards(f);
    char out[160], existing[160];
    snprintf(out, sizeof out, "%s/new.db", f->dir);
    snprintf(existing, sizeof existing, "%s/existing.db", f->dir);
    copy_file(shard_path[0], existing);
    for (int k = 0; k < 2; k++) {
        const char *o = k ? existing : out;
        /* a missing shard */
        size_t n0;
        char *before = slurp(o, &n0);
        assert_int_equal(merge(o, shard_path[0], shard_path[1], NULL), 2);
        free(before);
        /* shard 1 twice */
        refused(o, shard_path[0], shard_path[1], shard_path[3]);
        /* another capture */
        refused(o, shard_path[0], shard_path[1], shard_path[4]);
        /* another replay (its speed) */
        refused(o, shard_path[0], shard_path[1], shard_path[5]);
    }
    assert_int_equal(access(out, F_OK), -1);
    /* overlapping shards: shard 2's file also holds every exchange */
    char wide[160];
    snprintf(wide, sizeof wide, "%s/wide.db", f->dir);
    make_capture(wide, "file:prod.pcap");
    add_shard_run(wide, 1, 2, 3, "x10", 10, 1);
    refused(out, shard_path[0], shard_path[1], wide);
    assert_int_equal(access(out, F_OK), -1);
    /* a shard as the output, an unknown flag, nothing to merge */
    assert_int_equal(merge(shard_path[0], shard_path[0], shard_path[1],
                           shard_path[2], NULL), 2);
    assert_int_equal(merge("--bogus", out, shard_path[0], NULL), 2);
    assert_int_equal(merge(out, NULL), 2);
    char nope[160];
    snprintf(nope, sizeof nope, "%s/nope.db", f->dir);
    assert_int_equal(merge(out, nope, NULL), 2);
    assert_int_equal(access(out, F_OK), -1);
    assert_int_equal(merge("--help", NULL), 0);
}

int main(void)
{
    (void)exec_sql;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_merge_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_refusals, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
