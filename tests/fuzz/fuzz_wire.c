/*
 * fuzz_wire.c: libFuzzer target for the wire layer (capture/wire.c:
 * Redis, PostgreSQL and generic TCP) behind struct cap_stream_ops. The
 * first byte picks the protocol; the rest is a program of stream events
 * (data in either direction, gaps, FINs, canned well-formed messages that
 * reach deep states: AUTH, pipelines, pushes, startup, extended query,
 * COPY), ended by a close. The corpus functions are stubbed and check what
 * the layer hands over: seq 0,1,2... per connection, strings that end,
 * bodies within --max-body, no secret argument of AUTH stored in clear, a
 * status of 0 only without a reply; after the close the layer's memory
 * count is back to 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/stream.h"
#include "capture/wire.h"

#define MAX_BODY 96

static int64_t next_seq, conns;
static volatile uint8_t sink;

int corpus_add_connection(struct corpus *c, const struct corpus_conn *cn,
                          int64_t *conn_id, char *err)
{
    (void)c;
    (void)cn;
    (void)err;
    *conn_id = ++conns;
    next_seq = 0;
    return 0;
}

int corpus_connection_end(struct corpus *c, int64_t conn_id, int64_t last_us,
                          char *err)
{
    (void)c;
    (void)conn_id;
    (void)last_us;
    (void)err;
    return 0;
}

static void touch(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        sink ^= b[i];
}

int corpus_add_exchange(struct corpus *c, const struct corpus_exchange *ex,
                        int64_t *ex_id, char *err)
{
    (void)c;
    (void)err;
    if (ex->seq != next_seq++)
        abort();
    touch(ex->method, strlen(ex->method));
    touch(ex->target, strlen(ex->target));
    touch(ex->version, strlen(ex->version));
    if (ex->reason)
        touch(ex->reason, strlen(ex->reason));
    const struct corpus_msg *m[2] = {&ex->req, &ex->resp};
    for (int i = 0; i < 2; i++) {
        if (m[i]->body_len > MAX_BODY || m[i]->body_len > m[i]->body_size)
            abort();
        if (m[i]->body)
            touch(m[i]->body, m[i]->body_len);
    }
    /* secrets are never kept: no argument of AUTH (fuzzed or canned), no
     * PasswordMessage; generic TCP knows no secrets, and other commands
     * may well carry "hunter2" (the fuzzer learns it from this check) */
    if (ex->req.body && !strcmp(ex->method, "AUTH") &&
        strcmp(ex->version, "TCP") &&
        memmem(ex->req.body, ex->req.body_len, "hunter2", 7))
        abort();
    if (ex->req.body && !strcmp(ex->version, "PG3") &&
        memmem(ex->req.body, ex->req.body_len, "p\0\0\0\014hunter2", 12))
        abort();
    if (ex->status == 0 && !(ex->flags & CORPUS_EX_NO_RESPONSE))
        abort();
    *ex_id = 1;
    return 0;
}

static const struct {
    const char *p;
    size_t n;
    int s2c;
} canned[] = {
#define M(s, d) {s, sizeof s - 1, d}
    M("*2\015\012$4\015\012AUTH\015\012$7\015\012hunter2\015\012", 0),
    M("*3\015\012$3\015\012SET\015\012$1\015\012k\015\012$1\015\012v\015\012*2\015\012$3\015\012GET\015\012$1\015\012k\015\012", 0),
    M("+OK\015\012$1\015\012v\015\012", 1),
    M("*2\015\012$9\015\012SUBSCRIBE\015\012$1\015\012c\015\012", 0),
    M("*3\015\012$7\015\012message\015\012$1\015\012c\015\012$1\015\012m\015\012", 1),
    M(">3\015\012$7\015\012message\015\012$1\015\012c\015\012$1\015\012m\015\012", 1),
    M("-WRONGTYPE Operation\015\012", 1),
    M("*2\015\012$5\015\012HELLO\015\012$1\015\0123\015\012", 0),
    M("\0451\015\012+server\015\012+redis\015\012", 1),
    M("\000\000\000\022\000\003\000\000user\000bob\000\000", 0),
    M("R\000\000\000\010\000\000\000\000S\000\000\000\010a\000b\000Z\000\000\000\005I", 1),
    M("Q\000\000\000\032SELECT 1 WHERE x = 42\000", 0),
    M("T\000\000\000\006\000\000D\000\000\000\013\000\001\000\000\000\0011C\000\000\000\015SELECT 1\000Z\000\000\000\005I", 1),
    M("P\000\000\000\023s1\000SELECT $1\000\000\000B\000\000\000\016\000s1\000\000\000\000\000\000\000E\000\000\000\011\000\000\000\000\000S\000\000\000\004", 0),
    M("1\000\000\000\0042\000\000\000\004C\000\000\000\015SELECT 0\000Z\000\000\000\005I", 1),
    M("E\000\000\000\035SERROR\000C42P01\000Mno table\000\000Z\000\000\000\005I", 1),
    M("G\000\000\000\007\000\000\000", 1),
    M("d\000\000\000\007ab\012c\000\000\000\004", 0),
    M("p\000\000\000\014hunter2\000", 0),
    M("\000\000\000\010\004\322\026\057", 0),
    M("N", 1),
    M("get k\015\012", 0),
    M("VALUE k 0 1\015\012v\015\012END\015\012", 1),
#undef M
};
#define NCANNED (sizeof canned / sizeof canned[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    struct cap_wire_opts o = {.max_body_bytes = MAX_BODY};
    struct cap_wire *w = cap_wire_new(NULL, 1, &o);
    if (!w)
        return 0;
    const struct cap_stream_ops *ops = cap_wire_ops();
    struct cap_conn_info ci;
    memset(&ci, 0, sizeof ci);
    strcpy(ci.client_addr, "192.0.2.1");
    strcpy(ci.server_addr, "192.0.2.2");
    void *c = ops->open(w, &ci);
    if (c)
        cap_wire_set_proto(c, (enum cap_wire_proto)(1 + data[0] % 3));
    size_t i = 1;
    int64_t ts = 0;
    while (c && i + 2 <= size) {
        uint8_t op = data[i];
        size_t len = data[i + 1];
        i += 2;
        if (len > size - i)
            len = size - i;
        enum cap_dir dir = (op & 0x80) ? CAP_DIR_S2C : CAP_DIR_C2S;
        ts += (op >> 3) & 7;
        switch (op & 7) {
        case 0:
        case 1:
        case 4:
            ops->data(w, c, (op & 1) ? CAP_DIR_S2C : CAP_DIR_C2S, data + i,
                      len, ts);
            i += len;
            break;
        case 2:
            ops->gap(w, c, dir, len + 1, ts);
            break;
        case 3:
            ops->fin(w, c, dir, ts);
            break;
        default: {
            size_t k = len % NCANNED;
            ops->data(w, c, canned[k].s2c ? CAP_DIR_S2C : CAP_DIR_C2S,
                      (const uint8_t *)canned[k].p, canned[k].n, ts);
            break;
        }
        }
    }
    if (c)
        ops->close(w, c, (enum cap_close_reason)(size % 5), ts);
    if (cap_wire_memory_bytes(w) != 0)
        abort();
    cap_wire_free(w);
    return 0;
}
