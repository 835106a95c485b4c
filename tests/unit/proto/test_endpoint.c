/*
 * test_endpoint.c: endpoint names from request targets: automatic :id
 * segments (numeric, UUID, hex, tokens), things that must stay literal
 * (words, slugs, versions), query handling, absolute-form targets and user
 * --template rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/endpoint.h"
#include "common/rp.h"

static void expect(const struct http_templater *t, const char *method,
                   const char *target, const char *want)
{
    char out[256];
    http_endpoint(t, method, target, out, sizeof out);
    if (strcmp(out, want))
        fail_msg("%s %s: got '%s', want '%s'", method ? method : "(none)",
                 target ? target : "(none)", out, want);
}

static void test_auto(void **state)
{
    (void)state;
    struct http_templater *t = http_templater_new(0);
    expect(t, "GET", "/", "GET /");
    expect(t, "GET", "/users/123", "GET /users/:id");
    expect(t, "GET", "/users/123/orders/9?x=1", "GET /users/:id/orders/:id");
    expect(t, "GET", "/o/550e8400-e29b-41d4-a716-446655440000",
           "GET /o/:id");
    expect(t, "GET", "/o/550E8400-E29B-41D4-A716-446655440000/x",
           "GET /o/:id/x");
    expect(t, "GET", "/commit/deadbeef12", "GET /commit/:id");
    expect(t, "GET", "/commit/0123abcd", "GET /commit/:id");
    expect(t, "GET", "/blob/deadbeef", "GET /blob/deadbeef"); /* no digit */
    expect(t, "GET", "/t/dGhpcyBpcyBhIHRva2Vu", "GET /t/:id");
    expect(t, "GET", "/t/aB3xK9mQ2pL7vN4w", "GET /t/:id");
    expect(t, "GET", "/t/YWJjZGVmZ2hpamtsbW5vcA==", "GET /t/:id");
    expect(t, "GET", "/api/v2/items", "GET /api/v2/items");
    expect(t, "GET", "/blog/my-article-about-http-2024",
           "GET /blog/my-article-about-http-2024");
    expect(t, "GET", "/static/app.css", "GET /static/app.css");
    expect(t, "GET", "/img/12345.jpg", "GET /img/:id.jpg");
    expect(t, "GET", "/s/app.3f2a9c1b.js", "GET /s/app.:id.js");
    expect(t, "GET", "/s/app.1000002.min.js", "GET /s/app.:id.min.js");
    expect(t, "GET", "/s/jquery-3.6.0.min.js", "GET /s/jquery-3.6.0.min.js");
    expect(t, "GET", "/s/.htaccess", "GET /s/.htaccess");
    expect(t, "GET", "/s/v1.2", "GET /s/v1.2");
    expect(t, "GET", "/a//b/", "GET /a//b/");
    expect(t, "POST", "/x?y=1#frag", "POST /x");
    expect(t, "GET", "http://example.com/users/42?a=b", "GET /users/:id");
    expect(t, "GET", "http://example.com", "GET /");
    expect(t, "OPTIONS", "*", "OPTIONS *");
    expect(t, "CONNECT", "example.com:443", "CONNECT example.com:443");
    expect(t, NULL, NULL, "");
    /* other protocols (capture/wire.h): the command alone, or with its
     * detail; a statement kept as it is */
    expect(t, "GET", "", "GET");
    expect(t, "EVALSHA", "6b1bf486c81ceb7edf3c093f4c48582e38c0e791",
           "EVALSHA 6b1bf486c81ceb7edf3c093f4c48582e38c0e791");
    expect(t, "SELECT", "abalance FROM pgbench_accounts WHERE aid = $1",
           "SELECT abalance FROM pgbench_accounts WHERE aid = $1");
    http_templater_free(t);

    t = http_templater_new(1);
    expect(t, "GET", "/users/7?page=2#x", "GET /users/:id?page=2");
    http_templater_free(t);

    assert_true(http_segment_is_id("42", 2));
    assert_false(http_segment_is_id("", 0));
    assert_false(http_segment_is_id("users", 5));
    assert_false(http_segment_is_id("abcdefghijk1234567", 18)); /* 1 switch */
}

static void test_rules(void **state)
{
    (void)state;
    char err[RP_ERRLEN];
    struct http_templater *t = http_templater_new(0);
    assert_int_equal(http_templater_add(t, "/users/:uid/orders", err), 0);
    assert_int_equal(http_templater_add(t, "/files/*", err), 0);
    assert_int_equal(http_templater_add(t, "POST /search/:q", err), 0);
    expect(t, "GET", "/users/alice/orders", "GET /users/:uid/orders");
    expect(t, "GET", "/users/alice/orders?x", "GET /users/:uid/orders");
    expect(t, "GET", "/users/alice/profile", "GET /users/alice/profile");
    expect(t, "GET", "/users//orders", "GET /users//orders"); /* empty seg */
    expect(t, "GET", "/files/a/b/c.txt", "GET /files/*");
    expect(t, "GET", "/files", "GET /files"); /* '*' needs the slash */
    expect(t, "GET", "/files/", "GET /files/*");
    expect(t, "POST", "/search/shoes", "POST /search/:q");
    expect(t, "GET", "/search/shoes", "GET /search/shoes");
    expect(t, "GET", "/search/123", "GET /search/:id");
    assert_int_equal(http_templater_add(t, "users/:id", err), RP_EUSAGE);
    assert_non_null(strstr(err, "start with '/'"));
    assert_int_equal(http_templater_add(t, "/a/*/b", err), RP_EUSAGE);
    assert_int_equal(http_templater_add(t, "get /a", err), RP_EUSAGE);
    http_templater_free(t);
}

static void test_truncation(void **state)
{
    (void)state;
    char out[12];
    http_endpoint(NULL, "GET", "/averyveryverylongpath", out, sizeof out);
    assert_string_equal(out, "GET /averyv");
    assert_int_equal(strlen(out), sizeof out - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
