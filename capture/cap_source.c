/*
 * cap_source.c: libpcap wrapper (see cap_source.h). Files are read with
 * pcap_dispatch in batches; a live handle is non-blocking and waited on with
 * poll() on its selectable descriptor, so the caller regains control every
 * wait_ms even when no packet arrives (to commit, print stats, expire flows
 * and notice signals). Live capture does not use immediate mode unless
 * asked (see the comment in cap_source_open_live).
 */
#include "capture/cap_source.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "capture/decode.h"
#include "common/rp.h"

#define FILE_BUF_BYTES (1u << 20)
static char stdin_buf[FILE_BUF_BYTES];

struct cap_source {
    pcap_t *p;
    char name[256];            /* file path or interface, for messages */
    int live;
    int dlt;
    int fd;                    /* selectable fd when live, else -1 */
    volatile sig_atomic_t stop;
    char *iobuf;               /* stdio buffer of a file source */
    cap_packet_fn fn;
    void *user;
};

static int finish_open(struct cap_source *s, char *err)
{
    s->dlt = pcap_datalink(s->p);
    if (!cap_decode_supported(s->dlt)) {
        const char *n = pcap_datalink_val_to_name(s->dlt);
        return rp_fail(err, RP_EINPUT,
                       "%s: link type %d (%s) is not supported; reprise reads "
                       "Ethernet, Linux cooked (SLL, SLL2), raw IP and BSD "
                       "loopback captures", s->name, s->dlt, n ? n : "unknown");
    }
    return RP_OK;
}

/* "gzip" or "zstd" when the file starts with that format's magic. */
static const char *compressed_by(const char *path)
{
    unsigned char m[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = fread(m, 1, sizeof m, f);
    fclose(f);
    if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
        return "gzip";
    if (n == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
        return "zstd";
    return NULL;
}

int cap_source_open_file(const char *path, struct cap_source **out, char *err)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    struct cap_source *s = calloc(1, sizeof *s);
    if (!s)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    snprintf(s->name, sizeof s->name, "%s", strcmp(path, "-") ? path : "stdin");
    s->fd = -1;
    int rc = RP_OK;
    struct stat stt;
    if (strcmp(path, "-") && stat(path, &stt) == 0 && S_ISDIR(stt.st_mode)) {
        rc = rp_fail(err, RP_EINPUT, "%s: is a directory; give a pcap or "
                     "pcapng file to -r", path);
        goto done;
    }
    if (strcmp(path, "-") && stat(path, &stt) == 0 && stt.st_size == 0) {
        rc = rp_fail(err, RP_EINPUT, "%s: is empty; record a capture with "
                     "tcpdump -w", path);
        goto done;
    }
    /* our own FILE with a 1 MiB buffer: 256x fewer read() calls than
     * stdio's default; pcap_close closes it */
    FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (fp) {
        if (fp == stdin) /* stdin outlives the source: a static buffer */
            setvbuf(fp, stdin_buf, _IOFBF, sizeof stdin_buf);
        else if ((s->iobuf = malloc(FILE_BUF_BYTES)))
            setvbuf(fp, s->iobuf, _IOFBF, FILE_BUF_BYTES);
        s->p = pcap_fopen_offline_with_tstamp_precision(
            fp, PCAP_TSTAMP_PRECISION_MICRO, perr);
        if (!s->p && fp != stdin)
            fclose(fp);
    } else {
        snprintf(perr, sizeof perr, "%s", strerror(errno));
    }
    if (!s->p) {
        const char *tool = strcmp(path, "-") ? compressed_by(path) : NULL;
        if (tool)
            rc = rp_fail(err, RP_EINPUT, "%s: is %s-compressed; decompress "
                         "it first (e.g. %scat FILE | reprise capture -r - "
                         "...)", path, tool, tool[0] == 'g' ? "z" : "zstd");
        else if (strcmp(path, "-") && access(path, R_OK) != 0)
            rc = rp_fail(err, RP_EINPUT, "%s: cannot read: %s; check the "
                         "path and permissions", path, strerror(errno));
        else
            rc = rp_fail(err, RP_EINPUT, "%s: not a readable pcap or pcapng "
                         "capture (%s); record one with tcpdump -w", s->name,
                         perr);
        goto done;
    }
    rc = finish_open(s, err);
done:
    if (rc) {
        cap_source_free(s);
        s = NULL;
    }
    *out = s;
    return rc;
}

int cap_source_open_live(const char *iface, const struct cap_live_opts *o,
                         struct cap_source **out, char *err)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    struct cap_source *s = calloc(1, sizeof *s);
    int rc = RP_OK;
    if (!s)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    snprintf(s->name, sizeof s->name, "%s", iface);
    s->live = 1;
    s->fd = -1;
    s->p = pcap_create(iface, perr);
    if (!s->p) {
        rc = rp_fail(err, RP_EINPUT, "interface %s: %s", iface, perr);
        goto done;
    }
    pcap_set_snaplen(s->p, o->snaplen > 0 ? o->snaplen : CAP_SNAPLEN);
    pcap_set_promisc(s->p, o->promisc ? 1 : 0);
    /* Immediate mode makes libpcap use TPACKET_V2, whose ring slots are
     * sized for the largest packet (64 KiB on lo): a 64 MiB buffer then
     * holds ~1000 packets and drops under load. The default TPACKET_V3 ring
     * packs packets and hands over a block at least every
     * CAP_BLOCK_TIMEOUT_MS. */
    pcap_set_immediate_mode(s->p, o->immediate ? 1 : 0);
    pcap_set_timeout(s->p, CAP_BLOCK_TIMEOUT_MS);
    if (o->buffer_bytes)
        pcap_set_buffer_size(s->p, o->buffer_bytes > INT32_MAX
                                       ? INT32_MAX : (int)o->buffer_bytes);
    pcap_set_tstamp_precision(s->p, PCAP_TSTAMP_PRECISION_MICRO);
    int a = pcap_activate(s->p);
    if (a < 0) {
        const char *why = pcap_geterr(s->p);
        if (a == PCAP_ERROR_NO_SUCH_DEVICE)
            rc = rp_fail(err, RP_EINPUT, "interface %s does not exist; list "
                         "interfaces with 'ip link' or 'tcpdump -D'", iface);
        else if (a == PCAP_ERROR_PERM_DENIED)
            rc = rp_fail(err, RP_EIO, "interface %s: permission denied (%s); "
                         "run as root or give the binary CAP_NET_RAW", iface,
                         why);
        else
            rc = rp_fail(err, RP_EIO, "interface %s: cannot capture: %s",
                         iface, why && *why ? why : pcap_statustostr(a));
        goto done;
    }
    if (a > 0)
        rp_warn("interface %s: %s", iface, pcap_statustostr(a));
    if (pcap_setnonblock(s->p, 1, perr) < 0) {
        rc = rp_fail(err, RP_EIO, "interface %s: %s", iface, perr);
        goto done;
    }
    s->fd = pcap_get_selectable_fd(s->p);
    rc = finish_open(s, err);
done:
    if (rc) {
        cap_source_free(s);
        s = NULL;
    }
    *out = s;
    return rc;
}

int cap_source_set_filter(struct cap_source *s, const char *expr, char *err)
{
    struct bpf_program prog;
    if (pcap_compile(s->p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0)
        return rp_fail(err, RP_EUSAGE, "filter '%s': %s; see 'man "
                       "pcap-filter' for the syntax", expr, pcap_geterr(s->p));
    int rc = pcap_setfilter(s->p, &prog);
    pcap_freecode(&prog);
    if (rc < 0)
        return rp_fail(err, RP_EIO, "filter '%s': %s", expr, pcap_geterr(s->p));
    return RP_OK;
}

int cap_source_datalink(const struct cap_source *s) { return s->dlt; }
int cap_source_is_live(const struct cap_source *s) { return s->live; }

static void on_packet(u_char *user, const struct pcap_pkthdr *h,
                      const u_char *bytes)
{
    struct cap_source *s = (struct cap_source *)user;
    int64_t ts;
    /* a pcapng file can carry any 64-bit time: saturate, never overflow */
    if (__builtin_mul_overflow((int64_t)h->ts.tv_sec, 1000000, &ts) ||
        __builtin_add_overflow(ts, (int64_t)h->ts.tv_usec, &ts))
        ts = h->ts.tv_sec < 0 ? INT64_MIN / 2 : INT64_MAX / 2;
    s->fn(s->user, ts, bytes, h->caplen, h->len);
}

int cap_source_read(struct cap_source *s, int max, int wait_ms,
                    cap_packet_fn fn, void *user, char *err)
{
    if (s->stop)
        return CAP_SRC_BREAK;
    s->fn = fn;
    s->user = user;
    if (s->live && s->fd >= 0 && wait_ms > 0) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, wait_ms);
        if (pr < 0 && errno != EINTR)
            return rp_fail(err, RP_EIO, "interface %s: poll: %s", s->name,
                           strerror(errno));
        if (s->stop)
            return CAP_SRC_BREAK;
        if (pr <= 0)
            return 0;
    }
    int n = pcap_dispatch(s->p, max, on_packet, (u_char *)s);
    if (n == PCAP_ERROR_BREAK || s->stop)
        return CAP_SRC_BREAK;
    if (n < 0) {
        const char *why = pcap_geterr(s->p);
        return rp_fail(err, s->live ? RP_EIO : RP_EINPUT, "%s: %s", s->name,
                       why);
    }
    if (n == 0 && !s->live)
        return CAP_SRC_EOF;
    return n;
}

void cap_source_break(struct cap_source *s)
{
    s->stop = 1;
    pcap_breakloop(s->p);
}

void cap_source_drops(struct cap_source *s, uint64_t *drops, uint64_t *ifdrops)
{
    struct pcap_stat st;
    *drops = *ifdrops = 0;
    if (s->live && pcap_stats(s->p, &st) == 0) {
        *drops = st.ps_drop;
        *ifdrops = st.ps_ifdrop;
    }
}

void cap_source_free(struct cap_source *s)
{
    if (!s)
        return;
    if (s->p)
        pcap_close(s->p);
    free(s->iobuf); /* after pcap_close, which closed its FILE */
    free(s);
}
