#!/usr/bin/env bash
# bench_replay_locust.sh: closed-model throughput of `reprise replay --max
# --concurrency 32 --threads 1` (raw engine, every result recorded) against
# Locust 2.x (FastHttpUser, 32 users spawned at once, one process, headless)
# on the same loopback nginx endpoint (GET /, answered by nginx's return
# 200), alternating over ROUNDS rounds of DUR seconds (the order flips every
# round). Each run prints its rate, the CPU per request, the steal and the
# CPU other processes used meanwhile (bench_lib.sh); the summary gives the
# median ratio (the goal is >= 10x Locust). Never asserts.
#   BUILD=build-rel ROUNDS=4 DUR=10 tests/bench/bench_replay_locust.sh
# Each round first waits up to QUIET_WAIT seconds (default 60; 0: no wait)
# for a quiet moment of the machine.
# Use a build without sanitizers for meaningful numbers.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
source "$SRC/tests/bench/bench_lib.sh"

DUR=${DUR:-10}
ROUNDS=${ROUNDS:-4}
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
# GET / is answered from nginx's configuration (return 200, no file
# I/O), so the server costs little per request and the generators' own
# cost decides more of the rate.
start_nginx web "$P" 'location = / { return 200 "hello from web\n"; }'
NG=$(nginx_master web)
HZ=$(getconf CLK_TCK)
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

run_one() {
    local name=$1 rate n err
    cpu_mark "$TMP/s0"
    local n0
    n0=$(tree_cpu_ticks "$NG")
    if [ "$name" = locust ]; then
        # -t counts from the start, so the 32 users run for about DUR seconds.
        /usr/bin/time -f "%U %S" -o "$TMP/cpu" locust -f "$TMP/locustfile.py" \
            --headless -u 32 -r 32 -t "${DUR}s" --host "http://127.0.0.1:$P" \
            --only-summary --csv "$TMP/locust" --loglevel WARNING \
            > "$TMP/locust.out" 2>&1 || fail "locust failed: $(tail -5 "$TMP/locust.out")"
        read -r rate n err <<<"$("$PY" - "$TMP/locust_stats.csv" <<'PY'
import csv, sys
for row in csv.DictReader(open(sys.argv[1])):
    if row["Name"] == "Aggregated":
        print(row["Requests/s"], row["Request Count"], row["Failure Count"])
PY
)"
        [ -n "${rate:-}" ] || fail "no Aggregated row in locust's CSV"
    else
        cp "$TMP/c.db" "$TMP/r.db"
        /usr/bin/time -f "%U %S" -o "$TMP/cpu" "$REPRISE" replay "$TMP/r.db" \
            --target "http://127.0.0.1:$P" --max --concurrency 32 --threads 1 \
            --duration "${DUR}s" --quiet --json > "$TMP/r.json"
        read -r rate n err <<<"$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["responses_per_s"], d["responses"], d["errors"])' "$TMP/r.json")"
        rows=$(sqlite3 "$TMP/r.db" "SELECT count(*) FROM results")
        [ "$rows" -eq $((n + err)) ] || fail "reprise recorded $rows results for $n responses"
    fi
    local n1
    n1=$(tree_cpu_ticks "$NG")
    cpu_mark "$TMP/s1"
    local tool own
    tool=$(python3 -c "print(sum(float(x) for x in open('$TMP/cpu').read().split()[-2:]))")
    own=$(python3 -c "print($tool + ($n1 - $n0) / $HZ)")
    read -r steal others <<<"$(round_quiet "$TMP/s0" "$TMP/s1" "$own")"
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$round" "$name" "$rate" "$n" \
        "$err" "$tool" "$steal" "$others" >> "$TMP/runs.tsv"
    printf "  round %s %-7s %7.0f req/s (%s requests, %s errors); CPU/request %.1fus; steal %s%%, others %s%%\n" \
        "$round" "$name" "$rate" "$n" "$err" \
        "$(python3 -c "print($tool / max(1, $n) * 1e6)")" "$steal" "$others"
}

echo "throughput vs Locust (GET /, 32 users/connections, 1 process/thread," \
     "$ROUNDS rounds of ${DUR}s each):"
uptime
for round in $(seq "$ROUNDS"); do
    [ "${QUIET_WAIT:-60}" = 0 ] || wait_quiet
    if [ $((round % 2)) -eq 1 ]; then run_one locust; run_one reprise
    else run_one reprise; run_one locust; fi
done
python3 - "$TMP/runs.tsv" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(dict)
for l in open(sys.argv[1]):
    r = l.rstrip("\n").split("\t")
    runs[int(r[0])][r[1]] = dict(rate=float(r[2]), n=int(r[3]), tool=float(r[5]),
                                 steal=float(r[6]), others=float(r[7]))
quiet = lambda x: x["steal"] < 2 and x["others"] < 5
ks = sorted(runs)
ratios = [runs[k]["reprise"]["rate"] / runs[k]["locust"]["rate"] for k in ks]
q = [runs[k]["reprise"]["rate"] / runs[k]["locust"]["rate"] for k in ks
     if quiet(runs[k]["reprise"]) and quiet(runs[k]["locust"])]
print("reprise / Locust: median %.1fx over %d rounds (%s); %d quiet rounds%s"
      % (statistics.median(ratios), len(ks), ", ".join("%.1f" % x for x in ratios),
         len(q), ": median %.1fx" % statistics.median(q) if q else ""))
cpu = lambda p: statistics.median(runs[k][p]["tool"] / max(1, runs[k][p]["n"]) * 1e6 for k in ks)
print("  CPU per request (median): reprise %.1fus (recording included), Locust %.1fus"
      % (cpu("reprise"), cpu("locust")))
print("goal: >= 10x Locust")
PY
pass done
