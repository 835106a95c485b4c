/*
 * pg_auth.c: the client side of PostgreSQL password authentication (see
 * pg_auth.h): the StartupMessage, cleartext and MD5 PasswordMessages, and
 * SCRAM-SHA-256 as RFC 5802 and RFC 7677 describe it, without channel
 * binding (gs2 header "n,,"), in the message layout PostgreSQL's protocol
 * documentation gives (SASLInitialResponse and SASLResponse are both 'p').
 * Each builder writes a whole message or nothing. The key derivation and
 * HMACs are libcrypto's; base64 is written out here because SCRAM needs a
 * strict decoder (EVP_DecodeBlock skips white space and hides padding).
 * Intermediate keys are wiped before returning.
 */
#include "replay/pg_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/rp.h"
#include "proto/pgwire.h"

#define SCRAM_KEY_LEN 32           /* SHA-256 output */
#define SCRAM_NONCE_RAW 18         /* random bytes: 24 base64 characters */
#define SCRAM_SALT_MAX 1024        /* bytes of a decoded salt */
#define SCRAM_ITER_MAX 10000000L   /* iterations accepted from a server */
#define SCRAM_MECH "SCRAM-SHA-256"

/* ---- message framing ---- */

/* Opens a typed message in out: the type byte and a length to patch. */
static int msg_begin(struct rp_buf *out, char type, size_t *start)
{
    static const uint8_t zero[4];
    *start = out->len;
    if (rp_buf_append(out, &type, 1) || rp_buf_append(out, zero, 4))
        return RP_ENOMEM;
    return 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int append_be32(struct rp_buf *out, uint32_t v)
{
    uint8_t b[4];
    put_be32(b, v);
    return rp_buf_append(out, b, 4);
}

/* Patches the length of the message that starts at start (len_at: where
 * its length field is). */
static void msg_end(struct rp_buf *out, size_t len_at)
{
    put_be32((uint8_t *)out->data + len_at, (uint32_t)(out->len - len_at));
}

/* Undoes a partial append. */
static int undo(struct rp_buf *out, size_t start, int rc)
{
    out->len = start;
    if (out->data)
        out->data[start] = 0;
    return rc;
}

static int append_cstr(struct rp_buf *out, const char *s)
{
    return rp_buf_append(out, s, strlen(s) + 1);
}

int replay_pgauth_startup(struct rp_buf *out, const char *user, const char *db)
{
    if (!user || !*user)
        return RP_EINPUT;
    size_t start = out->len;
    static const uint8_t zero[4];
    int rc = rp_buf_append(out, zero, 4);
    if (!rc)
        rc = append_be32(out, PG_CODE_STARTUP);
    if (!rc)
        rc = append_cstr(out, "user");
    if (!rc)
        rc = append_cstr(out, user);
    if (!rc && db && *db)
        rc = append_cstr(out, "database");
    if (!rc && db && *db)
        rc = append_cstr(out, db);
    if (!rc)
        rc = append_cstr(out, "application_name");
    if (!rc)
        rc = append_cstr(out, "reprise");
    if (!rc)
        rc = rp_buf_append(out, "", 1);
    if (rc)
        return undo(out, start, RP_ENOMEM);
    if (out->len - start > PG_MAX_STARTUP)
        return undo(out, start, RP_EINPUT);
    msg_end(out, start);
    return 0;
}

int replay_pgauth_cleartext(struct rp_buf *out, const char *password)
{
    size_t start;
    if (msg_begin(out, 'p', &start) || append_cstr(out, password))
        return undo(out, start, RP_ENOMEM);
    msg_end(out, start + 1);
    return 0;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* md5hex of a[0..an) followed by b[0..bn) into out (33 bytes). */
static int md5_hex2(const void *a, size_t an, const void *b, size_t bn,
                    char *out)
{
    uint8_t d[16];
    unsigned dl = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_md5(), NULL) &&
             EVP_DigestUpdate(c, a, an) && EVP_DigestUpdate(c, b, bn) &&
             EVP_DigestFinal_ex(c, d, &dl) && dl == 16;
    EVP_MD_CTX_free(c);
    if (!ok)
        return RP_EINTERNAL;
    hex(d, 16, out);
    return 0;
}

int replay_pgauth_md5(struct rp_buf *out, const char *user, const char *password,
                const uint8_t salt[4])
{
    char inner[33], outer[36];
    int rc = md5_hex2(password, strlen(password), user, strlen(user), inner);
    if (!rc)
        rc = md5_hex2(inner, 32, salt, 4, outer + 3);
    OPENSSL_cleanse(inner, sizeof inner);
    if (rc)
        return rc;
    memcpy(outer, "md5", 3);
    size_t start;
    if (msg_begin(out, 'p', &start) || append_cstr(out, outer))
        return undo(out, start, RP_ENOMEM);
    msg_end(out, start + 1);
    return 0;
}

/* ---- base64 (RFC 4648, with padding, strict) ---- */

static const char b64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encodes p[0..n) into out (4 * ceil(n / 3) + 1 bytes). */
static void b64_encode(const uint8_t *p, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = b64_chars[v >> 18 & 63];
        out[o++] = b64_chars[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64_chars[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64_chars[v & 63] : '=';
    }
    out[o] = 0;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64_chars, c) : NULL;
    return p ? (int)(p - b64_chars) : -1;
}

/* Decodes s[0..n) into out (cap bytes); the decoded length, or -1 when s
 * is not canonical base64 or does not fit. */
static long b64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
    if (n % 4 != 0)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + (size_t)k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad) /* "=x" */
                return -1;
            v[k] = b64_value(s[i + (size_t)k]);
            if (v[k] < 0)
                return -1;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                     (uint32_t)v[2] << 6 | (uint32_t)v[3];
        size_t bytes = 3 - (size_t)pad;
        if (cap - o < bytes)
            return -1;
        out[o++] = (uint8_t)(w >> 16);
        if (bytes > 1)
            out[o++] = (uint8_t)(w >> 8);
        if (bytes > 2)
            out[o++] = (uint8_t)w;
        /* bits that the padding says are unused must be 0 */
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
            return -1;
    }
    return (long)o;
}

/* ---- SCRAM-SHA-256 ---- */

static int hmac(const uint8_t *key, size_t klen, const void *msg, size_t n,
                uint8_t out[SCRAM_KEY_LEN])
{
    unsigned ol = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, msg, n, out, &ol) ||
        ol != SCRAM_KEY_LEN)
        return RP_EINTERNAL;
    return 0;
}

static int sha256(const uint8_t *p, size_t n, uint8_t out[SCRAM_KEY_LEN])
{
    unsigned ol = 0;
    if (!EVP_Digest(p, n, out, &ol, EVP_sha256(), NULL) ||
        ol != SCRAM_KEY_LEN)
        return RP_EINTERNAL;
    return 0;
}

/* The mechanism list: NUL-terminated names, then an empty one. 1 when it
 * names SCRAM-SHA-256, 0 when not, -1 when malformed. */
static int offers_scram(const uint8_t *p, size_t n)
{
    int found = 0;
    size_t i = 0;
    for (;;) {
        if (i >= n)
            return -1;
        const uint8_t *z = memchr(p + i, 0, n - i);
        if (!z)
            return -1;
        size_t l = (size_t)(z - (p + i));
        if (l == 0)
            return i + 1 == n ? found : -1;
        if (l == strlen(SCRAM_MECH) && memcmp(p + i, SCRAM_MECH, l) == 0)
            found = 1;
        i += l + 1;
    }
}

int replay_scram_start(struct replay_scram *s, const uint8_t *mechs, size_t len,
                   const char *nonce, struct rp_buf *out, char *err)
{
    return replay_scram_start_user(s, NULL, mechs, len, nonce, out, err);
}

int replay_scram_start_user(struct replay_scram *s, const char *user,
                            const uint8_t *mechs, size_t len,
                            const char *nonce, struct rp_buf *out, char *err)
{
    memset(s, 0, sizeof *s);
    int o = mechs ? offers_scram(mechs, len) : -1;
    if (o < 0)
        return rp_fail(err, RP_EINPUT, "AuthenticationSASL: the mechanism "
                       "list is malformed");
    if (o == 0)
        return rp_fail(err, RP_EINPUT, "the server offers no SASL mechanism "
                       "reprise supports (it needs %s)", SCRAM_MECH);
    if (nonce) {
        size_t nl = strlen(nonce);
        if (nl == 0 || nl >= sizeof s->nonce)
            return rp_fail(err, RP_EINPUT, "SCRAM nonce of %zu characters "
                           "(1 to %zu)", nl, sizeof s->nonce - 1);
        for (size_t i = 0; i < nl; i++)
            if (nonce[i] < '!' || nonce[i] > '~' || nonce[i] == ',')
                return rp_fail(err, RP_EINPUT, "SCRAM nonce with a character "
                               "that is not printable or is ','");
        memcpy(s->nonce, nonce, nl + 1);
    } else {
        uint8_t raw[SCRAM_NONCE_RAW];
        if (RAND_bytes(raw, sizeof raw) != 1)
            return rp_fail(err, RP_EINTERNAL, "no random bytes for the SCRAM "
                           "nonce");
        b64_encode(raw, sizeof raw, s->nonce);
    }
    /* client-first-message-bare: n=saslname,r=nonce (',' and '=' of the
     * name escaped) */
    size_t ul = user ? strlen(user) : 0;
    if (ul > 1024)
        return rp_fail(err, RP_EINPUT, "SCRAM user name longer than 1024");
    size_t cap = 2 + 3 * ul + 3 + strlen(s->nonce) + 1;
    char *bare = malloc(cap);
    if (!bare)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    size_t b = 0;
    bare[b++] = 'n';
    bare[b++] = '=';
    for (size_t i = 0; i < ul; i++) {
        if (user[i] == ',' || user[i] == '=') {
            memcpy(bare + b, user[i] == ',' ? "=2C" : "=3D", 3);
            b += 3;
        } else {
            bare[b++] = user[i];
        }
    }
    snprintf(bare + b, cap - b, ",r=%s", s->nonce);
    size_t bare_len = strlen(bare);

    /* SASLInitialResponse: mechanism, int32 length, client-first-message */
    size_t start;
    if (msg_begin(out, 'p', &start) || append_cstr(out, SCRAM_MECH) ||
        append_be32(out, (uint32_t)(3 + bare_len)) ||
        rp_buf_append(out, "n,,", 3) || rp_buf_append(out, bare, bare_len)) {
        free(bare);
        return undo(out, start, rp_fail(err, RP_ENOMEM, "out of memory"));
    }
    msg_end(out, start + 1);
    s->client_first_bare = bare;
    s->step = 1;
    return 0;
}

/* The value of attribute a ("r", "s", "i") at the start of p[*i..n):
 * "a=value" up to the next ',' or the end; *i moves past the ','. */
static int attr(const char *p, size_t n, size_t *i, char a, const char **v,
                size_t *vl)
{
    if (n - *i < 2 || p[*i] != a || p[*i + 1] != '=')
        return -1;
    size_t j = *i + 2;
    const char *c = memchr(p + j, ',', n - j);
    size_t end = c ? (size_t)(c - p) : n;
    *v = p + j;
    *vl = end - j;
    *i = c ? end + 1 : n;
    return 0;
}

static int scram_fail(struct replay_scram *s, char *err, int rc,
                      const char *what)
{
    s->step = 0;
    return rp_fail(err, rc, "SCRAM: %s", what);
}

int replay_scram_continue(struct replay_scram *s, const char *password,
                      const uint8_t *server_first, size_t len,
                      struct rp_buf *out, char *err)
{
    if (s->step != 1 || !s->client_first_bare)
        return scram_fail(s, err, RP_EINPUT, "server-first-message out of "
                          "turn");
    const char *p = (const char *)server_first;
    if (!p || len == 0 || memchr(p, 0, len))
        return scram_fail(s, err, RP_EINPUT, "empty server-first-message or "
                          "one holding a NUL");
    size_t i = 0, rl, sl, il;
    const char *r, *salt64, *it;
    if (len >= 2 && p[0] == 'm' && p[1] == '=')
        return scram_fail(s, err, RP_EINPUT, "the server requires an "
                          "extension reprise does not know");
    if (attr(p, len, &i, 'r', &r, &rl) || attr(p, len, &i, 's', &salt64, &sl)
        || attr(p, len, &i, 'i', &it, &il))
        return scram_fail(s, err, RP_EINPUT, "malformed server-first-message "
                          "(not r=...,s=...,i=...)");
    size_t cnl = strlen(s->nonce);
    if (rl <= cnl || memcmp(r, s->nonce, cnl) != 0)
        return scram_fail(s, err, RP_EINPUT, "the server nonce does not "
                          "extend the client nonce");
    for (size_t k = 0; k < rl; k++)
        if (r[k] < '!' || r[k] > '~')
            return scram_fail(s, err, RP_EINPUT, "server nonce with a "
                              "character that is not printable");
    long iter = 0;
    if (il == 0 || il > 8)
        return scram_fail(s, err, RP_EINPUT, "iteration count out of "
                          "1..10000000");
    for (size_t k = 0; k < il; k++) {
        if (it[k] < '0' || it[k] > '9')
            return scram_fail(s, err, RP_EINPUT, "iteration count is not a "
                              "number");
        iter = iter * 10 + (it[k] - '0');
    }
    if (iter < 1 || iter > SCRAM_ITER_MAX)
        return scram_fail(s, err, RP_EINPUT, "iteration count out of "
                          "1..10000000");
    uint8_t salt[SCRAM_SALT_MAX];
    long saltn = b64_decode(salt64, sl, salt, sizeof salt);
    if (saltn <= 0)
        return scram_fail(s, err, RP_EINPUT, "the salt is not base64 of 1 to "
                          "1024 bytes");

    /* client-final-message-without-proof and AuthMessage */
    size_t bare_len = strlen(s->client_first_bare);
    size_t wp_len = 9 + rl; /* "c=biws,r=" + nonce */
    size_t am_len = bare_len + 1 + len + 1 + wp_len;
    char *am = malloc(am_len + 1);
    if (!am)
        return scram_fail(s, err, RP_ENOMEM, "out of memory");
    memcpy(am, s->client_first_bare, bare_len);
    am[bare_len] = ',';
    memcpy(am + bare_len + 1, p, len);
    am[bare_len + 1 + len] = ',';
    char *wp = am + bare_len + 1 + len + 1;
    memcpy(wp, "c=biws,r=", 9);
    memcpy(wp + 9, r, rl);
    am[am_len] = 0;

    uint8_t salted[SCRAM_KEY_LEN] = {0}, ckey[SCRAM_KEY_LEN] = {0},
        stored[SCRAM_KEY_LEN] = {0}, csig[SCRAM_KEY_LEN] = {0},
        proof[SCRAM_KEY_LEN] = {0}, skey[SCRAM_KEY_LEN] = {0};
    int rc = 0;
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltn,
                          (int)iter, EVP_sha256(), SCRAM_KEY_LEN,
                          salted) != 1)
        rc = RP_EINTERNAL;
    if (!rc)
        rc = hmac(salted, sizeof salted, "Client Key", 10, ckey);
    if (!rc)
        rc = sha256(ckey, sizeof ckey, stored);
    if (!rc)
        rc = hmac(stored, sizeof stored, am, am_len, csig);
    if (!rc)
        rc = hmac(salted, sizeof salted, "Server Key", 10, skey);
    if (!rc)
        rc = hmac(skey, sizeof skey, am, am_len, s->server_sig);
    char proof64[4 * ((SCRAM_KEY_LEN + 2) / 3) + 1] = "";
    if (!rc) {
        for (size_t k = 0; k < SCRAM_KEY_LEN; k++)
            proof[k] = ckey[k] ^ csig[k];
        b64_encode(proof, sizeof proof, proof64);
    }
    OPENSSL_cleanse(salted, sizeof salted);
    OPENSSL_cleanse(ckey, sizeof ckey);
    OPENSSL_cleanse(stored, sizeof stored);
    OPENSSL_cleanse(csig, sizeof csig);
    OPENSSL_cleanse(skey, sizeof skey);
    OPENSSL_cleanse(proof, sizeof proof);
    if (rc) {
        free(am);
        return scram_fail(s, err, rc, "libcrypto failed computing the proof");
    }

    /* SASLResponse: the client-final-message, no terminator */
    size_t start;
    if (msg_begin(out, 'p', &start) || rp_buf_append(out, wp, wp_len) ||
        rp_buf_append(out, ",p=", 3) || rp_buf_puts(out, proof64)) {
        free(am);
        undo(out, start, 0);
        return scram_fail(s, err, RP_ENOMEM, "out of memory");
    }
    msg_end(out, start + 1);
    free(am);
    OPENSSL_cleanse(proof64, sizeof proof64);
    s->step = 2;
    return 0;
}

int replay_scram_finish(struct replay_scram *s, const uint8_t *server_final,
                    size_t len, char *err)
{
    if (s->step != 2)
        return scram_fail(s, err, RP_EINPUT, "server-final-message out of "
                          "turn");
    const char *p = (const char *)server_final;
    if (!p || memchr(p, 0, len))
        return scram_fail(s, err, RP_EINPUT, "server-final-message holding a "
                          "NUL");
    size_t i = 0, vl;
    const char *v;
    if (attr(p, len, &i, 'e', &v, &vl) == 0) {
        s->step = 0;
        return rp_fail(err, RP_EINPUT, "SCRAM: the server says %.*s",
                       (int)(vl > 200 ? 200 : vl), v);
    }
    i = 0;
    uint8_t sig[SCRAM_KEY_LEN + 3];
    if (attr(p, len, &i, 'v', &v, &vl) ||
        b64_decode(v, vl, sig, sizeof sig) != SCRAM_KEY_LEN)
        return scram_fail(s, err, RP_EINPUT, "malformed server-final-message "
                          "(not v=base64 of 32 bytes)");
    if (CRYPTO_memcmp(sig, s->server_sig, SCRAM_KEY_LEN) != 0)
        return scram_fail(s, err, RP_EINPUT, "the server signature does not "
                          "verify: the server does not know the password");
    s->step = 3;
    return 0;
}

void replay_scram_cleanup(struct replay_scram *s)
{
    if (!s)
        return;
    if (s->client_first_bare) {
        OPENSSL_cleanse(s->client_first_bare, strlen(s->client_first_bare));
        free(s->client_first_bare);
    }
    OPENSSL_cleanse(s, sizeof *s);
}
