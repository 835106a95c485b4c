/*
 * har.h: `reprise capture --har FILE`: a HAR 1.2 file (a browser's
 * devtools "Save all as HAR", or any HAR writer) imported into a corpus
 * through the same seam as a packet capture (stream.h): each entry's
 * request and response are written as HTTP/1.1 messages into a connection
 * (entries sharing a "connection" id share one, in time order), at the
 * times its timings give, so the HTTP layer frames, pairs, redacts and
 * stores them exactly as it does captured bytes.
 *
 * What a HAR cannot carry over: the wire bytes (headers are rebuilt from
 * the HAR's list, HTTP/2 pseudo-headers become the request line and Host);
 * a body with a Content-Encoding is stored decoded, as HAR keeps it
 * (content.text, base64 when content.encoding says so), with the encoding
 * and framing headers left out and a Content-Length of what is stored.
 */
#ifndef RP_CAP_HAR_H
#define RP_CAP_HAR_H

#include <stdint.h>

#include "capture/stream.h"

struct cap_har;

struct cap_har_stats {
    uint64_t entries;        /* in the file */
    uint64_t imported;       /* fed to the HTTP layer */
    uint64_t skipped;        /* without a usable request (counted, said) */
    uint64_t connections;
};

/* Reads and checks path (RP_EINPUT with the reason when it is not HAR). */
int cap_har_load(const char *path, struct cap_har **out, char *err);
/* The first entry's start, epoch µs (0 when there is none). */
int64_t cap_har_first_us(const struct cap_har *h);
/* The last byte of the last response, epoch µs. */
int64_t cap_har_last_us(const struct cap_har *h);
/* Feeds every entry through ops with ctx (the HTTP layer). */
int cap_har_feed(struct cap_har *h, const struct cap_stream_ops *ops,
                 void *ctx, struct cap_har_stats *st, char *err);
void cap_har_free(struct cap_har *h);

#endif
