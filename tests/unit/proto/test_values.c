/*
 * test_values.c: the values of HTTP messages by location (proto/values.h):
 * a request's and a response's walks list what correlation can use, get
 * finds one location in a response, set puts a value into a request
 * (cookie, bearer, header, path segment, query, JSON, form) and leaves the
 * rest byte for byte.
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
#include "proto/values.h"

struct seen {
    char text[4096];
};

static int collect(void *arg, const char *loc, const char *v, size_t n,
                   int is_num)
{
    struct seen *s = arg;
    size_t u = strlen(s->text);
    snprintf(s->text + u, sizeof s->text - u, "%s=%.*s%s\n", loc, (int)n, v,
             is_num ? "#" : "");
    return 0;
}

static void test_request_walk(void **st)
{
    (void)st;
    const char *hdrs = "Host: h\r\nUser-Agent: x\r\n"
                       "Cookie: sid=abc123; theme=dark\r\n"
                       "Authorization: Bearer tok-0001\r\n"
                       "X-CSRF-Token: c5rf\r\n"
                       "Content-Type: application/json\r\n";
    const char *body = "{\"order\":{\"id\":4711},\"tags\":[\"a1\",\"b2\"]}";
    struct seen s = {""};
    assert_int_equal(proto_values_request("/orders/4711?cursor=a%2Bb&x=1",
                                          hdrs, strlen(hdrs),
                                          (const uint8_t *)body, strlen(body),
                                          collect, &s),
                     0);
    assert_string_equal(s.text, "cookie:sid=abc123\n"
                                "cookie:theme=dark\n"
                                "auth:bearer=tok-0001\n"
                                "header:X-CSRF-Token=c5rf\n"
                                "path:0=orders\n"
                                "path:1=4711\n"
                                "query:cursor=a+b\n"
                                "query:x=1\n"
                                "json:order.id=4711#\n"
                                "json:tags.0=a1\n"
                                "json:tags.1=b2\n");
    /* a form body; a body of another type is not read */
    const char *fh = "Content-Type: application/x-www-form-urlencoded\r\n";
    struct seen f = {""};
    assert_int_equal(proto_values_request("/p", fh, strlen(fh),
                                          (const uint8_t *)"t=a%20b&n=x+y",
                                          13, collect, &f), 0);
    assert_string_equal(f.text, "path:0=p\nform:t=a b\nform:n=x y\n");
    const char *th = "Content-Type: text/plain\r\n";
    struct seen t = {""};
    assert_int_equal(proto_values_request("/", th, strlen(th),
                                          (const uint8_t *)"{\"a\":\"b\"}", 9,
                                          collect, &t), 0);
    assert_string_equal(t.text, "");
}

static void test_response_walk_and_get(void **st)
{
    (void)st;
    const char *hdrs = "Content-Type: text/html\r\n"
                       "Set-Cookie: sid=s3cr3t; Path=/; HttpOnly\r\n"
                       "Location: http://h/orders/99?next=c1\r\n";
    const char *html = "<form><INPUT type=\"hidden\" name=\"form_token\" "
                       "value='ft-1'><input name=\"x\" value=\"y\"></form>";
    struct seen s = {""};
    assert_int_equal(proto_values_response(hdrs, strlen(hdrs),
                                           (const uint8_t *)html,
                                           strlen(html), collect, &s), 0);
    assert_string_equal(s.text, "set-cookie:sid=s3cr3t\n"
                                "location:path:0=orders\n"
                                "location:path:1=99\n"
                                "location:query:next=c1\n"
                                "hidden:form_token=ft-1\n");
    struct rp_buf b;
    rp_buf_init(&b, 0);
    int num = -1;
    assert_int_equal(proto_value_get(hdrs, strlen(hdrs), (const uint8_t *)html,
                                     strlen(html), "hidden:form_token", &b,
                                     &num), 1);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "ft-1", 4);
    assert_int_equal(proto_value_get(hdrs, strlen(hdrs), NULL, 0,
                                     "set-cookie:sid", &b, &num), 1);
    assert_memory_equal(b.data, "s3cr3t", 6);
    assert_int_equal(proto_value_get(hdrs, strlen(hdrs), NULL, 0,
                                     "set-cookie:other", &b, &num), 0);
    const char *jh = "Content-Type: application/json\r\n";
    const char *js = "{\"items\":[{\"id\":5},{\"id\":6}],\"next_cursor\":null}";
    assert_int_equal(proto_value_get(jh, strlen(jh), (const uint8_t *)js,
                                     strlen(js), "json:items.1.id", &b, &num),
                     1);
    assert_int_equal(num, 1);
    assert_memory_equal(b.data, "6", 1);
    /* null, a missing path, a body that is not JSON: not found */
    assert_int_equal(proto_value_get(jh, strlen(jh), (const uint8_t *)js,
                                     strlen(js), "json:next_cursor", &b, &num),
                     0);
    assert_int_equal(proto_value_get(jh, strlen(jh), (const uint8_t *)js,
                                     strlen(js), "json:items.7.id", &b, &num),
                     0);
    assert_int_equal(proto_value_get(jh, strlen(jh), (const uint8_t *)"<x>", 3,
                                     "json:id", &b, &num), 0);
    rp_buf_cleanup(&b);
}

static void edit_init(struct proto_req_edit *e, const char *t, const char *h,
                      const char *b)
{
    rp_buf_init(&e->target, 0);
    rp_buf_init(&e->hdrs, 0);
    rp_buf_init(&e->body, 0);
    rp_buf_puts(&e->target, t);
    rp_buf_puts(&e->hdrs, h);
    if (b)
        rp_buf_puts(&e->body, b);
}

static void edit_free(struct proto_req_edit *e)
{
    rp_buf_cleanup(&e->target);
    rp_buf_cleanup(&e->hdrs);
    rp_buf_cleanup(&e->body);
}

static void test_set(void **st)
{
    (void)st;
    struct proto_req_edit e;
    edit_init(&e, "/orders/4711/items?cursor=old&n=2",
              "Host: h\r\nCookie: a=1; sid=[redacted len=6 h=00]; z=2\r\n"
              "Authorization: Bearer [redacted len=8 h=11]\r\n"
              "X-CSRF-Token: [redacted len=4 h=22]\r\n"
              "Content-Type: application/json\r\n",
              "{\"qty\": 1, \"order\": {\"id\": 4711}}");
    assert_int_equal(proto_value_set(&e, "cookie:sid", "NEW", 3, 0), 1);
    assert_int_equal(proto_value_set(&e, "auth:bearer", "tok", 3, 0), 1);
    assert_int_equal(proto_value_set(&e, "header:X-CSRF-Token", "c", 1, 0), 1);
    assert_int_equal(proto_value_set(&e, "path:1", "42/x", 4, 0), 1);
    assert_int_equal(proto_value_set(&e, "query:cursor", "a b", 3, 0), 1);
    assert_int_equal(proto_value_set(&e, "json:order.id", "42", 2, 1), 1);
    assert_int_equal(proto_value_set(&e, "query:none", "v", 1, 0), 0);
    assert_int_equal(proto_value_set(&e, "path:9", "v", 1, 0), 0);
    assert_int_equal(proto_value_set(&e, "cookie:none", "v", 1, 0), 0);
    /* a value must not add header lines or cookies */
    assert_int_equal(proto_value_set(&e, "header:X-CSRF-Token", "a\r\nX: y",
                                     8, 0), 0);
    assert_int_equal(proto_value_set(&e, "cookie:sid", "a; b=c", 6, 0), 0);
    assert_string_equal(e.target.data, "/orders/42%2Fx/items?cursor=a%20b&n=2");
    assert_string_equal(e.hdrs.data,
                        "Host: h\r\nCookie: a=1; sid=NEW; z=2\r\n"
                        "Authorization: Bearer tok\r\n"
                        "X-CSRF-Token: c\r\n"
                        "Content-Type: application/json\r\n");
    assert_string_equal(e.body.data, "{\"qty\":1,\"order\":{\"id\":42}}");
    edit_free(&e);

    edit_init(&e, "/p", "Content-Type: application/x-www-form-urlencoded\r\n",
              "form_token=old&name=x");
    assert_int_equal(proto_value_set(&e, "form:form_token", "n&w", 3, 0), 1);
    assert_string_equal(e.body.data, "form_token=n%26w&name=x");
    edit_free(&e);
}

static void test_uuid(void **st)
{
    (void)st;
    assert_true(proto_is_uuid("d2acb19d-a613-47a2-b48f-8964dfa2082c", 36));
    assert_true(proto_is_uuid("D2ACB19D-A613-47A2-B48F-8964DFA2082C", 36));
    assert_false(proto_is_uuid("d2acb19d-a613-47a2-b48f-8964dfa2082", 35));
    assert_false(proto_is_uuid("d2acb19da613-47a2-b48f-8964dfa2082cc", 36));
    assert_false(proto_is_uuid("g2acb19d-a613-47a2-b48f-8964dfa2082c", 36));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_walk),
        cmocka_unit_test(test_response_walk_and_get),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_uuid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
