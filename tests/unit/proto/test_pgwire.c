/*
 * test_pgwire.c: the PostgreSQL v3 framer, its accessors and the statement
 * normaliser. Each transcript (startup with a SCRAM exchange, simple and
 * extended queries, errors, COPY both ways, SSLRequest answered 'N', a
 * capture that starts mid-connection) is built here byte by byte, then fed
 * whole, split at every offset and one byte per call: the list of framed
 * messages, read back through the accessors, must be the same every time.
 * Accessors and the framer also run behind a guard page, and the
 * normaliser runs against a table of cases and pgbench's statements with
 * many literal values.
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

#include "proto/pgwire.h"

/* ---- building messages ---- */

struct wb {
    uint8_t d[16384];
    size_t n;
    size_t start; /* where the open message's length field is */
};

static void w_u8(struct wb *w, uint8_t v)
{
    assert_true(w->n < sizeof w->d);
    w->d[w->n++] = v;
}

static void w_i16(struct wb *w, int v)
{
    w_u8(w, (uint8_t)((unsigned)v >> 8));
    w_u8(w, (uint8_t)v);
}

static void w_i32(struct wb *w, uint32_t v)
{
    for (int s = 24; s >= 0; s -= 8)
        w_u8(w, (uint8_t)(v >> s));
}

static void w_raw(struct wb *w, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        w_u8(w, ((const uint8_t *)p)[i]);
}

static void w_str(struct wb *w, const char *s)
{
    w_raw(w, s, strlen(s) + 1);
}

/* Opens a message: the type byte (none when type is 0), then a length
 * field that w_end fills. */
static void w_begin(struct wb *w, char type)
{
    if (type)
        w_u8(w, (uint8_t)type);
    w->start = w->n;
    w_i32(w, 0);
}

static void w_end(struct wb *w)
{
    uint32_t len = (uint32_t)(w->n - w->start);
    for (int i = 0; i < 4; i++)
        w->d[w->start + (size_t)i] = (uint8_t)(len >> (24 - 8 * i));
}

/* A message with only strings after its header. */
static void w_strmsg(struct wb *w, char type, const char *s)
{
    w_begin(w, type);
    w_str(w, s);
    w_end(w);
}

static void w_empty(struct wb *w, char type)
{
    w_begin(w, type);
    w_end(w);
}

static void w_startup(struct wb *w, const char *user, const char *db)
{
    w_begin(w, 0);
    w_i32(w, PG_CODE_STARTUP);
    w_str(w, "user");
    w_str(w, user);
    w_str(w, "database");
    w_str(w, db);
    w_str(w, "application_name");
    w_str(w, "psql");
    w_u8(w, 0);
    w_end(w);
}

static void w_auth(struct wb *w, uint32_t code, const void *data, size_t n)
{
    w_begin(w, 'R');
    w_i32(w, code);
    w_raw(w, data, n);
    w_end(w);
}

static void w_param_status(struct wb *w, const char *k, const char *v)
{
    w_begin(w, 'S');
    w_str(w, k);
    w_str(w, v);
    w_end(w);
}

static void w_ready(struct wb *w, char st)
{
    w_begin(w, 'Z');
    w_u8(w, (uint8_t)st);
    w_end(w);
}

static void w_error(struct wb *w, char type, const char *state,
                    const char *text)
{
    w_begin(w, type);
    w_u8(w, 'S');
    w_str(w, "ERROR");
    w_u8(w, 'V');
    w_str(w, "ERROR");
    if (state) {
        w_u8(w, 'C');
        w_str(w, state);
    }
    if (text) {
        w_u8(w, 'M');
        w_str(w, text);
    }
    w_u8(w, 'F');
    w_str(w, "parse_relation.c");
    w_u8(w, 0);
    w_end(w);
}

static void w_row_desc(struct wb *w, const char *col)
{
    w_begin(w, 'T');
    w_i16(w, 1);
    w_str(w, col);
    w_i32(w, 16384); /* table oid */
    w_i16(w, 1);     /* column number */
    w_i32(w, 23);    /* int4 */
    w_i16(w, 4);
    w_i32(w, 0xffffffffu); /* typmod -1 */
    w_i16(w, 0);
    w_end(w);
}

static void w_data_row(struct wb *w, const char *v)
{
    w_begin(w, 'D');
    w_i16(w, 1);
    if (v) {
        w_i32(w, (uint32_t)strlen(v));
        w_raw(w, v, strlen(v));
    } else {
        w_i32(w, 0xffffffffu); /* NULL */
    }
    w_end(w);
}

/* ---- feeding ---- */

#define SPLIT_WHOLE ((size_t)-1)
#define SPLIT_BYTES ((size_t)-2)

struct feed {
    int from_client;
    int answer_first;   /* server: expect_answer before the first byte */
    int untyped_on_ssl; /* client: expect_untyped after an SSLRequest */
};

static void describe(const struct feed *f, const uint8_t *m, size_t n,
                     const struct pg_msg *pm, char *out, size_t cap)
{
    const char *s1, *s2;
    size_t l;
    char st[6];
    uint32_t code;
    const uint8_t *data;
    char z;
    if (pm->answer) {
        snprintf(out, cap, "A%c", pm->answer);
        return;
    }
    if (pm->type == 0) {
        switch (pm->code) {
        case PG_CODE_SSL:
            snprintf(out, cap, "SSL");
            return;
        case PG_CODE_GSSENC:
            snprintf(out, cap, "GSS");
            return;
        case PG_CODE_CANCEL:
            snprintf(out, cap, "CANCEL%zu", n);
            return;
        default:
            if (pg_msg_startup_param(m, n, "user", &s1) == 0 &&
                pg_msg_startup_param(m, n, "database", &s2) == 0)
                snprintf(out, cap, "START(%s@%s)", s1, s2);
            else
                snprintf(out, cap, "START?");
            return;
        }
    }
    int rc = 0;
    switch (f->from_client ? pm->type | 0x100 : pm->type) {
    case 'Q' | 0x100:
        rc = pg_msg_query(m, n, &s1, &l);
        if (!rc)
            snprintf(out, cap, "Q(%s)", s1);
        break;
    case 'P' | 0x100:
        rc = pg_msg_parse(m, n, &s1, &s2, &l);
        if (!rc)
            snprintf(out, cap, "P(%s|%s)", s1, s2);
        break;
    case 'B' | 0x100:
        rc = pg_msg_bind(m, n, &s1, &s2);
        if (!rc)
            snprintf(out, cap, "B(%s|%s)", s1, s2);
        break;
    case 'E':
    case 'N':
        rc = pg_msg_error(m, n, st, &s1, &l);
        if (!rc)
            snprintf(out, cap, "%c(%s|%s)", pm->type, st, s1);
        break;
    case 'C':
        rc = pg_msg_command_tag(m, n, &s1, &l);
        if (!rc)
            snprintf(out, cap, "C(%s)", s1);
        break;
    case 'R':
        rc = pg_msg_auth(m, n, &code, &data, &l);
        if (!rc)
            snprintf(out, cap, "R(%u,%zu)", code, l);
        break;
    case 'Z':
        rc = pg_msg_ready(m, n, &z);
        if (!rc)
            snprintf(out, cap, "Z(%c)", z);
        break;
    default:
        snprintf(out, cap, "%c%zu", pm->type, n);
    }
    assert_int_equal(rc, 0);
}

/* Frames p[0..n) cut at split (or whole, or byte by byte) and returns the
 * transcript: one entry per message, "!why" at a violation, "..." when the
 * stream ends inside a message. */
static char *frame(const struct feed *f, const uint8_t *p, size_t n,
                   size_t split)
{
    struct pg_reader r;
    pg_reader_init(&r, f->from_client);
    if (f->answer_first)
        pg_reader_expect_answer(&r);
    size_t cap = 65536, len = 0;
    char *out = calloc(1, cap);
    assert_non_null(out);
    size_t at = 0, msg_start = 0;
    int dead = 0;
    while (at < n && !dead) {
        size_t run = n - at;
        if (split == SPLIT_BYTES)
            run = 1;
        else if (split != SPLIT_WHOLE && at < split && split - at < run)
            run = split - at;
        const uint8_t *q = p + at;
        size_t left = run;
        int guard = 0;
        while (left > 0) {
            int done = -7;
            struct pg_msg m;
            const char *why = NULL;
            long k = pg_read(&r, q, left, &done, &m, &why);
            if (k < 0) {
                assert_non_null(why);
                len += (size_t)snprintf(out + len, cap - len, "%s!%s",
                                        msg_start ? " " : "", why);
                /* dead for good, with the same reason */
                const char *why2 = NULL;
                assert_int_equal(pg_read(&r, q, left, &done, &m, &why2), -1);
                assert_string_equal(why, why2);
                dead = 1;
                break;
            }
            assert_true((size_t)k <= left);
            assert_true(done == 0 || done == 1);
            assert_true(k > 0 || done); /* progress */
            if (!done)
                assert_int_equal((size_t)k, left);
            q += k;
            left -= (size_t)k;
            at += (size_t)k;
            if (done) {
                assert_int_equal(m.bytes, at - msg_start);
                char d[512];
                describe(f, p + msg_start, (size_t)m.bytes, &m, d, sizeof d);
                len += (size_t)snprintf(out + len, cap - len, "%s%s",
                                        msg_start ? " " : "", d);
                if (f->untyped_on_ssl && m.type == 0 &&
                    m.code == PG_CODE_SSL)
                    pg_reader_expect_untyped(&r);
                msg_start = at;
            }
            assert_true(++guard < 100000);
            assert_true(len < cap - 600);
        }
        /* an empty run is no message and no error */
        int done = -7;
        struct pg_msg m;
        const char *why = NULL;
        if (!dead) {
            assert_int_equal(pg_read(&r, p, 0, &done, &m, &why), 0);
            assert_int_equal(done, 0);
        }
    }
    if (!dead && msg_start != n)
        snprintf(out + len, cap - len, "%s...", msg_start ? " " : "");
    return out;
}

/* The transcript fed whole must be want; at every split and byte by byte
 * it must be the same. */
static void check_all(const struct feed *f, const struct wb *w,
                      const char *want)
{
    char *whole = frame(f, w->d, w->n, SPLIT_WHOLE);
    assert_string_equal(whole, want);
    for (size_t s = 0; s <= w->n; s++) {
        char *cut = frame(f, w->d, w->n, s);
        if (strcmp(cut, whole) != 0)
            fail_msg("split at %zu: %s\nwhole: %s", s, cut, whole);
        free(cut);
    }
    char *bytes = frame(f, w->d, w->n, SPLIT_BYTES);
    assert_string_equal(bytes, whole);
    free(bytes);
    free(whole);
}

static const struct feed CLIENT = {1, 0, 0};
static const struct feed SERVER = {0, 0, 0};

/* ---- transcripts ---- */

static const char server_first[] =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
static const char client_final[] =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
static const char server_final[] =
    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

static void test_startup_scram(void **st)
{
    (void)st;
    struct wb c = {0}, s = {0};
    w_startup(&c, "bench", "pgbench");
    /* SASLInitialResponse */
    const char first[] = "n,,n=,r=rOprNGfwEbeRWgbNEkqO";
    w_begin(&c, 'p');
    w_str(&c, "SCRAM-SHA-256");
    w_i32(&c, (uint32_t)strlen(first));
    w_raw(&c, first, strlen(first));
    w_end(&c);
    /* SASLResponse */
    w_begin(&c, 'p');
    w_raw(&c, client_final, strlen(client_final));
    w_end(&c);
    check_all(&CLIENT, &c, "START(bench@pgbench) p51 p111");

    w_auth(&s, 10, "SCRAM-SHA-256\0\0", 15);
    w_auth(&s, 11, server_first, strlen(server_first));
    w_auth(&s, 12, server_final, strlen(server_final));
    w_auth(&s, 0, NULL, 0);
    w_param_status(&s, "server_version", "15.5");
    w_param_status(&s, "client_encoding", "UTF8");
    w_param_status(&s, "DateStyle", "ISO, MDY");
    w_begin(&s, 'K');
    w_i32(&s, 4242);
    w_i32(&s, 0x12345678u);
    w_end(&s);
    w_ready(&s, 'I');
    check_all(&SERVER, &s,
              "R(10,15) R(11,86) R(12,46) R(0,0) S25 S26 S24 K13 Z(I)");

    /* the SASL data read back through pg_msg_auth */
    uint32_t code;
    const uint8_t *data;
    size_t len;
    size_t off = 0;
    off += 1 + 4 + 4 + 15; /* past the first R */
    assert_int_equal(pg_msg_auth(s.d + off, 1 + 4 + 4 + strlen(server_first),
                                 &code, &data, &len), 0);
    assert_int_equal(code, 11);
    assert_int_equal(len, strlen(server_first));
    assert_memory_equal(data, server_first, len);
}

static void test_cleartext_md5_auth(void **st)
{
    (void)st;
    struct wb s = {0}, c = {0};
    w_auth(&s, 3, NULL, 0);
    w_auth(&s, 5, "\x01\x02\x03\x04", 4);
    w_auth(&s, 0, NULL, 0);
    w_ready(&s, 'I');
    check_all(&SERVER, &s, "R(3,0) R(5,4) R(0,0) Z(I)");
    w_startup(&c, "u", "d");
    w_strmsg(&c, 'p', "md5a3556571e93b0d20722ba62be61e8c2d");
    w_empty(&c, 'X');
    check_all(&CLIENT, &c, "START(u@d) p41 X5");
}

static void test_simple_query(void **st)
{
    (void)st;
    struct wb c = {0}, s = {0};
    w_strmsg(&c, 'Q', "SELECT abalance FROM pgbench_accounts WHERE aid = 1;");
    w_strmsg(&c, 'Q', "");
    w_empty(&c, 'X');
    /* no startup: a capture from mid-connection */
    check_all(&CLIENT, &c,
              "Q(SELECT abalance FROM pgbench_accounts WHERE aid = 1;) Q() "
              "X5");
    w_row_desc(&s, "abalance");
    w_data_row(&s, "-3164");
    w_data_row(&s, NULL);
    w_strmsg(&s, 'C', "SELECT 2");
    w_ready(&s, 'I');
    w_empty(&s, 'I'); /* EmptyQueryResponse */
    w_ready(&s, 'I');
    check_all(&SERVER, &s, "T34 D16 D11 C(SELECT 2) Z(I) I5 Z(I)");
}

static void test_extended_query(void **st)
{
    (void)st;
    struct wb c = {0}, s = {0};
    w_begin(&c, 'P');
    w_str(&c, "s1");
    w_str(&c, "UPDATE pgbench_accounts SET abalance = abalance + $1 "
              "WHERE aid = $2");
    w_i16(&c, 2);
    w_i32(&c, 23);
    w_i32(&c, 23);
    w_end(&c);
    w_begin(&c, 'B');
    w_str(&c, "");
    w_str(&c, "s1");
    w_i16(&c, 1);
    w_i16(&c, 0); /* text for all */
    w_i16(&c, 2);
    w_i32(&c, 5);
    w_raw(&c, "-3164", 5);
    w_i32(&c, 0xffffffffu); /* NULL */
    w_i16(&c, 1);
    w_i16(&c, 1);
    w_end(&c);
    w_begin(&c, 'D');
    w_u8(&c, 'P');
    w_str(&c, "");
    w_end(&c);
    w_begin(&c, 'E');
    w_str(&c, "");
    w_i32(&c, 0);
    w_end(&c);
    w_empty(&c, 'S');
    w_empty(&c, 'H');
    w_begin(&c, 'C');
    w_u8(&c, 'S');
    w_str(&c, "s1");
    w_end(&c);
    w_empty(&c, 'S');
    check_all(&CLIENT, &c,
              "P(s1|UPDATE pgbench_accounts SET abalance = abalance + $1 "
              "WHERE aid = $2) B(|s1) D7 E10 S5 H5 C9 S5");

    w_empty(&s, '1');
    w_empty(&s, '2');
    w_row_desc(&s, "n");
    w_data_row(&s, "1");
    w_strmsg(&s, 'C', "UPDATE 1");
    w_ready(&s, 'T');
    w_empty(&s, '3');
    w_ready(&s, 'I');
    check_all(&SERVER, &s, "15 25 T27 D12 C(UPDATE 1) Z(T) 35 Z(I)");
    /* 't' ParameterDescription, 'n' NoData, 's' PortalSuspended */
    struct wb s2 = {0};
    w_begin(&s2, 't');
    w_i16(&s2, 1);
    w_i32(&s2, 23);
    w_end(&s2);
    w_empty(&s2, 'n');
    w_empty(&s2, 's');
    w_begin(&s2, 'A'); /* NotificationResponse */
    w_i32(&s2, 99);
    w_str(&s2, "chan");
    w_str(&s2, "payload");
    w_end(&s2);
    w_begin(&s2, 'v'); /* NegotiateProtocolVersion */
    w_i32(&s2, 0x00030000u);
    w_i32(&s2, 0);
    w_end(&s2);
    check_all(&SERVER, &s2, "t11 n5 s5 A22 v13");
}

static void test_error_response(void **st)
{
    (void)st;
    struct wb s = {0};
    w_error(&s, 'E', "42P01", "relation \"nope\" does not exist");
    w_error(&s, 'N', "00000", "there is no transaction in progress");
    w_error(&s, 'E', NULL, NULL);
    w_ready(&s, 'E');
    check_all(&SERVER, &s,
              "E(42P01|relation \"nope\" does not exist) "
              "N(00000|there is no transaction in progress) E(|) Z(E)");
}

static void test_copy_in_out(void **st)
{
    (void)st;
    struct wb c = {0}, s = {0};
    w_strmsg(&c, 'Q', "COPY t FROM STDIN");
    for (int i = 0; i < 3; i++) {
        w_begin(&c, 'd');
        w_raw(&c, "1\tone\n", 6);
        w_end(&c);
    }
    w_empty(&c, 'c');
    w_strmsg(&c, 'Q', "COPY t2 FROM STDIN");
    w_strmsg(&c, 'f', "client gave up");
    check_all(&CLIENT, &c,
              "Q(COPY t FROM STDIN) d11 d11 d11 c5 Q(COPY t2 FROM STDIN) f20");
    /* CopyInResponse, CommandComplete; then COPY OUT */
    w_begin(&s, 'G');
    w_u8(&s, 0);
    w_i16(&s, 2);
    w_i16(&s, 0);
    w_i16(&s, 0);
    w_end(&s);
    w_strmsg(&s, 'C', "COPY 3");
    w_ready(&s, 'I');
    w_begin(&s, 'H');
    w_u8(&s, 0);
    w_i16(&s, 1);
    w_i16(&s, 0);
    w_end(&s);
    w_begin(&s, 'd');
    w_raw(&s, "42\n", 3);
    w_end(&s);
    w_empty(&s, 'c');
    w_strmsg(&s, 'C', "COPY 1");
    w_begin(&s, 'W'); /* CopyBothResponse (replication) */
    w_u8(&s, 0);
    w_i16(&s, 0);
    w_end(&s);
    check_all(&SERVER, &s,
              "G12 C(COPY 3) Z(I) H10 d8 c5 C(COPY 1) W8");
}

static void test_ssl_then_startup(void **st)
{
    (void)st;
    struct wb c = {0}, s = {0};
    w_begin(&c, 0);
    w_i32(&c, PG_CODE_SSL);
    w_end(&c);
    w_startup(&c, "alice", "shop");
    w_strmsg(&c, 'Q', "BEGIN;");
    /* the reader re-detects by itself, and with expect_untyped */
    check_all(&CLIENT, &c, "SSL START(alice@shop) Q(BEGIN;)");
    struct feed told = {1, 0, 1};
    check_all(&told, &c, "SSL START(alice@shop) Q(BEGIN;)");
    /* the server's answer 'N', then its reply to the startup */
    w_u8(&s, 'N');
    w_auth(&s, 0, NULL, 0);
    w_ready(&s, 'I');
    struct feed answer = {0, 1, 0};
    check_all(&answer, &s, "AN R(0,0) Z(I)");
    /* without expect_answer the 'N' reads as a NoticeResponse whose length
     * 'R'... is too long */
    char *t = frame(&SERVER, s.d, s.n, SPLIT_WHOLE);
    assert_string_equal(t, "!message length above PG_MAX_MSG");
    free(t);
    /* GSSENCRequest answered 'N', then SSLRequest answered 'N' */
    struct wb c2 = {0};
    w_begin(&c2, 0);
    w_i32(&c2, PG_CODE_GSSENC);
    w_end(&c2);
    w_begin(&c2, 0);
    w_i32(&c2, PG_CODE_SSL);
    w_end(&c2);
    w_startup(&c2, "a", "b");
    check_all(&CLIENT, &c2, "GSS SSL START(a@b)");
    /* answers 'S' and 'G' (the stream then carries TLS or GSS: the caller
     * stops framing) */
    struct wb s2 = {0};
    w_u8(&s2, 'S');
    check_all(&answer, &s2, "AS");
    s2.d[0] = 'G';
    check_all(&answer, &s2, "AG");
    /* a server predating SSL answers with an ErrorResponse */
    struct wb s3 = {0};
    w_error(&s3, 'E', "08P01", "unsupported frontend protocol");
    check_all(&answer, &s3, "E(08P01|unsupported frontend protocol)");
    /* TLS after 'S' on the client side is not PostgreSQL */
    struct wb c3 = {0};
    w_begin(&c3, 0);
    w_i32(&c3, PG_CODE_SSL);
    w_end(&c3);
    w_raw(&c3, "\x16\x03\x01\x02\x00\x01", 6);
    check_all(&CLIENT, &c3, "SSL !unknown client message type");
}

static void test_cancel_request(void **st)
{
    (void)st;
    struct wb c = {0};
    w_begin(&c, 0);
    w_i32(&c, PG_CODE_CANCEL);
    w_i32(&c, 4242);
    w_i32(&c, 0x12345678u);
    w_end(&c);
    check_all(&CLIENT, &c, "CANCEL16");
    w_u8(&c, 'X');
    check_all(&CLIENT, &c, "CANCEL16 !bytes after a CancelRequest");
    /* protocol 3.2: a longer key */
    struct wb c2 = {0};
    w_begin(&c2, 0);
    w_i32(&c2, PG_CODE_CANCEL);
    w_i32(&c2, 4242);
    for (int i = 0; i < 32; i++)
        w_u8(&c2, (uint8_t)i);
    w_end(&c2);
    check_all(&CLIENT, &c2, "CANCEL44");
}

static void test_mid_connection(void **st)
{
    (void)st;
    struct wb c = {0}, s = {0};
    /* a client stream that starts with a Sync, shorter than the 8 bytes of
     * an untyped header, then a Bind */
    w_empty(&c, 'S');
    w_strmsg(&c, 'Q', "END;");
    check_all(&CLIENT, &c, "S5 Q(END;)");
    /* server: DataRows then CommandComplete */
    w_data_row(&s, "7");
    w_strmsg(&s, 'C', "SELECT 1");
    w_ready(&s, 'T');
    check_all(&SERVER, &s, "D12 C(SELECT 1) Z(T)");
    /* cut short */
    struct wb s2 = s;
    s2.n -= 3;
    check_all(&SERVER, &s2, "D12 C(SELECT 1) ...");
}

static void test_protocol_minor_and_params(void **st)
{
    (void)st;
    struct wb c = {0};
    w_begin(&c, 0);
    w_i32(&c, PG_CODE_STARTUP | 2); /* 3.2 */
    w_str(&c, "user");
    w_str(&c, "u");
    w_str(&c, "database");
    w_str(&c, "d");
    w_str(&c, "_pq_.x");
    w_str(&c, "1");
    w_u8(&c, 0);
    w_end(&c);
    check_all(&CLIENT, &c, "START(u@d)");
    const char *v;
    assert_int_equal(pg_msg_startup_param(c.d, c.n, "_pq_.x", &v), 0);
    assert_string_equal(v, "1");
    assert_int_equal(pg_msg_startup_param(c.d, c.n, "options", &v), -1);
    assert_int_equal(pg_msg_startup_param(c.d, c.n, "", &v), -1);
    /* a startup message with no parameters at all */
    struct wb c2 = {0};
    w_begin(&c2, 0);
    w_i32(&c2, PG_CODE_STARTUP);
    w_u8(&c2, 0);
    w_end(&c2);
    char *t = frame(&CLIENT, c2.d, c2.n, SPLIT_WHOLE);
    assert_string_equal(t, "START?");
    free(t);
    assert_int_equal(pg_msg_startup_param(c2.d, c2.n, "user", &v), -1);
}

/* Each stream fails with its reason, whole and at every split. */
static void test_violations(void **st)
{
    (void)st;
    static const struct {
        int client;
        const char *bytes;
        size_t n;
        const char *want;
    } cases[] = {
        {1, "z\0\0\0\4", 5, "!unknown client message type"},
        {1, "Z\0\0\0\5I", 6, "!unknown client message type"},
        {0, "Q\0\0\0\5x", 6, "!unknown server message type"},
        {0, "\0\0\0\0\5", 5, "!unknown server message type"},
        {1, "Q\0\0\0\3", 5, "!message length below 4"},
        {1, "Q\x40\0\0\1", 5, "!message length above PG_MAX_MSG"},
        {0, "D\xff\xff\xff\xff", 5, "!message length above PG_MAX_MSG"},
        {1, "S\0\0\0\5x", 6, "!Sync, Flush, Terminate or CopyDone with a body"},
        {1, "X\0\0\0\10abcd", 9, "!Sync, Flush, Terminate or CopyDone with a body"},
        {0, "Z\0\0\0\6IT", 7, "!ReadyForQuery of another length than 5"},
        {0, "Z\0\0\0\4", 5, "!ReadyForQuery of another length than 5"},
        {0, "1\0\0\0\5x", 6, "!a bodiless server message with a body"},
        {0, "K\0\0\0\13abcdefg", 12, "!BackendKeyData of an impossible length"},
        {0, "R\0\0\0\7abc", 8, "!Authentication message without a code"},
        /* untyped */
        {1, "\0\0\0\10\0\2\0\0", 8,
         "!untyped message with an unknown code (not protocol 3)"},
        {1, "\0\0\0\7\0\3\0\0", 8, "!startup message of an impossible length"},
        {1, "\0\0\x27\x12\0\3\0\0", 8,
         "!startup message of an impossible length"},
        {1, "\0\0\0\14\x04\xd2\x16\x2f", 8,
         "!SSLRequest or GSSENCRequest not of 8 bytes"},
        {1, "\0\0\0\17\x04\xd2\x16\x2e", 8,
         "!CancelRequest of an impossible length"},
        {1, "\0\0\0\0\0\0\0\0", 8,
         "!untyped message with an unknown code (not protocol 3)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct wb w = {0};
        w_raw(&w, cases[i].bytes, cases[i].n);
        check_all(cases[i].client ? &CLIENT : &SERVER, &w, cases[i].want);
    }
    /* a startup of exactly PG_MAX_STARTUP bytes is accepted */
    struct wb big = {0};
    w_begin(&big, 0);
    w_i32(&big, PG_CODE_STARTUP);
    w_str(&big, "user");
    while (big.n < PG_MAX_STARTUP - 1)
        w_u8(&big, 'u');
    big.d[big.n - 1] = 0;
    w_u8(&big, 0);
    w_end(&big);
    assert_int_equal(big.n, PG_MAX_STARTUP);
    char *t = frame(&CLIENT, big.d, big.n, SPLIT_WHOLE);
    assert_string_equal(t, "START?");
    free(t);
    /* a bad answer to SSLRequest */
    struct wb a = {0};
    w_u8(&a, 'X');
    struct feed answer = {0, 1, 0};
    check_all(&answer, &a,
              "!answer to SSLRequest/GSSENCRequest not S, N, G or an "
              "ErrorResponse");
    /* a length of exactly PG_MAX_MSG is accepted (the body is pending) */
    struct wb m = {0};
    w_raw(&m, "d\x40\0\0\0xyz", 8);
    t = frame(&CLIENT, m.d, m.n, SPLIT_WHOLE);
    assert_string_equal(t, "...");
    free(t);
}

/* expect_* while a message is in progress take effect after it; on the
 * wrong side they do nothing. */
static void test_expect_calls(void **st)
{
    (void)st;
    struct pg_reader r;
    struct pg_msg m;
    int done;
    const char *why;
    /* server: half a ReadyForQuery, expect_answer, the rest, then 'N' */
    pg_reader_init(&r, 0);
    assert_int_equal(pg_read(&r, (const uint8_t *)"Z\0\0", 3, &done, &m,
                             &why), 3);
    assert_int_equal(done, 0);
    pg_reader_expect_answer(&r);
    assert_int_equal(pg_read(&r, (const uint8_t *)"\0\5IN", 4, &done, &m,
                             &why), 3);
    assert_int_equal(done, 1);
    assert_int_equal(m.type, 'Z');
    assert_int_equal(m.bytes, 6);
    assert_int_equal(pg_read(&r, (const uint8_t *)"N", 1, &done, &m, &why),
                     1);
    assert_int_equal(done, 1);
    assert_int_equal(m.type, 0);
    assert_int_equal(m.answer, 'N');
    assert_int_equal(m.code, 0);
    assert_int_equal(m.bytes, 1);
    /* expect_untyped on a server reader: nothing */
    pg_reader_expect_untyped(&r);
    assert_int_equal(pg_read(&r, (const uint8_t *)"I\0\0\0\4", 5, &done, &m,
                             &why), 5);
    assert_int_equal(done, 1);
    assert_int_equal(m.type, 'I');

    /* client: expect_answer does nothing; expect_untyped mid-message */
    pg_reader_init(&r, 1);
    pg_reader_expect_answer(&r);
    assert_int_equal(pg_read(&r, (const uint8_t *)"H\0", 2, &done, &m, &why),
                     2);
    pg_reader_expect_untyped(&r);
    static const uint8_t rest[] = "\0\0\4\0\0\0\10\x04\xd2\x16\x2f";
    assert_int_equal(pg_read(&r, rest, sizeof rest - 1, &done, &m, &why), 3);
    assert_int_equal(done, 1);
    assert_int_equal(m.type, 'H');
    assert_int_equal(pg_read(&r, rest + 3, sizeof rest - 4, &done, &m, &why),
                     8);
    assert_int_equal(done, 1);
    assert_int_equal(m.type, 0);
    assert_int_equal(m.code, PG_CODE_SSL);
    assert_int_equal(m.answer, 0);
    assert_int_equal(m.bytes, 8);
    /* expect_* on a dead reader leave it dead */
    assert_int_equal(pg_read(&r, (const uint8_t *)"?", 1, &done, &m, &why),
                     -1);
    pg_reader_expect_untyped(&r);
    assert_int_equal(pg_read(&r, (const uint8_t *)"\0", 1, &done, &m, &why),
                     -1);
    /* a message of exactly 5 bytes as the whole run ends with done */
    pg_reader_init(&r, 0);
    assert_int_equal(pg_read(&r, (const uint8_t *)"n\0\0\0\4", 5, &done, &m,
                             &why), 5);
    assert_int_equal(done, 1);
}

/* ---- accessors ---- */

static void test_accessors(void **st)
{
    (void)st;
    struct wb w = {0};
    const char *s1, *s2;
    size_t len;
    char state[6];
    uint32_t code;
    const uint8_t *data;
    char z;

    w_strmsg(&w, 'Q', "SELECT 1");
    assert_int_equal(pg_msg_query(w.d, w.n, &s1, &len), 0);
    assert_string_equal(s1, "SELECT 1");
    assert_int_equal(len, 8);
    assert_true((const uint8_t *)s1 == w.d + 5);
    assert_int_equal(pg_msg_query(w.d, w.n - 1, &s1, &len), -1);
    assert_int_equal(pg_msg_query(w.d, 4, &s1, &len), -1);
    assert_int_equal(pg_msg_query(NULL, 0, &s1, &len), -1);
    assert_int_equal(pg_msg_command_tag(w.d, w.n, &s1, &len), -1);
    w.d[w.n - 1] = 'x'; /* no NUL */
    assert_int_equal(pg_msg_query(w.d, w.n, &s1, &len), -1);
    w.d[w.n - 1] = 0;
    w.d[7] = 0; /* a NUL before the end: bytes after the string */
    assert_int_equal(pg_msg_query(w.d, w.n, &s1, &len), -1);

    /* Parse */
    w.n = 0;
    w_begin(&w, 'P');
    w_str(&w, "");
    w_str(&w, "SELECT $1");
    w_i16(&w, 1);
    w_i32(&w, 23);
    w_end(&w);
    assert_int_equal(pg_msg_parse(w.d, w.n, &s1, &s2, &len), 0);
    assert_string_equal(s1, "");
    assert_string_equal(s2, "SELECT $1");
    assert_int_equal(len, 9);
    assert_int_equal(pg_msg_query(w.d, w.n, &s1, &len), -1);
    struct wb bad = w;
    bad.d[5 + 1 + 10 + 1] = 2; /* two oids announced, one present */
    assert_int_equal(pg_msg_parse(bad.d, bad.n, &s1, &s2, &len), -1);
    bad.d[5 + 1 + 10] = 0xff; /* negative count */
    assert_int_equal(pg_msg_parse(bad.d, bad.n, &s1, &s2, &len), -1);
    w.n = 0;
    w_begin(&w, 'P');
    w_str(&w, "only a name");
    w_end(&w);
    assert_int_equal(pg_msg_parse(w.d, w.n, &s1, &s2, &len), -1);
    w.n = 0;
    w_begin(&w, 'P');
    w_str(&w, "n");
    w_str(&w, "q");
    w_u8(&w, 0); /* half a count */
    w_end(&w);
    assert_int_equal(pg_msg_parse(w.d, w.n, &s1, &s2, &len), -1);

    /* Bind: formats 0, 1 or one per parameter; NULL and sized values */
    for (int nfmt = 0; nfmt <= 3; nfmt++) {
        w.n = 0;
        w_begin(&w, 'B');
        w_str(&w, "p1");
        w_str(&w, "s1");
        w_i16(&w, nfmt);
        for (int i = 0; i < nfmt; i++)
            w_i16(&w, 0);
        w_i16(&w, 2);
        w_i32(&w, 0xffffffffu);
        w_i32(&w, 3);
        w_raw(&w, "abc", 3);
        w_i16(&w, 0);
        w_end(&w);
        int rc = pg_msg_bind(w.d, w.n, &s1, &s2);
        assert_int_equal(rc, nfmt == 3 ? -1 : 0);
        if (!rc) {
            assert_string_equal(s1, "p1");
            assert_string_equal(s2, "s1");
        }
    }
    w.n = 0;
    w_begin(&w, 'B');
    w_str(&w, "");
    w_str(&w, "");
    w_i16(&w, 0);
    w_i16(&w, 1);
    w_i32(&w, 0xfffffffeu); /* -2 */
    w_i16(&w, 0);
    w_end(&w);
    assert_int_equal(pg_msg_bind(w.d, w.n, &s1, &s2), -1);
    w.n = 0;
    w_begin(&w, 'B');
    w_str(&w, "");
    w_str(&w, "");
    w_i16(&w, 0);
    w_i16(&w, 1);
    w_i32(&w, 100); /* longer than the message */
    w_i16(&w, 0);
    w_end(&w);
    assert_int_equal(pg_msg_bind(w.d, w.n, &s1, &s2), -1);
    w.n = 0;
    w_begin(&w, 'B');
    w_str(&w, "");
    w_str(&w, "");
    w_i16(&w, 0);
    w_i16(&w, 0);
    w_i16(&w, 2); /* two result formats, one present */
    w_i16(&w, 1);
    w_end(&w);
    assert_int_equal(pg_msg_bind(w.d, w.n, &s1, &s2), -1);
    w.d[w.n - 3] = 1; /* now one, and one present */
    assert_int_equal(pg_msg_bind(w.d, w.n, &s1, &s2), 0);
    assert_int_equal(pg_msg_bind(w.d, w.n - 1, &s1, &s2), -1);
    w.n = 0;
    w_begin(&w, 'B');
    w_str(&w, "");
    w_end(&w);
    assert_int_equal(pg_msg_bind(w.d, w.n, &s1, &s2), -1);

    /* ErrorResponse / NoticeResponse */
    w.n = 0;
    w_error(&w, 'E', "23505", "duplicate key");
    assert_int_equal(pg_msg_error(w.d, w.n, state, &s1, &len), 0);
    assert_string_equal(state, "23505");
    assert_string_equal(s1, "duplicate key");
    assert_int_equal(len, 13);
    w.d[0] = 'N';
    assert_int_equal(pg_msg_error(w.d, w.n, state, &s1, &len), 0);
    w.d[0] = 'Q';
    assert_int_equal(pg_msg_error(w.d, w.n, state, &s1, &len), -1);
    w.n = 0;
    w_error(&w, 'E', "2350", "four-character state");
    assert_int_equal(pg_msg_error(w.d, w.n, state, &s1, &len), -1);
    w.n = 0;
    w_error(&w, 'E', NULL, NULL);
    assert_int_equal(pg_msg_error(w.d, w.n, state, &s1, &len), 0);
    assert_string_equal(state, "");
    assert_string_equal(s1, "");
    assert_int_equal(len, 0);
    assert_true((const uint8_t *)s1 >= w.d && (const uint8_t *)s1 < w.d + w.n);
    w.n = 0;
    w_begin(&w, 'E');
    w_u8(&w, 'M');
    w_str(&w, "no terminator");
    w_end(&w);
    assert_int_equal(pg_msg_error(w.d, w.n, state, &s1, &len), -1);
    w.n = 0;
    w_empty(&w, 'E');
    assert_int_equal(pg_msg_error(w.d, w.n, state, &s1, &len), -1);
    w.n = 0;
    w_begin(&w, 'E'); /* an Execute read as an error: malformed */
    w_str(&w, "");
    w_i32(&w, 0);
    w_end(&w);
    assert_int_equal(pg_msg_error(w.d, w.n, state, &s1, &len), -1);

    /* CommandComplete */
    w.n = 0;
    w_strmsg(&w, 'C', "INSERT 0 1");
    assert_int_equal(pg_msg_command_tag(w.d, w.n, &s1, &len), 0);
    assert_string_equal(s1, "INSERT 0 1");
    assert_int_equal(len, 10);
    w.n = 0;
    w_begin(&w, 'C');
    w_raw(&w, "SELECT 1", 8);
    w_end(&w);
    assert_int_equal(pg_msg_command_tag(w.d, w.n, &s1, &len), -1);

    /* Authentication */
    w.n = 0;
    w_auth(&w, 5, "salt", 4);
    assert_int_equal(pg_msg_auth(w.d, w.n, &code, &data, &len), 0);
    assert_int_equal(code, 5);
    assert_int_equal(len, 4);
    assert_memory_equal(data, "salt", 4);
    w.n = 0;
    w_auth(&w, 5, "sal", 3);
    assert_int_equal(pg_msg_auth(w.d, w.n, &code, &data, &len), -1);
    w.n = 0;
    w_auth(&w, 0, "x", 1);
    assert_int_equal(pg_msg_auth(w.d, w.n, &code, &data, &len), -1);
    w.n = 0;
    w_auth(&w, 3, "x", 1);
    assert_int_equal(pg_msg_auth(w.d, w.n, &code, &data, &len), -1);
    w.n = 0;
    w_auth(&w, 10, "SCRAM-SHA-256\0\0", 15);
    assert_int_equal(pg_msg_auth(w.d, w.n, &code, &data, &len), 0);
    assert_int_equal(code, 10);
    assert_int_equal(len, 15);
    w.n = 0;
    w_begin(&w, 'R');
    w_u8(&w, 0);
    w_end(&w);
    assert_int_equal(pg_msg_auth(w.d, w.n, &code, &data, &len), -1);

    /* ReadyForQuery */
    const char *sts = "ITE";
    for (int i = 0; i < 3; i++) {
        w.n = 0;
        w_ready(&w, sts[i]);
        assert_int_equal(pg_msg_ready(w.d, w.n, &z), 0);
        assert_int_equal(z, sts[i]);
    }
    w.n = 0;
    w_ready(&w, 'X');
    assert_int_equal(pg_msg_ready(w.d, w.n, &z), -1);
    w.n = 0;
    w_empty(&w, 'Z');
    assert_int_equal(pg_msg_ready(w.d, w.n, &z), -1);

    /* startup parameters */
    w.n = 0;
    w_startup(&w, "bob", "db1");
    const char *v;
    assert_int_equal(pg_msg_startup_param(w.d, w.n, "user", &v), 0);
    assert_string_equal(v, "bob");
    assert_int_equal(pg_msg_startup_param(w.d, w.n, "database", &v), 0);
    assert_string_equal(v, "db1");
    assert_int_equal(pg_msg_startup_param(w.d, w.n, "application_name", &v),
                     0);
    assert_string_equal(v, "psql");
    assert_int_equal(pg_msg_startup_param(w.d, w.n, "bob", &v), -1);
    assert_int_equal(pg_msg_startup_param(w.d, w.n - 1, "user", &v), -1);
    w.d[w.n - 1] = 'x'; /* no final NUL */
    assert_int_equal(pg_msg_startup_param(w.d, w.n, "user", &v), -1);
    w.n = 0;
    w_begin(&w, 0);
    w_i32(&w, PG_CODE_STARTUP);
    w_str(&w, "user"); /* a name without a value */
    w_u8(&w, 0);
    w_end(&w);
    assert_int_equal(pg_msg_startup_param(w.d, w.n, "user", &v), -1);
    w.n = 0;
    w_begin(&w, 0);
    w_i32(&w, PG_CODE_SSL);
    w_end(&w);
    assert_int_equal(pg_msg_startup_param(w.d, w.n, "user", &v), -1);
    w.n = 0;
    w_begin(&w, 0);
    w_i32(&w, PG_CODE_STARTUP);
    w_str(&w, "user");
    w_str(&w, "a");
    w_u8(&w, 0);
    w_u8(&w, 0); /* a byte after the terminator */
    w_end(&w);
    assert_int_equal(pg_msg_startup_param(w.d, w.n, "user", &v), -1);
}

/* Messages ending at a page boundary before an inaccessible page: every
 * accessor, cut at every length, and the framer byte by byte. */
static void test_guard_page(void **st)
{
    (void)st;
    long pg = sysconf(_SC_PAGESIZE);
    uint8_t *mem = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(mem != MAP_FAILED);
    assert_int_equal(mprotect(mem + pg, (size_t)pg, PROT_NONE), 0);
    struct wb *all = calloc(1, sizeof *all);
    assert_non_null(all);
    w_strmsg(all, 'Q', "SELECT 1");
    w_begin(all, 'P');
    w_str(all, "s");
    w_str(all, "q");
    w_i16(all, 0);
    w_end(all);
    w_begin(all, 'B');
    w_str(all, "");
    w_str(all, "s");
    w_i16(all, 0);
    w_i16(all, 1);
    w_i32(all, 2);
    w_raw(all, "42", 2);
    w_i16(all, 0);
    w_end(all);
    w_error(all, 'E', "42000", "x");
    w_strmsg(all, 'C', "SELECT 1");
    w_auth(all, 5, "salt", 4);
    w_ready(all, 'I');
    w_startup(all, "u", "d");
    /* every message of the buffer, found by its length field */
    size_t off = 0;
    while (off < all->n) {
        int untyped = all->d[off] == 0;
        size_t n = untyped ? 0 : 1;
        const uint8_t *lp = all->d + off + n;
        n += (size_t)lp[0] << 24 | (size_t)lp[1] << 16 | (size_t)lp[2] << 8 |
             lp[3];
        for (size_t cut = 0; cut <= n; cut++) {
            uint8_t *p = mem + pg - cut;
            memcpy(p, all->d + off, cut);
            const char *s1, *s2;
            size_t len;
            char state[6], z;
            uint32_t code;
            const uint8_t *data;
            int ok = cut == n;
            (void)ok;
            (void)pg_msg_query(p, cut, &s1, &len);
            (void)pg_msg_parse(p, cut, &s1, &s2, &len);
            (void)pg_msg_bind(p, cut, &s1, &s2);
            (void)pg_msg_error(p, cut, state, &s1, &len);
            (void)pg_msg_command_tag(p, cut, &s1, &len);
            (void)pg_msg_startup_param(p, cut, "database", &s1);
            (void)pg_msg_startup_param(p, cut, "nope", &s1);
            (void)pg_msg_auth(p, cut, &code, &data, &len);
            (void)pg_msg_ready(p, cut, &z);
            /* the framer, byte by byte up to the page's end */
            struct pg_reader r;
            pg_reader_init(&r, untyped || strchr("QPB", all->d[off]) ? 1
                                                                     : 0);
            for (size_t i = 0; i < cut; i++) {
                int done;
                struct pg_msg m;
                const char *why;
                long k = pg_read(&r, p + i, 1, &done, &m, &why);
                assert_int_equal(k, 1);
                assert_int_equal(done, i + 1 == n);
            }
        }
        off += n;
    }
    /* pg_normalize over statements ending at the page's end */
    static const char *stmts[] = {"'abc", "E'\\", "$$x$", "$a$x$a", "\"q",
                                  "/* x", "-- y", "0x", "1e", "1.", "U&'a'",
                                  "U&'a' UESCAPE", "U&'a' UESCAPE '", "-",
                                  "x -", "$", "$1", "'a'\n", "e"};
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
        size_t n = strlen(stmts[i]);
        char *p = (char *)mem + pg - n;
        memcpy(p, stmts[i], n);
        char out[64];
        size_t l = pg_normalize(p, n, out, sizeof out);
        assert_true(l < sizeof out);
        assert_int_equal(strlen(out), l);
    }
    free(all);
    munmap(mem, (size_t)pg * 2);
}

/* ---- normalisation ---- */

static char *norm(const char *sql)
{
    static char out[4096];
    size_t l = pg_normalize(sql, strlen(sql), out, sizeof out);
    assert_int_equal(strlen(out), l);
    return out;
}

static void test_normalize_table(void **st)
{
    (void)st;
    static const struct {
        const char *in, *want;
    } cases[] = {
        /* basics */
        {"", ""},
        {"   ", ""},
        {";", ""},
        {" ; ;; ", ""},
        {"BEGIN;", "BEGIN"},
        {"END;", "END"},
        {"  begin  ;  ", "begin"},
        {"SELECT 1", "SELECT $1"},
        {"SELECT 1;", "SELECT $1"},
        {"SELECT 1; SELECT 2;", "SELECT $1; SELECT $2"},
        {"SELECT 1 ; ", "SELECT $1"},
        {";SELECT 1", ";SELECT $1"},
        {"select\t\n  a,\r\n b  from   t", "select a, b from t"},
        {"SELECT\f1\v", "SELECT $1"},
        /* identifiers with digits are not literals */
        {"SELECT t1.col_2 FROM t1", "SELECT t1.col_2 FROM t1"},
        {"SELECT a$b, _x9 FROM s2.t3", "SELECT a$b, _x9 FROM s2.t3"},
        {"SELECT c1+1 FROM t", "SELECT c1+$1 FROM t"},
        {"SELECT x1e5, e1, b2, x3 FROM t", "SELECT x1e5, e1, b2, x3 FROM t"},
        {"SELECT \xc3\xa9" "1 FROM t\xc3\xa9", "SELECT \xc3\xa9" "1 FROM t\xc3\xa9"},
        /* numbers */
        {"SELECT 1.5e-3", "SELECT $1"},
        {"SELECT .5", "SELECT $1"},
        {"SELECT 5.", "SELECT $1"},
        {"SELECT 0x1F, 0o17, 0b101, 0XfF", "SELECT $1, $2, $3, $4"},
        {"SELECT 1_000_000, 1E10, 2e+5, 3.0E-2", "SELECT $1, $2, $3, $4"},
        {"SELECT 123abc", "SELECT $1"},
        {"SELECT 1e", "SELECT $1"},
        {"SELECT a[1:2]", "SELECT a[$1:$2]"},
        {"SELECT 1::int", "SELECT $1::int"},
        {"SELECT '1'::int", "SELECT $1::int"},
        {"SELECT t.a, 1.5 FROM t", "SELECT t.a, $1 FROM t"},
        {"SELECT 1..2", "SELECT $1.$2"},
        /* minus folding */
        {"SELECT -1", "SELECT -$1"},
        {"-1", "$1"},
        {"x = -1", "x = $1"},
        {"x=-1", "x=$1"},
        {"x = - 1", "x = - $1"},
        {"a - 1", "a - $1"},
        {"a -1", "a -$1"},
        {"a-1", "a-$1"},
        {"f(-1, -2.5)", "f($1, $2)"},
        {"5 - -3", "$1 - $2"},
        {"x <-1", "x <$1"},
        {"x <> -1", "x <> $1"},
        {"x @-1", "x @-$1"},
        {"x *-1", "x *$1"},
        {"a + -b", "a + -b"},
        {"x = -.5", "x = $1"},
        {"x = +1", "x = +$1"},
        {"'a' -1", "$1 -$2"},
        {"(1) -1", "($1) -$2"},
        /* strings */
        {"SELECT 'abc'", "SELECT $1"},
        {"SELECT 'it''s'", "SELECT $1"},
        {"SELECT 'it''s', 'b'", "SELECT $1, $2"},
        {"SELECT E'\\''", "SELECT $1"},
        {"SELECT E'\\'', 2", "SELECT $1, $2"},
        {"SELECT e'a\\\\', 'b'", "SELECT $1, $2"},
        {"SELECT E'x''y'", "SELECT $1"},
        {"SELECT 'a\\', 'b'", "SELECT $1, $2"},
        {"SELECT B'0101', X'1F', b'1', x'ff'", "SELECT $1, $2, $3, $4"},
        {"SELECT N'nat', n'x'", "SELECT $1, $2"},
        {"SELECT U&'d\\0061t\\+000061'", "SELECT $1"},
        {"SELECT U&'d!0061t' UESCAPE '!', 1", "SELECT $1, $2"},
        {"SELECT u&'x' uescape\n'#'", "SELECT $1"},
        {"SELECT U&'x' UESCAPEX", "SELECT $1 UESCAPEX"},
        {"SELECT U&\"d!0061t\" UESCAPE '!' FROM t",
         "SELECT U&\"d!0061t\" UESCAPE '!' FROM t"},
        {"SELECT 'foo'\n'bar'", "SELECT $1"},
        {"SELECT 'foo' -- c\n  'bar', 1", "SELECT $1, $2"},
        {"SELECT 'foo' 'bar'", "SELECT $1 $2"},
        {"SELECT 'unterminated", "SELECT $1"},
        {"SELECT E'unterminated\\", "SELECT $1"},
        {"SELECT DATE '2024-01-01', INTERVAL '1 day'",
         "SELECT DATE $1, INTERVAL $2"},
        {"SELECT ''", "SELECT $1"},
        {"SELECT ''''", "SELECT $1"},
        {"SELECT 'a;b'; ", "SELECT $1"},
        {"SELECT '--', '/*'", "SELECT $1, $2"},
        {"SELECT abcE'x'", "SELECT abcE$1"},
        /* dollar quoting */
        {"SELECT $$x$$", "SELECT $1"},
        {"SELECT $$it's$$, 2", "SELECT $1, $2"},
        {"SELECT $tag$a $$ b$tag$, 1", "SELECT $1, $2"},
        {"SELECT $a$x$b$y$a$", "SELECT $1"},
        {"SELECT $_1$x$_1$", "SELECT $1"},
        {"SELECT $$unterminated", "SELECT $1"},
        {"SELECT $1a$x$1a$", "SELECT $1a$x$1a$"},
        {"SELECT a$$b$$", "SELECT a$$b$$"},
        {"SELECT $", "SELECT $"},
        {"SELECT $ 1", "SELECT $ $1"},
        /* parameters */
        {"SELECT $1, 2", "SELECT $1, $2"},
        {"SELECT $2, $1, 'x', 3", "SELECT $2, $1, $3, $4"},
        {"SELECT 1 WHERE a = $10", "SELECT $11 WHERE a = $10"},
        {"SELECT $1 + 1", "SELECT $1 + $2"},
        {"UPDATE t SET a = $1 WHERE b = $2", "UPDATE t SET a = $1 WHERE b = $2"},
        {"SELECT $99999999999999999999, 1", "SELECT $99999999999999999999, "
                                            "$1000000001"},
        /* quoted identifiers */
        {"SELECT \"quoted \"\"ident\"\"\" FROM \"T1\"",
         "SELECT \"quoted \"\"ident\"\"\" FROM \"T1\""},
        {"SELECT \"a  b\", \"1\"", "SELECT \"a  b\", \"1\""},
        {"SELECT \"unterminated", "SELECT \"unterminated"},
        {"SELECT \"it's\", 'x'", "SELECT \"it's\", $1"},
        /* comments */
        {"SELECT 1 -- trailing", "SELECT $1"},
        {"-- leading\nSELECT 1", "SELECT $1"},
        {"SELECT /* c */ 1", "SELECT $1"},
        {"SELECT/* c */1", "SELECT $1"},
        {"SELECT /* a /* nested */ still */ 1", "SELECT $1"},
        {"SELECT /* unterminated", "SELECT"},
        {"SELECT 1 /* a */ /* b */ + 2", "SELECT $1 + $2"},
        {"SELECT 2--1", "SELECT $1"},
        {"SELECT 2/*x*/-1", "SELECT $1 -$2"},
        {"SELECT a+/*x*/1", "SELECT a+ $1"},
        {"SELECT 1; -- done", "SELECT $1"},
        /* case kept */
        {"Select Foo From BAR where X = 1", "Select Foo From BAR where X = $1"},
        /* keywords that look like literals are kept */
        {"SELECT TRUE, NULL, CURRENT_TIMESTAMP", "SELECT TRUE, NULL, "
                                                 "CURRENT_TIMESTAMP"},
        /* other punctuation and bytes */
        {"SELECT a::text[] FROM t WHERE b IN (1, 2, 3)",
         "SELECT a::text[] FROM t WHERE b IN ($1, $2, $3)"},
        {"SELECT '{1,2}'::int[], ARRAY[1,2]", "SELECT $1::int[], ARRAY[$2,$3]"},
        {"SELECT x FROM t WHERE y ~* 'a.*' AND z !~ 'b'",
         "SELECT x FROM t WHERE y ~* $1 AND z !~ $2"},
        {"SELECT j->>'k', j#>'{a}' FROM t", "SELECT j->>$1, j#>$2 FROM t"},
        {"SELECT 1 \\gset", "SELECT $1 \\gset"},
        {"SELECT {x}", "SELECT {x}"},
        {"CALL p(a => 1)", "CALL p(a => $1)"},
        {"SELECT 1 LIMIT 10 OFFSET 20", "SELECT $1 LIMIT $2 OFFSET $3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = norm(cases[i].in);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: pg_normalize(\"%s\") = \"%s\", want \"%s\"",
                     i, cases[i].in, got, cases[i].want);
    }
    /* the input ends at n, and at a NUL before n */
    char out[64];
    assert_int_equal(pg_normalize("SELECT 1 garbage", 8, out, sizeof out), 9);
    assert_string_equal(out, "SELECT $1");
    assert_int_equal(pg_normalize("SELECT 1\0 2", 11, out, sizeof out), 9);
    assert_string_equal(out, "SELECT $1");
    assert_int_equal(pg_normalize(NULL, 5, out, sizeof out), 0);
    assert_string_equal(out, "");
    out[0] = 'x';
    assert_int_equal(pg_normalize("SELECT 1", 8, out, 0), 0);
    assert_int_equal(out[0], 'x');
}

/* pgbench's statements normalise to one string whatever the values. */
static void test_normalize_pgbench(void **st)
{
    (void)st;
    static const char *want[] = {
        "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
        "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
        "UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2",
        "UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2",
        "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES "
        "($1, $2, $3, $4, CURRENT_TIMESTAMP)",
        "BEGIN",
        "END",
    };
    unsigned seed = 12345;
    char sql[512];
    for (int round = 0; round < 2000; round++) {
        seed = seed * 1103515245u + 12345u;
        int delta = (int)((seed >> 8) % 10001) - 5000;
        int aid = (int)((seed >> 4) % 100000) + 1;
        int tid = (int)(seed % 10) + 1, bid = (int)(seed % 3) + 1;
        for (int k = 0; k < 7; k++) {
            switch (k) {
            case 0:
                snprintf(sql, sizeof sql,
                         "UPDATE pgbench_accounts SET abalance = abalance + "
                         "%d WHERE aid = %d;", delta, aid);
                break;
            case 1:
                snprintf(sql, sizeof sql,
                         "SELECT abalance FROM pgbench_accounts WHERE aid = "
                         "%d;", aid);
                break;
            case 2:
                snprintf(sql, sizeof sql,
                         "UPDATE pgbench_tellers SET tbalance = tbalance + %d "
                         "WHERE tid = %d;", delta, tid);
                break;
            case 3:
                snprintf(sql, sizeof sql,
                         "UPDATE pgbench_branches SET bbalance = bbalance + "
                         "%d WHERE bid = %d;", delta, bid);
                break;
            case 4:
                snprintf(sql, sizeof sql,
                         "INSERT INTO pgbench_history (tid, bid, aid, delta, "
                         "mtime) VALUES (%d, %d, %d, %d, CURRENT_TIMESTAMP);",
                         tid, bid, aid, delta);
                break;
            case 5:
                snprintf(sql, sizeof sql, "BEGIN;");
                break;
            default:
                snprintf(sql, sizeof sql, "END;");
            }
            const char *got = norm(sql);
            if (strcmp(got, want[k]) != 0)
                fail_msg("%s -> %s", sql, got);
        }
    }
    /* the brief's own examples */
    assert_string_equal(norm("UPDATE pgbench_accounts SET abalance = abalance "
                             "+ -3164 WHERE aid = 40712;"), want[0]);
    assert_string_equal(norm("SELECT abalance FROM pgbench_accounts WHERE aid "
                             "= 123;"), want[1]);
    assert_string_equal(norm("INSERT INTO pgbench_history (tid, bid, aid, "
                             "delta, mtime) VALUES (3, 1, 4521, -3164, "
                             "CURRENT_TIMESTAMP);"), want[4]);
    /* pgbench -M extended/prepared sends them with $n already */
    assert_string_equal(norm("UPDATE pgbench_accounts SET abalance = abalance "
                             "+ $1 WHERE aid = $2;"), want[0]);
}

/* The output is bounded, NUL-terminated, cut at a UTF-8 boundary, and a
 * $k is whole or absent. */
static void test_normalize_bounds(void **st)
{
    (void)st;
    const char *sql = "SELECT 'x', 12345 FROM t";
    const char *full = "SELECT $1, $2 FROM t";
    char out[64];
    for (size_t cap = 1; cap <= strlen(full) + 2; cap++) {
        memset(out, '#', sizeof out);
        size_t l = pg_normalize(sql, strlen(sql), out, cap);
        assert_true(l < cap);
        assert_int_equal(out[l], 0);
        assert_int_equal(strlen(out), l);
        if (cap < sizeof out)
            assert_int_equal(out[cap], '#');
        assert_memory_equal(out, full, l); /* a prefix of the full form */
        /* "SELECT $1" never as "SELECT $" */
        assert_true(l == 0 || out[l - 1] != '$');
    }
    /* a $12 is not cut to $1 */
    char many[256] = "SELECT ";
    for (int i = 0; i < 12; i++)
        strcat(many, "1,");
    strcat(many, "1");
    char want[256];
    pg_normalize(many, strlen(many), want, sizeof want);
    assert_string_equal(want, "SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,"
                              "$13");
    for (size_t cap = 1; cap <= strlen(want) + 1; cap++) {
        size_t l = pg_normalize(many, strlen(many), out, cap);
        assert_memory_equal(out, want, l);
        assert_true(l == strlen(want) || want[l] == ',' || want[l] == '$' ||
                    l < 7);
    }
    /* UTF-8: never half a character */
    const char *u = "SELECT \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80x";
    for (size_t cap = 1; cap <= strlen(u) + 1; cap++) {
        size_t l = pg_normalize(u, strlen(u), out, cap);
        assert_true(l < cap);
        assert_memory_equal(out, u, l);
        assert_true(l == strlen(u) || ((unsigned char)u[l] & 0xc0) != 0x80);
    }
    /* inputs that a careless scanner reads in quadratic time: long runs of
     * operator characters split one at a time, strings continued, nested
     * comments, dollar tags that never close, a run of '$' (the ctest
     * timeout catches a quadratic pass over 256 KiB) */
    static const char *units[] = {"+-", "'a'\n", "/*", "$a", "$a$", "U&'x' ",
                                  "\"", "E'\\", "1.", "-1", "$$"};
    size_t bign = 256 * 1024;
    char *in = malloc(bign + 1), *res = malloc(bign * 6);
    assert_non_null(in);
    assert_non_null(res);
    for (size_t ui = 0; ui < sizeof units / sizeof units[0]; ui++) {
        size_t ul = strlen(units[ui]), k = 0;
        while (k + ul <= bign) {
            memcpy(in + k, units[ui], ul);
            k += ul;
        }
        in[k] = 0;
        size_t l = pg_normalize(in, k, res, bign * 6);
        assert_int_equal(strlen(res), l);
        assert_true(l < bign * 6);
    }
    free(in);
    free(res);
    /* long input, small output */
    static char big[100000];
    for (size_t i = 0; i + 2 < sizeof big; i += 2)
        memcpy(big + i, "1,", 2);
    big[sizeof big - 1] = 0;
    size_t l = pg_normalize(big, strlen(big), out, sizeof out);
    assert_true(l < sizeof out);
    assert_int_equal(strlen(out), l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_startup_scram),
        cmocka_unit_test(test_cleartext_md5_auth),
        cmocka_unit_test(test_simple_query),
        cmocka_unit_test(test_extended_query),
        cmocka_unit_test(test_error_response),
        cmocka_unit_test(test_copy_in_out),
        cmocka_unit_test(test_ssl_then_startup),
        cmocka_unit_test(test_cancel_request),
        cmocka_unit_test(test_mid_connection),
        cmocka_unit_test(test_protocol_minor_and_params),
        cmocka_unit_test(test_violations),
        cmocka_unit_test(test_expect_calls),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_guard_page),
        cmocka_unit_test(test_normalize_table),
        cmocka_unit_test(test_normalize_pgbench),
        cmocka_unit_test(test_normalize_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
