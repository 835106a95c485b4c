/*
 * redact.c: replaces secret header values and query parameter values with
 * length-keeping, keyed-hash markers (format in redact.h). The keyed hash is
 * HMAC-SHA256 (RFC 2104) over libcrypto's SHA-256: the inner and outer
 * digests are primed with the padded key once, and each marker copies the
 * primed contexts, so a marker costs two short SHA-256 runs and no
 * allocation. The key comes from getrandom() and is wiped by cap_redact_free.
 */
#include "capture/redact.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/rp.h"

#define SHA_BLOCK 64
#define HASH_HEX_BYTES 6

struct name {
    char *s;
    size_t n;
};

/* Recently made markers: cookies and tokens repeat within a session, and a
 * hit saves two SHA-256 runs. Direct-mapped by a hash of the value. */
#define CACHE_SLOTS 64
#define CACHE_VALUE_MAX 192
struct cache_slot {
    size_t n;                  /* value length; 0 = empty slot */
    uint8_t v[CACHE_VALUE_MAX];
    char marker[CAP_REDACT_MARKER_MAX];
    size_t marker_len;
};

struct cap_redact {
    EVP_MD_CTX *inner, *outer; /* primed with key ^ ipad / key ^ opad */
    EVP_MD_CTX *tmp;           /* scratch for one marker */
    struct cache_slot *cache;  /* CACHE_SLOTS, wiped by cap_redact_free */
    uint64_t len_mask;         /* bit n: some header name has length n */
    struct name *hdrs;         /* header names to redact */
    size_t nhdrs;
    struct name *query;        /* query parameter names */
    size_t nquery;
};

static const char *const default_headers[] = {
    "authorization", "proxy-authorization", "cookie", "set-cookie", NULL};

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c | 0x20 : c; }

static int add_names(struct name **arr, size_t *cnt, const char *const *l)
{
    size_t extra = 0;
    for (size_t i = 0; l && l[i]; i++)
        extra++;
    if (!extra)
        return 0;
    struct name *na = realloc(*arr, (*cnt + extra) * sizeof *na);
    if (!na)
        return -1;
    *arr = na;
    for (size_t i = 0; i < extra; i++) {
        char *s = strdup(l[i]);
        if (!s)
            return -1;
        na[*cnt].s = s;
        na[*cnt].n = strlen(s);
        (*cnt)++;
    }
    return 0;
}

struct cap_redact *cap_redact_new_keyed(const uint8_t key[CAP_REDACT_KEY_LEN],
                                        int defaults,
                                        const char *const *headers,
                                        const char *const *query)
{
    uint8_t pad[SHA_BLOCK];
    struct cap_redact *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if ((defaults && add_names(&r->hdrs, &r->nhdrs, default_headers) < 0) ||
        add_names(&r->hdrs, &r->nhdrs, headers) < 0 ||
        add_names(&r->query, &r->nquery, query) < 0)
        goto fail;
    for (size_t i = 0; i < r->nhdrs; i++)
        r->len_mask |= r->hdrs[i].n < 64 ? 1ull << r->hdrs[i].n : 1ull << 63;
    r->inner = EVP_MD_CTX_new();
    r->outer = EVP_MD_CTX_new();
    r->tmp = EVP_MD_CTX_new();
    r->cache = calloc(CACHE_SLOTS, sizeof *r->cache);
    if (!r->inner || !r->outer || !r->tmp || !r->cache)
        goto fail;
    memset(pad, 0x36, sizeof pad);
    for (size_t i = 0; i < CAP_REDACT_KEY_LEN; i++)
        pad[i] ^= key[i];
    if (!EVP_DigestInit_ex(r->inner, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(r->inner, pad, sizeof pad))
        goto fail;
    memset(pad, 0x5c, sizeof pad);
    for (size_t i = 0; i < CAP_REDACT_KEY_LEN; i++)
        pad[i] ^= key[i];
    if (!EVP_DigestInit_ex(r->outer, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(r->outer, pad, sizeof pad))
        goto fail;
    OPENSSL_cleanse(pad, sizeof pad);
    return r;
fail:
    OPENSSL_cleanse(pad, sizeof pad);
    cap_redact_free(r);
    return NULL;
}

struct cap_redact *cap_redact_new(int defaults, const char *const *headers,
                                  const char *const *query)
{
    uint8_t key[CAP_REDACT_KEY_LEN];
    size_t got = 0;
    while (got < sizeof key) {
        ssize_t k = getrandom(key + got, sizeof key - got, 0);
        if (k <= 0) {
            OPENSSL_cleanse(key, sizeof key);
            return NULL;
        }
        got += (size_t)k;
    }
    struct cap_redact *r = cap_redact_new_keyed(key, defaults, headers, query);
    OPENSSL_cleanse(key, sizeof key);
    return r;
}

void cap_redact_free(struct cap_redact *r)
{
    if (!r)
        return;
    /* EVP_MD_CTX_free cleanses the digest state (the primed key pads) */
    EVP_MD_CTX_free(r->inner);
    EVP_MD_CTX_free(r->outer);
    EVP_MD_CTX_free(r->tmp);
    if (r->cache) {
        OPENSSL_cleanse(r->cache, CACHE_SLOTS * sizeof *r->cache);
        free(r->cache);
    }
    for (size_t i = 0; i < r->nhdrs; i++)
        free(r->hdrs[i].s);
    for (size_t i = 0; i < r->nquery; i++)
        free(r->query[i].s);
    free(r->hdrs);
    free(r->query);
    free(r);
}

int cap_redact_header(const struct cap_redact *r, const char *name, size_t n)
{
    if (!((r->len_mask >> (n < 64 ? n : 63)) & 1))
        return 0;
    for (size_t i = 0; i < r->nhdrs; i++) {
        if (r->hdrs[i].n != n)
            continue;
        size_t j = 0;
        while (j < n && lower((unsigned char)name[j]) ==
                            lower((unsigned char)r->hdrs[i].s[j]))
            j++;
        if (j == n)
            return 1;
    }
    return 0;
}

int cap_redact_has_query(const struct cap_redact *r)
{
    return r->nquery > 0;
}

size_t cap_redact_marker(struct cap_redact *r, const void *v, size_t n,
                         char *out)
{
    struct cache_slot *slot = NULL;
    if (n > 0 && n <= CACHE_VALUE_MAX) {
        uint64_t x = 1469598103934665603ull; /* FNV-1a */
        const uint8_t *b = v;
        for (size_t i = 0; i < n; i++)
            x = (x ^ b[i]) * 1099511628211ull;
        slot = &r->cache[(x ^ (x >> 29)) & (CACHE_SLOTS - 1)];
        if (slot->n == n && memcmp(slot->v, v, n) == 0) {
            memcpy(out, slot->marker, slot->marker_len + 1);
            return slot->marker_len;
        }
    }
    unsigned char ih[EVP_MAX_MD_SIZE], oh[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    memset(oh, 0, sizeof oh);
    if (!EVP_MD_CTX_copy_ex(r->tmp, r->inner) ||
        !EVP_DigestUpdate(r->tmp, v, n) ||
        !EVP_DigestFinal_ex(r->tmp, ih, &len) ||
        !EVP_MD_CTX_copy_ex(r->tmp, r->outer) ||
        !EVP_DigestUpdate(r->tmp, ih, len) ||
        !EVP_DigestFinal_ex(r->tmp, oh, &len))
        memset(oh, 0, sizeof oh); /* still a marker, without a usable hash */
    static const char hex[] = "0123456789abcdef";
    char h[2 * HASH_HEX_BYTES + 1];
    for (int i = 0; i < HASH_HEX_BYTES; i++) {
        h[2 * i] = hex[oh[i] >> 4];
        h[2 * i + 1] = hex[oh[i] & 15];
    }
    h[2 * HASH_HEX_BYTES] = '\0';
    int k = snprintf(out, CAP_REDACT_MARKER_MAX, "[redacted len=%zu h=%s]", n,
                     h);
    size_t ml = k > 0 ? (size_t)k : 0;
    if (slot) {
        slot->n = n;
        memcpy(slot->v, v, n);
        memcpy(slot->marker, out, ml + 1);
        slot->marker_len = ml;
    }
    return ml;
}

static int query_listed(const struct cap_redact *r, const char *s, size_t n)
{
    for (size_t i = 0; i < r->nquery; i++)
        if (r->query[i].n == n && memcmp(r->query[i].s, s, n) == 0)
            return 1;
    return 0;
}

/* Appends a marker percent-encoded, so the target stays a valid URL that
 * a replay can send as it is; the server decodes it back to the marker. */
static int append_query_escaped(struct rp_buf *out, const char *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = m[i];
        int r = (c == '[' || c == ']' || c == ' ' || c == '=')
                    ? rp_buf_printf(out, "%%%02X", (unsigned char)c)
                    : rp_buf_append(out, &c, 1);
        if (r < 0)
            return r;
    }
    return 0;
}

int cap_redact_target(struct cap_redact *r, const char *t, size_t n,
                      struct rp_buf *out)
{
    const char *q = r->nquery ? memchr(t, '?', n) : NULL;
    if (!q)
        return rp_buf_append(out, t, n) < 0 ? RP_ENOMEM : 0;
    int count = 0;
    size_t i = (size_t)(q - t) + 1, done = 0;
    while (i < n && t[i] != '#') {
        size_t ps = i;
        while (i < n && t[i] != '&' && t[i] != '#' && t[i] != '=')
            i++;
        if (i < n && t[i] == '=' && query_listed(r, t + ps, i - ps)) {
            size_t vs = ++i;
            while (i < n && t[i] != '&' && t[i] != '#')
                i++;
            char m[CAP_REDACT_MARKER_MAX];
            size_t ml = cap_redact_marker(r, t + vs, i - vs, m);
            if (rp_buf_append(out, t + done, vs - done) < 0 ||
                append_query_escaped(out, m, ml) < 0)
                return RP_ENOMEM;
            done = i;
            count++;
        }
        while (i < n && t[i] != '&' && t[i] != '#')
            i++;
        if (i < n && t[i] == '&')
            i++;
    }
    if (rp_buf_append(out, t + done, n - done) < 0)
        return RP_ENOMEM;
    return count;
}

int cap_redact_is_marker(const char *v, size_t n)
{
    return n >= 10 && memcmp(v, "[redacted ", 10) == 0;
}

static int name_is(const char *name, size_t nlen, const char *lit)
{
    size_t k = strlen(lit);
    if (nlen != k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (lower((unsigned char)name[i]) != lit[i])
            return 0;
    return 1;
}

static int put_marker(struct cap_redact *r, const char *v, size_t n,
                      struct rp_buf *out)
{
    char mk[CAP_REDACT_MARKER_MAX];
    size_t ml = cap_redact_marker(r, v, n, mk);
    return rp_buf_append(out, mk, ml) < 0 ? RP_ENOMEM : 0;
}

/* "a=1; b=2" -> "a=[m(1)]; b=[m(2)]"; with only_first, the pairs after the
 * first (Set-Cookie's attributes) are kept as they are. */
static int redact_cookies(struct cap_redact *r, const char *v, size_t n,
                          int only_first, struct rp_buf *out)
{
    size_t i = 0;
    int first = 1;
    while (i < n) {
        size_t s = i;
        while (i < n && v[i] != ';')
            i++;
        size_t e = i; /* pair [s, e) */
        if (!first && only_first) {
            if (rp_buf_append(out, v + s, n - s) < 0)
                return RP_ENOMEM;
            return 0;
        }
        size_t a = s;
        while (a < e && (v[a] == ' ' || v[a] == '\t'))
            a++;
        const char *eq = memchr(v + a, '=', e - a);
        size_t z = e;
        while (z > a && (v[z - 1] == ' ' || v[z - 1] == '\t'))
            z--;
        int rc;
        if (eq && (size_t)(eq - v) < z) {
            size_t vs = (size_t)(eq - v) + 1;
            rc = rp_buf_append(out, v + s, vs - s) < 0 ? RP_ENOMEM : 0;
            if (!rc && z > vs)
                rc = put_marker(r, v + vs, z - vs, out);
        } else {
            rc = rp_buf_append(out, v + s, a - s) < 0 ? RP_ENOMEM : 0;
            if (!rc && z > a)
                rc = put_marker(r, v + a, z - a, out);
        }
        if (!rc && rp_buf_append(out, v + z, e - z) < 0)
            rc = RP_ENOMEM;
        if (rc)
            return rc;
        first = 0;
        if (i < n) {
            if (rp_buf_append(out, ";", 1) < 0)
                return RP_ENOMEM;
            i++;
        }
    }
    return 0;
}

int cap_redact_value(struct cap_redact *r, const char *name, size_t nlen,
                     const char *v, size_t n, struct rp_buf *out)
{
    if (name_is(name, nlen, "cookie"))
        return redact_cookies(r, v, n, 0, out);
    if (name_is(name, nlen, "set-cookie"))
        return redact_cookies(r, v, n, 1, out);
    if (name_is(name, nlen, "authorization") ||
        name_is(name, nlen, "proxy-authorization")) {
        size_t k = 0;
        while (k < n && v[k] != ' ')
            k++;
        size_t c = k;
        while (c < n && v[c] == ' ')
            c++;
        if (k > 0 && c < n) { /* "Scheme credentials" */
            if (rp_buf_append(out, v, c) < 0)
                return RP_ENOMEM;
            return put_marker(r, v + c, n - c, out);
        }
    }
    return put_marker(r, v, n, out);
}

int cap_redact_has_marker(const char *v, size_t n)
{
    for (size_t i = 0; i + 10 <= n; i++)
        if (v[i] == '[' && memcmp(v + i, "[redacted ", 10) == 0)
            return 1;
    return 0;
}
