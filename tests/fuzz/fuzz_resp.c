/*
 * fuzz_resp.c: libFuzzer target for the RESP framer. The first input byte
 * chooses the side (bit 0: client) and how the rest is cut (the other bits:
 * 0 one byte at a time, 1..63 runs of that many bytes, 64..127 runs whose
 * lengths are the input's own bytes). The rest is framed whole and cut;
 * the framer must not crash, over-read or loop, must consume at most what
 * it is given and make progress, its messages (with skipped blanks) must
 * add up to the bytes consumed, and both runs must give the same messages
 * and the same failure. Every client message framed from the whole input
 * is split, named, checked for secrets, written back and framed again to
 * the same arguments.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/rp.h"
#include "proto/resp.h"

struct tally {
    uint64_t msgs;
    uint64_t hash;     /* FNV-1a over every message's fields */
    int err;
    const char *why;
};

static void mix(uint64_t *h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        *h ^= b[i];
        *h *= 1099511628211ull;
    }
}

static void check_command(const uint8_t *msg, const struct resp_msg *m)
{
    struct resp_arg argv[64], back[64];
    int argc, argc2;
    if (resp_split_command(msg, (size_t)m->bytes, argv, 64, &argc))
        abort(); /* the framer accepted it as a command */
    if (m->type == '*' && argc != m->nelem)
        abort();
    if (argc < 1 || argc > 64)
        return;
    char name[64], detail[48];
    resp_command_name(argv, argc, name, sizeof name, detail, sizeof detail);
    if (strlen(name) >= sizeof name || strlen(detail) >= sizeof detail)
        abort();
    for (int i = -1; i <= argc; i++)
        (void)resp_arg_is_secret(argv, argc, i);
    struct rp_buf b;
    rp_buf_init(&b, 0);
    if (resp_write_command(&b, argv, argc))
        abort();
    struct resp_reader r;
    resp_reader_init(&r, 1);
    int done;
    struct resp_msg m2;
    const char *why;
    long k = resp_read(&r, (const uint8_t *)b.data, b.len, &done, &m2, &why);
    if (k != (long)b.len || !done || m2.bytes != b.len || m2.nelem != argc)
        abort();
    if (resp_split_command((const uint8_t *)b.data, b.len, back, 64,
                           &argc2) || argc2 != argc)
        abort();
    for (int i = 0; i < argc; i++)
        if (back[i].n != argv[i].n ||
            (argv[i].n && memcmp(back[i].p, argv[i].p, argv[i].n)))
            abort();
    rp_buf_cleanup(&b);
}

/* Frames p[0..n) in runs: cut 0 whole, else as the header byte says. */
static void run(int client, unsigned pattern, int whole, const uint8_t *p,
                size_t n, struct tally *t)
{
    struct resp_reader r;
    resp_reader_init(&r, client);
    memset(t, 0, sizeof *t);
    t->hash = 1469598103934665603ull;
    uint64_t since = 0;
    size_t at = 0, ci = 0;
    while (at < n) {
        size_t len = n - at;
        if (!whole) {
            size_t want;
            if (pattern == 0)
                want = 1;
            else if (pattern < 64)
                want = pattern;
            else
                want = (size_t)p[ci++ % n] + 1;
            if (want < len)
                len = want;
        }
        const uint8_t *q = p + at;
        size_t left = len;
        unsigned guard = 0;
        while (left > 0) {
            int done = 5;
            struct resp_msg m;
            const char *why = NULL;
            long k = resp_read(&r, q, left, &done, &m, &why);
            if (k < 0) {
                if (k != -1 || !why || done != 0)
                    abort();
                t->err = 1;
                t->why = why;
                return;
            }
            if ((size_t)k > left)
                abort();
            if (k == 0)
                abort(); /* no progress on a non-empty run */
            if (!done && (size_t)k != left)
                abort();
            since += (uint64_t)k;
            q += k;
            left -= (size_t)k;
            if (done) {
                if (done != 1 || m.bytes + m.skipped != since ||
                    m.first[sizeof m.first - 1] != '\0')
                    abort();
                if (client && m.type != '*' && m.type != 'i')
                    abort();
                if (whole && client)
                    check_command(q - m.bytes, &m);
                since = 0;
                t->msgs++;
                mix(&t->hash, &m.type, 1);
                mix(&t->hash, &m.push, sizeof m.push);
                mix(&t->hash, &m.nelem, sizeof m.nelem);
                mix(&t->hash, m.first, strlen(m.first));
                mix(&t->hash, &m.bytes, sizeof m.bytes);
                mix(&t->hash, &m.skipped, sizeof m.skipped);
            }
            if (++guard > 10000000)
                abort();
        }
        at += len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int client = data[0] & 1;
    unsigned pattern = data[0] >> 1;
    struct tally whole, cut;
    run(client, pattern, 1, data + 1, size - 1, &whole);
    run(client, pattern, 0, data + 1, size - 1, &cut);
    if (whole.msgs != cut.msgs || whole.hash != cut.hash ||
        whole.err != cut.err || whole.why != cut.why)
        abort(); /* framing depends on the cut points */
    return 0;
}
