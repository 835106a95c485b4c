/*
 * fuzz_pcap.c: libFuzzer target for the capture file reader. The input is
 * taken as a whole pcap or pcapng file (through a memfd, so libpcap reads it
 * exactly as it reads a file on disk), and every packet goes through
 * cap_decode and a flow table whose stub layer reads every delivered byte.
 * Reading must end in EOF or a clean error, never a crash, hang or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/cap_source.h"
#include "capture/decode.h"
#include "capture/tcp_flow.h"

struct fz {
    struct tcp_table *t;
    int dlt;
    volatile uint8_t sink;
};

static void *fz_open(void *ctx, const struct cap_conn_info *ci)
{
    (void)ci;
    return ctx;
}

static void fz_data(void *ctx, void *conn, enum cap_dir dir, const uint8_t *p,
                    size_t n, int64_t ts_us)
{
    struct fz *z = ctx;
    (void)conn;
    (void)dir;
    (void)ts_us;
    for (size_t i = 0; i < n; i++)
        z->sink ^= p[i];
}

static void fz_close(void *ctx, void *conn, enum cap_close_reason why,
                     int64_t ts_us)
{
    (void)ctx;
    (void)conn;
    (void)why;
    (void)ts_us;
}

static const struct cap_stream_ops fz_ops = {
    .open = fz_open, .data = fz_data, .close = fz_close,
};

static void on_packet(void *user, int64_t ts_us, const uint8_t *frame,
                      uint32_t caplen, uint32_t wire_len)
{
    struct fz *z = user;
    struct cap_segment seg;
    (void)wire_len;
    if (cap_decode(z->dlt, frame, caplen, &seg) == CAP_DEC_TCP)
        tcp_table_segment(z->t, &seg, ts_us);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[RP_ERRLEN];
    int fd = memfd_create("fuzz.pcap", 0);
    if (fd < 0)
        return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct cap_source *src = NULL;
    if (cap_source_open_file(path, &src, err) == 0) {
        struct tcp_opts opts = {.max_memory_bytes = 1 << 20};
        struct fz z = {.dlt = cap_source_datalink(src)};
        z.t = tcp_table_new(&opts, &fz_ops, &z);
        if (z.t) {
            int r;
            while ((r = cap_source_read(src, 64, 0, on_packet, &z, err)) > 0)
                ;
            tcp_table_close_all(z.t, CAP_CLOSE_END, 0);
            tcp_table_free(z.t);
        }
    }
    cap_source_free(src);
    close(fd);
    return 0;
}
