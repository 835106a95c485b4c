/*
 * llhttp_oracle.c: runs llhttp over a buffer and records the messages it
 * frames. Each on_message_complete pauses the parser, so the position where
 * execution stopped is the end of the message; parsing then resumes there.
 * An upgrade (101, CONNECT, Upgrade) stops it, since llhttp leaves what
 * follows to the caller.
 */
#include <stdio.h>
#include <string.h>

#include "llhttp.h"
#include "tests/oracle/oracle.h"

struct ctx {
    struct oracle_result *out;
    struct oracle_msg cur;
};

static int on_begin(llhttp_t *p)
{
    struct ctx *c = p->data;
    memset(&c->cur, 0, sizeof c->cur);
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct ctx *c = p->data;
    size_t room = ORACLE_TARGET_MAX - (c->cur.target_len < ORACLE_TARGET_MAX
                                           ? c->cur.target_len
                                           : ORACLE_TARGET_MAX);
    size_t k = len < room ? len : room;
    if (k)
        memcpy(c->cur.target + c->cur.target_len, at, k);
    c->cur.target_len += len;
    return 0;
}

static int on_headers(llhttp_t *p)
{
    struct ctx *c = p->data;
    c->cur.version = p->http_major * 10 + p->http_minor;
    if (p->type == HTTP_REQUEST)
        snprintf(c->cur.method, sizeof c->cur.method, "%s",
                 llhttp_method_name((llhttp_method_t)p->method));
    else
        c->cur.status = p->status_code;
    /* RFC 9112 6.3 (1): a 1xx, 204 or 304 response has no body, whatever
     * its headers say, and after a 101 the protocol changes right after
     * the empty line (RFC 9110 15.2.2); llhttp leaves that to its user,
     * as Node.js's HTTP client does it (and reprise's capture) */
    int st = p->status_code;
    if (p->type == HTTP_RESPONSE && (st / 100 == 1 || st == 204 || st == 304))
        return 1;
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    (void)at;
    struct ctx *c = p->data;
    c->cur.body_len += len;
    return 0;
}

static int on_complete(llhttp_t *p)
{
    struct ctx *c = p->data;
    if (c->out->n < ORACLE_MSGS_MAX)
        c->out->msg[c->out->n++] = c->cur;
    return HPE_PAUSED;
}

void oracle_llhttp(const uint8_t *data, size_t n, int is_request,
                   struct oracle_result *out)
{
    memset(out, 0, sizeof *out);
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = on_begin;
    s.on_url = on_url;
    s.on_headers_complete = on_headers;
    s.on_body = on_body;
    s.on_message_complete = on_complete;
    llhttp_t p;
    llhttp_init(&p, is_request ? HTTP_REQUEST : HTTP_RESPONSE, &s);
    struct ctx c = {.out = out};
    p.data = &c;
    const char *at = (const char *)data, *end = at + n;
    for (;;) {
        llhttp_errno_t e = llhttp_execute(&p, at, (size_t)(end - at));
        if (e == HPE_OK)
            break;
        if (e == HPE_PAUSED) { /* a message ended */
            const char *pos = llhttp_get_error_pos(&p);
            if (out->n)
                out->msg[out->n - 1].end = (size_t)(pos - (const char *)data);
            llhttp_resume(&p);
            at = pos;
            if (at >= end)
                break;
            continue;
        }
        out->stopped = 1;
        snprintf(out->why, sizeof out->why, "%s",
                 e == HPE_PAUSED_UPGRADE ? "upgrade" : llhttp_errno_name(e));
        if (e == HPE_PAUSED_UPGRADE && out->n) {
            const char *pos = llhttp_get_error_pos(&p);
            out->msg[out->n - 1].end = (size_t)(pos - (const char *)data);
        }
        return;
    }
    int before = out->n;
    llhttp_errno_t e = llhttp_finish(&p);
    if (out->n > before)
        out->msg[out->n - 1].end = n; /* a close-delimited body */
    if (e != HPE_OK && e != HPE_PAUSED) {
        out->stopped = 1;
        snprintf(out->why, sizeof out->why, "%s", llhttp_errno_name(e));
    }
}
