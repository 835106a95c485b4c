#!/usr/bin/env bash
# bench_replay_web.sh: does the --web dashboard slow the replay? Closed-model
# throughput of `reprise replay --max --concurrency 32` (raw engine, every
# result recorded) against nginx's GET /, with and without `--web`, in
# alternating rounds (the order flips every round, so drift and CPU steal
# from the other guests of this shared VM hit both). With --web, a scraper
# reads /api/stats and /metrics once a second during the round, as an open
# page and a Prometheus scrape would. Each run prints its rate, CPU per
# request, the steal and what other processes used; the summary gives the
# median ratio with/without over all rounds and over the quiet ones
# (bench_lib.sh). Never asserts.
#   BUILD=build-rel ROUNDS=6 DUR=5 tests/bench/bench_replay_web.sh
# QUIET_WAIT (default 60; 0: none) is how long each round first waits for a
# quiet moment; SCRAPE=0 leaves the dashboard unread (the server's idle
# cost only). Use a build without sanitizers.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
source "$SRC/tests/bench/bench_lib.sh"

DUR=${DUR:-5}
ROUNDS=${ROUNDS:-6}
command -v nginx >/dev/null || skip "nginx not installed"
command -v curl >/dev/null || skip "curl not installed"
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
start_nginx web "$P" 'location = / { return 200 "hello from web\n"; }'
NG=$(nginx_master web)
URL="http://127.0.0.1:$P"
curl -s -o /dev/null "$URL/"
HZ=$(getconf CLK_TCK)

# run_one NAME: NAME is plain or web; appends its figures to runs.tsv.
run_one() {
    local name=$1 web=() scraper=
    [ "$name" = web ] && web=(--web 0)
    cp "$TMP/c.db" "$TMP/r.db"
    cpu_mark "$TMP/s0"
    local n0
    n0=$(tree_cpu_ticks "$NG")
    /usr/bin/time -f "%U %S" -o "$TMP/cpu" "$REPRISE" replay "$TMP/r.db" \
        --target "$URL" --max --concurrency 32 --threads 1 \
        --duration "${DUR}s" --quiet --json "${web[@]}" > "$TMP/out" 2> "$TMP/err" &
    local rp=$!
    if [ "$name" = web ] && [ "${SCRAPE:-1}" != 0 ]; then
        # the page's poll and a Prometheus scrape, once a second (bounded)
        (
            for i in $(seq 1 100); do grep -q "control token" "$TMP/err" && break; sleep 0.05; done
            base=$(grep -o 'dashboard on http://127\.0\.0\.1:[0-9]*' "$TMP/err" | grep -o 'http.*')
            for i in $(seq 1 $((DUR + 2))); do
                curl -s -o /dev/null --max-time 2 "$base/api/stats" || true
                curl -s -o /dev/null --max-time 2 "$base/metrics" || true
                sleep 1
            done
        ) &
        scraper=$!
    fi
    wait "$rp"
    [ -n "$scraper" ] && { kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null || true; }
    local n1
    n1=$(tree_cpu_ticks "$NG")
    cpu_mark "$TMP/s1"
    local own ng_s tool_s
    ng_s=$(python3 -c "print(($n1 - $n0) / $HZ)")
    tool_s=$(python3 -c "print(sum(float(x) for x in open('$TMP/cpu').read().split()[-2:]))")
    own=$(python3 -c "print($tool_s + $ng_s)")
    read -r steal others <<<"$(round_quiet "$TMP/s0" "$TMP/s1" "$own")"
    read -r rate n err late <<<"$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["responses_per_s"], d["responses"], d["errors"], d["latency"]["p99_us"])' "$TMP/out")"
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$round" "$name" "$rate" "$n" \
        "$err" "$tool_s" "$steal" "$others" "$late" >> "$TMP/runs.tsv"
    python3 -c '
import sys
rnd, name, rate, n, err, tool, steal, oth, p99 = sys.argv[1:]
print("  round %s %-5s %8.0f req/s (%s responses, %s errors); CPU/request %.1fus; "
      "latency p99 %sus; steal %s%%, others %s%%"
      % (rnd, name, float(rate), n, err, float(tool) / max(1, int(n)) * 1e6, p99, steal, oth))
' "$round" "$name" "$rate" "$n" "$err" "$tool_s" "$steal" "$others" "$late"
}

echo "replay --max --concurrency 32 with and without --web (GET /; the dashboard $( [ "${SCRAPE:-1}" = 0 ] && echo "unread" || echo "read twice a second: /api/stats and /metrics")), $ROUNDS rounds of ${DUR}s:"
uptime
for round in $(seq "$ROUNDS"); do
    [ "${QUIET_WAIT:-60}" = 0 ] || wait_quiet
    order="plain web"
    [ $((round % 2)) -eq 0 ] && order="web plain"
    for name in $order; do
        run_one "$name"
    done
done
python3 - "$TMP/runs.tsv" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(dict)
for l in open(sys.argv[1]):
    r = l.rstrip("\n").split("\t")
    runs[int(r[0])][r[1]] = dict(rate=float(r[2]), n=int(r[3]), err=int(r[4]),
                                 tool=float(r[5]), steal=float(r[6]), others=float(r[7]))
quiet = lambda x: x["steal"] < 2 and x["others"] < 5
ks = sorted(runs)
ratios = [runs[k]["web"]["rate"] / runs[k]["plain"]["rate"] for k in ks]
q = [runs[k]["web"]["rate"] / runs[k]["plain"]["rate"] for k in ks
     if quiet(runs[k]["web"]) and quiet(runs[k]["plain"])]
cpu = lambda p: statistics.median(runs[k][p]["tool"] / max(1, runs[k][p]["n"]) * 1e6 for k in ks)
print("with --web / without: median %.3fx over %d rounds (%s); %d quiet rounds%s"
      % (statistics.median(ratios), len(ratios), ", ".join("%.3f" % x for x in ratios),
         len(q), ": median %.3fx" % statistics.median(q) if q else ""))
print("  median rate: without %.0f req/s, with %.0f req/s"
      % (statistics.median(runs[k]["plain"]["rate"] for k in ks),
         statistics.median(runs[k]["web"]["rate"] for k in ks)))
print("  CPU per request (median): without %.2fus, with %.2fus" % (cpu("plain"), cpu("web")))
print("  median steal: %.1f%%" % statistics.median(runs[k][p]["steal"] for k in ks for p in ("plain", "web")))
print("  errors: without %d, with %d" % (sum(runs[k]["plain"]["err"] for k in ks),
                                          sum(runs[k]["web"]["err"] for k in ks)))
PY
pass done
