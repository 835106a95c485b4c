#!/usr/bin/env bash
# test_capture_malformed_nginx.sh: malformed and ambiguous requests sent to a
# real nginx on loopback (raw sockets, one connection each) while tcpdump
# records. Every request nginx logged must be an exchange paired with the
# status nginx answered (400, 501, an HTTP/0.9 body), flagged as the README
# documents, with its raw request line kept where it is not canonical; the
# accounting self-check must hold. Then `replay --ambiguous skip` (the
# default) leaves the flagged ones out and says so, and `--ambiguous send`
# replays them too.
source "$SRC/tests/lib.sh"
for t in nginx tcpdump python3 sqlite3; do
    command -v "$t" > /dev/null || skip "$t not installed"
done
[ "$(id -u)" -eq 0 ] || skip "tcpdump on lo needs root"

P=$(free_port)
start_nginx web "$P"
# the raw requests, one connection each; recorded again (3 tries) when the
# kernel dropped packets for tcpdump on a loaded machine
send() {
python3 - "$P" <<'PY'
import socket, sys
port = int(sys.argv[1])
reqs = [b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n",
        b"OPTIONS HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET\r\n\r\n",
        b"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n"
        b"Content-Length: 5\r\n\r\nhello",
        b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Content-Length: 6\r\n\r\nhello!",
        b"GET /\r\n",
        b"POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 4\r\n\r\n0\r\n\r\n",
        b"POST /w HTTP/1.1\r\nHost: x\r\nContent-Length : 4\r\n\r\nabcd",
        b"CONNECT host:25 / HTTP/1.0\r\n\r\n",
        b"GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"]
for r in reqs:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(r)
    s.settimeout(2.0)
    try:
        while s.recv(65536):
            pass
    except socket.timeout:
        pass
    s.close()
PY
}
for try in 1 2 3; do
    : > "$TMP/web/access.log"
    start_tcpdump "$P" "$TMP/m.pcap"
    send
    sleep 1.2 # libpcap may hold the last packets up to a second
    stop_tcpdump
    [ "$(tcpdump_drops "$TMP/m.pcap")" -eq 0 ] && break
    [ "$try" -lt 3 ] || skip "tcpdump lost packets three times (a loaded machine)"
done
"$REPRISE" capture -r "$TMP/m.pcap" -o "$TMP/m.db" --port "$P" 2> "$TMP/cap.log" ||
    fail "capture: $(cat "$TMP/cap.log")"
check_identity "$TMP/m.db" "nginx malformed"
logged=$(wc -l < "$TMP/web/access.log")
[ "$logged" -eq 10 ] || fail "nginx logged $logged requests, expected 10"

"$REPRISE" export "$TMP/m.db" > "$TMP/m.jsonl"
got=$(python3 - "$TMP/m.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    print("%s|%s|%s|%s|%s|%s" % (e["method"], e["target"], e["version"],
          e["status"], ",".join(sorted(e["flags"])), e["request_line"]))
PY
)
want="GET|/ok|HTTP/1.1|404||None
OPTIONS||HTTP/1.1|400|malformed|OPTIONS HTTP/1.1
GET|||400|malformed|GET
POST|/p|HTTP/1.1|501|ambiguous-framing,malformed|None
POST|/p|HTTP/1.1|400|ambiguous-framing,malformed|None
GET|/|HTTP/0.9|200||GET /
POST|/t|HTTP/1.1|400|ambiguous-framing,req_chunked|None
POST|/w|HTTP/1.1|400|ambiguous-framing,malformed|None
CONNECT|host:25|HTTP/1.0|400|malformed|CONNECT host:25 / HTTP/1.0
GET|/a|HTTP/1.1|400|ambiguous-framing,malformed|None"
[ "$got" = "$want" ] || fail "exchanges:
$got
expected
$want"
# the statuses are the ones nginx logged, in the same order
st_log=$(awk '{print $(NF-1)}' "$TMP/web/access.log" | tr '\n' ' ')
st_db=$(sqlite3 "$TMP/m.db" "SELECT status FROM exchanges ORDER BY req_first_us" | tr '\n' ' ')
[ "$st_log" = "$st_db" ] || fail "statuses: nginx [$st_log], corpus [$st_db]"
grep -q "7 malformed, 5 with ambiguous framing, 1 HTTP/0.9" "$TMP/cap.log" ||
    fail "summary: $(cat "$TMP/cap.log")"
pass "every request nginx answered is an exchange, flagged, paired with its status"

P2=$(free_port)
start_nginx dst "$P2"
"$REPRISE" replay "$TMP/m.db" --target "http://127.0.0.1:$P2" --max --label skip \
    > "$TMP/r1.out" 2>&1 || fail "replay (skip): $(cat "$TMP/r1.out")"
grep -q "8 exchanges of capture 1 flagged ambiguous-framing or malformed are left out; --ambiguous send replays them" \
    "$TMP/r1.out" || fail "replay (skip) does not say what it left out: $(cat "$TMP/r1.out")"
n=$(sqlite3 "$TMP/m.db" "SELECT count(*) FROM results JOIN runs ON runs.id = run_id WHERE label = 'skip'")
[ "$n" -eq 2 ] || fail "replay (skip): $n results, expected 2"
"$REPRISE" replay "$TMP/m.db" --target "http://127.0.0.1:$P2" --max --label send \
    --ambiguous send > "$TMP/r2.out" 2>&1 || fail "replay (send): $(cat "$TMP/r2.out")"
n=$(sqlite3 "$TMP/m.db" "SELECT count(*) FROM results JOIN runs ON runs.id = run_id WHERE label = 'send'")
[ "$n" -eq 10 ] || fail "replay (send): $n results, expected 10"
sqlite3 "$TMP/m.db" "SELECT options FROM runs WHERE label = 'send'" | grep -q '"ambiguous":"send"' ||
    fail "the run's options do not record --ambiguous send"
set +e
"$REPRISE" replay "$TMP/m.db" --target "http://127.0.0.1:$P2" --ambiguous maybe > "$TMP/r3.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q "give skip or send" "$TMP/r3.out" ||
    fail "--ambiguous maybe: exit $rc: $(cat "$TMP/r3.out")"
"$REPRISE" replay --help > "$TMP/help.txt"
grep -q -- "--ambiguous skip|send" "$TMP/help.txt" || fail "--help lacks --ambiguous"
pass "replay --ambiguous skip (default) and send"
