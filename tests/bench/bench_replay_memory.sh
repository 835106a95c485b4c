#!/usr/bin/env bash
# bench_replay_memory.sh: peak RSS of `reprise replay` must not grow with the
# corpus. Two synthetic captures of POSTs with distinct 2 KiB bodies (SMALL
# and BIG exchanges) are replayed with --max against nginx; prints the peak
# RSS of each (from /usr/bin/time) and their ratio. Never asserts.
#   BUILD=build-rel SMALL=10000 BIG=100000 tests/bench/bench_replay_memory.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

SMALL=${SMALL:-10000}
BIG=${BIG:-100000}
command -v nginx >/dev/null || skip "nginx not installed"
[ -x /usr/bin/time ] || skip "/usr/bin/time not installed"
cmake --build "$BUILD" --target reprise rp_corpus rp_common -j2 >/dev/null
cc -O2 -I"$SRC" "$SRC/tests/bench/bench_replay_gen.c" \
    "$BUILD/librp_corpus.a" "$BUILD/librp_common.a" \
    $(pkg-config --libs sqlite3 zlib libcrypto) -lm -o "$TMP/gen"
P=$(free_port)
start_nginx web "$P"
echo "peak RSS of replay --max --concurrency 32 (POST, distinct 2 KiB bodies):"
declare -A rss
for n in "$SMALL" "$BIG"; do
    "$TMP/gen" "$TMP/c$n.db" "$n" 1000 8 2048
    /usr/bin/time -f "%M" -o "$TMP/rss$n" "$REPRISE" replay "$TMP/c$n.db" \
        --target "http://127.0.0.1:$P" --max --concurrency 32 --quiet --json > "$TMP/r$n.json"
    rss[$n]=$(tail -1 "$TMP/rss$n")
    size=$(du -k "$TMP/c$n.db" | cut -f1)
    rate=$(python3 -c "import json; print('%.0f' % json.load(open('$TMP/r$n.json'))['sent_per_s'])")
    echo "  $n exchanges (corpus ${size} KiB): peak RSS ${rss[$n]} KiB, $rate req/s"
done
echo "  RSS ratio big/small = $(python3 -c "print('%.2f' % (${rss[$BIG]} / ${rss[$SMALL]}))") for $((BIG / SMALL))x the exchanges"
