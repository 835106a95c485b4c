/*
 * buf.c: capped growable buffers and JSON string escaping (see buf.h).
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp.h"

#define DEFAULT_MAX ((size_t)1 << 30)

void rp_buf_init(struct rp_buf *b, size_t max_bytes)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max_bytes = max_bytes ? max_bytes : DEFAULT_MAX;
}

void rp_buf_cleanup(struct rp_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void rp_buf_reset(struct rp_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Makes room for n more bytes plus a NUL. */
static int reserve(struct rp_buf *b, size_t n)
{
    if (n > b->max_bytes - b->len)
        return RP_ENOMEM;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return RP_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return RP_ENOMEM;
    b->data = p;
    b->cap = cap;
    return RP_OK;
}

int rp_buf_append(struct rp_buf *b, const void *p, size_t n)
{
    if (reserve(b, n))
        return RP_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return RP_OK;
}

int rp_buf_puts(struct rp_buf *b, const char *s)
{
    return rp_buf_append(b, s, strlen(s));
}

int rp_buf_vprintf(struct rp_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || reserve(b, (size_t)n))
        return RP_ENOMEM;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return RP_OK;
}

int rp_buf_printf(struct rp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = rp_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0) { len = 2; cp = s[0] & 0x1F; }
    else if ((s[0] & 0xF0) == 0xE0) { len = 3; cp = s[0] & 0x0F; }
    else if ((s[0] & 0xF8) == 0xF0) { len = 4; cp = s[0] & 0x07; }
    else return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

int rp_buf_json_str(struct rp_buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    int r = rp_buf_append(b, "\"", 1);
    size_t run = 0; /* start of the pending run of plain bytes */
    for (size_t i = 0; i < n && !r;) {
        unsigned char c = s[i];
        const char *esc = NULL;
        char tmp[8];
        size_t ul = 1;
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            esc = tmp;
        } else if (c >= 0x80) {
            ul = utf8_len(s + i, n - i);
            if (!ul) {
                snprintf(tmp, sizeof tmp, "\\u%04x", c);
                esc = tmp;
                ul = 1;
            }
        }
        if (esc) {
            r = rp_buf_append(b, s + run, i - run);
            if (!r)
                r = rp_buf_puts(b, esc);
            i += 1;
            run = i;
        } else {
            i += ul;
        }
    }
    if (!r)
        r = rp_buf_append(b, s + run, n - run);
    if (!r)
        r = rp_buf_append(b, "\"", 1);
    return r;
}
