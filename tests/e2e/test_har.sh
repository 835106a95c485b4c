#!/usr/bin/env bash
# test_har.sh: HAR out and in. The sample capture exported as HAR 1.2 is
# valid for har-validator (Debian node-har-validator, a real HAR consumer);
# imported back with `capture --har` it gives the same exchanges (method,
# target, status, body sizes, timings to the ms) and the same stored
# bodies; a run exported with --run is valid HAR too; redacted values stay
# redacted; bad input is refused with exit 2.
source "$SRC/tests/lib.sh"
[ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || skip "nginx echo module missing"
db=$TMP/h.db
"$REPRISE" capture -q -r "$SRC/samples/shop.pcap" -o "$db" || fail "capture"
"$REPRISE" export "$db" --format har -o "$TMP/cap.har" || fail "export har"
valid() {
    if [ -d /usr/share/nodejs/har-validator ]; then
        NODE_PATH=/usr/share/nodejs node "$SRC/tests/e2e/harcheck.js" "$1" || fail "not valid HAR: $1"
    else
        /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['log']['version']=='1.2' and d['log']['entries']" "$1" ||
            fail "not HAR: $1"
        echo "(node-har-validator missing: structure checked only)"
    fi
}
valid "$TMP/cap.har"

# in again, and the same exchanges come out
"$REPRISE" capture -q --har "$TMP/cap.har" -o "$TMP/back.db" || fail "import har"
key() { /usr/bin/python3 - "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in rows:
    print(r["method"], r["target"], r["status"], r["req_body_bytes"], r["resp_body_bytes"],
          round(r["wire_latency_us"] / 1000) if r["wire_latency_us"] is not None else None)
PY
}
"$REPRISE" export "$db" > "$TMP/a.jsonl"
"$REPRISE" export "$TMP/back.db" > "$TMP/b.jsonl"
key "$TMP/a.jsonl" | sort > "$TMP/a.key"; key "$TMP/b.jsonl" | sort > "$TMP/b.key"
n=$(wc -l < "$TMP/a.key")
[ "$n" -gt 100 ] || fail "only $n exchanges"
diff "$TMP/a.key" "$TMP/b.key" > "$TMP/d" || fail "round trip differs: $(head "$TMP/d")"
a=$(sqlite3 "$db" "SELECT count(*), sum(size_bytes) FROM bodies")
b=$(sqlite3 "$TMP/back.db" "SELECT count(*), sum(size_bytes) FROM bodies")
[ "$a" = "$b" ] || fail "bodies differ: $a vs $b"
! grep -q "Bearer s3" "$TMP/cap.har" || fail "a secret in the HAR"
pass "HAR export of $n exchanges is valid HAR 1.2 and imports back to the same exchanges and bodies"

# a run
P=$(free_port)
start_nginx web "$P" 'location / { return 200 "ok\n"; }'
"$REPRISE" replay "$db" --target "http://127.0.0.1:$P" --speed 50 --quiet --label r1 || fail "replay"
"$REPRISE" export "$db" --format har --run r1 -o "$TMP/run.har" || fail "export run"
valid "$TMP/run.har"
[ "$(/usr/bin/python3 -c "import json; print(len(json.load(open('$TMP/run.har'))['log']['entries']))")" = "$n" ] ||
    fail "the run's HAR does not have $n entries"
pass "a run exports as valid HAR with one entry per result"

# bad input
rc() { set +e; "$@" > /dev/null 2> "$TMP/err"; local r=$?; set -e; echo $r; }
echo '{"not": "har"}' > "$TMP/bad.har"
[ "$(rc "$REPRISE" capture --har "$TMP/bad.har" -o "$TMP/x.db")" = 2 ] && grep -q "no log.entries" "$TMP/err" ||
    fail "not-HAR input: $(cat "$TMP/err")"
echo '{oops' > "$TMP/bad2.har"
[ "$(rc "$REPRISE" capture --har "$TMP/bad2.har" -o "$TMP/x.db")" = 2 ] && grep -q "not a HAR file: line 1" "$TMP/err" ||
    fail "broken JSON: $(cat "$TMP/err")"
[ "$(rc "$REPRISE" capture --har "$TMP/cap.har" -r x.pcap -o "$TMP/x.db")" = 2 ] || fail "two sources accepted"
[ "$(rc "$REPRISE" export "$db" --run r1)" = 2 ] || fail "--run without har accepted"
[ "$(rc "$REPRISE" export "$db" --format xml)" = 2 ] || fail "unknown format accepted"
pass "bad HAR input and flags: exit 2 with the reason"
