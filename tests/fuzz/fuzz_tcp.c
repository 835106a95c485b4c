/*
 * fuzz_tcp.c: libFuzzer target for decode + TCP reassembly. The input is a
 * link selector byte, an option byte, then frames as [u16 length][u8 time
 * step in ms][bytes]. Every frame is decoded and fed to a flow table whose
 * stub HTTP layer reads every delivered byte and checks the stream.h
 * contract: data/gap/fin only between open and close, fin at most once per
 * direction, close exactly once per open. Seeds are written by the unit
 * tests (FUZZ_SEED_DIR=dir build/test_tcp_pcap).
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/decode.h"
#include "capture/tcp_flow.h"

struct fz_conn {
    int closed;
    int fin[2];
};

struct fz {
    int open, closed;
    uint64_t sum;
};

static void *fz_open(void *ctx, const struct cap_conn_info *ci)
{
    struct fz *z = ctx;
    struct fz_conn *c = calloc(1, sizeof *c);
    if (!c || !ci->client_addr[0] || !ci->server_addr[0])
        abort();
    z->open++;
    return c;
}

static void fz_data(void *ctx, void *conn, enum cap_dir dir, const uint8_t *p,
                    size_t n, int64_t ts_us)
{
    struct fz *z = ctx;
    struct fz_conn *c = conn;
    (void)ts_us;
    if (c->closed || c->fin[dir] || n == 0)
        abort();
    for (size_t i = 0; i < n; i++)
        z->sum += p[i];
}

static void fz_gap(void *ctx, void *conn, enum cap_dir dir, uint64_t lost,
                   int64_t ts_us)
{
    struct fz_conn *c = conn;
    (void)ctx;
    (void)ts_us;
    if (c->closed || c->fin[dir] || lost == 0)
        abort();
}

static void fz_fin(void *ctx, void *conn, enum cap_dir dir, int64_t ts_us)
{
    struct fz_conn *c = conn;
    (void)ctx;
    (void)ts_us;
    if (c->closed || c->fin[dir])
        abort();
    c->fin[dir] = 1;
}

static void fz_close(void *ctx, void *conn, enum cap_close_reason why,
                     int64_t ts_us)
{
    struct fz *z = ctx;
    struct fz_conn *c = conn;
    (void)ts_us;
    if (c->closed || why > CAP_CLOSE_END)
        abort();
    z->closed++;
    free(c);
}

static const struct cap_stream_ops fz_ops = {fz_open, fz_data, fz_gap, fz_fin,
                                             fz_close};

static int fz_req(const uint8_t *p, size_t n)
{
    return n >= 4 && !memcmp(p, "GET ", 4);
}
static int fz_resp(const uint8_t *p, size_t n)
{
    return n >= 5 && !memcmp(p, "HTTP/", 5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2,
                               DLT_RAW, DLT_NULL, DLT_LOOP, DLT_IPV4, DLT_IPV6};
    static const uint16_t port80[] = {80};
    if (size < 2)
        return 0;
    int dlt = dlts[data[0] % (sizeof dlts / sizeof dlts[0])];
    uint8_t o = data[1];
    struct tcp_opts opts = {
        .server_ports = (o & 1) ? port80 : NULL,
        .nserver_ports = (o & 1) ? 1 : 0,
        .max_memory_bytes = (o & 2) ? 4096 : 0,
        .max_ooo_bytes = (o & 4) ? 512 : 0,
        .flow_timeout_us = (o & 8) ? 1000000 : 0,
        .sample_ratio = (o & 16) ? 0.5 : 0,
        .looks_like_request = (o & 32) ? NULL : fz_req,
        .looks_like_response = (o & 32) ? NULL : fz_resp,
    };
    struct fz z = {0};
    struct tcp_table *t = tcp_table_new(&opts, &fz_ops, &z);
    if (!t)
        return 0;
    size_t i = 2;
    int64_t ts = 1000000;
    while (i + 3 <= size) {
        size_t n = (size_t)data[i] << 8 | data[i + 1];
        ts += (int64_t)data[i + 2] * 1000;
        i += 3;
        if (n > size - i)
            n = size - i;
        /* a private copy, so reads past the frame are caught */
        uint8_t *frame = malloc(n ? n : 1);
        if (!frame)
            break;
        memcpy(frame, data + i, n);
        struct cap_segment seg;
        if (cap_decode(dlt, frame, n, &seg) == CAP_DEC_TCP)
            tcp_table_segment(t, &seg, ts);
        free(frame);
        i += n;
    }
    tcp_table_free(t);
    if (z.open != z.closed)
        abort();
    return 0;
}
