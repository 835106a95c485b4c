/*
 * http_parse.c: the HTTP/1.x head parser and the per-direction framing state
 * machine declared in http_parse.h. Lines are found with memchr; the only
 * per-byte loops are over start-line prefixes and chunk-size lines, which are
 * a few bytes each. Heads are parsed in place from the caller's run when they
 * arrive whole, and copied into a per-stream buffer (capped) only when split.
 */
#include "proto/http_parse.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum {
    ST_START = 0, /* between messages: skip empty lines, then a head */
    ST_SYNC,      /* looking for the start of a message after garbage */
    ST_HEAD,      /* receiving a head */
    ST_HEAD_DONE, /* head reported, waiting for http_stream_set_body */
    ST_BODY,
    ST_DEAD,      /* ended (FIN) or gave up: ignore bytes */
};

enum { CH_SIZE = 0, CH_EXT, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER };

/* RFC 9110 tchar. */
static const uint8_t tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

#define METHOD_MAX 32

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_ws(char c) { return c == ' ' || c == '\t'; }

int http_name_is(const char *a, size_t n, const char *lit)
{
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c | 0x20);
        if (c != lit[i] || lit[i] == '\0')
            return 0;
    }
    return lit[n] == '\0';
}

/* "HTTP/1.d"; sets *minor. */
static int check_version(const char *v, size_t n, int *minor)
{
    if (n != 8 || memcmp(v, "HTTP/1.", 7) != 0 || !is_digit(v[7]))
        return -1;
    *minor = v[7] - '0';
    return 0;
}

int http_start_check(const uint8_t *p, size_t n, int is_request)
{
    if (is_request) {
        for (size_t i = 0; i < n; i++) {
            if (p[i] == ' ')
                return i > 0 ? 1 : 0;
            if (!tchar[p[i]] || i >= METHOD_MAX)
                return 0;
        }
        return HTTP_PARSE_PARTIAL;
    }
    /* "HTTP/d.d ddd": '#' stands for a digit */
    static const char tmpl[] = "HTTP/#.# ###";
    for (size_t i = 0; i < sizeof tmpl - 1; i++) {
        if (i >= n)
            return HTTP_PARSE_PARTIAL;
        if (tmpl[i] == '#' ? !is_digit((char)p[i]) : p[i] != (uint8_t)tmpl[i])
            return 0;
    }
    return 1;
}

/* Start line without its line ending. 0 or -1. */
static int parse_start_line(const char *b, size_t len, int is_request,
                            struct http_head *h)
{
    if (is_request) {
        size_t i = 0;
        while (i < len && tchar[(uint8_t)b[i]])
            i++;
        if (i == 0 || i > METHOD_MAX || i >= len || b[i] != ' ')
            return -1;
        size_t e = len;
        while (e > i && b[e - 1] == ' ')
            e--;
        size_t vs = e;
        while (vs > i && b[vs - 1] != ' ')
            vs--;
        if (check_version(b + vs, e - vs, &h->minor_version) < 0)
            return -1;
        size_t ts = i, te = vs;
        while (ts < te && b[ts] == ' ')
            ts++;
        while (te > ts && b[te - 1] == ' ')
            te--;
        if (te == ts)
            return -1;
        h->method = b;
        h->method_len = i;
        h->target = b + ts;
        h->target_len = te - ts;
        h->version = b + vs;
        h->version_len = e - vs;
        return 0;
    }
    if (len < 12 || check_version(b, 8, &h->minor_version) < 0 ||
        b[8] != ' ')
        return -1;
    size_t i = 9; /* one SP, as http_start_check wants; len >= 12 */
    if (!is_digit(b[i]) || !is_digit(b[i + 1]) ||
        !is_digit(b[i + 2]) || b[i] == '0')
        return -1;
    h->status = (b[i] - '0') * 100 + (b[i + 1] - '0') * 10 + (b[i + 2] - '0');
    i += 3;
    if (i < len && b[i] != ' ')
        return -1;
    while (i < len && b[i] == ' ')
        i++;
    h->version = b;
    h->version_len = 8;
    h->reason = b + i;
    h->reason_len = len - i;
    return 0;
}

/* Content-Length value: one number or a list of equal numbers. */
static int parse_content_length(const char *v, size_t n, uint64_t *out)
{
    int have = 0;
    uint64_t first = 0;
    size_t i = 0;
    while (i <= n) {
        while (i < n && is_ws(v[i]))
            i++;
        uint64_t x = 0;
        size_t digits = 0;
        while (i < n && is_digit(v[i])) {
            uint64_t d = (uint64_t)(v[i] - '0');
            if (x > (uint64_t)(INT64_MAX - d) / 10)
                return -1;
            x = x * 10 + d;
            digits++;
            i++;
        }
        while (i < n && is_ws(v[i]))
            i++;
        if (digits == 0)
            return -1;
        if (have && x != first)
            return -1;
        first = x;
        have = 1;
        if (i == n)
            break;
        if (v[i] != ',')
            return -1;
        i++;
    }
    *out = first;
    return 0;
}

/* 1 when the last transfer coding of v is "chunked". */
static int te_is_chunked(const char *v, size_t n)
{
    size_t s = n;
    while (s > 0 && v[s - 1] != ',')
        s--;
    size_t e = n;
    while (s < e && is_ws(v[s]))
        s++;
    while (e > s && is_ws(v[e - 1]))
        e--;
    return http_name_is(v + s, e - s, "chunked");
}

int http_parse_head(const char *buf, size_t len, int is_request,
                    struct http_head *h, struct http_header *hdrs,
                    size_t max_hdrs)
{
    memset(h, 0, sizeof *h);
    h->is_request = is_request;
    h->headers = hdrs;
    if (len > HTTP_HEAD_MAX * 16u)
        len = HTTP_HEAD_MAX * 16u; /* keeps the result in an int */
    const char *le = memchr(buf, '\n', len);
    if (!le)
        return HTTP_PARSE_PARTIAL;
    size_t l1 = (size_t)(le - buf), l1c = l1;
    if (l1c && buf[l1c - 1] == '\r')
        l1c--;
    if (parse_start_line(buf, l1c, is_request, h) < 0)
        return HTTP_PARSE_ERROR;
    size_t pos = l1 + 1;
    int cl_seen = 0, te_seen = 0, te_chunked = 0;
    uint64_t cl = 0;
    for (;;) {
        if (pos >= len)
            return HTTP_PARSE_PARTIAL;
        le = memchr(buf + pos, '\n', len - pos);
        if (!le)
            return HTTP_PARSE_PARTIAL;
        size_t lend = (size_t)(le - buf), ll = lend - pos;
        if (ll && buf[pos + ll - 1] == '\r')
            ll--;
        if (ll == 0) {
            pos = lend + 1;
            break;
        }
        if (h->num_headers >= max_hdrs)
            return HTTP_PARSE_ERROR;
        struct http_header *x = &hdrs[h->num_headers++];
        const char *line = buf + pos;
        x->line = line;
        x->line_len = ll;
        pos = lend + 1;
        if (is_ws(line[0])) { /* obsolete folding: continuation */
            size_t s = 0, e = ll;
            while (s < e && is_ws(line[s]))
                s++;
            while (e > s && is_ws(line[e - 1]))
                e--;
            x->name = line;
            x->name_len = 0;
            x->value = line + s;
            x->value_len = e - s;
            continue;
        }
        const char *colon = memchr(line, ':', ll);
        if (!colon) {
            x->name = line;
            x->name_len = ll;
            x->value = line + ll;
            x->value_len = 0;
            continue;
        }
        size_t nl = (size_t)(colon - line);
        while (nl > 0 && is_ws(line[nl - 1]))
            nl--;
        size_t s = (size_t)(colon - line) + 1, e = ll;
        while (s < e && is_ws(line[s]))
            s++;
        while (e > s && is_ws(line[e - 1]))
            e--;
        x->name = line;
        x->name_len = nl;
        x->value = line + s;
        x->value_len = e - s;
        switch (nl) {
        case 4:
            if (!h->host && http_name_is(line, nl, "host")) {
                h->host = x->value;
                h->host_len = x->value_len;
            }
            break;
        case 7:
            if (http_name_is(line, nl, "upgrade"))
                h->has_upgrade = 1;
            break;
        case 14:
            if (http_name_is(line, nl, "content-length")) {
                uint64_t v;
                if (parse_content_length(x->value, x->value_len, &v) < 0 ||
                    (cl_seen && v != cl))
                    return HTTP_PARSE_ERROR;
                cl = v;
                cl_seen = 1;
            }
            break;
        case 17:
            if (http_name_is(line, nl, "transfer-encoding")) {
                te_seen = 1;
                te_chunked = te_is_chunked(x->value, x->value_len);
            }
            break;
        default:
            break;
        }
    }
    if (te_seen) {
        if (te_chunked)
            h->body_kind = HTTP_BODY_CHUNKED;
        else if (is_request)
            return HTTP_PARSE_ERROR; /* RFC 9112 6.3: cannot be framed */
        else
            h->body_kind = HTTP_BODY_CLOSE;
    } else if (cl_seen) {
        h->body_kind = cl ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
        h->content_length = cl;
    } else {
        h->body_kind = is_request ? HTTP_BODY_NONE : HTTP_BODY_CLOSE;
    }
    h->head_len = pos;
    return (int)pos;
}

/* ---- the stream ------------------------------------------------------- */

void http_stream_init(struct http_stream *s, int is_request,
                      struct http_scratch *scratch)
{
    memset(s, 0, sizeof *s);
    s->is_request = is_request;
    s->hdrs = scratch->hdrs;
    s->head = &scratch->head;
    s->sync_window = HTTP_SYNC_WINDOW;
    s->state = ST_START;
}

void http_stream_cleanup(struct http_stream *s)
{
    free(s->hbuf);
    s->hbuf = NULL;
    s->hlen = s->hcap = 0;
}

static void end_msg(struct http_stream *s)
{
    s->state = ST_START;
    s->in_msg = 0;
}

static void begin_head(struct http_stream *s, int64_t ts_us)
{
    s->state = ST_HEAD;
    s->hlen = 0;
    s->line_start = 0;
    s->line1_ok = 0;
    s->prefix_ok = 0;
    s->in_msg = 1;
    s->msg_wire_bytes = 0;
    s->msg_first_us = s->msg_last_us = ts_us;
}

/* Abandons the head or body in progress: ERROR event, resync. */
static void fail(struct http_stream *s, int at_line_start,
                 struct http_event *ev)
{
    if (!s->synced)
        s->sync_skipped += s->msg_wire_bytes;
    s->state = ST_SYNC;
    s->at_line_start = at_line_start;
    s->in_msg = 0;
    s->hlen = 0;
    ev->type = HTTP_EV_ERROR;
}

/* Scans buf[from..len) of the head for line ends, validating the start
 * line. Returns the head length (> 0), 0 when the empty line is not there
 * yet, or -1 with *err_end = bytes of buf to discard (0 or a line end). */
static long scan_head(struct http_stream *s, const char *buf, size_t from,
                      size_t len, size_t *err_end)
{
    *err_end = 0;
    if (!s->prefix_ok) {
        int r = http_start_check((const uint8_t *)buf, len, s->is_request);
        if (r == 0)
            return -1;
        if (r == 1)
            s->prefix_ok = 1;
    }
    size_t i = from;
    while (i < len) {
        const char *q = memchr(buf + i, '\n', len - i);
        if (!q)
            return 0;
        size_t lf = (size_t)(q - buf), ll = lf - s->line_start;
        if (!s->line1_ok) {
            struct http_head tmp;
            if (ll && buf[lf - 1] == '\r')
                ll--;
            memset(&tmp, 0, sizeof tmp);
            if (!s->prefix_ok ||
                parse_start_line(buf, ll, s->is_request, &tmp) < 0) {
                *err_end = lf + 1;
                return -1;
            }
            s->line1_ok = 1;
        } else if (ll == 0 || (ll == 1 && buf[s->line_start] == '\r')) {
            return (long)(lf + 1);
        }
        s->line_start = lf + 1;
        i = lf + 1;
    }
    return 0;
}

static int hbuf_reserve(struct http_stream *s, size_t need)
{
    if (need <= s->hcap)
        return 0;
    size_t cap = s->hcap ? s->hcap : 256;
    while (cap < need)
        cap *= 2;
    if (cap > HTTP_HEAD_MAX)
        cap = HTTP_HEAD_MAX;
    char *nb = realloc(s->hbuf, cap);
    if (!nb)
        return -1;
    s->hbuf = nb;
    s->hcap = cap;
    return 0;
}

static size_t finish_head(struct http_stream *s, const char *buf, size_t len,
                          size_t consumed, int64_t ts_us,
                          struct http_event *ev)
{
    s->msg_wire_bytes += consumed;
    s->msg_last_us = ts_us;
    int r = http_parse_head(buf, len, s->is_request, s->head, s->hdrs,
                            HTTP_MAX_HEADERS);
    if (r <= 0) {
        fail(s, 1, ev);
        return consumed;
    }
    s->synced = 1;
    s->state = ST_HEAD_DONE;
    ev->type = HTTP_EV_HEAD;
    return consumed;
}

static size_t feed_head(struct http_stream *s, const uint8_t *p, size_t n,
                        int64_t ts_us, struct http_event *ev)
{
    size_t err_end;
    if (s->hlen == 0) { /* the head starts in this run: parse in place */
        /* usually the whole head is here: one pass over it */
        int hr = http_parse_head((const char *)p,
                                 n < HTTP_HEAD_MAX ? n : HTTP_HEAD_MAX,
                                 s->is_request, s->head, s->hdrs,
                                 HTTP_MAX_HEADERS);
        if (hr > 0) {
            s->msg_wire_bytes += (size_t)hr;
            s->msg_last_us = ts_us;
            s->synced = 1;
            s->state = ST_HEAD_DONE;
            ev->type = HTTP_EV_HEAD;
            return (size_t)hr;
        }
        long r = scan_head(s, (const char *)p, 0, n, &err_end);
        if (r > 0)
            return finish_head(s, (const char *)p, (size_t)r, (size_t)r,
                               ts_us, ev);
        if (r < 0) {
            s->msg_wire_bytes += err_end;
            fail(s, err_end > 0, ev);
            return err_end;
        }
        if (n >= HTTP_HEAD_MAX || hbuf_reserve(s, n) < 0) {
            s->msg_wire_bytes += n;
            fail(s, 0, ev);
            return n;
        }
        memcpy(s->hbuf, p, n);
        s->hlen = n;
        s->msg_wire_bytes += n;
        s->msg_last_us = ts_us;
        return n;
    }
    size_t old = s->hlen, k = n;
    if (k > HTTP_HEAD_MAX - old)
        k = HTTP_HEAD_MAX - old;
    if (hbuf_reserve(s, old + k) < 0) {
        fail(s, 0, ev);
        return 0;
    }
    memcpy(s->hbuf + old, p, k);
    long r = scan_head(s, s->hbuf, old, old + k, &err_end);
    if (r > 0) {
        s->hlen = (size_t)r;
        return finish_head(s, s->hbuf, (size_t)r, (size_t)r - old, ts_us,
                           ev);
    }
    if (r < 0) {
        size_t used = err_end > old ? err_end - old : 0;
        s->msg_wire_bytes += used;
        fail(s, err_end > 0, ev);
        return used;
    }
    s->msg_wire_bytes += k;
    s->msg_last_us = ts_us;
    if (k < n || old + k >= HTTP_HEAD_MAX) { /* head too large */
        fail(s, 0, ev);
        return k;
    }
    s->hlen = old + k;
    return k;
}

static size_t feed_sync(struct http_stream *s, const uint8_t *p, size_t n,
                        int64_t ts_us, struct http_event *ev)
{
    size_t i = 0;
    for (;;) {
        if (!s->at_line_start) {
            const uint8_t *q = memchr(p + i, '\n', n - i);
            if (!q) {
                i = n;
                break;
            }
            i = (size_t)(q - p) + 1;
            s->at_line_start = 1;
        }
        while (i < n && (p[i] == '\r' || p[i] == '\n'))
            i++;
        if (i == n)
            break;
        if (http_start_check(p + i, n - i, s->is_request) != 0)
            break; /* a candidate; validated as a head */
        s->at_line_start = 0;
    }
    if (!s->synced) {
        s->sync_skipped += i;
        if (s->sync_window && s->sync_skipped > s->sync_window) {
            s->state = ST_DEAD;
            ev->type = HTTP_EV_UNPARSABLE;
            return n;
        }
    }
    if (i == n)
        return n;
    begin_head(s, ts_us);
    return i + feed_head(s, p + i, n - i, ts_us, ev);
}

static size_t feed_chunked(struct http_stream *s, const uint8_t *p, size_t n,
                           int64_t ts_us, struct http_event *ev)
{
    size_t i = 0;
    s->msg_last_us = ts_us;
    while (i < n) {
        switch (s->chunk_state) {
        case CH_SIZE: {
            int v = hexval(p[i]);
            if (v >= 0) {
                if (s->chunk_digits >= 15)
                    goto bad;
                s->remaining = (s->remaining << 4) | (uint64_t)v;
                s->chunk_digits++;
                s->line_len++;
                i++;
                break;
            }
            if (s->chunk_digits == 0)
                goto bad;
            s->chunk_state = CH_EXT; /* ';' ext, BWS or CR: skip to LF */
            break;
        }
        case CH_EXT: {
            const uint8_t *q = memchr(p + i, '\n', n - i);
            size_t upto = q ? (size_t)(q - p) : n;
            s->line_len += (uint32_t)(upto - i > HTTP_CHUNK_LINE_MAX
                                          ? HTTP_CHUNK_LINE_MAX + 1
                                          : upto - i);
            if (s->line_len > HTTP_CHUNK_LINE_MAX)
                goto bad;
            i = upto;
            if (!q)
                break;
            i++;
            s->line_len = 0;
            s->chunk_digits = 0;
            if (s->remaining == 0) {
                s->chunk_state = CH_TRAILER;
                s->trailer_len = 0;
                s->line_nonempty = 0;
            } else {
                s->chunk_state = CH_DATA;
            }
            break;
        }
        case CH_DATA: {
            size_t k = n - i;
            if (k > s->remaining)
                k = (size_t)s->remaining;
            s->remaining -= k;
            if (s->remaining == 0)
                s->chunk_state = CH_DATA_CR;
            ev->type = HTTP_EV_BODY;
            ev->data = p + i;
            ev->len = k;
            i += k;
            s->msg_wire_bytes += i;
            return i;
        }
        case CH_DATA_CR:
            if (p[i] == '\r')
                s->chunk_state = CH_DATA_LF;
            else if (p[i] == '\n')
                s->chunk_state = CH_SIZE;
            else
                goto bad;
            i++;
            break;
        case CH_DATA_LF:
            if (p[i] != '\n')
                goto bad;
            s->chunk_state = CH_SIZE;
            i++;
            break;
        case CH_TRAILER:
            if (++s->trailer_len > HTTP_TRAILER_MAX)
                goto bad;
            if (p[i] == '\n') {
                i++;
                if (!s->line_nonempty) {
                    s->msg_wire_bytes += i;
                    end_msg(s);
                    ev->type = HTTP_EV_END;
                    return i;
                }
                s->line_nonempty = 0;
                break;
            }
            if (p[i] != '\r')
                s->line_nonempty = 1;
            i++;
            break;
        default:
            goto bad;
        }
    }
    s->msg_wire_bytes += i;
    return i;
bad:
    s->msg_wire_bytes += i;
    fail(s, 0, ev);
    return i;
}

static size_t feed_body(struct http_stream *s, const uint8_t *p, size_t n,
                        int64_t ts_us, struct http_event *ev)
{
    switch (s->body_kind) {
    case HTTP_BODY_LENGTH: {
        if (s->remaining == 0) {
            end_msg(s);
            ev->type = HTTP_EV_END;
            return 0;
        }
        size_t k = n;
        if (k > s->remaining)
            k = (size_t)s->remaining;
        if (k == 0)
            return 0;
        s->remaining -= k;
        s->msg_wire_bytes += k;
        s->msg_last_us = ts_us;
        ev->type = HTTP_EV_BODY;
        ev->data = p;
        ev->len = k;
        return k;
    }
    case HTTP_BODY_CHUNKED:
        return feed_chunked(s, p, n, ts_us, ev);
    case HTTP_BODY_CLOSE:
        s->msg_wire_bytes += n;
        if (n) {
            s->msg_last_us = ts_us;
            ev->type = HTTP_EV_BODY;
            ev->data = p;
            ev->len = n;
        }
        return n;
    default:
        end_msg(s);
        ev->type = HTTP_EV_END;
        return 0;
    }
}

size_t http_stream_feed(struct http_stream *s, const uint8_t *p, size_t n,
                        int64_t ts_us, struct http_event *ev)
{
    ev->type = HTTP_EV_NONE;
    ev->data = NULL;
    ev->len = 0;
    switch (s->state) {
    case ST_START: {
        size_t i = 0;
        while (i < n && (p[i] == '\r' || p[i] == '\n'))
            i++;
        if (i == n)
            return n;
        begin_head(s, ts_us);
        return i + feed_head(s, p + i, n - i, ts_us, ev);
    }
    case ST_SYNC:
        return n ? feed_sync(s, p, n, ts_us, ev) : 0;
    case ST_HEAD:
        return n ? feed_head(s, p, n, ts_us, ev) : 0;
    case ST_HEAD_DONE:
        /* the caller did not choose: use the header-derived framing */
        if (http_stream_set_body(s, s->head->body_kind,
                                 s->head->content_length)) {
            ev->type = HTTP_EV_END;
            return 0;
        }
        return 0;
    case ST_BODY:
        return feed_body(s, p, n, ts_us, ev);
    default:
        return n;
    }
}

int http_stream_set_body(struct http_stream *s, enum http_body_kind kind,
                         uint64_t length)
{
    if (s->state != ST_HEAD_DONE)
        return 0;
    s->body_kind = kind;
    if (kind == HTTP_BODY_NONE || (kind == HTTP_BODY_LENGTH && length == 0)) {
        end_msg(s);
        return 1;
    }
    s->remaining = kind == HTTP_BODY_LENGTH ? length : 0;
    s->chunk_state = CH_SIZE;
    s->chunk_digits = 0;
    s->line_len = 0;
    s->state = ST_BODY;
    return 0;
}

int http_stream_looks_http(const struct http_stream *s)
{
    return s->synced || (s->state == ST_HEAD && s->prefix_ok);
}

void http_stream_packet_start(struct http_stream *s)
{
    if (s->state == ST_SYNC)
        s->at_line_start = 1;
}

int http_stream_gap(struct http_stream *s)
{
    if (s->state == ST_DEAD)
        return 0;
    int was = s->in_msg;
    s->state = ST_SYNC;
    s->at_line_start = 1;
    s->in_msg = 0;
    s->hlen = 0;
    return was;
}

int http_stream_fin(struct http_stream *s)
{
    int r = 0;
    if (s->state == ST_BODY && s->body_kind == HTTP_BODY_CLOSE) {
        end_msg(s);
        r = 1;
    } else if (s->in_msg && s->state != ST_DEAD) {
        r = -1;
    }
    s->state = ST_DEAD;
    s->in_msg = 0;
    return r;
}
