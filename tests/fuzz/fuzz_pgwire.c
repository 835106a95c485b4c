/*
 * fuzz_pgwire.c: libFuzzer target for the PostgreSQL v3 framer and the
 * statement normaliser. The first input byte picks the direction (bit 0:
 * client), whether the stream opens with an SSLRequest exchange (bit 1:
 * the server reader expects the one-byte answer first; the client reader
 * is told expect_untyped after each SSLRequest) and a seed for the run
 * lengths (bits 2-7). The rest is framed whole, cut into runs, and one byte
 * per call: pg_read must consume at most what it is given, make progress,
 * and frame the same messages with the same violation at the same offset
 * whatever the cuts. Each framed message goes through every accessor, whose
 * views must lie inside it. pg_normalize runs on the input with a small and
 * a big cap: NUL-terminated, bounded, the small result a prefix of the big.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/pgwire.h"

struct tally {
    uint64_t hash;   /* FNV-1a over (end offset, type, code, answer) */
    uint64_t msgs;
    uint64_t at;     /* bytes consumed */
    uint64_t end;    /* where the last message framed ends */
    const char *why; /* the violation, NULL when none */
};

static void mix(struct tally *t, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        t->hash ^= (v >> (8 * i)) & 0xff;
        t->hash *= 1099511628211ull;
    }
}

static void in_msg(const uint8_t *m, size_t n, const char *s)
{
    if ((const uint8_t *)s < m || (const uint8_t *)s >= m + n)
        abort();
    size_t l = strnlen(s, (size_t)(m + n - (const uint8_t *)s));
    if ((const uint8_t *)s + l >= m + n) /* no NUL inside the message */
        abort();
}

static void accessors(const uint8_t *m, size_t n)
{
    const char *a, *b;
    size_t l;
    char st[6];
    uint32_t code;
    const uint8_t *data;
    char z;
    if (pg_msg_query(m, n, &a, &l) == 0) {
        in_msg(m, n, a);
        if (strlen(a) != l)
            abort();
    }
    if (pg_msg_parse(m, n, &a, &b, &l) == 0) {
        in_msg(m, n, a);
        in_msg(m, n, b);
        if (strlen(b) != l)
            abort();
    }
    if (pg_msg_bind(m, n, &a, &b) == 0) {
        in_msg(m, n, a);
        in_msg(m, n, b);
    }
    if (pg_msg_error(m, n, st, &a, &l) == 0) {
        in_msg(m, n, a);
        if (strlen(a) != l || (st[0] && strlen(st) != 5))
            abort();
    }
    if (pg_msg_command_tag(m, n, &a, &l) == 0)
        in_msg(m, n, a);
    if (pg_msg_startup_param(m, n, "user", &a) == 0)
        in_msg(m, n, a);
    if (pg_msg_auth(m, n, &code, &data, &l) == 0)
        if (data < m || data + l != m + n)
            abort();
    if (pg_msg_ready(m, n, &z) == 0 && z != 'I' && z != 'T' && z != 'E')
        abort();
}

/* Frames p[0..n) in runs: whole when seed is 0, one byte when it is 1,
 * else of lengths 1..64 from a generator seeded with seed. */
static void run(const uint8_t *p, size_t n, int from_client, int ssl,
                unsigned seed, struct tally *t)
{
    struct pg_reader r;
    pg_reader_init(&r, from_client);
    if (ssl && !from_client)
        pg_reader_expect_answer(&r);
    memset(t, 0, sizeof *t);
    t->hash = 14695981039346656037ull;
    uint32_t x = seed * 2654435761u + 1;
    size_t msg_start = 0;
    while (t->at < n && !t->why) {
        size_t len = n - t->at;
        if (seed == 1) {
            len = 1;
        } else if (seed > 1) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if (len > (x & 63) + 1)
                len = (x & 63) + 1;
        }
        const uint8_t *q = p + t->at;
        unsigned guard = 0;
        while (len > 0) {
            int done;
            struct pg_msg m;
            const char *why = NULL;
            long k = pg_read(&r, q, len, &done, &m, &why);
            if (k < 0) {
                if (!why)
                    abort();
                t->why = why;
                break;
            }
            if ((size_t)k > len)
                abort();
            if (k == 0 && !done)
                abort(); /* no progress */
            if (!done && (size_t)k != len)
                abort();
            q += k;
            len -= (size_t)k;
            t->at += (size_t)k;
            if (done) {
                if (m.bytes != t->at - msg_start)
                    abort();
                accessors(p + msg_start, (size_t)m.bytes);
                t->msgs++;
                t->end = t->at;
                mix(t, t->at);
                mix(t, (uint64_t)(uint8_t)m.type << 40 |
                           (uint64_t)(uint8_t)m.answer << 32 | m.code);
                if (ssl && from_client && m.type == 0 &&
                    m.code == PG_CODE_SSL)
                    pg_reader_expect_untyped(&r);
                msg_start = t->at;
            }
            if (++guard > 1000000)
                abort();
        }
    }
}

static void same(const struct tally *a, const struct tally *b)
{
    if (a->hash != b->hash || a->msgs != b->msgs || a->end != b->end ||
        a->why != b->why || (!a->why && a->at != b->at))
        abort(); /* framing depends on the split points */
}

static void normalize(const uint8_t *data, size_t size)
{
    char small[24];
    size_t bigcap = size * 6 + 64;
    char *big = malloc(bigcap);
    if (!big)
        return;
    memset(small, 'x', sizeof small);
    size_t ls = pg_normalize((const char *)data, size, small, sizeof small);
    size_t lb = pg_normalize((const char *)data, size, big, bigcap);
    if (ls >= sizeof small || small[ls] != 0 || strlen(small) != ls)
        abort();
    if (lb >= bigcap || big[lb] != 0 || strlen(big) != lb)
        abort();
    if (lb + 1 < bigcap && (ls > lb || memcmp(small, big, ls) != 0))
        abort(); /* the cut result is not a prefix of the whole one */
    char one;
    if (pg_normalize((const char *)data, size, &one, 1) != 0 || one != 0)
        abort();
    free(big);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    normalize(data, size);
    int from_client = data[0] & 1, ssl = (data[0] >> 1) & 1;
    unsigned seed = (unsigned)(data[0] >> 2) + 2;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    struct tally whole, cut, bytes;
    run(p, n, from_client, ssl, 0, &whole);
    run(p, n, from_client, ssl, seed, &cut);
    same(&whole, &cut);
    if (n <= 8192) {
        run(p, n, from_client, ssl, 1, &bytes);
        same(&whole, &bytes);
    }
    return 0;
}
