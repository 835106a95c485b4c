/*
 * endpoint.h: turns a request (method + request-target) into an endpoint
 * name such as "GET /users/:id/orders", so that per-endpoint statistics
 * gather every request of one route. User rules (--template) are tried
 * first, in the order given; otherwise each path segment that looks like an
 * identifier becomes ":id": all digits, a UUID, a hex string of 8 or more
 * characters containing a digit, or a token (16 or more base64/base64url
 * characters mixing letters and digits). "NAME.ext" keeps its extension
 * (":id.jpg"). The query string is dropped unless keep_query is set.
 */
#ifndef RP_PROTO_ENDPOINT_H
#define RP_PROTO_ENDPOINT_H

#include <stddef.h>

struct http_templater;

/* Returns a templater with no user rules, or NULL when out of memory. */
struct http_templater *http_templater_new(int keep_query);
void http_templater_free(struct http_templater *t);
/* Adds a user rule "[METHOD ]/literal/:name", optionally ending in a
 * segment "*". ":name" matches exactly one non-empty segment, "*" the rest
 * of the path, which may be empty. Returns 0, RP_EUSAGE with err filled
 * for a malformed pattern, or RP_ENOMEM. */
int http_templater_add(struct http_templater *t, const char *pattern, char *err);

/* Writes "METHOD TEMPLATE" into out (just "METHOD" for an empty target:
 * the exchanges of other protocols, capture/wire.h, name their endpoint
 * by method and target too, and a target that is not a path is kept as it
 * is) (outlen bytes, truncated if needed,
 * always NUL-terminated). method and target may be NULL (treated as ""). */
void http_endpoint(const struct http_templater *t, const char *method,
                 const char *target, char *out, size_t outlen);

/* 1 when the segment s[0..n) is an identifier by the rules above. */
int http_segment_is_id(const char *s, size_t n);

#endif
