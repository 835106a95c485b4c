#!/usr/bin/env bash
# bench_replay_redis.sh: closed-model throughput of `reprise replay --max`
# on a redis:// target (the wire engine: one connection per captured
# connection, every result recorded in the corpus) against redis-benchmark,
# the server's own load generator, on the same redis-server: GET of one
# key, 16 connections, no pipelining. The corpus is redis-benchmark's own
# traffic, recorded with tcpdump and captured with --protocol redis. The
# tools alternate over ROUNDS rounds of DUR seconds, the order flipping
# every round; each run prints its rate, its CPU per request and the
# server's, the steal and the CPU others used meanwhile (bench_lib.sh); the
# summary gives the median ratio over all rounds and the quiet ones. Never
# asserts.
#   BUILD=build-rel ROUNDS=6 DUR=5 tests/bench/bench_replay_redis.sh
# Use a build without sanitizers for meaningful numbers.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
source "$SRC/tests/bench/bench_lib.sh"

DUR=${DUR:-5}
ROUNDS=${ROUNDS:-6}
C=16
command -v redis-server >/dev/null || skip "redis-server not installed"
command -v redis-benchmark >/dev/null || skip "redis-tools not installed"
command -v tcpdump >/dev/null || skip "tcpdump not installed"
[ -x /usr/bin/time ] || skip "/usr/bin/time not installed"
if grep -q 'REPRISE_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    echo "note: $BUILD is a sanitizer build; reprise is several times slower"
fi
cmake --build "$BUILD" --target reprise -j2 >/dev/null

P=$(free_port)
redis-server --port "$P" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$TMP" > "$TMP/redis.log" 2>&1 &
RS=$!
track_pid "$RS"
wait_port "$P"
redis-cli -p "$P" SET key:__rand_int__ value >/dev/null
start_tcpdump "$P" "$TMP/cap.pcap"
redis-benchmark -p "$P" -c "$C" -n 20000 -t get -q > /dev/null 2>&1 || fail "redis-benchmark"
sleep 1.2
stop_tcpdump
[ "$(tcpdump_drops "$TMP/cap.pcap")" -eq 0 ] || skip "tcpdump dropped packets"
"$REPRISE" capture -r "$TMP/cap.pcap" -o "$TMP/c.db" --protocol redis --quiet || fail "capture"
echo "corpus: $(sqlite3 "$TMP/c.db" "SELECT COUNT(*) FROM exchanges WHERE method = 'GET'") GETs on $(sqlite3 "$TMP/c.db" "SELECT COUNT(*) FROM connections") connections"
HZ=$(getconf CLK_TCK)

run_one() {
    local name=$1 rate n err
    cpu_mark "$TMP/s0"
    local n0
    n0=$(tree_cpu_ticks "$RS")
    if [ "$name" = redis-benchmark ]; then
        # as many requests as reprise answers in DUR at about the same rate
        /usr/bin/time -f "%U %S" -o "$TMP/cpu" redis-benchmark -p "$P" -c "$C" \
            -n "${BENCH_N:-400000}" -t get -q > "$TMP/out" 2>&1
        read -r rate n err <<<"$(python3 - "$TMP/out" "${BENCH_N:-400000}" <<'PY'
import re, sys
o = open(sys.argv[1]).read().replace("\r", "\n")
rate = float(re.findall(r"GET: ([\d.]+) requests per second", o)[-1])
print(rate, sys.argv[2], 0)
PY
)"
    else
        cp "$TMP/c.db" "$TMP/r.db"
        /usr/bin/time -f "%U %S" -o "$TMP/cpu" "$REPRISE" replay "$TMP/r.db" \
            --target "redis://127.0.0.1:$P" --max --concurrency "$C" \
            --duration "${DUR}s" --quiet --json > "$TMP/out"
        read -r rate n err <<<"$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["responses_per_s"], d["responses"], d["errors"])' "$TMP/out")"
    fi
    local n1
    n1=$(tree_cpu_ticks "$RS")
    cpu_mark "$TMP/s1"
    local own srv_s tool_s
    srv_s=$(python3 -c "print(($n1 - $n0) / $HZ)")
    tool_s=$(python3 -c "print(sum(float(x) for x in open('$TMP/cpu').read().split()[-2:]))")
    own=$(python3 -c "print($tool_s + $srv_s)")
    read -r steal others <<<"$(round_quiet "$TMP/s0" "$TMP/s1" "$own")"
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$round" "$name" "$rate" "$n" \
        "$err" "$tool_s" "$srv_s" "$steal" "$others" >> "$TMP/runs.tsv"
    python3 - "$round" "$name" "$rate" "$n" "$err" "$tool_s" "$srv_s" "$steal" "$others" <<'PY'
import sys
rnd, name, rate, n, err, tool, srv, steal, oth = sys.argv[1:]
n = int(n)
print("  round %s %-15s %8.0f req/s (%d responses, %s errors); CPU/request "
      "%.1fus, redis-server %.1fus; steal %s%%, others %s%%"
      % (rnd, name, float(rate), n, err, float(tool) / max(1, n) * 1e6,
         float(srv) / max(1, n) * 1e6, steal, oth))
PY
}

echo "redis GET, $C connections, no pipelining; $ROUNDS rounds of ${DUR}s:"
uptime
for round in $(seq "$ROUNDS"); do
    [ "${QUIET_WAIT:-60}" = 0 ] || wait_quiet
    order="reprise redis-benchmark"
    [ $((round % 2)) -eq 0 ] && order="redis-benchmark reprise"
    for name in $order; do run_one "$name"; done
done
python3 - "$TMP/runs.tsv" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(dict)
for l in open(sys.argv[1]):
    r = l.rstrip("\n").split("\t")
    runs[int(r[0])][r[1]] = dict(rate=float(r[2]), n=int(r[3]), err=int(r[4]),
                                 tool=float(r[5]), srv=float(r[6]),
                                 steal=float(r[7]), others=float(r[8]))
quiet = lambda x: x["steal"] < 2 and x["others"] < 5
ks = sorted(runs)
ratios = [runs[k]["reprise"]["rate"] / runs[k]["redis-benchmark"]["rate"] for k in ks]
q = [runs[k]["reprise"]["rate"] / runs[k]["redis-benchmark"]["rate"] for k in ks
     if quiet(runs[k]["reprise"]) and quiet(runs[k]["redis-benchmark"])]
print("reprise / redis-benchmark: median %.2fx over %d rounds (%s); %d quiet rounds%s"
      % (statistics.median(ratios), len(ks), ", ".join("%.2f" % x for x in ratios),
         len(q), ": median %.2fx" % statistics.median(q) if q else ""))
for t in ("reprise", "redis-benchmark"):
    print("  CPU per request (median) %s %.2fus" % (t, statistics.median(
        runs[k][t]["tool"] / max(1, runs[k][t]["n"]) * 1e6 for k in ks)))
print("  errors: reprise %d" % sum(runs[k]["reprise"]["err"] for k in ks))
PY
pass done
