/*
 * mux.h: the layer that sends each connection to the HTTP layer
 * (exchange.c) or the wire layer (wire.c), by --protocol or, without it,
 * by the connection's first bytes and its server port. It implements the
 * stream.h callbacks over both.
 */
#ifndef RP_CAP_MUX_H
#define RP_CAP_MUX_H

#include "capture/exchange.h"
#include "capture/stream.h"
#include "capture/wire.h"

/* --protocol: the values match enum cap_wire_proto where they overlap. */
enum cap_mux_proto {
    CAP_MUX_AUTO = -1,
    CAP_MUX_HTTP = 0,
    CAP_MUX_REDIS = CAP_WIRE_REDIS,
    CAP_MUX_PG = CAP_WIRE_PG,
    CAP_MUX_TCP = CAP_WIRE_TCP,
};

struct cap_mux;
/* Neither layer is owned; wire may be NULL (HTTP only). */
struct cap_mux *cap_mux_new(struct cap_http *http, struct cap_wire *wire,
                            enum cap_mux_proto forced);
void cap_mux_free(struct cap_mux *m); /* accepts NULL */
const struct cap_stream_ops *cap_mux_ops(void);

#endif
