#!/usr/bin/env bash
# bench_replay_throughput.sh: closed-model throughput of `reprise replay --max
# --concurrency 32 --threads 1` against wrk -t1 -c32 on the same nginx
# endpoint (GET / of a static file). reprise records every result in the
# corpus while it runs; wrk records nothing. A bare libcurl multi loop
# (bare_curl_multi.c, same headers, nothing recorded) runs too: reprise /
# bare is what reprise adds over libcurl, and bare / wrk is libcurl's own
# cost. The three alternate for ROUNDS rounds of DUR seconds each, so a
# burst of CPU steal from other guests of this shared VM hits one round of
# all three rather than one tool; each round prints its rates, ratios and
# steal, and the summary gives the median ratio over the rounds (the goal
# is >= 0.45x wrk). Never asserts.
#   BUILD=build-rel ROUNDS=5 DUR=5 tests/bench/bench_replay_throughput.sh
# Use a build without sanitizers for meaningful numbers.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

DUR=${DUR:-5}
ROUNDS=${ROUNDS:-5}
command -v nginx >/dev/null || skip "nginx not installed"
command -v wrk >/dev/null || skip "wrk not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"
if grep -q 'REPRISE_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    echo "note: $BUILD is a sanitizer build; reprise is several times slower"
fi
cmake --build "$BUILD" --target reprise rp_corpus rp_common -j2 >/dev/null
cc -O2 -I"$SRC" "$SRC/tests/bench/bench_replay_gen.c" \
    "$BUILD/librp_corpus.a" "$BUILD/librp_common.a" \
    $(pkg-config --libs sqlite3 zlib libcrypto) -lm -o "$TMP/gen"
cc -O2 "$SRC/tests/bench/bare_curl_multi.c" $(pkg-config --cflags --libs libcurl) \
    -o "$TMP/bare"
"$TMP/gen" "$TMP/c.db" 1000 1000 8 0

P=$(free_port)
start_nginx web "$P"
curl -s -o /dev/null "http://127.0.0.1:$P/" # warm up

# Each round: wrk, reprise (on a fresh copy of the corpus), the bare loop,
# with CPU seconds (user + system) of each from /usr/bin/time (requests per
# CPU second is steadier than requests per second here) and the CPU steal
# of the round from /proc/stat.
echo "throughput (GET /, 32 connections, 1 thread), $ROUNDS rounds of ${DUR}s each:"
for round in $(seq "$ROUNDS"); do
    head -1 /proc/stat > "$TMP/stat0"
    /usr/bin/time -f "%U %S" -o "$TMP/wrk.cpu" wrk -t1 -c32 -d"${DUR}s" \
        "http://127.0.0.1:$P/" > "$TMP/wrk.out"
    cp "$TMP/c.db" "$TMP/r.db"
    /usr/bin/time -f "%U %S" -o "$TMP/rp.cpu" "$REPRISE" replay "$TMP/r.db" \
        --target "http://127.0.0.1:$P" --max --concurrency 32 --threads 1 \
        --duration "${DUR}s" --quiet --json > "$TMP/r.json"
    rows=$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM results")
    /usr/bin/time -f "%U %S" -o "$TMP/bare.cpu" "$TMP/bare" \
        "http://127.0.0.1:$P/" 32 "$DUR" > "$TMP/bare.out"
    head -1 /proc/stat > "$TMP/stat1"
    python3 - "$TMP" "$round" "$rows" >> "$TMP/rounds.tsv" <<'PY'
import json, re, sys
d, rnd, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
wrk_out = open(d + "/wrk.out").read()
wrk = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk_out).group(1))
wrk_n = int(re.search(r"(\d+) requests in", wrk_out).group(1))
r = json.load(open(d + "/r.json"))
bare, bare_n, bare_err = open(d + "/bare.out").read().split()[:3]
bare, bare_n = float(bare), int(bare_n)
cpu = lambda f: sum(float(x) for x in open(d + f).read().split()[-2:])
s0, s1 = ([int(x) for x in open(d + f).read().split()[1:]]
          for f in ("/stat0", "/stat1"))
dt = [y - x for x, y in zip(s0, s1)]
steal = 100.0 * dt[7] / max(1, sum(dt[:8]))
rp = r["sent_per_s"]
print("\t".join(str(x) for x in (
    rnd, wrk, rp, bare, rp / wrk, rp / bare, bare / wrk, steal,
    r["responses"], r["errors"], rows, int(bare_err),
    cpu("/wrk.cpu") / wrk_n * 1e6, cpu("/rp.cpu") / max(1, r["responses"]) * 1e6,
    cpu("/bare.cpu") / max(1, bare_n) * 1e6)))
PY
    awk -F'\t' -v r="$round" '$1 == r {
        printf "  round %d: wrk %.0f, reprise %.0f (%d responses, %d errors, " \
               "%d results recorded), bare libcurl %.0f req/s; reprise/wrk " \
               "%.2fx, reprise/bare %.2fx, bare/wrk %.2fx; steal %.0f%%\n",
               $1, $2, $3, $9, $10, $11, $4, $5, $6, $7, $8 }' "$TMP/rounds.tsv"
done
python3 - "$TMP/rounds.tsv" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]) if l.strip()]
col = lambda i: [float(r[i]) for r in rows]
med = lambda i: statistics.median(col(i))
print("median over %d rounds: reprise %.2fx wrk (goal >= 0.45x; rounds %s), "
      "reprise / bare libcurl %.2fx, bare libcurl / wrk %.2fx"
      % (len(rows), med(4), ", ".join("%.2f" % x for x in col(4)), med(5), med(6)))
quiet = [float(r[4]) for r in rows if float(r[7]) < 10]
if quiet:
    print("  in the %d rounds with under 10%% steal: reprise %.2fx wrk (median)"
          % (len(quiet), statistics.median(quiet)))
print("  CPU per request (median): wrk %.1fus, bare libcurl %.1fus, reprise "
      "%.1fus (all threads, recording included)" % (med(12), med(14), med(13)))
print("  CPU steal per round: %s (other guests of the VM; rounds with a lot "
      "of it say little)" % ", ".join("%.0f%%" % x for x in col(7)))
print("  errors: reprise %d, bare %d" % (sum(col(9)), sum(col(11))))
PY
pass done
