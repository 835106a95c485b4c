/*
 * shape.c: request shaping for replay, kept free of I/O so it is unit
 * tested on its own: --filter selection, --rewrite-path regular expressions
 * and the head a request is replayed with: the captured bytes, with
 * --host, --set-header and --drop-header applied in place and redacted
 * values (which must never leave the machine) left out. What a transport
 * then does with that head (the raw one sends it as it is, libcurl needs
 * its own header dialect) is the transport's business.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "replay/replay_int.h"

#define REDACT_MARK "[redacted "

/* Same test as cap_redact_has_marker (capture/redact.h); replay does not
 * link capture, so the marker prefix is checked here. */
int replay_shape_is_redacted(const char *value, size_t len)
{
    size_t m = sizeof REDACT_MARK - 1;
    for (size_t i = 0; i + m <= len; i++) /* "sid=[redacted ...]" too */
        if (value[i] == '[' && strncmp(value + i, REDACT_MARK, m) == 0)
            return 1;
    return 0;
}

int replay_shape_filter_parse(const char *arg, struct rp_filter *f, char *err)
{
    static const char *const keys[RF__COUNT] = {"method", "path", "host",
                                                "status", "from", "to"};
    const char *eq = strchr(arg, '=');
    memset(f, 0, sizeof *f);
    if (!eq || eq == arg || !eq[1])
        return rp_fail(err, RP_EUSAGE, "--filter '%s': expected KEY=VALUE "
                       "with KEY one of method, path, host, status, from, to",
                       arg);
    size_t klen = (size_t)(eq - arg);
    int kind = -1;
    for (int i = 0; i < RF__COUNT; i++)
        if (strlen(keys[i]) == klen && !strncasecmp(arg, keys[i], klen))
            kind = i;
    if (kind < 0)
        return rp_fail(err, RP_EUSAGE, "--filter '%s': unknown key; use "
                       "method, path, host, status, from or to", arg);
    f->kind = (enum rp_filter_kind)kind;
    const char *v = eq + 1;
    switch (f->kind) {
    case RF_METHOD:
    case RF_PATH:
    case RF_HOST:
        f->pattern = v;
        return 0;
    case RF_STATUS:
        if (strlen(v) == 3 && v[0] >= '1' && v[0] <= '5' &&
            tolower((unsigned char)v[1]) == 'x' &&
            tolower((unsigned char)v[2]) == 'x') {
            f->status = v[0] - '0';
            f->status_class = 1;
            return 0;
        }
        {
            int64_t s;
            if (rp_parse_i64(v, "--filter status", 0, 999, &s, err))
                return RP_EUSAGE;
            f->status = (int)s;
        }
        return 0;
    case RF_FROM:
    case RF_TO:
        return rp_parse_duration_us(v, f->kind == RF_FROM ? "--filter from"
                                                          : "--filter to",
                                    &f->t_us, err)
                   ? RP_EUSAGE : 0;
    default:
        break;
    }
    return rp_fail(err, RP_EUSAGE, "--filter '%s': unknown key", arg);
}

static int filter_one(const struct rp_filter *f,
                      const struct corpus_exchange *ex, int64_t rel_us)
{
    switch (f->kind) {
    case RF_METHOD:
        return fnmatch(f->pattern, ex->method ? ex->method : "",
                       FNM_CASEFOLD) == 0;
    case RF_PATH: {
        const char *t = ex->target ? ex->target : "";
        size_t n = strcspn(t, "?");
        char stack[1024];
        char *p = n < sizeof stack ? stack : malloc(n + 1);
        if (!p)
            return 0;
        memcpy(p, t, n);
        p[n] = '\0';
        int m = fnmatch(f->pattern, p, 0) == 0;
        if (p != stack)
            free(p);
        return m;
    }
    case RF_HOST:
        return fnmatch(f->pattern, ex->host ? ex->host : "", FNM_CASEFOLD) ==
               0;
    case RF_STATUS:
        return f->status_class ? ex->status / 100 == f->status
                               : ex->status == f->status;
    case RF_FROM:
        return rel_us >= f->t_us;
    case RF_TO:
        return rel_us < f->t_us;
    default:
        return 0;
    }
}

enum rp_wire replay_shape_wire_of(const char *version)
{
    if (!version)
        return RW_NONE;
    if (!strncmp(version, "RESP", 4))
        return RW_REDIS;
    if (!strcmp(version, "PG3"))
        return RW_PG;
    if (!strcmp(version, "TCP"))
        return RW_TCP;
    return RW_NONE;
}

int replay_shape_filter_match(const struct rp_opts *o,
                              const struct corpus_exchange *ex, int64_t rel_us)
{
    int seen[RF__COUNT] = {0}, hit[RF__COUNT] = {0};
    /* a target speaks one protocol: the others' exchanges are not sent */
    if (replay_shape_wire_of(ex->version) != o->wire)
        return 0;
    for (int i = 0; i < o->nfilters; i++) {
        const struct rp_filter *f = &o->filters[i];
        seen[f->kind] = 1;
        if (!hit[f->kind] && filter_one(f, ex, rel_us))
            hit[f->kind] = 1;
    }
    for (int k = 0; k < RF__COUNT; k++)
        if (seen[k] && !hit[k])
            return 0;
    return 1;
}

int replay_shape_rewrite_parse(const char *arg, struct rp_rewrite *rw,
                               char *err)
{
    const char *sep = NULL;
    for (const char *p = arg; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (*p == '=') {
            sep = p;
            break;
        }
    }
    memset(rw, 0, sizeof *rw);
    if (!sep || sep == arg)
        return rp_fail(err, RP_EUSAGE, "--rewrite-path '%s': expected "
                       "REGEX=REPLACEMENT", arg);
    size_t n = (size_t)(sep - arg);
    char *re = malloc(n + 1);
    if (!re)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    /* "\=" becomes "=", every other escape is left to regcomp. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (arg[i] == '\\' && i + 1 < n && arg[i + 1] == '=')
            i++;
        re[k++] = arg[i];
    }
    re[k] = '\0';
    int rc = regcomp(&rw->re, re, REG_EXTENDED);
    if (rc) {
        char msg[256];
        regerror(rc, &rw->re, msg, sizeof msg);
        free(re);
        return rp_fail(err, RP_EUSAGE, "--rewrite-path '%s': bad regular "
                       "expression: %s", arg, msg);
    }
    free(re);
    rw->replacement = strdup(sep + 1);
    if (!rw->replacement) {
        regfree(&rw->re);
        return rp_fail(err, RP_ENOMEM, "out of memory");
    }
    return 0;
}

void replay_shape_rewrite_free(struct rp_rewrite *rw)
{
    if (!rw || !rw->replacement)
        return;
    regfree(&rw->re);
    free(rw->replacement);
    rw->replacement = NULL;
}

static char *rewrite_one(const struct rp_rewrite *rw, const char *s)
{
    regmatch_t m[10];
    struct rp_buf b;
    if (regexec(&rw->re, s, 10, m, 0) != 0)
        return strdup(s);
    rp_buf_init(&b, 0);
    int rc = rp_buf_append(&b, s, (size_t)m[0].rm_so);
    for (const char *r = rw->replacement; !rc && *r; r++) {
        if (*r == '\\' && r[1] >= '0' && r[1] <= '9') {
            int g = r[1] - '0';
            r++;
            if (m[g].rm_so >= 0)
                rc = rp_buf_append(&b, s + m[g].rm_so,
                                   (size_t)(m[g].rm_eo - m[g].rm_so));
        } else if (*r == '\\' && r[1] == '\\') {
            r++;
            rc = rp_buf_append(&b, "\\", 1);
        } else {
            rc = rp_buf_append(&b, r, 1);
        }
    }
    if (!rc)
        rc = rp_buf_puts(&b, s + m[0].rm_eo);
    if (!rc && !b.data)
        rc = rp_buf_append(&b, "", 0);
    if (rc) {
        rp_buf_cleanup(&b);
        return NULL;
    }
    return b.data;
}

char *replay_shape_rewrite_apply(const struct rp_opts *o, const char *target)
{
    char *cur = strdup(target);
    for (int i = 0; cur && i < o->nrewrites; i++) {
        char *next = rewrite_one(&o->rewrites[i], cur);
        free(cur);
        cur = next;
    }
    return cur;
}

/* Case-insensitive comparison of a header name (n bytes) with a C string. */
static int name_is(const char *name, size_t n, const char *s)
{
    return strlen(s) == n && !strncasecmp(name, s, n);
}

/* Name length of a "Name: value" (or "Name:") option string. */
static size_t opt_name_len(const char *s)
{
    size_t n = strcspn(s, ":");
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return n;
}

int replay_shape_is_framing(const char *name, size_t n)
{
    return name_is(name, n, "Content-Length") ||
           name_is(name, n, "Transfer-Encoding");
}

/* One captured header: its first line and any obs-fold continuation lines,
 * as bytes (line ends included), with the name and the first line's value
 * (trimmed) as views. */
struct hdr {
    const char *start;
    size_t len;
    const char *name, *val;
    size_t nlen, vlen;
};

/* The header at *p (up to end); 1 with *h, 0 at the end. Empty lines are
 * skipped. A line without a colon has nlen 0 and is kept as it is. */
static int next_hdr(const char **p, const char *end, struct hdr *h)
{
    while (*p < end && (**p == '\r' || **p == '\n'))
        (*p)++;
    if (*p >= end)
        return 0;
    const char *s = *p;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *le = nl ? nl : end;
    const char *e = le > s && le[-1] == '\r' ? le - 1 : le;
    const char *q = nl ? nl + 1 : end;
    while (q < end && (*q == ' ' || *q == '\t')) { /* continuation lines */
        const char *n2 = memchr(q, '\n', (size_t)(end - q));
        q = n2 ? n2 + 1 : end;
    }
    *p = q;
    h->start = s;
    h->len = (size_t)(q - s);
    const char *colon = memchr(s, ':', (size_t)(e - s));
    if (!colon) {
        h->name = h->val = s;
        h->nlen = h->vlen = 0;
        return 1;
    }
    const char *ne = colon;
    while (ne > s && (ne[-1] == ' ' || ne[-1] == '\t'))
        ne--;
    const char *v = colon + 1;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    const char *ve = e;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    h->name = s;
    h->nlen = (size_t)(ne - s);
    h->val = v;
    h->vlen = (size_t)(ve - v);
    return 1;
}

/* Appends "Name: value\r\n" of a --set-header option. */
static int put_set_header(struct rp_buf *out, const char *opt)
{
    size_t n = opt_name_len(opt);
    const char *v = strchr(opt, ':');
    v = v ? v + 1 : opt + strlen(opt);
    while (*v == ' ' || *v == '\t')
        v++;
    int rc = rp_buf_append(out, opt, n);
    if (!rc)
        rc = rp_buf_append(out, ": ", 2);
    if (!rc)
        rc = rp_buf_puts(out, v);
    if (!rc)
        rc = rp_buf_append(out, "\r\n", 2);
    return rc;
}

/* Appends every --set-header option named name[0..n) and marks it used. */
static int put_set_named(const struct rp_opts *o, const char *name, size_t n,
                         unsigned char *used, struct rp_buf *out)
{
    int rc = 0;
    for (int i = 0; !rc && i < o->nset_headers; i++) {
        const char *s = o->set_headers[i];
        size_t sn = opt_name_len(s);
        if (used[i] || sn != n || strncasecmp(s, name, n))
            continue;
        used[i] = 1;
        rc = put_set_header(out, s);
    }
    return rc;
}

static int in_drop(const struct rp_opts *o, const char *name, size_t n)
{
    for (int i = 0; i < o->ndrop_headers; i++)
        if (name_is(name, n, o->drop_headers[i]))
            return 1;
    return 0;
}

static int in_set(const struct rp_opts *o, const char *name, size_t n)
{
    for (int i = 0; i < o->nset_headers; i++) {
        const char *s = o->set_headers[i];
        if (opt_name_len(s) == n && !strncasecmp(s, name, n))
            return 1;
    }
    return 0;
}

int replay_shape_head(const struct rp_opts *o, const char *method,
                      const char *target, const char *version,
                      const char *hdrs, size_t len, struct rp_buf *out,
                      int *redacted_dropped)
{
    const char *p = hdrs ? hdrs : "", *end = hdrs ? hdrs + len : p;
    unsigned char used_stack[64], *used = used_stack;
    int have_host = 0, rc, red = 0;
    struct hdr h;
    if (o->nset_headers > (int)sizeof used_stack) {
        used = calloc((size_t)o->nset_headers, 1);
        if (!used)
            return RP_ENOMEM;
    } else {
        memset(used_stack, 0, sizeof used_stack);
    }
    rc = rp_buf_printf(out, "%s %s %s\r\n", method, target,
                       version && *version ? version : "HTTP/1.1");
    while (!rc && next_hdr(&p, end, &h)) {
        int host = h.nlen && name_is(h.name, h.nlen, "Host");
        if (h.nlen && in_drop(o, h.name, h.nlen))
            continue;
        if (host && o->host) {
            if (!have_host) {
                rc = rp_buf_append(out, h.name, h.nlen);
                if (!rc)
                    rc = rp_buf_append(out, ": ", 2);
                if (!rc)
                    rc = rp_buf_puts(out, o->host);
                if (!rc)
                    rc = rp_buf_append(out, "\r\n", 2);
            }
            have_host = 1;
            continue;
        }
        have_host |= host;
        if (h.nlen && in_set(o, h.name, h.nlen)) {
            /* the first of its name takes the options' values; the later
             * ones of that name have been replaced too */
            rc = put_set_named(o, h.name, h.nlen, used, out);
            continue;
        }
        if (h.nlen && replay_shape_is_redacted(h.val, h.vlen)) {
            red++;
            continue;
        }
        rc = rp_buf_append(out, h.start, h.len);
        if (!rc && h.start[h.len - 1] != '\n')
            rc = rp_buf_append(out, "\r\n", 2);
    }
    if (!rc && !have_host && o->host)
        rc = rp_buf_printf(out, "Host: %s\r\n", o->host);
    for (int i = 0; !rc && i < o->nset_headers; i++) {
        const char *s = o->set_headers[i];
        if (used[i] || (o->host && name_is(s, opt_name_len(s), "Host")))
            continue;
        used[i] = 1;
        rc = put_set_header(out, s);
    }
    if (!rc)
        rc = rp_buf_append(out, "\r\n", 2);
    if (used != used_stack)
        free(used);
    if (redacted_dropped)
        *redacted_dropped = red;
    return rc ? RP_ENOMEM : 0;
}
