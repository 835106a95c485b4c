/*
 * gen_shards.c: writes N synthetic shard corpora of M results each through
 * the corpus API, for the merge benchmark (no network, no replay needed).
 *
 *   gen_shards DIR N M
 *
 * DIR/base.db holds one capture of 10000 exchanges on 1000 connections
 * and no run; DIR/shard-I.db (I = 0..N-1) is a copy of it with the run of
 * shard I/N of one replay labelled "bench": the copies c with c mod N = I
 * of every exchange, so the shards are disjoint and together hold N x M
 * results, written in key order. Times are plausible (2000 requests/s,
 * 1-3 ms latency); every 97th result is a 503. Deterministic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rp.h"
#include "corpus/corpus.h"

#define NEX 10000
#define NCONN 1000
#define T0 1700000000000000LL
#define BATCH 4096

static int die(const char *what, const char *err)
{
    fprintf(stderr, "gen_shards: %s: %s\n", what, err);
    return 1;
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char buf[1 << 16];
    size_t n;
    int rc = !a || !b;
    while (!rc && (n = fread(buf, 1, sizeof buf, a)) > 0)
        rc = fwrite(buf, 1, n, b) != n;
    if (a)
        fclose(a);
    if (b && fclose(b))
        rc = 1;
    return rc;
}

int main(int argc, char **argv)
{
    char err[RP_ERRLEN], base[4096], path[4096];
    if (argc != 4) {
        fprintf(stderr, "usage: gen_shards DIR N M\n");
        return 2;
    }
    long n = atol(argv[2]), m = atol(argv[3]);
    if (n <= 0 || m <= 0 || (n * m) % NEX)
        return die("N x M", "must be a positive multiple of 10000");
    long copies = n * m / NEX; /* over all shards */
    snprintf(base, sizeof base, "%s/base.db", argv[1]);
    struct corpus *c;
    if (corpus_open(base, CORPUS_IMPORT, &c, err))
        return die("open", err);
    struct corpus_capture_info ci = {"synthetic", "file:synthetic.pcap",
                                     NULL, T0, 0, NULL};
    int64_t cap, conn[NCONN], first = 0, id;
    if (corpus_capture_begin(c, &ci, &cap, err))
        return die("capture", err);
    for (int k = 0; k < NCONN; k++) {
        struct corpus_conn cc = {cap, "10.0.0.1", 20000 + k, "10.0.0.2", 80,
                                 T0, 0};
        if (corpus_add_connection(c, &cc, &conn[k], err))
            return die("connection", err);
    }
    for (long i = 0; i < NEX; i++) {
        char t[64];
        struct corpus_exchange ex = {0};
        snprintf(t, sizeof t, "/api/items/%ld", i % 500);
        ex.capture_id = cap;
        ex.conn_id = conn[i % NCONN];
        ex.seq = i / NCONN;
        ex.method = "GET";
        ex.target = t;
        ex.host = "api.example";
        ex.version = "HTTP/1.1";
        ex.req.first_us = ex.req.last_us = T0 + i * 500;
        ex.resp.first_us = ex.resp.last_us = T0 + i * 500 + 1500;
        ex.status = 200;
        ex.resp.body = (const uint8_t *)"{\"ok\":1}";
        ex.resp.body_len = ex.resp.body_size = 8;
        if (corpus_add_exchange(c, &ex, &id, err))
            return die("exchange", err);
        if (!i)
            first = id;
    }
    struct corpus_capture_stats st = {0};
    st.exchanges = NEX;
    if (corpus_capture_end(c, cap, &st, err) || corpus_close(c, err))
        return die("capture end", err);
    struct corpus_result *rb = calloc(BATCH, sizeof *rb);
    if (!rb)
        return die("malloc", "out of memory");
    for (long s = 0; s < n; s++) {
        snprintf(path, sizeof path, "%s/shard-%ld.db", argv[1], s);
        if (copy_file(base, path))
            return die(path, "cannot copy base.db");
        if (corpus_open(path, CORPUS_IMPORT, &c, err))
            return die("open", err);
        char opts[256], sum[128];
        snprintf(opts, sizeof opts, "{\"target\":\"http://127.0.0.1:8080\","
                 "\"mode\":\"speed\",\"speed\":10,\"scale\":%ld,"
                 "\"threads\":1,\"shard_index\":%ld,\"shard_count\":%ld,"
                 "\"start_at_us\":%lld}", copies, s, n, T0 + 3600000000LL);
        struct corpus_run_info ri = {cap, "bench", "http://127.0.0.1:8080",
                                     "speed", opts, T0 + 3600000000LL};
        int64_t run;
        if (corpus_run_begin(c, &ri, &run, err))
            return die("run", err);
        size_t k = 0;
        for (long i = 0; i < NEX; i++) {
            for (long cp = s; cp < copies; cp += n) {
                struct corpus_result *r = &rb[k++];
                memset(r, 0, sizeof *r);
                r->exchange_id = first + i;
                r->copy = (int)cp;
                r->scheduled_us = i * 50 + cp * 50 / copies;
                r->sent_us = r->scheduled_us + 20 + s;
                r->first_byte_us = r->sent_us + 1000 + (i * 7 + cp) % 2000;
                r->done_us = r->first_byte_us + 30;
                r->status = (i + cp) % 97 ? 200 : 503;
                r->resp_bytes = 8;
                if (k == BATCH) {
                    if (corpus_add_results(c, run, rb, k, NULL, err))
                        return die("results", err);
                    k = 0;
                }
            }
        }
        if (k && corpus_add_results(c, run, rb, k, NULL, err))
            return die("results", err);
        snprintf(sum, sizeof sum, "{\"t0_wall_us\":%lld}",
                 T0 + 3600000000LL);
        if (corpus_run_end(c, run, T0 + 3700000000LL, "complete", sum, err) ||
            corpus_close(c, err))
            return die("run end", err);
    }
    free(rb);
    return 0;
}
