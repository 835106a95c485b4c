/*
 * fuzz_exchange.c: libFuzzer target for the HTTP layer (capture/exchange.c)
 * behind struct cap_stream_ops. The input is a program of stream events
 * (data in either direction, gaps, FINs, canned well-formed messages that
 * help reach deep states), ended by a close. The corpus functions the layer
 * calls are stubbed here (so this target needs no SQLite file: link it
 * against rp_capture, whose corpus objects are then never pulled in) and
 * check what the layer hands over: seq 0,1,2... per connection, strings
 * that end, views that can be read whole, bodies within --max-body, and a
 * status of 0 only for missing or cut-short responses; after the close the
 * layer's memory count is back to 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/exchange.h"
#include "capture/stream.h"

#define MAX_BODY 64

static int64_t next_seq, conns;
static volatile uint8_t sink;

int corpus_add_connection(struct corpus *c, const struct corpus_conn *cn,
                          int64_t *conn_id, char *err)
{
    (void)c;
    (void)cn;
    (void)err;
    *conn_id = ++conns;
    next_seq = 0;
    return 0;
}

int corpus_connection_end(struct corpus *c, int64_t conn_id, int64_t last_us,
                          char *err)
{
    (void)c;
    (void)conn_id;
    (void)last_us;
    (void)err;
    return 0;
}

/* The correlations are written at the end of a capture, which this
 * target does not reach; the layer links them all the same. */
int corpus_flush(struct corpus *c, char *err)
{
    (void)c;
    (void)err;
    return 0;
}

int corpus_add_links(struct corpus *c, const struct corpus_link *l, size_t n,
                     char *err)
{
    (void)c;
    (void)l;
    (void)n;
    (void)err;
    return 0;
}

static void touch(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        sink ^= b[i];
}

int corpus_add_exchange(struct corpus *c, const struct corpus_exchange *ex,
                        int64_t *ex_id, char *err)
{
    (void)c;
    (void)err;
    if (ex->seq != next_seq++)
        abort();
    touch(ex->method, strlen(ex->method));
    touch(ex->target, strlen(ex->target));
    touch(ex->host, strlen(ex->host));
    touch(ex->version, strlen(ex->version));
    if (ex->reason)
        touch(ex->reason, strlen(ex->reason));
    if (ex->interim)
        touch(ex->interim, strlen(ex->interim));
    const struct corpus_msg *m[2] = {&ex->req, &ex->resp};
    for (int i = 0; i < 2; i++) {
        if (m[i]->body_len > MAX_BODY || m[i]->body_len > m[i]->body_size)
            abort();
        if (m[i]->headers)
            touch(m[i]->headers, m[i]->headers_len);
        if (m[i]->body)
            touch(m[i]->body, m[i]->body_len);
    }
    if (ex->status == 0 &&
        !(ex->flags & (CORPUS_EX_NO_RESPONSE | CORPUS_EX_RESP_INCOMPLETE)))
        abort();
    *ex_id = 1;
    return 0;
}

static const char *const canned[12] = {
    "GET /a?token=x HTTP/1.1\r\nCookie: a\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
    "HEAD / HTTP/1.1\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\n",
    "CONNECT a:1 HTTP/1.1\r\n\r\n",
    "HTTP/1.1 101 Switching Protocols\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    /* values handed out and sent back (learning, body redaction) */
    "HTTP/1.1 200 OK\r\nSet-Cookie: sid=0123456789ab; Path=/\r\nContent-Type: application/json\r\nContent-Length: 41\r\n\r\n{\"csrf\":\"csrf-0123456789\",\"id\":[1234,{}]}",
    "POST /o/1234?c=csrf-0123456789 HTTP/1.1\r\nCookie: sid=0123456789ab; x=y\r\nX-T: csrf-0123456789\r\nIdempotency-Key: d2acb19d-a613-47a2-b48f-8964dfa2082c\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n{\"a\":\"csrf-0123456789\",\"id\":1234}",
    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nLocation: /o/5678?n=cursor-1234\r\nContent-Length: 60\r\n\r\n<input type=\"hidden\" name=\"form_token\" value=\"tok-12345678\">",
    "POST /f HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: Bearer tok-12345678\r\nContent-Length: 37\r\n\r\nform_token=tok-12345678&n=cursor-1234",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const query[] = {"token", NULL};
    struct cap_http_opts o = {.max_body_bytes = MAX_BODY, .redact = 1,
                              .redact_query = query};
    struct cap_http *h = cap_http_new(NULL, 1, &o);
    if (!h)
        return 0;
    const struct cap_stream_ops *ops = cap_http_ops();
    struct cap_conn_info ci;
    memset(&ci, 0, sizeof ci);
    strcpy(ci.client_addr, "192.0.2.1");
    strcpy(ci.server_addr, "192.0.2.2");
    ci.saw_syn = (int)(size & 1);
    void *c = ops->open(h, &ci);
    size_t i = 0;
    int64_t ts = 0;
    while (c && i + 2 <= size) {
        uint8_t op = data[i];
        size_t len = data[i + 1];
        i += 2;
        if (len > size - i)
            len = size - i;
        enum cap_dir dir = (op & 0x80) ? CAP_DIR_S2C : CAP_DIR_C2S;
        ts += (op >> 3) & 7; /* time goes forward, sometimes not at all */
        switch (op & 7) {
        case 0:
        case 1:
        case 4:
        case 5:
            ops->data(h, c, (op & 1) ? CAP_DIR_S2C : CAP_DIR_C2S, data + i,
                      len, ts);
            i += len;
            break;
        case 2:
            ops->gap(h, c, dir, len + 1, ts);
            break;
        case 3:
            ops->fin(h, c, dir, ts);
            break;
        default: {
            const char *m = canned[len % 12];
            ops->data(h, c, (len & 1) ? CAP_DIR_S2C : CAP_DIR_C2S,
                      (const uint8_t *)m, strlen(m), ts);
            break;
        }
        }
    }
    if (c)
        ops->close(h, c, (enum cap_close_reason)(size % 5), ts);
    if (cap_http_memory_bytes(h) != 0)
        abort(); /* the memory count must balance */
    cap_http_free(h);
    return 0;
}
