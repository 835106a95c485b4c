/*
 * resp.c: the Redis protocol framer (see resp.h). resp_read is a byte-wise
 * state machine over the RESP grammar: a type byte, a header line parsed as
 * it passes (numbers are accumulated and checked digit by digit, so no line
 * is ever buffered), then for bulk strings a payload skipped in one step.
 * Open aggregates are a fixed stack of remaining-value counts; an attribute
 * is a frame whose completion does not count as a value of its parent.
 * Also the command helpers: splitting a framed command into argument views,
 * naming it as an endpoint, telling secret arguments, writing one.
 */
#include "proto/resp.h"

#include <string.h>

#include "common/rp.h"

enum {
    ST_TYPE,    /* the next byte is a type byte (or starts an inline line) */
    ST_LINE,    /* inside a header line of type ltype */
    ST_LF,      /* a line's CR was seen: LF must follow */
    ST_BULK,    /* bulk_rem payload bytes to skip */
    ST_BULK_CR, /* payload done: CR must follow */
    ST_BULK_LF, /* and then LF */
    ST_CHUNK,   /* streamed string: ';' of the next chunk must follow */
    ST_ERR,     /* a violation was seen; why says which */
};

/* fill modes of msg.first */
enum { FILL_NO, FILL_ALL, FILL_WORD, FILL_WORD_DONE };

static int fail(struct resp_reader *r, const char *why)
{
    r->state = ST_ERR;
    r->why = why;
    return -1;
}

static void reset_msg(struct resp_reader *r)
{
    memset(&r->msg, 0, sizeof r->msg);
    r->have_type = 0;
    r->flen = 0;
    r->fill = FILL_NO;
    r->depth = 0;
    r->in_chunks = 0;
    r->state = ST_TYPE;
}

void resp_reader_init(struct resp_reader *r, int from_client)
{
    memset(r, 0, sizeof *r);
    r->from_client = from_client ? 1 : 0;
    reset_msg(r);
}

static int is_agg(char c)
{
    return c == '*' || c == '%' || c == '~' || c == '>' || c == '|';
}

static int is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

static void fill_byte(struct resp_reader *r, uint8_t c)
{
    if (r->fill == FILL_WORD && is_blank(c)) {
        if (r->flen > 0)
            r->fill = FILL_WORD_DONE;
        return;
    }
    if ((r->fill == FILL_ALL || r->fill == FILL_WORD) &&
        r->flen < sizeof r->msg.first - 1)
        r->msg.first[r->flen++] = (char)c;
}

static void start_line(struct resp_reader *r, char type)
{
    r->ltype = type;
    r->state = ST_LINE;
    r->neg = 0;
    r->qmark = 0;
    r->acc = 0;
    r->ndig = 0;
    r->linelen = 0;
    r->dstate = 0;
    r->wlen = 0;
    r->nonblank = 0;
}

/* Ignores the blank command just read (client side): its bytes go to the
 * next message's skipped. */
static int skip_msg(struct resp_reader *r)
{
    uint64_t s = r->msg.skipped + r->msg.bytes;
    reset_msg(r);
    r->msg.skipped = s;
    return 0;
}

/* A value is complete: counts it in the open aggregates, closing those it
 * fills. 1 when that completes the message, else 0. */
static int value_done(struct resp_reader *r)
{
    r->fill = FILL_NO;
    r->state = ST_TYPE;
    while (r->depth > 0) {
        struct resp_frame *f = &r->stack[r->depth - 1];
        f->seen++;
        if (f->rem < 0)
            return 0; /* streamed: "." closes it */
        if (--f->rem > 0)
            return 0;
        r->depth--;
        if (f->type == '|')
            return 0; /* an attribute: what follows is the value */
    }
    return r->have_type;
}

static int on_type(struct resp_reader *r, uint8_t c)
{
    if (r->from_client) {
        if (r->depth == 0) {
            r->have_type = 1;
            if (c == '*') {
                r->msg.type = '*';
                start_line(r, '*');
                return 0;
            }
            r->msg.type = 'i';
            r->fill = FILL_WORD;
            start_line(r, 'i');
            r->state = ST_LINE;
            return -2; /* this byte is the line's first */
        }
        if (c != '$')
            return fail(r, "a command's element is not a bulk string");
        if (r->stack[0].seen == 0)
            r->fill = FILL_ALL;
        start_line(r, '$');
        return 0;
    }
    switch (c) {
    case '+': case '-': case ':': case '$': case '*': case '_': case ',':
    case '#': case '(': case '=': case '!': case '%': case '~': case '>':
    case '|':
        break;
    case '.':
        if (r->depth == 0 || r->stack[r->depth - 1].rem >= 0)
            return fail(r, "'.' outside a streamed aggregate");
        break;
    default:
        return fail(r, "unknown RESP type byte");
    }
    if (r->depth > 0 && c != '.' && c != '|') {
        const struct resp_frame *f = &r->stack[r->depth - 1];
        if (f->rem < 0 && f->seen >= RESP_MAX_ELEMS * (f->map ? 2 : 1))
            return fail(r, "streamed aggregate with more than RESP_MAX_ELEMS elements");
    }
    if (r->depth == 0 && c != '|') {
        r->have_type = 1;
        r->msg.type = (char)c;
        r->msg.push = c == '>';
        if (c == '+')
            r->fill = FILL_ALL;
        else if (c == '-' || c == '!')
            r->fill = FILL_WORD;
    } else if (r->depth == 1 && r->have_type && r->stack[0].seen == 0 &&
               (c == '+' || c == '$')) {
        r->fill = FILL_ALL; /* first element of the top aggregate */
    }
    start_line(r, (char)c);
    return 0;
}

/* One digit of a number or length line; max bounds the value (0: none). */
static int on_digit(struct resp_reader *r, uint8_t c, uint64_t max)
{
    if (c < '0' || c > '9')
        return fail(r, r->ltype == ':' || r->ltype == '('
                           ? "integer has a non-digit"
                           : "length has a non-digit");
    uint64_t d = (uint64_t)(c - '0');
    if (r->ndig == 1 && r->acc == 0)
        return fail(r, "number has a leading zero");
    r->ndig++;
    if (max == 0) {
        if (r->ndig == 1)
            r->acc = d;
        else
            r->acc = 1; /* only the leading-zero test looks at it */
        return 0;
    }
    if (r->acc > (max - d) / 10)
        return fail(r, r->ltype == ':' ? "integer out of range"
                   : is_agg(r->ltype) ? "aggregate has more than RESP_MAX_ELEMS elements"
                                      : "bulk string longer than RESP_MAX_BULK");
    r->acc = r->acc * 10 + d;
    return 0;
}

/* Doubles: [-+]digits[.digits][(e|E)[-+]digits], or inf/nan letters. */
static int on_double(struct resp_reader *r, uint8_t c)
{
    static const char bad[] = "double is malformed";
    uint8_t s = r->dstate;
    if (c >= '0' && c <= '9') {
        if (s <= 2)
            r->dstate = 2;
        else if (s == 3 || s == 4)
            r->dstate = 4;
        else if (s <= 7)
            r->dstate = 7;
        else
            return fail(r, bad);
    } else if (c == '.') {
        if (s != 2)
            return fail(r, bad);
        r->dstate = 3;
    } else if ((c == 'e' || c == 'E') && (s == 2 || s == 4)) {
        r->dstate = 5;
    } else if (c == '+' || c == '-') {
        if (s == 0)
            r->dstate = 1;
        else if (s == 5)
            r->dstate = 6;
        else
            return fail(r, bad);
    } else if (c >= 'a' && c <= 'z' && (s <= 1 || s == 8)) {
        if (r->wlen >= 3)
            return fail(r, bad);
        r->word[r->wlen++] = (char)c;
        r->dstate = 8;
    } else {
        return fail(r, bad);
    }
    return 0;
}

static int on_line(struct resp_reader *r, uint8_t c)
{
    char t = r->ltype;
    if (c == '\r') {
        r->state = ST_LF;
        return 0;
    }
    if (c == '\n') {
        if (t == 'i')
            return -3; /* a bare LF ends an inline line: the caller ends it */
        return fail(r, "line ends in a bare LF, not CRLF");
    }
    if (++r->linelen > RESP_MAX_LINE)
        return fail(r, "line longer than RESP_MAX_LINE");
    switch (t) {
    case '+':
    case '-':
        fill_byte(r, c);
        return 0;
    case 'i':
        if (!is_blank(c))
            r->nonblank = 1;
        fill_byte(r, c);
        return 0;
    case ':':
    case '(':
        if (c == '-' && r->linelen == 1) {
            r->neg = 1;
            return 0;
        }
        return on_digit(r, c, t == '(' ? 0
                       : r->neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX);
    case '_':
    case '.':
        return fail(r, "null or end line is not empty");
    case '#':
        if (r->linelen > 1 || (c != 't' && c != 'f'))
            return fail(r, "boolean is not 't' or 'f'");
        return 0;
    case ',':
        return on_double(r, c);
    default: /* lengths and counts: $ = ! ; * % ~ > | */
        if (r->linelen == 1 && c == '?' && !r->from_client &&
            (t == '$' || is_agg(t))) {
            r->qmark = 1;
            return 0;
        }
        if (r->qmark)
            return fail(r, "streamed length has bytes after '?'");
        if (r->linelen == 1 && c == '-' &&
            (t == '*' || (t == '$' && !r->from_client))) {
            r->neg = 1;
            return 0;
        }
        if (r->neg && (r->ndig > 0 || c != '1'))
            return fail(r, "negative length other than -1");
        return on_digit(r, c, is_agg(t) ? (uint64_t)RESP_MAX_ELEMS
                                        : (uint64_t)RESP_MAX_BULK);
    }
}

static int agg_header(struct resp_reader *r)
{
    char t = r->ltype;
    if (!r->qmark && r->ndig == 0)
        return fail(r, "aggregate count is empty");
    if (r->from_client && (r->neg || r->acc == 0))
        return skip_msg(r); /* Redis ignores "*0" and "*-1" */
    if (r->neg) {
        if (r->depth == 0)
            r->msg.nelem = -1;
        return value_done(r);
    }
    if (r->depth == 0 && t != '|')
        r->msg.nelem = r->qmark ? 0 : (int64_t)r->acc;
    if (!r->qmark && r->acc == 0)
        return t == '|' ? 0 : value_done(r);
    if (r->depth >= RESP_MAX_DEPTH)
        return fail(r, "aggregates nested deeper than RESP_MAX_DEPTH");
    struct resp_frame *f = &r->stack[r->depth++];
    f->type = t;
    f->map = t == '%' || t == '|';
    f->seen = 0;
    f->rem = r->qmark ? -1 : (int64_t)r->acc * (f->map ? 2 : 1);
    return 0;
}

static int streamed_end(struct resp_reader *r)
{
    struct resp_frame *f = &r->stack[r->depth - 1];
    if (f->map && f->seen % 2)
        return fail(r, "streamed map ends between a key and its value");
    if (r->depth == 1 && f->type != '|')
        r->msg.nelem = f->seen / (f->map ? 2 : 1);
    r->depth--;
    if (f->type == '|')
        return 0;
    return value_done(r);
}

static int bulk_header(struct resp_reader *r)
{
    if (r->qmark) {
        r->in_chunks = 1;
        r->bulk_total = 0;
        r->state = ST_CHUNK;
        return 0;
    }
    if (r->ndig == 0)
        return fail(r, "bulk length is empty");
    if (r->neg) {
        if (r->depth == 0)
            r->msg.nelem = -1;
        return value_done(r);
    }
    if (r->ltype == '=' && r->acc < 4)
        return fail(r, "verbatim string shorter than its 'xxx:' format");
    if (r->ltype == ';') {
        if (r->acc == 0) {
            r->in_chunks = 0;
            return value_done(r);
        }
        r->bulk_total += r->acc;
        if (r->bulk_total > RESP_MAX_BULK)
            return fail(r, "streamed string longer than RESP_MAX_BULK");
    }
    r->bulk_rem = r->acc;
    r->bulk_pos = 0;
    r->state = r->acc ? ST_BULK : ST_BULK_CR;
    return 0;
}

/* After a header line's LF. */
static int line_end(struct resp_reader *r)
{
    r->state = ST_TYPE;
    switch (r->ltype) {
    case 'i':
        if (!r->nonblank)
            return skip_msg(r);
        r->fill = FILL_NO;
        return 1;
    case '+':
    case '-':
    case '_':
        return value_done(r);
    case '#':
        if (r->linelen != 1)
            return fail(r, "boolean is not 't' or 'f'");
        return value_done(r);
    case ':':
    case '(':
        if (r->ndig == 0)
            return fail(r, "integer has no digits");
        return value_done(r);
    case ',':
        if (r->dstate == 8) {
            if (r->wlen != 3 || (memcmp(r->word, "inf", 3) &&
                                 memcmp(r->word, "nan", 3)))
                return fail(r, "double is malformed");
        } else if (r->dstate != 2 && r->dstate != 4 && r->dstate != 7) {
            return fail(r, "double is malformed");
        }
        return value_done(r);
    case '.':
        return streamed_end(r);
    case '$':
    case '=':
    case '!':
    case ';':
        return bulk_header(r);
    default:
        return agg_header(r);
    }
}

/* Payload bytes p[0..k) of the current bulk string or chunk. */
static int on_payload(struct resp_reader *r, const uint8_t *p, size_t k)
{
    if (r->ltype == '=' && r->bulk_pos <= 3 && r->bulk_pos + k > 3 &&
        p[3 - r->bulk_pos] != ':')
        return fail(r, "verbatim string has no 'xxx:' format");
    if (r->fill == FILL_ALL || r->fill == FILL_WORD)
        for (size_t j = 0; j < k && r->flen < sizeof r->msg.first - 1 &&
                           r->fill != FILL_WORD_DONE; j++)
            fill_byte(r, p[j]);
    r->bulk_pos += k;
    r->bulk_rem -= k;
    if (r->bulk_rem == 0)
        r->state = ST_BULK_CR;
    return 0;
}

long resp_read(struct resp_reader *r, const uint8_t *p, size_t n, int *done,
               struct resp_msg *m, const char **why)
{
    *done = 0;
    if (r->state == ST_ERR) {
        *why = r->why;
        return -1;
    }
    size_t i = 0;
    while (i < n) {
        int rc;
        if (r->state == ST_BULK) {
            size_t k = n - i;
            if (k > r->bulk_rem)
                k = (size_t)r->bulk_rem;
            rc = on_payload(r, p + i, k);
            i += k;
            r->msg.bytes += k;
            if (rc < 0)
                break;
            continue;
        }
        uint8_t c = p[i++];
        r->msg.bytes++;
        switch (r->state) {
        case ST_TYPE:
            rc = on_type(r, c);
            if (rc == -2)
                rc = on_line(r, c);
            if (rc == -3)
                rc = line_end(r);
            break;
        case ST_LINE:
            rc = on_line(r, c);
            if (rc == -3)
                rc = line_end(r);
            break;
        case ST_LF:
            rc = c == '\n' ? line_end(r) : fail(r, "CR not followed by LF");
            break;
        case ST_BULK_CR:
            rc = 0;
            if (c == '\r')
                r->state = ST_BULK_LF;
            else
                rc = fail(r, "bulk string not followed by CRLF");
            break;
        case ST_BULK_LF:
            if (c != '\n') {
                rc = fail(r, "bulk string not followed by CRLF");
            } else if (r->in_chunks) {
                r->state = ST_CHUNK;
                rc = 0;
            } else {
                rc = value_done(r);
            }
            break;
        case ST_CHUNK:
            rc = 0;
            if (c == ';')
                start_line(r, ';');
            else
                rc = fail(r, "streamed string chunk does not start with ';'");
            break;
        default:
            rc = fail(r, "reader in an unknown state");
            break;
        }
        if (rc < 0)
            break;
        if (rc == 1) {
            *m = r->msg;
            reset_msg(r);
            *done = 1;
            return (long)i;
        }
    }
    if (r->state == ST_ERR) {
        *why = r->why;
        return -1;
    }
    return (long)i;
}

/* ---- commands ---- */

/* Reads "<digits>\r\n" at msg[*i]; digits without a leading zero. */
static int split_num(const uint8_t *msg, size_t n, size_t *i, uint64_t max,
                     uint64_t *out)
{
    size_t j = *i;
    uint64_t v = 0;
    size_t nd = 0;
    while (j < n && msg[j] >= '0' && msg[j] <= '9') {
        if (nd == 1 && v == 0)
            return -1;
        v = v * 10 + (uint64_t)(msg[j] - '0');
        if (v > max)
            return -1;
        nd++;
        j++;
    }
    if (nd == 0 || j + 2 > n || msg[j] != '\r' || msg[j + 1] != '\n')
        return -1;
    *i = j + 2;
    *out = v;
    return 0;
}

int resp_split_command(const uint8_t *msg, size_t n, struct resp_arg *argv,
                       int max, int *argc)
{
    *argc = 0;
    if (n == 0)
        return -1;
    if (msg[0] == '*') {
        size_t i = 1;
        uint64_t count, len;
        if (split_num(msg, n, &i, (uint64_t)RESP_MAX_ELEMS, &count) ||
            count == 0)
            return -1;
        for (uint64_t k = 0; k < count; k++) {
            if (i >= n || msg[i] != '$')
                return -1;
            i++;
            if (split_num(msg, n, &i, RESP_MAX_BULK, &len) || len > n - i ||
                n - i - len < 2 || msg[i + len] != '\r' ||
                msg[i + len + 1] != '\n')
                return -1;
            if ((int64_t)k < max) {
                argv[k].p = msg + i;
                argv[k].n = (size_t)len;
            }
            i += (size_t)len + 2;
        }
        if (i != n)
            return -1;
        *argc = (int)count;
        return 0;
    }
    size_t end = n;
    if (msg[end - 1] == '\n')
        end--;
    int c = 0;
    for (size_t i = 0; i < end;) {
        while (i < end && is_blank(msg[i]))
            i++;
        if (i == end)
            break;
        size_t s = i;
        while (i < end && !is_blank(msg[i]))
            i++;
        if (c < max) {
            argv[c].p = msg + s;
            argv[c].n = i - s;
        }
        c++;
    }
    if (c == 0)
        return -1;
    *argc = c;
    return 0;
}

static uint8_t up(uint8_t c)
{
    return c >= 'a' && c <= 'z' ? (uint8_t)(c - 'a' + 'A') : c;
}

/* a equals s (upper case) ignoring case */
static int ieq(const struct resp_arg *a, const char *s)
{
    size_t l = strlen(s);
    if (a->n != l)
        return 0;
    for (size_t i = 0; i < l; i++)
        if (up(a->p[i]) != (uint8_t)s[i])
            return 0;
    return 1;
}

static void put(char *out, size_t cap, size_t *len, const uint8_t *p,
                size_t n, int upper)
{
    for (size_t i = 0; i < n && *len + 1 < cap; i++) {
        uint8_t c = p[i] ? p[i] : '?';
        out[(*len)++] = (char)(upper ? up(c) : c);
    }
    out[*len] = '\0';
}

void resp_command_name(const struct resp_arg *argv, int argc, char *name,
                       size_t name_cap, char *detail, size_t detail_cap)
{
    static const char *const containers[] = {
        "CONFIG", "CLIENT", "CLUSTER", "ACL", "OBJECT", "XINFO", "XGROUP",
        "MEMORY", "SCRIPT", "FUNCTION", "COMMAND", "MODULE", "SLOWLOG",
        "LATENCY", "PUBSUB", "DEBUG",
    };
    size_t nl = 0, dl = 0;
    if (name_cap)
        name[0] = '\0';
    if (detail_cap)
        detail[0] = '\0';
    if (argc < 1)
        return;
    if (name_cap)
        put(name, name_cap, &nl, argv[0].p, argv[0].n, 1);
    if (argc < 2)
        return;
    for (size_t k = 0; k < sizeof containers / sizeof containers[0]; k++) {
        if (ieq(&argv[0], containers[k])) {
            if (name_cap) {
                put(name, name_cap, &nl, (const uint8_t *)" ", 1, 0);
                put(name, name_cap, &nl, argv[1].p, argv[1].n, 1);
            }
            return;
        }
    }
    if (detail_cap && (ieq(&argv[0], "EVALSHA") ||
                       ieq(&argv[0], "EVALSHA_RO") ||
                       ieq(&argv[0], "FCALL") || ieq(&argv[0], "FCALL_RO")))
        put(detail, detail_cap, &dl, argv[1].p, argv[1].n, 0);
}

int resp_arg_is_secret(const struct resp_arg *argv, int argc, int i)
{
    if (argc < 1 || i < 1 || i >= argc)
        return 0;
    const struct resp_arg *cmd = &argv[0];
    if (ieq(cmd, "AUTH"))
        return 1;
    if (ieq(cmd, "HELLO")) {
        /* HELLO [protover [AUTH username password] [SETNAME name]] */
        for (int j = 1; j < argc;) {
            if (ieq(&argv[j], "AUTH")) {
                if (i == j + 1 || i == j + 2)
                    return 1;
                j += 3;
            } else if (ieq(&argv[j], "SETNAME")) {
                j += 2;
            } else {
                j++;
            }
        }
        return 0;
    }
    if (ieq(cmd, "MIGRATE")) {
        /* MIGRATE host port key db timeout [COPY] [REPLACE]
         * [AUTH password | AUTH2 username password] [KEYS key ...] */
        for (int j = 6; j < argc;) {
            if (ieq(&argv[j], "KEYS"))
                break;
            if (ieq(&argv[j], "AUTH")) {
                if (i == j + 1)
                    return 1;
                j += 2;
            } else if (ieq(&argv[j], "AUTH2")) {
                if (i == j + 1 || i == j + 2)
                    return 1;
                j += 3;
            } else {
                j++;
            }
        }
        return 0;
    }
    if (ieq(cmd, "CONFIG") && argc >= 2 && ieq(&argv[1], "SET")) {
        /* CONFIG SET parameter value [parameter value ...] */
        if (i < 3 || (i - 3) % 2)
            return 0;
        const struct resp_arg *param = &argv[i - 1];
        return ieq(param, "REQUIREPASS") || ieq(param, "MASTERAUTH") ||
               ieq(param, "MASTERUSER");
    }
    if (ieq(cmd, "ACL") && argc >= 2 && ieq(&argv[1], "SETUSER")) {
        /* ACL SETUSER username [rule ...] */
        if (i < 3 || argv[i].n == 0)
            return 0;
        uint8_t c = argv[i].p[0];
        return c == '>' || c == '<' || c == '#' || c == '!';
    }
    return 0;
}

int resp_write_command(struct rp_buf *out, const struct resp_arg *argv,
                       int argc)
{
    size_t old = out->len;
    if (rp_buf_printf(out, "*%d\r\n", argc))
        goto fail;
    for (int k = 0; k < argc; k++)
        if (rp_buf_printf(out, "$%zu\r\n", argv[k].n) ||
            rp_buf_append(out, argv[k].p, argv[k].n) ||
            rp_buf_append(out, "\r\n", 2))
            goto fail;
    return 0;
fail:
    out->len = old;
    if (out->data)
        out->data[old] = '\0';
    return RP_ENOMEM;
}
