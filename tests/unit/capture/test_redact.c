/*
 * test_redact.c: redaction markers keep the length, are stable within one
 * key, differ across keys, never contain the secret, and query parameters
 * are replaced in place in a request target.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "capture/redact.h"
#include "common/buf.h"
#include "common/rp.h"

static void test_marker_stable_and_keyed(void **st)
{
    (void)st;
    struct cap_redact *a = cap_redact_new(1, NULL, NULL);
    struct cap_redact *b = cap_redact_new(1, NULL, NULL);
    assert_non_null(a);
    assert_non_null(b);
    const char *secret = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig";
    char m1[CAP_REDACT_MARKER_MAX], m2[CAP_REDACT_MARKER_MAX];
    char m3[CAP_REDACT_MARKER_MAX], m4[CAP_REDACT_MARKER_MAX];
    size_t l1 = cap_redact_marker(a, secret, strlen(secret), m1);
    size_t l2 = cap_redact_marker(a, secret, strlen(secret), m2);
    assert_int_equal(l1, l2);
    cap_redact_marker(a, "Bearer other", 12, m3);
    cap_redact_marker(b, secret, strlen(secret), m4);
    assert_int_equal(l1, strlen(m1));
    assert_string_equal(m1, m2);                 /* stable within a key */
    assert_string_not_equal(m1, m3);             /* values told apart */
    assert_string_not_equal(m1, m4);             /* another capture's key */
    char want[64];
    snprintf(want, sizeof want, "[redacted len=%zu h=", strlen(secret));
    assert_memory_equal(m1, want, strlen(want));
    assert_int_equal(strlen(m1), strlen(want) + 12 + 1);
    assert_int_equal(m1[strlen(m1) - 1], ']');
    assert_null(strstr(m1, "eyJ"));
    assert_true(cap_redact_is_marker(m1, strlen(m1)));
    assert_false(cap_redact_is_marker("Bearer x", 8));
    assert_false(cap_redact_is_marker("[redacted", 9));
    /* empty value still gets a marker with len=0 */
    cap_redact_marker(a, "", 0, m3);
    assert_memory_equal(m3, "[redacted len=0 h=", 18);
    cap_redact_free(a);
    cap_redact_free(b);
    cap_redact_free(NULL);
}

static void test_header_names(void **st)
{
    (void)st;
    const char *extra[] = {"X-Api-Key", NULL};
    struct cap_redact *r = cap_redact_new(1, extra, NULL);
    assert_non_null(r);
    assert_true(cap_redact_header(r, "authorization", 13));
    assert_true(cap_redact_header(r, "Proxy-Authorization", 19));
    assert_true(cap_redact_header(r, "COOKIE", 6));
    assert_true(cap_redact_header(r, "Set-Cookie", 10));
    assert_true(cap_redact_header(r, "x-api-key", 9));
    assert_false(cap_redact_header(r, "Cookie2", 7));
    assert_false(cap_redact_header(r, "Cooki", 5));
    assert_false(cap_redact_header(r, "Host", 4));
    assert_false(cap_redact_has_query(r));
    cap_redact_free(r);
    /* defaults off: only the listed names */
    r = cap_redact_new(0, extra, NULL);
    assert_false(cap_redact_header(r, "Cookie", 6));
    assert_true(cap_redact_header(r, "X-API-KEY", 9));
    cap_redact_free(r);
}

static void check_target(struct cap_redact *r, const char *in,
                         const char *want_prefix_or_same, int want_count)
{
    struct rp_buf b;
    rp_buf_init(&b, 0);
    int n = cap_redact_target(r, in, strlen(in), &b);
    assert_int_equal(n, want_count);
    if (want_count == 0)
        assert_string_equal(b.data, in);
    else
        assert_memory_equal(b.data, want_prefix_or_same,
                            strlen(want_prefix_or_same));
    rp_buf_cleanup(&b);
}

/* The marker as it stands in a target: percent-encoded. */
static void url_escape(const char *m, char *out)
{
    for (; *m; m++) {
        if (*m == '[' || *m == ']' || *m == ' ' || *m == '=')
            out += sprintf(out, "%%%02X", (unsigned char)*m);
        else
            *out++ = *m;
    }
    *out = '\0';
}

static void test_query(void **st)
{
    (void)st;
    const char *q[] = {"token", "sig", NULL};
    struct cap_redact *r = cap_redact_new(1, NULL, q);
    assert_true(cap_redact_has_query(r));
    check_target(r, "/a?x=1&y=2", NULL, 0);
    check_target(r, "/token=abc", NULL, 0);
    check_target(r, "/a?tokens=1&atoken=2&token", NULL, 0);
    check_target(r, "/a?x=1&token=s3cr3t&y=2",
                 "/a?x=1&token=%5Bredacted%20len%3D6%20h%3D", 1);
    struct rp_buf b;
    rp_buf_init(&b, 0);
    const char *t = "/p?sig=abcd&token=s3cr3t#frag";
    assert_int_equal(cap_redact_target(r, t, strlen(t), &b), 2);
    char m1[CAP_REDACT_MARKER_MAX], m2[CAP_REDACT_MARKER_MAX];
    cap_redact_marker(r, "abcd", 4, m1);
    cap_redact_marker(r, "s3cr3t", 6, m2);
    char want[512], e1[128], e2[128];
    url_escape(m1, e1);
    url_escape(m2, e2);
    snprintf(want, sizeof want, "/p?sig=%s&token=%s#frag", e1, e2);
    assert_string_equal(b.data, want);
    assert_null(strstr(b.data, "s3cr3t"));
    rp_buf_reset(&b);
    t = "/p?token=&x=1";
    assert_int_equal(cap_redact_target(r, t, strlen(t), &b), 1);
    assert_memory_equal(b.data, "/p?token=%5Bredacted%20len%3D0%20h%3D", 37);
    assert_non_null(strstr(b.data, "%5D&x=1"));
    rp_buf_cleanup(&b);
    cap_redact_free(r);
}

/* The marker hash is HMAC-SHA256 as OpenSSL computes it. */
static void test_hmac_matches_openssl(void **st)
{
    (void)st;
    uint8_t key[CAP_REDACT_KEY_LEN];
    for (int i = 0; i < CAP_REDACT_KEY_LEN; i++)
        key[i] = (uint8_t)(i * 7 + 1);
    struct cap_redact *r = cap_redact_new_keyed(key, 1, NULL, NULL);
    const char *v = "session=abc123; theme=dark";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), key, sizeof key, (const unsigned char *)v, strlen(v),
         md, &mdlen);
    char want[CAP_REDACT_MARKER_MAX], got[CAP_REDACT_MARKER_MAX];
    snprintf(want, sizeof want,
             "[redacted len=%zu h=%02x%02x%02x%02x%02x%02x]", strlen(v),
             md[0], md[1], md[2], md[3], md[4], md[5]);
    cap_redact_marker(r, v, strlen(v), got);
    assert_string_equal(got, want);
    cap_redact_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marker_stable_and_keyed),
        cmocka_unit_test(test_header_names),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_hmac_matches_openssl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
