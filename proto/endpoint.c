/*
 * endpoint.c: endpoint names from request targets (see endpoint.h). The
 * work is a single pass over the path with no allocation, since it runs
 * once per sample (a million times for a large run).
 */
#include "endpoint.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/rp.h"

#define MAX_RULES 256
#define MAX_SEGS 64

struct http_rule {
    char *text;       /* the pattern as written, without the method */
    char *method;     /* NULL: any method */
    int nseg;
    char *seg[MAX_SEGS]; /* views into text_copy */
    char *text_copy;
    int star;         /* last segment is "*" */
};

struct http_templater {
    int keep_query;
    int nrules;
    struct http_rule rule[MAX_RULES];
};

struct http_templater *http_templater_new(int keep_query)
{
    struct http_templater *t = calloc(1, sizeof *t);
    if (t)
        t->keep_query = keep_query;
    return t;
}

void http_templater_free(struct http_templater *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->nrules; i++) {
        free(t->rule[i].text);
        free(t->rule[i].method);
        free(t->rule[i].text_copy);
    }
    free(t);
}

int http_templater_add(struct http_templater *t, const char *pattern, char *err)
{
    if (t->nrules >= MAX_RULES)
        return rp_fail(err, RP_EUSAGE, "--template: at most %d rules",
                       MAX_RULES);
    const char *p = pattern;
    const char *sp = strchr(p, ' ');
    struct http_rule r = {0};
    if (sp) {
        for (const char *q = p; q < sp; q++)
            if (!isupper((unsigned char)*q))
                return rp_fail(err, RP_EUSAGE,
                               "--template '%s': expected '[METHOD ]/path'",
                               pattern);
        r.method = strndup(p, (size_t)(sp - p));
        p = sp + 1;
        while (*p == ' ')
            p++;
    }
    if (*p != '/') {
        free(r.method);
        return rp_fail(err, RP_EUSAGE,
                       "--template '%s': the path must start with '/' "
                       "(e.g. '/users/:id/orders')", pattern);
    }
    r.text = strdup(p);
    r.text_copy = strdup(p + 1);
    if (!r.text || !r.text_copy) {
        free(r.text);
        free(r.text_copy);
        free(r.method);
        return RP_ENOMEM;
    }
    char *s = r.text_copy;
    for (;;) {
        char *slash = strchr(s, '/');
        if (slash)
            *slash = '\0';
        if (r.star || r.nseg >= MAX_SEGS) {
            free(r.text);
            free(r.text_copy);
            free(r.method);
            return rp_fail(err, RP_EUSAGE, "--template '%s': '*' must be "
                           "the last segment (and at most %d segments)",
                           pattern, MAX_SEGS);
        }
        if (!strcmp(s, "*"))
            r.star = 1;
        else
            r.seg[r.nseg++] = s;
        if (!slash)
            break;
        s = slash + 1;
    }
    t->rule[t->nrules++] = r;
    return 0;
}

static int is_hex(int c) { return isxdigit((unsigned char)c); }

static int is_uuid(const char *s, size_t n)
{
    if (n != 36)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!is_hex(s[i])) {
            return 0;
        }
    }
    return 1;
}

/* Class of an alphanumeric character: 1 digit, 2 lower, 3 upper, 0 other. */
static int cclass(char c)
{
    if (c >= '0' && c <= '9')
        return 1;
    if (c >= 'a' && c <= 'z')
        return 2;
    if (c >= 'A' && c <= 'Z')
        return 3;
    return 0;
}

int http_segment_is_id(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    size_t digits = 0, hex = 0, letters = 0, other = 0, trans = 0;
    int prev = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int k = cclass(c);
        if (k == 1)
            digits++;
        else if (k)
            letters++;
        if (is_hex(c))
            hex++;
        if (!k && !strchr("-_+=~.%", c))
            other++;
        if (k && prev && k != prev)
            trans++;
        prev = k;
    }
    if (digits == n)
        return 1;
    if (is_uuid(s, n))
        return 1;
    if (hex == n && n >= 8 && digits > 0)
        return 1;
    /* Tokens: long, base64-ish, mixing letters and digits, and changing
     * character class often (words-with-dashes slugs do not). */
    if (n >= 16 && !other && digits && letters) {
        if (trans * 5 >= n)
            return 1;
        if (s[n - 1] == '=' && n >= 20)
            return 1;
    }
    return 0;
}

/* Appends s[0..n) to out at *pos, keeping room for the NUL. */
static void put(char *out, size_t outlen, size_t *pos, const char *s,
                size_t n)
{
    if (*pos + 1 >= outlen)
        return;
    size_t room = outlen - 1 - *pos;
    if (n > room)
        n = room;
    memcpy(out + *pos, s, n);
    *pos += n;
    out[*pos] = '\0';
}

/* Splits path[0..n) (starting with '/') into segments; returns the count
 * or -1 when there are too many. */
static int split(const char *path, size_t n, const char **seg, size_t *len)
{
    int k = 0;
    size_t i = 1;
    for (;;) {
        size_t j = i;
        while (j < n && path[j] != '/')
            j++;
        if (k >= MAX_SEGS)
            return -1;
        seg[k] = path + i;
        len[k] = j - i;
        k++;
        if (j >= n)
            break;
        i = j + 1;
    }
    return k;
}

static int rule_matches(const struct http_rule *r, const char *method,
                        const char **seg, const size_t *len, int nseg)
{
    if (r->method && strcmp(r->method, method))
        return 0;
    if (r->star ? nseg <= r->nseg : nseg != r->nseg)
        return 0;
    for (int i = 0; i < r->nseg; i++) {
        const char *p = r->seg[i];
        if (p[0] == ':') {
            if (len[i] == 0)
                return 0;
        } else if (strlen(p) != len[i] || memcmp(p, seg[i], len[i])) {
            return 0;
        }
    }
    return 1;
}

/* "NAME.ext" with a short alphabetic extension: writes it with its
 * identifier parts replaced (":id.jpg", "app.:id.js") and returns 1, or
 * returns 0 (nothing written) when no part is an identifier. Inner parts
 * must have 6+ characters so versions ("jquery-3.6.0.min.js") stay. */
static int dotted(char *out, size_t outlen, size_t *pos, const char *s,
                  size_t n)
{
    const char *ext = NULL;
    for (size_t i = n; i > 0; i--)
        if (s[i - 1] == '.') {
            ext = s + i;
            break;
        }
    if (!ext || ext - 1 == s)
        return 0;
    size_t elen = n - (size_t)(ext - s);
    if (elen == 0 || elen > 5)
        return 0;
    for (size_t j = 0; j < elen; j++)
        if (!isalpha((unsigned char)ext[j]))
            return 0;
    size_t base = (size_t)(ext - 1 - s);
    int single = memchr(s, '.', base) == NULL, any = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t i = 0;
        while (i <= base) {
            size_t j = i;
            while (j < base && s[j] != '.')
                j++;
            int id = http_segment_is_id(s + i, j - i) &&
                     (single || j - i >= 6);
            any |= id;
            if (pass == 1) {
                if (id)
                    put(out, outlen, pos, ":id", 3);
                else
                    put(out, outlen, pos, s + i, j - i);
                put(out, outlen, pos, ".", 1);
            }
            i = j + 1;
        }
        if (!any)
            return 0;
    }
    put(out, outlen, pos, ext, elen);
    return 1;
}

void http_endpoint(const struct http_templater *t, const char *method,
                 const char *target, char *out, size_t outlen)
{
    size_t pos = 0;
    if (!outlen)
        return;
    out[0] = '\0';
    if (!method)
        method = "";
    if (!target)
        target = "";
    put(out, outlen, &pos, method, strlen(method));
    if (!*target) /* a command without detail (Redis "GET", "BEGIN") */
        return;
    put(out, outlen, &pos, " ", 1);

    /* absolute-form: drop scheme and authority. */
    const char *path = target;
    const char *scheme = strstr(target, "://");
    if (scheme && target[0] != '/') {
        const char *slash = strchr(scheme + 3, '/');
        path = slash ? slash : "/";
    }
    if (path[0] != '/') { /* "*" or authority-form */
        put(out, outlen, &pos, path, strlen(path));
        return;
    }
    size_t plen = strcspn(path, "?#");
    const char *query = path[plen] == '?' ? path + plen : NULL;

    const char *seg[MAX_SEGS];
    size_t len[MAX_SEGS];
    int nseg = split(path, plen, seg, len);
    if (t && nseg > 0) {
        for (int i = 0; i < t->nrules; i++) {
            if (rule_matches(&t->rule[i], method, seg, len, nseg)) {
                put(out, outlen, &pos, t->rule[i].text,
                    strlen(t->rule[i].text));
                goto query;
            }
        }
    }
    if (nseg < 0) {
        put(out, outlen, &pos, path, plen);
        goto query;
    }
    for (int i = 0; i < nseg; i++) {
        put(out, outlen, &pos, "/", 1);
        const char *s = seg[i];
        size_t n = len[i];
        if (http_segment_is_id(s, n)) {
            put(out, outlen, &pos, ":id", 3);
            continue;
        }
        if (dotted(out, outlen, &pos, s, n))
            continue;
        put(out, outlen, &pos, s, n);
    }
query:
    if (query && t && t->keep_query)
        put(out, outlen, &pos, query, strcspn(query, "#"));
}
