#!/usr/bin/env bash
# bench_replay_throughput.sh: closed-model throughput of `reprise replay --max
# --concurrency 32 --threads 1` against wrk -t1 -c32 on the same nginx
# endpoint (GET / of a static file), DUR seconds each, in one run. reprise
# records every result in the corpus while it runs; wrk records nothing.
# A bare libcurl multi loop (bare_curl_multi.c, same headers, nothing
# recorded) runs too: reprise / bare is what reprise adds over libcurl, and
# bare / wrk is libcurl's own cost. Prints the rates and ratios (the goal is
# >= 0.45x wrk); never asserts.
#   BUILD=build-rel DUR=10 tests/bench/bench_replay_throughput.sh
# Use a build without sanitizers for meaningful numbers.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

DUR=${DUR:-10}
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

# CPU seconds (user + system) of each tool, from /usr/bin/time: on a shared
# machine requests per CPU second is steadier than requests per second.
head -1 /proc/stat > "$TMP/stat0" # CPU steal by other guests of the VM
/usr/bin/time -f "%U %S" -o "$TMP/wrk.cpu" wrk -t1 -c32 -d"${DUR}s" \
    "http://127.0.0.1:$P/" > "$TMP/wrk.out"
wrk_rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk.out")
wrk_n=$(awk '/requests in/ {print $1}' "$TMP/wrk.out")
/usr/bin/time -f "%U %S" -o "$TMP/rp.cpu" "$REPRISE" replay "$TMP/c.db" \
    --target "http://127.0.0.1:$P" --max --concurrency 32 --threads 1 \
    --duration "${DUR}s" --quiet --json > "$TMP/r.json"
read -r rp_rps rp_resp rp_err <<<"$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["sent_per_s"], d["responses"], d["errors"])' "$TMP/r.json")"
/usr/bin/time -f "%U %S" -o "$TMP/bare.cpu" "$TMP/bare" "http://127.0.0.1:$P/" 32 "$DUR" \
    > "$TMP/bare.out"
read -r bare_rps bare_n bare_err _ < "$TMP/bare.out"
head -1 /proc/stat > "$TMP/stat1"
rows=$(sqlite3 "$TMP/c.db" "SELECT count(*) FROM results")
ratio=$(python3 -c "print('%.2f' % ($rp_rps / $wrk_rps))")
echo "throughput (GET /, 32 connections, 1 thread, ${DUR}s each):"
echo "  wrk      ${wrk_rps} req/s"
echo "  reprise  ${rp_rps} req/s  ($rp_resp responses, $rp_err errors, $rows results recorded)"
echo "  bare libcurl multi  ${bare_rps} req/s  ($bare_n responses, $bare_err errors, nothing recorded)"
echo "  ratio    ${ratio}x wrk (goal >= 0.45x)"
python3 - "$TMP/wrk.cpu" "$wrk_n" "$TMP/rp.cpu" "$rp_resp" "$TMP/bare.cpu" "$bare_n" \
    "$rp_rps" "$bare_rps" "$wrk_rps" "$TMP/stat0" "$TMP/stat1" <<'PY'
import sys
a = sys.argv
s0, s1 = ([int(x) for x in open(f).read().split()[1:]] for f in a[10:12])
dt = [y - x for x, y in zip(s0, s1)]
cpu = lambda f: sum(float(x) for x in open(f).read().split()[-2:])
w, r = cpu(a[1]) / float(a[2]), cpu(a[3]) / float(a[4])
b = cpu(a[5]) / max(1.0, float(a[6]))
rp, bare, wrk = float(a[7]), float(a[8]), float(a[9])
print("  reprise / bare libcurl %.2fx, bare libcurl / wrk %.2fx" % (rp / bare, bare / wrk))
print("  CPU per request: wrk %.1fus, bare libcurl %.1fus, reprise %.1fus (all "
      "threads, recording included); efficiency vs wrk %.2fx"
      % (w * 1e6, b * 1e6, r * 1e6, w / r))
print("  CPU steal during the three runs: %.0f%% (other guests of the VM)"
      % (100.0 * dt[7] / max(1, sum(dt[:8]))))
PY
