/*
 * exchange.c: the HTTP layer behind struct cap_stream_ops (stream.h). For
 * each TCP connection it runs one http_stream per direction, keeps the
 * requests seen so far in a bounded FIFO, pairs each response with the
 * oldest request still waiting (so the response framing knows about HEAD and
 * CONNECT), records wire timings and sizes, redacts secrets, and writes each
 * exchange to the corpus in request order once both messages are complete
 * (or at close: no response, cut short). Queue entries and their buffers are
 * reused, so the steady state allocates nothing per message.
 *
 * Pairing under loss (capture drops): a gap ends the message in progress
 * as incomplete. A client gap between requests lost the start of a request:
 * unless its response already went by unpaired, a "ghost" entry takes that
 * request's place in the FIFO and swallows its response. A server gap
 * between responses consumes the oldest waiting request as "response
 * incomplete". A response that began before the oldest waiting request did,
 * or that has no request to pair (mid-stream pickup), is framed and
 * dropped. So a lost message never shifts the pairing of later ones (checked
 * against tshark's pairing on a lossy loopback capture). 101 and a 2xx to
 * CONNECT end HTTP on the connection: the tunnel bytes are ignored.
 */
#include <stdlib.h>
#include <string.h>

#include "capture/exchange.h"
#include "proto/http_parse.h"
#include "proto/sniff.h"
#include "capture/learn.h"
#include "capture/redact.h"
#include "capture/stream.h"
#include "common/buf.h"
#include "common/rp.h"

#define FIFO_MAX 1024u                 /* requests waiting per connection */
#define CONN_PENDING_MAX (64u << 20)   /* stored body bytes queued per conn */
#define ALL_PENDING_MAX (512u << 20)   /* ... and over all connections */
#define ENTRY_KEEP_MAX (16u << 10)     /* memory a reused message keeps */
#define CONN_QUEUE_EXTRA (1 << 20)     /* a connection may hold 2 bodies and
                                          this much more before its queue of
                                          pipelined requests is trimmed */
#define DEFAULT_MAX_MEMORY (512ull << 20) /* ... or the layer half of this */
#define DEFAULT_MAX_BODY (1u << 20)
#define INTERIM_MAX 48                 /* "100,103,..." */
#define MIDSTREAM_WINDOW (1u << 20)    /* resync window without a SYN */

/* One stored message: NUL-terminated strings, header lines, body. */
struct msg {
    struct rp_buf b;
    size_t str_off[5];       /* req: method target host version, request
                                line (SIZE_MAX: none); resp: reason */
    size_t hdr_off, hdr_len; /* header lines "Name: value\r\n"... */
    size_t body_off;         /* body runs to b.len */
    uint64_t body_size;      /* true body size on the wire */
    uint64_t wire_bytes;
    int64_t first_us, last_us;
    size_t acct;             /* b.cap as counted in the memory totals */
};

struct entry {
    struct msg req, resp;
    int status;              /* final status, 0 until seen */
    char interim[INTERIM_MAX];
    uint32_t flags;          /* CORPUS_EX_* */
    unsigned req_done : 1, resp_started : 1, resp_done : 1, is_head : 1,
        is_connect : 1,
        ghost : 1,           /* stands for a request lost in a gap */
        http09 : 1,          /* an HTTP/0.9 request */
        resp_http09 : 1;     /* its response had no status line */
};

enum { REQ_NONE = 0, REQ_ENTRY, REQ_DROP };
enum { RESP_NONE = 0, RESP_ENTRY, RESP_INTERIM, RESP_SKIP, RESP_GHOST };

struct conn {
    struct cap_http *h;
    struct cap_conn_info ci;
    int64_t conn_id;         /* 0 until the connection row is written */
    int64_t next_seq;
    int64_t last_us;
    struct http_stream s[2];
    struct entry *ents;      /* ring of ecap entries */
    uint32_t ecap, ehead, ecount;
    uint64_t skip_resp;      /* responses to skip before pairing: their
                                requests were written early (queue full) */
    uint32_t orphans;        /* responses without a request since the last
                                request was queued */
    int64_t mem_bytes;       /* memory held for this connection */
    size_t hacct[2];         /* head buffer sizes as counted */
    uint64_t pending_bytes;  /* stored body bytes in queued entries */
    uint64_t bytes[2];       /* payload bytes seen per direction */
    int req_mode, resp_mode;
    int req_wire;            /* the request in progress has a chunked body:
                                its bytes are stored as framed on the wire */
    int resp_upgrade;        /* the response in progress starts a tunnel */
    int skipped, upgraded;
    int tainted;             /* a message with ambiguous framing was seen:
                                where later ones begin depends on it */
    int sniffed[2];          /* the first payload of a direction was checked
                                for another protocol */
};

struct cap_http {
    struct corpus *c;
    int64_t capture_id;
    uint64_t max_body;
    int64_t queue_budget;    /* layer memory beyond which queues are trimmed */
    struct cap_redact *red;  /* NULL when nothing is redacted */
    struct cap_learn *learn; /* correlations (learn.h); NULL if it failed */
    struct cap_http_stats st;
    uint64_t pending_bytes;  /* stored body bytes queued, all connections */
    int64_t mem_bytes;       /* memory held for all connections */
    int err;
    char errmsg[RP_ERRLEN];
    struct http_scratch scratch; /* heads are parsed into it */
};

/* ---- entries ----------------------------------------------------------- */

static void msg_init(struct msg *m, uint64_t max_body)
{
    rp_buf_init(&m->b, (size_t)max_body + 24u * HTTP_HEAD_MAX);
}

static void mem_add(struct conn *c, int64_t d)
{
    c->mem_bytes += d;
    c->h->mem_bytes += d;
}

/* Counts a change of m's buffer size in the memory totals. */
static void msg_acct(struct conn *c, struct msg *m)
{
    if (m->b.cap != m->acct) {
        mem_add(c, (int64_t)m->b.cap - (int64_t)m->acct);
        m->acct = m->b.cap;
    }
}

static void msg_reset(struct conn *c, struct msg *m)
{
    if (m->b.cap > ENTRY_KEEP_MAX) {
        size_t mx = m->b.max_bytes;
        rp_buf_cleanup(&m->b);
        rp_buf_init(&m->b, mx);
        msg_acct(c, m);
    }
    rp_buf_reset(&m->b);
    memset(m->str_off, 0, sizeof m->str_off);
    m->str_off[4] = SIZE_MAX;
    m->hdr_off = m->hdr_len = m->body_off = 0;
    m->body_size = m->wire_bytes = 0;
    m->first_us = m->last_us = 0;
}

static struct entry *ent_at(struct conn *c, uint32_t i)
{
    return &c->ents[(c->ehead + i) & (c->ecap - 1)];
}

/* Appends a fresh entry at the tail; NULL when out of memory. */
static struct entry *ent_push(struct conn *c)
{
    if (c->ecount == c->ecap) {
        uint32_t ncap = c->ecap ? c->ecap * 2 : 1;
        struct entry *ne = calloc(ncap, sizeof *ne);
        if (!ne)
            return NULL;
        for (uint32_t i = 0; i < c->ecount; i++)
            ne[i] = *ent_at(c, i);
        for (uint32_t i = c->ecount; i < ncap; i++) {
            msg_init(&ne[i].req, c->h->max_body);
            msg_init(&ne[i].resp, c->h->max_body);
        }
        free(c->ents);
        mem_add(c, (int64_t)((ncap - c->ecap) * sizeof *ne));
        c->ents = ne;
        c->ecap = ncap;
        c->ehead = 0;
    }
    struct entry *e = ent_at(c, c->ecount++);
    msg_reset(c, &e->req);
    msg_reset(c, &e->resp);
    e->status = 0;
    e->interim[0] = '\0';
    e->flags = 0;
    e->req_done = e->resp_started = e->resp_done = 0;
    e->is_head = e->is_connect = e->ghost = e->http09 = e->resp_http09 = 0;
    return e;
}

static void ent_pop(struct conn *c)
{
    struct entry *e = ent_at(c, 0);
    uint64_t stored = (e->req.b.len - e->req.body_off) +
                      (e->resp.b.len - e->resp.body_off);
    if (stored > c->pending_bytes)
        stored = c->pending_bytes;
    c->pending_bytes -= stored;
    c->h->pending_bytes -= stored;
    c->ehead = (c->ehead + 1) & (c->ecap - 1);
    c->ecount--;
}

/* ---- storing messages -------------------------------------------------- */

static int put_str(struct msg *m, int slot, const char *s, size_t n)
{
    m->str_off[slot] = m->b.len;
    if (rp_buf_append(&m->b, s, n) < 0 || rp_buf_append(&m->b, "", 1) < 0)
        return -1;
    return 0;
}

/* Header lines, CRLF-terminated, with secret values replaced. Lines that
 * need no change are copied in runs straight from the head. Returns the
 * number of values redacted, or -1 when the buffer is full. */
static int put_headers(struct cap_http *h, struct msg *m,
                       const struct http_head *hd)
{
    int red = 0, prev_red = 0;
    const char *run = NULL; /* unchanged bytes not copied yet start here */
    size_t run_len = 0;
    m->hdr_off = m->b.len;
    for (size_t i = 0; i < hd->num_headers; i++) {
        const struct http_header *x = &hd->headers[i];
        int secret = 0;
        if (h->red) {
            if (x->name_len)
                secret = cap_redact_header(h->red, x->name, x->name_len);
            else
                secret = prev_red; /* folded continuation of a secret */
        }
        prev_red = secret;
        int crlf = x->line[x->line_len] == '\r';
        if (!(secret && x->value_len) && crlf) {
            if (run && run + run_len == x->line) {
                run_len += x->line_len + 2;
            } else {
                if (run && rp_buf_append(&m->b, run, run_len) < 0)
                    return -1;
                run = x->line;
                run_len = x->line_len + 2;
            }
            continue;
        }
        if (run && rp_buf_append(&m->b, run, run_len) < 0)
            return -1;
        run = NULL;
        if (secret && x->value_len) {
            size_t pre = (size_t)(x->value - x->line);
            size_t post = pre + x->value_len;
            /* a folded continuation is one marker: its name is not known
             * here */
            if (rp_buf_append(&m->b, x->line, pre) < 0 ||
                cap_redact_value(h->red, x->name, x->name_len, x->value,
                                 x->value_len, &m->b) < 0 ||
                rp_buf_append(&m->b, x->line + post, x->line_len - post) < 0)
                return -1;
            red++;
        } else if (rp_buf_append(&m->b, x->line, x->line_len) < 0) {
            return -1;
        }
        if (rp_buf_append(&m->b, "\r\n", 2) < 0)
            return -1;
    }
    if (run && rp_buf_append(&m->b, run, run_len) < 0)
        return -1;
    m->hdr_len = m->b.len - m->hdr_off;
    m->body_off = m->b.len;
    return red;
}

static void put_body(struct conn *c, struct entry *e, struct msg *m,
                     const uint8_t *p, size_t n, uint32_t trunc_flag)
{
    uint64_t stored = m->b.len - m->body_off;
    uint64_t room = c->h->max_body > stored ? c->h->max_body - stored : 0;
    uint64_t conn_room = CONN_PENDING_MAX - c->pending_bytes;
    uint64_t all_room = ALL_PENDING_MAX - c->h->pending_bytes;
    if (room > conn_room)
        room = conn_room;
    if (room > all_room)
        room = all_room;
    size_t k = n < room ? n : (size_t)room;
    if (k && rp_buf_append(&m->b, p, k) < 0)
        k = 0;
    msg_acct(c, m);
    c->pending_bytes += k;
    c->h->pending_bytes += k;
    m->body_size += n;
    if (k < n)
        e->flags |= trunc_flag;
}

/* ---- writing ------------------------------------------------------------ */

static void fill_msg(struct corpus_msg *cm, const struct msg *m)
{
    cm->headers = m->hdr_len ? m->b.data + m->hdr_off : NULL;
    cm->headers_len = m->hdr_len;
    cm->body_len = m->b.len - m->body_off;
    cm->body = cm->body_len ? (const uint8_t *)m->b.data + m->body_off : NULL;
    cm->body_size = m->body_size;
    cm->wire_bytes = m->wire_bytes;
    cm->first_us = m->first_us;
    cm->last_us = m->last_us;
}

static void write_entry(struct conn *c, struct entry *e)
{
    struct cap_http *h = c->h;
    if (h->err || e->ghost)
        return;
    if (!c->conn_id) {
        struct corpus_conn cc = {
            .capture_id = h->capture_id,
            .client_addr = c->ci.client_addr,
            .client_port = c->ci.client_port,
            .server_addr = c->ci.server_addr,
            .server_port = c->ci.server_port,
            .first_us = c->ci.first_us,
            .last_us = 0,
        };
        h->err = corpus_add_connection(h->c, &cc, &c->conn_id, h->errmsg);
        if (h->err)
            return;
    }
    if (!e->resp_started) {
        e->flags |= CORPUS_EX_NO_RESPONSE;
        e->status = 0;
    } else if (!e->resp_done) {
        e->flags |= CORPUS_EX_RESP_INCOMPLETE;
    }
    if (!e->req_done)
        e->flags |= CORPUS_EX_REQ_INCOMPLETE;
    const char *rb = e->req.b.data;
    struct corpus_exchange ex;
    memset(&ex, 0, sizeof ex);
    ex.capture_id = h->capture_id;
    ex.conn_id = c->conn_id;
    ex.seq = c->next_seq++;
    ex.method = rb + e->req.str_off[0];
    ex.target = rb + e->req.str_off[1];
    ex.host = rb + e->req.str_off[2];
    ex.version = rb + e->req.str_off[3];
    ex.request_line = e->req.str_off[4] != SIZE_MAX
                          ? rb + e->req.str_off[4] : NULL;
    fill_msg(&ex.req, &e->req);
    ex.status = e->status;
    ex.reason = e->status && e->resp.b.data && !e->resp_http09
                    ? e->resp.b.data + e->resp.str_off[0] : NULL;
    ex.interim = e->interim[0] ? e->interim : NULL;
    if (e->resp_started)
        fill_msg(&ex.resp, &e->resp);
    ex.flags = e->flags;
    int64_t id;
    if (h->learn && cap_learn_scan(h->learn, &ex)) {
        cap_learn_free(h->learn); /* out of memory: stop learning */
        h->learn = NULL;
    }
    /* markers are longer than most secrets: --max-body still holds */
    if (ex.req.body_len > h->max_body) {
        ex.req.body_len = h->max_body;
        ex.flags |= CORPUS_EX_REQ_TRUNCATED;
    }
    if (ex.resp.body_len > h->max_body) {
        ex.resp.body_len = h->max_body;
        ex.flags |= CORPUS_EX_RESP_TRUNCATED;
    }
    h->err = corpus_add_exchange(h->c, &ex, &id, h->errmsg);
    if (h->err)
        return;
    if (h->learn)
        cap_learn_commit(h->learn, id);
    h->st.exchanges++;
    if (e->flags & (CORPUS_EX_REQ_INCOMPLETE | CORPUS_EX_RESP_INCOMPLETE))
        h->st.incomplete++;
    if (e->flags & CORPUS_EX_NO_RESPONSE)
        h->st.no_response++;
    if (e->flags & CORPUS_EX_MALFORMED)
        h->st.malformed++;
    if (e->flags & CORPUS_EX_AMBIGUOUS)
        h->st.ambiguous++;
    h->st.http09 += e->http09;
}

/* Flags an exchange for the anomalies of one of its messages; framing that
 * was guessed also flags the requests that follow on the connection. */
static void apply_anomalies(struct conn *c, struct entry *e, uint32_t a,
                            enum http_body_kind kind)
{
    if (a & HTTP_A_MALFORMED)
        e->flags |= CORPUS_EX_MALFORMED;
    if ((a & HTTP_A_AMBIGUOUS) ||
        (kind == HTTP_BODY_UNKNOWN && !(a & HTTP_A_TRUNCATED))) {
        e->flags |= CORPUS_EX_AMBIGUOUS;
        c->tainted = 1;
    }
}

/* Writes the leading entries whose request and response are complete. */
static void try_write(struct conn *c)
{
    while (c->ecount) {
        struct entry *e = ent_at(c, 0);
        if (!e->req_done || !e->resp_done)
            return;
        write_entry(c, e);
        ent_pop(c);
    }
}

/* Ends HTTP on the connection: both directions ignore further bytes. */
static void stop_parsing(struct conn *c)
{
    http_stream_fin(&c->s[0]);
    http_stream_fin(&c->s[1]);
    c->req_mode = REQ_NONE;
    c->resp_mode = RESP_NONE;
    c->req_wire = 0;
}

/* The connection carries no HTTP/1.x: counted by protocol, not parsed. */
static void mark_unparsable(struct conn *c, enum proto_kind kind)
{
    if (c->skipped)
        return;
    c->skipped = 1;
    c->h->st.unparsable++;
    c->h->st.proto[kind]++;
    stop_parsing(c);
}

/* ---- requests (client to server) --------------------------------------- */

static struct entry *req_entry(struct conn *c)
{
    return ent_at(c, c->ecount - 1);
}

static void req_end(struct conn *c, int complete)
{
    c->req_wire = 0;
    if (c->req_mode == REQ_ENTRY) {
        struct entry *e = req_entry(c);
        const struct http_stream *s = &c->s[CAP_DIR_C2S];
        e->req.wire_bytes = s->msg_wire_bytes;
        e->req.last_us = s->msg_last_us;
        /* what the body showed (chunk framing); the head's are set */
        apply_anomalies(c, e, s->msg_anomalies,
                        s->msg_anomalies & HTTP_A_CHUNK_BAD
                            ? HTTP_BODY_UNKNOWN : HTTP_BODY_NONE);
        if (!complete)
            e->flags |= CORPUS_EX_REQ_INCOMPLETE;
        e->req_done = 1;
        c->req_mode = REQ_NONE;
        try_write(c);
    }
    c->req_mode = REQ_NONE;
}

/* Makes room in the queue: writes the oldest waiting request now, with
 * no response (or the part of it seen so far), and arranges for its
 * response to be skipped when it comes, so later pairs stay right. */
static void evict_oldest(struct conn *c)
{
    struct entry *e = ent_at(c, 0);
    if (c->resp_mode == RESP_ENTRY || c->resp_mode == RESP_GHOST) {
        c->resp_mode = RESP_SKIP; /* the rest of its response */
    } else if (!e->resp_done) {
        c->skip_resp++;
        if (c->resp_mode == RESP_INTERIM)
            c->resp_mode = RESP_SKIP;
    }
    write_entry(c, e);
    ent_pop(c);
}

/* 1 when the request line is "method SP target SP version", exactly what
 * the three columns rebuild. */
static int canonical_line(const struct http_head *hd)
{
    return !(hd->anomalies & (HTTP_A_START_LINE | HTTP_A_TRUNCATED)) &&
           hd->line_len == hd->method_len + hd->target_len +
                               hd->version_len + 2;
}

/* Stores the request line as sent (slot 4), its target and what follows
 * redacted as the target is. Returns the values redacted, or -1. */
static int put_request_line(struct cap_http *h, struct msg *m,
                            const struct http_head *hd)
{
    m->str_off[4] = m->b.len;
    int red = 0;
    if (h->red && cap_redact_has_query(h->red) && hd->target_len) {
        size_t pre = (size_t)(hd->target - hd->line);
        if (rp_buf_append(&m->b, hd->line, pre) < 0)
            return -1;
        red = cap_redact_target(h->red, hd->target, hd->line_len - pre,
                                &m->b);
        if (red < 0)
            return -1;
    } else if (rp_buf_append(&m->b, hd->line, hd->line_len) < 0) {
        return -1;
    }
    return rp_buf_append(&m->b, "", 1) < 0 ? -1 : red;
}

static void req_head(struct conn *c)
{
    struct http_stream *s = &c->s[CAP_DIR_C2S];
    const struct http_head *hd = s->head;
    struct cap_http *h = c->h;
    c->s[CAP_DIR_S2C].sync_window = 0; /* this is HTTP: resync for ever */
    while (c->ecount >= FIFO_MAX)
        evict_oldest(c);
    struct entry *e = ent_push(c);
    h->st.requests++;
    if (!e) { /* out of memory: this request is lost, counted */
        h->st.lost_no_memory++;
        c->req_mode = REQ_DROP;
    } else {
        int red = 0, r;
        c->orphans = 0;
        struct msg *m = &e->req;
        m->first_us = s->msg_first_us;
        e->is_head = hd->method_len == 4 && !memcmp(hd->method, "HEAD", 4);
        e->is_connect =
            hd->method_len == 7 && !memcmp(hd->method, "CONNECT", 7);
        int fail = put_str(m, 0, hd->method, hd->method_len) < 0;
        m->str_off[1] = m->b.len;
        if (!fail && h->red && cap_redact_has_query(h->red)) {
            r = cap_redact_target(h->red, hd->target, hd->target_len, &m->b);
            fail = r < 0 || rp_buf_append(&m->b, "", 1) < 0;
            red += r > 0 ? r : 0;
        } else if (!fail) {
            fail = put_str(m, 1, hd->target, hd->target_len) < 0;
        }
        fail = fail || put_str(m, 2, hd->host ? hd->host : "",
                               hd->host ? hd->host_len : 0) < 0;
        fail = fail || put_str(m, 3, hd->version, hd->version_len) < 0;
        if (!fail && !canonical_line(hd)) {
            r = put_request_line(h, m, hd);
            fail = r < 0;
            red += r > 0 ? r : 0;
        }
        if (!fail) {
            r = put_headers(h, m, hd);
            fail = r < 0;
            red += r > 0 ? r : 0;
        }
        if (fail) { /* cannot happen below the buffer cap; keep going */
            msg_reset(c, m);
            put_str(m, 0, "", 0);
            put_str(m, 1, "", 0);
            put_str(m, 2, "", 0);
            put_str(m, 3, "", 0);
            m->hdr_off = m->body_off = m->b.len;
            e->flags |= CORPUS_EX_REQ_INCOMPLETE;
        }
        if (red)
            e->flags |= CORPUS_EX_REDACTED;
        e->http09 = (hd->anomalies & HTTP_A_HTTP09) != 0;
        if (c->tainted) /* its start depends on an earlier guess */
            e->flags |= CORPUS_EX_AMBIGUOUS;
        apply_anomalies(c, e, hd->anomalies, hd->body_kind);
        msg_acct(c, m);
        c->req_mode = REQ_ENTRY;
        int64_t conn_budget = 2 * (int64_t)h->max_body + CONN_QUEUE_EXTRA;
        if (conn_budget > h->queue_budget)
            conn_budget = h->queue_budget;
        while (c->ecount > 1 && (c->mem_bytes > conn_budget ||
                                 h->mem_bytes > h->queue_budget))
            evict_oldest(c);
    }
    if (http_stream_set_body(s, hd->body_kind, hd->content_length))
        req_end(c, 1);
    else if (c->req_mode == REQ_ENTRY && hd->body_kind == HTTP_BODY_CHUNKED) {
        req_entry(c)->flags |= CORPUS_EX_REQ_CHUNKED;
        c->req_wire = 1; /* op_data stores what each feed consumes */
    }
}

static void req_event(struct conn *c, const struct http_event *ev)
{
    switch (ev->type) {
    case HTTP_EV_HEAD:
        req_head(c);
        break;
    case HTTP_EV_BODY:
        if (c->req_mode == REQ_ENTRY && !c->req_wire) {
            struct entry *e = req_entry(c);
            put_body(c, e, &e->req, ev->data, ev->len,
                     CORPUS_EX_REQ_TRUNCATED);
        }
        break;
    case HTTP_EV_END:
        req_end(c, 1);
        break;
    case HTTP_EV_ERROR:
        req_end(c, 0);
        break;
    case HTTP_EV_UNPARSABLE:
        if (!c->s[CAP_DIR_S2C].synced)
            mark_unparsable(c, PROTO_OTHER);
        break;
    default:
        break;
    }
}

/* ---- responses (server to client) -------------------------------------- */

static void resp_end(struct conn *c, int complete)
{
    struct http_stream *s = &c->s[CAP_DIR_S2C];
    if (c->resp_mode == RESP_ENTRY) {
        struct entry *e = ent_at(c, 0);
        e->resp.wire_bytes = s->msg_wire_bytes;
        e->resp.last_us = s->msg_last_us;
        apply_anomalies(c, e, s->msg_anomalies, HTTP_BODY_NONE);
        if (!complete)
            e->flags |= CORPUS_EX_RESP_INCOMPLETE;
        e->resp_done = 1;
        c->resp_mode = RESP_NONE;
        if (c->resp_upgrade && complete) {
            e->flags |= CORPUS_EX_UPGRADED;
            c->h->st.upgraded++;
            c->upgraded = 1;
            if (!e->req_done) { /* the tunnel follows the request head */
                e->req.wire_bytes = c->s[CAP_DIR_C2S].msg_wire_bytes;
                e->req.last_us = c->s[CAP_DIR_C2S].msg_last_us;
                e->req_done = 1;
            }
            write_entry(c, e);
            ent_pop(c);
            while (c->ecount) { /* bytes after it were tunnel data */
                if (!ent_at(c, 0)->ghost)
                    c->h->st.lost_tunnel++;
                ent_pop(c);
            }
            c->resp_upgrade = 0;
            stop_parsing(c);
            return;
        }
        try_write(c);
    } else if (c->resp_mode == RESP_GHOST) {
        ent_at(c, 0)->resp_done = 1;
        try_write(c);
    }
    c->resp_mode = RESP_NONE;
    c->resp_upgrade = 0;
}

static void resp_head(struct conn *c)
{
    struct http_stream *s = &c->s[CAP_DIR_S2C];
    const struct http_head *hd = s->head;
    struct cap_http *h = c->h;
    c->s[CAP_DIR_C2S].sync_window = 0;
    int st = hd->status;
    int interim = st >= 100 && st < 200 && st != 101;
    struct entry *e = NULL;
    if (c->ecount && !ent_at(c, 0)->resp_done)
        e = ent_at(c, 0);
    if (e && !e->ghost && e->req.first_us > s->msg_first_us)
        e = NULL; /* began before that request: its request was lost */
    if (c->skip_resp)
        e = NULL;
    enum http_body_kind kind = hd->body_kind;
    uint64_t len = hd->content_length;
    int tunnel = st == 101 || (e && e->is_connect && st >= 200 && st < 300);
    if (st < 200 || st == 204 || st == 304 || tunnel || (e && e->is_head))
        kind = HTTP_BODY_NONE;
    if (!interim && (c->skip_resp || !e || e->ghost))
        h->st.unpaired_responses++;
    if (c->skip_resp) { /* its request was written early */
        if (!interim)
            c->skip_resp--;
        c->resp_mode = RESP_SKIP;
    } else if (!e) {
        if (!interim)
            c->orphans++;
        c->resp_mode = RESP_SKIP;
    } else if (e->ghost) {
        c->resp_mode = interim ? RESP_INTERIM : RESP_GHOST;
    } else if (interim) {
        size_t il = strlen(e->interim);
        if (il + 5 < INTERIM_MAX) {
            if (il)
                e->interim[il++] = ',';
            e->interim[il++] = (char)('0' + st / 100);
            e->interim[il++] = (char)('0' + st / 10 % 10);
            e->interim[il++] = (char)('0' + st % 10);
            e->interim[il] = '\0';
        }
        c->resp_mode = RESP_INTERIM;
    } else {
        struct msg *m = &e->resp;
        msg_reset(c, m);
        m->first_us = s->msg_first_us;
        e->status = st;
        e->resp_started = 1;
        e->resp_http09 = (hd->anomalies & HTTP_A_HTTP09) != 0;
        apply_anomalies(c, e, hd->anomalies, hd->body_kind);
        int r = -1;
        if (put_str(m, 0, hd->reason, hd->reason_len) == 0)
            r = put_headers(h, m, hd);
        if (r < 0) {
            msg_reset(c, m);
            put_str(m, 0, "", 0);
            m->hdr_off = m->body_off = m->b.len;
            e->flags |= CORPUS_EX_RESP_INCOMPLETE;
        } else if (r > 0) {
            e->flags |= CORPUS_EX_REDACTED;
        }
        msg_acct(c, m);
        c->resp_mode = RESP_ENTRY;
        c->resp_upgrade = tunnel;
    }
    if (http_stream_set_body(s, kind, len))
        resp_end(c, 1);
}

static void resp_event(struct conn *c, const struct http_event *ev)
{
    switch (ev->type) {
    case HTTP_EV_HEAD:
        resp_head(c);
        break;
    case HTTP_EV_BODY:
        if (c->resp_mode == RESP_ENTRY) {
            struct entry *e = ent_at(c, 0);
            put_body(c, e, &e->resp, ev->data, ev->len,
                     CORPUS_EX_RESP_TRUNCATED);
        }
        break;
    case HTTP_EV_END:
        resp_end(c, 1);
        break;
    case HTTP_EV_ERROR:
        resp_end(c, 0);
        break;
    case HTTP_EV_UNPARSABLE:
        if (!c->s[CAP_DIR_C2S].synced)
            mark_unparsable(c, PROTO_OTHER);
        break;
    default:
        break;
    }
}

/* ---- the stream callbacks ----------------------------------------------- */

static void *op_open(void *ctx, const struct cap_conn_info *ci)
{
    struct cap_http *h = ctx;
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->h = h;
    c->ci = *ci;
    http_stream_init(&c->s[CAP_DIR_C2S], 1, &h->scratch);
    http_stream_init(&c->s[CAP_DIR_S2C], 0, &h->scratch);
    if (!ci->saw_syn) { /* mid-stream pickup: a body may come first */
        c->s[CAP_DIR_C2S].sync_window = MIDSTREAM_WINDOW;
        c->s[CAP_DIR_S2C].sync_window = MIDSTREAM_WINDOW;
    }
    mem_add(c, (int64_t)sizeof *c);
    return c;
}

/* Counts a change of a head buffer's size in the memory totals. */
static void hbuf_acct(struct conn *c, enum cap_dir dir)
{
    if (c->s[dir].hcap != c->hacct[dir]) {
        mem_add(c, (int64_t)c->s[dir].hcap - (int64_t)c->hacct[dir]);
        c->hacct[dir] = c->s[dir].hcap;
    }
}

static void op_data(void *ctx, void *cv, enum cap_dir dir, const uint8_t *p,
                    size_t n, int64_t ts_us)
{
    struct conn *c = cv;
    (void)ctx;
    if (!c || (dir != CAP_DIR_C2S && dir != CAP_DIR_S2C))
        return;
    if (ts_us > c->last_us)
        c->last_us = ts_us;
    c->bytes[dir] += n;
    if (c->skipped || c->upgraded || c->h->err)
        return;
    if (!c->sniffed[dir] && n) {
        /* a TLS, HTTP/2, Redis ... connection is named and left alone */
        c->sniffed[dir] = 1;
        enum proto_kind k = PROTO_UNKNOWN;
        if (!c->s[0].synced && !c->s[1].synced &&
            (k = proto_sniff(p, n, dir == CAP_DIR_C2S)) != PROTO_UNKNOWN) {
            mark_unparsable(c, k);
            return;
        }
    }
    struct http_stream *s = &c->s[dir];
    struct http_event ev;
    http_stream_packet_start(s);
    do {
        if (dir == CAP_DIR_S2C) /* a response to HTTP/0.9 has no head */
            s->expect_http09 = c->ecount && !c->skip_resp &&
                               ent_at(c, 0)->http09 &&
                               !ent_at(c, 0)->resp_started;
        int wire = dir == CAP_DIR_C2S && c->req_wire;
        size_t k = http_stream_feed(s, p, n, ts_us, &ev);
        if (wire && k && c->req_mode == REQ_ENTRY) {
            /* a chunked request body is kept with its framing, so a replay
             * can send it as it was (chunk lines, extensions, trailers) */
            struct entry *e = req_entry(c);
            put_body(c, e, &e->req, p, k, CORPUS_EX_REQ_TRUNCATED);
        }
        p += k;
        n -= k;
        if (ev.type == HTTP_EV_NONE)
            continue;
        if (dir == CAP_DIR_C2S)
            req_event(c, &ev);
        else
            resp_event(c, &ev);
        if (c->skipped || c->upgraded)
            break;
    } while (n > 0 || ev.type != HTTP_EV_NONE);
    hbuf_acct(c, dir);
}

/* A head cut short by a gap or the end of the stream is still a message
 * (it ends incomplete right after): a request seen is never dropped. */
static void flush_partial(struct conn *c, enum cap_dir dir)
{
    if (!http_stream_partial_head(&c->s[dir]))
        return;
    if (dir == CAP_DIR_C2S)
        req_head(c);
    else
        resp_head(c);
}

static void op_gap(void *ctx, void *cv, enum cap_dir dir, uint64_t lost,
                   int64_t ts_us)
{
    struct conn *c = cv;
    (void)ctx;
    if (!c || (dir != CAP_DIR_C2S && dir != CAP_DIR_S2C))
        return;
    if (ts_us > c->last_us)
        c->last_us = ts_us;
    if (c->skipped || c->upgraded)
        return;
    int synced = c->s[dir].synced;
    flush_partial(c, dir);
    http_stream_gap(&c->s[dir]);
    if (dir == CAP_DIR_C2S) {
        int idle = c->req_mode == REQ_NONE;
        req_end(c, 0);
        if (!idle || !(synced || c->ci.saw_syn) || !lost)
            return;
        /* Between requests, lost bytes start a request. Its response, if
         * seen already, went by as an orphan; else a ghost entry takes it
         * (or the server gap that lost it too), keeping later pairs right. */
        c->h->st.requests_in_gaps++;
        if (c->orphans) {
            c->orphans--;
        } else if (c->ecount < FIFO_MAX) {
            struct entry *e = ent_push(c);
            if (e) {
                e->ghost = 1;
                e->req_done = 1;
                e->req.first_us = ts_us;
            }
        }
        return;
    }
    if (c->resp_mode == RESP_ENTRY || c->resp_mode == RESP_GHOST) {
        resp_end(c, 0);
    } else if (c->resp_mode == RESP_NONE) {
        struct entry *e = c->ecount ? ent_at(c, 0) : NULL;
        if (c->skip_resp) {
            c->skip_resp--; /* the lost one was to be skipped anyway */
        } else if (e && !e->resp_done && e->req_done) {
            e->resp_started = 1; /* its response was in the gap */
            e->status = 0;
            msg_reset(c, &e->resp);
            put_str(&e->resp, 0, "", 0);
            e->resp.hdr_off = e->resp.body_off = e->resp.b.len;
            e->resp.first_us = e->resp.last_us = ts_us;
            e->flags |= CORPUS_EX_RESP_INCOMPLETE;
            e->resp_done = 1;
            msg_acct(c, &e->resp);
            try_write(c);
        }
    }
    c->resp_mode = RESP_NONE;
    c->resp_upgrade = 0;
}

static void op_fin(void *ctx, void *cv, enum cap_dir dir, int64_t ts_us)
{
    struct conn *c = cv;
    (void)ctx;
    if (!c || (dir != CAP_DIR_C2S && dir != CAP_DIR_S2C))
        return;
    if (ts_us > c->last_us)
        c->last_us = ts_us;
    if (c->skipped || c->upgraded)
        return;
    flush_partial(c, dir);
    int r = http_stream_fin(&c->s[dir]);
    if (dir == CAP_DIR_C2S) {
        if (c->req_mode != REQ_NONE)
            req_end(c, r > 0);
    } else if (c->resp_mode != RESP_NONE) {
        resp_end(c, r > 0);
    }
}

static void op_close(void *ctx, void *cv, enum cap_close_reason why,
                     int64_t ts_us)
{
    struct conn *c = cv;
    struct cap_http *h = ctx;
    if (!c)
        return;
    if (ts_us > c->last_us && (why == CAP_CLOSE_FIN || why == CAP_CLOSE_RST))
        c->last_us = ts_us;
    int http = http_stream_looks_http(&c->s[0]) ||
               http_stream_looks_http(&c->s[1]);
    /* without FIN or RST from the server a close-delimited body may go on:
     * it is cut short, not complete */
    if (why != CAP_CLOSE_FIN && why != CAP_CLOSE_RST && !c->skipped &&
        !c->upgraded && c->resp_mode == RESP_ENTRY &&
        c->s[CAP_DIR_S2C].in_msg &&
        c->s[CAP_DIR_S2C].body_kind == HTTP_BODY_CLOSE)
        resp_end(c, 0);
    op_fin(ctx, c, CAP_DIR_C2S, ts_us);
    op_fin(ctx, c, CAP_DIR_S2C, ts_us);
    while (c->ecount) {
        write_entry(c, ent_at(c, 0));
        ent_pop(c);
    }
    if (!c->skipped && !c->upgraded && !http && (c->bytes[0] || c->bytes[1]))
        mark_unparsable(c, PROTO_OTHER);
    h->st.unframed_bytes += c->s[0].skipped_bytes + c->s[1].skipped_bytes;
    if (c->conn_id && !h->err)
        h->err = corpus_connection_end(h->c, c->conn_id,
                                       c->last_us ? c->last_us : ts_us,
                                       h->errmsg);
    http_stream_cleanup(&c->s[0]);
    http_stream_cleanup(&c->s[1]);
    mem_add(c, -c->mem_bytes);
    for (uint32_t i = 0; i < c->ecap; i++) {
        rp_buf_cleanup(&c->ents[i].req.b);
        rp_buf_cleanup(&c->ents[i].resp.b);
    }
    free(c->ents);
    free(c);
}

static uint64_t op_memory(void *ctx)
{
    return cap_http_memory_bytes(ctx);
}

static const struct cap_stream_ops http_ops = {
    .open = op_open,
    .data = op_data,
    .gap = op_gap,
    .fin = op_fin,
    .close = op_close,
    .memory_bytes = op_memory,
};

const struct cap_stream_ops *cap_http_ops(void) { return &http_ops; }

/* ---- the layer ----------------------------------------------------------- */

struct cap_http *cap_http_new(struct corpus *c, int64_t capture_id,
                              const struct cap_http_opts *opts)
{
    struct cap_http *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->c = c;
    h->capture_id = capture_id;
    h->max_body = opts ? opts->max_body_bytes : DEFAULT_MAX_BODY;
    uint64_t mm = opts && opts->max_memory_bytes ? opts->max_memory_bytes
                                                 : DEFAULT_MAX_MEMORY;
    h->queue_budget = (int64_t)(mm / 2 < INT64_MAX ? mm / 2 : INT64_MAX);
    int defaults = opts ? opts->redact : 1;
    const char *const *rh = opts ? opts->redact_headers : NULL;
    const char *const *rq = opts ? opts->redact_query : NULL;
    if (defaults || (rh && rh[0]) || (rq && rq[0])) {
        h->red = cap_redact_new(defaults, rh, rq);
        if (!h->red) {
            free(h);
            return NULL;
        }
    }
    /* a failure only means no correlations are learned */
    h->learn = cap_learn_new(h->red, h->red != NULL);
    return h;
}

int cap_http_write_links(struct cap_http *h, uint64_t *count, char *err)
{
    *count = 0;
    if (!h->learn)
        return 0;
    int r = corpus_flush(h->c, err); /* the exchanges the links name */
    if (!r)
        r = cap_learn_write(h->learn, h->c, err);
    if (!r)
        *count = cap_learn_count(h->learn, NULL);
    return r;
}

int cap_http_error(const struct cap_http *h, char *err)
{
    if (h->err && err)
        memcpy(err, h->errmsg, RP_ERRLEN);
    return h->err;
}

uint64_t cap_http_memory_bytes(const struct cap_http *h)
{
    return h->mem_bytes > 0 ? (uint64_t)h->mem_bytes : 0;
}

void cap_http_stats(const struct cap_http *h, struct cap_http_stats *out)
{
    *out = h->st;
}

void cap_http_free(struct cap_http *h)
{
    if (!h)
        return;
    cap_learn_free(h->learn);
    cap_redact_free(h->red); /* wipes the key */
    free(h);
}

/* ---- sniffing ------------------------------------------------------------ */

int cap_http_looks_like_request(const uint8_t *p, size_t n)
{
    for (size_t i = 1; i < n && i <= 11; i++)
        if (p[i] == ' ')
            return http_method_known((const char *)p, i);
    return 0;
}

int cap_http_looks_like_response(const uint8_t *p, size_t n)
{
    return n >= 12 && p[5] == '1' && http_start_check(p, n, 0) == 1;
}
