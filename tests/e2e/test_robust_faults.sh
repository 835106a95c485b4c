#!/usr/bin/env bash
# test_robust_faults.sh: issue 7 part 2, faults during replay. Each request
# that meets a fault is recorded as a result with its error class and the run
# carries on to the end: connection refused, a reset in the middle of a
# response, a server that answers garbage or closes without answering, a
# timeout (nginx echo_sleep), a body that stalls after a few bytes, a flood of
# 5xx, and an nginx killed and restarted during the run. The replay summary
# (--json) and the analyzer (JSON report) show the counts per class.
source "$SRC/tests/lib.sh"

command -v nginx >/dev/null || skip "nginx not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"
[ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || skip "nginx echo module missing"
GEN="$SRC/tests/e2e/pcapgen.py"

N=20
python3 "$GEN" ok "$TMP/ok.pcap" --n $N > /dev/null
"$REPRISE" capture -q -r "$TMP/ok.pcap" -o "$TMP/c.db" || fail "capture"
DB=$TMP/c.db
q() { sqlite3 "$DB" "$1"; }
FAILS=()

# fault_server MODE PORT: a python3 stdlib server on 127.0.0.1 that reads a
# request head and then misbehaves: reset (a partial response, then RST),
# stall (headers and 5 of 1000 body bytes, then silence), garbage (not HTTP),
# close (closes without a byte).
fault_server() {
    python3 - "$1" "$2" <<'PY' &
import socket, struct, sys, threading, time
mode, port = sys.argv[1], int(sys.argv[2])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(128)
def serve(s):
    try:
        s.settimeout(20)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return
            data += chunk
        if mode == "reset":
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc")
            time.sleep(0.05)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
        elif mode == "stall":
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nhello")
            time.sleep(15)
        elif mode == "endless":
            # a chunked body that never ends, as fast as the socket takes it
            s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"10000\r\n" + b"x" * 65536 + b"\r\n"
            while True:
                s.sendall(chunk)
        elif mode == "bighead":
            # a 4 MiB header line, then a normal body
            s.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"h" * (4 << 20)
                      + b"\r\nContent-Length: 2\r\n\r\nok")
            time.sleep(0.05)
        elif mode == "garbage":
            s.sendall(b"\x00\x01 this is not HTTP at all\r\n\r\n")
            time.sleep(0.05)
    except OSError:
        pass
    finally:
        s.close()
deadline = time.time() + 50
ls.settimeout(1)
while time.time() < deadline:
    try:
        c, _ = ls.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
    track_pid $!
    wait_port "$2"
}

# replay_expect NAME CLASS MIN ARGS...: a replay of the N exchanges exits 0
# within 30 s with N results (or 1 when none got a response, saying so),
# at least MIN of them with error_class CLASS, and the --json summary
# counts the same number.
replay_expect() {
    local name=$1 class=$2 min=$3; shift 3
    local rc=0
    timeout -s KILL 30 ${WRAP:-} "$REPRISE" replay "$DB" --label "$name" --json "$@" \
        > "$TMP/$name.json" 2> "$TMP/$name.err" || rc=$?
    if [ "$rc" -eq 1 ] && grep -q "none of the .* requests sent got a response" "$TMP/$name.err"; then
        rc=0
    fi
    [ "$rc" -eq 0 ] || { FAILS+=("$name: replay exit $rc: $(tail -3 "$TMP/$name.err")"); return 0; }
    local r; r=$(q "SELECT id FROM runs WHERE label = '$name'")
    local total; total=$(q "SELECT count(*) FROM results WHERE run_id = $r")
    local got; got=$(q "SELECT count(*) FROM results WHERE run_id = $r AND error_class = '$class'")
    local st; st=$(q "SELECT status FROM runs WHERE id = $r")
    [ "$total" -eq "$N" ] || FAILS+=("$name: $total results, expected $N")
    [ "$st" = complete ] || FAILS+=("$name: run status $st")
    [ "$got" -ge "$min" ] ||
        FAILS+=("$name: $got results with error_class $class, expected >= $min; classes: $(q "SELECT group_concat(ifnull(error_class,'-')||':'||status||':'||ifnull(error,''), ' | ') FROM results WHERE run_id = $r" | head -c 400)")
    local js; js=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error_classes"][sys.argv[2]])' \
        "$TMP/$name.json" "$class" 2>/dev/null || echo missing)
    [ "$js" = "$got" ] || FAILS+=("$name: --json summary says $class=$js, results say $got")
    # the analyzer shows them
    local arc=0
    "$REPRISE" analyze "$DB" --candidate "$name" --format json -o "$TMP/$name.an.json" \
        2> "$TMP/$name.an.err" || arc=$?
    if [ "$arc" -eq 0 ] || [ "$arc" -eq 1 ] || [ "$arc" -eq 3 ]; then
        local an; an=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["overall"]["candidate"]["errors_by_class"].get(sys.argv[2], 0))' \
            "$TMP/$name.an.json" "$class" 2>/dev/null || echo missing)
        [ "$an" = "$got" ] || FAILS+=("$name: analyze errors_by_class.$class=$an, results say $got")
    else
        FAILS+=("$name: analyze failed: $(cat "$TMP/$name.an.err")")
    fi
    echo "$name: $got/$total $class"
}

# 1. refused
P=$(free_port)
replay_expect refused refused $N --target "http://127.0.0.1:$P" --rate 200

# 2. reset mid-response
P=$(free_port); fault_server reset "$P"
replay_expect reset reset $N --target "http://127.0.0.1:$P" --rate 200 --timeout 5s

# 3. a body that stalls: --timeout fires
P=$(free_port); fault_server stall "$P"
replay_expect stall timeout $N --target "http://127.0.0.1:$P" --rate 200 --timeout 500ms
# the stalled body's first bytes arrived: a first byte time is recorded
r=$(q "SELECT id FROM runs WHERE label = 'stall'")
[ "$(q "SELECT count(*) FROM results WHERE run_id = $r AND first_byte_us > 0")" -eq $N ] ||
    FAILS+=("stall: first_byte_us not recorded for a response that started")

# 4. garbage and close without a response: protocol (or other) errors
P=$(free_port); fault_server garbage "$P"
replay_expect garbage protocol $N --target "http://127.0.0.1:$P" --rate 200 --timeout 5s
P=$(free_port); fault_server close "$P"
rc=0
timeout -s KILL 30 "$REPRISE" replay "$DB" --label close --quiet --target "http://127.0.0.1:$P" \
    --rate 200 --timeout 5s 2> "$TMP/close.err" || rc=$?
r=$(q "SELECT id FROM runs WHERE label = 'close'")
# exit 1: no request got a response (each one is recorded)
[ "$rc" -eq 1 ] && [ "$(q "SELECT count(*) FROM results WHERE run_id = $r AND error_class IS NOT NULL AND status = 0")" -eq $N ] ||
    FAILS+=("close: exit $rc, results $(q "SELECT group_concat(ifnull(error_class,'-'), ',') FROM results WHERE run_id = $r")")

# 4b. hostile targets: an endless chunked body (the timeout ends it; memory
#     stays bounded as bodies are hashed as they stream) and a 4 MiB header
P=$(free_port); fault_server endless "$P"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%M" -o "$TMP/base.rss" "$REPRISE" replay "$DB" --label rssbase --quiet \
        --target "http://127.0.0.1:$(free_port)" --rate 200 || true
    WRAP="/usr/bin/time -f %M -o $TMP/endless.rss"
fi
replay_expect endless timeout $N --target "http://127.0.0.1:$P" --rate 200 --timeout 2s
WRAP=
if [ -s "$TMP/endless.rss" ]; then
    base=$(tail -1 "$TMP/base.rss"); got=$(tail -1 "$TMP/endless.rss")
    [ $(( (got - base) / 1024 )) -le 64 ] ||
        FAILS+=("endless body: RSS $((got / 1024)) MiB, $(( (got - base) / 1024 )) MiB above a replay against nothing")
    echo "endless body: RSS $((got / 1024)) MiB (replay against nothing: $((base / 1024)) MiB)"
fi
P=$(free_port); fault_server bighead "$P"
replay_expect bighead protocol $N --target "http://127.0.0.1:$P" --rate 200 --timeout 5s

# 5. timeouts at nginx (echo_sleep) and a flood of 5xx
P=$(free_port)
start_nginx slow "$P" 'location /ok/ { echo_sleep 3; echo "late"; }'
replay_expect timeout timeout $N --target "http://127.0.0.1:$P" --rate 200 --timeout 300ms
P=$(free_port)
start_nginx five "$P" 'location /ok/ { return 503 "down\n"; }'
rc=0
timeout -s KILL 30 "$REPRISE" replay "$DB" --label flood5xx --json --target "http://127.0.0.1:$P" \
    --max --loop 50 > "$TMP/5xx.json" 2> "$TMP/5xx.err" || rc=$?
r=$(q "SELECT id FROM runs WHERE label = 'flood5xx'")
n5=$(q "SELECT count(*) FROM results WHERE run_id = $r AND status = 503")
[ "$rc" -eq 0 ] && [ "$n5" -eq $((N * 50)) ] || FAILS+=("5xx flood: exit $rc, $n5 of $((N * 50)) 503s")
js=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status_classes"]["5xx"])' "$TMP/5xx.json" 2>/dev/null || echo missing)
[ "$js" = "$n5" ] || FAILS+=("5xx flood: summary 5xx=$js, results $n5")
rc=0
"$REPRISE" analyze "$DB" --candidate flood5xx --fail-if 'errors>10%' --format json \
    -o "$TMP/5xx.an.json" 2> "$TMP/5xx.an.err" || rc=$?
[ "$rc" -eq 1 ] || FAILS+=("5xx flood: analyze --fail-if errors>10% exit $rc, expected 1")
er=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["overall"]["candidate"]["error_rate"])' "$TMP/5xx.an.json" 2>/dev/null || echo missing)
[ "$er" = 1 ] || [ "$er" = 1.0 ] || FAILS+=("5xx flood: analyze error_rate $er, expected 1")
echo "flood5xx: $n5 503s"

# 6. the target restarted in the middle of a run: 400 requests at 100/s,
#    nginx killed after 1 s and started again on the same port 1 s later
P=$(free_port)
start_nginx restart "$P"
"$REPRISE" replay "$DB" --label restart --json --target "http://127.0.0.1:$P" --rate 100 \
    --loop 20 --timeout 1s > "$TMP/restart.json" 2> "$TMP/restart.err" &
RP=$!
track_pid $RP
sleep 1
kill "$(cat "$TMP/restart/nginx.pid")"
sleep 1
nginx -c "$TMP/restart/nginx.conf" -p "$TMP/restart" &
track_pid $!
wait_port "$P"
rc=0
for i in $(seq 1 150); do kill -0 $RP 2>/dev/null || break; sleep 0.1; done
kill -0 $RP 2>/dev/null && { kill -KILL $RP; FAILS+=("restart: replay still running after 15 s"); }
wait $RP || rc=$?
r=$(q "SELECT id FROM runs WHERE label = 'restart'")
total=$(q "SELECT count(*) FROM results WHERE run_id = $r")
okn=$(q "SELECT count(*) FROM results WHERE run_id = $r AND status = 404 AND error_class IS NULL")
errn=$(q "SELECT count(*) FROM results WHERE run_id = $r AND error_class IS NOT NULL")
late=$(q "SELECT count(*) FROM results WHERE run_id = $r AND status = 404 AND scheduled_us > 2500000")
classes=$(q "SELECT group_concat(c, ',') FROM (SELECT DISTINCT error_class c FROM results WHERE run_id = $r AND error_class IS NOT NULL)")
[ "$rc" -eq 0 ] && [ "$total" -eq $((N * 20)) ] && [ "$errn" -ge 20 ] && [ "$late" -ge 50 ] &&
    [ $((okn + errn)) -eq "$total" ] ||
    FAILS+=("restart: exit $rc, $total results ($okn ok, $errn errors [$classes], $late ok after the restart); expected $((N * 20)), >=20 errors, >=50 ok after the restart")
echo "restart: $total results, $okn answered, $errn errors ($classes), $late answered after the restart"

[ "$(q 'PRAGMA integrity_check')" = ok ] || FAILS+=("corpus integrity")
if [ "${#FAILS[@]}" -gt 0 ]; then
    printf '  %s\n' "${FAILS[@]}" >&2
    fail "${#FAILS[@]} fault case(s) misbehaved"
fi
pass "faults during replay are results with their class; the run carries on"
