/*
 * tcp_flow.c: flow table and reassembly (see tcp_flow.h). Flows live in a
 * chained hash table keyed by a symmetric 4-tuple hash and on an LRU list
 * ordered by last activity, so idle expiry and memory eviction look only at
 * the list head: no per-packet scans. Each direction ("half") keeps the next
 * expected sequence number and a sorted, non-overlapping list of buffered
 * out-of-order segments; the in-order fast path hands payload to the HTTP
 * layer without copying.
 */
#include "capture/tcp_flow.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define INITIAL_BUCKETS 1024u
#define DEFAULT_MAX_OOO (4u << 20)
#define PREDIR_LIMIT (256u << 10) /* bytes buffered before the direction is
                                     known; then the lower port is server */
#define TOMBSTONE_US 5000000LL    /* a flow closed by FIN/RST swallows stray
                                     segments this long (packet time) */

/* Serial-number arithmetic (RFC 1982) on 32-bit sequence numbers. */
static int32_t seq_diff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }
static int seq_lt(uint32_t a, uint32_t b) { return seq_diff(a, b) < 0; }
static int seq_leq(uint32_t a, uint32_t b) { return seq_diff(a, b) <= 0; }
static int seq_gt(uint32_t a, uint32_t b) { return seq_diff(a, b) > 0; }

struct seg {
    struct seg *next;
    uint32_t seq, len;
    int64_t ts_us;
    uint8_t data[];
};

struct half {                /* the bytes one side sends */
    struct seg *ooo;         /* buffered, sorted by seq, no overlaps */
    struct seg *ooo_tail;    /* last of them: in-order arrivals append */
    uint64_t ooo_bytes;
    uint32_t next;           /* next sequence number to deliver */
    uint32_t isn;            /* from the SYN, when syn_seen */
    uint32_t fin_seq;        /* sequence number of the FIN */
    unsigned started : 1;    /* next is meaningful */
    unsigned has_data : 1;   /* some payload was seen */
    unsigned from_ack : 1;   /* next came from the peer's ACK (no SYN) */
    unsigned delivered : 1;  /* some payload was handed on */
    unsigned syn_seen : 1;
    unsigned fin_seen : 1;
    unsigned fin_done : 1;   /* fin delivered (or nothing to deliver to) */
};

struct flow {
    struct flow *hnext;          /* hash chain */
    struct flow *lprev, *lnext;  /* LRU list, head = least recently active */
    uint64_t hash;
    uint8_t family;
    uint8_t addr[2][16];         /* side 0 = source of the first packet */
    uint16_t port[2];
    int client;                  /* side index of the client, -1 unknown */
    int saw_syn;
    int opened;                  /* ops->open was called */
    int dead;                    /* closed by FIN/RST: a tombstone on the
                                    tombs list until it expires or a SYN
                                    reuses the 4-tuple */
    void *conn;
    int64_t first_us, last_us;
    struct half h[2];
};

struct flow_list {
    struct flow *head, *tail;    /* head = oldest */
};

struct tcp_table {
    struct tcp_opts opts;
    const struct cap_stream_ops *ops;
    void *ctx;
    struct flow **buckets;
    uint64_t mask;               /* buckets - 1 */
    uint64_t seed;               /* bucket hash seed */
    struct flow_list lru;        /* live flows by last activity */
    struct flow_list tombs;      /* dead flows by time of death */
    struct flow *free_flows;     /* recycled flow structs */
    uint64_t free_count;
    struct flow *current;        /* flow being processed (not evicted) */
    int64_t last_ts_us;
    struct tcp_stats st;
};

/* ---- hashing ----------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t endpoint_hash(const uint8_t addr[16], uint16_t port)
{
    uint64_t a, b;
    memcpy(&a, addr, 8);
    memcpy(&b, addr + 8, 8);
    return mix64(a * 0x9e3779b97f4a7c15ULL ^ mix64(b ^ port));
}

uint64_t tcp_tuple_hash(const struct cap_segment *s)
{
    uint64_t x = endpoint_hash(s->src, s->sport);
    uint64_t y = endpoint_hash(s->dst, s->dport);
    uint64_t lo = x < y ? x : y, hi = x < y ? y : x;
    return mix64(lo ^ (hi * 0x9e3779b97f4a7c15ULL) ^ s->family);
}

/* ---- LRU list and table membership -------------------------------------- */

static void list_unlink(struct flow_list *l, struct flow *f)
{
    if (f->lprev)
        f->lprev->lnext = f->lnext;
    else
        l->head = f->lnext;
    if (f->lnext)
        f->lnext->lprev = f->lprev;
    else
        l->tail = f->lprev;
    f->lprev = f->lnext = NULL;
}

static void list_append(struct flow_list *l, struct flow *f)
{
    f->lprev = l->tail;
    f->lnext = NULL;
    if (l->tail)
        l->tail->lnext = f;
    else
        l->head = f;
    l->tail = f;
}

static uint64_t bucket_of(const struct tcp_table *t, uint64_t hash)
{
    return mix64(hash ^ t->seed) & t->mask;
}

static void grow(struct tcp_table *t)
{
    uint64_t n = (t->mask + 1) * 2;
    struct flow **nb = calloc(n, sizeof *nb);
    if (!nb)
        return; /* keep the longer chains */
    uint64_t old_n = t->mask + 1;
    t->mask = n - 1;
    for (uint64_t i = 0; i < old_n; i++) {
        struct flow *f = t->buckets[i];
        while (f) {
            struct flow *nx = f->hnext;
            uint64_t b = bucket_of(t, f->hash);
            f->hnext = nb[b];
            nb[b] = f;
            f = nx;
        }
    }
    free(t->buckets);
    t->buckets = nb;
}

static void mem_add(struct tcp_table *t, uint64_t n)
{
    t->st.mem_bytes += n;
    if (t->st.mem_bytes > t->st.mem_peak_bytes)
        t->st.mem_peak_bytes = t->st.mem_bytes;
}

/* Finds the flow of seg; *side is 0 when seg goes from side 0 to side 1. */
static struct flow *lookup(struct tcp_table *t, const struct cap_segment *s,
                           uint64_t hash, int *side)
{
    for (struct flow *f = t->buckets[bucket_of(t, hash)]; f; f = f->hnext) {
        if (f->hash != hash || f->family != s->family)
            continue;
        if (f->port[0] == s->sport && f->port[1] == s->dport &&
            !memcmp(f->addr[0], s->src, 16) && !memcmp(f->addr[1], s->dst, 16)) {
            *side = 0;
            return f;
        }
        if (f->port[1] == s->sport && f->port[0] == s->dport &&
            !memcmp(f->addr[1], s->src, 16) && !memcmp(f->addr[0], s->dst, 16)) {
            *side = 1;
            return f;
        }
    }
    return NULL;
}

/* ---- delivery to the HTTP layer ----------------------------------------- */

static enum cap_dir dir_of(const struct flow *f, int side)
{
    return side == f->client ? CAP_DIR_C2S : CAP_DIR_S2C;
}

static void ensure_open(struct tcp_table *t, struct flow *f)
{
    if (f->opened)
        return;
    struct cap_conn_info ci;
    memset(&ci, 0, sizeof ci);
    int c = f->client, s = 1 - f->client;
    int af = f->family == 6 ? AF_INET6 : AF_INET;
    inet_ntop(af, f->addr[c], ci.client_addr, sizeof ci.client_addr);
    inet_ntop(af, f->addr[s], ci.server_addr, sizeof ci.server_addr);
    ci.client_port = f->port[c];
    ci.server_port = f->port[s];
    ci.first_us = f->first_us;
    ci.saw_syn = f->saw_syn;
    f->conn = t->ops->open(t->ctx, &ci);
    f->opened = 1;
    t->st.flows++;
}

static void deliver(struct tcp_table *t, struct flow *f, int side,
                    const uint8_t *p, uint32_t n, int64_t ts_us)
{
    if (n == 0)
        return;
    f->h[side].delivered = 1;
    ensure_open(t, f);
    t->ops->data(t->ctx, f->conn, dir_of(f, side), p, n, ts_us);
}

static void report_gap(struct tcp_table *t, struct flow *f, int side,
                       uint32_t lost, int64_t ts_us)
{
    ensure_open(t, f);
    t->st.gaps++;
    t->st.gap_bytes += lost;
    if (t->ops->gap)
        t->ops->gap(t->ctx, f->conn, dir_of(f, side), lost, ts_us);
}

static void free_seg(struct tcp_table *t, struct half *h, struct seg *s)
{
    h->ooo_bytes -= s->len;
    t->st.mem_bytes -= sizeof *s + s->len;
    free(s);
}

static void try_fin(struct tcp_table *t, struct flow *f, int side,
                    int64_t ts_us)
{
    struct half *h = &f->h[side];
    if (!h->fin_seen || h->fin_done || h->ooo ||
        seq_lt(h->next, h->fin_seq) || f->client < 0)
        return;
    h->fin_done = 1;
    if (f->opened && t->ops->fin)
        t->ops->fin(t->ctx, f->conn, dir_of(f, side), ts_us);
}

/* A FIN ends the half at fin_seq: buffered bytes at or past it (sent
 * "after" the FIN, which TCP never does: junk or a forgery) are dropped by
 * the rule half_data applies to bytes arriving after the FIN. */
static void drop_past_fin(struct tcp_table *t, struct half *h)
{
    struct seg **pp = &h->ooo;
    h->ooo_tail = NULL;
    while (*pp) {
        struct seg *s = *pp;
        if (!seq_lt(s->seq, h->fin_seq)) {
            *pp = s->next;
            free_seg(t, h, s);
            continue;
        }
        if (seq_gt(s->seq + s->len, h->fin_seq)) {
            uint32_t cut = s->seq + s->len - h->fin_seq;
            s->len -= cut; /* the allocation stays; the accounting follows */
            h->ooo_bytes -= cut;
            t->st.mem_bytes -= cut;
        }
        h->ooo_tail = s;
        pp = &s->next;
    }
}

/* Delivers buffered segments that are now contiguous with next. */
static void drain(struct tcp_table *t, struct flow *f, int side, int64_t ts_us)
{
    struct half *h = &f->h[side];
    if (f->client < 0)
        return;
    while (h->ooo && seq_leq(h->ooo->seq, h->next)) {
        struct seg *s = h->ooo;
        h->ooo = s->next;
        if (!h->ooo)
            h->ooo_tail = NULL;
        uint32_t skip = h->next - s->seq;
        if (skip < s->len) {
            deliver(t, f, side, s->data + skip, s->len - skip, s->ts_us);
            h->next = s->seq + s->len;
        }
        free_seg(t, h, s);
    }
    try_fin(t, f, side, ts_us);
}

/* Declares the bytes before the first buffered segment (or before upto,
 * when that is earlier; or before the FIN when nothing is buffered) lost,
 * reports the gap and delivers what follows. */
static void skip_hole(struct tcp_table *t, struct flow *f, int side,
                      const uint32_t *upto, int64_t ts_us)
{
    struct half *h = &f->h[side];
    uint32_t target;
    if (h->ooo)
        target = h->ooo->seq;
    else if (h->fin_seen)
        target = h->fin_seq;
    else
        return;
    if (upto && seq_lt(*upto, target))
        target = *upto;
    if (seq_gt(target, h->next)) {
        /* A half picked up mid-stream starts where the peer's ACK said;
         * ACKs lag (delayed ACK), so bytes before its first segment were
         * sent before the capture began: not a loss. */
        if (!(h->from_ack && !h->delivered))
            report_gap(t, f, side, target - h->next, ts_us);
        h->next = target;
    }
    drain(t, f, side, ts_us);
}

/* Picks the server by port number when nothing better is known. */
static void guess_direction(struct flow *f)
{
    if (f->client >= 0)
        return;
    f->client = f->port[0] < f->port[1] ? 1 : 0;
}

/* Delivers everything buffered in both directions, holes as gaps. */
static void flush_flow(struct tcp_table *t, struct flow *f, int64_t ts_us)
{
    guess_direction(f);
    for (int side = 0; side < 2; side++) {
        struct half *h = &f->h[side];
        drain(t, f, side, ts_us);
        while (h->ooo)
            skip_hole(t, f, side, NULL, ts_us);
        if (h->fin_seen && !h->fin_done)
            skip_hole(t, f, side, NULL, ts_us);
    }
}

static void flow_remove(struct tcp_table *t, struct flow *f)
{
    struct flow **pp = &t->buckets[bucket_of(t, f->hash)];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    list_unlink(f->dead ? &t->tombs : &t->lru, f);
    if (!f->dead)
        t->st.active--;
    t->st.mem_bytes -= sizeof *f;
    f->hnext = t->free_flows;
    t->free_flows = f;
    t->free_count++;
}

static void free_segs(struct tcp_table *t, struct flow *f)
{
    for (int side = 0; side < 2; side++)
        while (f->h[side].ooo) {
            struct seg *s = f->h[side].ooo;
            f->h[side].ooo = s->next;
            free_seg(t, &f->h[side], s);
        }
    f->h[0].ooo_tail = f->h[1].ooo_tail = NULL;
}

/* Ends a live flow: buffered data is delivered, the HTTP layer is told.
 * A flow closed by FIN or RST stays as a tombstone, so that segments still
 * in flight (late retransmissions, data racing a reset) are not taken for
 * a new connection picked up mid-stream. */
static void close_flow(struct tcp_table *t, struct flow *f,
                       enum cap_close_reason why, int64_t ts_us)
{
    flush_flow(t, f, ts_us);
    if (why == CAP_CLOSE_TIMEOUT && (f->h[0].fin_seen || f->h[1].fin_seen))
        why = CAP_CLOSE_FIN;
    if (f->opened)
        t->ops->close(t->ctx, f->conn, why, ts_us);
    free_segs(t, f);
    if (why == CAP_CLOSE_FIN || why == CAP_CLOSE_RST) {
        list_unlink(&t->lru, f);
        t->st.active--;
        f->dead = 1;
        f->last_us = ts_us;
        list_append(&t->tombs, f);
        return;
    }
    flow_remove(t, f);
}

static void expire_tombs(struct tcp_table *t, int64_t now_us, int all)
{
    while (t->tombs.head &&
           (all || t->tombs.head->last_us + TOMBSTONE_US < now_us))
        flow_remove(t, t->tombs.head);
}

/* ---- buffering and the memory cap --------------------------------------- */

/* Buffers [seq, seq+len) of side, skipping bytes already buffered. */
static void buffer_data(struct tcp_table *t, struct half *h, uint32_t seq,
                        const uint8_t *p, uint32_t len, int64_t ts_us)
{
    struct seg **pp = &h->ooo;
    if (h->ooo_tail && seq_leq(h->ooo_tail->seq + h->ooo_tail->len, seq))
        pp = &h->ooo_tail->next; /* the common case: after the last one */
    while (len > 0) {
        while (*pp && seq_leq((*pp)->seq + (*pp)->len, seq))
            pp = &(*pp)->next;
        struct seg *s = *pp;
        if (s && seq_leq(s->seq, seq)) { /* s already holds seq */
            uint32_t have = s->seq + s->len - seq;
            if (have >= len)
                return;
            seq += have;
            p += have;
            len -= have;
            pp = &s->next;
            continue;
        }
        uint32_t piece = len;
        if (s && seq_lt(s->seq, seq + len))
            piece = s->seq - seq;
        struct seg *n = malloc(sizeof *n + piece);
        if (!n)
            return; /* the hole is reported later */
        n->seq = seq;
        n->len = piece;
        n->ts_us = ts_us;
        memcpy(n->data, p, piece);
        n->next = s;
        *pp = n;
        if (!s)
            h->ooo_tail = n;
        pp = &n->next;
        h->ooo_bytes += piece;
        mem_add(t, sizeof *n + piece);
        seq += piece;
        p += piece;
        len -= piece;
    }
}

/* Bytes held for all flows: ours plus the stream layer's. */
static uint64_t mem_total(const struct tcp_table *t)
{
    uint64_t upper = t->ops->memory_bytes ? t->ops->memory_bytes(t->ctx) : 0;
    return t->st.mem_bytes + upper;
}

static void enforce_memory(struct tcp_table *t, int64_t ts_us)
{
    if (!t->opts.max_memory_bytes)
        return;
    while (mem_total(t) > t->opts.max_memory_bytes && t->tombs.head)
        flow_remove(t, t->tombs.head);
    while (mem_total(t) > t->opts.max_memory_bytes) {
        struct flow *v = t->lru.head;
        if (v == t->current)
            v = v->lnext;
        if (!v) {
            /* only the current flow is left: give up its holes instead */
            if (t->current)
                flush_flow(t, t->current, ts_us);
            return;
        }
        t->st.evictions++;
        close_flow(t, v, CAP_CLOSE_EVICTED, ts_us);
    }
}

/* ---- per-segment processing ---------------------------------------------- */

static int is_server_port(const struct tcp_table *t, uint16_t port)
{
    for (int i = 0; i < t->opts.nserver_ports; i++)
        if (t->opts.server_ports[i] == port)
            return 1;
    return 0;
}

static struct flow *flow_new(struct tcp_table *t, const struct cap_segment *s,
                             uint64_t hash, int64_t ts_us)
{
    struct flow *f = t->free_flows;
    if (f) {
        t->free_flows = f->hnext;
        t->free_count--;
    } else if (!(f = malloc(sizeof *f))) {
        return NULL;
    }
    memset(f, 0, sizeof *f);
    f->hash = hash;
    f->family = s->family;
    memcpy(f->addr[0], s->src, 16);
    memcpy(f->addr[1], s->dst, 16);
    f->port[0] = s->sport;
    f->port[1] = s->dport;
    f->client = -1;
    if (t->opts.nserver_ports) {
        int d = is_server_port(t, s->dport), o = is_server_port(t, s->sport);
        if (d && !o)
            f->client = 0;
        else if (o && !d)
            f->client = 1;
    }
    f->first_us = f->last_us = ts_us;
    uint64_t b = bucket_of(t, hash);
    f->hnext = t->buckets[b];
    t->buckets[b] = f;
    list_append(&t->lru, f);
    t->st.active++;
    mem_add(t, sizeof *f);
    if (t->st.active > t->mask + 1)
        grow(t);
    return f;
}

static int sampled_out(const struct tcp_table *t, uint64_t hash)
{
    double r = t->opts.sample_ratio;
    if (r <= 0 || r >= 1)
        return 0;
    return (double)(hash >> 11) * (1.0 / 9007199254740992.0) >= r;
}

/* Decides the direction from a payload's first bytes, if it can. */
static void sniff(struct tcp_table *t, struct flow *f, int side,
                  const uint8_t *p, uint32_t n)
{
    if (t->opts.looks_like_request && t->opts.looks_like_request(p, n))
        f->client = side;
    else if (t->opts.looks_like_response && t->opts.looks_like_response(p, n))
        f->client = 1 - side;
    else if (!t->opts.looks_like_request && !t->opts.looks_like_response)
        guess_direction(f);
}

static void half_data(struct tcp_table *t, struct flow *f, int side,
                      uint32_t seq, const uint8_t *p, uint32_t len,
                      int64_t ts_us)
{
    struct half *h = &f->h[side];
    /* Once the fin was delivered the half is over: no byte of it is data
     * or a hole any more. Comparing seq with fin_seq below is not enough
     * then, since next may lie far from fin_seq (a FIN behind delivered
     * bytes, or a hole skipped past it), and serial comparisons against
     * two points 2^31 apart can contradict each other: a segment "after
     * next" yet "before the FIN" would be buffered, then reported as a gap
     * and data after the fin. */
    if (h->fin_done)
        return;
    if (h->fin_seen) { /* nothing follows a FIN */
        if (!seq_lt(seq, h->fin_seq))
            return;
        if (seq_gt(seq + len, h->fin_seq))
            len = h->fin_seq - seq;
    }
    int32_t off = seq_diff(seq, h->next);
    if (off < 0) { /* retransmission or overlap with delivered bytes */
        if (len <= (uint32_t)-(int64_t)off)
            return;
        p += (uint32_t)-(int64_t)off;
        len -= (uint32_t)-(int64_t)off;
        seq = h->next;
        off = 0;
    }
    if (f->client < 0) {
        sniff(t, f, side, p, len);
        if (f->client >= 0) { /* release what waited for the direction */
            drain(t, f, 1 - side, ts_us);
            drain(t, f, side, ts_us);
            half_data(t, f, side, seq, p, len, ts_us);
            return;
        }
    }
    if (off == 0 && f->client >= 0) {
        deliver(t, f, side, p, len, ts_us);
        h->next = seq + len;
        if (h->ooo)
            drain(t, f, side, ts_us);
        return;
    }
    buffer_data(t, h, seq, p, len, ts_us);
    if (f->client < 0) {
        if (f->h[0].ooo_bytes + f->h[1].ooo_bytes > PREDIR_LIMIT) {
            guess_direction(f);
            drain(t, f, 0, ts_us);
            drain(t, f, 1, ts_us);
        }
        return;
    }
    uint64_t max_ooo = t->opts.max_ooo_bytes ? t->opts.max_ooo_bytes
                                             : DEFAULT_MAX_OOO;
    while (h->ooo && h->ooo_bytes > max_ooo)
        skip_hole(t, f, side, NULL, ts_us);
}

static void expire_head(struct tcp_table *t, int64_t now_us)
{
    expire_tombs(t, now_us, 0);
    if (t->opts.flow_timeout_us <= 0)
        return;
    while (t->lru.head &&
           t->lru.head->last_us + t->opts.flow_timeout_us < now_us) {
        t->st.timeouts++;
        close_flow(t, t->lru.head, CAP_CLOSE_TIMEOUT, now_us);
    }
}

/* A SYN on a tracked flow that is not a retransmission of its SYN means
 * the 4-tuple was reused by a new connection. */
static int is_new_connection(const struct flow *f, int side,
                             const struct cap_segment *s)
{
    const struct half *h = &f->h[side];
    if (!(s->flags & CAP_TCP_SYN))
        return 0;
    if (h->syn_seen)
        return s->seq != h->isn;
    if (s->flags & CAP_TCP_ACK)
        return 0; /* SYN-ACK answering a SYN we track */
    return h->has_data || f->h[1 - side].has_data || h->fin_seen ||
           f->h[1 - side].fin_seen;
}

void tcp_table_segment(struct tcp_table *t, const struct cap_segment *s,
                       int64_t ts_us)
{
    t->last_ts_us = ts_us;
    expire_head(t, ts_us);
    uint64_t hash = tcp_tuple_hash(s);
    int side = 0;
    struct flow *f = lookup(t, s, hash, &side);
    if (f && f->dead) {
        if ((s->flags & (CAP_TCP_SYN | CAP_TCP_ACK)) != CAP_TCP_SYN)
            return; /* a straggler of the closed connection */
        flow_remove(t, f); /* the 4-tuple is reused */
        f = NULL;
    }
    if (f && is_new_connection(f, side, s)) {
        enum cap_close_reason why = f->h[0].fin_seen || f->h[1].fin_seen
                                        ? CAP_CLOSE_FIN : CAP_CLOSE_END;
        close_flow(t, f, why, ts_us);
        if (why == CAP_CLOSE_FIN)
            flow_remove(t, f); /* no tombstone: the tuple lives on */
        f = NULL;
    }
    if (!f) {
        if (s->flags & CAP_TCP_RST)
            return;
        if (!(s->flags & CAP_TCP_SYN) && s->len == 0)
            return; /* a bare ACK or FIN of a flow we do not track */
        if (t->opts.nserver_ports && !is_server_port(t, s->dport) &&
            !is_server_port(t, s->sport))
            return;
        if (sampled_out(t, hash)) {
            t->st.sampled_out++;
            return;
        }
        if (!(f = flow_new(t, s, hash, ts_us)))
            return;
        side = 0;
    } else {
        f->last_us = ts_us;
        list_unlink(&t->lru, f);
        list_append(&t->lru, f);
    }
    t->current = f;

    struct half *h = &f->h[side], *o = &f->h[1 - side];
    uint32_t seq = s->seq;
    if (s->flags & CAP_TCP_SYN) {
        if (!h->syn_seen) {
            h->syn_seen = 1;
            h->isn = seq;
            /* The SYN may only place the start of a half that has no
             * position of its own yet (none, or one taken from the peer's
             * ACK). Once bytes or a FIN were seen, next is what has been
             * delivered: moving it back would hand out bytes again, or
             * after the FIN (half_data trims only at or past fin_seq). */
            if (!h->has_data && !h->fin_seen) {
                h->next = seq + 1;
                h->started = 1;
                h->from_ack = 0;
            }
            f->saw_syn = 1;
            if (f->client < 0)
                f->client = (s->flags & CAP_TCP_ACK) ? 1 - side : side;
        }
        seq++; /* the SYN takes one sequence number */
    }
    if ((s->flags & CAP_TCP_ACK) && !o->started && !o->has_data) {
        o->next = s->ack; /* the peer's stream continues at ack */
        o->started = 1;
        o->from_ack = 1;
    } else if ((s->flags & CAP_TCP_ACK) && o->ooo && f->client >= 0 &&
               seq_gt(s->ack, o->next)) {
        /* the peer received bytes the capture never saw */
        skip_hole(t, f, 1 - side, &s->ack, ts_us);
    }
    if (s->len > 0) {
        if (!h->started) {
            h->next = seq;
            h->started = 1;
        }
        h->has_data = 1;
        half_data(t, f, side, seq, s->payload, s->len, ts_us);
    }
    if ((s->flags & CAP_TCP_FIN) && !h->fin_seen) {
        if (!h->started) {
            h->next = seq;
            h->started = 1;
        }
        if (f->client < 0) { /* no more bytes to sniff from this side */
            guess_direction(f);
            drain(t, f, side, ts_us);
            drain(t, f, 1 - side, ts_us);
        }
        h->fin_seen = 1;
        h->fin_seq = seq + s->wire_len;
        drop_past_fin(t, h);
        try_fin(t, f, side, ts_us);
    }
    if (s->flags & CAP_TCP_RST) {
        t->current = NULL;
        close_flow(t, f, CAP_CLOSE_RST, ts_us);
        return;
    }
    if (h->fin_done && o->fin_done) {
        t->current = NULL;
        close_flow(t, f, CAP_CLOSE_FIN, ts_us);
        return;
    }
    enforce_memory(t, ts_us);
    t->current = NULL;
}

/* ---- lifecycle ----------------------------------------------------------- */

struct tcp_table *tcp_table_new(const struct tcp_opts *opts,
                                const struct cap_stream_ops *ops, void *ctx)
{
    struct tcp_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->opts = *opts;
    t->ops = ops;
    t->ctx = ctx;
    t->mask = INITIAL_BUCKETS - 1;
    t->buckets = calloc(INITIAL_BUCKETS, sizeof *t->buckets);
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    if (getrandom(&t->seed, sizeof t->seed, GRND_NONBLOCK) != sizeof t->seed)
        t->seed = (uint64_t)(uintptr_t)t ^ 0x5bd1e995u;
    return t;
}

void tcp_table_expire(struct tcp_table *t, int64_t now_us)
{
    expire_head(t, now_us);
}

void tcp_table_close_all(struct tcp_table *t, enum cap_close_reason why,
                         int64_t ts_us)
{
    while (t->lru.head)
        close_flow(t, t->lru.head, why, ts_us);
    expire_tombs(t, ts_us, 1);
}

void tcp_table_stats(const struct tcp_table *t, struct tcp_stats *out)
{
    *out = t->st;
}

void tcp_table_free(struct tcp_table *t)
{
    if (!t)
        return;
    tcp_table_close_all(t, CAP_CLOSE_END, t->last_ts_us);
    while (t->free_flows) {
        struct flow *f = t->free_flows;
        t->free_flows = f->hnext;
        free(f);
    }
    free(t->buckets);
    free(t);
}
