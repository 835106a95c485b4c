/*
 * corr.c: correlation at replay. Capture stored, per exchange, which values
 * its request sent back (and from which earlier response) and which values
 * its response handed out, each by its keyed hash (corpus correlations).
 * Each replayed session keeps, by that hash, the values the target answered
 * it in this replay; a request that sends one back is rebuilt for its
 * session with the target's value in its place (proto/values: header,
 * cookie, path segment, query, JSON or form field), re-shaped and prepared
 * for the transport on the engine thread. A UUID the client generated is
 * replaced by one derived from its hash, the session's copy and loop and a
 * per-run nonce: the same within a session, new in each copy and run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/values.h"
#include "replay/replay_int.h"
#include "replay/transport.h"

#define RP_CK_NAME(e, s) s,
const char *const replay_corr_kind_names[CK__COUNT] = {
    RP_CORR_KINDS(RP_CK_NAME)};
#undef RP_CK_NAME

/* ---- the capture's links ------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t hstr(const char *s)
{
    uint64_t x = 1469598103934665603ull;
    for (; *s; s++)
        x = (x ^ (unsigned char)*s) * 1099511628211ull;
    return x;
}

static struct rp_exlinks *ex_get(struct rp_links *l, int64_t ex_id, int add)
{
    size_t i = mix((uint64_t)ex_id) & (l->cap - 1);
    for (struct rp_exlinks *e = l->tab[i]; e; e = e->next)
        if (e->ex_id == ex_id)
            return e;
    if (!add)
        return NULL;
    struct rp_exlinks *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->ex_id = ex_id;
    e->next = l->tab[i];
    l->tab[i] = e;
    l->n++;
    return e;
}

static int kind_of(const char *s)
{
    for (int k = 0; k < CK__COUNT; k++)
        if (!strcmp(s, replay_corr_kind_names[k]))
            return k;
    return CK_VALUE;
}

static int load_cb(void *arg, const struct corpus_link *k)
{
    struct rp_links *l = arg;
    struct rp_exlinks *d = ex_get(l, k->exchange_id, 1);
    if (!d)
        return RP_ENOMEM;
    if (d->nin == d->cin) {
        int nc = d->cin ? d->cin * 2 : 4;
        struct rp_lin *ni = realloc(d->in, (size_t)nc * sizeof *ni);
        if (!ni)
            return RP_ENOMEM;
        d->in = ni;
        d->cin = nc;
    }
    struct rp_lin *in = &d->in[d->nin];
    in->loc = strdup(k->location);
    in->mk = strdup(k->value_hash);
    in->kind = kind_of(k->kind);
    if (!in->loc || !in->mk) {
        free(in->loc);
        free(in->mk);
        return RP_ENOMEM;
    }
    d->nin++;
    l->nlinks++;
    if (k->source_exchange_id <= 0 || !k->source_location)
        return 0;
    struct rp_exlinks *s = ex_get(l, k->source_exchange_id, 1);
    if (!s)
        return RP_ENOMEM;
    for (int i = 0; i < s->nout; i++)
        if (!strcmp(s->out[i].loc, k->source_location) &&
            !strcmp(s->out[i].mk, k->value_hash))
            return 0;
    if (s->nout == s->cout) {
        int nc = s->cout ? s->cout * 2 : 4;
        struct rp_lout *no = realloc(s->out, (size_t)nc * sizeof *no);
        if (!no)
            return RP_ENOMEM;
        s->out = no;
        s->cout = nc;
    }
    struct rp_lout *o = &s->out[s->nout];
    o->loc = strdup(k->source_location);
    o->mk = strdup(k->value_hash);
    if (!o->loc || !o->mk) {
        free(o->loc);
        free(o->mk);
        return RP_ENOMEM;
    }
    s->nout++;
    return 0;
}

int replay_links_load(struct rp_ctx *c, int64_t capture_id, char *err)
{
    struct rp_links *l = calloc(1, sizeof *l);
    if (!l)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    l->cap = 1 << 16;
    if (!(l->tab = calloc(l->cap, sizeof *l->tab))) {
        free(l);
        return rp_fail(err, RP_ENOMEM, "out of memory");
    }
    c->links = l;
    int rc = corpus_links_each(c->rd, capture_id, 0, load_cb, l, err);
    if (rc == RP_ENOMEM)
        return rp_fail(err, rc, "out of memory reading correlations");
    return rc;
}

const struct rp_exlinks *replay_links_of(const struct rp_links *l,
                                         int64_t ex_id)
{
    return l && l->n ? ex_get((struct rp_links *)l, ex_id, 0) : NULL;
}

void replay_links_free(struct rp_links *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->cap; i++)
        for (struct rp_exlinks *e = l->tab[i], *n; e; e = n) {
            n = e->next;
            for (int k = 0; k < e->nin; k++) {
                free(e->in[k].loc);
                free(e->in[k].mk);
            }
            for (int k = 0; k < e->nout; k++) {
                free(e->out[k].loc);
                free(e->out[k].mk);
            }
            free(e->in);
            free(e->out);
            free(e);
        }
    free(l->tab);
    free(l);
}

/* ---- per-session values --------------------------------------------------- */

struct cval {                  /* a value the target answered the session */
    char *mk;
    char *v;
    size_t n;
    int is_num;
    struct cval *next;
};

struct rp_corr_state {
    int64_t sess;
    int copy, loop;
    int lua_ref;               /* the script's state table, 0: none yet */
    struct cval *vals;         /* a session holds few: a list */
    struct rp_corr_state *next;
};

struct rp_corr_tab {
    struct rp_corr_state **tab;
    size_t cap, n;
};

struct rp_corr_state *replay_corr_state(struct rp_corr_tab **tp, int64_t sess,
                                        int copy, int loop)
{
    struct rp_corr_tab *t = *tp;
    if (!t) {
        if (!(t = calloc(1, sizeof *t)))
            return NULL;
        t->cap = 4096;
        if (!(t->tab = calloc(t->cap, sizeof *t->tab))) {
            free(t);
            return NULL;
        }
        *tp = t;
    }
    uint64_t h = mix(mix((uint64_t)sess) + (uint64_t)copy * 0x10001u +
                     (uint64_t)loop);
    size_t i = h & (t->cap - 1);
    for (struct rp_corr_state *s = t->tab[i]; s; s = s->next)
        if (s->sess == sess && s->copy == copy && s->loop == loop)
            return s;
    struct rp_corr_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->sess = sess;
    s->copy = copy;
    s->loop = loop;
    s->next = t->tab[i];
    t->tab[i] = s;
    t->n++;
    return s;
}

void replay_corr_tab_free(struct rp_corr_tab *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        for (struct rp_corr_state *s = t->tab[i], *n; s; s = n) {
            n = s->next;
            for (struct cval *v = s->vals, *vn; v; v = vn) {
                vn = v->next;
                free(v->mk);
                free(v->v);
                free(v);
            }
            free(s);
        }
    free(t->tab);
    free(t);
}

static const struct cval *val_get(const struct rp_corr_state *s,
                                  const char *mk)
{
    for (const struct cval *v = s->vals; v; v = v->next)
        if (!strcmp(v->mk, mk))
            return v;
    return NULL;
}

static void val_put(struct rp_corr_state *s, const char *mk, const char *v,
                    size_t n, int is_num)
{
    struct cval *x = (struct cval *)val_get(s, mk);
    char *nv = malloc(n + 1);
    if (!nv)
        return;
    memcpy(nv, v, n);
    nv[n] = '\0';
    if (!x) {
        if (!(x = calloc(1, sizeof *x)) || !(x->mk = strdup(mk))) {
            free(x);
            free(nv);
            return;
        }
        x->next = s->vals;
        s->vals = x;
    }
    free(x->v);
    x->v = nv;
    x->n = n;
    x->is_num = is_num;
}

/* The value of response header name (case-insensitive), or NULL. */
static const char *resp_header(const char *h, size_t n, const char *name,
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
            *vlen = z - v;
            return h + v;
        }
        i = e + 1;
    }
    return NULL;
}

/* --extract: the rule's value in the response into b; 1 when found. */
static int extract(const struct rp_rule *r, const struct rp_outcome *out,
                   struct rp_buf *b, int *is_num)
{
    *is_num = 0;
    b->len = 0;
    if (!strncmp(r->loc, "header:", 7)) {
        size_t n = 0;
        const char *v = resp_header(out->resp_headers, out->resp_headers_len,
                                    r->loc + 7, &n);
        return v && rp_buf_append(b, v, n) == 0;
    }
    if (!r->is_regex)
        return proto_value_get(out->resp_headers, out->resp_headers_len,
                               out->resp_body, out->resp_body_len, r->loc, b,
                               is_num) == 1;
    /* regex: over the header lines, then the body (NUL-terminated copy) */
    struct rp_buf t;
    rp_buf_init(&t, 0);
    int found = 0;
    if (rp_buf_append(&t, out->resp_headers ? out->resp_headers : "",
                      out->resp_headers_len) ||
        rp_buf_append(&t, "\r\n", 2) ||
        rp_buf_append(&t, out->resp_body ? (const char *)out->resp_body : "",
                      out->resp_body_len) ||
        rp_buf_append(&t, "", 1))
        goto done;
    regmatch_t m[2];
    if (!regexec(&r->re, t.data, 2, m, 0)) {
        int g = m[1].rm_so >= 0 ? 1 : 0;
        found = rp_buf_append(b, t.data + m[g].rm_so,
                              (size_t)(m[g].rm_eo - m[g].rm_so)) == 0;
    }
done:
    rp_buf_cleanup(&t);
    return found;
}

void replay_corr_learn(struct rp_ctx *c, struct rp_hook *hook,
                       struct rp_corr_state *s, const struct rp_rq *rq,
                       const struct rp_outcome *out)
{
    if (!s || out->status <= 0 || !out->resp_headers)
        return;
    struct rp_buf b;
    rp_buf_init(&b, 0);
    const struct rp_exlinks *lk = c->corr_on ? rq->lk : NULL;
    for (int i = 0; lk && i < lk->nout; i++) {
        int is_num = 0;
        if (proto_value_get(out->resp_headers, out->resp_headers_len,
                            out->resp_body, out->resp_body_len,
                            lk->out[i].loc, &b, &is_num) == 1)
            val_put(s, lk->out[i].mk, b.data ? b.data : "", b.len, is_num);
    }
    for (int i = 0; i < c->o->nextracts; i++) {
        int is_num = 0;
        char key[80];
        if (!extract(&c->o->extracts[i], out, &b, &is_num))
            continue;
        snprintf(key, sizeof key, "rule:%s", c->o->extracts[i].name);
        val_put(s, key, b.data ? b.data : "", b.len, is_num);
    }
    rp_buf_cleanup(&b);
    if (hook)
        replay_hook_response(hook, &s->lua_ref, out->status,
                             out->resp_headers, out->resp_headers_len,
                             out->resp_body, out->resp_body_len);
}

int replay_corr_rewrites(const struct rp_ctx *c, const struct rp_rq *rq)
{
    return (c->corr_on && rq->lk && rq->lk->nin) || c->o->ninjects ||
           c->o->script;
}

/* ---- rebuilding a request -------------------------------------------------- */

/* A version-4 UUID derived from the captured one's marker, the session's
 * copy and loop and the run's nonce. */
static void make_uuid(const struct rp_ctx *c, const char *mk, int copy,
                      int loop, char out[37])
{
    uint64_t a = mix(hstr(mk) ^ c->corr_nonce);
    a = mix(a + (uint64_t)copy * 0x100000001b3ull + (uint64_t)loop);
    uint64_t b = mix(a ^ 0xD6E8FEB86659FD93ull);
    a = (a & ~0xF000ull) | 0x4000ull;                 /* version 4 */
    b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull; /* variant */
    snprintf(out, 37, "%08llx-%04llx-%04llx-%04llx-%012llx",
             (unsigned long long)(a >> 32),
             (unsigned long long)((a >> 16) & 0xFFFF),
             (unsigned long long)(a & 0xFFFF),
             (unsigned long long)(b >> 48),
             (unsigned long long)(b & 0xFFFFFFFFFFFFull));
}

/* Drops the pairs of Cookie headers whose value is still a marker (a
 * cookie this session was never given), so the rest still goes out. */
static int strip_marker_cookies(struct rp_buf *h)
{
    struct rp_buf o;
    rp_buf_init(&o, 0);
    size_t i = 0;
    while (i < h->len) {
        size_t e = i;
        while (e < h->len && h->data[e] != '\n')
            e++;
        size_t end = e < h->len ? e + 1 : e;
        const char *ln = h->data + i;
        size_t n = end - i;
        int rc = 0;
        if (n > 7 && !strncasecmp(ln, "cookie:", 7) &&
            replay_shape_is_redacted(ln, n)) {
            size_t z = n;
            while (z && (ln[z - 1] == '\n' || ln[z - 1] == '\r'))
                z--;
            struct rp_buf keep;
            rp_buf_init(&keep, 0);
            size_t p = 7;
            while (p < z) {
                while (p < z && (ln[p] == ' ' || ln[p] == ';'))
                    p++;
                size_t q = p;
                while (q < z && ln[q] != ';')
                    q++;
                if (q > p && !replay_shape_is_redacted(ln + p, q - p))
                    rc |= (keep.len && rp_buf_append(&keep, "; ", 2)) ||
                          rp_buf_append(&keep, ln + p, q - p);
                p = q;
            }
            if (keep.len)
                rc |= rp_buf_append(&o, ln, 7) || rp_buf_append(&o, " ", 1) ||
                      rp_buf_append(&o, keep.data, keep.len) ||
                      rp_buf_append(&o, "\r\n", 2);
            rp_buf_cleanup(&keep);
        } else {
            rc = rp_buf_append(&o, ln, n);
        }
        if (rc) {
            rp_buf_cleanup(&o);
            return RP_ENOMEM;
        }
        i = end;
    }
    rp_buf_cleanup(h);
    *h = o;
    return 0;
}

/* Adds "Name: v" at the end of the header lines (an --inject header the
 * request lacks). */
static int add_header(struct rp_buf *h, const char *name, const char *v,
                      size_t n)
{
    return rp_buf_printf(h, "%s: ", name) || rp_buf_append(h, v, n) ||
                   rp_buf_append(h, "\r\n", 2)
               ? RP_ENOMEM
               : 0;
}

int replay_corr_apply(struct rp_ctx *c, struct rp_hook *hook,
                      const struct rp_rq *rq, struct rp_corr_state *s,
                      int copy, int loop, struct rp_rq **out, int *subst,
                      int *missing_out)
{
    const struct rp_exlinks *lk = c->corr_on ? rq->lk : NULL;
    struct proto_req_edit ed;
    struct rp_buf method;
    struct rp_rq *n = NULL;
    int rc = 0, done = 0, missing = 0;
    uint64_t by_kind[CK__COUNT] = {0};
    *out = NULL;
    *subst = *missing_out = 0;
    if (!s || (!(lk && lk->nin) && !c->o->ninjects && !hook)) {
        if (rq->redacted)
            atomic_fetch_add(&c->redacted_dropped, (uint64_t)rq->redacted);
        return 0;
    }
    rp_buf_init(&ed.target, 0);
    rp_buf_init(&ed.hdrs, 0);
    rp_buf_init(&ed.body, 0);
    rp_buf_init(&method, 0);
    int body_ok = !(rq->flags & (RQ_BODY_WIRE | RQ_BODY_PARTIAL));
    if (rp_buf_puts(&method, rq->method) ||
        rp_buf_append(&ed.target, rq->target, strlen(rq->target)) ||
        (rq->cap_hdrs &&
         rp_buf_append(&ed.hdrs, rq->cap_hdrs, rq->cap_hdrs_len)) ||
        (body_ok && rq->body_len &&
         rp_buf_append(&ed.body, rq->body, rq->body_len))) {
        rc = RP_ENOMEM;
        goto done;
    }
    for (int i = 0; lk && i < lk->nin; i++) {
        const struct rp_lin *in = &lk->in[i];
        if (!body_ok && (!strncmp(in->loc, "json:", 5) ||
                         !strncmp(in->loc, "form:", 5)))
            continue;
        char u[37];
        const char *v;
        size_t vn;
        int is_num = 0;
        if (in->kind == CK_GENERATED) {
            make_uuid(c, in->mk, copy, loop, u);
            v = u;
            vn = 36;
        } else {
            const struct cval *x = val_get(s, in->mk);
            if (!x) {
                missing++;
                continue;
            }
            v = x->v;
            vn = x->n;
            is_num = x->is_num;
        }
        int r = proto_value_set(&ed, in->loc, v, vn, is_num);
        if (r < 0) {
            rc = r;
            goto done;
        }
        if (r == 1) {
            done++;
            by_kind[in->kind]++;
        }
    }
    for (int i = 0; i < c->o->ninjects; i++) {
        const struct rp_rule *r = &c->o->injects[i];
        char key[80];
        snprintf(key, sizeof key, "rule:%s", r->name);
        const struct cval *x = val_get(s, key);
        if (!x)
            continue;
        if (!body_ok && !strncmp(r->loc, "json:", 5))
            continue;
        int k;
        if (!strncmp(r->loc, "header:", 7)) {
            /* header:NAME or header:NAME:TEMPLATE ("{}" is the value) */
            char loc[PROTO_LOC_MAX], val[1024];
            const char *v = x->v;
            size_t vn = x->n;
            const char *colon = strchr(r->loc + 7, ':');
            snprintf(loc, sizeof loc, "%.*s",
                     colon ? (int)(colon - r->loc) : (int)strlen(r->loc),
                     r->loc);
            if (colon) {
                const char *ph = strstr(colon + 1, "{}");
                int w = ph ? snprintf(val, sizeof val, "%.*s%.*s%s",
                                      (int)(ph - colon - 1), colon + 1,
                                      (int)x->n, x->v, ph + 2)
                           : snprintf(val, sizeof val, "%s", colon + 1);
                v = val;
                vn = w > 0 && (size_t)w < sizeof val ? (size_t)w : 0;
            }
            k = proto_value_set(&ed, loc, v, vn, 0);
            if (k == 0)
                k = add_header(&ed.hdrs, loc + 7, v, vn) ? RP_ENOMEM : 1;
        } else {
            k = proto_value_set(&ed, r->loc, x->v, x->n, x->is_num);
        }
        if (k < 0) {
            rc = k;
            goto done;
        }
        if (k == 1) {
            done++;
            by_kind[CK_RULE]++;
        }
    }
    if (replay_hook_has_request(hook)) {
        int changed = 0;
        if (!body_ok && rq->body_len &&
            rp_buf_append(&ed.body, rq->body, rq->body_len)) {
            rc = RP_ENOMEM;
            goto done;
        }
        if (replay_hook_request(hook, &s->lua_ref, &method, &ed, &changed) ==
                0 &&
            changed) {
            done++;
            by_kind[CK_SCRIPT]++;
            body_ok = 1; /* the script's body is sent as it is */
        }
    }
    *missing_out = missing;
    if (missing) {
        atomic_fetch_add(&c->corr_missing, 1);
        atomic_fetch_add(&c->corr_missing_values, (uint64_t)missing);
    }
    if (!done) { /* sent as built: its head leaves these out */
        if (rq->redacted)
            atomic_fetch_add(&c->redacted_dropped, (uint64_t)rq->redacted);
        goto done;
    }
    for (int k = 0; k < CK__COUNT; k++)
        if (by_kind[k])
            atomic_fetch_add(&c->corr_by_kind[k], by_kind[k]);
    atomic_fetch_add(&c->corr_requests, 1);
    if ((rc = strip_marker_cookies(&ed.hdrs)))
        goto done;
    if (!(n = calloc(1, sizeof *n))) {
        rc = RP_ENOMEM;
        goto done;
    }
    atomic_init(&n->refs, 1);
    n->ex_id = rq->ex_id;
    n->conn_id = rq->conn_id;
    n->t_us = rq->t_us;
    n->flags = rq->flags;
    n->cap_status = rq->cap_status;
    n->lk = rq->lk;
    if (rp_buf_append(&ed.target, "", 1)) {
        rc = RP_ENOMEM;
        goto done;
    }
    n->method = strndup(method.data ? method.data : "GET", method.len);
    n->target = ed.target.data;
    ed.target.data = NULL;
    if (body_ok) {
        n->body = (uint8_t *)ed.body.data;
        n->body_len = ed.body.len;
        ed.body.data = NULL;
    } else if (rq->body_len) {
        if ((n->body = malloc(rq->body_len)))
            memcpy(n->body, rq->body, rq->body_len);
        n->body_len = rq->body_len;
    }
    struct rp_buf head;
    int red = 0;
    rp_buf_init(&head, 0);
    if (!n->method || (rq->body_len && !n->body) ||
        replay_shape_head(c->o, n->method, n->target, rq->version, ed.hdrs.data,
                          ed.hdrs.len, &head, &red)) {
        rp_buf_cleanup(&head);
        rc = RP_ENOMEM;
        goto done;
    }
    if (red)
        atomic_fetch_add(&c->redacted_dropped, (uint64_t)red);
    n->head = head.data;
    n->head_len = head.len;
    char err[RP_ERRLEN];
    if (c->tp->prepare && (rc = c->tp->prepare(c->o, n, err)))
        goto done;
    *out = n;
    *subst = done;
    n = NULL;
done:
    replay_rq_unref(n);
    rp_buf_cleanup(&method);
    rp_buf_cleanup(&ed.target);
    rp_buf_cleanup(&ed.hdrs);
    rp_buf_cleanup(&ed.body);
    return rc;
}
