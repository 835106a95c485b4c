/*
 * rp.c: error formatting, clocks, logging, strict argument parsers and the
 * content hash shared by every module (see rp.h).
 */
#include "rp.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int rp_quiet = 0;

int rp_exit_code(int err)
{
    if (err == RP_OK)
        return 0;
    if (err == RP_EUSAGE || err == RP_EINPUT)
        return 2;
    return 1;
}

int rp_fail(char *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, RP_ERRLEN, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t rp_mono_us(void) { return clock_us(CLOCK_MONOTONIC); }
int64_t rp_wall_us(void) { return clock_us(CLOCK_REALTIME); }

static void vlog(const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, "reprise: %s\n", line);
}

void rp_info(const char *fmt, ...)
{
    if (rp_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

void rp_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

int rp_parse_double(const char *s, const char *what, double min_excl,
                    double *out, char *err)
{
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || errno || !isfinite(v) || v <= min_excl)
        return rp_fail(err, RP_EUSAGE,
                       "%s: '%s' is not a number greater than %g", what,
                       s ? s : "", min_excl);
    *out = v;
    return RP_OK;
}

int rp_parse_i64(const char *s, const char *what, int64_t min, int64_t max,
                 int64_t *out, char *err)
{
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < min || v > max)
        return rp_fail(err, RP_EUSAGE,
                       "%s: '%s' is not a whole number from %lld to %lld",
                       what, s ? s : "", (long long)min, (long long)max);
    *out = v;
    return RP_OK;
}

/* Splits "12.5ms" into 12.5 and "ms"; fails on a missing number. */
static int split_unit(const char *s, double *num, const char **unit)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return -1;
    *num = v;
    *unit = end;
    return 0;
}

int rp_parse_duration_us(const char *s, const char *what, int64_t *out,
                         char *err)
{
    static const struct { const char *u; double mul; } units[] = {
        {"", 1e6}, {"us", 1}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6},
        {"h", 3600e6},
    };
    double v;
    const char *unit;
    if (s && split_unit(s, &v, &unit) == 0) {
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (strcmp(unit, units[i].u) == 0 && v * units[i].mul < 9e18) {
                *out = (int64_t)llround(v * units[i].mul);
                return RP_OK;
            }
        }
    }
    return rp_fail(err, RP_EUSAGE,
                   "%s: '%s' is not a duration (examples: 500ms, 10s, 5m, 1h)",
                   what, s ? s : "");
}

int rp_parse_size(const char *s, const char *what, uint64_t *out, char *err)
{
    static const struct { const char *u; double mul; } units[] = {
        {"", 1}, {"b", 1}, {"k", 1024.0}, {"kib", 1024.0}, {"kb", 1024.0},
        {"m", 1048576.0}, {"mib", 1048576.0}, {"mb", 1048576.0},
        {"g", 1073741824.0}, {"gib", 1073741824.0}, {"gb", 1073741824.0},
    };
    double v;
    const char *unit;
    if (s && split_unit(s, &v, &unit) == 0) {
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (strcasecmp(unit, units[i].u) == 0 && v * units[i].mul < 1.8e19) {
                *out = (uint64_t)(v * units[i].mul);
                return RP_OK;
            }
        }
    }
    return rp_fail(err, RP_EUSAGE,
                   "%s: '%s' is not a size (examples: 4096, 512k, 64MiB, 1G)",
                   what, s ? s : "");
}

/* OpenSSL 3 looks the digest up on every EVP_sha256() use; fetching it once
 * took rp_hash from 17% of exchange-write time to a few percent. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static void sha256_fetch(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

void rp_hash(const void *data, size_t len, uint8_t out[RP_HASH_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    pthread_once(&sha256_once, sha256_fetch);
    EVP_Digest(data, len, md, &mdlen, sha256_md ? sha256_md : EVP_sha256(),
               NULL);
    memcpy(out, md, RP_HASH_LEN);
}

void rp_hash_hex(const uint8_t h[RP_HASH_LEN], char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < RP_HASH_LEN; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[2 * RP_HASH_LEN] = '\0';
}

void rp_errmsg_normalize(const char *msg, char *out, size_t n)
{
    static const char *const units[] = {" ms", " milliseconds", " bytes",
                                        " seconds", " out of "};
    size_t o = 0;
    if (!n)
        return;
    for (const char *p = msg ? msg : ""; *p && o + 1 < n;) {
        if (*p >= '0' && *p <= '9') {
            const char *q = p;
            while (*q >= '0' && *q <= '9')
                q++;
            int vary = p - msg >= 6 && !strncmp(p - 6, "after ", 6);
            for (size_t u = 0; !vary && u < sizeof units / sizeof *units; u++)
                vary = !strncmp(q, units[u], strlen(units[u]));
            if (vary) {
                out[o++] = 'N';
            } else {
                size_t len = (size_t)(q - p);
                if (len > n - 1 - o)
                    len = n - 1 - o;
                memcpy(out + o, p, len);
                o += len;
            }
            p = q;
            continue;
        }
        unsigned char c = (unsigned char)*p++;
        out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[o] = '\0';
}

void rp_fmt_time_iso(int64_t wall_us, int with_ms, char *out, size_t n)
{
    if (wall_us <= 0) {
        snprintf(out, n, "-");
        return;
    }
    time_t s = (time_t)(wall_us / 1000000);
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&s, &tm) ||
        !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm)) {
        snprintf(out, n, "-");
        return;
    }
    if (with_ms)
        snprintf(out, n, "%s.%03dZ", buf, (int)(wall_us / 1000 % 1000));
    else
        snprintf(out, n, "%sZ", buf);
}
