/*
 * buf.h: a growable byte buffer with a hard cap set at creation, so input can
 * never grow memory without limit (the curl dynbuf idea). Also JSON string
 * escaping, used by every writer of JSON (export, run options, reports).
 */
#ifndef RP_BUF_H
#define RP_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct rp_buf {
    char *data;       /* NUL-terminated while len < cap; may be NULL if empty */
    size_t len;       /* bytes used */
    size_t cap;       /* bytes allocated */
    size_t max_bytes; /* hard cap on len; appends beyond it fail */
};

/* max_bytes = 0 means the default cap of 1 GiB. */
void rp_buf_init(struct rp_buf *b, size_t max_bytes);
void rp_buf_cleanup(struct rp_buf *b);
void rp_buf_reset(struct rp_buf *b); /* len = 0, keeps memory */

/* Each returns 0, or RP_ENOMEM when allocation fails or max_bytes would be
 * exceeded (the buffer is then unchanged). */
int rp_buf_append(struct rp_buf *b, const void *p, size_t n);
int rp_buf_puts(struct rp_buf *b, const char *s);
int rp_buf_printf(struct rp_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int rp_buf_vprintf(struct rp_buf *b, const char *fmt, va_list ap);

/* Appends s[0..n) as a JSON string literal, quotes included. Bytes that are
 * not valid UTF-8 are written as \u00XX of the byte (lossless for ASCII,
 * readable for the rest). */
int rp_buf_json_str(struct rp_buf *b, const char *s, size_t n);

#endif
