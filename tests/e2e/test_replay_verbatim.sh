#!/usr/bin/env bash
# test_replay_verbatim.sh: with the raw engine a replayed request reaches the
# target byte for byte as captured. A client here sends odd but valid
# requests to nginx over six connections (mixed-case names, duplicate
# headers, an empty value, odd spacing, a 6 KB header, a binary body, a
# chunked body with extensions and a trailer, OPTIONS *, a pipelined pair,
# a percent-encoded target, credentials); tcpdump records them, reprise
# captures them, and the corpus is replayed to a second nginx while tcpdump
# records again. The client-to-server bytes of every replayed connection
# (read from the pcap by tcpstreams.py, not by reprise) must equal what the
# client sent: with --sessions connection for connection, without it as the
# same requests dealt over other connections. The documented exceptions are
# checked too: redacted values are left out, --set-header takes their place.
# With --sessions the pipelined pair goes pipelined, as captured.
source "$SRC/tests/lib.sh"

command -v nginx >/dev/null || skip "nginx not installed"
command -v tcpdump >/dev/null || skip "tcpdump not installed"
[ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || skip "nginx echo module missing"

P1=$(free_port)
start_nginx src "$P1"
start_tcpdump "$P1" "$TMP/cap.pcap"
python3 - "$P1" "$TMP/sent.json" <<'PY'
import json, socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
host = b"127.0.0.1:%d" % port
binary = bytes(range(256)) * 3
conns = [
    # a pipelined pair: both requests in one write, before any response
    [[b"GET /a?x=1 HTTP/1.1\r\nHost: " + host + b"\r\nx-MiXeD-CaSe: v\r\n"
      b"X-Dup: 1\r\nX-Dup: 2\r\nX-Empty:\r\nX-Spaced:   two  spaces \r\n\r\n"
      b"GET /b HTTP/1.1\r\nhost: " + host + b"\r\nX-Dup: a\r\n\r\n"]],
    # a binary body, then a percent-encoded target on the same connection
    [[b"POST /post HTTP/1.1\r\nHost: " + host + b"\r\n"
      b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
      % len(binary) + binary],
     [b"GET /c?q=%20x&y=%2F%00 HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"]],
    # chunked with extensions and a trailer
    [[b"POST /post HTTP/1.1\r\nHost: " + host + b"\r\nTransfer-Encoding: chunked"
      b"\r\n\r\n5;name=val\r\nhello\r\n6;x\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"]],
    # a 6 KB header
    [[b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nX-Big: " + b"b" * 6144 +
      b"\r\nAccept: */*\r\n\r\n"]],
    # OPTIONS * (nginx answers 400 and closes)
    [[b"OPTIONS * HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"]],
    # credentials, redacted by default at capture
    [[b"GET /private HTTP/1.1\r\nHost: " + host + b"\r\nCookie: session=s3cr3t"
      b"\r\nAuthorization: Basic dXNlcjpwYXNz\r\nX-After: 1\r\n\r\n"]],
]
sent = []
for conn in conns:
    s = socket.create_connection(("127.0.0.1", port))
    stream = b""
    for writes in conn:
        for w in writes:
            s.sendall(w)
            stream += w
        time.sleep(0.15)  # the responses come back before the next request
        s.settimeout(0.5)
        try:
            while s.recv(65536):
                s.settimeout(0.05)
        except socket.timeout:
            pass
    s.close()
    sent.append(stream.hex())
    time.sleep(0.05)
json.dump(sent, open(out, "w"))
PY
stop_tcpdump
"$REPRISE" capture -r "$TMP/cap.pcap" -o "$TMP/c.db" --port "$P1" --quiet --no-redact \
    || fail "capture failed"
"$REPRISE" capture -r "$TMP/cap.pcap" -o "$TMP/red.db" --port "$P1" --quiet \
    || fail "capture with redaction failed"
python3 "$SRC/tests/e2e/tcpstreams.py" "$TMP/cap.pcap" "$P1" > "$TMP/cap.json"

P2=$(free_port)
start_nginx dst "$P2"
# Replays DB with ARGS while tcpdump records lo; the streams go to NAME.json.
replay_dump() {
    local name=$1 db=$2
    shift 2
    tcpdump -i lo -s 0 -B 65536 -U --immediate-mode -w "$TMP/$name.pcap" "tcp port $P2" \
        >/dev/null 2>"$TMP/$name.log" &
    local pid=$!
    track_pid "$pid"
    for _ in $(seq 1 50); do grep -q "listening on" "$TMP/$name.log" && break; sleep 0.1; done
    "$REPRISE" replay "$db" --target "http://127.0.0.1:$P2" --engine raw --speed 4 \
        --quiet "$@" || fail "replay $name failed"
    sleep 1.2 # libpcap may hold the last packets for up to a second
    kill -INT "$pid"
    wait "$pid" || true
    grep -q "^0 packets dropped by kernel" "$TMP/$name.log" \
        || fail "tcpdump dropped packets: $(cat "$TMP/$name.log")"
    python3 "$SRC/tests/e2e/tcpstreams.py" "$TMP/$name.pcap" "$P2" > "$TMP/$name.json"
}
replay_dump sessions "$TMP/c.db" --sessions
replay_dump plain "$TMP/c.db"
replay_dump redacted "$TMP/red.db" --sessions --filter path=/private \
    --set-header "Authorization: Bearer staging"

python3 - "$TMP" <<'PY'
import collections, json, sys
d = sys.argv[1]
sent = [bytes.fromhex(x) for x in json.load(open(d + "/sent.json"))]
load = lambda n: json.load(open("%s/%s.json" % (d, n)))
streams = lambda n: [bytes.fromhex(c["data"]) for c in load(n)]
def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)
def diff(a, b):
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]),
             min(len(a), len(b)))
    return "first difference at byte %d: %r vs %r" % (i, a[i:i + 40], b[i:i + 40])

cap = streams("cap")
if collections.Counter(cap) != collections.Counter(sent):
    fail("the capture pcap does not hold what the client sent")

# --sessions: each replayed connection carries exactly one captured one.
rep = streams("sessions")
if collections.Counter(rep) != collections.Counter(sent):
    for s in sent:
        if s not in rep:
            best = min(rep, key=lambda r: abs(len(r) - len(s)), default=b"")
            fail("--sessions: a connection was not replayed verbatim; "
                 + diff(s, best))
    fail("--sessions: %d connections replayed, %d sent" % (len(rep), len(sent)))
print("PASS: --sessions: %d connections, %d bytes, byte for byte as sent"
      % (len(rep), sum(map(len, rep))))

# The pipelined pair went out before its first response came back.
for c in load("sessions"):
    data = bytes.fromhex(c["data"])
    if data == sent[0]:
        end = len(data)
        last = max(t for t, off, n in c["segments"] if off + n == end)
        if c["server_first_us"] is None or last > c["server_first_us"]:
            fail("--sessions: the captured pipelined pair was not pipelined")
print("PASS: --sessions: the pipelined pair was sent pipelined")

# Without --sessions the same requests go over other connections: each
# replayed stream must be whole requests as sent, each request once.
reqs = collections.Counter()
heads = []
for s in sent:
    # the requests of each connection, cut where each one starts
    starts = [i for i in range(len(s)) if (i == 0 or s[i - 2:i] == b"\r\n")
              and any(s.startswith(m, i) for m in (b"GET ", b"POST ", b"OPTIONS "))
              and (i == 0 or s[i - 4:i] == b"\r\n\r\n")]
    for a, b in zip(starts, starts[1:] + [len(s)]):
        reqs[s[a:b]] += 1
left = collections.Counter(reqs)
for s in streams("plain"):
    pos = 0
    while pos < len(s):
        m = max((r for r in left if left[r] and s.startswith(r, pos)),
                key=len, default=None)
        if m is None:
            fail("without --sessions: replayed bytes at %d are no captured "
                 "request: %r" % (pos, s[pos:pos + 60]))
        left[m] -= 1
        pos += len(m)
if sum(left.values()):
    fail("without --sessions: %d requests were not replayed" % sum(left.values()))
print("PASS: without --sessions: %d requests, each byte for byte, once" % sum(reqs.values()))

# Redaction: credentials left out, --set-header in the captured place.
priv = sent[5]
want = priv.replace(b"Cookie: session=s3cr3t\r\n", b"").replace(
    b"Authorization: Basic dXNlcjpwYXNz", b"Authorization: Bearer staging")
red = streams("redacted")
if red != [want]:
    fail("redacted capture: " + diff(want, red[0] if red else b""))
print("PASS: redacted values left out, --set-header in the captured place")
PY
