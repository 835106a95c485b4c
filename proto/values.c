/*
 * values.c: reads and writes the values of HTTP messages by location
 * (values.h): cookies, credentials, headers, path segments, query and form
 * parameters, JSON fields (jansson) and HTML hidden inputs. Walks call back
 * with every candidate value; get and set go to one location. Nothing here
 * is on a hot path: capture walks messages once, replay edits only the
 * requests that carry a correlated value.
 */
#include "proto/values.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rp.h"

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c | 0x20 : c; }

static int ieq(const char *a, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (n != k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (lower((unsigned char)a[i]) != lit[i])
            return 0;
    return 1;
}

static int iprefix(const char *a, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (lower((unsigned char)a[i]) != lit[i])
            return 0;
    return 1;
}

/* ---- header lines ------------------------------------------------------ */

struct hline {
    const char *name, *value;
    size_t nlen, vlen;
    size_t start, end; /* the line's bytes in the block, CRLF included */
};

/* The next header line at *pos of h[0..n); 0 at the end. */
static int next_line(const char *h, size_t n, size_t *pos, struct hline *l)
{
    while (*pos < n) {
        size_t s = *pos, e = s;
        while (e < n && h[e] != '\n')
            e++;
        *pos = e < n ? e + 1 : n;
        size_t z = e;
        if (z > s && h[z - 1] == '\r')
            z--;
        const char *colon = memchr(h + s, ':', z - s);
        if (!colon || colon == h + s || h[s] == ' ' || h[s] == '\t')
            continue;
        l->name = h + s;
        l->nlen = (size_t)(colon - (h + s));
        size_t vs = (size_t)(colon - h) + 1;
        while (vs < z && (h[vs] == ' ' || h[vs] == '\t'))
            vs++;
        while (z > vs && (h[z - 1] == ' ' || h[z - 1] == '\t'))
            z--;
        l->value = h + vs;
        l->vlen = z - vs;
        l->start = s;
        l->end = *pos;
        return 1;
    }
    return 0;
}

static const char *find_header(const char *h, size_t n, const char *lname,
                               size_t *vlen)
{
    size_t pos = 0;
    struct hline l;
    while (next_line(h, n, &pos, &l))
        if (ieq(l.name, l.nlen, lname)) {
            *vlen = l.vlen;
            return l.value;
        }
    return NULL;
}

/* Headers whose values are the client's or the protocol's, never a value
 * an application handed out. */
static int standard_header(const char *name, size_t n)
{
    static const char *const std[] = {
        "host", "user-agent", "accept", "accept-encoding", "accept-language",
        "accept-charset", "connection", "keep-alive", "content-length",
        "content-type", "content-encoding", "transfer-encoding", "te",
        "trailer", "upgrade", "cache-control", "pragma", "referer", "origin",
        "expect", "range", "if-match", "if-none-match", "if-modified-since",
        "if-unmodified-since", "if-range", "dnt", "priority", "via",
        "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
        "x-real-ip", "forwarded", "date", "proxy-connection",
        "upgrade-insecure-requests", NULL};
    if (iprefix(name, n, "sec-"))
        return 1;
    for (int i = 0; std[i]; i++)
        if (ieq(name, n, std[i]))
            return 1;
    return 0;
}

/* ---- percent-decoding and locations ------------------------------------- */

static int hexv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes %XX (and '+' as space when plus) of s[0..n) into out. */
static int pct_decode(const char *s, size_t n, int plus, struct rp_buf *out)
{
    out->len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%' && i + 2 < n && hexv(s[i + 1]) >= 0 &&
            hexv(s[i + 2]) >= 0) {
            c = (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
            i += 2;
        } else if (plus && c == '+') {
            c = ' ';
        }
        if (rp_buf_append(out, &c, 1) < 0)
            return RP_ENOMEM;
    }
    return 0;
}

static int pct_encode(const char *s, size_t n, struct rp_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                   (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                   c == '_' || c == '~';
        int r = keep ? rp_buf_append(out, s + i, 1)
                     : rp_buf_printf(out, "%%%02X", c);
        if (r < 0)
            return RP_ENOMEM;
    }
    return 0;
}

static int mkloc(char *loc, const char *prefix, const char *name, size_t n)
{
    int k = snprintf(loc, PROTO_LOC_MAX, "%s%.*s", prefix, (int)n, name);
    return k > 0 && k < PROTO_LOC_MAX;
}

/* The path part of a target (origin or absolute form) and its query. */
static void split_target(const char *t, size_t n, size_t *ps, size_t *pe,
                         size_t *qs, size_t *qe)
{
    size_t i = 0;
    const char *sch = n > 3 ? strstr(t, "://") : NULL;
    if (sch && (size_t)(sch - t) < n && t[0] != '/') {
        i = (size_t)(sch - t) + 3;
        while (i < n && t[i] != '/' && t[i] != '?')
            i++;
    }
    *ps = i;
    while (i < n && t[i] != '?' && t[i] != '#')
        i++;
    *pe = i;
    *qs = *qe = i;
    if (i < n && t[i] == '?') {
        *qs = ++i;
        while (i < n && t[i] != '#')
            i++;
        *qe = i;
    }
}

static int walk_path(const char *t, size_t s, size_t e, const char *prefix,
                     proto_value_fn fn, void *arg)
{
    int idx = 0, r;
    size_t i = s;
    if (i < e && t[i] == '/')
        i++;
    while (i <= e) {
        size_t a = i;
        while (i < e && t[i] != '/')
            i++;
        if (i > a) {
            char loc[PROTO_LOC_MAX];
            snprintf(loc, sizeof loc, "%s%d", prefix, idx);
            if ((r = fn(arg, loc, t + a, i - a, 0)))
                return r;
        }
        idx++;
        i++;
    }
    return 0;
}

/* name=value pairs separated by sep (query and form), values decoded. */
static int walk_pairs(const char *s, size_t n, char sep, int plus,
                      const char *prefix, proto_value_fn fn, void *arg)
{
    struct rp_buf name, val;
    int r = 0;
    rp_buf_init(&name, 0);
    rp_buf_init(&val, 0);
    size_t i = 0;
    while (i < n && !r) {
        size_t a = i;
        while (i < n && s[i] != sep)
            i++;
        const char *eq = memchr(s + a, '=', i - a);
        if (eq) {
            char loc[PROTO_LOC_MAX];
            size_t vs = (size_t)(eq - s) + 1;
            if ((r = pct_decode(s + a, (size_t)(eq - (s + a)), plus, &name)) ||
                (r = pct_decode(s + vs, i - vs, plus, &val)))
                break;
            if (name.len && mkloc(loc, prefix, name.data, name.len))
                r = fn(arg, loc, val.data ? val.data : "", val.len, 0);
        }
        i++;
    }
    rp_buf_cleanup(&name);
    rp_buf_cleanup(&val);
    return r;
}

/* Cookie pairs "a=1; b=2" (only the first with only_first: Set-Cookie). */
static int walk_cookies(const char *v, size_t n, int only_first,
                        const char *prefix, proto_value_fn fn, void *arg)
{
    size_t i = 0;
    while (i < n) {
        size_t a = i;
        while (i < n && v[i] != ';')
            i++;
        size_t z = i;
        while (a < z && (v[a] == ' ' || v[a] == '\t'))
            a++;
        while (z > a && (v[z - 1] == ' ' || v[z - 1] == '\t'))
            z--;
        const char *eq = memchr(v + a, '=', z - a);
        if (eq) {
            char loc[PROTO_LOC_MAX];
            size_t vs = (size_t)(eq - v) + 1;
            if (mkloc(loc, prefix, v + a, (size_t)(eq - (v + a)))) {
                int r = fn(arg, loc, v + vs, z - vs, 0);
                if (r)
                    return r;
            }
        }
        if (only_first)
            break;
        i++;
    }
    return 0;
}

/* ---- JSON ---------------------------------------------------------------- */

static int json_walk(json_t *j, char *path, size_t plen, proto_value_fn fn,
                     void *arg, int depth)
{
    if (depth > 32)
        return 0;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) {
            int m = snprintf(path + plen, PROTO_LOC_MAX - plen, "%s%s",
                             plen > 5 ? "." : "", k);
            if (m <= 0 || plen + (size_t)m >= PROTO_LOC_MAX)
                continue;
            int r = json_walk(v, path, plen + (size_t)m, fn, arg, depth + 1);
            if (r)
                return r;
        }
        path[plen] = '\0';
        return 0;
    }
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            int m = snprintf(path + plen, PROTO_LOC_MAX - plen, "%s%zu",
                             plen > 5 ? "." : "", i);
            if (m <= 0 || plen + (size_t)m >= PROTO_LOC_MAX)
                continue;
            int r = json_walk(v, path, plen + (size_t)m, fn, arg, depth + 1);
            if (r)
                return r;
        }
        path[plen] = '\0';
        return 0;
    }
    if (json_is_string(j))
        return fn(arg, path, json_string_value(j), json_string_length(j), 0);
    if (json_is_integer(j)) {
        char b[32];
        int m = snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT,
                         json_integer_value(j));
        return fn(arg, path, b, (size_t)m, 1);
    }
    return 0;
}

static json_t *json_parse(const uint8_t *b, size_t n)
{
    size_t i = 0;
    while (i < n && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' ||
                     b[i] == '\t'))
        i++;
    if (i == n || (b[i] != '{' && b[i] != '['))
        return NULL;
    return json_loadb((const char *)b, n, 0, NULL);
}

static int walk_json(const uint8_t *b, size_t n, proto_value_fn fn, void *arg)
{
    json_t *j = json_parse(b, n);
    if (!j)
        return 0;
    char path[PROTO_LOC_MAX] = "json:";
    int r = json_walk(j, path, 5, fn, arg, 0);
    json_decref(j);
    return r;
}

/* The member of j named by one step s[0..n) of a path, or NULL. */
static json_t *json_step(json_t *j, const char *s, size_t n)
{
    if (json_is_object(j)) {
        char k[PROTO_LOC_MAX];
        snprintf(k, sizeof k, "%.*s", (int)n, s);
        return json_object_get(j, k);
    }
    if (json_is_array(j)) {
        char *end;
        char k[32];
        snprintf(k, sizeof k, "%.*s", (int)(n < 31 ? n : 31), s);
        unsigned long i = strtoul(k, &end, 10);
        return *k && !*end ? json_array_get(j, i) : NULL;
    }
    return NULL;
}

/* ---- HTML hidden inputs -------------------------------------------------- */

/* The value of attribute name in tag[0..n) into v, vn; 1 when found. */
static int html_attr(const char *tag, size_t n, const char *name,
                     const char **v, size_t *vn)
{
    size_t k = strlen(name);
    for (size_t i = 0; i + k < n; i++) {
        if ((i && tag[i - 1] != ' ' && tag[i - 1] != '\t' &&
             tag[i - 1] != '\n') ||
            !iprefix(tag + i, n - i, name))
            continue;
        size_t j = i + k;
        while (j < n && tag[j] == ' ')
            j++;
        if (j >= n || tag[j] != '=')
            continue;
        j++;
        while (j < n && tag[j] == ' ')
            j++;
        if (j < n && (tag[j] == '"' || tag[j] == '\'')) {
            char q = tag[j++];
            const char *e = memchr(tag + j, q, n - j);
            if (!e)
                return 0;
            *v = tag + j;
            *vn = (size_t)(e - (tag + j));
            return 1;
        }
        size_t a = j;
        while (j < n && tag[j] != ' ' && tag[j] != '>' && tag[j] != '/')
            j++;
        *v = tag + a;
        *vn = j - a;
        return 1;
    }
    return 0;
}

static int walk_hidden(const char *h, size_t n, proto_value_fn fn, void *arg)
{
    for (size_t i = 0; i + 6 < n; i++) {
        if (h[i] != '<' || !iprefix(h + i + 1, n - i - 1, "input"))
            continue;
        const char *e = memchr(h + i, '>', n - i);
        if (!e)
            break;
        size_t tn = (size_t)(e - (h + i));
        const char *ty, *nm, *va;
        size_t tyn, nmn, van;
        if (html_attr(h + i, tn, "type", &ty, &tyn) &&
            ieq(ty, tyn, "hidden") && html_attr(h + i, tn, "name", &nm, &nmn) &&
            html_attr(h + i, tn, "value", &va, &van)) {
            char loc[PROTO_LOC_MAX];
            if (mkloc(loc, "hidden:", nm, nmn)) {
                int r = fn(arg, loc, va, van, 0);
                if (r)
                    return r;
            }
        }
        i = (size_t)(e - h);
    }
    return 0;
}

/* ---- walks --------------------------------------------------------------- */

static int body_kind(const char *hdrs, size_t hlen)
{
    size_t n = 0;
    const char *ct = find_header(hdrs, hlen, "content-type", &n);
    if (!ct)
        return 0;
    for (size_t i = 0; i + 4 <= n; i++)
        if (iprefix(ct + i, n - i, "json"))
            return 'j';
    if (iprefix(ct, n, "application/x-www-form-urlencoded"))
        return 'f';
    if (iprefix(ct, n, "text/html"))
        return 'h';
    return 0;
}

int proto_values_request(const char *target, const char *hdrs, size_t hlen,
                         const uint8_t *body, size_t blen, proto_value_fn fn,
                         void *arg)
{
    int r = 0;
    size_t pos = 0;
    struct hline l;
    while (hdrs && !r && next_line(hdrs, hlen, &pos, &l)) {
        char loc[PROTO_LOC_MAX];
        if (ieq(l.name, l.nlen, "cookie")) {
            r = walk_cookies(l.value, l.vlen, 0, "cookie:", fn, arg);
        } else if (ieq(l.name, l.nlen, "authorization")) {
            const char *sp = memchr(l.value, ' ', l.vlen);
            if (sp && sp > l.value) {
                size_t sn = (size_t)(sp - l.value);
                char sch[32];
                if (sn >= sizeof sch)
                    continue;
                for (size_t i = 0; i < sn; i++)
                    sch[i] = (char)lower((unsigned char)l.value[i]);
                sch[sn] = '\0';
                size_t c = sn;
                while (c < l.vlen && l.value[c] == ' ')
                    c++;
                if (mkloc(loc, "auth:", sch, sn))
                    r = fn(arg, loc, l.value + c, l.vlen - c, 0);
            }
        } else if (!standard_header(l.name, l.nlen) && l.vlen &&
                   mkloc(loc, "header:", l.name, l.nlen)) {
            r = fn(arg, loc, l.value, l.vlen, 0);
        }
    }
    if (r || !target)
        return r;
    size_t tn = strlen(target), ps, pe, qs, qe;
    split_target(target, tn, &ps, &pe, &qs, &qe);
    if ((r = walk_path(target, ps, pe, "path:", fn, arg)))
        return r;
    if (qe > qs && (r = walk_pairs(target + qs, qe - qs, '&', 1, "query:", fn,
                                   arg)))
        return r;
    if (!body || !blen)
        return 0;
    switch (hdrs ? body_kind(hdrs, hlen) : 0) {
    case 'j':
        return walk_json(body, blen, fn, arg);
    case 'f':
        return walk_pairs((const char *)body, blen, '&', 1, "form:", fn, arg);
    default:
        return 0;
    }
}

int proto_values_response(const char *hdrs, size_t hlen, const uint8_t *body,
                          size_t blen, proto_value_fn fn, void *arg)
{
    int r = proto_values_response_headers(hdrs, hlen, fn, arg);
    return r ? r : proto_values_response_body(hdrs, hlen, body, blen, fn, arg);
}

int proto_values_response_headers(const char *hdrs, size_t hlen,
                                  proto_value_fn fn, void *arg)
{
    int r = 0;
    size_t pos = 0;
    struct hline l;
    while (hdrs && !r && next_line(hdrs, hlen, &pos, &l)) {
        if (ieq(l.name, l.nlen, "set-cookie")) {
            r = walk_cookies(l.value, l.vlen, 1, "set-cookie:", fn, arg);
        } else if (ieq(l.name, l.nlen, "location")) {
            size_t ps, pe, qs, qe;
            char t[2048];
            if (l.vlen >= sizeof t)
                continue;
            memcpy(t, l.value, l.vlen);
            t[l.vlen] = '\0';
            split_target(t, l.vlen, &ps, &pe, &qs, &qe);
            r = walk_path(t, ps, pe, "location:path:", fn, arg);
            if (!r && qe > qs)
                r = walk_pairs(t + qs, qe - qs, '&', 1, "location:query:", fn,
                               arg);
        }
    }
    return r;
}

int proto_values_response_body(const char *hdrs, size_t hlen,
                               const uint8_t *body, size_t blen,
                               proto_value_fn fn, void *arg)
{
    if (!body || !blen)
        return 0;
    switch (hdrs ? body_kind(hdrs, hlen) : 0) {
    case 'j':
        return walk_json(body, blen, fn, arg);
    case 'h':
        return walk_hidden((const char *)body, blen, fn, arg);
    default: /* untyped: JSON when it parses as an object or array */
        return hdrs && find_header(hdrs, hlen, "content-type", &(size_t){0})
                   ? 0
                   : walk_json(body, blen, fn, arg);
    }
}

/* ---- get ----------------------------------------------------------------- */

struct get_arg {
    const char *loc;
    struct rp_buf *out;
    int *is_num;
    int found;
};

static int get_cb(void *arg, const char *loc, const char *v, size_t n,
                  int is_num)
{
    struct get_arg *g = arg;
    if (strcmp(loc, g->loc))
        return 0;
    g->out->len = 0;
    if (rp_buf_append(g->out, v, n) < 0)
        return RP_ENOMEM;
    *g->is_num = is_num;
    g->found = 1;
    return 1;
}

int proto_value_get(const char *hdrs, size_t hlen, const uint8_t *body,
                    size_t blen, const char *loc, struct rp_buf *out,
                    int *is_num)
{
    struct get_arg g = {loc, out, is_num, 0};
    out->len = 0;
    int r;
    if (!strncmp(loc, "json:", 5)) {
        /* straight to the path: no walk over the whole document */
        json_t *j = body && blen ? json_parse(body, blen) : NULL;
        json_t *root = j;
        const char *p = loc + 5;
        while (j && *p) {
            const char *dot = strchr(p, '.');
            size_t n = dot ? (size_t)(dot - p) : strlen(p);
            j = json_step(j, p, n);
            p += n + (dot != NULL);
        }
        r = 0;
        if (j && json_is_string(j)) {
            r = rp_buf_append(out, json_string_value(j),
                              json_string_length(j)) < 0 ? RP_ENOMEM : 1;
            *is_num = 0;
        } else if (j && json_is_integer(j)) {
            r = rp_buf_printf(out, "%" JSON_INTEGER_FORMAT,
                              json_integer_value(j)) < 0 ? RP_ENOMEM : 1;
            *is_num = 1;
        }
        json_decref(root);
    } else {
        r = proto_values_response(hdrs, hlen, !strncmp(loc, "hidden:", 7)
                                                  ? body : NULL,
                                  blen, get_cb, &g);
        if (r == 1)
            r = g.found;
    }
    if (r <= 0)
        out->len = 0;
    return r;
}

/* ---- set ----------------------------------------------------------------- */

/* Replaces bytes [s, e) of b with v[0..n). */
static int splice(struct rp_buf *b, size_t s, size_t e, const char *v,
                  size_t n)
{
    struct rp_buf o;
    rp_buf_init(&o, 0);
    if (rp_buf_append(&o, b->data, s) < 0 || rp_buf_append(&o, v, n) < 0 ||
        rp_buf_append(&o, b->data + e, b->len - e) < 0) {
        rp_buf_cleanup(&o);
        return RP_ENOMEM;
    }
    rp_buf_cleanup(b);
    *b = o;
    return 0;
}

/* Sets the value of pair name in s[a..z) of b (sep-separated, encoded). */
static int set_pair(struct rp_buf *b, size_t a, size_t z, char sep,
                    const char *name, const char *v, size_t n, int cookie)
{
    size_t nn = strlen(name), i = a;
    while (i < z) {
        size_t ps = i;
        while (i < z && b->data[i] != sep)
            i++;
        size_t q = ps;
        while (cookie && q < i && (b->data[q] == ' ' || b->data[q] == '\t'))
            q++;
        const char *eq = memchr(b->data + q, '=', i - q);
        if (eq) {
            struct rp_buf dn;
            rp_buf_init(&dn, 0);
            int match;
            if (cookie) {
                match = (size_t)(eq - (b->data + q)) == nn &&
                        !memcmp(b->data + q, name, nn);
            } else {
                if (pct_decode(b->data + q, (size_t)(eq - (b->data + q)), 1,
                               &dn)) {
                    rp_buf_cleanup(&dn);
                    return RP_ENOMEM;
                }
                match = dn.len == nn && !memcmp(dn.data, name, nn);
            }
            rp_buf_cleanup(&dn);
            if (match) {
                size_t vs = (size_t)(eq - b->data) + 1, ve = i;
                while (cookie && ve > vs &&
                       (b->data[ve - 1] == ' ' || b->data[ve - 1] == '\t'))
                    ve--;
                struct rp_buf enc;
                rp_buf_init(&enc, 0);
                int r = cookie ? (rp_buf_append(&enc, v, n) < 0 ? RP_ENOMEM : 0)
                               : pct_encode(v, n, &enc);
                if (!r)
                    r = splice(b, vs, ve, enc.data ? enc.data : "", enc.len);
                rp_buf_cleanup(&enc);
                return r ? r : 1;
            }
        }
        i++;
    }
    return 0;
}

static int set_header(struct proto_req_edit *r, const char *lname,
                      const char *prefix, const char *cookie, const char *v,
                      size_t n)
{
    size_t pos = 0;
    struct hline l;
    while (next_line(r->hdrs.data, r->hdrs.len, &pos, &l)) {
        if (!ieq(l.name, l.nlen, lname))
            continue;
        size_t vs = (size_t)(l.value - r->hdrs.data);
        if (cookie)
            return set_pair(&r->hdrs, vs, vs + l.vlen, ';', cookie, v, n, 1);
        struct rp_buf nv;
        rp_buf_init(&nv, 0);
        int rc = 0;
        if ((prefix && rp_buf_append(&nv, prefix, strlen(prefix)) < 0) ||
            rp_buf_append(&nv, v, n) < 0)
            rc = RP_ENOMEM;
        if (!rc)
            rc = splice(&r->hdrs, vs, vs + l.vlen, nv.data, nv.len);
        rp_buf_cleanup(&nv);
        return rc ? rc : 1;
    }
    return 0;
}

static int set_json(struct proto_req_edit *r, const char *path, const char *v,
                    size_t n, int is_num)
{
    json_t *root = r->body.len ? json_parse((const uint8_t *)r->body.data,
                                            r->body.len)
                               : NULL;
    json_t *j = root, *parent = NULL;
    const char *p = path, *last = NULL;
    size_t lastn = 0;
    while (j && *p) {
        const char *dot = strchr(p, '.');
        size_t k = dot ? (size_t)(dot - p) : strlen(p);
        parent = j;
        last = p;
        lastn = k;
        j = json_step(j, p, k);
        p += k + (dot != NULL);
    }
    int rc = 0;
    if (j && parent && last) {
        json_t *nv = NULL;
        if (is_num) {
            char b[32];
            snprintf(b, sizeof b, "%.*s", (int)(n < 31 ? n : 31), v);
            nv = json_integer(strtoll(b, NULL, 10));
        } else {
            nv = json_stringn(v, n);
        }
        char key[PROTO_LOC_MAX];
        snprintf(key, sizeof key, "%.*s", (int)lastn, last);
        if (nv && json_is_object(parent))
            rc = json_object_set_new(parent, key, nv) ? RP_ENOMEM : 1;
        else if (nv && json_is_array(parent))
            rc = json_array_set_new(parent, strtoul(key, NULL, 10), nv)
                     ? RP_ENOMEM : 1;
        else
            json_decref(nv);
        if (rc == 1) {
            char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (!s) {
                rc = RP_ENOMEM;
            } else {
                r->body.len = 0;
                if (rp_buf_append(&r->body, s, strlen(s)) < 0)
                    rc = RP_ENOMEM;
                free(s);
            }
        }
    }
    json_decref(root);
    return rc;
}

/* 1 when v[0..n) could break a header line (CR, LF, NUL), or a cookie
 * pair (';'). */
static int unsafe_in_header(const char *v, size_t n, int cookie)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0' ||
            (cookie && v[i] == ';'))
            return 1;
    return 0;
}

int proto_value_set(struct proto_req_edit *r, const char *loc, const char *v,
                    size_t n, int is_num)
{
    /* a value from a response must not add header lines to a request */
    if ((!strncmp(loc, "cookie:", 7) || !strncmp(loc, "auth:", 5) ||
         !strncmp(loc, "header:", 7)) &&
        unsafe_in_header(v, n, loc[0] == 'c'))
        return 0;
    if (!strncmp(loc, "cookie:", 7))
        return set_header(r, "cookie", NULL, loc + 7, v, n);
    if (!strncmp(loc, "auth:", 5)) {
        char pre[40];
        snprintf(pre, sizeof pre, "%c%.30s ",
                 loc[5] >= 'a' && loc[5] <= 'z' ? loc[5] - 32 : loc[5],
                 loc[5] ? loc + 6 : "");
        return set_header(r, "authorization", pre, NULL, v, n);
    }
    if (!strncmp(loc, "header:", 7)) {
        char lname[PROTO_LOC_MAX];
        size_t k = strlen(loc + 7);
        if (k >= sizeof lname)
            return 0;
        for (size_t i = 0; i <= k; i++)
            lname[i] = (char)lower((unsigned char)loc[7 + i]);
        return set_header(r, lname, NULL, NULL, v, n);
    }
    if (!strncmp(loc, "json:", 5))
        return set_json(r, loc + 5, v, n, is_num);
    if (!strncmp(loc, "form:", 5))
        return r->body.len ? set_pair(&r->body, 0, r->body.len, '&', loc + 5,
                                      v, n, 0)
                           : 0;
    if (!r->target.len)
        return 0;
    size_t ps, pe, qs, qe;
    if (rp_buf_append(&r->target, "", 1) < 0)
        return RP_ENOMEM;
    r->target.len--;
    split_target(r->target.data, r->target.len, &ps, &pe, &qs, &qe);
    if (!strncmp(loc, "query:", 6))
        return qe > qs ? set_pair(&r->target, qs, qe, '&', loc + 6, v, n, 0)
                       : 0;
    if (!strncmp(loc, "path:", 5)) {
        int want = atoi(loc + 5), idx = 0;
        size_t i = ps;
        if (i < pe && r->target.data[i] == '/')
            i++;
        while (i <= pe) {
            size_t a = i;
            while (i < pe && r->target.data[i] != '/')
                i++;
            if (idx == want && i > a) {
                struct rp_buf enc;
                rp_buf_init(&enc, 0);
                int rc = pct_encode(v, n, &enc);
                if (!rc)
                    rc = splice(&r->target, a, i, enc.data ? enc.data : "",
                                enc.len);
                rp_buf_cleanup(&enc);
                return rc ? rc : 1;
            }
            idx++;
            i++;
        }
    }
    return 0;
}

int proto_is_uuid(const char *v, size_t n)
{
    if (n != 36)
        return 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (v[i] != '-')
                return 0;
        } else if (hexv((unsigned char)v[i]) < 0) {
            return 0;
        }
    }
    return 1;
}
