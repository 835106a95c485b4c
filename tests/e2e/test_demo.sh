#!/usr/bin/env bash
# The demo's pipeline, with shorter traffic, so it cannot rot: live capture on
# lo, three replays, the analysis must name the planted latency regression
# (GET /api/orders/:id) and the status change (GET /api/users/:id) and fail
# the gate, and nothing else may be flagged. Needs root for the live capture.
source "$SRC/tests/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "live capture needs root"
out=$TMP/demo
DEMO_SECONDS=${DEMO_SECONDS:-8} DEMO_USERS=3 DEMO_OUT=$out REPRISE=$REPRISE \
    "$SRC/samples/demo.sh" > "$TMP/demo.log" 2>&1 || { cat "$TMP/demo.log"; fail "demo.sh failed"; }
grep -q 'failed: p90>+10% on GET /api/orders/:id' "$TMP/demo.log" || { cat "$TMP/demo.log"; fail "regression not named"; }
grep -q 'failed: status-changed>0.5% on GET /api/users/:id' "$TMP/demo.log" || { cat "$TMP/demo.log"; fail "status change not named"; }
n=$(grep -c '^failed:' "$TMP/demo.log")
[ "$n" -eq 2 ] || { cat "$TMP/demo.log"; fail "expected exactly 2 failed conditions, got $n"; }
# v2 is slower but keeps pace with its arrivals: that is not saturation
! grep -q '^saturation' "$TMP/demo.log" || { grep '^saturation' "$TMP/demo.log"; fail "saturation claimed"; }
[ -s "$out/report.html" ] || fail "no report.html"
grep -q '<svg' "$out/report.html" || fail "report.html has no charts"
pass "demo pipeline"
