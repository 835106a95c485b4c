/*
 * har.c: importing a HAR 1.2 file through the capture seam (see har.h).
 */
#include "capture/har.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/buf.h"
#include "common/rp.h"

struct har_entry {
    json_t *e;             /* borrowed from the document */
    int64_t start_us;
    size_t order;          /* position in the file: a stable sort */
    const char *conn;      /* "connection" id, or NULL: one of its own */
};

struct cap_har {
    json_t *doc;
    struct har_entry *ent;
    size_t n, skipped;
    char path[256];
};

/* "2026-12-07T08:00:00.123+01:00" (or Z) into epoch µs; -1 when not. */
static int64_t parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h, mi, se, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
                     &se, &n) != 6)
        return -1;
    const char *p = s + n;
    int64_t frac = 0, scale = 1000000;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
            p++;
        }
    }
    int off = 0;
    if (*p == '+' || *p == '-') {
        int oh = 0, om = 0;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) < 1)
            return -1;
        off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
    } else if (*p != 'Z' && *p) {
        return -1;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    return ((int64_t)t - off) * 1000000 + frac;
}

static const char *str_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A HAR duration in ms as µs; -1 and missing count as 0. */
static int64_t ms_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    double d = json_is_number(v) ? json_number_value(v) : 0;
    return d > 0 ? (int64_t)(d * 1000) : 0;
}

static int cmp_entry(const void *x, const void *y)
{
    const struct har_entry *a = x, *b = y;
    if (a->start_us != b->start_us)
        return a->start_us < b->start_us ? -1 : 1;
    return (a->order > b->order) - (a->order < b->order);
}

int cap_har_load(const char *path, struct cap_har **out, char *err)
{
    *out = NULL;
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc)
        return rp_fail(err, RP_EINPUT, "%s: not a HAR file: line %d: %s",
                       path, je.line, je.text);
    json_t *log = json_object_get(doc, "log");
    json_t *entries = json_object_get(log, "entries");
    if (!json_is_object(log) || !json_is_array(entries)) {
        json_decref(doc);
        return rp_fail(err, RP_EINPUT, "%s: not a HAR file: no log.entries "
                       "array (HAR 1.2: {\"log\": {\"entries\": [...]}})",
                       path);
    }
    struct cap_har *h = calloc(1, sizeof *h);
    size_t n = json_array_size(entries);
    if (!h || !(h->ent = calloc(n ? n : 1, sizeof *h->ent))) {
        free(h);
        json_decref(doc);
        return rp_fail(err, RP_ENOMEM, "out of memory");
    }
    h->doc = doc;
    snprintf(h->path, sizeof h->path, "%s", path);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(entries, i);
        json_t *rq = json_object_get(e, "request");
        int64_t t = parse_time(str_of(e, "startedDateTime"));
        if (!json_is_object(rq) || !str_of(rq, "method") ||
            !str_of(rq, "url") || t < 0 ||
            !json_is_object(json_object_get(e, "response"))) {
            h->skipped++;
            continue;
        }
        const char *ver = str_of(rq, "httpVersion");
        int h1 = !ver || !strncasecmp(ver, "HTTP/1", 6);
        struct har_entry *x = &h->ent[h->n];
        x->e = e;
        x->start_us = t;
        x->order = i;
        x->conn = h1 ? str_of(e, "connection") : NULL;
        h->n++;
    }
    qsort(h->ent, h->n, sizeof *h->ent, cmp_entry);
    *out = h;
    return 0;
}

int64_t cap_har_first_us(const struct cap_har *h)
{
    return h->n ? h->ent[0].start_us : 0;
}

int64_t cap_har_last_us(const struct cap_har *h)
{
    int64_t last = 0;
    for (size_t i = 0; i < h->n; i++) {
        json_t *t = json_object_get(h->ent[i].e, "timings");
        int64_t end = h->ent[i].start_us + ms_of(h->ent[i].e, "time");
        if (json_is_object(t)) {
            int64_t s = h->ent[i].start_us + ms_of(t, "blocked") +
                        ms_of(t, "dns") + ms_of(t, "connect") +
                        ms_of(t, "send") + ms_of(t, "wait") +
                        ms_of(t, "receive");
            if (s > end)
                end = s;
        }
        if (end > last)
            last = end;
    }
    return last;
}

void cap_har_free(struct cap_har *h)
{
    if (!h)
        return;
    json_decref(h->doc);
    free(h->ent);
    free(h);
}

/* ---- feeding ------------------------------------------------------------- */

static int b64_val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Appends the base64 text s decoded; -1 when it is not base64. */
static int b64_append(struct rp_buf *b, const char *s)
{
    uint32_t acc = 0;
    int bits = 0;
    for (; *s; s++) {
        if (*s == '=' || isspace((unsigned char)*s))
            continue;
        int v = b64_val((unsigned char)*s);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            uint8_t c = (uint8_t)(acc >> bits);
            if (rp_buf_append(b, &c, 1))
                return -1;
        }
    }
    return 0;
}

/* Header names that the rebuilt message sets itself or that describe the
 * original framing and encoding, not the stored content. */
static int dropped_header(const char *name, int response)
{
    if (name[0] == ':')
        return 1;
    if (!strcasecmp(name, "content-length") ||
        !strcasecmp(name, "transfer-encoding"))
        return 1;
    return response && !strcasecmp(name, "content-encoding");
}

static int put_headers(struct rp_buf *b, json_t *headers, int response,
                       int *has_host)
{
    size_t i;
    json_t *hd;
    int rc = 0;
    json_array_foreach(headers, i, hd) {
        const char *name = str_of(hd, "name"), *value = str_of(hd, "value");
        if (!name || !value || !*name || strpbrk(name, ":\r\n ") == name ||
            strpbrk(value, "\r\n"))
            continue;
        if (has_host && !strcasecmp(name, ":authority") && !*has_host) {
            rc |= rp_buf_printf(b, "Host: %s\r\n", value);
            *has_host = 1;
            continue;
        }
        if (dropped_header(name, response) || strpbrk(name, ": \t"))
            continue;
        if (has_host && !strcasecmp(name, "host")) {
            if (*has_host)
                continue;
            *has_host = 1;
        }
        rc |= rp_buf_printf(b, "%s: %s\r\n", name, value);
    }
    return rc;
}

/* Splits "http://host:port/path?q" into host (with port) and target. */
static int split_url(const char *url, char *host, size_t hn, int *port,
                     const char **target)
{
    const char *p = strstr(url, "://");
    if (!p)
        return -1;
    int https = p - url == 5 && !strncasecmp(url, "https", 5);
    p += 3;
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    const char *q = memchr(p, '?', (size_t)(end - p));
    if (q)
        end = q;
    snprintf(host, hn, "%.*s", (int)(end - p), p);
    *port = https ? 443 : 80;
    const char *colon = strrchr(host, ':');
    if (colon && !strchr(colon, ']'))
        *port = atoi(colon + 1);
    *target = slash ? slash : q ? q : "/";
    return 0;
}

/* The request and response of entry x as HTTP/1.1 heads and bodies. */
static int build(const struct har_entry *x, struct rp_buf *qh,
                 struct rp_buf *qb, struct rp_buf *sh, struct rp_buf *sb,
                 char *host, size_t hn, int *port)
{
    json_t *rq = json_object_get(x->e, "request");
    json_t *rs = json_object_get(x->e, "response");
    const char *target;
    if (split_url(str_of(rq, "url"), host, hn, port, &target))
        return -1;
    rp_buf_reset(qh);
    rp_buf_reset(qb);
    rp_buf_reset(sh);
    rp_buf_reset(sb);
    int rc = rp_buf_printf(qh, "%s %s HTTP/1.1\r\n", str_of(rq, "method"),
                           target);
    int has_host = 0;
    rc |= put_headers(qh, json_object_get(rq, "headers"), 0, &has_host);
    if (!has_host)
        rc |= rp_buf_printf(qh, "Host: %s\r\n", host);
    json_t *pd = json_object_get(rq, "postData");
    const char *text = json_is_object(pd) ? str_of(pd, "text") : NULL;
    if (text)
        rc |= rp_buf_puts(qb, text);
    if (qb->len || (text && *text))
        rc |= rp_buf_printf(qh, "Content-Length: %zu\r\n", qb->len);
    rc |= rp_buf_puts(qh, "\r\n");
    json_t *st = json_object_get(rs, "status");
    int status = json_is_integer(st) ? (int)json_integer_value(st) : 0;
    if (status < 100 || status > 599)
        return -1;
    const char *reason = str_of(rs, "statusText");
    rc |= rp_buf_printf(sh, "HTTP/1.1 %d %s\r\n", status,
                        reason && !strpbrk(reason, "\r\n") ? reason : "");
    rc |= put_headers(sh, json_object_get(rs, "headers"), 1, NULL);
    json_t *ct = json_object_get(rs, "content");
    const char *body = json_is_object(ct) ? str_of(ct, "text") : NULL;
    const char *enc = json_is_object(ct) ? str_of(ct, "encoding") : NULL;
    if (body && enc && !strcasecmp(enc, "base64")) {
        if (b64_append(sb, body))
            return -1;
    } else if (body) {
        rc |= rp_buf_puts(sb, body);
    }
    int bodyless = status < 200 || status == 204 || status == 304;
    if (!bodyless)
        rc |= rp_buf_printf(sh, "Content-Length: %zu\r\n", sb->len);
    else
        rp_buf_reset(sb);
    rc |= rp_buf_puts(sh, "\r\n");
    return rc ? -1 : 0;
}

int cap_har_feed(struct cap_har *h, const struct cap_stream_ops *ops,
                 void *ctx, struct cap_har_stats *st, char *err)
{
    memset(st, 0, sizeof *st);
    st->entries = h->n + h->skipped;
    st->skipped = h->skipped;
    struct rp_buf qh, qb, sh, sb;
    rp_buf_init(&qh, 1 << 20);
    rp_buf_init(&qb, 64u << 20);
    rp_buf_init(&sh, 1 << 20);
    rp_buf_init(&sb, 64u << 20);
    char *done = calloc(h->n ? h->n : 1, 1);
    if (!done)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    /* one connection per entry, or per "connection" id (HTTP/1.x), the
     * connection opened at its first entry and fed its entries in order */
    for (size_t i = 0; i < h->n; i++) {
        if (done[i])
            continue;
        struct cap_conn_info ci;
        memset(&ci, 0, sizeof ci);
        snprintf(ci.client_addr, sizeof ci.client_addr, "0.0.0.0");
        const char *ip = str_of(h->ent[i].e, "serverIPAddress");
        snprintf(ci.server_addr, sizeof ci.server_addr, "%s",
                 ip && *ip ? ip : "0.0.0.0");
        ci.first_us = h->ent[i].start_us;
        ci.saw_syn = 1;
        void *conn = NULL;
        int64_t last = h->ent[i].start_us;
        for (size_t j = i; j < h->n; j++) {
            if (done[j])
                continue;
            if (j != i && !h->ent[i].conn)
                break; /* a connection of its own */
            if (j != i && (!h->ent[j].conn ||
                           strcmp(h->ent[i].conn, h->ent[j].conn)))
                continue;
            done[j] = 1;
            const struct har_entry *x = &h->ent[j];
            char host[256];
            int port = 80;
            if (build(x, &qh, &qb, &sh, &sb, host, sizeof host, &port)) {
                st->skipped++;
                continue;
            }
            if (!conn) {
                ci.server_port = (uint16_t)port;
                if (!(conn = ops->open(ctx, &ci)))
                    break;
                st->connections++;
            }
            json_t *t = json_object_get(x->e, "timings");
            int64_t q0 = x->start_us + ms_of(t, "blocked") + ms_of(t, "dns") +
                         ms_of(t, "connect");
            int64_t q1 = q0 + ms_of(t, "send");
            int64_t s0 = q1 + ms_of(t, "wait");
            int64_t s1 = s0 + ms_of(t, "receive");
            if (s1 < x->start_us + ms_of(x->e, "time"))
                s1 = x->start_us + ms_of(x->e, "time");
            if (q0 < last)
                q0 = last;
            ops->data(ctx, conn, CAP_DIR_C2S, (const uint8_t *)qh.data,
                      qh.len, q0);
            if (qb.len)
                ops->data(ctx, conn, CAP_DIR_C2S, (const uint8_t *)qb.data,
                          qb.len, q1 > q0 ? q1 : q0);
            if (s0 < q1)
                s0 = q1;
            ops->data(ctx, conn, CAP_DIR_S2C, (const uint8_t *)sh.data,
                      sh.len, s0);
            if (sb.len)
                ops->data(ctx, conn, CAP_DIR_S2C, (const uint8_t *)sb.data,
                          sb.len, s1 > s0 ? s1 : s0);
            last = s1 > s0 ? s1 : s0;
            st->imported++;
        }
        if (conn) {
            ops->fin(ctx, conn, CAP_DIR_C2S, last);
            ops->fin(ctx, conn, CAP_DIR_S2C, last);
            ops->close(ctx, conn, CAP_CLOSE_FIN, last);
        }
    }
    free(done);
    rp_buf_cleanup(&qh);
    rp_buf_cleanup(&qb);
    rp_buf_cleanup(&sh);
    rp_buf_cleanup(&sb);
    return 0;
}
