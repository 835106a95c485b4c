#!/usr/bin/env bash
# test_replay_modes.sh: replay modes end to end against nginx. Two keep-alive
# sessions (/a/0../a/4 and /b/0../b/4, 100 ms apart, interleaved) are
# recorded with tcpdump and captured; then: every exchange arrives exactly
# once with its captured target; response body hashes equal the captured
# ones; --speed stretches or squeezes the spread of send times as asked;
# --scale 3 multiplies the counts exactly; --sessions keeps each captured
# connection's order; --rate spaces requests evenly. Runs once per engine
# (REPRISE_ENGINE, see CMakeLists.txt).
# engines: raw curl
source "$SRC/tests/lib.sh"
ENGINE=${REPRISE_ENGINE:-raw}

command -v nginx >/dev/null || skip "nginx not installed"
command -v tcpdump >/dev/null || skip "tcpdump not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"

P1=$(free_port)
start_nginx src "$P1"
start_tcpdump "$P1" "$TMP/cap.pcap"
python3 - "$P1" <<'PY'
import http.client, sys, threading, time
port = int(sys.argv[1])
start = time.time() + 0.1
def session(name, offset):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for i in range(5):
        time.sleep(max(0.0, start + offset + i * 0.1 - time.time()))
        c.request("GET", "/%s/%d" % (name, i))
        c.getresponse().read()
    c.close()
ts = [threading.Thread(target=session, args=a) for a in (("a", 0), ("b", 0.05))]
for t in ts: t.start()
for t in ts: t.join()
PY
stop_tcpdump
"$REPRISE" capture -r "$TMP/cap.pcap" -o "$TMP/c.db" --port "$P1" --quiet \
    || fail "capture failed"
n=$(sqlite3 "$TMP/c.db" "SELECT count(*) FROM exchanges")
[ "$n" -eq 10 ] || fail "expected 10 captured exchanges, got $n"

P2=$(free_port)
start_nginx dst "$P2"
log="$TMP/dst/access.log"
replay() { "$REPRISE" replay "$TMP/c.db" --target "http://127.0.0.1:$P2" --quiet --engine "$ENGINE" "$@"; }
q() { sqlite3 "$TMP/c.db" "$1"; }
last_run() { q "SELECT max(id) FROM runs"; }

# 1. Exactly once each, captured targets, body hashes as captured.
: > "$log"
replay --speed 4 || fail "replay failed"
sleep 0.2
[ "$(wc -l < "$log")" -eq 10 ] || { cat "$log"; fail "expected 10 requests"; }
for s in a b; do for i in 0 1 2 3 4; do
    [ "$(grep -c "^GET /$s/$i HTTP/1.1 404 " "$log")" -eq 1 ] \
        || { cat "$log"; fail "/$s/$i not replayed exactly once"; }
done; done
r=$(last_run)
same=$(q "SELECT count(*) FROM results r JOIN exchanges e ON e.id = r.exchange_id
          WHERE r.run_id = $r AND r.body_hash = e.resp_body_hash")
[ "$same" -eq 10 ] || fail "body hashes: $same of 10 equal the capture's"
pass "10 exchanges replayed once each; body hashes equal the capture's"

# 2. --speed: the spread of send times is the captured spread / X.
cap_span=$(q "SELECT max(req_first_us) - min(req_first_us) FROM exchanges")
# The schedule is exact; the send times follow it up to the generator's
# lateness (loose bounds: the test machine may be busy).
for x in 0.5 2; do
    replay --speed "$x" || fail "replay --speed $x failed"
    r=$(last_run)
    sched=$(q "SELECT max(scheduled_us) - min(scheduled_us) FROM results WHERE run_id = $r")
    span=$(q "SELECT max(sent_us) - min(sent_us) FROM results WHERE run_id = $r")
    want=$(python3 -c "print(int($cap_span / $x))")
    python3 -c "import sys; sys.exit(0 if abs($sched - $want) <= 10 else 1)" \
        || fail "--speed $x: scheduled spread ${sched}us, expected ${want}us"
    python3 -c "import sys; sys.exit(0 if abs($span - $want) <= max(50000, $want * 0.25) else 1)" \
        || fail "--speed $x: send spread ${span}us, expected ~${want}us"
    pass "--speed $x: scheduled spread ${sched}us, send spread ${span}us (captured ${cap_span}us)"
done
late=$(q "SELECT sent_us - scheduled_us FROM results WHERE run_id = $(last_run)
          ORDER BY 1 LIMIT 1 OFFSET 5")
[ "$late" -lt 5000 ] || fail "median lateness ${late}us at --speed 2"

# 3. --scale 3: counts multiply exactly, copies 0..2 of every exchange.
: > "$log"
replay --scale 3 --speed 4 || fail "replay --scale failed"
sleep 0.2
[ "$(wc -l < "$log")" -eq 30 ] || fail "--scale 3: $(wc -l < "$log") requests, expected 30"
for s in a b; do for i in 0 1 2 3 4; do
    [ "$(grep -c "^GET /$s/$i " "$log")" -eq 3 ] || fail "/$s/$i not sent 3 times"
done; done
r=$(last_run)
[ "$(q "SELECT count(DISTINCT exchange_id || '/' || copy) FROM results WHERE run_id = $r")" -eq 30 ] \
    || fail "--scale 3: results are not 30 distinct (exchange, copy)"
pass "--scale 3: 30 requests, each exchange exactly 3 times"

# 4. --sessions: each captured connection's order is kept, one at a time.
: > "$log"
replay --sessions --max --concurrency 4 || fail "replay --sessions failed"
sleep 0.2
for s in a b; do
    order=$(grep -o "^GET /$s/[0-9]" "$log" | tr -d '\n')
    [ "$order" = "GET /$s/0GET /$s/1GET /$s/2GET /$s/3GET /$s/4" ] \
        || { cat "$log"; fail "--sessions: session $s out of order"; }
done
r=$(last_run)
overlap=$(q "SELECT count(*) FROM results x JOIN results y ON x.run_id = y.run_id
             JOIN exchanges ex ON ex.id = x.exchange_id
             JOIN exchanges ey ON ey.id = y.exchange_id
             WHERE x.run_id = $r AND ex.connection_id = ey.connection_id
               AND ey.seq = ex.seq + 1 AND y.sent_us < x.done_us")
[ "$overlap" -eq 0 ] || fail "--sessions: $overlap requests sent before their predecessor finished"
conns=$(q "SELECT count(*) FROM results WHERE run_id = $r AND connect_us > 0")
[ "$conns" -eq 2 ] || fail "--sessions: $conns connections opened for 2 captured connections"
pass "--sessions: order kept, one connection per session, next request only after the previous response"

# 5. --rate: even spacing in captured order.
replay --rate 50/s || fail "replay --rate failed"
r=$(last_run)
span=$(q "SELECT max(sent_us) - min(sent_us) FROM results WHERE run_id = $r")
sched=$(q "SELECT max(scheduled_us) - min(scheduled_us) FROM results WHERE run_id = $r")
[ "$sched" -eq 180000 ] || fail "--rate 50/s: scheduled spread ${sched}us, expected 180000"
[ "$span" -ge 150000 ] && [ "$span" -le 230000 ] \
    || fail "--rate 50/s: 10 requests sent over ${span}us, expected ~180000"
pass "--rate 50/s: spread ${span}us"
