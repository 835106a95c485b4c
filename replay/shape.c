/*
 * shape.c: request shaping for replay, kept free of I/O so it is unit
 * tested on its own: --filter selection, --rewrite-path regular expressions
 * and the header rules (what is replayed verbatim, what libcurl must set
 * itself, what is suppressed so libcurl does not add headers the client
 * never sent, and redacted values that must never leave the machine).
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "replay/replay_int.h"

/* Headers libcurl derives itself or that describe the captured connection
 * rather than the request: never replayed verbatim. */
static const char *const hop_headers[] = {
    "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
    "Expect", "Upgrade", "Proxy-Connection", "TE", "HTTP2-Settings",
};

#define REDACT_MARK "[redacted "

/* Same test as cap_redact_is_marker (capture/redact.h); replay does not
 * link capture, so the marker prefix is checked here. */
int shape_is_redacted(const char *value, size_t len)
{
    size_t m = sizeof REDACT_MARK - 1;
    return len >= m && strncmp(value, REDACT_MARK, m) == 0;
}

int shape_filter_parse(const char *arg, struct rp_filter *f, char *err)
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

int shape_filter_match(const struct rp_opts *o,
                       const struct corpus_exchange *ex, int64_t rel_us)
{
    int seen[RF__COUNT] = {0}, hit[RF__COUNT] = {0};
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

int shape_rewrite_parse(const char *arg, struct rp_rewrite *rw, char *err)
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

void shape_rewrite_free(struct rp_rewrite *rw)
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

char *shape_rewrite_apply(const struct rp_opts *o, const char *target)
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

static int name_in_set(const char *name, size_t n, const char *const *set,
                       int nset, int is_set_header)
{
    for (int i = 0; i < nset; i++) {
        const char *s = set[i];
        size_t sn = is_set_header ? opt_name_len(s) : strlen(s);
        if (sn == n && !strncasecmp(name, s, n))
            return 1;
    }
    return 0;
}

/* Emits "Name: value", or "Name;" for an empty value (libcurl's syntax for
 * an empty header; "Name:" would remove it). */
static int emit_header(const char *name, size_t nlen, const char *val,
                       size_t vlen, int (*emit)(void *, const char *),
                       void *arg)
{
    char stack[512];
    size_t need = nlen + vlen + 3;
    char *line = need <= sizeof stack ? stack : malloc(need);
    if (!line)
        return RP_ENOMEM;
    memcpy(line, name, nlen);
    if (vlen) {
        memcpy(line + nlen, ": ", 2);
        memcpy(line + nlen + 2, val, vlen);
        line[nlen + 2 + vlen] = '\0';
    } else {
        line[nlen] = ';';
        line[nlen + 1] = '\0';
    }
    int rc = emit(arg, line);
    if (line != stack)
        free(line);
    return rc;
}

/* One parsed header line; folded continuation lines are joined. */
struct hline {
    const char *name, *val;
    size_t nlen, vlen;
};

/* Parses the next header at *p (up to end); returns 1 with *h, 0 at end.
 * Values of folded lines are returned up to the first line only; the
 * continuation is appended by the caller through *fold. */
static int next_line(const char **p, const char *end, struct hline *h)
{
    while (*p < end) {
        const char *s = *p;
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        *p = nl ? nl + 1 : end;
        const char *e = le;
        if (e > s && e[-1] == '\r')
            e--;
        if (e == s)
            continue;
        const char *colon = memchr(s, ':', (size_t)(e - s));
        if (!colon || colon == s)
            continue; /* not a header line: skipped */
        h->name = s;
        h->nlen = (size_t)(colon - s);
        const char *v = colon + 1;
        while (v < e && (*v == ' ' || *v == '\t'))
            v++;
        const char *ve = e;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        h->val = v;
        h->vlen = (size_t)(ve - v);
        return 1;
    }
    return 0;
}

int shape_headers(const struct rp_opts *o, const char *hdrs, size_t len,
                  int has_body, int (*emit)(void *arg, const char *line),
                  void *arg, int *redacted_dropped)
{
    const char *p = hdrs ? hdrs : "", *end = hdrs ? hdrs + len : p;
    int have_host = 0, have_accept = 0, have_ctype = 0, rc = 0;
    struct hline h;
    struct rp_buf fold;
    rp_buf_init(&fold, 0);
    if (redacted_dropped)
        *redacted_dropped = 0;
    while (!rc && next_line(&p, end, &h)) {
        /* Join obs-fold continuation lines into this value. */
        const char *val = h.val;
        size_t vlen = h.vlen;
        if (p < end && (*p == ' ' || *p == '\t')) {
            rp_buf_reset(&fold);
            rc = rp_buf_append(&fold, h.val, h.vlen);
            while (!rc && p < end && (*p == ' ' || *p == '\t')) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *le = nl ? nl : end;
                const char *s = p, *e = le;
                if (e > s && e[-1] == '\r')
                    e--;
                while (s < e && (*s == ' ' || *s == '\t'))
                    s++;
                rc = rp_buf_append(&fold, " ", 1);
                if (!rc)
                    rc = rp_buf_append(&fold, s, (size_t)(e - s));
                p = nl ? nl + 1 : end;
            }
            if (rc)
                break;
            val = fold.data ? fold.data : "";
            vlen = fold.len;
        }
        int hop = 0;
        for (size_t i = 0; i < sizeof hop_headers / sizeof *hop_headers; i++)
            if (name_is(h.name, h.nlen, hop_headers[i]))
                hop = 1;
        if (hop)
            continue;
        if (name_is(h.name, h.nlen, "Host")) {
            if (have_host)
                continue;
            have_host = 1;
            if (o->host) {
                rc = emit_header(h.name, h.nlen, o->host, strlen(o->host),
                                 emit, arg);
                continue;
            }
            if (name_in_set(h.name, h.nlen, o->set_headers, o->nset_headers,
                            1) ||
                name_in_set(h.name, h.nlen, o->drop_headers,
                            o->ndrop_headers, 0))
                continue;
        } else if (name_in_set(h.name, h.nlen, o->drop_headers,
                               o->ndrop_headers, 0) ||
                   name_in_set(h.name, h.nlen, o->set_headers,
                               o->nset_headers, 1)) {
            continue;
        }
        if (shape_is_redacted(val, vlen)) {
            if (redacted_dropped)
                (*redacted_dropped)++;
            continue;
        }
        if (name_is(h.name, h.nlen, "Accept"))
            have_accept = 1;
        if (name_is(h.name, h.nlen, "Content-Type"))
            have_ctype = 1;
        rc = emit_header(h.name, h.nlen, val, vlen, emit, arg);
    }
    if (!rc && !have_host && o->host)
        rc = emit_header("Host", 4, o->host, strlen(o->host), emit, arg);
    for (int i = 0; !rc && i < o->nset_headers; i++) {
        const char *s = o->set_headers[i];
        size_t n = opt_name_len(s);
        if (name_is(s, n, "Host") && o->host)
            continue;
        const char *v = strchr(s, ':');
        v = v ? v + 1 : s + strlen(s);
        while (*v == ' ' || *v == '\t')
            v++;
        if (name_is(s, n, "Accept"))
            have_accept = 1;
        if (name_is(s, n, "Content-Type"))
            have_ctype = 1;
        rc = emit_header(s, n, v, strlen(v), emit, arg);
    }
    if (!rc && !have_accept)
        rc = emit(arg, "Accept:");
    if (!rc && has_body && !have_ctype)
        rc = emit(arg, "Content-Type:");
    if (!rc)
        rc = emit(arg, "Expect:");
    rp_buf_cleanup(&fold);
    return rc;
}
