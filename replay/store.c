/*
 * store.c: which responses `--store-bodies sample` keeps for a field-level
 * diff (analyze): every response of the first RP_STORE_SAMPLE exchanges of
 * each endpoint (in their first two loops and copies, so a run's own variation is
 * visible), and any response whose body differs from the captured one
 * (decided by the core when the response is in, core.c want_store). The
 * endpoint is named as analyze names it (proto/endpoint.c, the automatic
 * rules); the feeder asks once per exchange it builds, and an exchange
 * sampled once stays sampled in every later pass.
 */
#include "replay/replay_int.h"

#include <stdlib.h>
#include <string.h>

#include "proto/endpoint.h"

struct slot64 {
    uint64_t key;   /* 0: empty */
    uint32_t n;
};

struct replay_sampler {
    struct http_templater *tmpl;
    struct slot64 *ep;      /* endpoint hash -> exchanges sampled */
    size_t nep, capep;
    struct slot64 *ex;      /* exchange id + 1 -> 1 when sampled */
    size_t nex, capex;
};

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

static uint64_t endpoint_hash(const struct http_templater *t,
                              const char *method, const char *target)
{
    char name[512];
    http_endpoint(t, method, target, name, sizeof name);
    uint64_t h = 1469598103934665603ull;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return mix(h);
}

/* The slot of key in t (cap a power of two), growing it at half full. */
static struct slot64 *find(struct slot64 **t, size_t *n, size_t *cap,
                           uint64_t key)
{
    if (2 * (*n + 1) > *cap) {
        size_t nc = *cap ? 2 * *cap : 256;
        struct slot64 *g = calloc(nc, sizeof *g);
        if (!g)
            return NULL;
        for (size_t i = 0; i < *cap; i++)
            if ((*t)[i].key) {
                size_t k = (*t)[i].key & (nc - 1);
                while (g[k].key)
                    k = (k + 1) & (nc - 1);
                g[k] = (*t)[i];
            }
        free(*t);
        *t = g;
        *cap = nc;
    }
    size_t k = key & (*cap - 1);
    while ((*t)[k].key && (*t)[k].key != key)
        k = (k + 1) & (*cap - 1);
    if (!(*t)[k].key) {
        (*t)[k].key = key;
        (*n)++;
    }
    return &(*t)[k];
}

int replay_store_sampled(struct rp_ctx *c, const struct corpus_exchange *ex)
{
    if (c->o->store_bodies != RP_STORE_SAMPLE_MODE)
        return 0;
    struct replay_sampler *s = c->sampler;
    if (!s) {
        if (!(s = c->sampler = calloc(1, sizeof *s)))
            return 0;
        s->tmpl = http_templater_new(0);
    }
    if (!s->tmpl)
        return 0;
    struct slot64 *x = find(&s->ex, &s->nex, &s->capex,
                            mix((uint64_t)ex->id + 1));
    if (!x)
        return 0;
    if (x->n)
        return x->n == 2;
    struct slot64 *e = find(&s->ep, &s->nep, &s->capep,
                            endpoint_hash(s->tmpl, ex->method, ex->target));
    int yes = e && e->n < RP_STORE_SAMPLE;
    if (yes)
        e->n++;
    x->n = yes ? 2 : 1; /* decided: 2 sampled, 1 not */
    return yes;
}

void replay_store_free(struct rp_ctx *c)
{
    struct replay_sampler *s = c->sampler;
    if (!s)
        return;
    http_templater_free(s->tmpl);
    free(s->ep);
    free(s->ex);
    free(s);
    c->sampler = NULL;
}
