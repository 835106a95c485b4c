#!/usr/bin/env bash
# test_correlate.sh: stateful replay against a real stateful app
# (stateapp.py: per-process secrets, session cookie, CSRF, bearer token,
# idempotent orders, cursors, a hidden form token). A realistic client
# (stateclient.py: 8 users, half of them on two connections) is recorded
# with tcpdump and captured with the default redaction; no secret the app
# handed out may be in the corpus in clear. The capture is replayed against
# a FRESH instance (other secrets, other order ids): with --session-key
# cookie:sid at least 99% of the requests must get the captured status,
# plain and with --scale 3; the figures without correlation (--no-correlate)
# and without the session key are printed beside them. show must list an
# exchange's correlations. Runs once per engine.
# engines: raw curl
source "$SRC/tests/lib.sh"
ENGINE=${REPRISE_ENGINE:-raw}

command -v tcpdump >/dev/null || skip "tcpdump not installed"

P1=$(free_port)
python3 "$SRC/tests/e2e/stateapp.py" "$P1" "$TMP/secrets.txt" &
track_pid $!
wait_port "$P1"
start_tcpdump "$P1" "$TMP/cap.pcap"
python3 "$SRC/tests/e2e/stateclient.py" "$P1" 8 || fail "the client did not get the answers it expects"
stop_tcpdump
[ "$(tcpdump_drops "$TMP/cap.pcap")" -eq 0 ] || skip "tcpdump dropped packets"

"$REPRISE" capture -r "$TMP/cap.pcap" -o "$TMP/c.db" --port "$P1" > "$TMP/cap.out" 2>&1 \
    || { cat "$TMP/cap.out"; fail "capture failed"; }
check_identity "$TMP/c.db"
grep -q "correlations: [0-9]* values learned" "$TMP/cap.out" \
    || { cat "$TMP/cap.out"; fail "capture does not say how many values it learned"; }

# Learned: the cookie, the bearer token, the CSRF header, order ids in
# paths and in a JSON body, the cursor, the hidden form token, generated Idempotency-Keys.
for want in "cookie|cookie:sid|set-cookie:sid" "bearer|auth:bearer|json:access_token" \
            "csrf|header:X-CSRF-Token|json:csrf" "id|path:1|json:id" "id|json:order_id|json:items.0" \
            "cursor|query:cursor|json:next_cursor" "token|form:form_token|hidden:form_token" \
            "generated|header:Idempotency-Key|"; do
    sqlite3 "$TMP/c.db" "SELECT DISTINCT kind || '|' || location || '|' || ifnull(source_location, '')
                         FROM correlations" | grep -qxF "$want" \
        || { sqlite3 "$TMP/c.db" "SELECT kind, location, source_location, count(*) FROM correlations GROUP BY 1, 2, 3"; fail "not learned: $want"; }
done
pass "capture learned cookie, bearer, CSRF, id, cursor, form token and generated links"

# No secret the app handed out is stored in clear: not in headers, targets,
# bodies (inflated) or the correlations table.
python3 - "$TMP/c.db" "$TMP/secrets.txt" <<'PY' || fail "a secret is stored in clear"
import sqlite3, sys, zlib
db, sec = sys.argv[1], sys.argv[2]
secrets = [s for s in open(sec).read().split() if s]
assert len(secrets) > 20, len(secrets)
con = sqlite3.connect(db)
texts = []
for row in con.execute("SELECT target, req_headers, resp_headers FROM exchanges"):
    texts += [t for t in row if t]
for (d,) in con.execute("SELECT data FROM bodies"):
    texts.append(zlib.decompress(d).decode("latin-1"))
for row in con.execute("SELECT * FROM correlations"):
    texts += [str(t) for t in row]
blob = "\n".join(texts)
leaks = [s for s in secrets if s in blob]
if leaks:
    print("in clear:", leaks[:5], file=sys.stderr)
    sys.exit(1)
PY
! grep -aqF -f "$TMP/secrets.txt" "$TMP/c.db" || fail "a secret is in the corpus file in clear"
pass "no session id, CSRF value, bearer or form token stored in clear"

# match RUN_ARGS...: replays against a fresh app, prints the status match.
replay_match() {
    local port out
    port=$(free_port)
    python3 "$SRC/tests/e2e/stateapp.py" "$port" &
    local app=$!
    track_pid "$app"
    wait_port "$port"
    out="$TMP/replay.$RANDOM.out"
    "$REPRISE" replay "$TMP/c.db" --target "http://127.0.0.1:$port" --speed 4 --engine "$ENGINE" "$@" > "$out" 2>&1 \
        || { cat "$out" >&2; fail "replay $* failed"; }
    kill "$app"
    wait "$app" 2>/dev/null || true
    cp "$out" "$TMP/last.out"
    local run
    run=$(sqlite3 "$TMP/c.db" "SELECT max(id) FROM runs")
    sqlite3 "$TMP/c.db" "SELECT printf('%.1f', 100.0 * sum(r.status = e.status) / count(*))
                         FROM results r JOIN exchanges e ON e.id = r.exchange_id WHERE r.run_id = $run"
}
at_least_99() { python3 -c "import sys; sys.exit(0 if float('$1') >= 99.0 else 1)"; }

plain=$(replay_match --session-key cookie:sid)
grep -q "correlated cookie [0-9]* bearer [0-9]* csrf" "$TMP/last.out" \
    || { cat "$TMP/last.out"; fail "the summary does not count the values correlated by kind"; }
grep -q "matched   .* had the captured status" "$TMP/last.out" \
    || { cat "$TMP/last.out"; fail "the summary does not give the status match"; }
! grep -q "redacted header values" "$TMP/last.out" \
    || { cat "$TMP/last.out"; fail "the summary counts redacted values that correlation sent"; }
scaled=$(replay_match --session-key cookie:sid --scale 3)
byclient=$(replay_match --session-key client)
bydevice=$(replay_match --session-key header:X-Device)
nocorr=$(replay_match --session-key cookie:sid --no-correlate)
nokey=$(replay_match --sessions)
nokey_nocorr=$(replay_match --sessions --no-correlate)
echo "status match against a fresh instance, default redaction, $ENGINE engine," \
     "$(sqlite3 "$TMP/c.db" "SELECT count(*) FROM exchanges") requests:"
echo "  --session-key cookie:sid            ${plain}%"
echo "  --session-key cookie:sid --scale 3  ${scaled}%"
echo "  --session-key header:X-Device        ${bydevice}%"
echo "  --session-key client (one session)  ${byclient}%"
echo "  --session-key cookie:sid --no-correlate  ${nocorr}%"
echo "  --sessions (a session per connection)     ${nokey}%"
echo "  --sessions --no-correlate                 ${nokey_nocorr}%"
at_least_99 "$plain" || fail "only ${plain}% of the statuses matched with correlation"
at_least_99 "$scaled" || fail "only ${scaled}% of the statuses matched with --scale 3"
at_least_99 "$bydevice" || fail "only ${bydevice}% matched with --session-key header:X-Device"
at_least_99 "$byclient" || fail "only ${byclient}% matched with --session-key client"
! at_least_99 "$nocorr" || fail "without correlation ${nocorr}% matched: the app is not stateful enough to test anything"
pass "correlated replay matched ${plain}% of statuses (${scaled}% with --scale 3; ${nocorr}% without correlation)"

# Explicit rules and the LuaJIT hook, with learning off: the CSRF value,
# the session cookie and the bearer token taken from the target's answers
# (order ids, cursors and form tokens are left to learning, so these match
# less than learned correlation and more than none).
rules=$(replay_match --session-key cookie:sid --no-correlate \
    --extract csrf=json:csrf --inject csrf=header:X-CSRF-Token \
    --extract 'sid=regex:sid=([0-9a-f]+)' --inject 'sid=header:Cookie:sid={}' \
    --extract tok=json:access_token --inject 'tok=header:Authorization:Bearer {}')
grep -q "correlated rule [0-9]*" "$TMP/last.out" || { cat "$TMP/last.out"; fail "rules were not applied"; }
cat > "$TMP/hook.lua" <<'LUA'
function response(res, state)
  state.csrf = res.body:match('"csrf": "([^"]+)"') or state.csrf
  state.sid = res.headers:match('Set%-Cookie: sid=([0-9a-f]+)') or state.sid
  state.tok = res.body:match('"access_token": "([^"]+)"') or state.tok
end
function request(req, state)
  local h = req.headers
  if state.csrf then h = h:gsub("X%-CSRF%-Token: [^\r]*", "X-CSRF-Token: " .. state.csrf) end
  if state.sid then h = h:gsub("Cookie: [^\r]*", "Cookie: sid=" .. state.sid) end
  if state.tok then h = h:gsub("Authorization: Bearer [^\r]*", "Authorization: Bearer " .. state.tok) end
  req.headers = h
  return req
end
LUA
script=$(replay_match --session-key cookie:sid --no-correlate --script "$TMP/hook.lua")
grep -q "correlated script [0-9]*" "$TMP/last.out" || { cat "$TMP/last.out"; fail "the script did not run"; }
echo "  --no-correlate with --extract/--inject rules  ${rules}%"
echo "  --no-correlate with a --script hook           ${script}%"
python3 -c "import sys; sys.exit(0 if float('$rules') > float('$nocorr') + 20 and float('$script') > float('$nocorr') + 20 else 1)" \
    || fail "rules (${rules}%) or the script (${script}%) did not raise the match over ${nocorr}%"
echo 'function request(req) return req' > "$TMP/bad.lua"
rc=0
"$REPRISE" replay "$TMP/c.db" --target http://127.0.0.1:1 --script "$TMP/bad.lua" > "$TMP/bad.out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q "script .*bad.lua" "$TMP/bad.out" \
    || { cat "$TMP/bad.out"; fail "a broken script was not refused with exit 2 (rc $rc)"; }
pass "explicit rules (${rules}%) and the LuaJIT hook (${script}%) carry the session without learning; a broken script is refused"

# The copies are their own users: each copy's orders were created (201),
# none refused as a reused Idempotency-Key beyond the captured 409s.
run=$(sqlite3 "$TMP/c.db" "SELECT id FROM runs WHERE options LIKE '%\"scale\":3%' ORDER BY id DESC LIMIT 1")
c201=$(sqlite3 "$TMP/c.db" "SELECT count(*) FROM results r JOIN exchanges e ON e.id = r.exchange_id
                            WHERE r.run_id = $run AND e.status = 201 AND r.status = 201")
e201=$(sqlite3 "$TMP/c.db" "SELECT 3 * count(*) FROM exchanges WHERE status = 201")
[ "$c201" -eq "$e201" ] || fail "--scale 3: $c201 of $e201 orders created"
pass "--scale 3: every copy created its own orders ($c201 of $e201), generated keys regenerated per copy"

# analyze: the run's correlations and the status match per endpoint.
"$REPRISE" analyze "$TMP/c.db" --candidate "$run" > "$TMP/an.out" 2>&1 || true
grep -q "correlated cookie [0-9]* bearer [0-9]*.*, 0 requests sent back a value that could not be correlated" "$TMP/an.out" \
    || { cat "$TMP/an.out"; fail "analyze does not show the run's correlations"; }
grep -q "^status match" "$TMP/an.out" && grep -Eq "^  POST /orders +100.0%" "$TMP/an.out" \
    || { cat "$TMP/an.out"; fail "analyze does not show the status match per endpoint"; }
pass "analyze shows the values correlated by kind and the status match per endpoint"

# show lists where an exchange's values came from.
ex=$(sqlite3 "$TMP/c.db" "SELECT exchange_id FROM correlations WHERE location = 'header:X-CSRF-Token' LIMIT 1")
"$REPRISE" show "$TMP/c.db" "$ex" > "$TMP/show.out" 2>&1 || { cat "$TMP/show.out"; fail "show failed"; }
grep -q "header:X-CSRF-Token <- json:csrf of exchange [0-9]*" "$TMP/show.out" \
    || { cat "$TMP/show.out"; fail "show does not list the correlations"; }
grep -q "copy 2: status [0-9]*.*, [0-9]* values substituted" "$TMP/show.out" \
    || { cat "$TMP/show.out"; fail "show does not say what was substituted in each replayed copy"; }
pass "show lists the exchange's correlations and what each replay substituted"
