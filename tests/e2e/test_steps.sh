#!/usr/bin/env bash
# test_steps.sh: finding the limit of a target whose limit is known.
# capapp.py serves from a fixed pool of worker slots (W=4: /slow/* holds a
# slot 20 ms, /fast/* 5 ms, so a half/half mix peaks at 4/12.5ms = 320
# req/s); wrk measures its capacity independently (the same mix, closed
# loop). Then:
#   - a stepped replay (--rate, 6% steps, --stop-if) with --monitor on its
#     /metrics, a malformed endpoint and a dead one, and --monitor-pid on
#     the server: the run's maximum sustained throughput lies within +-10%
#     of wrk's figure, GET /slow/:id is the limiting endpoint, the
#     busy-slot gauge is saturated, the failed scrapes are recorded and the
#     run is not disturbed by them;
#   - the same against a pool of W=2 (release v2): analyze reports about
#     half the capacity, --fail-if 'capacity<-10%' FAILs (exit 1), and the
#     JSON carries capacity and capacity_baseline; the HTML report renders
#     the capacity charts in Chromium;
#   - bad input: --monitor with a non-HTTP URL, --monitor-pid of no
#     process, 'capacity<-10' without %: exit 2; a capacity gate against a
#     baseline that is not stepped: INCONCLUSIVE (exit 3).
# serial: timing (the capacities measured by wrk and by the replay must see
# the same machine, so nothing else runs beside this test)
source "$SRC/tests/lib.sh"
command -v wrk > /dev/null || skip "wrk missing"
PY=/usr/bin/python3

p4=$(free_port); p2=$(free_port)
$PY "$SRC/tests/e2e/capapp.py" "$p4" 4 20 5 & track_pid $!
pid4=$!
$PY "$SRC/tests/e2e/capapp.py" "$p2" 2 20 5 & track_pid $!
wait_port "$p4"; wait_port "$p2"

# a capture of the mix: 200 requests, alternating /slow and /fast
$PY - "$TMP/mix.pcap" <<'EOF'
import sys
sys.path.insert(0, __import__("os").environ["SRC"] + "/tests/e2e")
from pcapgen import Pcap, get, ok
p = Pcap(sys.argv[1])
for i in range(200):
    path = ("/slow/%d" if i % 2 == 0 else "/fast/%d") % i
    p.conn(get(path.encode()), ok(b"ok\n"))
p.close()
EOF
db=$TMP/s.db
"$REPRISE" capture -q -r "$TMP/mix.pcap" -o "$db" || fail "capture"
json() { $PY -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }
rc() { local o=$1 e=$2 r; shift 2; set +e; "$@" > "$o" 2> "$e"; r=$?; set -e; echo $r; }

# wrk: the same mix, closed loop, more connections than slots
cat > "$TMP/mix.lua" <<'EOF'
local i = 0
request = function()
  i = i + 1
  if i % 2 == 0 then return wrk.format("GET", "/slow/" .. i) end
  return wrk.format("GET", "/fast/" .. i)
end
EOF
wrk_rps() { wrk -t1 -c16 -d3s -s "$TMP/mix.lua" "http://127.0.0.1:$1/" |
            awk '/^Requests\/sec/ {print $2}'; }
w4=$(wrk_rps "$p4")
echo "wrk: W=4 capacity $w4 req/s"

# 6% steps from the start rate up to 2.4x
steps=$($PY -c 'print(",".join("%.4g" % (1.06 ** k) for k in range(16)))')
stepped() { # PORT RATE LABEL [extra...]
    local port=$1 rate=$2 label=$3
    shift 3
    "$REPRISE" replay "$db" --target "http://127.0.0.1:$port" --rate "$rate" \
        --steps "$steps" --step-duration 2s --stop-if 'p99>250ms' \
        --monitor "http://127.0.0.1:$port/metrics" --label "$label" --json "$@"
}
dead=$(free_port)
stepped "$p4" 150 v1 --monitor "http://127.0.0.1:$p4/metrics-bad" \
    --monitor "http://127.0.0.1:$dead/metrics" --monitor-pid "$pid4" \
    > "$TMP/v1.json" 2> "$TMP/v1.err" || fail "v1 replay: $(cat "$TMP/v1.err")"
grep -q "reprise: --monitor http://127.0.0.1:$p4/metrics-bad: malformed exposition: line 1: capapp_pool_busy: expected" "$TMP/v1.err" ||
    fail "no warning for the malformed exposition: $(cat "$TMP/v1.err")"
[ "$(json "$TMP/v1.json" 'r["stopped_by"]["condition"]')" = "p99>250ms" ] ||
    fail "the run was not stopped by its SLO: $(json "$TMP/v1.json" 'r["stopped_by"]')"
json "$TMP/v1.json" '[(m["source"], m["scrapes"] > 0, m["failed"] == m["scrapes"], m["series"]) for m in r["monitor"]]' > "$TMP/mon"
grep -q "('http://127.0.0.1:$p4/metrics', True, False, 3)" "$TMP/mon" || fail "metrics scrapes: $(cat "$TMP/mon")"
grep -q "('http://127.0.0.1:$p4/metrics-bad', True, True, 0)" "$TMP/mon" || fail "bad scrapes: $(cat "$TMP/mon")"
grep -q "('http://127.0.0.1:$dead/metrics', True, True, 0)" "$TMP/mon" || fail "dead scrapes: $(cat "$TMP/mon")"
grep -q "('pid:$pid4', True, False, 4)" "$TMP/mon" || fail "pid samples: $(cat "$TMP/mon")"
[ "$(json "$TMP/v1.json" 'r["errors"]')" = 0 ] || fail "v1 had errors"
pass "stepped replay: stopped by its SLO, every scrape recorded (failed ones as failed), no error"

r=$(rc "$TMP/a1.txt" "$TMP/a1.err" "$REPRISE" analyze "$db" --candidate v1 -o "$TMP/a1.json" -o "$TMP/a1.txt")
[ "$r" = 0 ] || [ "$r" = 3 ] || fail "analyze v1: exit $r $(cat "$TMP/a1.err")"
sed -n '/^capacity of/,/^$/p' "$TMP/a1.txt"
m4=$(json "$TMP/a1.json" 'r["capacity"]["max_sustained_rps"]')
$PY -c "import sys; w, m = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if abs(m - w) <= 0.1 * w else 1)" "$w4" "$m4" ||
    fail "maximum sustained $m4 req/s is not within 10% of wrk's $w4"
[ "$(json "$TMP/a1.json" 'r["capacity"]["limiting_endpoint"]')" = "GET /slow/:id" ] ||
    fail "limiting endpoint: $(json "$TMP/a1.json" 'r["capacity"]["limiting_endpoint"]')"
json "$TMP/a1.json" 'r["capacity"]["saturated_series"]' | grep -q "'capapp_pool_busy'" ||
    fail "saturated: $(json "$TMP/a1.json" 'r["capacity"]["saturated_series"]')"
[ "$(json "$TMP/a1.json" 'r["capacity"]["knee_step"] is not None and r["capacity"]["usl"]["peak_rps"] > 0')" = True ] ||
    fail "no knee or USL"
[ "$(json "$TMP/a1.json" 'len(r["capacity"]["steps"]) == r["capacity"]["knee_step"] + 1 or r["capacity"]["stopped_by"] is not None')" = True ] ||
    fail "steps table"
[ "$(json "$TMP/a1.json" 'r["capacity"]["monitor"]["scrapes_failed"] > 0')" = True ] || fail "failed scrapes not reported"
grep -q "limiting endpoint: GET /slow/:id" "$TMP/a1.txt" || fail "text report: limiting endpoint"
pass "W=4: maximum sustained $m4 req/s vs wrk $w4 (within 10%); limiting GET /slow/:id; capapp_pool_busy saturated"

# each step offered its multiple of the rate (a step whose capture pass did
# not fit in it once left later steps with only that part of the capture)
offered_ok() { # JSON RATE
    $PY - "$1" "$2" <<'EOF'
import json, sys
r, rate = json.load(open(sys.argv[1])), float(sys.argv[2])
bad = [(s["step"], s["offered_rps"]) for s in r["capacity"]["steps"]
       if abs(s["offered_rps"] - rate * s["multiple"]) > 0.02 * rate * s["multiple"] + 1]
sys.exit("offered rates off: %s" % bad if bad else 0)
EOF
}
offered_ok "$TMP/a1.json" 150 || fail "v1 steps"

# release v2: half the pool
stepped "$p2" 75 v2 > "$TMP/v2.json" 2> "$TMP/v2.err" || fail "v2 replay: $(cat "$TMP/v2.err")"
r=$(rc "$TMP/cmp.txt" "$TMP/cmp.err" "$REPRISE" analyze "$db" --baseline v1 --candidate v2 \
    --fail-if 'capacity<-10%' -o "$TMP/cmp.json" -o "$TMP/cmp.txt" -o "$TMP/cmp.html" -o "$TMP/cmp.md")
[ "$r" = 1 ] || fail "capacity gate: exit $r, $(cat "$TMP/cmp.txt" "$TMP/cmp.err")"
ch=$(json "$TMP/cmp.json" 'r["capacity_change_pct"]')
$PY -c "import sys; c = float(sys.argv[1]); sys.exit(0 if -60 <= c <= -40 else 1)" "$ch" ||
    fail "capacity change $ch% is not about -50%"
json "$TMP/cmp.json" 'r["verdict_reasons"]' | grep -q "capacity<-10% held: run .* 'v2' sustains" ||
    fail "reasons: $(json "$TMP/cmp.json" 'r["verdict_reasons"]')"
[ "$(json "$TMP/cmp.json" 'r["capacity_baseline"]["max_sustained_rps"] > r["capacity"]["max_sustained_rps"]')" = True ] ||
    fail "capacity_baseline"
grep -q "because: capacity<-10% held" "$TMP/cmp.txt" || fail "text: reason"
grep -q "Capacity of the baseline" "$TMP/cmp.md" || fail "markdown: capacity"
offered_ok "$TMP/cmp.json" 75 || fail "v2 steps"
pass "W=2 vs W=4: capacity change $ch%, --fail-if 'capacity<-10%' FAIL (exit 1)"

if command -v chromium > /dev/null; then
    timeout 60 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$TMP/chr" \
        --dump-dom "file://$TMP/cmp.html" > "$TMP/dom.html" 2> /dev/null || fail "chromium"
    for want in 'id="capacity"' 'id="capacity-baseline"' "Offered vs achieved requests/s per step" \
                "Latency per step" "capapp_pool_busy (saturated at the knee)" "max sustained"; do
        grep -q "$want" "$TMP/dom.html" || fail "HTML in Chromium: no '$want'"
    done
    pass "HTML: Chromium renders the capacity tables and charts of both runs"
fi

# bad input
for bad in "--monitor ftp://127.0.0.1/x" "--monitor-pid 4194303" "--monitor-pid x"; do
    r=$(rc /dev/null "$TMP/bad.err" "$REPRISE" replay "$db" --target "http://127.0.0.1:$p4" --rate 10 $bad)
    [ "$r" = 2 ] || fail "'$bad': exit $r"
done
r=$(rc /dev/null "$TMP/bad.err" "$REPRISE" analyze "$db" --fail-if 'capacity<-10')
[ "$r" = 2 ] && grep -q "in percent" "$TMP/bad.err" || fail "capacity<-10: exit $r $(cat "$TMP/bad.err")"
r=$(rc "$TMP/nc.txt" "$TMP/nc.err" "$REPRISE" analyze "$db" --candidate v2 --fail-if 'capacity<-10%')
[ "$r" = 3 ] && grep -q "needs two stepped runs" "$TMP/nc.txt" || fail "capacity vs the capture: exit $r $(cat "$TMP/nc.txt")"
pass "bad input: exit 2; a capacity gate without a stepped baseline is INCONCLUSIVE (exit 3)"
