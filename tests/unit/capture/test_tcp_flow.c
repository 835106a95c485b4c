/*
 * test_tcp_flow.c: the reassembler driven segment by segment. Each test
 * spells out a packet sequence (client 10.0.0.1:40000, server 10.0.0.2:80;
 * client ISN 1000, server ISN 5000 unless said otherwise) and checks the
 * exact callbacks the HTTP layer would see.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tcp_test_util.h"

#define F CAP_TCP_FIN
#define SY CAP_TCP_SYN
#define R CAP_TCP_RST
#define A CAP_TCP_ACK

struct fx {
    struct rec rec;
    struct tcp_table *t;
    struct tcp_opts o;
    int64_t now_us;
};

static struct fx *fx_new(const struct tcp_opts *o)
{
    struct fx *x = calloc(1, sizeof *x);
    if (o)
        x->o = *o;
    x->o.looks_like_request = sniff_req;
    x->o.looks_like_response = sniff_resp;
    x->t = tcp_table_new(&x->o, &rec_ops, &x->rec);
    x->now_us = 1000000;
    cport = 40000;
    return x;
}

/* Frees the table (closing what is open) and checks open/close balance. */
static void fx_free(struct fx *x)
{
    tcp_table_free(x->t);
    assert_int_equal(x->rec.nconn, x->rec.nclosed);
    free(x);
}

static void pkt(struct fx *x, int from_client, uint32_t seq, uint32_t ack,
                uint8_t flags, const char *payload)
{
    struct cap_segment s = seg(from_client, seq, ack, flags, payload);
    x->now_us += 1000;
    tcp_table_segment(x->t, &s, x->now_us);
}

static void handshake(struct fx *x)
{
    pkt(x, C, 1000, 0, SY, NULL);
    pkt(x, S, 5000, 1001, SY | A, NULL);
    pkt(x, C, 1001, 5001, A, NULL);
}

static void test_simple_exchange(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    handshake(x);
    assert_int_equal(x->rec.nconn, 0); /* opened lazily, on data */
    pkt(x, C, 1001, 5001, A, "GET / HTTP/1.1\r\n\r\n");
    pkt(x, S, 5001, 1019, A, "HTTP/1.1 200 OK\r\n\r\n");
    pkt(x, C, 1019, 5020, F | A, NULL);
    pkt(x, S, 5020, 1020, F | A, NULL);
    pkt(x, C, 1020, 5021, A, NULL);
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET / HTTP/1.1\r\n\r\n|"
        "1 s HTTP/1.1 200 OK\r\n\r\n|1 fin c|1 fin s|1 close fin");
    struct tcp_stats st;
    tcp_table_stats(x->t, &st);
    assert_int_equal(st.flows, 1);
    assert_int_equal(st.active, 0);
    fx_free(x);
}

static void test_syn_only_opens_nothing(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    handshake(x);
    pkt(x, C, 1001, 5001, R, NULL);
    assert_string_equal(x->rec.log, "");
    fx_free(x);
}

static void test_reordering(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    handshake(x);
    /* segments 3, 1, 2 of "GET /abc HTTP/1.1\r\n" */
    pkt(x, C, 1010, 5001, A, "HTTP/1.1\r\n");
    assert_int_equal(x->rec.nconn, 0);
    pkt(x, C, 1001, 5001, A, "GET /");
    pkt(x, C, 1006, 5001, A, "abc ");
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET /abc HTTP/1.1\r\n");
    fx_free(x);
}

static void test_retransmission_and_overlap(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    handshake(x);
    pkt(x, C, 1001, 5001, A, "GET /0123");
    pkt(x, C, 1001, 5001, A, "GET /0123");      /* exact retransmission */
    pkt(x, C, 1006, 5001, A, "0123456");        /* overlaps delivered bytes */
    pkt(x, C, 1020, 5001, A, "EFG");            /* out of order ... */
    pkt(x, C, 1018, 5001, A, "CDEF");           /* ... overlapping its start */
    pkt(x, C, 1013, 5001, A, "789ABCDEFGH");    /* fills and overlaps both */
    pkt(x, C, 1012, 5001, A, "6");              /* old */
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET /0123456789ABCDEFGH");
    fx_free(x);
}

static void test_sequence_wraparound(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    uint32_t isn = 0xfffffff8u;
    pkt(x, C, isn, 0, SY, NULL);
    pkt(x, S, 5000, isn + 1, SY | A, NULL);
    /* "GET /wrap" crosses 2^32: bytes at 0xfffffff9 .. 0x00000001 */
    pkt(x, C, isn + 1 + 5, 5001, A, "wrap HTTP/1.0\r\n"); /* after the wrap */
    pkt(x, C, isn + 1, 5001, A, "GET /");
    pkt(x, C, isn + 1, 5001, A, "GET /wr");               /* retransmission */
    pkt(x, C, isn + 1 + 20, 5001, F | A, NULL);
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET /wrap HTTP/1.0\r\n|"
        "1 fin c");
    fx_free(x);
}

static void test_gap_acked_past_hole(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    handshake(x);
    pkt(x, C, 1001, 5001, A, "GET /a HTTP/1.1\r\n\r\n");   /* 20 bytes */
    /* the server's first segment (22 bytes) is lost by the capture */
    pkt(x, S, 5023, 1021, A, "tail-of-response");
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET /a HTTP/1.1\r\n\r\n");
    /* the client acknowledges everything: the hole can never be filled */
    pkt(x, C, 1021, 5039, A, NULL);
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET /a HTTP/1.1\r\n\r\n|"
        "1 gap s 22|1 s tail-of-response");
    pkt(x, C, 1021, 5039, A, "GET /b HTTP/1.1\r\n\r\n");
    struct tcp_stats st;
    tcp_table_stats(x->t, &st);
    assert_int_equal(st.gaps, 1);
    assert_int_equal(st.gap_bytes, 22);
    fx_free(x);
}

static void test_gap_at_close(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    handshake(x);
    pkt(x, C, 1001, 5001, A, "GET /a ");
    pkt(x, C, 1013, 5001, A, "1.1\r\n\r\n");   /* "HTTP/" lost */
    pkt(x, C, 1020, 5001, F | A, NULL);
    pkt(x, S, 5001, 1021, R, NULL);
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET /a |1 gap c 5|"
        "1 c 1.1\r\n\r\n|1 fin c|1 close rst");
    fx_free(x);
}

static void test_gap_buffer_limit(void **state)
{
    (void)state;
    struct tcp_opts o = {.max_ooo_bytes = 8};
    struct fx *x = fx_new(&o);
    handshake(x);
    pkt(x, C, 1001, 5001, A, "GET /");
    pkt(x, C, 1010, 5001, A, "abcd");      /* 4 buffered after a 4-byte hole */
    pkt(x, C, 1014, 5001, A, "efgh");      /* 8 buffered: at the limit */
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET /");
    pkt(x, C, 1018, 5001, A, "i");         /* 9 > 8: the hole is given up */
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET /|1 gap c 4|"
        "1 c abcdefghi");
    pkt(x, C, 1006, 5001, A, "late");      /* too late: never glued */
    pkt(x, C, 1019, 5001, A, "j");
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET /|1 gap c 4|"
        "1 c abcdefghij");
    fx_free(x);
}

static void test_midstream_pickup(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    /* no handshake; the first thing seen is the end of a response body */
    pkt(x, S, 7000, 3000, A, "...end of some body");
    assert_int_equal(x->rec.nconn, 0); /* direction unknown: buffered */
    pkt(x, C, 3000, 7019, A, "GET /next HTTP/1.1\r\n\r\n");
    pkt(x, S, 7019, 3023, A, "HTTP/1.1 204 No Content\r\n\r\n");
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80|1 s ...end of some body|"
        "1 c GET /next HTTP/1.1\r\n\r\n|1 s HTTP/1.1 204 No Content\r\n\r\n");
    fx_free(x);
}

/* Picked up mid-stream, a half starts where the peer's ACK says; ACKs lag
 * behind what was sent (delayed ACK), so the bytes between that ACK and
 * the half's first segment were sent before the capture began. They are
 * not a gap (which would make the HTTP layer pair the next response with
 * the wrong request); a hole after data was delivered still is one. */
static void test_midstream_delayed_ack(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    /* the client acknowledges server bytes up to 7000 ... */
    pkt(x, C, 3000, 7000, A, "GET /next HTTP/1.1\r\n\r\n");
    /* ... but the server's next segment seen starts at 7180: 180 bytes of
     * an earlier response went by before the capture began */
    pkt(x, S, 7180, 3023, A, "...rest of an earlier response");
    pkt(x, C, 3023, 7210, A, NULL);
    pkt(x, S, 7210, 3023, A, "HTTP/1.1 204 No Content\r\n\r\n");
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80|1 c GET /next HTTP/1.1\r\n\r\n|"
        "1 s ...rest of an earlier responseHTTP/1.1 204 No Content\r\n\r\n");
    struct tcp_stats st;
    tcp_table_stats(x->t, &st);
    assert_int_equal(st.gaps, 0);
    /* a real hole later is a gap */
    pkt(x, S, 7300, 3023, A, "late");
    pkt(x, C, 3023, 7304, A, NULL);
    tcp_table_stats(x->t, &st);
    assert_int_equal(st.gaps, 1);
    fx_free(x);
}

static void test_midstream_server_port_from_response(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    pkt(x, S, 7000, 3000, A, "HTTP/1.1 200 OK\r\n\r\n");
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80|1 s HTTP/1.1 200 OK\r\n\r\n");
    fx_free(x);
}

static void test_port_option(void **state)
{
    (void)state;
    /* the "server" here listens on 40000; the request-looking bytes come
     * from port 80, but --port 40000 says who is the server */
    uint16_t ports[] = {40000};
    struct tcp_opts o = {.server_ports = ports, .nserver_ports = 1};
    struct fx *x = fx_new(&o);
    pkt(x, S, 7000, 3000, A, "GET / HTTP/1.1\r\n\r\n");
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.2:80>10.0.0.1:40000|1 c GET / HTTP/1.1\r\n\r\n");
    /* flows on other ports are ignored */
    cport = 41000;
    struct cap_segment s = seg(C, 1, 1, A, "GET / HTTP/1.1\r\n\r\n");
    s.dport = 8080;
    tcp_table_segment(x->t, &s, 2000000);
    assert_int_equal(x->rec.nconn, 1);
    fx_free(x);
}

static void test_fin_then_rst(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    handshake(x);
    pkt(x, C, 1001, 5001, A, "GET / HTTP/1.0\r\n\r\n");
    pkt(x, S, 5001, 1019, A | F, "HTTP/1.0 200 OK\r\n\r\nbody");
    pkt(x, C, 1019, 5025, A | R, NULL);
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET / HTTP/1.0\r\n\r\n|"
        "1 s HTTP/1.0 200 OK\r\n\r\nbody|1 fin s|1 close rst");
    fx_free(x);
}

static void test_idle_expiry(void **state)
{
    (void)state;
    struct tcp_opts o = {.flow_timeout_us = 5000000};
    struct fx *x = fx_new(&o);
    handshake(x);
    pkt(x, C, 1001, 5001, A, "GET / HTTP/1.1\r\n\r\n");
    x->now_us += 4000000;
    tcp_table_expire(x->t, x->now_us);
    assert_int_equal(x->rec.nclosed, 0);
    x->now_us += 2000000;
    cport = 40001; /* another flow's packet drives the clock */
    pkt(x, C, 1, 0, SY, NULL);
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET / HTTP/1.1\r\n\r\n|"
        "1 close timeout");
    struct tcp_stats st;
    tcp_table_stats(x->t, &st);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(st.active, 1);
    fx_free(x);
}

static void test_memory_cap_eviction(void **state)
{
    (void)state;
    struct tcp_opts o = {.max_memory_bytes = 4096};
    struct fx *x = fx_new(&o);
    static char big[1500];
    memset(big, 'x', sizeof big - 1);
    /* flow 1 buffers 1.5 KB behind a hole */
    handshake(x);
    pkt(x, C, 1001, 5001, A, "GET /1 HTTP/1.1\r\n");
    pkt(x, C, 1100, 5001, A, big);
    /* flow 2 buffers 3 KB more: the least recently active flow goes */
    cport = 40001;
    handshake(x);
    pkt(x, C, 1001, 5001, A, "GET /2 HTTP/1.1\r\n");
    pkt(x, C, 1100, 5001, A, big);
    pkt(x, C, 1100 + 1499, 5001, A, big);
    struct tcp_stats st;
    tcp_table_stats(x->t, &st);
    assert_int_equal(st.evictions, 1);
    assert_true(st.mem_bytes <= 4096);
    assert_non_null(strstr(x->rec.log, "1 gap c 82|1 c xxx"));
    assert_non_null(strstr(x->rec.log, "|1 close evicted"));
    fx_free(x);
}

static void test_port_reuse(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    handshake(x);
    pkt(x, C, 1001, 5001, A, "GET /1 HTTP/1.1\r\n\r\n");
    pkt(x, C, 1020, 5001, A | F, NULL);
    /* a new connection on the same 4-tuple */
    pkt(x, C, 90000, 0, SY, NULL);
    pkt(x, S, 10, 90001, SY | A, NULL);
    pkt(x, C, 90001, 11, A, "GET /2 HTTP/1.1\r\n\r\n");
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET /1 HTTP/1.1\r\n\r\n|"
        "1 fin c|1 close fin|2 open 10.0.0.1:40000>10.0.0.2:80 syn|"
        "2 c GET /2 HTTP/1.1\r\n\r\n");
    fx_free(x);
}

static void test_sample_keeps_whole_connections(void **state)
{
    (void)state;
    struct tcp_opts o = {.sample_ratio = 0.25};
    struct fx *x = fx_new(&o);
    int kept = 0;
    for (int i = 0; i < 400; i++) {
        cport = (uint16_t)(20000 + i);
        int before = x->rec.nconn;
        pkt(x, C, 1000, 0, SY, NULL);
        pkt(x, S, 5000, 1001, SY | A, NULL);
        pkt(x, C, 1001, 5001, A, "GET / HTTP/1.1\r\n\r\n");
        uint64_t calls = x->rec.data_calls;
        pkt(x, S, 5001, 1019, A, "HTTP/1.1 200 OK\r\n\r\n");
        if (x->rec.nconn > before) {
            kept++;
            assert_int_equal(x->rec.data_calls, calls + 1); /* both sides */
        } else {
            assert_int_equal(x->rec.data_calls, calls);
        }
    }
    assert_true(kept > 60 && kept < 140);
    fx_free(x);
}

static void test_many_flows_table_growth(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    for (int i = 0; i < 5000; i++) {
        cport = (uint16_t)(10000 + i);
        pkt(x, C, 1, 1, A, "GET / HTTP/1.1\r\n\r\n");
    }
    for (int i = 0; i < 5000; i++) {
        cport = (uint16_t)(10000 + i);
        pkt(x, S, 1, 19, A, "HTTP/1.1 200 OK\r\n\r\n");
    }
    struct tcp_stats st;
    tcp_table_stats(x->t, &st);
    assert_int_equal(st.flows, 5000);
    assert_int_equal(st.active, 5000);
    assert_int_equal(x->rec.data_calls, 10000);
    fx_free(x);
}

static void test_synack_first(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    /* the SYN was missed; the SYN-ACK's sender is the server */
    pkt(x, S, 5000, 1001, SY | A, NULL);
    pkt(x, C, 1001, 5001, A, "POST /x HTTP/1.1\r\n\r\n");
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c POST /x HTTP/1.1\r\n\r\n");
    fx_free(x);
}

static void test_nothing_after_fin(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    handshake(x);
    pkt(x, C, 1001, 5001, A | F, "GET / HTTP/1.0\r\n\r\n"); /* FIN at 1019 */
    pkt(x, C, 1019, 5001, A, "junk after the FIN");
    pkt(x, C, 1010, 5001, A, "HTTP/1.0\r\n\r\nmore junk"); /* straddles */
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET / HTTP/1.0\r\n\r\n|"
        "1 fin c");
    fx_free(x);
}

static void test_unknown_direction_closes_on_fin(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    /* mid-stream, not HTTP: nothing tells who the server is; at the FINs the
     * lower port (80) is taken as the server */
    pkt(x, C, 300, 900, A, "\x16\x03\x01 binary");
    pkt(x, S, 900, 310, A, "\x16\x03\x03 reply");
    assert_int_equal(x->rec.nconn, 0);
    pkt(x, C, 310, 909, A | F, NULL);
    pkt(x, S, 909, 311, A | F, NULL);
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80|1 c \x16\x03\x01 binary|"
        "1 s \x16\x03\x03 reply|1 fin c|1 fin s|1 close fin");
    fx_free(x);
}

static void test_unknown_direction_buffer_limit(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    static char chunk[8193];
    memset(chunk, 'z', sizeof chunk - 1);
    uint32_t seq = 1;
    for (int i = 0; i < 32; i++, seq += 8192) /* 256 KiB: still waiting */
        pkt(x, S, seq, 1, A, chunk);
    assert_int_equal(x->rec.nconn, 0);
    pkt(x, S, seq, 1, A, "!");               /* over the limit: guessed */
    assert_int_equal(x->rec.nconn, 1);
    assert_true(strncmp(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80|1 s zzz", 41) == 0);
    assert_int_equal(x->rec.data_bytes, 32 * 8192 + 1);
    fx_free(x);
}

static void test_unknown_flows_ignored(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    pkt(x, C, 1, 1, R, NULL);       /* reset of a flow never seen */
    pkt(x, C, 1, 1, A, NULL);       /* bare ACK */
    pkt(x, C, 1, 1, A | F, NULL);   /* bare FIN */
    struct tcp_stats st;
    tcp_table_stats(x->t, &st);
    assert_int_equal(st.active, 0);
    assert_string_equal(x->rec.log, "");
    fx_free(x);
}

static void test_snaplen_cut_payload(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    handshake(x);
    /* 40 bytes on the wire, only 10 captured */
    struct cap_segment s = seg(C, 1001, 5001, A, "GET /abcd ");
    s.wire_len = 40;
    tcp_table_segment(x->t, &s, x->now_us += 1000);
    pkt(x, C, 1041, 5001, A, "next");
    pkt(x, S, 5001, 1045, A, "HTTP/1.1 200 OK\r\n\r\n"); /* acks it all */
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET /abcd |1 gap c 30|"
        "1 c next|1 s HTTP/1.1 200 OK\r\n\r\n");
    fx_free(x);
}

static void test_stragglers_after_close(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    handshake(x);
    pkt(x, C, 1001, 5001, A, "GET / HTTP/1.1\r\n\r\n");
    pkt(x, S, 5001, 1019, A | F, "HTTP/1.1 200 OK\r\n\r\n");
    pkt(x, C, 1019, 5021, A | F, NULL);
    assert_int_equal(x->rec.nclosed, 1);
    /* late retransmissions must not look like a new connection */
    pkt(x, C, 1001, 5021, A, "GET / HTTP/1.1\r\n\r\n");
    pkt(x, S, 5001, 1020, A, "HTTP/1.1 200 OK\r\n\r\n");
    assert_int_equal(x->rec.nconn, 1);
    /* a new SYN reuses the 4-tuple at once */
    pkt(x, C, 70000, 0, SY, NULL);
    pkt(x, S, 80000, 70001, SY | A, NULL);
    pkt(x, C, 70001, 80001, A, "GET /again HTTP/1.1\r\n\r\n");
    assert_int_equal(x->rec.nconn, 2);
    /* after a reset, data racing it is dropped too */
    pkt(x, C, 70025, 80001, R, NULL);
    pkt(x, S, 80001, 70025, A, "HTTP/1.1 200 OK\r\n\r\n");
    assert_int_equal(x->rec.nconn, 2);
    /* the tombstone goes after 5 s of packet time; then mid-stream pickup */
    x->now_us += 6000000;
    pkt(x, C, 90000, 1, A, "GET /later HTTP/1.1\r\n\r\n");
    assert_int_equal(x->rec.nconn, 3);
    fx_free(x);
}

static void test_syn_after_fin_keeps_position(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    /* picked up mid-stream: the client half starts at the server's ACK */
    pkt(x, S, 5001, 1019, A, "HTTP/1.1 200 OK\r\n\r\n");
    pkt(x, C, 1019, 5020, F | A, NULL);              /* FIN at 1019 */
    /* a bogus SYN-ACK from the client, its ISN before the FIN: it must not
     * rewind the client half and deliver bytes after the FIN */
    pkt(x, C, 1001, 5020, SY | A, "abcdef");
    pkt(x, C, 1002, 5020, A, "ghijkl");
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80|1 s HTTP/1.1 200 OK\r\n\r\n|"
        "1 fin c");
    /* the fuzzer's variant: every flag at once, ending in a reset */
    pkt(x, C, 1001, 5020, SY | A | F | R, "abcdef");
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80|1 s HTTP/1.1 200 OK\r\n\r\n|"
        "1 fin c|1 close rst");
    fx_free(x);
}

static void test_fin_behind_delivered_bytes(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    handshake(x);
    pkt(x, C, 1001, 5001, A, "GET / HTTP/1.1\r\n\r\n"); /* next 1019 */
    /* a bogus FIN 2^30 before the delivered bytes: taken as the end */
    pkt(x, C, 1019u - 0x40000000u, 5001, F | A, NULL);
    /* 0x50000000 after next but, by serial arithmetic, before that FIN:
     * the half is finished, so it must be neither data nor a gap */
    pkt(x, C, 1019u + 0x50000000u, 5001, A, "junk");
    pkt(x, C, 1019u + 0x50000000u, 5001, A | R, "junk");
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET / HTTP/1.1\r\n\r\n|"
        "1 fin c|1 close rst");
    fx_free(x);
}

/* Bytes buffered 2^31 past next, then a FIN before them, then the server
 * acknowledging past those bytes: once, skipping that hole took next past
 * fin_seq, and later bytes were buffered "after next yet before the FIN"
 * and reported as a gap and data after the fin. The FIN now drops the
 * bytes beyond it, so no hole is skipped; the hole before the FIN is
 * reported at close, then the fin, and nothing after it. */
static void test_hole_skipped_past_fin(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    handshake(x);
    pkt(x, C, 1001, 5001, A, "GET /");                    /* next 1006 */
    pkt(x, C, 1006u + 0x7ffffff0u, 5001, A, "far");       /* buffered */
    pkt(x, C, 1016, 5001, F | A, NULL);                   /* FIN at 1016 */
    pkt(x, S, 5001, 1006u + 0x7ffffff0u + 4, A, NULL);
    pkt(x, C, 1006u + 0x7ffffff0u + 100, 5001, A, "junk");
    pkt(x, C, 1006u + 0x7ffffff0u + 100, 5001, R, NULL);
    assert_string_equal(x->rec.log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET /|1 gap c 10|"
        "1 fin c|1 close rst");
    fx_free(x);
}

/* Bytes buffered beyond where a later FIN says the stream ends are never
 * delivered: the FIN drops them (and trims one it cuts through), as it
 * drops such bytes arriving after it. */
static void test_data_past_fin_dropped(void **state)
{
    (void)state;
    struct fx *x = fx_new(NULL);
    handshake(x);
    pkt(x, C, 1001, 5001, A, "GET ");                     /* next 1005 */
    pkt(x, C, 1012, 5001, A, "xyzJUNK");                  /* buffered */
    pkt(x, C, 1030, 5001, A, "far");                      /* buffered */
    pkt(x, C, 1015, 5001, F | A, NULL);                   /* FIN at 1015 */
    pkt(x, C, 1005, 5001, A, "/ HTTP/");                  /* fills 1005-1012 */
    const char *log = strstr(x->rec.log, "|1 c GET ");
    assert_non_null(log);
    assert_string_equal(log, "|1 c GET / HTTP/xyz|1 fin c");
    fx_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_exchange),
        cmocka_unit_test(test_syn_only_opens_nothing),
        cmocka_unit_test(test_reordering),
        cmocka_unit_test(test_retransmission_and_overlap),
        cmocka_unit_test(test_sequence_wraparound),
        cmocka_unit_test(test_gap_acked_past_hole),
        cmocka_unit_test(test_gap_at_close),
        cmocka_unit_test(test_gap_buffer_limit),
        cmocka_unit_test(test_midstream_pickup),
        cmocka_unit_test(test_midstream_server_port_from_response),
        cmocka_unit_test(test_midstream_delayed_ack),
        cmocka_unit_test(test_port_option),
        cmocka_unit_test(test_fin_then_rst),
        cmocka_unit_test(test_idle_expiry),
        cmocka_unit_test(test_memory_cap_eviction),
        cmocka_unit_test(test_port_reuse),
        cmocka_unit_test(test_sample_keeps_whole_connections),
        cmocka_unit_test(test_many_flows_table_growth),
        cmocka_unit_test(test_synack_first),
        cmocka_unit_test(test_data_past_fin_dropped),
        cmocka_unit_test(test_nothing_after_fin),
        cmocka_unit_test(test_unknown_direction_closes_on_fin),
        cmocka_unit_test(test_unknown_direction_buffer_limit),
        cmocka_unit_test(test_unknown_flows_ignored),
        cmocka_unit_test(test_snaplen_cut_payload),
        cmocka_unit_test(test_stragglers_after_close),
        cmocka_unit_test(test_syn_after_fin_keeps_position),
        cmocka_unit_test(test_fin_behind_delivered_bytes),
        cmocka_unit_test(test_hole_skipped_past_fin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
