/*
 * mux.c: picks the layer of each connection, behind the stream.h seam. With
 * --protocol every connection goes to that layer; without it the first
 * payload decides (proto_sniff: a Redis command or a PostgreSQL startup
 * goes to the wire layer), then the server port (6379 Redis, 5432
 * PostgreSQL), and everything else goes to the HTTP layer, which names
 * what it cannot parse. The choice waits for the first bytes of the
 * connection; a connection without any is never opened below.
 */
#include <stdlib.h>
#include <string.h>

#include "capture/mux.h"
#include "proto/sniff.h"

struct mconn {
    struct cap_conn_info ci;
    int layer;            /* 0 undecided, 1 http, 2 wire */
    void *sub;
};

struct cap_mux {
    struct cap_http *http;
    struct cap_wire *wire;
    enum cap_mux_proto forced;
};

struct cap_mux *cap_mux_new(struct cap_http *http, struct cap_wire *wire,
                            enum cap_mux_proto forced)
{
    struct cap_mux *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->http = http;
    m->wire = wire;
    m->forced = forced;
    return m;
}

void cap_mux_free(struct cap_mux *m) { free(m); }

static void *op_open(void *ctx, const struct cap_conn_info *ci)
{
    (void)ctx;
    struct mconn *c = calloc(1, sizeof *c);
    if (c)
        c->ci = *ci;
    return c;
}

static enum cap_mux_proto choose(const struct cap_mux *m,
                                 const struct mconn *c, enum cap_dir dir,
                                 const uint8_t *p, size_t n)
{
    if (m->forced != CAP_MUX_AUTO)
        return m->forced;
    switch (proto_sniff(p, n, dir == CAP_DIR_C2S)) {
    case PROTO_REDIS:
        return CAP_MUX_REDIS;
    case PROTO_POSTGRES:
        return CAP_MUX_PG;
    case PROTO_UNKNOWN:
        break;
    default:
        return CAP_MUX_HTTP; /* it names TLS, HTTP/2 ... */
    }
    if (c->ci.server_port == 6379)
        return CAP_MUX_REDIS;
    if (c->ci.server_port == 5432)
        return CAP_MUX_PG;
    return CAP_MUX_HTTP;
}

/* Opens the chosen layer's connection; 0 or -1 (out of memory). */
static int decide(struct cap_mux *m, struct mconn *c, enum cap_dir dir,
                  const uint8_t *p, size_t n)
{
    enum cap_mux_proto k = choose(m, c, dir, p, n);
    if (k == CAP_MUX_HTTP || !m->wire) {
        c->layer = 1;
        c->sub = cap_http_ops()->open(m->http, &c->ci);
    } else {
        c->layer = 2;
        c->sub = cap_wire_ops()->open(m->wire, &c->ci);
        if (c->sub)
            cap_wire_set_proto(c->sub, (enum cap_wire_proto)k);
    }
    return c->sub ? 0 : -1;
}

#define SUB_OPS(m, c) ((c)->layer == 1 ? cap_http_ops() : cap_wire_ops())
#define SUB_CTX(m, c) ((c)->layer == 1 ? (void *)(m)->http : (void *)(m)->wire)

static void op_data(void *ctx, void *cv, enum cap_dir dir, const uint8_t *p,
                    size_t n, int64_t ts_us)
{
    struct cap_mux *m = ctx;
    struct mconn *c = cv;
    if (!c || (!c->layer && (!n || decide(m, c, dir, p, n))))
        return;
    SUB_OPS(m, c)->data(SUB_CTX(m, c), c->sub, dir, p, n, ts_us);
}

static void op_gap(void *ctx, void *cv, enum cap_dir dir, uint64_t lost,
                   int64_t ts_us)
{
    struct cap_mux *m = ctx;
    struct mconn *c = cv;
    if (!c)
        return;
    if (!c->layer && decide(m, c, dir, NULL, 0))
        return;
    SUB_OPS(m, c)->gap(SUB_CTX(m, c), c->sub, dir, lost, ts_us);
}

static void op_fin(void *ctx, void *cv, enum cap_dir dir, int64_t ts_us)
{
    struct cap_mux *m = ctx;
    struct mconn *c = cv;
    if (c && c->layer)
        SUB_OPS(m, c)->fin(SUB_CTX(m, c), c->sub, dir, ts_us);
}

static void op_close(void *ctx, void *cv, enum cap_close_reason why,
                     int64_t ts_us)
{
    struct cap_mux *m = ctx;
    struct mconn *c = cv;
    if (!c)
        return;
    if (c->layer)
        SUB_OPS(m, c)->close(SUB_CTX(m, c), c->sub, why, ts_us);
    free(c);
}

static uint64_t op_memory(void *ctx)
{
    struct cap_mux *m = ctx;
    return (m->http ? cap_http_memory_bytes(m->http) : 0) +
           (m->wire ? cap_wire_memory_bytes(m->wire) : 0);
}

static const struct cap_stream_ops mux_ops = {
    .open = op_open,
    .data = op_data,
    .gap = op_gap,
    .fin = op_fin,
    .close = op_close,
    .memory_bytes = op_memory,
};

const struct cap_stream_ops *cap_mux_ops(void) { return &mux_ops; }
