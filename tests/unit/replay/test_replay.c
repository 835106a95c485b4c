/*
 * test_replay.c: unit tests of the replay module. The pure parts first:
 * header shaping (what is replayed, dropped, overridden, suppressed,
 * redacted), filters, path rewriting, due times for every mode with --scale
 * and --loop, the job heap, the histogram and libcurl error classes. Then
 * whole runs of `reprise replay` (replay_cmd) against a small HTTP/1.1
 * server inside the test on 127.0.0.1, over a corpus the test writes
 * through the corpus API: the server must see exactly the captured
 * requests (method, target, body, Host), and the run must hold one result
 * per scheduled request, including errors for a closed port and timeouts,
 * response framing (chunked, close-delimited, 1xx, 204, 304, 101, broken
 * responses), pipelining and pipelined sessions. Every whole run is run
 * once per engine (raw, curl).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "corpus/corpus.h"
#include "replay/replay.h"
#include "replay/replay_int.h"
#include "replay/transport.h"
#include "tests/unit/tmp_fixture.h"

/* ---- shaping ------------------------------------------------------------ */

struct lines {
    char v[32][256];
    int n;
};

static int collect(void *arg, const char *line)
{
    struct lines *l = arg;
    if (l->n >= 32)
        return RP_ENOMEM;
    snprintf(l->v[l->n++], sizeof l->v[0], "%s", line);
    return 0;
}

static int has_line(const struct lines *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s))
            return 1;
    return 0;
}

/* The head shaped for one captured header block, as a C string. */
static char *head_of(const struct rp_opts *o, const char *method,
                     const char *target, const char *h, int *red)
{
    struct rp_buf b;
    rp_buf_init(&b, 0);
    assert_int_equal(replay_shape_head(o, method, target, "HTTP/1.1", h,
                                       h ? strlen(h) : 0, &b, red),
                     0);
    return b.data;
}

static const char odd_headers[] = "Host: shop.example\r\n"
                                  "User-Agent: app/1.0\r\n"
                                  "content-length: 5\r\n"
                                  "Transfer-Encoding: chunked\r\n"
                                  "Connection: keep-alive\r\n"
                                  "Expect: 100-continue\r\n"
                                  "Cookie: a=1\r\n"
                                  "Cookie: b=2\r\n"
                                  "Authorization: [redacted sha256:abcd]\r\n"
                                  "X-Empty:\r\n"
                                  "X-Folded: one\r\n"
                                  "  two\r\n"
                                  "x-CASE:  spaced \r\n";

/* With no options the head is the captured bytes, less the redacted. */
static void test_head_verbatim(void **state)
{
    (void)state;
    struct rp_opts o;
    memset(&o, 0, sizeof o);
    int red = 0;
    char *h = head_of(&o, "POST", "/p?q=1", odd_headers, &red);
    assert_int_equal(red, 1);
    assert_string_equal(h, "POST /p?q=1 HTTP/1.1\r\n"
                           "Host: shop.example\r\n"
                           "User-Agent: app/1.0\r\n"
                           "content-length: 5\r\n"
                           "Transfer-Encoding: chunked\r\n"
                           "Connection: keep-alive\r\n"
                           "Expect: 100-continue\r\n"
                           "Cookie: a=1\r\n"
                           "Cookie: b=2\r\n"
                           "X-Empty:\r\n"
                           "X-Folded: one\r\n"
                           "  two\r\n"
                           "x-CASE:  spaced \r\n"
                           "\r\n");
    free(h);
    h = head_of(&o, "OPTIONS", "*", NULL, NULL);
    assert_string_equal(h, "OPTIONS * HTTP/1.1\r\n\r\n");
    free(h);
    assert_true(replay_shape_is_redacted("[redacted 3 bytes]", 18));
    assert_false(replay_shape_is_redacted("[redacte", 8));
    assert_true(replay_shape_is_framing("content-LENGTH", 14));
    assert_false(replay_shape_is_framing("Content-Type", 12));
}

/* --set-header, --drop-header and --host edit in place. */
static void test_head_options(void **state)
{
    (void)state;
    struct rp_opts o;
    memset(&o, 0, sizeof o);
    const char *set[] = {"authorization:Bearer t", "X-New: 1", "Cookie: c=3"};
    const char *drop[] = {"user-agent"};
    o.set_headers = set;
    o.nset_headers = 3;
    o.drop_headers = drop;
    o.ndrop_headers = 1;
    o.host = "staging.example";
    int red = -1;
    char *h = head_of(&o, "GET", "/", "host: shop.example\r\nUser-Agent: x\r\n"
                      "Cookie: a=1\r\nAuthorization: [redacted]x\r\n"
                      "Accept: */*\r\nCookie: b=2\r\n", &red);
    assert_int_equal(red, 0); /* replaced by --set-header, not "dropped" */
    assert_string_equal(h, "GET / HTTP/1.1\r\n"
                           "host: staging.example\r\n"
                           "Cookie: c=3\r\n"
                           "authorization: Bearer t\r\n"
                           "Accept: */*\r\n"
                           "X-New: 1\r\n"
                           "\r\n");
    free(h);
    /* --host with no captured Host adds one. */
    memset(&o, 0, sizeof o);
    o.host = "h.example";
    h = head_of(&o, "GET", "/", "A: 1\r\n", NULL);
    assert_string_equal(h, "GET / HTTP/1.1\r\nA: 1\r\nHost: h.example\r\n\r\n");
    free(h);
}

/* libcurl's dialect of a shaped head (tp_curl.c). */
static void test_curl_headers(void **state)
{
    (void)state;
    struct rp_opts o;
    memset(&o, 0, sizeof o);
    char *h = head_of(&o, "GET", "/", odd_headers, NULL);
    struct lines l = {0};
    assert_int_equal(replay_curl_header_lines(h, strlen(h), 0, collect, &l),
                     0);
    free(h);
    assert_true(has_line(&l, "Host: shop.example"));
    assert_true(has_line(&l, "User-Agent: app/1.0"));
    assert_true(has_line(&l, "Cookie: a=1"));
    assert_true(has_line(&l, "Cookie: b=2"));
    assert_true(has_line(&l, "X-Empty;"));
    assert_true(has_line(&l, "X-Folded: one two"));
    assert_true(has_line(&l, "x-CASE: spaced"));
    assert_true(has_line(&l, "Accept:"));  /* curl adds none */
    assert_true(has_line(&l, "Expect:"));
    assert_false(has_line(&l, "Content-Type:")); /* no body */
    for (int i = 0; i < l.n; i++) {
        assert_null(strcasestr(l.v[i], "Content-Length"));
        assert_null(strstr(l.v[i], "chunked"));
        assert_null(strstr(l.v[i], "keep-alive"));
        assert_null(strstr(l.v[i], "redacted"));
        assert_null(strstr(l.v[i], "100-continue"));
    }
    assert_string_equal(l.v[0], "Host: shop.example"); /* order kept */
    /* A body without a captured Content-Type: suppress curl's default. */
    const char *h2 = "POST / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct lines l2 = {0};
    assert_int_equal(replay_curl_header_lines(h2, strlen(h2), 1, collect,
                                              &l2), 0);
    assert_true(has_line(&l2, "Content-Type:"));
    const char *h3 = "POST / HTTP/1.1\r\nAccept: text/html\r\n"
                     "Content-Type: application/json\r\n\r\n";
    struct lines l3 = {0};
    assert_int_equal(replay_curl_header_lines(h3, strlen(h3), 1, collect,
                                              &l3), 0);
    assert_true(has_line(&l3, "Accept: text/html"));
    assert_false(has_line(&l3, "Accept:"));
    assert_false(has_line(&l3, "Content-Type:"));
}

static struct corpus_exchange mkex(const char *method, const char *target,
                                   const char *host, int status)
{
    struct corpus_exchange ex;
    memset(&ex, 0, sizeof ex);
    ex.method = method;
    ex.target = target;
    ex.host = host;
    ex.status = status;
    return ex;
}

static void test_filters(void **state)
{
    (void)state;
    struct rp_opts o;
    struct rp_filter f[4];
    char err[RP_ERRLEN];
    memset(&o, 0, sizeof o);
    assert_int_equal(replay_shape_filter_parse("method=GET", &f[0], err), 0);
    assert_int_equal(replay_shape_filter_parse("method=POST", &f[1], err), 0);
    assert_int_equal(replay_shape_filter_parse("path=/api/*", &f[2], err), 0);
    assert_int_equal(replay_shape_filter_parse("status=2xx", &f[3], err), 0);
    o.filters = f;
    o.nfilters = 4;
    struct corpus_exchange a = mkex("GET", "/api/v1/x?q=1", "h", 200);
    struct corpus_exchange b = mkex("PUT", "/api/v1/x", "h", 200);
    struct corpus_exchange c = mkex("POST", "/web", "h", 200);
    struct corpus_exchange d = mkex("POST", "/api/y", "h", 503);
    assert_true(replay_shape_filter_match(&o, &a, 0));
    assert_false(replay_shape_filter_match(&o, &b, 0));
    assert_false(replay_shape_filter_match(&o, &c, 0));
    assert_false(replay_shape_filter_match(&o, &d, 0));
    assert_int_equal(replay_shape_filter_parse("from=2s", &f[0], err), 0);
    assert_int_equal(replay_shape_filter_parse("to=5", &f[1], err), 0);
    o.nfilters = 2;
    assert_false(replay_shape_filter_match(&o, &a, 1999999));
    assert_true(replay_shape_filter_match(&o, &a, 2000000));
    assert_false(replay_shape_filter_match(&o, &a, 5000000));
    assert_int_equal(replay_shape_filter_parse("colour=red", &f[0], err),
                     RP_EUSAGE);
    assert_int_equal(replay_shape_filter_parse("status=abc", &f[0], err),
                     RP_EUSAGE);
    assert_int_equal(replay_shape_filter_parse("method", &f[0], err),
                     RP_EUSAGE);
    assert_int_equal(replay_shape_filter_parse("from=soon", &f[0], err),
                     RP_EUSAGE);
}

static void test_rewrite(void **state)
{
    (void)state;
    struct rp_opts o;
    struct rp_rewrite rw[2];
    char err[RP_ERRLEN];
    memset(&o, 0, sizeof o);
    assert_int_equal(
        replay_shape_rewrite_parse("^/api/v1/(.*)$=/v2/\\1", &rw[0], err), 0);
    assert_int_equal(replay_shape_rewrite_parse("k\\=1=k=2", &rw[1], err), 0);
    o.rewrites = rw;
    o.nrewrites = 2;
    char *s = replay_shape_rewrite_apply(&o, "/api/v1/users?k=1");
    assert_string_equal(s, "/v2/users?k=2");
    free(s);
    s = replay_shape_rewrite_apply(&o, "/other");
    assert_string_equal(s, "/other");
    free(s);
    replay_shape_rewrite_free(&rw[0]);
    replay_shape_rewrite_free(&rw[1]);
    assert_int_equal(replay_shape_rewrite_parse("(unclosed=/x", &rw[0], err),
                     RP_EUSAGE);
    assert_int_equal(replay_shape_rewrite_parse("noequals", &rw[0], err),
                     RP_EUSAGE);
}

/* ---- schedule ----------------------------------------------------------- */

static void test_sched_due(void **state)
{
    (void)state;
    struct rp_plan p;
    memset(&p, 0, sizeof p);
    p.t0_us = 1000000;
    p.span_us = 900000; /* 10 exchanges 100 ms apart */
    p.gap_us = 100000;
    p.nsel = 10;
    p.scale = 1;
    p.loops = 1;
    p.mode = RM_SPEED;
    p.speed = 1;
    assert_int_equal(replay_sched_due(&p, 1000000, 0, 0, 0), 0);
    assert_int_equal(replay_sched_due(&p, 1500000, 5, 0, 0), 500000);
    p.speed = 10;
    assert_int_equal(replay_sched_due(&p, 1500000, 5, 0, 0), 50000);
    /* --scale 4: copies inside the gap, in order, before the next one. */
    p.speed = 1;
    p.scale = 4;
    assert_int_equal(replay_sched_due(&p, 1000000, 0, 1, 0), 25000);
    assert_int_equal(replay_sched_due(&p, 1000000, 0, 3, 0), 75000);
    assert_true(replay_sched_due(&p, 1000000, 0, 3, 0) <
                replay_sched_due(&p, 1100000, 1, 0, 0));
    /* --loop: the second pass starts one gap after the first one's end. */
    p.scale = 1;
    p.loops = 3;
    p.nshard = 10; /* unsharded: every (exchange, copy) */
    assert_int_equal(replay_sched_due(&p, 1000000, 0, 0, 1), 1000000);
    assert_int_equal(replay_sched_due(&p, 1900000, 9, 0, 2), 2900000);
    assert_int_equal(replay_sched_total(&p), 30);
    p.loops = 0;
    assert_int_equal(replay_sched_total(&p), -1);
    /* --rate 100/s with --scale 2: every request 10 ms apart. */
    p.mode = RM_RATE;
    p.rate = 100;
    p.scale = 2;
    assert_int_equal(replay_sched_due(&p, 0, 0, 1, 0), 10000);
    assert_int_equal(replay_sched_due(&p, 0, 3, 0, 0), 60000);
    assert_int_equal(replay_sched_due(&p, 0, 0, 0, 1), 200000);
    p.mode = RM_MAX;
    assert_int_equal(replay_sched_due(&p, 5000000, 3, 1, 2), 0);
}

static void test_heap(void **state)
{
    (void)state;
    struct rp_heap h = {0};
    int64_t dues[] = {50, 10, 30, 10, 40, 0, 30};
    for (int i = 0; i < 7; i++) {
        struct rp_job j = {0};
        j.due_us = dues[i];
        j.seq = (uint64_t)i;
        assert_int_equal(replay_heap_push(&h, &j), 0);
    }
    struct rp_job j;
    int64_t last = -1;
    uint64_t last_seq = 0;
    int n = 0;
    while (replay_heap_pop(&h, &j)) {
        assert_true(j.due_us >= last);
        if (j.due_us == last)
            assert_true(j.seq > last_seq); /* ties keep insertion order */
        last = j.due_us;
        last_seq = j.seq;
        n++;
    }
    assert_int_equal(n, 7);
    replay_heap_free(&h);
}

static void test_errclass(void **state)
{
    (void)state;
    assert_int_equal(replay_curl_errclass(CURLE_OK), CORPUS_ERR_NONE);
    assert_int_equal(replay_curl_errclass(CURLE_COULDNT_CONNECT),
                     CORPUS_ERR_REFUSED);
    assert_int_equal(replay_curl_errclass(CURLE_RECV_ERROR), CORPUS_ERR_RESET);
    assert_int_equal(replay_curl_errclass(CURLE_GOT_NOTHING), CORPUS_ERR_RESET);
    assert_int_equal(replay_curl_errclass(CURLE_PARTIAL_FILE), CORPUS_ERR_RESET);
    assert_int_equal(replay_curl_errclass(CURLE_OPERATION_TIMEDOUT),
                     CORPUS_ERR_TIMEOUT);
    assert_int_equal(replay_curl_errclass(CURLE_COULDNT_RESOLVE_HOST),
                     CORPUS_ERR_DNS);
    assert_int_equal(replay_curl_errclass(CURLE_PEER_FAILED_VERIFICATION),
                     CORPUS_ERR_TLS);
    assert_int_equal(replay_curl_errclass(CURLE_SSL_CONNECT_ERROR),
                     CORPUS_ERR_TLS);
    assert_int_equal(replay_curl_errclass(CURLE_WEIRD_SERVER_REPLY),
                     CORPUS_ERR_PROTOCOL);
}

/* --shard I/N and --start-at: accepted forms, refusals with exit 2, the
 * --concurrency shares, and the hash: every session in exactly one shard,
 * shards about even. */
static void test_shard_opts(void **state)
{
    (void)state;
    struct rp_opts o;
    char err[RP_ERRLEN];
    int help;
    char *ok[] = {"replay", "db", "--target", "http://127.0.0.1:1", "--max",
                  "--concurrency", "5", "--shard", "2/3"};
    assert_int_equal(replay_opts_parse(9, ok, &o, &help, err), 0);
    assert_int_equal(o.shard_index, 2);
    assert_int_equal(o.shard_count, 3);
    assert_int_equal(o.shard_concurrency, 1); /* 2 + 2 + 1 = 5 */
    replay_opts_cleanup(&o);
    const char *bad[] = {"3/3", "0/0", "-1/3", "1", "a/3", "1/", "/3",
                         "1/3x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[] = {"replay", "db", "--target", "http://127.0.0.1:1",
                        "--shard", (char *)bad[i]};
        assert_int_equal(replay_opts_parse(6, argv, &o, &help, err),
                         RP_EUSAGE);
        replay_opts_cleanup(&o);
    }
    char *few[] = {"replay", "db", "--target", "http://127.0.0.1:1", "--max",
                   "--concurrency", "2", "--shard", "0/3"};
    assert_int_equal(replay_opts_parse(9, few, &o, &help, err), RP_EUSAGE);
    replay_opts_cleanup(&o);

    int64_t t;
    assert_int_equal(replay_parse_start_at("2026-12-07T08:00:00Z", 0, &t,
                                           err), 0);
    assert_int_equal(t, 1796630400000000LL);
    assert_int_equal(replay_parse_start_at("2026-12-07T08:00:00.25Z", 0, &t,
                                           err), 0);
    assert_int_equal(t, 1796630400250000LL);
    assert_int_equal(replay_parse_start_at("1970-01-01T00:00:01+00:00", 0,
                                           &t, err), 0);
    assert_int_equal(t, 1000000);
    assert_int_equal(replay_parse_start_at("+5s", 1000, &t, err), 0);
    assert_int_equal(t, 5001000);
    const char *bad_t[] = {"2026-12-07 08:00", "2026-12-07T08:00:00",
                           "2026-12-07T08:00:00+01:00", "2026-13-07T08:00:00Z",
                           "+x", "tomorrow", "2026-12-07T08:00:00.Z"};
    for (size_t i = 0; i < sizeof bad_t / sizeof bad_t[0]; i++)
        assert_int_equal(replay_parse_start_at(bad_t[i], 0, &t, err),
                         RP_EUSAGE);

    /* 3000 sessions (1000 consecutive connection ids, 3 copies) over 7
     * shards: each in exactly one, every shard within 20% of 3000/7 */
    int count[7] = {0};
    for (int64_t conn = 1; conn <= 1000; conn++)
        for (int copy = 0; copy < 3; copy++) {
            int in = 0;
            for (int s = 0; s < 7; s++)
                if (replay_shard_has(s, 7, conn, copy)) {
                    in++;
                    count[s]++;
                }
            assert_int_equal(in, 1);
        }
    for (int s = 0; s < 7; s++)
        assert_in_range(count[s], 3000 / 7 * 8 / 10, 3000 / 7 * 12 / 10);
    assert_true(replay_shard_has(0, 1, 42, 0));
}

static void test_opts(void **state)
{
    (void)state;
    struct rp_opts o;
    char err[RP_ERRLEN];
    int help;
    char *ok[] = {"replay", "c.db", "--target", "http://127.0.0.1:8080",
                  "--speed=2", "--scale", "3", "--filter", "method=GET"};
    assert_int_equal(replay_opts_parse(9, ok, &o, &help, err), 0);
    assert_string_equal(o.base_url, "http://127.0.0.1:8080/");
    assert_string_equal(o.conn_host, "127.0.0.1");
    assert_string_equal(o.conn_port, "8080");
    assert_true(o.speed == 2.0);
    assert_int_equal(o.scale, 3);
    struct rp_buf b;
    rp_buf_init(&b, 0);
    assert_int_equal(replay_opts_json(&o, &b), 0);
    assert_non_null(strstr(b.data, "\"filters\":[\"method=GET\"]"));
    rp_buf_cleanup(&b);
    replay_opts_cleanup(&o);
    char *bad[][4] = {
        {"replay", "c.db", "--target", "ftp://x"},
        {"replay", "c.db", "--target", "http://h/prefix"},
        {"replay", "c.db", "--target", "not a url"},
        {"replay", "c.db", "--speed", "0"},
        {"replay", "c.db", "--rate", "fast"},
        {"replay", "c.db", "--duration", "10parsecs"},
        {"replay", "c.db", "--bogus", "1"},
        {"replay", "c.db", "--spin", "-1ms"},
        {"replay", "c.db", "--spin", "5s"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        assert_int_equal(replay_opts_parse(4, bad[i], &o, &help, err),
                         RP_EUSAGE);
        assert_true(strlen(err) > 0);
        replay_opts_cleanup(&o);
    }
    char *rate[] = {"replay", "c.db", "--target", "http://h", "--rate",
                    "250/s"};
    assert_int_equal(replay_opts_parse(6, rate, &o, &help, err), 0);
    assert_true(o.rate == 250.0 && o.mode == RM_RATE);
    assert_int_equal(o.spin_us, 2000); /* the default */
    assert_string_equal(o.conn_port, "80");
    replay_opts_cleanup(&o);
    char *v6[] = {"replay", "c.db", "--target", "https://[::1]"};
    assert_int_equal(replay_opts_parse(4, v6, &o, &help, err), 0);
    assert_string_equal(o.conn_host, "::1");
    assert_string_equal(o.conn_port, "443");
    replay_opts_cleanup(&o);
    char *spin[] = {"replay", "c.db", "--target", "http://h", "--spin", "0"};
    assert_int_equal(replay_opts_parse(6, spin, &o, &help, err), 0);
    assert_int_equal(o.spin_us, 0);
    replay_opts_cleanup(&o);
    spin[5] = "500us";
    assert_int_equal(replay_opts_parse(6, spin, &o, &help, err), 0);
    assert_int_equal(o.spin_us, 500);
    replay_opts_cleanup(&o);
    char *excl[] = {"replay", "c.db", "--target", "http://h", "--max",
                    "--speed", "2"};
    assert_int_equal(replay_opts_parse(7, excl, &o, &help, err), RP_EUSAGE);
    replay_opts_cleanup(&o);
}

/* ---- a tiny HTTP/1.1 server on 127.0.0.1 -------------------------------- */

#define SRV_MAX_CONN 64
#define SRV_LOG 4096

struct srv {
    int lfd, port;
    int stop_pipe[2];
    pthread_t t;
    int delay_ms;           /* before answering */
    pthread_mutex_t mu;
    char log[SRV_LOG][256]; /* "METHOD TARGET host=H body=B" */
    int logconn[SRV_LOG];   /* serial of the connection it came on */
    int nlog;
    int nreq;               /* requests seen, logged or not */
    int nconn;              /* connections accepted */
    int maxbatch;           /* most requests found in one read */
};

struct sconn {
    int fd;
    int serial;
    char buf[65536];
    size_t len;
};

/* Returns bytes consumed by one complete request in c->buf, or 0; the
 * target goes to target[96]. */
static size_t srv_request(struct srv *s, struct sconn *c, int *head_req,
                          char *tgt)
{
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - c->buf) + 4;
    size_t clen = 0;
    char host[64] = "";
    char method[16] = "", target[96] = "";
    sscanf(c->buf, "%15s %95s", method, target);
    *head_req = !strcmp(method, "HEAD");
    for (char *p = c->buf; p < end; p++) {
        if (!strncasecmp(p, "\r\ncontent-length:", 17))
            clen = (size_t)strtoul(p + 17, NULL, 10);
        if (!strncasecmp(p, "\r\nhost:", 7))
            sscanf(p + 7, " %63[^\r]", host);
    }
    if (c->len < head + clen)
        return 0;
    snprintf(tgt, 96, "%s", target);
    pthread_mutex_lock(&s->mu);
    s->nreq++;
    if (s->nlog < SRV_LOG) {
        s->logconn[s->nlog] = c->serial;
        snprintf(s->log[s->nlog++], sizeof s->log[0], "%s %s host=%s body=%.*s",
                 method, target, host, (int)(clen < 40 ? clen : 40),
                 c->buf + head);
    }
    pthread_mutex_unlock(&s->mu);
    return head + clen;
}

/* Responses by target, for the framing tests; NULL for the usual one.
 * *closed: 1 close after it, 2 reset the connection. */
static const char *srv_special(const char *target, int *closed)
{
    static const struct {
        const char *target, *resp;
        int closed;
    } t[] = {
        {"/chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "2;e=1\r\nhe\r\n3\r\nllo\r\n0\r\nT: x\r\n\r\n", 0},
        {"/close", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                   "Connection: close\r\n\r\nhello", 1},
        {"/eof", "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello",
         1},
        {"/interim", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
                     "Link: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\n"
                     "Content-Length: 5\r\n\r\nhello", 0},
        {"/nocontent", "HTTP/1.1 204 No Content\r\n\r\n", 0},
        {"/notmod", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
         0},
        {"/switch", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n"
                    "Connection: Upgrade\r\n\r\ntunnel bytes", 1},
        {"/garbage", "XTTP/9 what is this\r\n\r\n", 1},
        {"/reset", "", 2},
        {"/short", "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nhel", 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(target, t[i].target)) {
            *closed = t[i].closed;
            return t[i].resp;
        }
    return NULL;
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    struct sconn *conns[SRV_MAX_CONN] = {0};
    struct pollfd pfd[SRV_MAX_CONN + 2];
    const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    for (;;) {
        int n = 0, idx[SRV_MAX_CONN + 2];
        pfd[n].fd = s->stop_pipe[0];
        pfd[n++].events = POLLIN;
        pfd[n].fd = s->lfd;
        pfd[n++].events = POLLIN;
        for (int i = 0; i < SRV_MAX_CONN; i++)
            if (conns[i]) {
                idx[n] = i;
                pfd[n].fd = conns[i]->fd;
                pfd[n++].events = POLLIN;
            }
        if (poll(pfd, (nfds_t)n, 1000) < 0)
            continue;
        if (pfd[0].revents)
            break;
        if (pfd[1].revents & POLLIN) {
            int fd = accept(s->lfd, NULL, NULL);
            int placed = 0;
            for (int i = 0; fd >= 0 && i < SRV_MAX_CONN && !placed; i++)
                if (!conns[i]) {
                    conns[i] = calloc(1, sizeof *conns[i]);
                    conns[i]->fd = fd;
                    placed = 1;
                }
            if (fd >= 0 && !placed)
                close(fd);
            if (placed) {
                pthread_mutex_lock(&s->mu);
                s->nconn++;
                pthread_mutex_unlock(&s->mu);
                for (int i = 0; i < SRV_MAX_CONN; i++)
                    if (conns[i] && conns[i]->fd == fd)
                        conns[i]->serial = s->nconn;
            }
        }
        for (int k = 2; k < n; k++) {
            if (!pfd[k].revents)
                continue;
            struct sconn *c = conns[idx[k]];
            ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
            if (r <= 0) {
                close(c->fd);
                free(c);
                conns[idx[k]] = NULL;
                continue;
            }
            c->len += (size_t)r;
            size_t used;
            int head_req = 0, batch = 0, closed = 0;
            char tgt[96];
            while (!closed && (used = srv_request(s, c, &head_req, tgt)) > 0) {
                memmove(c->buf, c->buf + used, c->len - used);
                c->len -= used;
                batch++;
                if (s->delay_ms)
                    usleep((useconds_t)s->delay_ms * 1000);
                const char *special = srv_special(tgt, &closed);
                /* MSG_NOSIGNAL: the client may have given up (a timeout) */
                ssize_t w = special
                    ? send(c->fd, special, strlen(special), MSG_NOSIGNAL)
                    : send(c->fd, resp, sizeof resp - 1 - (head_req ? 5 : 0),
                           MSG_NOSIGNAL);
                (void)w;
            }
            pthread_mutex_lock(&s->mu);
            if (batch > s->maxbatch)
                s->maxbatch = batch;
            pthread_mutex_unlock(&s->mu);
            if (closed) {
                if (closed == 2) { /* reset, not a FIN */
                    struct linger lg = {1, 0};
                    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
                }
                close(c->fd);
                free(c);
                conns[idx[k]] = NULL;
            }
        }
    }
    for (int i = 0; i < SRV_MAX_CONN; i++)
        if (conns[i]) {
            close(conns[i]->fd);
            free(conns[i]);
        }
    return NULL;
}

static struct srv *srv_start(int delay_ms)
{
    struct srv *s = calloc(1, sizeof *s);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 128), 0);
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    s->delay_ms = delay_ms;
    assert_int_equal(pipe(s->stop_pipe), 0);
    pthread_mutex_init(&s->mu, NULL);
    assert_int_equal(pthread_create(&s->t, NULL, srv_main, s), 0);
    return s;
}

static void srv_stop(struct srv *s)
{
    ssize_t w = write(s->stop_pipe[1], "x", 1);
    (void)w;
    pthread_join(s->t, NULL);
    close(s->lfd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    pthread_mutex_destroy(&s->mu);
}

static int srv_count(struct srv *s, const char *prefix)
{
    int n = 0;
    for (int i = 0; i < s->nlog; i++)
        if (!strncmp(s->log[i], prefix, strlen(prefix)))
            n++;
    return n;
}

/* A closed port: bound, never listened on, so connects are refused. */
static int closed_port(int *fd)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    bind(*fd, (struct sockaddr *)&a, sizeof a);
    getsockname(*fd, (struct sockaddr *)&a, &al);
    return ntohs(a.sin_port);
}

/* ---- corpus fixture ----------------------------------------------------- */

/* The temporary folder of tests/unit/tmp_fixture.h, and quiet replays. */
static int fx_setup(void **state)
{
    rp_quiet = 1;
    return setup(state);
}

struct spec {
    const char *method, *target, *body;
    int conn;       /* connection index */
    int64_t at_us;  /* offset from the capture's start */
};

/* Writes one capture with the given exchanges; returns the capture id. */
static int64_t write_corpus(const char *db, const struct spec *sp, int n)
{
    struct corpus *c;
    char err[RP_ERRLEN];
    int64_t cap, conns[8];
    int64_t base = 1700000000000000;
    assert_int_equal(corpus_open(db, CORPUS_CREATE, &c, err), 0);
    struct corpus_capture_info ci = {.label = "t", .source = "file:t.pcap",
                                     .started_us = base};
    assert_int_equal(corpus_capture_begin(c, &ci, &cap, err), 0);
    for (int i = 0; i < 8; i++) {
        struct corpus_conn cc = {.capture_id = cap,
                                 .client_addr = "10.0.0.1",
                                 .client_port = 40000 + i,
                                 .server_addr = "10.0.0.2",
                                 .server_port = 80,
                                 .first_us = base};
        assert_int_equal(corpus_add_connection(c, &cc, &conns[i], err), 0);
    }
    int64_t seq[8] = {0};
    for (int i = 0; i < n; i++) {
        char hdrs[256];
        struct corpus_exchange ex;
        memset(&ex, 0, sizeof ex);
        snprintf(hdrs, sizeof hdrs,
                 "Host: shop.example\r\nUser-Agent: t\r\n%s",
                 sp[i].body ? "Content-Type: text/plain\r\n" : "");
        ex.capture_id = cap;
        ex.conn_id = conns[sp[i].conn];
        ex.seq = seq[sp[i].conn]++;
        ex.method = sp[i].method;
        ex.target = sp[i].target;
        ex.host = "shop.example";
        ex.version = "HTTP/1.1";
        ex.req.headers = hdrs;
        ex.req.headers_len = strlen(hdrs);
        if (sp[i].body) {
            ex.req.body = (const uint8_t *)sp[i].body;
            ex.req.body_len = strlen(sp[i].body);
            ex.req.body_size = ex.req.body_len;
        }
        ex.req.first_us = ex.req.last_us = base + sp[i].at_us;
        ex.status = 200;
        ex.resp.headers = "Content-Length: 5\r\n";
        ex.resp.headers_len = strlen(ex.resp.headers);
        ex.resp.body = (const uint8_t *)"hello";
        ex.resp.body_len = ex.resp.body_size = 5;
        ex.resp.first_us = ex.resp.last_us = base + sp[i].at_us + 1000;
        int64_t id;
        assert_int_equal(corpus_add_exchange(c, &ex, &id, err), 0);
    }
    struct corpus_capture_stats st = {.exchanges = (uint64_t)n,
                                      .ended_us = base + 1000000};
    assert_int_equal(corpus_capture_end(c, cap, &st, err), 0);
    assert_int_equal(corpus_close(c, err), 0);
    return cap;
}

/* The engine the whole-run tests use: main runs them once per engine. */
static const char *engine = "raw";

/* Runs `reprise replay` with the given extra arguments. */
static int replay(const char *db, int port, const char *const *extra)
{
    char target[64];
    char *argv[40];
    int argc = 0;
    snprintf(target, sizeof target, "http://127.0.0.1:%d", port);
    argv[argc++] = "replay";
    argv[argc++] = (char *)db;
    argv[argc++] = "--target";
    argv[argc++] = target;
    argv[argc++] = "--quiet";
    argv[argc++] = "--engine";
    argv[argc++] = (char *)engine;
    for (int i = 0; extra && extra[i] && argc < 39; i++)
        argv[argc++] = (char *)extra[i];
    argv[argc] = NULL;
    return replay_cmd(argc, argv);
}

struct run_counts {
    int results, ok, by_class[CORPUS_ERR__COUNT];
    int copies[8];
    int hello_hashes;   /* results whose body hash is rp_hash("hello") */
    char status[32];    /* the run's status */
};

static struct run_counts run_results(const char *db)
{
    struct corpus *c;
    struct corpus_run_row row;
    struct corpus_sample_cursor *cur;
    struct corpus_sample s;
    char err[RP_ERRLEN];
    struct run_counts rc;
    uint8_t hello[RP_HASH_LEN];
    rp_hash("hello", 5, hello);
    memset(&rc, 0, sizeof rc);
    assert_int_equal(corpus_open(db, CORPUS_READ, &c, err), 0);
    assert_int_equal(corpus_run_latest(c, 0, &row, err), 0);
    snprintf(rc.status, sizeof rc.status, "%s", row.status);
    assert_int_equal(corpus_samples_open(c, CORPUS_SET_RUN, row.id, &cur,
                                         err), 0);
    while (corpus_samples_next(cur, &s, err) == 1) {
        rc.results++;
        if (s.status == 200 && s.error_class == CORPUS_ERR_NONE)
            rc.ok++;
        rc.by_class[s.error_class]++;
        if (s.copy >= 0 && s.copy < 8)
            rc.copies[s.copy]++;
        if (s.has_body_hash && !memcmp(s.body_hash, hello, RP_HASH_LEN))
            rc.hello_hashes++;
    }
    corpus_samples_close(cur);
    corpus_close(c, NULL);
    return rc;
}

static void test_replay_two_requests(void **state)
{
    struct fixture *f = *state;
    const struct spec sp[] = {{"GET", "/", NULL, 0, 0},
                              {"GET", "/favicon.ico", NULL, 0, 50000}};
    write_corpus(f->path, sp, 2);
    struct srv *s = srv_start(0);
    assert_int_equal(replay(f->path, s->port, NULL), 0);
    srv_stop(s);
    assert_int_equal(s->nlog, 2);
    assert_string_equal(s->log[0], "GET / host=shop.example body=");
    assert_string_equal(s->log[1], "GET /favicon.ico host=shop.example body=");
    /* 16 connections were opened before the start; the first request took
     * one of them and the second reused it */
    assert_int_equal(s->nconn, 16);
    assert_true(s->logconn[0] >= 1 && s->logconn[0] <= 16);
    assert_int_equal(s->logconn[1], s->logconn[0]);
    struct run_counts rc = run_results(f->path);
    assert_int_equal(rc.results, 2);
    assert_int_equal(rc.ok, 2);
    assert_int_equal(rc.hello_hashes, 2); /* hashed as rp_hash does */
    assert_string_equal(rc.status, "complete");
    free(s);
}

static void test_replay_methods_bodies(void **state)
{
    struct fixture *f = *state;
    const struct spec sp[] = {
        {"POST", "/post?x=1", "name=value", 0, 0},
        {"PUT", "/item/7", "{\"a\":1}", 1, 1000},
        {"DELETE", "/item/7", NULL, 1, 2000},
        {"HEAD", "/", NULL, 2, 3000},
        {"GET", "/search?q=a%20b&x=%2F", NULL, 2, 4000},
        {"OPTIONS", "*", NULL, 3, 5000},
    };
    write_corpus(f->path, sp, 6);
    struct srv *s = srv_start(0);
    assert_int_equal(replay(f->path, s->port, NULL), 0);
    srv_stop(s);
    assert_int_equal(s->nlog, 6);
    assert_int_equal(srv_count(s, "POST /post?x=1 host=shop.example "
                                  "body=name=value"), 1);
    assert_int_equal(srv_count(s, "PUT /item/7 host=shop.example "
                                  "body={\"a\":1}"), 1);
    assert_int_equal(srv_count(s, "DELETE /item/7 "), 1);
    assert_int_equal(srv_count(s, "HEAD / "), 1);
    assert_int_equal(srv_count(s, "GET /search?q=a%20b&x=%2F "), 1);
    assert_int_equal(srv_count(s, "OPTIONS * "), 1);
    /* HEAD's response has no body although it announces 5 bytes. */
    assert_int_equal(run_results(f->path).results, 6);
    free(s);
}

static void test_replay_scale_loop_filter(void **state)
{
    struct fixture *f = *state;
    const struct spec sp[] = {{"GET", "/a", NULL, 0, 0},
                              {"GET", "/b", NULL, 1, 10000},
                              {"POST", "/c", "x", 2, 20000}};
    write_corpus(f->path, sp, 3);
    struct srv *s = srv_start(0);
    const char *args[] = {"--scale", "3", "--loop", "2", "--speed", "4",
                          "--filter", "method=GET", "--rewrite-path",
                          "^/(.)$=/v2/\\1", "--threads", "2", NULL};
    assert_int_equal(replay(f->path, s->port, args), 0);
    srv_stop(s);
    assert_int_equal(s->nlog, 12);
    assert_int_equal(srv_count(s, "GET /v2/a "), 6);
    assert_int_equal(srv_count(s, "GET /v2/b "), 6);
    struct run_counts rc = run_results(f->path);
    assert_int_equal(rc.results, 12);
    assert_int_equal(rc.ok, 12);
    assert_int_equal(rc.copies[0], 4);
    assert_int_equal(rc.copies[2], 4);
    free(s);
}

static void test_replay_sessions_max(void **state)
{
    struct fixture *f = *state;
    struct spec sp[40];
    char targets[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(targets[i], sizeof targets[i], "/s%d/%02d", i % 4, i / 4);
        sp[i] = (struct spec){"GET", targets[i], NULL, i % 4, i * 100};
    }
    write_corpus(f->path, sp, 40);
    struct srv *s = srv_start(1);
    const char *args[] = {"--max", "--concurrency", "8", "--sessions", NULL};
    assert_int_equal(replay(f->path, s->port, args), 0);
    srv_stop(s);
    assert_int_equal(s->nlog, 40);
    /* Within a session the requests arrive in captured order, all on one
     * connection of its own. */
    int conn_of[4] = {0};
    for (int sess = 0; sess < 4; sess++) {
        int last = -1;
        for (int i = 0; i < s->nlog; i++) {
            int a, b;
            if (sscanf(s->log[i], "GET /s%d/%d", &a, &b) == 2 && a == sess) {
                assert_true(b > last);
                last = b;
                if (!conn_of[sess])
                    conn_of[sess] = s->logconn[i];
                assert_int_equal(s->logconn[i], conn_of[sess]);
            }
        }
        assert_int_equal(last, 9);
        for (int k = 0; k < sess; k++)
            assert_int_not_equal(conn_of[k], conn_of[sess]);
    }
    assert_int_equal(s->nconn, 4);
    assert_int_equal(run_results(f->path).ok, 40);
    free(s);
}

static void test_replay_errors(void **state)
{
    struct fixture *f = *state;
    const struct spec sp[] = {{"GET", "/x", NULL, 0, 0},
                              {"GET", "/y", NULL, 1, 1000}};
    write_corpus(f->path, sp, 2);
    int fd;
    int port = closed_port(&fd);
    /* recorded, and exit 1: no request got a response */
    assert_int_equal(replay(f->path, port, NULL), 1);
    close(fd);
    struct run_counts rc = run_results(f->path);
    assert_int_equal(rc.results, 2);
    assert_int_equal(rc.by_class[CORPUS_ERR_REFUSED], 2);

    struct srv *s = srv_start(400);
    const char *args[] = {"--timeout", "100ms", NULL};
    assert_int_equal(replay(f->path, s->port, args), 1);
    srv_stop(s);
    free(s);
    rc = run_results(f->path);
    assert_int_equal(rc.results, 2);
    assert_int_equal(rc.by_class[CORPUS_ERR_TIMEOUT], 2);
}

static void test_replay_duration(void **state)
{
    struct fixture *f = *state;
    const struct spec sp[] = {{"GET", "/x", NULL, 0, 0},
                              {"GET", "/y", NULL, 1, 10000}};
    write_corpus(f->path, sp, 2);
    struct srv *s = srv_start(0);
    /* --rate 100/s for 300 ms: requests due at 0, 10, ..., 290 ms. */
    const char *rate[] = {"--rate", "100/s", "--duration", "300ms", NULL};
    assert_int_equal(replay(f->path, s->port, rate), 0);
    struct run_counts rc = run_results(f->path);
    assert_int_equal(rc.results, 30);
    assert_int_equal(rc.ok, 30);
    assert_int_equal(s->nlog, 30);
    /* --max for 200 ms: every request started gets its result, and the
     * run has no not_sent rows (the closed model schedules no more). */
    const char *max[] = {"--max", "--concurrency", "2", "--duration",
                         "200ms", NULL};
    assert_int_equal(replay(f->path, s->port, max), 0);
    srv_stop(s);
    rc = run_results(f->path);
    assert_true(rc.results > 2);
    assert_int_equal(rc.ok, rc.results);
    assert_int_equal(rc.by_class[CORPUS_ERR_NOT_SENT], 0);
    assert_int_equal(s->nreq, 30 + rc.results);
    assert_string_equal(rc.status, "complete");
    free(s);
}

static void *interrupt_later(void *arg)
{
    (void)arg;
    usleep(400000);
    kill(getpid(), SIGINT);
    return NULL;
}

static void test_replay_interrupt(void **state)
{
    struct fixture *f = *state;
    const struct spec sp[] = {{"GET", "/x", NULL, 0, 0},
                              {"GET", "/y", NULL, 1, 50000}};
    write_corpus(f->path, sp, 2);
    struct srv *s = srv_start(0);
    const char *args[] = {"--loop", "100", "--scale", "2", NULL};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, interrupt_later, NULL), 0);
    assert_int_equal(replay(f->path, s->port, args), 0);
    pthread_join(t, NULL);
    srv_stop(s);
    struct run_counts rc = run_results(f->path);
    assert_string_equal(rc.status, "interrupted");
    assert_int_equal(rc.results, 400); /* one per scheduled request */
    assert_true(rc.by_class[CORPUS_ERR_NOT_SENT] > 0);
    assert_int_equal(rc.ok + rc.by_class[CORPUS_ERR_NOT_SENT], 400);
    assert_int_equal(rc.ok, s->nlog);
    free(s);
}

static void test_replay_bad_input(void **state)
{
    struct fixture *f = *state;
    const struct spec sp[] = {{"GET", "/x", NULL, 0, 0}};
    write_corpus(f->path, sp, 1);
    const char *cap[] = {"--capture", "99", NULL};
    assert_int_equal(replay(f->path, 1, cap), 2);
    const char *flt[] = {"--filter", "method=PATCH", NULL};
    assert_int_equal(replay(f->path, 1, flt), 2);
    assert_int_equal(replay("/nonexistent/c.db", 1, NULL), 2);
}

/* The result of the latest run for the exchange with target t. */
static struct corpus_sample result_of(const char *db, const char *t)
{
    struct corpus *c;
    struct corpus_run_row row;
    struct corpus_sample_cursor *cur;
    struct corpus_sample s, found;
    char err[RP_ERRLEN];
    memset(&found, 0, sizeof found);
    found.status = -1;
    assert_int_equal(corpus_open(db, CORPUS_READ, &c, err), 0);
    assert_int_equal(corpus_run_latest(c, 0, &row, err), 0);
    assert_int_equal(corpus_samples_open(c, CORPUS_SET_RUN, row.id, &cur,
                                         err), 0);
    while (corpus_samples_next(cur, &s, err) == 1)
        if (!strcmp(s.target, t))
            found = s;
    corpus_samples_close(cur);
    corpus_close(c, NULL);
    assert_int_not_equal(found.status, -1);
    return found;
}

/* --max-connections caps the connections and --host reaches the server,
 * whatever the engine. */
static void test_replay_cap_host(void **state)
{
    struct fixture *f = *state;
    struct spec sp[20];
    char targets[20][16];
    for (int i = 0; i < 20; i++) {
        snprintf(targets[i], sizeof targets[i], "/k/%02d", i);
        sp[i] = (struct spec){"GET", targets[i], NULL, i % 8, i * 1000};
    }
    write_corpus(f->path, sp, 20);
    struct srv *s = srv_start(10);
    const char *args[] = {"--rate", "2000/s", "--max-connections", "2",
                          "--host", "staging.example", NULL};
    assert_int_equal(replay(f->path, s->port, args), 0);
    srv_stop(s);
    assert_int_equal(s->nlog, 20);
    assert_true(s->nconn <= 2);
    assert_int_equal(srv_count(s, "GET /k/"), 20);
    for (int i = 0; i < s->nlog; i++)
        assert_non_null(strstr(s->log[i], "host=staging.example "));
    assert_int_equal(run_results(f->path).ok, 20);
    free(s);
}

/* Response framing: chunked with extensions and trailers, Connection:
 * close, close-delimited, 1xx interim responses, 204, 304, a 101, and
 * failures (a malformed status line, a reset, a body cut short), each
 * exactly one result with its class. */
static void test_replay_framing(void **state)
{
    struct fixture *f = *state;
    static const char *const targets[] = {
        "/chunked", "/close", "/eof", "/interim", "/nocontent", "/notmod",
        "/switch", "/garbage", "/reset", "/short", "/after"};
    struct spec sp[11];
    for (int i = 0; i < 11; i++)
        sp[i] = (struct spec){"GET", targets[i], NULL, i % 8, i * 20000};
    write_corpus(f->path, sp, 11);
    struct srv *s = srv_start(0);
    const char *args[] = {"--speed", "2", "--timeout", "2s", NULL};
    assert_int_equal(replay(f->path, s->port, args), 0);
    srv_stop(s);
    free(s);
    uint8_t hello[RP_HASH_LEN];
    rp_hash("hello", 5, hello);
    static const char *const ok_hello[] = {"/chunked", "/close", "/eof",
                                           "/interim", "/after"};
    for (size_t i = 0; i < 5; i++) {
        struct corpus_sample r = result_of(f->path, ok_hello[i]);
        assert_int_equal(r.error_class, CORPUS_ERR_NONE);
        assert_int_equal(r.status, 200);
        assert_true(r.has_body_hash);
        assert_memory_equal(r.body_hash, hello, RP_HASH_LEN);
    }
    struct corpus_sample r = result_of(f->path, "/nocontent");
    assert_int_equal(r.status, 204);
    assert_int_equal(r.error_class, CORPUS_ERR_NONE);
    r = result_of(f->path, "/notmod");
    assert_int_equal(r.status, 304);
    assert_int_equal(r.error_class, CORPUS_ERR_NONE);
    assert_int_equal(r.resp_bytes, 0);
    assert_int_not_equal(result_of(f->path, "/garbage").error_class,
                         CORPUS_ERR_NONE);
    assert_int_equal(result_of(f->path, "/reset").error_class,
                     CORPUS_ERR_RESET);
    assert_int_equal(result_of(f->path, "/short").error_class,
                     CORPUS_ERR_RESET);
    if (!strcmp(engine, "raw")) {
        r = result_of(f->path, "/switch");
        assert_int_equal(r.status, 101);
        assert_int_equal(r.error_class, CORPUS_ERR_NONE);
        assert_int_equal(result_of(f->path, "/garbage").error_class,
                         CORPUS_ERR_PROTOCOL);
    }
    assert_int_equal(run_results(f->path).results, 11);
}

/* --pipeline 4 with --max --concurrency 8: two connections, each with
 * requests in flight together (raw only; curl refuses the option). */
static void test_replay_pipeline(void **state)
{
    struct fixture *f = *state;
    struct spec sp[40];
    char targets[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(targets[i], sizeof targets[i], "/p/%02d", i);
        sp[i] = (struct spec){"GET", targets[i], NULL, i % 8, i * 1000};
    }
    write_corpus(f->path, sp, 40);
    struct srv *s = srv_start(2);
    const char *args[] = {"--max", "--concurrency", "8", "--pipeline", "4",
                          NULL};
    if (strcmp(engine, "raw")) {
        assert_int_equal(replay(f->path, s->port, args), 2);
        srv_stop(s);
        free(s);
        return;
    }
    assert_int_equal(replay(f->path, s->port, args), 0);
    srv_stop(s);
    assert_int_equal(s->nlog, 40);
    assert_int_equal(s->nconn, 2);
    assert_true(s->maxbatch >= 2); /* requests arrived pipelined */
    assert_int_equal(run_results(f->path).ok, 40);
    free(s);
}

/* --sessions: a captured connection whose client pipelined (each request
 * sent before the previous response ended) is replayed pipelined by the
 * raw engine, one request at a time by curl. */
static void test_replay_sessions_pipelined(void **state)
{
    struct fixture *f = *state;
    const struct spec sp[] = {{"GET", "/q/0", NULL, 0, 0},
                              {"GET", "/q/1", NULL, 0, 100},
                              {"GET", "/q/2", NULL, 0, 200}};
    write_corpus(f->path, sp, 3);
    struct srv *s = srv_start(20);
    const char *args[] = {"--sessions", NULL};
    assert_int_equal(replay(f->path, s->port, args), 0);
    srv_stop(s);
    assert_int_equal(s->nlog, 3);
    assert_int_equal(s->nconn, 1);
    struct corpus_sample a = result_of(f->path, "/q/0");
    struct corpus_sample b = result_of(f->path, "/q/1");
    int64_t a_done = a.t_us + a.latency_us;
    int64_t b_sent = b.t_us + b.latency_us - b.service_us;
    if (!strcmp(engine, "raw")) {
        assert_true(s->maxbatch >= 2);
        assert_true(b_sent < a_done);
    } else {
        assert_int_equal(s->maxbatch, 1);
        assert_true(b_sent >= a_done);
    }
    assert_int_equal(run_results(f->path).ok, 3);
    free(s);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_head_verbatim),
        cmocka_unit_test(test_head_options),
        cmocka_unit_test(test_curl_headers),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_rewrite),
        cmocka_unit_test(test_sched_due),
        cmocka_unit_test(test_heap),
        cmocka_unit_test(test_errclass),
        cmocka_unit_test(test_opts),
        cmocka_unit_test(test_shard_opts),
    };
    const struct CMUnitTest runs[] = {
        cmocka_unit_test_setup_teardown(test_replay_two_requests, fx_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_methods_bodies, fx_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_scale_loop_filter,
                                        fx_setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_sessions_max, fx_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_errors, fx_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_duration, fx_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_interrupt, fx_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_bad_input, fx_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_cap_host, fx_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_framing, fx_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_pipeline, fx_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replay_sessions_pipelined,
                                        fx_setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("pure", pure, NULL, NULL);
    /* every whole run once per engine */
    engine = "raw";
    failed += cmocka_run_group_tests_name("raw engine", runs, NULL, NULL);
    engine = "curl";
    failed += cmocka_run_group_tests_name("curl engine", runs, NULL, NULL);
    return failed;
}
