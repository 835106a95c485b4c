/*
 * test_decode.c: cap_decode on hand-built frames, one per link type and
 * header variant: Ethernet, 802.1Q and QinQ, Linux SLL and SLL2, raw IPv4
 * and IPv6, BSD NULL/LOOP, IPv4 options and padding, IPv6 extension
 * headers, IP fragments, non-TCP, truncated and malformed headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "capture/decode.h"
#include "frames.h"

#define PAYLOAD "GET / HTTP/1.1\r\n\r\n"
#define PLEN (sizeof PAYLOAD - 1)

static struct frame fr;

static void check_v4_segment(const struct cap_segment *s)
{
    assert_int_equal(s->family, 4);
    assert_memory_equal(s->src, ip4_c, 4);
    assert_memory_equal(s->dst, ip4_s, 4);
    assert_int_equal(s->sport, 40000);
    assert_int_equal(s->dport, 80);
    assert_int_equal(s->seq, 0x01020304u);
    assert_int_equal(s->ack, 0xa0b0c0d0u);
    assert_int_equal(s->flags, CAP_TCP_ACK | CAP_TCP_PSH);
    assert_int_equal(s->len, PLEN);
    assert_int_equal(s->wire_len, PLEN);
    assert_memory_equal(s->payload, PAYLOAD, PLEN);
}

static void v4_tcp(struct frame *f)
{
    ipv4_hdr(f, ip4_c, ip4_s, 6, 20 + PLEN, 0x4000);
    tcp_hdr(f, 40000, 80, 0x01020304u, 0xa0b0c0d0u,
            CAP_TCP_ACK | CAP_TCP_PSH, 0, PAYLOAD, PLEN);
}

static enum cap_decode_result dec(int dlt, struct cap_segment *s)
{
    memset(s, 0xee, sizeof *s);
    return cap_decode(dlt, fr.b, fr.n, s);
}

static void test_ethernet_ipv4(void **state)
{
    (void)state;
    struct cap_segment s;
    fr.n = 0;
    eth_hdr(&fr, 0x0800);
    v4_tcp(&fr);
    putn(&fr, "\0\0\0\0\0\0", 6); /* Ethernet padding is not payload */
    assert_int_equal(dec(DLT_EN10MB, &s), CAP_DEC_TCP);
    check_v4_segment(&s);
}

static void test_vlan_and_qinq(void **state)
{
    (void)state;
    struct cap_segment s;
    fr.n = 0;
    eth_hdr(&fr, 0x8100);
    put16(&fr, 42);
    put16(&fr, 0x0800);
    v4_tcp(&fr);
    assert_int_equal(dec(DLT_EN10MB, &s), CAP_DEC_TCP);
    check_v4_segment(&s);

    fr.n = 0;
    eth_hdr(&fr, 0x88a8);
    put16(&fr, 100);
    put16(&fr, 0x8100);
    put16(&fr, 42);
    put16(&fr, 0x0800);
    v4_tcp(&fr);
    assert_int_equal(dec(DLT_EN10MB, &s), CAP_DEC_TCP);
    check_v4_segment(&s);

    fr.n = 0; /* a tag cut short */
    eth_hdr(&fr, 0x8100);
    put16(&fr, 42);
    assert_int_equal(dec(DLT_EN10MB, &s), CAP_DEC_MALFORMED);
}

static void test_sll_and_sll2(void **state)
{
    (void)state;
    struct cap_segment s;
    fr.n = 0;
    sll_hdr(&fr, 0x0800);
    v4_tcp(&fr);
    assert_int_equal(dec(DLT_LINUX_SLL, &s), CAP_DEC_TCP);
    check_v4_segment(&s);

    fr.n = 0;
    sll2_hdr(&fr, 0x0800);
    v4_tcp(&fr);
    assert_int_equal(dec(DLT_LINUX_SLL2, &s), CAP_DEC_TCP);
    check_v4_segment(&s);

    fr.n = 0;
    sll2_hdr(&fr, 0x0806); /* ARP */
    put32(&fr, 0);
    assert_int_equal(dec(DLT_LINUX_SLL2, &s), CAP_DEC_NON_TCP);
}

static void test_raw_and_loopback(void **state)
{
    (void)state;
    struct cap_segment s;
    fr.n = 0;
    v4_tcp(&fr);
    assert_int_equal(dec(DLT_RAW, &s), CAP_DEC_TCP);
    check_v4_segment(&s);
    assert_int_equal(dec(DLT_IPV4, &s), CAP_DEC_TCP);
    check_v4_segment(&s);

    fr.n = 0; /* NULL: AF_INET in little-endian host order */
    putn(&fr, "\x02\0\0\0", 4);
    v4_tcp(&fr);
    assert_int_equal(dec(DLT_NULL, &s), CAP_DEC_TCP);
    check_v4_segment(&s);

    fr.n = 0; /* LOOP: AF_INET6 (30, macOS) in network order */
    put32(&fr, 30);
    ipv6_hdr(&fr, ip6_c, ip6_s, 6, 20 + PLEN);
    tcp_hdr(&fr, 40000, 80, 7, 9, CAP_TCP_ACK, 0, PAYLOAD, PLEN);
    assert_int_equal(dec(DLT_LOOP, &s), CAP_DEC_TCP);
    assert_int_equal(s.family, 6);
    assert_memory_equal(s.src, ip6_c, 16);
    assert_memory_equal(s.dst, ip6_s, 16);
    assert_int_equal(s.len, PLEN);
}

static void test_ipv6_extension_headers(void **state)
{
    (void)state;
    struct cap_segment s;
    fr.n = 0;
    sll2_hdr(&fr, 0x86dd);
    /* hop-by-hop (8 bytes) -> destination options (16 bytes) -> TCP */
    ipv6_hdr(&fr, ip6_c, ip6_s, 0, 8 + 16 + 32 + PLEN);
    put8(&fr, 60);
    put8(&fr, 0);
    putn(&fr, "\1\4\0\0\0\0", 6);
    put8(&fr, 6);
    put8(&fr, 1);
    putn(&fr, "\1\14\0\0\0\0\0\0\0\0\0\0\0\0", 14);
    tcp_hdr(&fr, 40000, 80, 1, 2, CAP_TCP_ACK, 1, PAYLOAD, PLEN);
    assert_int_equal(dec(DLT_LINUX_SLL2, &s), CAP_DEC_TCP);
    assert_int_equal(s.family, 6);
    assert_int_equal(s.sport, 40000);
    assert_int_equal(s.len, PLEN);
    assert_memory_equal(s.payload, PAYLOAD, PLEN);

    fr.n = 0; /* extension header running past the packet */
    ipv6_hdr(&fr, ip6_c, ip6_s, 0, 8);
    put8(&fr, 6);
    put8(&fr, 3);
    putn(&fr, "\0\0\0\0\0\0", 6);
    assert_int_equal(dec(DLT_IPV6, &s), CAP_DEC_MALFORMED);

    fr.n = 0; /* UDP over IPv6 */
    ipv6_hdr(&fr, ip6_c, ip6_s, 17, 8);
    putn(&fr, "\0\1\0\2\0\10\0\0", 8);
    assert_int_equal(dec(DLT_RAW, &s), CAP_DEC_NON_TCP);
}

static void test_fragments(void **state)
{
    (void)state;
    struct cap_segment s;
    fr.n = 0; /* first fragment: more-fragments set */
    eth_hdr(&fr, 0x0800);
    ipv4_hdr(&fr, ip4_c, ip4_s, 6, 24, 0x2000);
    tcp_hdr(&fr, 40000, 80, 1, 2, CAP_TCP_ACK, 0, "abcd", 4);
    assert_int_equal(dec(DLT_EN10MB, &s), CAP_DEC_FRAGMENT);

    fr.n = 0; /* a later fragment: offset 185 */
    eth_hdr(&fr, 0x0800);
    ipv4_hdr(&fr, ip4_c, ip4_s, 6, 8, 185);
    putn(&fr, "abcdefgh", 8);
    assert_int_equal(dec(DLT_EN10MB, &s), CAP_DEC_FRAGMENT);

    fr.n = 0; /* IPv6 fragment header, offset 0, more fragments */
    ipv6_hdr(&fr, ip6_c, ip6_s, 44, 8 + 20);
    put8(&fr, 6);
    put8(&fr, 0);
    put16(&fr, 0x0001);
    put32(&fr, 77);
    tcp_hdr(&fr, 40000, 80, 1, 2, CAP_TCP_ACK, 0, NULL, 0);
    assert_int_equal(dec(DLT_IPV6, &s), CAP_DEC_FRAGMENT);

    fr.n = 0; /* atomic fragment (offset 0, no more): decoded */
    ipv6_hdr(&fr, ip6_c, ip6_s, 44, 8 + 20);
    put8(&fr, 6);
    put8(&fr, 0);
    put16(&fr, 0);
    put32(&fr, 77);
    tcp_hdr(&fr, 40000, 80, 1, 2, CAP_TCP_ACK, 0, NULL, 0);
    assert_int_equal(dec(DLT_IPV6, &s), CAP_DEC_TCP);
    assert_int_equal(s.len, 0);
}

static void test_ipv4_options_tso_and_snaplen(void **state)
{
    (void)state;
    struct cap_segment s;
    fr.n = 0; /* IHL 6: one option word */
    put8(&fr, 0x46);
    put8(&fr, 0);
    put16(&fr, (uint16_t)(24 + 20 + PLEN));
    put32(&fr, 0x00014000u);
    put8(&fr, 64);
    put8(&fr, 6);
    put16(&fr, 0);
    putn(&fr, ip4_c, 4);
    putn(&fr, ip4_s, 4);
    put32(&fr, 0x01010000u);
    tcp_hdr(&fr, 40000, 80, 0x01020304u, 0xa0b0c0d0u,
            CAP_TCP_ACK | CAP_TCP_PSH, 0, PAYLOAD, PLEN);
    assert_int_equal(dec(DLT_RAW, &s), CAP_DEC_TCP);
    check_v4_segment(&s);

    fr.n = 0; /* total length 0 (segmentation offload): captured length */
    v4_tcp(&fr);
    fr.b[2] = fr.b[3] = 0;
    assert_int_equal(dec(DLT_RAW, &s), CAP_DEC_TCP);
    check_v4_segment(&s);

    fr.n = 0; /* cut by the snapshot length: 5 payload bytes captured */
    v4_tcp(&fr);
    fr.n -= PLEN - 5;
    assert_int_equal(dec(DLT_RAW, &s), CAP_DEC_TCP);
    assert_int_equal(s.len, 5);
    assert_int_equal(s.wire_len, PLEN);
}

static void test_malformed(void **state)
{
    (void)state;
    struct cap_segment s;
    fr.n = 0;
    eth_hdr(&fr, 0x0800);
    assert_int_equal(dec(DLT_EN10MB, &s), CAP_DEC_MALFORMED);
    fr.n = 5;
    assert_int_equal(dec(DLT_EN10MB, &s), CAP_DEC_MALFORMED);
    fr.n = 0; /* IHL 4 */
    v4_tcp(&fr);
    fr.b[0] = 0x44;
    assert_int_equal(dec(DLT_RAW, &s), CAP_DEC_MALFORMED);
    fr.n = 0; /* TCP data offset 4 */
    v4_tcp(&fr);
    fr.b[20 + 12] = 0x40;
    assert_int_equal(dec(DLT_RAW, &s), CAP_DEC_MALFORMED);
    fr.n = 0; /* TCP header cut */
    v4_tcp(&fr);
    fr.n = 30;
    assert_int_equal(dec(DLT_RAW, &s), CAP_DEC_MALFORMED);
    fr.n = 0; /* total length shorter than the header */
    v4_tcp(&fr);
    fr.b[2] = 0;
    fr.b[3] = 10;
    assert_int_equal(dec(DLT_RAW, &s), CAP_DEC_MALFORMED);
    fr.n = 0; /* UDP */
    ipv4_hdr(&fr, ip4_c, ip4_s, 17, 8, 0);
    putn(&fr, "\0\1\0\2\0\10\0\0", 8);
    assert_int_equal(dec(DLT_RAW, &s), CAP_DEC_NON_TCP);
    fr.n = 0; /* version 5 on raw IP */
    put8(&fr, 0x50);
    assert_int_equal(dec(DLT_RAW, &s), CAP_DEC_NON_TCP);
    assert_int_equal(cap_decode(DLT_RAW, fr.b, 0, &s), CAP_DEC_MALFORMED);
}

static void test_supported(void **state)
{
    (void)state;
    assert_true(cap_decode_supported(DLT_EN10MB));
    assert_true(cap_decode_supported(DLT_LINUX_SLL2));
    assert_true(cap_decode_supported(DLT_NULL));
    assert_false(cap_decode_supported(DLT_IEEE802_11));
    assert_false(cap_decode_supported(DLT_PPP));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ethernet_ipv4),
        cmocka_unit_test(test_vlan_and_qinq),
        cmocka_unit_test(test_sll_and_sll2),
        cmocka_unit_test(test_raw_and_loopback),
        cmocka_unit_test(test_ipv6_extension_headers),
        cmocka_unit_test(test_fragments),
        cmocka_unit_test(test_ipv4_options_tso_and_snaplen),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_supported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
