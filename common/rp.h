/*
 * rp.h: the few things every reprise module shares -- error codes, the error
 * message buffer convention, clocks, logging and small argument parsers.
 * Each module returns 0 for success or a negative RP_E* code and writes one
 * human sentence into a caller-supplied char err[RP_ERRLEN], as libpcap does.
 * The CLI maps RP_EUSAGE/RP_EINPUT to exit code 2 and everything else to 1.
 */
#ifndef RP_H
#define RP_H

#include <stddef.h>
#include <stdint.h>

#define RP_ERRLEN 512
#define RP_VERSION "0.1.0"

enum rp_err {
    RP_OK = 0,
    RP_EUSAGE = -1,  /* bad command line: unknown flag, malformed value */
    RP_EINPUT = -2,  /* bad input file: not a pcap, not a corpus, unknown run */
    RP_EIO = -3,     /* runtime I/O failure: disk full, write error */
    RP_ENOMEM = -4,  /* allocation failed or a configured cap was hit */
    RP_EINTERNAL = -5,
};

/* Exit code for an rp_err: 0, 2 for usage/input errors, 1 otherwise. */
int rp_exit_code(int err);

/* Formats into err (RP_ERRLEN bytes) and returns code, so callers can write
 * `return rp_fail(err, RP_EINPUT, "%s: not a pcap file", path);`. */
int rp_fail(char *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A wall-clock time as ISO 8601 UTC, "2026-11-28T07:09:29Z", or with
 * milliseconds "2026-11-28T07:09:29.834Z"; "-" for 0 or less. */
void rp_fmt_time_iso(int64_t wall_us, int with_ms, char *out, size_t n);

/* Clocks, in microseconds. Monotonic measures intervals; wall labels. */
int64_t rp_mono_us(void);
int64_t rp_wall_us(void);

/* Logging to stderr, prefixed with "reprise: ". rp_quiet silences rp_info. */
extern int rp_quiet;
void rp_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Strict argument parsers; each returns 0 or RP_EUSAGE with err filled in
 * naming `what` (e.g. "--speed"). */
int rp_parse_double(const char *s, const char *what, double min_excl,
                    double *out, char *err);
int rp_parse_i64(const char *s, const char *what, int64_t min, int64_t max,
                 int64_t *out, char *err);
/* "250ms", "10s", "5m", "1h", "1500us"; a bare number is seconds. */
int rp_parse_duration_us(const char *s, const char *what, int64_t *out,
                         char *err);
/* "64MiB", "1M", "512k", "100" (bytes). k/M/G are 1024-based. */
int rp_parse_size(const char *s, const char *what, uint64_t *out, char *err);

/* Copies an error message into out (n bytes) with the numbers that differ
 * between otherwise equal failures ("after 3 ms", "with 0 bytes received")
 * written as N and control characters as spaces, so that equal causes
 * count as one message. Addresses and ports are kept. */
void rp_errmsg_normalize(const char *msg, char *out, size_t n);

/* 16-byte content hash (truncated SHA-256), used for body deduplication and
 * for comparing response bodies across runs. */
#define RP_HASH_LEN 16
void rp_hash(const void *data, size_t len, uint8_t out[RP_HASH_LEN]);
/* Lower-case hex of a hash into out (2*RP_HASH_LEN+1 bytes). */
void rp_hash_hex(const uint8_t h[RP_HASH_LEN], char *out);

#endif
