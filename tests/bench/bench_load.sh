#!/usr/bin/env bash
# bench_load.sh: the long-running load checks of issue 7, bounded in time and
# count, loopback only. Prints figures; asserts only exact counts.
#   1. live capture on lo while wrk drives nginx flat out for LIVE_SECONDS
#      (default 60; 0 skips it): RSS of the capture sampled every second (first, peak,
#      last), requests in nginx's access log vs exchanges in the corpus.
#   2. a replay of REPLAY_N (default 1,000,000) exchanges with --max: exactly
#      one result per scheduled request.
#   3. a corpus of BIG_N (default 10,000,000) exchanges: size, and the time
#      to open + list it and to export it.
# Use a Release build: BUILD=build-rel tests/bench/bench_load.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
LIVE_SECONDS=${LIVE_SECONDS:-60}
REPLAY_N=${REPLAY_N:-1000000}
BIG_N=${BIG_N:-10000000}
[ "$(id -u)" -eq 0 ] || skip "live capture needs root"
command -v wrk >/dev/null || skip "wrk not installed"
cmake --build "$BUILD" --target reprise rp_corpus rp_common -j2 >/dev/null
cc -O2 -I"$SRC" "$SRC/tests/bench/bench_replay_gen.c" \
    "$BUILD/librp_corpus.a" "$BUILD/librp_common.a" \
    $(pkg-config --libs sqlite3 zlib libcrypto) -lpthread -lm -o "$TMP/gen"
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

P=$(free_port)
start_nginx web "$P"
if [ "$LIVE_SECONDS" -gt 0 ]; then
echo "== 1. live capture for ${LIVE_SECONDS}s under wrk -t1 -c16"
"$REPRISE" capture -i lo --port "$P" -o "$TMP/live.db" 2>"$TMP/live.log" &
cap=$!; track_pid $cap
sleep 1
wrk -t1 -c16 -d"${LIVE_SECONDS}s" "http://127.0.0.1:$P/" > "$TMP/wrk.txt" &
w=$!; track_pid $w
samples=()
while kill -0 $w 2>/dev/null; do samples+=("$(rss_kib $cap)"); sleep 1; done
sleep 1
kill -INT $cap; wait $cap || fail "capture exited non-zero"
logged=$(wc -l < "$TMP/web/access.log")
stored=$("$REPRISE" export "$TMP/live.db" | wc -l)
peak=$(printf '%s\n' "${samples[@]}" | sort -n | tail -1)
echo "  RSS KiB: after 1 s ${samples[1]:-?}, peak $peak, last ${samples[-1]}"
echo "  nginx logged $logged requests, corpus holds $stored exchanges ($(python3 -c "print('%.3f' % (100.0*$stored/max($logged,1)))")%)"
tail -1 "$TMP/live.log" | sed 's/^/  /'
fi

echo "== 2. replay of $REPLAY_N exchanges (--max --concurrency 64)"
"$TMP/gen" "$TMP/r.db" "$REPLAY_N" 100000 64 0 >/dev/null
start=$(date +%s.%N)
"$REPRISE" replay "$TMP/r.db" --target "http://127.0.0.1:$P" --max --concurrency 64 \
    --quiet --json > "$TMP/r.json" || fail "replay failed"
end=$(date +%s.%N)
# counted straight from the file, independently of reprise's own summary;
# the results table's key (run, exchange, copy, loop) rules out duplicates
results=$(sqlite3 "$TMP/r.db" "SELECT COUNT(*) FROM results WHERE run_id = 1")
distinct=$(sqlite3 "$TMP/r.db" "SELECT COUNT(DISTINCT exchange_id) FROM results WHERE run_id = 1")
echo "  $results results ($distinct distinct exchanges) for $REPLAY_N scheduled requests in $(python3 -c "print('%.1f' % ($end-$start))") s"
[ "$results" = "$REPLAY_N" ] && [ "$distinct" = "$REPLAY_N" ] ||
    fail "expected exactly $REPLAY_N results, one per exchange; got $results ($distinct distinct)"

echo "== 3. a corpus of $BIG_N exchanges"
start=$(date +%s.%N)
"$TMP/gen" "$TMP/big.db" "$BIG_N" 100000 64 0 >/dev/null
mid=$(date +%s.%N)
"$REPRISE" ls "$TMP/big.db" > "$TMP/ls.txt"
mid2=$(date +%s.%N)
n=$("$REPRISE" export "$TMP/big.db" | wc -l)
end=$(date +%s.%N)
echo "  written in $(python3 -c "print('%.1f' % ($mid-$start))") s, $(du -m "$TMP/big.db" | cut -f1) MiB"
echo "  open + ls: $(python3 -c "print('%.3f' % ($mid2-$mid))") s; export: $n lines in $(python3 -c "print('%.1f' % ($end-$mid2))") s"
[ "$n" = "$BIG_N" ] || fail "export gave $n lines, want $BIG_N"
pass "load benchmarks"
