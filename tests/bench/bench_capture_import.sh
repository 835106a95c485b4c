#!/usr/bin/env bash
# bench_capture_import.sh: how fast `reprise capture -r` imports a pcap of
# wrk against a loopback nginx, against tshark on the same file, at two
# sizes (SMALL, default 90000 requests, where fixed costs show, and BIG,
# default 170000). Each pcap is recorded here (tcpdump on lo while wrk runs)
# unless PCAP_SMALL / PCAP_BIG name files to reuse (recorded there when
# missing). ROUNDS (default 3) rounds alternate reprise and tshark so both
# see the same machine; each round prints the CPU steal and load. Prints,
# per size, the ratio of median wall times against `tshark -Y http.request`
# (its default output: the peer the issue names) and against `tshark -Y
# http.request -T fields -e http.request.uri` (what this benchmark used to
# time), the request counts of both, and peak RSS. Asserts nothing about
# time (target: >= 50x).
source "$SRC/tests/lib.sh"

for t in nginx wrk tcpdump tshark /usr/bin/time sqlite3; do
    command -v "$t" > /dev/null || skip "$t not installed"
done
[ "$(id -u)" -eq 0 ] || skip "tcpdump on lo needs root"
ROUNDS=${ROUNDS:-3}

# record N PCAP: wrk in bounded slices until nginx logged N requests (60 s
# at most), tcpdump with a 256 MiB buffer
record() {
    local want=$1 pcap=$2 P
    P=$(free_port)
    start_nginx "web$want" "$P"
    tcpdump -i lo -s 0 -B 262144 --immediate-mode -w "$pcap" "tcp port $P" \
        2> "$pcap.log" &
    local td=$!
    track_pid $td
    for i in $(seq 1 50); do grep -q "listening on" "$pcap.log" && break; sleep 0.1; done
    local deadline=$((SECONDS + 60))
    while [ "$(wc -l < "$TMP/web$want/access.log")" -lt "$want" ] &&
          [ $SECONDS -lt $deadline ]; do
        wrk -t1 -c16 -d1s "http://127.0.0.1:$P/" > /dev/null
    done
    sleep 1.2 # libpcap may hold the last packets up to a second
    kill -INT $td
    wait $td || true
    echo "recorded $pcap: $(wc -l < "$TMP/web$want/access.log") requests logged by nginx," \
         "$(du -h "$pcap" | cut -f1), $(grep -o '[0-9]* packets dropped by kernel' "$pcap.log")"
}

steal() { awk '/^cpu / {print $9 + $10, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }

# times CMD... into $T_MS (wall) and the /usr/bin/time log $TMP/time.log
timed() {
    local s
    s=$(date +%s%N)
    /usr/bin/time -v -o "$TMP/time.log" "$@"
    T_MS=$(( ($(date +%s%N) - s) / 1000000 ))
}
peak_kb() { awk '/Maximum resident/ {print $NF}' "$TMP/time.log"; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for size in SMALL BIG; do
    if [ $size = SMALL ]; then want=${SMALL:-90000} pcap=${PCAP_SMALL:-}; else
        want=${BIG:-170000} pcap=${PCAP_BIG:-}; fi
    if [ -z "$pcap" ]; then pcap=$TMP/wrk-$want.pcap; fi
    if [ -s "$pcap" ]; then echo "reusing $pcap ($(du -h "$pcap" | cut -f1))"; else
        record "$want" "$pcap"; fi
    r_ms="" t_ms="" f_ms=""
    for round in $(seq 1 "$ROUNDS"); do
        read -r st0 tot0 < <(steal)
        load=$(cut -d' ' -f1 /proc/loadavg)
        rm -f "$TMP/c.db"
        timed "$REPRISE" capture -q -r "$pcap" -o "$TMP/c.db"
        r_ms="$r_ms $T_MS"; r_rss=$(peak_kb)
        timed sh -c "tshark -r '$pcap' -Y http.request > '$TMP/tshark.out' 2>/dev/null"
        t_ms="$t_ms $T_MS"; t_rss=$(peak_kb)
        timed sh -c "tshark -r '$pcap' -Y http.request -T fields -e http.request.uri > '$TMP/tsharkf.out' 2>/dev/null"
        f_ms="$f_ms $T_MS"
        read -r st1 tot1 < <(steal)
        echo "  round $round: reprise $(echo "$r_ms" | awk '{print $NF}') ms, tshark $(echo "$t_ms" | awk '{print $NF}') ms," \
             "tshark -T fields $(echo "$f_ms" | awk '{print $NF}') ms; load $load, steal" \
             "$(awk -v a="$st0" -v b="$st1" -v c="$tot0" -v d="$tot1" 'BEGIN {printf "%.1f%%", (d > c) ? 100 * (b - a) / (d - c) : 0}')"
    done
    rm_=$(echo "$r_ms" | median) tm=$(echo "$t_ms" | median) fm=$(echo "$f_ms" | median)
    r_count=$(sqlite3 "$TMP/c.db" "SELECT count(*) FROM exchanges")
    t_count=$(wc -l < "$TMP/tshark.out")
    check_identity "$TMP/c.db" "$(basename "$pcap")"
    echo "$size ($want requests): reprise capture -r ${rm_} ms (median of $ROUNDS), $r_count exchanges, peak RSS $r_rss KiB"
    echo "$size: tshark -Y http.request ${tm} ms, $t_count requests, peak RSS $t_rss KiB; with -T fields ${fm} ms"
    awk -v r="$rm_" -v t="$tm" -v f="$fm" -v s="$size" 'BEGIN {
        printf "%s: speedup vs tshark -Y http.request: %.1fx; vs -T fields -e http.request.uri: %.1fx (target >= 50x)\n", s, t / (r > 0 ? r : 1), f / (r > 0 ? r : 1) }'
    [ "$r_count" -eq "$t_count" ] && echo "$size: request counts equal" ||
        echo "$size: request counts DIFFER (reprise $r_count, tshark $t_count)"
done
pass "import benchmark"
