/*
 * ours.c: runs reprise's framer (proto/http_parse) over a buffer the way
 * the capture's HTTP layer does (1xx, 204 and 304 responses have no body)
 * and records the messages in the oracle's form, then compares them with
 * llhttp's.
 */
#include <stdio.h>
#include <string.h>

#include "proto/http_parse.h"
#include "tests/oracle/oracle.h"

static struct http_scratch scratch;

static void on_head(struct http_stream *s, struct oracle_msg *m)
{
    const struct http_head *h = s->head;
    memset(m, 0, sizeof *m);
    if (h->is_request) {
        size_t ml = h->method_len < sizeof m->method - 1
                        ? h->method_len : sizeof m->method - 1;
        memcpy(m->method, h->method, ml);
        m->target_len = h->target_len;
        memcpy(m->target, h->target, h->target_len < ORACLE_TARGET_MAX
                                         ? h->target_len : ORACLE_TARGET_MAX);
    } else {
        m->status = h->status;
    }
}

void oracle_ours(const uint8_t *p, size_t n, int is_request,
                 const size_t *cuts, int ncuts, struct oracle_result *out)
{
    memset(out, 0, sizeof *out);
    struct http_stream s;
    http_stream_init(&s, is_request, &scratch);
    struct oracle_msg cur;
    memset(&cur, 0, sizeof cur);
    size_t at = 0;
    for (int ci = 0; ci <= ncuts && !out->stopped; ci++) {
        size_t stop = ci < ncuts ? cuts[ci] : n;
        if (stop < at || stop > n)
            continue;
        const uint8_t *q = p + at;
        size_t left = stop - at;
        http_stream_packet_start(&s);
        struct http_event ev;
        do {
            size_t k = http_stream_feed(&s, q, left, 1, &ev);
            q += k;
            left -= k;
            at += k;
            int done = 0;
            switch (ev.type) {
            case HTTP_EV_HEAD: {
                on_head(&s, &cur);
                const struct http_head *h = s.head;
                enum http_body_kind kind = h->body_kind;
                if (!is_request && (h->status < 200 || h->status == 204 ||
                                    h->status == 304))
                    kind = HTTP_BODY_NONE;
                done = http_stream_set_body(&s, kind, h->content_length);
                break;
            }
            case HTTP_EV_BODY:
                cur.body_len += ev.len;
                break;
            case HTTP_EV_END:
                done = 1;
                break;
            case HTTP_EV_ERROR:
            case HTTP_EV_UNPARSABLE:
                out->stopped = 1;
                out->pending_anomalies = s.msg_anomalies;
                snprintf(out->why, sizeof out->why, "error at %zu", at);
                break;
            default:
                break;
            }
            if (done && out->n < ORACLE_MSGS_MAX) {
                cur.end = at;
                cur.anomalies = s.msg_anomalies;
                out->msg[out->n++] = cur;
                memset(&cur, 0, sizeof cur);
            }
        } while (!out->stopped && (left > 0 || ev.type != HTTP_EV_NONE));
    }
    if (!out->stopped && s.in_msg) /* the message the input ends in */
        out->pending_anomalies = s.msg_anomalies;
    if (!out->stopped && http_stream_fin(&s) == 1 && out->n < ORACLE_MSGS_MAX) {
        cur.end = n;
        cur.anomalies = s.msg_anomalies;
        out->msg[out->n++] = cur;
    }
    http_stream_cleanup(&s);
}

const char *oracle_compare(const struct oracle_result *t,
                           const struct oracle_result *o, int is_request,
                           int *at)
{
    static char why[256];
    for (int i = 0; i < t->n; i++) {
        *at = i;
        const struct oracle_msg *a = &t->msg[i];
        if (i >= o->n) {
            snprintf(why, sizeof why, "llhttp framed %d messages, reprise %d"
                     " (%s)", t->n, o->n, o->stopped ? o->why : "no error");
            return why;
        }
        const struct oracle_msg *b = &o->msg[i];
        size_t tl = a->target_len < ORACLE_TARGET_MAX ? a->target_len
                                                      : ORACLE_TARGET_MAX;
        if (a->end != b->end)
            snprintf(why, sizeof why, "message %d ends at %zu (llhttp) and "
                     "%zu (reprise)", i, a->end, b->end);
        else if (a->body_len != b->body_len)
            snprintf(why, sizeof why, "message %d: body %llu bytes (llhttp) "
                     "and %llu (reprise)", i,
                     (unsigned long long)a->body_len,
                     (unsigned long long)b->body_len);
        else if (is_request && strcmp(a->method, b->method))
            snprintf(why, sizeof why, "message %d: method %s (llhttp) and %s "
                     "(reprise)", i, a->method, b->method);
        else if (is_request && (a->target_len != b->target_len ||
                                memcmp(a->target, b->target, tl)))
            snprintf(why, sizeof why, "message %d: target of %zu bytes "
                     "(llhttp) and %zu (reprise) differ", i, a->target_len,
                     b->target_len);
        else if (!is_request && a->status != b->status)
            snprintf(why, sizeof why, "message %d: status %d (llhttp) and %d "
                     "(reprise)", i, a->status, b->status);
        else
            continue;
        return why;
    }
    return NULL;
}

/* 1 when the status line at p[0..n) (after empty lines) has a status code
 * of exactly three digits. */
static int three_digit_status(const uint8_t *p, size_t n)
{
    size_t i = 0, d = 0;
    while (i < n && (p[i] == '\r' || p[i] == '\n'))
        i++;
    i += 9; /* "HTTP/d.d " */
    while (i + d < n && p[i + d] >= '0' && p[i + d] <= '9')
        d++;
    return d == 3;
}

const char *oracle_deliberate(const uint8_t *p, size_t n,
                              const struct oracle_result *t,
                              const struct oracle_result *o, int at,
                              int is_request)
{
    const struct oracle_msg *m = &t->msg[at];
    size_t start = at ? t->msg[at - 1].end : 0;
    if (!is_request && start <= n && !three_digit_status(p + start, n - start))
        return "status code not of three digits";
    uint32_t ours_a = at < o->n ? o->msg[at].anomalies : o->pending_anomalies;
    /* "chunked," ends in chunked: empty list elements are ignored (RFC
     * 9110 5.6.1); llhttp 8 takes the coding as not chunked. Flagged. */
    if (ours_a & HTTP_A_TE_EMPTY)
        return "an empty element in the Transfer-Encoding list";
    /* "chunked<HTAB>": whitespace around a field value is not part of it
     * (RFC 9110 5.5); llhttp 8 takes a trailing HTAB as part of the
     * coding. Flagged te-tab. */
    if (ours_a & HTTP_A_TE_TAB)
        return "HTAB in Transfer-Encoding";
    /* obs-fold in a framing header: reprise unfolds it (RFC 9112 5.2 lets
     * a server do that or reject), llhttp 8 takes "chunked" followed by a
     * fold as another coding. Flagged framing-folded. */
    if (ours_a & HTTP_A_FRAMING_FOLD)
        return "obs-fold in Transfer-Encoding or Content-Length";
    /* llhttp 8.1 takes any digits as a status code ("HTTP/1.1 14 x");
     * RFC 9112 4 says status-code = 3DIGIT, so reprise's resync skips it */
    if (!is_request && (m->status < 100 || m->status > 999))
        return "status code not of three digits";
    /* llhttp reads header lines after "GET /x" (HTTP/0.9); a simple
     * request has none (RFC 1945 4.1) and servers answer it at once */
    if (is_request && m->version == 9)
        return "HTTP/0.9 request followed by header lines";
    /* a status line must say HTTP/1.d in an HTTP/1.x stream; llhttp also
     * takes 0.9 and 2.0 there */
    if (!is_request && m->version / 10 != 1)
        return "status line of a version other than HTTP/1.x";
    return NULL;
}
