/*
 * fd_wire.c: Redis and PostgreSQL replies as JSON values (see fd_wire.h).
 *
 * The framing is checked first by the protocols' own framers (resp_read,
 * pg_read), so that what decodes here is exactly what capture and replay
 * framed; the decoders below then only build values, still checking every
 * length against the buffer. Nothing here is kept past the call but the
 * JSON value returned.
 */
#include "analyze/fd_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/pgwire.h"
#include "proto/resp.h"

/* ---- text ------------------------------------------------------------------ */

/* p[0..n) as a JSON string: as is when it is UTF-8 (and, for a key, has
 * no NUL), else with each NUL and byte >= 0x80 written \xNN. */
static json_t *mkstr(const uint8_t *p, size_t n, int key)
{
    if (!key || !memchr(p, 0, n)) {
        json_t *s = json_stringn((const char *)p, n);
        if (s || n > (SIZE_MAX - 1) / 4)
            return s;
    }
    char *e = malloc(n * 4 + 1);
    if (!e)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == 0 || p[i] >= 0x80)
            k += (size_t)snprintf(e + k, 5, "\\x%02x", p[i]);
        else
            e[k++] = (char)p[i];
    }
    json_t *s = json_stringn(e, k);
    free(e);
    return s;
}

/* ---- RESP ------------------------------------------------------------------ */

struct rd {
    const uint8_t *p, *end;
    long nodes;             /* values built so far */
    int depth;              /* open aggregates */
};

/* The line at r->p (after its type byte) up to CRLF; r->p moves past it. */
static int rd_line(struct rd *r, const uint8_t **s, size_t *len)
{
    size_t avail = (size_t)(r->end - r->p);
    const uint8_t *cr = memchr(r->p, '\r', avail);
    if (!cr || cr + 1 >= r->end || cr[1] != '\n' ||
        (size_t)(cr - r->p) > RESP_MAX_LINE)
        return -1;
    *s = r->p;
    *len = (size_t)(cr - r->p);
    r->p = cr + 2;
    return 0;
}

/* A line as a NUL-terminated copy in buf (short lines only). */
static int rd_short(struct rd *r, char *buf, size_t cap)
{
    const uint8_t *s;
    size_t n;
    if (rd_line(r, &s, &n) || n >= cap)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return 0;
}

/* A length or count: -2 for "?", -1 for "-1", else the value; -3 bad. */
static long long rd_count(struct rd *r)
{
    char buf[32], *e;
    if (rd_short(r, buf, sizeof buf))
        return -3;
    if (!strcmp(buf, "?"))
        return -2;
    long long v = strtoll(buf, &e, 10);
    return *buf && !*e && v >= -1 ? v : -3;
}

static json_t *error_obj(json_t *text)
{
    json_t *o = text ? json_object() : NULL;
    if (!o || json_object_set_new(o, "error", text)) {
        json_decref(o);
        json_decref(text);
        return NULL;
    }
    return o;
}

/* A bulk payload of len bytes then CRLF. */
static int rd_payload(struct rd *r, long long len, const uint8_t **s)
{
    if (len < 0 || (unsigned long long)len > (size_t)(r->end - r->p) ||
        (size_t)(r->end - r->p) - (size_t)len < 2 || r->p[len] != '\r' ||
        r->p[len + 1] != '\n')
        return -1;
    *s = r->p;
    r->p += len + 2;
    return 0;
}

/* A streamed string ("$?" then ";len" chunks ended by ";0"). */
static json_t *rd_streamed(struct rd *r)
{
    uint8_t *acc = NULL;
    size_t n = 0;
    json_t *out = NULL;
    for (;;) {
        if (r->p >= r->end || *r->p != ';')
            goto done;
        r->p++;
        long long len = rd_count(r);
        const uint8_t *s;
        if (len < 0)
            goto done;
        if (!len)
            break;
        if (rd_payload(r, len, &s))
            goto done;
        uint8_t *g = realloc(acc, n + (size_t)len);
        if (!g)
            goto done;
        acc = g;
        memcpy(acc + n, s, (size_t)len);
        n += (size_t)len;
    }
    out = mkstr(acc ? acc : (const uint8_t *)"", n, 0);
done:
    free(acc);
    return out;
}

static json_t *rd_value(struct rd *r);

/* The end marker of a streamed aggregate (".\r\n") is next. */
static int rd_at_end(struct rd *r)
{
    if (r->end - r->p >= 3 && r->p[0] == '.' && r->p[1] == '\r' &&
        r->p[2] == '\n') {
        r->p += 3;
        return 1;
    }
    return 0;
}

/* A map key as object key text: a string as is, anything else as its
 * compact JSON. NULL when out of memory. */
static char *key_text(json_t *k)
{
    if (json_is_string(k))
        return strdup(json_string_value(k));
    return json_dumps(k, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

/* An aggregate of count elements (-2 streamed); pairs for maps and
 * attributes. An attribute returns an empty object, dropped by caller. */
static json_t *rd_aggregate(struct rd *r, char t, long long count)
{
    int map = t == '%' || t == '|';
    if (++r->depth > RESP_MAX_DEPTH)
        return NULL;
    json_t *agg = map ? json_object() : json_array();
    for (long long i = 0; agg && (count == -2 || i < count); i++) {
        if (count == -2 && rd_at_end(r))
            break;
        json_t *v = rd_value(r);
        if (!v) {
            json_decref(agg);
            agg = NULL;
            break;
        }
        if (!map) {
            if (json_array_append_new(agg, v)) {
                json_decref(agg);
                agg = NULL;
            }
            continue;
        }
        json_t *w = rd_value(r);
        char *k = w ? key_text(v) : NULL;
        json_decref(v);
        if (!k || (t == '%' && json_object_set_new(agg, k, w))) {
            if (!k)
                json_decref(w);
            json_decref(agg);
            agg = NULL;
        } else if (t == '|') {
            json_decref(w);
        }
        free(k);
    }
    r->depth--;
    return agg;
}

static json_t *rd_value(struct rd *r)
{
    const uint8_t *s;
    size_t n;
    char buf[64];
    if (++r->nodes > FD_WIRE_MAX_NODES || r->p >= r->end)
        return NULL;
    char t = (char)*r->p++;
    switch (t) {
    case '+':
        return rd_line(r, &s, &n) ? NULL : mkstr(s, n, 0);
    case '-':
        return rd_line(r, &s, &n) ? NULL : error_obj(mkstr(s, n, 0));
    case '(':
        return rd_line(r, &s, &n) ? NULL : mkstr(s, n, 0);
    case ':': {
        char *e;
        if (rd_short(r, buf, sizeof buf))
            return NULL;
        long long v = strtoll(buf, &e, 10);
        return *buf && !*e ? json_integer(v) : NULL;
    }
    case ',': {
        char *e;
        if (rd_short(r, buf, sizeof buf))
            return NULL;
        double v = strtod(buf, &e);
        if (!*buf || *e)
            return NULL;
        json_t *j = json_real(v); /* NULL for inf and nan */
        return j ? j : json_string(buf);
    }
    case '#':
        if (rd_short(r, buf, sizeof buf) || (strcmp(buf, "t") &&
                                             strcmp(buf, "f")))
            return NULL;
        return json_boolean(*buf == 't');
    case '_':
        return rd_short(r, buf, sizeof buf) || *buf ? NULL : json_null();
    case '$':
    case '=':
    case '!': {
        long long len = rd_count(r);
        if (len == -1 && t == '$')
            return json_null();
        if (len == -2 && t == '$')
            return rd_streamed(r);
        if (len < 0 || rd_payload(r, len, &s))
            return NULL;
        n = (size_t)len;
        if (t == '=' && n >= 4 && s[3] == ':') {
            s += 4;
            n -= 4;
        }
        json_t *j = mkstr(s, n, 0);
        return t == '!' ? error_obj(j) : j;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
        long long count = rd_count(r);
        if (count == -1 && t == '*')
            return json_null();
        if (count == -3 || count == -1)
            return NULL;
        json_t *a = rd_aggregate(r, t, count);
        if (t != '|' || !a)
            return a;
        json_decref(a); /* an attribute: the reply is what follows */
        return rd_value(r);
    }
    default:
        return NULL;
    }
}

json_t *an_fd_resp_json(const uint8_t *p, size_t n)
{
    if (!p || !n)
        return NULL;
    /* the framer says where each reply ends, or that it is not RESP */
    struct resp_reader rr;
    resp_reader_init(&rr, 0);
    struct rd r = {p, p + n, 0, 0};
    json_t *all = json_array();
    size_t off = 0;
    while (all && off < n) {
        int done = 0;
        struct resp_msg m;
        const char *why;
        long k = resp_read(&rr, p + off, n - off, &done, &m, &why);
        if (k < 0 || !done)
            goto fail;
        off += (size_t)k;
        json_t *v = rd_value(&r);
        if (!v || r.p != p + off || json_array_append_new(all, v))
            goto fail;
    }
    if (!all)
        return NULL;
    if (json_array_size(all) == 1) {
        json_t *one = json_incref(json_array_get(all, 0));
        json_decref(all);
        return one;
    }
    return all;
fail:
    json_decref(all);
    return NULL;
}

/* ---- PostgreSQL ------------------------------------------------------------ */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* 'T': the field names, or NULL when malformed. */
static json_t *pg_columns(const uint8_t *m, size_t n, long *nodes)
{
    if (n < 7)
        return NULL;
    unsigned nf = be16(m + 5);
    size_t o = 7;
    json_t *cols = json_array();
    for (unsigned i = 0; cols && i < nf; i++) {
        const uint8_t *z = o < n ? memchr(m + o, 0, n - o) : NULL;
        if (!z || n - (size_t)(z + 1 - m) < 18 || ++*nodes > FD_WIRE_MAX_NODES ||
            json_array_append_new(cols, mkstr(m + o, (size_t)(z - (m + o)),
                                              0))) {
            json_decref(cols);
            return NULL;
        }
        o = (size_t)(z + 1 - m) + 18;
    }
    return cols;
}

/* 'D': the values as text (null for NULL), or NULL when malformed. */
static json_t *pg_row(const uint8_t *m, size_t n, long *nodes)
{
    if (n < 7)
        return NULL;
    unsigned nc = be16(m + 5);
    size_t o = 7;
    json_t *row = json_array();
    for (unsigned i = 0; row && i < nc; i++) {
        json_t *v = NULL;
        if (n - o < 4 || ++*nodes > FD_WIRE_MAX_NODES)
            goto bad;
        uint32_t l = be32(m + o);
        o += 4;
        if (l == 0xffffffffu) {
            v = json_null();
        } else {
            if (l > n - o)
                goto bad;
            v = mkstr(m + o, l, 0);
            o += l;
        }
        if (!json_array_append_new(row, v))
            continue;
    bad:
        json_decref(row);
        return NULL;
    }
    return row;
}

json_t *an_fd_pg_json(const uint8_t *p, size_t n)
{
    if (!p || !n)
        return NULL;
    struct pg_reader pr;
    pg_reader_init(&pr, 0);
    json_t *o = json_object(), *data = json_array(), *cols = json_array();
    json_t *tag = json_null(), *err = NULL;
    long rows = 0, copies = 0, nodes = 0;
    size_t off = 0;
    while (o && data && cols && tag && off < n) {
        int done = 0;
        struct pg_msg pm;
        const char *why;
        long k = pg_read(&pr, p + off, n - off, &done, &pm, &why);
        if (k < 0 || !done || (size_t)k != pm.bytes)
            goto fail;
        const uint8_t *m = p + off;
        size_t ml = (size_t)k;
        off += ml;
        if (pm.type == 'T') {
            json_t *c = pg_columns(m, ml, &nodes);
            if (!c)
                goto fail;
            json_decref(cols);
            cols = c;
        } else if (pm.type == 'D') {
            if (rows++ < FD_PG_MAX_ROWS) {
                json_t *row = pg_row(m, ml, &nodes);
                if (!row || json_array_append_new(data, row))
                    goto fail;
            }
        } else if (pm.type == 'C') {
            const char *t;
            size_t tl;
            if (pg_msg_command_tag(m, ml, &t, &tl))
                goto fail;
            json_decref(tag);
            tag = mkstr((const uint8_t *)t, tl, 0);
        } else if (pm.type == 'E') {
            char st[6];
            const char *t;
            size_t tl;
            if (pg_msg_error(m, ml, st, &t, &tl))
                goto fail;
            json_decref(err);
            err = json_pack("{s:s,s:o}", "sqlstate", st, "message",
                            mkstr((const uint8_t *)t, tl, 0));
            if (!err)
                goto fail;
        } else if (pm.type == 'd') {
            copies++;
        }
    }
    if (!o || !data || !cols || !tag)
        goto fail;
    /* json_object_set_new takes its value, set or not */
    int bad = json_object_set_new(o, "tag", tag);
    bad |= json_object_set_new(o, "rows", json_integer(rows));
    bad |= json_object_set_new(o, "columns", cols);
    bad |= json_object_set_new(o, "data", data);
    if (rows > FD_PG_MAX_ROWS)
        bad |= json_object_set_new(o, "data_truncated", json_true());
    if (copies)
        bad |= json_object_set_new(o, "copy_rows", json_integer(copies));
    if (err)
        bad |= json_object_set_new(o, "error", err);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
fail:
    json_decref(o);
    json_decref(data);
    json_decref(cols);
    json_decref(tag);
    json_decref(err);
    return NULL;
}
