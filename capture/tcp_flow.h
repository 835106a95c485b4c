/*
 * tcp_flow.h: the flow table and TCP reassembler. Each TCP connection (both
 * directions of a 4-tuple map to one flow) is tracked in a hash table; each
 * direction's bytes are delivered in sequence order through the
 * cap_stream_ops of stream.h. In-order payload is delivered straight from
 * the packet; only out-of-order segments are copied and buffered.
 * Retransmissions and overlaps are trimmed (the first copy of a byte wins),
 * sequence numbers use serial arithmetic (wraparound is fine), a stream
 * picked up without its handshake starts at the first segment seen, and a
 * hole that cannot be filled (the peer acknowledged past it, the buffer
 * limit was hit, or the flow ended) is reported as a gap before delivery
 * goes on. Idle flows expire by packet time; a global memory cap evicts the
 * least recently active flows.
 */
#ifndef RP_CAP_TCP_FLOW_H
#define RP_CAP_TCP_FLOW_H

#include <stdint.h>

#include "capture/decode.h"
#include "capture/stream.h"

struct tcp_opts {
    const uint16_t *server_ports; /* --port list, or NULL */
    int nserver_ports;
    int64_t flow_timeout_us;      /* idle flows expire; 0 = never */
    uint64_t max_memory_bytes;    /* flow state + buffered bytes; 0 = none */
    uint64_t max_ooo_bytes;       /* per direction buffered out-of-order
                                     bytes before the hole is declared lost;
                                     0 = default (4 MiB) */
    double sample_ratio;          /* keep this share of connections; 0 or
                                     >= 1 keeps all */
    /* Direction sniffers for streams without a handshake or --port; NULL
     * falls back to "the lower port is the server". */
    int (*looks_like_request)(const uint8_t *p, size_t n);
    int (*looks_like_response)(const uint8_t *p, size_t n);
};

struct tcp_stats {
    uint64_t flows;          /* connections handed to the HTTP layer */
    uint64_t gaps;           /* holes reported through ops->gap */
    uint64_t gap_bytes;      /* bytes in those holes */
    uint64_t evictions;      /* flows closed to stay under the memory cap */
    uint64_t timeouts;       /* flows closed for idleness */
    uint64_t sampled_out;    /* packets of connections skipped by --sample */
    uint64_t active;         /* flows in the table now */
    uint64_t mem_bytes;      /* memory accounted now */
    uint64_t mem_peak_bytes;
};

struct tcp_table;

/* Creates a table delivering to ops with ctx. opts is copied (the port
 * array is not: it must outlive the table). Returns NULL when out of
 * memory. */
struct tcp_table *tcp_table_new(const struct tcp_opts *opts,
                                const struct cap_stream_ops *ops, void *ctx);
/* Feeds one decoded segment seen at ts_us. Callbacks run from inside. */
void tcp_table_segment(struct tcp_table *t, const struct cap_segment *seg,
                       int64_t ts_us);
/* Expires flows idle since before now_us - flow_timeout (packet time or,
 * on a quiet live interface, the wall clock). */
void tcp_table_expire(struct tcp_table *t, int64_t now_us);
/* Closes every flow (remaining buffered data is delivered, holes reported
 * as gaps) with reason why. */
void tcp_table_close_all(struct tcp_table *t, enum cap_close_reason why,
                         int64_t ts_us);
void tcp_table_stats(const struct tcp_table *t, struct tcp_stats *out);
/* Frees the table; flows still open are closed with CAP_CLOSE_END first.
 * Accepts NULL. */
void tcp_table_free(struct tcp_table *t);

/* Symmetric hash of a segment's 4-tuple (same value for both directions);
 * used for the table and for --sample. */
uint64_t tcp_tuple_hash(const struct cap_segment *seg);

#endif
