/*
 * values.h: the values an HTTP message carries, named by location, for
 * correlation (capture learns which response value a later request sent
 * back; replay takes it from the target's response and puts it into the
 * request). Capture and replay both link proto/, so the one reading of a
 * location lives here. JSON is parsed by jansson; other bodies are read only
 * as forms (application/x-www-form-urlencoded) and HTML hidden inputs.
 *
 * Locations (strings, as stored in the corpus's correlations table):
 *   request:  cookie:NAME  auth:SCHEME (lower case)  header:NAME  path:I
 *             (0-based segment)  query:NAME  json:PATH  form:NAME
 *   response: set-cookie:NAME  location:path:I  location:query:NAME
 *             json:PATH  hidden:NAME
 * PATH joins object keys and array indexes with '.' ("items.0.id"). Query
 * and form values are given percent-decoded, JSON strings unescaped,
 * integers in decimal (is_num 1).
 */
#ifndef RP_PROTO_VALUES_H
#define RP_PROTO_VALUES_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define PROTO_LOC_MAX 128 /* longest location kept; longer ones are skipped */

/* Gets each value: loc is NUL-terminated, v[0..n) valid during the call.
 * A non-zero return stops the walk and is returned by it. */
typedef int (*proto_value_fn)(void *arg, const char *loc, const char *v,
                              size_t n, int is_num);

/* Values of a request: cookies, Authorization credentials, other headers
 * (not the standard ones: Host, Accept..., Content-..., User-Agent...),
 * path segments, query parameters, and a JSON or form body (by
 * Content-Type). hdrs: "Name: value\r\n" lines. */
int proto_values_request(const char *target, const char *hdrs, size_t hlen,
                         const uint8_t *body, size_t blen, proto_value_fn fn,
                         void *arg);
/* Values of a response: Set-Cookie cookies, the Location header's path
 * segments and query parameters, and a JSON body or the hidden inputs of
 * an HTML one. */
int proto_values_response(const char *hdrs, size_t hlen, const uint8_t *body,
                          size_t blen, proto_value_fn fn, void *arg);

/* The two halves of proto_values_response: the header values, and the
 * body's (whose type the headers give). */
int proto_values_response_headers(const char *hdrs, size_t hlen,
                                  proto_value_fn fn, void *arg);
int proto_values_response_body(const char *hdrs, size_t hlen,
                               const uint8_t *body, size_t blen,
                               proto_value_fn fn, void *arg);

/* The value at response location loc into out (appended, not
 * NUL-terminated) with *is_num. 1 when found, 0 when not, RP_ENOMEM. */
int proto_value_get(const char *hdrs, size_t hlen, const uint8_t *body,
                    size_t blen, const char *loc, struct rp_buf *out,
                    int *is_num);

/* A request being edited: its target, header lines and body, each its own
 * buffer (owned; rp_buf_cleanup them). */
struct proto_req_edit {
    struct rp_buf target;
    struct rp_buf hdrs;
    struct rp_buf body;
};
/* Puts v[0..n) at request location loc (is_num: a JSON integer where the
 * location is JSON). Path, query and form values are percent-encoded; a
 * value with CR, LF or NUL (or ';' for a cookie) is refused for a header.
 * 1 when set, 0 when the location is not in the request or the value is
 * refused, RP_ENOMEM. */
int proto_value_set(struct proto_req_edit *r, const char *loc, const char *v,
                    size_t n, int is_num);

/* 1 when v[0..n) has the shape of a UUID (8-4-4-4-12 hex digits). */
int proto_is_uuid(const char *v, size_t n);

#endif
