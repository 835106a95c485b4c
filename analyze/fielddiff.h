/*
 * fielddiff.h: what changed between two responses, field by field.
 *
 * Headers are compared by name (case-insensitive; repeated headers joined
 * with ", "; framing headers left out: Content-Length, Transfer-Encoding,
 * Connection, Keep-Alive), as paths "header:NAME" in lower case. A body
 * with a Content-Encoding of gzip, x-gzip or deflate is decoded first
 * (zlib, up to AN_FD_BODY_MAX bytes). A body that parses as JSON on both
 * sides (jansson) is compared by path: objects by key, arrays of objects
 * that all carry a scalar "id" by that id, other arrays by position;
 * paths are written with array positions generalized, "$.items[*].price",
 * so one field counts once however many elements it changed in. Other
 * bodies are compared as text by line (path "body", the first differing
 * line as the example) or, when not text, as bytes (path "body").
 *
 * Replies of other protocols (an_fd_msg.version, the exchange's version
 * column) are decoded into JSON first and walked the same way (fd_wire.h
 * gives the mapping): a Redis reply (RESP2/RESP3) as the value it carries
 * ("$", "$[*]", "$.field"; errors as {"error": "CODE message"}), a
 * PostgreSQL reply as {"tag", "rows", "columns", "data", "error"}, where
 * the rows of "data" are compared by position and their columns keep
 * their positions ("$.rows", "$.data[*][1]"). A reply that does not decode
 * on either side, and generic TCP, is compared as text or bytes as above.
 */
#ifndef RP_AN_FIELDDIFF_H
#define RP_AN_FIELDDIFF_H

#include <stddef.h>
#include <stdint.h>

#define AN_FD_PATHLEN 192   /* longest path kept (longer ones are cut) */
#define AN_FD_VALLEN 96     /* longest example value kept */
#define AN_FD_BODY_MAX (16u << 20) /* decoded bytes compared at most */

enum an_fd_kind { AN_FD_CHANGED, AN_FD_ADDED, AN_FD_REMOVED };

/* One response: its raw header lines ("Name: value\r\n"...) and body,
 * and the exchange's protocol version (the corpus's `version` column). */
struct an_fd_msg {
    const char *headers;
    size_t headers_len;
    const uint8_t *body;
    size_t body_len;
    const char *version;    /* "RESP2"/"RESP3": Redis; "PG3": PostgreSQL;
                               "TCP"; NULL or any other: HTTP */
};

enum an_fd_proto { AN_FD_HTTP, AN_FD_REDIS, AN_FD_POSTGRES, AN_FD_TCP };

/* The protocol a `version` value names (NULL: HTTP). */
enum an_fd_proto an_fd_proto_of(const char *version);

/* Called once per differing field (per generalized path: an array field
 * that changed in several elements is reported once, with the first
 * pair): base is the baseline's value, cand the candidate's, as compact
 * JSON or text, "" for the side where it is absent. A non-zero return
 * stops the diff and is returned. */
typedef int (*an_fd_fn)(void *arg, const char *path, enum an_fd_kind kind,
                        const char *base, const char *cand);

/* Compares b (baseline) with c (candidate). 0, fn's return, or RP_ENOMEM. */
int an_field_diff(const struct an_fd_msg *b, const struct an_fd_msg *c,
                  an_fd_fn fn, void *arg);

/* A Redis or PostgreSQL reply decoded as above, as indented JSON
 * (malloc'd; the caller frees it), or NULL for another protocol, a reply
 * that does not decode, or no memory. */
char *an_fd_reply_text(const struct an_fd_msg *m);

/* "added", "removed", "changed" */
const char *an_fd_kind_name(enum an_fd_kind k);

#endif
