/*
 * sess.c: the sessions of one engine (--sessions): a hash table keyed by
 * captured connection, copy and loop, the list of idle sessions oldest
 * first (so the core ends those idle too long, or the oldest one when a new
 * session needs its connection), and each session's FIFO of due jobs that
 * wait for it. Pure bookkeeping: what a session may send and when is the
 * core's decision (core.c), what holds its connection the transport's.
 */
#include <stdlib.h>
#include <string.h>

#include "replay/replay_int.h"

static size_t sess_hash(int64_t conn, int copy, int loop)
{
    uint64_t x = (uint64_t)conn * 0x9E3779B97F4A7C15ull ^
                 (uint64_t)copy * 0xC2B2AE3D27D4EB4Full ^ (uint64_t)loop;
    return (size_t)(x ^ (x >> 29));
}

static struct rp_sess **slot_of(struct rp_sess_table *t, int64_t conn,
                                int copy, int loop)
{
    struct rp_sess **pp = &t->tab[sess_hash(conn, copy, loop) &
                                  (t->cap - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->conn_id == conn && (*pp)->copy == copy &&
            (*pp)->loop == loop)
            return pp;
    return pp;
}

struct rp_sess *replay_sess_find(struct rp_sess_table *t, int64_t conn,
                                 int copy, int loop)
{
    return t->cap ? *slot_of(t, conn, copy, loop) : NULL;
}

struct rp_sess *replay_sess_add(struct rp_sess_table *t, int64_t conn,
                                int copy, int loop)
{
    if (t->n * 2 >= t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 1024;
        struct rp_sess **nt = calloc(nc, sizeof *nt);
        if (!nt)
            return NULL;
        for (size_t i = 0; i < t->cap; i++) {
            struct rp_sess *s = t->tab[i], *next;
            for (; s; s = next) {
                next = s->next;
                size_t b = sess_hash(s->conn_id, s->copy, s->loop) & (nc - 1);
                s->next = nt[b];
                nt[b] = s;
            }
        }
        free(t->tab);
        t->tab = nt;
        t->cap = nc;
    }
    struct rp_sess *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->conn_id = conn;
    s->copy = copy;
    s->loop = loop;
    size_t b = sess_hash(conn, copy, loop) & (t->cap - 1);
    s->next = t->tab[b];
    t->tab[b] = s;
    t->n++;
    return s;
}

void replay_sess_idle_unlink(struct rp_sess_table *t, struct rp_sess *s)
{
    if (!s->idle)
        return;
    if (s->idle_prev)
        s->idle_prev->idle_next = s->idle_next;
    else
        t->idle_head = s->idle_next;
    if (s->idle_next)
        s->idle_next->idle_prev = s->idle_prev;
    else
        t->idle_tail = s->idle_prev;
    s->idle_prev = s->idle_next = NULL;
    s->idle = 0;
}

void replay_sess_idle_append(struct rp_sess_table *t, struct rp_sess *s,
                             int64_t until_us)
{
    replay_sess_idle_unlink(t, s);
    s->idle = 1;
    s->idle_until_us = until_us;
    s->idle_next = NULL;
    s->idle_prev = t->idle_tail;
    if (t->idle_tail)
        t->idle_tail->idle_next = s;
    else
        t->idle_head = s;
    t->idle_tail = s;
}

void replay_sess_remove(struct rp_sess_table *t, struct rp_sess *s)
{
    struct rp_sess **pp = slot_of(t, s->conn_id, s->copy, s->loop);
    if (*pp == s)
        *pp = s->next;
    t->n--;
    replay_sess_idle_unlink(t, s);
    free(s->wait);
    free(s);
}

int replay_sess_wait_push(struct rp_sess *s, const struct rp_job *j)
{
    if (s->wn == s->wcap) {
        size_t nc = s->wcap ? s->wcap * 2 : 4;
        struct rp_job *v = malloc(nc * sizeof *v);
        if (!v)
            return RP_ENOMEM;
        for (size_t i = 0; i < s->wn; i++)
            v[i] = s->wait[(s->whead + i) % s->wcap];
        free(s->wait);
        s->wait = v;
        s->wcap = nc;
        s->whead = 0;
    }
    s->wait[(s->whead + s->wn) % s->wcap] = *j;
    s->wn++;
    return 0;
}

int replay_sess_wait_pop(struct rp_sess *s, struct rp_job *j)
{
    if (!s->wn)
        return 0;
    *j = s->wait[s->whead];
    s->whead = (s->whead + 1) % s->wcap;
    s->wn--;
    return 1;
}

const struct rp_job *replay_sess_wait_top(const struct rp_sess *s)
{
    return s->wn ? &s->wait[s->whead] : NULL;
}

void replay_sess_table_free(struct rp_sess_table *t)
{
    struct rp_job j;
    for (size_t i = 0; i < t->cap; i++) {
        struct rp_sess *s = t->tab[i], *next;
        for (; s; s = next) {
            next = s->next;
            while (replay_sess_wait_pop(s, &j))
                replay_rq_unref(j.rq);
            free(s->wait);
            free(s);
        }
    }
    free(t->tab);
    memset(t, 0, sizeof *t);
}
