/*
 * http_parse.c: the HTTP/1.x head parser and the per-direction framing state
 * machine declared in http_parse.h. Lines are found with memchr; the only
 * per-byte loops are over start-line prefixes and chunk-size lines, which are
 * a few bytes each. Heads are parsed in place from the caller's run when they
 * arrive whole, and copied into a per-stream buffer (capped) only when split.
 * Anomalies are noted on the way (a few compares per header line), so a
 * clean message costs what it did before they were.
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
#define CHUNK_DIGITS_MAX 15 /* significant hex digits: sizes below 2^60 */

static const char version09[] = "HTTP/0.9";

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

const char *http_anomaly_name(uint32_t bit)
{
    static const char *const names[] = {
        "no-target", "no-version", "bad-version", "extra-tokens", "http09",
        "bad-header", "ws-before-colon", "head-too-large", "head-truncated",
        "cl-invalid", "cl-conflict", "cl-list", "cl-leading-zeros", "te-cl",
        "te-not-chunked", "te-multiple", "framing-folded",
        "framing-ws-before-colon", "te-http10", "connect-body", "chunk-cr",
        "chunk-bad", "te-empty-element", "te-tab",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (bit == 1u << i)
            return names[i];
    return "?";
}

int http_method_known(const char *m, size_t n)
{
    static const char *const methods[] = {
        "GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH",
        "CONNECT", "TRACE", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE",
        "LOCK", "UNLOCK", "REPORT", "SEARCH", "PURGE", "MKCALENDAR", "QUERY",
        NULL};
    for (int i = 0; methods[i]; i++)
        if (strlen(methods[i]) == n && !memcmp(methods[i], m, n))
            return 1;
    return 0;
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

/* Like http_start_check for a request, but a method token may also end the
 * line (a bare method): the loose start allowed at a message boundary. */
static int loose_start_check(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == ' ' || p[i] == '\r' || p[i] == '\n')
            return i > 0 ? 1 : 0;
        if (!tchar[p[i]] || i >= METHOD_MAX)
            return 0;
    }
    return HTTP_PARSE_PARTIAL;
}

/* Request line without its line ending, split at runs of SP. 0 or -1. */
static int parse_request_line(const char *b, size_t len, struct http_head *h)
{
    size_t i = 0;
    while (i < len && tchar[(uint8_t)b[i]])
        i++;
    if (i == 0 || i > METHOD_MAX || (i < len && b[i] != ' '))
        return -1;
    h->method = b;
    h->method_len = i;
    const char *tok[2] = {b + len, b + len}, *last = b + len;
    size_t tlen[2] = {0, 0}, last_len = 0;
    int ntok = 0;
    size_t p = i;
    while (p < len) {
        while (p < len && b[p] == ' ')
            p++;
        if (p == len)
            break;
        const char *sp = memchr(b + p, ' ', len - p);
        size_t e = sp ? (size_t)(sp - b) : len;
        if (ntok < 2) {
            tok[ntok] = b + p;
            tlen[ntok] = e - p;
        }
        last = b + p;
        last_len = e - p;
        ntok++;
        p = e;
    }
    h->minor_version = 1;
    h->target = tok[0];
    h->target_len = tlen[0];
    h->version = tok[1];
    h->version_len = tlen[1];
    switch (ntok) {
    case 0: /* a bare method */
        h->anomalies |= HTTP_A_NO_TARGET | HTTP_A_NO_VERSION;
        break;
    case 1:
        if (tlen[0] >= 5 && !memcmp(tok[0], "HTTP/", 5)) {
            h->anomalies |= HTTP_A_NO_TARGET; /* "OPTIONS HTTP/1.1" */
            h->version = tok[0];
            h->version_len = tlen[0];
            h->target = b + len;
            h->target_len = 0;
            if (check_version(h->version, h->version_len,
                              &h->minor_version) < 0)
                h->anomalies |= HTTP_A_BAD_VERSION;
        } else if (i == 3 && !memcmp(b, "GET", 3)) {
            h->anomalies |= HTTP_A_HTTP09; /* a simple request */
            h->version = version09;
            h->version_len = sizeof version09 - 1;
            h->minor_version = 0;
        } else {
            h->anomalies |= HTTP_A_NO_VERSION;
        }
        break;
    case 2:
        if (check_version(tok[1], tlen[1], &h->minor_version) < 0)
            h->anomalies |= HTTP_A_BAD_VERSION;
        break;
    default: /* the target is the second token; the version the third,
              * or else the last one, when it is one */
        h->anomalies |= HTTP_A_EXTRA_TOKENS;
        if (check_version(tok[1], tlen[1], &h->minor_version) == 0) {
            break;
        } else if (check_version(last, last_len, &h->minor_version) == 0) {
            h->version = last;
            h->version_len = last_len;
        } else {
            h->version = b + len;
            h->version_len = 0;
        }
        break;
    }
    return 0;
}

/* Status line without its line ending. 0 or -1. */
static int parse_status_line(const char *b, size_t len, struct http_head *h)
{
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

static int parse_start_line(const char *b, size_t len, int is_request,
                            struct http_head *h)
{
    h->line = b;
    h->line_len = len;
    return is_request ? parse_request_line(b, len, h)
                      : parse_status_line(b, len, h);
}

/* 1 when line[0..n) (no line ending) is a request line without anomalies. */
static int strict_request_line(const char *line, size_t n)
{
    struct http_head tmp;
    memset(&tmp, 0, sizeof tmp);
    return parse_request_line(line, n, &tmp) == 0 &&
           !(tmp.anomalies & HTTP_A_START_LINE);
}

/* ---- framing headers ------------------------------------------------ */

struct framing {
    uint64_t cl;             /* the Content-Length value */
    unsigned cl_count;       /* values seen (list elements and lines) */
    unsigned te_lines, te_chunked;
    unsigned cl_invalid : 1, cl_conflict : 1, cl_zeros : 1, cl_empty : 1,
        te_last_chunked : 1, te_any : 1, te_empty : 1;
};

/* One Content-Length value (or a folded piece of it): a list of decimal
 * numbers. */
static void cl_piece(struct framing *f, const char *v, size_t n)
{
    if (n == 0) { /* may be folded onto the next line */
        f->cl_empty = 1;
        return;
    }
    size_t i = 0;
    for (;;) {
        while (i < n && is_ws(v[i]))
            i++;
        size_t s = i;
        uint64_t x = 0;
        int ovf = 0;
        while (i < n && is_digit(v[i])) {
            uint64_t d = (uint64_t)(v[i] - '0');
            if (x > ((uint64_t)INT64_MAX - d) / 10)
                ovf = 1;
            else
                x = x * 10 + d;
            i++;
        }
        size_t digits = i - s;
        while (i < n && is_ws(v[i]))
            i++;
        if (digits == 0 || ovf) {
            f->cl_invalid = 1;
            return;
        }
        if (digits > 1 && v[s] == '0')
            f->cl_zeros = 1;
        if (f->cl_count && x != f->cl)
            f->cl_conflict = 1;
        f->cl = x;
        f->cl_count++;
        if (i == n)
            return;
        if (v[i] != ',') {
            f->cl_invalid = 1;
            return;
        }
        i++;
    }
}

/* One Transfer-Encoding value (or a folded piece): a list of codings. */
static void te_piece(struct framing *f, const char *v, size_t n)
{
    size_t i = 0;
    if (n == 0) /* the value is on the (folded) next line */
        return;
    for (;;) {
        const char *c = memchr(v + i, ',', n - i);
        size_t e = c ? (size_t)(c - v) : n, s = i;
        while (s < e && is_ws(v[s]))
            s++;
        size_t t = e;
        while (t > s && is_ws(v[t - 1]))
            t--;
        if (t > s) {
            f->te_any = 1;
            f->te_last_chunked = http_name_is(v + s, t - s, "chunked");
            f->te_chunked += f->te_last_chunked;
        } else {
            f->te_empty = 1;
        }
        if (!c)
            return;
        i = e + 1;
    }
}

/* Decides the body framing from the framing headers (RFC 9112 6.3). */
static void decide_framing(struct http_head *h, const struct framing *f,
                           int version_ok)
{
    int is_connect = h->is_request && h->method_len == 7 &&
                     !memcmp(h->method, "CONNECT", 7);
    int cl_bad = f->cl_invalid || (f->cl_empty && !f->cl_count);
    if (cl_bad)
        h->anomalies |= HTTP_A_CL_INVALID;
    if (f->cl_conflict)
        h->anomalies |= HTTP_A_CL_CONFLICT;
    if (is_connect) {
        if (f->te_lines || f->cl_count || cl_bad)
            h->anomalies |= HTTP_A_CONNECT_BODY;
        h->body_kind = HTTP_BODY_NONE;
    } else if (f->te_lines) {
        if (f->cl_count || cl_bad)
            h->anomalies |= HTTP_A_TE_CL;
        if (f->te_lines > 1 || f->te_chunked > 1)
            h->anomalies |= HTTP_A_TE_MULTI;
        if (f->te_empty)
            h->anomalies |= HTTP_A_TE_EMPTY;
        if (version_ok && h->minor_version == 0)
            h->anomalies |= HTTP_A_TE_HTTP10;
        if (f->te_last_chunked) {
            h->body_kind = HTTP_BODY_CHUNKED;
        } else if (h->is_request) {
            h->anomalies |= HTTP_A_TE_NOT_CHUNKED;
            h->body_kind = HTTP_BODY_UNKNOWN;
        } else {
            h->body_kind = HTTP_BODY_CLOSE;
        }
    } else if (cl_bad || f->cl_conflict) {
        h->body_kind = HTTP_BODY_UNKNOWN;
    } else if (f->cl_count) {
        if (f->cl_count > 1)
            h->anomalies |= HTTP_A_CL_LIST;
        if (f->cl_zeros)
            h->anomalies |= HTTP_A_CL_ZEROS;
        h->body_kind = f->cl ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
        h->content_length = f->cl;
    } else {
        h->body_kind = h->is_request ? HTTP_BODY_NONE : HTTP_BODY_CLOSE;
    }
}

/* ---- the head parser ------------------------------------------------- */

enum { FR_NONE = 0, FR_CL, FR_TE };

/* Parses a head. With partial, buf ends where the bytes end: the complete
 * lines are parsed, an incomplete start line as far as it goes, and the
 * result is the whole of buf (HTTP_A_TRUNCATED). Returns as
 * http_parse_head. */
static int parse_head(const char *buf, size_t len, int is_request,
                      struct http_head *h, struct http_header *hdrs,
                      size_t max_hdrs, int partial)
{
    memset(h, 0, sizeof *h);
    h->is_request = is_request;
    h->headers = hdrs;
    if (len > HTTP_HEAD_MAX * 16u)
        len = HTTP_HEAD_MAX * 16u; /* keeps the result in an int */
    const char *le = memchr(buf, '\n', len);
    if (!le && !partial)
        return HTTP_PARSE_PARTIAL;
    size_t l1 = le ? (size_t)(le - buf) : len, l1c = l1;
    if (l1c && buf[l1c - 1] == '\r')
        l1c--;
    if (parse_start_line(buf, l1c, is_request, h) < 0)
        return HTTP_PARSE_ERROR;
    if (!le) { /* the start line itself was cut */
        h->anomalies = HTTP_A_TRUNCATED;
        h->body_kind = HTTP_BODY_UNKNOWN;
        h->head_len = len;
        return (int)len;
    }
    int loose = (h->anomalies & HTTP_A_START_LINE) != 0;
    int version_ok = !(h->anomalies & (HTTP_A_BAD_VERSION |
                                       HTTP_A_NO_VERSION | HTTP_A_HTTP09));
    size_t pos = l1 + 1;
    if (h->anomalies & HTTP_A_HTTP09) { /* the head is that one line */
        h->body_kind = HTTP_BODY_NONE;
        h->head_len = pos;
        return (int)pos;
    }
    struct framing f;
    memset(&f, 0, sizeof f);
    int prev = FR_NONE;
    struct http_header spare;
    int early = 0; /* ended before a request line: no empty line, no body */
    for (;;) {
        if (pos >= len || !(le = memchr(buf + pos, '\n', len - pos))) {
            if (!partial)
                return HTTP_PARSE_PARTIAL;
            h->anomalies |= HTTP_A_TRUNCATED;
            pos = len;
            break;
        }
        size_t lend = (size_t)(le - buf), ll = lend - pos;
        if (ll && buf[pos + ll - 1] == '\r')
            ll--;
        if (ll == 0) {
            pos = lend + 1;
            break;
        }
        const char *line = buf + pos;
        if (loose && strict_request_line(line, ll)) {
            early = 1; /* the next request: this head ends before it */
            break;
        }
        struct http_header *x = &spare;
        if (h->num_headers < max_hdrs)
            x = &hdrs[h->num_headers++];
        else
            h->anomalies |= HTTP_A_TOO_LARGE;
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
            if (prev == FR_CL) {
                h->anomalies |= HTTP_A_FRAMING_FOLD;
                cl_piece(&f, x->value, x->value_len);
            } else if (prev == FR_TE) {
                h->anomalies |= HTTP_A_FRAMING_FOLD;
                te_piece(&f, x->value, x->value_len);
            }
            continue;
        }
        prev = FR_NONE;
        const char *colon = memchr(line, ':', ll);
        if (!colon) {
            h->anomalies |= HTTP_A_BAD_HEADER;
            x->name = line;
            x->name_len = ll;
            x->value = line + ll;
            x->value_len = 0;
            continue;
        }
        size_t nl = (size_t)(colon - line);
        int ws_colon = 0;
        if (nl == 0)
            h->anomalies |= HTTP_A_BAD_HEADER;
        else if (is_ws(line[nl - 1]))
            ws_colon = 1;
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
        if (ws_colon)
            h->anomalies |= HTTP_A_WS_COLON;
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
                prev = FR_CL;
                cl_piece(&f, x->value, x->value_len);
            }
            break;
        case 17:
            if (http_name_is(line, nl, "transfer-encoding")) {
                prev = FR_TE;
                f.te_lines++;
                te_piece(&f, x->value, x->value_len);
                if (memchr(colon, '\t', ll - (size_t)(colon - line)))
                    h->anomalies |= HTTP_A_TE_TAB;
            }
            break;
        default:
            break;
        }
        if (ws_colon && prev != FR_NONE)
            h->anomalies |= HTTP_A_FRAMING_WS;
    }
    decide_framing(h, &f, version_ok);
    if (early)
        h->body_kind = HTTP_BODY_NONE;
    if (h->anomalies & HTTP_A_TRUNCATED)
        h->body_kind = HTTP_BODY_UNKNOWN;
    h->head_len = pos;
    return (int)pos;
}

int http_parse_head(const char *buf, size_t len, int is_request,
                    struct http_head *h, struct http_header *hdrs,
                    size_t max_hdrs)
{
    return parse_head(buf, len, is_request, h, hdrs, max_hdrs, 0);
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
    s->hlen = s->hcap = s->carry = 0;
}

static void end_msg(struct http_stream *s)
{
    s->state = ST_START;
    s->in_msg = 0;
}

static void begin_head(struct http_stream *s, int strict, int64_t ts_us)
{
    s->state = ST_HEAD;
    s->hlen = 0;
    s->scanned = 0;
    s->line_start = 0;
    s->line1_ok = 0;
    s->line1_loose = 0;
    s->prefix_ok = 0;
    s->head_strict = strict;
    s->in_msg = 1;
    s->msg_anomalies = 0;
    s->msg_wire_bytes = 0;
    s->msg_first_us = s->msg_last_us = ts_us;
}

/* The head left over after a malformed one becomes the head in progress. */
static void adopt_carry(struct http_stream *s, int64_t ts_us)
{
    size_t n = s->carry;
    memmove(s->hbuf, s->hbuf + s->carry_off, n);
    s->carry = 0;
    begin_head(s, s->state == ST_SYNC, ts_us);
    s->hlen = n;
    s->msg_wire_bytes = n;
}

/* Drops the head or body in progress and resyncs; skipped bytes of it
 * were part of no message. */
static void resync(struct http_stream *s, int at_line_start,
                   uint64_t skipped)
{
    if (!s->synced)
        s->sync_skipped += skipped;
    s->skipped_bytes += skipped;
    s->state = ST_SYNC;
    s->at_line_start = at_line_start;
    s->in_msg = 0;
    s->hlen = 0;
}

/* Abandons the head or body in progress: ERROR event, resync. */
static void fail(struct http_stream *s, int at_line_start, uint64_t skipped,
                 struct http_event *ev)
{
    resync(s, at_line_start, skipped);
    ev->type = HTTP_EV_ERROR;
}

/* Whether a head with these start-line anomalies is a message here. */
static int start_acceptable(const struct http_stream *s,
                            const struct http_head *h)
{
    if (!(h->anomalies & HTTP_A_START_LINE))
        return 1;
    return !s->head_strict &&
           (s->synced || http_method_known(h->method, h->method_len));
}

/* Scans buf[from..len) of the head for line ends, validating the start
 * line. Returns the head length (> 0; it may end before from when a head
 * with a malformed start line ends before a request line), 0 when the end
 * is not there yet, or -1 with *err_end = bytes of buf to discard (0 or a
 * line end). */
static long scan_head(struct http_stream *s, const char *buf, size_t from,
                      size_t len, size_t *err_end)
{
    *err_end = 0;
    if (!s->prefix_ok) {
        int r = s->is_request && !s->head_strict
                    ? loose_start_check((const uint8_t *)buf, len)
                    : http_start_check((const uint8_t *)buf, len,
                                       s->is_request);
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
        if (ll && buf[lf - 1] == '\r')
            ll--;
        if (!s->line1_ok) {
            struct http_head tmp;
            memset(&tmp, 0, sizeof tmp);
            if (!s->prefix_ok ||
                parse_start_line(buf, ll, s->is_request, &tmp) < 0 ||
                !start_acceptable(s, &tmp)) {
                *err_end = lf + 1;
                return -1;
            }
            s->line1_ok = 1;
            s->line1_loose = (tmp.anomalies & HTTP_A_START_LINE) != 0;
            if (tmp.anomalies & HTTP_A_HTTP09)
                return (long)(lf + 1);
        } else if (ll == 0) {
            return (long)(lf + 1);
        } else if (s->line1_loose &&
                   strict_request_line(buf + s->line_start, ll)) {
            return (long)s->line_start;
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

/* The head of head_len bytes is parsed into *s->head: report it. */
static void head_done(struct http_stream *s, size_t head_len, int64_t ts_us,
                      struct http_event *ev)
{
    s->msg_wire_bytes = head_len;
    s->msg_last_us = ts_us;
    s->msg_anomalies = s->head->anomalies;
    s->synced = 1;
    s->state = ST_HEAD_DONE;
    ev->type = HTTP_EV_HEAD;
}

/* Parses the complete head of head_len bytes at buf (avail bytes are
 * there: a head with a malformed start line ends where the line after it
 * shows). */
static void finish_head(struct http_stream *s, const char *buf, size_t avail,
                        size_t head_len, int64_t ts_us, struct http_event *ev)
{
    int r = http_parse_head(buf, avail, s->is_request, s->head, s->hdrs,
                            HTTP_MAX_HEADERS);
    if (r != (int)head_len || !start_acceptable(s, s->head)) {
        fail(s, 1, head_len, ev); /* cannot happen */
        return;
    }
    head_done(s, head_len, ts_us, ev);
}

static size_t feed_sync(struct http_stream *s, const uint8_t *p, size_t n,
                        int64_t ts_us, struct http_event *ev);

/* The head in progress is not a message: bytes [0, discard) of it (hbuf
 * or the run) were junk, consumed of them are in this run. A candidate the
 * resync found is dropped quietly and the resync goes on, so the events do
 * not depend on where runs were cut; any other head fails (ERROR). */
static size_t reject(struct http_stream *s, int at_line_start,
                     uint64_t discard, size_t consumed, const uint8_t *p,
                     size_t n, int64_t ts_us, struct http_event *ev)
{
    if (!s->head_strict || s->line1_ok) {
        fail(s, at_line_start, discard, ev);
        return consumed;
    }
    resync(s, at_line_start, discard);
    if (consumed)
        return consumed;
    s->at_line_start = 0;
    return feed_sync(s, p, n, ts_us, ev);
}

/* The head outgrew HTTP_HEAD_MAX: reports what came of it (the start line
 * and complete header lines, HTTP_A_TOO_LARGE, framing UNKNOWN, so the
 * stream resyncs after it), or fails when not even the start line was
 * complete. */
static void head_too_large(struct http_stream *s, const char *buf,
                           size_t len, int64_t ts_us, struct http_event *ev)
{
    if (!s->line1_ok ||
        parse_head(buf, len, s->is_request, s->head, s->hdrs,
                   HTTP_MAX_HEADERS, 1) <= 0) {
        fail(s, 0, len, ev);
        return;
    }
    s->head->anomalies = (s->head->anomalies & ~HTTP_A_TRUNCATED) |
                         HTTP_A_TOO_LARGE;
    s->head->body_kind = HTTP_BODY_UNKNOWN;
    head_done(s, len, ts_us, ev);
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
        if (hr > 0 && start_acceptable(s, s->head)) {
            head_done(s, (size_t)hr, ts_us, ev);
            return (size_t)hr;
        }
        size_t lim = n < HTTP_HEAD_MAX ? n : HTTP_HEAD_MAX;
        long r = scan_head(s, (const char *)p, 0, lim, &err_end);
        if (r > 0) {
            finish_head(s, (const char *)p, lim, (size_t)r, ts_us, ev);
            return (size_t)r;
        }
        if (r < 0)
            return reject(s, err_end > 0, err_end, err_end, p, n, ts_us, ev);
        if (n >= HTTP_HEAD_MAX) {
            head_too_large(s, (const char *)p, HTTP_HEAD_MAX, ts_us, ev);
            return HTTP_HEAD_MAX;
        }
        if (hbuf_reserve(s, n) < 0) {
            fail(s, 0, n, ev);
            return n;
        }
        memcpy(s->hbuf, p, n);
        s->hlen = s->scanned = n;
        s->msg_wire_bytes = n;
        s->msg_last_us = ts_us;
        return n;
    }
    size_t old = s->hlen, k = n;
    if (k > HTTP_HEAD_MAX - old)
        k = HTTP_HEAD_MAX - old;
    if (hbuf_reserve(s, old + k) < 0) {
        fail(s, 0, old, ev);
        return 0;
    }
    memcpy(s->hbuf + old, p, k);
    long r = scan_head(s, s->hbuf, s->scanned, old + k, &err_end);
    if (r > 0) {
        finish_head(s, s->hbuf, old + k, (size_t)r, ts_us, ev);
        if ((size_t)r >= old)
            return (size_t)r - old;
        /* a malformed head ended before a line that began in an earlier
         * run: those bytes start the next head */
        s->carry_off = (size_t)r;
        s->carry = old - (size_t)r;
        return 0;
    }
    if (r < 0)
        return reject(s, err_end > 0, err_end > old ? err_end : old,
                      err_end > old ? err_end - old : 0, p, n, ts_us, ev);
    s->scanned = old + k;
    s->msg_wire_bytes = old + k;
    s->msg_last_us = ts_us;
    if (old + k >= HTTP_HEAD_MAX) { /* head too large */
        head_too_large(s, s->hbuf, old + k, ts_us, ev);
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
    s->skipped_bytes += i;
    if (!s->synced) {
        s->sync_skipped += i;
        if (s->sync_window && s->sync_skipped > s->sync_window) {
            s->skipped_bytes += n - i;
            s->state = ST_DEAD;
            ev->type = HTTP_EV_UNPARSABLE;
            return n;
        }
    }
    if (i == n)
        return n;
    begin_head(s, 1, ts_us);
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
                if (s->remaining || v) /* leading zeros do not count */
                    s->chunk_digits++;
                if (s->chunk_digits > CHUNK_DIGITS_MAX ||
                    ++s->line_len > HTTP_CHUNK_LINE_MAX)
                    goto bad;
                s->remaining = (s->remaining << 4) | (uint64_t)v;
                s->line_cr = 0;
                s->last_cr = 0;
                i++;
                break;
            }
            /* the size ends: BWS, ';' extensions, or the line end */
            if (s->line_len == 0 ||
                (p[i] != ' ' && p[i] != '\t' && p[i] != ';' &&
                 p[i] != '\r' && p[i] != '\n'))
                goto bad;
            s->chunk_state = CH_EXT;
            break;
        }
        case CH_EXT: {
            const uint8_t *q = memchr(p + i, '\n', n - i);
            size_t upto = q ? (size_t)(q - p) : n;
            if (upto - i > HTTP_CHUNK_LINE_MAX ||
                (s->line_len += (uint32_t)(upto - i)) > HTTP_CHUNK_LINE_MAX)
                goto bad;
            for (size_t k = i; k < upto; k++) {
                s->line_cr += p[k] == '\r';
                s->last_cr = p[k] == '\r';
            }
            i = upto;
            if (!q)
                break;
            i++;
            if (s->line_cr > (uint32_t)s->last_cr)
                s->msg_anomalies |= HTTP_A_CHUNK_CR;
            s->line_len = 0;
            s->line_cr = 0;
            s->last_cr = 0;
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
    s->msg_anomalies |= HTTP_A_CHUNK_BAD;
    fail(s, 0, 0, ev);
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

/* A response to an HTTP/0.9 request that has no status line: a head with
 * status 200 and a body to the end of the stream. */
static void http09_response(struct http_stream *s, const uint8_t *p,
                            int64_t ts_us, struct http_event *ev)
{
    struct http_head *h = s->head;
    begin_head(s, 0, ts_us);
    memset(h, 0, sizeof *h);
    h->headers = s->hdrs;
    h->line = h->reason = (const char *)p;
    h->version = version09;
    h->version_len = sizeof version09 - 1;
    h->status = 200;
    h->anomalies = HTTP_A_HTTP09;
    h->body_kind = HTTP_BODY_CLOSE;
    head_done(s, 0, ts_us, ev);
}

size_t http_stream_feed(struct http_stream *s, const uint8_t *p, size_t n,
                        int64_t ts_us, struct http_event *ev)
{
    ev->type = HTTP_EV_NONE;
    ev->data = NULL;
    ev->len = 0;
    if (s->carry && (s->state == ST_START || s->state == ST_SYNC))
        adopt_carry(s, ts_us);
    switch (s->state) {
    case ST_START: {
        if (s->expect_http09 && !s->is_request && n &&
            memcmp(p, "HTTP/", n < 5 ? n : 5) != 0) {
            http09_response(s, p, ts_us, ev);
            return 0;
        }
        size_t i = 0;
        while (i < n && (p[i] == '\r' || p[i] == '\n'))
            i++;
        if (i == n)
            return n;
        begin_head(s, 0, ts_us);
        return i + feed_head(s, p + i, n - i, ts_us, ev);
    }
    case ST_SYNC:
        return n ? feed_sync(s, p, n, ts_us, ev) : 0;
    case ST_HEAD:
        return n || s->scanned < s->hlen ? feed_head(s, p, n, ts_us, ev) : 0;
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
    if (kind == HTTP_BODY_UNKNOWN) {
        /* the end of the body is unknown: what follows the head is
         * skipped up to the next valid start line */
        end_msg(s);
        s->state = ST_SYNC;
        s->at_line_start = 1;
        return 1;
    }
    if (kind == HTTP_BODY_NONE || (kind == HTTP_BODY_LENGTH && length == 0)) {
        end_msg(s);
        return 1;
    }
    s->remaining = kind == HTTP_BODY_LENGTH ? length : 0;
    s->chunk_state = CH_SIZE;
    s->chunk_digits = 0;
    s->line_len = 0;
    s->line_cr = 0;
    s->last_cr = 0;
    s->state = ST_BODY;
    return 0;
}

int http_stream_partial_head(struct http_stream *s)
{
    if (s->carry && (s->state == ST_START || s->state == ST_SYNC))
        adopt_carry(s, s->msg_last_us);
    if (s->state != ST_HEAD || s->hlen == 0)
        return 0;
    int r = s->is_request ? loose_start_check((const uint8_t *)s->hbuf,
                                              s->hlen)
                          : http_start_check((const uint8_t *)s->hbuf,
                                             s->hlen, 0);
    if (r != 1 || parse_head(s->hbuf, s->hlen, s->is_request, s->head,
                             s->hdrs, HTTP_MAX_HEADERS, 1) <= 0)
        return 0;
    struct http_head *h = s->head;
    if (!(h->anomalies & HTTP_A_TRUNCATED)) { /* cannot happen */
        h->anomalies |= HTTP_A_TRUNCATED;
        h->body_kind = HTTP_BODY_UNKNOWN;
    }
    if (!s->line1_ok) /* the start line was cut: its tokens say nothing */
        h->anomalies &= ~HTTP_A_START_LINE;
    else if (!start_acceptable(s, h))
        return 0;
    s->msg_anomalies = h->anomalies;
    s->synced = 1;
    return 1;
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
    int was = s->in_msg || s->carry;
    s->state = ST_SYNC;
    s->at_line_start = 1;
    s->in_msg = 0;
    s->hlen = 0;
    s->carry = 0;
    return was;
}

int http_stream_fin(struct http_stream *s)
{
    int r = 0;
    if (s->state == ST_BODY && s->body_kind == HTTP_BODY_CLOSE) {
        end_msg(s);
        r = 1;
    } else if ((s->in_msg || s->carry) && s->state != ST_DEAD) {
        r = -1;
    }
    s->state = ST_DEAD;
    s->in_msg = 0;
    s->carry = 0;
    return r;
}

size_t http_dechunk(const uint8_t *in, size_t n, uint8_t *out)
{
    struct http_stream s;
    struct http_event ev;
    size_t len = 0;
    memset(&s, 0, sizeof s);
    s.is_request = 1;
    s.state = ST_BODY; /* straight into the body: no head needed */
    s.body_kind = HTTP_BODY_CHUNKED;
    s.chunk_state = CH_SIZE;
    while (n) {
        ev.type = HTTP_EV_NONE;
        ev.data = NULL;
        ev.len = 0;
        size_t k = feed_chunked(&s, in, n, 0, &ev);
        if (ev.type == HTTP_EV_BODY) {
            memmove(out + len, ev.data, ev.len);
            len += ev.len;
        }
        in += k;
        n -= k;
        if (ev.type == HTTP_EV_END || ev.type == HTTP_EV_ERROR || !k)
            break;
    }
    return len;
}
