/*
 * test_resp.c: the RESP framer. Each transcript (every reply type of RESP2
 * and RESP3, nested aggregates, attributes, pushes, streamed strings and
 * aggregates, pipelined sequences, MULTI/EXEC, commands as arrays and
 * inline, and every violation) is fed whole, split in two at every byte
 * offset, and one byte at a time; each run must frame the same messages
 * (type, push, count, first, bytes, skipped) and fail with the same reason.
 * Every piece is copied to the end of a page followed by an unreadable
 * page, so reading past what was given crashes. Then the command helpers:
 * split, name, secrets, and write read back through the framer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/rp.h"
#include "proto/resp.h"

/* ---- inputs behind a guard page ---- */

#define GUARD_SPAN (256u * 1024u)
static uint8_t *guard_base; /* GUARD_SPAN readable bytes, then PROT_NONE */

static int setup_guard(void **st)
{
    (void)st;
    long pg = sysconf(_SC_PAGESIZE);
    guard_base = mmap(NULL, GUARD_SPAN + (size_t)pg, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (guard_base == MAP_FAILED)
        return -1;
    return mprotect(guard_base + GUARD_SPAN, (size_t)pg, PROT_NONE);
}

/* p[0..n) copied so that its last byte is the last readable one. */
static const uint8_t *guarded(const uint8_t *p, size_t n)
{
    assert_true(n <= GUARD_SPAN);
    uint8_t *d = guard_base + GUARD_SPAN - n;
    memmove(d, p, n);
    return d;
}

/* ---- the harness ---- */

#define MAXMSG 16

struct got {
    int n;                      /* messages framed */
    struct resp_msg m[MAXMSG];
    int err;                    /* 1 when resp_read returned -1 */
    const char *why;
};

/* Feeds one piece, checking the return contract on each call. */
static int feed(struct resp_reader *r, const uint8_t *p, size_t n,
                struct got *g, uint64_t *since)
{
    const uint8_t *q = guarded(p, n);
    size_t at = 0;
    while (at < n || n == 0) {
        int done = 7;
        struct resp_msg m;
        const char *why = NULL;
        long k = resp_read(r, q + at, n - at, &done, &m, &why);
        if (k < 0) {
            assert_int_equal(k, -1);
            assert_non_null(why);
            assert_int_equal(done, 0);
            g->err = 1;
            g->why = why;
            return -1;
        }
        assert_true((size_t)k <= n - at);
        at += (size_t)k;
        *since += (uint64_t)k;
        if (done) {
            assert_int_equal(done, 1);
            assert_true(k > 0);
            assert_true(m.first[sizeof m.first - 1] == '\0');
            /* the stream is partitioned: skipped blanks, then the message */
            assert_true(m.bytes + m.skipped == *since);
            *since = 0;
            assert_true(g->n < MAXMSG);
            g->m[g->n++] = m;
        } else {
            assert_int_equal(done, 0);
            assert_true(at == n); /* no message: everything was taken */
        }
        if (n == 0)
            break;
    }
    return 0;
}

/* mode 0: whole; mode > 0: split at that offset; mode -1: byte by byte. */
static void run(int client, const uint8_t *p, size_t n, long mode,
                struct got *g)
{
    struct resp_reader r;
    resp_reader_init(&r, client);
    memset(g, 0, sizeof *g);
    uint64_t since = 0;
    if (mode == 0) {
        feed(&r, p, n, g, &since);
    } else if (mode > 0) {
        if (feed(&r, p, (size_t)mode, g, &since) == 0)
            feed(&r, p + mode, n - (size_t)mode, g, &since);
    } else {
        for (size_t i = 0; i < n; i++)
            if (feed(&r, p + i, 1, g, &since))
                break;
    }
    /* after an error the reader stays failed, with the same reason */
    if (g->err) {
        int done;
        struct resp_msg m;
        const char *why = NULL;
        assert_int_equal(resp_read(&r, (const uint8_t *)"+OK\r\n", 5, &done,
                                   &m, &why), -1);
        assert_ptr_equal(why, g->why);
    }
}

static void same(const struct got *a, const struct got *b, const char *name,
                 long mode)
{
    if (a->n != b->n || a->err != b->err || a->why != b->why) {
        fail_msg("%s: mode %ld: %d msgs err %d (%s) vs %d msgs err %d (%s)",
                 name, mode, a->n, a->err, a->why ? a->why : "-", b->n,
                 b->err, b->why ? b->why : "-");
    }
    for (int i = 0; i < a->n; i++) {
        const struct resp_msg *x = &a->m[i], *y = &b->m[i];
        if (x->type != y->type || x->push != y->push ||
            x->nelem != y->nelem || strcmp(x->first, y->first) ||
            x->bytes != y->bytes || x->skipped != y->skipped)
            fail_msg("%s: mode %ld: message %d differs", name, mode, i);
    }
}

struct exp {
    char type;
    int push;
    int64_t nelem;
    const char *first;
    uint64_t bytes;    /* 0: the whole input (less skipped) */
    uint64_t skipped;
};

struct tcase {
    const char *name;
    int client;
    const char *in;
    size_t len;        /* 0: strlen(in) */
    int nexp;
    struct exp e[8];
    const char *err;   /* a substring of why, or NULL for no error */
};

static void check_case(const struct tcase *t)
{
    size_t n = t->len ? t->len : strlen(t->in);
    const uint8_t *p = (const uint8_t *)t->in;
    struct got whole, other;
    run(t->client, p, n, 0, &whole);
    if (whole.n != t->nexp)
        fail_msg("%s: %d messages, want %d (err %s)", t->name, whole.n,
                 t->nexp, whole.why ? whole.why : "-");
    for (int i = 0; i < t->nexp; i++) {
        const struct exp *e = &t->e[i];
        const struct resp_msg *m = &whole.m[i];
        uint64_t bytes = e->bytes ? e->bytes : n - e->skipped;
        if (m->type != e->type || m->push != e->push ||
            m->nelem != e->nelem || strcmp(m->first, e->first) ||
            m->bytes != bytes || m->skipped != e->skipped)
            fail_msg("%s: message %d: got %c push %d nelem %lld first '%s' "
                     "bytes %llu skipped %llu; want %c %d %lld '%s' %llu %llu",
                     t->name, i, m->type, m->push, (long long)m->nelem,
                     m->first, (unsigned long long)m->bytes,
                     (unsigned long long)m->skipped, e->type, e->push,
                     (long long)e->nelem, e->first,
                     (unsigned long long)bytes,
                     (unsigned long long)e->skipped);
    }
    if (t->err) {
        if (!whole.err || !strstr(whole.why, t->err))
            fail_msg("%s: want error '%s', got %s", t->name, t->err,
                     whole.err ? whole.why : "none");
    } else if (whole.err) {
        fail_msg("%s: unexpected error '%s'", t->name, whole.why);
    }
    for (size_t k = 1; k < n; k++) {
        run(t->client, p, n, (long)k, &other);
        same(&whole, &other, t->name, (long)k);
    }
    run(t->client, p, n, -1, &other);
    same(&whole, &other, t->name, -1);
}

static void check_all(const struct tcase *cases, size_t ncases)
{
    for (size_t i = 0; i < ncases; i++)
        check_case(&cases[i]);
}

#define S 0 /* from the server */
#define C 1 /* from the client */

/* ---- replies ---- */

static const struct tcase resp2_cases[] = {
    {"simple", S, "+OK\r\n", 0, 1, {{'+', 0, 0, "OK", 0, 0}}, NULL},
    {"simple empty", S, "+\r\n", 0, 1, {{'+', 0, 0, "", 0, 0}}, NULL},
    {"simple with spaces", S, "+hello world\r\n", 0, 1,
     {{'+', 0, 0, "hello world", 0, 0}}, NULL},
    {"error", S, "-ERR unknown command 'foo'\r\n", 0, 1,
     {{'-', 0, 0, "ERR", 0, 0}}, NULL},
    {"error wrongtype", S,
     "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
     0, 1, {{'-', 0, 0, "WRONGTYPE", 0, 0}}, NULL},
    {"error one word", S, "-NOAUTH\r\n", 0, 1,
     {{'-', 0, 0, "NOAUTH", 0, 0}}, NULL},
    {"integer", S, ":1000\r\n", 0, 1, {{':', 0, 0, "", 0, 0}}, NULL},
    {"integer zero", S, ":0\r\n", 0, 1, {{':', 0, 0, "", 0, 0}}, NULL},
    {"integer negative", S, ":-42\r\n", 0, 1, {{':', 0, 0, "", 0, 0}}, NULL},
    {"integer max", S, ":9223372036854775807\r\n", 0, 1,
     {{':', 0, 0, "", 0, 0}}, NULL},
    {"integer min", S, ":-9223372036854775808\r\n", 0, 1,
     {{':', 0, 0, "", 0, 0}}, NULL},
    {"bulk", S, "$5\r\nhello\r\n", 0, 1, {{'$', 0, 0, "", 0, 0}}, NULL},
    {"bulk empty", S, "$0\r\n\r\n", 0, 1, {{'$', 0, 0, "", 0, 0}}, NULL},
    {"bulk binary", S, "$6\r\na\r\n\0\nb\r\n", 12, 1,
     {{'$', 0, 0, "", 0, 0}}, NULL},
    {"bulk null", S, "$-1\r\n", 0, 1, {{'$', 0, -1, "", 0, 0}}, NULL},
    {"array null", S, "*-1\r\n", 0, 1, {{'*', 0, -1, "", 0, 0}}, NULL},
    {"array empty", S, "*0\r\n", 0, 1, {{'*', 0, 0, "", 0, 0}}, NULL},
    {"array of bulk", S, "*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n", 0, 1,
     {{'*', 0, 2, "foo", 0, 0}}, NULL},
    {"array of ints", S, "*3\r\n:1\r\n:2\r\n:3\r\n", 0, 1,
     {{'*', 0, 3, "", 0, 0}}, NULL},
    {"array simple first", S, "*2\r\n+first\r\n:1\r\n", 0, 1,
     {{'*', 0, 2, "first", 0, 0}}, NULL},
    {"array null first", S, "*2\r\n$-1\r\n$1\r\nx\r\n", 0, 1,
     {{'*', 0, 2, "", 0, 0}}, NULL},
    {"array nested", S, "*2\r\n*2\r\n+a\r\n+b\r\n*1\r\n$1\r\nc\r\n", 0, 1,
     {{'*', 0, 2, "", 0, 0}}, NULL},
    {"array nested empties", S, "*3\r\n*0\r\n*-1\r\n*1\r\n*0\r\n", 0, 1,
     {{'*', 0, 3, "", 0, 0}}, NULL},
    {"first cut to 63", S,
     "*1\r\n$70\r\n"
     "0123456789012345678901234567890123456789012345678901234567890123456789"
     "\r\n", 0, 1,
     {{'*', 0, 1,
       "012345678901234567890123456789012345678901234567890123456789012",
       0, 0}}, NULL},
    {"scan reply", S,
     "*2\r\n$1\r\n0\r\n*3\r\n$3\r\nk:1\r\n$3\r\nk:2\r\n$3\r\nk:3\r\n", 0, 1,
     {{'*', 0, 2, "0", 0, 0}}, NULL},
};

static void test_resp2(void **st)
{
    (void)st;
    check_all(resp2_cases, sizeof resp2_cases / sizeof resp2_cases[0]);
}

#define ATTR_REPLY                                                          \
    "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n"     \
    ",0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n"

static const struct tcase resp3_cases[] = {
    {"null", S, "_\r\n", 0, 1, {{'_', 0, 0, "", 0, 0}}, NULL},
    {"double", S, ",3.14\r\n", 0, 1, {{',', 0, 0, "", 0, 0}}, NULL},
    {"double exp", S, ",-1.5e-3\r\n", 0, 1, {{',', 0, 0, "", 0, 0}}, NULL},
    {"double int", S, ",10\r\n", 0, 1, {{',', 0, 0, "", 0, 0}}, NULL},
    {"double E+", S, ",1E+5\r\n", 0, 1, {{',', 0, 0, "", 0, 0}}, NULL},
    {"double inf", S, ",inf\r\n", 0, 1, {{',', 0, 0, "", 0, 0}}, NULL},
    {"double -inf", S, ",-inf\r\n", 0, 1, {{',', 0, 0, "", 0, 0}}, NULL},
    {"double nan", S, ",nan\r\n", 0, 1, {{',', 0, 0, "", 0, 0}}, NULL},
    {"true", S, "#t\r\n", 0, 1, {{'#', 0, 0, "", 0, 0}}, NULL},
    {"false", S, "#f\r\n", 0, 1, {{'#', 0, 0, "", 0, 0}}, NULL},
    {"big number", S, "(3492890328409238509324850943850943825024385\r\n", 0,
     1, {{'(', 0, 0, "", 0, 0}}, NULL},
    {"big negative", S, "(-1\r\n", 0, 1, {{'(', 0, 0, "", 0, 0}}, NULL},
    {"verbatim", S, "=15\r\ntxt:Some string\r\n", 0, 1,
     {{'=', 0, 0, "", 0, 0}}, NULL},
    {"verbatim empty text", S, "=4\r\nmkd:\r\n", 0, 1,
     {{'=', 0, 0, "", 0, 0}}, NULL},
    {"blob error", S, "!21\r\nSYNTAX invalid syntax\r\n", 0, 1,
     {{'!', 0, 0, "SYNTAX", 0, 0}}, NULL},
    {"map", S, "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", 0, 1,
     {{'%', 0, 2, "first", 0, 0}}, NULL},
    {"map empty", S, "%0\r\n", 0, 1, {{'%', 0, 0, "", 0, 0}}, NULL},
    {"set", S, "~3\r\n+a\r\n+b\r\n+c\r\n", 0, 1,
     {{'~', 0, 3, "a", 0, 0}}, NULL},
    {"hello reply", S,
     "%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n"
     "$7\r\nmodules\r\n*0\r\n", 0, 1, {{'%', 0, 3, "server", 0, 0}}, NULL},
    {"push", S, ">3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$5\r\nhello\r\n", 0, 1,
     {{'>', 1, 3, "message", 0, 0}}, NULL},
    {"attribute before reply", S, ATTR_REPLY, 0, 1,
     {{'*', 0, 2, "", 0, 0}}, NULL},
    {"attribute before simple", S, "|1\r\n+a\r\n+b\r\n+OK\r\n", 0, 1,
     {{'+', 0, 0, "OK", 0, 0}}, NULL},
    {"attribute empty", S, "|0\r\n:1\r\n", 0, 1, {{':', 0, 0, "", 0, 0}},
     NULL},
    {"attribute inside array", S,
     "*2\r\n|1\r\n+ttl\r\n:3600\r\n+val\r\n:5\r\n", 0, 1,
     {{'*', 0, 2, "val", 0, 0}}, NULL},
    {"attribute nested in attribute", S,
     "|1\r\n|1\r\n+x\r\n+y\r\n+k\r\n*1\r\n+v\r\n:7\r\n", 0, 1,
     {{':', 0, 0, "", 0, 0}}, NULL},
    {"attribute before push", S, "|1\r\n+a\r\n:1\r\n>2\r\n+p\r\n+q\r\n", 0,
     1, {{'>', 1, 2, "p", 0, 0}}, NULL},
    {"streamed string", S,
     "$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n", 0, 1,
     {{'$', 0, 0, "", 0, 0}}, NULL},
    {"streamed string empty", S, "$?\r\n;0\r\n", 0, 1,
     {{'$', 0, 0, "", 0, 0}}, NULL},
    {"streamed array", S, "*?\r\n:1\r\n:2\r\n:3\r\n.\r\n", 0, 1,
     {{'*', 0, 3, "", 0, 0}}, NULL},
    {"streamed array empty", S, "*?\r\n.\r\n", 0, 1,
     {{'*', 0, 0, "", 0, 0}}, NULL},
    {"streamed map", S, "%?\r\n+a\r\n:1\r\n+b\r\n:2\r\n.\r\n", 0, 1,
     {{'%', 0, 2, "a", 0, 0}}, NULL},
    {"streamed set of streamed string", S,
     "~?\r\n$?\r\n;2\r\nab\r\n;1\r\nc\r\n;0\r\n*?\r\n.\r\n.\r\n", 0, 1,
     {{'~', 0, 2, "abc", 0, 0}}, NULL},
    {"streamed attribute", S, "|?\r\n+a\r\n+b\r\n.\r\n:1\r\n", 0, 1,
     {{':', 0, 0, "", 0, 0}}, NULL},
    {"depth 32", S,
     "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"
     "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"
     "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"
     "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", 0, 1,
     {{'*', 0, 1, "", 0, 0}}, NULL},
};

static void test_resp3(void **st)
{
    (void)st;
    check_all(resp3_cases, sizeof resp3_cases / sizeof resp3_cases[0]);
}

static const struct tcase pipeline_cases[] = {
    {"pipelined replies", S, "+OK\r\n:1\r\n$1\r\nx\r\n*1\r\n+y\r\n-ERR z\r\n",
     0, 5,
     {{'+', 0, 0, "OK", 5, 0},
      {':', 0, 0, "", 4, 0},
      {'$', 0, 0, "", 7, 0},
      {'*', 0, 1, "y", 8, 0},
      {'-', 0, 0, "ERR", 8, 0}}, NULL},
    {"reply then push", S, "+OK\r\n>2\r\n+pong\r\n+x\r\n:1\r\n", 0, 3,
     {{'+', 0, 0, "OK", 5, 0},
      {'>', 1, 2, "pong", 15, 0},
      {':', 0, 0, "", 4, 0}}, NULL},
    {"attribute then reply twice", S, ATTR_REPLY ATTR_REPLY, 0, 2,
     {{'*', 0, 2, "", sizeof ATTR_REPLY - 1, 0},
      {'*', 0, 2, "", sizeof ATTR_REPLY - 1, 0}}, NULL},
    {"multi exec replies", S,
     "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:1\r\n", 0, 4,
     {{'+', 0, 0, "OK", 5, 0},
      {'+', 0, 0, "QUEUED", 9, 0},
      {'+', 0, 0, "QUEUED", 9, 0},
      {'*', 0, 2, "OK", 13, 0}}, NULL},
    {"exec with an error inside", S,
     "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n-ERR value is not an integer\r\n"
     ":1\r\n", 0, 4,
     {{'+', 0, 0, "OK", 5, 0},
      {'+', 0, 0, "QUEUED", 9, 0},
      {'+', 0, 0, "QUEUED", 9, 0},
      {'*', 0, 2, "", 38, 0}}, NULL},
    {"exec aborted", S,
     "+OK\r\n-ERR unknown command 'foo'\r\n-EXECABORT Transaction "
     "discarded because of previous errors.\r\n", 0, 3,
     {{'+', 0, 0, "OK", 5, 0},
      {'-', 0, 0, "ERR", 28, 0},
      {'-', 0, 0, "EXECABORT", 62, 0}}, NULL},
    {"exec after watch failure", S, "+OK\r\n+OK\r\n+QUEUED\r\n*-1\r\n", 0, 4,
     {{'+', 0, 0, "OK", 5, 0},
      {'+', 0, 0, "OK", 5, 0},
      {'+', 0, 0, "QUEUED", 9, 0},
      {'*', 0, -1, "", 5, 0}}, NULL},
    {"multi exec commands", C,
     "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
     "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*1\r\n$4\r\nEXEC\r\n", 0, 4,
     {{'*', 0, 1, "MULTI", 15, 0},
      {'*', 0, 3, "SET", 27, 0},
      {'*', 0, 2, "INCR", 21, 0},
      {'*', 0, 1, "EXEC", 14, 0}}, NULL},
    {"mixed commands", C, "PING\r\n*1\r\n$4\r\nPING\r\nECHO hi\n", 0, 3,
     {{'i', 0, 0, "PING", 6, 0},
      {'*', 0, 1, "PING", 14, 0},
      {'i', 0, 0, "ECHO", 8, 0}}, NULL},
    {"reply then error", S, "+OK\r\n$x\r\n", 0, 1,
     {{'+', 0, 0, "OK", 5, 0}}, "length has a non-digit"},
};

static void test_pipelines(void **st)
{
    (void)st;
    check_all(pipeline_cases, sizeof pipeline_cases / sizeof pipeline_cases[0]);
}

/* ---- commands ---- */

static const struct tcase client_cases[] = {
    {"command array", C, "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", 0,
     1, {{'*', 0, 3, "SET", 0, 0}}, NULL},
    {"command empty arg", C, "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", 0, 1,
     {{'*', 0, 2, "ECHO", 0, 0}}, NULL},
    {"inline", C, "PING\r\n", 0, 1, {{'i', 0, 0, "PING", 0, 0}}, NULL},
    {"inline bare lf", C, "set k v\n", 0, 1, {{'i', 0, 0, "set", 0, 0}},
     NULL},
    {"inline blanks", C, "  GET \t k\r\n", 0, 1,
     {{'i', 0, 0, "GET", 0, 0}}, NULL},
    {"inline not an array", C, "$3\r\n", 0, 1, {{'i', 0, 0, "$3", 0, 0}},
     NULL},
    {"blank lines skipped", C, "\r\n\r\nPING\r\n", 0, 1,
     {{'i', 0, 0, "PING", 6, 4}}, NULL},
    {"blank line alone", C, "\n", 0, 0, {{0}}, NULL},
    {"spaces line skipped", C, "   \r\nPING\n", 0, 1,
     {{'i', 0, 0, "PING", 5, 5}}, NULL},
    {"empty arrays skipped", C, "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", 0, 1,
     {{'*', 0, 1, "PING", 14, 9}}, NULL},
    {"inline first cut", C,
     "0123456789012345678901234567890123456789012345678901234567890123456789"
     " x\r\n", 0, 1,
     {{'i', 0, 0,
       "012345678901234567890123456789012345678901234567890123456789012",
       0, 0}}, NULL},
};

static void test_client(void **st)
{
    (void)st;
    check_all(client_cases, sizeof client_cases / sizeof client_cases[0]);
}

/* ---- violations ---- */

#define DEEP33                                                              \
    "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"                     \
    "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"                     \
    "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n"                     \
    "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"

static const struct tcase error_cases[] = {
    {"length non-digit", S, "$abc\r\n", 0, 0, {{0}}, "length has a non-digit"},
    {"length -2", S, "$-2\r\n", 0, 0, {{0}}, "negative length"},
    {"length -10", S, "*-10\r\n", 0, 0, {{0}}, "negative length"},
    {"length dash only", S, "$-\r\n", 0, 0, {{0}}, "bulk length is empty"},
    {"length leading zero", S, "$01\r\nx\r\n", 0, 0, {{0}}, "leading zero"},
    {"length empty", S, "$\r\n", 0, 0, {{0}}, "bulk length is empty"},
    {"count empty", S, "*\r\n", 0, 0, {{0}}, "aggregate count is empty"},
    {"bulk too long", S, "$5\r\nhelloX\r\n", 0, 0, {{0}},
     "bulk string not followed by CRLF"},
    {"bulk without lf", S, "$5\r\nhello\rX", 0, 0, {{0}},
     "bulk string not followed by CRLF"},
    {"bulk over limit", S, "$536870913\r\n", 0, 0, {{0}}, "RESP_MAX_BULK"},
    {"bulk at limit digits", S, "$5368709120\r\n", 0, 0, {{0}},
     "RESP_MAX_BULK"},
    {"count over limit", S, "*16777217\r\n", 0, 0, {{0}}, "RESP_MAX_ELEMS"},
    {"map over limit", S, "%99999999999\r\n", 0, 0, {{0}}, "RESP_MAX_ELEMS"},
    {"depth 33", S, DEEP33, 0, 0, {{0}}, "RESP_MAX_DEPTH"},
    {"bare lf", S, "+OK\n", 0, 0, {{0}}, "bare LF"},
    {"cr without lf", S, "+OK\rX", 0, 0, {{0}}, "CR not followed by LF"},
    {"integer non-digit", S, ":12a\r\n", 0, 0, {{0}}, "integer has a non-digit"},
    {"integer plus", S, ":+1\r\n", 0, 0, {{0}}, "integer has a non-digit"},
    {"integer empty", S, ":\r\n", 0, 0, {{0}}, "integer has no digits"},
    {"integer minus only", S, ":-\r\n", 0, 0, {{0}}, "integer has no digits"},
    {"integer overflow", S, ":9223372036854775808\r\n", 0, 0, {{0}},
     "out of range"},
    {"integer underflow", S, ":-9223372036854775809\r\n", 0, 0, {{0}},
     "out of range"},
    {"integer leading zero", S, ":007\r\n", 0, 0, {{0}}, "leading zero"},
    {"big number letter", S, "(12x\r\n", 0, 0, {{0}}, "non-digit"},
    {"unknown type", S, "@foo\r\n", 0, 0, {{0}}, "unknown RESP type"},
    {"boolean x", S, "#x\r\n", 0, 0, {{0}}, "boolean"},
    {"boolean long", S, "#tt\r\n", 0, 0, {{0}}, "boolean"},
    {"boolean empty", S, "#\r\n", 0, 0, {{0}}, "boolean"},
    {"null not empty", S, "_x\r\n", 0, 0, {{0}}, "not empty"},
    {"double dot end", S, ",1.\r\n", 0, 0, {{0}}, "double"},
    {"double dot start", S, ",.5\r\n", 0, 0, {{0}}, "double"},
    {"double word", S, ",abc\r\n", 0, 0, {{0}}, "double"},
    {"double long word", S, ",infinity\r\n", 0, 0, {{0}}, "double"},
    {"double exp empty", S, ",1e\r\n", 0, 0, {{0}}, "double"},
    {"double empty", S, ",\r\n", 0, 0, {{0}}, "double"},
    {"double two signs", S, ",--1\r\n", 0, 0, {{0}}, "double"},
    {"verbatim short", S, "=3\r\nabc\r\n", 0, 0, {{0}}, "verbatim"},
    {"verbatim no colon", S, "=5\r\nabcde\r\n", 0, 0, {{0}}, "verbatim"},
    {"verbatim null", S, "=-1\r\n", 0, 0, {{0}}, "non-digit"},
    {"end at top", S, ".\r\n", 0, 0, {{0}}, "'.' outside"},
    {"end in fixed array", S, "*1\r\n.\r\n", 0, 0, {{0}}, "'.' outside"},
    {"end not empty", S, "*?\r\n.x\r\n", 0, 0, {{0}}, "not empty"},
    {"streamed map odd", S, "%?\r\n+a\r\n.\r\n", 0, 0, {{0}},
     "between a key and its value"},
    {"chunk without semicolon", S, "$?\r\n:1\r\n", 0, 0, {{0}},
     "does not start with ';'"},
    {"streamed junk", S, "$?x\r\n", 0, 0, {{0}}, "after '?'"},
    {"chunk streamed", S, "$?\r\n;?\r\n", 0, 0, {{0}}, "non-digit"},
    {"error bare lf", S, "-ERR x\n", 0, 0, {{0}}, "bare LF"},
    {"client simple element", C, "*1\r\n+PING\r\n", 0, 0, {{0}},
     "not a bulk string"},
    {"client nested array", C, "*2\r\n*1\r\n$1\r\na\r\n", 0, 0, {{0}},
     "not a bulk string"},
    {"client null bulk", C, "*1\r\n$-1\r\n", 0, 0, {{0}}, "non-digit"},
    {"client streamed bulk", C, "*1\r\n$?\r\n", 0, 0, {{0}}, "non-digit"},
    {"client streamed array", C, "*?\r\n", 0, 0, {{0}}, "non-digit"},
    {"client bulk without crlf", C, "*1\r\n$4\r\nPING\n", 0, 0, {{0}},
     "bulk string not followed by CRLF"},
    {"client inline cr", C, "PI\rNG\r\n", 0, 0, {{0}},
     "CR not followed by LF"},
    {"client count bare lf", C, "*1\n", 0, 0, {{0}}, "bare LF"},
};

static void test_errors(void **st)
{
    (void)st;
    check_all(error_cases, sizeof error_cases / sizeof error_cases[0]);
}

/* Lines at and over RESP_MAX_LINE, and the limits checked without the
 * bytes (a bulk at RESP_MAX_BULK is framed without being fed whole). */
static void test_long_lines(void **st)
{
    (void)st;
    size_t n = RESP_MAX_LINE + 3;
    char *b = malloc(n + 1);
    assert_non_null(b);
    for (int client = 0; client < 2; client++) {
        b[0] = client ? 'x' : '+';
        memset(b + 1, 'a', n - 1);
        /* RESP_MAX_LINE bytes after the type byte (client: with it) */
        size_t len = client ? RESP_MAX_LINE : RESP_MAX_LINE + 1;
        memcpy(b + len, "\r\n", 2);
        struct got g;
        run(client, (uint8_t *)b, len + 2, 0, &g);
        assert_int_equal(g.err, 0);
        assert_int_equal(g.n, 1);
        assert_int_equal(g.m[0].bytes, len + 2);
        assert_int_equal(strlen(g.m[0].first), 63);
        struct got g1;
        run(client, (uint8_t *)b, len + 2, -1, &g1);
        same(&g, &g1, "max line", -1);
        /* one more byte is too long */
        b[len] = 'a';
        memcpy(b + len + 1, "\r\n", 2);
        run(client, (uint8_t *)b, len + 3, 0, &g);
        assert_int_equal(g.err, 1);
        assert_non_null(strstr(g.why, "RESP_MAX_LINE"));
    }
    free(b);

    /* a bulk of exactly RESP_MAX_BULK: header accepted, payload skipped in
     * large runs without being stored */
    struct resp_reader r;
    resp_reader_init(&r, 0);
    int done;
    struct resp_msg m;
    const char *why;
    const char *hdr = "$536870912\r\n";
    assert_int_equal(resp_read(&r, (const uint8_t *)hdr, strlen(hdr), &done,
                               &m, &why), (long)strlen(hdr));
    assert_int_equal(done, 0);
    static uint8_t zeros[1 << 16];
    for (uint64_t left = RESP_MAX_BULK; left;) {
        size_t k = left < sizeof zeros ? (size_t)left : sizeof zeros;
        assert_int_equal(resp_read(&r, zeros, k, &done, &m, &why), (long)k);
        assert_int_equal(done, 0);
        left -= k;
    }
    assert_int_equal(resp_read(&r, (const uint8_t *)"\r\n+OK\r\n", 7, &done,
                               &m, &why), 2);
    assert_int_equal(done, 1);
    assert_int_equal(m.bytes, strlen(hdr) + RESP_MAX_BULK + 2);

    /* RESP_MAX_ELEMS elements is allowed, one more is not */
    resp_reader_init(&r, 0);
    assert_int_equal(resp_read(&r, (const uint8_t *)"*16777216\r\n", 11,
                               &done, &m, &why), 11);
    assert_int_equal(done, 0);
    resp_reader_init(&r, 1);
    assert_int_equal(resp_read(&r, (const uint8_t *)"*16777217\r\n", 11,
                               &done, &m, &why), -1);
    assert_non_null(strstr(why, "RESP_MAX_ELEMS"));
    /* zero bytes: nothing happens */
    resp_reader_init(&r, 0);
    assert_int_equal(resp_read(&r, (const uint8_t *)"", 0, &done, &m, &why),
                     0);
    assert_int_equal(done, 0);
}

/* ---- split, name, secret, write ---- */

static void args_of(const char *line, struct resp_arg *argv, int *argc)
{
    assert_int_equal(resp_split_command((const uint8_t *)line, strlen(line),
                                        argv, 16, argc), 0);
}

static int arg_is(const struct resp_arg *a, const char *s)
{
    return a->n == strlen(s) && memcmp(a->p, s, a->n) == 0;
}

static void test_split(void **st)
{
    (void)st;
    struct resp_arg argv[4];
    int argc = -1;
    const char *m = "*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$0\r\n\r\n";
    assert_int_equal(resp_split_command((const uint8_t *)m, strlen(m), argv,
                                        4, &argc), 0);
    assert_int_equal(argc, 3);
    assert_true(arg_is(&argv[0], "SET"));
    assert_true(arg_is(&argv[1], "k\r\n"));
    assert_true(arg_is(&argv[2], ""));
    assert_ptr_equal(argv[0].p, (const uint8_t *)m + 8);
    /* more arguments than room: the count is still whole */
    assert_int_equal(resp_split_command((const uint8_t *)m, strlen(m), argv,
                                        1, &argc), 0);
    assert_int_equal(argc, 3);
    m = "  set \t k   v \r\n";
    assert_int_equal(resp_split_command((const uint8_t *)m, strlen(m), argv,
                                        4, &argc), 0);
    assert_int_equal(argc, 3);
    assert_true(arg_is(&argv[0], "set"));
    assert_true(arg_is(&argv[1], "k"));
    assert_true(arg_is(&argv[2], "v"));
    m = "PING";
    assert_int_equal(resp_split_command((const uint8_t *)m, 4, argv, 4,
                                        &argc), 0);
    assert_int_equal(argc, 1);
    static const char *const bad[] = {
        "", "\r\n", "   \n", "*0\r\n", "*1\r\n+OK\r\n", "*2\r\n$1\r\na\r\n",
        "*1\r\n$1\r\na\r\nX", "*1\r\n$2\r\na\r\n", "*1\r\n$1\r\nab\r\n",
        "*x\r\n", "*1\r\n$01\r\na\r\n", "*1\r\n$-1\r\n", "*1\n$1\na\n",
        "*1\r\n$1\r\na\rX",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        argc = 9;
        if (resp_split_command((const uint8_t *)bad[i], strlen(bad[i]), argv,
                               4, &argc) != -1)
            fail_msg("split accepted bad command %zu", i);
        assert_int_equal(argc, 0);
    }
}

static void name_of(const char *line, const char *want_name,
                    const char *want_detail)
{
    struct resp_arg argv[16];
    int argc;
    char name[64], detail[64];
    args_of(line, argv, &argc);
    resp_command_name(argv, argc, name, sizeof name, detail, sizeof detail);
    if (strcmp(name, want_name) || strcmp(detail, want_detail))
        fail_msg("'%s': name '%s' detail '%s', want '%s' '%s'", line, name,
                 detail, want_name, want_detail);
}

static void test_name(void **st)
{
    (void)st;
    name_of("get k\r\n", "GET", "");
    name_of("config get maxmemory\r\n", "CONFIG GET", "");
    name_of("Client SetName app\r\n", "CLIENT SETNAME", "");
    name_of("xinfo stream s\r\n", "XINFO STREAM", "");
    name_of("script load x\r\n", "SCRIPT LOAD", "");
    name_of("cluster info\r\n", "CLUSTER INFO", "");
    name_of("acl setuser bob\r\n", "ACL SETUSER", "");
    name_of("object encoding k\r\n", "OBJECT ENCODING", "");
    name_of("xgroup create s g $\r\n", "XGROUP CREATE", "");
    name_of("memory usage k\r\n", "MEMORY USAGE", "");
    name_of("function list\r\n", "FUNCTION LIST", "");
    name_of("command docs get\r\n", "COMMAND DOCS", "");
    name_of("module list\r\n", "MODULE LIST", "");
    name_of("slowlog get 10\r\n", "SLOWLOG GET", "");
    name_of("latency latest\r\n", "LATENCY LATEST", "");
    name_of("pubsub channels\r\n", "PUBSUB CHANNELS", "");
    name_of("debug sleep 0\r\n", "DEBUG SLEEP", "");
    name_of("client\r\n", "CLIENT", "");
    name_of("command\r\n", "COMMAND", "");
    name_of("set config get\r\n", "SET", "");
    name_of("evalsha e0e1f9fabfc9d4800c877a703b823ac0578ff831 1 k\r\n",
            "EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff831");
    name_of("evalsha_ro AbC 0\r\n", "EVALSHA_RO", "AbC");
    name_of("FCALL myfunc 0\r\n", "FCALL", "myfunc");
    name_of("fcall_ro MyFunc 1 k\r\n", "FCALL_RO", "MyFunc");
    name_of("evalsha\r\n", "EVALSHA", "");
    name_of("eval \"return 1\" 0\r\n", "EVAL", "");

    /* cut to the caps; NUL bytes written '?' */
    struct resp_arg argv[3];
    int argc;
    char name[5], detail[3];
    args_of("config resetstat\r\n", argv, &argc);
    resp_command_name(argv, argc, name, sizeof name, detail, sizeof detail);
    assert_string_equal(name, "CONF");
    assert_string_equal(detail, "");
    args_of("evalsha abcdef 0\r\n", argv, &argc);
    resp_command_name(argv, argc, name, sizeof name, detail, sizeof detail);
    assert_string_equal(name, "EVAL");
    assert_string_equal(detail, "ab");
    const char *m = "*1\r\n$3\r\na\0b\r\n";
    assert_int_equal(resp_split_command((const uint8_t *)m, 13, argv, 3,
                                        &argc), 0);
    resp_command_name(argv, argc, name, sizeof name, detail, sizeof detail);
    assert_string_equal(name, "A?B");
    resp_command_name(argv, 0, name, sizeof name, detail, sizeof detail);
    assert_string_equal(name, "");
    resp_command_name(argv, argc, name, 0, detail, 0); /* no room at all */
}

/* the arguments of line that resp_arg_is_secret marks, as "1 3 4" */
static void secrets_of(const char *line, const char *want)
{
    struct resp_arg argv[16];
    int argc;
    args_of(line, argv, &argc);
    char got[64] = "";
    size_t at = 0;
    for (int i = -1; i <= argc; i++)
        if (resp_arg_is_secret(argv, argc, i))
            at += (size_t)snprintf(got + at, sizeof got - at, "%s%d",
                                   at ? " " : "", i);
    if (strcmp(got, want))
        fail_msg("'%s': secrets '%s', want '%s'", line, got, want);
}

static void test_secret(void **st)
{
    (void)st;
    secrets_of("AUTH hunter2\r\n", "1");
    secrets_of("auth default hunter2\r\n", "1 2");
    secrets_of("AUTH\r\n", "");
    secrets_of("HELLO 3 AUTH user pass SETNAME app\r\n", "3 4");
    secrets_of("hello 3 setname auth\r\n", "");
    secrets_of("HELLO 3 SETNAME app auth u p\r\n", "5 6");
    secrets_of("HELLO 3\r\n", "");
    secrets_of("MIGRATE h 6379 \"\" 0 5000 COPY AUTH pw KEYS AUTH x\r\n", "8");
    secrets_of("migrate h 6379 k 0 5000 replace auth2 user pw\r\n", "8 9");
    secrets_of("MIGRATE h 6379 k 0 5000 KEYS AUTH x\r\n", "");
    secrets_of("MIGRATE h 6379 auth 0 5000\r\n", "");
    secrets_of("CONFIG SET requirepass s maxmemory 1mb MasterAuth m\r\n",
               "3 7");
    secrets_of("config set masteruser u\r\n", "3");
    secrets_of("CONFIG GET requirepass\r\n", "");
    secrets_of("CONFIG SET maxmemory requirepass\r\n", "");
    secrets_of("ACL SETUSER bob on >pw <old #ab12 !cd34 ~* +@all\r\n",
               "4 5 6 7");
    secrets_of("acl setuser >bob\r\n", "");
    secrets_of("ACL GETUSER >x\r\n", "");
    secrets_of("SET password hunter2\r\n", "");
    struct resp_arg none[1];
    assert_int_equal(resp_arg_is_secret(none, 0, 0), 0);
}

static void test_write(void **st)
{
    (void)st;
    struct rp_buf b;
    rp_buf_init(&b, 0);
    const char bin[] = "a\r\n*1\r\n$0\0z";
    struct resp_arg argv[4] = {
        {(const uint8_t *)"SET", 3},
        {(const uint8_t *)bin, sizeof bin - 1},
        {(const uint8_t *)"", 0},
        {(const uint8_t *)"v", 1},
    };
    assert_int_equal(resp_write_command(&b, argv, 4), 0);
    assert_int_equal(resp_write_command(&b, argv, 1), 0);
    const char *want1 = "*1\r\n$3\r\nSET\r\n";
    assert_int_equal(memcmp(b.data + b.len - strlen(want1), want1,
                            strlen(want1)), 0);
    /* both read back as two commands with the same arguments */
    struct got g;
    run(1, (const uint8_t *)b.data, b.len, 0, &g);
    assert_int_equal(g.err, 0);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.m[0].type, '*');
    assert_int_equal(g.m[0].nelem, 4);
    assert_string_equal(g.m[0].first, "SET");
    assert_int_equal(g.m[0].bytes + g.m[1].bytes, b.len);
    struct resp_arg back[4];
    int argc;
    assert_int_equal(resp_split_command((const uint8_t *)b.data,
                                        (size_t)g.m[0].bytes, back, 4,
                                        &argc), 0);
    assert_int_equal(argc, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(back[i].n, argv[i].n);
        if (argv[i].n)
            assert_memory_equal(back[i].p, argv[i].p, argv[i].n);
    }
    struct got g1;
    for (size_t k = 1; k < b.len; k++) {
        run(1, (const uint8_t *)b.data, b.len, (long)k, &g1);
        same(&g, &g1, "write", (long)k);
    }
    /* a buffer capped too small: RP_ENOMEM and unchanged */
    struct rp_buf small;
    rp_buf_init(&small, 16);
    assert_int_equal(rp_buf_puts(&small, "abc"), 0);
    assert_int_equal(resp_write_command(&small, argv, 4), RP_ENOMEM);
    assert_int_equal(small.len, 3);
    assert_string_equal(small.data, "abc");
    rp_buf_cleanup(&small);
    rp_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp2),
        cmocka_unit_test(test_resp3),
        cmocka_unit_test(test_pipelines),
        cmocka_unit_test(test_client),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_name),
        cmocka_unit_test(test_secret),
        cmocka_unit_test(test_write),
    };
    return cmocka_run_group_tests(tests, setup_guard, NULL);
}
