/*
 * test_exchange.c: the HTTP layer driven through its stream callbacks with
 * byte runs, as the TCP reassembler would, writing into a real temporary
 * corpus that is read back: pairing (pipelining, 100-continue, HEAD, 304,
 * early responses), close-delimited bodies, gaps, mid-stream starts,
 * upgrades, truncation, redaction, timings and the counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/exchange.h"
#include "capture/redact.h"
#include "capture/stream.h"
#include "common/rp.h"
#include "corpus/corpus.h"

#define C2S CAP_DIR_C2S
#define S2C CAP_DIR_S2C

/* One exchange as read back, with owned copies. */
struct rec {
    int64_t conn_id, seq;
    char method[16], target[256], host[64], version[16], reason[64],
        interim[32];
    int status;
    uint32_t flags;
    char *req_headers, *resp_headers;
    uint8_t *req_body, *resp_body;
    size_t req_body_len, resp_body_len;
    uint64_t req_body_size, resp_body_size, req_wire, resp_wire;
    int64_t req_first, req_last, resp_first, resp_last;
};

struct fx {
    char dir[64], path[128];
    struct corpus *c;
    int64_t capture_id;
    struct cap_http *h;
    const struct cap_stream_ops *ops;
    struct rec recs[64];
    int nrec;
};

static char err[RP_ERRLEN];

static void fx_open(struct fx *f, const struct cap_http_opts *opts)
{
    memset(f, 0, sizeof *f);
    strcpy(f->dir, "/tmp/rp-test-exchange.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/c.db", f->dir);
    assert_int_equal(corpus_open(f->path, CORPUS_CREATE, &f->c, err), 0);
    struct corpus_capture_info ci = {.source = "test", .started_us = 1};
    assert_int_equal(corpus_capture_begin(f->c, &ci, &f->capture_id, err), 0);
    f->h = cap_http_new(f->c, f->capture_id, opts);
    assert_non_null(f->h);
    f->ops = cap_http_ops();
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void copy_msg(struct fx *f, const struct corpus_msg *m, char **hdrs,
                     uint8_t **body, size_t *blen)
{
    *hdrs = dupn(m->headers ? m->headers : "", m->headers_len);
    *body = NULL;
    *blen = 0;
    if (m->has_body)
        assert_int_equal(corpus_body_get(f->c, m->body_hash, body, blen, err),
                         0);
}

/* Frees the layer and reads every exchange back. */
static void fx_finish(struct fx *f)
{
    assert_int_equal(cap_http_error(f->h, err), 0);
    cap_http_free(f->h);
    f->h = NULL;
    assert_int_equal(corpus_flush(f->c, err), 0);
    struct corpus_ex_cursor *cur;
    assert_int_equal(corpus_ex_open(f->c, f->capture_id, &cur, err), 0);
    struct corpus_exchange ex;
    int r;
    while ((r = corpus_ex_next(cur, &ex, err)) == 1) {
        assert_true(f->nrec < 64);
        struct rec *x = &f->recs[f->nrec++];
        x->conn_id = ex.conn_id;
        x->seq = ex.seq;
        snprintf(x->method, sizeof x->method, "%s", ex.method);
        snprintf(x->target, sizeof x->target, "%s", ex.target);
        snprintf(x->host, sizeof x->host, "%s", ex.host);
        snprintf(x->version, sizeof x->version, "%s", ex.version);
        snprintf(x->reason, sizeof x->reason, "%s", ex.reason ? ex.reason : "");
        snprintf(x->interim, sizeof x->interim, "%s",
                 ex.interim ? ex.interim : "");
        x->status = ex.status;
        x->flags = ex.flags;
        x->req_body_size = ex.req.body_size;
        x->resp_body_size = ex.resp.body_size;
        x->req_wire = ex.req.wire_bytes;
        x->resp_wire = ex.resp.wire_bytes;
        x->req_first = ex.req.first_us;
        x->req_last = ex.req.last_us;
        x->resp_first = ex.resp.first_us;
        x->resp_last = ex.resp.last_us;
        copy_msg(f, &ex.req, &x->req_headers, &x->req_body, &x->req_body_len);
        copy_msg(f, &ex.resp, &x->resp_headers, &x->resp_body,
                 &x->resp_body_len);
    }
    assert_int_equal(r, 0);
    corpus_ex_close(cur);
}

static void fx_close(struct fx *f)
{
    for (int i = 0; i < f->nrec; i++) {
        free(f->recs[i].req_headers);
        free(f->recs[i].resp_headers);
        free(f->recs[i].req_body);
        free(f->recs[i].resp_body);
    }
    cap_http_free(f->h);
    assert_int_equal(corpus_close(f->c, err), 0);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
}

static void *conn_open(struct fx *f, int saw_syn)
{
    struct cap_conn_info ci;
    memset(&ci, 0, sizeof ci);
    strcpy(ci.client_addr, "10.0.0.1");
    ci.client_port = 40000;
    strcpy(ci.server_addr, "10.0.0.2");
    ci.server_port = 80;
    ci.first_us = 50;
    ci.saw_syn = saw_syn;
    void *c = f->ops->open(f->h, &ci);
    assert_non_null(c);
    return c;
}

static void put(struct fx *f, void *c, enum cap_dir d, const char *s,
                int64_t ts)
{
    f->ops->data(f->h, c, d, (const uint8_t *)s, strlen(s), ts);
}

static void putn(struct fx *f, void *c, enum cap_dir d, const char *s,
                 size_t n, int64_t ts)
{
    f->ops->data(f->h, c, d, (const uint8_t *)s, n, ts);
}

static void body_is(const uint8_t *b, size_t n, const char *want)
{
    assert_int_equal(n, strlen(want));
    if (n)
        assert_memory_equal(b, want, n);
}

/* ---- tests -------------------------------------------------------------- */

static void test_simple_timings(void **st)
{
    (void)st;
    struct fx f;
    fx_open(&f, NULL);
    void *c = conn_open(&f, 1);
    put(&f, c, C2S, "POST /api/v1?x=1 HTTP/1.1\r\nHost: shop.example\r\n", 100);
    put(&f, c, C2S, "Content-Length: 4\r\n\r\nab", 105);
    put(&f, c, C2S, "cd", 110);
    put(&f, c, S2C, "HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhe", 200);
    put(&f, c, S2C, "llo", 250);
    assert_true(cap_http_memory_bytes(f.h) > 0);
    f.ops->fin(f.h, c, C2S, 300);
    f.ops->fin(f.h, c, S2C, 301);
    f.ops->close(f.h, c, CAP_CLOSE_FIN, 302);
    assert_int_equal(cap_http_memory_bytes(f.h), 0); /* all given back */
    struct cap_http_stats s;
    cap_http_stats(f.h, &s);
    assert_int_equal(s.exchanges, 1);
    assert_int_equal(s.incomplete + s.no_response + s.unparsable, 0);
    fx_finish(&f);
    assert_int_equal(f.nrec, 1);
    struct rec *x = &f.recs[0];
    assert_string_equal(x->method, "POST");
    assert_string_equal(x->target, "/api/v1?x=1");
    assert_string_equal(x->host, "shop.example");
    assert_string_equal(x->version, "HTTP/1.1");
    assert_int_equal(x->status, 201);
    assert_string_equal(x->reason, "Created");
    assert_int_equal(x->seq, 0);
    assert_int_equal(x->flags, 0);
    assert_string_equal(x->req_headers,
                        "Host: shop.example\r\nContent-Length: 4\r\n");
    assert_string_equal(x->resp_headers, "Content-Length: 5\r\n");
    body_is(x->req_body, x->req_body_len, "abcd");
    body_is(x->resp_body, x->resp_body_len, "hello");
    assert_int_equal(x->req_first, 100);
    assert_int_equal(x->req_last, 110);
    assert_int_equal(x->resp_first, 200);
    assert_int_equal(x->resp_last, 250);
    assert_int_equal(x->req_wire, 47 + 23 + 2);
    assert_int_equal(x->resp_wire, 45 + 3);
    fx_close(&f);
}

static const char pipe_req[] =
    "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
    "HEAD /2 HTTP/1.1\r\nHost: h\r\n\r\n"
    "POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    "3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n"
    "GET /4 HTTP/1.1\r\nHost: h\r\n\r\n";
static const char pipe_resp[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    "HTTP/1.1 100 Continue\r\n\r\n"
    "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nthree\r\n0\r\n\r\n"
    "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n";

static void check_pipeline(struct fx *f)
{
    assert_int_equal(f->nrec, 4);
    const char *targets[] = {"/1", "/2", "/3", "/4"};
    const int status[] = {200, 200, 201, 304};
    const char *bodies[] = {"one", "", "three", ""};
    for (int i = 0; i < 4; i++) {
        struct rec *x = &f->recs[i];
        assert_string_equal(x->target, targets[i]);
        assert_int_equal(x->seq, i);
        assert_int_equal(x->status, status[i]);
        /* a chunked request body is kept with its framing */
        assert_int_equal(x->flags, i == 2 ? CORPUS_EX_REQ_CHUNKED : 0);
        body_is(x->resp_body, x->resp_body_len, bodies[i]);
    }
    assert_string_equal(f->recs[2].interim, "100");
    assert_string_equal(f->recs[0].interim, "");
    body_is(f->recs[2].req_body, f->recs[2].req_body_len,
            "3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n");
    assert_int_equal(f->recs[0].conn_id, f->recs[3].conn_id);
}

static void test_pipelining_head_304_interim(void **st)
{
    (void)st;
    struct fx f;
    fx_open(&f, NULL);
    void *c = conn_open(&f, 1);
    put(&f, c, C2S, pipe_req, 100);
    put(&f, c, S2C, pipe_resp, 200);
    f.ops->close(f.h, c, CAP_CLOSE_FIN, 300);
    fx_finish(&f);
    check_pipeline(&f);
    fx_close(&f);
}

/* The same conversation with both directions cut at every offset. */
static void test_pipelining_split_points(void **st)
{
    (void)st;
    size_t nq = strlen(pipe_req), ns = strlen(pipe_resp);
    for (size_t cut = 1; cut < (nq > ns ? nq : ns); cut += 3) {
        struct fx f;
        fx_open(&f, NULL);
        void *c = conn_open(&f, 1);
        size_t a = cut < nq ? cut : nq, b = cut < ns ? cut : ns;
        f.ops->data(f.h, c, C2S, (const uint8_t *)pipe_req, a, 100);
        if (a < nq)
            f.ops->data(f.h, c, C2S, (const uint8_t *)pipe_req + a, nq - a,
                        101);
        f.ops->data(f.h, c, S2C, (const uint8_t *)pipe_resp, b, 200);
        if (b < ns)
            f.ops->data(f.h, c, S2C, (const uint8_t *)pipe_resp + b, ns - b,
                        201);
        f.ops->close(f.h, c, CAP_CLOSE_FIN, 300);
        fx_finish(&f);
        check_pipeline(&f);
        fx_close(&f);
    }
}

static void test_continue_and_early_response(void **st)
{
    (void)st;
    struct fx f;
    fx_open(&f, NULL);
    void *c = conn_open(&f, 1);
    put(&f, c, C2S, "PUT /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                    "Content-Length: 6\r\n\r\n", 100);
    put(&f, c, S2C, "HTTP/1.1 100 Continue\r\n\r\n", 110);
    put(&f, c, C2S, "abcdef", 120);
    put(&f, c, S2C, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 130);
    /* the server answers before the body is complete */
    put(&f, c, C2S, "POST /big HTTP/1.1\r\nContent-Length: 8\r\n\r\n1234", 200);
    put(&f, c, S2C, "HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n", 210);
    put(&f, c, C2S, "5678", 220);
    f.ops->close(f.h, c, CAP_CLOSE_FIN, 300);
    fx_finish(&f);
    assert_int_equal(f.nrec, 2);
    assert_string_equal(f.recs[0].interim, "100");
    assert_int_equal(f.recs[0].status, 200);
    assert_int_equal(f.recs[0].resp_first, 130); /* the final response */
    body_is(f.recs[0].req_body, f.recs[0].req_body_len, "abcdef");
    assert_int_equal(f.recs[1].status, 413);
    assert_int_equal(f.recs[1].flags, 0);
    assert_int_equal(f.recs[1].req_last, 220);
    body_is(f.recs[1].req_body, f.recs[1].req_body_len, "12345678");
    fx_close(&f);
}

static void test_close_delimited_and_no_response(void **st)
{
    (void)st;
    struct fx f;
    fx_open(&f, NULL);
    void *c = conn_open(&f, 1);
    put(&f, c, C2S, "GET /old HTTP/1.0\r\n\r\n", 100);
    put(&f, c, S2C, "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil ", 110);
    put(&f, c, S2C, "the end", 120);
    f.ops->fin(f.h, c, S2C, 130);
    f.ops->close(f.h, c, CAP_CLOSE_FIN, 140);
    void *d = conn_open(&f, 1);
    put(&f, d, C2S, "GET /lost HTTP/1.1\r\nHost: h\r\n\r\n", 500);
    f.ops->close(f.h, d, CAP_CLOSE_TIMEOUT, 900);
    /* the capture ends inside a close-delimited body: cut short */
    void *e = conn_open(&f, 1);
    put(&f, e, C2S, "GET /cut HTTP/1.0\r\n\r\n", 1000);
    put(&f, e, S2C, "HTTP/1.0 200 OK\r\n\r\npart", 1010);
    f.ops->close(f.h, e, CAP_CLOSE_END, 1020);
    struct cap_http_stats s;
    cap_http_stats(f.h, &s);
    assert_int_equal(s.exchanges, 3);
    assert_int_equal(s.no_response, 1);
    assert_int_equal(s.incomplete, 1);
    fx_finish(&f);
    assert_int_equal(f.nrec, 3);
    assert_string_equal(f.recs[2].target, "/cut");
    assert_int_equal(f.recs[2].flags, CORPUS_EX_RESP_INCOMPLETE);
    assert_int_equal(f.recs[2].status, 200);
    body_is(f.recs[2].resp_body, f.recs[2].resp_body_len, "part");
    body_is(f.recs[0].resp_body, f.recs[0].resp_body_len, "until the end");
    assert_int_equal(f.recs[0].flags, 0);
    assert_int_equal(f.recs[0].resp_last, 120);
    assert_string_equal(f.recs[1].target, "/lost");
    assert_int_equal(f.recs[1].status, 0);
    assert_int_equal(f.recs[1].flags, CORPUS_EX_NO_RESPONSE);
    assert_int_not_equal(f.recs[0].conn_id, f.recs[1].conn_id);
    fx_close(&f);
}

static void test_gap_mid_body(void **st)
{
    (void)st;
    struct fx f;
    fx_open(&f, NULL);
    void *c = conn_open(&f, 1);
    put(&f, c, C2S, "GET /a HTTP/1.1\r\n\r\n", 100);
    put(&f, c, S2C, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
        110);
    f.ops->gap(f.h, c, S2C, 50, 120);
    put(&f, c, S2C, "the last forty bytes of the first body..", 130);
    put(&f, c, C2S, "GET /b HTTP/1.1\r\n\r\n", 200);
    put(&f, c, S2C, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb", 210);
    /* a request gap mid-body */
    put(&f, c, C2S, "POST /c HTTP/1.1\r\nContent-Length: 20\r\n\r\nxx", 300);
    f.ops->gap(f.h, c, C2S, 10, 310);
    put(&f, c, C2S, "yyyyyyyy", 320);
    put(&f, c, S2C, "HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n", 330);
    f.ops->close(f.h, c, CAP_CLOSE_FIN, 400);
    struct cap_http_stats s;
    cap_http_stats(f.h, &s);
    assert_int_equal(s.incomplete, 2);
    fx_finish(&f);
    assert_int_equal(f.nrec, 3);
    assert_int_equal(f.recs[0].flags, CORPUS_EX_RESP_INCOMPLETE);
    assert_int_equal(f.recs[0].status, 200);
    body_is(f.recs[0].resp_body, f.recs[0].resp_body_len, "0123456789");
    assert_string_equal(f.recs[1].target, "/b");
    assert_int_equal(f.recs[1].flags, 0);
    body_is(f.recs[1].resp_body, f.recs[1].resp_body_len, "b");
    assert_string_equal(f.recs[2].target, "/c");
    assert_int_equal(f.recs[2].flags, CORPUS_EX_REQ_INCOMPLETE);
    assert_int_equal(f.recs[2].status, 400);
    fx_close(&f);
}

/* Packets lost by the capture (tcpdump drops): requests and responses
 * that vanish whole must not shift the pairing of the ones that follow. */
static void test_lost_messages_keep_pairs(void **st)
{
    (void)st;
    struct fx f;
    fx_open(&f, NULL);
    void *c = conn_open(&f, 1);
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n";
    char r[64];
    put(&f, c, C2S, "GET /1 HTTP/1.1\r\n\r\n", 100);
    snprintf(r, sizeof r, "%sa", ok);
    put(&f, c, S2C, r, 110);
    /* request X and its response both lost */
    f.ops->gap(f.h, c, C2S, 20, 200);
    put(&f, c, C2S, "GET /2 HTTP/1.1\r\n\r\n", 200);
    f.ops->gap(f.h, c, S2C, 40, 210);
    snprintf(r, sizeof r, "%sb", ok);
    put(&f, c, S2C, r, 210);
    /* request Y lost, its response seen (before the loss is noticed) */
    snprintf(r, sizeof r, "%sy", ok);
    put(&f, c, S2C, r, 290);
    f.ops->gap(f.h, c, C2S, 20, 300);
    put(&f, c, C2S, "GET /3 HTTP/1.1\r\n\r\n", 300);
    snprintf(r, sizeof r, "%sc", ok);
    put(&f, c, S2C, r, 310);
    /* only the response of /4 lost */
    put(&f, c, C2S, "GET /4 HTTP/1.1\r\n\r\n", 400);
    f.ops->gap(f.h, c, S2C, 40, 500);
    put(&f, c, C2S, "GET /5 HTTP/1.1\r\n\r\n", 500);
    snprintf(r, sizeof r, "%se", ok);
    put(&f, c, S2C, r, 510);
    f.ops->close(f.h, c, CAP_CLOSE_FIN, 600);
    fx_finish(&f);
    assert_int_equal(f.nrec, 5);
    const char *want_t[] = {"/1", "/2", "/3", "/4", "/5"};
    const char *want_b[] = {"a", "b", "c", "", "e"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(f.recs[i].target, want_t[i]);
        assert_int_equal(f.recs[i].seq, i);
        body_is(f.recs[i].resp_body, f.recs[i].resp_body_len, want_b[i]);
        assert_int_equal(f.recs[i].flags,
                         i == 3 ? CORPUS_EX_RESP_INCOMPLETE : 0);
        assert_int_equal(f.recs[i].status, i == 3 ? 0 : 200);
    }
    fx_close(&f);
}

static void test_midstream_start(void **st)
{
    (void)st;
    struct fx f;
    fx_open(&f, NULL);
    void *c = conn_open(&f, 0);
    /* the capture starts inside a request body and a response body */
    put(&f, c, C2S, "name=value&x=1", 100);
    put(&f, c, S2C, "ml>\r\n<p>hello world</p>\r\n</html>", 110);
    put(&f, c, S2C, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", 120);
    put(&f, c, C2S, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n", 200);
    put(&f, c, S2C, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop",
        210);
    f.ops->close(f.h, c, CAP_CLOSE_END, 300);
    struct cap_http_stats s;
    cap_http_stats(f.h, &s);
    assert_int_equal(s.unparsable, 0);
    fx_finish(&f);
    assert_int_equal(f.nrec, 1);
    assert_string_equal(f.recs[0].target, "/next");
    assert_int_equal(f.recs[0].status, 404);
    assert_int_equal(f.recs[0].seq, 0);
    body_is(f.recs[0].resp_body, f.recs[0].resp_body_len, "nop");
    fx_close(&f);
}

static void test_upgrade_connect_unparsable(void **st)
{
    (void)st;
    struct fx f;
    fx_open(&f, NULL);
    void *c = conn_open(&f, 1);
    put(&f, c, C2S, "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\n\r\n", 100);
    put(&f, c, S2C, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket"
                    "\r\n\r\n\x81\x05hello", 110);
    put(&f, c, C2S, "\x81\x85\x01\x02\x03\x04GET / HTTP/1.1\r\n\r\n", 120);
    put(&f, c, S2C, "HTTP/1.1 200 OK\r\n\r\n", 130);
    f.ops->close(f.h, c, CAP_CLOSE_FIN, 140);
    void *d = conn_open(&f, 1);
    put(&f, d, C2S, "CONNECT db.example:443 HTTP/1.1\r\nHost: db.example:443"
                    "\r\n\r\n", 200);
    put(&f, d, S2C, "HTTP/1.1 200 Connection established\r\n\r\n", 210);
    put(&f, d, C2S, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 220);
    f.ops->close(f.h, d, CAP_CLOSE_FIN, 230);
    void *e = conn_open(&f, 1);
    putn(&f, e, C2S, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 random",
         18, 300);
    putn(&f, e, S2C, "\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03", 11,
         310);
    f.ops->close(f.h, e, CAP_CLOSE_FIN, 320);
    /* half a request, never finished: HTTP, not unparsable, an exchange
     * flagged incomplete (a request seen is never dropped) */
    void *g = conn_open(&f, 1);
    put(&f, g, C2S, "GET /half HTTP/1.1\r\nHost: h\r\nX-A: ", 400);
    f.ops->close(f.h, g, CAP_CLOSE_TIMEOUT, 500);
    /* bytes sent after an Upgrade request, before its 101, that parse as a
     * request: tunnel data after all, counted as such */
    void *k = conn_open(&f, 1);
    put(&f, k, C2S, "GET /ws2 HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"
                    "GET /x HTTP/1.1\r\n\r\n", 600);
    put(&f, k, S2C, "HTTP/1.1 101 Switching Protocols\r\n\r\n", 610);
    f.ops->close(f.h, k, CAP_CLOSE_FIN, 620);
    struct cap_http_stats s;
    cap_http_stats(f.h, &s);
    assert_int_equal(s.upgraded, 3);
    assert_int_equal(s.unparsable, 1);
    assert_int_equal(s.proto[PROTO_TLS], 1); /* named, not just counted */
    assert_int_equal(s.exchanges, 4);
    assert_int_equal(s.requests, 5);
    assert_int_equal(s.lost_tunnel, 1);
    fx_finish(&f);
    assert_int_equal(f.nrec, 4);
    assert_string_equal(f.recs[2].target, "/half");
    assert_int_equal(f.recs[2].flags,
                     CORPUS_EX_REQ_INCOMPLETE | CORPUS_EX_NO_RESPONSE);
    assert_string_equal(f.recs[2].host, "h");
    assert_int_equal(f.recs[0].status, 101);
    assert_int_equal(f.recs[0].flags, CORPUS_EX_UPGRADED);
    assert_string_equal(f.recs[1].method, "CONNECT");
    assert_string_equal(f.recs[1].target, "db.example:443");
    assert_int_equal(f.recs[1].status, 200);
    assert_int_equal(f.recs[1].flags, CORPUS_EX_UPGRADED);
    fx_close(&f);
}

static void test_truncation(void **st)
{
    (void)st;
    struct cap_http_opts o = {.max_body_bytes = 10, .redact = 0};
    struct fx f;
    fx_open(&f, &o);
    void *c = conn_open(&f, 1);
    put(&f, c, C2S, "POST / HTTP/1.1\r\nContent-Length: 26\r\n"
                    "Cookie: a=b\r\n\r\nabcdefghijklm", 100);
    put(&f, c, C2S, "nopqrstuvwxyz", 101);
    put(&f, c, S2C, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n", 110);
    f.ops->close(f.h, c, CAP_CLOSE_FIN, 200);
    fx_finish(&f);
    assert_int_equal(f.nrec, 1);
    struct rec *x = &f.recs[0];
    assert_int_equal(x->flags,
                     CORPUS_EX_REQ_TRUNCATED | CORPUS_EX_RESP_TRUNCATED);
    body_is(x->req_body, x->req_body_len, "abcdefghij");
    assert_int_equal(x->req_body_size, 26);
    body_is(x->resp_body, x->resp_body_len, "0123456789");
    assert_int_equal(x->resp_body_size, 16);
    /* redaction off: the cookie is kept */
    assert_non_null(strstr(x->req_headers, "Cookie: a=b\r\n"));
    fx_close(&f);
}

static void test_redaction(void **st)
{
    (void)st;
    const char *hdrs[] = {"X-Api-Key", NULL};
    const char *query[] = {"token", NULL};
    struct cap_http_opts o = {.max_body_bytes = 1 << 20, .redact = 1,
                              .redact_headers = hdrs, .redact_query = query};
    struct fx f;
    fx_open(&f, &o);
    void *c = conn_open(&f, 1);
    put(&f, c, C2S, "GET /p?a=1&token=s3cr3t HTTP/1.1\r\nHost: h\r\n"
                    "Authorization: Basic dXNlcjpwYXNz\r\n"
                    "cookie:  sid=42 \r\nX-API-KEY: k-123\r\n"
                    "X-Other: visible\r\n\r\n", 100);
    put(&f, c, S2C, "HTTP/1.1 200 OK\r\nSet-Cookie: sid=42\r\n"
                    "Content-Length: 0\r\n\r\n", 110);
    put(&f, c, C2S, "GET /q HTTP/1.1\r\nCookie: sid=42\r\n\r\n", 120);
    put(&f, c, S2C, "HTTP/1.1 204 No Content\r\n\r\n", 130);
    f.ops->close(f.h, c, CAP_CLOSE_FIN, 200);
    fx_finish(&f);
    assert_int_equal(f.nrec, 2);
    struct rec *x = &f.recs[0];
    assert_true(x->flags & CORPUS_EX_REDACTED);
    assert_null(strstr(x->req_headers, "dXNlcjpwYXNz"));
    assert_null(strstr(x->req_headers, "sid=42"));
    assert_null(strstr(x->req_headers, "k-123"));
    assert_null(strstr(x->resp_headers, "sid=42"));
    assert_null(strstr(x->target, "s3cr3t"));
    assert_non_null(strstr(x->req_headers, "X-Other: visible\r\n"));
    assert_non_null(strstr(x->req_headers, "Authorization: Basic [redacted len=12 h="));
    assert_non_null(strstr(x->req_headers, "cookie:  sid=[redacted len=2 h="));
    assert_non_null(strstr(x->resp_headers, "Set-Cookie: sid=[redacted len=2 h="));
    assert_memory_equal(x->target, "/p?a=1&token=%5Bredacted%20len%3D6%20h%3D",
                        41);
    /* the same cookie value has the same marker in both requests and in
     * the Set-Cookie of the response */
    const char *m0 = strstr(x->req_headers, "cookie:  sid=") + 13;
    const char *m1 = strstr(f.recs[1].req_headers, "Cookie: sid=") + 12;
    const char *m2 = strstr(x->resp_headers, "Set-Cookie: sid=") + 16;
    assert_true(cap_redact_is_marker(m0, strlen(m0)));
    assert_memory_equal(m0, m1, 31);
    assert_memory_equal(m0, m2, 31);
    assert_true(f.recs[1].flags & CORPUS_EX_REDACTED);
    fx_close(&f);
}

static void test_fifo_overflow(void **st)
{
    (void)st;
    struct fx f;
    fx_open(&f, NULL);
    void *c = conn_open(&f, 1);
    char buf[128];
    for (int i = 0; i < 1100; i++) {
        snprintf(buf, sizeof buf, "GET /%d HTTP/1.1\r\n\r\n", i);
        put(&f, c, C2S, buf, 100 + i);
    }
    for (int i = 0; i < 1100; i++) { /* each body is its request's target */
        char body[16];
        int bl = snprintf(body, sizeof body, "/%d", i);
        snprintf(buf, sizeof buf,
                 "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", bl,
                 body);
        put(&f, c, S2C, buf, 5000 + i);
    }
    put(&f, c, C2S, "GET /after HTTP/1.1\r\n\r\n", 9000);
    put(&f, c, S2C, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n/after",
        9001);
    assert_true(cap_http_memory_bytes(f.h) < (20u << 20));
    f.ops->close(f.h, c, CAP_CLOSE_FIN, 9100);
    assert_int_equal(cap_http_memory_bytes(f.h), 0);
    struct cap_http_stats s;
    cap_http_stats(f.h, &s);
    /* the 76 oldest were written early, without their responses (which
     * were then skipped); the rest paired normally */
    assert_int_equal(s.exchanges, 1101);
    assert_int_equal(s.no_response, 76);
    assert_int_equal(s.incomplete, 0);
    assert_int_equal(cap_http_error(f.h, err), 0);
    cap_http_free(f.h);
    f.h = NULL;
    assert_int_equal(corpus_flush(f.c, err), 0);
    struct corpus_ex_cursor *cur;
    assert_int_equal(corpus_ex_open(f.c, f.capture_id, &cur, err), 0);
    struct corpus_exchange ex;
    int n = 0, paired = 0;
    while (corpus_ex_next(cur, &ex, err) == 1) {
        assert_int_equal(ex.seq, n);
        n++;
        if (!ex.status) {
            assert_int_equal(ex.flags, CORPUS_EX_NO_RESPONSE);
            continue;
        }
        uint8_t *b;
        size_t bl;
        assert_int_equal(corpus_body_get(f.c, ex.resp.body_hash, &b, &bl,
                                         err), 0);
        assert_int_equal(bl, strlen(ex.target));
        assert_memory_equal(b, ex.target, bl); /* paired with its request */
        free(b);
        paired++;
    }
    corpus_ex_close(cur);
    assert_int_equal(n, 1101);
    assert_int_equal(paired, 1025);
    fx_close(&f);
}

/* Unanswered pipelined requests with fat heads: the queue is trimmed by
 * memory, long before 1024 entries, and pairs stay right. */
static void check_queue_budget(uint64_t max_memory, uint64_t bound)
{
    struct cap_http_opts o = {.max_body_bytes = 1024, .redact = 1,
                              .max_memory_bytes = max_memory};
    struct fx f;
    fx_open(&f, &o);
    void *c = conn_open(&f, 1);
    static char req[8192];
    char pad[4001];
    memset(pad, 'p', 4000);
    pad[4000] = '\0';
    for (int i = 0; i < 600; i++) {
        snprintf(req, sizeof req, "GET /%d HTTP/1.1\r\nX-Pad: %s\r\n\r\n", i,
                 pad);
        put(&f, c, C2S, req, 100 + i);
    }
    assert_true(cap_http_memory_bytes(f.h) < bound);
    for (int i = 0; i < 600; i++) {
        char body[16], resp[128];
        int bl = snprintf(body, sizeof body, "/%d", i);
        snprintf(resp, sizeof resp,
                 "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", bl,
                 body);
        put(&f, c, S2C, resp, 5000 + i);
    }
    f.ops->close(f.h, c, CAP_CLOSE_FIN, 9000);
    struct cap_http_stats s;
    cap_http_stats(f.h, &s);
    assert_int_equal(s.exchanges, 600);
    assert_true(s.no_response > 300 && s.no_response < 600);
    assert_int_equal(s.incomplete, 0);
    cap_http_free(f.h);
    f.h = NULL;
    struct corpus_ex_cursor *cur;
    assert_int_equal(corpus_ex_open(f.c, f.capture_id, &cur, err), 0);
    struct corpus_exchange ex;
    int paired = 0;
    while (corpus_ex_next(cur, &ex, err) == 1) {
        if (!ex.status)
            continue;
        uint8_t *b;
        size_t bl;
        assert_int_equal(corpus_body_get(f.c, ex.resp.body_hash, &b, &bl,
                                         err), 0);
        assert_int_equal(bl, strlen(ex.target));
        assert_memory_equal(b, ex.target, bl);
        free(b);
        paired++;
    }
    corpus_ex_close(cur);
    assert_int_equal(paired, 600 - (int)s.no_response);
    fx_close(&f);
}

static void test_queue_memory_budget(void **st)
{
    (void)st;
    check_queue_budget(0, 3u << 20);         /* 2 x max-body + 1 MiB */
    check_queue_budget(1u << 20, 800u << 10); /* half of --max-memory */
}

static void test_sniffing(void **st)
{
    (void)st;
    assert_true(cap_http_looks_like_request((const uint8_t *)"GET / ", 6));
    assert_true(cap_http_looks_like_request((const uint8_t *)"OPTIONS *", 9));
    assert_false(cap_http_looks_like_request((const uint8_t *)"GE", 2));
    assert_false(cap_http_looks_like_request((const uint8_t *)"HTTP/1.1", 8));
    assert_true(cap_http_looks_like_response(
        (const uint8_t *)"HTTP/1.1 200 OK", 15));
    assert_false(cap_http_looks_like_response(
        (const uint8_t *)"HTTP/2.0 200 OK", 15));
    assert_false(cap_http_looks_like_response((const uint8_t *)"HTTP/1.1", 8));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_timings),
        cmocka_unit_test(test_pipelining_head_304_interim),
        cmocka_unit_test(test_pipelining_split_points),
        cmocka_unit_test(test_continue_and_early_response),
        cmocka_unit_test(test_close_delimited_and_no_response),
        cmocka_unit_test(test_gap_mid_body),
        cmocka_unit_test(test_lost_messages_keep_pairs),
        cmocka_unit_test(test_midstream_start),
        cmocka_unit_test(test_upgrade_connect_unparsable),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_redaction),
        cmocka_unit_test(test_fifo_overflow),
        cmocka_unit_test(test_queue_memory_budget),
        cmocka_unit_test(test_sniffing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
