/*
 * frames.h: builders for link/IP/TCP frames used by the capture unit tests
 * (and to write seed inputs for the fuzz target). Each appends to a byte
 * array and returns the new length, so a test reads as the header stack it
 * builds: eth(vlan(ipv4(tcp(payload)))).
 */
#ifndef RP_TEST_FRAMES_H
#define RP_TEST_FRAMES_H

#include <stdint.h>
#include <string.h>

struct frame {
    uint8_t b[70000];
    size_t n;
};

static inline void put8(struct frame *f, uint8_t v) { f->b[f->n++] = v; }
static inline void put16(struct frame *f, uint16_t v)
{
    put8(f, (uint8_t)(v >> 8));
    put8(f, (uint8_t)v);
}
static inline void put32(struct frame *f, uint32_t v)
{
    put16(f, (uint16_t)(v >> 16));
    put16(f, (uint16_t)v);
}
static inline void putn(struct frame *f, const void *p, size_t n)
{
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

/* TCP header (20 bytes, or 32 with a timestamp-like option) + payload. */
static inline void tcp_hdr(struct frame *f, uint16_t sport, uint16_t dport,
                    uint32_t seq, uint32_t ack, uint8_t flags, int options,
                    const void *payload, size_t n)
{
    put16(f, sport);
    put16(f, dport);
    put32(f, seq);
    put32(f, ack);
    put8(f, (uint8_t)((options ? 8 : 5) << 4));
    put8(f, flags);
    put16(f, 65535);
    put16(f, 0);
    put16(f, 0);
    if (options) {
        static const uint8_t opt[12] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
        putn(f, opt, sizeof opt);
    }
    if (n)
        putn(f, payload, n);
}

/* IPv4 header; l4len is the length of what follows. frag: the 16-bit
 * flags/offset field. */
static inline void ipv4_hdr(struct frame *f, const uint8_t src[4], const uint8_t dst[4],
                     uint8_t proto, size_t l4len, uint16_t frag)
{
    put8(f, 0x45);
    put8(f, 0);
    put16(f, (uint16_t)(20 + l4len));
    put16(f, 1);
    put16(f, frag);
    put8(f, 64);
    put8(f, proto);
    put16(f, 0);
    putn(f, src, 4);
    putn(f, dst, 4);
}

static inline void ipv6_hdr(struct frame *f, const uint8_t src[16],
                     const uint8_t dst[16], uint8_t next, size_t plen)
{
    put32(f, 0x60000000u);
    put16(f, (uint16_t)plen);
    put8(f, next);
    put8(f, 64);
    putn(f, src, 16);
    putn(f, dst, 16);
}

static inline void eth_hdr(struct frame *f, uint16_t type)
{
    static const uint8_t mac[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    putn(f, mac, 12);
    put16(f, type);
}

static inline void sll_hdr(struct frame *f, uint16_t proto)
{
    put16(f, 0);      /* packet type: to us */
    put16(f, 1);      /* ARPHRD_ETHER */
    put16(f, 6);
    static const uint8_t a[8] = {2, 0, 0, 0, 0, 1, 0, 0};
    putn(f, a, 8);
    put16(f, proto);
}

static inline void sll2_hdr(struct frame *f, uint16_t proto)
{
    put16(f, proto);
    put16(f, 0);      /* reserved */
    put32(f, 1);      /* interface index */
    put16(f, 1);      /* ARPHRD_ETHER */
    put8(f, 0);       /* packet type */
    put8(f, 6);
    static const uint8_t a[8] = {2, 0, 0, 0, 0, 1, 0, 0};
    putn(f, a, 8);
}

static const uint8_t ip4_c[4] = {10, 0, 0, 1}, ip4_s[4] = {10, 0, 0, 2};
static const uint8_t ip6_c[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t ip6_s[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

/* A complete IPv4/TCP packet (no link header) from client or server. */
static inline void ipv4_tcp(struct frame *f, int from_client, uint16_t cport,
                     uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags,
                     const char *payload)
{
    size_t n = payload ? strlen(payload) : 0;
    ipv4_hdr(f, from_client ? ip4_c : ip4_s, from_client ? ip4_s : ip4_c, 6,
             20 + n, 0x4000);
    tcp_hdr(f, from_client ? cport : sport, from_client ? sport : cport, seq,
            ack, flags, 0, payload, n);
}

#endif
