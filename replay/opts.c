/*
 * opts.c: the command line of `reprise replay`: parsing with strict value
 * checks (one clear message, exit 2, for anything malformed), the --help
 * text, which must describe every flag truthfully, and the JSON form of the
 * options that is stored with the run.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "replay/replay_int.h"

void replay_opts_usage(FILE *f)
{
    fputs(
"usage: reprise replay DB --target URL [options]\n"
"\n"
"Reissues the exchanges of a capture in the corpus DB against URL and\n"
"records one result per scheduled request as a new run. The request line,\n"
"headers (Host too) and body are sent as captured; the scheme, host and\n"
"port come from --target. The first line on stderr and the run's stored\n"
"options name the engine that ran (raw, curl or wire, see --engine).\n"
"\n"
"target and input:\n"
"  --target URL          http[s]://host[:port] to send to (required); a path\n"
"                        other than / is refused: paths come from the corpus.\n"
"                        Other protocols (capture --protocol) replay on the\n"
"                        wire engine, one connection per captured connection\n"
"                        (--sessions), the captured bytes as they were, and\n"
"                        only the exchanges of that protocol:\n"
"                        redis://[USER@]HOST[:PORT]  replies framed as RESP;\n"
"                          a captured AUTH gets --password-file's password\n"
"                        postgres://USER@HOST[:PORT][/DB]  authenticates as\n"
"                          USER (SCRAM-SHA-256, MD5 or cleartext), never with\n"
"                          captured credentials; a unit ends at ReadyForQuery\n"
"                        tcp://HOST:PORT  a reply ends at the captured reply's\n"
"                          size or after --quiet-gap of silence\n"
"  --password-file F     redis://, postgres://: the password is F's first line\n"
"                        (never on the command line, where ps shows it)\n"
"  --quiet-gap D         tcp://: silence that ends a reply (default 200ms)\n"
"  --capture ID          capture to replay (default: the latest)\n"
"  --label NAME          label of the new run (analyze finds runs by it)\n"
"\n"
"timing (one of --speed, --rate, --max):\n"
"  --speed X             open model at captured timing: request i is due at\n"
"                        start + (t_i - t_0) / X and is sent when due, whether\n"
"                        or not earlier responses arrived (default 1)\n"
"  --rate N[/s]          captured order at a fixed N requests per second\n"
"  --max                 closed model: --concurrency requests in flight, each\n"
"                        sent as soon as a slot is free (the wrk mode)\n"
"  --concurrency N       requests in flight with --max (default 32; with\n"
"                        HTTP/1.1 at most --max-connections)\n"
"  --duration D          stop scheduling after D (250ms, 10s, 5m); without\n"
"                        --loop the traffic repeats until D\n"
"  --loop N              replay the selection N times; each pass continues\n"
"                        the timeline one mean gap after the previous one\n"
"  --scale K             K interleaved copies of the traffic: every captured\n"
"                        connection K times, copy j shifted by j/K of the\n"
"                        mean captured gap (counts multiply exactly)\n"
"  --sessions            each captured connection's requests in order, one at\n"
"                        a time (raw: pipelined where the captured client\n"
"                        pipelined), on one replay connection of its own\n"
"                        (curl pins it by a local port range from 10000); a\n"
"                        session idle for 10 s ends and its connection is\n"
"                        closed, a later request starts a new one; a request\n"
"                        waiting for its predecessor is sent late and its\n"
"                        lateness is recorded\n"
"  --session-key KEY     with --sessions (implied): one session per user\n"
"                        rather than per connection: KEY is client (the\n"
"                        client address), cookie:NAME or header:NAME (its\n"
"                        value, redacted or not); the captured connections\n"
"                        of one key form one session, in capture order, on\n"
"                        one replay connection\n"
"  --extract NAME=FROM   (implies --sessions) keep a value of every response\n"
"                        of the session under NAME: FROM is json:PATH\n"
"                        (keys and indexes joined by '.'), header:NAME, or\n"
"                        regex:RE (its first group, else the match, in the\n"
"                        header lines and body); repeatable\n"
"  --inject NAME=INTO    put the session's value NAME into each later\n"
"                        request: INTO is header:NAME (added when missing),\n"
"                        path:I (0-based segment), query:NAME or json:PATH\n"
"                        (where the request has them); header:NAME:TEMPLATE\n"
"                        sends TEMPLATE with {} replaced by the value, as in\n"
"                        'tok=header:Authorization:Bearer {}'; repeatable\n"
"  --script FILE.lua     (implies --sessions) a LuaJIT hook in the model of\n"
"                        wrk's: request(req, state) may rewrite req.method,\n"
"                        req.target, req.headers (\"Name: value\\r\\n\"\n"
"                        lines) and req.body and return it; response(res,\n"
"                        state) sees res.status, res.headers, res.body;\n"
"                        state is a table per session\n"
"  --no-correlate        with --sessions, values are correlated by default:\n"
"                        what a captured response handed out (cookies, JSON\n"
"                        fields, Location, hidden form fields) and a later\n"
"                        request of the session sent back is replaced by\n"
"                        what the target answered in this replay, and UUIDs\n"
"                        the client generated are made anew per session\n"
"                        (capture learns the links). This turns it off\n"
"\n"
"many generators (see 'reprise merge'):\n"
"  --shard I/N           replay shard I (0-based) of N: the sessions\n"
"                        (captured connection and --scale copy) are split by\n"
"                        a hash of the pair, so a session stays on one\n"
"                        generator and the N shards together are exactly\n"
"                        the unsharded replay; each request keeps its\n"
"                        unsharded due time (--speed, --rate: a shard sends\n"
"                        its share of the rate); --max gives each shard its\n"
"                        share of --concurrency (the shares sum to it)\n"
"  --start-at TIME       schedule time zero at a wall-clock instant: RFC 3339\n"
"                        UTC (2026-12-07T08:00:00Z, fractional seconds\n"
"                        allowed) or +DURATION from now (+5s), so shards on\n"
"                        several hosts begin together (as well as their\n"
"                        clocks agree); a time already past warns and starts\n"
"                        at once. The summary records it as t0_wall_us\n"
"\n"
"engine:\n"
"  --threads N           engine threads (default 1); captured connections are\n"
"                        shared among them (conn id mod N); with --max and no\n"
"                        --sessions requests are dealt round robin\n"
"  --engine raw|curl     raw (the default for http:// with HTTP/1.1): the\n"
"                        captured bytes verbatim on plain TCP, framed by\n"
"                        reprise's own HTTP/1.1 parser; curl (the default for\n"
"                        https:// and --http2, the only one that speaks\n"
"                        them): libcurl multi, which rebuilds each request\n"
"                        in its own way (see 'with --engine curl' below);\n"
"                        wire is the only engine for redis://, postgres://\n"
"                        and tcp:// targets\n"
"  --pipeline N          raw: up to N requests in flight per connection\n"
"                        (HTTP/1.1 pipelining, as wrk's pipeline script;\n"
"                        default 1). With --max, --concurrency counts\n"
"                        requests: --concurrency 128 --pipeline 4 keeps 32\n"
"                        connections 4 deep. With --sessions the requests a\n"
"                        captured client pipelined go pipelined (raw), up to\n"
"                        N deep when --pipeline is given\n"
"  --max-connections N   connections open at once over all threads (default\n"
"                        256); a due request waits when the cap is reached\n"
"                        and the summary counts it. Up to 16 per thread are\n"
"                        opened before the clock starts (not with --sessions\n"
"                        or --http2), so the first requests find them ready\n"
"  --timeout D           per request, connection included (default 10s);\n"
"                        with pipelining, a request that times out ends its\n"
"                        connection and the requests behind it time out too\n"
"  --spin D              with --speed or --rate, busy-poll instead of sleeping\n"
"                        when the next request is due within D (default 2ms;\n"
"                        0 always sleeps): a sleeping CPU can take\n"
"                        milliseconds to wake, on VMs above all; costs CPU\n"
"                        time up to a core per thread at high rates\n"
"  --http2               negotiate HTTP/2 (ALPN on https, h2c upgrade on\n"
"                        http; curl engine); HTTP/1.1 otherwise\n"
"  -k, --insecure        do not verify the server's certificate\n"
"  --cacert FILE         CA bundle to verify the server with\n"
"\n"
"load steps (find the limit):\n"
"  --steps M1,M2,...     one run in steps: step k replays the capture at\n"
"                        M_k times its speed (or M_k times --rate) for\n"
"                        --step-duration, looping the capture within the\n"
"                        step, the schedule re-anchored at each step's\n"
"                        start (open model); multiples positive and\n"
"                        increasing, at most 64. Not with --max, --duration\n"
"                        or --loop. The summary lists the steps\n"
"  --step-duration D     length of each step (default 10s, at least 100ms)\n"
"  --step-by speed|scale what a step multiplies: the speed (default) or the\n"
"                        copies (--scale M_k, whole numbers)\n"
"  --stop-if EXPR        end the run after the first step that breaks EXPR,\n"
"                        judged on that step's requests: METRIC OP VALUE,\n"
"                        absolute (p50 p90 p95 p99 p99.9 max mean in us/ms/s\n"
"                        of latency, errors in % of requests: transport\n"
"                        errors and 5xx), e.g. 'p99>200ms', 'errors>5%';\n"
"                        repeatable (any breaks)\n"
"\n"
"responses kept for a field-level diff ('reprise analyze', 'show --diff'):\n"
"  --store-bodies MODE   all, sample (default) or none: sample keeps every\n"
"                        response of the first 100 exchanges of each endpoint\n"
"                        (named as 'reprise analyze' names them), in the\n"
"                        first two loops and copies, and every response\n"
"                        whose body differs from the captured one; headers\n"
"                        with the result, bodies compressed and stored once\n"
"  --store-bodies-max N  at most N bytes of responses kept per run (default\n"
"                        256M); the summary counts those left out\n"
"\n"
"watching the target (stored with the run; see 'reprise analyze'):\n"
"  --monitor URL         scrape URL (Prometheus text format, parsed\n"
"                        strictly) once a second from the run's start to its\n"
"                        end; a scrape that fails or is malformed is\n"
"                        recorded as failed, the run goes on; at most 1000\n"
"                        series per URL. Repeatable (up to 8)\n"
"  --monitor-pid PID     sample a local process's CPU (cores), resident\n"
"                        memory, threads and open files from /proc once a\n"
"                        second. Repeatable (up to 8)\n"
"\n"
"request shaping:\n"
"  --filter KEY=VALUE    select exchanges (repeatable; the same key repeated\n"
"                        means any of them, different keys must all match):\n"
"                        method=GLOB, path=GLOB (fnmatch, query excluded,\n"
"                        * also matches /), host=GLOB, status=200|5xx,\n"
"                        from=D and to=D (time since the capture's start)\n"
"  --set-header 'N: V'   send header N with value V in the place of the\n"
"                        captured one(s), or at the end (repeatable)\n"
"  --drop-header NAME    do not send header NAME (repeatable)\n"
"  --rewrite-path 'RE=S' replace the first match of the POSIX extended regex\n"
"                        RE in the request target (path and query) by S; \\1\n"
"                        .. \\9 are groups, \\= is a literal = in RE\n"
"                        (repeatable, applied in order)\n"
"  --host VALUE          send Host: VALUE instead of the captured Host\n"
"  --ambiguous skip|send exchanges the capture flagged ambiguous-framing or\n"
"                        malformed (framing a server may read either way, a\n"
"                        request line or headers that break RFC 9112): skip\n"
"                        (default) leaves them out and says how many; send\n"
"                        replays them as stored (the raw engine sends the\n"
"                        captured bytes; curl frames the body itself)\n"
"  With the raw engine the request reaches the target byte for byte as\n"
"  captured: request line, header names in their case and order, duplicates,\n"
"  empty values, folded lines, and the body with its framing (a chunked body\n"
"  stays chunked, extensions and trailers included). The only exceptions:\n"
"  redacted values from the capture are never sent (the header is left out\n"
"  unless --set-header gives a value); --host, --set-header, --drop-header\n"
"  and --rewrite-path apply when given; a body cut short at capture\n"
"  (incomplete, or beyond --max-body) is sent as stored with a\n"
"  Content-Length of what was stored (a chunked one as one chunk). The\n"
"  framing headers Content-Length and Transfer-Encoding cannot be set or\n"
"  dropped.\n"
"  With --engine curl libcurl builds the request: Content-Length and\n"
"  Transfer-Encoding are its own (a chunked body goes de-chunked),\n"
"  Connection, Keep-Alive, Upgrade, TE, Proxy-Connection, HTTP2-Settings\n"
"  and Expect are not sent, header lines are rewritten in libcurl's format\n"
"  (folded lines joined), and it adds no Accept, Content-Type or User-Agent\n"
"  the client did not send; captured pipelining is not reproduced.\n"
"  Response bodies are hashed as received, without decoding\n"
"  Content-Encoding. Proxy variables of the environment (http_proxy...) are\n"
"  ignored.\n"
"\n"
"live dashboard:\n"
"  --web [ADDR:]PORT     serve a live dashboard during the run on ADDR\n"
"                        (127.0.0.1 unless given; [::1]:PORT for IPv6; PORT\n"
"                        0 picks a free one, printed at start): / is the\n"
"                        page (self-contained, works offline), /api/stats\n"
"                        its numbers as JSON, /metrics the Prometheus\n"
"                        exposition. A random token is printed on the\n"
"                        terminal: POST /api/stop and POST /api/speed\n"
"                        (?speed=X or ?rate=R) need it in the header\n"
"                        X-Reprise-Token (the printed URL carries it for\n"
"                        the page); without it the page is read-only\n"
"  --web-linger D        keep serving D after the run ends, with the final\n"
"                        numbers (default 0)\n"
"\n"
"output:\n"
"  -q, --quiet           no progress line and no text summary\n"
"  --json                print the final summary as JSON on stdout\n"
"  -h, --help            this text\n"
"\n"
"Progress goes to stderr (a live line on a terminal, a line every 5 s\n"
"otherwise). Ctrl-C stops sending, waits up to min(--timeout, 2s) for\n"
"responses in flight, records every request not sent as not_sent, marks\n"
"the run interrupted and exits 0 (a second Ctrl-C skips the not_sent rows).\n"
"When most requests fail, the summary opens with the leading causes, their\n"
"messages and advice that fits them.\n"
"Exit codes: 0 done, 1 runtime failure or no request got a response (the\n"
"run is still recorded), 2 bad usage or input.\n",
        f);
}

/* Checks --target (scheme://host[:port] with an optional "/") and fills
 * scheme, base_url, conn_host and conn_port. */
static int parse_target(struct rp_opts *o, char *err)
{
    const char *t = o->target;
    const char *sep = strstr(t, "://");
    size_t sl = sep ? (size_t)(sep - t) : 0;
    if (!sep || !sl || strspn(t, "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") <
                           sl)
        return rp_fail(err, RP_EUSAGE, "--target '%s': not a URL; expected "
                       "http://host[:port] or https://host[:port]", t);
    int https = sl == 5 && !strncasecmp(t, "https", 5);
    enum rp_wire wire = RW_NONE;
    if (sl == 5 && !strncasecmp(t, "redis", 5))
        wire = RW_REDIS;
    else if ((sl == 8 && !strncasecmp(t, "postgres", 8)) ||
             (sl == 10 && !strncasecmp(t, "postgresql", 10)))
        wire = RW_PG;
    else if (sl == 3 && !strncasecmp(t, "tcp", 3))
        wire = RW_TCP;
    if (!https && !wire && !(sl == 4 && !strncasecmp(t, "http", 4)))
        return rp_fail(err, RP_EUSAGE, "--target '%s': scheme must be http, "
                       "https, redis, postgres or tcp", t);
    o->wire = wire;
    const char *a = sep + 3;
    size_t alen = strcspn(a, "/?#");
    const char *rest = a + alen;
    const char *at = memchr(a, '@', alen);
    if (at && (wire == RW_PG || wire == RW_REDIS)) {
        /* postgres://USER@HOST..., redis://USER@HOST...: the password
         * comes from --password-file, never from the command line */
        size_t ul = (size_t)(at - a);
        if (!ul || memchr(a, ':', ul) || ul >= sizeof o->wire_user)
            return rp_fail(err, RP_EUSAGE, "--target '%s': give the user "
                           "name only (USER@HOST); the password goes in "
                           "--password-file", t);
        snprintf(o->wire_user, sizeof o->wire_user, "%.*s", (int)ul, a);
        alen -= ul + 1;
        a = at + 1;
    }
    if (wire == RW_PG) {
        if (*rest == '/' && rest[1]) {
            size_t dl = strcspn(rest + 1, "?#");
            if (dl >= sizeof o->wire_db || rest[1 + dl])
                return rp_fail(err, RP_EUSAGE, "--target '%s': bad database "
                               "name", t);
            snprintf(o->wire_db, sizeof o->wire_db, "%.*s", (int)dl,
                     rest + 1);
            rest += 1 + dl;
        }
        if (!o->wire_user[0])
            return rp_fail(err, RP_EUSAGE, "--target '%s': give the user "
                           "(postgres://USER@HOST:PORT/DB)", t);
        if (!o->wire_db[0])
            snprintf(o->wire_db, sizeof o->wire_db, "%s", o->wire_user);
    }
    const char *host = a, *port = NULL;
    size_t hlen = alen, plen = 0;
    if (memchr(a, '@', alen))
        return rp_fail(err, RP_EUSAGE, "--target '%s': give no user name or "
                       "password; send credentials with --set-header", t);
    if (alen && a[0] == '[') {
        const char *rb = memchr(a, ']', alen);
        if (!rb || rb - a < 3)
            return rp_fail(err, RP_EUSAGE, "--target '%s': not a URL; "
                           "expected http://host[:port] or "
                           "https://host[:port]", t);
        hlen = (size_t)(rb - a) + 1;
        if (strspn(a + 1, "0123456789abcdefABCDEF:.") < hlen - 2)
            return rp_fail(err, RP_EUSAGE, "--target '%s': bad IPv6 "
                           "address", t);
    } else {
        const char *colon = memchr(a, ':', alen);
        hlen = colon ? (size_t)(colon - a) : alen;
    }
    if (hlen < alen) {
        if (a[hlen] != ':')
            return rp_fail(err, RP_EUSAGE, "--target '%s': not a URL; "
                           "expected http://host[:port] or "
                           "https://host[:port]", t);
        port = a + hlen + 1;
        plen = alen - hlen - 1;
    }
    if (!hlen || (host[0] != '[' &&
                  strspn(host, "abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%") <
                      hlen))
        return rp_fail(err, RP_EUSAGE, "--target '%s': not a URL; expected "
                       "http://host[:port] or https://host[:port]", t);
    if (port) {
        long pv = 0;
        for (size_t i = 0; i < plen && pv <= 65535; i++)
            pv = port[i] >= '0' && port[i] <= '9'
                     ? pv * 10 + (port[i] - '0') : 65536;
        if (!plen || pv < 1 || pv > 65535)
            return rp_fail(err, RP_EUSAGE, "--target '%s': the port must be "
                           "a number from 1 to 65535", t);
    }
    if (*rest && strcmp(rest, "/"))
        return rp_fail(err, RP_EUSAGE, "--target '%s': give only "
                       "scheme://host[:port]; request paths come from the "
                       "corpus (use --rewrite-path to change them)", t);
    if (hlen + plen + 16 > sizeof o->base_url ||
        hlen >= sizeof o->conn_host)
        return rp_fail(err, RP_EUSAGE, "--target '%s': too long", t);
    static const char *const wire_scheme[] = {"", "redis", "postgres",
                                              "tcp"};
    static const char *const wire_port[] = {"", "6379", "5432", ""};
    if (wire == RW_TCP && !port)
        return rp_fail(err, RP_EUSAGE, "--target '%s': give the port "
                       "(tcp://HOST:PORT)", t);
    snprintf(o->scheme, sizeof o->scheme, "%s",
             wire ? wire_scheme[wire] : https ? "https" : "http");
    snprintf(o->base_url, sizeof o->base_url, "%s://%.*s%s%.*s/", o->scheme,
             (int)hlen, host, port ? ":" : "", (int)plen, port ? port : "");
    /* what the engines connect to: an IPv6 literal without brackets */
    int v6 = host[0] == '[';
    snprintf(o->conn_host, sizeof o->conn_host, "%.*s",
             (int)(v6 ? hlen - 2 : hlen), host + v6);
    snprintf(o->conn_port, sizeof o->conn_port, "%.*s",
             port ? (int)plen : 4,
             port ? port : wire ? wire_port[wire] : https ? "443" : "80");
    return 0;
}

/* A redis://, postgres:// or tcp:// target: the wire engine, one
 * connection per captured connection (--sessions: a PostgreSQL session
 * carries its prepared statements and transaction, a Redis one its
 * SELECTed db), and the password read from --password-file. */
static int wire_options(struct rp_opts *o, const char *engine_arg, char *err)
{
    if (engine_arg && strcmp(engine_arg, "wire"))
        return rp_fail(err, RP_EUSAGE, "--engine %s speaks HTTP; a %s:// "
                       "target uses the wire engine", engine_arg, o->scheme);
    if (o->http2 || o->pipeline_set || o->nset_headers || o->ndrop_headers ||
        o->nrewrites || o->host)
        return rp_fail(err, RP_EUSAGE, "%s is for HTTP targets",
                       o->http2 ? "--http2" : o->pipeline_set ? "--pipeline"
                       : o->nset_headers ? "--set-header"
                       : o->ndrop_headers ? "--drop-header"
                       : o->nrewrites ? "--rewrite-path" : "--host");
    if (o->nextracts || o->ninjects || o->script || o->session_key)
        return rp_fail(err, RP_EUSAGE, "%s is for HTTP targets",
                       o->nextracts ? "--extract" : o->ninjects ? "--inject"
                       : o->script ? "--script" : "--session-key");
    o->engine = RE_WIRE;
    o->sessions = 1;
    o->no_correlate = 1;
    if (o->password_file) {
        if (o->wire == RW_TCP)
            return rp_fail(err, RP_EUSAGE, "--password-file is for redis:// "
                           "and postgres:// targets");
        FILE *f = fopen(o->password_file, "r");
        if (!f)
            return rp_fail(err, RP_EUSAGE, "--password-file %s: %s",
                           o->password_file, strerror(errno));
        char line[sizeof o->wire_password + 1];
        size_t n = fread(line, 1, sizeof line - 1, f);
        int bad = ferror(f);
        fclose(f);
        line[n] = '\0';
        n = strcspn(line, "\r\n");
        line[n] = '\0';
        if (bad || !n || n >= sizeof o->wire_password)
            return rp_fail(err, RP_EUSAGE, "--password-file %s: %s",
                           o->password_file, bad ? "cannot read it"
                           : n ? "the password is too long"
                               : "empty (the first line is the password)");
        memcpy(o->wire_password, line, n + 1);
        explicit_bzero(line, sizeof line);
    }
    return 0;
}

/* "1,2,4,8": positive, increasing multiples. */
static int parse_steps(const char *val, struct rp_opts *o, char *err)
{
    const char *p = val;
    o->nsteps = 0;
    for (;;) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || (*end && *end != ',') || !(v > 0) || v > 1e6)
            return rp_fail(err, RP_EUSAGE, "--steps '%s': expected positive "
                           "multiples separated by commas, e.g. 1,2,4,8",
                           val);
        if (o->nsteps && v <= o->steps[o->nsteps - 1])
            return rp_fail(err, RP_EUSAGE, "--steps '%s': the multiples must "
                           "increase (%g after %g)", val, v,
                           o->steps[o->nsteps - 1]);
        if (o->nsteps == RP_MAX_STEPS)
            return rp_fail(err, RP_EUSAGE, "--steps '%s': at most %d steps",
                           val, RP_MAX_STEPS);
        o->steps[o->nsteps++] = v;
        if (!*end)
            return 0;
        p = end + 1;
    }
}

int replay_stopif_parse(const char *s, struct rp_stopif *out, char *err)
{
    static const struct {
        const char *name;
        enum rp_stop_metric m;
    } ms[] = {{"p99.9", RS_P999}, {"p50", RS_P50}, {"p90", RS_P90},
              {"p95", RS_P95},    {"p99", RS_P99}, {"max", RS_MAX},
              {"mean", RS_MEAN},  {"errors", RS_ERRORS}};
    memset(out, 0, sizeof *out);
    snprintf(out->text, sizeof out->text, "%s", s);
    const char *p = s;
    size_t i;
    for (i = 0; i < sizeof ms / sizeof *ms; i++) {
        size_t n = strlen(ms[i].name);
        if (!strncasecmp(p, ms[i].name, n) &&
            (p[n] == '>' || p[n] == '<' || p[n] == ' ')) {
            out->metric = ms[i].m;
            p += n;
            break;
        }
    }
    if (i == sizeof ms / sizeof *ms)
        goto bad;
    while (*p == ' ')
        p++;
    if (*p != '>' && *p != '<')
        goto bad;
    out->op = p[1] == '=' ? (*p == '>' ? 'g' : 'l') : *p;
    p += 1 + (p[1] == '=');
    while (*p == ' ')
        p++;
    if (*p == '+')
        return rp_fail(err, RP_EUSAGE, "--stop-if '%s': values are absolute "
                       "(a step has no baseline), e.g. 'p99>200ms'", s);
    char *end;
    double v = strtod(p, &end);
    if (end == p || !(v >= 0) || v > 1e15)
        goto bad;
    if (out->metric == RS_ERRORS) {
        if (*end && strcmp(end, "%"))
            return rp_fail(err, RP_EUSAGE, "--stop-if '%s': errors is a "
                           "rate; give a percentage, e.g. 'errors>5%%'", s);
    } else if (!strcmp(end, "ms")) {
        v *= 1e3;
    } else if (!strcmp(end, "s")) {
        v *= 1e6;
    } else if (strcmp(end, "us")) {
        return rp_fail(err, RP_EUSAGE, "--stop-if '%s': give a latency with "
                       "its unit (us, ms, s), e.g. 'p99>200ms'", s);
    }
    out->value = v;
    return 0;
bad:
    return rp_fail(err, RP_EUSAGE, "--stop-if '%s': expected METRIC OP VALUE, "
                   "e.g. 'p99>200ms' or 'errors>5%%' (metrics: p50 p90 p95 "
                   "p99 p99.9 max mean errors)", s);
}

static int push_str(const char ***v, int *n, const char *s)
{
    const char **nv = realloc(*v, (size_t)(*n + 1) * sizeof *nv);
    if (!nv)
        return RP_ENOMEM;
    nv[(*n)++] = s;
    *v = nv;
    return 0;
}

/* Matches "--name" and "--name=value"; *val gets the value (the next
 * argument when not inline). Returns 1 when matched, -1 when a value is
 * missing, 0 otherwise. */
static int flag_val(int argc, char **argv, int *i, const char *name,
                    const char **val)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n))
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n])
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

/* --web [ADDR:]PORT: ADDR an IPv4 address or a bracketed IPv6 one. */
static int parse_web(const char *v, struct rp_opts *o, char *err)
{
    const char *colon = strrchr(v, ':'), *port = v;
    o->web = v;
    snprintf(o->web_addr, sizeof o->web_addr, "127.0.0.1");
    if (colon) {
        size_t n = (size_t)(colon - v);
        if (n && v[0] == '[' && v[n - 1] == ']') {
            v++;
            n -= 2;
        }
        unsigned char sa[16];
        if (!n || n >= sizeof o->web_addr)
            return rp_fail(err, RP_EUSAGE, "--web '%s': expected [ADDR:]PORT",
                           o->web);
        memcpy(o->web_addr, v, n);
        o->web_addr[n] = '\0';
        if (inet_pton(AF_INET, o->web_addr, sa) != 1 &&
            inet_pton(AF_INET6, o->web_addr, sa) != 1)
            return rp_fail(err, RP_EUSAGE, "--web '%s': '%s' is not an IP "
                           "address (127.0.0.1, 0.0.0.0, [::1])", o->web,
                           o->web_addr);
        port = colon + 1;
    }
    int64_t p;
    if (rp_parse_i64(port, "--web port", 0, 65535, &p, err))
        return RP_EUSAGE;
    o->web_port = (int)p;
    return 0;
}

/* --shard I/N: two decimal integers, 0 <= I < N, N >= 1. */
static int parse_shard(const char *val, struct rp_opts *o, char *err)
{
    char *end;
    const char *slash = strchr(val, '/');
    if (!slash || slash == val || !slash[1] ||
        strspn(val, "0123456789") != (size_t)(slash - val) ||
        strspn(slash + 1, "0123456789") != strlen(slash + 1))
        return rp_fail(err, RP_EUSAGE, "--shard '%s': expected I/N, shard "
                       "I (0-based) of N, e.g. 0/3", val);
    long i = strtol(val, &end, 10), n = strtol(slash + 1, &end, 10);
    if (n < 1 || n > 100000)
        return rp_fail(err, RP_EUSAGE, "--shard '%s': N must be from 1 to "
                       "100000", val);
    if (i >= n)
        return rp_fail(err, RP_EUSAGE, "--shard '%s': I must be less than "
                       "N (shards are numbered 0 to %ld)", val, n - 1);
    o->shard_index = (int)i;
    o->shard_count = (int)n;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int replay_parse_start_at(const char *s, int64_t now_wall_us, int64_t *out,
                          char *err)
{
    if (s[0] == '+') {
        int64_t d;
        if (rp_parse_duration_us(s + 1, "--start-at", &d, err))
            return RP_EUSAGE;
        *out = now_wall_us + d;
        return 0;
    }
    int y, mo, d, h, mi, se, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
               &se, &n) != 6 || n != 19 || mo < 1 || mo > 12 || d < 1 ||
        d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970)
        goto bad;
    const char *p = s + n;
    int64_t frac_us = 0;
    if (*p == '.') {
        int64_t scale = 100000;
        p++;
        if (*p < '0' || *p > '9')
            goto bad;
        for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac_us += (*p - '0') * scale;
    }
    if (strcmp(p, "Z") && strcmp(p, "z") && strcmp(p, "+00:00"))
        return rp_fail(err, RP_EUSAGE, "--start-at '%s': give the time in "
                       "UTC, ending in Z (e.g. 2026-12-07T08:00:00Z)", s);
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
                   (se > 59 ? 59 : se);
    *out = secs * 1000000 + frac_us;
    return 0;
bad:
    return rp_fail(err, RP_EUSAGE, "--start-at '%s': expected an RFC 3339 "
                   "UTC time (2026-12-07T08:00:00Z, fractional seconds "
                   "allowed) or +DURATION from now (+5s)", s);
}

/* One --extract (ext) or --inject NAME=LOC into o's lists. */
static int rule_parse(struct rp_opts *o, const char *arg, int ext, char *err)
{
    const char *flag = ext ? "--extract" : "--inject";
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= 64 || !eq[1])
        return rp_fail(err, RP_EUSAGE, "%s '%s': expected NAME=%s", flag, arg,
                       ext ? "json:PATH|header:NAME|regex:RE"
                           : "header:NAME|path:I|query:NAME|json:PATH");
    const char *loc = eq + 1;
    static const char *const from[] = {"json:", "header:", "regex:", NULL};
    static const char *const into[] = {"header:", "path:", "query:", "json:",
                                       NULL};
    const char *const *ok = ext ? from : into;
    int known = 0;
    for (int k = 0; ok[k]; k++)
        known |= !strncmp(loc, ok[k], strlen(ok[k])) && loc[strlen(ok[k])];
    if (!known || strlen(loc) >= 128)
        return rp_fail(err, RP_EUSAGE, "%s '%s': the place must be %s", flag,
                       arg, ext ? "json:PATH, header:NAME or regex:RE"
                                : "header:NAME, path:I, query:NAME or "
                                  "json:PATH");
    struct rp_rule **list = ext ? &o->extracts : &o->injects;
    int *n = ext ? &o->nextracts : &o->ninjects;
    struct rp_rule *nl = realloc(*list, (size_t)(*n + 1) * sizeof *nl);
    if (!nl)
        return rp_fail(err, RP_ENOMEM, "out of memory");
    *list = nl;
    struct rp_rule *r = &nl[*n];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%.*s", (int)(eq - arg), arg);
    snprintf(r->loc, sizeof r->loc, "%s", loc);
    if (ext && !strncmp(loc, "regex:", 6)) {
        int rc = regcomp(&r->re, loc + 6, REG_EXTENDED);
        if (rc) {
            char msg[128];
            regerror(rc, &r->re, msg, sizeof msg);
            return rp_fail(err, RP_EUSAGE, "--extract '%s': %s", arg, msg);
        }
        r->is_regex = 1;
    }
    (*n)++;
    return 0;
}

int replay_opts_parse(int argc, char **argv, struct rp_opts *o, int *help,
                      char *err)
{
    int have_speed = 0, have_rate = 0, have_max = 0, have_conc = 0;
    int have_step_by = 0, have_scale = 0, rc0;
    const char *engine_arg = NULL;
    int64_t v;
    memset(o, 0, sizeof *o);
    o->speed = 1;
    o->concurrency = 32;
    o->scale = 1;
    o->threads = 1;
    o->max_connections = 256;
    o->store_bodies = RP_STORE_SAMPLE_MODE;
    o->store_max_bytes = 256ll << 20;
    o->spin_us = 2000;
    o->timeout_us = 10000000;
    o->engine = RE_RAW;
    o->pipeline = 1;
    *help = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        int m;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = 1;
            return 0;
        }
#define VALUE(name)                                                         \
    ((m = flag_val(argc, argv, &i, name, &val)) < 0                         \
         ? rp_fail(err, RP_EUSAGE, "%s needs a value", name)                \
         : m)
        if ((m = VALUE("--target"))) {
            if (m < 0)
                return m;
            o->target = val;
        } else if ((m = VALUE("--capture"))) {
            if (m < 0 || rp_parse_i64(val, "--capture", 1, INT64_MAX,
                                      &o->capture_id, err))
                return RP_EUSAGE;
        } else if ((m = VALUE("--label"))) {
            if (m < 0)
                return m;
            o->label = val;
        } else if ((m = VALUE("--speed"))) {
            if (m < 0 || rp_parse_double(val, "--speed", 0, &o->speed, err))
                return RP_EUSAGE;
            have_speed = 1;
        } else if ((m = VALUE("--rate"))) {
            if (m < 0)
                return m;
            char tmp[64];
            size_t n = strlen(val);
            if (n > 2 && !strcmp(val + n - 2, "/s"))
                n -= 2;
            if (n >= sizeof tmp)
                return rp_fail(err, RP_EUSAGE, "--rate '%s': expected "
                               "requests per second, e.g. 500 or 500/s", val);
            memcpy(tmp, val, n);
            tmp[n] = '\0';
            if (rp_parse_double(tmp, "--rate", 0, &o->rate, err))
                return RP_EUSAGE;
            have_rate = 1;
        } else if (!strcmp(a, "--max")) {
            o->mode = RM_MAX;
            have_max = 1;
        } else if ((m = VALUE("--concurrency"))) {
            if (m < 0 || rp_parse_i64(val, "--concurrency", 1, 100000, &v,
                                      err))
                return RP_EUSAGE;
            o->concurrency = (int)v;
            have_conc = 1;
        } else if ((m = VALUE("--duration"))) {
            if (m < 0 ||
                rp_parse_duration_us(val, "--duration", &o->duration_us, err))
                return RP_EUSAGE;
            if (o->duration_us <= 0)
                return rp_fail(err, RP_EUSAGE, "--duration must be > 0");
        } else if ((m = VALUE("--loop"))) {
            if (m < 0 ||
                rp_parse_i64(val, "--loop", 1, INT32_MAX, &o->loops, err))
                return RP_EUSAGE;
        } else if ((m = VALUE("--scale"))) {
            if (m < 0 || rp_parse_i64(val, "--scale", 1, 10000, &v, err))
                return RP_EUSAGE;
            o->scale = (int)v;
            have_scale = 1;
        } else if (!strcmp(a, "--sessions")) {
            o->sessions = 1;
        } else if (!strcmp(a, "--no-correlate")) {
            o->no_correlate = 1;
        } else if ((m = VALUE("--extract"))) {
            if (m < 0 || rule_parse(o, val, 1, err))
                return RP_EUSAGE;
            o->sessions = 1;
        } else if ((m = VALUE("--inject"))) {
            if (m < 0 || rule_parse(o, val, 0, err))
                return RP_EUSAGE;
            o->sessions = 1;
        } else if ((m = VALUE("--script"))) {
            if (m < 0)
                return RP_EUSAGE;
            o->script = val;
            o->sessions = 1;
        } else if ((m = VALUE("--session-key"))) {
            if (m < 0)
                return RP_EUSAGE;
            if (!strcmp(val, "client")) {
                o->skey_kind = RP_SKEY_CLIENT;
            } else if (!strncmp(val, "cookie:", 7) && val[7]) {
                o->skey_kind = RP_SKEY_COOKIE;
                o->skey_name = val + 7;
            } else if (!strncmp(val, "header:", 7) && val[7]) {
                o->skey_kind = RP_SKEY_HEADER;
                o->skey_name = val + 7;
            } else {
                return rp_fail(err, RP_EUSAGE, "--session-key '%s': expected "
                               "client, cookie:NAME or header:NAME", val);
            }
            o->session_key = val;
            o->sessions = 1;
        } else if ((m = VALUE("--threads"))) {
            if (m < 0 || rp_parse_i64(val, "--threads", 1, 256, &v, err))
                return RP_EUSAGE;
            o->threads = (int)v;
        } else if ((m = VALUE("--max-connections"))) {
            if (m < 0 ||
                rp_parse_i64(val, "--max-connections", 1, 1000000, &v, err))
                return RP_EUSAGE;
            o->max_connections = (int)v;
        } else if ((m = VALUE("--timeout"))) {
            if (m < 0 ||
                rp_parse_duration_us(val, "--timeout", &o->timeout_us, err))
                return RP_EUSAGE;
            if (o->timeout_us < 1000)
                return rp_fail(err, RP_EUSAGE, "--timeout must be at least "
                               "1ms");
        } else if ((m = VALUE("--spin"))) {
            if (m < 0 ||
                rp_parse_duration_us(val, "--spin", &o->spin_us, err))
                return RP_EUSAGE;
            if (o->spin_us > 1000000)
                return rp_fail(err, RP_EUSAGE, "--spin is at most 1s");
        } else if ((m = VALUE("--engine"))) {
            if (m < 0)
                return m;
            if (strcmp(val, "raw") && strcmp(val, "curl") &&
                strcmp(val, "wire"))
                return rp_fail(err, RP_EUSAGE, "--engine '%s': use raw or "
                               "curl (wire: redis, postgres, tcp targets)",
                               val);
            engine_arg = val;
        } else if ((m = VALUE("--password-file"))) {
            if (m < 0)
                return m;
            o->password_file = val;
        } else if ((m = VALUE("--quiet-gap"))) {
            if (m < 0 ||
                rp_parse_duration_us(val, "--quiet-gap", &o->quiet_gap_us,
                                     err))
                return RP_EUSAGE;
            if (o->quiet_gap_us <= 0 || o->quiet_gap_us > 60000000)
                return rp_fail(err, RP_EUSAGE, "--quiet-gap: give 1ms to 60s");
        } else if ((m = VALUE("--pipeline"))) {
            if (m < 0 || rp_parse_i64(val, "--pipeline", 1, 1024, &v, err))
                return RP_EUSAGE;
            o->pipeline = (int)v;
            o->pipeline_set = 1;
        } else if (!strcmp(a, "--http2")) {
            o->http2 = 1;
        } else if (!strcmp(a, "--insecure") || !strcmp(a, "-k")) {
            o->insecure = 1;
        } else if ((m = VALUE("--cacert"))) {
            if (m < 0)
                return m;
            o->cacert = val;
        } else if ((m = VALUE("--host"))) {
            if (m < 0)
                return m;
            if (!*val || strpbrk(val, "\r\n"))
                return rp_fail(err, RP_EUSAGE, "--host: give a non-empty "
                               "value on one line");
            o->host = val;
        } else if ((m = VALUE("--ambiguous"))) {
            if (m < 0)
                return m;
            if (strcmp(val, "skip") && strcmp(val, "send"))
                return rp_fail(err, RP_EUSAGE, "--ambiguous '%s': give skip "
                               "or send", val);
            o->ambiguous_send = !strcmp(val, "send");
        } else if ((m = VALUE("--filter"))) {
            if (m < 0)
                return m;
            struct rp_filter *nf = realloc(
                o->filters, (size_t)(o->nfilters + 1) * sizeof *nf);
            if (!nf)
                return rp_fail(err, RP_ENOMEM, "out of memory");
            o->filters = nf;
            if (replay_shape_filter_parse(val, &o->filters[o->nfilters], err))
                return RP_EUSAGE;
            int n = o->nfilters;
            if (push_str(&o->filter_args, &n, val))
                return rp_fail(err, RP_ENOMEM, "out of memory");
            o->nfilters++;
        } else if ((m = VALUE("--set-header"))) {
            if (m < 0)
                return m;
            const char *colon = strchr(val, ':');
            if (!colon || colon == val || strpbrk(val, "\r\n"))
                return rp_fail(err, RP_EUSAGE, "--set-header '%s': expected "
                               "'Name: value' on one line", val);
            size_t nl = (size_t)(colon - val);
            while (nl && (val[nl - 1] == ' ' || val[nl - 1] == '\t'))
                nl--;
            if (replay_shape_is_framing(val, nl))
                return rp_fail(err, RP_EUSAGE, "--set-header '%s': "
                               "Content-Length and Transfer-Encoding follow "
                               "the body and cannot be set", val);
            if (push_str(&o->set_headers, &o->nset_headers, val))
                return rp_fail(err, RP_ENOMEM, "out of memory");
        } else if ((m = VALUE("--drop-header"))) {
            if (m < 0)
                return m;
            if (!*val || strpbrk(val, ": \r\n"))
                return rp_fail(err, RP_EUSAGE, "--drop-header '%s': give a "
                               "header name", val);
            if (replay_shape_is_framing(val, strlen(val)))
                return rp_fail(err, RP_EUSAGE, "--drop-header '%s': "
                               "Content-Length and Transfer-Encoding follow "
                               "the body and cannot be dropped", val);
            if (push_str(&o->drop_headers, &o->ndrop_headers, val))
                return rp_fail(err, RP_ENOMEM, "out of memory");
        } else if ((m = VALUE("--rewrite-path"))) {
            if (m < 0)
                return m;
            struct rp_rewrite *nr = realloc(
                o->rewrites, (size_t)(o->nrewrites + 1) * sizeof *nr);
            if (!nr)
                return rp_fail(err, RP_ENOMEM, "out of memory");
            o->rewrites = nr;
            if (replay_shape_rewrite_parse(val, &o->rewrites[o->nrewrites],
                                           err))
                return RP_EUSAGE;
            int n = o->nrewrites;
            if (push_str(&o->rewrite_args, &n, val)) {
                replay_shape_rewrite_free(&o->rewrites[o->nrewrites]);
                return rp_fail(err, RP_ENOMEM, "out of memory");
            }
            o->nrewrites++;
        } else if ((m = VALUE("--shard"))) {
            if (m < 0)
                return m;
            if (parse_shard(val, o, err))
                return RP_EUSAGE;
        } else if ((m = VALUE("--start-at"))) {
            if (m < 0)
                return m;
            if (replay_parse_start_at(val, rp_wall_us(), &o->start_at_us,
                                      err))
                return RP_EUSAGE;
        } else if ((m = VALUE("--steps"))) {
            if (m < 0)
                return m;
            if ((rc0 = parse_steps(val, o, err)))
                return rc0;
        } else if ((m = VALUE("--step-duration"))) {
            if (m < 0 || rp_parse_duration_us(val, "--step-duration",
                                              &o->step_us, err))
                return RP_EUSAGE;
            if (o->step_us < 100000)
                return rp_fail(err, RP_EUSAGE, "--step-duration must be at "
                               "least 100ms");
        } else if ((m = VALUE("--step-by"))) {
            if (m < 0)
                return m;
            if (strcmp(val, "speed") && strcmp(val, "scale"))
                return rp_fail(err, RP_EUSAGE, "--step-by '%s': give speed "
                               "or scale", val);
            o->step_by_scale = !strcmp(val, "scale");
            have_step_by = 1;
        } else if ((m = VALUE("--stop-if"))) {
            if (m < 0)
                return m;
            if (o->nstopif == RP_MAX_STOPIF)
                return rp_fail(err, RP_EUSAGE, "at most %d --stop-if",
                               RP_MAX_STOPIF);
            if (replay_stopif_parse(val, &o->stopif[o->nstopif], err))
                return RP_EUSAGE;
            o->nstopif++;
        } else if ((m = VALUE("--store-bodies"))) {
            if (m < 0)
                return m;
            if (!strcmp(val, "all"))
                o->store_bodies = RP_STORE_ALL;
            else if (!strcmp(val, "sample"))
                o->store_bodies = RP_STORE_SAMPLE_MODE;
            else if (!strcmp(val, "none"))
                o->store_bodies = RP_STORE_NONE;
            else
                return rp_fail(err, RP_EUSAGE, "--store-bodies '%s': give "
                               "all, sample or none", val);
        } else if ((m = VALUE("--store-bodies-max"))) {
            uint64_t cap;
            if (m < 0 || rp_parse_size(val, "--store-bodies-max", &cap, err))
                return RP_EUSAGE;
            o->store_max_bytes = (int64_t)cap;
        } else if ((m = VALUE("--monitor"))) {
            if (m < 0)
                return m;
            if (o->nmonitor == RP_MAX_MONITOR)
                return rp_fail(err, RP_EUSAGE, "at most %d --monitor",
                               RP_MAX_MONITOR);
            if (strncmp(val, "http://", 7) && strncmp(val, "https://", 8))
                return rp_fail(err, RP_EUSAGE, "--monitor '%s': give an "
                               "http:// or https:// URL of a Prometheus "
                               "endpoint, e.g. http://127.0.0.1:9100/metrics",
                               val);
            o->monitor[o->nmonitor++] = val;
        } else if ((m = VALUE("--monitor-pid"))) {
            int64_t pid;
            if (m < 0 || rp_parse_i64(val, "--monitor-pid", 1, 4194304, &pid,
                                      err))
                return RP_EUSAGE;
            if (o->nmonitor_pid == RP_MAX_MONITOR)
                return rp_fail(err, RP_EUSAGE, "at most %d --monitor-pid",
                               RP_MAX_MONITOR);
            char path[32];
            snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
            if (access(path, R_OK))
                return rp_fail(err, RP_EUSAGE, "--monitor-pid %lld: no such "
                               "process here (%s)", (long long)pid,
                               strerror(errno));
            o->monitor_pid[o->nmonitor_pid++] = (int)pid;
        } else if ((m = VALUE("--web-linger"))) {
            if (m < 0 || rp_parse_duration_us(val, "--web-linger",
                                              &o->web_linger_us, err))
                return RP_EUSAGE;
        } else if ((m = VALUE("--web"))) {
            if (m < 0 || parse_web(val, o, err))
                return RP_EUSAGE;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            o->quiet = 1;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (a[0] == '-' && a[1]) {
            return rp_fail(err, RP_EUSAGE, "unknown option '%s'; see "
                           "'reprise replay --help'", a);
        } else if (!o->db) {
            o->db = a;
        } else {
            return rp_fail(err, RP_EUSAGE, "unexpected argument '%s'; one "
                           "corpus DB is replayed at a time", a);
        }
#undef VALUE
    }
    if (!o->db)
        return rp_fail(err, RP_EUSAGE, "missing the corpus DB; usage: "
                       "reprise replay DB --target URL [options]");
    if (!o->target)
        return rp_fail(err, RP_EUSAGE, "missing --target URL (e.g. "
                       "--target http://127.0.0.1:8080)");
    if (have_speed + have_rate + have_max > 1)
        return rp_fail(err, RP_EUSAGE, "use only one of --speed, --rate "
                       "and --max (they are exclusive timing modes)");
    o->mode = have_max ? RM_MAX : have_rate ? RM_RATE : RM_SPEED;
    if (have_conc && o->mode != RM_MAX)
        return rp_fail(err, RP_EUSAGE, "--concurrency applies to --max "
                       "only (the open model sends when requests are due)");
    if (o->shard_count && o->mode == RM_MAX) {
        if (o->concurrency < o->shard_count)
            return rp_fail(err, RP_EUSAGE, "--max --shard %d/%d: "
                           "--concurrency %d cannot be shared by %d shards; "
                           "give at least one request in flight per shard",
                           o->shard_index, o->shard_count, o->concurrency,
                           o->shard_count);
    }
    /* --max: the shards' shares of --concurrency sum to it exactly, the
     * first (concurrency mod N) shards taking one more */
    o->shard_concurrency = o->concurrency;
    if (o->shard_count)
        o->shard_concurrency = o->concurrency / o->shard_count +
                               (o->shard_index <
                                o->concurrency % o->shard_count);
    if (o->nsteps) {
        if (o->mode == RM_MAX)
            return rp_fail(err, RP_EUSAGE, "--steps steps an open-model "
                           "load (--speed or --rate); --max has no offered "
                           "load to step");
        if (o->duration_us || o->loops)
            return rp_fail(err, RP_EUSAGE, "--steps sets the run's length "
                           "(steps x --step-duration, the capture looping "
                           "within each step): leave out --duration and "
                           "--loop");
        if (o->step_by_scale && have_scale)
            return rp_fail(err, RP_EUSAGE, "--step-by scale sets --scale "
                           "per step: leave out --scale");
        if (o->step_by_scale)
            for (int k = 0; k < o->nsteps; k++)
                if (o->steps[k] != (double)(int)o->steps[k] ||
                    o->steps[k] > 10000)
                    return rp_fail(err, RP_EUSAGE, "--steps with --step-by "
                                   "scale: give whole copies (1..10000), "
                                   "not %g", o->steps[k]);
        if (!o->step_us)
            o->step_us = 10000000;
    } else if (o->step_us || have_step_by || o->nstopif) {
        return rp_fail(err, RP_EUSAGE, "%s needs --steps (e.g. --steps "
                       "1,2,4,8 --step-duration 10s)",
                       o->nstopif ? "--stop-if" : o->step_us
                           ? "--step-duration" : "--step-by");
    }
    int rc = parse_target(o, err);
    if (rc)
        return rc;
    if (o->wire && (rc = wire_options(o, engine_arg, err)))
        return rc;
    if (!o->wire && engine_arg && !strcmp(engine_arg, "wire"))
        return rp_fail(err, RP_EUSAGE, "--engine wire is for redis://, "
                       "postgres:// and tcp:// targets");
    if (!o->wire && o->password_file)
        return rp_fail(err, RP_EUSAGE, "--password-file is for redis:// and "
                       "postgres:// targets");
    if (o->quiet_gap_us && o->wire != RW_TCP)
        return rp_fail(err, RP_EUSAGE, "--quiet-gap is for tcp:// targets");
    if (o->wire == RW_TCP && !o->quiet_gap_us)
        o->quiet_gap_us = 200000;
    if (o->wire)
        return 0;
    /* raw for plain HTTP/1.1, libcurl for TLS and HTTP/2 */
    int need_curl = !strcmp(o->scheme, "https") || o->http2;
    if (engine_arg && !strcmp(engine_arg, "raw") && need_curl)
        return rp_fail(err, RP_EUSAGE, "--engine raw speaks HTTP/1.1 over "
                       "plain TCP; %s needs --engine curl (the default "
                       "there)", o->http2 ? "--http2" : "an https:// target");
    o->engine = engine_arg ? (!strcmp(engine_arg, "raw") ? RE_RAW : RE_CURL)
                : need_curl ? RE_CURL
                            : RE_RAW;
    if (o->web_linger_us && !o->web)
        return rp_fail(err, RP_EUSAGE, "--web-linger needs --web");
    if (o->pipeline_set && o->engine != RE_RAW)
        return rp_fail(err, RP_EUSAGE, "--pipeline needs the raw engine "
                       "(libcurl does not pipeline HTTP/1.1)");
    return 0;
}

void replay_opts_cleanup(struct rp_opts *o)
{
    explicit_bzero(o->wire_password, sizeof o->wire_password);
    for (int i = 0; i < o->nrewrites; i++)
        replay_shape_rewrite_free(&o->rewrites[i]);
    free(o->rewrites);
    free(o->rewrite_args);
    free(o->filters);
    free(o->filter_args);
    free(o->set_headers);
    free(o->drop_headers);
    for (int i = 0; i < o->nextracts; i++)
        if (o->extracts[i].is_regex)
            regfree(&o->extracts[i].re);
    free(o->extracts);
    free(o->injects);
    memset(o, 0, sizeof *o);
}

static int json_rules(struct rp_buf *b, const char *name,
                      const struct rp_rule *r, int n)
{
    if (!n)
        return 0;
    int rc = rp_buf_printf(b, ",\"%s\":[", name);
    for (int i = 0; !rc && i < n; i++) {
        char one[200];
        snprintf(one, sizeof one, "%s=%s", r[i].name, r[i].loc);
        rc = (i && rp_buf_puts(b, ",")) || rp_buf_json_str(b, one,
                                                           strlen(one));
    }
    return rc ? rc : rp_buf_puts(b, "]");
}

static int json_strs(struct rp_buf *b, const char *name, const char **v,
                     int n)
{
    int rc = rp_buf_printf(b, ",\"%s\":[", name);
    for (int i = 0; !rc && i < n; i++) {
        if (i)
            rc = rp_buf_puts(b, ",");
        if (!rc)
            rc = rp_buf_json_str(b, v[i], strlen(v[i]));
    }
    if (!rc)
        rc = rp_buf_puts(b, "]");
    return rc;
}

static int json_opt_str(struct rp_buf *b, const char *name, const char *s)
{
    int rc = rp_buf_printf(b, ",\"%s\":", name);
    if (rc)
        return rc;
    return s ? rp_buf_json_str(b, s, strlen(s)) : rp_buf_puts(b, "null");
}

int replay_opts_json(const struct rp_opts *o, struct rp_buf *b)
{
    static const char *const modes[] = {"speed", "rate", "max"};
    int rc = rp_buf_puts(b, "{\"target\":");
    if (!rc)
        rc = rp_buf_json_str(b, o->target, strlen(o->target));
    if (!rc)
        rc = rp_buf_printf(
            b, ",\"mode\":\"%s\",\"speed\":%g,\"rate\":%g,"
               "\"concurrency\":%d,\"duration_us\":%lld,\"loops\":%lld,"
               "\"scale\":%d,\"sessions\":%s,\"threads\":%d,"
               "\"max_connections\":%d,\"timeout_us\":%lld,"
               "\"spin_us\":%lld,\"http2\":%s,"
               "\"insecure\":%s,\"capture_id\":%lld,\"ambiguous\":\"%s\"",
            modes[o->mode], o->mode == RM_SPEED ? o->speed : 0,
            o->mode == RM_RATE ? o->rate : 0,
            o->mode == RM_MAX ? o->concurrency : 0,
            (long long)o->duration_us, (long long)o->loops, o->scale,
            o->sessions ? "true" : "false", o->threads, o->max_connections,
            (long long)o->timeout_us, (long long)o->spin_us,
            o->http2 ? "true" : "false",
            o->insecure ? "true" : "false", (long long)o->capture_id,
            o->ambiguous_send ? "send" : "skip");
    if (!rc)
        rc = rp_buf_printf(b, ",\"engine\":\"%s\",\"pipeline\":%d",
                           o->engine == RE_RAW    ? "raw"
                           : o->engine == RE_WIRE ? "wire"
                                                  : "curl",
                           o->pipeline);
    if (!rc && o->wire == RW_TCP)
        rc = rp_buf_printf(b, ",\"quiet_gap_us\":%lld",
                           (long long)o->quiet_gap_us);
    if (!rc && o->sessions)
        rc = rp_buf_printf(b, ",\"correlate\":%s",
                           o->no_correlate ? "false" : "true");
    if (!rc)
        rc = json_opt_str(b, "session_key", o->session_key);
    if (!rc)
        rc = json_rules(b, "extract", o->extracts, o->nextracts);
    if (!rc)
        rc = json_rules(b, "inject", o->injects, o->ninjects);
    if (!rc)
        rc = json_opt_str(b, "script", o->script);
    if (!rc && o->shard_count)
        rc = rp_buf_printf(b, ",\"shard_index\":%d,\"shard_count\":%d",
                           o->shard_index, o->shard_count);
    if (!rc && o->shard_count && o->mode == RM_MAX)
        rc = rp_buf_printf(b, ",\"shard_concurrency\":%d",
                           o->shard_concurrency);
    if (!rc && o->start_at_us)
        rc = rp_buf_printf(b, ",\"start_at_us\":%lld",
                           (long long)o->start_at_us);
    if (!rc && o->nsteps) {
        rc = rp_buf_printf(b, ",\"step_by\":\"%s\",\"step_duration_us\":"
                              "%lld,\"steps\":[",
                           o->step_by_scale ? "scale" : "speed",
                           (long long)o->step_us);
        for (int k = 0; !rc && k < o->nsteps; k++)
            rc = rp_buf_printf(b, "%s%g", k ? "," : "", o->steps[k]);
        if (!rc)
            rc = rp_buf_puts(b, "],\"stop_if\":[");
        for (int k = 0; !rc && k < o->nstopif; k++) {
            if (k)
                rc = rp_buf_puts(b, ",");
            if (!rc)
                rc = rp_buf_json_str(b, o->stopif[k].text,
                                     strlen(o->stopif[k].text));
        }
        if (!rc)
            rc = rp_buf_puts(b, "]");
    }
    if (!rc)
        rc = rp_buf_printf(b, ",\"store_bodies\":\"%s\","
                              "\"store_bodies_max\":%lld",
                           o->store_bodies == RP_STORE_ALL ? "all"
                           : o->store_bodies == RP_STORE_NONE ? "none"
                                                              : "sample",
                           (long long)o->store_max_bytes);
    if (!rc && (o->nmonitor || o->nmonitor_pid)) {
        rc = rp_buf_puts(b, ",\"monitor\":[");
        for (int k = 0; !rc && k < o->nmonitor; k++) {
            if (k)
                rc = rp_buf_puts(b, ",");
            if (!rc)
                rc = rp_buf_json_str(b, o->monitor[k], strlen(o->monitor[k]));
        }
        if (!rc)
            rc = rp_buf_puts(b, "],\"monitor_pid\":[");
        for (int k = 0; !rc && k < o->nmonitor_pid; k++)
            rc = rp_buf_printf(b, "%s%d", k ? "," : "", o->monitor_pid[k]);
        if (!rc)
            rc = rp_buf_puts(b, "]");
    }
    if (!rc)
        rc = json_opt_str(b, "cacert", o->cacert);
    if (!rc)
        rc = json_opt_str(b, "host", o->host);
    if (!rc)
        rc = json_strs(b, "filters", o->filter_args, o->nfilters);
    if (!rc)
        rc = json_strs(b, "set_headers", o->set_headers, o->nset_headers);
    if (!rc)
        rc = json_strs(b, "drop_headers", o->drop_headers, o->ndrop_headers);
    if (!rc)
        rc = json_strs(b, "rewrite_paths", o->rewrite_args, o->nrewrites);
    if (!rc)
        rc = rp_buf_puts(b, "}");
    return rc;
}
