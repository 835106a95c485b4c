#!/usr/bin/env bash
# bench_capture_import.sh: how fast `reprise capture -r` imports a pcap,
# against tshark extracting the request URIs of the same file. The pcap is
# recorded here: wrk hammers a loopback nginx while tcpdump records it
# (>= 100k exchanges by default; REQUESTS=n to change). Prints the ratio of
# wall times, request counts and peak RSS of both; asserts nothing about
# time (target: >= 20x faster than tshark with the same request count).
# PCAP=FILE: reuse FILE if it exists, else record it there for next time.
source "$SRC/tests/lib.sh"

for t in nginx wrk tcpdump tshark /usr/bin/time; do
    command -v "$t" > /dev/null || skip "$t not installed"
done
[ "$(id -u)" -eq 0 ] || skip "tcpdump on lo needs root"
REQUESTS=${REQUESTS:-100000}

if [ -n "${PCAP:-}" ] && [ -s "$PCAP" ]; then
    # PCAP=FILE reuses a recording (e.g. to compare builds on one file)
    logged=unknown
    echo "reusing $PCAP ($(du -h "$PCAP" | cut -f1))"
else
PCAP_OUT=${PCAP:-}
P=$(free_port)
start_nginx web "$P"
PCAP="$TMP/wrk.pcap"
tcpdump -i lo -s 0 -B 262144 --immediate-mode -w "$PCAP" "tcp port $P" 2> "$TMP/td.log" &
TD=$!
track_pid $TD
for i in $(seq 1 50); do grep -q "listening on" "$TMP/td.log" && break; sleep 0.1; done

# wrk runs in bounded slices until nginx logged REQUESTS requests (max 60 s)
deadline=$((SECONDS + 60))
while [ "$(wc -l < "$TMP/web/access.log")" -lt "$REQUESTS" ] && [ $SECONDS -lt $deadline ]; do
    wrk -t1 -c16 -d2s "http://127.0.0.1:$P/" > /dev/null
done
sleep 0.5
kill -INT $TD
wait $TD || true
logged=$(wc -l < "$TMP/web/access.log")
[ -n "$PCAP_OUT" ] && cp "$PCAP" "$PCAP_OUT"
echo "recorded: $logged requests logged by nginx, pcap $(du -h "$PCAP" | cut -f1), $(grep -o '[0-9]* packets dropped by kernel' "$TMP/td.log")"
fi

peak_kb() { grep "Maximum resident" "$1" | awk '{print $NF}'; }

# reprise (best of 3 wall times)
best_r=999999
for i in 1 2 3; do
    rm -f "$TMP/c.db"
    s=$(date +%s%N)
    /usr/bin/time -v "$REPRISE" capture -q -r "$PCAP" -o "$TMP/c.db" 2> "$TMP/r.time"
    ms=$(( ($(date +%s%N) - s) / 1000000 ))
    [ $ms -lt $best_r ] && best_r=$ms
done
r_count=$("$REPRISE" export "$TMP/c.db" --format jsonl | wc -l)

s=$(date +%s%N)
/usr/bin/time -v tshark -r "$PCAP" -Y http.request -T fields -e http.request.uri \
    > "$TMP/tshark.out" 2> "$TMP/t.time"
t_ms=$(( ($(date +%s%N) - s) / 1000000 ))
t_count=$(wc -l < "$TMP/tshark.out")

echo "reprise capture -r: ${best_r} ms, $r_count exchanges, peak RSS $(peak_kb "$TMP/r.time") KiB"
echo "tshark -Y http.request: ${t_ms} ms, $t_count requests, peak RSS $(peak_kb "$TMP/t.time") KiB"
awk -v r="$best_r" -v t="$t_ms" 'BEGIN { printf "speedup vs tshark: %.1fx (target >= 20x)\n", t / (r > 0 ? r : 1) }'
[ "$r_count" -eq "$t_count" ] && echo "request counts: equal" ||
    echo "request counts: DIFFER (reprise $r_count, tshark $t_count, nginx $logged)"
pass "import benchmark"
