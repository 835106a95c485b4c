#!/usr/bin/env bash
# test_verdict.sh: the CI gate cannot be fooled, through the real binary
# against real nginx servers. The sample capture (samples/shop.pcap) is
# replayed against release v1, v2 (GET /api/orders/:id 20 ms slower) and:
#   - a dead target: replay says so first and exits 1; analyze is FAIL;
#   - a server answering 401 to requests without credentials (the capture's
#     are redacted): the replay warns, analyze is FAIL with "200 -> 401";
#   - v2 under a p90 gate: orders has 71 requests, too few beyond p90, and
#     is judged at p50 instead: FAIL, not "not judged" and PASS;
#   - v2 with an A/A noise run whose generator is starved on purpose
#     (SIGSTOP/SIGCONT): INCONCLUSIVE, not PASS; with an honest noise run:
#     FAIL;
#   - a bursty schedule at 10x and 50x against the fast v1: no saturation;
#   - an interrupted replay: its summary and `reprise ls` agree on errors;
#   - an A/A pair replayed side by side 10 times: never FAIL, and
#     INCONCLUSIVE only when a run's generator was measurably starved.
source "$SRC/tests/lib.sh"
[ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || skip "nginx echo module missing"

v1=$(free_port); v1b=$(free_port); v2=$(free_port)
"$SRC/samples/start-release.sh" v1 "$v1" "$TMP/v1" & track_pid $!
"$SRC/samples/start-release.sh" v1 "$v1b" "$TMP/v1b" & track_pid $!
"$SRC/samples/start-release.sh" v2 "$v2" "$TMP/v2" & track_pid $!
wait_port "$v1"; wait_port "$v1b"; wait_port "$v2"
db=$TMP/v.db
"$REPRISE" capture -q -r "$SRC/samples/shop.pcap" -o "$db" || fail "capture"
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }
# rc OUT ERR CMD...: runs CMD with stdout to OUT and stderr to ERR, prints
# its exit code
rc() { local o=$1 e=$2 r; shift 2; set +e; "$@" > "$o" 2> "$e"; r=$?; set -e; echo $r; }
replay() { "$REPRISE" replay "$db" --spin 0 --quiet "$@"; }

# warm the servers: a cold nginx answers its first requests slower
for p in $v1 $v1b $v2; do replay --target "http://127.0.0.1:$p" --speed 20 --label "warm$p"; done
replay --target "http://127.0.0.1:$v1" --speed 10 --label v1
# a label used again is said to move to the new run
"$REPRISE" replay "$db" --target "http://127.0.0.1:$v1" --speed 50 --label "warm$v1" --quiet 2> "$TMP/relabel.err"
grep -q "the label 'warm$v1' already names run 1; from now on it means the new run" "$TMP/relabel.err" ||
    fail "no warning for a reused label: $(cat "$TMP/relabel.err")"

# 1. a dead target
dead=$(free_port)
r=$(rc "$TMP/dead.out" "$TMP/dead.err" "$REPRISE" replay "$db" \
    --target "http://127.0.0.1:$dead" --speed 20 --label dead)
[ "$r" = 1 ] || fail "dead target: replay exit $r"
sed -n 2p "$TMP/dead.out" | grep -q "^  FAILED    249 of 249 requests sent" ||
    fail "dead target: the summary does not start with the failure: $(cat "$TMP/dead.out")"
grep -q "^  advice    nothing accepted connections on 127.0.0.1:$dead" "$TMP/dead.out" || fail "dead target: advice"
grep -q "latency   none" "$TMP/dead.out" || fail "dead target: a latency was printed"
r=$(rc /dev/null "$TMP/err" "$REPRISE" analyze "$db" --baseline v1 --candidate dead \
    --fail-if 'p99>+10%' --format json -o "$TMP/dead.json")
[ "$r" = 1 ] || fail "dead target: analyze exit $r"
[ "$(json "$TMP/dead.json" 'r["verdict"]')" = fail ] || fail "dead target: verdict"
json "$TMP/dead.json" 'r["verdict_reasons"]' | grep -q "every request of the candidate failed (249 of 249: refused 249)" ||
    fail "dead target: reasons $(json "$TMP/dead.json" 'r["verdict_reasons"]')"
[ "$(json "$TMP/dead.json" 'r["overall"]["candidate"]["p50_us"]')" = None ] || fail "dead target: p50 is not null"
pass "dead target: replay leads with 'refused' and exits 1; analyze FAIL (exit 1)"

# 2. every answer a 401: the capture's credentials were redacted
auth=$(free_port)
start_nginx auth "$auth" 'location / { if ($http_authorization = "") { return 401 "{\"error\":\"login\"}"; } return 200 "ok"; }'
replay --target "http://127.0.0.1:$auth" --speed 20 --label auth > /dev/null 2>&1 || true
"$REPRISE" replay "$db" --target "http://127.0.0.1:$auth" --speed 20 --label auth2 > "$TMP/auth.out" 2>&1 ||
    fail "401s: replay failed"
grep -q "WARNING .* responses were 4xx, and .* redacted header values (Authorization, Cookie...) were not sent" "$TMP/auth.out" ||
    fail "401s: no credentials warning: $(cat "$TMP/auth.out")"
r=$(rc "$TMP/auth.txt" "$TMP/err" "$REPRISE" analyze "$db" --baseline v1 --candidate auth2)
[ "$r" = 1 ] || fail "401s: analyze exit $r"
grep -q "failed: status-mix>1% (default) on GET /api/users/:id (100.00 points moved)" "$TMP/auth.txt" ||
    fail "401s: the status gate: $(grep -E '^(failed|verdict)' "$TMP/auth.txt")"
grep -q "^    200 -> 401: 92 (e.g. " "$TMP/auth.txt" || fail "401s: no transition 200 -> 401"
pass "every answer a 401: FAIL (exit 1) with '200 -> 401: 92'"

# 3. v2 under a p90 gate: orders (71 requests) is judged at p50
replay --target "http://127.0.0.1:$v2" --speed 10 --label v2
# starved() JSON: 1 when the baseline's or the candidate's generator fell
# behind (this machine is shared: then the verdict is INCONCLUSIVE, rightly)
starved() { json "$1" '1 if r["baseline"]["starved"] or r["candidate"]["starved"] else 0'; }
r=$(rc /dev/null "$TMP/err" "$REPRISE" analyze "$db" --baseline v1 --candidate v2 \
    --fail-if 'p90>+10%' --fail-if 'status-changed>50%' -o "$TMP/p90.txt" -o "$TMP/p90.json")
[ "$r" = 1 ] || { [ "$r" = 3 ] && [ "$(starved "$TMP/p90.json")" = 1 ]; } ||
    fail "p90 gate: exit $r: $(grep -E '^(failed|note|verdict|  because)' "$TMP/p90.txt")"
grep -q "^failed: p90>+10% on GET /api/orders/:id (change +[0-9.]*%, judged at p50)" "$TMP/p90.txt" ||
    fail "p90 gate: $(grep -E '^(failed|note|verdict)' "$TMP/p90.txt")"
pass "small endpoint, large p50 shift, p90 gate: judged at p50, exit $r (3 only with a starved generator)"

# 4. a starved A/A noise run: SIGSTOP/SIGCONT its generator
three() { # $1: suffix, $2: 1 to starve the noise run
    local pids=() p
    replay --target "http://127.0.0.1:$v1" --speed 2 --loop 2 --label "b$1" & pids+=($!)
    # the generator itself, not a subshell: SIGSTOP must reach it
    "$REPRISE" replay "$db" --spin 0 --quiet --target "http://127.0.0.1:$v1b" --speed 2 --loop 2 \
        --label "n$1" & local np=$!; pids+=($np)
    replay --target "http://127.0.0.1:$v2" --speed 2 --loop 2 --label "c$1" & pids+=($!)
    if [ "$2" = 1 ]; then
        # stopped 80% of the time: most of its requests go out tens of
        # milliseconds late, and its "noise floor" would hide v2's 20 ms
        for _ in $(seq 1 150); do
            kill -STOP "$np" 2>/dev/null || break
            sleep 0.08
            kill -CONT "$np" 2>/dev/null || break
            sleep 0.02
        done
    fi
    for p in "${pids[@]}"; do wait "$p" || fail "a replay failed"; done
}
three -s 1
r=$(rc /dev/null "$TMP/err" "$REPRISE" analyze "$db" --baseline b-s --candidate c-s \
    --noise n-s --fail-if 'p90>+10%' --fail-if 'status-changed>50%' --format json -o "$TMP/ns.json")
[ "$r" = 3 ] ||
    fail "starved noise run: exit $r, $(json "$TMP/ns.json" 'r["verdict_reasons"], r["noise"]["lateness_p99_us"]')"
json "$TMP/ns.json" 'r["noise_suspect"]' | grep -q "its generator fell behind its schedule" ||
    fail "starved noise run: $(json "$TMP/ns.json" 'r["noise_suspect"]')"
three -h 0
late=$(json "$TMP/ns.json" 'r["noise"]["lateness_p99_us"]')
set +e
"$REPRISE" analyze "$db" --baseline b-h --candidate c-h --noise n-h --fail-if 'p90>+10%' \
    --fail-if 'status-changed>50%' --format json -o "$TMP/nh.json"
hrc=$?
set -e
# honest, unless this machine starved one of them anyway: then inconclusive
if [ "$hrc" = 3 ]; then
    json "$TMP/nh.json" 'r["baseline"]["starved"] or r["candidate"]["starved"] or r["noise"]["starved"]' |
        grep -q True || fail "honest noise run: INCONCLUSIVE without a starved run: $(json "$TMP/nh.json" 'r["verdict_reasons"]')"
    echo "the honest round was starved by the machine: INCONCLUSIVE, as it should"
else
    [ "$hrc" = 1 ] || fail "honest noise run: exit $hrc"
fi
pass "starved noise run (p99 lateness ${late}us): INCONCLUSIVE (exit 3); honest noise run: exit $hrc"

# 5. bursty schedules at high multiples against a fast server
for x in 10 50; do
    replay --target "http://127.0.0.1:$v1" --speed $x --loop 2 --label "burst$x"
    "$REPRISE" analyze "$db" --candidate "burst$x" --format json -o "$TMP/b$x.json" || true
    [ "$(json "$TMP/b$x.json" 'r["saturation"]')" = None ] ||
        fail "--speed $x: saturation claimed: $(json "$TMP/b$x.json" 'r["saturation"]')"
done
pass "bursty 10x and 50x schedules against a fast server: no saturation claim"

# 6. an interrupted replay: summary and ls agree
set +e
"$REPRISE" replay "$db" --target "http://127.0.0.1:$dead" --rate 100 --loop 20 --label cut \
    --json > "$TMP/cut.json" 2>/dev/null &
rp=$!
sleep 1
kill -INT $rp
wait $rp
set -e
sum=$(json "$TMP/cut.json" 'str(r["errors"]) + " " + str(r["not_sent"])')
lsline=$("$REPRISE" ls "$db" | awk '$2 == "cut" {print $9 " " $10}')
[ "$sum" = "$lsline" ] || fail "interrupted run: summary says errors/not sent $sum, ls says $lsline"
pass "interrupted run: summary and ls agree ($sum errors / not sent)"

# 7. A/A pairs side by side, 10 times: never FAIL
starved=0; inconclusive=0
for i in $(seq 1 10); do
    replay --target "http://127.0.0.1:$v1" --speed 10 --label "aa$i-a" & a=$!
    replay --target "http://127.0.0.1:$v1b" --speed 10 --label "aa$i-b" & b=$!
    wait $a; wait $b
    set +e
    "$REPRISE" analyze "$db" --baseline "aa$i-a" --candidate "aa$i-b" --fail-if 'p90>+10%' \
        --fail-if 'p50>+10%' --format json -o "$TMP/aa$i.json"
    rc=$?
    set -e
    st=$(json "$TMP/aa$i.json" 'r["baseline"]["starved"] or r["candidate"]["starved"]')
    [ "$st" = True ] && starved=$((starved + 1))
    case "$rc" in
        0) ;;
        3) [ "$st" = True ] || fail "A/A $i: INCONCLUSIVE without a starved run: $(json "$TMP/aa$i.json" 'r["verdict_reasons"]')"
           inconclusive=$((inconclusive + 1)) ;;
        *) fail "A/A $i: exit $rc: $(json "$TMP/aa$i.json" 'r["verdict_reasons"]')" ;;
    esac
done
pass "A/A x10: $((10 - inconclusive)) PASS, $inconclusive INCONCLUSIVE, 0 FAIL; $starved rounds had a starved generator"
