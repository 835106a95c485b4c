/*
 * test_http_parse.c: the HTTP/1.x head parser and the framing state machine.
 * Every framing case is fed whole, split at every byte offset and one byte
 * at a time; the event transcript must not depend on the split points.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/http_parse.h"
#include "common/buf.h"

static struct http_scratch scratch;
static struct http_header *const hdrs = scratch.hdrs;

/* Feeding state for one transcript. */
struct run {
    struct http_stream s;
    struct rp_buf out;   /* transcript */
    struct rp_buf body;  /* body of the message in progress */
    const char *nobody;  /* responses: 'H' at index k = k-th is to HEAD */
    int nresp;
};

/* Appends "|a=name,name" for the anomaly bits in a (nothing when 0). */
static void put_anomalies(struct rp_buf *b, uint32_t a)
{
    const char *sep = "|a=";
    for (int i = 0; i < 32; i++)
        if (a & (1u << i)) {
            rp_buf_printf(b, "%s%s", sep, http_anomaly_name(1u << i));
            sep = ",";
        }
}

static void emit_end(struct run *r, const char *tag)
{
    rp_buf_printf(&r->out, "%s[%zu:", tag, r->body.len);
    rp_buf_append(&r->out, r->body.data ? r->body.data : "", r->body.len);
    rp_buf_printf(&r->out, ":w%llu", (unsigned long long)r->s.msg_wire_bytes);
    /* anomalies found in the body (the head's are shown with the head) */
    put_anomalies(&r->out, r->s.msg_anomalies & (HTTP_A_CHUNK_CR |
                                                 HTTP_A_CHUNK_BAD));
    rp_buf_puts(&r->out, "]");
    rp_buf_reset(&r->body);
}

static void on_head(struct run *r)
{
    const struct http_head *h = r->s.head;
    enum http_body_kind k = h->body_kind;
    if (h->is_request) {
        rp_buf_printf(&r->out, "H(%.*s|%.*s|%.*s|host=%.*s|n=%zu",
                      (int)h->method_len, h->method, (int)h->target_len,
                      h->target, (int)h->version_len, h->version,
                      (int)h->host_len, h->host ? h->host : "",
                      h->num_headers);
        put_anomalies(&r->out, h->anomalies);
        rp_buf_puts(&r->out, ")");
    } else {
        int st = h->status;
        int idx = r->nresp;
        if (st >= 200)
            r->nresp++;
        rp_buf_printf(&r->out, "S(%d|%.*s|n=%zu", st, (int)h->reason_len,
                      h->reason, h->num_headers);
        put_anomalies(&r->out, h->anomalies);
        rp_buf_puts(&r->out, ")");
        if (st < 200 || st == 204 || st == 304 ||
            (r->nobody && (int)strlen(r->nobody) > idx &&
             r->nobody[idx] == 'H'))
            k = HTTP_BODY_NONE;
    }
    rp_buf_reset(&r->body);
    if (http_stream_set_body(&r->s, k, h->content_length))
        emit_end(r, "E");
}

static void feed(struct run *r, const uint8_t *p, size_t n)
{
    struct http_event ev;
    do {
        size_t k = http_stream_feed(&r->s, p, n, 1000 + (int64_t)n, &ev);
        assert_true(k <= n);
        p += k;
        n -= k;
        switch (ev.type) {
        case HTTP_EV_HEAD:
            on_head(r);
            break;
        case HTTP_EV_BODY:
            assert_true(ev.len > 0);
            rp_buf_append(&r->body, ev.data, ev.len);
            break;
        case HTTP_EV_END:
            emit_end(r, "E");
            break;
        case HTTP_EV_ERROR:
            rp_buf_puts(&r->out, "X");
            rp_buf_reset(&r->body);
            break;
        case HTTP_EV_UNPARSABLE:
            rp_buf_puts(&r->out, "U");
            break;
        default:
            break;
        }
    } while (n > 0 || ev.type != HTTP_EV_NONE);
}

static void run_begin(struct run *r, int is_request, const char *nobody)
{
    memset(r, 0, sizeof *r);
    http_stream_init(&r->s, is_request, &scratch);
    rp_buf_init(&r->out, 0);
    rp_buf_init(&r->body, 0);
    r->nobody = nobody;
}

/* Ends the stream; returns the transcript (caller frees). */
static char *run_end(struct run *r, int fin)
{
    if (fin) {
        int x = http_stream_fin(&r->s);
        if (x == 1)
            emit_end(r, "E");
        else if (x < 0)
            rp_buf_puts(&r->out, "C"); /* cut short */
    }
    http_stream_cleanup(&r->s);
    rp_buf_cleanup(&r->body);
    char *s = strdup(r->out.data ? r->out.data : "");
    rp_buf_cleanup(&r->out);
    return s;
}

/* Transcript of in fed in pieces cut at the given offsets. */
static char *transcript(const char *in, size_t n, int is_request,
                        const char *nobody, int fin, const size_t *cuts,
                        size_t ncuts)
{
    struct run r;
    run_begin(&r, is_request, nobody);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        feed(&r, (const uint8_t *)in + at, end - at);
        at = end;
    }
    return run_end(&r, fin);
}

/* Checks the transcript equals want whole, at every single split point, at
 * every pair of split points near the end (terminators in their own
 * packet) and byte by byte. */
static void check_all(const char *in, int is_request, const char *nobody,
                      int fin, const char *want)
{
    size_t n = strlen(in);
    char *t = transcript(in, n, is_request, nobody, fin, NULL, 0);
    if (strcmp(t, want) != 0)
        fail_msg("whole: got\n  %s\nwant\n  %s", t, want);
    free(t);
    for (size_t i = 0; i <= n; i++) {
        t = transcript(in, n, is_request, nobody, fin, &i, 1);
        if (strcmp(t, want) != 0)
            fail_msg("split at %zu: got\n  %s\nwant\n  %s", i, t, want);
        free(t);
    }
    for (size_t i = n > 12 ? n - 12 : 0; i < n; i++)
        for (size_t j = i; j <= n; j++) {
            size_t cuts[2] = {i, j};
            t = transcript(in, n, is_request, nobody, fin, cuts, 2);
            if (strcmp(t, want) != 0)
                fail_msg("split at %zu,%zu: got\n  %s\nwant\n  %s", i, j, t,
                         want);
            free(t);
        }
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    for (size_t i = 0; i < n; i++)
        cuts[i] = i + 1;
    t = transcript(in, n, is_request, nobody, fin, cuts, n);
    if (strcmp(t, want) != 0)
        fail_msg("bytewise: got\n  %s\nwant\n  %s", t, want);
    free(t);
    free(cuts);
}

/* ---- requests -------------------------------------------------------- */

static void test_get(void **st)
{
    (void)st;
    check_all("GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nX: y\r\n\r\n", 1,
              NULL, 1, "H(GET|/a?b=1|HTTP/1.1|host=example.com|n=2)E[0::w48]");
}

static void test_post_length(void **st)
{
    (void)st;
    check_all("POST /p HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", 1, NULL,
              1, "H(POST|/p|HTTP/1.0|host=|n=1)E[5:hello:w44]");
}

static void test_chunked_request(void **st)
{
    (void)st;
    check_all("PUT /c HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
              "5;ext=1;q=\"a\"\r\nhello\r\n"
              "A\r\n0123456789\r\n"
              "0\r\nTrailer-One: 1\r\nTrailer-Two: 2\r\n\r\n",
              1, NULL, 1,
              "H(PUT|/c|HTTP/1.1|host=|n=1)E[15:hello0123456789:w127]");
}

static void test_pipelined(void **st)
{
    (void)st;
    check_all("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
              "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
              "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n",
              1, NULL, 1,
              "H(GET|/1|HTTP/1.1|host=h|n=1)E[0::w28]"
              "H(POST|/2|HTTP/1.1|host=h|n=2)E[3:abc:w51]"
              "H(GET|/3|HTTP/1.1|host=h|n=1)E[0::w28]");
}

static void test_bare_lf_and_leading_crlf(void **st)
{
    (void)st;
    check_all("\r\nGET /lf HTTP/1.1\nHost: h\n\n"
              "POST /x HTTP/1.1\nContent-Length: 2\n\nok",
              1, NULL, 1,
              "H(GET|/lf|HTTP/1.1|host=h|n=1)E[0::w26]"
              "H(POST|/x|HTTP/1.1|host=|n=1)E[2:ok:w38]");
}

static void test_target_with_spaces_and_folding(void **st)
{
    (void)st;
    /* the target is the second token; the rest is flagged, not glued */
    check_all("GET /a b HTTP/1.1\r\nX-Long: one\r\n  two\r\nHost:h\r\n\r\n",
              1, NULL, 1,
              "H(GET|/a|HTTP/1.1|host=h|n=3|a=extra-tokens)E[0::w49]");
    /* runs of spaces separate tokens, as RFC 9112 3 allows */
    check_all("GET  /x   HTTP/1.1  \r\n\r\n", 1, NULL, 1,
              "H(GET|/x|HTTP/1.1|host=|n=0)E[0::w24]");
}

static void test_request_cut_short(void **st)
{
    (void)st;
    check_all("POST /p HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", 1, NULL,
              1, "H(POST|/p|HTTP/1.1|host=|n=1)C");
}

/* ---- responses ------------------------------------------------------- */

static void test_response_length(void **st)
{
    (void)st;
    check_all("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
              "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
              0, NULL, 1,
              "S(200|OK|n=1)E[2:hi:w40]S(404|Not Found|n=1)E[0::w45]");
}

static void test_response_chunked(void **st)
{
    (void)st;
    check_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              "3\r\nabc\r\n1; x=y\r\nd\r\n0\r\n\r\n"
              "HTTP/1.1 204 No Content\r\n\r\n",
              0, NULL, 1,
              "S(200|OK|n=1)E[4:abcd:w71]S(204|No Content|n=0)E[0::w27]");
}

static void test_response_close_delimited(void **st)
{
    (void)st;
    check_all("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall the rest\r\n\r\nmore",
              0, NULL, 1, "S(200|OK|n=1)E[20:all the rest\r\n\r\nmore:w50]");
}

static void test_response_head_304_1xx(void **st)
{
    (void)st;
    /* the second response answers a HEAD: Content-Length but no body */
    check_all("HTTP/1.1 100 Continue\r\n\r\n"
              "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
              "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx"
              "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
              "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"
              "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
              0, "-H", 1,
              "S(100|Continue|n=0)E[0::w25]"
              "S(103|Early Hints|n=1)E[0::w44]"
              "S(201|Created|n=1)E[1:x:w44]"
              "S(200|OK|n=1)E[0::w39]"
              "S(304|Not Modified|n=1)E[0::w49]"
              "S(200||n=1)E[0::w35]");
}

static void test_chunk_terminator_split(void **st)
{
    (void)st;
    /* bare-LF chunk framing, empty trailer */
    check_all("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n"
              "2\nab\n0\n\n",
              0, NULL, 1, "S(200|OK|n=1)E[2:ab:w52]");
}

/* ---- errors, resync, limits ------------------------------------------ */

static void test_resync_after_garbage(void **st)
{
    (void)st;
    check_all("\x16\x03\x01 junk\r\nhello world\r\nGET /ok HTTP/1.1\r\n\r\n",
              1, NULL, 1, "XH(GET|/ok|HTTP/1.1|host=|n=0)E[0::w20]");
    check_all("garbage body bytes\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
              "\r\nz",
              0, NULL, 1, "XS(200|OK|n=1)E[1:z:w39]");
}

static void test_bad_content_length(void **st)
{
    (void)st;
    /* a Content-Length that cannot be used: the head is a message (framing
     * unknown) and the stream resyncs at the next valid start line */
    check_all("POST / HTTP/1.1\r\nContent-Length: 18446744073709551616"
              "\r\n\r\nGET /next HTTP/1.1\r\n\r\n", 1, NULL, 1,
              "H(POST|/|HTTP/1.1|host=|n=1|a=cl-invalid)E[0::w57]"
              "H(GET|/next|HTTP/1.1|host=|n=0)E[0::w22]");
    check_all("POST / HTTP/1.1\r\nContent-Length: 18446744073709551615"
              "\r\n\r\nabc", 1, NULL, 1,
              "H(POST|/|HTTP/1.1|host=|n=1|a=cl-invalid)E[0::w57]C");
    check_all("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
              "Content-Length: 4\r\n\r\nabcd", 0, NULL, 1,
              "S(200|OK|n=2|a=cl-conflict)E[0::w57]");
    check_all("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc", 0,
              NULL, 1, "S(200|OK|n=1|a=cl-list)E[3:abc:w44]");
    check_all("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3"
              "\r\n\r\nabc", 0, NULL, 1,
              "S(200|OK|n=2|a=cl-list)E[3:abc:w60]");
    check_all("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, NULL, 1,
              "S(200|OK|n=1|a=cl-invalid)E[0::w39]");
    check_all("POST /z HTTP/1.1\r\nContent-Length: 005\r\n\r\nabcde", 1,
              NULL, 1,
              "H(POST|/z|HTTP/1.1|host=|n=1|a=cl-leading-zeros)"
              "E[5:abcde:w46]");
    check_all("POST /e HTTP/1.1\r\nContent-Length:\r\n\r\nGET / HTTP/1.1"
              "\r\n\r\n", 1, NULL, 1,
              "H(POST|/e|HTTP/1.1|host=|n=1|a=cl-invalid)E[0::w37]"
              "H(GET|/|HTTP/1.1|host=|n=0)E[0::w18]");
}

static void test_head_too_large(void **st)
{
    (void)st;
    size_t n = HTTP_HEAD_MAX + 4096;
    char *in = malloc(n + 128);
    strcpy(in, "GET / HTTP/1.1\r\n");
    size_t at = strlen(in);
    while (at < n) {
        memcpy(in + at, "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 42);
        at += 42;
    }
    strcpy(in + at, "\r\n");
    /* in 1000-byte runs: buffered, then rejected at the cap */
    size_t cuts[200], nc = 0;
    for (size_t c = 1000; c < at && nc < 200; c += 1000)
        cuts[nc++] = c;
    /* the request is reported with the headers that fit, flagged; its
     * framing is unknown, so the rest is skipped to the next request */
    strcpy(in + at + 2, "GET /after HTTP/1.1\r\n\r\n");
    char *t = transcript(in, strlen(in), 1, NULL, 1, cuts, nc);
    assert_ptr_equal(strstr(t, "H(GET|/|HTTP/1.1|host=|n=0|a=head-too-large"),
                     t);
    assert_non_null(strstr(t, "H(GET|/after|HTTP/1.1|host=|n=0)E[0::w23]"));
    free(t);
    t = transcript(in, strlen(in), 1, NULL, 1, NULL, 0);
    assert_ptr_equal(strstr(t, "H(GET|/|HTTP/1.1|host=|n=0|a=head-too-large"),
                     t);
    assert_non_null(strstr(t, "H(GET|/after|HTTP/1.1|host=|n=0)E[0::w23]"));
    free(t);
    free(in);
}

static void test_too_many_headers(void **st)
{
    (void)st;
    struct rp_buf b;
    rp_buf_init(&b, 0);
    rp_buf_puts(&b, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
        rp_buf_printf(&b, "H%d: v\r\n", i);
    rp_buf_puts(&b, "Content-Length: 3\r\n\r\nxyz");
    /* parsed to its end, the first HTTP_MAX_HEADERS lines stored, flagged;
     * the framing headers beyond the cap still count */
    struct http_head h;
    int r = http_parse_head(b.data, b.len, 1, &h, hdrs, HTTP_MAX_HEADERS);
    assert_int_equal(r, (int)b.len - 3);
    assert_int_equal(h.num_headers, HTTP_MAX_HEADERS);
    assert_int_equal(h.anomalies, HTTP_A_TOO_LARGE);
    assert_int_equal(h.body_kind, HTTP_BODY_LENGTH);
    assert_int_equal(h.content_length, 3);
    rp_buf_cleanup(&b);
}

static void test_chunk_line_limits(void **st)
{
    (void)st;
    struct rp_buf b;
    rp_buf_init(&b, 0);
    rp_buf_puts(&b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;");
    for (unsigned i = 0; i < HTTP_CHUNK_LINE_MAX; i++)
        rp_buf_puts(&b, "e");
    rp_buf_puts(&b, "\r\nx\r\n0\r\n\r\n");
    char *t = transcript(b.data, b.len, 0, NULL, 1, NULL, 0);
    assert_string_equal(t, "S(200|OK|n=1)X");
    free(t);
    const char *big = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "10000000000000000\r\n";
    t = transcript(big, strlen(big), 0, NULL, 1, NULL, 0);
    assert_string_equal(t, "S(200|OK|n=1)X");
    free(t);
    const char *nohex = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "zz\r\n";
    t = transcript(nohex, strlen(nohex), 0, NULL, 1, NULL, 0);
    assert_string_equal(t, "S(200|OK|n=1)X");
    free(t);
    rp_buf_cleanup(&b);
}

static void test_unparsable(void **st)
{
    (void)st;
    size_t n = HTTP_SYNC_WINDOW + 10000;
    uint8_t *in = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        in[i] = (uint8_t)(x >> 16);
    }
    in[0] = 0x16;
    struct run r;
    run_begin(&r, 1, NULL);
    for (size_t at = 0; at < n; at += 1460)
        feed(&r, in + at, n - at < 1460 ? n - at : 1460);
    char *t = run_end(&r, 1);
    size_t tl = strlen(t);
    assert_true(tl >= 1);
    assert_int_equal(t[tl - 1], 'U');
    assert_null(strchr(t, 'H'));
    free(t);
    free(in);
}

static void test_gap_resync(void **st)
{
    (void)st;
    struct run r;
    run_begin(&r, 0, NULL);
    const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc";
    feed(&r, (const uint8_t *)a, strlen(a));
    assert_int_equal(http_stream_gap(&r.s), 1);
    const char *b = "tail of body\r\nHTTP/1.1 204 No Content\r\n\r\n";
    feed(&r, (const uint8_t *)b, strlen(b));
    assert_int_equal(http_stream_gap(&r.s), 0);
    char *t = run_end(&r, 1);
    assert_string_equal(t, "S(200|OK|n=1)S(204|No Content|n=0)E[0::w27]");
    free(t);
}

static void test_parse_head_direct(void **st)
{
    (void)st;
    struct http_head h;
    const char *req = "DELETE /x%20y HTTP/1.1\r\nHost: a.b:8080\r\n"
                      "Upgrade: websocket\r\nTransfer-Encoding: chunked\r\n"
                      "Content-Length: 5\r\n\r\nrest";
    int r = http_parse_head(req, strlen(req), 1, &h, hdrs, HTTP_MAX_HEADERS);
    assert_int_equal(r, (int)strlen(req) - 4);
    assert_int_equal(h.body_kind, HTTP_BODY_CHUNKED);
    assert_int_equal(h.has_upgrade, 1);
    assert_int_equal(h.num_headers, 4);
    assert_memory_equal(h.host, "a.b:8080", 8);
    assert_int_equal(h.minor_version, 1);
    for (size_t k = 0; k < strlen(req) - 4; k++)
        assert_int_equal(http_parse_head(req, k, 1, &h, hdrs,
                                         HTTP_MAX_HEADERS),
                         HTTP_PARSE_PARTIAL);
    /* HTTP/0.9: the head is the request line alone */
    assert_int_equal(http_parse_head("GET /\r\n\r\n", 9, 1, &h, hdrs, 8), 7);
    assert_int_equal(h.anomalies, HTTP_A_HTTP09);
    assert_memory_equal(h.version, "HTTP/0.9", 8);
    assert_int_equal(http_parse_head("PRI * HTTP/2.0\r\n\r\n", 18, 1, &h,
                                     hdrs, 8),
                     18);
    assert_int_equal(h.anomalies, HTTP_A_BAD_VERSION);
    assert_int_equal(http_parse_head("HTTP/1.1 20 OK\r\n\r\n", 18, 0, &h,
                                     hdrs, 8),
                     HTTP_PARSE_ERROR);
    assert_int_equal(http_parse_head("\x16\x03\x01\x02\x00\x01\r\n\r\n", 10,
                                     1, &h, hdrs, 8),
                     HTTP_PARSE_ERROR);
    /* a request whose final coding is not chunked cannot be framed */
    assert_int_equal(http_parse_head("POST / HTTP/1.1\r\nTransfer-Encoding:"
                                     " gzip\r\n\r\n", 44, 1, &h, hdrs, 8),
                     44);
    assert_int_equal(h.body_kind, HTTP_BODY_UNKNOWN);
    assert_int_equal(h.anomalies, HTTP_A_TE_NOT_CHUNKED);
    const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n";
    assert_int_equal(http_parse_head(resp, strlen(resp), 0, &h, hdrs, 8),
                     (int)strlen(resp));
    assert_int_equal(h.body_kind, HTTP_BODY_CLOSE);
    assert_int_equal(http_start_check((const uint8_t *)"GE", 2, 1),
                     HTTP_PARSE_PARTIAL);
    assert_int_equal(http_start_check((const uint8_t *)"GET ", 4, 1), 1);
    assert_int_equal(http_start_check((const uint8_t *)"G(T ", 4, 1), 0);
    assert_int_equal(http_start_check((const uint8_t *)"HTTP/1.1 2", 10, 0),
                     HTTP_PARSE_PARTIAL);
    assert_int_equal(http_start_check((const uint8_t *)"HTTP/1.1 200", 12, 0),
                     1);
    assert_int_equal(http_start_check((const uint8_t *)"HTTX", 4, 0), 0);
}

/* ---- malformed start lines, HTTP/0.9, framing shapes (issue 13) ------ */

static void test_malformed_request_lines(void **st)
{
    (void)st;
    /* no target; a bare method; each answered by a server as a request */
    check_all("OPTIONS HTTP/1.1\r\nHost: h\r\n\r\n", 1, NULL, 1,
              "H(OPTIONS||HTTP/1.1|host=h|n=1|a=no-target)E[0::w29]");
    check_all("GET\r\n\r\nGET / HTTP/1.1\r\n\r\n", 1, NULL, 1,
              "H(GET|||host=|n=0|a=no-target,no-version)E[0::w7]"
              "H(GET|/|HTTP/1.1|host=|n=0)E[0::w18]");
    /* a bare method line right before the next request, no empty line:
     * two messages, never one (any split point: the second one may begin
     * in an earlier run than the line end that shows where the first
     * ended) */
    check_all("GET\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n", 1, NULL, 1,
              "H(GET|||host=|n=0|a=no-target,no-version)E[0::w5]"
              "H(GET|/x|HTTP/1.1|host=h|n=1)E[0::w28]");
    check_all("PUT /p\r\nX: 1\r\nPOST /q HTTP/1.1\r\nContent-Length: 2\r\n\r\nok",
              1, NULL, 1,
              "H(PUT|/p||host=|n=1|a=no-version)E[0::w14]"
              "H(POST|/q|HTTP/1.1|host=|n=1)E[2:ok:w41]");
    /* extra tokens: the target is the second token */
    check_all("CONNECT host:25 / HTTP/1.0\r\n\r\n", 1, NULL, 1,
              "H(CONNECT|host:25|HTTP/1.0|host=|n=0|a=extra-tokens)E[0::w30]");
    check_all("GET /a HTTP/1.1 x\r\n\r\n", 1, NULL, 1,
              "H(GET|/a|HTTP/1.1|host=|n=0|a=extra-tokens)E[0::w21]");
    /* not a known method at the start of a stream: not a request... */
    check_all("FOO\r\n\r\nGET / HTTP/1.1\r\n\r\n", 1, NULL, 1,
              "XH(GET|/|HTTP/1.1|host=|n=0)E[0::w18]");
    /* ... but after a request it is one */
    check_all("GET / HTTP/1.1\r\n\r\nFOO\r\n\r\n", 1, NULL, 1,
              "H(GET|/|HTTP/1.1|host=|n=0)E[0::w18]"
              "H(FOO|||host=|n=0|a=no-target,no-version)E[0::w7]");
    /* a bad version, a header line without a colon, space before colon */
    check_all("GET / HTTP/1.10\r\nNoColon\r\nX : y\r\n\r\n", 1, NULL, 1,
              "H(GET|/|HTTP/1.10|host=|n=2|a=bad-version,bad-header,"
              "ws-before-colon)E[0::w35]");
}

static void test_http09(void **st)
{
    (void)st;
    check_all("GET /old\r\n", 1, NULL, 1,
              "H(GET|/old|HTTP/0.9|host=|n=0|a=http09)E[0::w10]");
    check_all("GET /old\n", 1, NULL, 1,
              "H(GET|/old|HTTP/0.9|host=|n=0|a=http09)E[0::w9]");
    /* a response without a status line while the request is 0.9 */
    struct run r;
    run_begin(&r, 0, NULL);
    r.s.expect_http09 = 1;
    feed(&r, (const uint8_t *)"<html>", 6);
    feed(&r, (const uint8_t *)"old</html>\r\n", 12);
    char *t = run_end(&r, 1);
    assert_string_equal(t, "S(200||n=0|a=http09)E[18:<html>old</html>\r\n:w18]");
    free(t);
    /* ... unless it has one after all */
    run_begin(&r, 0, NULL);
    r.s.expect_http09 = 1;
    feed(&r, (const uint8_t *)"HTTP/1.0 400 Bad\r\n\r\n", 20);
    t = run_end(&r, 1);
    assert_string_equal(t, "S(400|Bad|n=0)E[0::w20]");
    free(t);
}

static void test_framing_shapes(void **st)
{
    (void)st;
    /* Transfer-Encoding wins over Content-Length; the smuggled request
     * after the last chunk is a request of its own */
    check_all("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
              "Content-Length: 4\r\n\r\n0\r\n\r\nGET /s HTTP/1.1\r\n\r\n",
              1, NULL, 1,
              "H(POST|/|HTTP/1.1|host=|n=2|a=te-cl)E[0::w71]"
              "H(GET|/s|HTTP/1.1|host=|n=0)E[0::w19]");
    /* a final coding that is not chunked: cannot be framed; the stream
     * resyncs at the next line that starts like a request */
    check_all("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n"
              "Content-Length: 5\r\n\r\nhel\r\nGET /n HTTP/1.1\r\n\r\n",
              1, NULL, 1,
              "H(POST|/|HTTP/1.1|host=|n=2|a=te-cl,te-not-chunked)E[0::w67]"
              "H(GET|/n|HTTP/1.1|host=|n=0)E[0::w19]");
    /* obs-folded Transfer-Encoding: unfolded, flagged */
    check_all("POST / HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"
              "3\r\nabc\r\n0\r\n\r\n", 1, NULL, 1,
              "H(POST|/|HTTP/1.1|host=|n=2|a=framing-folded)E[3:abc:w62]");
    /* chunked twice, in one list or in two lines */
    check_all("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"
              "0\r\n\r\n", 1, NULL, 1,
              "H(POST|/|HTTP/1.1|host=|n=1|a=te-multiple)E[0::w61]");
    check_all("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"
              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 1, NULL, 1,
              "H(POST|/|HTTP/1.1|host=|n=2|a=te-multiple)E[0::w77]");
    /* whitespace before the colon of a framing header: used, flagged */
    check_all("POST / HTTP/1.1\r\nContent-Length : 4\r\n\r\nabcd"
              "GET / HTTP/1.1\r\n\r\n", 1, NULL, 1,
              "H(POST|/|HTTP/1.1|host=|n=1|a=ws-before-colon,"
              "framing-ws-before-colon)E[4:abcd:w43]"
              "H(GET|/|HTTP/1.1|host=|n=0)E[0::w18]");
    /* a CR inside a chunk-size line: taken as part of an extension */
    check_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\rX\r\nhello\r\n0\r\n\r\n", 0, NULL, 1,
              "S(200|OK|n=1)E[5:hello:w64|a=chunk-cr]");
    /* leading zeros in a chunk size are fine; 17 significant digits not */
    check_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              "0000000000000000005\r\nhello\r\n0\r\n\r\n", 0, NULL, 1,
              "S(200|OK|n=1)E[5:hello:w80]");
    check_all("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
              "10000000000000000\r\nabc", 1, NULL, 1,
              "H(POST|/|HTTP/1.1|host=|n=1)XC");
    check_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5x\r\nhello\r\n0\r\n\r\n", 0, NULL, 1, "S(200|OK|n=1)X");
    /* CONNECT has no content, whatever its headers say */
    check_all("CONNECT h:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 1, NULL,
              1, "H(CONNECT|h:443|HTTP/1.1|host=|n=1|a=connect-body)"
                 "E[0::w45]");
    /* Expect: 100-continue with Content-Length: 0 has no body */
    check_all("POST /e HTTP/1.1\r\nExpect: 100-continue\r\n"
              "Content-Length: 0\r\n\r\nGET / HTTP/1.1\r\n\r\n", 1, NULL, 1,
              "H(POST|/e|HTTP/1.1|host=|n=2)E[0::w61]"
              "H(GET|/|HTTP/1.1|host=|n=0)E[0::w18]");
    /* Transfer-Encoding in HTTP/1.0 */
    check_all("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              "0\r\n\r\n", 0, NULL, 1,
              "S(200|OK|n=1|a=te-http10)E[0::w52]");
}

/* Shapes the llhttp differential fuzzer found (tests/oracle): reprise's
 * choice for each, which DESIGN.md explains. */
static void test_llhttp_differences(void **st)
{
    (void)st;
    /* a status code is three digits: "14" and "0100" are not status lines */
    check_all("HTTP/1.1 14 No\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 0,
              NULL, 1, "XS(204|No Content|n=0)E[0::w27]");
    check_all("HTTP/1.1 0100 Continue\r\n\r\n", 0, NULL, 1, "X");
    /* only HTTP/1.x status lines in an HTTP/1.x stream */
    check_all("HTTP/2.0 304 Not Modified\r\n\r\n", 0, NULL, 1, "X");
    /* "chunked," ends in chunked (empty list elements are ignored), flagged */
    check_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n"
              "3\r\nabc\r\n0\r\n\r\n", 0, NULL, 1,
              "S(200|OK|n=1|a=te-empty-element)E[3:abc:w61]");
    /* a trailing HTAB is whitespace: still chunked, flagged */
    check_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n"
              "3\r\nabc\r\n0\r\n\r\n", 0, NULL, 1,
              "S(200|OK|n=1|a=te-tab)E[3:abc:w61]");
    /* a fold after "chunked" is unfolded: still chunked, flagged */
    check_all("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n \r\n\r\n"
              "3\r\nabc\r\n0\r\n\r\n", 0, NULL, 1,
              "S(200|OK|n=2|a=framing-folded)E[3:abc:w63]");
}

static void test_partial_head(void **st)
{
    (void)st;
    struct run r;
    run_begin(&r, 1, NULL);
    const char *a = "GET /x HTTP/1.1\r\nHost: h\r\nX-A: 1";
    feed(&r, (const uint8_t *)a, strlen(a));
    assert_int_equal(http_stream_partial_head(&r.s), 1);
    const struct http_head *h = r.s.head;
    assert_int_equal(h->target_len, 2);
    assert_memory_equal(h->target, "/x", 2);
    assert_int_equal(h->num_headers, 1);
    assert_int_equal(h->anomalies, HTTP_A_TRUNCATED);
    assert_int_equal(http_stream_gap(&r.s), 1);
    free(run_end(&r, 1));
    /* a start line that was itself cut */
    run_begin(&r, 1, NULL);
    feed(&r, (const uint8_t *)"POST /very/lo", 13);
    assert_int_equal(http_stream_partial_head(&r.s), 1);
    assert_memory_equal(r.s.head->method, "POST", 4);
    assert_int_equal(r.s.head->anomalies, HTTP_A_TRUNCATED);
    free(run_end(&r, 1));
    /* not a message start */
    run_begin(&r, 1, NULL);
    feed(&r, (const uint8_t *)"GE", 2);
    assert_int_equal(http_stream_partial_head(&r.s), 0);
    free(run_end(&r, 1));
}

/* The head ends exactly at a page boundary followed by an inaccessible
 * page: an over-read by the parser crashes the test. */
static void test_guard_page(void **st)
{
    (void)st;
    long pg = sysconf(_SC_PAGESIZE);
    uint8_t *m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + pg, (size_t)pg, PROT_NONE), 0);
    const char *msgs[] = {
        "GET /guard HTTP/1.1\r\nHost: g\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n",
        "HTTP/1.1 200 OK\r\nContent-Le",
        "GET /no-end HTTP/1.1\r\nHost: g\r\n",
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        size_t n = strlen(msgs[i]);
        uint8_t *p = m + pg - n;
        memcpy(p, msgs[i], n);
        int isreq = msgs[i][0] == 'G';
        struct http_head h;
        (void)http_parse_head((const char *)p, n, isreq, &h, hdrs,
                              HTTP_MAX_HEADERS);
        for (size_t k = 0; k <= n; k++)
            (void)http_start_check(p + n - k, k, isreq);
        struct run r;
        run_begin(&r, isreq, NULL);
        feed(&r, p, n);
        free(run_end(&r, 1));
    }
    munmap(m, (size_t)pg * 2);
}

/* http_dechunk: the payload of a framed chunked body, whole, cut short at
 * every offset, in place, and malformed. */
static void test_dechunk(void **st)
{
    (void)st;
    const char framed[] = "3;ext=\"a b\"\r\nabc\r\n"
                          "A\r\n0123456789\r\n"
                          "0\r\nTrailer: x\r\n\r\nafter";
    uint8_t out[sizeof framed];
    size_t n = sizeof framed - 1;
    size_t len = http_dechunk((const uint8_t *)framed, n, out);
    assert_int_equal(len, 13);
    assert_memory_equal(out, "abc0123456789", 13);
    for (size_t cut = 0; cut <= n; cut++) {
        size_t l = http_dechunk((const uint8_t *)framed, cut, out);
        assert_true(l <= 13);
        assert_memory_equal(out, "abc0123456789", l);
    }
    uint8_t inplace[sizeof framed];
    memcpy(inplace, framed, sizeof framed);
    assert_int_equal(http_dechunk(inplace, n, inplace), 13);
    assert_memory_equal(inplace, "abc0123456789", 13);
    assert_int_equal(http_dechunk((const uint8_t *)"zz\r\n", 4, out), 0);
    assert_int_equal(http_dechunk((const uint8_t *)"0\r\n\r\n", 5, out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_post_length),
        cmocka_unit_test(test_chunked_request),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_bare_lf_and_leading_crlf),
        cmocka_unit_test(test_target_with_spaces_and_folding),
        cmocka_unit_test(test_request_cut_short),
        cmocka_unit_test(test_response_length),
        cmocka_unit_test(test_response_chunked),
        cmocka_unit_test(test_response_close_delimited),
        cmocka_unit_test(test_response_head_304_1xx),
        cmocka_unit_test(test_chunk_terminator_split),
        cmocka_unit_test(test_resync_after_garbage),
        cmocka_unit_test(test_bad_content_length),
        cmocka_unit_test(test_head_too_large),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_chunk_line_limits),
        cmocka_unit_test(test_unparsable),
        cmocka_unit_test(test_gap_resync),
        cmocka_unit_test(test_parse_head_direct),
        cmocka_unit_test(test_malformed_request_lines),
        cmocka_unit_test(test_http09),
        cmocka_unit_test(test_framing_shapes),
        cmocka_unit_test(test_partial_head),
        cmocka_unit_test(test_llhttp_differences),
        cmocka_unit_test(test_guard_page),
        cmocka_unit_test(test_dechunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
