/*
 * pgwire.h: a strict, bounded framer for the PostgreSQL frontend/backend
 * protocol v3, fed byte runs in order as they come off one direction of a
 * TCP stream. It allocates nothing and keeps no message bytes (only up to
 * the 8 header bytes it needs to classify one): it says where each message
 * ends and what it is; the caller keeps the bytes. Accessors read fields of
 * complete messages as views. pg_normalize turns a statement into its
 * normalised form, literals replaced by $n, as pg_stat_statements does.
 */
#ifndef RP_PROTO_PGWIRE_H
#define RP_PROTO_PGWIRE_H

#include <stddef.h>
#include <stdint.h>

#define PG_MAX_MSG (1u << 30)          /* longest message accepted */
#define PG_CODE_STARTUP 196608u       /* protocol 3.0 */
#define PG_CODE_SSL 80877103u         /* SSLRequest */
#define PG_CODE_GSSENC 80877104u      /* GSSENCRequest */
#define PG_CODE_CANCEL 80877102u      /* CancelRequest */
#define PG_MAX_STARTUP 10000u         /* longest untyped message (the
                                         server's own limit) */
#define PG_CANCEL_KEY_MAX 256u        /* longest CancelRequest secret key
                                         (protocol 3.2 made it variable) */

struct pg_msg {
    char type;        /* the type byte ('Q', 'P', 'Z', ...); 0 for an
                         untyped message (startup, SSLRequest, GSSENCRequest,
                         CancelRequest: see code) and for the one-byte answer
                         to SSLRequest/GSSENCRequest (see answer) */
    uint32_t code;    /* untyped client message: its request code */
    char answer;      /* server: 'S', 'N' (or 'G') for the one-byte answer,
                         else 0 */
    uint64_t bytes;   /* bytes of the whole message, type byte included */
};

/* Reader state for one direction; caller-allocated, opaque fields. */
struct pg_reader {
    /* private */
    struct pg_msg cur;  /* the message being read (valid once its header is) */
    uint64_t left;      /* bytes of cur still to come after its header */
    const char *why;    /* the violation, once the stream is dead */
    uint8_t hdr[8];     /* header bytes gathered so far (typed 5, untyped 8) */
    uint8_t hlen;       /* bytes in hdr */
    uint8_t phase;      /* what the next message is: PG_PH_* in pgwire.c */
    uint8_t next;       /* phase set by pg_reader_expect_* while a message
                           was in progress, taken when it ends; 0 none */
    uint8_t in_body;    /* 1 while skipping the rest of cur */
    uint8_t from_client;
};

/* Prepares r for the stream from the client or from the server. A client
 * stream starts untyped (startup, SSLRequest, ...) when its first 8 bytes
 * are a plausible length and a known code, typed otherwise (a capture that
 * begins mid-connection). */
/* In practice: a client stream whose first byte is 0 is read as untyped,
 * any other as typed. A typed message never starts with 0 and a plausible
 * untyped length (8..PG_MAX_STARTUP) always does, so this is the same rule
 * decided one byte earlier. Untyped messages accepted: a startup message of
 * protocol major version 3 (any minor, code 3 << 16 | minor, 8 to
 * PG_MAX_STARTUP bytes), SSLRequest and GSSENCRequest (8 bytes),
 * CancelRequest (16 to 12 + PG_CANCEL_KEY_MAX bytes). The server reader
 * starts typed. */
void pg_reader_init(struct pg_reader *r, int from_client);
/* Client reader: the next message is untyped again (after an SSLRequest or
 * GSSENCRequest answered 'N'). */
/* The client reader also goes back to the stream-start detection by itself
 * after an SSLRequest or GSSENCRequest, so the call is optional there; it
 * forces untyped framing. Called while a message is in progress, it takes
 * effect when that message ends. No effect on a server reader. */
void pg_reader_expect_untyped(struct pg_reader *r);
/* Server reader: the next message is the one-byte answer to an SSLRequest
 * or GSSENCRequest. */
/* The answer is 'S', 'N' or 'G' (then typed messages follow); an 'E' there
 * is read as an ErrorResponse (a server without SSL support answers so),
 * anything else is a violation. Called while a message is in progress, it
 * takes effect when that message ends. No effect on a client reader. */
void pg_reader_expect_answer(struct pg_reader *r);

/* Reads p[0..n). Returns the bytes consumed (0..n) and sets *done: 1 when
 * they completed a message (*m filled; call again with the rest), 0 when
 * all were consumed and the message goes on. -1 on a protocol violation
 * (unknown type byte for that direction, length < 4 or > PG_MAX_MSG), with
 * *why a static description; the stream cannot be framed after that.
 * Also violations: a message whose length the protocol fixes with another
 * length (client S H X c: 4; server Z: 5; 1 2 3 n s I c: 4; K: 12 to
 * 8 + PG_CANCEL_KEY_MAX; R: at least 8), an untyped message outside the
 * rules at pg_reader_init, and any byte after a CancelRequest. Every later
 * call returns -1 with the same *why. n == 0 returns 0 with *done 0.
 * Fed the same bytes, the messages and the violation are the same whatever
 * the runs' boundaries (down to one byte per call). */
long pg_read(struct pg_reader *r, const uint8_t *p, size_t n, int *done,
             struct pg_msg *m, const char **why);

/* Accessors on one complete message msg[0..n) (type byte included, as
 * framed by pg_read). Each returns 0, or -1 when the message is not of that
 * type or is malformed. String views point into msg; the strings are
 * NUL-terminated inside it. msg must hold the whole message: n equal to its
 * length field (+ 1 for the type byte); each accessor checks the whole
 * layout of its message, not only the fields it returns. The type byte
 * alone cannot say the direction ('E' Execute/ErrorResponse, 'C'
 * Close/CommandComplete, 'D' Describe/DataRow): call an accessor on
 * messages of the direction it documents; the other reads as malformed or
 * as nonsense but is never read out of bounds. */
/* 'Q': the query text. */
int pg_msg_query(const uint8_t *msg, size_t n, const char **sql, size_t *len);
/* 'P': the statement name ("" unnamed) and the query text. */
int pg_msg_parse(const uint8_t *msg, size_t n, const char **stmt,
                 const char **sql, size_t *len);
/* 'B': the portal and statement names. */
int pg_msg_bind(const uint8_t *msg, size_t n, const char **portal,
                const char **stmt);
/* 'E' and 'N': the SQLSTATE (5 characters + NUL; "" when absent) and the
 * message field ('M'). A message without 'M' gives "" (a view of the
 * final NUL); a 'C' field not of 5 characters is malformed. */
int pg_msg_error(const uint8_t *msg, size_t n, char sqlstate[6],
                 const char **text, size_t *len);
/* 'C': the command tag ("SELECT 5", "INSERT 0 1"). */
int pg_msg_command_tag(const uint8_t *msg, size_t n, const char **tag,
                       size_t *len);
/* Untyped startup message: the value of parameter name ("user",
 * "database", ...), or -1 when absent. */
int pg_msg_startup_param(const uint8_t *msg, size_t n, const char *name,
                         const char **val);
/* 'R': the authentication code (0 ok, 3 cleartext, 5 md5, 10 SASL, 11 SASL
 * continue, 12 SASL final) and the data after it. */
int pg_msg_auth(const uint8_t *msg, size_t n, uint32_t *code,
                const uint8_t **data, size_t *len);
/* 'Z': the transaction status ('I', 'T', 'E'; any other is malformed). */
int pg_msg_ready(const uint8_t *msg, size_t n, char *txstatus);

/* Writes the normalised form of sql[0..n) into out (cap bytes, always
 * NUL-terminated, cut at a character boundary when too long); returns the
 * length written. Literals (numbers, '...' strings with '' and E'' escapes,
 * $tag$...$tag$ dollar quoting, B'' X'' U&'' strings) become $k, numbered
 * after the highest $n the statement already has; comments (-- and nested
 * slash-star) are dropped; runs of white space become one space; a
 * trailing ';' and outer white space are dropped. Identifiers, keywords,
 * "quoted identifiers" and their case are kept. A minus sign directly
 * before a number folds into the literal only after an operator, '(' ',' or
 * at the start ("x = -1" -> "x = $1", "a - 1" -> "a - $1").
 * Details, after PostgreSQL's scanner (scan.l): a string literal continued
 * on another line ('a'<newline>'b') is one literal, and so is U&'...'
 * UESCAPE '!'; N'' strings are literals; a number is 12, 1_000, 1.5, 5.,
 * .5, 1e-3, 0x1F, 0o17, 0b101 (and any identifier characters glued to it,
 * which PostgreSQL rejects as trailing junk); identifiers may hold digits
 * and '$' (t1, col_2, a$b), and a string prefix (E B X N U&) counts only
 * at the start of a word; operators are split as the scanner splits them
 * ("=-1" is "=" then "-1"). Unterminated strings, identifiers and comments
 * run to the end of the input; the input also ends at a NUL byte. When
 * the output is cut, a $k is written whole or not at all. Returns 0 and
 * writes nothing when cap is 0. */
size_t pg_normalize(const char *sql, size_t n, char *out, size_t cap);

#endif
