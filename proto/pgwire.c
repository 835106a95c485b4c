/*
 * pgwire.c: the PostgreSQL protocol v3 framer, its field accessors and the
 * statement normaliser (see pgwire.h). The framer is a small state machine
 * per direction that gathers at most one 5- or 8-byte header, checks it
 * against the protocol (type byte for the direction, length bounds, fixed
 * lengths, request codes) and then only counts the body bytes off, so it is
 * incremental at any split without buffering. The accessors check the whole
 * layout of a message before returning views into it. The normaliser is a
 * two-pass tokenizer after PostgreSQL's own scanner (src/backend/parser/
 * scan.l): the first pass finds the highest $n already present, the second
 * writes the statement with each literal replaced by the next $k.
 */
#include "proto/pgwire.h"

#include <stdio.h>
#include <string.h>

/* What the next message of a stream is (struct pg_reader.phase). */
enum {
    PG_PH_DETECT = 1, /* client: untyped or typed, by its first byte */
    PG_PH_UNTYPED,    /* client: startup, SSLRequest, GSSENCRequest, cancel */
    PG_PH_TYPED,      /* type byte + length */
    PG_PH_ANSWER,     /* server: the one-byte answer to SSL/GSSENCRequest */
    PG_PH_CLOSED,     /* client: after a CancelRequest nothing may follow */
    PG_PH_DEAD,       /* after a violation */
};

#define PG_TYPED_HDR 5u
#define PG_UNTYPED_HDR 8u

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static int32_t be32s(const uint8_t *p)
{
    uint32_t u = be32(p);
    return u <= INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}

static int16_t be16s(const uint8_t *p)
{
    uint16_t u = (uint16_t)((unsigned)p[0] << 8 | p[1]);
    return u <= INT16_MAX ? (int16_t)u : (int16_t)(-(int)(uint16_t)~u - 1);
}

static int type_ok(int from_client, uint8_t t)
{
    const char *set = from_client ? "QPBDESHCXFpdcf"
                                  : "RSKZTDCENI123nstGHWdcAvV";
    return t != 0 && strchr(set, t) != NULL;
}

/* NULL when a typed message's length field len is acceptable for type t. */
static const char *typed_len_check(int from_client, uint8_t t, uint32_t len)
{
    if (len < 4)
        return "message length below 4";
    if (len > PG_MAX_MSG)
        return "message length above PG_MAX_MSG";
    if (from_client) {
        if (strchr("SHXc", t) && len != 4)
            return "Sync, Flush, Terminate or CopyDone with a body";
        return NULL;
    }
    switch (t) {
    case 'Z':
        return len == 5 ? NULL : "ReadyForQuery of another length than 5";
    case '1': case '2': case '3': case 'n': case 's': case 'I': case 'c':
        return len == 4 ? NULL : "a bodiless server message with a body";
    case 'K':
        return len >= 12 && len <= 8 + PG_CANCEL_KEY_MAX
                   ? NULL : "BackendKeyData of an impossible length";
    case 'R':
        return len >= 8 ? NULL : "Authentication message without a code";
    default:
        return NULL;
    }
}

/* NULL when an untyped message of length len and code is acceptable. */
static const char *untyped_check(uint32_t len, uint32_t code)
{
    if (code == PG_CODE_SSL || code == PG_CODE_GSSENC)
        return len == 8 ? NULL : "SSLRequest or GSSENCRequest not of 8 bytes";
    if (code == PG_CODE_CANCEL)
        return len >= 16 && len <= 12 + PG_CANCEL_KEY_MAX
                   ? NULL : "CancelRequest of an impossible length";
    if (code >> 16 == 3)
        return len >= 8 && len <= PG_MAX_STARTUP
                   ? NULL : "startup message of an impossible length";
    return "untyped message with an unknown code (not protocol 3)";
}

void pg_reader_init(struct pg_reader *r, int from_client)
{
    memset(r, 0, sizeof *r);
    r->from_client = from_client ? 1 : 0;
    r->phase = from_client ? PG_PH_DETECT : PG_PH_TYPED;
}

static void set_phase(struct pg_reader *r, uint8_t ph)
{
    if (r->phase == PG_PH_DEAD)
        return;
    if (r->in_body || r->hlen > 0)
        r->next = ph;
    else
        r->phase = ph;
}

void pg_reader_expect_untyped(struct pg_reader *r)
{
    if (r->from_client)
        set_phase(r, PG_PH_UNTYPED);
}

void pg_reader_expect_answer(struct pg_reader *r)
{
    if (!r->from_client)
        set_phase(r, PG_PH_ANSWER);
}

static long die(struct pg_reader *r, const char *why, const char **out)
{
    r->phase = PG_PH_DEAD;
    r->why = why;
    *out = why;
    return -1;
}

/* The current message is complete: hands it out, picks the next phase. */
static void finish(struct pg_reader *r, struct pg_msg *m)
{
    *m = r->cur;
    r->in_body = 0;
    r->hlen = 0;
    r->left = 0;
    r->phase = PG_PH_TYPED;
    if (r->from_client && m->type == 0) {
        if (m->code == PG_CODE_SSL || m->code == PG_CODE_GSSENC)
            r->phase = PG_PH_DETECT;
        else if (m->code == PG_CODE_CANCEL)
            r->phase = PG_PH_CLOSED;
    }
    if (r->next) {
        r->phase = r->next;
        r->next = 0;
    }
}

long pg_read(struct pg_reader *r, const uint8_t *p, size_t n, int *done,
             struct pg_msg *m, const char **why)
{
    size_t i = 0;
    *done = 0;
    if (r->phase == PG_PH_DEAD) {
        *why = r->why;
        return -1;
    }
    while (i < n) {
        if (r->in_body) {
            size_t take = n - i;
            if ((uint64_t)take > r->left)
                take = (size_t)r->left;
            i += take;
            r->left -= take;
            if (r->left > 0)
                break;
            finish(r, m);
            *done = 1;
            return (long)i;
        }
        switch (r->phase) {
        case PG_PH_DETECT:
            r->phase = p[i] == 0 ? PG_PH_UNTYPED : PG_PH_TYPED;
            continue;
        case PG_PH_CLOSED:
            return die(r, "bytes after a CancelRequest", why);
        case PG_PH_ANSWER:
            if (p[i] == 'S' || p[i] == 'N' || p[i] == 'G') {
                r->cur = (struct pg_msg){.answer = (char)p[i], .bytes = 1};
                i++;
                finish(r, m);
                *done = 1;
                return (long)i;
            }
            if (p[i] != 'E')
                return die(r, "answer to SSLRequest/GSSENCRequest not S, "
                              "N, G or an ErrorResponse", why);
            r->phase = PG_PH_TYPED;
            continue;
        case PG_PH_TYPED:
            if (r->hlen == 0 && !type_ok(r->from_client, p[i]))
                return die(r, r->from_client
                                  ? "unknown client message type"
                                  : "unknown server message type", why);
            while (i < n && r->hlen < PG_TYPED_HDR)
                r->hdr[r->hlen++] = p[i++];
            if (r->hlen == PG_TYPED_HDR) {
                uint32_t len = be32(r->hdr + 1);
                const char *bad = typed_len_check(r->from_client, r->hdr[0],
                                                  len);
                if (bad)
                    return die(r, bad, why);
                r->cur = (struct pg_msg){.type = (char)r->hdr[0],
                                         .bytes = (uint64_t)len + 1};
                r->left = len - 4;
                r->in_body = 1;
            }
            break;
        case PG_PH_UNTYPED:
            while (i < n && r->hlen < PG_UNTYPED_HDR)
                r->hdr[r->hlen++] = p[i++];
            if (r->hlen == PG_UNTYPED_HDR) {
                uint32_t len = be32(r->hdr), code = be32(r->hdr + 4);
                const char *bad = untyped_check(len, code);
                if (bad)
                    return die(r, bad, why);
                r->cur = (struct pg_msg){.code = code, .bytes = len};
                r->left = len - PG_UNTYPED_HDR;
                r->in_body = 1;
            }
            break;
        default:
            return die(r, "reader not initialised", why);
        }
    }
    /* a message whose header completed it exactly at the end of the run */
    if (r->in_body && r->left == 0) {
        finish(r, m);
        *done = 1;
    }
    return (long)i;
}

/* ---- accessors ---- */

/* The body of a typed message of type t that is exactly msg[0..n). */
static int typed_body(const uint8_t *msg, size_t n, char t,
                      const uint8_t **body, size_t *blen)
{
    if (!msg || n < 5 || msg[0] != (uint8_t)t)
        return -1;
    if ((uint64_t)be32(msg + 1) + 1 != (uint64_t)n)
        return -1;
    *body = msg + 5;
    *blen = n - 5;
    return 0;
}

/* The NUL-terminated string at b[*off..len): its start and length, *off
 * moved past its NUL. NULL when it has no NUL inside b. */
static const char *cstr(const uint8_t *b, size_t len, size_t *off,
                        size_t *slen)
{
    if (*off >= len)
        return NULL;
    const uint8_t *z = memchr(b + *off, 0, len - *off);
    if (!z)
        return NULL;
    const char *s = (const char *)b + *off;
    *slen = (size_t)(z - (b + *off));
    *off = (size_t)(z - b) + 1;
    return s;
}

int pg_msg_query(const uint8_t *msg, size_t n, const char **sql, size_t *len)
{
    const uint8_t *b;
    size_t bl, off = 0, sl;
    if (typed_body(msg, n, 'Q', &b, &bl))
        return -1;
    const char *s = cstr(b, bl, &off, &sl);
    if (!s || off != bl)
        return -1;
    *sql = s;
    *len = sl;
    return 0;
}

int pg_msg_parse(const uint8_t *msg, size_t n, const char **stmt,
                 const char **sql, size_t *len)
{
    const uint8_t *b;
    size_t bl, off = 0, nl, sl;
    if (typed_body(msg, n, 'P', &b, &bl))
        return -1;
    const char *name = cstr(b, bl, &off, &nl);
    const char *s = name ? cstr(b, bl, &off, &sl) : NULL;
    if (!s || bl - off < 2)
        return -1;
    int np = be16s(b + off);
    off += 2;
    if (np < 0 || bl - off != (size_t)np * 4)
        return -1;
    *stmt = name;
    *sql = s;
    *len = sl;
    return 0;
}

int pg_msg_bind(const uint8_t *msg, size_t n, const char **portal,
                const char **stmt)
{
    const uint8_t *b;
    size_t bl, off = 0, l;
    if (typed_body(msg, n, 'B', &b, &bl))
        return -1;
    const char *po = cstr(b, bl, &off, &l);
    const char *st = po ? cstr(b, bl, &off, &l) : NULL;
    if (!st || bl - off < 2)
        return -1;
    int nfmt = be16s(b + off);
    off += 2;
    if (nfmt < 0 || bl - off < (size_t)nfmt * 2)
        return -1;
    off += (size_t)nfmt * 2;
    if (bl - off < 2)
        return -1;
    int np = be16s(b + off);
    off += 2;
    /* the server's rule: no format codes, one for all, or one each */
    if (np < 0 || (nfmt > 1 && nfmt != np))
        return -1;
    for (int i = 0; i < np; i++) {
        if (bl - off < 4)
            return -1;
        int32_t pl = be32s(b + off);
        off += 4;
        if (pl == -1)
            continue;
        if (pl < 0 || bl - off < (size_t)pl)
            return -1;
        off += (size_t)pl;
    }
    if (bl - off < 2)
        return -1;
    int nres = be16s(b + off);
    off += 2;
    if (nres < 0 || bl - off != (size_t)nres * 2)
        return -1;
    *portal = po;
    *stmt = st;
    return 0;
}

int pg_msg_error(const uint8_t *msg, size_t n, char sqlstate[6],
                 const char **text, size_t *len)
{
    const uint8_t *b;
    size_t bl, off = 0;
    if (typed_body(msg, n, 'E', &b, &bl) && typed_body(msg, n, 'N', &b, &bl))
        return -1;
    char code[6] = "";
    const char *m = NULL;
    size_t ml = 0;
    for (;;) {
        if (off >= bl)
            return -1;
        uint8_t f = b[off++];
        if (f == 0)
            break;
        size_t l;
        const char *v = cstr(b, bl, &off, &l);
        if (!v)
            return -1;
        if (f == 'C') {
            if (l != 5)
                return -1;
            memcpy(code, v, 5);
            code[5] = 0;
        } else if (f == 'M' && !m) {
            m = v;
            ml = l;
        }
    }
    if (off != bl)
        return -1;
    if (!m)
        m = (const char *)b + bl - 1; /* the final NUL: "" */
    memcpy(sqlstate, code, 6);
    *text = m;
    *len = ml;
    return 0;
}

int pg_msg_command_tag(const uint8_t *msg, size_t n, const char **tag,
                       size_t *len)
{
    const uint8_t *b;
    size_t bl, off = 0, l;
    if (typed_body(msg, n, 'C', &b, &bl))
        return -1;
    const char *t = cstr(b, bl, &off, &l);
    if (!t || off != bl)
        return -1;
    *tag = t;
    *len = l;
    return 0;
}

int pg_msg_startup_param(const uint8_t *msg, size_t n, const char *name,
                         const char **val)
{
    if (!msg || !name || n < 9 || be32(msg) != n || be32(msg + 4) >> 16 != 3)
        return -1;
    const char *found = NULL;
    size_t off = 8, l;
    for (;;) {
        if (off >= n)
            return -1;
        if (msg[off] == 0) {
            off++;
            break;
        }
        const char *k = cstr(msg, n, &off, &l);
        const char *v = k ? cstr(msg, n, &off, &l) : NULL;
        if (!v)
            return -1;
        if (!found && strcmp(k, name) == 0)
            found = v;
    }
    if (off != n || !found)
        return -1;
    *val = found;
    return 0;
}

int pg_msg_auth(const uint8_t *msg, size_t n, uint32_t *code,
                const uint8_t **data, size_t *len)
{
    const uint8_t *b;
    size_t bl;
    if (typed_body(msg, n, 'R', &b, &bl) || bl < 4)
        return -1;
    uint32_t c = be32(b);
    size_t dl = bl - 4;
    /* the codes whose data the protocol fixes */
    if ((c == 0 || c == 3) && dl != 0)
        return -1;
    if (c == 5 && dl != 4)
        return -1;
    *code = c;
    *data = b + 4;
    *len = dl;
    return 0;
}

int pg_msg_ready(const uint8_t *msg, size_t n, char *txstatus)
{
    const uint8_t *b;
    size_t bl;
    if (typed_body(msg, n, 'Z', &b, &bl) || bl != 1)
        return -1;
    if (b[0] != 'I' && b[0] != 'T' && b[0] != 'E')
        return -1;
    *txstatus = (char)b[0];
    return 0;
}

/* ---- normalisation ---- */

/* Token kinds; the ones that matter for minus folding are told apart. */
enum {
    TK_END,    /* no more input */
    TK_SPACE,  /* white space and comments */
    TK_WORD,   /* identifier or keyword, copied */
    TK_QIDENT, /* "quoted identifier" or U&"...", copied */
    TK_PARAM,  /* $n, copied */
    TK_LIT,    /* a literal: written as $k */
    TK_OP,     /* operator, copied */
    TK_OPEN,   /* ( */
    TK_COMMA,  /* , */
    TK_SEMI,   /* ; */
    TK_PUNCT,  /* any other byte, copied */
};

struct lex {
    const char *s;
    size_t n;
    size_t i;  /* next byte */
    int prev;  /* kind of the previous token that is not TK_SPACE */
};

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_ident_start(unsigned char c)
{
    return is_alpha(c) || c == '_' || c >= 0x80;
}

static int is_ident_cont(unsigned char c)
{
    return is_ident_start(c) || is_digit(c) || c == '$';
}

static int is_op_char(unsigned char c)
{
    return c != 0 && strchr("~!@#^&|`?+-*/%<>=", c) != NULL;
}

static unsigned char at(const struct lex *lx, size_t i)
{
    return i < lx->n ? (unsigned char)lx->s[i] : 0;
}

/* The end of the comment starting at i, or i when there is none. */
static size_t comment_end(const struct lex *lx, size_t i)
{
    if (at(lx, i) == '-' && at(lx, i + 1) == '-') {
        i += 2;
        while (i < lx->n && lx->s[i] != '\n' && lx->s[i] != '\r')
            i++;
        return i;
    }
    if (at(lx, i) == '/' && at(lx, i + 1) == '*') {
        size_t depth = 1;
        i += 2;
        while (i < lx->n && depth > 0) {
            if (at(lx, i) == '/' && at(lx, i + 1) == '*') {
                depth++;
                i += 2;
            } else if (at(lx, i) == '*' && at(lx, i + 1) == '/') {
                depth--;
                i += 2;
            } else {
                i++;
            }
        }
        return i;
    }
    return i;
}

static size_t space_end(const struct lex *lx, size_t i)
{
    for (;;) {
        if (i < lx->n && is_space((unsigned char)lx->s[i])) {
            i++;
            continue;
        }
        size_t j = comment_end(lx, i);
        if (j == i)
            return i;
        i = j;
    }
}

/* After a closing quote at i-1: the index of the quote that continues the
 * string (white space holding a newline, then a quote, as scan.l's
 * quotecontinue), or 0. */
static size_t continuation(const struct lex *lx, size_t i)
{
    int nl = 0;
    while (i < lx->n) {
        unsigned char c = at(lx, i);
        if (c == ' ' || c == '\t' || c == '\f' || c == '\v') {
            i++;
        } else if (c == '\n' || c == '\r') {
            nl = 1;
            i++;
        } else if (c == '-' && at(lx, i + 1) == '-') {
            i = comment_end(lx, i);
        } else if (c == '\'' && nl) {
            return i;
        } else {
            return 0;
        }
    }
    return 0;
}

/* The end of the quoted string whose opening quote is at i ('' doubles a
 * quote; with esc a backslash escapes the next byte), continuations
 * included. */
static size_t string_end(const struct lex *lx, size_t i, int esc)
{
    for (;;) {
        i++;
        for (;;) {
            if (i >= lx->n)
                return lx->n;
            unsigned char c = at(lx, i);
            if (esc && c == '\\') {
                i += 2;
            } else if (c == '\'') {
                if (at(lx, i + 1) == '\'') {
                    i += 2;
                    continue;
                }
                i++;
                break;
            } else {
                i++;
            }
        }
        size_t j = continuation(lx, i);
        if (!j)
            return i;
        i = j;
    }
}

/* The end of the "quoted identifier" whose opening quote is at i. */
static size_t qident_end(const struct lex *lx, size_t i)
{
    i++;
    while (i < lx->n) {
        if (lx->s[i] == '"') {
            if (at(lx, i + 1) != '"')
                return i + 1;
            i++;
        }
        i++;
    }
    return lx->n;
}

/* After a U& string or identifier ending at i: the end of a following
 * UESCAPE 'c' clause, or i. */
static size_t uescape_end(const struct lex *lx, size_t i)
{
    static const char kw[] = "uescape";
    size_t j = space_end(lx, i);
    if (lx->n - j < sizeof kw - 1)
        return i;
    for (size_t k = 0; k < sizeof kw - 1; k++) {
        unsigned char c = at(lx, j + k);
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c != (unsigned char)kw[k])
            return i;
    }
    j += sizeof kw - 1;
    if (j < lx->n && is_ident_cont(at(lx, j)))
        return i;
    j = space_end(lx, j);
    if (at(lx, j) != '\'')
        return i;
    return string_end(lx, j, 0);
}

/* The end of the number starting at i (a digit, or '.' and a digit). */
static size_t number_end(const struct lex *lx, size_t i)
{
    unsigned char c1 = at(lx, i + 1);
    if (at(lx, i) == '0' && (c1 == 'x' || c1 == 'X' || c1 == 'o' ||
                             c1 == 'O' || c1 == 'b' || c1 == 'B')) {
        i += 2;
    } else {
        while (is_digit(at(lx, i)) || at(lx, i) == '_')
            i++;
        if (at(lx, i) == '.' && at(lx, i + 1) != '.') {
            i++;
            while (is_digit(at(lx, i)) || at(lx, i) == '_')
                i++;
        }
        unsigned char e = at(lx, i);
        if (e == 'e' || e == 'E') {
            size_t j = i + 1;
            if (at(lx, j) == '+' || at(lx, j) == '-')
                j++;
            if (is_digit(at(lx, j))) {
                i = j;
                while (is_digit(at(lx, i)) || at(lx, i) == '_')
                    i++;
            }
        }
    }
    /* hex, octal, binary digits; and trailing junk, which PostgreSQL
     * rejects, kept in the literal */
    while (i < lx->n && is_ident_cont(at(lx, i)) && at(lx, i) != '$')
        i++;
    return i;
}

static int number_start(const struct lex *lx, size_t i)
{
    return is_digit(at(lx, i)) || (at(lx, i) == '.' && is_digit(at(lx, i + 1)));
}

/* Longest operator scanned at once: PostgreSQL refuses operators of
 * NAMEDATALEN (64) characters or more, and the cap keeps a long run of
 * operator characters (each split off one at a time below) linear. */
#define PG_OP_MAX 64

/* The length of the operator at i, split as scan.l splits it: it stops
 * before a comment start, and a multi-character operator ends in + or -
 * only when it holds one of ~ ! @ # % ^ & | ` ?. */
static size_t op_len(const struct lex *lx, size_t i)
{
    size_t j = i;
    while (j < lx->n && j - i < PG_OP_MAX && is_op_char(at(lx, j))) {
        if (j > i && ((at(lx, j) == '-' && at(lx, j + 1) == '-') ||
                      (at(lx, j) == '/' && at(lx, j + 1) == '*')))
            break;
        j++;
    }
    size_t len = j - i;
    unsigned char last = at(lx, i + len - 1);
    if (len > 1 && (last == '+' || last == '-')) {
        int special = 0;
        for (size_t k = 0; k + 1 < len; k++)
            if (strchr("~!@#^&|`?%", lx->s[i + k]))
                special = 1;
        if (!special)
            while (len > 1 && (at(lx, i + len - 1) == '+' ||
                               at(lx, i + len - 1) == '-'))
                len--;
    }
    return len;
}

/* The next token: its kind, and its bytes s[*a..*b). */
static int lex_next(struct lex *lx, size_t *a, size_t *b)
{
    size_t i = lx->i, e;
    int kind;
    *a = i;
    if (i >= lx->n)
        return TK_END;
    unsigned char c = at(lx, i), c1 = at(lx, i + 1);
    if (is_space(c) || comment_end(lx, i) != i) {
        lx->i = *b = space_end(lx, i);
        return TK_SPACE; /* prev stays */
    }
    if (c == '\'') {
        kind = TK_LIT;
        e = string_end(lx, i, 0);
    } else if (c == '"') {
        kind = TK_QIDENT;
        e = qident_end(lx, i);
    } else if (c == '$' && is_digit(c1)) {
        kind = TK_PARAM;
        e = i + 1;
        while (is_digit(at(lx, e)))
            e++;
    } else if (c == '$') {
        /* $tag$ with tag empty or [A-Za-z\200-\377_][A-Za-z\200-\377_0-9]* */
        size_t j = i + 1;
        if (is_ident_start(at(lx, j)))
            while (j < lx->n && is_ident_cont(at(lx, j)) && at(lx, j) != '$')
                j++;
        if (at(lx, j) == '$') {
            size_t tag = j + 1 - i;
            const char *close = memmem(lx->s + j + 1, lx->n - (j + 1),
                                       lx->s + i, tag);
            kind = TK_LIT;
            e = close ? (size_t)(close - lx->s) + tag : lx->n;
        } else {
            kind = TK_PUNCT;
            e = i + 1;
        }
    } else if (number_start(lx, i)) {
        kind = TK_LIT;
        e = number_end(lx, i);
    } else if (is_ident_start(c)) {
        if ((c == 'e' || c == 'E') && c1 == '\'') {
            kind = TK_LIT;
            e = string_end(lx, i + 1, 1);
        } else if (strchr("bBxXnN", c) && c1 == '\'') {
            kind = TK_LIT;
            e = string_end(lx, i + 1, 0);
        } else if ((c == 'u' || c == 'U') && c1 == '&' &&
                   at(lx, i + 2) == '\'') {
            kind = TK_LIT;
            e = uescape_end(lx, string_end(lx, i + 2, 0));
        } else if ((c == 'u' || c == 'U') && c1 == '&' &&
                   at(lx, i + 2) == '"') {
            kind = TK_QIDENT;
            e = uescape_end(lx, qident_end(lx, i + 2));
        } else {
            kind = TK_WORD;
            e = i + 1;
            while (e < lx->n && is_ident_cont(at(lx, e)))
                e++;
        }
    } else if (is_op_char(c)) {
        size_t len = op_len(lx, i);
        if (len == 1 && c == '-' && number_start(lx, i + 1) &&
            (lx->prev == TK_END || lx->prev == TK_OP ||
             lx->prev == TK_OPEN || lx->prev == TK_COMMA)) {
            kind = TK_LIT;
            e = number_end(lx, i + 1);
        } else {
            kind = TK_OP;
            e = i + len;
        }
    } else {
        kind = c == '(' ? TK_OPEN : c == ',' ? TK_COMMA
             : c == ';' ? TK_SEMI : TK_PUNCT;
        e = i + 1;
    }
    lx->i = *b = e;
    lx->prev = kind;
    return kind;
}

/* The output: bounded, NUL-terminated at the end. */
struct norm_out {
    char *p;
    size_t cap;  /* bytes of p, NUL included */
    size_t len;  /* bytes written */
    size_t keep; /* len after the last token that is not ';' */
    int full;    /* something did not fit: nothing more is written */
};

static void put(struct norm_out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && !o->full; i++) {
        if (o->len + 1 >= o->cap) {
            o->full = 1;
            /* cut inside a UTF-8 sequence: drop its first bytes too */
            if (((unsigned char)s[i] & 0xc0) == 0x80) {
                size_t back = 0;
                while (o->len > 0 && back < 3 &&
                       ((unsigned char)o->p[o->len - 1] & 0xc0) == 0x80) {
                    o->len--;
                    back++;
                }
                if (o->len > 0 && (unsigned char)o->p[o->len - 1] >= 0xc0)
                    o->len--;
            }
            return;
        }
        o->p[o->len++] = s[i];
    }
}

static uint64_t param_value(const char *s, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > 1000000000u)
            return 1000000000u; /* beyond any real statement: saturate */
    }
    return v;
}

size_t pg_normalize(const char *sql, size_t n, char *out, size_t cap)
{
    if (!out || cap == 0)
        return 0;
    out[0] = 0;
    if (!sql)
        return 0;
    n = strnlen(sql, n);
    struct lex lx = {sql, n, 0, TK_END};
    size_t a, b;
    int k;
    uint64_t next = 0;
    while ((k = lex_next(&lx, &a, &b)) != TK_END)
        if (k == TK_PARAM) {
            uint64_t v = param_value(sql + a + 1, b - a - 1);
            if (v > next)
                next = v;
        }
    lx = (struct lex){sql, n, 0, TK_END};
    struct norm_out o = {out, cap, 0, 0, 0};
    int pending = 0, any = 0;
    while (!o.full && (k = lex_next(&lx, &a, &b)) != TK_END) {
        if (k == TK_SPACE) {
            pending = any;
            continue;
        }
        if (pending)
            put(&o, " ", 1);
        pending = 0;
        if (k == TK_LIT) {
            char num[24];
            int l = snprintf(num, sizeof num, "$%llu",
                             (unsigned long long)++next);
            if (o.len + (size_t)l + 1 > o.cap)
                o.full = 1; /* a $k goes whole or not at all */
            else
                put(&o, num, (size_t)l);
        } else {
            put(&o, sql + a, b - a);
        }
        any = 1;
        if (k != TK_SEMI && !o.full)
            o.keep = o.len;
    }
    if (!o.full)
        o.len = o.keep;
    /* cut short: what was written of a trailing "; ;" goes too */
    while (o.len > 0 && (out[o.len - 1] == ' ' || (o.full &&
                                                   out[o.len - 1] == ';')))
        o.len--;
    out[o.len] = 0;
    return o.len;
}
