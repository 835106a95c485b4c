/*
 * tcp_test_util.h: shared by the capture unit tests: a recording
 * cap_stream_ops that logs every callback into one readable string
 * ("1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET / ...|1 close fin"), with
 * consecutive data in one direction merged so that assertions do not depend
 * on segmentation, and helpers that spell out TCP segments.
 */
#ifndef RP_TCP_TEST_UTIL_H
#define RP_TCP_TEST_UTIL_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/stream.h"
#include "capture/tcp_flow.h"

struct rec {
    char log[1 << 16];
    size_t len;
    int nconn, nclosed;
    int conns[64];           /* conn handles: index + 1 */
    int last_kind, last_conn, last_dir; /* to merge data runs */
    uint64_t data_calls;
    uint64_t data_bytes;
};

static inline void rec_puts(struct rec *r, const char *s)
{
    size_t n = strlen(s);
    if (r->len + n + 1 >= sizeof r->log)
        return;
    memcpy(r->log + r->len, s, n + 1);
    r->len += n;
}

static inline void rec_event(struct rec *r, int conn, const char *text)
{
    char pre[32];
    snprintf(pre, sizeof pre, "%s%d ", r->len ? "|" : "", conn);
    rec_puts(r, pre);
    rec_puts(r, text);
    r->last_kind = 0;
}

static inline void *rec_open(void *ctx, const struct cap_conn_info *ci)
{
    struct rec *r = ctx;
    char line[160];
    int id = ++r->nconn;
    snprintf(line, sizeof line, "open %s:%u>%s:%u%s", ci->client_addr,
             ci->client_port, ci->server_addr, ci->server_port,
             ci->saw_syn ? " syn" : "");
    rec_event(r, id, line);
    r->conns[(id - 1) % 64] = id;
    return &r->conns[(id - 1) % 64];
}

static inline void rec_data(void *ctx, void *conn, enum cap_dir dir, const uint8_t *p,
                     size_t n, int64_t ts_us)
{
    struct rec *r = ctx;
    int id = *(int *)conn;
    (void)ts_us;
    r->data_calls++;
    r->data_bytes += n;
    if (!(r->last_kind == 1 && r->last_conn == id && r->last_dir == (int)dir))
        rec_event(r, id, dir == CAP_DIR_C2S ? "c " : "s ");
    char *tmp = malloc(n + 1);
    memcpy(tmp, p, n);
    tmp[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (tmp[i] == 0 || tmp[i] == '|')
            tmp[i] = '.';
    rec_puts(r, tmp);
    free(tmp);
    r->last_kind = 1;
    r->last_conn = id;
    r->last_dir = (int)dir;
}

static inline void rec_gap(void *ctx, void *conn, enum cap_dir dir, uint64_t lost,
                    int64_t ts_us)
{
    char line[64];
    (void)ts_us;
    snprintf(line, sizeof line, "gap %c %llu", dir == CAP_DIR_C2S ? 'c' : 's',
             (unsigned long long)lost);
    rec_event(ctx, *(int *)conn, line);
}

static inline void rec_fin(void *ctx, void *conn, enum cap_dir dir, int64_t ts_us)
{
    (void)ts_us;
    rec_event(ctx, *(int *)conn, dir == CAP_DIR_C2S ? "fin c" : "fin s");
}

static inline void rec_close(void *ctx, void *conn, enum cap_close_reason why,
                      int64_t ts_us)
{
    static const char *names[] = {"fin", "rst", "timeout", "evicted", "end"};
    struct rec *r = ctx;
    char line[32];
    (void)ts_us;
    snprintf(line, sizeof line, "close %s", names[why]);
    rec_event(r, *(int *)conn, line);
    r->nclosed++;
}

static const struct cap_stream_ops rec_ops = {
    rec_open, rec_data, rec_gap, rec_fin, rec_close,
};

static inline int sniff_req(const uint8_t *p, size_t n)
{
    return (n >= 4 && !memcmp(p, "GET ", 4)) ||
           (n >= 5 && !memcmp(p, "POST ", 5));
}
static inline int sniff_resp(const uint8_t *p, size_t n)
{
    return n >= 7 && !memcmp(p, "HTTP/1.", 7);
}

/* Segment builders: the client is 10.0.0.1:40000, the server 10.0.0.2:80;
 * cport changes the client port for tests with several flows. */
#define C 1 /* from the client */
#define S 0 /* from the server */
static uint16_t cport = 40000;

static inline struct cap_segment seg(int from_client, uint32_t seq, uint32_t ack,
                              uint8_t flags, const char *payload)
{
    struct cap_segment s;
    memset(&s, 0, sizeof s);
    s.family = 4;
    uint8_t cl[4] = {10, 0, 0, 1}, sv[4] = {10, 0, 0, 2};
    memcpy(s.src, from_client ? cl : sv, 4);
    memcpy(s.dst, from_client ? sv : cl, 4);
    s.sport = from_client ? cport : 80;
    s.dport = from_client ? 80 : cport;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.payload = (const uint8_t *)payload;
    s.len = s.wire_len = payload ? (uint32_t)strlen(payload) : 0;
    return s;
}

#endif
