#!/usr/bin/env bash
# bench_replay_timing.sh: schedule accuracy of the open model. 10k exchanges
# captured at 1000/s over 8 keep-alive connections (synthetic capture) are
# replayed at --speed 10 (10k req/s for 1 s) against nginx; prints the
# distribution of |sent - scheduled| from the recorded results and its ratio
# to the 2 ms goal for p99. Never asserts.
#   BUILD=build-rel tests/bench/bench_replay_timing.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

N=${N:-10000}
SPEED=${SPEED:-10}
command -v nginx >/dev/null || skip "nginx not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"
if grep -q 'REPRISE_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    echo "note: $BUILD is a sanitizer build; timing is pessimistic"
fi
cmake --build "$BUILD" --target reprise rp_corpus rp_common -j2 >/dev/null
cc -O2 -I"$SRC" "$SRC/tests/bench/bench_replay_gen.c" \
    "$BUILD/librp_corpus.a" "$BUILD/librp_common.a" \
    $(pkg-config --libs sqlite3 zlib libcrypto) -lm -o "$TMP/gen"
"$TMP/gen" "$TMP/c.db" "$N" 1000 8 0

P=$(free_port)
start_nginx web "$P"
"$REPRISE" replay "$TMP/c.db" --target "http://127.0.0.1:$P" --speed "$SPEED" \
    --quiet --json > "$TMP/r.json"
sqlite3 "$TMP/c.db" "SELECT abs(sent_us - scheduled_us) FROM results
                     WHERE sent_us IS NOT NULL ORDER BY 1" > "$TMP/late.txt"
python3 - "$TMP/late.txt" "$TMP/r.json" "$N" "$SPEED" <<'PY'
import json, sys
v = [int(x) for x in open(sys.argv[1])]
d = json.load(open(sys.argv[2]))
n = len(v)
pct = lambda p: v[min(n - 1, int(p / 100.0 * n))]
print("timing: %s exchanges captured at 1000/s on 8 connections, --speed %s"
      % (sys.argv[3], sys.argv[4]))
print("  sent %d, errors %d, achieved %.0f req/s" % (d["sent"], d["errors"], d["sent_per_s"]))
print("  |sent - scheduled|  p50 %dus  p90 %dus  p99 %dus  p99.9 %dus  max %dus"
      % (pct(50), pct(90), pct(99), pct(99.9), v[-1]))
print("  p99 / 2ms goal = %.2f (<= 1.00 meets the goal)" % (pct(99) / 2000.0))
PY
