/*
 * sniff.h: names the protocol a TCP stream speaks from its first bytes, for
 * the streams the HTTP/1.x framer cannot parse: a TLS ClientHello (or any
 * TLS record), the HTTP/2 connection preface, and a few common non-HTTP
 * protocols (Redis, PostgreSQL, MySQL, SSH). Capture counts such
 * connections by protocol and tells the user what to do about each, instead
 * of reporting "unparsable streams" and nothing else. The signatures are
 * the protocols' fixed opening bytes, none of which can start an HTTP/1.x
 * message, so sniffing never takes an HTTP stream for another protocol.
 */
#ifndef RP_PROTO_SNIFF_H
#define RP_PROTO_SNIFF_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_NOT_OURS                                                      \
    "reprise records HTTP/1.x, Redis and PostgreSQL by their framing, and " \
    "other turn-taking protocols with --protocol tcp; or leave these out "  \
    "with --port or a BPF filter"

/* X(kind, name, label, advice): name is the key used in statistics
 * ("<name>_connections"), label is for people, advice says what to do. */
#define PROTO_KINDS(X)                                                      \
    X(PROTO_TLS, "tls", "TLS",                                              \
      "capture behind the TLS terminator (where a load balancer or proxy "  \
      "forwards plain HTTP), or capture plain-HTTP traffic")                \
    X(PROTO_HTTP2, "http2", "HTTP/2",                                       \
      "not supported yet: reprise records HTTP/1.x; capture where a proxy " \
      "speaks HTTP/1.1 to the backend")                                     \
    X(PROTO_REDIS, "redis", "Redis",                                        \
      "record them with --protocol redis (or without --protocol)")          \
    X(PROTO_POSTGRES, "postgresql", "PostgreSQL",                           \
      "record them with --protocol postgres (or without --protocol)")       \
    X(PROTO_MYSQL, "mysql", "MySQL",                                        \
      PROTO_NOT_OURS)                                                       \
    X(PROTO_SSH, "ssh", "SSH",                                              \
      PROTO_NOT_OURS)                                                       \
    X(PROTO_OTHER, "other", "not HTTP/1.x (protocol unknown)",              \
      "check --port and the BPF filter, or whether the capture started "    \
      "in the middle of these connections")

enum proto_kind {
    PROTO_UNKNOWN = 0, /* nothing recognized: try HTTP/1.x */
#define PROTO_ENUM(k, name, label, advice) k,
    PROTO_KINDS(PROTO_ENUM)
#undef PROTO_ENUM
    PROTO__COUNT
};

/* The protocol p[0..n) starts, the first payload of one direction
 * (from_client: 1 for the client's bytes, 0 for the server's), or
 * PROTO_UNKNOWN. PROTO_OTHER is never returned: it is for streams nothing
 * could parse. Reads at most 24 bytes. */
enum proto_kind proto_sniff(const uint8_t *p, size_t n, int from_client);

/* "tls", "TLS", and the advice of a kind ("" for PROTO_UNKNOWN). */
const char *proto_name(enum proto_kind k);
const char *proto_label(enum proto_kind k);
const char *proto_advice(enum proto_kind k);

#endif
