/*
 * test_wire.c: the wire layer (capture/wire.c: Redis, PostgreSQL, generic
 * TCP) driven through its stream callbacks with transcripts spelled out
 * here, as the TCP reassembler would deliver them. The corpus writers are
 * stubbed, as in tests/fuzz/fuzz_wire.c, so each exchange the layer hands
 * over is recorded (owned copies) and asserted on exactly: endpoint,
 * version, status and reason, flags, bodies, wire sizes and timestamps;
 * then the counters and the memory count after the close. Cases that
 * fail on a known bug of wire.c say so and are skipped (KNOWN_BUG) unless
 * TEST_WIRE_BUGS is set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/stream.h"
#include "capture/wire.h"
#include "corpus/corpus.h"

#define C2S CAP_DIR_C2S
#define S2C CAP_DIR_S2C
#define BODY_MAX 4096
#define REC_MAX 64

/* One exchange as the layer wrote it (owned copies). */
struct rec {
    int64_t conn_id, seq;
    char method[64], target[256], version[16], reason[64];
    int has_reason, status;
    uint32_t flags;
    uint8_t req[BODY_MAX], resp[BODY_MAX];
    size_t req_len, resp_len;
    uint64_t req_size, resp_size, req_wire, resp_wire;
    int64_t req_first, req_last, resp_first, resp_last;
};

static struct rec recs[REC_MAX];
static int nrec, nconn, nend;
static int64_t end_last_us;

/* ---- the corpus, stubbed ------------------------------------------------- */

int corpus_add_connection(struct corpus *c, const struct corpus_conn *cn,
                          int64_t *conn_id, char *err)
{
    (void)c;
    (void)cn;
    (void)err;
    *conn_id = ++nconn;
    return 0;
}

int corpus_connection_end(struct corpus *c, int64_t conn_id, int64_t last_us,
                          char *err)
{
    (void)c;
    (void)conn_id;
    (void)err;
    nend++;
    end_last_us = last_us;
    return 0;
}

int corpus_add_exchange(struct corpus *c, const struct corpus_exchange *ex,
                        int64_t *ex_id, char *err)
{
    (void)c;
    (void)err;
    assert_true(nrec < REC_MAX);
    struct rec *r = &recs[nrec++];
    memset(r, 0, sizeof *r);
    r->conn_id = ex->conn_id;
    r->seq = ex->seq;
    snprintf(r->method, sizeof r->method, "%s", ex->method);
    snprintf(r->target, sizeof r->target, "%s", ex->target);
    snprintf(r->version, sizeof r->version, "%s", ex->version);
    if (ex->reason) {
        r->has_reason = 1;
        snprintf(r->reason, sizeof r->reason, "%s", ex->reason);
    }
    r->status = ex->status;
    r->flags = ex->flags;
    assert_true(ex->req.body_len <= BODY_MAX && ex->resp.body_len <= BODY_MAX);
    assert_true(ex->req.body_len <= ex->req.body_size);
    assert_true(ex->resp.body_len <= ex->resp.body_size);
    if (ex->req.body_len)
        memcpy(r->req, ex->req.body, ex->req.body_len);
    if (ex->resp.body_len)
        memcpy(r->resp, ex->resp.body, ex->resp.body_len);
    r->req_len = ex->req.body_len;
    r->resp_len = ex->resp.body_len;
    r->req_size = ex->req.body_size;
    r->resp_size = ex->resp.body_size;
    r->req_wire = ex->req.wire_bytes;
    r->resp_wire = ex->resp.wire_bytes;
    r->req_first = ex->req.first_us;
    r->req_last = ex->req.last_us;
    r->resp_first = ex->resp.first_us;
    r->resp_last = ex->resp.last_us;
    if (getenv("TEST_WIRE_DUMP")) /* what was written, to debug a case */
        fprintf(stderr, "ex %d: %s [%s] %s %d [%s] flags %#x req %zu/%llu "
                "resp %zu/%llu\n", nrec - 1, r->method, r->target,
                r->version, r->status, r->reason, r->flags, r->req_len,
                (unsigned long long)r->req_wire, r->resp_len,
                (unsigned long long)r->resp_wire);
    *ex_id = nrec;
    return 0;
}

/* ---- driving the layer --------------------------------------------------- */

static struct cap_wire *w;
static const struct cap_stream_ops *ops;

static int setup(void **state)
{
    (void)state;
    nrec = nconn = nend = 0;
    end_last_us = 0;
    struct cap_wire_opts o = {.max_body_bytes = BODY_MAX};
    w = cap_wire_new(NULL, 1, &o);
    ops = cap_wire_ops();
    return w ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cap_wire_free(w);
    w = NULL;
    return 0;
}

static void *conn_open(enum cap_wire_proto p)
{
    struct cap_conn_info ci;
    memset(&ci, 0, sizeof ci);
    strcpy(ci.client_addr, "192.0.2.1");
    ci.client_port = 40000;
    strcpy(ci.server_addr, "192.0.2.2");
    ci.server_port = p == CAP_WIRE_REDIS ? 6379 : p == CAP_WIRE_PG ? 5432 : 25;
    ci.first_us = 1;
    void *c = ops->open(w, &ci);
    assert_non_null(c);
    cap_wire_set_proto(c, p);
    return c;
}

static void tx(void *c, enum cap_dir d, const void *p, size_t n, int64_t ts)
{
    ops->data(w, c, d, p, n, ts);
}

/* p[0..n) in runs of step bytes, the k-th run at ts + k. */
static void tx_split(void *c, enum cap_dir d, const void *p, size_t n,
                     size_t step, int64_t ts)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i += step, ts++)
        tx(c, d, b + i, n - i < step ? n - i : step, ts);
}

static void conn_close(void *c, int64_t ts)
{
    ops->close(w, c, CAP_CLOSE_FIN, ts);
}

/* A case that fails on a known bug of wire.c (named where it is used) is
 * skipped, unless TEST_WIRE_BUGS is set in the environment. */
#define KNOWN_BUG()                                                            \
    do {                                                                       \
        if (!getenv("TEST_WIRE_BUGS"))                                         \
            skip();                                                            \
    } while (0)

#define L(s) s, sizeof s - 1
#define CLI(c, s, ts) tx(c, C2S, L(s), ts)
#define SRV(c, s, ts) tx(c, S2C, L(s), ts)

static void expect_ex(int i, const char *method, const char *target,
                      const char *version, int status, const char *reason,
                      uint32_t flags)
{
    assert_true(i < nrec);
    const struct rec *r = &recs[i];
    assert_string_equal(r->method, method);
    assert_string_equal(r->target, target);
    assert_string_equal(r->version, version);
    assert_int_equal(r->status, status);
    if (reason) {
        assert_true(r->has_reason);
        assert_string_equal(r->reason, reason);
    } else {
        assert_false(r->has_reason);
    }
    assert_int_equal(r->flags, flags);
}

static void expect_bytes(const uint8_t *got, size_t got_len, const void *want,
                         size_t want_len)
{
    assert_int_equal(got_len, want_len);
    if (want_len)
        assert_memory_equal(got, want, want_len);
}

/* The stored request body, whole (size == length == wire bytes). */
#define EXPECT_REQ(i, s)                                                       \
    do {                                                                       \
        expect_bytes(recs[i].req, recs[i].req_len, L(s));                      \
        assert_int_equal(recs[i].req_size, sizeof s - 1);                      \
        assert_int_equal(recs[i].req_wire, sizeof s - 1);                      \
    } while (0)
#define EXPECT_RESP(i, s)                                                      \
    do {                                                                       \
        expect_bytes(recs[i].resp, recs[i].resp_len, L(s));                    \
        assert_int_equal(recs[i].resp_size, sizeof s - 1);                     \
        assert_int_equal(recs[i].resp_wire, sizeof s - 1);                     \
    } while (0)

static void expect_times(int i, int64_t req_first, int64_t req_last,
                         int64_t resp_first, int64_t resp_last)
{
    assert_int_equal(recs[i].req_first, req_first);
    assert_int_equal(recs[i].req_last, req_last);
    assert_int_equal(recs[i].resp_first, resp_first);
    assert_int_equal(recs[i].resp_last, resp_last);
}

static int has(const void *hay, size_t n, const char *needle)
{
    return memmem(hay, n, needle, strlen(needle)) != NULL;
}

/* s appears in no stored byte of any exchange. */
static void assert_nowhere(const char *s)
{
    for (int i = 0; i < nrec; i++) {
        const struct rec *r = &recs[i];
        assert_false(has(r->method, strlen(r->method), s));
        assert_false(has(r->target, strlen(r->target), s));
        assert_false(has(r->reason, strlen(r->reason), s));
        assert_false(has(r->req, r->req_len, s));
        assert_false(has(r->resp, r->resp_len, s));
    }
}

static struct cap_wire_stats stats(void)
{
    struct cap_wire_stats st;
    cap_wire_stats(w, &st);
    assert_int_equal(st.requests, st.exchanges + st.lost_no_memory);
    assert_int_equal(st.exchanges, (uint64_t)nrec);
    return st;
}

/* Every connection is closed: nothing is held, seqs run 0, 1, 2... */
static void expect_closed(void)
{
    assert_int_equal(cap_wire_memory_bytes(w), 0);
    assert_int_equal(nend, nconn);
    for (int i = 0; i < nrec; i++)
        if (i == 0 || recs[i].conn_id != recs[i - 1].conn_id)
            assert_int_equal(recs[i].seq, 0);
        else
            assert_int_equal(recs[i].seq, recs[i - 1].seq + 1);
}

/* ---- Redis --------------------------------------------------------------- */

#define R_PING "*1\r\n$4\r\nPING\r\n"
#define R_GET_K "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
#define R_SET_KV "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"

/* Three commands in one segment, then their three replies in one. */
static void test_redis_pipeline(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, R_PING R_GET_K R_SET_KV, 100);
    SRV(c, "+PONG\r\n$-1\r\n+OK\r\n", 200);
    conn_close(c, 300);
    assert_int_equal(nrec, 3);
    expect_ex(0, "PING", "", "RESP2", 200, NULL, 0);
    EXPECT_REQ(0, R_PING);
    EXPECT_RESP(0, "+PONG\r\n");
    expect_ex(1, "GET", "", "RESP2", 200, NULL, 0);
    EXPECT_REQ(1, R_GET_K);
    EXPECT_RESP(1, "$-1\r\n");
    expect_ex(2, "SET", "", "RESP2", 200, NULL, 0);
    EXPECT_REQ(2, R_SET_KV);
    EXPECT_RESP(2, "+OK\r\n");
    for (int i = 0; i < 3; i++)
        expect_times(i, 100, 100, 200, 200);
    struct cap_wire_stats st = stats();
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.conns[CAP_WIRE_REDIS], 1);
    assert_int_equal(st.incomplete + st.no_response + st.malformed, 0);
    assert_int_equal(st.unpaired_responses + st.pushes + st.secrets, 0);
    assert_int_equal(end_last_us, 200);
    expect_closed();
}

/* Two commands, their replies delivered one byte per call (ts 1000 on). */
static void test_redis_reply_bytewise(void **state)
{
    (void)state;
    static const char replies[] = "$5\r\nhello\r\n*2\r\n:1\r\n$-1\r\n";
    void *c = conn_open(CAP_WIRE_REDIS);
    tx_split(c, C2S, L(R_GET_K "*2\r\n$4\r\nMGET\r\n$1\r\na\r\n"), 1, 500);
    tx_split(c, S2C, L(replies), 1, 1000);
    conn_close(c, 2000);
    assert_int_equal(nrec, 2);
    expect_ex(0, "GET", "", "RESP2", 200, NULL, 0);
    EXPECT_REQ(0, R_GET_K);
    EXPECT_RESP(0, "$5\r\nhello\r\n");
    /* GET k is bytes 0..21 (ts 500..521); MGET a follows */
    expect_times(0, 500, 500 + sizeof R_GET_K - 2, 1000, 1010);
    expect_ex(1, "MGET", "", "RESP2", 200, NULL, 0);
    EXPECT_RESP(1, "*2\r\n:1\r\n$-1\r\n");
    assert_int_equal(recs[1].resp_first, 1011);
    assert_int_equal(recs[1].resp_last, 1011 + 13 - 1);
    stats();
    expect_closed();
}

static void test_redis_multi_exec(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, "*1\r\n$5\r\nMULTI\r\n", 10);
    SRV(c, "+OK\r\n", 11);
    CLI(c, R_SET_KV, 12);
    SRV(c, "+QUEUED\r\n", 13);
    CLI(c, "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n", 14);
    SRV(c, "+QUEUED\r\n", 15);
    CLI(c, "*1\r\n$4\r\nEXEC\r\n", 16);
    SRV(c, "*2\r\n+OK\r\n:1\r\n", 17);
    conn_close(c, 18);
    assert_int_equal(nrec, 4);
    expect_ex(0, "MULTI", "", "RESP2", 200, NULL, 0);
    EXPECT_RESP(0, "+OK\r\n");
    expect_ex(1, "SET", "", "RESP2", 200, NULL, 0);
    EXPECT_RESP(1, "+QUEUED\r\n");
    expect_ex(2, "INCR", "", "RESP2", 200, NULL, 0);
    EXPECT_REQ(2, "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n");
    EXPECT_RESP(2, "+QUEUED\r\n");
    expect_ex(3, "EXEC", "", "RESP2", 200, NULL, 0);
    EXPECT_REQ(3, "*1\r\n$4\r\nEXEC\r\n");
    EXPECT_RESP(3, "*2\r\n+OK\r\n:1\r\n");
    expect_times(3, 16, 16, 17, 17);
    stats();
    expect_closed();
}

static void test_redis_error_reply(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, "*2\r\n$4\r\nINCR\r\n$1\r\ns\r\n", 10);
    SRV(c, "-WRONGTYPE Operation against a key holding the wrong kind of "
           "value\r\n", 20);
    CLI(c, R_GET_K, 30);
    SRV(c, "$1\r\nv\r\n", 40);
    conn_close(c, 50);
    assert_int_equal(nrec, 2);
    expect_ex(0, "INCR", "", "RESP2", 500, "WRONGTYPE", 0);
    EXPECT_RESP(0, "-WRONGTYPE Operation against a key holding the wrong "
                   "kind of value\r\n");
    expect_ex(1, "GET", "", "RESP2", 200, NULL, 0); /* the error does not stick */
    stats();
    expect_closed();
}

/* AUTH password and AUTH user password: each argument is a marker in the
 * stored command, which is rewritten (longer than the wire's). */
static void test_redis_auth_redacted(void **state)
{
    (void)state;
    static const char auth1[] = "*2\r\n$4\r\nAUTH\r\n$10\r\nopensesame\r\n";
    static const char auth2[] =
        "*3\r\n$4\r\nAUTH\r\n$5\r\nalice\r\n$10\r\nwonderland\r\n";
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, "*2\r\n$4\r\nAUTH\r\n$10\r\nopensesame\r\n", 10);
    SRV(c, "+OK\r\n", 11);
    CLI(c, "*3\r\n$4\r\nAUTH\r\n$5\r\nalice\r\n$10\r\nwonderland\r\n", 12);
    SRV(c, "-WRONGPASS invalid username-password pair\r\n", 13);
    conn_close(c, 14);
    assert_int_equal(nrec, 2);
    expect_ex(0, "AUTH", "", "RESP2", 200, NULL, CORPUS_EX_REDACTED);
    expect_ex(1, "AUTH", "", "RESP2", 500, "WRONGPASS", CORPUS_EX_REDACTED);
    assert_nowhere("opensesame");
    assert_nowhere("alice");
    assert_nowhere("wonderland");
    /* "[redacted len=10 h=" + 12 hex digits + "]": 32 bytes */
    static const char head1[] = "*2\r\n$4\r\nAUTH\r\n$32\r\n[redacted len=10 h=";
    assert_true(recs[0].req_len == sizeof head1 - 1 + 12 + 1 + 2);
    assert_memory_equal(recs[0].req, head1, sizeof head1 - 1);
    assert_memory_equal(recs[0].req + recs[0].req_len - 3, "]\r\n", 3);
    assert_int_equal(recs[0].req_size, recs[0].req_len);
    assert_int_equal(recs[0].req_wire, sizeof auth1 - 1);
    static const char head2[] = "*3\r\n$4\r\nAUTH\r\n$31\r\n[redacted len=5 h=";
    assert_memory_equal(recs[1].req, head2, sizeof head2 - 1);
    assert_true(has(recs[1].req, recs[1].req_len, "$32\r\n[redacted len=10 h="));
    assert_int_equal(recs[1].req_wire, sizeof auth2 - 1);
    struct cap_wire_stats st = stats();
    assert_int_equal(st.secrets, 3);
    expect_closed();
}

/* HELLO 3 switches the version to RESP3 from its own exchange on; a
 * command before it is RESP2. */
static void test_redis_hello3(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, R_PING, 10);
    SRV(c, "+PONG\r\n", 11);
    CLI(c, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", 12);
    SRV(c, "%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n", 13);
    CLI(c, R_GET_K, 14);
    SRV(c, "_\r\n", 15);
    conn_close(c, 16);
    assert_int_equal(nrec, 3);
    expect_ex(0, "PING", "", "RESP2", 200, NULL, 0);
    expect_ex(1, "HELLO", "", "RESP3", 200, NULL, 0);
    EXPECT_RESP(1, "%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n");
    expect_ex(2, "GET", "", "RESP3", 200, NULL, 0);
    EXPECT_RESP(2, "_\r\n");
    stats();
    expect_closed();
}

/* HELLO 3 refused (a server before Redis 6): the connection stays RESP2. */
static void test_redis_hello3_refused(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", 12);
    SRV(c, "-ERR unknown command 'HELLO'\r\n", 13);
    CLI(c, R_GET_K, 14);
    SRV(c, "$-1\r\n", 15);
    conn_close(c, 16);
    assert_int_equal(nrec, 2);
    expect_ex(0, "HELLO", "", "RESP2", 500, "ERR", 0);
    expect_ex(1, "GET", "", "RESP2", 200, NULL, 0);
    stats();
    expect_closed();
}

/* RESP2 pub/sub: the confirmation answers SUBSCRIBE; the messages that
 * follow (one in the same segment) are pushes, paired with nothing. */
static void test_redis_subscribe(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, "*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n", 10);
    SRV(c, "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
           "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n", 20);
    SRV(c, "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nworld\r\n", 30);
    conn_close(c, 40);
    assert_int_equal(nrec, 1);
    expect_ex(0, "SUBSCRIBE", "", "RESP2", 200, NULL, 0);
    EXPECT_REQ(0, "*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n");
    EXPECT_RESP(0, "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    struct cap_wire_stats st = stats();
    assert_int_equal(st.pushes, 2);
    assert_int_equal(st.unpaired_responses, 0);
    assert_int_equal(st.no_response, 0);
    expect_closed();
}

#define R_HELLO3 "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"
#define R_HELLO3_REPLY "%1\r\n$6\r\nserver\r\n$5\r\nredis\r\n"
#define R_PUSH_MSG ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"

/* A RESP3 push between a command and its reply: the reply is the one
 * after it; the push is not in the stored body. */
static void test_redis_resp3_push(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, R_HELLO3, 10);
    SRV(c, R_HELLO3_REPLY, 11);
    CLI(c, R_GET_K, 20);
    SRV(c, R_PUSH_MSG, 30);
    SRV(c, "$1\r\nv\r\n", 40);
    CLI(c, R_GET_K, 50);
    SRV(c, R_PUSH_MSG "$1\r\nw\r\n", 60); /* same segment */
    conn_close(c, 70);
    assert_int_equal(nrec, 3);
    expect_ex(1, "GET", "", "RESP3", 200, NULL, 0);
    expect_bytes(recs[1].resp, recs[1].resp_len, L("$1\r\nv\r\n"));
    assert_int_equal(recs[1].resp_first, 40);
    assert_int_equal(recs[1].resp_last, 40);
    expect_ex(2, "GET", "", "RESP3", 200, NULL, 0);
    expect_bytes(recs[2].resp, recs[2].resp_len, L("$1\r\nw\r\n"));
    struct cap_wire_stats st = stats();
    assert_int_equal(st.pushes, 2);
    assert_int_equal(st.unpaired_responses, 0);
    expect_closed();
}

/* SCHEMA.md: resp_wire_bytes counts the reply's bytes from its first on;
 * a push before it is not counted (pushes never come inside a reply). */
static void test_redis_resp3_push_wire(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, R_HELLO3, 10);
    SRV(c, R_HELLO3_REPLY, 11);
    CLI(c, R_GET_K, 20);
    SRV(c, R_PUSH_MSG "$1\r\nv\r\n", 30);
    conn_close(c, 70);
    assert_int_equal(nrec, 2);
    assert_int_equal(recs[1].resp_wire, 7);
    expect_closed();
}

/* RESP3 pub/sub: Redis sends the SUBSCRIBE confirmation as a push
 * (pubsub.c: addReplyPushLen when resp == 3); SUBSCRIBE must not take the
 * reply of the command after it. */
static void test_redis_resp3_subscribe(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, R_HELLO3, 10);
    SRV(c, R_HELLO3_REPLY, 11);
    CLI(c, "*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n", 20);
    SRV(c, ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n", 21);
    CLI(c, R_GET_K, 30);
    SRV(c, "$1\r\nv\r\n", 31);
    conn_close(c, 40);
    assert_int_equal(nrec, 3);
    expect_ex(1, "SUBSCRIBE", "", "RESP3", 200, NULL, 0);
    EXPECT_RESP(1, ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    expect_ex(2, "GET", "", "RESP3", 200, NULL, 0);
    EXPECT_RESP(2, "$1\r\nv\r\n");
    expect_closed();
}

#define SHA "6b1bf486c81ceb7edf3c093f4c48582e38c0e791"

static void test_redis_endpoints(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, "*3\r\n$7\r\nEVALSHA\r\n$40\r\n" SHA "\r\n$1\r\n0\r\n", 10);
    SRV(c, ":1\r\n", 11);
    CLI(c, "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$9\r\nmaxmemory\r\n", 12);
    SRV(c, "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n", 13);
    CLI(c, "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$11\r\nrequirepass\r\n"
           "$7\r\nhunter2\r\n", 14);
    SRV(c, "+OK\r\n", 15);
    CLI(c, "get k\r\n", 16); /* inline */
    SRV(c, "$1\r\nv\r\n", 17);
    conn_close(c, 18);
    assert_int_equal(nrec, 4);
    expect_ex(0, "EVALSHA", SHA, "RESP2", 200, NULL, 0);
    EXPECT_RESP(0, ":1\r\n");
    expect_ex(1, "CONFIG GET", "", "RESP2", 200, NULL, 0);
    EXPECT_REQ(1, "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$9\r\nmaxmemory\r\n");
    expect_ex(2, "CONFIG SET", "", "RESP2", 200, NULL, CORPUS_EX_REDACTED);
    assert_nowhere("hunter2");
    expect_ex(3, "GET", "", "RESP2", 200, NULL, 0);
    EXPECT_REQ(3, "get k\r\n");
    struct cap_wire_stats st = stats();
    assert_int_equal(st.secrets, 1);
    expect_closed();
}

/* Secrets in other shapes: an inline AUTH (stored rewritten as an array),
 * HELLO 3 AUTH user password. */
static void test_redis_auth_other_forms(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, "AUTH opensesame\r\n", 10);
    SRV(c, "+OK\r\n", 11);
    CLI(c, "*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$5\r\nalice\r\n"
           "$10\r\nwonderland\r\n", 12);
    SRV(c, R_HELLO3_REPLY, 13);
    conn_close(c, 14);
    assert_int_equal(nrec, 2);
    expect_ex(0, "AUTH", "", "RESP2", 200, NULL, CORPUS_EX_REDACTED);
    assert_true(has(recs[0].req, recs[0].req_len, "[redacted len=10 h="));
    assert_int_equal(recs[0].req_wire, 17);
    expect_ex(1, "HELLO", "", "RESP3", 200, NULL, CORPUS_EX_REDACTED);
    assert_true(has(recs[1].req, recs[1].req_len, "$4\r\nAUTH\r\n$31\r\n[redacted len=5 h="));
    assert_nowhere("opensesame");
    assert_nowhere("alice");
    assert_nowhere("wonderland");
    struct cap_wire_stats st = stats();
    assert_int_equal(st.secrets, 3);
    expect_closed();
}

/* A blank inline line (or "*0") before a command is consumed with it
 * (Redis ignores it, resp_msg.skipped); the command is still named, and
 * its secrets still found. */
static void test_redis_blank_line_first(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, "\r\n*3\r\n$7\r\nEVALSHA\r\n$40\r\n" SHA "\r\n$1\r\n0\r\n", 10);
    SRV(c, ":1\r\n", 11);
    CLI(c, "\r\n*2\r\n$4\r\nAUTH\r\n$10\r\nopensesame\r\n", 12);
    SRV(c, "+OK\r\n", 13);
    conn_close(c, 14);
    assert_int_equal(nrec, 2);
    assert_nowhere("opensesame");
    expect_ex(0, "EVALSHA", SHA, "RESP2", 200, NULL, 0);
    expect_ex(1, "AUTH", "", "RESP2", 200, NULL, CORPUS_EX_REDACTED);
    expect_closed();
}

/* --max-body: bodies are cut, flagged, and keep their wire size. */
static void test_redis_max_body(void **state)
{
    (void)state;
    cap_wire_free(w);
    struct cap_wire_opts o = {.max_body_bytes = 20};
    assert_non_null(w = cap_wire_new(NULL, 1, &o));
    static const char set[] =
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20\r\n01234567890123456789\r\n";
    static const char get_reply[] = "$20\r\n01234567890123456789\r\n";
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20\r\n01234567890123456789\r\n"
           R_GET_K, 10);
    SRV(c, "+OK\r\n$20\r\n01234567890123456789\r\n", 11);
    conn_close(c, 12);
    assert_int_equal(nrec, 2);
    expect_ex(0, "SET", "", "RESP2", 200, NULL, CORPUS_EX_REQ_TRUNCATED);
    expect_bytes(recs[0].req, recs[0].req_len, set, 20);
    assert_int_equal(recs[0].req_size, sizeof set - 1);
    assert_int_equal(recs[0].req_wire, sizeof set - 1);
    expect_ex(1, "GET", "", "RESP2", 200, NULL, CORPUS_EX_RESP_TRUNCATED);
    EXPECT_REQ(1, R_GET_K);
    expect_bytes(recs[1].resp, recs[1].resp_len, get_reply, 20);
    assert_int_equal(recs[1].resp_size, sizeof get_reply - 1);
    assert_int_equal(recs[1].resp_wire, sizeof get_reply - 1);
    stats();
    expect_closed();
}

/* A gap in the reply: the reply being read goes with its command, cut
 * short; the queued commands and the one being sent are written without
 * replies (the cut one keeps nothing: its secrets could not be looked
 * for); every later byte is counted unframed. */
static void test_redis_gap(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_REDIS);
    CLI(c, "*2\r\n$3\r\nGET\r\n$1\r\na\r\n"
           "*2\r\n$3\r\nGET\r\n$1\r\nb\r\n"
           "*2\r\n$3\r\nGET\r\n$1\r\nc\r\n", 100);
    SRV(c, "$1\r\nx\r\n$5\r\nhel", 200);
    CLI(c, "*2\r\n$3\r\nGE", 210);
    ops->gap(w, c, S2C, 50, 220);
    SRV(c, "lo\r\n$1\r\nz\r\n", 230);
    CLI(c, "T\r\n$1\r\nd\r\n", 240);
    conn_close(c, 250);
    assert_int_equal(nrec, 4);
    expect_ex(0, "GET", "", "RESP2", 200, NULL, 0);
    EXPECT_RESP(0, "$1\r\nx\r\n");
    expect_ex(1, "GET", "", "RESP2", 200, NULL, CORPUS_EX_RESP_INCOMPLETE);
    EXPECT_REQ(1, "*2\r\n$3\r\nGET\r\n$1\r\nb\r\n");
    EXPECT_RESP(1, "$5\r\nhel");
    expect_ex(2, "GET", "", "RESP2", 0, NULL, CORPUS_EX_NO_RESPONSE);
    EXPECT_REQ(2, "*2\r\n$3\r\nGET\r\n$1\r\nc\r\n");
    assert_int_equal(recs[2].resp_len + recs[2].resp_wire, 0);
    expect_ex(3, "(incomplete)", "", "RESP2", 0, NULL,
              CORPUS_EX_REQ_INCOMPLETE | CORPUS_EX_REQ_TRUNCATED |
                  CORPUS_EX_NO_RESPONSE);
    assert_int_equal(recs[3].req_len, 0);
    assert_int_equal(recs[3].req_size, 10);
    assert_int_equal(recs[3].req_wire, 10);
    expect_times(3, 210, 210, 0, 0);
    struct cap_wire_stats st = stats();
    assert_int_equal(st.incomplete, 2);
    assert_int_equal(st.no_response, 2);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(st.unframed_bytes, 11 + 10); /* "lo..." and "T..." */
    assert_int_equal(end_last_us, 240);
    expect_closed();
}

/* A reply with no command (the capture began after it was sent). */
static void test_redis_unpaired(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_REDIS);
    SRV(c, "+OK\r\n", 10);
    CLI(c, R_PING, 20);
    SRV(c, "+PONG\r\n", 30);
    conn_close(c, 40);
    assert_int_equal(nrec, 1);
    expect_ex(0, "PING", "", "RESP2", 200, NULL, 0);
    EXPECT_RESP(0, "+PONG\r\n");
    struct cap_wire_stats st = stats();
    assert_int_equal(st.unpaired_responses, 1);
    expect_closed();
}

/* ---- PostgreSQL ---------------------------------------------------------- */

/* A transcript being built: messages appended with their length fields. */
struct pgb {
    uint8_t d[4096];
    size_t n;
};

static void be32(struct pgb *b, uint32_t v)
{
    b->d[b->n++] = (uint8_t)(v >> 24);
    b->d[b->n++] = (uint8_t)(v >> 16);
    b->d[b->n++] = (uint8_t)(v >> 8);
    b->d[b->n++] = (uint8_t)v;
}

/* A typed message: type, length (4 + n), body. */
static void pg_put(struct pgb *b, char type, const void *body, size_t n)
{
    assert_true(b->n + 5 + n <= sizeof b->d);
    b->d[b->n++] = (uint8_t)type;
    be32(b, (uint32_t)(4 + n));
    if (n)
        memcpy(b->d + b->n, body, n);
    b->n += n;
}

/* An untyped message (startup, SSLRequest): length, code, body. */
static void pg_untyped(struct pgb *b, uint32_t code, const void *body,
                       size_t n)
{
    be32(b, (uint32_t)(8 + n));
    be32(b, code);
    memcpy(b->d + b->n, body, n);
    b->n += n;
}

#define PG(b, t, s) pg_put(b, t, L(s))
#define PGSEND(c, dir, b, ts) (tx(c, dir, (b)->d, (b)->n, ts), (b)->n = 0)

/* Server messages used throughout; "\000" is a NUL byte. */
#define T_ONE "\000\001?column?\000\000\000\000\000\000\000\000\000\000\027" \
              "\000\004\377\377\377\377\000\000" /* one int4 column */
#define D_ONE "\000\001\000\000\000\0011"         /* one value: "1" */
#define Z_IDLE "I"

/* The server's side of a startup: auth ok, two ParameterStatus, the
 * BackendKeyData, ReadyForQuery. */
static void pg_server_startup(struct pgb *b)
{
    PG(b, 'R', "\000\000\000\000");
    PG(b, 'S', "server_version\00016.1\000");
    PG(b, 'S', "client_encoding\000UTF8\000");
    PG(b, 'K', "\000\000\060\071\001\002\003\004");
    PG(b, 'Z', Z_IDLE);
}

static void pg_client_startup(struct pgb *b)
{
    pg_untyped(b, 196608, L("user\000bob\000database\000app\000\000"));
}

/* Startup with a cleartext password, then one simple Query. */
static void test_pg_startup_and_query(void **state)
{
    (void)state;
    struct pgb b = {.n = 0}, q = {.n = 0}, r = {.n = 0};
    void *c = conn_open(CAP_WIRE_PG);
    pg_client_startup(&b);
    PGSEND(c, C2S, &b, 10);
    PG(&b, 'R', "\000\000\000\003"); /* AuthenticationCleartextPassword */
    PGSEND(c, S2C, &b, 11);
    PG(&b, 'p', "tiger-pw\000");
    PGSEND(c, C2S, &b, 12);
    pg_server_startup(&b);
    PGSEND(c, S2C, &b, 13);
    PG(&q, 'Q', "SELECT 1\000");
    tx(c, C2S, q.d, q.n, 20);
    PG(&r, 'T', T_ONE);
    PG(&r, 'D', D_ONE);
    PG(&r, 'C', "SELECT 1\000");
    PG(&r, 'Z', Z_IDLE);
    tx(c, S2C, r.d, r.n, 30);
    PG(&b, 'X', "");
    PGSEND(c, C2S, &b, 40);
    conn_close(c, 41);
    assert_int_equal(nrec, 1);
    expect_ex(0, "SELECT", "$1", "PG3", 200, "SELECT 1", 0);
    expect_bytes(recs[0].req, recs[0].req_len, q.d, q.n);
    assert_int_equal(recs[0].req_wire, q.n);
    expect_bytes(recs[0].resp, recs[0].resp_len, r.d, r.n);
    assert_int_equal(recs[0].resp_wire, r.n);
    expect_times(0, 20, 20, 30, 30);
    assert_nowhere("tiger-pw");
    struct cap_wire_stats st = stats();
    assert_int_equal(st.startups, 1);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.conns[CAP_WIRE_PG], 1);
    assert_int_equal(st.unpaired_responses, 0);
    expect_closed();
}

/* SSLRequest answered 'N', then the startup in clear. */
static void test_pg_ssl_refused(void **state)
{
    (void)state;
    struct pgb b = {.n = 0};
    void *c = conn_open(CAP_WIRE_PG);
    pg_untyped(&b, 80877103, "", 0);
    PGSEND(c, C2S, &b, 10);
    SRV(c, "N", 11);
    pg_client_startup(&b);
    PGSEND(c, C2S, &b, 12);
    pg_server_startup(&b);
    PGSEND(c, S2C, &b, 13);
    PG(&b, 'Q', "select now()\000");
    PGSEND(c, C2S, &b, 20);
    PG(&b, 'T', T_ONE);
    PG(&b, 'D', D_ONE);
    PG(&b, 'C', "SELECT 1\000");
    PG(&b, 'Z', Z_IDLE);
    PGSEND(c, S2C, &b, 21);
    conn_close(c, 30);
    assert_int_equal(nrec, 1);
    expect_ex(0, "SELECT", "now()", "PG3", 200, "SELECT 1", 0);
    struct cap_wire_stats st = stats();
    assert_int_equal(st.startups, 1);
    assert_int_equal(st.tls, 0);
    assert_int_equal(st.malformed, 0);
    expect_closed();
}

#define SQL_AB "SELECT abalance FROM pgbench_accounts WHERE aid = $1"
#define SQL_T "SELECT * FROM t WHERE id = $1"

/* Extended query: unnamed Parse/Bind/Describe/Execute/Sync; then a named
 * statement parsed alone (PREPARE) and executed twice by Bind. */
static void test_pg_extended(void **state)
{
    (void)state;
    struct pgb q = {.n = 0}, r = {.n = 0}, b = {.n = 0};
    void *c = conn_open(CAP_WIRE_PG);
    pg_client_startup(&b);
    PGSEND(c, C2S, &b, 1);
    pg_server_startup(&b);
    PGSEND(c, S2C, &b, 2);

    PG(&q, 'P', "\000" SQL_AB "\000\000\000");
    PG(&q, 'B', "\000\000\000\000\000\001\000\000\000\00242\000\000");
    PG(&q, 'D', "P\000");
    PG(&q, 'E', "\000\000\000\000\000");
    PG(&q, 'S', "");
    tx(c, C2S, q.d, q.n, 10);
    PG(&r, '1', "");
    PG(&r, '2', "");
    PG(&r, 'T', T_ONE);
    PG(&r, 'D', D_ONE);
    PG(&r, 'C', "SELECT 1\000");
    PG(&r, 'Z', Z_IDLE);
    tx(c, S2C, r.d, r.n, 11);
    assert_int_equal(nrec, 1);
    expect_ex(0, "SELECT", "abalance FROM pgbench_accounts WHERE aid = $1",
              "PG3", 200, "SELECT 1", 0);
    expect_bytes(recs[0].req, recs[0].req_len, q.d, q.n);
    expect_bytes(recs[0].resp, recs[0].resp_len, r.d, r.n);

    /* Parse only, with a Describe of the statement */
    q.n = r.n = 0;
    PG(&q, 'P', "s1\000" SQL_T "\000\000\001\000\000\000\027");
    PG(&q, 'D', "Ss1\000");
    PG(&q, 'S', "");
    tx(c, C2S, q.d, q.n, 20);
    PG(&r, '1', "");
    PG(&r, 't', "\000\001\000\000\000\027");
    PG(&r, 'T', T_ONE);
    PG(&r, 'Z', Z_IDLE);
    tx(c, S2C, r.d, r.n, 21);
    assert_int_equal(nrec, 2);
    expect_ex(1, "PREPARE", SQL_T, "PG3", 200, NULL, 0);
    expect_bytes(recs[1].req, recs[1].req_len, q.d, q.n);
    expect_bytes(recs[1].resp, recs[1].resp_len, r.d, r.n);

    /* executed twice by name, each in its own Sync, both in one segment */
    q.n = r.n = 0;
    for (int i = 0; i < 2; i++) {
        PG(&q, 'B', "\000s1\000\000\000\000\001\000\000\000\0017\000\000");
        PG(&q, 'E', "\000\000\000\000\000");
        PG(&q, 'S', "");
    }
    tx(c, C2S, q.d, q.n, 30);
    for (int i = 0; i < 2; i++) {
        PG(&r, '2', "");
        PG(&r, 'D', D_ONE);
        PG(&r, 'C', "SELECT 1\000");
        PG(&r, 'Z', Z_IDLE);
    }
    tx(c, S2C, r.d, r.n, 31);
    conn_close(c, 40);
    assert_int_equal(nrec, 4);
    for (int i = 2; i < 4; i++) {
        expect_ex(i, "SELECT", "* FROM t WHERE id = $1", "PG3", 200,
                  "SELECT 1", 0);
        expect_bytes(recs[i].req, recs[i].req_len, q.d, q.n / 2);
        expect_bytes(recs[i].resp, recs[i].resp_len, r.d, r.n / 2);
        expect_times(i, 30, 30, 31, 31);
    }
    struct cap_wire_stats st = stats();
    assert_int_equal(st.startups, 1);
    assert_int_equal(st.unpaired_responses, 0);
    expect_closed();
}

static void test_pg_error(void **state)
{
    (void)state;
    struct pgb b = {.n = 0};
    void *c = conn_open(CAP_WIRE_PG);
    PG(&b, 'Q', "SELECT * FROM missing\000");
    PGSEND(c, C2S, &b, 10);
    PG(&b, 'E', "SERROR\000VERROR\000C42P01\000"
                "Mrelation \"missing\" does not exist\000P15\000\000");
    PG(&b, 'Z', Z_IDLE);
    PGSEND(c, S2C, &b, 11);
    conn_close(c, 12);
    assert_int_equal(nrec, 1);
    expect_ex(0, "SELECT", "* FROM missing", "PG3", 500, "42P01", 0);
    stats();
    expect_closed();
}

/* COPY FROM STDIN: the data and CopyDone go with the query. */
static void test_pg_copy_in(void **state)
{
    (void)state;
    struct pgb q = {.n = 0}, r = {.n = 0};
    void *c = conn_open(CAP_WIRE_PG);
    PG(&q, 'Q', "COPY t FROM STDIN\000");
    tx(c, C2S, q.d, q.n, 10);
    PG(&r, 'G', "\000\000\001\000\000");
    tx(c, S2C, r.d, r.n, 11);
    size_t g = r.n, q1 = q.n;
    PG(&q, 'd', "1\tfoo\n");
    tx(c, C2S, q.d + q1, q.n - q1, 12);
    size_t q2 = q.n;
    PG(&q, 'd', "2\tbar\n");
    PG(&q, 'c', "");
    tx(c, C2S, q.d + q2, q.n - q2, 13);
    PG(&r, 'C', "COPY 2\000");
    PG(&r, 'Z', Z_IDLE);
    tx(c, S2C, r.d + g, r.n - g, 14);
    conn_close(c, 20);
    assert_int_equal(nrec, 1);
    expect_ex(0, "COPY", "t FROM STDIN", "PG3", 200, "COPY 2", 0);
    expect_bytes(recs[0].req, recs[0].req_len, q.d, q.n);
    assert_int_equal(recs[0].req_size, q.n);
    assert_int_equal(recs[0].req_wire, q.n);
    expect_bytes(recs[0].resp, recs[0].resp_len, r.d, r.n);
    expect_times(0, 10, 13, 11, 14);
    struct cap_wire_stats st = stats();
    assert_int_equal(st.copies, 1);
    expect_closed();
}

/* A NoticeResponse inside a reply is left out of the stored body (its
 * bytes are on the wire). */
static void test_pg_notice(void **state)
{
    (void)state;
    struct pgb b = {.n = 0}, want = {.n = 0};
    void *c = conn_open(CAP_WIRE_PG);
    PG(&b, 'Q', "SELECT f()\000");
    PGSEND(c, C2S, &b, 10);
    PG(&b, 'T', T_ONE);
    PG(&want, 'T', T_ONE);
    PG(&b, 'N', "SNOTICE\000VNOTICE\000C00000\000Mhello from f\000\000");
    size_t notice = b.n - want.n;
    PG(&b, 'D', D_ONE);
    PG(&want, 'D', D_ONE);
    PG(&b, 'C', "SELECT 1\000");
    PG(&want, 'C', "SELECT 1\000");
    PG(&b, 'Z', Z_IDLE);
    PG(&want, 'Z', Z_IDLE);
    size_t total = b.n;
    PGSEND(c, S2C, &b, 11);
    conn_close(c, 12);
    assert_int_equal(nrec, 1);
    expect_ex(0, "SELECT", "f()", "PG3", 200, "SELECT 1", 0);
    expect_bytes(recs[0].resp, recs[0].resp_len, want.d, want.n);
    assert_int_equal(recs[0].resp_wire, total);
    assert_int_equal(total, want.n + notice);
    assert_false(has(recs[0].resp, recs[0].resp_len, "hello from f"));
    stats();
    expect_closed();
}

/* A NoticeResponse before anything else of the reply (DROP TABLE IF
 * EXISTS of a missing table): left out of the body; SCHEMA.md says its
 * bytes count in resp_wire_bytes ("asynchronous messages included"). */
static void test_pg_notice_first_wire(void **state)
{
    (void)state;
    struct pgb b = {.n = 0}, want = {.n = 0};
    void *c = conn_open(CAP_WIRE_PG);
    PG(&b, 'Q', "DROP TABLE IF EXISTS t\000");
    PGSEND(c, C2S, &b, 10);
    PG(&b, 'N', "SNOTICE\000VNOTICE\000C00000\000"
                "Mtable \"t\" does not exist, skipping\000\000");
    PG(&b, 'C', "DROP TABLE\000");
    PG(&want, 'C', "DROP TABLE\000");
    PG(&b, 'Z', Z_IDLE);
    PG(&want, 'Z', Z_IDLE);
    size_t total = b.n;
    PGSEND(c, S2C, &b, 11);
    conn_close(c, 12);
    assert_int_equal(nrec, 1);
    expect_ex(0, "DROP", "TABLE IF EXISTS t", "PG3", 200, "DROP TABLE", 0);
    expect_bytes(recs[0].resp, recs[0].resp_len, want.d, want.n);
    assert_int_equal(recs[0].resp_wire, total);
    expect_closed();
}

/* Two simple queries pipelined, their replies in one segment; then
 * COPY TO STDOUT (the data is in the reply). */
static void test_pg_pipelined_and_copy_out(void **state)
{
    (void)state;
    struct pgb q = {.n = 0}, r = {.n = 0}, b = {.n = 0};
    void *c = conn_open(CAP_WIRE_PG);
    PG(&q, 'Q', "SELECT 1\000");
    size_t q1 = q.n;
    PG(&q, 'Q', "SELECT 'x' AS y\000");
    tx(c, C2S, q.d, q.n, 10);
    PG(&r, 'T', T_ONE);
    PG(&r, 'D', D_ONE);
    PG(&r, 'C', "SELECT 1\000");
    PG(&r, 'Z', Z_IDLE);
    size_t r1 = r.n;
    PG(&r, 'T', T_ONE);
    PG(&r, 'D', D_ONE);
    PG(&r, 'C', "SELECT 1\000");
    PG(&r, 'Z', Z_IDLE);
    tx(c, S2C, r.d, r.n, 11);
    assert_int_equal(nrec, 2);
    expect_ex(0, "SELECT", "$1", "PG3", 200, "SELECT 1", 0);
    expect_bytes(recs[0].req, recs[0].req_len, q.d, q1);
    expect_bytes(recs[0].resp, recs[0].resp_len, r.d, r1);
    expect_ex(1, "SELECT", "$1 AS y", "PG3", 200, "SELECT 1", 0);
    expect_bytes(recs[1].req, recs[1].req_len, q.d + q1, q.n - q1);
    expect_bytes(recs[1].resp, recs[1].resp_len, r.d + r1, r.n - r1);

    PG(&b, 'Q', "COPY t TO STDOUT\000");
    PGSEND(c, C2S, &b, 20);
    PG(&r, 'H', "\000\000\001\000\000");
    r.n = 0;
    PG(&r, 'H', "\000\000\001\000\000");
    PG(&r, 'd', "1\tfoo\n");
    PG(&r, 'c', "");
    PG(&r, 'C', "COPY 1\000");
    PG(&r, 'Z', Z_IDLE);
    tx(c, S2C, r.d, r.n, 21);
    assert_int_equal(nrec, 3);
    expect_ex(2, "COPY", "t TO STDOUT", "PG3", 200, "COPY 1", 0);
    expect_bytes(recs[2].resp, recs[2].resp_len, r.d, r.n);
    conn_close(c, 40);
    struct cap_wire_stats st = stats();
    assert_int_equal(st.copies, 1);
    assert_int_equal(st.unpaired_responses + st.malformed, 0);
    expect_closed();
}

/* A FunctionCall and its FunctionCallResponse ('V'). */
static void test_pg_function_call(void **state)
{
    (void)state;
    struct pgb b = {.n = 0};
    void *c = conn_open(CAP_WIRE_PG);
    PG(&b, 'F', "\000\000\004\322\000\000\000\000\000\000");
    PGSEND(c, C2S, &b, 30);
    PG(&b, 'V', "\000\000\000\0011");
    PG(&b, 'Z', Z_IDLE);
    PGSEND(c, S2C, &b, 31);
    conn_close(c, 40);
    assert_int_equal(nrec, 1);
    expect_ex(0, "FUNCTION CALL", "", "PG3", 200, NULL, 0);
    struct cap_wire_stats st = stats();
    assert_int_equal(st.malformed, 0);
    expect_closed();
}

/* A statement with PASSWORD in it is not kept (its endpoint is, literals
 * normalised away). */
static void test_pg_password_sql(void **state)
{
    (void)state;
    struct pgb b = {.n = 0};
    void *c = conn_open(CAP_WIRE_PG);
    PG(&b, 'Q', "ALTER ROLE bob PASSWORD 'swordfish'\000");
    size_t qn = b.n;
    PGSEND(c, C2S, &b, 10);
    PG(&b, 'C', "ALTER ROLE\000");
    PG(&b, 'Z', Z_IDLE);
    PGSEND(c, S2C, &b, 11);
    conn_close(c, 12);
    assert_int_equal(nrec, 1);
    expect_ex(0, "ALTER", "ROLE bob PASSWORD $1", "PG3", 200, "ALTER ROLE",
              CORPUS_EX_REQ_TRUNCATED);
    assert_int_equal(recs[0].req_len, 0);
    assert_int_equal(recs[0].req_wire, qn);
    assert_nowhere("swordfish");
    struct cap_wire_stats st = stats();
    assert_int_equal(st.secrets, 1);
    expect_closed();
}

/* SSLRequest answered 'S': TLS follows, nothing more can be read. */
static void test_pg_tls(void **state)
{
    (void)state;
    struct pgb b = {.n = 0};
    void *c = conn_open(CAP_WIRE_PG);
    pg_untyped(&b, 80877103, "", 0);
    PGSEND(c, C2S, &b, 10);
    SRV(c, "S", 11);
    CLI(c, "\026\003\001\000\005hello", 12);
    SRV(c, "\026\003\003\000\002hi", 13);
    conn_close(c, 14);
    assert_int_equal(nrec, 0);
    struct cap_wire_stats st = stats();
    assert_int_equal(st.tls, 1);
    assert_int_equal(st.unframed_bytes, 10 + 7);
    assert_int_equal(st.malformed, 0);
    expect_closed();
}

/* The capture begins mid-connection: no startup; a Bind of a statement
 * prepared before the capture is EXECUTE. */
static void test_pg_mid_connection(void **state)
{
    (void)state;
    struct pgb b = {.n = 0};
    void *c = conn_open(CAP_WIRE_PG);
    PG(&b, 'B', "\000s9\000\000\000\000\000\000\000");
    PG(&b, 'E', "\000\000\000\000\000");
    PG(&b, 'S', "");
    PGSEND(c, C2S, &b, 10);
    PG(&b, '2', "");
    PG(&b, 'C', "UPDATE 1\000");
    PG(&b, 'Z', "T");
    PGSEND(c, S2C, &b, 11);
    PG(&b, 'Q', "COMMIT\000");
    PGSEND(c, C2S, &b, 12);
    PG(&b, 'C', "COMMIT\000");
    PG(&b, 'Z', Z_IDLE);
    PGSEND(c, S2C, &b, 13);
    conn_close(c, 14);
    assert_int_equal(nrec, 2);
    expect_ex(0, "EXECUTE", "", "PG3", 200, "UPDATE 1", 0);
    expect_ex(1, "COMMIT", "", "PG3", 200, "COMMIT", 0);
    struct cap_wire_stats st = stats();
    assert_int_equal(st.startups, 0);
    assert_int_equal(st.malformed + st.unpaired_responses, 0);
    expect_closed();
}

/* ---- generic TCP --------------------------------------------------------- */

static void test_tcp_turns(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_TCP);
    CLI(c, "get k\r\n", 10);
    SRV(c, "VALUE k 0 1\r\nv\r\n", 20);
    SRV(c, "END\r\n", 21); /* a reply in several segments */
    SRV(c, "", 22);
    CLI(c, "get j", 30); /* a request in two */
    CLI(c, "\r\n", 31);
    SRV(c, "END\r\n", 40);
    conn_close(c, 50);
    assert_int_equal(nrec, 2);
    expect_ex(0, "get", "", "TCP", 200, NULL, 0);
    EXPECT_REQ(0, "get k\r\n");
    EXPECT_RESP(0, "VALUE k 0 1\r\nv\r\nEND\r\n");
    expect_times(0, 10, 10, 20, 22);
    expect_ex(1, "get", "", "TCP", 200, NULL, 0);
    EXPECT_REQ(1, "get j\r\n");
    expect_times(1, 30, 31, 40, 40);
    struct cap_wire_stats st = stats();
    assert_int_equal(st.conns[CAP_WIRE_TCP], 1);
    assert_int_equal(st.no_response + st.unpaired_responses, 0);
    expect_closed();
}

/* A gap in the server's reply: the reply goes on, but it is not whole. */
static void test_tcp_gap_in_reply(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_TCP);
    CLI(c, "get k\r\n", 10);
    SRV(c, "VALUE k 0 100\r\n", 20);
    ops->gap(w, c, S2C, 100, 21);
    SRV(c, "\r\nEND\r\n", 22);
    conn_close(c, 50);
    assert_int_equal(nrec, 1);
    expect_ex(0, "get", "", "TCP", 200, NULL, CORPUS_EX_RESP_INCOMPLETE);
    expect_closed();
}

/* A gap in the client's bytes: the request is flagged. */
static void test_tcp_gap_in_request(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_TCP);
    CLI(c, "set k 0 0 100\r\n", 10);
    ops->gap(w, c, C2S, 100, 11);
    CLI(c, "\r\n", 12);
    SRV(c, "STORED\r\n", 20);
    conn_close(c, 50);
    assert_int_equal(nrec, 1);
    expect_ex(0, "set", "", "TCP", 200, NULL, CORPUS_EX_REQ_INCOMPLETE);
    expect_closed();
}

/* The server speaks first; then the client speaks when the connection
 * closes. */
static void test_tcp_banner_and_close(void **state)
{
    (void)state;
    void *c = conn_open(CAP_WIRE_TCP);
    SRV(c, "220 mail.example ESMTP\r\n", 10);
    CLI(c, "EHLO client.example\r\n", 20);
    SRV(c, "250-mail.example\r\n", 30);
    SRV(c, "250 OK\r\n", 31);
    CLI(c, "QUIT\r\n", 40);
    conn_close(c, 50);
    assert_int_equal(nrec, 3);
    expect_ex(0, "(banner)", "", "TCP", 200, NULL, 0);
    assert_int_equal(recs[0].req_len + recs[0].req_wire, 0);
    EXPECT_RESP(0, "220 mail.example ESMTP\r\n");
    expect_times(0, 10, 10, 10, 10);
    expect_ex(1, "EHLO", "", "TCP", 200, NULL, 0);
    EXPECT_RESP(1, "250-mail.example\r\n250 OK\r\n");
    expect_times(1, 20, 20, 30, 31);
    expect_ex(2, "QUIT", "", "TCP", 0, NULL, CORPUS_EX_NO_RESPONSE);
    EXPECT_REQ(2, "QUIT\r\n");
    struct cap_wire_stats st = stats();
    assert_int_equal(st.no_response, 1);
    assert_int_equal(st.requests, 3);
    assert_int_equal(end_last_us, 40);
    expect_closed();
}

/* Connections of each protocol on one layer: the counters add up. */
static void test_stats_mixed(void **state)
{
    (void)state;
    void *r = conn_open(CAP_WIRE_REDIS);
    void *p = conn_open(CAP_WIRE_PG);
    void *t = conn_open(CAP_WIRE_TCP);
    struct pgb b = {.n = 0};
    pg_client_startup(&b);
    PGSEND(p, C2S, &b, 1);
    CLI(r, "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n", 2);
    CLI(t, "hello\n", 3);
    pg_server_startup(&b);
    PGSEND(p, S2C, &b, 4);
    SRV(r, "+OK\r\n", 5);
    SRV(t, "hi\n", 6);
    PG(&b, 'Q', "COPY t FROM STDIN\000");
    PGSEND(p, C2S, &b, 7);
    PG(&b, 'G', "\000\000\001\000\000");
    PGSEND(p, S2C, &b, 8);
    PG(&b, 'c', "");
    PGSEND(p, C2S, &b, 9);
    PG(&b, 'C', "COPY 0\000");
    PG(&b, 'Z', Z_IDLE);
    PGSEND(p, S2C, &b, 10);
    assert_true(cap_wire_memory_bytes(w) > 0);
    conn_close(r, 20);
    conn_close(p, 20);
    conn_close(t, 20);
    assert_int_equal(nrec, 3);
    struct cap_wire_stats st = stats();
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.lost_no_memory, 0);
    assert_int_equal(st.startups, 1);
    assert_int_equal(st.copies, 1);
    assert_int_equal(st.secrets, 1);
    assert_int_equal(st.pushes, 0);
    assert_int_equal(st.unpaired_responses, 0);
    assert_int_equal(st.conns[CAP_WIRE_REDIS], 1);
    assert_int_equal(st.conns[CAP_WIRE_PG], 1);
    assert_int_equal(st.conns[CAP_WIRE_TCP], 1);
    expect_closed();
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_redis_pipeline),
        T(test_redis_reply_bytewise),
        T(test_redis_multi_exec),
        T(test_redis_error_reply),
        T(test_redis_auth_redacted),
        T(test_redis_hello3),
        T(test_redis_hello3_refused),
        T(test_redis_subscribe),
        T(test_redis_resp3_push),
        T(test_redis_resp3_push_wire),
        T(test_redis_resp3_subscribe),
        T(test_redis_endpoints),
        T(test_redis_auth_other_forms),
        T(test_redis_blank_line_first),
        T(test_redis_max_body),
        T(test_redis_gap),
        T(test_redis_unpaired),
        T(test_pg_startup_and_query),
        T(test_pg_ssl_refused),
        T(test_pg_extended),
        T(test_pg_error),
        T(test_pg_copy_in),
        T(test_pg_notice),
        T(test_pg_notice_first_wire),
        T(test_pg_pipelined_and_copy_out),
        T(test_pg_function_call),
        T(test_pg_password_sql),
        T(test_pg_tls),
        T(test_pg_mid_connection),
        T(test_tcp_turns),
        T(test_tcp_gap_in_reply),
        T(test_tcp_gap_in_request),
        T(test_tcp_banner_and_close),
        T(test_stats_mixed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
