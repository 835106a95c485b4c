/*
 * redact.h: redaction of secrets at capture time. Header values of
 * Authorization, Proxy-Authorization, Cookie and Set-Cookie (names compared
 * case-insensitively), plus any extra header names and query parameters the
 * user lists, are replaced by a marker before anything reaches the corpus.
 *
 * Marker format (other modules, e.g. replay, recognize it):
 *
 *     [redacted len=N h=XXXXXXXXXXXX]
 *
 * N is the length in bytes of the original value (decimal) and XXXXXXXXXXXX
 * the first 6 bytes, in lower-case hex, of HMAC-SHA256(key, value). The key
 * is 32 random bytes from getrandom(), made per capture and wiped when the
 * capture ends, so equal values carry equal markers within one capture
 * (sessions can still be told apart) while the originals cannot be
 * recovered or confirmed by guessing afterwards. A value is a marker exactly
 * when it starts with "[redacted " (see cap_redact_is_marker). In a request
 * target only the parameter value is replaced, by the marker percent-encoded
 * ("?token=%5Bredacted%20len%3D8%20h%3D...%5D"), so the target stays a valid
 * URL that replay sends as it is and the server decodes to the marker.
 *
 * Header values are redacted part by part where the parts are separate
 * secrets (cap_redact_value), so that a value handed out by a response
 * and sent back by a later request carries the same marker on both sides:
 * each cookie of a Cookie header on its own ("a=[redacted ...]; b=[...]"),
 * the cookie value of a Set-Cookie (its attributes stay clear: "sid=[...];
 * Path=/; HttpOnly"), and the credentials after an Authorization scheme
 * ("Bearer [redacted ...]", the marker of the token alone). Any other
 * header's value is one marker. A header value is redacted exactly when it
 * contains "[redacted " (cap_redact_has_marker).
 */
#ifndef RP_CAP_REDACT_H
#define RP_CAP_REDACT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Longest marker, NUL included. */
#define CAP_REDACT_MARKER_MAX 64

struct cap_redact;

/* Creates a redactor with a fresh random key. defaults: 1 to redact the
 * four default headers. headers / query: extra header names and query
 * parameter names, NULL-terminated lists (or NULL); the strings are copied.
 * Returns NULL when allocation or getrandom fails. */
struct cap_redact *cap_redact_new(int defaults, const char *const *headers,
                                  const char *const *query);
/* As cap_redact_new with a given key (tests compare with HMAC()). */
#define CAP_REDACT_KEY_LEN 32
struct cap_redact *cap_redact_new_keyed(const uint8_t key[CAP_REDACT_KEY_LEN],
                                        int defaults,
                                        const char *const *headers,
                                        const char *const *query);
/* Wipes the key and frees. Accepts NULL. */
void cap_redact_free(struct cap_redact *r);

/* 1 when the value of header name[0..n) must be redacted. */
int cap_redact_header(const struct cap_redact *r, const char *name, size_t n);
/* 1 when some query parameter is to be redacted at all. */
int cap_redact_has_query(const struct cap_redact *r);

/* Writes the marker for v[0..n) into out (CAP_REDACT_MARKER_MAX bytes,
 * NUL-terminated) and returns its length. Recent values are cached (the
 * cache is wiped by cap_redact_free), so r is not const. */
size_t cap_redact_marker(struct cap_redact *r, const void *v, size_t n,
                         char *out);

/* Appends target t[0..n) to out with the values of the listed query
 * parameters replaced by markers. Returns the number of values replaced
 * (>= 0), or RP_ENOMEM when out is full. */
int cap_redact_target(struct cap_redact *r, const char *t, size_t n,
                      struct rp_buf *out);

/* Appends to out the redacted form of the value v[0..n) of header
 * name[0..nlen) (the forms above). Returns 0 or RP_ENOMEM. */
int cap_redact_value(struct cap_redact *r, const char *name, size_t nlen,
                     const char *v, size_t n, struct rp_buf *out);

/* 1 when v[0..n) contains a marker (a value redacted by cap_redact_value). */
int cap_redact_has_marker(const char *v, size_t n);

/* 1 when v[0..n) is a redaction marker (starts with "[redacted "). */
int cap_redact_is_marker(const char *v, size_t n);

#endif
