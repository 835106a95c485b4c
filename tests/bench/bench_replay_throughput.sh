#!/usr/bin/env bash
# bench_replay_throughput.sh: closed-model throughput of `reprise replay
# --max` (raw engine, every result recorded in the corpus) against wrk on the
# same nginx endpoint (GET /, answered by nginx's return 200), in one run.
# MODE picks the comparison:
#   single    reprise --concurrency 32 --threads 1    vs wrk -t1 -c32 (goal
#             >= 1.0x wrk; below 0.9x is a miss); the curl engine runs too,
#             for reference
#   pipeline  reprise --concurrency 128 --pipeline 4  vs wrk -t1 -c32 with a
#             script that pipelines 4 requests (32 connections 4 deep each)
#   threads2  reprise --concurrency 32 --threads 2    vs wrk -t2 -c32
# The tools alternate over ROUNDS rounds of DUR seconds, the order flipping
# every round, so drift and bursts of CPU steal from other guests of this
# shared VM hit both. Each run prints its rate, the CPU per request of the
# tool and of nginx, the steal and the CPU that other processes used
# meanwhile; the summary gives the median ratio over all rounds and over
# the quiet ones (bench_lib.sh). Never asserts.
#   BUILD=build-rel MODE=single ROUNDS=6 DUR=5 tests/bench/bench_replay_throughput.sh
# Each round first waits up to QUIET_WAIT seconds (default 60; 0: no wait)
# for a quiet moment of the machine.
# Use a build without sanitizers for meaningful numbers.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
source "$SRC/tests/bench/bench_lib.sh"

DUR=${DUR:-5}
ROUNDS=${ROUNDS:-6}
MODE=${MODE:-single}
command -v nginx >/dev/null || skip "nginx not installed"
command -v wrk >/dev/null || skip "wrk not installed"
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
# GET / is answered from nginx's configuration (return 200, no file
# I/O), so the server costs little per request and the generators' own
# cost decides more of the rate.
start_nginx web "$P" 'location = / { return 200 "hello from web\n"; }'
NG=$(nginx_master web)
URL="http://127.0.0.1:$P"
curl -s -o /dev/null "$URL/" # warm up
HZ=$(getconf CLK_TCK)

case "$MODE" in
single)
    WRK=(wrk -t1 -c32 -d"${DUR}s" "$URL/")
    RP=(--max --concurrency 32 --threads 1)
    PEERS="wrk raw curl"
    DESC="32 connections, 1 thread" ;;
pipeline)
    wrk_pipeline_script "$TMP/pipeline.lua" 4
    WRK=(wrk -t1 -c32 -d"${DUR}s" -s "$TMP/pipeline.lua" "$URL/")
    RP=(--max --concurrency 128 --pipeline 4 --threads 1)
    PEERS="wrk raw"
    DESC="32 connections 4 deep (pipelining), 1 thread" ;;
threads2)
    WRK=(wrk -t2 -c32 -d"${DUR}s" "$URL/")
    RP=(--max --concurrency 32 --threads 2)
    PEERS="wrk raw"
    DESC="32 connections, 2 threads" ;;
*) fail "MODE must be single, pipeline or threads2" ;;
esac

# run_one NAME: one run of a tool; appends its figures to runs.tsv.
run_one() {
    local name=$1 rate n err rows
    cpu_mark "$TMP/s0"
    local n0
    n0=$(tree_cpu_ticks "$NG")
    if [ "$name" = wrk ]; then
        /usr/bin/time -f "%U %S" -o "$TMP/cpu" "${WRK[@]}" > "$TMP/out"
    else
        cp "$TMP/c.db" "$TMP/r.db"
        /usr/bin/time -f "%U %S" -o "$TMP/cpu" "$REPRISE" replay "$TMP/r.db" \
            --target "$URL" --engine "$name" "${RP[@]}" --duration "${DUR}s" \
            --quiet --json > "$TMP/out"
    fi
    local n1
    n1=$(tree_cpu_ticks "$NG")
    cpu_mark "$TMP/s1"
    local own ng_s
    ng_s=$(python3 -c "print(($n1 - $n0) / $HZ)")
    own=$(python3 -c "print(sum(float(x) for x in open('$TMP/cpu').read().split()[-2:]) + $ng_s)")
    read -r steal others <<<"$(round_quiet "$TMP/s0" "$TMP/s1" "$own")"
    if [ "$name" = wrk ]; then
        read -r rate n err <<<"$(python3 - "$TMP/out" <<'PY'
import re, sys
o = open(sys.argv[1]).read()
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", o).group(1))
n = int(re.search(r"(\d+) requests in", o).group(1))
e = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", o)
s = re.search(r"Non-2xx or 3xx responses: (\d+)", o)
print(rate, n, (sum(map(int, e.groups())) if e else 0) + (int(s.group(1)) if s else 0))
PY
)"
        rows=-
    else
        read -r rate n err <<<"$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["responses_per_s"], d["responses"], d["errors"])' "$TMP/out")"
        rows=$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM results")
    fi
    local tool_s
    tool_s=$(python3 -c "print(sum(float(x) for x in open('$TMP/cpu').read().split()[-2:]))")
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$round" "$name" "$rate" \
        "$n" "$err" "$rows" "$tool_s" "$ng_s" "$steal" "$others" >> "$TMP/runs.tsv"
    python3 - "$round" "$name" "$rate" "$n" "$err" "$rows" "$tool_s" "$ng_s" "$steal" "$others" <<'PY'
import sys
rnd, name, rate, n, err, rows, tool, ng, steal, oth = sys.argv[1:]
n = int(n)
rec = "" if rows == "-" else ", %s results recorded" % rows
print("  round %s %-4s %8.0f req/s (%d responses, %s errors%s); CPU/request "
      "%.1fus, nginx %.1fus; steal %s%%, others %s%%"
      % (rnd, name, float(rate), n, err, rec, float(tool) / max(1, n) * 1e6,
         float(ng) / max(1, n) * 1e6, steal, oth))
PY
}

echo "throughput ($MODE: GET /, $DESC), $ROUNDS rounds of ${DUR}s each:"
uptime
for round in $(seq "$ROUNDS"); do
    [ "${QUIET_WAIT:-60}" = 0 ] || wait_quiet
    order=$PEERS
    [ $((round % 2)) -eq 0 ] && order=$(echo "$PEERS" | tr ' ' '\n' | tac | tr '\n' ' ')
    for name in $order; do
        run_one "$name"
    done
done
python3 - "$TMP/runs.tsv" "$MODE" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(dict)
for l in open(sys.argv[1]):
    r = l.rstrip("\n").split("\t")
    runs[int(r[0])][r[1]] = dict(rate=float(r[2]), n=int(r[3]), err=int(r[4]),
                                 rows=r[5], tool=float(r[6]), ng=float(r[7]),
                                 steal=float(r[8]), others=float(r[9]))
quiet = lambda x: x["steal"] < 2 and x["others"] < 5
rounds = sorted(runs)
peers = [p for p in runs[rounds[0]] if p != "wrk"]
for p in peers:
    ratios = [runs[k][p]["rate"] / runs[k]["wrk"]["rate"] for k in rounds]
    q = [runs[k][p]["rate"] / runs[k]["wrk"]["rate"] for k in rounds
         if quiet(runs[k][p]) and quiet(runs[k]["wrk"])]
    cpu = statistics.median(runs[k][p]["tool"] / max(1, runs[k][p]["n"]) * 1e6
                            for k in rounds)
    wcpu = statistics.median(runs[k]["wrk"]["tool"] / max(1, runs[k]["wrk"]["n"]) * 1e6
                             for k in rounds)
    print("%s engine / wrk: median %.2fx over %d rounds (%s); %d quiet rounds%s"
          % (p, statistics.median(ratios), len(ratios),
             ", ".join("%.2f" % x for x in ratios), len(q),
             ": median %.2fx (%s)" % (statistics.median(q), ", ".join("%.2f" % x for x in q))
             if q else ""))
    print("  CPU per request (median): %s %.1fus (all threads, recording "
          "included), wrk %.1fus" % (p, cpu, wcpu))
    bad = [k for k in rounds if runs[k][p]["err"] or
           (runs[k][p]["rows"] != "-" and int(runs[k][p]["rows"]) != runs[k][p]["n"] + runs[k][p]["err"])]
    print("  errors: %s %d, wrk %d; every result recorded: %s"
          % (p, sum(runs[k][p]["err"] for k in rounds),
             sum(runs[k]["wrk"]["err"] for k in rounds), "no" if bad else "yes"))
if sys.argv[2] == "single":
    print("goal: raw >= 1.0x wrk (below 0.9x is a miss)")
PY
pass done
