/*
 * stream.h: the seam between TCP reassembly (tcp_flow) and the HTTP layer
 * (http_parse + exchange). The reassembler tracks each TCP connection in
 * both directions and delivers in-order byte runs, gap events and a close
 * event through struct cap_stream_ops; the HTTP layer frames messages,
 * pairs requests with responses and writes exchanges to the corpus.
 *
 * Direction: CAP_DIR_C2S is client to server. The reassembler decides which
 * side is the server: a port listed with --port, else the side that received
 * the SYN, else the side that receives bytes for which
 * cap_http_looks_like_request() is true. Until it knows, it buffers (bounded).
 */
#ifndef RP_CAP_STREAM_H
#define RP_CAP_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "corpus/corpus.h"
#include "proto/sniff.h"

enum cap_dir { CAP_DIR_C2S = 0, CAP_DIR_S2C = 1 };

enum cap_close_reason {
    CAP_CLOSE_FIN = 0,     /* both sides finished (or one FIN and idle) */
    CAP_CLOSE_RST,         /* reset */
    CAP_CLOSE_TIMEOUT,     /* idle longer than --flow-timeout */
    CAP_CLOSE_EVICTED,     /* dropped to stay under --max-memory */
    CAP_CLOSE_END,         /* end of input or capture stopped */
};

struct cap_conn_info {
    char client_addr[46];  /* textual IPv4 or IPv6 */
    uint16_t client_port;
    char server_addr[46];
    uint16_t server_port;
    int64_t first_us;      /* timestamp of the first packet, epoch µs */
    int saw_syn;           /* 1 when the handshake was seen */
};

/* Callbacks the reassembler calls; ctx is the HTTP layer's context, conn is
 * what open() returned for that connection. Data pointers are valid only
 * during the call. ts_us is the timestamp of the packet that carried the
 * bytes (for a run joined from several packets, each call has its own). */
struct cap_stream_ops {
    void *(*open)(void *ctx, const struct cap_conn_info *ci);
    void (*data)(void *ctx, void *conn, enum cap_dir dir, const uint8_t *p,
                 size_t n, int64_t ts_us);
    /* Bytes were lost in dir (a gap the reassembler could not fill). The
     * next data() call in dir continues after the gap. */
    void (*gap)(void *ctx, void *conn, enum cap_dir dir, uint64_t lost_bytes,
                int64_t ts_us);
    /* The half-stream in dir ended with a FIN (close-delimited bodies end
     * here). Called at most once per direction. */
    void (*fin)(void *ctx, void *conn, enum cap_dir dir, int64_t ts_us);
    /* The connection is gone; conn must be released. Called exactly once
     * for each open(). */
    void (*close)(void *ctx, void *conn, enum cap_close_reason why,
                  int64_t ts_us);
    /* Optional: bytes the layer holds for its connections, so --max-memory
     * covers them too; the reassembler evicts flows while its own bytes
     * plus these exceed the cap. Must be cheap (called per packet). */
    uint64_t (*memory_bytes)(void *ctx);
};

/* ---- the HTTP layer (capture/exchange.c) ------------------------------- */

struct cap_http_opts {
    uint64_t max_body_bytes;      /* bodies stored up to this size */
    int redact;                   /* 1: redact default + listed headers */
    const char *const *redact_headers; /* extra header names, NULL-ended */
    const char *const *redact_query;   /* query parameter names, NULL-ended */
    uint64_t max_memory_bytes;    /* --max-memory: queued pipelined requests
                                     are trimmed beyond half of it; 0 = 512 MiB */
};

/* Counters the HTTP layer keeps; the capture command stores them (see
 * CORPUS_CAPTURE_STATS for their meaning). Every request seen is written as
 * an exchange or counted by cause:
 *     requests = exchanges + lost_tunnel + lost_no_memory */
struct cap_http_stats {
    uint64_t requests, exchanges;
    uint64_t lost_tunnel, lost_no_memory, requests_in_gaps;
    uint64_t incomplete, no_response, malformed, ambiguous, http09, upgraded;
    uint64_t unpaired_responses, unframed_bytes;
    uint64_t unparsable;               /* connections without HTTP/1.x */
    uint64_t proto[PROTO__COUNT];      /* ... of them by protocol
                                          (PROTO_OTHER: not recognized) */
};

struct cap_http;
/* Creates the HTTP layer writing into capture capture_id of c (not owned).
 * Returns NULL on allocation failure. */
struct cap_http *cap_http_new(struct corpus *c, int64_t capture_id,
                              const struct cap_http_opts *opts);
/* The callbacks to hand to the reassembler, with cap_http as ctx. */
const struct cap_stream_ops *cap_http_ops(void);
/* 0, or the first corpus write error (err filled); capture stops then. */
int cap_http_error(const struct cap_http *h, char *err);
void cap_http_stats(const struct cap_http *h, struct cap_http_stats *out);
/* Frees the layer; every connection must have been closed first. */
void cap_http_free(struct cap_http *h);

/* True when p[0..n) starts like an HTTP/1.x request line ("GET / HTTP/1.1",
 * a known method token followed by a space). n may be short; returns 1 only
 * when sure. */
int cap_http_looks_like_request(const uint8_t *p, size_t n);
/* True when p[0..n) starts like a status line ("HTTP/1.x NNN"). */
int cap_http_looks_like_response(const uint8_t *p, size_t n);

#endif
