/*
 * test_llhttp_oracle.c: the differences the llhttp differential fuzzer
 * (tests/fuzz/fuzz_llhttp.c) found, kept as regression cases, plus a few
 * framings both parsers must agree on. Each case is run through llhttp
 * (strict mode) and reprise's framer, whole and byte by byte; it must
 * either agree, or differ for exactly the documented reason (DESIGN.md,
 * "llhttp as an oracle"). Built only when Debian's node-llhttp is
 * installed; ctest reports it skipped otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/oracle/oracle.h"

struct kase {
    int is_request;
    const char *in;
    int min_msgs;        /* llhttp must frame at least these */
    const char *reason;  /* NULL: both must agree; else the deliberate
                            difference expected */
};

static const struct kase cases[] = {
    /* agreement */
    {1, "GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /p HTTP/1.1\r\n"
        "Content-Length: 3\r\n\r\nabc", 2, NULL},
    {1, "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n", 1, NULL},
    {1, "POST /z HTTP/1.1\r\nContent-Length: 005\r\n\r\nabcde", 1, NULL},
    {0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
        "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"
        "HTTP/1.1 304 Not Modified\r\n\r\n", 3, NULL},
    {0, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nto the end", 2,
     NULL},
    {0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\n", 1, NULL},
    /* found by the fuzzer: 1xx/204/304 and 101 carry no body whatever
     * their headers say (the oracle models the client, as Node.js does) */
    {0, "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2, NULL},
    {0, "HTTP/1.1 101 Switching Protocols\r\nContent-Length: 6\r\n\r\n",
     1, NULL},
    /* found by the fuzzer, deliberate: llhttp 8.1 takes any digits as a
     * status code */
    {0, "HTTP/1.1 14 No\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 1,
     "status code not of three digits"},
    {0, "HTTP/1.1 0100 Continue\r\n\r\n", 1,
     "status code not of three digits"},
    /* deliberate: a simple (HTTP/0.9) request has no header lines */
    {1, "GET /a\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 1,
     "HTTP/0.9 request followed by header lines"},
    /* deliberate: only HTTP/1.x status lines in an HTTP/1.x stream */
    {0, "HTTP/2.0 304 Not Modified\r\n\r\n", 1,
     "status line of a version other than HTTP/1.x"},
    /* deliberate (and flagged te-empty-element): "chunked," ends in
     * chunked; llhttp reads the body to the end of the stream */
    {0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\n", 1,
     "an empty element in the Transfer-Encoding list"},
    /* found by the fuzzer, deliberate (flagged framing-folded): a fold
     * after "chunked" is unfolded; llhttp reads to the end of the stream */
    {0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n \r\n\r\n"
        "5;x=y\r\nhello\r\n0\r\nT: t\r\n\r\n", 1,
     "obs-fold in Transfer-Encoding or Content-Length"},
    /* found by the fuzzer, deliberate (flagged te-tab): a trailing HTAB is
     * whitespace; llhttp reads the body to the end of the stream */
    {0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\n", 1, "HTAB in Transfer-Encoding"},
};

static void run_case(const struct kase *k)
{
    const uint8_t *p = (const uint8_t *)k->in;
    size_t n = strlen(k->in);
    static struct oracle_result t, o;
    oracle_llhttp(p, n, k->is_request, &t);
    if (t.n < k->min_msgs)
        fail_msg("llhttp framed %d messages of \"%s\", want >= %d (%s)",
                 t.n, k->in, k->min_msgs, t.why);
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    for (size_t i = 0; i < n; i++)
        cuts[i] = i + 1;
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        oracle_ours(p, n, k->is_request, cuts, bytewise ? (int)n : 0, &o);
        int at = -1;
        const char *d = oracle_compare(&t, &o, k->is_request, &at);
        const char *why = d ? oracle_deliberate(p, n, &t, &o, at,
                                                k->is_request) : NULL;
        if (!k->reason && d)
            fail_msg("\"%s\": %s", k->in, d);
        if (k->reason && (!d || !why || strcmp(why, k->reason)))
            fail_msg("\"%s\": expected the difference '%s', got %s (%s)",
                     k->in, k->reason, d ? d : "agreement",
                     why ? why : "unexplained");
    }
    free(cuts);
}

static void test_cases(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cases)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
