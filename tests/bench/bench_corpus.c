/*
 * bench_corpus.c: times the corpus on synthetic data: writing exchanges
 * (with deduplicated bodies), writing results, streaming the samples of a
 * run and of a capture, and iterating exchanges. Driven by bench_corpus.sh;
 * prints one "name: N rows in S s (R rows/s)" line per step and never
 * asserts a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus/corpus.h"

static double now_s(void) { return (double)rp_mono_us() / 1e6; }

static void report(const char *name, int64_t n, double t)
{
    printf("%-18s %10lld rows in %7.3f s (%9.0f rows/s)\n", name,
           (long long)n, t, t > 0 ? (double)n / t : 0.0);
    fflush(stdout);
}

static int die(const char *what, const char *err)
{
    fprintf(stderr, "bench_corpus: %s: %s\n", what, err);
    return 1;
}

/* N exchanges over one connection per 100; every 10th carries a distinct
 * 2 KiB JSON body, the others one of 16 shared bodies. */
static int gen_exchanges(const char *path, int64_t n)
{
    char err[RP_ERRLEN];
    struct corpus *c;
    if (corpus_open(path, CORPUS_CREATE, &c, err))
        return die(path, err);
    int64_t cap, conn = 0, t0 = 1780000000000000LL;
    struct corpus_capture_info ci = {.label = "bench", .source = "file:bench",
                                     .started_us = t0};
    if (corpus_capture_begin(c, &ci, &cap, err))
        return die("capture", err);
    static char body[2048];
    static const char *const paths[] = {"/api/users", "/api/orders",
                                        "/static/app.js", "/login",
                                        "/api/search?q=x", "/health"};
    int len = 0;
    double t = now_s();
    for (int64_t i = 0; i < n; i++) {
        if (i % 100 == 0) {
            struct corpus_conn cn = {cap, "10.0.0.1", (int)(1024 + i / 100 % 60000),
                                     "10.0.0.2", 80, t0 + i * 100, 0};
            if (corpus_add_connection(c, &cn, &conn, err))
                return die("connection", err);
        }
        if (i == 0) {
            len = snprintf(body, sizeof body, "{\"id\":%012d,\"items\":[", 0);
            while (len < (int)sizeof body - 32)
                len += snprintf(body + len, sizeof body - (size_t)len,
                                "{\"k\":%d},", len);
        }
        /* the id slot is fixed width, so only it changes */
        char id[24];
        snprintf(id, sizeof id, "%012lld",
                 (long long)(i % 10 == 0 ? i : i % 16));
        memcpy(body + 6, id, 12);
        struct corpus_exchange ex = {0};
        ex.capture_id = cap;
        ex.conn_id = conn;
        ex.seq = i % 100;
        ex.method = i % 7 ? "GET" : "POST";
        ex.target = paths[i % 6];
        ex.host = "api.example";
        ex.version = "HTTP/1.1";
        ex.req.headers = "Host: api.example\r\nUser-Agent: bench\r\n"
                         "Accept: */*\r\n";
        ex.req.headers_len = strlen(ex.req.headers);
        ex.req.first_us = t0 + i * 100;
        ex.req.last_us = ex.req.first_us + 20;
        ex.req.wire_bytes = 120;
        ex.status = 200;
        ex.reason = "OK";
        ex.resp.headers = "Content-Type: application/json\r\n"
                          "Content-Length: 2048\r\n";
        ex.resp.headers_len = strlen(ex.resp.headers);
        ex.resp.first_us = ex.req.last_us + 800 + i % 500;
        ex.resp.last_us = ex.resp.first_us + 200;
        ex.resp.body = (const uint8_t *)body;
        ex.resp.body_len = (size_t)len;
        ex.resp.body_size = (uint64_t)len;
        ex.resp.wire_bytes = 80 + (uint64_t)len;
        if (corpus_add_exchange(c, &ex, NULL, err))
            return die("exchange", err);
    }
    struct corpus_capture_stats st = {.exchanges = (uint64_t)n,
                                      .ended_us = t0 + n * 100};
    if (corpus_capture_end(c, cap, &st, err) || corpus_close(c, err))
        return die("close", err);
    report("write exchanges", n, now_s() - t);
    return 0;
}

/* A run of N results over the capture's exchanges (ids 1..nex), in due
 * order, with 1% errors: as --scale K (the copies of an exchange together)
 * or, with loops, as --loop (whole passes: the worst order for the
 * results B-tree). */
static int gen_results(const char *path, int64_t n, int loops)
{
    char err[RP_ERRLEN];
    struct corpus *c;
    int64_t run, nex;
    if (corpus_open(path, CORPUS_WRITE, &c, err))
        return die(path, err);
    if (corpus_ex_count(c, 0, &nex, err))
        return die("count", err);
    if (nex < 1)
        return die(path, "no exchanges");
    struct corpus_run_info ri = {1, "bench", "http://127.0.0.1:1", "max",
                                 "{}", rp_wall_us()};
    if (corpus_run_begin(c, &ri, &run, err))
        return die("run", err);
    int64_t scale = (n + nex - 1) / nex;
    double t = now_s();
    for (int64_t i = 0; i < n; i++) {
        struct corpus_result r = {0};
        if (loops) { /* like --loop: whole passes over the capture */
            r.exchange_id = 1 + i % nex;
            r.loop = (int)(i / nex);
        } else {     /* like --scale K: K copies of each exchange */
            r.exchange_id = 1 + (i / scale) % nex;
            r.copy = (int)(i % scale);
        }
        r.scheduled_us = i * 10;
        r.sent_us = r.scheduled_us + 5;
        r.first_byte_us = r.sent_us + 700 + i % 300;
        r.done_us = r.first_byte_us + 100;
        r.connect_us = 0;
        r.status = 200;
        r.resp_bytes = 2048;
        r.has_body_hash = 1;
        memcpy(r.body_hash, &i, sizeof i);
        if (i % 100 == 99) {
            r.status = 0;
            r.error_class = CORPUS_ERR_TIMEOUT;
            r.error = "Operation timed out";
            r.first_byte_us = r.done_us = -1;
            r.has_body_hash = 0;
        }
        if (corpus_add_result(c, run, &r, err))
            return die("result", err);
    }
    double t_add = now_s() - t;
    if (corpus_run_end(c, run, rp_wall_us(), "complete", NULL, err) ||
        corpus_close(c, err))
        return die("close", err);
    report(loops ? "write results/loop" : "write results", n, now_s() - t);
    printf("  (adds %.3f s, run end + close %.3f s)\n", t_add,
           now_s() - t - t_add);
    return 0;
}

static int read_samples(const char *path, enum corpus_set_kind kind,
                        int64_t id)
{
    char err[RP_ERRLEN];
    struct corpus *c;
    struct corpus_sample_cursor *cur;
    struct corpus_sample s;
    double t = now_s();
    if (corpus_open(path, CORPUS_READ, &c, err))
        return die(path, err);
    if (corpus_samples_open(c, kind, id, &cur, err))
        return die("samples", err);
    int64_t n = 0, sum = 0;
    int r;
    while ((r = corpus_samples_next(cur, &s, err)) == 1) {
        n++;
        sum += s.latency_us + (int64_t)strlen(s.target);
    }
    if (r < 0)
        return die("samples", err);
    corpus_samples_close(cur);
    corpus_close(c, NULL);
    report(kind == CORPUS_SET_RUN ? "read run samples" : "read cap samples",
           n, now_s() - t);
    return sum == 42; /* keeps the loop */
}

static int read_exchanges(const char *path)
{
    char err[RP_ERRLEN];
    struct corpus *c;
    struct corpus_ex_cursor *cur;
    struct corpus_exchange ex;
    double t = now_s();
    if (corpus_open(path, CORPUS_READ, &c, err))
        return die(path, err);
    if (corpus_ex_open(c, 0, &cur, err))
        return die("exchanges", err);
    int64_t n = 0;
    int r;
    while ((r = corpus_ex_next(cur, &ex, err)) == 1)
        n++;
    if (r < 0)
        return die("exchanges", err);
    corpus_ex_close(cur);
    corpus_close(c, NULL);
    report("read exchanges", n, now_s() - t);
    return 0;
}

/* Times open + `ls` listing (to /dev/null) or open + export. */
static int time_list(const char *path, int export)
{
    char err[RP_ERRLEN];
    struct corpus *c;
    double t = now_s();
    if (corpus_open(path, CORPUS_READ, &c, err))
        return die(path, err);
    FILE *out = fopen("/dev/null", "w");
    if (!out)
        return die("/dev/null", "cannot open");
    double t_open = now_s() - t;
    int r = export ? corpus_export_jsonl(c, 0, out, err)
                   : corpus_list(c, out, err);
    if (r)
        return die(export ? "export" : "ls", err);
    double t_all = now_s() - t;
    int64_t n = 0;
    corpus_ex_count(c, 0, &n, err);
    corpus_close(c, NULL);
    fclose(out);
    if (export)
        report("open+export", n, t_all);
    else
        printf("open+ls            %10lld exchanges: open %.4f s, open+ls "
               "%.4f s\n", (long long)n, t_open, t_all);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_corpus exchanges|results|results-loop DB N\n"
                        "       bench_corpus run-samples|cap-samples DB ID\n"
                        "       bench_corpus read-exchanges|ls|export DB\n");
        return 2;
    }
    const char *cmd = argv[1], *db = argv[2];
    int64_t n = argc > 3 ? strtoll(argv[3], NULL, 10) : 0;
    if (!strcmp(cmd, "exchanges"))
        return gen_exchanges(db, n);
    if (!strcmp(cmd, "results"))
        return gen_results(db, n, 0);
    if (!strcmp(cmd, "results-loop"))
        return gen_results(db, n, 1);
    if (!strcmp(cmd, "run-samples"))
        return read_samples(db, CORPUS_SET_RUN, n);
    if (!strcmp(cmd, "cap-samples"))
        return read_samples(db, CORPUS_SET_CAPTURE, n);
    if (!strcmp(cmd, "read-exchanges"))
        return read_exchanges(db);
    if (!strcmp(cmd, "ls"))
        return time_list(db, 0);
    if (!strcmp(cmd, "export"))
        return time_list(db, 1);
    return 2;
}
