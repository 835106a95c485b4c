/*
 * fd_wire.h: Redis and PostgreSQL replies as JSON values, so that the
 * field diff (fielddiff.c) can compare them by path as it compares JSON
 * bodies. Internal to analyze/.
 *
 * A Redis reply (RESP2 or RESP3, as stored: one or more complete replies)
 * becomes: arrays, sets and pushes -> arrays; maps -> objects (a key that
 * is not a string is keyed by its compact JSON text); simple, bulk and
 * verbatim strings -> strings (the verbatim "txt:" prefix dropped; bytes
 * that are not UTF-8 written as \xNN); integers and doubles -> numbers
 * (an integer beyond int64_t and inf/nan -> strings); big numbers ->
 * strings; booleans -> true/false; nulls -> null; errors (simple or blob)
 * -> {"error": "CODE message"}; attributes are dropped. Several replies
 * become an array of them.
 *
 * A PostgreSQL reply (backend messages up to ReadyForQuery) becomes
 * {"tag": the last CommandComplete tag or null, "rows": DataRows in all
 * statements, "columns": the last RowDescription's field names,
 * "data": the first FD_PG_MAX_ROWS rows, each an array of its values as
 * text (null for SQL NULL)}, plus "data_truncated": true when rows were
 * left out of data, "copy_rows": CopyData messages when there are any,
 * and "error": {"sqlstate", "message"} for the last ErrorResponse.
 */
#ifndef RP_AN_FD_WIRE_H
#define RP_AN_FD_WIRE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define FD_PG_MAX_ROWS 1000     /* rows kept in "data" */
#define FD_WIRE_MAX_NODES 1000000 /* JSON values built per reply at most */

/* The reply p[0..n) as a new JSON value (the caller decrefs it), or NULL
 * when it is not well-formed RESP (or PostgreSQL backend messages), is
 * empty, exceeds a limit, or memory ran out. p is only read during the
 * call. */
json_t *an_fd_resp_json(const uint8_t *p, size_t n);
json_t *an_fd_pg_json(const uint8_t *p, size_t n);

#endif
