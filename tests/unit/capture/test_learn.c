/*
 * test_learn.c: correlation learning (capture/learn.h) on exchanges as the
 * HTTP layer stores them (headers already redacted): a login response's
 * cookie and JSON CSRF value, sent back by a later request as a Cookie
 * and a header, become links with the source's id and location; the CSRF
 * value is replaced by its marker in the login's body and in the later
 * request's header; a UUID no response carried is linked as generated; a
 * short value or a word is never linked. Also the per-part redaction
 * forms of cap_redact_value. A body seen again is served by the memo,
 * redacted the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/learn.h"
#include "capture/redact.h"
#include "common/buf.h"
#include "common/rp.h"

static void test_redact_value_forms(void **st)
{
    (void)st;
    uint8_t key[CAP_REDACT_KEY_LEN] = {1};
    struct cap_redact *r = cap_redact_new_keyed(key, 1, NULL, NULL);
    struct rp_buf b;
    char m[CAP_REDACT_MARKER_MAX], m2[CAP_REDACT_MARKER_MAX], want[256];
    rp_buf_init(&b, 0);
    cap_redact_marker(r, "42", 2, m);
    cap_redact_marker(r, "dark", 4, m2);
    assert_int_equal(cap_redact_value(r, "Cookie", 6, "sid=42; theme=dark",
                                      18, &b), 0);
    snprintf(want, sizeof want, "sid=%s; theme=%s", m, m2);
    assert_string_equal(b.data, want);
    b.len = 0;
    assert_int_equal(cap_redact_value(r, "set-cookie", 10,
                                      "sid=42; Path=/; HttpOnly", 24, &b), 0);
    snprintf(want, sizeof want, "sid=%s; Path=/; HttpOnly", m);
    assert_string_equal(b.data, want);
    b.len = 0;
    cap_redact_marker(r, "tok-1", 5, m);
    assert_int_equal(cap_redact_value(r, "Authorization", 13, "Bearer tok-1",
                                      12, &b), 0);
    snprintf(want, sizeof want, "Bearer %s", m);
    assert_string_equal(b.data, want);
    assert_true(cap_redact_has_marker(b.data, b.len));
    assert_false(cap_redact_has_marker("Bearer x", 8));
    b.len = 0;
    cap_redact_marker(r, "k-123", 5, m);
    assert_int_equal(cap_redact_value(r, "X-Api-Key", 9, "k-123", 5, &b), 0);
    assert_string_equal(b.data, m);
    rp_buf_cleanup(&b);
    cap_redact_free(r);
}

static void msg(struct corpus_msg *m, const char *h, const char *body)
{
    memset(m, 0, sizeof *m);
    m->headers = h;
    m->headers_len = h ? strlen(h) : 0;
    m->body = (const uint8_t *)body;
    m->body_len = body ? strlen(body) : 0;
    m->body_size = m->body_len;
}

static void test_learn_links(void **st)
{
    (void)st;
    uint8_t key[CAP_REDACT_KEY_LEN] = {7};
    struct cap_redact *r = cap_redact_new_keyed(key, 1, NULL, NULL);
    struct cap_learn *l = cap_learn_new(r, 1);
    assert_non_null(l);
    char sidm[CAP_REDACT_MARKER_MAX], csrfm[CAP_REDACT_MARKER_MAX];
    cap_redact_marker(r, "0123456789abcdef", 16, sidm);
    cap_redact_marker(r, "csrf-SECRET-1", 13, csrfm);

    /* exchange 10: the login */
    char rh[256];
    snprintf(rh, sizeof rh, "Content-Type: application/json\r\n"
                            "Set-Cookie: sid=%s; Path=/\r\n", sidm);
    struct corpus_exchange ex;
    memset(&ex, 0, sizeof ex);
    ex.method = "POST";
    ex.target = "/login";
    ex.status = 200;
    msg(&ex.req, "Content-Type: application/json\r\n",
        "{\"user\":\"u1\",\"password\":\"pw-u1\"}");
    msg(&ex.resp, rh, "{\"csrf\": \"csrf-SECRET-1\", \"n\": 7}");
    assert_int_equal(cap_learn_scan(l, &ex), 0);
    /* the handed-out secret is stored as its marker; the password stays */
    char want[256];
    snprintf(want, sizeof want, "{\"csrf\": \"%s\", \"n\": 7}", csrfm);
    assert_int_equal(ex.resp.body_len, strlen(want));
    assert_memory_equal(ex.resp.body, want, strlen(want));
    assert_non_null(strstr((const char *)ex.req.body, "pw-u1"));
    cap_learn_commit(l, 10);
    assert_int_equal(cap_learn_count(l, NULL), 0);
    /* the same body again comes from the memo: stored redacted as well */
    struct corpus_exchange ex2 = ex;
    msg(&ex2.resp, rh, "{\"csrf\": \"csrf-SECRET-1\", \"n\": 7}");
    assert_int_equal(cap_learn_scan(l, &ex2), 0);
    assert_int_equal(ex2.resp.body_len, strlen(want));
    assert_memory_equal(ex2.resp.body, want, strlen(want));
    cap_learn_commit(l, 10);

    /* exchange 11 sends the cookie and the CSRF value back */
    char qh[512];
    snprintf(qh, sizeof qh, "Cookie: sid=%s\r\n"
                            "X-CSRF-Token: csrf-SECRET-1\r\n"
                            "Idempotency-Key: "
                            "d2acb19d-a613-47a2-b48f-8964dfa2082c\r\n"
                            "X-Page: 7\r\n", sidm);
    memset(&ex, 0, sizeof ex);
    ex.method = "POST";
    ex.target = "/orders";
    ex.status = 201;
    msg(&ex.req, qh, NULL);
    msg(&ex.resp, "Location: /orders/4711\r\n", NULL);
    assert_int_equal(cap_learn_scan(l, &ex), 0);
    assert_null(strstr(ex.req.headers, "csrf-SECRET-1"));
    snprintf(want, sizeof want, "X-CSRF-Token: %s\r\n", csrfm);
    assert_non_null(strstr(ex.req.headers, want));
    cap_learn_commit(l, 11);
    /* cookie, csrf, generated; not the 1-byte page */
    assert_int_equal(cap_learn_count(l, NULL), 3);

    /* exchange 12 reads the order by the id the Location gave */
    memset(&ex, 0, sizeof ex);
    ex.method = "GET";
    ex.target = "/orders/4711";
    ex.status = 200;
    msg(&ex.req, NULL, NULL);
    msg(&ex.resp, NULL, NULL);
    assert_int_equal(cap_learn_scan(l, &ex), 0);
    cap_learn_commit(l, 12);
    /* path:1 linked ("orders" is a word: not linked) */
    assert_int_equal(cap_learn_count(l, NULL), 4);
    cap_learn_free(l);
    cap_redact_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_value_forms),
        cmocka_unit_test(test_learn_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
