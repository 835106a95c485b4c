#!/usr/bin/env bash
# bench_replay_throughput.sh: closed-model throughput of `reprise replay --max
# --concurrency 32 --threads 1` against wrk -t1 -c32 on the same nginx
# endpoint (GET / of a static file), DUR seconds each, in one run. reprise
# records every result in the corpus while it runs; wrk records nothing.
# Prints both rates and the ratio (the goal is >= 0.45x wrk); never asserts.
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
"$TMP/gen" "$TMP/c.db" 1000 1000 8 0

P=$(free_port)
start_nginx web "$P"
curl -s -o /dev/null "http://127.0.0.1:$P/" # warm up

# CPU seconds (user + system) of each tool, from /usr/bin/time: on a shared
# machine requests per CPU second is steadier than requests per second.
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
rows=$(sqlite3 "$TMP/c.db" "SELECT count(*) FROM results")
ratio=$(python3 -c "print('%.2f' % ($rp_rps / $wrk_rps))")
echo "throughput (GET /, 32 connections, 1 thread, ${DUR}s each):"
echo "  wrk      ${wrk_rps} req/s"
echo "  reprise  ${rp_rps} req/s  ($rp_resp responses, $rp_err errors, $rows results recorded)"
echo "  ratio    ${ratio}x wrk (goal >= 0.45x)"
python3 - "$TMP/wrk.cpu" "$wrk_n" "$TMP/rp.cpu" "$rp_resp" <<'PY'
import sys
cpu = lambda f: sum(float(x) for x in open(f).read().split()[-2:])
w, r = cpu(sys.argv[1]) / float(sys.argv[2]), cpu(sys.argv[3]) / float(sys.argv[4])
print("  CPU per request: wrk %.1fus, reprise %.1fus (all threads, recording "
      "included); efficiency ratio %.2fx" % (w * 1e6, r * 1e6, w / r))
PY

if command -v locust >/dev/null; then
    cat > "$TMP/locustfile.py" <<'PY'
from locust import FastHttpUser, task
class U(FastHttpUser):
    @task
    def index(self):
        self.client.get("/")
PY
    locust -f "$TMP/locustfile.py" --headless -u 32 -r 32 -t "${DUR}s" \
        -H "http://127.0.0.1:$P" --only-summary > "$TMP/locust.out" 2>&1 || true
    lrps=$(awk '/Aggregated/ {print $(NF-1); exit}' "$TMP/locust.out")
    [ -n "$lrps" ] && echo "  locust   ${lrps} req/s  (reprise/locust $(python3 -c "print('%.2f' % ($rp_rps / $lrps))")x)"
fi
