#!/usr/bin/env bash
# test_capture_anomalies.sh: one crafted capture per class of traffic that
# issue 13 found lost or mis-framed, through the whole binary: malformed
# request lines a server answered, requests with invalid framing, the
# request-smuggling shapes, CONNECT with a body in both orders, HTTP/0.9,
# extra tokens in the request line, and connections that are TLS or
# HTTP/2 (named), or Redis and PostgreSQL (recorded by their framers, and
# named when --protocol http says they are HTTP). Each case lists the exchanges the corpus must hold
# (method, target, version, status, flags, raw request line) and every
# capture must pass the accounting self-check (requests seen = exchanges +
# counted losses). The framing policy these cases pin down is the one in
# the README ("Malformed and ambiguous messages").
source "$SRC/tests/lib.sh"
command -v python3 > /dev/null || skip "python3 missing"

cat > "$TMP/cases.py" <<'PY'
import json, os, subprocess, sys
sys.path.insert(0, os.path.join(os.environ["SRC"], "tests", "e2e"))
from pcapgen import Pcap

REPRISE, TMP = os.environ["REPRISE"], os.environ["TMP"]

def bad400(extra=b""):
    return (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
            b"Connection: close\r\n" + extra + b"\r\n")

def ok(body=b"ok"):
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body

def chunked_ok(body=b"ok"):
    return (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))

# case -> (connections, expected exchanges in request order). A connection
# is (client bytes, server bytes) or a list of (from_client, bytes) pieces
# in wire order. An expected exchange is a dict of export keys to check;
# "flags" is the exact set.
CASES = {
    # malformed request lines a server answered with 400
    "no-target": ([(b"OPTIONS HTTP/1.1\r\nHost: h\r\n\r\n", bad400())],
                  [dict(method="OPTIONS", target="", version="HTTP/1.1",
                        status=400, flags={"malformed"},
                        request_line="OPTIONS HTTP/1.1")]),
    "bare-method": ([(b"GET\r\n\r\n", bad400())],
                    [dict(method="GET", target="", version="", status=400,
                          flags={"malformed"}, request_line="GET")]),
    "bare-method-then-request": (
        [(b"GET\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n", bad400() + ok())],
        [dict(method="GET", target="", status=400, flags={"malformed"}),
         dict(method="GET", target="/next", status=200, flags=set(),
              request_line=None)]),
    # invalid framing the server refused: the request is kept, flagged
    "te-identity-cl": (
        [(b"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n"
          b"Content-Length: 5\r\n\r\nhello", bad400())],
        [dict(method="POST", target="/p", status=400,
              flags={"malformed", "ambiguous-framing"})]),
    "cl-invalid": ([(b"POST /p HTTP/1.1\r\nContent-Length: 5x\r\n\r\nhello",
                     bad400())],
                   [dict(status=400, flags={"malformed", "ambiguous-framing"})]),
    "cl-duplicate": ([(b"POST /p HTTP/1.1\r\nContent-Length: 5\r\n"
                       b"Content-Length: 6\r\n\r\nhello!", bad400())],
                     [dict(status=400,
                           flags={"malformed", "ambiguous-framing"})]),
    # leniency that touches smuggling: used where a lenient server would,
    # but flagged
    "ws-before-colon": ([(b"POST /w HTTP/1.1\r\nContent-Length : 4\r\n\r\n"
                          b"abcd", ok())],
                        [dict(target="/w", status=200, req_body_bytes=4,
                              flags={"malformed", "ambiguous-framing"})]),
    # a chunked request body is stored with its framing (req_chunked), so
    # req_body_bytes counts the chunk lines
    "chunk-cr": ([(b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"5\rX\r\nhello\r\n0\r\n\r\n", ok())],
                 [dict(target="/c", status=200, req_body_bytes=17,
                       flags={"ambiguous-framing", "req_chunked"})]),
    # CONNECT with a body: no body either way (RFC 9110 9.3.6)
    "connect-body-tunnel-first": (
        [[(True, b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n"
                 b"Content-Length: 5\r\n\r\n"),
          (True, b"\x16\x03\x01\x00\x05hello"),
          (False, b"HTTP/1.1 200 Connection established\r\n\r\n"),
          (False, b"\x16\x03\x03\x00\x02ok")]],
        [dict(method="CONNECT", target="h:443", status=200, req_bytes=58,
              flags={"upgraded", "ambiguous-framing"})]),
    "connect-body-200-first": (
        [[(True, b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n"
                 b"Content-Length: 5\r\n\r\n"),
          (False, b"HTTP/1.1 200 Connection established\r\n\r\n"),
          (True, b"\x16\x03\x01\x00\x05hello")]],
        [dict(method="CONNECT", target="h:443", status=200, req_bytes=58,
              flags={"upgraded", "ambiguous-framing"})]),
    # HTTP/0.9: a simple request, a response without a status line
    "http09": ([(b"GET /old\r\n", b"<html>old times</html>\n")],
               [dict(method="GET", target="/old", version="HTTP/0.9",
                     status=200, reason=None, resp_body_bytes=23,
                     flags=set(), request_line="GET /old")]),
    # the target is the second token; the rest is flagged, not glued
    "extra-tokens": ([(b"CONNECT host:25 / HTTP/1.0\r\n\r\n", bad400())],
                     [dict(method="CONNECT", target="host:25",
                           version="HTTP/1.0", status=400,
                           flags={"malformed"},
                           request_line="CONNECT host:25 / HTTP/1.0")]),
    # request-smuggling shapes: each framed as a conforming server would,
    # flagged; the request the server saw is never missing
    "chunk-overflow": ([(b"POST /o HTTP/1.1\r\nTransfer-Encoding: chunked"
                         b"\r\n\r\n10000000000000000\r\nabc", bad400())],
                       [dict(target="/o", status=400,
                             flags={"malformed", "ambiguous-framing",
                                    "req_incomplete", "req_chunked"})]),
    "cl-2^64-1": ([(b"POST /m HTTP/1.1\r\nContent-Length: "
                    b"18446744073709551615\r\n\r\nabc", bad400())],
                  [dict(target="/m", status=400,
                        flags={"malformed", "ambiguous-framing"})]),
    "cl-negative": ([(b"POST /n HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                      bad400())],
                    [dict(target="/n", status=400,
                          flags={"malformed", "ambiguous-framing"})]),
    "te-and-cl": ([(b"POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                    b"Content-Length: 4\r\n\r\n0\r\n\r\n"
                    b"GET /smuggled HTTP/1.1\r\n\r\n", ok() + ok())],
                  [dict(target="/t", status=200,
                        flags={"ambiguous-framing", "req_chunked"}),
                   dict(target="/smuggled", status=200,
                        flags={"ambiguous-framing"})]),
    "te-folded": ([(b"POST /f HTTP/1.1\r\nTransfer-Encoding:\r\n chunked"
                    b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n", ok())],
                  [dict(target="/f", status=200, req_body_bytes=13,
                        flags={"ambiguous-framing", "req_chunked"})]),
    "te-multiple": ([(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ok())],
                    [dict(target="/x", status=200,
                          flags={"ambiguous-framing", "req_chunked"})]),
    "cl-leading-zeros": ([(b"POST /z HTTP/1.1\r\nContent-Length: 005\r\n\r\n"
                           b"abcde", ok())],
                         [dict(target="/z", status=200, req_body_bytes=5,
                               flags={"ambiguous-framing"})]),
    "expect-cl0": ([(b"POST /e HTTP/1.1\r\nExpect: 100-continue\r\n"
                     b"Content-Length: 0\r\n\r\n",
                     b"HTTP/1.1 100 Continue\r\n\r\n" + ok())],
                   [dict(target="/e", status=200, interim="100",
                         flags=set())]),
}

# connections that are not HTTP/1.x: the summary names them, or records
# them (Redis, PostgreSQL); (client, server, what the summary says, the
# exchanges, extra capture options)
REDIS = (b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n")
PROTOCOLS = {
    "tls": (b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + b"r" * 200,
            b"\x16\x03\x03\x00\x5a\x02\x00\x00\x56\x03\x03" + b"s" * 90,
            "2 connections are TLS: capture behind the TLS terminator", 0, []),
    "h2c": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00"
            b"\x00\x00", b"\x00\x00\x00\x04\x00\x00\x00\x00\x00",
            "2 connections are HTTP/2: not supported yet", 0, []),
    "redis": REDIS + ("2 Redis connections recorded", 2, []),
    "redis-as-http": REDIS + ("2 connections are Redis: record them with "
                              "--protocol redis", 0, ["--protocol", "http"]),
    # an SSLRequest answered N, and nothing after it
    "postgres": (b"\x00\x00\x00\x08\x04\xd2\x16\x2f", b"N",
                 "2 PostgreSQL connections recorded", 0, []),
}

def capture(name, conns, extra=()):
    pcap, db = os.path.join(TMP, name + ".pcap"), os.path.join(TMP, name + ".db")
    p = Pcap(pcap)
    for c in conns:
        if isinstance(c, list):
            p.conn(b"", b"", 8080, interleave=c)
        else:
            p.conn(c[0], c[1], 8080)
    p.close()
    r = subprocess.run([REPRISE, "capture", "-r", pcap, "-o", db, *extra],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("%s: capture exit %d: %s" % (name, r.returncode,
                                                     r.stderr))
    out = subprocess.run([REPRISE, "export", db], capture_output=True,
                         text=True, check=True).stdout
    return db, [json.loads(l) for l in out.splitlines()], r.stderr

failed = 0
for name, (conns, want) in CASES.items():
    db, got, log = capture(name, conns)
    msgs = []
    if len(got) != len(want):
        msgs.append("%d exchanges, want %d" % (len(got), len(want)))
    for i, (g, w) in enumerate(zip(got, want)):
        for k, v in w.items():
            have = set(g["flags"]) if k == "flags" else g.get(k)
            if have != v:
                msgs.append("exchange %d: %s is %r, want %r" % (i, k, have, v))
    print(("FAIL " if msgs else "ok   ") + name + ("" if not msgs else
          ": " + "; ".join(msgs)))
    failed += bool(msgs)
    with open(os.path.join(TMP, "dbs"), "a") as f:
        f.write(db + "\n")

for name, (cli, srv, say, nex, extra) in PROTOCOLS.items():
    db, got, log = capture(name, [(cli, srv), (cli, srv)], extra)
    msgs = []
    if len(got) != nex:
        msgs.append("%d exchanges, want %d" % (len(got), nex))
    if say not in log:
        msgs.append("no '%s' in: %s" % (say, log))
    if not nex and "recorded nothing useful" not in log:
        msgs.append("does not say it recorded nothing useful")
    print(("FAIL " if msgs else "ok   ") + name + ("" if not msgs else
          ": " + "; ".join(msgs)))
    failed += bool(msgs)
    with open(os.path.join(TMP, "dbs"), "a") as f:
        f.write(db + "\n")
sys.exit(1 if failed else 0)
PY

REPRISE=$REPRISE TMP=$TMP SRC=$SRC python3 "$TMP/cases.py" || fail "see above"
n=0
while read -r db; do
    check_identity "$db" "$(basename "$db")"
    n=$((n + 1))
done < "$TMP/dbs"
pass "$n crafted captures: every class recorded as specified, every request accounted for"
