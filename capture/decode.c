/*
 * decode.c: link, IP and TCP header decoding (see decode.h). Every length
 * is checked against the captured bytes before it is read; the IP total
 * length trims link-layer padding; a zero IPv4 total length (segmentation
 * offload seen on the sending host) or IPv6 jumbo payload falls back to the
 * captured length.
 */
#include "capture/decode.h"

#include <pcap/pcap.h>
#include <string.h>

#define ETH_IPV4 0x0800u
#define ETH_IPV6 0x86DDu
#define ETH_VLAN 0x8100u
#define ETH_QINQ 0x88A8u
#define ETH_QINQ_OLD 0x9100u
#define MAX_VLAN_TAGS 4
#define MAX_IPV6_EXT 8
#define LINKTYPE_RAW_ALT 101 /* LINKTYPE_RAW, should a reader pass it */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

int cap_decode_supported(int dlt)
{
    switch (dlt) {
    case DLT_NULL: case DLT_EN10MB: case DLT_RAW: case LINKTYPE_RAW_ALT:
    case DLT_LOOP: case DLT_LINUX_SLL: case DLT_LINUX_SLL2: case DLT_IPV4:
    case DLT_IPV6:
        return 1;
    default:
        return 0;
    }
}

static enum cap_decode_result decode_tcp(const uint8_t *p, size_t n,
                                         uint32_t wire_n,
                                         struct cap_segment *out)
{
    if (n < 20)
        return CAP_DEC_MALFORMED;
    size_t hl = (size_t)(p[12] >> 4) * 4;
    if (hl < 20 || hl > n)
        return CAP_DEC_MALFORMED;
    out->sport = rd16(p);
    out->dport = rd16(p + 2);
    out->seq = rd32(p + 4);
    out->ack = rd32(p + 8);
    out->flags = p[13] & 0x3f;
    out->payload = p + hl;
    out->len = (uint32_t)(n - hl);
    out->wire_len = wire_n >= hl ? wire_n - (uint32_t)hl : out->len;
    if (out->wire_len < out->len)
        out->wire_len = out->len;
    return CAP_DEC_TCP;
}

static enum cap_decode_result decode_ipv4(const uint8_t *p, size_t n,
                                          struct cap_segment *out)
{
    if (n < 20 || (p[0] >> 4) != 4)
        return CAP_DEC_MALFORMED;
    size_t hl = (size_t)(p[0] & 15) * 4;
    size_t total = rd16(p + 2);
    if (hl < 20 || hl > n)
        return CAP_DEC_MALFORMED;
    if (total == 0) /* TSO: the stack filled in no length */
        total = n;
    if (total < hl)
        return CAP_DEC_MALFORMED;
    uint16_t frag = rd16(p + 6);
    if (frag & 0x3fffu) /* more-fragments flag or a non-zero offset */
        return CAP_DEC_FRAGMENT;
    if (p[9] != 6)
        return CAP_DEC_NON_TCP;
    out->family = 4;
    memset(out->src, 0, sizeof out->src);
    memset(out->dst, 0, sizeof out->dst);
    memcpy(out->src, p + 12, 4);
    memcpy(out->dst, p + 16, 4);
    size_t have = total < n ? total : n;
    return decode_tcp(p + hl, have - hl, (uint32_t)(total - hl), out);
}

static enum cap_decode_result decode_ipv6(const uint8_t *p, size_t n,
                                          struct cap_segment *out)
{
    if (n < 40 || (p[0] >> 4) != 6)
        return CAP_DEC_MALFORMED;
    size_t total = 40 + (size_t)rd16(p + 4);
    if (total == 40 && n > 40) /* jumbogram or TSO */
        total = n;
    size_t have = total < n ? total : n;
    uint8_t nh = p[6];
    size_t off = 40;
    for (int i = 0; i <= MAX_IPV6_EXT; i++) {
        switch (nh) {
        case 6:
            out->family = 6;
            memcpy(out->src, p + 8, 16);
            memcpy(out->dst, p + 24, 16);
            return decode_tcp(p + off, have - off, (uint32_t)(total - off),
                              out);
        case 0: case 43: case 60: case 135: case 139: case 140:
            /* hop-by-hop, routing, destination options, mobility, HIP,
             * shim6: length in 8-octet units, not counting the first */
            if (off + 8 > have)
                return CAP_DEC_MALFORMED;
            nh = p[off];
            off += ((size_t)p[off + 1] + 1) * 8;
            break;
        case 51: /* authentication header: length in 4-octet units */
            if (off + 8 > have)
                return CAP_DEC_MALFORMED;
            nh = p[off];
            off += ((size_t)p[off + 1] + 2) * 4;
            break;
        case 44: { /* fragment header */
            if (off + 8 > have)
                return CAP_DEC_MALFORMED;
            uint16_t fo = rd16(p + off + 2);
            if (fo & 0xfff9u) /* offset or more-fragments set */
                return CAP_DEC_FRAGMENT;
            nh = p[off]; /* atomic fragment: carry on */
            off += 8;
            break;
        }
        default:
            return CAP_DEC_NON_TCP;
        }
        if (off > have)
            return CAP_DEC_MALFORMED;
    }
    return CAP_DEC_MALFORMED; /* too many extension headers */
}

/* Dispatches on an EtherType, skipping VLAN tags. */
static enum cap_decode_result decode_ethertype(uint16_t type, const uint8_t *p,
                                               size_t n,
                                               struct cap_segment *out)
{
    for (int tags = 0; type == ETH_VLAN || type == ETH_QINQ ||
                       type == ETH_QINQ_OLD; tags++) {
        if (tags == MAX_VLAN_TAGS || n < 4)
            return CAP_DEC_MALFORMED;
        type = rd16(p + 2);
        p += 4;
        n -= 4;
    }
    if (type == ETH_IPV4)
        return decode_ipv4(p, n, out);
    if (type == ETH_IPV6)
        return decode_ipv6(p, n, out);
    return CAP_DEC_NON_TCP;
}

/* Raw IP: the version nibble says which. */
static enum cap_decode_result decode_ip(const uint8_t *p, size_t n,
                                        struct cap_segment *out)
{
    if (n < 1)
        return CAP_DEC_MALFORMED;
    if ((p[0] >> 4) == 4)
        return decode_ipv4(p, n, out);
    if ((p[0] >> 4) == 6)
        return decode_ipv6(p, n, out);
    return CAP_DEC_NON_TCP;
}

enum cap_decode_result cap_decode(int dlt, const uint8_t *f, size_t n,
                                  struct cap_segment *out)
{
    switch (dlt) {
    case DLT_EN10MB:
        if (n < 14)
            return CAP_DEC_MALFORMED;
        return decode_ethertype(rd16(f + 12), f + 14, n - 14, out);
    case DLT_LINUX_SLL:
        if (n < 16)
            return CAP_DEC_MALFORMED;
        return decode_ethertype(rd16(f + 14), f + 16, n - 16, out);
    case DLT_LINUX_SLL2:
        if (n < 20)
            return CAP_DEC_MALFORMED;
        return decode_ethertype(rd16(f), f + 20, n - 20, out);
    case DLT_RAW: case LINKTYPE_RAW_ALT:
        return decode_ip(f, n, out);
    case DLT_IPV4:
        return decode_ipv4(f, n, out);
    case DLT_IPV6:
        return decode_ipv6(f, n, out);
    case DLT_NULL: case DLT_LOOP:
        /* a 4-byte address family in the writer's byte order (NULL) or
         * network order (LOOP); AF_INET6 differs between systems, so the
         * IP version nibble decides */
        if (n < 4)
            return CAP_DEC_MALFORMED;
        return decode_ip(f + 4, n - 4, out);
    default:
        return CAP_DEC_NON_TCP;
    }
}
