#!/usr/bin/env bash
# test_replay_basic.sh: the walking skeleton end to end. Real traffic (GET /
# and GET /favicon.ico, then a POST with a body) is recorded on loopback with
# tcpdump, captured into a corpus, and replayed against a second nginx, whose
# access log must show exactly those requests, once each, with the captured
# method, target and body length. The run must hold one result per request.
# Runs once per engine (REPRISE_ENGINE, see CMakeLists.txt).
# engines: raw curl
source "$SRC/tests/lib.sh"
ENGINE=${REPRISE_ENGINE:-raw}

command -v nginx >/dev/null || skip "nginx not installed"
command -v tcpdump >/dev/null || skip "tcpdump not installed"
command -v curl >/dev/null || skip "curl not installed"

P1=$(free_port)
start_nginx src "$P1"
start_tcpdump "$P1" "$TMP/cap.pcap"
curl -s -o /dev/null "http://127.0.0.1:$P1/"
curl -s -o /dev/null "http://127.0.0.1:$P1/favicon.ico"
stop_tcpdump

"$REPRISE" capture -r "$TMP/cap.pcap" -o "$TMP/c.db" --port "$P1" --quiet \
    || fail "capture failed"

P2=$(free_port)
start_nginx dst "$P2"
"$REPRISE" replay "$TMP/c.db" --target "http://127.0.0.1:$P2" --label skel --engine "$ENGINE" \
    > "$TMP/replay.out" 2>&1 || { cat "$TMP/replay.out"; fail "replay failed"; }
sleep 0.2
log="$TMP/dst/access.log"
[ "$(wc -l < "$log")" -eq 2 ] || { cat "$log"; fail "expected 2 requests"; }
grep -qx "GET / HTTP/1.1 200 [0-9]*" "$log" || { cat "$log"; fail "GET / missing"; }
grep -qx "GET /favicon.ico HTTP/1.1 404 [0-9]*" "$log" \
    || { cat "$log"; fail "GET /favicon.ico missing"; }
grep -q "2 scheduled, 2 sent" "$TMP/replay.out" \
    || { cat "$TMP/replay.out"; fail "summary does not count 2 requests"; }
grep -q " $ENGINE engine)" "$TMP/replay.out" \
    || { cat "$TMP/replay.out"; fail "the output does not name the $ENGINE engine"; }
[ "$(sqlite3 "$TMP/c.db" "SELECT json_extract(options, '$.engine') FROM runs")" = "$ENGINE" ] \
    || fail "the run's options do not record the $ENGINE engine"
pass "GET / and GET /favicon.ico replayed once each ($ENGINE engine, recorded with the run)"

# A POST with a body: the same body length reaches nginx.
P3=$(free_port)
start_nginx src2 "$P3"
start_tcpdump "$P3" "$TMP/post.pcap"
curl -s -o /dev/null -H 'Content-Type: application/json' \
    --data-binary '{"name":"reprise","n":12345}' "http://127.0.0.1:$P3/post"
stop_tcpdump
"$REPRISE" capture -r "$TMP/post.pcap" -o "$TMP/p.db" --port "$P3" --quiet \
    || fail "capture of the POST failed"
: > "$log"
"$REPRISE" replay "$TMP/p.db" --target "http://127.0.0.1:$P2" --quiet --engine "$ENGINE" \
    || fail "replay of the POST failed"
sleep 0.2
src_len=$(awk '{print $NF}' "$TMP/src2/access.log")
grep -qx "POST /post HTTP/1.1 200 $src_len" "$log" \
    || { cat "$TMP/src2/access.log" "$log"; fail "POST not replayed verbatim"; }
pass "POST replayed with the captured body ($src_len bytes on the wire)"

# A 600 KB body: far more than one write takes (the raw engine resumes it
# when the socket drains), sent whole.
P4=$(free_port)
start_nginx src3 "$P4"
head -c 614400 /dev/urandom > "$TMP/big.bin"
start_tcpdump "$P4" "$TMP/big.pcap"
curl -s -o /dev/null -H 'Content-Type: application/octet-stream' \
    --data-binary @"$TMP/big.bin" "http://127.0.0.1:$P4/post"
stop_tcpdump
"$REPRISE" capture -r "$TMP/big.pcap" -o "$TMP/b.db" --port "$P4" --quiet \
    || fail "capture of the big POST failed"
: > "$log"
"$REPRISE" replay "$TMP/b.db" --target "http://127.0.0.1:$P2" --quiet --engine "$ENGINE" \
    || fail "replay of the big POST failed"
sleep 0.2
src_len=$(awk '{print $NF}' "$TMP/src3/access.log")
grep -qx "POST /post HTTP/1.1 200 $src_len" "$log" \
    || { cat "$TMP/src3/access.log" "$log"; fail "the 600 KB POST was not replayed whole"; }
pass "a 600 KB POST replayed whole ($src_len bytes on the wire)"
