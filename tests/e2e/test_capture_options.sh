#!/usr/bin/env bash
# test_capture_options.sh: capture options on a pcap recorded here (two
# nginx servers on loopback, curl clients): --port and a BPF expression
# select connections, --sample keeps whole connections, --count stops,
# --label is stored, --no-redact / --redact-header reach the HTTP layer,
# --max-body truncates, --flow-timeout and --max-memory are accepted.
source "$SRC/tests/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "tcpdump on lo needs root"
for t in nginx curl tcpdump; do command -v $t > /dev/null || skip "$t missing"; done

P1=$(free_port)
P2=$(free_port)
start_nginx one "$P1"
start_nginx two "$P2"
head -c 50000 /dev/urandom > "$TMP/one/html/big.bin"

PCAP="$TMP/mix.pcap"
tcpdump -i lo -s 0 -U --immediate-mode -w "$PCAP" "tcp port $P1 or tcp port $P2" \
    2> "$TMP/td.log" &
TD=$!
track_pid $TD
for i in $(seq 1 50); do grep -q "listening on" "$TMP/td.log" && break; sleep 0.1; done
for i in $(seq 1 40); do curl -s "http://127.0.0.1:$P1/?c=$i" > /dev/null; done
for i in $(seq 1 5); do curl -s "http://127.0.0.1:$P2/?two=$i" > /dev/null; done
curl -s -H "Authorization: Bearer s3cret" -H "X-Api-Key: k" \
    "http://127.0.0.1:$P2/auth" > /dev/null
curl -s "http://127.0.0.1:$P1/big.bin" > /dev/null
sleep 0.3
kill -INT $TD
wait $TD || true

cap() { # DB ARGS...: fresh corpus, capture, print exchange count
    local db=$1; shift
    rm -f "$db"
    "$REPRISE" capture -q -r "$PCAP" -o "$db" "$@" || fail "capture $*: exit $?"
    "$REPRISE" export "$db" --format jsonl | wc -l
}

n=$(cap "$TMP/all.db")
[ "$n" -eq 47 ] || fail "all: $n exchanges, expected 47"

n=$(cap "$TMP/p1.db" --port "$P1")
[ "$n" -eq 41 ] || fail "--port $P1: $n exchanges, expected 41"
n=$(cap "$TMP/p2.db" --port "$P2,$P2")
[ "$n" -eq 6 ] || fail "--port $P2: $n exchanges, expected 6"
n=$(cap "$TMP/bpf.db" tcp port "$P2")
[ "$n" -eq 6 ] || fail "BPF 'tcp port $P2': $n exchanges, expected 6"

n=$(cap "$TMP/s.db" --sample 0.5 --port "$P1")
[ "$n" -ge 8 ] && [ "$n" -le 33 ] || fail "--sample 0.5: $n of 41 exchanges"
"$REPRISE" export "$TMP/s.db" --format jsonl | grep -q '"status":0' &&
    fail "--sample cut a connection in half"
n2=$(cap "$TMP/s2.db" --sample 0.5 --port "$P1")
[ "$n" -eq "$n2" ] || fail "--sample is not deterministic ($n vs $n2)"

n=$(cap "$TMP/c.db" --count 5)
[ "$n" -ge 5 ] && [ "$n" -le 6 ] || fail "--count 5: $n exchanges"

cap "$TMP/l.db" --label nightly --flow-timeout 10s --max-memory 64MiB > /dev/null
"$REPRISE" ls "$TMP/l.db" | grep -q nightly || fail "--label not stored"

"$REPRISE" export "$TMP/all.db" --format jsonl | grep '"target":"/auth"' |
    grep -q redacted || fail "Authorization was not redacted by default"
cap "$TMP/nr.db" --no-redact > /dev/null
"$REPRISE" export "$TMP/nr.db" --format jsonl | grep '"target":"/auth"' |
    grep -q redacted && fail "--no-redact still redacted"
cap "$TMP/rh.db" --no-redact --redact-header X-Api-Key > /dev/null
"$REPRISE" export "$TMP/rh.db" --format jsonl | grep '"target":"/auth"' |
    grep -q redacted || fail "--redact-header X-Api-Key had no effect"

cap "$TMP/mb.db" --max-body 1k > /dev/null
"$REPRISE" export "$TMP/mb.db" --format jsonl | grep '"target":"/big.bin"' |
    grep -q "resp_truncated" || fail "--max-body 1k did not truncate"

pass "capture options"
