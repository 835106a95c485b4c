/*
 * learn.c: correlation learning at capture (learn.h). Values handed out by
 * responses sit in an open-addressing table keyed by their marker; each
 * request's values are looked up there and a match becomes a link. Links
 * wait in memory until the capture ends (capped), because their rows refer
 * to exchange ids that the asynchronous writer hands out, and a link is
 * only worth storing once both of its ends are.
 */
#include "capture/learn.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stddef.h>

#include "common/rp.h"
#include "proto/values.h"

#define MIN_VALUE 4            /* shorter values are never linked */
#define MIN_WORDLIKE 12        /* shorter values need a digit */
#define MIN_SECRET 8           /* secrets replaced in bodies from this size */
#define TABLE_MAX (1u << 20)   /* handed-out values kept */
#define LINKS_MAX 2000000      /* links kept until the capture ends */
#define KIND_MAX 12

struct outv {                  /* a value a response handed out */
    char mk[CAP_REDACT_MARKER_MAX];
    int64_t ex_id;
    char loc[PROTO_LOC_MAX];
    char kind[KIND_MAX];
    int secret;
};

struct link {
    int64_t ex_id, src_id;
    char loc[PROTO_LOC_MAX];
    char src_loc[PROTO_LOC_MAX]; /* "" when generated */
    char kind[KIND_MAX];
    char mk[CAP_REDACT_MARKER_MAX];
};

struct secret {                /* a clear secret to replace in a body */
    char *v;
    size_t n;
    char mk[CAP_REDACT_MARKER_MAX];
};

/* Response bodies seen recently, by content: an API answers the same
 * small JSON many times, and parsing it again costs more than the rest of
 * the exchange. A slot keeps the body's values and its stored form. */
#define MEMO_SLOTS 16
#define MEMO_BODY_MAX 512
struct memo {
    uint64_t h;                /* FNV-1a of the body and its type */
    size_t n;                  /* body length; 0: empty slot */
    uint8_t body[MEMO_BODY_MAX];
    struct outv *v;            /* its values, malloc'd */
    size_t nv;
    uint8_t *stored;           /* its redacted form, or NULL: as it is */
    size_t nstored;
};

struct cap_learn {
    struct cap_redact *hasher;
    int own_hasher, redact_bodies;
    struct outv **tab;         /* open addressing, cap a power of two */
    size_t cap, n;
    struct outv *pending;      /* the scanned response's values */
    size_t npend, cpend;
    struct link *links;
    size_t nlinks, clinks;
    size_t first_new;          /* links of the scanned request start here */
    uint64_t dropped;
    struct secret *sec;        /* secrets of the exchange being scanned */
    size_t nsec, csec;
    struct rp_buf req_body, resp_body, req_hdrs, target; /* redacted copies */
    struct memo *memo;         /* MEMO_SLOTS */
};

struct cap_learn *cap_learn_new(struct cap_redact *hasher, int redact_bodies)
{
    struct cap_learn *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->hasher = hasher;
    if (!hasher) {
        l->hasher = cap_redact_new(0, NULL, NULL);
        l->own_hasher = 1;
    }
    l->redact_bodies = redact_bodies;
    l->cap = 1024;
    l->tab = calloc(l->cap, sizeof *l->tab);
    l->memo = calloc(MEMO_SLOTS, sizeof *l->memo);
    rp_buf_init(&l->req_body, 0);
    rp_buf_init(&l->resp_body, 0);
    rp_buf_init(&l->req_hdrs, 0);
    rp_buf_init(&l->target, 0);
    if (!l->hasher || !l->tab || !l->memo) {
        cap_learn_free(l);
        return NULL;
    }
    return l;
}

static void clear_secrets(struct cap_learn *l)
{
    for (size_t i = 0; i < l->nsec; i++) {
        OPENSSL_cleanse(l->sec[i].v, l->sec[i].n);
        free(l->sec[i].v);
    }
    l->nsec = 0;
}

void cap_learn_free(struct cap_learn *l)
{
    if (!l)
        return;
    for (size_t i = 0; l->tab && i < l->cap; i++)
        free(l->tab[i]);
    free(l->tab);
    free(l->pending);
    free(l->links);
    for (size_t i = 0; l->memo && i < MEMO_SLOTS; i++) {
        OPENSSL_cleanse(&l->memo[i], offsetof(struct memo, v));
        free(l->memo[i].v);
        if (l->memo[i].stored)
            OPENSSL_cleanse(l->memo[i].stored, l->memo[i].nstored);
        free(l->memo[i].stored);
    }
    free(l->memo);
    clear_secrets(l);
    free(l->sec);
    struct rp_buf *bufs[] = {&l->req_body, &l->resp_body, &l->req_hdrs,
                             &l->target};
    for (size_t i = 0; i < 4; i++) {
        if (bufs[i]->data)
            OPENSSL_cleanse(bufs[i]->data, bufs[i]->len);
        rp_buf_cleanup(bufs[i]);
    }
    if (l->own_hasher)
        cap_redact_free(l->hasher);
    free(l);
}

static uint64_t hash_str(const char *s)
{
    uint64_t x = 1469598103934665603ull;
    for (; *s; s++)
        x = (x ^ (unsigned char)*s) * 1099511628211ull;
    return x ^ (x >> 31);
}

static struct outv **slot(struct cap_learn *l, const char *mk)
{
    size_t i = hash_str(mk) & (l->cap - 1);
    while (l->tab[i] && strcmp(l->tab[i]->mk, mk))
        i = (i + 1) & (l->cap - 1);
    return &l->tab[i];
}

static int grow(struct cap_learn *l)
{
    size_t ncap = l->cap * 2;
    struct outv **nt = calloc(ncap, sizeof *nt), **old = l->tab;
    size_t ocap = l->cap;
    if (!nt)
        return RP_ENOMEM;
    l->tab = nt;
    l->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i])
            *slot(l, old[i]->mk) = old[i];
    free(old);
    return 0;
}

/* The marker of v: itself when it is one (stored redacted), else made. */
static void marker_of(struct cap_learn *l, const char *v, size_t n, char *mk)
{
    if (cap_redact_is_marker(v, n) && n < CAP_REDACT_MARKER_MAX) {
        memcpy(mk, v, n);
        mk[n] = '\0';
        return;
    }
    cap_redact_marker(l->hasher, v, n, mk);
}

static int has_word(const char *s, const char *const *words)
{
    char low[PROTO_LOC_MAX];
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof low; i++)
        low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] | 0x20 : s[i]);
    low[i] = '\0';
    for (int k = 0; words[k]; k++)
        if (strstr(low, words[k]))
            return 1;
    return 0;
}

/* What a handed-out value is, from its location's name. */
static const char *out_kind(const char *loc, int is_num)
{
    static const char *const csrf[] = {"csrf", "xsrf", NULL};
    static const char *const tok[] = {"token", "secret", "session", "jwt",
                                      "auth", "key", "sid", NULL};
    static const char *const cur[] = {"cursor", "next", "page", NULL};
    if (!strncmp(loc, "set-cookie:", 11))
        return "cookie";
    const char *name = strrchr(loc, ':');
    const char *dot = strrchr(loc, '.');
    if (dot && dot > name)
        name = dot;
    name = name ? name + 1 : loc;
    if (has_word(name, csrf))
        return "csrf";
    if (has_word(name, tok))
        return "token";
    if (has_word(name, cur))
        return "cursor";
    if (!strncmp(loc, "hidden:", 7))
        return "form";
    return is_num || !strncmp(loc, "location:", 9) ? "id" : "value";
}

static int is_secret_kind(const char *k)
{
    return !strcmp(k, "cookie") || !strcmp(k, "csrf") || !strcmp(k, "token");
}

static int add_secret(struct cap_learn *l, const char *v, size_t n,
                      const char *mk)
{
    if (!l->redact_bodies || n < MIN_SECRET || cap_redact_is_marker(v, n))
        return 0;
    for (size_t i = 0; i < l->nsec; i++)
        if (l->sec[i].n == n && !memcmp(l->sec[i].v, v, n))
            return 0;
    if (l->nsec == l->csec) {
        size_t nc = l->csec ? l->csec * 2 : 8;
        struct secret *ns = realloc(l->sec, nc * sizeof *ns);
        if (!ns)
            return RP_ENOMEM;
        l->sec = ns;
        l->csec = nc;
    }
    struct secret *s = &l->sec[l->nsec];
    if (!(s->v = malloc(n)))
        return RP_ENOMEM;
    memcpy(s->v, v, n);
    s->n = n;
    snprintf(s->mk, sizeof s->mk, "%s", mk);
    l->nsec++;
    return 0;
}

/* Values worth linking: 4 bytes or more, and with a digit unless 12 or
 * more (ids, tokens, cursors and markers, not words like "orders"). */
static int linkable(const char *v, size_t n)
{
    if (n < MIN_VALUE)
        return 0;
    if (n >= MIN_WORDLIKE)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (v[i] >= '0' && v[i] <= '9')
            return 1;
    return 0;
}

static int in_cb(void *arg, const char *loc, const char *v, size_t n,
                 int is_num)
{
    struct cap_learn *l = arg;
    (void)is_num;
    if (!linkable(v, n))
        return 0;
    int uuid = proto_is_uuid(v, n);
    if (!l->n && !uuid)
        return 0;
    char mk[CAP_REDACT_MARKER_MAX];
    marker_of(l, v, n, mk);
    struct outv *o = l->n ? *slot(l, mk) : NULL;
    if (!o && !uuid)
        return 0;
    if (l->nlinks >= LINKS_MAX) {
        l->dropped++;
        return 0;
    }
    if (l->nlinks == l->clinks) {
        size_t nc = l->clinks ? l->clinks * 2 : 256;
        struct link *nl = realloc(l->links, nc * sizeof *nl);
        if (!nl)
            return RP_ENOMEM;
        l->links = nl;
        l->clinks = nc;
    }
    struct link *k = &l->links[l->nlinks++];
    memset(k, 0, sizeof *k);
    snprintf(k->loc, sizeof k->loc, "%s", loc);
    snprintf(k->mk, sizeof k->mk, "%s", mk);
    if (o) {
        k->src_id = o->ex_id;
        snprintf(k->src_loc, sizeof k->src_loc, "%s", o->loc);
        const char *kind = !strncmp(loc, "cookie:", 7)       ? "cookie"
                           : !strcmp(loc, "auth:bearer")     ? "bearer"
                                                             : o->kind;
        snprintf(k->kind, sizeof k->kind, "%s", kind);
        if (o->secret)
            return add_secret(l, v, n, mk);
    } else {
        snprintf(k->kind, sizeof k->kind, "generated");
    }
    return 0;
}

static int out_cb(void *arg, const char *loc, const char *v, size_t n,
                  int is_num)
{
    struct cap_learn *l = arg;
    if (!linkable(v, n))
        return 0;
    if (l->npend == l->cpend) {
        size_t nc = l->cpend ? l->cpend * 2 : 16;
        struct outv *np = realloc(l->pending, nc * sizeof *np);
        if (!np)
            return RP_ENOMEM;
        l->pending = np;
        l->cpend = nc;
    }
    struct outv *o = &l->pending[l->npend++];
    memset(o, 0, sizeof *o);
    marker_of(l, v, n, o->mk);
    snprintf(o->loc, sizeof o->loc, "%s", loc);
    snprintf(o->kind, sizeof o->kind, "%s", out_kind(loc, is_num));
    o->secret = is_secret_kind(o->kind);
    return o->secret ? add_secret(l, v, n, o->mk) : 0;
}

static int append_marker(struct rp_buf *out, const char *mk, int escape)
{
    for (const char *p = mk; *p; p++) {
        int r = escape && (*p == '[' || *p == ']' || *p == ' ' || *p == '=')
                    ? rp_buf_printf(out, "%%%02X", (unsigned char)*p)
                    : rp_buf_append(out, p, 1);
        if (r < 0)
            return RP_ENOMEM;
    }
    return 0;
}

/* b[0..n) with every secret replaced by its marker (percent-encoded with
 * escape: a target), into out; 1 when something was replaced. */
static int replace_secrets(struct cap_learn *l, const uint8_t *b, size_t n,
                           struct rp_buf *out, int escape)
{
    int any = 0;
    if (out->data)
        OPENSSL_cleanse(out->data, out->len);
    out->len = 0;
    size_t i = 0, done = 0;
    while (i < n) {
        size_t hit = 0;
        for (size_t s = 0; s < l->nsec && !hit; s++)
            if (l->sec[s].n <= n - i && b[i] == (uint8_t)l->sec[s].v[0] &&
                !memcmp(b + i, l->sec[s].v, l->sec[s].n))
                hit = s + 1;
        if (!hit) {
            i++;
            continue;
        }
        struct secret *s = &l->sec[hit - 1];
        if (rp_buf_append(out, b + done, i - done) < 0 ||
            append_marker(out, s->mk, escape) < 0)
            return RP_ENOMEM;
        i += s->n;
        done = i;
        any = 1;
    }
    if (any && rp_buf_append(out, b + done, n - done) < 0)
        return RP_ENOMEM;
    return any;
}

static int redact_body(struct cap_learn *l, struct corpus_msg *m,
                       struct rp_buf *own)
{
    if (!m->body || !m->body_len || !l->nsec)
        return 0;
    int r = replace_secrets(l, m->body, m->body_len, own, 0);
    if (r <= 0)
        return r;
    m->body_size = m->body_size + own->len - m->body_len;
    m->body = (const uint8_t *)own->data;
    m->body_len = own->len;
    return 0;
}

static uint64_t fnv(uint64_t x, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        x = (x ^ b[i]) * 1099511628211ull;
    return x;
}

/* The body's values from the memo, or walked, redacted and remembered.
 * *done = 1 when m->body is final (the caller does not redact it). */
static int memo_body(struct cap_learn *l, struct corpus_msg *m,
                     const char *hdrs, size_t hlen, int *done)
{
    size_t ct = 0;
    const char *p = hdrs;
    for (size_t i = 0; hdrs && i + 13 <= hlen; i++) /* its type counts */
        if ((hdrs[i] == 'C' || hdrs[i] == 'c') &&
            !strncasecmp(hdrs + i, "content-type:", 13)) {
            p = hdrs + i;
            while (i < hlen && hdrs[i] != '\n')
                i++;
            ct = (size_t)(hdrs + i - p);
            break;
        }
    uint64_t h = fnv(fnv(1469598103934665603ull, p, ct), m->body, m->body_len);
    struct memo *s = &l->memo[(h ^ (h >> 32)) & (MEMO_SLOTS - 1)];
    if (s->n == m->body_len && s->h == h && !memcmp(s->body, m->body, s->n)) {
        for (size_t i = 0; i < s->nv; i++) {
            if (l->npend == l->cpend) {
                size_t nc = l->cpend ? l->cpend * 2 : 16;
                struct outv *np = realloc(l->pending, nc * sizeof *np);
                if (!np)
                    return RP_ENOMEM;
                l->pending = np;
                l->cpend = nc;
            }
            l->pending[l->npend++] = s->v[i];
        }
        if (s->stored) {
            m->body_size = m->body_size + s->nstored - m->body_len;
            m->body = s->stored;
            m->body_len = s->nstored;
        }
        *done = 1;
        return 0;
    }
    size_t first = l->npend;
    int r = proto_values_response_body(hdrs, hlen, m->body, m->body_len,
                                       out_cb, l);
    if (r)
        return r;
    /* remember it: its values, and its stored form */
    struct outv *v = NULL;
    uint8_t *stored = NULL;
    size_t nv = l->npend - first, nstored = 0;
    if (nv && !(v = malloc(nv * sizeof *v)))
        return RP_ENOMEM;
    if (nv)
        memcpy(v, l->pending + first, nv * sizeof *v);
    if (l->nsec) {
        int k = replace_secrets(l, m->body, m->body_len, &l->resp_body, 0);
        if (k < 0) {
            free(v);
            return k;
        }
        if (k > 0 && (stored = malloc(l->resp_body.len))) {
            memcpy(stored, l->resp_body.data, l->resp_body.len);
            nstored = l->resp_body.len;
        } else if (k > 0) {
            free(v);
            return RP_ENOMEM;
        }
    }
    free(s->v);
    if (s->stored)
        OPENSSL_cleanse(s->stored, s->nstored);
    free(s->stored);
    s->h = h;
    s->n = m->body_len;
    memcpy(s->body, m->body, m->body_len);
    s->v = v;
    s->nv = nv;
    s->stored = stored;
    s->nstored = nstored;
    if (stored) {
        m->body_size = m->body_size + nstored - m->body_len;
        m->body = stored;
        m->body_len = nstored;
    }
    *done = 1;
    return 0;
}

int cap_learn_scan(struct cap_learn *l, struct corpus_exchange *ex)
{
    int r = 0;
    clear_secrets(l);
    l->npend = 0;
    l->first_new = l->nlinks;
    r = proto_values_request(ex->target, ex->req.headers, ex->req.headers_len,
                             ex->req.body, ex->req.body_len, in_cb, l);
    int memo_done = 0;
    if (!r && ex->status > 0) {
        r = proto_values_response_headers(ex->resp.headers,
                                          ex->resp.headers_len, out_cb, l);
        /* a body seen recently, with no secret from elsewhere to replace
         * in it: its values and stored form as they were */
        if (!r && !l->nsec && ex->resp.body_len &&
            ex->resp.body_len <= MEMO_BODY_MAX)
            r = memo_body(l, &ex->resp, ex->resp.headers,
                          ex->resp.headers_len, &memo_done);
        else if (!r)
            r = proto_values_response_body(ex->resp.headers,
                                           ex->resp.headers_len, ex->resp.body,
                                           ex->resp.body_len, out_cb, l);
    }
    if (!r && l->nsec && ex->req.headers_len) {
        r = replace_secrets(l, (const uint8_t *)ex->req.headers,
                            ex->req.headers_len, &l->req_hdrs, 0);
        if (r > 0) {
            ex->req.headers = l->req_hdrs.data;
            ex->req.headers_len = l->req_hdrs.len;
        }
    }
    if (r >= 0 && l->nsec && ex->target) {
        r = replace_secrets(l, (const uint8_t *)ex->target,
                            strlen(ex->target), &l->target, 1);
        if (r > 0 && rp_buf_append(&l->target, "", 1) < 0)
            r = RP_ENOMEM;
        if (r > 0)
            ex->target = l->target.data;
    }
    if (r >= 0)
        r = redact_body(l, &ex->req, &l->req_body);
    if (!r && !memo_done)
        r = redact_body(l, &ex->resp, &l->resp_body);
    clear_secrets(l);
    return r < 0 ? r : 0;
}

void cap_learn_commit(struct cap_learn *l, int64_t ex_id)
{
    for (size_t i = l->first_new; i < l->nlinks; i++)
        l->links[i].ex_id = ex_id;
    l->first_new = l->nlinks;
    for (size_t i = 0; i < l->npend; i++) {
        struct outv *o = &l->pending[i];
        o->ex_id = ex_id;
        if ((l->n + 1) * 2 > l->cap && (l->n >= TABLE_MAX || grow(l))) {
            l->dropped++;
            continue;
        }
        struct outv **s = slot(l, o->mk);
        if (!*s) {
            if (!(*s = malloc(sizeof **s))) {
                l->dropped++;
                continue;
            }
            l->n++;
        }
        **s = *o; /* the latest response that handed it out */
    }
    l->npend = 0;
}

size_t cap_learn_count(const struct cap_learn *l, uint64_t *dropped)
{
    if (dropped)
        *dropped = l->dropped;
    return l->nlinks;
}

int cap_learn_write(struct cap_learn *l, struct corpus *c, char *err)
{
    size_t n = 0;
    for (size_t i = 0; i < l->nlinks; i++)
        n += l->links[i].ex_id > 0;
    if (!n)
        return 0;
    struct corpus_link *cl = calloc(n, sizeof *cl);
    if (!cl)
        return rp_fail(err, RP_ENOMEM, "out of memory storing correlations");
    size_t k = 0;
    for (size_t i = 0; i < l->nlinks; i++) {
        struct link *x = &l->links[i];
        if (x->ex_id <= 0)
            continue;
        cl[k].exchange_id = x->ex_id;
        cl[k].location = x->loc;
        cl[k].kind = x->kind;
        cl[k].source_exchange_id = x->src_id;
        cl[k].source_location = x->src_loc[0] ? x->src_loc : NULL;
        cl[k].value_hash = x->mk;
        k++;
    }
    int r = corpus_add_links(c, cl, k, err);
    free(cl);
    return r;
}
