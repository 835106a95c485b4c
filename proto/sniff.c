/*
 * sniff.c: the opening-bytes signatures of sniff.h. Each test reads a fixed
 * prefix and checks fields a random or HTTP byte stream is very unlikely to
 * match (TLS: record type, version and length; PostgreSQL: length and a
 * protocol code; MySQL: length, sequence 0, protocol 10).
 */
#include "proto/sniff.h"

#include <string.h>

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* A TLS record header: type 20..23, version 3.0-3.4, length 1..2^14+2048;
 * at the start of a client's stream a ClientHello. */
static int tls_record(const uint8_t *p, size_t n, int from_client)
{
    if (n >= 3 && (p[0] & 0x80) && p[2] == 0x01 && n >= 4 && p[3] <= 0x03)
        return from_client; /* SSLv2-style ClientHello */
    if (n < 5 || p[0] < 0x14 || p[0] > 0x17 || p[1] != 0x03 || p[2] > 0x04)
        return 0;
    unsigned len = (unsigned)p[3] << 8 | p[4];
    if (len == 0 || len > 18432)
        return 0;
    return 1;
}

/* The HTTP/2 client preface, or a server's first SETTINGS frame. */
static int http2_start(const uint8_t *p, size_t n, int from_client)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    if (from_client) {
        size_t k = n < sizeof preface - 1 ? n : sizeof preface - 1;
        return k >= 14 && !memcmp(p, preface, k);
    }
    if (n < 9 || p[3] != 0x04 || (p[4] & ~1u) || be32(p + 5) != 0)
        return 0;
    uint32_t len = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return len % 6 == 0 && len <= 16384 && (!(p[4] & 1) || len == 0);
}

/* "*<n>\r\n$<n>\r\n": a RESP array of bulk strings, as clients send. */
static int redis_start(const uint8_t *p, size_t n, int from_client)
{
    if (!from_client) {
        static const char *const replies[] = {"+OK\r\n", "+PONG\r\n",
                                              "-ERR ", "-NOAUTH ", NULL};
        for (int i = 0; replies[i]; i++) {
            size_t l = strlen(replies[i]);
            if (n >= l && !memcmp(p, replies[i], l))
                return 1;
        }
        return 0;
    }
    size_t i = 1;
    if (n < 6 || p[0] != '*' || !is_digit(p[1]))
        return 0;
    while (i < n && i < 8 && is_digit(p[i]))
        i++;
    return i + 2 < n && p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '$';
}

/* A startup message (protocol 3.0), an SSLRequest, GSSENCRequest or
 * CancelRequest. */
static int postgres_start(const uint8_t *p, size_t n, int from_client)
{
    if (!from_client || n < 8)
        return 0;
    uint32_t len = be32(p), code = be32(p + 4);
    return (code == 196608u && len > 8 && len <= 10000) ||
           (len == 8 && (code == 80877103u || code == 80877104u)) ||
           (len == 16 && code == 80877102u);
}

/* The server greeting: 3-byte length, sequence 0, protocol 10, version. */
static int mysql_start(const uint8_t *p, size_t n, int from_client)
{
    if (from_client || n < 6)
        return 0;
    uint32_t len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    return len >= 20 && len < 1024 && p[3] == 0 && p[4] == 0x0a &&
           is_digit(p[5]);
}

static int ssh_start(const uint8_t *p, size_t n, int from_client)
{
    (void)from_client;
    return n >= 5 && !memcmp(p, "SSH-", 4) && is_digit(p[4]);
}

enum proto_kind proto_sniff(const uint8_t *p, size_t n, int from_client)
{
    if (tls_record(p, n, from_client))
        return PROTO_TLS;
    if (http2_start(p, n, from_client))
        return PROTO_HTTP2;
    if (redis_start(p, n, from_client))
        return PROTO_REDIS;
    if (postgres_start(p, n, from_client))
        return PROTO_POSTGRES;
    if (mysql_start(p, n, from_client))
        return PROTO_MYSQL;
    if (ssh_start(p, n, from_client))
        return PROTO_SSH;
    return PROTO_UNKNOWN;
}

struct kind_info {
    const char *name, *label, *advice;
};

static const struct kind_info kinds[PROTO__COUNT] = {
    [PROTO_UNKNOWN] = {"", "", ""},
#define PROTO_INFO(k, name, label, advice) [k] = {name, label, advice},
    PROTO_KINDS(PROTO_INFO)
#undef PROTO_INFO
};

static const struct kind_info *info(enum proto_kind k)
{
    return &kinds[(unsigned)k < PROTO__COUNT ? k : PROTO_UNKNOWN];
}

const char *proto_name(enum proto_kind k) { return info(k)->name; }
const char *proto_label(enum proto_kind k) { return info(k)->label; }
const char *proto_advice(enum proto_kind k) { return info(k)->advice; }
