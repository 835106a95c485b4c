#!/usr/bin/env bash
# test_web.sh: the live dashboard of `replay --web` against a live replay of
# samples/shop.pcap (6 endpoints) into nginx. Headless Chromium, with a
# fresh profile, every other host unresolvable and a net log, loads the page
# twice: it renders the captured endpoints, its numbers grow between the two
# looks, the page itself asks nothing of another host, and a screenshot is
# kept in $BUILD/test-artifacts/web_dashboard.png. /metrics is parsed twice
# by python3-prometheus-client's parser, with growing counters. Unknown
# routes are 404, wrong methods 405, bad values 400. Hostile clients (a
# slowloris trickling headers on 12 connections, a 1 MiB header) are bounded
# and leave the dashboard answering and the replay without errors. The
# controls: stop and speed without the token are 403; with it the speed
# change is recorded in the run's summary, and the page opened with the
# token stops the run from its button in Chromium (interrupted);
# --web-linger keeps the final numbers up until SIGINT.
source "$SRC/tests/lib.sh"

command -v nginx >/dev/null || skip "nginx not installed"
command -v curl >/dev/null || skip "curl not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip "chromium not installed"
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null \
    || skip "python3-prometheus-client not installed"
/usr/bin/python3 -c 'import websocket' 2>/dev/null \
    || skip "python3-websocket not installed"

"$REPRISE" capture -r "$SRC/samples/shop.pcap" -o "$TMP/c.db" --quiet \
    || fail "capture of samples/shop.pcap failed"

PT=$(free_port)
start_nginx dst "$PT" 'location / { return 200 "ok\n"; }'

# About 125 req/s for up to 200 s; the test stops it long before.
"$REPRISE" replay "$TMP/c.db" --target "http://127.0.0.1:$PT" --loop 100 \
    --web 0 --web-linger 60s --json > "$TMP/sum.json" 2> "$TMP/err.txt" &
RP=$!
track_pid "$RP"
for i in $(seq 1 100); do
    grep -q "control token" "$TMP/err.txt" && break
    kill -0 "$RP" 2>/dev/null || { cat "$TMP/err.txt"; fail "replay died"; }
    sleep 0.1
done
grep -q "control token" "$TMP/err.txt" || { cat "$TMP/err.txt"; fail "no dashboard line"; }
BASE=$(grep -o 'dashboard on http://127\.0\.0\.1:[0-9]*' "$TMP/err.txt" | grep -o 'http.*')
TOKEN=$(grep -o 'control token [0-9a-f]*' "$TMP/err.txt" | awk '{print $3}')
[ ${#TOKEN} -eq 32 ] || fail "token '$TOKEN' is not 32 hex digits"
WPORT=${BASE##*:}
stats_get() { curl -sf "$BASE/api/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# wait for the first responses
for i in $(seq 1 50); do [ "$(stats_get '["responses"]')" -gt 0 ] && break; sleep 0.1; done

# 1. Routes and methods.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$BASE/")" = 200 ] || fail "GET / not 200"
[ "$(code "$BASE/nope")" = 404 ] || fail "unknown route not 404"
[ "$(code "$BASE/../etc/passwd")" = 404 ] || fail "path outside routes not 404"
[ "$(code "$BASE/api/stats/x")" = 404 ] || fail "/api/stats/x not 404"
[ "$(code -X POST "$BASE/metrics")" = 405 ] || fail "POST /metrics not 405"
[ "$(code -X DELETE "$BASE/")" = 405 ] || fail "DELETE / not 405"
[ "$(code "$BASE/api/stop")" = 405 ] || fail "GET /api/stop not 405"
[ "$(code -H 'Host: evil.example:80' "$BASE/api/stats")" = 403 ] \
    || fail "a rebound Host name was served"
[ "$(code -H "Host: localhost:$WPORT" "$BASE/api/stats")" = 200 ] \
    || fail "Host localhost refused"
curl -sI "$BASE/" | grep -qi '^Content-Security-Policy: default-src .none.' \
    || fail "the page has no Content-Security-Policy"
curl -s "$BASE/" > "$TMP/page.html"
if grep -Eio '(src|href)=|https?://|@import|url\(' "$TMP/page.html"; then
    fail "the page refers to an external resource"
fi

# 2. The controls need the token.
[ "$(code -X POST "$BASE/api/stop")" = 403 ] || fail "stop without token not 403"
[ "$(code -X POST -H 'X-Reprise-Token: 0123' "$BASE/api/stop")" = 403 ] \
    || fail "stop with a wrong token not 403"
[ "$(code -X POST "$BASE/api/speed?speed=2")" = 403 ] || fail "speed without token not 403"
[ "$(stats_get '["state"]')" = running ] || fail "the run stopped without the token"
[ "$(code -X POST -H "X-Reprise-Token: $TOKEN" "$BASE/api/speed?speed=abc")" = 400 ] \
    || fail "bad speed not 400"
[ "$(code -X POST -H "X-Reprise-Token: $TOKEN" "$BASE/api/speed?speed=-1")" = 400 ] \
    || fail "negative speed not 400"
[ "$(code -X POST -H "X-Reprise-Token: $TOKEN" "$BASE/api/speed?speed=1.5")" = 200 ] \
    || fail "speed with the token refused"
[ "$(stats_get '["multiple"]')" = 1.5 ] || fail "multiple not 1.5 after the change"

# 3. A real browser: endpoints rendered, numbers growing, nothing fetched
# from another host, a screenshot kept.
browse() { # browse OUT_PREFIX MODE...
    local out=$1
    shift
    timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
        --user-data-dir="$TMP/chrome-$out" --no-first-run \
        --disable-background-networking --disable-component-update \
        --disable-sync --disable-default-apps --disable-extensions \
        --host-resolver-rules='MAP * ~NOTFOUND, EXCLUDE 127.0.0.1' \
        --log-net-log="$TMP/$out.netlog.json" --virtual-time-budget=3000 \
        --window-size=1280,1000 "$@" "$BASE/" 2> "$TMP/$out.chrome.log"
}
browse look1 --dump-dom > "$TMP/look1.html" || fail "chromium failed (look1)"
sleep 1.5
browse look2 --dump-dom > "$TMP/look2.html" || fail "chromium failed (look2)"
mkdir -p "$BUILD/test-artifacts"
SHOT="$BUILD/test-artifacts/web_dashboard.png"
rm -f "$SHOT"
browse shot --screenshot="$SHOT" >/dev/null || fail "chromium failed (screenshot)"
[ -s "$SHOT" ] || fail "no screenshot written"
python3 - "$TMP" "$WPORT" "$SHOT" <<'PY' || fail "the browser's view"
import json, re, sys
tmp, port, shot = sys.argv[1], sys.argv[2], sys.argv[3]
looks = [open(f"{tmp}/look{i}.html").read() for i in (1, 2)]
def num(html, id_):
    m = re.search(r'id="%s">([0-9,]+)<' % id_, html)
    assert m, f"no #{id_} number in the page"
    return int(m.group(1).replace(",", ""))
for ep in ("GET /api/users/:id", "GET /api/orders/:id", "GET /api/search",
           "POST /api/cart", "GET /health"):
    for h in looks:
        assert f"<td>{ep}</td>" in h, f"endpoint {ep} not rendered"
s1, s2 = num(looks[0], "sent"), num(looks[1], "sent")
assert 0 < s1 < s2, f"sent did not grow between two looks: {s1} -> {s2}"
r1, r2 = num(looks[0], "responses"), num(looks[1], "responses")
assert 0 < r1 < r2, f"responses did not grow: {r1} -> {r2}"
assert 'class="running"' in looks[1], "state is not running"
assert 'id="controls" hidden' in looks[1], "controls shown without the token"
# The net log: every request in the page's context went to the dashboard.
origin = f"http://127.0.0.1:{port}"
for look in ("look1", "look2", "shot"):
    log = json.load(open(f"{tmp}/{look}.netlog.json"))
    types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    mine = 0
    for e in log["events"]:
        p = e.get("params") or {}
        if types.get(e["type"]) != "URL_REQUEST_START_JOB" or "url" not in p:
            continue
        page = p.get("initiator") == origin or origin in p.get("network_isolation_key", "")
        if p["url"].startswith(origin + "/"):
            mine += 1
        elif page:
            raise AssertionError(f"{look}: the page requested {p['url']}")
    assert mine >= 2, f"{look}: the page and /api/stats not seen in the net log"
png = open(shot, "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000, "screenshot is not a real page"
print(f"browser: sent {s1} -> {s2}, responses {r1} -> {r2}")
PY
# the table's blue and orange chart lines were drawn
python3 "$SRC/tests/e2e/pngcolors.py" "$SHOT" 2e90fa f79009 > "$TMP/colors.txt"
awk '$2 < 200 { bad = 1 } END { exit bad }' "$TMP/colors.txt" \
    || { cat "$TMP/colors.txt"; fail "the charts' lines are missing from the screenshot"; }

# 4. /metrics, parsed strictly, twice, with growing counters.
curl -sf "$BASE/metrics" > "$TMP/m1.txt" || fail "GET /metrics failed"
sleep 1.2
curl -sf "$BASE/metrics" > "$TMP/m2.txt" || fail "GET /metrics failed"
curl -sI "$BASE/metrics" | grep -qi '^Content-Type: text/plain; version=0.0.4' \
    || fail "/metrics content type"
/usr/bin/python3 - "$TMP/m1.txt" "$TMP/m2.txt" <<'PY' || fail "/metrics"
import sys
from prometheus_client.parser import text_string_to_metric_families
def load(path):
    fams = {f.name: f for f in text_string_to_metric_families(open(path).read())}
    for name, typ in (("reprise_requests", "counter"),
                      ("reprise_request_duration_seconds", "histogram"),
                      ("reprise_inflight_requests", "gauge"),
                      ("reprise_lateness_seconds", "histogram")):
        assert name in fams, f"{name} missing"
        assert fams[name].type == typ, f"{name} is {fams[name].type}, not {typ}"
    return fams
a, b = load(sys.argv[1]), load(sys.argv[2])
def total(f):
    return sum(s.value for s in f.samples if s.name == "reprise_requests_total")
t1, t2 = total(a["reprise_requests"]), total(b["reprise_requests"])
assert 0 < t1 < t2, f"reprise_requests_total did not grow: {t1} -> {t2}"
eps = {s.labels["endpoint"] for s in b["reprise_requests"].samples}
assert "GET /api/users/:id" in eps and "POST /api/cart" in eps, eps
assert len(eps) <= 201, "endpoint labels are not bounded"
for s in b["reprise_requests"].samples:
    assert s.labels["class"] in ("1xx", "2xx", "3xx", "4xx", "5xx", "refused",
                                 "reset", "timeout", "dns", "tls", "protocol",
                                 "other"), s.labels
# histogram buckets are cumulative and end at the count
h = b["reprise_request_duration_seconds"]
by = {}
for s in h.samples:
    if s.name.endswith("_bucket"):
        by.setdefault(s.labels["endpoint"], []).append((float(s.labels["le"]), s.value))
counts = {s.labels["endpoint"]: s.value for s in h.samples if s.name.endswith("_count")}
for ep, bs in by.items():
    vals = [v for _, v in sorted(bs)]
    assert vals == sorted(vals), f"{ep}: buckets not cumulative"
    assert vals[-1] == counts[ep], f"{ep}: +Inf bucket != count"
print(f"metrics: requests_total {t1:.0f} -> {t2:.0f}, {len(eps)} endpoints")
PY

# 5. Hostile clients: a slowloris on 12 connections and a 1 MiB header.
before=$(stats_get '["sent"]')
python3 - "$WPORT" <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
socks = []
for i in range(12):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /api/stats HTTP/1.1\r\nHost: x\r\n")
    socks.append(s)
end = time.time() + 4
while time.time() < end:          # one header byte every 0.3 s each
    for s in socks:
        try:
            s.sendall(b"X")
        except OSError:
            pass
    time.sleep(0.3)
for s in socks:
    s.close()
PY
LORIS=$!
track_pid "$LORIS"
python3 - "$WPORT" > "$TMP/huge.txt" <<'PY' || fail "the 1 MiB header"
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(10)
try:
    s.sendall(b"GET /api/stats HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
except OSError:
    pass  # the server may close before reading it all
try:
    head = s.recv(4096).split(b"\r\n")[0].decode()
except OSError:
    head = "closed"
print(head)
assert head == "closed" or head == "" or " 4" in head, f"answered {head!r}"
PY
sleep 0.5
# while the slowloris trickles, the dashboard answers
for i in 1 2 3; do
    [ "$(code --max-time 5 "$BASE/api/stats")" = 200 ] \
        || fail "dashboard not answering during the slowloris"
    sleep 0.5
done
wait "$LORIS" || true
after=$(stats_get '["sent"]')
[ "$after" -gt "$before" ] || fail "the replay stalled during the hostile clients"
[ "$(stats_get '["errors"]')" = 0 ] || fail "the replay had errors"
echo "hostile: 1 MiB header answered '$(cat "$TMP/huge.txt")'; sent $before -> $after"

# 6. Stopped from the browser: Chromium opens the URL with the token, and
# the page's own stop button is clicked through the DevTools protocol (the
# confirm dialog answered yes); the run ends interrupted, the dashboard
# lingers with the final numbers, SIGINT ends the linger.
DP=$(free_port)
"$CHROMIUM" --headless --no-sandbox --disable-gpu --user-data-dir="$TMP/chrome-ctl" \
    --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --disable-default-apps --disable-extensions \
    --host-resolver-rules='MAP * ~NOTFOUND, EXCLUDE 127.0.0.1' \
    --remote-debugging-address=127.0.0.1 --remote-debugging-port="$DP" \
    "$BASE/#token=$TOKEN" 2> "$TMP/ctl.chrome.log" &
CH=$!
track_pid "$CH"
wait_port "$DP"
/usr/bin/python3 - "$DP" "$BASE" <<'PY' || fail "stopping the run from the browser"
import json, sys, time, urllib.request
import websocket  # Debian python3-websocket
dp, base = sys.argv[1], sys.argv[2]
deadline = time.time() + 30
ws_url = None
while not ws_url and time.time() < deadline:
    try:
        for t in json.load(urllib.request.urlopen(f"http://127.0.0.1:{dp}/json/list")):
            if t.get("type") == "page" and t["url"].startswith(base):
                ws_url = t["webSocketDebuggerUrl"]
    except OSError:
        pass
    time.sleep(0.2)
assert ws_url, "no page target in Chromium"
ws = websocket.create_connection(ws_url, timeout=10, suppress_origin=True)
seq = 0
def ev(expr):
    global seq
    seq += 1
    ws.send(json.dumps({"id": seq, "method": "Runtime.evaluate",
                        "params": {"expression": expr, "returnByValue": True}}))
    while True:
        m = json.loads(ws.recv())
        if m.get("id") == seq:
            return m["result"]["result"].get("value")
while time.time() < deadline:
    if ev("document.getElementById('state').textContent") == "running":
        break
    time.sleep(0.2)
assert ev("document.getElementById('controls').hidden") is False, "no controls with the token"
assert ev("document.getElementById('readonly').hidden") is True
assert ev("document.getElementById('stop').disabled") is False
# the table sorts by the header clicked: endpoint ascending, then count
rows = "[...document.querySelectorAll('#endpoints tbody tr')].map(r => r.cells[%d].textContent)"
ev("document.querySelector('th[data-k=endpoint]').click(); 1")
names = ev(rows % 0)
assert len(names) >= 5 and names == sorted(names), names
ev("document.querySelector('th[data-k=count]').click(); 1")
counts = [int(x.replace(",", "")) for x in ev(rows % 1)]
assert counts == sorted(counts, reverse=True), counts
ev("window.confirm = () => true; document.getElementById('stop').click(); 1")
state = None
while time.time() < deadline:
    state = ev("document.getElementById('state').textContent")
    if state == "finished":
        break
    time.sleep(0.2)
assert state == "finished", f"the page says {state!r} after the stop button"
assert ev("document.getElementById('stop').disabled") is True
print("browser: the table sorts; the stop button ended the run; the page says finished")
PY
kill "$CH" 2>/dev/null || true
for i in $(seq 1 100); do
    [ "$(stats_get '["state"]')" = finished ] && break
    sleep 0.1
done
[ "$(stats_get '["state"]')" = finished ] || fail "the run did not end after stop"
[ -s "$TMP/sum.json" ] || sleep 0.5
final=$(stats_get '["responses"]')
sleep 1.1
[ "$(stats_get '["responses"]')" = "$final" ] || fail "final numbers still moving"
[ "$(code -X POST -H "X-Reprise-Token: $TOKEN" "$BASE/api/stop")" = 409 ] \
    || fail "stop after the end not 409"
kill -0 "$RP" || fail "reprise did not linger"
kill -INT "$RP"
for i in $(seq 1 50); do kill -0 "$RP" 2>/dev/null || break; sleep 0.1; done
kill -0 "$RP" 2>/dev/null && fail "SIGINT did not end the linger"
wait "$RP" || fail "replay exited $?"
python3 - "$TMP/sum.json" "$final" <<'PY' || { cat "$TMP/sum.json"; fail "summary"; }
import json, sys
s = json.load(open(sys.argv[1]))
assert s["status"] == "interrupted", s["status"]
assert s["responses"] == int(sys.argv[2]), (s["responses"], sys.argv[2])
assert s["errors"] == 0, s["errors"]
ch = s["speed_changes"]
assert len(ch) == 1 and ch[0]["from"] == 1 and ch[0]["to"] == 1.5, ch
assert ch[0]["at_us"] > 0
PY
sqlite3 "$TMP/c.db" "SELECT summary FROM runs ORDER BY id DESC LIMIT 1" \
    | grep -q '"speed_changes":\[{"at_us":' || fail "the speed change is not recorded in the run"
[ "$(code --max-time 2 "$BASE/api/stats")" = 000 ] || fail "the server outlived reprise"
pass "web dashboard: browser, metrics, controls, hostile clients, linger"
