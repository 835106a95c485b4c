#!/usr/bin/env bash
# test_web_speed.sh: a change of --rate from the --web dashboard re-anchors
# the schedule at the change. samples/shop.pcap (249 exchanges) is replayed
# at --rate 100 on two engine threads, twice over; about a second in, the
# rate goes to 400 through POST /api/speed. From the results' scheduled
# times (not from any measured time, so the check does not depend on the
# machine's speed): the requests due before the change are 10 ms apart,
# those after it 2.5 ms apart with the first within 2.5 ms of the change
# (no burst of what was queued, no gap), every scheduled request has its
# result, and the summary records the change. Runs once per engine.
# engines: raw curl
source "$SRC/tests/lib.sh"
ENGINE=${REPRISE_ENGINE:-raw}
command -v nginx >/dev/null || skip "nginx not installed"
command -v curl >/dev/null || skip "curl not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"

"$REPRISE" capture -r "$SRC/samples/shop.pcap" -o "$TMP/c.db" --quiet \
    || fail "capture of samples/shop.pcap failed"
PT=$(free_port)
start_nginx dst "$PT" 'location / { return 200 "ok\n"; }'
"$REPRISE" replay "$TMP/c.db" --target "http://127.0.0.1:$PT" --engine "$ENGINE" \
    --rate 100 --loop 2 --threads 2 --web 0 --json > "$TMP/sum.json" 2> "$TMP/err.txt" &
RP=$!
track_pid "$RP"
for i in $(seq 1 100); do
    grep -q "control token" "$TMP/err.txt" && break
    sleep 0.1
done
BASE=$(grep -o 'dashboard on http://127\.0\.0\.1:[0-9]*' "$TMP/err.txt" | grep -o 'http.*')
TOKEN=$(grep -o 'control token [0-9a-f]*' "$TMP/err.txt" | awk '{print $3}')
[ -n "$BASE" ] || { cat "$TMP/err.txt"; fail "no dashboard"; }
# about a second of sending at 100/s
for i in $(seq 1 100); do
    n=$(curl -sf "$BASE/api/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sent"])')
    [ "$n" -ge 100 ] && break
    sleep 0.05
done
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/api/speed?speed=4" \
     -H "X-Reprise-Token: $TOKEN")" = 400 ] || fail "?speed= in a --rate run not 400"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/api/speed?rate=400" \
     -H "X-Reprise-Token: $TOKEN")" = 200 ] || fail "rate change refused"
wait "$RP" || { cat "$TMP/err.txt"; fail "replay exited $?"; }
grep -q -- "--rate changed from 100 to 400" "$TMP/err.txt" || fail "the change was not logged"
python3 - "$TMP/sum.json" "$TMP/c.db" <<'PY' || fail "re-anchored schedule"
import json, sqlite3, sys
s = json.load(open(sys.argv[1]))
assert s["status"] == "complete", s["status"]
assert s["scheduled"] == 498 and s["responses"] == 498, (s["scheduled"], s["responses"])
ch = s["speed_changes"]
assert len(ch) == 1 and ch[0]["from"] == 100 and ch[0]["to"] == 400, ch
at = ch[0]["at_us"]
db = sqlite3.connect(sys.argv[2])
run = db.execute("SELECT max(id) FROM runs").fetchone()[0]
due = [r[0] for r in db.execute(
    "SELECT scheduled_us FROM results WHERE run_id = ? ORDER BY scheduled_us", (run,))]
assert len(due) == 498
before = [d for d in due if d <= at]
after = [d for d in due if d > at]
assert len(before) >= 90 and len(after) >= 100, (len(before), len(after))
gb = [b - a for a, b in zip(before, before[1:])]
ga = [b - a for a, b in zip(after, after[1:])]
assert all(abs(g - 10000) <= 1 for g in gb), sorted(set(gb))
assert all(abs(g - 2500) <= 1 for g in ga), sorted(set(ga))[:10]
first = after[0] - at
assert 0 < first <= 2501, first
print(f"change at {at} us: {len(before)} due 10 ms apart before, {len(after)} 2.5 ms apart after (first {first} us after)")
PY
pass "a rate change re-anchors the schedule ($ENGINE)"
