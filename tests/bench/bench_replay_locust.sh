#!/usr/bin/env bash
# bench_replay_locust.sh: closed-model throughput of `reprise replay --max
# --concurrency 32 --threads 1` against Locust 2.x (FastHttpUser, 32 users
# spawned at once, one process, headless) on the same loopback nginx
# endpoint (GET / of a static file), DUR seconds each, in one run. reprise
# records every result in the corpus while it runs; Locust keeps only its
# aggregate statistics. Prints both rates, the CPU per request of each and
# the ratio (the goal is >= 4x Locust); never asserts.
#   BUILD=build-rel DUR=10 tests/bench/bench_replay_locust.sh
# Use a build without sanitizers for meaningful numbers.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

DUR=${DUR:-10}
PY=/usr/bin/python3 # Debian's python3-locust lives in the system python
command -v nginx >/dev/null || skip "nginx not installed"
command -v locust >/dev/null || skip "locust not installed (apt-get install python3-locust)"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"
[ -x /usr/bin/time ] || skip "/usr/bin/time not installed"
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

cat > "$TMP/locustfile.py" <<'PY'
from locust import FastHttpUser, task


class Index(FastHttpUser):
    # no wait_time: each user sends its next request as soon as the last
    # one completed (closed model, like --max)
    @task
    def index(self):
        self.client.get("/")
PY
# -t counts from the start, so the 32 users run for about DUR seconds.
/usr/bin/time -f "%U %S" -o "$TMP/locust.cpu" locust -f "$TMP/locustfile.py" \
    --headless -u 32 -r 32 -t "${DUR}s" --host "http://127.0.0.1:$P" \
    --only-summary --csv "$TMP/locust" --loglevel WARNING \
    > "$TMP/locust.out" 2>&1 || fail "locust failed: $(tail -5 "$TMP/locust.out")"
read -r lo_rps lo_n lo_fail <<<"$("$PY" - "$TMP/locust_stats.csv" <<'PY'
import csv, sys
for row in csv.DictReader(open(sys.argv[1])):
    if row["Name"] == "Aggregated":
        print(row["Requests/s"], row["Request Count"], row["Failure Count"])
PY
)"
[ -n "${lo_rps:-}" ] || fail "no Aggregated row in locust's CSV"

/usr/bin/time -f "%U %S" -o "$TMP/rp.cpu" "$REPRISE" replay "$TMP/c.db" \
    --target "http://127.0.0.1:$P" --max --concurrency 32 --threads 1 \
    --duration "${DUR}s" --quiet --json > "$TMP/r.json"
read -r rp_rps rp_resp rp_err <<<"$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["sent_per_s"], d["responses"], d["errors"])' "$TMP/r.json")"
rows=$(sqlite3 "$TMP/c.db" "SELECT count(*) FROM results")

echo "throughput vs Locust (GET /, 32 users/connections, 1 process/thread, ${DUR}s each):"
printf "  locust   %.0f req/s  (%s requests, %s failures; FastHttpUser)\n" \
    "$lo_rps" "$lo_n" "$lo_fail"
printf "  reprise  %.0f req/s  (%s responses, %s errors, %s results recorded)\n" \
    "$rp_rps" "$rp_resp" "$rp_err" "$rows"
"$PY" - "$rp_rps" "$lo_rps" "$TMP/locust.cpu" "$lo_n" "$TMP/rp.cpu" "$rp_resp" <<'PY'
import sys
rp, lo = float(sys.argv[1]), float(sys.argv[2])
cpu = lambda f: sum(float(x) for x in open(f).read().split()[-2:])
l = cpu(sys.argv[3]) / max(1.0, float(sys.argv[4]))
r = cpu(sys.argv[5]) / max(1.0, float(sys.argv[6]))
print("  ratio    %.2fx Locust (goal >= 4x)" % (rp / lo))
print("  CPU per request: locust %.1fus, reprise %.1fus (recording included)"
      % (l * 1e6, r * 1e6))
PY
