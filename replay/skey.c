/*
 * skey.c: --session-key, sessions that are users rather than connections.
 * One pass over the capture gives each connection the first key value its
 * requests carried (the client address, a cookie's value or a header's:
 * with redaction on that is the marker, equal for equal values within the
 * capture), and each key value the first connection that carried it; the
 * session of a connection is that first connection. A browser's six
 * connections, and the connection that logged in before the cookie
 * existed, thus become one session, whose requests the feeder hands out in
 * capture order like any session's.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "replay/replay_int.h"

struct kent {                  /* key value -> session */
    char *key;
    int64_t sess;
};
struct cent {                  /* connection -> session */
    int64_t conn, sess;        /* conn 0: empty */
};

struct rp_skey {
    struct kent *k;
    size_t kcap, kn;
    struct cent *c;
    size_t ccap, cn;
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static uint64_t hstr(const char *s)
{
    uint64_t x = 1469598103934665603ull;
    for (; *s; s++)
        x = (x ^ (unsigned char)*s) * 1099511628211ull;
    return mix(x);
}

static struct cent *cslot(struct rp_skey *k, int64_t conn)
{
    size_t i = mix((uint64_t)conn) & (k->ccap - 1);
    while (k->c[i].conn && k->c[i].conn != conn)
        i = (i + 1) & (k->ccap - 1);
    return &k->c[i];
}

static struct kent *kslot(struct rp_skey *k, const char *key)
{
    size_t i = hstr(key) & (k->kcap - 1);
    while (k->k[i].key && strcmp(k->k[i].key, key))
        i = (i + 1) & (k->kcap - 1);
    return &k->k[i];
}

static int cgrow(struct rp_skey *k)
{
    struct cent *old = k->c;
    size_t ocap = k->ccap;
    k->ccap = ocap ? ocap * 2 : 1024;
    if (!(k->c = calloc(k->ccap, sizeof *k->c))) {
        k->c = old;
        k->ccap = ocap;
        return RP_ENOMEM;
    }
    for (size_t i = 0; i < ocap; i++)
        if (old[i].conn)
            *cslot(k, old[i].conn) = old[i];
    free(old);
    return 0;
}

static int kgrow(struct rp_skey *k)
{
    struct kent *old = k->k;
    size_t ocap = k->kcap;
    k->kcap = ocap ? ocap * 2 : 1024;
    if (!(k->k = calloc(k->kcap, sizeof *k->k))) {
        k->k = old;
        k->kcap = ocap;
        return RP_ENOMEM;
    }
    for (size_t i = 0; i < ocap; i++)
        if (old[i].key)
            *kslot(k, old[i].key) = old[i];
    free(old);
    return 0;
}

/* The value of header name (case-insensitive) in hdrs[0..n), or NULL. */
static const char *header(const char *h, size_t n, const char *name,
                          size_t *vlen)
{
    size_t nl = strlen(name);
    for (size_t i = 0; h && i < n;) {
        size_t e = i;
        while (e < n && h[e] != '\n')
            e++;
        size_t z = e > i && h[e - 1] == '\r' ? e - 1 : e;
        if (z - i > nl && h[i + nl] == ':' && !strncasecmp(h + i, name, nl)) {
            size_t v = i + nl + 1;
            while (v < z && (h[v] == ' ' || h[v] == '\t'))
                v++;
            while (z > v && (h[z - 1] == ' ' || h[z - 1] == '\t'))
                z--;
            *vlen = z - v;
            return h + v;
        }
        i = e + 1;
    }
    return NULL;
}

/* The key of one exchange into out (NUL-terminated); 0 when it has none. */
static int key_of(struct rp_ctx *c, const struct corpus_exchange *ex,
                  char *out, size_t cap)
{
    const struct rp_opts *o = c->o;
    size_t vl = 0;
    const char *v;
    if (o->skey_kind == RP_SKEY_HEADER) {
        v = header(ex->req.headers, ex->req.headers_len, o->skey_name, &vl);
    } else {
        v = header(ex->req.headers, ex->req.headers_len, "cookie", &vl);
        size_t nl = strlen(o->skey_name);
        const char *end = v ? v + vl : NULL;
        const char *found = NULL;
        while (v && v < end) {
            while (v < end && (*v == ' ' || *v == ';'))
                v++;
            const char *semi = memchr(v, ';', (size_t)(end - v));
            const char *pe = semi ? semi : end;
            if ((size_t)(pe - v) > nl && v[nl] == '=' &&
                !memcmp(v, o->skey_name, nl)) {
                found = v + nl + 1;
                vl = (size_t)(pe - found);
                break;
            }
            v = pe;
        }
        v = found;
    }
    if (!v || !vl || vl >= cap)
        return 0;
    memcpy(out, v, vl);
    out[vl] = '\0';
    return 1;
}

int replay_skey_build(struct rp_ctx *c, int64_t capture_id, char *err)
{
    struct rp_skey *k = calloc(1, sizeof *k);
    struct corpus_ex_cursor *cur = NULL;
    struct corpus_exchange ex;
    char key[4096];
    int rc;
    if (!k || cgrow(k) || kgrow(k)) {
        replay_skey_free(k);
        return rp_fail(err, RP_ENOMEM, "out of memory");
    }
    c->skey = k;
    if ((rc = corpus_ex_open(c->rd, capture_id, &cur, err)))
        return rc;
    while ((rc = corpus_ex_next(cur, &ex, err)) == 1) {
        if (ex.conn_id <= 0)
            continue;
        if ((k->cn + 1) * 2 > k->ccap && cgrow(k))
            goto oom;
        struct cent *ce = cslot(k, ex.conn_id);
        if (ce->conn && ce->sess)
            continue; /* keyed already: its first key decides */
        int have;
        if (c->o->skey_kind == RP_SKEY_CLIENT) {
            if ((rc = corpus_conn_client(c->rd, ex.conn_id, key, err)))
                break;
            have = key[0] != '\0';
        } else {
            have = key_of(c, &ex, key, sizeof key);
        }
        if (!ce->conn) {
            ce->conn = ex.conn_id;
            k->cn++;
        }
        if (!have)
            continue;
        if ((k->kn + 1) * 2 > k->kcap && kgrow(k))
            goto oom;
        struct kent *ke = kslot(k, key);
        if (!ke->key) {
            if (!(ke->key = strdup(key)))
                goto oom;
            ke->sess = ex.conn_id;
            k->kn++;
        }
        cslot(k, ex.conn_id)->sess = ke->sess;
    }
    corpus_ex_close(cur);
    return rc < 0 ? rc : 0;
oom:
    corpus_ex_close(cur);
    return rp_fail(err, RP_ENOMEM, "out of memory grouping sessions");
}

int64_t replay_skey_sess(const struct rp_ctx *c, int64_t conn_id)
{
    struct rp_skey *k = c->skey;
    if (!k || conn_id <= 0)
        return conn_id;
    struct cent *ce = cslot(k, conn_id);
    return ce->conn && ce->sess ? ce->sess : conn_id;
}

void replay_skey_free(struct rp_skey *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->kcap; i++)
        free(k->k[i].key);
    free(k->k);
    free(k->c);
    free(k);
}
