/*
 * test_corpus.c: unit tests of the corpus: a capture written and read back
 * through the cursors (order, bodies and their deduplication), runs and
 * results, the sample arithmetic analyze depends on, run lookup by id and
 * label, refusal of files that are not ours (left byte-for-byte unchanged),
 * the JSON-lines export, and a write failure (file size limit) that must
 * give RP_EIO and leave a valid corpus; the asynchronous writer must write
 * exactly what the synchronous one writes, and report a write failure on a
 * later call. Each test works in its own temp dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corpus/corpus.h"

#include "corpus_fixture.h"

static const char body_a[] = "{\"ok\":true,\"items\":[1,2,3,4,5,6,7,8]}";

/* Fills an exchange at wall time t0 + off_us with a 20 ms response. */
static void make_exchange(struct corpus_exchange *ex, int64_t cap,
                          int64_t conn, int64_t seq, int64_t t_us,
                          const char *method, const char *target, int status,
                          const char *body)
{
    memset(ex, 0, sizeof *ex);
    ex->capture_id = cap;
    ex->conn_id = conn;
    ex->seq = seq;
    ex->method = method;
    ex->target = target;
    ex->host = "api.example";
    ex->version = "HTTP/1.1";
    ex->req.headers = "Host: api.example\r\nAccept: */*\r\n";
    ex->req.headers_len = strlen(ex->req.headers);
    ex->req.wire_bytes = 80;
    ex->req.first_us = t_us;
    ex->req.last_us = t_us + 100;
    ex->status = status;
    if (status) {
        ex->reason = "OK";
        ex->resp.headers = "Content-Type: application/json\r\n";
        ex->resp.headers_len = strlen(ex->resp.headers);
        ex->resp.first_us = t_us + 5100;  /* ttfb 5000 */
        ex->resp.last_us = t_us + 20000;  /* latency 20000 */
        ex->resp.body = (const uint8_t *)body;
        ex->resp.body_len = body ? strlen(body) : 0;
        ex->resp.body_size = ex->resp.body_len;
        ex->resp.wire_bytes = 100 + ex->resp.body_len;
    } else {
        ex->flags = CORPUS_EX_NO_RESPONSE;
    }
}

#define T0 1780000000000000LL /* a wall clock in 2026 */

/* Writes capture 1 with 4 exchanges, inserted out of time order:
 * ids 1..4 at t = +30ms, +0, +10ms (no response), +20ms (empty body). */
static int64_t write_capture(struct corpus *c)
{
    char err[RP_ERRLEN];
    int64_t cap, conn, id;
    struct corpus_capture_info ci = {.label = "prod", .source = "file:x.pcap",
                                     .started_us = T0, .redacted = 1};
    assert_int_equal(corpus_capture_begin(c, &ci, &cap, err), 0);
    struct corpus_conn cn = {cap, "10.0.0.1", 40000, "10.0.0.2", 80, T0, 0};
    assert_int_equal(corpus_add_connection(c, &cn, &conn, err), 0);
    struct corpus_exchange ex;
    make_exchange(&ex, cap, conn, 3, T0 + 30000, "GET", "/a?x=1", 200, body_a);
    ex.req.body = (const uint8_t *)"q=1";
    ex.req.body_len = 3;
    ex.req.body_size = 10;
    ex.flags = CORPUS_EX_REQ_TRUNCATED | CORPUS_EX_REDACTED;
    ex.interim = "100";
    assert_int_equal(corpus_add_exchange(c, &ex, &id, err), 0);
    assert_int_equal(id, 1);
    make_exchange(&ex, cap, conn, 0, T0, "GET", "/a?x=2", 200, body_a);
    assert_int_equal(corpus_add_exchange(c, &ex, &id, err), 0);
    make_exchange(&ex, cap, conn, 1, T0 + 10000, "POST", "/b\"q", 0, NULL);
    assert_int_equal(corpus_add_exchange(c, &ex, &id, err), 0);
    make_exchange(&ex, cap, conn, 2, T0 + 20000, "GET", "/c", 204, "");
    assert_int_equal(corpus_add_exchange(c, &ex, &id, err), 0);
    assert_int_equal(id, 4);
    assert_int_equal(corpus_connection_end(c, conn, T0 + 60000, err), 0);
    struct corpus_capture_stats st = {.packets = 40, .exchanges = 4,
                                      .no_response = 1,
                                      .ended_us = T0 + 60000};
    assert_int_equal(corpus_capture_end(c, cap, &st, err), 0);
    return cap;
}

static void test_capture_roundtrip(void **state)
{
    struct fixture *f = *state;
    char err[RP_ERRLEN];
    struct corpus *c;
    assert_int_equal(corpus_open(f->path, CORPUS_CREATE, &c, err), 0);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    int64_t cap = write_capture(c);
    assert_int_equal(corpus_close(c, err), 0);

    assert_int_equal(corpus_open(f->path, CORPUS_READ, &c, err), 0);
    int64_t n, latest;
    assert_int_equal(corpus_ex_count(c, cap, &n, err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(corpus_capture_latest(c, &latest, err), 0);
    assert_int_equal(latest, cap);
    int64_t nbodies, size, stored;
    assert_int_equal(corpus_body_stats(c, &nbodies, &size, &stored, err), 0);
    assert_int_equal(nbodies, 2); /* body_a once, "q=1" once, "" none */
    assert_int_equal(size, (int64_t)strlen(body_a) + 3);

    /* cursor order: by request time */
    struct corpus_ex_cursor *cur;
    struct corpus_exchange ex;
    static const int64_t want[] = {2, 3, 4, 1};
    assert_int_equal(corpus_ex_open(c, cap, &cur, err), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(corpus_ex_next(cur, &ex, err), 1);
        assert_int_equal(ex.id, want[i]);
    }
    assert_int_equal(corpus_ex_next(cur, &ex, err), 0);
    corpus_ex_close(cur);

    assert_int_equal(corpus_ex_get(c, 1, &ex, err), 0);
    assert_string_equal(ex.method, "GET");
    assert_string_equal(ex.target, "/a?x=1");
    assert_string_equal(ex.host, "api.example");
    assert_string_equal(ex.version, "HTTP/1.1");
    assert_string_equal(ex.interim, "100");
    assert_string_equal(ex.reason, "OK");
    assert_int_equal(ex.seq, 3);
    assert_int_equal(ex.status, 200);
    assert_int_equal(ex.flags, CORPUS_EX_REQ_TRUNCATED | CORPUS_EX_REDACTED);
    assert_int_equal(ex.req.headers_len,
                     strlen("Host: api.example\r\nAccept: */*\r\n"));
    assert_memory_equal(ex.req.headers, "Host: api.example\r\n", 19);
    assert_int_equal(ex.req.has_body, 1);
    assert_int_equal(ex.req.body_len, 3);
    assert_int_equal(ex.req.body_size, 10);
    assert_int_equal(ex.resp.first_us, T0 + 30000 + 5100);
    assert_int_equal(ex.resp.has_body, 1);

    uint8_t *body;
    size_t len;
    uint8_t h[RP_HASH_LEN];
    rp_hash(body_a, strlen(body_a), h);
    assert_memory_equal(ex.resp.body_hash, h, RP_HASH_LEN);
    assert_int_equal(corpus_body_get(c, ex.resp.body_hash, &body, &len, err),
                     0);
    assert_int_equal(len, strlen(body_a));
    assert_memory_equal(body, body_a, len);
    free(body);
    assert_int_equal(corpus_body_get(c, ex.req.body_hash, &body, &len, err),
                     0);
    assert_int_equal(len, 3);
    assert_memory_equal(body, "q=1", 3);
    free(body);
    memset(h, 7, sizeof h);
    assert_int_equal(corpus_body_get(c, h, &body, &len, err), RP_EINPUT);

    assert_int_equal(corpus_ex_get(c, 3, &ex, err), 0);
    assert_int_equal(ex.status, 0);
    assert_null(ex.reason);
    assert_int_equal(ex.resp.has_body, 0);
    assert_int_equal(corpus_ex_get(c, 4, &ex, err), 0);
    assert_int_equal(ex.resp.has_body, 0); /* empty body: no row */
    assert_int_equal(corpus_ex_get(c, 99, &ex, err), RP_EINPUT);

    /* capture samples: t relative to the first request */
    struct corpus_sample_cursor *sc;
    struct corpus_sample s;
    assert_int_equal(corpus_samples_open(c, CORPUS_SET_CAPTURE, cap, &sc, err),
                     0);
    assert_int_equal(corpus_samples_next(sc, &s, err), 1);
    assert_int_equal(s.exchange_id, 1);
    assert_int_equal(s.t_us, 30000);
    assert_int_equal(s.latency_us, 20000);
    assert_int_equal(s.service_us, 20000);
    assert_int_equal(s.ttfb_us, 5000);
    assert_int_equal(s.resp_bytes, strlen(body_a));
    assert_int_equal(s.has_body_hash, 1);
    assert_string_equal(s.version, "HTTP/1.1"); /* the field diff's protocol */
    assert_int_equal(corpus_samples_next(sc, &s, err), 1);
    assert_int_equal(s.t_us, 0);
    assert_int_equal(corpus_samples_next(sc, &s, err), 1);
    assert_int_equal(s.exchange_id, 3);
    assert_string_equal(s.method, "POST");
    assert_int_equal(s.status, 0);
    assert_int_equal(s.error_class, CORPUS_ERR_NONE);
    assert_int_equal(s.latency_us, -1);
    assert_int_equal(s.ttfb_us, -1);
    assert_int_equal(corpus_samples_next(sc, &s, err), 1);
    assert_int_equal(s.has_body_hash, 0);
    assert_int_equal(corpus_samples_next(sc, &s, err), 0);
    corpus_samples_close(sc);
    assert_int_equal(corpus_samples_open(c, CORPUS_SET_CAPTURE, 42, &sc, err),
                     RP_EINPUT);
    assert_int_equal(corpus_close(c, err), 0);
}

static void test_runs_results(void **state)
{
    struct fixture *f = *state;
    char err[RP_ERRLEN];
    struct corpus *c;
    assert_int_equal(corpus_open(f->path, CORPUS_CREATE, &c, err), 0);
    int64_t cap = write_capture(c);
    struct corpus_run_row row;
    assert_int_equal(corpus_run_latest(c, 0, &row, err), RP_EINPUT);

    int64_t run_ids[3];
    const char *labels[3] = {"v1", "v2", "v1"};
    for (int k = 0; k < 3; k++) {
        struct corpus_run_info ri = {cap, labels[k], "http://127.0.0.1:8080",
                                     "speed", "{\"speed\":1}", T0 + k};
        assert_int_equal(corpus_run_begin(c, &ri, &run_ids[k], err), 0);
    }
    /* results for run 3, written out of order */
    struct corpus_result r = {0};
    r.exchange_id = 2;
    r.copy = 1;
    r.scheduled_us = 1000;
    r.sent_us = 1500;
    r.first_byte_us = 4000;
    r.done_us = 9000;
    r.status = 200;
    r.resp_bytes = 12;
    r.has_body_hash = 1;
    memset(r.body_hash, 0xab, RP_HASH_LEN);
    assert_int_equal(corpus_add_result(c, run_ids[2], &r, err), 0);
    r.copy = 0;
    r.has_body_hash = 0;
    r.done_us = 8000;
    assert_int_equal(corpus_add_result(c, run_ids[2], &r, err), 0);
    struct corpus_result e = {0};
    e.exchange_id = 1;
    e.scheduled_us = 0;
    e.sent_us = 100;
    e.first_byte_us = -1;
    e.done_us = -1;
    e.connect_us = -1;
    e.error_class = CORPUS_ERR_REFUSED;
    e.error = "Connection refused";
    assert_int_equal(corpus_add_result(c, run_ids[2], &e, err), 0);
    /* the same (exchange, copy, loop) again replaces the first row */
    e.error = "refused twice";
    assert_int_equal(corpus_add_result(c, run_ids[2], &e, err), 0);
    assert_int_equal(corpus_run_end(c, run_ids[2], T0 + 5000000, "complete",
                                    "{\"n\":3}", err), 0);
    assert_int_equal(corpus_close(c, err), 0);

    assert_int_equal(corpus_open(f->path, CORPUS_READ, &c, err), 0);
    assert_int_equal(corpus_run_find(c, "2", &row, err), 0);
    assert_int_equal(row.id, 2);
    assert_string_equal(row.label, "v2");
    assert_int_equal(corpus_run_find(c, "v1", &row, err), 0);
    assert_int_equal(row.id, 3); /* the latest with that label */
    assert_int_equal(row.results, 3);
    assert_string_equal(row.status, "complete");
    assert_string_equal(row.mode, "speed");
    assert_int_equal(row.ended_us, T0 + 5000000);
    assert_int_equal(corpus_run_find(c, "nope", &row, err), RP_EINPUT);
    assert_non_null(strstr(err, "'nope'"));
    assert_non_null(strstr(err, "3 (v1)"));
    assert_int_equal(corpus_run_find(c, "77", &row, err), RP_EINPUT);
    assert_int_equal(corpus_run_latest(c, 0, &row, err), 0);
    assert_int_equal(row.id, 3);
    assert_int_equal(corpus_run_latest(c, 1, &row, err), 0);
    assert_int_equal(row.id, 2);
    assert_string_equal(row.status, "running");
    assert_int_equal(row.results, 0);
    assert_int_equal(corpus_run_latest(c, 3, &row, err), RP_EINPUT);

    struct corpus_sample_cursor *sc;
    struct corpus_sample s;
    assert_int_equal(corpus_samples_open(c, CORPUS_SET_RUN, 3, &sc, err), 0);
    assert_int_equal(corpus_samples_next(sc, &s, err), 1);
    assert_int_equal(s.exchange_id, 1);
    assert_int_equal(s.error_class, CORPUS_ERR_REFUSED);
    assert_int_equal(s.status, 0);
    assert_int_equal(s.latency_us, -1);
    assert_int_equal(s.ttfb_us, -1);
    assert_int_equal(s.t_us, 0);
    assert_string_equal(s.target, "/a?x=1");
    assert_string_equal(s.version, "HTTP/1.1"); /* the exchange's */
    assert_int_equal(corpus_samples_next(sc, &s, err), 1);
    assert_int_equal(s.exchange_id, 2);
    assert_int_equal(s.copy, 0);
    assert_int_equal(s.t_us, 1000);
    assert_int_equal(s.latency_us, 7000);  /* 8000 - 1000 */
    assert_int_equal(s.service_us, 6500);  /* 8000 - 1500 */
    assert_int_equal(s.ttfb_us, 2500);     /* 4000 - 1500 */
    assert_int_equal(s.has_body_hash, 0);
    assert_int_equal(corpus_samples_next(sc, &s, err), 1);
    assert_int_equal(s.copy, 1);
    assert_int_equal(s.latency_us, 8000);
    assert_int_equal(s.has_body_hash, 1);
    assert_int_equal(s.body_hash[0], 0xab);
    assert_int_equal(s.resp_bytes, 12);
    assert_string_equal(s.host, "api.example");
    assert_int_equal(corpus_samples_next(sc, &s, err), 0);
    corpus_samples_close(sc);
    assert_int_equal(corpus_samples_open(c, CORPUS_SET_RUN, 9, &sc, err),
                     RP_EINPUT);

    char *text = NULL;
    size_t tlen = 0;
    FILE *mem = open_memstream(&text, &tlen);
    assert_int_equal(corpus_list(c, mem, err), 0);
    fclose(mem);
    assert_non_null(strstr(text, "captures: 1"));
    assert_non_null(strstr(text, "runs: 3"));
    assert_non_null(strstr(text, "prod"));
    assert_non_null(strstr(text, "2026-"));
    free(text);
    assert_int_equal(corpus_close(c, err), 0);
}

static void test_errclass(void **state)
{
    (void)state;
    for (int i = 0; i < CORPUS_ERR__COUNT; i++)
        assert_int_equal(corpus_errclass_parse(corpus_errclass_name(i)), i);
    assert_string_equal(corpus_errclass_name(CORPUS_ERR_TIMEOUT), "timeout");
    assert_int_equal(corpus_errclass_parse("bogus"), CORPUS_ERR_OTHER);
    assert_int_equal(corpus_errclass_parse(NULL), CORPUS_ERR_NONE);
}

static void test_export_jsonl(void **state)
{
    struct fixture *f = *state;
    char err[RP_ERRLEN];
    struct corpus *c;
    assert_int_equal(corpus_open(f->path, CORPUS_CREATE, &c, err), 0);
    int64_t cap = write_capture(c);
    char *text = NULL;
    size_t tlen = 0;
    FILE *mem = open_memstream(&text, &tlen);
    assert_int_equal(corpus_export_jsonl(c, cap, mem, err), 0);
    fclose(mem);
    /* four lines, in request order */
    char *lines[5] = {0};
    int n = 0;
    for (char *p = strtok(text, "\n"); p && n < 5; p = strtok(NULL, "\n"))
        lines[n++] = p;
    assert_int_equal(n, 4);
    assert_string_equal(lines[0],
        "{\"id\":2,\"capture\":1,\"conn\":1,\"seq\":0,"
        "\"ts_us\":1780000000000000,\"req_last_us\":1780000000000100,"
        "\"resp_first_us\":1780000000005100,\"resp_last_us\":1780000000020000,"
        "\"method\":\"GET\",\"target\":\"/a?x=2\",\"host\":\"api.example\","
        "\"version\":\"HTTP/1.1\",\"request_line\":null,\"status\":200,"
        "\"reason\":\"OK\","
        "\"interim\":null,\"req_bytes\":80,\"resp_bytes\":137,"
        "\"req_body_bytes\":0,\"resp_body_bytes\":37,\"wire_ttfb_us\":5000,"
        "\"wire_latency_us\":20000,\"flags\":[]}");
    assert_non_null(strstr(lines[1], "\"target\":\"/b\\\"q\""));
    assert_non_null(strstr(lines[1], "\"status\":null"));
    assert_non_null(strstr(lines[1], "\"wire_ttfb_us\":null"));
    assert_non_null(strstr(lines[1], "\"resp_first_us\":null"));
    assert_non_null(strstr(lines[1], "\"flags\":[\"no_response\"]"));
    assert_non_null(strstr(lines[3],
        "\"flags\":[\"req_truncated\",\"redacted\"]"));
    assert_non_null(strstr(lines[3], "\"interim\":\"100\""));
    free(text);
    mem = open_memstream(&text, &tlen);
    assert_int_equal(corpus_export_jsonl(c, 5, mem, err), RP_EINPUT);
    fclose(mem);
    free(text);
    assert_int_equal(corpus_close(c, err), 0);
}

/* Opening must fail with RP_EINPUT and leave the file's bytes unchanged. */
static void assert_refused(const char *path, const char *msg_part)
{
    char err[RP_ERRLEN];
    struct corpus *c = NULL;
    size_t len0, len1;
    char *before = slurp(path, &len0);
    assert_non_null(before);
    for (int mode = CORPUS_READ; mode <= CORPUS_CREATE; mode++) {
        err[0] = 0;
        assert_int_equal(corpus_open(path, mode, &c, err), RP_EINPUT);
        assert_null(c);
        assert_non_null(strstr(err, msg_part));
    }
    char *after = slurp(path, &len1);
    assert_int_equal(len0, len1);
    assert_memory_equal(before, after, len0);
    free(before);
    free(after);
}

static void test_reject_foreign(void **state)
{
    struct fixture *f = *state;
    char err[RP_ERRLEN];
    struct corpus *c;
    FILE *fp = fopen(f->path, "wb");
    for (int i = 0; i < 300; i++)
        fprintf(fp, "this is not a database, line %d\n", i);
    fclose(fp);
    assert_refused(f->path, "not a reprise corpus");

    char other[160];
    snprintf(other, sizeof other, "%s/other.db", f->dir);
    exec_sql(other, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
    assert_refused(other, "not a reprise corpus");

    char missing[160];
    snprintf(missing, sizeof missing, "%s/missing.db", f->dir);
    assert_int_equal(corpus_open(missing, CORPUS_READ, &c, err), RP_EINPUT);
    assert_int_equal(access(missing, F_OK), -1);

    /* an empty file becomes a corpus */
    char empty[160];
    snprintf(empty, sizeof empty, "%s/empty.db", f->dir);
    fp = fopen(empty, "wb");
    fclose(fp);
    assert_int_equal(corpus_open(empty, CORPUS_READ, &c, err), RP_EINPUT);
    assert_int_equal(corpus_open(empty, CORPUS_WRITE, &c, err), 0);
    assert_int_equal(corpus_close(c, err), 0);
    assert_int_equal(corpus_open(empty, CORPUS_READ, &c, err), 0);
    corpus_close(c, NULL);
}

static void test_reject_newer(void **state)
{
    struct fixture *f = *state;
    char err[RP_ERRLEN];
    struct corpus *c;
    assert_int_equal(corpus_open(f->path, CORPUS_CREATE, &c, err), 0);
    write_capture(c);
    assert_int_equal(corpus_close(c, err), 0);
    exec_sql(f->path, "PRAGMA user_version = 99; PRAGMA journal_mode=DELETE");
    assert_refused(f->path, "newer");
    /* a v1 file has no request_line column (schema v3 added it) */
    exec_sql(f->path, "ALTER TABLE exchanges DROP COLUMN request_line;"
                      " PRAGMA user_version = 1");
    assert_int_equal(corpus_open(f->path, CORPUS_WRITE, &c, err), 0);
    corpus_close(c, NULL);
}

/* corpus_add_results: multi-row inserts of 16 and single rows for the
 * rest give the same rows as one by one, NULLs and errors included. */
static void test_results_batch(void **state)
{
    struct fixture *f = *state;
    char err[RP_ERRLEN];
    struct corpus *c;
    assert_int_equal(corpus_open(f->path, CORPUS_CREATE, &c, err), 0);
    int64_t cap = write_capture(c), run;
    struct corpus_run_info ri = {cap, "b", "http://127.0.0.1:8080", "max",
                                 NULL, T0};
    assert_int_equal(corpus_run_begin(c, &ri, &run, err), 0);
    struct corpus_result rs[37];
    memset(rs, 0, sizeof rs);
    for (int i = 0; i < 37; i++) {
        rs[i].exchange_id = 1 + i % 2;
        rs[i].copy = i;
        rs[i].scheduled_us = i;
        rs[i].sent_us = i % 5 ? i + 1 : -1;
        rs[i].first_byte_us = rs[i].done_us = rs[i].sent_us;
        rs[i].status = i % 5 ? 200 : 0;
        rs[i].error_class = i % 5 ? CORPUS_ERR_NONE : CORPUS_ERR_NOT_SENT;
        rs[i].error = i % 7 ? NULL : "message";
    }
    size_t added = 0;
    assert_int_equal(corpus_add_results(c, run, rs, 37, &added, err), 0);
    assert_int_equal(added, 37);
    assert_int_equal(corpus_run_end(c, run, T0 + 1, "complete", NULL, err),
                     0);
    struct corpus_sample_cursor *sc;
    struct corpus_sample s;
    assert_int_equal(corpus_samples_open(c, CORPUS_SET_RUN, run, &sc, err),
                     0);
    int n = 0, notsent = 0;
    while (corpus_samples_next(sc, &s, err) == 1) {
        assert_int_equal(s.t_us, s.copy);
        assert_int_equal(s.exchange_id, 1 + s.copy % 2);
        notsent += s.error_class == CORPUS_ERR_NOT_SENT;
        n++;
    }
    corpus_samples_close(sc);
    assert_int_equal(n, 37);
    assert_int_equal(notsent, 8);
    assert_int_equal(corpus_close(c, err), 0);
}

/* A version 1 file (results keyed by exchange before loop): readers read
 * it as it is, in the same order as a current file; the first writer
 * upgrades it to the current key, keeping every row and the view. */
static void test_upgrade_v1(void **state)
{
    struct fixture *f = *state;
    char err[RP_ERRLEN];
    struct corpus *c;
    assert_int_equal(corpus_open(f->path, CORPUS_CREATE, &c, err), 0);
    int64_t cap = write_capture(c), run;
    struct corpus_run_info ri = {cap, "v1", "http://127.0.0.1:8080", "speed",
                                 NULL, T0};
    assert_int_equal(corpus_run_begin(c, &ri, &run, err), 0);
    for (int loop = 0; loop < 3; loop++)
        for (int64_t ex = 1; ex <= 2; ex++) {
            struct corpus_result r = {0};
            r.exchange_id = ex;
            r.loop = loop;
            r.scheduled_us = loop * 10 + ex;
            r.sent_us = r.first_byte_us = r.done_us = r.scheduled_us + 1;
            r.status = 200;
            assert_int_equal(corpus_add_result(c, run, &r, err), 0);
        }
    assert_int_equal(corpus_run_end(c, run, T0 + 1, "complete", NULL, err), 0);
    assert_int_equal(corpus_close(c, err), 0);
    /* what reprise 1.x wrote: the v1 key */
    exec_sql(f->path,
             "BEGIN; DROP VIEW result_timings;"
             " ALTER TABLE results RENAME TO r2;"
             " CREATE TABLE results (run_id INTEGER NOT NULL, exchange_id"
             " INTEGER NOT NULL, copy INTEGER NOT NULL, loop INTEGER NOT NULL,"
             " scheduled_us INTEGER, sent_us INTEGER, first_byte_us INTEGER,"
             " done_us INTEGER, connect_us INTEGER, status INTEGER NOT NULL,"
             " resp_bytes INTEGER NOT NULL, body_hash BLOB, error_class TEXT,"
             " error TEXT, PRIMARY KEY (run_id, exchange_id, copy, loop))"
             " WITHOUT ROWID;"
             " INSERT INTO results SELECT run_id, exchange_id, copy, loop,"
             " scheduled_us, sent_us, first_byte_us, done_us, connect_us,"
             " status, resp_bytes, body_hash, error_class, error FROM r2;"
             " DROP TABLE r2;"
             " CREATE VIEW result_timings AS SELECT r.run_id, r.loop"
             " FROM results r; ALTER TABLE exchanges DROP COLUMN request_line;"
             " DROP TABLE monitor_points; DROP TABLE monitor_scrapes;"
             " DROP TABLE monitor_series;"
             " PRAGMA user_version = 1; COMMIT");
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0 reads the v1 file; pass 1 the upgraded one */
        assert_int_equal(corpus_open(f->path, CORPUS_READ, &c, err), 0);
        char *text = NULL;
        size_t tlen = 0;
        FILE *mem = open_memstream(&text, &tlen);
        assert_int_equal(corpus_list(c, mem, err), 0);
        fclose(mem);
        assert_non_null(strstr(text, pass ? "schema v6" : "schema v1"));
        free(text);
        /* exchanges read the same, without a stored request line */
        struct corpus_ex_cursor *xc;
        struct corpus_exchange ex;
        assert_int_equal(corpus_ex_open(c, cap, &xc, err), 0);
        assert_int_equal(corpus_ex_next(xc, &ex, err), 1);
        assert_null(ex.request_line);
        corpus_ex_close(xc);
        struct corpus_sample_cursor *sc;
        struct corpus_sample s;
        assert_int_equal(corpus_samples_open(c, CORPUS_SET_RUN, run, &sc,
                                             err), 0);
        for (int k = 0; k < 6; k++) {
            assert_int_equal(corpus_samples_next(sc, &s, err), 1);
            assert_int_equal(s.loop, k / 2);
            assert_int_equal(s.exchange_id, k % 2 + 1);
            assert_int_equal(s.t_us, s.loop * 10 + s.exchange_id);
        }
        assert_int_equal(corpus_samples_next(sc, &s, err), 0);
        corpus_samples_close(sc);
        assert_int_equal(corpus_close(c, err), 0);
        if (!pass) {
            assert_int_equal(corpus_open(f->path, CORPUS_WRITE, &c, err), 0);
            assert_int_equal(corpus_close(c, err), 0);
        }
    }
    assert_string_equal(query_rows(f->path, "PRAGMA user_version"), "6\n");
    assert_non_null(strstr(query_rows(f->path, "SELECT sql FROM sqlite_schema"
                                               " WHERE name = 'results'"),
                           "PRIMARY KEY (run_id, loop, exchange_id, copy)"));
    assert_string_equal(query_rows(f->path, "SELECT count(*), sum(lateness_us)"
                                            " FROM result_timings"),
                        "6|6\n");
}

/* Writes until the file size limit stops SQLite; the error must be RP_EIO
 * and everything committed before must still read back. Runs in a child so
 * the limit does not touch the test runner. */
static void test_write_failure(void **state)
{
    struct fixture *f = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[RP_ERRLEN];
        struct corpus *c;
        signal(SIGXFSZ, SIG_IGN);
        if (corpus_open(f->path, CORPUS_CREATE, &c, err))
            _exit(10);
        int64_t cap = write_capture(c);
        if (corpus_flush(c, err))
            _exit(11);
        struct rlimit rl = {2 << 20, 2 << 20};
        setrlimit(RLIMIT_FSIZE, &rl);
        /* incompressible bodies, 64 KiB each, distinct */
        static uint8_t body[65536];
        uint64_t x = 88172645463325252ULL;
        int r = 0;
        for (int i = 0; i < 200 && !r; i++) {
            for (size_t k = 0; k < sizeof body; k++) {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                body[k] = (uint8_t)x;
            }
            struct corpus_exchange ex;
            make_exchange(&ex, cap, 0, i, T0 + i, "GET", "/big", 200, NULL);
            ex.resp.body = body;
            ex.resp.body_len = sizeof body;
            r = corpus_add_exchange(c, &ex, NULL, err);
            if (!r && i % 8 == 7)
                r = corpus_flush(c, err);
        }
        fprintf(stderr, "expected failure: %s\n", err);
        if (r != RP_EIO)
            _exit(12);
        if (!strstr(err, "disk full"))
            _exit(13);
        corpus_close(c, NULL);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    char err[RP_ERRLEN];
    struct corpus *c;
    int64_t n;
    assert_int_equal(corpus_open(f->path, CORPUS_READ, &c, err), 0);
    assert_int_equal(corpus_ex_count(c, 1, &n, err), 0);
    assert_true(n >= 4);
    struct corpus_ex_cursor *cur;
    struct corpus_exchange ex;
    assert_int_equal(corpus_ex_open(c, 0, &cur, err), 0);
    int64_t seen = 0;
    int r;
    while ((r = corpus_ex_next(cur, &ex, err)) == 1)
        seen++;
    assert_int_equal(r, 0);
    assert_int_equal(seen, n);
    corpus_ex_close(cur);
    corpus_close(c, NULL);

    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Appends every row of every column to a growing string (sqlite3_exec). */
struct dump {
    char *s;
    size_t len, cap;
};

static int dump_row(void *arg, int n, char **vals, char **names)
{
    struct dump *d = arg;
    (void)names;
    for (int i = 0; i < n; i++) {
        const char *v = vals[i] ? vals[i] : "<null>";
        size_t l = strlen(v) + 1;
        if (d->len + l + 1 > d->cap) {
            d->cap = (d->len + l + 1) * 2;
            d->s = realloc(d->s, d->cap);
        }
        memcpy(d->s + d->len, v, l - 1);
        d->len += l;
        d->s[d->len - 1] = i + 1 < n ? '|' : '\n';
        d->s[d->len] = 0;
    }
    return 0;
}

static char *dump_db(const char *path)
{
    struct dump d = {calloc(1, 1), 0, 1};
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
        "SELECT id, capture_id, connection_id, seq, method, target, host,"
        " version, req_first_us, req_last_us, req_headers,"
        " hex(req_body_hash), req_body_stored_bytes, req_body_size_bytes,"
        " req_wire_bytes, status, reason, interim, resp_first_us,"
        " resp_last_us, resp_headers, hex(resp_body_hash),"
        " resp_body_stored_bytes, resp_body_size_bytes, resp_wire_bytes,"
        " flags FROM exchanges ORDER BY id;"
        "SELECT * FROM connections ORDER BY id;"
        "SELECT hex(hash), size_bytes, stored_bytes, hex(data) FROM bodies"
        " ORDER BY hash;"
        "SELECT id, label, source, ended_us, stats, exchange_count"
        " FROM captures ORDER BY id;"
        "PRAGMA integrity_check", dump_row, &d, NULL), SQLITE_OK);
    sqlite3_close(db);
    return d.s;
}

/* Writes a capture of n exchanges (37 distinct bodies, some responses
 * missing, a new connection every 50) with or without the async writer;
 * ids returned must be 1..n and the connections' 1.. */
static void write_many(const char *path, int async, int n)
{
    char err[RP_ERRLEN];
    struct corpus *c;
    int64_t cap, conn = 0, id;
    assert_int_equal(corpus_open(path, CORPUS_CREATE, &c, err), 0);
    struct corpus_capture_info ci = {.source = "file:many.pcap",
                                     .started_us = T0};
    assert_int_equal(corpus_capture_begin(c, &ci, &cap, err), 0);
    if (async)
        assert_int_equal(corpus_set_async(c, 1, err), 0);
    static char bodies[37][96];
    for (int b = 0; b < 37; b++)
        snprintf(bodies[b], sizeof bodies[b], "{\"body\":%d,\"pad\":\"%0*d\"}",
                 b, b + 10, b);
    char target[64];
    for (int i = 0; i < n; i++) {
        if (i % 50 == 0) {
            if (conn)
                assert_int_equal(corpus_connection_end(c, conn, T0 + i * 1000,
                                                       err), 0);
            struct corpus_conn cn = {cap, "10.0.0.1", 40000 + i / 50,
                                     "10.0.0.2", 80, T0 + i * 1000, 0};
            assert_int_equal(corpus_add_connection(c, &cn, &conn, err), 0);
            assert_int_equal(conn, i / 50 + 1);
        }
        snprintf(target, sizeof target, "/item/%d?q=%d", i, i * 7);
        struct corpus_exchange ex;
        make_exchange(&ex, cap, conn, i % 50, T0 + i * 1000, "GET", target,
                      i % 13 == 5 ? 0 : 200, bodies[i % 37]);
        if (i % 11 == 3)
            ex.req.headers = NULL;
        if (i % 17 == 4) {
            ex.req.body = (const uint8_t *)bodies[(i + 1) % 37];
            ex.req.body_len = strlen(bodies[(i + 1) % 37]);
        }
        assert_int_equal(corpus_add_exchange(c, &ex, &id, err), 0);
        assert_int_equal(id, i + 1);
        if (i == n / 2)
            assert_int_equal(corpus_flush(c, err), 0);
    }
    assert_int_equal(corpus_connection_end(c, conn, T0 + n * 1000, err), 0);
    struct corpus_capture_stats st = {.exchanges = (uint64_t)n,
                                      .ended_us = T0 + n * 1000};
    assert_int_equal(corpus_capture_end(c, cap, &st, err), 0);
    assert_int_equal(corpus_close(c, err), 0);
}

static void test_async_matches_sync(void **state)
{
    struct fixture *f = *state;
    char sync_path[160];
    snprintf(sync_path, sizeof sync_path, "%s/sync.db", f->dir);
    write_many(sync_path, 0, 3001);
    write_many(f->path, 1, 3001);
    char *a = dump_db(sync_path), *b = dump_db(f->path);
    assert_true(strlen(a) > 3001 * 50);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* Another writer adds a connection while an async capture runs: the
 * capture's connection handles must still land on its own rows. */
static void test_async_other_writer(void **state)
{
    struct fixture *f = *state;
    char err[RP_ERRLEN];
    struct corpus *c, *o;
    int64_t cap, cap2, h1, h2, oid, id;
    assert_int_equal(corpus_open(f->path, CORPUS_CREATE, &c, err), 0);
    struct corpus_capture_info ci = {.source = "iface:lo", .started_us = T0};
    assert_int_equal(corpus_capture_begin(c, &ci, &cap, err), 0);
    assert_int_equal(corpus_set_async(c, 1, err), 0);
    struct corpus_conn cn = {cap, "10.0.0.1", 1111, "10.0.0.2", 80, T0, 0};
    assert_int_equal(corpus_add_connection(c, &cn, &h1, err), 0);
    assert_int_equal(corpus_flush(c, err), 0);

    assert_int_equal(corpus_open(f->path, CORPUS_WRITE, &o, err), 0);
    struct corpus_capture_info ci2 = {.source = "file:x", .started_us = T0};
    assert_int_equal(corpus_capture_begin(o, &ci2, &cap2, err), 0);
    struct corpus_conn on = {cap2, "10.9.9.9", 2222, "10.0.0.2", 80, T0, 0};
    assert_int_equal(corpus_add_connection(o, &on, &oid, err), 0);
    assert_int_equal(corpus_flush(o, err), 0);
    assert_int_equal(oid, 2); /* the id c handed out next */

    cn.client_port = 3333;
    assert_int_equal(corpus_add_connection(c, &cn, &h2, err), 0);
    assert_int_equal(h2, 2);
    struct corpus_exchange ex;
    for (int i = 0; i < 20; i++) {
        make_exchange(&ex, cap, i % 2 ? h2 : h1, i, T0 + i, "GET", "/m", 200,
                      body_a);
        assert_int_equal(corpus_add_exchange(c, &ex, &id, err), 0);
    }
    assert_int_equal(corpus_connection_end(c, h2, T0 + 99, err), 0);
    struct corpus_capture_stats st = {.exchanges = 20, .ended_us = T0 + 99};
    assert_int_equal(corpus_capture_end(c, cap, &st, err), 0);
    assert_int_equal(corpus_close(c, err), 0);
    assert_int_equal(corpus_close(o, err), 0);

    assert_string_equal(
        query_rows(f->path, "SELECT c.client_port, COUNT(*) FROM exchanges e"
                            " JOIN connections c ON c.id = e.connection_id"
                            " GROUP BY 1 ORDER BY 1"),
        "1111|10\n3333|10\n");
    char want[32];
    snprintf(want, sizeof want, "%lld\n", T0 + 99);
    assert_string_equal(query_rows(f->path, "SELECT last_us FROM connections "
                                            "WHERE client_port = 3333"),
                        want);
    assert_string_equal(
        query_rows(f->path, "SELECT last_us IS NULL FROM connections "
                            "WHERE client_port = 2222"),
        "1\n");
}

/* The async writer hits the file size limit: a later add or flush returns
 * RP_EIO "disk full", close works, the file is valid. */
static void test_async_write_failure(void **state)
{
    struct fixture *f = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[RP_ERRLEN] = "";
        struct corpus *c;
        signal(SIGXFSZ, SIG_IGN);
        if (corpus_open(f->path, CORPUS_CREATE, &c, err))
            _exit(10);
        write_capture(c);
        int64_t cap;
        struct corpus_capture_info ci = {.source = "file:big.pcap",
                                         .started_us = T0};
        if (corpus_capture_begin(c, &ci, &cap, err) ||
            corpus_set_async(c, 1, err))
            _exit(11);
        struct rlimit rl = {2 << 20, 2 << 20};
        setrlimit(RLIMIT_FSIZE, &rl);
        static uint8_t body[65536];
        uint64_t x = 88172645463325252ULL;
        int r = 0;
        for (int i = 0; i < 400 && !r; i++) {
            for (size_t k = 0; k < sizeof body; k++) {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                body[k] = (uint8_t)x;
            }
            struct corpus_exchange ex;
            make_exchange(&ex, cap, 0, i, T0 + i, "GET", "/big", 200, NULL);
            ex.resp.body = body;
            ex.resp.body_len = sizeof body;
            r = corpus_add_exchange(c, &ex, NULL, err);
            if (!r && i % 8 == 7)
                r = corpus_flush(c, err);
        }
        if (r != RP_EIO || !strstr(err, "disk full"))
            _exit(12);
        /* the error stays: a later call reports it too */
        if (corpus_flush(c, err) != RP_EIO)
            _exit(13);
        corpus_close(c, NULL);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char *d = dump_db(f->path);
    assert_non_null(strstr(d, "\nok\n"));
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_capture_roundtrip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_runs_results, setup, teardown),
        cmocka_unit_test(test_errclass),
        cmocka_unit_test_setup_teardown(test_export_jsonl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_foreign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reject_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_matches_sync, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_async_write_failure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_async_other_writer, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
