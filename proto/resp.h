/*
 * resp.h: a strict, bounded framer for the Redis protocol (RESP2 and
 * RESP3), fed byte runs in order as they come off one direction of a TCP
 * stream, as http_parse is. It allocates nothing and keeps no bytes: it
 * says where each message ends and what kind it is; the caller keeps the
 * bytes it wants. Client messages are arrays of bulk strings or inline
 * commands; server messages are any RESP2/RESP3 reply, a RESP3 attribute
 * ('|') being part of the reply that follows it, a push ('>') a message of
 * its own (marked push). Limits: RESP_MAX_DEPTH nesting, RESP_MAX_LINE
 * bytes for a line (simple strings, errors, numbers, inline commands),
 * RESP_MAX_BULK for a bulk string, RESP_MAX_ELEMS elements per aggregate.
 *
 * Supported as well: RESP3 streamed strings ("$?" then ";len" chunks ended
 * by ";0") and streamed aggregates ("*?", "%?", "~?", ">?", "|?" ended by
 * "."), from the server only. Strictness: lengths and counts are digits
 * without a leading zero ("-1" only for a null '$' or '*', '?' only for a
 * streamed one), integers fit int64_t, doubles are [-+]digits[.digits]
 * [e[-+]digits] or inf/-inf/nan, booleans 't' or 'f', '_' and '.' lines
 * empty, verbatim strings ('=') carry "xxx:" first, every line ends in
 * CRLF (inline commands: CRLF or a bare LF; a CR elsewhere in them is an
 * error). A count over RESP_MAX_ELEMS (maps: pairs) is refused as soon as
 * its digits say so, before any element. As Redis does, a client's blank
 * inline line (nothing but blanks: space, tab, VT, FF, then CRLF or LF),
 * "*0" and "*-1" are consumed and ignored: not messages, their bytes are
 * counted in the next message's skipped. The reader buffers no line (it
 * parses numbers digit by digit) and is under 1 KiB (960 bytes on x86-64).
 */
#ifndef RP_PROTO_RESP_H
#define RP_PROTO_RESP_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define RESP_MAX_DEPTH 32
#define RESP_MAX_LINE 65536
#define RESP_MAX_BULK (512ull << 20)
#define RESP_MAX_ELEMS (1ll << 24)

/* What one complete message is. */
struct resp_msg {
    char type;        /* the top-level type byte ('*', '+', '-', ':', '$',
                         '%', '~', '>', '_', ',', '#', '(', '=', '!'), or
                         'i' for an inline command (client) */
    int push;         /* 1 for a RESP3 push ('>') */
    int64_t nelem;    /* aggregates: top-level elements (maps: pairs);
                         -1 for a null array/bulk; 0 otherwise */
    char first[64];   /* NUL-terminated, cut to 63 bytes: for '+' the line;
                         for '-' and '!' the first word (the error code,
                         "WRONGTYPE", "ERR"); for an aggregate whose first
                         element is a simple or bulk string, that string;
                         for an inline command its first word; else "" */
    uint64_t bytes;   /* bytes of the whole message, attributes included */
    uint64_t skipped; /* bytes of ignored blank commands (client side, see
                         above) consumed just before this message; they are
                         not in bytes */
};

/* One open aggregate of the reader (private). */
struct resp_frame {
    int64_t rem;      /* values still to come; -1 when streamed */
    int64_t seen;     /* values completed so far (maps: keys + values) */
    char type;        /* '*', '%', '~', '>' or '|' */
    uint8_t map;      /* 1 for '%' and '|': values come in pairs */
};

/* Reader state for one direction; caller-allocated, opaque fields. */
struct resp_reader {
    /* private: filled by resp_reader_init, changed only by resp_read */
    int from_client;  /* 1: commands; 0: replies */
    int state;        /* where in the grammar the next byte falls */
    int depth;        /* open aggregates in stack */
    struct resp_frame stack[RESP_MAX_DEPTH];
    char ltype;       /* type byte of the line being read ('i' inline) */
    uint8_t neg;      /* line: a leading '-' was seen */
    uint8_t qmark;    /* line: "?" (streamed) was seen */
    uint8_t fill;     /* first[] filling: 0 no, 1 whole, 2 first word,
                         3 the first word is complete */
    uint8_t in_chunks;/* 1 inside a streamed string ("$?") */
    uint8_t dstate;   /* double grammar position */
    uint8_t nonblank; /* inline: a non-blank byte was seen */
    char word[4];     /* double: "inf"/"nan" letters */
    uint8_t wlen;     /* letters in word */
    uint64_t acc;     /* line: digits so far as a number */
    uint32_t ndig;    /* line: digits so far */
    uint32_t linelen; /* line: bytes so far, CR excluded */
    uint32_t flen;    /* bytes in msg.first */
    uint64_t bulk_rem;   /* payload bytes still to come */
    uint64_t bulk_pos;   /* payload bytes seen of this bulk/chunk */
    uint64_t bulk_total; /* payload bytes of a streamed string so far */
    int have_type;    /* msg.type is set (a top-level attribute is not) */
    struct resp_msg msg; /* the message being read */
    const char *why;  /* the violation, once state is the error state */
};

/* Prepares r for a stream from the client (inline commands allowed, only
 * arrays of bulk strings otherwise) or from the server. */
void resp_reader_init(struct resp_reader *r, int from_client);

/* Reads p[0..n). Returns the bytes consumed (0..n) and sets *done: 1 when
 * those bytes completed a message (then *m is filled and the reader is
 * ready for the next message; call again with the rest), 0 when all n
 * were consumed and the message goes on. The message is the last
 * m->bytes bytes consumed up to the returned offset (begun, maybe, in
 * earlier runs), after m->skipped ignored ones. Returns -1 on a protocol
 * violation or a limit exceeded, with *why a static description; the
 * stream cannot be framed after that. */
long resp_read(struct resp_reader *r, const uint8_t *p, size_t n, int *done,
               struct resp_msg *m, const char **why);

/* One argument of a command: a view into the message. */
struct resp_arg {
    const uint8_t *p;
    size_t n;
};

/* Splits one complete client message msg[0..n) (as framed by resp_read)
 * into its arguments: the first max are stored in argv, *argc gets how
 * many there are. Returns 0, or -1 when msg is not a command (not an array
 * of bulk strings or an inline command). Views into msg. An inline command
 * is split at blanks (space, tab, CR, LF, VT, FF); quotes are not interpreted
 * (Redis's sdssplitargs would unquote "a b" into one argument). */
int resp_split_command(const uint8_t *msg, size_t n, struct resp_arg *argv,
                       int max, int *argc);

/* The endpoint name of a command: its name upper-cased, with the
 * sub-command for container commands ("CONFIG GET", "CLIENT SETNAME",
 * "XINFO STREAM", "SCRIPT LOAD", ...) into name; and detail: the script
 * sha of EVALSHA/EVALSHA_RO, the function name of FCALL/FCALL_RO, else "".
 * Both NUL-terminated, cut to their size. The containers: CONFIG CLIENT
 * CLUSTER ACL OBJECT XINFO XGROUP MEMORY SCRIPT FUNCTION COMMAND MODULE
 * SLOWLOG LATENCY PUBSUB DEBUG. A NUL byte in an argument is written '?'. */
void resp_command_name(const struct resp_arg *argv, int argc, char *name,
                       size_t name_cap, char *detail, size_t detail_cap);

/* 1 when argument i (0 = the command name) is a secret that must never be
 * stored: every argument of AUTH; HELLO's AUTH username and password;
 * MIGRATE's AUTH password and AUTH2 username and password; the value of
 * CONFIG SET requirepass / masterauth / masteruser; ACL SETUSER rules
 * starting with '>' '<' '#' '!'. Else 0. */
int resp_arg_is_secret(const struct resp_arg *argv, int argc, int i);

/* Appends the command argv[0..argc) as a RESP array of bulk strings to
 * out. 0 or RP_ENOMEM (then out is as it was). */
int resp_write_command(struct rp_buf *out, const struct resp_arg *argv,
                       int argc);

#endif
