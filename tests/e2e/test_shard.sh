#!/usr/bin/env bash
# test_shard.sh: a replay sharded over three generator processes
# (--shard 0/3, 1/3, 2/3, one --start-at) against one loopback nginx,
# merged, against one unsharded replay of the same corpus (samples/shop.pcap
# captured, --scale 2): the merged run has exactly as many results as the
# unsharded one and as the selection, each (exchange, copy, loop) once, at
# its unsharded due time; nginx's log agrees; the shards' starts lie within
# 5 ms of each other (the measured spread is printed); analyze finds no
# regression between them. --rate and --max shards give the right totals
# and shares. Every refusal of the merge (another capture, a missing, a
# duplicated, an overlapping shard, another label) exits 2 with OUT
# unchanged (sha256) and a new OUT not created.
source "$SRC/tests/lib.sh"

command -v nginx >/dev/null || skip "nginx not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"

"$REPRISE" capture -r "$SRC/samples/shop.pcap" -o "$TMP/c.db" --quiet \
    || fail "capture of samples/shop.pcap failed"
P=$(free_port)
start_nginx dst "$P"
log="$TMP/dst/access.log"
q() { sqlite3 "$1" "$2"; }
lines() { wc -l < "$log" | tr -d ' '; }
settle() { # nginx writes its log line after the response: wait (bounded)
    local want=$1 i
    for i in $(seq 1 50); do [ "$(lines)" -ge "$want" ] && return 0; sleep 0.1; done
}
# an instant D from now in RFC 3339 UTC with milliseconds
at() { /usr/bin/python3 -c "import datetime,sys; t=datetime.datetime.now(datetime.timezone.utc)+datetime.timedelta(seconds=float(sys.argv[1])); print(t.strftime('%Y-%m-%dT%H:%M:%S.')+'%03dZ' % (t.microsecond//1000))" "$1"; }
replay() { local db=$1; shift; "$REPRISE" replay "$db" --target "http://127.0.0.1:$P" --quiet "$@"; }

# 1. The unsharded replay.
cp "$TMP/c.db" "$TMP/u.db"
: > "$log"
replay "$TMP/u.db" --speed 2 --scale 2 --label unsharded --json > "$TMP/u.json" \
    || fail "unsharded replay failed"
U=$(q "$TMP/u.db" "SELECT result_count FROM runs WHERE label = 'unsharded'")
planned=$(/usr/bin/python3 -c "import json; print(json.load(open('$TMP/u.json'))['planned'])")
sel=$(q "$TMP/c.db" "SELECT 2 * count(*) FROM exchanges WHERE flags & 384 = 0")
[ "$U" -eq "$planned" ] && [ "$U" -eq "$sel" ] \
    || fail "unsharded run: $U results, $planned planned, selection $sel"

# 2. Three shards from one --start-at, each writing its own copy.
sharded() { # sharded LABEL ARGS...: three shards, one start; sets START
    local label=$1; shift
    START=$(at 4) # ahead of three processes starting on a loaded machine
    local pids=() i
    for i in 0 1 2; do
        cp "$TMP/c.db" "$TMP/$label-$i.db"
        replay "$TMP/$label-$i.db" --shard "$i/3" --start-at "$START" \
            --label "$label" --json "$@" > "$TMP/$label-$i.json" &
        pids+=($!); track_pid $!
    done
    for i in 0 1 2; do wait "${pids[$i]}" || fail "shard $i/3 ($label) failed"; done
}
spread_ok=0
for attempt in 1 2; do # a second round only when a loaded machine was late
    : > "$log"
    sharded merged --speed 2 --scale 2
    sum=0
    for i in 0 1 2; do
        n=$(/usr/bin/python3 -c "import json; print(json.load(open('$TMP/merged-$i.json'))['planned'])")
        t0=$(/usr/bin/python3 -c "import json; print(json.load(open('$TMP/merged-$i.json'))['t0_wall_us'])")
        want=$(/usr/bin/python3 -c "
import datetime; s='$START'
t=datetime.datetime.strptime(s[:-1], '%Y-%m-%dT%H:%M:%S.%f').replace(tzinfo=datetime.timezone.utc)
print(int(t.timestamp())*1000000 + t.microsecond)")
        [ "$t0" -eq "$want" ] || fail "shard $i: time zero $t0, --start-at $START is $want"
        sum=$((sum + n))
    done
    [ "$sum" -eq "$U" ] || fail "the shards plan $sum requests, unsharded $U"
    settle "$U"
    [ "$(lines)" -eq "$U" ] || fail "nginx logged $(lines) requests of the shards, expected $U"
    rm -f "$TMP/m.db"; cp "$TMP/u.db" "$TMP/m.db"
    "$REPRISE" merge "$TMP/m.db" "$TMP"/merged-[012].db > "$TMP/merge.out" \
        || { cat "$TMP/merge.out"; fail "merge failed"; }
    cat "$TMP/merge.out"
    spread=$(q "$TMP/m.db" "SELECT json_extract(summary, '$.start_spread_us') FROM runs WHERE label = 'merged'")
    echo "measured start spread of the three shards: $spread us (attempt $attempt)"
    if [ "$spread" -ge 0 ] && [ "$spread" -le 5000 ]; then spread_ok=1; break; fi
done
[ "$spread_ok" = 1 ] || fail "the shards' first sends are $spread us apart (more than 5 ms) twice"

M=$(q "$TMP/m.db" "SELECT id FROM runs WHERE label = 'merged'")
UR=$(q "$TMP/m.db" "SELECT id FROM runs WHERE label = 'unsharded'")
[ "$(q "$TMP/m.db" "SELECT result_count FROM runs WHERE id = $M")" -eq "$U" ] \
    || fail "the merged run does not have $U results"
[ "$(q "$TMP/m.db" "SELECT count(*), count(DISTINCT exchange_id || ':' || copy || ':' || loop) FROM results WHERE run_id = $M")" = "$U|$U" ] \
    || fail "the merged run does not hold each (exchange, copy, loop) exactly once"
# the same keys as the unsharded run, each at its unsharded due time
diff <(q "$TMP/m.db" "SELECT exchange_id, copy, loop, scheduled_us FROM results WHERE run_id = $UR ORDER BY 1, 2, 3") \
     <(q "$TMP/m.db" "SELECT exchange_id, copy, loop, scheduled_us FROM results WHERE run_id = $M ORDER BY 1, 2, 3") \
    > /dev/null || fail "merged and unsharded runs differ in their requests or due times"
# a session stays on one shard: no captured connection's copy in two shards
for i in 0 1 2; do
    q "$TMP/merged-$i.db" "SELECT DISTINCT e.connection_id || ':' || r.copy FROM results r JOIN exchanges e ON e.id = r.exchange_id"
done | sort | uniq -d > "$TMP/dup_sessions"
[ ! -s "$TMP/dup_sessions" ] || fail "sessions replayed by two shards: $(head -3 "$TMP/dup_sessions")"

# 3. analyze: no regression between merged and unsharded.
set +e
"$REPRISE" analyze "$TMP/m.db" --baseline unsharded --candidate merged \
    -o "$TMP/a.json" -o "$TMP/a.txt"
arc=$?
set -e
case $arc in
0) ;;
3) /usr/bin/python3 - "$TMP/a.json" <<'PY' || { cat "$TMP/a.txt"; fail "analyze INCONCLUSIVE without a starved generator"; }
import json, sys
def starved(o):
    if isinstance(o, dict):
        return o.get("starved") is True or any(starved(v) for v in o.values())
    if isinstance(o, list):
        return any(starved(v) for v in o)
    return False
sys.exit(0 if starved(json.load(open(sys.argv[1]))) else 1)
PY
   echo "analyze: INCONCLUSIVE, a generator was starved (loaded machine)";;
*) cat "$TMP/a.txt"; fail "analyze of merged against unsharded exited $arc";;
esac

# 4. --rate: each shard keeps the global due times of its requests, so
# together they send at the rate; the relative --start-at form works too.
replay "$TMP/u.db" --rate 400 --label rate-u || fail "unsharded --rate replay failed"
: > "$log"
pids=()
S=$(at 2)
for i in 0 1 2; do
    cp "$TMP/c.db" "$TMP/rate-$i.db"
    replay "$TMP/rate-$i.db" --rate 400 --shard "$i/3" --start-at "$S" --label rate &
    pids+=($!); track_pid $!
done
for i in 0 1 2; do wait "${pids[$i]}" || fail "--rate shard $i failed"; done
R=$(q "$TMP/u.db" "SELECT result_count FROM runs WHERE label = 'rate-u'")
cp "$TMP/u.db" "$TMP/r.db"
"$REPRISE" merge "$TMP/r.db" "$TMP"/rate-[012].db > /dev/null || fail "merge of --rate shards failed"
diff <(q "$TMP/r.db" "SELECT exchange_id, copy, loop, scheduled_us FROM results WHERE run_id = (SELECT id FROM runs WHERE label = 'rate-u') ORDER BY 1, 2, 3") \
     <(q "$TMP/r.db" "SELECT exchange_id, copy, loop, scheduled_us FROM results WHERE run_id = (SELECT id FROM runs WHERE label = 'rate' AND options LIKE '%merged_shards%') ORDER BY 1, 2, 3") \
    > /dev/null || fail "--rate shards: not the unsharded requests at their due times"
settle "$R"
[ "$(lines)" -eq "$R" ] || fail "--rate shards: nginx logged $(lines), expected $R"
# the shares: each shard sends about a third (sessions are hashed)
for i in 0 1 2; do
    n=$(q "$TMP/rate-$i.db" "SELECT count(*) FROM results")
    [ "$n" -gt $((R / 10)) ] || fail "--rate shard $i has only $n of $R requests"
done
"$REPRISE" replay "$TMP/rate-0.db" --target "http://127.0.0.1:$P" --quiet --rate 1000 \
    --shard 0/3 --start-at +1s --label rel || fail "--start-at +1s failed"

# 5. --max: the shards' shares of --concurrency sum to it.
sharded max --max --concurrency 5
shares=""
for i in 0 1 2; do
    shares="$shares$(q "$TMP/max-$i.db" "SELECT json_extract(options, '$.shard_concurrency') FROM runs WHERE label = 'max'")"
done
[ "$shares" = "221" ] || fail "--max --concurrency 5 over 3 shards: shares $shares, expected 2 2 1"
rm -f "$TMP/x.db"
"$REPRISE" merge "$TMP/x.db" "$TMP"/max-[012].db > /dev/null || fail "merge of --max shards failed"
[ "$(q "$TMP/x.db" "SELECT result_count || ':' || json_extract(options, '$.concurrency') FROM runs")" = "$((U / 2)):5" ] \
    || fail "--max shards merged: not $((U / 2)) results at concurrency 5"

# 6. Refusals: exit 2, OUT unchanged, a new OUT not left behind.
cp "$TMP/merged-1.db" "$TMP/dup-1.db"
cp "$TMP/c.db" "$TMP/other.db"
q "$TMP/other.db" "UPDATE captures SET source = 'file:elsewhere.pcap'"
replay "$TMP/other.db" --speed 2 --scale 2 --shard 2/3 --label merged || fail "replay of the other capture failed"
cp "$TMP/merged-2.db" "$TMP/overlap-2.db" # shard 2/3 that is really shard 0's
cp "$TMP/merged-0.db" "$TMP/overlap-2.db"
q "$TMP/overlap-2.db" "UPDATE runs SET options = json_set(options, '$.shard_index', 2) WHERE label = 'merged'"
cp "$TMP/c.db" "$TMP/label-2.db"
replay "$TMP/label-2.db" --speed 2 --scale 2 --shard 2/3 --start-at +0.1s --label other || fail "replay with another label failed"
refuse() { # refuse WHAT SHARD...
    local what=$1; shift
    local before after rc
    cp "$TMP/u.db" "$TMP/out.db"
    before=$(sha256sum < "$TMP/out.db")
    set +e
    "$REPRISE" merge "$TMP/out.db" "$@" > /dev/null 2> "$TMP/refuse.err"; rc=$?
    set -e
    [ "$rc" -eq 2 ] || fail "merge with $what exited $rc, expected 2"
    after=$(sha256sum < "$TMP/out.db")
    [ "$before" = "$after" ] || fail "merge with $what changed OUT"
    rm -f "$TMP/new.db"
    set +e
    "$REPRISE" merge "$TMP/new.db" "$@" > /dev/null 2>&1; rc=$?
    set -e
    [ "$rc" -eq 2 ] || fail "merge into a new file with $what exited $rc, expected 2"
    [ ! -e "$TMP/new.db" ] || fail "merge with $what left a new OUT behind"
    echo "refused ($what): $(cat "$TMP/refuse.err")"
}
refuse "another capture" "$TMP/merged-0.db" "$TMP/merged-1.db" "$TMP/other.db"
refuse "a missing shard" "$TMP/merged-0.db" "$TMP/merged-1.db"
refuse "a duplicated shard" "$TMP/merged-0.db" "$TMP/merged-1.db" "$TMP/dup-1.db"
refuse "a duplicated shard besides all" "$TMP"/merged-[012].db "$TMP/dup-1.db"
refuse "overlapping shards" "$TMP/merged-0.db" "$TMP/merged-1.db" "$TMP/overlap-2.db"
refuse "another label" "$TMP/merged-0.db" "$TMP/merged-1.db" "$TMP/label-2.db"

pass "3 shards merged: $U results as unsharded, start spread $spread us; --rate, --max and refusals"
