/*
 * prom.h: a strict parser of the Prometheus text exposition format
 * (version 0.0.4), for `reprise replay --monitor URL`. Strict: a line that
 * is not a comment, a HELP or TYPE line, a blank line or a well-formed
 * sample is an error naming its line, never a guess. Samples are passed
 * on as they are met, so nothing is kept but the current TYPE table.
 *
 * Sample grammar: NAME [ "{" LABEL "=" "\"" VALUE "\"" { "," ... } [","]
 * "}" ] SP FLOAT [ SP INT64 ], NAME [a-zA-Z_:][a-zA-Z0-9_:]*, LABEL
 * [a-zA-Z_][a-zA-Z0-9_]*, label values with the escapes \\ \" \n, FLOAT
 * also NaN, +Inf, -Inf. A histogram's or summary's NAME_bucket, NAME_sum
 * and NAME_count samples take the type of NAME.
 */
#ifndef RP_PROTO_PROM_H
#define RP_PROTO_PROM_H

#include <stddef.h>

#define PROTO_PROM_NAME_MAX 512  /* longest series name kept, labels in */

/* series: the name with its labels as written ('a{b="c"}', escapes kept);
 * name: the metric name alone; type: "counter", "gauge", "histogram",
 * "summary" or "untyped". A non-zero return stops the parse and is
 * returned. */
typedef int (*proto_prom_fn)(void *arg, const char *series,
                             const char *name, const char *type,
                             double value);

/* Parses buf[0..len). 0, fn's return, or -1 with "line N: why" in err. */
int proto_prom_parse(const char *buf, size_t len, proto_prom_fn fn,
                     void *arg, char *err, size_t errlen);

#endif
