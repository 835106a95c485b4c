#!/usr/bin/env bash
# test_fields.sh: correctness between releases, field by field. jsonapp.py
# serves a JSON API in two versions; both carry noise (a timestamp, a
# random request id, a varying took_ms, Date and X-Request-Id), and v2
# plants three changes: $.price on a third of GET /api/items/:id, a new
# $.email on GET /api/users/:id, a new X-Api-Version header on GET
# /api/list. Its traffic, saved as HAR by jsonclient.py, is imported with
# `capture --har`, then replayed (default --store-bodies sample, --scale
# 2, --rate 400) against v1 (baseline), v1 again (its A/A twin) and v2 (candidate).
# analyze must report exactly the three changes with their shares within 3
# points of the truth, list the noise fields and not report them, report
# nothing for the A/A pair, exit as --fail-if 'field-changed>1%' says, and
# `show --diff` must mark the price; with a capture baseline and no A/A
# run the run's own copies teach the same noise.
source "$SRC/tests/lib.sh"
PY=/usr/bin/python3
p1=$(free_port); p2=$(free_port)
$PY "$SRC/tests/e2e/jsonapp.py" "$p1" v1 & track_pid $!
$PY "$SRC/tests/e2e/jsonapp.py" "$p2" v2 & track_pid $!
wait_port "$p1"; wait_port "$p2"
$PY "$SRC/tests/e2e/jsonclient.py" "$p1" "$TMP/t.har" 400 || fail "client"
db=$TMP/f.db
"$REPRISE" capture -q --har "$TMP/t.har" -o "$db" || fail "capture --har"
rp() { "$REPRISE" replay "$db" --target "http://127.0.0.1:$1" --rate 400 --scale 2 --label "$2" --quiet; }
rp "$p1" base || fail "replay base"
rp "$p1" aa || fail "replay aa"
rp "$p2" cand || fail "replay cand"
rc() { local o=$1; shift; set +e; "$@" > "$o" 2> "$TMP/err"; local r=$?; set -e; echo $r; }

r=$(rc "$TMP/c.txt" "$REPRISE" analyze "$db" --baseline base --candidate cand --noise aa \
    --fail-if 'field-changed>1%' -o "$TMP/c.json" -o "$TMP/c.txt" -o "$TMP/c.md" -o "$TMP/c.html")
[ "$r" = 1 ] || fail "field-changed gate: exit $r $(cat "$TMP/err")"
sed -n '/^fields/,/^$/p' "$TMP/c.txt" | head -8
$PY - "$TMP/c.json" <<'PY' || fail "field changes"
import json, sys
r = json.load(open(sys.argv[1]))
got = {(f["endpoint"], f["path"]): f for f in r["field_changes"]}
want = {("GET /api/items/:id", "$.price"): ("changed", 100 / 3),
        ("GET /api/users/:id", "$.email"): ("added", 100.0),
        ("GET /api/list", "header:x-api-version"): ("added", 100.0)}
assert set(got) == set(want), "changes: %s" % sorted(got)
for k, (kind, share) in want.items():
    f = got[k]
    assert f["kind"] == kind, (k, f["kind"])
    assert abs(100 * f["share"] - share) <= 3, (k, f["share"])
    assert f["examples"] and f["total"] > 0, k
assert any(e["baseline"] == "9.99" and e["candidate"] == "10.99"
           for e in got[("GET /api/items/:id", "$.price")]["examples"])
noise = {(f["endpoint"], f["path"]) for f in r["noise_fields"]}
for ep in ("GET /api/items/:id", "GET /api/users/:id", "GET /api/list"):
    for p in ("$.ts", "$.request_id", "$.took_ms", "header:date", "header:x-request-id"):
        assert (ep, p) in noise, ("noise missing", ep, p)
print("3 changes, %d noise fields" % len(noise))
PY
grep -q "GET /api/items/:id  \$.price changed in" "$TMP/c.md" || fail "markdown"
grep -q 'id="fields"' "$TMP/c.html" || fail "html"
if command -v chromium > /dev/null; then
    timeout 60 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$TMP/chr" \
        --dump-dom "file://$TMP/c.html" > "$TMP/dom.html" 2> /dev/null || fail "chromium"
    for want in 'id="fields"' 'id="noise-fields"' 'GET /api/items/:id  $.price changed in'; do
        grep -qF "$want" "$TMP/dom.html" || fail "HTML in Chromium: no '$want'"
    done
fi
pass "v1 vs v2: exactly the 3 planted changes, shares within 3 points, noise listed apart; FAIL (exit 1)"

r=$(rc "$TMP/aa.txt" "$REPRISE" analyze "$db" --baseline base --candidate aa \
    --fail-if 'field-changed>1%' -o "$TMP/aa.json")
[ "$r" = 0 ] || fail "A/A: exit $r $(cat "$TMP/err")"
[ "$($PY -c "import json; print(len(json.load(open('$TMP/aa.json'))['field_changes']))")" = 0 ] ||
    fail "A/A reported field changes"
pass "A/A: no field change, PASS (exit 0)"

# the capture as the baseline, no A/A run: the candidate's own copies and
# the capture's times are the noise
"$REPRISE" analyze "$db" --candidate cand -o "$TMP/cap.json" > /dev/null || true
$PY -c "
import json, sys
r = json.load(open('$TMP/cap.json'))
got = sorted((f['endpoint'], f['path']) for f in r['field_changes'])
want = sorted([('GET /api/items/:id', '\$.price'), ('GET /api/users/:id', '\$.email'), ('GET /api/list', 'header:x-api-version')])
sys.exit(0 if got == want else 'capture baseline: %s' % got)" || fail "capture baseline"
pass "capture baseline with the candidate's copies: the same 3 changes"

# --ignore-field hides a change as known noise, and says so
"$REPRISE" analyze "$db" --baseline base --candidate cand --noise aa \
    --ignore-field 'GET /api/items/:id $.price' -o "$TMP/ig.json" > /dev/null || true
$PY -c "
import json, sys
r = json.load(open('$TMP/ig.json'))
assert not any(f['path'] == '\$.price' for f in r['field_changes'])
assert any(f['path'] == '\$.price' and f['source'] == '--ignore-field' for f in r['noise_fields'])" ||
    fail "--ignore-field"
[ "$(rc /dev/null "$REPRISE" analyze "$db" --ignore-field 'nopath')" = 2 ] || fail "bad --ignore-field accepted"

# show --diff: the price, marked
id=$(sqlite3 "$db" "SELECT MIN(id) FROM exchanges WHERE target = '/api/items/3'")
"$REPRISE" show "$db" "$id" --diff --baseline base --candidate cand > "$TMP/show.txt" || fail "show --diff"
grep -q '^  \* \$.price changed: 9.99 -> 10.99' "$TMP/show.txt" || fail "show: no price: $(head -20 "$TMP/show.txt")"
grep -q '"price": 9.99, *| *"price": 10.99,' "$TMP/show.txt" || fail "show: side by side"
[ "$(rc /dev/null "$REPRISE" show "$db" "$id" --diff --candidate nosuchrun)" = 2 ] || fail "show: unknown run"
pass "--ignore-field; show --diff marks the changed field side by side"

# --store-bodies none keeps nothing; the report says nothing was compared
"$REPRISE" replay "$db" --target "http://127.0.0.1:$p2" --rate 400 --label none --quiet --store-bodies none
[ "$(sqlite3 "$db" "SELECT count(resp_headers) FROM results WHERE run_id = (SELECT id FROM runs WHERE label = 'none')")" = 0 ] ||
    fail "--store-bodies none stored responses"
[ "$(rc /dev/null "$REPRISE" replay "$db" --target "http://127.0.0.1:$p2" --store-bodies some)" = 2 ] || fail "bad --store-bodies"
pass "--store-bodies none stores nothing; a bad mode is refused"
