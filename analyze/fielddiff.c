/*
 * fielddiff.c: the field-by-field response diff (see fielddiff.h).
 */
#include "analyze/fielddiff.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "analyze/fd_wire.h"
#include "common/rp.h"

#define MAX_HEADERS 128
#define MAX_SEEN 512        /* distinct paths reported per diff */
#define MAX_ID_MATCH 2000   /* array elements matched by id at most */

struct hdr {
    char name[64];          /* lower case */
    char value[AN_FD_VALLEN * 2];
};

struct ctx {
    an_fd_fn fn;
    void *arg;
    char *seen[MAX_SEEN];
    int nseen;
    int rc;
    const char *tuples;     /* arrays at this path keep their positions
                               ("$.data[*]": a PostgreSQL row's columns),
                               or NULL */
};

const char *an_fd_kind_name(enum an_fd_kind k)
{
    return k == AN_FD_ADDED ? "added" : k == AN_FD_REMOVED ? "removed"
                                                           : "changed";
}

/* Reports a change once per path. */
static int report(struct ctx *x, const char *path, enum an_fd_kind kind,
                  const char *b, const char *c)
{
    if (x->rc)
        return x->rc;
    for (int i = 0; i < x->nseen; i++)
        if (!strcmp(x->seen[i], path))
            return 0;
    if (x->nseen < MAX_SEEN) {
        if (!(x->seen[x->nseen] = strdup(path)))
            return x->rc = RP_ENOMEM;
        x->nseen++;
    }
    return x->rc = x->fn(x->arg, path, kind, b, c);
}

/* ---- headers --------------------------------------------------------------- */

static int skipped_header(const char *lname)
{
    return !strcmp(lname, "content-length") ||
           !strcmp(lname, "transfer-encoding") ||
           !strcmp(lname, "connection") || !strcmp(lname, "keep-alive");
}

static int parse_headers(const char *h, size_t len, struct hdr *out)
{
    int n = 0;
    const char *p = h, *end = h ? h + len : NULL;
    while (p && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon && colon > p) {
            char name[64];
            size_t nl = (size_t)(colon - p);
            if (nl >= sizeof name)
                nl = sizeof name - 1;
            for (size_t i = 0; i < nl; i++)
                name[i] = (char)tolower((unsigned char)p[i]);
            name[nl] = 0;
            const char *v = colon + 1, *ve = le;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' ||
                              ve[-1] == '\t'))
                ve--;
            int k;
            for (k = 0; k < n; k++)
                if (!strcmp(out[k].name, name))
                    break;
            if (k == n && n < MAX_HEADERS) {
                snprintf(out[n].name, sizeof out[n].name, "%s", name);
                snprintf(out[n].value, sizeof out[n].value, "%.*s",
                         (int)(ve - v), v);
                n++;
            } else if (k < n) { /* repeated: joined as one list */
                size_t l = strlen(out[k].value);
                snprintf(out[k].value + l, sizeof out[k].value - l,
                         ", %.*s", (int)(ve - v), v);
            }
        }
        p = eol ? eol + 1 : end;
    }
    return n;
}

static const char *header_value(const struct hdr *h, int n, const char *lname)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(h[i].name, lname))
            return h[i].value;
    return NULL;
}

static void clip(const char *s, char *out, size_t n)
{
    size_t l = strlen(s);
    if (l < n) {
        memcpy(out, s, l + 1);
        return;
    }
    snprintf(out, n, "%.*s...", (int)(n - 4), s);
}

static int diff_headers(struct ctx *x, const struct hdr *b, int nb,
                        const struct hdr *c, int nc)
{
    char path[AN_FD_PATHLEN], vb[AN_FD_VALLEN], vc[AN_FD_VALLEN];
    for (int i = 0; i < nb && !x->rc; i++) {
        if (skipped_header(b[i].name))
            continue;
        snprintf(path, sizeof path, "header:%s", b[i].name);
        const char *cv = header_value(c, nc, b[i].name);
        clip(b[i].value, vb, sizeof vb);
        if (!cv) {
            report(x, path, AN_FD_REMOVED, vb, "");
        } else if (strcmp(cv, b[i].value)) {
            clip(cv, vc, sizeof vc);
            report(x, path, AN_FD_CHANGED, vb, vc);
        }
    }
    for (int i = 0; i < nc && !x->rc; i++) {
        if (skipped_header(c[i].name) || header_value(b, nb, c[i].name))
            continue;
        snprintf(path, sizeof path, "header:%s", c[i].name);
        clip(c[i].value, vc, sizeof vc);
        report(x, path, AN_FD_ADDED, "", vc);
    }
    return x->rc;
}

/* ---- bodies ---------------------------------------------------------------- */

/* Inflates src into a new buffer; NULL when it is not what enc says. */
static uint8_t *decode(const uint8_t *src, size_t len, const char *enc,
                       size_t *out_len)
{
    int gzip = !strcasecmp(enc, "gzip") || !strcasecmp(enc, "x-gzip");
    if (!gzip && strcasecmp(enc, "deflate"))
        return NULL;
    /* deflate is zlib-wrapped by the RFC, raw in some servers: try both */
    static const int wbits[2][2] = {{15 + 32, 0}, {15, -15}};
    for (int t = 0; t < 2; t++) {
        int wb = wbits[gzip ? 0 : 1][t];
        if (!wb)
            break;
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, wb) != Z_OK)
            return NULL;
        size_t cap = len * 4 + 1024, n = 0;
        uint8_t *out = malloc(cap);
        int rc = Z_OK;
        z.next_in = (Bytef *)src;
        z.avail_in = (uInt)len;
        while (out && rc == Z_OK) {
            if (n == cap) {
                if (cap >= AN_FD_BODY_MAX)
                    break;
                cap = cap * 2 > AN_FD_BODY_MAX ? AN_FD_BODY_MAX : cap * 2;
                uint8_t *g = realloc(out, cap);
                if (!g) {
                    free(out);
                    out = NULL;
                    break;
                }
                out = g;
            }
            z.next_out = out + n;
            z.avail_out = (uInt)(cap - n);
            rc = inflate(&z, Z_NO_FLUSH);
            n = cap - z.avail_out;
        }
        inflateEnd(&z);
        if (out && (rc == Z_STREAM_END || n == AN_FD_BODY_MAX)) {
            *out_len = n;
            return out;
        }
        free(out);
    }
    return NULL;
}

static void json_text(json_t *v, char *out, size_t n)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
                               JSON_REAL_PRECISION(15));
    clip(s ? s : "?", out, n);
    free(s);
}

static int ident(const char *k)
{
    if (!*k || isdigit((unsigned char)*k))
        return 0;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '_')
            return 0;
    return 1;
}

static void path_key(char *path, size_t len, const char *key)
{
    size_t l = strlen(path);
    if (ident(key))
        snprintf(path + l, len - l, ".%s", key);
    else
        snprintf(path + l, len - l, "[\"%s\"]", key);
}

static int walk(struct ctx *x, json_t *b, json_t *c, char *path, size_t len);

/* A scalar "id" of every element of a, or 0. */
static int has_ids(json_t *a)
{
    size_t i;
    json_t *e;
    if (!json_array_size(a) || json_array_size(a) > MAX_ID_MATCH)
        return 0;
    json_array_foreach(a, i, e) {
        json_t *id = json_is_object(e) ? json_object_get(e, "id") : NULL;
        if (!id || json_is_object(id) || json_is_array(id))
            return 0;
    }
    return 1;
}

static int walk_array(struct ctx *x, json_t *b, json_t *c, char *path,
                      size_t len)
{
    size_t l = strlen(path);
    char vb[AN_FD_VALLEN], vc[AN_FD_VALLEN];
    size_t nb = json_array_size(b), nc = json_array_size(c);
    if (x->tuples && !strcmp(path, x->tuples)) {
        size_t m = nb > nc ? nb : nc;
        for (size_t i = 0; i < m && !x->rc; i++) {
            snprintf(path + l, len - l, "[%zu]", i);
            json_t *eb = json_array_get(b, i), *ec = json_array_get(c, i);
            if (eb && ec) {
                walk(x, eb, ec, path, len);
            } else if (eb) {
                json_text(eb, vb, sizeof vb);
                report(x, path, AN_FD_REMOVED, vb, "");
            } else {
                json_text(ec, vc, sizeof vc);
                report(x, path, AN_FD_ADDED, "", vc);
            }
        }
        path[l] = 0;
        return x->rc;
    }
    snprintf(path + l, len - l, "[*]");
    if (has_ids(b) && has_ids(c)) {
        char *used = calloc(nc ? nc : 1, 1);
        if (!used)
            return x->rc = RP_ENOMEM;
        for (size_t i = 0; i < nb && !x->rc; i++) {
            json_t *e = json_array_get(b, i), *id = json_object_get(e, "id");
            size_t j;
            for (j = 0; j < nc; j++)
                if (!used[j] &&
                    json_equal(id, json_object_get(json_array_get(c, j),
                                                   "id")))
                    break;
            if (j == nc) {
                json_text(e, vb, sizeof vb);
                report(x, path, AN_FD_REMOVED, vb, "");
            } else {
                used[j] = 1;
                walk(x, e, json_array_get(c, j), path, len);
            }
        }
        for (size_t j = 0; j < nc && !x->rc; j++)
            if (!used[j]) {
                json_text(json_array_get(c, j), vc, sizeof vc);
                report(x, path, AN_FD_ADDED, "", vc);
            }
        free(used);
    } else {
        size_t m = nb < nc ? nb : nc;
        for (size_t i = 0; i < m && !x->rc; i++)
            walk(x, json_array_get(b, i), json_array_get(c, i), path, len);
        for (size_t i = m; i < nb && !x->rc; i++) {
            json_text(json_array_get(b, i), vb, sizeof vb);
            report(x, path, AN_FD_REMOVED, vb, "");
        }
        for (size_t i = m; i < nc && !x->rc; i++) {
            json_text(json_array_get(c, i), vc, sizeof vc);
            report(x, path, AN_FD_ADDED, "", vc);
        }
    }
    path[l] = 0;
    return x->rc;
}

static int walk(struct ctx *x, json_t *b, json_t *c, char *path, size_t len)
{
    char vb[AN_FD_VALLEN], vc[AN_FD_VALLEN];
    if (x->rc)
        return x->rc;
    if (json_is_object(b) && json_is_object(c)) {
        size_t l = strlen(path);
        const char *k;
        json_t *v;
        json_object_foreach(b, k, v) {
            path_key(path, len, k);
            json_t *w = json_object_get(c, k);
            if (!w) {
                json_text(v, vb, sizeof vb);
                report(x, path, AN_FD_REMOVED, vb, "");
            } else {
                walk(x, v, w, path, len);
            }
            path[l] = 0;
            if (x->rc)
                return x->rc;
        }
        json_object_foreach(c, k, v) {
            if (json_object_get(b, k))
                continue;
            path_key(path, len, k);
            json_text(v, vc, sizeof vc);
            report(x, path, AN_FD_ADDED, "", vc);
            path[l] = 0;
            if (x->rc)
                return x->rc;
        }
        return 0;
    }
    if (json_is_array(b) && json_is_array(c))
        return walk_array(x, b, c, path, len);
    if (!json_equal(b, c)) {
        json_text(b, vb, sizeof vb);
        json_text(c, vc, sizeof vc);
        report(x, path, AN_FD_CHANGED, vb, vc);
    }
    return x->rc;
}

static int is_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && i < 4096; i++)
        if (p[i] == 0)
            return 0;
    return 1;
}

static void line_at(const uint8_t *p, size_t n, size_t off, char *out,
                    size_t outn)
{
    size_t s = off, e = off;
    while (s > 0 && p[s - 1] != '\n')
        s--;
    while (e < n && p[e] != '\n' && p[e] != '\r')
        e++;
    char buf[AN_FD_VALLEN * 2];
    size_t l = e - s < sizeof buf - 1 ? e - s : sizeof buf - 1;
    memcpy(buf, p + s, l);
    buf[l] = 0;
    clip(buf, out, outn);
}

static int diff_text(struct ctx *x, const uint8_t *b, size_t nb,
                     const uint8_t *c, size_t nc)
{
    if (nb == nc && (!nb || !memcmp(b, c, nb)))
        return 0;
    char vb[AN_FD_VALLEN], vc[AN_FD_VALLEN];
    if (!is_text(b, nb) || !is_text(c, nc)) {
        snprintf(vb, sizeof vb, "%zu bytes", nb);
        snprintf(vc, sizeof vc, "%zu bytes", nc);
        return report(x, "body", AN_FD_CHANGED, vb, vc);
    }
    size_t i = 0;
    while (i < nb && i < nc && b[i] == c[i])
        i++;
    line_at(b, nb, i < nb ? i : nb, vb, sizeof vb);
    line_at(c, nc, i < nc ? i : nc, vc, sizeof vc);
    return report(x, "body", AN_FD_CHANGED, vb, vc);
}

enum an_fd_proto an_fd_proto_of(const char *version)
{
    if (!version)
        return AN_FD_HTTP;
    if (!strcmp(version, "RESP2") || !strcmp(version, "RESP3"))
        return AN_FD_REDIS;
    if (!strcmp(version, "PG3"))
        return AN_FD_POSTGRES;
    if (!strcmp(version, "TCP"))
        return AN_FD_TCP;
    return AN_FD_HTTP;
}

/* A Redis or PostgreSQL reply as JSON, or NULL (another protocol, or it
 * does not decode). */
static json_t *wire_json(const struct an_fd_msg *m)
{
    switch (an_fd_proto_of(m->version)) {
    case AN_FD_REDIS: return an_fd_resp_json(m->body, m->body_len);
    case AN_FD_POSTGRES: return an_fd_pg_json(m->body, m->body_len);
    default: return NULL;
    }
}

char *an_fd_reply_text(const struct an_fd_msg *m)
{
    json_t *j = wire_json(m);
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY |
                                    JSON_REAL_PRECISION(15))
                : NULL;
    json_decref(j);
    return s;
}

/* Both replies decoded (Redis, PostgreSQL): compared by path; 1 when
 * they were, 0 when either does not decode. */
static int diff_wire(struct ctx *x, const struct an_fd_msg *b,
                     const struct an_fd_msg *c)
{
    json_t *jb = wire_json(b);
    json_t *jc = jb ? wire_json(c) : NULL;
    int done = jb && jc;
    if (done) {
        char path[AN_FD_PATHLEN] = "$";
        if (an_fd_proto_of(b->version) == AN_FD_POSTGRES)
            x->tuples = "$.data[*]";
        walk(x, jb, jc, path, sizeof path);
    }
    json_decref(jb);
    json_decref(jc);
    return done;
}

static int diff_bodies(struct ctx *x, const struct an_fd_msg *b,
                       const struct hdr *hb, int nhb,
                       const struct an_fd_msg *c, const struct hdr *hc,
                       int nhc)
{
    const uint8_t *pb = b->body ? b->body : (const uint8_t *)"";
    const uint8_t *pc = c->body ? c->body : (const uint8_t *)"";
    size_t lb = b->body_len, lc = c->body_len;
    uint8_t *db = NULL, *dc = NULL;
    const char *eb = header_value(hb, nhb, "content-encoding");
    const char *ec = header_value(hc, nhc, "content-encoding");
    if (eb && (db = decode(pb, lb, eb, &lb)))
        pb = db;
    else if (eb)
        lb = b->body_len;
    if (ec && (dc = decode(pc, lc, ec, &lc)))
        pc = dc;
    else if (ec)
        lc = c->body_len;
    json_error_t je;
    json_t *jb = lb ? json_loadb((const char *)pb, lb, JSON_DECODE_ANY |
                                                           JSON_ALLOW_NUL,
                                 &je)
                    : NULL;
    json_t *jc = jb && lc ? json_loadb((const char *)pc, lc,
                                       JSON_DECODE_ANY | JSON_ALLOW_NUL, &je)
                          : NULL;
    if (jb && jc) {
        char path[AN_FD_PATHLEN] = "$";
        walk(x, jb, jc, path, sizeof path);
    } else {
        diff_text(x, pb, lb, pc, lc);
    }
    json_decref(jb);
    json_decref(jc);
    free(db);
    free(dc);
    return x->rc;
}

int an_field_diff(const struct an_fd_msg *b, const struct an_fd_msg *c,
                  an_fd_fn fn, void *arg)
{
    struct ctx x = {.fn = fn, .arg = arg};
    struct hdr *hb = calloc(MAX_HEADERS, sizeof *hb);
    struct hdr *hc = calloc(MAX_HEADERS, sizeof *hc);
    if (!hb || !hc) {
        free(hb);
        free(hc);
        return RP_ENOMEM;
    }
    int nhb = parse_headers(b->headers, b->headers_len, hb);
    int nhc = parse_headers(c->headers, c->headers_len, hc);
    diff_headers(&x, hb, nhb, hc, nhc);
    if (!x.rc && !diff_wire(&x, b, c))
        diff_bodies(&x, b, hb, nhb, c, hc, nhc);
    for (int i = 0; i < x.nseen; i++)
        free(x.seen[i]);
    free(hb);
    free(hc);
    return x.rc;
}
