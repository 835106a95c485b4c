#!/usr/bin/env bash
# test_replay_errors.sh: failures become results, never lost requests. A
# captured GET is replayed against an nginx that sleeps 2 s (echo_sleep) with
# --timeout 300ms (timeout results), against a closed port (refused results),
# and a long looped replay is interrupted with SIGINT: exit 0, run marked
# interrupted, exactly one result per scheduled request (not_sent for those
# never sent). Bad input gets one stderr line and exit 2. Runs once per
# engine (REPRISE_ENGINE, see CMakeLists.txt).
# engines: raw curl
source "$SRC/tests/lib.sh"
ENGINE=${REPRISE_ENGINE:-raw}

command -v nginx >/dev/null || skip "nginx not installed"
command -v tcpdump >/dev/null || skip "tcpdump not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"
[ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || skip "nginx echo module missing"

P1=$(free_port)
start_nginx src "$P1"
start_tcpdump "$P1" "$TMP/cap.pcap"
for i in 0 1 2 3 4; do curl -s -o /dev/null "http://127.0.0.1:$P1/slow/$i"; sleep 0.05; done
stop_tcpdump
"$REPRISE" capture -r "$TMP/cap.pcap" -o "$TMP/c.db" --port "$P1" --quiet \
    || fail "capture failed"
q() { sqlite3 "$TMP/c.db" "$1"; }
last_run() { q "SELECT max(id) FROM runs"; }

# Timeouts.
P2=$(free_port)
start_nginx slow "$P2" 'location /slow/ { echo_sleep 2; echo "late"; }'
# every request fails: recorded, and exit 1 with the cause on stderr
set +e
"$REPRISE" replay "$TMP/c.db" --target "http://127.0.0.1:$P2" --timeout 300ms \
    --speed 10 --engine "$ENGINE" > "$TMP/to.out" 2> "$TMP/to.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "replay with only timeouts exited $rc, want 1"
grep -q "none of the 5 requests sent got a response" "$TMP/to.err" || fail "no stderr cause: $(cat "$TMP/to.err")"
sed -n 2p "$TMP/to.out" | grep -q "FAILED    5 of 5 requests sent" || fail "summary does not lead with the failure: $(cat "$TMP/to.out")"
grep -q "^            timeout  5  " "$TMP/to.out" || fail "summary lacks the timeout cause"
grep -q "^  advice    the target did not answer within --timeout 300.00ms: raise --timeout" "$TMP/to.out" ||
    fail "summary lacks the timeout advice: $(cat "$TMP/to.out")"
grep -q "latency   none: no request got a response" "$TMP/to.out" || fail "failed requests shown as a latency"
r=$(last_run)
[ "$(q "SELECT count(*) FROM results WHERE run_id = $r AND error_class = 'timeout'")" -eq 5 ] \
    || { q "SELECT * FROM results WHERE run_id = $r"; fail "expected 5 timeout results"; }
[ "$(q "SELECT count(*) FROM results WHERE run_id = $r AND error LIKE '%timed out%'")" -eq 5 ] \
    || fail "timeout results lack a 'timed out' message"
pass "5 timeouts recorded as error_class timeout with a 'timed out' message"

# Refused: nothing listens on a fresh free port.
P3=$(free_port)
set +e
"$REPRISE" replay "$TMP/c.db" --target "http://127.0.0.1:$P3" --speed 10 --engine "$ENGINE" \
    > "$TMP/ref.out" 2>/dev/null
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "replay against a closed port exited $rc, want 1"
grep -q "^  advice    nothing accepted connections on 127.0.0.1:$P3" "$TMP/ref.out" ||
    fail "refused: advice should name the host and port: $(cat "$TMP/ref.out")"
r=$(last_run)
[ "$(q "SELECT count(*) FROM results WHERE run_id = $r AND error_class = 'refused'")" -eq 5 ] \
    || fail "expected 5 refused results"
[ "$(q "SELECT count(*) FROM results WHERE run_id = $r AND error LIKE '%127.0.0.1%$P3%'")" -eq 5 ] \
    || { q "SELECT error FROM results WHERE run_id = $r LIMIT 1"; fail "refused results do not name the target"; }
pass "5 refused connections recorded, naming the target"

# SIGINT: 5 exchanges x 100 loops over ~25 s, interrupted after 1.5 s.
P4=$(free_port)
start_nginx dst "$P4"
"$REPRISE" replay "$TMP/c.db" --target "http://127.0.0.1:$P4" --loop 100 --engine "$ENGINE" \
    --json > "$TMP/int.json" 2> "$TMP/int.err" &
rp=$!
sleep 1.5
kill -INT "$rp"
t0=$(date +%s%N)
wait "$rp" || fail "interrupted replay exited $?"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 8000 ] || fail "SIGINT took ${ms} ms to finish"
r=$(last_run)
[ "$(q "SELECT status FROM runs WHERE id = $r")" = interrupted ] || fail "run not marked interrupted"
total=$(q "SELECT count(*) FROM results WHERE run_id = $r")
[ "$total" -eq 500 ] || fail "expected 500 results (one per scheduled request), got $total"
sent=$(q "SELECT count(*) FROM results WHERE run_id = $r AND error_class IS NOT 'not_sent'")
notsent=$(q "SELECT count(*) FROM results WHERE run_id = $r AND error_class = 'not_sent' AND sent_us IS NULL")
[ "$sent" -gt 0 ] && [ "$notsent" -gt 0 ] && [ $((sent + notsent)) -eq 500 ] \
    || fail "sent $sent + not sent $notsent != 500"
grep -q '"status":"interrupted"' "$TMP/int.json" || fail "JSON summary lacks the interrupted status"
pass "SIGINT: exit 0 in ${ms} ms, run interrupted, $sent sent + $notsent not_sent = 500 results"

# Bad input: one line on stderr, exit 2.
bad() {
    local rc=0
    "$REPRISE" replay "$@" 2> "$TMP/bad.err" > /dev/null || rc=$?
    [ "$rc" -eq 2 ] || fail "'$*' exited $rc, expected 2"
    [ "$(wc -l < "$TMP/bad.err")" -eq 1 ] || { cat "$TMP/bad.err"; fail "'$*': not one stderr line"; }
}
bad "$TMP/c.db" --target "http://127.0.0.1:$P4" --capture 42
bad "$TMP/nope.db" --target "http://127.0.0.1:$P4"
bad "$TMP/c.db" --target "gopher://x"
bad "$TMP/c.db" --target "http://127.0.0.1:$P4" --speed fast
bad "$TMP/c.db" --target "http://127.0.0.1:$P4" --rate -3
bad "$TMP/c.db" --target "http://127.0.0.1:$P4" --duration 1fortnight
bad "$TMP/c.db"
bad "$TMP/c.db" --target "http://127.0.0.1:$P4" --engine bogus
bad "$TMP/c.db" --target "http://127.0.0.1:$P4" --engine curl --pipeline 2
bad "$TMP/c.db" --target "http://127.0.0.1:$P4" --pipeline 0
bad "$TMP/c.db" --target "http://127.0.0.1:$P4" --set-header "Content-Length: 3"
bad "$TMP/c.db" --target "http://127.0.0.1:$P4" --drop-header transfer-encoding
bad "$TMP/c.db" --target "https://127.0.0.1:$P4" --engine raw
pass "bad input: one stderr line, exit 2"
