/*
 * bench_replay_gen.c: writes a synthetic capture for the replay benchmarks
 * through the corpus API (no network needed):
 *
 *   bench_replay_gen DB EXCHANGES RATE CONNS BODY_BYTES [distinct]
 *
 * EXCHANGES requests at RATE per second, dealt round robin over CONNS
 * keep-alive connections. With BODY_BYTES > 0 every request is a POST /post
 * with a distinct body of that size (so bodies are not deduplicated and the
 * corpus grows with EXCHANGES); otherwise a GET / like a browser's, or with
 * "distinct" a GET /?n=I (I = 0..EXCHANGES-1), so a capture of the replay
 * can show that each request was sent exactly once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rp.h"
#include "corpus/corpus.h"

int main(int argc, char **argv)
{
    struct corpus *c;
    char err[RP_ERRLEN];
    int64_t cap, conns[256], seq[256] = {0};
    if (argc != 6 && !(argc == 7 && !strcmp(argv[6], "distinct"))) {
        fprintf(stderr, "usage: bench_replay_gen DB EXCHANGES RATE CONNS "
                        "BODY_BYTES [distinct]\n");
        return 2;
    }
    int distinct = argc == 7;
    char target[32];
    long n = atol(argv[2]), nconn = atol(argv[4]), body = atol(argv[5]);
    double rate = atof(argv[3]);
    if (n <= 0 || rate <= 0 || nconn <= 0 || nconn > 256 || body < 0) {
        fprintf(stderr, "bench_replay_gen: bad arguments\n");
        return 2;
    }
    int64_t base = 1700000000000000;
    if (corpus_open(argv[1], CORPUS_CREATE, &c, err))
        goto fail;
    struct corpus_capture_info ci = {.label = "bench", .source = "synthetic",
                                     .started_us = base};
    if (corpus_capture_begin(c, &ci, &cap, err))
        goto fail;
    for (long k = 0; k < nconn; k++) {
        struct corpus_conn cc = {.capture_id = cap, .client_addr = "10.0.0.1",
                                 .client_port = (int)(40000 + k),
                                 .server_addr = "10.0.0.2", .server_port = 80,
                                 .first_us = base};
        if (corpus_add_connection(c, &cc, &conns[k], err))
            goto fail;
    }
    uint8_t *buf = malloc(body > 0 ? (size_t)body : 1);
    const char *get_h = "Host: bench.example\r\nUser-Agent: bench/1\r\n"
                        "Accept: */*\r\n";
    const char *post_h = "Host: bench.example\r\nUser-Agent: bench/1\r\n"
                         "Content-Type: application/octet-stream\r\n";
    for (long i = 0; i < n; i++) {
        struct corpus_exchange ex;
        long k = i % nconn;
        memset(&ex, 0, sizeof ex);
        ex.capture_id = cap;
        ex.conn_id = conns[k];
        ex.seq = seq[k]++;
        ex.method = body ? "POST" : "GET";
        snprintf(target, sizeof target, "/?n=%ld", i);
        ex.target = body ? "/post" : distinct ? target : "/";
        ex.host = "bench.example";
        ex.version = "HTTP/1.1";
        ex.req.headers = body ? post_h : get_h;
        ex.req.headers_len = strlen(ex.req.headers);
        if (body) {
            for (long b = 0; b < body; b++)
                buf[b] = (uint8_t)('a' + (i * 31 + b * 7) % 26);
            snprintf((char *)buf, (size_t)body, "%ld:", i);
            ex.req.body = buf;
            ex.req.body_len = ex.req.body_size = (size_t)body;
        }
        ex.req.first_us = ex.req.last_us = base + (int64_t)((double)i * 1e6 / rate);
        ex.status = 200;
        ex.resp.first_us = ex.resp.last_us = ex.req.last_us + 500;
        int64_t id;
        if (corpus_add_exchange(c, &ex, &id, err))
            goto fail;
    }
    free(buf);
    struct corpus_capture_stats st = {.exchanges = (uint64_t)n,
                                      .ended_us = base + (int64_t)((double)n * 1e6 / rate)};
    if (corpus_capture_end(c, cap, &st, err) || corpus_close(c, err))
        goto fail;
    return 0;
fail:
    fprintf(stderr, "bench_replay_gen: %s\n", err);
    return 1;
}
