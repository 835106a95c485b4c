/*
 * pipe.c: the plumbing between replay's threads: prepared-request reference
 * counts, the due-time heap each engine (and the feeder's reorder stage)
 * keeps, and the bounded result queue engines push into and the recorder
 * drains.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replay/replay_int.h"

void replay_rq_ref(struct rp_rq *rq)
{
    atomic_fetch_add_explicit(&rq->refs, 1, memory_order_relaxed);
}

void replay_rq_unref(struct rp_rq *rq)
{
    if (!rq || atomic_fetch_sub_explicit(&rq->refs, 1,
                                         memory_order_acq_rel) != 1)
        return;
    if (rq->prep_free)
        rq->prep_free(rq->prep);
    free(rq->method);
    free(rq->target);
    free(rq->head);
    free(rq->body);
    free(rq->cap_hdrs);
    free(rq->version);
    free(rq);
}

/* ---- heap ----------------------------------------------------------------*/

static int job_less(const struct rp_job *a, const struct rp_job *b)
{
    return a->due_us < b->due_us || (a->due_us == b->due_us && a->seq < b->seq);
}

int replay_heap_push(struct rp_heap *h, const struct rp_job *j)
{
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 256;
        struct rp_job *nv = realloc(h->v, nc * sizeof *nv);
        if (!nv)
            return RP_ENOMEM;
        h->v = nv;
        h->cap = nc;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!job_less(j, &h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = *j;
    return 0;
}

int replay_heap_pop(struct rp_heap *h, struct rp_job *out)
{
    if (!h->n)
        return 0;
    *out = h->v[0];
    struct rp_job last = h->v[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct rp_job *best = &last;
        if (l < n && job_less(&h->v[l], best)) {
            m = l;
            best = &h->v[l];
        }
        if (r < n && job_less(&h->v[r], best))
            m = r;
        if (m == i)
            break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (n)
        h->v[i] = last;
    return 1;
}

const struct rp_job *replay_heap_top(const struct rp_heap *h)
{
    return h->n ? &h->v[0] : NULL;
}

void replay_heap_free(struct rp_heap *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

/* ---- queues ------------------------------------------------------------ */

int replay_spsc_init(struct rp_spsc *q, size_t cap_pow2, size_t elem)
{
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    q->cap = cap_pow2;
    q->elem = elem;
    q->v = calloc(cap_pow2, elem);
    return q->v ? 0 : RP_ENOMEM;
}

void replay_spsc_free(struct rp_spsc *q)
{
    free(q->v);
    q->v = NULL;
}

int replay_spsc_push(struct rp_spsc *q, const void *e)
{
    size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    size_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    if (t - h >= q->cap)
        return 1;
    memcpy(q->v + (t & (q->cap - 1)) * q->elem, e, q->elem);
    atomic_store_explicit(&q->tail, t + 1, memory_order_release);
    return 0;
}

int replay_spsc_pop(struct rp_spsc *q, void *out)
{
    size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
    if (h == t)
        return 0;
    memcpy(out, q->v + (h & (q->cap - 1)) * q->elem, q->elem);
    atomic_store_explicit(&q->head, h + 1, memory_order_release);
    return 1;
}

size_t replay_spsc_len(struct rp_spsc *q)
{
    size_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
    size_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    return t - h;
}

int replay_resq_init(struct rp_resq *q, int nproducers, size_t cap_pow2)
{
    q->q = calloc((size_t)nproducers, sizeof *q->q);
    if (!q->q)
        return RP_ENOMEM;
    q->nq = nproducers;
    atomic_init(&q->producers, nproducers);
    for (int i = 0; i < nproducers; i++)
        if (replay_spsc_init(&q->q[i], cap_pow2, sizeof(struct rp_res)))
            return RP_ENOMEM;
    return 0;
}

void replay_resq_cleanup(struct rp_resq *q)
{
    struct rp_res r;
    for (int i = 0; q->q && i < q->nq; i++) {
        while (q->q[i].v && replay_spsc_pop(&q->q[i], &r)) {
            free(r.error);
            free(r.resp);
        }
        replay_spsc_free(&q->q[i]);
    }
    free(q->q);
    q->q = NULL;
}

void replay_resq_push(struct rp_resq *q, int p, const struct rp_res *r)
{
    struct timespec ts = {0, 100000};
    while (replay_spsc_push(&q->q[p], r))
        nanosleep(&ts, NULL); /* the recorder is behind: back-pressure */
}

void replay_resq_producer_done(struct rp_resq *q)
{
    atomic_fetch_sub(&q->producers, 1);
}

