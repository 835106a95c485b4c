/*
 * exchange.h: what the HTTP layer (exchange.c) offers beyond the stream.h
 * seam. The reassembler's memory cap (--max-memory) should count the memory
 * the HTTP layer holds for open connections: connection state, heads split
 * across packets, and requests queued until their responses come (bodies
 * up to --max-body each). A pipelined queue is trimmed on its own (its
 * oldest requests are written without a response, which is then skipped)
 * once its connection holds more than 2 x --max-body + 1 MiB, or the whole
 * layer more than half of cap_http_opts.max_memory_bytes (--max-memory).
 */
#ifndef RP_CAP_EXCHANGE_H
#define RP_CAP_EXCHANGE_H

#include <stdint.h>

#include "capture/stream.h"

/* Writes the correlations learned (learn.h) into the corpus, after
 * flushing the exchanges they refer to; *count gets how many. Call once,
 * when every connection is closed. 0 or a negative code. */
int cap_http_write_links(struct cap_http *h, uint64_t *count, char *err);

/* Bytes the HTTP layer holds now for all open connections. */
uint64_t cap_http_memory_bytes(const struct cap_http *h);

#endif
