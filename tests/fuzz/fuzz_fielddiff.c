/*
 * fuzz_fielddiff.c: the field diff of Redis and PostgreSQL replies
 * (analyze/fielddiff.c over fd_wire.c). The first byte picks the protocol
 * (bit 0: PostgreSQL, else Redis; bit 1: the second reply is the first
 * with its last byte flipped, else the input's second half), the second
 * where the input splits into the two replies. Any input must be diffed
 * without a crash, a leak or an over-read, and a reply diffed with itself
 * must report nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/fielddiff.h"

static int count(void *arg, const char *path, enum an_fd_kind kind,
                 const char *b, const char *c)
{
    (void)path;
    (void)kind;
    (void)b;
    (void)c;
    (*(int *)arg)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const char *ver = data[0] & 1 ? "PG3" : "RESP3";
    const uint8_t *p = data + 2;
    size_t n = size - 2, cut = n ? data[1] % (n + 1) : 0;
    /* copies, so that ASan catches any read past either reply */
    uint8_t *a = malloc(cut ? cut : 1), *b = malloc(n - cut ? n - cut : 1);
    if (!a || !b)
        goto done;
    memcpy(a, p, cut);
    memcpy(b, p + cut, n - cut);
    size_t nb = n - cut;
    if (data[0] & 2 && cut) {
        memcpy(b, a, cut < nb ? cut : nb);
        nb = cut < nb ? cut : nb;
        if (nb)
            b[nb - 1] ^= 1;
    }
    struct an_fd_msg ma = {NULL, 0, a, cut, ver};
    struct an_fd_msg mb = {NULL, 0, b, nb, ver};
    int k = 0;
    an_field_diff(&ma, &mb, count, &k);
    k = 0;
    an_field_diff(&ma, &ma, count, &k);
    if (k)
        abort(); /* a reply differs from itself */
    free(an_fd_reply_text(&ma));
done:
    free(a);
    free(b);
    return 0;
}
