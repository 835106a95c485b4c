#!/usr/bin/env bash
# test_capture_live.sh: `reprise capture -i lo` against a real nginx: every
# request in nginx's access log is in the corpus; a quiet interface still
# commits within about a second; SIGINT and SIGTERM stop cleanly (exit 0,
# pending exchanges written); --count and --duration stop by themselves;
# `tcpdump -w - | reprise capture -r -` works; --user drops root.
source "$SRC/tests/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "live capture needs root"
command -v nginx > /dev/null || skip "nginx not installed"
command -v curl > /dev/null || skip "curl not installed"

P=$(free_port)
start_nginx web "$P"
URL="http://127.0.0.1:$P"

count() { "$REPRISE" export "$1" --format jsonl | wc -l; }
wait_listening() { # LOGFILE
    local i
    for i in $(seq 1 50); do
        grep -q "capturing on" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "capture did not start: $(cat "$1")"
}
traffic() { # a mix: separate connections, keep-alive, a POST with a body
    local i
    for i in $(seq 1 10); do curl -s -o /dev/null "$URL/?n=$i"; done
    curl -s "$URL/k1" "$URL/k2" "$URL/k3" "$URL/index.html" > /dev/null
    head -c 20000 /dev/urandom > "$TMP/body.bin"
    curl -s -o /dev/null --data-binary @"$TMP/body.bin" "$URL/post"
}

# 1. SIGINT, with a commit check on the quiet interface in between
"$REPRISE" capture -i lo -o "$TMP/a.db" --port "$P" --label live 2> "$TMP/a.log" &
CP=$!
track_pid $CP
wait_listening "$TMP/a.log"
traffic
sleep 2
n=$(count "$TMP/a.db")
[ "$n" -ge 15 ] || fail "quiet interface: only $n exchanges committed after 2 s"
curl -s -o /dev/null "$URL/last"
sleep 0.3
kill -INT $CP
set +e; wait $CP; rc=$?; set -e
[ "$rc" -eq 0 ] || fail "SIGINT: exit $rc: $(cat "$TMP/a.log")"
want=$(wc -l < "$TMP/web/access.log")
n=$(count "$TMP/a.db")
[ "$n" -eq "$want" ] || fail "SIGINT: $n exchanges, nginx logged $want"
"$REPRISE" export "$TMP/a.db" --format jsonl | grep -q '"method":"POST","target":"/post".*"status":200' ||
    fail "the POST is missing"
grep -q "exchanges" "$TMP/a.log" || fail "no statistics line"
check_identity "$TMP/a.db" "live SIGINT"

# 2. SIGTERM with a request whose response never came is still written
"$REPRISE" capture -i lo -o "$TMP/b.db" --port "$P" 2> "$TMP/b.log" &
CP=$!
track_pid $CP
wait_listening "$TMP/b.log"
curl -s -o /dev/null "$URL/term"
sleep 0.3
kill -TERM $CP
set +e; wait $CP; rc=$?; set -e
[ "$rc" -eq 0 ] || fail "SIGTERM: exit $rc"
[ "$(count "$TMP/b.db")" -eq 1 ] || fail "SIGTERM: exchange lost"

# 3. --count and --duration stop by themselves
"$REPRISE" capture -i lo -o "$TMP/c.db" --port "$P" --count 3 2> "$TMP/c.log" &
CP=$!
track_pid $CP
wait_listening "$TMP/c.log"
for i in $(seq 1 6); do
    kill -0 $CP 2>/dev/null || break
    curl -s -o /dev/null "$URL/c$i"
    sleep 0.2
done
for i in $(seq 1 30); do kill -0 $CP 2>/dev/null || break; sleep 0.1; done
kill -0 $CP 2>/dev/null && fail "--count 3 did not stop the capture"
n=$(count "$TMP/c.db")
[ "$n" -ge 3 ] && [ "$n" -le 4 ] || fail "--count 3: $n exchanges"

start=$(date +%s%N)
"$REPRISE" capture -q -i lo -o "$TMP/d.db" --port "$P" --duration 1s ||
    fail "--duration: exit $?"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -ge 900 ] && [ "$ms" -lt 5000 ] || fail "--duration 1s took $ms ms"

# 4. tcpdump -w - | reprise capture -r - (through a fifo, to stop by pid)
mkfifo "$TMP/fifo"
"$REPRISE" capture -q -r - -o "$TMP/e.db" < "$TMP/fifo" &
RP=$!
track_pid $RP
tcpdump -i lo -s 0 -U --immediate-mode -w - "tcp port $P" > "$TMP/fifo" 2> "$TMP/td.log" &
TD=$!
track_pid $TD
for i in $(seq 1 50); do grep -q "listening on" "$TMP/td.log" && break; sleep 0.1; done
for i in $(seq 1 5); do curl -s "$URL/pipe$i" > /dev/null; done
sleep 0.5
kill -INT $TD
set +e; wait $TD; wait $RP; rc=$?; set -e
[ "$rc" -eq 0 ] || fail "tcpdump pipe: exit $rc"
[ "$(count "$TMP/e.db")" -eq 5 ] || fail "tcpdump pipe: $(count "$TMP/e.db") exchanges"

# 5. --user drops root once the interface is open
if id nobody > /dev/null 2>&1; then
    mkdir -m 777 "$TMP/u"
    "$REPRISE" capture -i lo -o "$TMP/u/u.db" --port "$P" --user nobody \
        2> "$TMP/u.log" &
    CP=$!
    track_pid $CP
    wait_listening "$TMP/u.log"
    [ "$(ps -o user= -p $CP | tr -d ' ')" = nobody ] || fail "--user: still $(ps -o user= -p $CP)"
    curl -s -o /dev/null "$URL/user"
    sleep 0.3
    kill -INT $CP
    set +e; wait $CP; rc=$?; set -e
    [ "$rc" -eq 0 ] || fail "--user: exit $rc: $(cat "$TMP/u.log")"
    [ "$(count "$TMP/u/u.db")" -eq 1 ] || fail "--user: exchange lost"
fi

pass "live capture"
