/*
 * http_parse.h: incremental HTTP/1.x framing over the in-order byte runs of
 * one direction of a TCP connection. Two layers:
 *
 *  - http_parse_head(): a stateless, allocation-free parser of one complete
 *    head (start line + header lines + empty line), picohttpparser style: it
 *    returns pointers into the caller's buffer plus lengths, and a documented
 *    code (bytes consumed, HTTP_PARSE_PARTIAL or HTTP_PARSE_ERROR).
 *  - struct http_stream: a per-direction state machine fed with byte runs. It
 *    finds message starts (skipping leading empty lines, resynchronizing at
 *    the next plausible start line after garbage or a gap), buffers a head
 *    only when it is split across runs (capped at HTTP_HEAD_MAX), and frames
 *    bodies: Content-Length, chunked (extensions, trailers, any split point)
 *    and close-delimited. It reports events; de-chunked body bytes are views
 *    into the caller's run, so nothing is copied on the hot path.
 *
 * A passive recorder must keep what a server accepted, so the parser is
 * lenient where RFC 9112 lets a recipient be (bare-LF line endings, obsolete
 * line folding, runs of spaces in the request line, a missing reason
 * phrase, leading zeros in a chunk size), and it reports everything RFC 9110
 * and 9112 forbid or leave open as *anomalies* (HTTP_A_*) instead of
 * dropping the message: a request line without a target, a Content-Length
 * a conforming server must reject, Transfer-Encoding together with
 * Content-Length, and so on. HTTP_A_MALFORMED lists the anomalies that make
 * a message invalid; HTTP_A_AMBIGUOUS those where the message's framing
 * (where it ends) depends on a choice a server may make either way. The
 * framing reprise chooses for each is the one RFC 9112 section 6.3 gives a
 * conforming server (documented at http_parse_head and in the README); when
 * no framing is possible (an invalid Content-Length, a request whose final
 * transfer coding is not chunked) the body kind is HTTP_BODY_UNKNOWN and the
 * stream resynchronizes at the next valid start line after the head.
 *
 * Rejected (HTTP_EV_ERROR, then resync): bytes that cannot start a message
 * (for a request, no method token; for a response, no "HTTP/1.d ddd" status
 * line) and chunked framing that breaks mid-body.
 */
#ifndef RP_CAP_HTTP_PARSE_H
#define RP_CAP_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX (64u * 1024u)   /* bytes of a head, start line included */
#define HTTP_MAX_HEADERS 256          /* header lines per head */
#define HTTP_CHUNK_LINE_MAX 4096u     /* bytes of one chunk-size line */
#define HTTP_TRAILER_MAX (64u * 1024u) /* bytes of the chunked trailer part */
#define HTTP_SYNC_WINDOW (64u * 1024u) /* default resync window, see below */

/* Return codes of http_parse_head. */
#define HTTP_PARSE_ERROR (-1)   /* not a message start */
#define HTTP_PARSE_PARTIAL (-2) /* no empty line yet: need more bytes */

enum http_body_kind {
    HTTP_BODY_NONE = 0, /* no body */
    HTTP_BODY_LENGTH,   /* Content-Length bytes */
    HTTP_BODY_CHUNKED,  /* Transfer-Encoding: ..., chunked */
    HTTP_BODY_CLOSE,    /* until the end of the stream (responses) */
    HTTP_BODY_UNKNOWN,  /* cannot be framed: the message ends with its head
                           and the stream resynchronizes after it */
};

/* Anomalies (struct http_head.anomalies, struct http_stream.msg_anomalies).
 * Start line: */
#define HTTP_A_NO_TARGET      0x00000001u /* request line without a target */
#define HTTP_A_NO_VERSION     0x00000002u /* without a version (not GET) */
#define HTTP_A_BAD_VERSION    0x00000004u /* version token is not HTTP/1.d */
#define HTTP_A_EXTRA_TOKENS   0x00000008u /* tokens after the version
                                             position: the target is the
                                             second token, the version the
                                             last one if it is HTTP/1.d */
#define HTTP_A_HTTP09         0x00000010u /* HTTP/0.9: "GET target", or a
                                             response without a status line */
/* Header lines: */
#define HTTP_A_BAD_HEADER     0x00000020u /* a line without a colon, or with
                                             an empty field name */
#define HTTP_A_WS_COLON       0x00000040u /* whitespace between a field name
                                             and its colon (RFC 9112 5.1:
                                             a server must answer 400) */
#define HTTP_A_TOO_LARGE      0x00000080u /* head over HTTP_HEAD_MAX or over
                                             HTTP_MAX_HEADERS lines: the
                                             headers beyond are not seen */
#define HTTP_A_TRUNCATED      0x00000100u /* head cut short by a gap or the
                                             end of the stream */
/* Framing (RFC 9112 6.1 and 6.3): */
#define HTTP_A_CL_INVALID     0x00000200u /* Content-Length not a decimal
                                             number (negative, overflow) */
#define HTTP_A_CL_CONFLICT    0x00000400u /* Content-Length values differ */
#define HTTP_A_CL_LIST        0x00000800u /* several equal values (a list
                                             or repeated lines): used */
#define HTTP_A_CL_ZEROS       0x00001000u /* leading zeros: used as decimal */
#define HTTP_A_TE_CL          0x00002000u /* Transfer-Encoding and
                                             Content-Length: TE wins */
#define HTTP_A_TE_NOT_CHUNKED 0x00004000u /* request whose final transfer
                                             coding is not chunked */
#define HTTP_A_TE_MULTI       0x00008000u /* chunked more than once, or
                                             several Transfer-Encoding lines */
#define HTTP_A_FRAMING_FOLD   0x00010000u /* obs-fold in Transfer-Encoding or
                                             Content-Length: unfolded */
#define HTTP_A_FRAMING_WS     0x00020000u /* HTTP_A_WS_COLON on a framing
                                             header: the header is used */
#define HTTP_A_TE_HTTP10      0x00040000u /* Transfer-Encoding in HTTP/1.0 */
#define HTTP_A_CONNECT_BODY   0x00080000u /* CONNECT with Content-Length or
                                             Transfer-Encoding: no body
                                             (RFC 9110 9.3.6) */
/* Chunked body (set on the stream while the body is framed): */
#define HTTP_A_CHUNK_CR       0x00100000u /* bare CR in a chunk-size line,
                                             taken as part of an extension */
#define HTTP_A_CHUNK_BAD      0x00200000u /* chunk framing broken (no hex
                                             size, size over 2^60, missing
                                             CRLF after the data) */
#define HTTP_A_TE_EMPTY       0x00400000u /* an empty element in the
                                             Transfer-Encoding list
                                             ("chunked,"): ignored, as RFC
                                             9110 5.6.1 says */
#define HTTP_A_TE_TAB         0x00800000u /* HTAB in a Transfer-Encoding
                                             value: whitespace like SP
                                             (RFC 9110 5.5), which not
                                             every parser agrees with */

/* Anomalies that make the message invalid (a conforming server answers
 * 400), and those that make its framing depend on a choice. */
#define HTTP_A_MALFORMED                                                    \
    (HTTP_A_NO_TARGET | HTTP_A_NO_VERSION | HTTP_A_BAD_VERSION |            \
     HTTP_A_EXTRA_TOKENS | HTTP_A_BAD_HEADER | HTTP_A_WS_COLON |            \
     HTTP_A_TOO_LARGE | HTTP_A_CL_INVALID | HTTP_A_CL_CONFLICT |            \
     HTTP_A_TE_NOT_CHUNKED | HTTP_A_CHUNK_BAD)
#define HTTP_A_AMBIGUOUS                                                    \
    (HTTP_A_CL_INVALID | HTTP_A_CL_CONFLICT |            \
     HTTP_A_CL_LIST | HTTP_A_CL_ZEROS | HTTP_A_TE_CL |                      \
     HTTP_A_TE_NOT_CHUNKED | HTTP_A_TE_MULTI | HTTP_A_FRAMING_FOLD |        \
     HTTP_A_FRAMING_WS | HTTP_A_TE_HTTP10 | HTTP_A_CONNECT_BODY |           \
     HTTP_A_CHUNK_CR | HTTP_A_CHUNK_BAD | HTTP_A_TE_EMPTY | HTTP_A_TE_TAB)
/* Start-line anomalies: such a head is only taken as a request where a
 * request must begin (see struct http_stream). */
#define HTTP_A_START_LINE                                                   \
    (HTTP_A_NO_TARGET | HTTP_A_NO_VERSION | HTTP_A_BAD_VERSION |            \
     HTTP_A_EXTRA_TOKENS | HTTP_A_HTTP09)

/* The name of one anomaly bit ("no-target", "te-cl", ...), or "?". */
const char *http_anomaly_name(uint32_t bit);

/* One header line. name/value are views with surrounding whitespace
 * trimmed; line is the whole line without its line ending. A folded
 * continuation line (starting with SP or HT) has name_len == 0. A line
 * without a colon keeps name = the line and value_len == 0. */
struct http_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
    const char *line;
    size_t line_len;
};

struct http_head {
    int is_request;
    const char *line;     /* the start line as sent, without its ending */
    size_t line_len;
    const char *method;   /* request: method token */
    size_t method_len;
    const char *target;   /* request: the second token, exactly as sent
                             ("" when absent) */
    size_t target_len;
    const char *version;  /* "HTTP/1.1" as sent; "" when absent; the static
                             "HTTP/0.9" for HTTP/0.9 */
    size_t version_len;
    int minor_version;    /* 0 or 1 (any digit is accepted); 0 for 0.9 */
    int status;           /* response: 100..999 (200 for HTTP/0.9) */
    const char *reason;   /* response: reason phrase (may be empty) */
    size_t reason_len;
    struct http_header *headers; /* the caller's array */
    size_t num_headers;
    const char *host;     /* value of the first Host header, or NULL */
    size_t host_len;
    int has_upgrade;      /* an Upgrade header is present */
    uint32_t anomalies;   /* HTTP_A_* found in the head */
    /* framing from the headers alone (see http_stream_set_body): chunked
     * when Transfer-Encoding ends in chunked; LENGTH from Content-Length;
     * otherwise NONE for requests and CLOSE for responses; NONE for
     * CONNECT; UNKNOWN when the framing is invalid */
    enum http_body_kind body_kind;
    uint64_t content_length;
    size_t head_len;      /* bytes of the head, empty line included */
};

/* Parses the head at buf[0..len). hdrs has room for max_hdrs entries and
 * receives the header lines; h->headers points to it. Returns the number of
 * bytes of the head (> 0), HTTP_PARSE_PARTIAL when the empty line is not in
 * buf yet, or HTTP_PARSE_ERROR when buf does not start a message. All
 * pointers in *h are views into buf.
 *
 * A request line is split at runs of SP: the method is the first token (a
 * token of at most 32 tchars, followed by SP or the end of the line), the
 * target the second, the version the third. Fewer or more tokens are
 * anomalies, not errors: "GET /x" is HTTP/0.9 (the head is that one line);
 * "OPTIONS HTTP/1.1" has no target; "CONNECT h:25 / HTTP/1.0" has extra
 * tokens. After such a start line the head ends at the empty line or before
 * the next line that is a valid request line, whichever comes first, so two
 * requests are never one head. A response must start with "HTTP/1.d ddd".
 *
 * Framing (RFC 9112 6.3, what a conforming server does): Transfer-Encoding
 * wins over Content-Length; a request whose final coding is not chunked,
 * an invalid Content-Length or two different ones give UNKNOWN; equal
 * repeated values, leading zeros, folded or space-before-colon framing
 * headers are used and flagged; CONNECT requests have no body. A head with
 * more than max_hdrs lines is parsed to its end with the first max_hdrs
 * lines stored (HTTP_A_TOO_LARGE, framing UNKNOWN). */
int http_parse_head(const char *buf, size_t len, int is_request,
                    struct http_head *h, struct http_header *hdrs,
                    size_t max_hdrs);

/* Whether p[0..n) can start a message: for a request a token of 1..32
 * tchars followed by SP, for a response "HTTP/d.d ddd". Returns 1 (yes),
 * 0 (no) or HTTP_PARSE_PARTIAL (n too short to tell). */
int http_start_check(const uint8_t *p, size_t n, int is_request);

/* 1 when m[0..n) is a method registered with IANA that clients commonly
 * send (GET, POST, ... PROPFIND, PURGE): used to accept a malformed request
 * line at the start of a connection, and to sniff the direction. */
int http_method_known(const char *m, size_t n);

/* ---- the per-direction stream ------------------------------------------ */

enum http_ev_type {
    HTTP_EV_NONE = 0,   /* all given bytes consumed, need more */
    HTTP_EV_HEAD,       /* *s->head valid; call http_stream_set_body now */
    HTTP_EV_BODY,       /* ev->data[0..ev->len): body bytes, de-chunked */
    HTTP_EV_END,        /* the message is complete */
    HTTP_EV_ERROR,      /* malformed input: the message in progress (if
                           any) is abandoned and the stream resyncs */
    HTTP_EV_UNPARSABLE, /* sync_window bytes without a message start: the
                           stream gave up and ignores further bytes */
};

struct http_event {
    enum http_ev_type type;
    const uint8_t *data; /* BODY: view into the run given to feed */
    size_t len;
};

/* Where a request with a malformed start line (HTTP_A_START_LINE) is taken
 * as a request: at a message boundary of a stream that has framed a
 * message already, or at its very start when the method is one
 * http_method_known() knows (so a connection that is not HTTP is not made
 * into requests). While resynchronizing only valid start lines count. */
struct http_stream {
    /* small fields first: a capture holds two streams per connection */
    uint8_t is_request;
    uint8_t state;          /* internal */
    uint8_t chunk_state;    /* internal */
    uint8_t body_kind;      /* enum http_body_kind of the message */
    unsigned synced : 1,    /* 1 once a head was parsed */
        at_line_start : 1,  /* SYNC: the next byte starts a line */
        expect_http09 : 1,  /* responses: set by the caller while the
                               request being answered is HTTP/0.9; a
                               response that does not start with "HTTP/" is
                               then reported as a head with status 200,
                               HTTP_A_HTTP09 and a close-delimited body */
        line1_ok : 1,       /* start line validated */
        line1_loose : 1,    /* ... with HTTP_A_START_LINE anomalies */
        prefix_ok : 1,      /* http_start_check said yes */
        head_strict : 1,    /* internal: the head began while
                               resynchronizing (no malformed start line) */
        line_nonempty : 1,  /* internal (trailers) */
        last_cr : 1,        /* internal: the last chunk-line byte was CR */
        in_msg : 1;         /* bytes of a message were consumed */
    uint32_t msg_anomalies; /* HTTP_A_* of the message so far: the head's,
                               then the body's (valid until the next head) */
    /* head being received (all within HTTP_HEAD_MAX) */
    uint32_t hlen, hcap;    /* bytes in hbuf, its size */
    uint32_t carry, carry_off; /* internal: hbuf[carry_off..+carry) starts
                               the next head (left after a malformed one) */
    uint32_t scanned;       /* internal: bytes of hbuf scanned for lines */
    uint32_t line_start;    /* offset of the current line in the head */
    uint32_t chunk_digits, line_len, line_cr, trailer_len; /* internal */
    uint64_t sync_window;   /* bytes of garbage tolerated before the first
                               head; 0 = unbounded. Default HTTP_SYNC_WINDOW */
    uint64_t sync_skipped;  /* garbage bytes seen before the first head */
    uint64_t skipped_bytes; /* all bytes that were part of no message
                               (garbage, resynchronization) */
    char *hbuf;             /* only for heads split across runs */
    struct http_header *hdrs; /* caller's scratch, HTTP_MAX_HEADERS long */
    struct http_head *head; /* caller's scratch: valid from HEAD until the
                               next feed of any stream sharing it */
    uint64_t remaining;     /* LENGTH: bytes left; CHUNKED: of the chunk */
    uint64_t msg_wire_bytes; /* bytes of the message so far (head+body) */
    int64_t msg_first_us, msg_last_us;
};

/* Scratch a stream parses heads into. The caller owns it; all streams fed
 * from one thread may share one (it is only used while feed runs and by the
 * caller right after HTTP_EV_HEAD), which keeps a stream small. */
struct http_scratch {
    struct http_head head;
    struct http_header hdrs[HTTP_MAX_HEADERS];
};

/* Initializes s for one direction, parsing into *scratch (not owned). */
void http_stream_init(struct http_stream *s, int is_request,
                      struct http_scratch *scratch);
/* Frees the head buffer. */
void http_stream_cleanup(struct http_stream *s);

/* Feeds p[0..n) (which may be empty) with the packet time ts_us. Consumes a
 * prefix, returns its length and fills *ev. The caller loops until all
 * bytes are consumed; every call that returns 0 returns an event, so the
 * loop always progresses:
 *     while (n) { size_t k = http_stream_feed(s, p, n, ts, &ev);
 *                 p += k; n -= k; handle(&ev); }
 * After HTTP_EV_HEAD the caller must call http_stream_set_body before the
 * next feed. */
size_t http_stream_feed(struct http_stream *s, const uint8_t *p, size_t n,
                        int64_t ts_us, struct http_event *ev);

/* Tells the stream that the next byte starts a new packet. While it is
 * resynchronizing, a packet start is a candidate message start as well as a
 * line start (a message after a gap usually starts a packet). */
void http_stream_packet_start(struct http_stream *s);

/* Sets the framing of the message whose head was just reported (pass
 * s->head->body_kind and s->head->content_length for the header-derived
 * default). Returns 1 when the message is complete already (no body, or
 * UNKNOWN: the caller handles it as HTTP_EV_END), else 0. */
int http_stream_set_body(struct http_stream *s, enum http_body_kind kind,
                         uint64_t length);

/* A head is being received and the stream is about to end or lose bytes:
 * when the part received starts a message (for a request, a method token
 * followed by SP; for a response, a status line), parses it into *s->head
 * (the start line as far as it goes, the complete header lines; anomaly
 * HTTP_A_TRUNCATED) and returns 1; the caller handles it like HTTP_EV_HEAD
 * and then calls http_stream_gap or http_stream_fin. Else returns 0. */
int http_stream_partial_head(struct http_stream *s);

/* Bytes were lost. Abandons the message in progress and resynchronizes.
 * Returns 1 when a message was in progress, else 0. */
int http_stream_gap(struct http_stream *s);

/* The direction ended (FIN or close). Returns 1 when a close-delimited body
 * ended here (the message is complete), -1 when a message was in progress
 * and is cut short, 0 when nothing was in progress. Further bytes are
 * ignored. */
int http_stream_fin(struct http_stream *s);

/* 1 when the stream has framed a message, or is receiving a head that
 * starts like one (so an unfinished stream is not counted as unparsable). */
int http_stream_looks_http(const struct http_stream *s);

/* Case-insensitive comparison of a[0..n) with the NUL-terminated lower-case
 * literal lit; 1 when equal. */
int http_name_is(const char *a, size_t n, const char *lit);

/* The payload of a chunked body: in[0..n) is the body as framed on the wire
 * (chunk-size lines with any extensions, data, the last chunk, trailers),
 * possibly cut short; the data bytes go to out, which has room for n bytes
 * and may be in itself. Returns the number of payload bytes written; the
 * framing stops being read at the last chunk or where it is malformed. */
size_t http_dechunk(const uint8_t *in, size_t n, uint8_t *out);

#endif
