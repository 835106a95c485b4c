/*
 * test_tcp_pcap.c: the capture input path end to end below the HTTP layer:
 * pcap files written here with libpcap's dump API (pcap_open_dead +
 * pcap_dump), and a pcapng file built byte by byte, are read back through
 * cap_source, decoded and reassembled into a recording stub. Also the
 * source's errors: missing, empty, garbage, directory, unsupported link
 * type, a file cut mid-packet. When FUZZ_SEED_DIR is set, each packet
 * sequence is also written there as a seed for tests/fuzz/fuzz_tcp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/cap_source.h"
#include "capture/decode.h"
#include "common/rp.h"
#include "frames.h"
#include "tcp_test_util.h"

#define F CAP_TCP_FIN
#define SY CAP_TCP_SYN
#define R CAP_TCP_RST
#define A CAP_TCP_ACK

static char tmpdir[256];

/* ---- writing captures ---------------------------------------------------- */

struct writer {
    pcap_t *dead;
    pcap_dumper_t *d;
    int dlt;
    int64_t ts_us;
    FILE *seed;               /* fuzz seed being written, or NULL */
};

/* Maps a DLT to the fuzz target's link selector (see fuzz_tcp.c). */
static int fuzz_link_index(int dlt)
{
    static const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2,
                               DLT_RAW, DLT_NULL, DLT_LOOP, DLT_IPV4, DLT_IPV6};
    for (int i = 0; i < (int)(sizeof dlts / sizeof dlts[0]); i++)
        if (dlts[i] == dlt)
            return i;
    return 0;
}

static void w_open(struct writer *w, const char *path, int dlt,
                   const char *seed_name)
{
    memset(w, 0, sizeof *w);
    w->dlt = dlt;
    w->ts_us = 1700000000000000LL;
    w->dead = pcap_open_dead(dlt, 262144);
    assert_non_null(w->dead);
    w->d = pcap_dump_open(w->dead, path);
    assert_non_null(w->d);
    const char *dir = getenv("FUZZ_SEED_DIR");
    if (dir && seed_name) {
        char p[512];
        mkdir(dir, 0755);
        snprintf(p, sizeof p, "%s/%s", dir, seed_name);
        if ((w->seed = fopen(p, "wb"))) {
            fputc(fuzz_link_index(dlt), w->seed);
            fputc(0, w->seed);
        }
    }
}

static void w_frame(struct writer *w, const struct frame *f)
{
    struct pcap_pkthdr h;
    w->ts_us += 1500;
    h.ts.tv_sec = w->ts_us / 1000000;
    h.ts.tv_usec = w->ts_us % 1000000;
    h.caplen = h.len = (bpf_u_int32)f->n;
    pcap_dump((u_char *)w->d, &h, f->b);
    if (w->seed) {
        fputc((int)(f->n >> 8) & 0xff, w->seed);
        fputc((int)f->n & 0xff, w->seed);
        fputc(2, w->seed);
        fwrite(f->b, 1, f->n, w->seed);
    }
}

static void w_close(struct writer *w)
{
    pcap_dump_close(w->d);
    pcap_close(w->dead);
    if (w->seed)
        fclose(w->seed);
}

/* One IPv4/TCP packet behind the writer's link header. */
static void w_tcp(struct writer *w, int from_client, uint32_t seq, uint32_t ack,
                  uint8_t flags, const char *payload)
{
    struct frame *f = malloc(sizeof *f);
    f->n = 0;
    switch (w->dlt) {
    case DLT_EN10MB: eth_hdr(f, 0x0800); break;
    case DLT_LINUX_SLL: sll_hdr(f, 0x0800); break;
    case DLT_LINUX_SLL2: sll2_hdr(f, 0x0800); break;
    case DLT_NULL: putn(f, "\2\0\0\0", 4); break;
    default: break;
    }
    ipv4_tcp(f, from_client, 40000, 80, seq, ack, flags, payload);
    w_frame(w, f);
    free(f);
}

/* ---- reading them back --------------------------------------------------- */

struct reader {
    struct tcp_table *t;
    int dlt;
    uint64_t tcp, other;
};

static void on_pkt(void *user, int64_t ts_us, const uint8_t *frame,
                   uint32_t caplen, uint32_t wire_len)
{
    struct reader *r = user;
    struct cap_segment s;
    (void)wire_len;
    if (cap_decode(r->dlt, frame, caplen, &s) == CAP_DEC_TCP) {
        r->tcp++;
        tcp_table_segment(r->t, &s, ts_us);
    } else {
        r->other++;
    }
}

/* Reads path into rec; returns the last cap_source_read result. */
static int read_file(const char *path, struct rec *rec, const char *filter,
                     uint64_t *npackets)
{
    char err[RP_ERRLEN];
    struct cap_source *src;
    int rc = cap_source_open_file(path, &src, err);
    if (rc)
        return rc;
    if (filter)
        assert_int_equal(cap_source_set_filter(src, filter, err), 0);
    struct tcp_opts o = {.looks_like_request = sniff_req,
                         .looks_like_response = sniff_resp};
    struct reader r = {.t = tcp_table_new(&o, &rec_ops, rec),
                       .dlt = cap_source_datalink(src)};
    int n;
    while ((n = cap_source_read(src, 3, 0, on_pkt, &r, err)) > 0)
        ;
    tcp_table_free(r.t);
    cap_source_free(src);
    if (npackets)
        *npackets = r.tcp + r.other;
    return n;
}

static void path_of(char *out, const char *name)
{
    snprintf(out, 512, "%s/%s", tmpdir, name);
}

/* The conversation most tests write: a request split in two and sent out
 * of order with a retransmission, a response, FIN from both sides. */
static void write_conversation(struct writer *w)
{
    w_tcp(w, C, 1000, 0, SY, NULL);
    w_tcp(w, S, 5000, 1001, SY | A, NULL);
    w_tcp(w, C, 1001, 5001, A, NULL);
    w_tcp(w, C, 1007, 5001, A, "HTTP/1.1\r\n\r\n");
    w_tcp(w, C, 1001, 5001, A, "GET / ");
    w_tcp(w, C, 1001, 5001, A, "GET / ");
    w_tcp(w, S, 5001, 1019, A, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    w_tcp(w, C, 1019, 5041, A | F, NULL);
    w_tcp(w, S, 5041, 1020, A | F, NULL);
    w_tcp(w, C, 1020, 5042, A, NULL);
}

#define CONVERSATION_LOG                                                     \
    "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET / HTTP/1.1\r\n\r\n|"     \
    "1 s HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi|1 fin c|1 fin s|"   \
    "1 close fin"

static void check_link(int dlt, const char *name)
{
    char path[512];
    struct writer w;
    struct rec *rec = calloc(1, sizeof *rec);
    char seed[64];
    snprintf(seed, sizeof seed, "conversation_%s", name);
    path_of(path, name);
    w_open(&w, path, dlt, seed);
    write_conversation(&w);
    w_close(&w);
    uint64_t n = 0;
    assert_int_equal(read_file(path, rec, NULL, &n), CAP_SRC_EOF);
    assert_int_equal(n, 10);
    assert_string_equal(rec->log, CONVERSATION_LOG);
    free(rec);
}

static void test_ethernet_file(void **state)
{
    (void)state;
    check_link(DLT_EN10MB, "eth.pcap");
}

static void test_sll_sll2_raw_null_files(void **state)
{
    (void)state;
    check_link(DLT_LINUX_SLL, "sll.pcap");
    check_link(DLT_LINUX_SLL2, "sll2.pcap");
    check_link(DLT_RAW, "raw.pcap");
    check_link(DLT_NULL, "null.pcap");
}

static void test_bpf_filter(void **state)
{
    (void)state;
    char path[512];
    struct rec *rec = calloc(1, sizeof *rec);
    path_of(path, "eth.pcap");
    uint64_t n = 0;
    assert_int_equal(read_file(path, rec, "tcp port 81", &n), CAP_SRC_EOF);
    assert_int_equal(n, 0);
    assert_string_equal(rec->log, "");
    memset(rec, 0, sizeof *rec);
    assert_int_equal(read_file(path, rec, "tcp port 80", &n), CAP_SRC_EOF);
    assert_string_equal(rec->log, CONVERSATION_LOG);

    char err[RP_ERRLEN];
    struct cap_source *src;
    assert_int_equal(cap_source_open_file(path, &src, err), 0);
    assert_int_equal(cap_source_set_filter(src, "tcp port", err), RP_EUSAGE);
    assert_non_null(strstr(err, "tcp port"));
    cap_source_free(src);
    free(rec);
}

static void test_lost_segment_in_file(void **state)
{
    (void)state;
    char path[512];
    struct writer w;
    struct rec *rec = calloc(1, sizeof *rec);
    path_of(path, "loss.pcap");
    w_open(&w, path, DLT_EN10MB, "loss");
    w_tcp(&w, C, 1000, 0, SY, NULL);
    w_tcp(&w, S, 5000, 1001, SY | A, NULL);
    w_tcp(&w, C, 1001, 5001, A, "GET /a HTTP/1.1\r\n\r\n");
    /* server segment 5001..5018 "HTTP/1.1 200 OK\r\n" never captured */
    w_tcp(&w, S, 5018, 1020, A, "Content-Length: 0\r\n\r\n");
    w_tcp(&w, C, 1020, 5039, A, "GET /b HTTP/1.1\r\n\r\n");
    w_tcp(&w, S, 5039, 1039, A, "HTTP/1.1 404 Not Found\r\n\r\n");
    w_tcp(&w, C, 1039, 5066, A | R, NULL);
    w_close(&w);
    assert_int_equal(read_file(path, rec, NULL, NULL), CAP_SRC_EOF);
    assert_string_equal(rec->log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET /a HTTP/1.1\r\n\r\n|"
        "1 gap s 17|1 s Content-Length: 0\r\n\r\n|1 c GET /b HTTP/1.1\r\n\r\n|"
        "1 s HTTP/1.1 404 Not Found\r\n\r\n|1 close rst");
    free(rec);
}

static void test_ipv6_vlan_file(void **state)
{
    (void)state;
    char path[512];
    struct writer w;
    struct rec *rec = calloc(1, sizeof *rec);
    struct frame *f = malloc(sizeof *f);
    path_of(path, "v6vlan.pcap");
    w_open(&w, path, DLT_EN10MB, "ipv6_vlan");
    const char *req = "GET /six HTTP/1.1\r\n\r\n";
    struct { int c; uint32_t seq, ack; uint8_t fl; const char *p; } pk[] = {
        {1, 1, 0, SY, NULL}, {0, 9, 2, SY | A, NULL}, {1, 2, 10, A, req},
    };
    for (size_t i = 0; i < 3; i++) {
        size_t n = pk[i].p ? strlen(pk[i].p) : 0;
        f->n = 0;
        eth_hdr(f, 0x8100);
        put16(f, 7);
        put16(f, 0x86dd);
        ipv6_hdr(f, pk[i].c ? ip6_c : ip6_s, pk[i].c ? ip6_s : ip6_c, 6,
                 20 + n);
        tcp_hdr(f, pk[i].c ? 50000 : 8080, pk[i].c ? 8080 : 50000, pk[i].seq,
                pk[i].ack, pk[i].fl, 0, pk[i].p, n);
        w_frame(&w, f);
    }
    w_close(&w);
    assert_int_equal(read_file(path, rec, NULL, NULL), CAP_SRC_EOF);
    assert_string_equal(rec->log,
        "1 open 2001:db8::1:50000>2001:db8::2:8080 syn|"
        "1 c GET /six HTTP/1.1\r\n\r\n|1 close end");
    free(f);
    free(rec);
}

/* A minimal pcapng: section header, one Ethernet interface, enhanced
 * packet blocks. */
static void pcapng_block(FILE *fp, uint32_t type, const void *body, uint32_t n)
{
    uint32_t pad = (4 - n % 4) % 4, total = 12 + n + pad, zero = 0;
    fwrite(&type, 4, 1, fp);
    fwrite(&total, 4, 1, fp);
    fwrite(body, 1, n, fp);
    fwrite(&zero, 1, pad, fp);
    fwrite(&total, 4, 1, fp);
}

static void test_pcapng_file(void **state)
{
    (void)state;
    char path[512];
    struct rec *rec = calloc(1, sizeof *rec);
    path_of(path, "simple.pcapng");
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    uint8_t shb[16];
    uint32_t magic = 0x1A2B3C4D;
    uint16_t maj = 1, min = 0;
    int64_t len = -1;
    memcpy(shb, &magic, 4);
    memcpy(shb + 4, &maj, 2);
    memcpy(shb + 6, &min, 2);
    memcpy(shb + 8, &len, 8);
    pcapng_block(fp, 0x0A0D0D0A, shb, sizeof shb);
    uint8_t idb[8] = {0};
    uint16_t lt = 1;
    uint32_t snap = 262144;
    memcpy(idb, &lt, 2);
    memcpy(idb + 4, &snap, 4);
    pcapng_block(fp, 1, idb, sizeof idb);
    struct frame *f = malloc(sizeof *f);
    const char *pl[] = {NULL, NULL, "GET /ng HTTP/1.1\r\n\r\n",
                        "HTTP/1.1 204 No Content\r\n\r\n"};
    uint32_t seqs[] = {100, 700, 101, 701}, acks[] = {0, 101, 701, 122};
    uint8_t fl[] = {SY, SY | A, A, A};
    for (int i = 0; i < 4; i++) {
        f->n = 0;
        eth_hdr(f, 0x0800);
        ipv4_tcp(f, i % 2 == 0, 40000, 80, seqs[i], acks[i], fl[i], pl[i]);
        uint8_t epb[20 + 2048];
        uint32_t ifid = 0, hi = 0, lo = 1000000u + (uint32_t)i,
                 cl = (uint32_t)f->n;
        memcpy(epb, &ifid, 4);
        memcpy(epb + 4, &hi, 4);
        memcpy(epb + 8, &lo, 4);
        memcpy(epb + 12, &cl, 4);
        memcpy(epb + 16, &cl, 4);
        memcpy(epb + 20, f->b, f->n);
        pcapng_block(fp, 6, epb, (uint32_t)(20 + f->n));
    }
    fclose(fp);
    free(f);
    assert_int_equal(read_file(path, rec, NULL, NULL), CAP_SRC_EOF);
    assert_string_equal(rec->log,
        "1 open 10.0.0.1:40000>10.0.0.2:80 syn|1 c GET /ng HTTP/1.1\r\n\r\n|"
        "1 s HTTP/1.1 204 No Content\r\n\r\n|1 close end");
    free(rec);
}

static void test_truncated_file(void **state)
{
    (void)state;
    char src[512], dst[512];
    struct rec *rec = calloc(1, sizeof *rec);
    path_of(src, "eth.pcap");
    path_of(dst, "cut.pcap");
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, in);
    fwrite(buf, 1, n - 30, out); /* cut into the last packet */
    fclose(in);
    fclose(out);
    uint64_t np = 0;
    char err[RP_ERRLEN];
    struct cap_source *s;
    assert_int_equal(cap_source_open_file(dst, &s, err), 0);
    cap_source_free(s);
    int rc = read_file(dst, rec, NULL, &np);
    assert_int_equal(rc, RP_EINPUT);
    assert_int_equal(np, 9);
    assert_non_null(strstr(rec->log, "1 fin s"));
    free(rec);
}

static void test_source_errors(void **state)
{
    (void)state;
    char path[512], err[RP_ERRLEN];
    struct cap_source *s = (void *)1;
    path_of(path, "missing.pcap");
    assert_int_equal(cap_source_open_file(path, &s, err), RP_EINPUT);
    assert_null(s);
    assert_non_null(strstr(err, "missing.pcap"));

    path_of(path, "empty.pcap");
    fclose(fopen(path, "wb"));
    assert_int_equal(cap_source_open_file(path, &s, err), RP_EINPUT);
    assert_non_null(strstr(err, "empty.pcap: is empty"));

    path_of(path, "garbage.pcap");
    FILE *fp = fopen(path, "wb");
    fputs("this is not a capture file at all, just some text\n", fp);
    fclose(fp);
    assert_int_equal(cap_source_open_file(path, &s, err), RP_EINPUT);
    assert_non_null(strstr(err, "not a readable pcap"));

    assert_int_equal(cap_source_open_file(tmpdir, &s, err), RP_EINPUT);
    assert_non_null(strstr(err, "directory"));

    struct writer w;
    path_of(path, "wifi.pcap");
    w_open(&w, path, DLT_IEEE802_11, NULL);
    w_close(&w);
    assert_int_equal(cap_source_open_file(path, &s, err), RP_EINPUT);
    assert_non_null(strstr(err, "not supported"));

    struct cap_live_opts lo = {0};
    int rc = cap_source_open_live("nosuchif0", &lo, &s, err);
    assert_true(rc == RP_EINPUT || rc == RP_EIO);
    assert_non_null(strstr(err, "nosuchif0"));
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s/rp-tcp-pcap.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ethernet_file),
        cmocka_unit_test(test_sll_sll2_raw_null_files),
        cmocka_unit_test(test_bpf_filter),
        cmocka_unit_test(test_lost_segment_in_file),
        cmocka_unit_test(test_ipv6_vlan_file),
        cmocka_unit_test(test_pcapng_file),
        cmocka_unit_test(test_truncated_file),
        cmocka_unit_test(test_source_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
