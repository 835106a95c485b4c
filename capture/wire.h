/*
 * wire.h: the capture layer for request/response protocols other than
 * HTTP/1.x, behind the same stream.h seam: Redis (RESP2/RESP3, framed by
 * proto/resp), PostgreSQL (protocol v3, framed by proto/pgwire) and a
 * generic turn-taking mode for any other TCP protocol. Each exchange it
 * writes is one unit of work with its reply and wire timings:
 *   redis     one command and its reply; pipelined commands pair in order,
 *             pushes (RESP3 '>', RESP2 pub/sub messages) are counted, not
 *             replies; MULTI/QUEUED/EXEC pair as they come
 *   postgres  one simple Query, or one extended-query batch up to its Sync
 *             (Parse/Bind/Describe/Execute...), with the replies up to its
 *             ReadyForQuery; COPY data goes with the query that started it
 *             and is counted; the startup and authentication are not stored
 *             (passwords never are), they are counted as startups
 *   tcp       the client's bytes up to the server's first reply, and the
 *             reply up to the client's next bytes; a server that speaks
 *             first (a banner) gives an exchange with an empty request
 * The exchange's columns (corpus/SCHEMA.md, "Other protocols"): version
 * names the protocol ("RESP2", "RESP3", "PG3", "TCP"); method and target
 * make its endpoint (the command with its sub-command, and the script sha
 * of EVALSHA; the normalised statement's first keyword and the rest; the
 * first word of a tcp message); the request body is the client's bytes as
 * sent (secrets replaced by markers), the response body the reply's bytes
 * (PostgreSQL: without NoticeResponse, ParameterStatus and notifications,
 * which come asynchronously); status is 200 for a reply and 500 for an
 * error reply, with the error code (Redis) or SQLSTATE (PostgreSQL), or
 * the last command tag ("SELECT 5"), as reason.
 */
#ifndef RP_CAP_WIRE_H
#define RP_CAP_WIRE_H

#include <stdint.h>

#include "capture/stream.h"

enum cap_wire_proto { CAP_WIRE_REDIS = 1, CAP_WIRE_PG, CAP_WIRE_TCP };

struct cap_wire_opts {
    uint64_t max_body_bytes;   /* request and reply bytes stored per exchange */
    uint64_t max_memory_bytes; /* --max-memory; 0 = 512 MiB */
    int no_redact;             /* --no-redact: Redis AUTH arguments and SQL
                                  setting a PASSWORD are kept as sent (the
                                  startup and PasswordMessages never are:
                                  they are not part of any exchange) */
};

/* Counters; requests = exchanges + lost_no_memory (nothing else is lost
 * without being written). */
struct cap_wire_stats {
    uint64_t requests, exchanges, lost_no_memory;
    uint64_t incomplete, no_response, malformed, unpaired_responses;
    uint64_t unframed_bytes;
    uint64_t pushes;           /* server pushes, not replies */
    uint64_t copies;           /* PostgreSQL COPY operations */
    uint64_t startups;         /* PostgreSQL startups (not stored) */
    uint64_t secrets;          /* values replaced by markers */
    uint64_t tls;              /* connections that went on in TLS */
    uint64_t conns[4];         /* connections by enum cap_wire_proto */
};

struct cap_wire;
/* Creates the layer writing into capture capture_id of c (not owned).
 * NULL when out of memory. */
struct cap_wire *cap_wire_new(struct corpus *c, int64_t capture_id,
                              const struct cap_wire_opts *opts);
/* The stream callbacks, with cap_wire as ctx: open() must be followed by
 * cap_wire_set_proto before any data. */
const struct cap_stream_ops *cap_wire_ops(void);
void cap_wire_set_proto(void *conn, enum cap_wire_proto p);
int cap_wire_error(const struct cap_wire *w, char *err);
void cap_wire_stats(const struct cap_wire *w, struct cap_wire_stats *out);
uint64_t cap_wire_memory_bytes(const struct cap_wire *w);
void cap_wire_free(struct cap_wire *w);

/* "redis", "postgres", "tcp" <-> the enum; 0 when unknown. */
enum cap_wire_proto cap_wire_proto_parse(const char *name);

#endif
