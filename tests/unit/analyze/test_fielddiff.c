/*
 * test_fielddiff.c: the field-by-field response diff: headers by name
 * (case, repeats, framing left out), JSON by path (objects by key, arrays
 * of objects by id whatever their order, other arrays by position, one
 * report per generalized path), gzip and deflate bodies decoded first,
 * text by line, binary by bytes, identical responses with nothing to say;
 * Redis replies (RESP2 and RESP3 types, nesting, maps, errors, attributes)
 * and PostgreSQL replies (built message by message below) by path, and
 * what does not decode (or is generic TCP) as text or bytes.
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
    struct an_fd_msg b = {hb, hb ? strlen(hb) : 0, (const uint8_t *)bb, lb,
                         NULL};
    struct an_fd_msg c = {hc, hc ? strlen(hc) : 0, (const uint8_t *)bc, lc,
                         NULL};
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


/* ---- other protocols ----------------------------------------------------- */

static struct got wdiff(const char *version, const void *bb, size_t lb,
                        const void *bc, size_t lc)
{
    struct got g;
    memset(&g, 0, sizeof g);
    struct an_fd_msg b = {NULL, 0, bb, lb, version};
    struct an_fd_msg c = {NULL, 0, bc, lc, version};
    assert_int_equal(an_field_diff(&b, &c, collect, &g), 0);
    return g;
}

static struct got rdiff(const char *a, const char *b)
{
    return wdiff("RESP3", a, strlen(a), b, strlen(b));
}

static void test_resp_scalars(void **state)
{
    (void)state;
    struct got g = rdiff("+OK\r\n", "+QUEUED\r\n");
    assert_int_equal(g.n, 1);
    has(&g, "$ changed \"OK\" -> \"QUEUED\"");
    g = rdiff(":5\r\n", ":6\r\n");
    has(&g, "$ changed 5 -> 6");
    g = rdiff("$3\r\nfoo\r\n", "$-1\r\n");
    has(&g, "$ changed \"foo\" -> null");
    g = rdiff("$3\r\nfoo\r\n", "+foo\r\n"); /* bulk and simple alike */
    assert_int_equal(g.n, 0);
    g = rdiff("*-1\r\n", "*0\r\n");
    has(&g, "$ changed null -> []");
    /* RESP2 too */
    g = wdiff("RESP2", ":1\r\n", 4, ":2\r\n", 4);
    has(&g, "$ changed 1 -> 2");
}

static void test_resp_nested(void **state)
{
    (void)state;
    struct got g = rdiff("*2\r\n$1\r\na\r\n*2\r\n:1\r\n:2\r\n",
                         "*2\r\n$1\r\na\r\n*2\r\n:1\r\n:3\r\n");
    assert_int_equal(g.n, 1);
    has(&g, "$[*][*] changed 2 -> 3");
    g = rdiff("*1\r\n$1\r\na\r\n", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    assert_int_equal(g.n, 1);
    has(&g, "$[*] added  -> \"b\"");
    /* maps by key, whatever their order; non-string keys as their text */
    g = rdiff("%2\r\n+name\r\n$3\r\nbob\r\n+age\r\n:30\r\n",
              "%2\r\n+age\r\n:31\r\n+name\r\n$3\r\nbob\r\n");
    assert_int_equal(g.n, 1);
    has(&g, "$.age changed 30 -> 31");
    g = rdiff("%1\r\n:1\r\n+x\r\n", "%1\r\n:1\r\n+y\r\n");
    has(&g, "$[\"1\"] changed \"x\" -> \"y\"");
    g = rdiff("*1\r\n%1\r\n+k\r\n*1\r\n:1\r\n",
              "*1\r\n%2\r\n+k\r\n*1\r\n:1\r\n+n\r\n_\r\n");
    assert_int_equal(g.n, 1);
    has(&g, "$[*].n added  -> null");
}

static void test_resp3_types(void **state)
{
    (void)state;
    struct got g = rdiff("~2\r\n+a\r\n+b\r\n", "~2\r\n+a\r\n+c\r\n");
    has(&g, "$[*] changed \"b\" -> \"c\"");
    g = rdiff(",1.5\r\n", ",2.5\r\n");
    has(&g, "$ changed 1.5 -> 2.5");
    g = rdiff(",inf\r\n", ",1\r\n");
    has(&g, "$ changed \"inf\" -> 1.0");
    g = rdiff("#t\r\n", "#f\r\n");
    has(&g, "$ changed true -> false");
    g = rdiff("_\r\n", ":0\r\n");
    has(&g, "$ changed null -> 0");
    g = rdiff("(123456789012345678901234567890\r\n",
              "(123456789012345678901234567891\r\n");
    has(&g, "$ changed \"123456789012345678901234567890\" -> "
            "\"123456789012345678901234567891\"");
    g = rdiff("=8\r\ntxt:abcd\r\n", "=8\r\ntxt:abce\r\n");
    has(&g, "$ changed \"abcd\" -> \"abce\"");
    /* attributes are dropped, at the top and inside */
    g = rdiff("|1\r\n+ttl\r\n:5\r\n:7\r\n", ":7\r\n");
    assert_int_equal(g.n, 0);
    g = rdiff("*2\r\n:1\r\n|1\r\n+a\r\n+b\r\n:2\r\n", "*2\r\n:1\r\n:3\r\n");
    assert_int_equal(g.n, 1);
    has(&g, "$[*] changed 2 -> 3");
    /* streamed string and aggregate read as their plain forms */
    g = rdiff("$?\r\n;2\r\nab\r\n;1\r\nc\r\n;0\r\n", "$3\r\nabc\r\n");
    assert_int_equal(g.n, 0);
    g = rdiff("*?\r\n:1\r\n:2\r\n.\r\n", "*2\r\n:1\r\n:9\r\n");
    has(&g, "$[*] changed 2 -> 9");
    /* a bulk string that is not UTF-8 is escaped, not lost */
    g = rdiff("$2\r\n\xff\x01\r\n", "$2\r\n\xfe\x01\r\n");
    has(&g, "$ changed \"\\\\xff\\u0001\" -> \"\\\\xfe\\u0001\"");
    char *t = an_fd_reply_text(&(struct an_fd_msg){
        NULL, 0, (const uint8_t *)"%1\r\n+k\r\n:1\r\n", 12, "RESP3"});
    assert_non_null(t);
    assert_non_null(strstr(t, "\"k\": 1"));
    free(t);
}

static void test_resp_errors(void **state)
{
    (void)state;
    struct got g = rdiff("$1\r\nv\r\n", "-ERR no such key\r\n");
    assert_int_equal(g.n, 1);
    has(&g, "$ changed \"v\" -> {\"error\":\"ERR no such key\"}");
    g = rdiff("-WRONGTYPE Operation against a key\r\n", "-ERR x\r\n");
    has(&g, "$.error changed \"WRONGTYPE Operation against a key\" -> "
            "\"ERR x\"");
    g = rdiff("!9\r\nERR oops!\r\n", "-ERR oops!\r\n");
    assert_int_equal(g.n, 0);
    /* MULTI/EXEC: an error inside the array */
    g = rdiff("*2\r\n+OK\r\n:1\r\n", "*2\r\n+OK\r\n-ERR bad\r\n");
    has(&g, "$[*] changed 1 -> {\"error\":\"ERR bad\"}");
    /* not RESP: text; as HTTP: text even when it looks like RESP */
    g = rdiff("+OK\r\n", "garbage");
    has(&g, "body changed +OK -> garbage");
    g = rdiff("+OK\r\n", "+OK\r\n+OK"); /* the partial second reply */
    has(&g, "body changed  -> +OK");
    g = wdiff(NULL, ":1\r\n", 4, ":2\r\n", 4);
    has(&g, "body changed :1 -> :2");
    g = wdiff("TCP", "hello\n", 6, "hullo\n", 6);
    assert_int_equal(g.n, 1);
    has(&g, "body changed hello -> hullo");
}

/* PostgreSQL backend messages, built byte by byte. */
struct pgb {
    uint8_t *b;
    size_t n, start;
};

static void put(struct pgb *p, const void *v, size_t n)
{
    memcpy(p->b + p->n, v, n);
    p->n += n;
}

static void put16(struct pgb *p, unsigned v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(p, x, 2);
}

static void put32(struct pgb *p, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    put(p, x, 4);
}

static void put_cstr(struct pgb *p, const char *s)
{
    put(p, s, strlen(s) + 1);
}

static void begin(struct pgb *p, char type)
{
    p->start = p->n;
    put(p, &type, 1);
    put32(p, 0); /* the length, set by end() */
}

static void end(struct pgb *p)
{
    uint32_t len = (uint32_t)(p->n - p->start - 1);
    size_t keep = p->n;
    p->n = p->start + 1;
    put32(p, len);
    p->n = keep;
}

/* RowDescription: text columns of type text (oid 25) */
static void msg_T(struct pgb *p, int n, const char *const *names)
{
    begin(p, 'T');
    put16(p, (unsigned)n);
    for (int i = 0; i < n; i++) {
        put_cstr(p, names[i]);
        put32(p, 0);       /* table oid */
        put16(p, 0);       /* column number */
        put32(p, 25);      /* type oid */
        put16(p, 0xffff);  /* type size -1 */
        put32(p, 0xffffffffu); /* typmod -1 */
        put16(p, 0);       /* text format */
    }
    end(p);
}

/* DataRow: NULL for SQL NULL */
static void msg_D(struct pgb *p, int n, const char *const *vals)
{
    begin(p, 'D');
    put16(p, (unsigned)n);
    for (int i = 0; i < n; i++) {
        if (!vals[i]) {
            put32(p, 0xffffffffu);
            continue;
        }
        put32(p, (uint32_t)strlen(vals[i]));
        put(p, vals[i], strlen(vals[i]));
    }
    end(p);
}

static void msg_C(struct pgb *p, const char *tag)
{
    begin(p, 'C');
    put_cstr(p, tag);
    end(p);
}

static void msg_empty(struct pgb *p, char type)
{
    begin(p, type);
    end(p);
}

static void msg_Z(struct pgb *p)
{
    begin(p, 'Z');
    put(p, "I", 1);
    end(p);
}

static void msg_E(struct pgb *p, const char *code, const char *text)
{
    begin(p, 'E');
    put(p, "S", 1);
    put_cstr(p, "ERROR");
    put(p, "V", 1);
    put_cstr(p, "ERROR");
    put(p, "C", 1);
    put_cstr(p, code);
    put(p, "M", 1);
    put_cstr(p, text);
    put(p, "", 1);
    end(p);
}

/* One SELECT of id, name with rows given as "id:name" ("id:" NULL name). */
static void select2(struct pgb *p, int nrows, const char *const *rows)
{
    static const char *const cols[] = {"id", "name"};
    char tag[32];
    msg_T(p, 2, cols);
    for (int i = 0; i < nrows; i++) {
        char id[16];
        const char *colon = strchr(rows[i], ':');
        snprintf(id, sizeof id, "%.*s", (int)(colon - rows[i]), rows[i]);
        const char *v[2] = {id, colon[1] ? colon + 1 : NULL};
        msg_D(p, 2, v);
    }
    snprintf(tag, sizeof tag, "SELECT %d", nrows);
    msg_C(p, tag);
}

static struct got pdiff(const struct pgb *a, const struct pgb *b)
{
    return wdiff("PG3", a->b, a->n, b->b, b->n);
}

static void test_pg_rows(void **state)
{
    (void)state;
    uint8_t ba[4096], bb[4096];
    struct pgb a = {ba, 0, 0}, b = {bb, 0, 0};
    static const char *const r1[] = {"1:alice", "2:bob"};
    static const char *const r2[] = {"1:alice", "2:carol"};
    select2(&a, 2, r1);
    msg_Z(&a);
    select2(&b, 2, r2);
    msg_Z(&b);
    struct got g = pdiff(&a, &b);
    assert_int_equal(g.n, 1);
    has(&g, "$.data[*][1] changed \"bob\" -> \"carol\"");
    g = pdiff(&a, &a);
    assert_int_equal(g.n, 0);

    /* the count changed: 2 rows, then none */
    b.n = 0;
    select2(&b, 0, NULL);
    msg_Z(&b);
    g = pdiff(&a, &b);
    assert_int_equal(g.n, 3);
    has(&g, "$.rows changed 2 -> 0");
    has(&g, "$.tag changed \"SELECT 2\" -> \"SELECT 0\"");
    has(&g, "$.data[*] removed [\"1\",\"alice\"] -> ");

    /* NULL against a value; the extended protocol's messages ignored */
    static const char *const r3[] = {"1:", "2:bob"};
    b.n = 0;
    msg_empty(&b, '1');
    msg_empty(&b, '2');
    select2(&b, 2, r3);
    msg_Z(&b);
    g = pdiff(&a, &b);
    assert_int_equal(g.n, 1);
    has(&g, "$.data[*][1] changed \"alice\" -> null");

    char *t = an_fd_reply_text(&(struct an_fd_msg){NULL, 0, a.b, a.n, "PG3"});
    assert_non_null(t);
    assert_non_null(strstr(t, "\"rows\": 2"));
    assert_non_null(strstr(t, "\"tag\": \"SELECT 2\""));
    free(t);
}

static void test_pg_statements(void **state)
{
    (void)state;
    uint8_t ba[4096], bb[4096];
    struct pgb a = {ba, 0, 0}, b = {bb, 0, 0};
    static const char *const c1[] = {"n"};
    static const char *const one[] = {"1"};
    static const char *const r1[] = {"1:x", "2:y"};
    static const char *const r2[] = {"1:x"};
    /* SELECT 1; SELECT id, name ...: rows summed, the last tag and columns */
    msg_T(&a, 1, c1);
    msg_D(&a, 1, one);
    msg_C(&a, "SELECT 1");
    select2(&a, 2, r1);
    msg_Z(&a);
    msg_T(&b, 1, c1);
    msg_D(&b, 1, one);
    msg_C(&b, "SELECT 1");
    select2(&b, 1, r2);
    msg_Z(&b);
    struct got g = pdiff(&a, &b);
    has(&g, "$.rows changed 3 -> 2");
    has(&g, "$.tag changed \"SELECT 2\" -> \"SELECT 1\"");
    has(&g, "$.data[*] removed [\"2\",\"y\"] -> ");
    assert_int_equal(g.n, 3);
    char *t = an_fd_reply_text(&(struct an_fd_msg){NULL, 0, a.b, a.n, "PG3"});
    assert_non_null(t);
    assert_non_null(strstr(t, "\"rows\": 3"));
    assert_non_null(strstr(t, "\"id\",\n    \"name\""));
    free(t);
}

static void test_pg_error(void **state)
{
    (void)state;
    uint8_t ba[4096], bb[4096];
    struct pgb a = {ba, 0, 0}, b = {bb, 0, 0};
    msg_C(&a, "INSERT 0 1");
    msg_Z(&a);
    msg_E(&b, "42P01", "relation \"t\" does not exist");
    msg_Z(&b);
    struct got g = pdiff(&a, &b);
    assert_int_equal(g.n, 2);
    has(&g, "$.tag changed \"INSERT 0 1\" -> null");
    has(&g, "$.error added  -> {\"sqlstate\":\"42P01\",\"message\":"
            "\"relation \\\"t\\\" does not exist\"}");
    a.n = 0;
    msg_E(&a, "23505", "duplicate key");
    msg_Z(&a);
    g = pdiff(&a, &b);
    assert_int_equal(g.n, 2);
    has(&g, "$.error.sqlstate changed \"23505\" -> \"42P01\"");

    /* cut short: not PostgreSQL any more, compared as bytes */
    g = wdiff("PG3", a.b, a.n - 3, b.b, b.n);
    assert_int_equal(g.n, 1);
    assert_non_null(strstr(g.line[0], "body changed"));
}

static void test_pg_cap(void **state)
{
    (void)state;
    size_t cap = 64 << 10;
    struct pgb a = {malloc(cap), 0, 0}, b = {malloc(cap), 0, 0};
    assert_non_null(a.b);
    assert_non_null(b.b);
    static const char *const c1[] = {"n"};
    static const char *const same[] = {"v"}, *const other[] = {"w"};
    msg_T(&a, 1, c1);
    msg_T(&b, 1, c1);
    for (int i = 0; i < 1001; i++) {
        msg_D(&a, 1, same);
        msg_D(&b, 1, i < 1000 ? same : other); /* past the cap */
    }
    msg_D(&b, 1, other);
    msg_C(&a, "SELECT 1001");
    msg_C(&b, "SELECT 1002");
    msg_Z(&a);
    msg_Z(&b);
    struct got g = pdiff(&a, &b);
    assert_int_equal(g.n, 2);
    has(&g, "$.rows changed 1001 -> 1002");
    has(&g, "$.tag changed \"SELECT 1001\" -> \"SELECT 1002\"");
    char *t = an_fd_reply_text(&(struct an_fd_msg){NULL, 0, a.b, a.n, "PG3"});
    assert_non_null(t);
    assert_non_null(strstr(t, "\"data_truncated\": true"));
    free(t);
    free(a.b);
    free(b.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_encoded),
        cmocka_unit_test(test_text_and_bytes),
        cmocka_unit_test(test_resp_scalars),
        cmocka_unit_test(test_resp_nested),
        cmocka_unit_test(test_resp3_types),
        cmocka_unit_test(test_resp_errors),
        cmocka_unit_test(test_pg_rows),
        cmocka_unit_test(test_pg_statements),
        cmocka_unit_test(test_pg_error),
        cmocka_unit_test(test_pg_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
