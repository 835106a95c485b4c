#!/usr/bin/env bash
# bench_corpus.sh: times the corpus on synthetic data and prints the numbers
# (never asserts a time). Steps: write N_EX exchanges with bodies (10% of
# them distinct, the rest deduplicated), write N_RES results in one run
# (ordered as --scale writes them, and as --loop does: the worst case),
# stream the run's samples and the capture's samples, then build an N_BIG
# exchange corpus and time open+ls and export against a peer (the sqlite3
# shell's -json output of the same rows), extrapolated to 10M exchanges.
#   BUILD=build N_EX=100000 N_RES=1000000 N_BIG=1000000 tests/bench/bench_corpus.sh
# Uses $BUILD/librp_corpus.a and librp_common.a (a non-sanitizer build gives
# meaningful numbers). Needs ~1 GB of free disk in $TMPDIR for N_BIG=1M.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

N_EX=${N_EX:-100000}
N_RES=${N_RES:-1000000}
N_BIG=${N_BIG:-1000000}

if grep -q 'REPRISE_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    echo "note: $BUILD is a sanitizer build; times are several times slower"
fi
cmake --build "$BUILD" --target rp_corpus rp_common -j2 >/dev/null
cc -O2 -I"$SRC" "$SRC/tests/bench/bench_corpus.c" \
    "$BUILD/librp_corpus.a" "$BUILD/librp_common.a" \
    $(pkg-config --libs sqlite3 zlib libcrypto) -lm -o "$TMP/bench_corpus"
B="$TMP/bench_corpus"

echo "== $N_EX exchanges, $N_RES results"
"$B" exchanges "$TMP/a.db" "$N_EX"
cp "$TMP/a.db" "$TMP/loop.db"
"$B" results "$TMP/a.db" "$N_RES"
"$B" results-loop "$TMP/loop.db" "$N_RES"
rm -f "$TMP/loop.db"
"$B" run-samples "$TMP/a.db" 1
"$B" cap-samples "$TMP/a.db" 1
"$B" read-exchanges "$TMP/a.db"
echo "file: $(du -m "$TMP/a.db" | cut -f1) MiB"
rm -f "$TMP/a.db"

echo "== $N_BIG exchanges: open, ls, export"
"$B" exchanges "$TMP/big.db" "$N_BIG"
echo "file: $(du -m "$TMP/big.db" | cut -f1) MiB"
"$B" ls "$TMP/big.db"
out=$("$B" export "$TMP/big.db")
echo "$out"
ours=$(awk '{print $5}' <<<"$out")
if command -v sqlite3 >/dev/null; then
    t0=$(date +%s.%N)
    sqlite3 -json "$TMP/big.db" "SELECT id, capture_id AS capture,
        connection_id AS conn, seq, req_first_us AS ts_us, method, target,
        host, status, req_wire_bytes AS req_bytes,
        resp_wire_bytes AS resp_bytes,
        resp_first_us - req_last_us AS wire_ttfb_us FROM exchanges
        ORDER BY capture_id, req_first_us, id" >/dev/null
    t1=$(date +%s.%N)
    peer=$(echo "$t1 - $t0" | bc -l)
    printf "peer: sqlite3 -json (8 keys)    %.3f s; reprise export (22 keys) " \
        "$peer"
    printf "%.3f s; ratio reprise/peer %.2f\n" "$ours" \
        "$(echo "$ours / $peer" | bc -l)"
fi
printf "extrapolated to 10M exchanges: export %.0f s; open+ls does not " \
    "$(echo "$ours * 10000000 / $N_BIG" | bc -l)"
echo "scan exchanges (counts are stored when a capture ends), so it stays flat"
