/*
 * oracle.h: a differential oracle for reprise's HTTP/1.x framer
 * (proto/http_parse), used by the tests only. The same bytes go through
 * llhttp, Node.js's parser (Debian's node-llhttp, compiled in strict mode)
 * and through http_stream; the messages each frames are recorded as the
 * offset where a message ends, its method, target, status and body length,
 * and compared on the prefix that llhttp accepts. llhttp is never linked
 * into the product; llhttp_oracle.c is the only file that includes its
 * header (its names clash with ours).
 */
#ifndef RP_TEST_ORACLE_H
#define RP_TEST_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#define ORACLE_MSGS_MAX 64
#define ORACLE_TARGET_MAX 128 /* target bytes compared (and its length) */

struct oracle_msg {
    size_t end;                      /* offset just past the message */
    char method[24];                 /* requests */
    char target[ORACLE_TARGET_MAX];  /* requests, first bytes */
    size_t target_len;               /* its whole length */
    int status;                      /* responses */
    int version;                     /* llhttp: major * 10 + minor */
    uint32_t anomalies;              /* ours: HTTP_A_* of the message */
    uint64_t body_len;               /* body bytes (de-chunked) */
};

struct oracle_result {
    struct oracle_msg msg[ORACLE_MSGS_MAX];
    int n;            /* messages completed */
    int stopped;      /* llhttp: it stopped (an error, or an upgrade or
                         CONNECT it does not parse past); ours: an error */
    char why[64];     /* llhttp's error name, or "upgrade" */
    uint32_t pending_anomalies; /* ours: of the message it stopped in */
};

/* llhttp, strict mode, no lenient flags. */
void oracle_llhttp(const uint8_t *p, size_t n, int is_request,
                   struct oracle_result *out);
/* reprise's framer, fed in runs cut at cuts[0..ncuts) (ascending). */
void oracle_ours(const uint8_t *p, size_t n, int is_request,
                 const size_t *cuts, int ncuts, struct oracle_result *out);
/* NULL when every message llhttp completed was framed the same by ours,
 * else a description of the first difference (static storage), with *at
 * the index of the first message that differs. */
const char *oracle_compare(const struct oracle_result *theirs,
                           const struct oracle_result *ours, int is_request,
                           int *at);

/* When llhttp 8's framing of theirs->msg[at] differs from reprise's on
 * purpose, the reason (see DESIGN.md, "llhttp as an oracle"); else NULL. */
const char *oracle_deliberate(const uint8_t *p, size_t n,
                              const struct oracle_result *theirs,
                              const struct oracle_result *ours, int at,
                              int is_request);

#endif
