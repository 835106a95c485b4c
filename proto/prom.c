/*
 * prom.c: the strict Prometheus text-format parser (see prom.h).
 */
#include "proto/prom.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct family {
    char name[PROTO_PROM_NAME_MAX];
    char type[12];
};

struct parser {
    struct family *fam;
    size_t nfam, cap;
    size_t last;            /* family of the latest TYPE line + 1, 0 none */
    int line;
    char *err;
    size_t errlen;
};

static int bad(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int bad(struct parser *p, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "line %d: %s", p->line, why);
    return -1;
}

static int name_start(int c, int colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (colon && c == ':');
}

static int name_char(int c, int colon)
{
    return name_start(c, colon) || (c >= '0' && c <= '9');
}

/* Length of the name at s (metric names allow ':'), 0 when none. */
static size_t name_len(const char *s, const char *end, int colon)
{
    size_t n = 0;
    if (s >= end || !name_start((unsigned char)*s, colon))
        return 0;
    while (s + n < end && name_char((unsigned char)s[n], colon))
        n++;
    return n;
}

static const char *type_of(struct parser *p, const char *name, size_t n)
{
    static const char *const suffix[] = {"_bucket", "_sum", "_count",
                                         "_created", ""};
    for (size_t s = 0; s < sizeof suffix / sizeof suffix[0]; s++) {
        size_t k = strlen(suffix[s]);
        if (k && (n <= k || memcmp(name + n - k, suffix[s], k)))
            continue;
        size_t base = n - k;
        /* the latest TYPE line first: a family's samples follow it */
        for (size_t i = p->last ? p->last - 1 : 0, tries = 0;
             tries < p->nfam; tries++, i = (i + 1) % p->nfam) {
            const struct family *f = &p->fam[i];
            if (strlen(f->name) == base && !memcmp(f->name, name, base)) {
                if (k && strcmp(f->type, "histogram") &&
                    strcmp(f->type, "summary"))
                    break; /* x_count of a gauge x is its own series */
                return f->type;
            }
        }
    }
    return "untyped";
}

static int parse_float(const char *s, const char *end, double *out)
{
    char buf[64];
    size_t n = (size_t)(end - s);
    if (!n || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (!strcmp(buf, "NaN")) {
        *out = NAN;
        return 0;
    }
    if (!strcmp(buf, "+Inf") || !strcmp(buf, "Inf")) {
        *out = INFINITY;
        return 0;
    }
    if (!strcmp(buf, "-Inf")) {
        *out = -INFINITY;
        return 0;
    }
    /* digits, sign, '.', exponent only: strtod alone takes "0x1p3",
     * "infinity" and "nan(...)" too */
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789+-.eE", buf[i]))
            return -1;
    char *e;
    errno = 0;
    *out = strtod(buf, &e);
    return *e || e == buf ? -1 : 0;
}

static int type_line(struct parser *p, const char *s, const char *end)
{
    size_t n = name_len(s, end, 1);
    if (!n)
        return bad(p, "TYPE without a metric name");
    if (n >= PROTO_PROM_NAME_MAX)
        return bad(p, "metric name longer than %d bytes",
                   PROTO_PROM_NAME_MAX - 1);
    const char *t = s + n;
    if (t >= end || *t != ' ')
        return bad(p, "TYPE %.*s without a type", (int)n, s);
    while (t < end && *t == ' ')
        t++;
    static const char *const types[] = {"counter", "gauge", "histogram",
                                        "summary", "untyped"};
    size_t tl = (size_t)(end - t);
    while (tl && t[tl - 1] == ' ')
        tl--;
    size_t i;
    for (i = 0; i < 5; i++)
        if (strlen(types[i]) == tl && !memcmp(types[i], t, tl))
            break;
    if (i == 5)
        return bad(p, "TYPE %.*s: unknown type '%.*s'", (int)n, s, (int)tl,
                   t);
    for (size_t k = 0; k < p->nfam; k++)
        if (strlen(p->fam[k].name) == n && !memcmp(p->fam[k].name, s, n))
            return bad(p, "a second TYPE line for %.*s", (int)n, s);
    if (p->nfam == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        struct family *f = realloc(p->fam, cap * sizeof *f);
        if (!f)
            return bad(p, "out of memory");
        p->fam = f;
        p->cap = cap;
    }
    memcpy(p->fam[p->nfam].name, s, n);
    p->fam[p->nfam].name[n] = 0;
    snprintf(p->fam[p->nfam].type, sizeof p->fam[p->nfam].type, "%s",
             types[i]);
    p->last = ++p->nfam;
    return 0;
}

static int sample_line(struct parser *p, const char *s, const char *end,
                       proto_prom_fn fn, void *arg)
{
    size_t n = name_len(s, end, 1);
    if (!n)
        return bad(p, "expected a metric name, a comment or a blank line");
    const char *q = s + n;
    if (q < end && *q == '{') {
        q++;
        for (;;) {
            while (q < end && *q == ' ')
                q++;
            if (q < end && *q == '}')
                break;
            size_t ln = name_len(q, end, 0);
            if (!ln)
                return bad(p, "%.*s: expected a label name", (int)n, s);
            q += ln;
            if (q >= end || *q != '=')
                return bad(p, "%.*s: expected '=' after a label name",
                           (int)n, s);
            q++;
            if (q >= end || *q != '"')
                return bad(p, "%.*s: a label value must be quoted", (int)n,
                           s);
            q++;
            while (q < end && *q != '"') {
                if (*q == '\\') {
                    if (q + 1 >= end || !strchr("\\\"n", q[1]))
                        return bad(p, "%.*s: bad escape in a label value",
                                   (int)n, s);
                    q++;
                }
                q++;
            }
            if (q >= end)
                return bad(p, "%.*s: unterminated label value", (int)n, s);
            q++;
            while (q < end && *q == ' ')
                q++;
            if (q < end && *q == ',') {
                q++;
                continue;
            }
            if (q < end && *q == '}')
                break;
            return bad(p, "%.*s: expected ',' or '}' in the labels", (int)n,
                       s);
        }
        q++; /* '}' */
    }
    size_t slen = (size_t)(q - s);
    if (q >= end || (*q != ' ' && *q != '\t'))
        return bad(p, "%.*s: expected a space and a value", (int)n, s);
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    const char *v = q;
    while (q < end && *q != ' ' && *q != '\t')
        q++;
    double value;
    if (parse_float(v, q, &value))
        return bad(p, "%.*s: '%.*s' is not a number", (int)n, s,
                   (int)(q - v > 40 ? 40 : q - v), v);
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    if (q < end) { /* a timestamp: an integer of milliseconds */
        const char *t = q;
        if (*q == '-' || *q == '+')
            q++;
        const char *d = q;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (q == d || q < end)
            return bad(p, "%.*s: '%.*s' after the value is not a "
                       "timestamp", (int)n, s, (int)(end - t > 40 ? 40
                                                     : end - t), t);
    }
    if (slen >= PROTO_PROM_NAME_MAX)
        return bad(p, "series longer than %d bytes", PROTO_PROM_NAME_MAX - 1);
    char series[PROTO_PROM_NAME_MAX], name[PROTO_PROM_NAME_MAX];
    memcpy(series, s, slen);
    series[slen] = 0;
    memcpy(name, s, n);
    name[n] = 0;
    return fn(arg, series, name, type_of(p, s, n), value);
}

int proto_prom_parse(const char *buf, size_t len, proto_prom_fn fn,
                     void *arg, char *err, size_t errlen)
{
    struct parser p = {.err = err, .errlen = errlen};
    const char *s = buf, *end = buf + len;
    int rc = 0;
    while (s < end && !rc) {
        p.line++;
        const char *e = memchr(s, '\n', (size_t)(end - s));
        const char *next = e ? e + 1 : end;
        if (!e)
            e = end;
        if (e > s && e[-1] == '\r')
            e--;
        size_t ll = e > s ? (size_t)(e - s) : 0;
        if (ll && memchr(s, 0, ll)) {
            rc = bad(&p, "a NUL byte");
            break;
        }
        const char *t = s;
        while (t < e && (*t == ' ' || *t == '\t'))
            t++;
        if (t == e) {
            /* blank */
        } else if (*t == '#') {
            t++;
            while (t < e && *t == ' ')
                t++;
            /* "# TYPE" and "# HELP" must be well formed; any other
             * comment is free text */
            size_t w = 0;
            while (t + w < e && t[w] != ' ' && t[w] != '\t')
                w++;
            const char *rest = t + w;
            while (rest < e && (*rest == ' ' || *rest == '\t'))
                rest++;
            if (w == 4 && !memcmp(t, "TYPE", 4))
                rc = type_line(&p, rest, e);
            else if (w == 4 && !memcmp(t, "HELP", 4) &&
                     !name_len(rest, e, 1))
                rc = bad(&p, "HELP without a metric name");
        } else {
            rc = sample_line(&p, t, e, fn, arg);
        }
        s = next;
    }
    free(p.fam);
    return rc;
}
