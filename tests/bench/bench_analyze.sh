#!/usr/bin/env bash
# bench_analyze.sh: times `reprise analyze` on a synthetic corpus and prints
# the numbers (never asserts a time). gen_corpus.c writes one capture of
# N_EX exchanges and three runs of N_EX x COPIES results (default 200k x 5 =
# 1M results per run). We time the candidate against the capture (1M vs
# 200k samples) and against another run (1M vs 1M), with peak memory, and
# compare with a peer: a straightforward Python script that reads the same
# run through the sqlite3 module and sorts per endpoint for exact
# percentiles (what one writes by hand without reprise).
#   N_EX=200000 COPIES=5 tests/bench/bench_analyze.sh
# Builds its own non-sanitizer copy of the analyze, corpus and common
# libraries in $TMP, so the numbers do not depend on the build type of
# $BUILD. Needs ~400 MB of free disk in $TMPDIR.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

N_EX=${N_EX:-200000}
COPIES=${COPIES:-5}

echo "== building release libraries"
cmake -S "$SRC" -B "$TMP/build" -DCMAKE_BUILD_TYPE=Release \
    -DREPRISE_TESTS=OFF -DREPRISE_SANITIZE=OFF >/dev/null
cmake --build "$TMP/build" --target rp_analyze -j2 >/dev/null
libs="$TMP/build/librp_analyze.a $TMP/build/librp_corpus.a $TMP/build/librp_common.a"
deps="$(pkg-config --libs sqlite3 zlib libcrypto) -lm"
cc -O2 -I"$SRC" "$SRC/tests/bench/gen_corpus.c" $libs $deps -o "$TMP/gen"
cat > "$TMP/drv.c" <<'C'
#include "analyze/analyze.h"
int main(int argc, char **argv) { return an_cmd(argc - 1, argv + 1); }
C
cc -O2 -I"$SRC" "$TMP/drv.c" $libs $deps -o "$TMP/analyze"

db=$TMP/bench.db
echo "== generating $N_EX exchanges, 3 runs x $((N_EX * COPIES)) results"
t0=$(date +%s.%N)
"$TMP/gen" "$db" "$N_EX" "$COPIES"
t1=$(date +%s.%N)
printf "generated in %.1f s, %s MiB\n" "$(echo "$t1 - $t0" | bc -l)" \
    "$(du -m "$db" | cut -f1)"

measure() { # label, args...
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$TMP/time" "$TMP/analyze" analyze "$db" \
        "$@" --format json -o "$TMP/out.json" || [ $? -eq 1 ]
    read -r secs kib < "$TMP/time"
    printf "%-44s %6.2f s  %6d MiB peak RSS\n" "$label" "$secs" \
        $((kib / 1024))
    echo "$secs" > "$TMP/last"
}
echo "== reprise analyze (release build)"
measure "candidate v2 (1 run) vs capture" --candidate v2
measure "candidate v2 vs run v1" --candidate v2 --baseline v1
ours=$(cat "$TMP/last")
measure "v2 vs v1 with noise run v1b" --candidate v2 --baseline v1 --noise v1b
python3 - "$TMP/out.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("verdict endpoints regressed:",
      [e["endpoint"] for e in r["endpoints"] if e["regressed"]])
PY

echo "== peer: Python + sqlite3, exact percentiles by sorting"
cat > "$TMP/peer.py" <<'PY'
import re, sqlite3, sys, time
t0 = time.time()
db = sqlite3.connect(sys.argv[1])
def load(run):
    g = {}
    for m, t, s, d in db.execute(
            "SELECT e.method, e.target, r.scheduled_us, r.done_us FROM results r"
            " JOIN exchanges e ON e.id = r.exchange_id JOIN runs u ON u.id = r.run_id"
            " WHERE u.label = ?", (run,)):
        p = t.split("?")[0]
        p = re.sub(r"/[0-9]+(?=/|$)", "/:id", p)
        g.setdefault(m + " " + p, []).append(d - s)
    return g
out = {}
for run in ("v1", "v2"):
    for k, v in load(run).items():
        v.sort()
        n = len(v)
        out.setdefault(k, []).append([v[min(n - 1, int(q * n))] for q in (.5, .9, .99)])
print("%.2f" % (time.time() - t0))
PY
peer=$(python3 "$TMP/peer.py" "$db")
printf "peer (2 runs, p50/p90/p99 only, no test)     %6.2f s\n" "$peer"
printf "ratio reprise/peer (v2 vs v1): %.2f\n" "$(echo "$ours / $peer" | bc -l)"
