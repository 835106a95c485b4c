/*
 * test_pg_auth.c: PostgreSQL password authentication, client side. The
 * SCRAM-SHA-256 exchange reproduces the example of RFC 7677 section 3
 * byte for byte and verifies its server signature; every way a server
 * message can be wrong is refused. MD5 answers are checked against values
 * computed independently (Python's hashlib: "md5" + md5hex(md5hex(password
 * + user) + salt)); the StartupMessage and PasswordMessages against their
 * bytes, and read back through proto/pgwire's framer and accessors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/rp.h"
#include "proto/pgwire.h"
#include "replay/pg_auth.h"

static const char rfc_nonce[] = "rOprNGfwEbeRWgbNEkqO";
static const char rfc_server_first[] =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
static const char rfc_client_final[] =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
static const char rfc_server_final[] =
    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
static const uint8_t mechs[] = "SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0";

static uint32_t be32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
           (uint32_t)b[2] << 8 | b[3];
}

/* The buffer holds exactly one client message that pg_read frames whole. */
static void framed_once(const struct rp_buf *b, char type)
{
    struct pg_reader r;
    pg_reader_init(&r, 1);
    int done;
    struct pg_msg m;
    const char *why;
    if (type) {
        /* a typed stream: start the reader past a startup message */
        struct rp_buf st;
        rp_buf_init(&st, 0);
        assert_int_equal(replay_pgauth_startup(&st, "u", "d"), 0);
        assert_int_equal(pg_read(&r, (const uint8_t *)st.data, st.len, &done,
                                 &m, &why), (long)st.len);
        assert_int_equal(done, 1);
        rp_buf_cleanup(&st);
    }
    assert_int_equal(pg_read(&r, (const uint8_t *)b->data, b->len, &done, &m,
                             &why), (long)b->len);
    assert_int_equal(done, 1);
    assert_int_equal(m.type, type);
    assert_int_equal(m.bytes, b->len);
}

static void test_rfc7677_exchange(void **st)
{
    (void)st;
    struct replay_scram s;
    struct rp_buf out;
    char err[RP_ERRLEN];
    rp_buf_init(&out, 0);
    assert_int_equal(replay_scram_start_user(&s, "user", mechs,
                                             sizeof mechs, rfc_nonce,
                                             &out, err), 0);
    /* 'p', length, mechanism, int32 length, client-first-message */
    const char first[] = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    size_t flen = strlen(first);
    assert_int_equal(out.len, 1 + 4 + 14 + 4 + flen);
    assert_int_equal(out.data[0], 'p');
    assert_int_equal(be32(out.data + 1), out.len - 1);
    assert_memory_equal(out.data + 5, "SCRAM-SHA-256\0", 14);
    assert_int_equal(be32(out.data + 19), flen);
    assert_memory_equal(out.data + 23, first, flen);
    assert_string_equal(s.client_first_bare, "n=user,r=rOprNGfwEbeRWgbNEkqO");
    assert_string_equal(s.nonce, rfc_nonce);
    framed_once(&out, 'p');

    rp_buf_reset(&out);
    assert_int_equal(replay_scram_continue(&s, "pencil",
                                           (const uint8_t *)rfc_server_first,
                                           strlen(rfc_server_first), &out,
                                           err), 0);
    size_t cl = strlen(rfc_client_final);
    assert_int_equal(out.len, 5 + cl);
    assert_int_equal(out.data[0], 'p');
    assert_int_equal(be32(out.data + 1), 4 + cl);
    if (memcmp(out.data + 5, rfc_client_final, cl) != 0)
        fail_msg("client-final %.*s", (int)cl, out.data + 5);
    framed_once(&out, 'p');

    assert_int_equal(replay_scram_finish(&s, (const uint8_t *)rfc_server_final,
                                         strlen(rfc_server_final), err), 0);
    assert_int_equal(s.step, 3);
    replay_scram_cleanup(&s);
    assert_null(s.client_first_bare);
    rp_buf_cleanup(&out);
}

/* A wrong server signature, a server error, and calls out of turn. */
static void test_finish_refusals(void **st)
{
    (void)st;
    static const char *bad[] = {
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=", /* one bit */
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4",  /* no padding */
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl9",     /* short */
        "v=",
        "x=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        "",
        "e=invalid-proof",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct replay_scram s;
        struct rp_buf out;
        char err[RP_ERRLEN] = "";
        rp_buf_init(&out, 0);
        assert_int_equal(replay_scram_start_user(&s, "user", mechs,
                                                 sizeof mechs, rfc_nonce,
                                                 &out, err), 0);
        assert_int_equal(replay_scram_continue(
                             &s, "pencil", (const uint8_t *)rfc_server_first,
                             strlen(rfc_server_first), &out, err), 0);
        assert_int_equal(replay_scram_finish(&s, (const uint8_t *)bad[i],
                                             strlen(bad[i]), err), RP_EINPUT);
        assert_true(err[0] != 0);
        if (i == 6)
            assert_non_null(strstr(err, "invalid-proof"));
        /* the exchange is over */
        assert_int_equal(replay_scram_finish(
                             &s, (const uint8_t *)rfc_server_final,
                             strlen(rfc_server_final), err), RP_EINPUT);
        replay_scram_cleanup(&s);
        rp_buf_cleanup(&out);
    }
    /* the right signature for another password does not verify */
    struct replay_scram s;
    struct rp_buf out;
    char err[RP_ERRLEN];
    rp_buf_init(&out, 0);
    assert_int_equal(replay_scram_start_user(&s, "user", mechs,
                                             sizeof mechs, rfc_nonce,
                                             &out, err), 0);
    assert_int_equal(replay_scram_continue(&s, "pencils",
                                           (const uint8_t *)rfc_server_first,
                                           strlen(rfc_server_first), &out,
                                           err), 0);
    assert_int_equal(replay_scram_finish(&s, (const uint8_t *)rfc_server_final,
                                         strlen(rfc_server_final), err),
                     RP_EINPUT);
    assert_non_null(strstr(err, "signature"));
    /* out of turn: continue before start, twice, finish before continue */
    replay_scram_cleanup(&s);
    rp_buf_reset(&out);
    memset(&s, 0, sizeof s);
    assert_int_equal(replay_scram_continue(&s, "pencil",
                                           (const uint8_t *)rfc_server_first,
                                           strlen(rfc_server_first), &out,
                                           err), RP_EINPUT);
    assert_int_equal(out.len, 0);
    assert_int_equal(replay_scram_start_user(&s, "user", mechs,
                                             sizeof mechs, rfc_nonce,
                                             &out, err), 0);
    assert_int_equal(replay_scram_finish(&s, (const uint8_t *)rfc_server_final,
                                         strlen(rfc_server_final), err),
                     RP_EINPUT);
    replay_scram_cleanup(&s);
    assert_int_equal(replay_scram_start_user(&s, "user", mechs,
                                             sizeof mechs, rfc_nonce,
                                             &out, err), 0);
    assert_int_equal(replay_scram_continue(&s, "pencil",
                                           (const uint8_t *)rfc_server_first,
                                           strlen(rfc_server_first), &out,
                                           err), 0);
    size_t len = out.len;
    assert_int_equal(replay_scram_continue(&s, "pencil",
                                           (const uint8_t *)rfc_server_first,
                                           strlen(rfc_server_first), &out,
                                           err), RP_EINPUT);
    assert_int_equal(out.len, len);
    replay_scram_cleanup(&s);
    rp_buf_cleanup(&out);
}

/* Each malformed server-first-message is RP_EINPUT and appends nothing. */
static void test_continue_refusals(void **st)
{
    (void)st;
    static const char *bad[] = {
        "",
        "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", /* = ours */
        "r=XOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "r=rOprNG,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
        "r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=10000001",
        "r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=123456789",
        "r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=40x6",
        "r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",
        "r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==",
        "r=rOprNGfwEbeRWgbNEkqOabc,s=,i=4096",
        "r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096",
        "r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7so*sUEjb6gQ==,i=4096",
        "r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gR==,i=4096",
        "r=rOprNGfwEbeRWgbNEkqOabc,i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==",
        "m=ext,r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOabc,i=4096",
        "r=rOprNGfwEbeRWgbNEkqO\x01,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "e=other-error",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct replay_scram s;
        struct rp_buf out;
        char err[RP_ERRLEN] = "";
        rp_buf_init(&out, 0);
        assert_int_equal(replay_scram_start(&s, mechs, sizeof mechs,
                                            rfc_nonce, &out, err), 0);
        size_t before = out.len;
        int rc = replay_scram_continue(&s, "pencil", (const uint8_t *)bad[i],
                                       strlen(bad[i]), &out, err);
        if (rc != RP_EINPUT)
            fail_msg("case %zu (%s): %d", i, bad[i], rc);
        assert_true(err[0] != 0);
        assert_int_equal(out.len, before);
        replay_scram_cleanup(&s);
        rp_buf_cleanup(&out);
    }
    /* a NUL inside the message */
    struct replay_scram s;
    struct rp_buf out;
    char err[RP_ERRLEN];
    rp_buf_init(&out, 0);
    assert_int_equal(replay_scram_start(&s, mechs, sizeof mechs, rfc_nonce,
                                        &out, err), 0);
    assert_int_equal(replay_scram_continue(&s, "pencil",
                                           (const uint8_t *)rfc_server_first,
                                           strlen(rfc_server_first) + 1, &out,
                                           err), RP_EINPUT);
    replay_scram_cleanup(&s);
    /* optional attributes after i= are ignored, i=10000000 and i=1 pass */
    static const char *good[] = {
        "r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1",
        "r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2,x=future",
        "r=rOprNGfwEbeRWgbNEkqOabc,s=AA==,i=1",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(replay_scram_start(&s, mechs, sizeof mechs,
                                            rfc_nonce, &out, err), 0);
        assert_int_equal(replay_scram_continue(&s, "pencil",
                                               (const uint8_t *)good[i],
                                               strlen(good[i]), &out, err), 0);
        replay_scram_cleanup(&s);
    }
    rp_buf_cleanup(&out);
}

static void test_start(void **st)
{
    (void)st;
    struct replay_scram s;
    struct rp_buf out;
    char err[RP_ERRLEN];
    rp_buf_init(&out, 0);
    /* a random nonce; the user name left empty as libpq does */
    assert_int_equal(replay_scram_start(&s, (const uint8_t *)"SCRAM-SHA-256\0",
                                        15, NULL, &out, err), 0);
    assert_int_equal(strlen(s.nonce), 24);
    for (int i = 0; i < 24; i++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                               "tuvwxyz0123456789+/", s.nonce[i]));
    char want[64];
    snprintf(want, sizeof want, "n=,r=%s", s.nonce);
    assert_string_equal(s.client_first_bare, want);
    assert_memory_equal(out.data + 23, "n,,", 3);
    assert_memory_equal(out.data + 26, want, strlen(want));
    char first_nonce[32];
    memcpy(first_nonce, s.nonce, sizeof first_nonce);
    replay_scram_cleanup(&s);
    assert_int_equal(replay_scram_start(&s, mechs, sizeof mechs, NULL, &out,
                                        err), 0);
    assert_string_not_equal(s.nonce, first_nonce);
    replay_scram_cleanup(&s);
    /* user names are escaped */
    assert_int_equal(replay_scram_start_user(&s, "a,b=c", mechs,
                                             sizeof mechs, "xyz", &out,
                                             err), 0);
    assert_string_equal(s.client_first_bare, "n=a=2Cb=3Dc,r=xyz");
    replay_scram_cleanup(&s);

    /* refusals: the struct needs no cleanup, out is unchanged */
    size_t before = out.len;
    static const struct {
        const char *list;
        size_t n;
        const char *nonce;
    } bad[] = {
        {"SCRAM-SHA-256-PLUS\0", 20, NULL},  /* only channel binding */
        {"SCRAM-SHA-1\0", 13, NULL},
        {"\0", 1, NULL},                     /* empty list */
        {"SCRAM-SHA-256\0", 14, NULL},       /* no final empty name */
        {"SCRAM-SHA-256", 13, NULL},         /* no NUL at all */
        {"", 0, NULL},
        {"SCRAM-SHA-256\0\0x", 16, NULL},    /* bytes after the list */
        {"SCRAM-SHA-256\0\0", 15, ""},       /* empty nonce */
        {"SCRAM-SHA-256\0\0", 15, "a,b"},
        {"SCRAM-SHA-256\0\0", 15, "a b"},
        {"SCRAM-SHA-256\0\0", 15, "0123456789012345678901234567890123"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char e[RP_ERRLEN] = "";
        int rc = replay_scram_start(&s, (const uint8_t *)bad[i].list, bad[i].n,
                                    bad[i].nonce, &out, e);
        if (rc != RP_EINPUT)
            fail_msg("case %zu: %d", i, rc);
        assert_true(e[0] != 0);
        assert_int_equal(out.len, before);
        assert_null(s.client_first_bare);
        replay_scram_cleanup(&s);
    }
    assert_int_equal(replay_scram_start(&s, NULL, 0, NULL, &out, err),
                     RP_EINPUT);
    rp_buf_cleanup(&out);
}

static void test_md5(void **st)
{
    (void)st;
    struct rp_buf out;
    rp_buf_init(&out, 0);
    static const uint8_t salt[4] = {0x93, 0x0a, 0x7f, 0x01};
    /* md5hex("penciluser") = 20c46e3762c864548e296b33c3406aa9 */
    assert_int_equal(replay_pgauth_md5(&out, "user", "pencil", salt), 0);
    const char want[] = "md5e43568bb08738d5b74b1b0db1be76047";
    assert_int_equal(out.len, 5 + sizeof want);
    assert_int_equal(out.data[0], 'p');
    assert_int_equal(be32(out.data + 1), 4 + sizeof want);
    assert_memory_equal(out.data + 5, want, sizeof want);
    framed_once(&out, 'p');
    rp_buf_reset(&out);
    static const uint8_t zero[4];
    assert_int_equal(replay_pgauth_md5(&out, "bench", "secret", zero), 0);
    assert_string_equal(out.data + 5, "md5bb5badcc4c65821032ba0f8ef3c5b605");
    rp_buf_cleanup(&out);
}

static void test_cleartext(void **st)
{
    (void)st;
    struct rp_buf out;
    rp_buf_init(&out, 0);
    assert_int_equal(replay_pgauth_cleartext(&out, "pencil"), 0);
    assert_int_equal(out.len, 12);
    assert_memory_equal(out.data, "p\0\0\0\13pencil\0", 12);
    framed_once(&out, 'p');
    rp_buf_reset(&out);
    assert_int_equal(replay_pgauth_cleartext(&out, ""), 0);
    assert_memory_equal(out.data, "p\0\0\0\5\0", 6);
    rp_buf_cleanup(&out);
}

static void test_startup(void **st)
{
    (void)st;
    struct rp_buf out;
    rp_buf_init(&out, 0);
    assert_int_equal(replay_pgauth_startup(&out, "bench", "pgbench"), 0);
    static const char want[] =
        "\0\0\0\x3e" "\0\3\0\0"
        "user\0bench\0database\0pgbench\0application_name\0reprise\0";
    assert_int_equal(out.len, sizeof want); /* the final NUL of the list */
    assert_memory_equal(out.data, want, sizeof want);
    framed_once(&out, 0);
    const char *v;
    const uint8_t *m = (const uint8_t *)out.data;
    assert_int_equal(pg_msg_startup_param(m, out.len, "user", &v), 0);
    assert_string_equal(v, "bench");
    assert_int_equal(pg_msg_startup_param(m, out.len, "database", &v), 0);
    assert_string_equal(v, "pgbench");
    assert_int_equal(pg_msg_startup_param(m, out.len, "application_name", &v),
                     0);
    assert_string_equal(v, "reprise");
    /* no database */
    rp_buf_reset(&out);
    assert_int_equal(replay_pgauth_startup(&out, "bench", NULL), 0);
    m = (const uint8_t *)out.data;
    assert_int_equal(pg_msg_startup_param(m, out.len, "database", &v), -1);
    assert_int_equal(pg_msg_startup_param(m, out.len, "user", &v), 0);
    /* appended after what the buffer holds */
    size_t at = out.len;
    assert_int_equal(replay_pgauth_startup(&out, "x", ""), 0);
    assert_int_equal(be32(out.data + at), out.len - at);
    /* refusals, nothing appended */
    at = out.len;
    assert_int_equal(replay_pgauth_startup(&out, "", "d"), RP_EINPUT);
    assert_int_equal(replay_pgauth_startup(&out, NULL, "d"), RP_EINPUT);
    char *huge = malloc(20000);
    assert_non_null(huge);
    memset(huge, 'u', 19999);
    huge[19999] = 0;
    assert_int_equal(replay_pgauth_startup(&out, huge, "d"), RP_EINPUT);
    assert_int_equal(out.len, at);
    free(huge);
    rp_buf_cleanup(&out);
}

/* A buffer whose cap is hit: RP_ENOMEM and the buffer as it was. */
static void test_buffer_cap(void **st)
{
    (void)st;
    static const uint8_t salt[4] = {1, 2, 3, 4};
    for (size_t cap = 1; cap < 120; cap++) {
        struct rp_buf out;
        rp_buf_init(&out, cap);
        assert_int_equal(rp_buf_append(&out, "x", 1), 0);
        int rc = replay_pgauth_startup(&out, "bench", "pgbench");
        assert_true(rc == 0 || (rc == RP_ENOMEM && out.len == 1));
        rp_buf_reset(&out);
        rc = replay_pgauth_md5(&out, "u", "p", salt);
        assert_true(rc == 0 || (rc == RP_ENOMEM && out.len == 0));
        rp_buf_reset(&out);
        rc = replay_pgauth_cleartext(&out, "password");
        assert_true(rc == 0 || (rc == RP_ENOMEM && out.len == 0));
        rp_buf_reset(&out);
        struct replay_scram s;
        char err[RP_ERRLEN];
        rc = replay_scram_start_user(&s, "user", mechs, sizeof mechs,
                                     rfc_nonce, &out, err);
        assert_true(rc == 0 || (rc == RP_ENOMEM && out.len == 0));
        if (rc == 0) {
            rp_buf_reset(&out);
            rc = replay_scram_continue(&s, "pencil",
                                       (const uint8_t *)rfc_server_first,
                                       strlen(rfc_server_first), &out, err);
            assert_true(rc == 0 || (rc == RP_ENOMEM && out.len == 0));
        }
        replay_scram_cleanup(&s);
        rp_buf_cleanup(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7677_exchange),
        cmocka_unit_test(test_finish_refusals),
        cmocka_unit_test(test_continue_refusals),
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_md5),
        cmocka_unit_test(test_cleartext),
        cmocka_unit_test(test_startup),
        cmocka_unit_test(test_buffer_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
