/*
 * test_tcp_random.c: property tests for the reassembler. Random byte
 * streams in both directions are cut into random segments, sent reordered
 * within a window, with duplicates and overlapping retransmissions, from
 * random initial sequence numbers (many near 2^32). Without loss, each
 * direction must come out byte-identical with no gap. With loss (segments
 * never sent, the peer acknowledging past them), every delivered byte must
 * sit at its true stream offset: offset advances by data and by gap sizes,
 * and the bytes there must match the original.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "capture/tcp_flow.h"

#define MAXLEN 60000

static uint64_t rng_state;
static uint64_t total_gaps, total_segments;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}
static uint32_t rnd_below(uint32_t n) { return n ? rnd() % n : 0; }

struct side_check {
    const uint8_t *orig;
    size_t len;
    size_t off;          /* stream offset of the next delivered byte */
    uint64_t gaps, gap_bytes, delivered;
    int fin;
    int bad;             /* first mismatch seen */
};

struct checker {
    struct side_check d[2];   /* CAP_DIR_C2S, CAP_DIR_S2C */
    int opened, closed;
};

static void *ck_open(void *ctx, const struct cap_conn_info *ci)
{
    struct checker *c = ctx;
    (void)ci;
    c->opened++;
    return c;
}

static void ck_data(void *ctx, void *conn, enum cap_dir dir, const uint8_t *p,
                    size_t n, int64_t ts_us)
{
    struct side_check *s = &((struct checker *)ctx)->d[dir];
    (void)conn;
    (void)ts_us;
    if (s->fin || s->off + n > s->len || memcmp(s->orig + s->off, p, n))
        s->bad = 1;
    s->off += n;
    s->delivered += n;
}

static void ck_gap(void *ctx, void *conn, enum cap_dir dir, uint64_t lost,
                   int64_t ts_us)
{
    struct side_check *s = &((struct checker *)ctx)->d[dir];
    (void)conn;
    (void)ts_us;
    s->off += lost;
    s->gaps++;
    s->gap_bytes += lost;
}

static void ck_fin(void *ctx, void *conn, enum cap_dir dir, int64_t ts_us)
{
    struct side_check *s = &((struct checker *)ctx)->d[dir];
    (void)conn;
    (void)ts_us;
    if (s->fin || s->off != s->len)
        s->bad = 1;
    s->fin = 1;
}

static void ck_close(void *ctx, void *conn, enum cap_close_reason why,
                     int64_t ts_us)
{
    (void)conn;
    (void)why;
    (void)ts_us;
    ((struct checker *)ctx)->closed++;
}

static const struct cap_stream_ops ck_ops = {ck_open, ck_data, ck_gap, ck_fin,
                                             ck_close};

struct pseg {
    int from_client;
    uint32_t off, len;   /* stream offset and length */
    int fin;
};

/* One random conversation. loss_pct: share of data segments never sent. */
static void run_case(uint64_t seed, int loss_pct)
{
    rng_state = seed;
    static uint8_t data[2][MAXLEN];
    static struct pseg segs[20000];
    size_t len[2];
    uint32_t isn[2];
    for (int d = 0; d < 2; d++) {
        len[d] = 1 + rnd_below(MAXLEN - 1);
        for (size_t i = 0; i < len[d]; i++)
            data[d][i] = (uint8_t)rnd();
        isn[d] = rnd_below(4) ? rnd() : 0xffffffffu - rnd_below(70000);
    }
    /* cut both streams; the last segment of each carries the FIN */
    size_t n = 0;
    for (int d = 0; d < 2; d++) {
        for (uint32_t off = 0; off < len[d];) {
            uint32_t l = 1 + rnd_below(rnd_below(4) ? 1460 : 9000);
            if (off + l > len[d])
                l = (uint32_t)len[d] - off;
            segs[n++] = (struct pseg){d == 0, off, l, off + l == len[d]};
            off += l;
        }
    }
    /* interleave directions, then reorder within a window of 8 */
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = i - rnd_below((uint32_t)(i < 8 ? i : 8) + 1);
        struct pseg t = segs[i];
        segs[i] = segs[j];
        segs[j] = t;
    }
    struct checker ck;
    memset(&ck, 0, sizeof ck);
    ck.d[CAP_DIR_C2S].orig = data[0];
    ck.d[CAP_DIR_C2S].len = len[0];
    ck.d[CAP_DIR_S2C].orig = data[1];
    ck.d[CAP_DIR_S2C].len = len[1];
    struct tcp_opts o = {.max_ooo_bytes = 1u << 20};
    struct tcp_table *t = tcp_table_new(&o, &ck_ops, &ck);
    uint8_t cl[4] = {10, 0, 0, 1}, sv[4] = {10, 0, 0, 2};
    int64_t ts = 1000000;
    uint32_t acked[2] = {0, 0}; /* highest offset each side has "received" */

    struct cap_segment s;
    memset(&s, 0, sizeof s);
    s.family = 4;
    for (int i = 0; i < 2; i++) { /* handshake */
        memcpy(s.src, i == 0 ? cl : sv, 4);
        memcpy(s.dst, i == 0 ? sv : cl, 4);
        s.sport = i == 0 ? 40000 : 80;
        s.dport = i == 0 ? 80 : 40000;
        s.seq = isn[i];
        s.ack = isn[0] + 1;
        s.flags = i == 0 ? CAP_TCP_SYN : CAP_TCP_SYN | CAP_TCP_ACK;
        tcp_table_segment(t, &s, ts++);
    }
    for (size_t i = 0; i < n; i++) {
        struct pseg *p = &segs[i];
        int d = p->from_client ? 0 : 1;
        int lost = loss_pct && !p->fin && (int)rnd_below(100) < loss_pct;
        int copies = lost ? 0 : (rnd_below(10) == 0 ? 2 : 1);
        for (int c = 0; c < copies; c++) {
            uint32_t off = p->off, l = p->len;
            if (c == 1 && off > 0) { /* an overlapping retransmission */
                uint32_t back = 1 + rnd_below(off < 500 ? off : 500);
                off -= back;
                l += back;
            }
            memcpy(s.src, d == 0 ? cl : sv, 4);
            memcpy(s.dst, d == 0 ? sv : cl, 4);
            s.sport = d == 0 ? 40000 : 80;
            s.dport = d == 0 ? 80 : 40000;
            s.seq = isn[d] + 1 + off;
            s.ack = isn[1 - d] + 1 + acked[1 - d];
            s.flags = CAP_TCP_ACK | (p->fin && c == 0 ? CAP_TCP_FIN : 0);
            s.payload = data[d] + off;
            s.len = s.wire_len = l;
            tcp_table_segment(t, &s, ts++);
        }
        /* the receiver got it (even when the capture lost it): its ACKs
         * move on, which is how the reassembler learns of a lost hole */
        if (loss_pct && p->off + p->len > acked[d] && rnd_below(3) == 0)
            acked[d] = p->off + p->len;
    }
    tcp_table_free(t);
    total_segments += n;

    for (int d = 0; d < 2; d++) {
        total_gaps += ck.d[d].gaps;
        struct side_check *sc = &ck.d[d];
        if (sc->bad || sc->off != sc->len || !sc->fin)
            fail_msg("seed %llu loss %d dir %d: bad %d off %zu len %zu fin %d",
                     (unsigned long long)seed, loss_pct, d, sc->bad, sc->off,
                     sc->len, sc->fin);
        if (!loss_pct) {
            assert_int_equal(sc->gaps, 0);
            assert_int_equal(sc->delivered, sc->len);
        }
    }
    assert_int_equal(ck.opened, 1);
    assert_int_equal(ck.closed, 1);
}

static void test_random_no_loss(void **state)
{
    (void)state;
    total_segments = 0;
    for (uint64_t seed = 1; seed <= 300; seed++)
        run_case(seed, 0);
    assert_true(total_segments > 300 * 20);
}

static void test_random_with_loss(void **state)
{
    (void)state;
    total_gaps = 0;
    for (uint64_t seed = 1; seed <= 300; seed++)
        run_case(seed * 7919, 1 + (int)(seed % 10));
    assert_true(total_gaps > 300); /* the losses were noticed as gaps */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_no_loss),
        cmocka_unit_test(test_random_with_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
