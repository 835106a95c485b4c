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
 * Tolerated: bare-LF line endings, obsolete header folding, targets with
 * spaces, a missing reason phrase. Rejected (HTTP_EV_ERROR, then resync):
 * heads over HTTP_HEAD_MAX or with more than HTTP_MAX_HEADERS lines, chunk
 * size lines over HTTP_CHUNK_LINE_MAX, Content-Length that is not a number,
 * overflows int64 or disagrees with another Content-Length.
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
#define HTTP_PARSE_ERROR (-1)   /* malformed head */
#define HTTP_PARSE_PARTIAL (-2) /* no empty line yet: need more bytes */

enum http_body_kind {
    HTTP_BODY_NONE = 0, /* no body */
    HTTP_BODY_LENGTH,   /* Content-Length bytes */
    HTTP_BODY_CHUNKED,  /* Transfer-Encoding: ..., chunked */
    HTTP_BODY_CLOSE,    /* until the end of the stream (responses) */
};

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
    const char *method;   /* request: method token */
    size_t method_len;
    const char *target;   /* request: target exactly as sent */
    size_t target_len;
    const char *version;  /* "HTTP/1.1" as sent */
    size_t version_len;
    int minor_version;    /* 0 or 1 (any digit is accepted) */
    int status;           /* response: 100..999 */
    const char *reason;   /* response: reason phrase (may be empty) */
    size_t reason_len;
    struct http_header *headers; /* the caller's array */
    size_t num_headers;
    const char *host;     /* value of the first Host header, or NULL */
    size_t host_len;
    int has_upgrade;      /* an Upgrade header is present */
    /* framing from the headers alone (see http_stream_set_body): chunked
     * when Transfer-Encoding ends in chunked; LENGTH from Content-Length;
     * otherwise NONE for requests and CLOSE for responses */
    enum http_body_kind body_kind;
    uint64_t content_length;
    size_t head_len;      /* bytes of the head, empty line included */
};

/* Parses the head at buf[0..len). hdrs has room for max_hdrs entries and
 * receives the header lines; h->headers points to it. Returns the number of
 * bytes of the head (> 0), HTTP_PARSE_PARTIAL when the empty line is not in
 * buf yet, or HTTP_PARSE_ERROR. All pointers in *h are views into buf. */
int http_parse_head(const char *buf, size_t len, int is_request,
                    struct http_head *h, struct http_header *hdrs,
                    size_t max_hdrs);

/* Whether p[0..n) can start a message: for a request a token of 1..32
 * tchars followed by SP, for a response "HTTP/d.d ddd". Returns 1 (yes),
 * 0 (no) or HTTP_PARSE_PARTIAL (n too short to tell). */
int http_start_check(const uint8_t *p, size_t n, int is_request);

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

struct http_stream {
    int is_request;
    int state;              /* internal */
    int synced;             /* 1 once a head was parsed */
    uint64_t sync_window;   /* bytes of garbage tolerated before the first
                               head; 0 = unbounded. Default HTTP_SYNC_WINDOW */
    uint64_t sync_skipped;  /* garbage bytes seen before the first head */
    int at_line_start;      /* SYNC: the next byte starts a line */
    /* head being received */
    char *hbuf;             /* only for heads split across runs */
    size_t hlen, hcap;
    size_t line_start;      /* offset of the current line in the head */
    int line1_ok;           /* start line validated */
    int prefix_ok;          /* http_start_check said yes */
    struct http_header *hdrs; /* caller's scratch, HTTP_MAX_HEADERS long */
    struct http_head *head; /* caller's scratch: valid from HEAD until the
                               next feed of any stream sharing it */
    /* body */
    enum http_body_kind body_kind;
    uint64_t remaining;     /* LENGTH: bytes left; CHUNKED: of the chunk */
    int chunk_state;        /* internal */
    uint32_t chunk_digits, line_len;
    uint32_t trailer_len;
    int line_nonempty;
    /* the current message */
    int in_msg;             /* bytes of a message were consumed */
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
 * default). Returns 1 when the message is complete already (no body: the
 * caller handles it as HTTP_EV_END), else 0. */
int http_stream_set_body(struct http_stream *s, enum http_body_kind kind,
                         uint64_t length);

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

#endif
