/*
 * fuzz_http.c: libFuzzer target for the HTTP/1.x framing parser. The input
 * is fed to a request stream and to a response stream, once whole and once
 * cut into runs whose lengths come from the input itself, with a gap now
 * and then; the parser must not crash, over-read, loop or leak, must
 * consume exactly what it is given, and must frame the same messages
 * whatever the cut points are (except where a gap was injected).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http_parse.h"

static struct http_scratch scratch;

struct tally {
    uint64_t heads, ends, errors, body_bytes;
};

static void drive(struct http_stream *s, const uint8_t *p, size_t n,
                  struct tally *t)
{
    struct http_event ev;
    unsigned guard = 0;
    do {
        size_t k = http_stream_feed(s, p, n, 1, &ev);
        if (k > n)
            abort();
        if (k == 0 && ev.type == HTTP_EV_NONE && n > 0)
            abort(); /* no progress */
        p += k;
        n -= k;
        switch (ev.type) {
        case HTTP_EV_HEAD: {
            const struct http_head *h = s->head;
            t->heads++;
            enum http_body_kind kind = h->body_kind;
            if (!h->is_request && (h->status < 200 || h->status == 204 ||
                                   h->status == 304))
                kind = HTTP_BODY_NONE;
            if (http_stream_set_body(s, kind, h->content_length))
                t->ends++;
            break;
        }
        case HTTP_EV_BODY:
            if (ev.len == 0)
                abort();
            t->body_bytes += ev.len;
            break;
        case HTTP_EV_END:
            t->ends++;
            break;
        case HTTP_EV_ERROR:
            t->errors++;
            break;
        default:
            break;
        }
        if (++guard > 1000000)
            abort();
    } while (n > 0 || ev.type != HTTP_EV_NONE);
}

static void run(const uint8_t *data, size_t size, int is_request,
                const uint8_t *cuts, size_t ncuts, int gaps,
                struct tally *t)
{
    struct http_stream s;
    http_stream_init(&s, is_request, &scratch);
    size_t at = 0, ci = 0;
    while (at < size) {
        size_t len = size - at;
        if (ci < ncuts) {
            size_t want = (size_t)cuts[ci] + 1;
            if (want < len)
                len = want;
            if (gaps && (cuts[ci] & 0xe0) == 0xe0)
                http_stream_gap(&s);
            ci++;
        }
        drive(&s, data + at, len, t);
        at += len;
    }
    if (http_stream_fin(&s) == 1)
        t->ends++;
    http_stream_cleanup(&s);
    if (t->body_bytes > size)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_head h;
    for (int dir = 0; dir < 2; dir++) {
        (void)http_parse_head((const char *)data, size, dir, &h,
                              scratch.hdrs, HTTP_MAX_HEADERS);
        struct tally whole = {0}, cut = {0}, gapped = {0};
        run(data, size, dir, data, 0, 0, &whole); /* uncut */
        /* the first 32 bytes double as cut lengths */
        size_t nc = size < 32 ? size : 32;
        run(data, size, dir, data, nc, 0, &cut);
        if (whole.heads != cut.heads || whole.ends != cut.ends ||
            whole.body_bytes != cut.body_bytes)
            abort(); /* framing depends on the split points */
        run(data, size, dir, data, nc, 1, &gapped);
    }
    return 0;
}
