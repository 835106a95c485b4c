#!/usr/bin/env bash
# bench_capture_live.sh: `reprise capture -i lo` while `wrk -t1 -c16` drives
# a loopback nginx for 10 s (DURATION=s to change). Prints the share of the
# requests in nginx's access log that reached the corpus (target >= 99.9%),
# kernel drops, and reprise's peak RSS and CPU time. Asserts nothing.
source "$SRC/tests/lib.sh"

for t in nginx wrk /usr/bin/time; do
    command -v "$t" > /dev/null || skip "$t not installed"
done
[ "$(id -u)" -eq 0 ] || skip "live capture needs root"
DURATION=${DURATION:-10}

P=$(free_port)
start_nginx web "$P"
/usr/bin/time -v "$REPRISE" capture -i lo -o "$TMP/live.db" --port "$P" \
    2> "$TMP/cap.log" &
TP=$!
track_pid $TP
for i in $(seq 1 50); do grep -q "capturing on" "$TMP/cap.log" && break; sleep 0.1; done
CP=$(pgrep -P $TP | head -1)
[ -n "$CP" ] || fail "reprise did not start: $(cat "$TMP/cap.log")"

wrk -t1 -c16 -d"${DURATION}s" "http://127.0.0.1:$P/" > "$TMP/wrk.out"
sleep 1
kill -INT "$CP"
wait $TP || fail "capture failed: $(cat "$TMP/cap.log")"

logged=$(wc -l < "$TMP/web/access.log")
got=$("$REPRISE" export "$TMP/live.db" --format jsonl | wc -l)
grep "Requests/sec" "$TMP/wrk.out"
grep "capture 1:" "$TMP/cap.log" | sed 's/^reprise: //'
awk -v g="$got" -v l="$logged" 'BEGIN { printf "captured %d of %d requests in the access log: %.3f%% (target >= 99.9%%)\n", g, l, l ? 100 * g / l : 0 }'
echo "reprise peak RSS: $(grep "Maximum resident" "$TMP/cap.log" | awk '{print $NF}') KiB," \
     "CPU user $(grep "User time" "$TMP/cap.log" | awk '{print $NF}') s," \
     "system $(grep "System time" "$TMP/cap.log" | awk '{print $NF}') s"
pass "live benchmark"
