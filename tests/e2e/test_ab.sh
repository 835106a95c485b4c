#!/usr/bin/env bash
# A/B and A/A: traffic recorded against release v1 is replayed at 10x against
# v1 twice and against v2, where GET /api/orders/:id is 20 ms slower (and
# some users answer 404). The analyzer must flag exactly the orders endpoint
# as a latency regression and fail the gate; v1 against v1 flags nothing.
source "$SRC/tests/lib.sh"

v1=$(free_port); v2=$(free_port)
"$SRC/samples/start-release.sh" v1 "$v1" "$TMP/v1" & track_pid $!
"$SRC/samples/start-release.sh" v2 "$v2" "$TMP/v2" & track_pid $!
wait_port "$v1"; wait_port "$v2"

pcap=$TMP/traffic.pcap
start_tcpdump "$v1" "$pcap"
python3 "$SRC/samples/traffic.py" --port "$v1" --duration "${AB_SECONDS:-8}" --users 3
stop_tcpdump

db=$TMP/ab.db
"$REPRISE" capture -r "$pcap" -o "$db" --port "$v1" || fail "capture"
# The first replay warms both servers and the machine's caches; it is not
# compared. Then the three compared replays run side by side, against three
# servers (a second v1 instance for the A/A noise floor), so that whatever
# else the machine does slows all three alike. They share two cores with
# their servers, so they sleep between requests (--spin 0, as the demo).
"$REPRISE" replay "$db" --target "http://127.0.0.1:$v1" --speed 10 --label warmup --quiet \
    || fail "warm-up replay"
v1b=$(free_port)
"$SRC/samples/start-release.sh" v1 "$v1b" "$TMP/v1b" & track_pid $!
wait_port "$v1b"
pids=()
for run in v1:$v1 v1-again:$v1b v2:$v2; do
    "$REPRISE" replay "$db" --target "http://127.0.0.1:${run#*:}" --speed 10 \
        --spin 0 --label "${run%%:*}" --quiet & pids+=($!); track_pid $!
done
for p in "${pids[@]}"; do wait "$p" || fail "a replay failed"; done

regressed() { python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))
print(",".join(sorted(e["endpoint"] for e in r["endpoints"] if e["regressed"])))' "$1"; }

set +e
"$REPRISE" analyze "$db" --baseline v1 --candidate v2 --noise v1-again \
    --min-effect 5ms --fail-if 'p99>+10%' --fail-if 'p50>+10ms' \
    --format json -o "$TMP/ab.json"
ab_rc=$?
"$REPRISE" analyze "$db" --baseline v1 --candidate v1-again \
    --min-effect 5ms --fail-if 'p99>+10%' --fail-if 'p50>+10ms' \
    --format json -o "$TMP/aa.json"
aa_rc=$?
set -e
got=$(regressed "$TMP/ab.json")
[ "$got" = "GET /api/orders/:id" ] || fail "A/B regressed endpoints: [$got]"
[ "$ab_rc" -eq 1 ] || fail "A/B gate exit code $ab_rc, want 1"
got=$(regressed "$TMP/aa.json")
[ -z "$got" ] || fail "A/A regressed endpoints: [$got]"
[ "$aa_rc" -eq 0 ] || fail "A/A gate exit code $aa_rc, want 0"
pass "A/B flags GET /api/orders/:id only; A/A flags nothing"
