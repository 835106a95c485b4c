/*
 * cap_source.h: a thin wrapper over libpcap for the two kinds of packet
 * source `reprise capture` reads: a live interface (pcap_create +
 * pcap_activate, immediate mode, a large kernel buffer, non-blocking so the
 * caller's loop can commit and react to signals on a quiet interface) and a
 * pcap or pcapng file ("-" is standard input). Errors name the source and
 * say what to do.
 */
#ifndef RP_CAP_SOURCE_H
#define RP_CAP_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#define CAP_SNAPLEN 262144
/* Live capture: the kernel hands over packets at least this often; a
 * stopping capture reads for this long again so nothing seen is lost. */
#define CAP_BLOCK_TIMEOUT_MS 50

struct cap_live_opts {
    uint64_t buffer_bytes; /* kernel buffer, --buffer-size */
    int promisc;           /* 1 with --promisc */
    int snaplen;           /* 0 = CAP_SNAPLEN */
    int immediate;         /* 1: deliver each packet at once (pcap
                              immediate mode; costs ring capacity) */
};

struct cap_source;

/* Packet callback: ts_us is the capture timestamp (epoch µs), frame holds
 * caplen bytes of a packet that was wire_len long. */
typedef void (*cap_packet_fn)(void *user, int64_t ts_us, const uint8_t *frame,
                              uint32_t caplen, uint32_t wire_len);

/* Opens a pcap/pcapng file, or standard input for "-". RP_EINPUT when it is
 * missing, unreadable, empty or not a capture file; RP_EINPUT too for a
 * link type reprise cannot decode. */
int cap_source_open_file(const char *path, struct cap_source **out,
                         char *err);
/* Opens a live interface. RP_EINPUT when it does not exist, RP_EIO when
 * it cannot be opened (permissions: run as root or grant CAP_NET_RAW). */
int cap_source_open_live(const char *iface, const struct cap_live_opts *o,
                         struct cap_source **out, char *err);
/* Compiles and installs a BPF filter. RP_EUSAGE when it does not compile. */
int cap_source_set_filter(struct cap_source *s, const char *expr, char *err);
/* DLT_* link type of the source. */
int cap_source_datalink(const struct cap_source *s);
/* 1 for a live interface, 0 for a file. */
int cap_source_is_live(const struct cap_source *s);

/* Reads up to max packets (live: those ready now, waiting at most
 * wait_ms for the first) and calls fn for each. Returns the number of
 * packets handled (0 on a quiet interface), CAP_SRC_EOF at the end of a
 * file, CAP_SRC_BREAK after cap_source_break, or RP_EINPUT / RP_EIO with
 * err filled (a file cut short says "truncated"). */
#define CAP_SRC_EOF (-100)
#define CAP_SRC_BREAK (-101)
int cap_source_read(struct cap_source *s, int max, int wait_ms,
                    cap_packet_fn fn, void *user, char *err);
/* Makes a running or the next cap_source_read return CAP_SRC_BREAK; safe
 * to call from a signal handler. A live capture that wants the packets
 * still in the kernel ring keeps reading for CAP_BLOCK_TIMEOUT_MS instead
 * (cap_source_read returns as soon as a signal interrupts its wait). */
void cap_source_break(struct cap_source *s);
/* Kernel and interface drop counters (0 for files). */
void cap_source_drops(struct cap_source *s, uint64_t *drops,
                      uint64_t *ifdrops);
/* Closes the source; accepts NULL. */
void cap_source_free(struct cap_source *s);

#endif
