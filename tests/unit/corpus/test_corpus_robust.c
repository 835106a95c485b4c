/*
 * test_corpus_robust.c: unit tests of the corpus against damage and misuse
 * (issue 7): a writer that opens an existing corpus and writes nothing
 * leaves it byte-for-byte unchanged; a body row that claims far more bytes
 * than its zlib data can hold is refused as damaged instead of allocated;
 * the samples of a result with times at the ends of int64 give -1 (unknown),
 * not an overflow; a write past a file size limit is an RP_EIO error, not a
 * SIGXFSZ, because opening a writer ignores that signal. A bulk import
 * (CORPUS_IMPORT) writes through the rollback journal, never the WAL, yet
 * its commits are visible to a reader alongside, a reader rolls back the
 * hot journal of one killed mid-batch, and the next ordinary writer is
 * back on the WAL.
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

/* A bare "GET / HTTP/1.1" exchange of capture cap. */
static void get_exchange(struct corpus_exchange *ex, int64_t cap)
{
    memset(ex, 0, sizeof *ex);
    ex->capture_id = cap;
    ex->method = "GET";
    ex->target = "/";
    ex->host = "h";
    ex->version = "HTTP/1.1";
}

/* A corpus with one capture, one exchange with a response body, and one
 * run with one result; returns the exchange id. */
static int64_t fill(const char *path)
{
    char err[RP_ERRLEN];
    struct corpus *c;
    int64_t cap, id, run;
    assert_int_equal(corpus_open(path, CORPUS_CREATE, &c, err), 0);
    struct corpus_capture_info ci = {.source = "file:x.pcap",
                                     .started_us = 1000000};
    assert_int_equal(corpus_capture_begin(c, &ci, &cap, err), 0);
    struct corpus_exchange ex;
    get_exchange(&ex, cap);
    ex.req.first_us = ex.req.last_us = 1000000;
    ex.status = 200;
    ex.resp.first_us = ex.resp.last_us = 1000100;
    ex.resp.body = (const uint8_t *)"hello hello hello";
    ex.resp.body_len = ex.resp.body_size = 17;
    assert_int_equal(corpus_add_exchange(c, &ex, &id, err), 0);
    struct corpus_capture_stats st = {.exchanges = 1, .ended_us = 1000200};
    assert_int_equal(corpus_capture_end(c, cap, &st, err), 0);
    struct corpus_run_info ri = {.capture_id = cap, .target = "http://x",
                                 .mode = "max", .started_us = 5};
    assert_int_equal(corpus_run_begin(c, &ri, &run, err), 0);
    struct corpus_result r = {.exchange_id = id, .scheduled_us = 0,
                              .sent_us = 1, .first_byte_us = 2,
                              .done_us = 3, .status = 200};
    assert_int_equal(corpus_add_result(c, run, &r, err), 0);
    assert_int_equal(corpus_run_end(c, run, 10, "complete", NULL, err), 0);
    assert_int_equal(corpus_close(c, err), 0);
    return id;
}

static void test_writer_without_writes_changes_nothing(void **state)
{
    struct fixture *f = *state;
    char err[RP_ERRLEN], side[192];
    fill(f->path);
    size_t n0, n1;
    char *before = slurp(f->path, &n0);
    struct corpus *c;
    assert_int_equal(corpus_open(f->path, CORPUS_WRITE, &c, err), 0);
    int64_t latest = 0;
    assert_int_equal(corpus_capture_latest(c, &latest, err), 0);
    assert_int_equal(latest, 1);
    assert_int_equal(corpus_close(c, err), 0);
    char *after = slurp(f->path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    snprintf(side, sizeof side, "%s-wal", f->path);
    assert_int_not_equal(access(side, F_OK), 0);
    free(before);
    free(after);
    /* a writer that writes still works, and leaves no side file */
    assert_int_equal(corpus_open(f->path, CORPUS_WRITE, &c, err), 0);
    struct corpus_capture_info ci = {.source = "file:y", .started_us = 1};
    int64_t cap;
    assert_int_equal(corpus_capture_begin(c, &ci, &cap, err), 0);
    assert_int_equal(cap, 2);
    assert_int_equal(corpus_close(c, err), 0);
    assert_int_not_equal(access(side, F_OK), 0);
}

static void test_import_uses_rollback_journal(void **state)
{
    struct fixture *f = *state;
    char err[RP_ERRLEN], side[192];
    snprintf(side, sizeof side, "%s-wal", f->path);
    struct corpus *c, *rd;
    assert_int_equal(corpus_open(f->path, CORPUS_IMPORT, &c, err), 0);
    struct corpus_capture_info ci = {.source = "file:x.pcap", .started_us = 1};
    int64_t cap;
    assert_int_equal(corpus_capture_begin(c, &ci, &cap, err), 0);
    assert_int_equal(corpus_set_async(c, 1, err), 0);
    struct corpus_exchange ex;
    get_exchange(&ex, cap);
    for (int i = 0; i < 100; i++) {
        ex.req.first_us = ex.req.last_us = 1000 + i;
        assert_int_equal(corpus_add_exchange(c, &ex, NULL, err), 0);
    }
    assert_int_equal(corpus_flush(c, err), 0);
    assert_int_not_equal(access(side, F_OK), 0); /* no WAL */
    /* a reader alongside sees what was committed */
    assert_int_equal(corpus_open(f->path, CORPUS_READ, &rd, err), 0);
    int64_t latest = 0;
    assert_int_equal(corpus_capture_latest(rd, &latest, err), 0);
    assert_int_equal(latest, cap);
    corpus_close(rd, NULL);
    struct corpus_capture_stats st = {.exchanges = 100, .ended_us = 2000};
    assert_int_equal(corpus_capture_end(c, cap, &st, err), 0);
    assert_int_equal(corpus_close(c, err), 0);
    assert_string_equal(
        query_rows(f->path, "SELECT (SELECT count(*) FROM exchanges), "
                            "(SELECT integrity_check FROM "
                            "pragma_integrity_check)"),
        "100|ok\n");
    /* the next ordinary writer uses the WAL again */
    assert_int_equal(corpus_open(f->path, CORPUS_WRITE, &c, err), 0);
    ci.source = "iface:lo";
    assert_int_equal(corpus_capture_begin(c, &ci, &cap, err), 0);
    assert_int_equal(access(side, F_OK), 0);
    assert_int_equal(corpus_close(c, err), 0);
    assert_int_not_equal(access(side, F_OK), 0);
}

/* 1 when the rollback journal of path exists with a non-zero header: a
 * batch has spilled into the file and the journal must roll it back. */
static int journal_hot(const char *journal)
{
    FILE *jf = fopen(journal, "rb");
    uint8_t magic[8] = {0};
    static const uint8_t zero[8];
    if (!jf)
        return 0;
    size_t got = fread(magic, 1, sizeof magic, jf);
    fclose(jf);
    return got == sizeof magic && memcmp(magic, zero, sizeof magic) != 0;
}

/* A bulk import killed in the middle of a batch that outgrew the page
 * cache leaves a hot journal; a read-only opener rolls it back first and
 * sees exactly what was committed. */
static void test_import_killed_mid_batch(void **state)
{
    struct fixture *f = *state;
    char err[RP_ERRLEN], journal[192];
    snprintf(journal, sizeof journal, "%s-journal", f->path);
    int added[2]; /* the child tells how many exchanges it added */
    assert_int_equal(pipe(added), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct corpus *c;
        close(added[0]);
        if (corpus_open(f->path, CORPUS_IMPORT, &c, err))
            _exit(2);
        struct corpus_capture_info ci = {.source = "file:x.pcap",
                                         .started_us = 1};
        int64_t cap;
        if (corpus_capture_begin(c, &ci, &cap, err)) /* committed */
            _exit(3);
        static uint8_t body[64 * 1024];
        struct corpus_exchange ex;
        get_exchange(&ex, cap);
        ex.resp.body = body;
        ex.resp.body_len = ex.resp.body_size = sizeof body;
        uint64_t x = 88172645463325252ULL;
        for (size_t k = 0; k < sizeof body; k++) { /* incompressible */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            body[k] = (uint8_t)x;
        }
        /* Adds until the open batch outgrows the 8 MiB cache and spills
         * (after about 110 bodies). A batch also commits once a second, which
         * on a slow machine can come first; the next batch spills then. */
        for (int i = 0; i < 2000; i++) {
            memcpy(body, &i, sizeof i); /* distinct, so not deduplicated */
            ex.req.first_us = ex.req.last_us = 1000 + i;
            if (corpus_add_exchange(c, &ex, NULL, err))
                _exit(4);
            if (journal_hot(journal) &&
                write(added[1], &i, sizeof i) == (ssize_t)sizeof i)
                _exit(0); /* killed: no commit, no close */
        }
        _exit(5);
    }
    int status, last = -1;
    close(added[1]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(read(added[0], &last, sizeof last), sizeof last);
    close(added[0]);
    assert_true(journal_hot(journal)); /* or this test would test nothing */
    struct corpus *rd;
    assert_int_equal(corpus_open(f->path, CORPUS_READ, &rd, err), 0);
    int64_t latest = 0, n = -1;
    assert_int_equal(corpus_capture_latest(rd, &latest, err), 0);
    assert_int_equal(latest, 1);
    assert_int_equal(corpus_ex_count(rd, 0, &n, err), 0);
    /* the open batch (last + 1 rows were added) is gone */
    assert_true(n >= 0 && n <= last);
    corpus_close(rd, NULL);
    assert_int_not_equal(access(journal, F_OK), 0);
    assert_string_equal(
        query_rows(f->path, "SELECT integrity_check FROM "
                            "pragma_integrity_check"), "ok\n");
}

static void test_body_claiming_huge_size(void **state)
{
    struct fixture *f = *state;
    char err[RP_ERRLEN];
    int64_t id = fill(f->path);
    exec_sql(f->path, "UPDATE bodies SET size_bytes = 4611686018427387904");
    struct corpus *c;
    struct corpus_exchange ex;
    assert_int_equal(corpus_open(f->path, CORPUS_READ, &c, err), 0);
    assert_int_equal(corpus_ex_get(c, id, &ex, err), 0);
    assert_true(ex.resp.has_body);
    uint8_t *body = NULL;
    size_t len = 0;
    assert_int_equal(corpus_body_get(c, ex.resp.body_hash, &body, &len, err),
                     RP_EINPUT);
    assert_null(body);
    assert_non_null(strstr(err, "damaged"));
    corpus_close(c, NULL);
    exec_sql(f->path, "UPDATE bodies SET size_bytes = -1");
    assert_int_equal(corpus_open(f->path, CORPUS_READ, &c, err), 0);
    assert_int_equal(corpus_ex_get(c, id, &ex, err), 0);
    assert_int_equal(corpus_body_get(c, ex.resp.body_hash, &body, &len, err),
                     RP_EINPUT);
    corpus_close(c, NULL);
}

static void test_samples_extreme_times(void **state)
{
    struct fixture *f = *state;
    char err[RP_ERRLEN];
    fill(f->path);
    exec_sql(f->path,
             "UPDATE results SET scheduled_us = 9223372036854775807,"
             " sent_us = -9223372036854775808, done_us = -9223372036854775808;"
             "UPDATE exchanges SET req_first_us = 9223372036854775807,"
             " resp_last_us = -9223372036854775808");
    struct corpus *c;
    struct corpus_sample_cursor *cur;
    struct corpus_sample s;
    assert_int_equal(corpus_open(f->path, CORPUS_READ, &c, err), 0);
    assert_int_equal(corpus_samples_open(c, CORPUS_SET_RUN, 1, &cur, err), 0);
    assert_int_equal(corpus_samples_next(cur, &s, err), 1);
    assert_int_equal(s.latency_us, -1);
    corpus_samples_close(cur);
    assert_int_equal(corpus_samples_open(c, CORPUS_SET_CAPTURE, 1, &cur, err),
                     0);
    assert_int_equal(corpus_samples_next(cur, &s, err), 1);
    assert_int_equal(s.latency_us, -1);
    corpus_samples_close(cur);
    FILE *devnull = fopen("/dev/null", "w");
    assert_int_equal(corpus_export_jsonl(c, 0, devnull, err), 0);
    assert_int_equal(corpus_list(c, devnull, err), 0);
    fclose(devnull);
    corpus_close(c, NULL);
}

static void test_file_size_limit_is_an_error(void **state)
{
    struct fixture *f = *state;
    fill(f->path);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* SIGXFSZ left at its default: corpus_open must ignore it */
        char err[RP_ERRLEN];
        struct corpus *c;
        signal(SIGXFSZ, SIG_DFL);
        if (corpus_open(f->path, CORPUS_WRITE, &c, err))
            _exit(10);
        struct stat sb;
        stat(f->path, &sb);
        struct rlimit rl = {(rlim_t)sb.st_size, (rlim_t)sb.st_size};
        setrlimit(RLIMIT_FSIZE, &rl);
        static uint8_t body[65536];
        uint64_t x = 88172645463325252ULL;
        int r = 0;
        int64_t cap;
        struct corpus_capture_info ci = {.source = "file:z", .started_us = 1};
        r = corpus_capture_begin(c, &ci, &cap, err);
        for (int i = 0; i < 64 && !r; i++) {
            for (size_t k = 0; k < sizeof body; k++) {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                body[k] = (uint8_t)x;
            }
            struct corpus_exchange ex;
            memset(&ex, 0, sizeof ex);
            ex.capture_id = cap;
            ex.method = "GET";
            ex.target = "/big";
            ex.host = "h";
            ex.version = "HTTP/1.1";
            ex.resp.body = body;
            ex.resp.body_len = ex.resp.body_size = sizeof body;
            r = corpus_add_exchange(c, &ex, NULL, err);
            if (!r && i % 8 == 7)
                r = corpus_flush(c, err);
        }
        if (!r)
            r = corpus_flush(c, err);
        corpus_close(c, NULL);
        _exit(r == RP_EIO ? 0 : 20);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status)); /* not killed by SIGXFSZ */
    assert_int_equal(WEXITSTATUS(status), 0);
    char err[RP_ERRLEN];
    struct corpus *c;
    int64_t n = 0;
    assert_int_equal(corpus_open(f->path, CORPUS_READ, &c, err), 0);
    assert_int_equal(corpus_ex_count(c, 1, &n, err), 0);
    assert_int_equal(n, 1);
    corpus_close(c, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_writer_without_writes_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_uses_rollback_journal,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_killed_mid_batch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_body_claiming_huge_size, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_samples_extreme_times, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_size_limit_is_an_error,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
