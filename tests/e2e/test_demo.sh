#!/usr/bin/env bash
# The demo's pipeline, with shorter traffic, so it cannot rot: live capture on
# lo, three replays, the analysis must name the planted latency regression
# (GET /api/orders/:id) and the status change (GET /api/users/:id) and fail
# the gate, and nothing else may be flagged. Needs root for the live capture.
# The three replays and their servers share two cores; when the analysis
# warns that the replays fell behind their schedule (the generators were
# starved, as under ASan on a busy machine) and the verdict is off, the demo
# runs once more and says so, as test_ab.sh does.
source "$SRC/tests/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "live capture needs root"

# Runs the demo into $1; prints what is wrong with its verdict, if anything.
demo_problem() {
    local out=$1 log=$1.log
    DEMO_SECONDS=${DEMO_SECONDS:-8} DEMO_USERS=3 DEMO_OUT=$out REPRISE=$REPRISE \
        "$SRC/samples/demo.sh" > "$log" 2>&1 || { echo "demo.sh failed"; return; }
    grep -q 'failed: p90>+10% on GET /api/orders/:id' "$log" || { echo "regression not named"; return; }
    grep -q 'failed: status-changed>0.5% on GET /api/users/:id' "$log" || { echo "status change not named"; return; }
    local n; n=$(grep -c '^failed:' "$log")
    # a starved generator's latency failures are listed but marked as not
    # trusted, and the verdict then rests on the status change alone
    if [ "$n" -ne 2 ] && grep -q 'measured by a starved generator: not trusted' "$log" &&
        grep -q '^  because: status-changed>0.5% held on 1 group' "$log" &&
        [ "$(grep -c '^  because:' "$log")" -eq 1 ]; then
        echo "starved: $n failed conditions, the latency ones not trusted" >&2
    else
        [ "$n" -eq 2 ] || { echo "expected exactly 2 failed conditions, got $n"; return; }
    fi
    # v2 is slower but keeps pace with its arrivals: that is not saturation
    ! grep -q '^saturation' "$log" || echo "saturation claimed"
}

out=$TMP/demo
problem=$(demo_problem "$out")
if [ -n "$problem" ] && grep -q 'fell behind its schedule' "$out.log"; then
    echo "first round: $problem, and the replays fell behind their schedule; running the demo once more"
    cp "$out.log" "$TMP/demo-starved.log"
    rm -rf "$out"
    problem=$(demo_problem "$out")
fi
[ -z "$problem" ] || { cat "$out.log"; fail "$problem"; }
[ -s "$out/report.html" ] || fail "no report.html"
grep -q '<svg' "$out/report.html" || fail "report.html has no charts"
pass "demo pipeline"
