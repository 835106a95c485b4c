/*
 * gen_corpus.c: writes a synthetic corpus through the corpus API, for the
 * analyze benchmark and end-to-end test (no network, no pcap needed).
 *
 *   gen_corpus DB EXCHANGES COPIES
 *
 * One capture of EXCHANGES exchanges over six endpoints, then three runs of
 * EXCHANGES x COPIES results each: "v1", "v1b" (an A/A partner of v1) and
 * "v2", in which GET /api/search is 60% slower, 3% of POST /api/orders
 * fail with 503 and 5% of GET /api/users/:id bodies change. Deterministic.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rp.h"
#include "corpus/corpus.h"

static uint64_t rs;
static double unif(void)
{
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return ((double)(rs >> 11) + 0.5) / 9007199254740992.0;
}

static const char *const methods[6] = {"GET", "GET", "POST", "GET", "GET",
                                       "DELETE"};

static void target_of(long i, char *buf, size_t n)
{
    switch (i % 6) {
    case 0: snprintf(buf, n, "/api/users/%ld", 1000 + i % 5000); break;
    case 1: snprintf(buf, n, "/api/search?q=item%ld", i % 97); break;
    case 2: snprintf(buf, n, "/api/orders"); break;
    case 3: snprintf(buf, n, "/static/app.%lx.js", 0x1000000 + i % 7); break;
    case 4: snprintf(buf, n, "/health"); break;
    default: snprintf(buf, n, "/api/sessions/%08lx-aaaa-4bbb-8ccc-%012lx",
                      (unsigned long)i, (unsigned long)i); break;
    }
}

/* Latency in µs: log-normal-ish per endpoint, slower search in v2. */
static int64_t latency(long i, int v2)
{
    static const double med[6] = {1200, 8000, 3000, 400, 150, 2000};
    double m = med[i % 6] * (v2 && i % 6 == 1 ? 1.6 : 1.0);
    double z = unif() + unif() + unif() - 1.5; /* ~N(0, 0.5) */
    return (int64_t)(m * exp(0.5 * z));
}

static int die(const char *what, const char *err)
{
    fprintf(stderr, "gen_corpus: %s: %s\n", what, err);
    return 1;
}

int main(int argc, char **argv)
{
    char err[RP_ERRLEN];
    if (argc != 4) {
        fprintf(stderr, "usage: gen_corpus DB EXCHANGES COPIES\n");
        return 2;
    }
    long nex = atol(argv[2]), copies = atol(argv[3]);
    if (nex <= 0 || copies <= 0)
        return 2;
    struct corpus *c;
    if (corpus_open(argv[1], CORPUS_CREATE, &c, err))
        return die("open", err);
    const int64_t t0 = 1700000000000000;
    const int64_t gap = 1000000 / 2000; /* 2000 requests/s in the capture */
    struct corpus_capture_info ci = {"synthetic", "file:synthetic.pcap",
                                     NULL, t0, 0, NULL};
    int64_t cap, conn;
    if (corpus_capture_begin(c, &ci, &cap, err))
        return die("capture", err);
    struct corpus_conn cc = {cap, "10.0.0.1", 40000, "10.0.0.2", 80, t0, 0};
    if (corpus_add_connection(c, &cc, &conn, err))
        return die("connection", err);
    int64_t *ids = malloc((size_t)nex * sizeof *ids);
    if (!ids)
        return die("malloc", "out of memory");
    rs = 1;
    for (long i = 0; i < nex; i++) {
        char t[128], body[64];
        struct corpus_exchange ex = {0};
        ex.capture_id = cap;
        ex.conn_id = conn;
        ex.seq = i;
        ex.method = methods[i % 6];
        target_of(i, t, sizeof t);
        ex.target = t;
        ex.host = "api.example";
        ex.version = "HTTP/1.1";
        ex.req.headers = "Host: api.example\r\nUser-Agent: gen\r\n";
        ex.req.headers_len = strlen(ex.req.headers);
        int64_t at = t0 + i * gap, lat = latency(i, 0);
        ex.req.first_us = at;
        ex.req.last_us = at + 20;
        ex.resp.first_us = at + lat - 30;
        ex.resp.last_us = at + lat;
        ex.status = 200;
        ex.reason = "OK";
        snprintf(body, sizeof body, "{\"id\": %ld}", i % 5000);
        ex.resp.body = (const uint8_t *)body;
        ex.resp.body_len = ex.resp.body_size = strlen(body);
        if (corpus_add_exchange(c, &ex, &ids[i], err))
            return die("exchange", err);
    }
    struct corpus_capture_stats st = {0};
    st.exchanges = (uint64_t)nex;
    st.ended_us = t0 + nex * gap;
    if (corpus_capture_end(c, cap, &st, err))
        return die("capture end", err);
    const char *labels[3] = {"v1", "v1b", "v2"};
    for (int r = 0; r < 3; r++) {
        int v2 = r == 2;
        rs = 100 + (uint64_t)r;
        struct corpus_run_info ri = {cap, labels[r], "http://127.0.0.1:8080",
                                     "speed", "{}", t0 + (r + 1) * 3600000000LL};
        int64_t run;
        if (corpus_run_begin(c, &ri, &run, err))
            return die("run", err);
        for (long i = 0; i < nex; i++) {
            for (long k = 0; k < copies; k++) {
                struct corpus_result res = {0};
                char body[64];
                res.exchange_id = ids[i];
                res.copy = (int)k;
                res.scheduled_us = i * gap + k * 37;
                res.sent_us = res.scheduled_us + 15;
                res.done_us = res.scheduled_us + latency(i, v2);
                res.first_byte_us = res.done_us - 30;
                res.status = 200;
                snprintf(body, sizeof body, "{\"id\": %ld}", i % 5000);
                if (v2 && i % 6 == 2 && unif() < 0.03)
                    res.status = 503;
                if (v2 && i % 6 == 0 && unif() < 0.05)
                    snprintf(body, sizeof body, "{\"id\": %ld, \"x\": 1}",
                             i % 5000);
                rp_hash(body, strlen(body), res.body_hash);
                res.has_body_hash = 1;
                res.resp_bytes = (int64_t)strlen(body);
                if (corpus_add_result(c, run, &res, err))
                    return die("result", err);
            }
        }
        if (corpus_run_end(c, run, ri.started_us + nex * gap, "complete",
                           NULL, err))
            return die("run end", err);
    }
    free(ids);
    if (corpus_close(c, err))
        return die("close", err);
    return 0;
}
