/*
 * wire.c: the capture layer for Redis, PostgreSQL and generic turn-taking
 * TCP (see wire.h for what an exchange is in each). Each connection keeps
 * one framer per direction (proto/resp, proto/pgwire; none for tcp), the
 * bytes of the unit being read in each direction, and a FIFO of request
 * units waiting for their replies; a reply completes the oldest unit, which
 * is then written. Bytes are kept up to --max-body per unit (the rest is
 * counted, the exchange flagged truncated). A framing error or a gap ends
 * framing on the connection: what is queued is written as incomplete and
 * later bytes are counted as unframed, so nothing seen is lost without a
 * count.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capture/redact.h"
#include "capture/wire.h"
#include "common/buf.h"
#include "common/rp.h"
#include "proto/pgwire.h"
#include "proto/resp.h"

#define FIFO_MAX 4096u               /* request units waiting per connection */
#define DEFAULT_MAX_BODY (1u << 20)
#define DEFAULT_MAX_MEMORY (512ull << 20)
#define MAX_ARGS 64                  /* arguments looked at for secrets */
#define MAX_STMTS 512                /* prepared statements named per conn */
#define SQL_MAX 2048                 /* normalised statement kept */
#define NAME_MAX_LEN 64

/* The bytes of one unit in one direction. */
struct unit {
    struct rp_buf b;         /* kept bytes (capped) */
    uint64_t wire;           /* bytes on the wire */
    int64_t first_us, last_us;
    int trunc;               /* b stopped short of the wire bytes */
    int gap;                 /* bytes of it were lost (tcp: a capture gap) */
    int started;
};

/* A request unit waiting for its reply. */
struct req {
    struct unit u;
    char method[NAME_MAX_LEN];
    char *target;            /* malloc'd, may be NULL */
    uint32_t flags;
    int subscribe;           /* redis: a (P|S)SUBSCRIBE family command */
};

struct stmt {
    char *name;              /* malloc'd */
    char *sql;               /* malloc'd, normalised */
};

struct conn {
    struct cap_wire *w;
    struct cap_conn_info ci;
    enum cap_wire_proto proto;
    int64_t conn_id, next_seq, last_us;
    int broken;              /* framing ended on this connection */
    /* framers */
    struct resp_reader rr[2];
    struct pg_reader pr[2];
    size_t msg_off[2];       /* where the message being read starts in the
                                unit buffer (client: cur, server: reply) */
    /* the unit being read from the client, and the reply being read */
    struct unit cur;
    struct unit reply;
    int reply_err;
    char reason[64];
    /* the FIFO */
    struct req **q;
    uint32_t qhead, qn;
    uint64_t skip_replies;   /* replies whose requests were written early */
    /* redis */
    int resp3, subscribed;
    /* postgres */
    int pg_phase;            /* 0 unknown, 1 startup, 2 ready */
    char *unit_sql;          /* endpoint of the extended unit being read */
    char unit_method[NAME_MAX_LEN];
    int unit_bound;
    int unit_secret;         /* the unit sets a password: not kept */
    struct stmt *stmts;
    int nstmts;
    /* tcp: 0 idle, 1 client speaking, 2 server speaking */
    int turn;
};

struct cap_wire {
    struct corpus *c;
    int64_t capture_id;
    uint64_t max_body;
    int redact;              /* 0 with --no-redact */
    int64_t mem_budget;
    int64_t mem_bytes;
    struct cap_redact *red;
    struct cap_wire_stats st;
    int err;
    char errmsg[RP_ERRLEN];
};

/* ---- units ------------------------------------------------------------- */

static void unit_init(struct unit *u)
{
    memset(u, 0, sizeof *u);
    rp_buf_init(&u->b, 0);
}

static void unit_reset(struct unit *u)
{
    rp_buf_reset(&u->b);
    u->wire = 0;
    u->first_us = u->last_us = 0;
    u->trunc = 0;
    u->started = 0;
}

static void unit_add(struct cap_wire *w, struct unit *u, const uint8_t *p,
                     size_t n, int64_t ts_us)
{
    if (!u->started) {
        u->started = 1;
        u->first_us = ts_us;
    }
    u->last_us = ts_us;
    u->wire += n;
    size_t room = u->b.len < w->max_body ? w->max_body - u->b.len : 0;
    size_t k = n < room ? n : room;
    if (k) {
        size_t cap0 = u->b.cap;
        if (rp_buf_append(&u->b, p, k))
            k = 0;
        w->mem_bytes += (int64_t)u->b.cap - (int64_t)cap0;
    }
    if (k < n)
        u->trunc = 1;
}

/* Drops the bytes from off on (a message that must not be kept). */
static void unit_cut(struct unit *u, size_t off)
{
    if (off < u->b.len)
        u->b.len = off;
}

/* ---- writing ------------------------------------------------------------ */

/* The stored body is the unit's bytes; its size is theirs when they are
 * whole (a secret's marker can make them longer than the wire's, as for
 * HTTP: SCHEMA.md), else the wire's. Returns 1 when cut to max_body. */
static int put_msg(struct corpus_msg *m, const struct unit *u,
                   uint64_t max_body)
{
    int cut = u->b.len > max_body;
    m->body = u->b.len ? (const uint8_t *)u->b.data : NULL;
    m->body_len = cut ? max_body : u->b.len;
    m->body_size = u->trunc || cut ? (u->wire > u->b.len ? u->wire : u->b.len)
                                   : u->b.len;
    m->wire_bytes = u->wire;
    m->first_us = u->first_us;
    m->last_us = u->last_us;
    return cut;
}

static const char *proto_version(const struct conn *c)
{
    switch (c->proto) {
    case CAP_WIRE_REDIS:
        return c->resp3 ? "RESP3" : "RESP2";
    case CAP_WIRE_PG:
        return "PG3";
    default:
        return "TCP";
    }
}

/* Writes request r with the reply being read (have_reply) or none. */
static void write_req(struct conn *c, struct req *r, int have_reply,
                      int complete)
{
    struct cap_wire *w = c->w;
    if (w->err)
        return;
    if (!c->conn_id) {
        struct corpus_conn cc = {
            .capture_id = w->capture_id,
            .client_addr = c->ci.client_addr,
            .client_port = c->ci.client_port,
            .server_addr = c->ci.server_addr,
            .server_port = c->ci.server_port,
            .first_us = c->ci.first_us,
        };
        if ((w->err = corpus_add_connection(w->c, &cc, &c->conn_id,
                                            w->errmsg)))
            return;
    }
    struct corpus_exchange ex;
    memset(&ex, 0, sizeof ex);
    ex.capture_id = w->capture_id;
    ex.conn_id = c->conn_id;
    ex.seq = c->next_seq++;
    ex.method = r->method;
    ex.target = r->target ? r->target : "";
    ex.host = "";
    ex.version = proto_version(c);
    ex.flags = r->flags;
    if (put_msg(&ex.req, &r->u, w->max_body) || r->u.trunc)
        ex.flags |= CORPUS_EX_REQ_TRUNCATED;
    if (r->u.gap)
        ex.flags |= CORPUS_EX_REQ_INCOMPLETE;
    if (have_reply && c->reply.started) {
        ex.status = c->reply_err ? 500 : 200;
        ex.reason = c->reason[0] ? c->reason : NULL;
        if (put_msg(&ex.resp, &c->reply, w->max_body) || c->reply.trunc)
            ex.flags |= CORPUS_EX_RESP_TRUNCATED;
        if (!complete || c->reply.gap)
            ex.flags |= CORPUS_EX_RESP_INCOMPLETE;
    } else {
        ex.flags |= CORPUS_EX_NO_RESPONSE;
    }
    int64_t id;
    if ((w->err = corpus_add_exchange(w->c, &ex, &id, w->errmsg)))
        return;
    w->st.exchanges++;
    if (ex.flags & (CORPUS_EX_REQ_INCOMPLETE | CORPUS_EX_RESP_INCOMPLETE))
        w->st.incomplete++;
    if (ex.flags & CORPUS_EX_NO_RESPONSE)
        w->st.no_response++;
}

static void req_free(struct cap_wire *w, struct req *r)
{
    if (!r)
        return;
    w->mem_bytes -= (int64_t)r->u.b.cap + (int64_t)sizeof *r;
    rp_buf_cleanup(&r->u.b);
    free(r->target);
    free(r);
}

static struct req *q_at(struct conn *c, uint32_t i)
{
    return c->q[(c->qhead + i) % FIFO_MAX];
}

static void q_pop_free(struct conn *c)
{
    struct req *r = q_at(c, 0);
    c->q[c->qhead] = NULL;
    c->qhead = (c->qhead + 1) % FIFO_MAX;
    c->qn--;
    req_free(c->w, r);
}

static void reply_reset(struct conn *c)
{
    unit_reset(&c->reply);
    c->reply_err = 0;
    c->reason[0] = '\0';
    c->msg_off[CAP_DIR_S2C] = 0;
}

/* Queues the client unit c->cur as a request named method/target (target
 * malloc'd or NULL, taken). */
static void queue_cur(struct conn *c, const char *method, char *target,
                      uint32_t flags)
{
    struct cap_wire *w = c->w;
    w->st.requests++;
    struct req *r = calloc(1, sizeof *r);
    if (!r || (!c->q && !(c->q = calloc(FIFO_MAX, sizeof *c->q)))) {
        free(r);
        free(target);
        w->st.lost_no_memory++;
        unit_reset(&c->cur);
        return;
    }
    if (c->qn == FIFO_MAX || (c->qn && w->mem_bytes > w->mem_budget)) {
        /* the oldest goes without its reply, which is then skipped */
        write_req(c, q_at(c, 0), 0, 0);
        q_pop_free(c);
        c->skip_replies++;
    }
    r->u = c->cur; /* takes the buffer */
    unit_init(&c->cur);
    snprintf(r->method, sizeof r->method, "%s", method);
    r->target = target;
    r->flags = flags;
    w->mem_bytes += (int64_t)sizeof *r;
    c->q[(c->qhead + c->qn) % FIFO_MAX] = r;
    c->qn++;
    c->msg_off[CAP_DIR_C2S] = 0;
}

/* The reply being read is complete (or cut short): pairs it. */
static void reply_done(struct conn *c, int complete)
{
    if (c->skip_replies) {
        c->skip_replies--;
    } else if (c->qn) {
        write_req(c, q_at(c, 0), 1, complete);
        q_pop_free(c);
    } else {
        c->w->st.unpaired_responses++;
    }
    reply_reset(c);
}

/* Writes what is queued as it stands: the oldest with the reply being
 * read, if any, cut short. */
static void flush_queue(struct conn *c)
{
    int first = 1;
    while (c->qn) {
        struct req *r = q_at(c, 0);
        write_req(c, r, first && c->reply.started, 0);
        first = 0;
        q_pop_free(c);
    }
    reply_reset(c);
}

/* Ends framing: what is queued is written as it stands. */
static void break_conn(struct conn *c, int malformed)
{
    if (c->broken)
        return;
    c->broken = 1;
    if (malformed)
        c->w->st.malformed++;
    if (c->cur.started && c->cur.b.len) { /* a request cut short */
        char m[NAME_MAX_LEN] = "(incomplete)";
        /* its secrets could not be found: nothing of it is kept */
        if (c->proto != CAP_WIRE_TCP && c->w->redact) {
            unit_cut(&c->cur, 0);
            c->cur.trunc = 1;
        }
        queue_cur(c, m, NULL, CORPUS_EX_REQ_INCOMPLETE |
                               (malformed ? CORPUS_EX_MALFORMED : 0));
    } else {
        unit_reset(&c->cur);
    }
    flush_queue(c);
}

/* ---- redis --------------------------------------------------------------- */

static int ieq(const struct resp_arg *a, const char *s)
{
    size_t n = strlen(s);
    if (a->n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (toupper(a->p[i]) != (unsigned char)s[i])
            return 0;
    return 1;
}

/* 1 for the commands whose arguments may hold a secret
 * (resp_arg_is_secret): such a command that cannot be looked at whole is
 * not kept at all. */
static int may_carry_secret(const char *name)
{
    static const char *const words[] = {"AUTH", "HELLO", "MIGRATE",
                                        "CONFIG", "ACL"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i]);
        if (!strncmp(name, words[i], n) && (!name[n] || name[n] == ' '))
            return 1;
    }
    return 0;
}

/* The command in c->cur[msg_off..] is complete. */
static void redis_command(struct conn *c, const struct resp_msg *m)
{
    struct cap_wire *w = c->w;
    /* blank lines the server ignores came before it: not part of it (the
     * wire bytes still count them) */
    if (m->skipped && m->skipped <= c->cur.b.len) {
        memmove(c->cur.b.data, c->cur.b.data + m->skipped,
                c->cur.b.len - m->skipped);
        c->cur.b.len -= m->skipped;
    } else if (m->skipped) {
        c->cur.b.len = 0; /* all cut: the command was cut short too */
    }
    const uint8_t *msg = (const uint8_t *)c->cur.b.data;
    size_t n = c->cur.b.len;
    struct resp_arg argv[MAX_ARGS];
    int argc = 0, whole = !c->cur.trunc;
    char name[NAME_MAX_LEN], detail[NAME_MAX_LEN];
    if (whole && resp_split_command(msg, n, argv, MAX_ARGS, &argc) == 0 &&
        argc > 0) {
        resp_command_name(argv, argc < MAX_ARGS ? argc : MAX_ARGS, name,
                          sizeof name, detail, sizeof detail);
    } else {
        argc = 0;
        size_t i = 0;
        for (; m->first[i] && i + 1 < sizeof name; i++)
            name[i] = (char)toupper((unsigned char)m->first[i]);
        name[i] = '\0';
        detail[0] = '\0';
    }
    if (!name[0])
        snprintf(name, sizeof name, "(empty)");
    int nargs = argc < MAX_ARGS ? argc : MAX_ARGS, dropped = 0;
    if (w->redact && (argc == 0 || argc > MAX_ARGS) &&
        may_carry_secret(name)) {
        /* cut short or too long to look at whole: nothing of it is kept */
        size_t cap0 = c->cur.b.cap;
        rp_buf_cleanup(&c->cur.b);
        rp_buf_init(&c->cur.b, 0);
        w->mem_bytes -= (int64_t)cap0;
        c->cur.trunc = 1;
        w->st.secrets++;
        dropped = 1;
    }
    /* what the command does to the connection, read before a rewrite
     * moves the bytes argv points into */
    int sub = nargs && (ieq(&argv[0], "SUBSCRIBE") ||
                        ieq(&argv[0], "PSUBSCRIBE") ||
                        ieq(&argv[0], "SSUBSCRIBE") ||
                        ieq(&argv[0], "UNSUBSCRIBE") ||
                        ieq(&argv[0], "PUNSUBSCRIBE") ||
                        ieq(&argv[0], "SUNSUBSCRIBE"));
    if (sub && !c->resp3 && !ieq(&argv[0], "UNSUBSCRIBE") &&
        !ieq(&argv[0], "PUNSUBSCRIBE") && !ieq(&argv[0], "SUNSUBSCRIBE"))
        c->subscribed = 1;
    if (nargs >= 2 && ieq(&argv[0], "HELLO") && argv[1].n == 1 &&
        argv[1].p[0] == '3')
        c->resp3 = 2; /* 2: asked; 1 once the reply is not an error */
    int secret = 0;
    for (int i = 0; i < nargs; i++)
        secret |= w->redact && resp_arg_is_secret(argv, nargs, i);
    uint32_t flags = dropped ? CORPUS_EX_REDACTED : 0;
    if (secret) { /* rewrite the command with markers */
        struct rp_buf out;
        rp_buf_init(&out, 0);
        char mk[MAX_ARGS][CAP_REDACT_MARKER_MAX];
        struct resp_arg a2[MAX_ARGS];
        for (int i = 0; i < nargs; i++) {
            a2[i] = argv[i];
            if (resp_arg_is_secret(argv, nargs, i)) {
                size_t k = cap_redact_marker(w->red, argv[i].p, argv[i].n,
                                             mk[i]);
                a2[i].p = (const uint8_t *)mk[i];
                a2[i].n = k;
                w->st.secrets++;
            }
        }
        size_t cap0 = c->cur.b.cap;
        rp_buf_reset(&c->cur.b);
        if (argc > MAX_ARGS || resp_write_command(&out, a2, nargs) ||
            rp_buf_append(&c->cur.b, out.data, out.len))
            c->cur.trunc = 1; /* cannot rewrite: keep nothing of it */
        w->mem_bytes += (int64_t)c->cur.b.cap - (int64_t)cap0;
        rp_buf_cleanup(&out);
        flags |= CORPUS_EX_REDACTED;
    }
    char *target = detail[0] ? strdup(detail) : NULL;
    queue_cur(c, name, target, flags);
    if (c->qn && sub)
        q_at(c, c->qn - 1)->subscribe = 1;
}

/* 1 when a complete server message is not a reply. */
static int redis_is_push(struct conn *c, const struct resp_msg *m)
{
    if (m->push) /* RESP3: a subscribe confirmation answers its command */
        return !(strstr(m->first, "subscribe") && c->qn &&
                 q_at(c, 0)->subscribe);
    if (!c->subscribed || m->type != '*')
        return 0;
    const char *f = m->first;
    if (!strcmp(f, "message") || !strcmp(f, "pmessage") ||
        !strcmp(f, "smessage"))
        return 1;
    if (strstr(f, "subscribe")) /* a confirmation: the first answers */
        return !(c->qn && q_at(c, 0)->subscribe);
    return 0;
}

static void redis_reply(struct conn *c, const struct resp_msg *m)
{
    if (redis_is_push(c, m)) {
        c->w->st.pushes++;
        unit_cut(&c->reply, c->msg_off[CAP_DIR_S2C]);
        if (c->reply.b.len == 0 && !c->reply.trunc)
            reply_reset(c);
        return;
    }
    if (m->type == '-' || m->type == '!') {
        c->reply_err = 1;
        snprintf(c->reason, sizeof c->reason, "%s", m->first);
    }
    if (c->qn && c->resp3 == 2 && !strcmp(q_at(c, 0)->method, "HELLO"))
        c->resp3 = c->reply_err ? 0 : 1;
    reply_done(c, 1);
}

/* ---- postgres ------------------------------------------------------------ */

static const char *stmt_find(const struct conn *c, const char *name)
{
    for (int i = 0; i < c->nstmts; i++)
        if (!strcmp(c->stmts[i].name, name))
            return c->stmts[i].sql;
    return NULL;
}

static void stmt_put(struct conn *c, const char *name, const char *sql)
{
    for (int i = 0; i < c->nstmts; i++)
        if (!strcmp(c->stmts[i].name, name)) {
            char *s = strdup(sql);
            if (s) {
                free(c->stmts[i].sql);
                c->stmts[i].sql = s;
            }
            return;
        }
    if (c->nstmts == MAX_STMTS)
        return;
    if (!c->stmts && !(c->stmts = calloc(MAX_STMTS, sizeof *c->stmts)))
        return;
    char *n = strdup(name), *s = strdup(sql);
    if (!n || !s) {
        free(n);
        free(s);
        return;
    }
    c->stmts[c->nstmts].name = n;
    c->stmts[c->nstmts].sql = s;
    c->nstmts++;
}

/* Splits a normalised statement into its first keyword (upper-cased) and
 * the rest; queues c->cur with them. */
static void pg_queue(struct conn *c, const char *sql, const char *prefix)
{
    char method[NAME_MAX_LEN];
    if (c->unit_secret) { /* CREATE/ALTER ROLE ... PASSWORD '...' */
        unit_cut(&c->cur, 0);
        c->cur.trunc = 1;
        c->unit_secret = 0;
        c->w->st.secrets++;
    }
    size_t i = 0;
    const char *p = sql ? sql : "";
    if (prefix) {
        snprintf(method, sizeof method, "%s", prefix);
    } else {
        while (*p && (isalpha((unsigned char)*p) || *p == '_') &&
               i + 1 < sizeof method)
            method[i++] = (char)toupper((unsigned char)*p++);
        method[i] = '\0';
        if (!i)
            snprintf(method, sizeof method, "%s", *p ? "SQL" : "(empty)");
        while (*p == ' ')
            p++;
    }
    queue_cur(c, method, *p ? strdup(p) : NULL, 0);
}

/* 1 when a statement may carry a password in clear (the word PASSWORD:
 * CREATE ROLE, ALTER USER ... PASSWORD 'x'), or is cut short, so that
 * cannot be told. */
static int sql_has_password(const char *sql, size_t n, int whole)
{
    if (!whole)
        return 1;
    for (size_t i = 0; i + 8 <= n; i++)
        if (!strncasecmp(sql + i, "password", 8) &&
            (i == 0 || !isalnum((unsigned char)sql[i - 1])) &&
            (i + 8 == n || !isalnum((unsigned char)sql[i + 8])))
            return 1;
    return 0;
}

static char *normalise(const char *sql, size_t n)
{
    char *out = malloc(SQL_MAX);
    if (out)
        pg_normalize(sql, n, out, SQL_MAX);
    return out;
}

static void pg_client_msg(struct conn *c, const struct pg_msg *m)
{
    struct cap_wire *w = c->w;
    size_t off = c->msg_off[CAP_DIR_C2S];
    const uint8_t *msg = (const uint8_t *)c->cur.b.data + off;
    size_t n = c->cur.b.len > off ? c->cur.b.len - off : 0;
    int whole = n == m->bytes;
    if (m->type == 0) { /* startup phase: nothing of it is stored */
        if (m->code == PG_CODE_STARTUP) {
            c->pg_phase = 1;
            w->st.startups++;
        } else if (m->code == PG_CODE_SSL || m->code == PG_CODE_GSSENC) {
            pg_reader_expect_answer(&c->pr[CAP_DIR_S2C]);
        }
        unit_reset(&c->cur);
        c->msg_off[CAP_DIR_C2S] = 0;
        return;
    }
    if (!c->pg_phase)
        c->pg_phase = 2; /* the capture began after the startup */
    switch (m->type) {
    case 'p': /* a password or SASL message: never stored */
        unit_cut(&c->cur, off);
        c->cur.wire -= m->bytes;
        if (!c->cur.b.len && !c->cur.wire)
            unit_reset(&c->cur);
        break;
    case 'd':
    case 'c':
    case 'f': /* COPY data goes with the query in flight */
        if (c->qn) {
            struct req *r = q_at(c, c->qn - 1);
            unit_add(w, &r->u, msg, n, c->cur.last_us);
            r->u.wire += m->bytes - n;
            unit_reset(&c->cur);
        }
        break;
    case 'X': /* Terminate */
        unit_reset(&c->cur);
        break;
    case 'Q': {
        const char *sql;
        size_t len;
        int ok = whole && !pg_msg_query(msg, n, &sql, &len);
        c->unit_secret |= c->w->redact &&
                          sql_has_password(ok ? sql : "", ok ? len : 0, ok);
        char *norm = ok ? normalise(sql, len) : NULL;
        pg_queue(c, norm, norm ? NULL : "QUERY");
        free(norm);
        break;
    }
    case 'F':
        pg_queue(c, NULL, "FUNCTION CALL");
        break;
    case 'P': {
        const char *stmt, *sql;
        size_t len;
        int ok = whole && !pg_msg_parse(msg, n, &stmt, &sql, &len);
        c->unit_secret |= c->w->redact &&
                          sql_has_password(ok ? sql : "", ok ? len : 0, ok);
        if (ok) {
            char *norm = normalise(sql, len);
            if (norm) {
                stmt_put(c, stmt, norm);
                if (!c->unit_sql) {
                    c->unit_sql = norm;
                    snprintf(c->unit_method, sizeof c->unit_method,
                             "PREPARE");
                } else {
                    free(norm);
                }
            }
        }
        break;
    }
    case 'B': {
        const char *portal, *stmt;
        if (!c->unit_bound && whole && !pg_msg_bind(msg, n, &portal, &stmt)) {
            const char *sql = stmt_find(c, stmt);
            c->unit_bound = 1;
            free(c->unit_sql);
            c->unit_sql = sql ? strdup(sql) : NULL;
            c->unit_method[0] = '\0';
            if (!sql)
                snprintf(c->unit_method, sizeof c->unit_method, "EXECUTE");
        }
        break;
    }
    case 'S': /* Sync ends an extended-query unit */
        pg_queue(c, c->unit_sql, c->unit_method[0] ? c->unit_method
                                 : (c->unit_sql ? NULL : "SYNC"));
        free(c->unit_sql);
        c->unit_sql = NULL;
        c->unit_method[0] = '\0';
        c->unit_bound = 0;
        break;
    default: /* D E C H: part of the unit */
        break;
    }
    c->msg_off[CAP_DIR_C2S] = c->cur.b.len;
}

static void pg_server_msg(struct conn *c, const struct pg_msg *m)
{
    struct cap_wire *w = c->w;
    size_t off = c->msg_off[CAP_DIR_S2C];
    const uint8_t *msg = (const uint8_t *)c->reply.b.data + off;
    size_t n = c->reply.b.len > off ? c->reply.b.len - off : 0;
    int whole = n == m->bytes;
    if (m->answer) { /* to SSLRequest / GSSENCRequest */
        reply_reset(c);
        if (m->answer == 'N') {
            pg_reader_expect_untyped(&c->pr[CAP_DIR_C2S]);
        } else {
            w->st.tls++;
            break_conn(c, 0); /* TLS follows: nothing more can be read */
        }
        return;
    }
    if (c->pg_phase == 1) { /* startup and authentication: not stored */
        if (m->type == 'Z')
            c->pg_phase = 2;
        reply_reset(c);
        return;
    }
    if (!c->pg_phase)
        c->pg_phase = 2;
    switch (m->type) {
    case 'N':
    case 'S':
    case 'A': /* asynchronous: not part of the reply */
        unit_cut(&c->reply, off);
        break;
    case 'E':
        c->reply_err = 1;
        if (whole) {
            char state[6];
            const char *t;
            size_t tl;
            if (!pg_msg_error(msg, n, state, &t, &tl))
                snprintf(c->reason, sizeof c->reason, "%s", state);
        }
        break;
    case 'C':
        if (whole && !c->reply_err) {
            const char *tag;
            size_t tl;
            if (!pg_msg_command_tag(msg, n, &tag, &tl))
                snprintf(c->reason, sizeof c->reason, "%.*s",
                         (int)(tl < 63 ? tl : 63), tag);
        }
        break;
    case 'G':
    case 'H':
        w->st.copies++;
        break;
    case 'Z':
        reply_done(c, 1);
        return;
    default:
        break;
    }
    c->msg_off[CAP_DIR_S2C] = c->reply.b.len;
    /* before any reply: a ParameterStatus or notification is no part of
     * one, nor a notice when nothing was asked; a notice the query caused
     * ("table does not exist, skipping") starts its reply */
    if (!c->reply.b.len && !c->reply.trunc &&
        (m->type == 'S' || m->type == 'A' || (m->type == 'N' && !c->qn)))
        reply_reset(c);
}

/* ---- tcp ----------------------------------------------------------------- */

static void tcp_method(const struct unit *u, char *out, size_t cap)
{
    size_t i = 0;
    const uint8_t *p = (const uint8_t *)u->b.data;
    while (i < u->b.len && i + 1 < cap &&
           (isalnum(p[i]) || p[i] == '_' || p[i] == '-' || p[i] == '.'))
        out[i] = (char)p[i], i++;
    out[i] = '\0';
    if (!i)
        snprintf(out, cap, "%s", u->wire ? "(binary)" : "(banner)");
}

static void tcp_data(struct conn *c, enum cap_dir dir, const uint8_t *p,
                     size_t n, int64_t ts_us)
{
    if (dir == CAP_DIR_C2S) {
        if (c->turn == 2)
            reply_done(c, 1);
        c->turn = 1;
        unit_add(c->w, &c->cur, p, n, ts_us);
        return;
    }
    if (c->turn != 2) {
        char m[NAME_MAX_LEN];
        if (!c->cur.started) { /* a banner: the server speaks first */
            c->cur.started = 1;
            c->cur.first_us = c->cur.last_us = ts_us;
        }
        tcp_method(&c->cur, m, sizeof m);
        queue_cur(c, m, NULL, 0); /* an empty one before a banner */
        c->turn = 2;
    }
    unit_add(c->w, &c->reply, p, n, ts_us);
}

/* ---- the stream callbacks ----------------------------------------------- */

static void *op_open(void *ctx, const struct cap_conn_info *ci)
{
    struct cap_wire *w = ctx;
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->w = w;
    c->ci = *ci;
    c->proto = CAP_WIRE_TCP;
    unit_init(&c->cur);
    unit_init(&c->reply);
    resp_reader_init(&c->rr[CAP_DIR_C2S], 1);
    resp_reader_init(&c->rr[CAP_DIR_S2C], 0);
    pg_reader_init(&c->pr[CAP_DIR_C2S], 1);
    pg_reader_init(&c->pr[CAP_DIR_S2C], 0);
    w->mem_bytes += (int64_t)sizeof *c;
    return c;
}

void cap_wire_set_proto(void *conn, enum cap_wire_proto p)
{
    struct conn *c = conn;
    if (c && p >= CAP_WIRE_REDIS && p <= CAP_WIRE_TCP) {
        c->proto = p;
        c->w->st.conns[p]++;
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
    if (c->w->err)
        return;
    if (c->broken) {
        c->w->st.unframed_bytes += n;
        return;
    }
    if (c->proto == CAP_WIRE_TCP) {
        tcp_data(c, dir, p, n, ts_us);
        return;
    }
    struct unit *u = dir == CAP_DIR_C2S ? &c->cur : &c->reply;
    while (n > 0 && !c->broken) {
        int done = 0;
        const char *why = NULL;
        long k;
        struct resp_msg rm;
        struct pg_msg pm;
        if (c->proto == CAP_WIRE_REDIS)
            k = resp_read(&c->rr[dir], p, n, &done, &rm, &why);
        else
            k = pg_read(&c->pr[dir], p, n, &done, &pm, &why);
        if (k < 0) {
            c->w->st.unframed_bytes += n;
            break_conn(c, 1);
            return;
        }
        if (k > 0)
            unit_add(c->w, u, p, (size_t)k, ts_us);
        p += k;
        n -= (size_t)k;
        if (!done) {
            if (k == 0)
                break; /* no progress: should not happen */
            continue;
        }
        if (c->proto == CAP_WIRE_REDIS) {
            if (dir == CAP_DIR_C2S)
                redis_command(c, &rm);
            else
                redis_reply(c, &rm);
            c->msg_off[dir] = dir == CAP_DIR_C2S ? 0 : c->reply.b.len;
        } else if (dir == CAP_DIR_C2S) {
            pg_client_msg(c, &pm);
        } else {
            pg_server_msg(c, &pm);
        }
    }
}

static void op_gap(void *ctx, void *cv, enum cap_dir dir, uint64_t lost,
                   int64_t ts_us)
{
    struct conn *c = cv;
    (void)ctx;
    (void)lost;
    if (!c)
        return;
    if (ts_us > c->last_us)
        c->last_us = ts_us;
    if (c->proto == CAP_WIRE_TCP) { /* the turn goes on, flagged */
        struct unit *u;
        if (dir == CAP_DIR_C2S) {
            if (c->turn == 2)
                reply_done(c, 1); /* the client spoke (in the gap) */
            c->turn = 1;
            u = &c->cur;
        } else {
            if (c->turn != 2) { /* the server's turn began in the gap */
                char m[NAME_MAX_LEN];
                tcp_method(&c->cur, m, sizeof m);
                if (!c->cur.started) {
                    c->cur.started = 1;
                    c->cur.first_us = c->cur.last_us = ts_us;
                }
                queue_cur(c, m, NULL, 0);
                c->turn = 2;
            }
            u = &c->reply;
        }
        u->gap = 1;
        if (!u->started) {
            u->started = 1;
            u->first_us = u->last_us = ts_us;
        }
        return;
    }
    break_conn(c, 0);
}

static void op_fin(void *ctx, void *cv, enum cap_dir dir, int64_t ts_us)
{
    (void)ctx;
    (void)cv;
    (void)dir;
    (void)ts_us;
}

static void op_close(void *ctx, void *cv, enum cap_close_reason why,
                     int64_t ts_us)
{
    struct conn *c = cv;
    struct cap_wire *w = ctx;
    (void)why;
    if (!c)
        return;
    if (c->proto == CAP_WIRE_TCP && c->turn == 2) {
        reply_done(c, 1);
    } else if (c->proto == CAP_WIRE_TCP && c->turn == 1) {
        char m[NAME_MAX_LEN];
        tcp_method(&c->cur, m, sizeof m);
        queue_cur(c, m, NULL, 0);
    }
    if (!c->broken)
        break_conn(c, 0);
    flush_queue(c); /* what came after framing ended, if anything */
    if (c->conn_id && !w->err)
        w->err = corpus_connection_end(w->c, c->conn_id,
                                       c->last_us ? c->last_us : ts_us,
                                       w->errmsg);
    w->mem_bytes -= (int64_t)c->cur.b.cap + (int64_t)c->reply.b.cap +
                    (int64_t)sizeof *c;
    rp_buf_cleanup(&c->cur.b);
    rp_buf_cleanup(&c->reply.b);
    free(c->q);
    free(c->unit_sql);
    for (int i = 0; i < c->nstmts; i++) {
        free(c->stmts[i].name);
        free(c->stmts[i].sql);
    }
    free(c->stmts);
    free(c);
}

static uint64_t op_memory(void *ctx)
{
    return cap_wire_memory_bytes(ctx);
}

static const struct cap_stream_ops wire_ops = {
    .open = op_open,
    .data = op_data,
    .gap = op_gap,
    .fin = op_fin,
    .close = op_close,
    .memory_bytes = op_memory,
};

const struct cap_stream_ops *cap_wire_ops(void) { return &wire_ops; }

/* ---- the layer ----------------------------------------------------------- */

struct cap_wire *cap_wire_new(struct corpus *c, int64_t capture_id,
                              const struct cap_wire_opts *opts)
{
    struct cap_wire *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->c = c;
    w->capture_id = capture_id;
    w->max_body = opts && opts->max_body_bytes ? opts->max_body_bytes
                                               : DEFAULT_MAX_BODY;
    w->redact = opts ? !opts->no_redact : 1;
    uint64_t mm = opts && opts->max_memory_bytes ? opts->max_memory_bytes
                                                 : DEFAULT_MAX_MEMORY;
    w->mem_budget = (int64_t)(mm / 2 < INT64_MAX ? mm / 2 : INT64_MAX);
    if (!(w->red = cap_redact_new(0, NULL, NULL))) {
        free(w);
        return NULL;
    }
    return w;
}

int cap_wire_error(const struct cap_wire *w, char *err)
{
    if (w->err && err)
        snprintf(err, RP_ERRLEN, "%s", w->errmsg);
    return w->err;
}

void cap_wire_stats(const struct cap_wire *w, struct cap_wire_stats *out)
{
    *out = w->st;
}

uint64_t cap_wire_memory_bytes(const struct cap_wire *w)
{
    return w->mem_bytes > 0 ? (uint64_t)w->mem_bytes : 0;
}

void cap_wire_free(struct cap_wire *w)
{
    if (!w)
        return;
    cap_redact_free(w->red);
    free(w);
}

enum cap_wire_proto cap_wire_proto_parse(const char *name)
{
    if (!strcmp(name, "redis"))
        return CAP_WIRE_REDIS;
    if (!strcmp(name, "postgres") || !strcmp(name, "postgresql"))
        return CAP_WIRE_PG;
    if (!strcmp(name, "tcp"))
        return CAP_WIRE_TCP;
    return 0;
}
