#!/usr/bin/env bash
# bench_capture_live.sh: `reprise capture -i lo` while wrk drives a loopback
# nginx for DURATION seconds (default 10), then compares the corpus with
# nginx's access log: the share of logged requests that reached the corpus
# (target: 100.000%), the capture's accounting, kernel drops, and reprise's
# peak RSS and CPU time. Asserts nothing.
#   PIPELINE=1   wrk pipelines 4 requests deep per connection (a GET with a
#                chunked response, a POST with a body, another chunked GET
#                and a GET of a static file), as issue 13's loss was seen
#   CONNS=N      wrk connections (default 16), ROUNDS=N runs (default 1)
#   KEEPALIVE=N  nginx closes a connection after N requests (keepalive_
#                requests; default 1000, nginx's own default), so
#                connections end in the middle of a pipelined batch
source "$SRC/tests/lib.sh"

for t in nginx wrk /usr/bin/time sqlite3; do
    command -v "$t" > /dev/null || skip "$t not installed"
done
[ "$(id -u)" -eq 0 ] || skip "live capture needs root"
DURATION=${DURATION:-10}
CONNS=${CONNS:-16}
ROUNDS=${ROUNDS:-1}

P=$(free_port)
start_nginx web "$P" "keepalive_requests ${KEEPALIVE:-1000};
        location /chunked { echo \"chunked hello\"; }"
cat > "$TMP/pipeline.lua" <<'LUA'
-- four requests per round trip: wrk writes them at once, reads 4 answers
init = function(args)
   local r = {}
   r[1] = wrk.format("GET", "/chunked/1")
   r[2] = wrk.format("POST", "/post", {["Content-Type"] = "text/plain"},
                     "a request body of some forty bytes......")
   r[3] = wrk.format("GET", "/chunked/3")
   r[4] = wrk.format("GET", "/")
   req = table.concat(r)
end
request = function() return req end
LUA
script=()
[ "${PIPELINE:-0}" = 1 ] && script=(-s "$TMP/pipeline.lua")

for round in $(seq 1 "$ROUNDS"); do
    : > "$TMP/web/access.log"
    rm -f "$TMP/live.db"
    /usr/bin/time -v "$REPRISE" capture -i lo -o "$TMP/live.db" --port "$P" \
        2> "$TMP/cap.log" &
    TP=$!
    track_pid $TP
    for i in $(seq 1 50); do grep -q "capturing on" "$TMP/cap.log" && break; sleep 0.1; done
    CP=$(pgrep -P $TP | head -1)
    [ -n "$CP" ] || fail "reprise did not start: $(cat "$TMP/cap.log")"

    wrk -t1 -c"$CONNS" -d"${DURATION}s" "${script[@]}" "http://127.0.0.1:$P/" \
        > "$TMP/wrk.out"
    sleep 1.5 # libpcap may hold the last packets up to a second
    kill -INT "$CP"
    wait $TP || fail "capture failed: $(cat "$TMP/cap.log")"

    echo "round $round: $(grep "Requests/sec" "$TMP/wrk.out" | xargs)"
    grep -A5 "capture 1:" "$TMP/cap.log" | grep "^reprise" | sed 's/^reprise: //'
    check_identity "$TMP/live.db" "live round $round"
    # every request nginx logged (method, target, status) must be an
    # exchange with that response; exchanges beyond are requests nginx
    # never answered (pipelined behind a closing response, or in flight
    # when wrk stopped)
    sqlite3 -separator ' ' "$TMP/live.db" \
        "SELECT method, target, status FROM exchanges WHERE status > 0" > "$TMP/db.rows"
    python3 - "$TMP/web/access.log" "$TMP/db.rows" \
        "$(sqlite3 "$TMP/live.db" "SELECT count(*) FROM exchanges")" <<'PY'
import collections, sys
log = collections.Counter()
for l in open(sys.argv[1]):
    f = l.split()          # "$request $status $request_length"
    log[(f[0], f[1], f[-2])] += 1
db = collections.Counter(tuple(l.split()) for l in open(sys.argv[2]))
found = sum(min(n, db[k]) for k, n in log.items())
total = sum(log.values())
print("captured %d of %d requests in the access log, with their response: "
      "%.3f%% (%d exchanges in all, %d without a response)" % (found, total,
      100.0 * found / max(total, 1), int(sys.argv[3]),
      int(sys.argv[3]) - sum(db.values())))
for k, n in sorted(log.items()):
    if db[k] < n:
        print("  missing: %d x %s" % (n - db[k], " ".join(k)))
PY
    echo "reprise peak RSS: $(grep "Maximum resident" "$TMP/cap.log" | awk '{print $NF}') KiB," \
         "CPU user $(grep "User time" "$TMP/cap.log" | awk '{print $NF}') s," \
         "system $(grep "System time" "$TMP/cap.log" | awk '{print $NF}') s"
done
pass "live benchmark"
