/*
 * test_fielddiff.c: the field-by-field response diff: headers by name
 * (case, repeats, framing left out), JSON by path (objects by key, arrays
 * of objects by id whatever their order, other arrays by position, one
 * report per generalized path), gzip and deflate bodies decoded first,
 * text by line, binary by bytes, identical responses with nothing to say.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "analyze/fielddiff.h"

struct got {
    int n;
    char line[32][320];
};

static int collect(void *arg, const char *path, enum an_fd_kind kind,
                   const char *b, const char *c)
{
    struct got *g = arg;
    if (g->n < 32)
        snprintf(g->line[g->n], sizeof g->line[0], "%s %s %s -> %s", path,
                 an_fd_kind_name(kind), b, c);
    g->n++;
    return 0;
}

static struct got diff(const char *hb, const char *bb, size_t lb,
                       const char *hc, const char *bc, size_t lc)
{
    struct got g;
    memset(&g, 0, sizeof g);
    struct an_fd_msg b = {hb, hb ? strlen(hb) : 0, (const uint8_t *)bb, lb};
    struct an_fd_msg c = {hc, hc ? strlen(hc) : 0, (const uint8_t *)bc, lc};
    assert_int_equal(an_field_diff(&b, &c, collect, &g), 0);
    return g;
}

static struct got jdiff(const char *a, const char *b)
{
    return diff("Content-Type: application/json\r\n", a, strlen(a),
                "content-type: application/json\r\n", b, strlen(b));
}

static void has(const struct got *g, const char *want)
{
    for (int i = 0; i < g->n && i < 32; i++)
        if (!strcmp(g->line[i], want))
            return;
    for (int i = 0; i < g->n && i < 32; i++)
        fprintf(stderr, "  got: %s\n", g->line[i]);
    fail_msg("missing: %s", want);
}

static void test_headers(void **state)
{
    (void)state;
    struct got g = diff("Date: Mon\r\nX-Request-Id: 1\r\nContent-Length: 5\r\n"
                        "Vary: a\r\nVary: b\r\nServer: v1\r\n", "", 0,
                        "date: Tue\r\nContent-Length: 7\r\nVARY: a, b\r\n"
                        "Server: v1\r\nX-New: yes\r\n", "", 0);
    assert_int_equal(g.n, 3);
    has(&g, "header:date changed Mon -> Tue");
    has(&g, "header:x-request-id removed 1 -> ");
    has(&g, "header:x-new added  -> yes");
}

static void test_json(void **state)
{
    (void)state;
    struct got g = jdiff(
        "{\"id\":7,\"price\":9.99,\"tags\":[\"a\",\"b\"],\"old\":1,"
        "\"nested\":{\"x\":{\"y\":true}},\"weird key\":1}",
        "{\"id\":7,\"price\":10.99,\"tags\":[\"a\",\"c\",\"d\"],"
        "\"nested\":{\"x\":{\"y\":\"true\"}},\"weird key\":2,\"new\":null}");
    has(&g, "$.price changed 9.99 -> 10.99");
    has(&g, "$.tags[*] changed \"b\" -> \"c\"");
    has(&g, "$.old removed 1 -> ");
    has(&g, "$.nested.x.y changed true -> \"true\"");
    has(&g, "$[\"weird key\"] changed 1 -> 2");
    has(&g, "$.new added  -> null");
    /* $.tags[*] once, though two elements differ and one was added */
    assert_int_equal(g.n, 6);

    /* arrays of objects by id: reordered is the same, one price moved */
    g = jdiff("{\"items\":[{\"id\":1,\"p\":1},{\"id\":2,\"p\":2},"
              "{\"id\":3,\"p\":3}]}",
              "{\"items\":[{\"id\":3,\"p\":3},{\"id\":1,\"p\":1},"
              "{\"id\":2,\"p\":5}]}");
    assert_int_equal(g.n, 1);
    has(&g, "$.items[*].p changed 2 -> 5");
    g = jdiff("{\"items\":[{\"id\":1},{\"id\":2}]}",
              "{\"items\":[{\"id\":2},{\"id\":4}]}");
    assert_int_equal(g.n, 1); /* removed and added share the path */
    has(&g, "$.items[*] removed {\"id\":1} -> ");

    g = jdiff("{\"a\":[1,2]}", "{\"a\":[1,2]}");
    assert_int_equal(g.n, 0);
    g = jdiff("[1,2,3]", "{\"a\":1}");
    has(&g, "$ changed [1,2,3] -> {\"a\":1}");
    /* one side not JSON: compared as text */
    g = jdiff("{\"a\":1}", "oops\n");
    has(&g, "body changed {\"a\":1} -> oops");
}

static size_t zip(const char *s, uint8_t *out, size_t cap, int wbits)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8,
                                  Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)s;
    z.avail_in = (uInt)strlen(s);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

static void test_encoded(void **state)
{
    (void)state;
    uint8_t a[256], b[256];
    size_t na = zip("{\"v\":1,\"same\":\"x\"}", a, sizeof a, 31);
    size_t nb = zip("{\"v\":2,\"same\":\"x\"}", b, sizeof b, 15);
    struct got g = diff("Content-Encoding: gzip\r\n", (char *)a, na,
                        "Content-Encoding: deflate\r\n", (char *)b, nb);
    has(&g, "$.v changed 1 -> 2");
    has(&g, "header:content-encoding changed gzip -> deflate");
    assert_int_equal(g.n, 2);
    /* raw deflate, as some servers send it */
    nb = zip("{\"v\":1,\"same\":\"x\"}", b, sizeof b, -15);
    g = diff("Content-Encoding: gzip\r\n", (char *)a, na,
             "Content-Encoding: gzip\r\n", (char *)a, na);
    assert_int_equal(g.n, 0);
    g = diff("Content-Encoding: deflate\r\n", (char *)b, nb,
             "Content-Encoding: deflate\r\n", "{\"v\":3}", 7);
    has(&g, "$.v changed 1 -> 3");
}

static void test_text_and_bytes(void **state)
{
    (void)state;
    const char *x = "line one\nline two\nline three\n";
    const char *y = "line one\nline 2\nline three\n";
    struct got g = diff(NULL, x, strlen(x), NULL, y, strlen(y));
    assert_int_equal(g.n, 1);
    has(&g, "body changed line two -> line 2");
    g = diff(NULL, x, strlen(x), NULL, x, strlen(x));
    assert_int_equal(g.n, 0);
    g = diff(NULL, "a\0b", 3, NULL, "a\0c", 3);
    has(&g, "body changed 3 bytes -> 3 bytes");
    /* a long value is cut, never overflows */
    char big[4000];
    memset(big, 'v', sizeof big);
    memcpy(big, "{\"k\":\"", 6);
    memcpy(big + sizeof big - 3, "\"}", 3);
    g = jdiff("{\"k\":\"short\"}", big);
    assert_int_equal(g.n, 1);
    assert_non_null(strstr(g.line[0], "..."));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_encoded),
        cmocka_unit_test(test_text_and_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
