/*
 * fuzz_llhttp.c: libFuzzer differential target. The input (its first byte
 * chooses requests or responses) is framed by llhttp in strict mode and by
 * reprise's framer, whole and cut into runs at offsets taken from the
 * input; every message llhttp completes must be framed identically by
 * reprise: where it ends, method, target, status and body length. A
 * difference aborts, unless oracle_deliberate() explains it (each such
 * case is documented in DESIGN.md, "llhttp as an oracle").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/oracle/oracle.h"

static void report(const char *what, const uint8_t *p, size_t n,
                   const char *diff)
{
    fprintf(stderr, "llhttp and reprise differ (%s): %s\ninput: \"", what,
            diff);
    for (size_t i = 0; i < n && i < 2048; i++)
        fprintf(stderr, p[i] >= 32 && p[i] < 127 && p[i] != '"' &&
                        p[i] != '\\' ? "%c" : "\\x%02x", p[i]);
    fprintf(stderr, "\"\n");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct oracle_result theirs, ours;
    if (size < 2)
        return 0;
    int is_request = data[0] & 1;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    oracle_llhttp(p, n, is_request, &theirs);
    if (theirs.n == 0)
        return 0;
    int at;
    oracle_ours(p, n, is_request, NULL, 0, &ours);
    const char *d = oracle_compare(&theirs, &ours, is_request, &at);
    if (d && !oracle_deliberate(p, n, &theirs, &ours, at, is_request))
        report("whole", p, n, d);
    /* cut points from the input's bytes (reprise is split-invariant) */
    size_t cuts[8];
    int nc = 0;
    for (size_t i = 0; i < n && nc < 8; i += 1 + p[i] % 61)
        cuts[nc++] = i;
    oracle_ours(p, n, is_request, cuts, nc, &ours);
    d = oracle_compare(&theirs, &ours, is_request, &at);
    if (d && !oracle_deliberate(p, n, &theirs, &ours, at, is_request))
        report("cut", p, n, d);
    return 0;
}
