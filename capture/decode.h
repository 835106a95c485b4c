/*
 * decode.h: turns one captured frame into a view of its TCP segment. It
 * walks the link header (Ethernet with 802.1Q/QinQ tags, Linux SLL and SLL2,
 * raw IPv4/IPv6, BSD loopback NULL/LOOP), the IP header (IPv4 options, IPv6
 * extension headers) and the TCP header, and points at the payload inside
 * the caller's frame. It allocates and copies nothing, so the reassembler
 * can deliver in-order payload straight from the packet.
 */
#ifndef RP_CAP_DECODE_H
#define RP_CAP_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* TCP flag bits as on the wire. */
#define CAP_TCP_FIN 0x01u
#define CAP_TCP_SYN 0x02u
#define CAP_TCP_RST 0x04u
#define CAP_TCP_PSH 0x08u
#define CAP_TCP_ACK 0x10u

enum cap_decode_result {
    CAP_DEC_TCP = 0,      /* *out describes a TCP segment */
    CAP_DEC_NON_TCP,      /* not IP, or IP but not TCP */
    CAP_DEC_FRAGMENT,     /* an IP fragment (not reassembled) */
    CAP_DEC_MALFORMED,    /* truncated or inconsistent headers */
};

/* A decoded TCP segment. Pointers are views into the frame given to
 * cap_decode and are valid as long as that frame is. */
struct cap_segment {
    uint8_t family;        /* 4 or 6 */
    uint8_t flags;         /* CAP_TCP_* */
    uint16_t sport, dport; /* host byte order */
    uint8_t src[16], dst[16]; /* IPv4 uses the first 4 bytes, rest zero */
    uint32_t seq, ack;     /* host byte order */
    const uint8_t *payload;
    uint32_t len;          /* payload bytes present in the frame */
    uint32_t wire_len;     /* payload bytes on the wire (> len when the
                              snapshot length cut the frame) */
};

/* Returns 1 when reprise can decode link type dlt (a DLT_* value as
 * returned by pcap_datalink), else 0. */
int cap_decode_supported(int dlt);

/* Decodes frame[0..caplen) of link type dlt into *out. Returns a
 * cap_decode_result; *out is only meaningful for CAP_DEC_TCP. */
enum cap_decode_result cap_decode(int dlt, const uint8_t *frame,
                                  size_t caplen, struct cap_segment *out);

#endif
