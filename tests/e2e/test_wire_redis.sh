#!/usr/bin/env bash
# test_wire_redis.sh: Redis traffic end to end with the real server.
# redis-server (Debian) runs on a free port in its own folder with a
# password; redis-benchmark (pipelined and not, RESP2 and RESP3) and a
# scripted redis-cli session (AUTH, HELLO AUTH, SELECT, MULTI/EXEC, EVAL/EVALSHA, an
# error, SUBSCRIBE with messages pushed by PUBLISH) are recorded with
# tcpdump. The capture, with --protocol redis and without it (the first
# bytes decide), must hold one exchange per command the server counted
# (INFO commandstats), no password in clear, every push counted and none
# taken for a reply. It is replayed at 10x against a FRESH server with
# --password-file: every command goes once, with the captured reply class,
# and the fresh server counts the same commands. analyze compares the run
# with the capture per command.
source "$SRC/tests/lib.sh"

command -v redis-server >/dev/null || skip "redis-server not installed"
command -v redis-benchmark >/dev/null || skip "redis-tools not installed"
command -v tcpdump >/dev/null || skip "tcpdump not installed"

PW="s3cret-$RANDOM-pass"
printf '%s\n' "$PW" > "$TMP/pw"
start_redis() { # NAME PORT
    mkdir -p "$TMP/$1"
    redis-server --port "$2" --bind 127.0.0.1 --dir "$TMP/$1" --save "" \
        --appendonly no --requirepass "$PW" --daemonize no \
        --logfile "$TMP/$1/log" &
    track_pid $!
    wait_port "$2"
}
cli() { redis-cli -p "$1" -a "$PW" --no-auth-warning "${@:2}"; }
# "cmd calls" lines of INFO commandstats, without the test's own INFO
cmdstats() {
    cli "$1" INFO commandstats | tr -d '\r' |
        sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),.*/\1 \2/p' |
        grep -v '^info ' | sort
}

PA=$(free_port)
start_redis a "$PA"
start_tcpdump "$PA" "$TMP/cap.pcap"
N=300
redis-benchmark -p "$PA" -a "$PW" -n "$N" -c 4 -t set,get,incr,lpush,hset \
    -q > "$TMP/bench1.out" 2>&1 || { cat "$TMP/bench1.out"; fail "redis-benchmark"; }
redis-benchmark -p "$PA" -a "$PW" -n "$N" -c 2 -P 8 -t set,get -q \
    > "$TMP/bench2.out" 2>&1 || { cat "$TMP/bench2.out"; fail "redis-benchmark -P 8"; }
redis-benchmark -3 -p "$PA" -a "$PW" -n 100 -c 2 -t get -q \
    > "$TMP/bench3.out" 2>&1 || { cat "$TMP/bench3.out"; fail "redis-benchmark -3"; }
# one scripted session: every line one command on one connection
SHA=$(cli "$PA" SCRIPT LOAD "return redis.call('GET', KEYS[1])")
cli "$PA" <<EOF > "$TMP/session.out"
SELECT 3
SET k1 v1
MULTI
INCR counter
SET k2 v2
EXEC
EVALSHA $SHA 1 k1
EVAL "return 42" 0
HSET h f v
LPUSH k1 oops
DEL k1 k2 h counter
EOF
# HELLO with its own AUTH (no AUTH command on that connection): stored
# with markers, rebuilt with --password-file at replay
redis-cli -p "$PA" HELLO 3 AUTH default "$PW" > /dev/null || fail "HELLO AUTH"
grep -q WRONGTYPE "$TMP/session.out" || fail "the session did not get its error: $(cat "$TMP/session.out")"
# pub/sub: a subscriber gets 3 messages pushed while it waits
cli "$PA" SUBSCRIBE ch1 > "$TMP/sub.out" 2>&1 &
SUB=$!
for i in $(seq 1 50); do
    [ "$(cli "$PA" PUBSUB NUMSUB ch1 | tail -1)" = 1 ] && break
    sleep 0.1
done
for i in 1 2 3; do cli "$PA" PUBLISH ch1 "m$i" >/dev/null; done
sleep 0.3
kill "$SUB" 2>/dev/null || true
wait "$SUB" 2>/dev/null || true
sleep 1.2
stop_tcpdump
[ "$(tcpdump_drops "$TMP/cap.pcap")" -eq 0 ] || skip "tcpdump dropped packets"
cmdstats "$PA" > "$TMP/stats.a"

"$REPRISE" capture -r "$TMP/cap.pcap" -o "$TMP/c.db" --protocol redis > "$TMP/cap.out" 2>&1 \
    || { cat "$TMP/cap.out"; fail "capture failed"; }
check_identity "$TMP/c.db"
"$REPRISE" capture -r "$TMP/cap.pcap" -o "$TMP/auto.db" > "$TMP/auto.out" 2>&1 \
    || { cat "$TMP/auto.out"; fail "capture without --protocol failed"; }
check_identity "$TMP/auto.db"

# the corpus against the server's own counts, command by command
python3 - "$TMP/c.db" "$TMP/stats.a" "$TMP/auto.db" "$PW" <<'PY' || fail "the corpus does not match INFO commandstats"
import json, sqlite3, sys, zlib
db, stats, auto, pw = sys.argv[1:5]
want = {}
for line in open(stats):
    name, calls = line.split()
    # commandstats names sub-commands "config|get"; reprise "CONFIG GET"
    want[name.replace("|", " ").upper()] = int(calls)
# not on the wire: the AUTH of the INFO connection that read these counts,
# and the GET the script called inside EVALSHA
want["AUTH"] -= 1
want["GET"] -= 1
con = sqlite3.connect(db)
got = dict(con.execute("SELECT method, COUNT(*) FROM exchanges GROUP BY method"))
bad = [(k, want.get(k, 0), got.get(k, 0)) for k in set(want) | set(got)
       if want.get(k, 0) != got.get(k, 0)]
if bad:
    print("command  server  corpus")
    for b in sorted(bad):
        print(*b)
    sys.exit(1)
total = sum(want.values())
rows = con.execute("SELECT COUNT(*) FROM exchanges").fetchone()[0]
arows = sqlite3.connect(auto).execute("SELECT COUNT(*) FROM exchanges").fetchone()[0]
if arows != rows:
    print("without --protocol: %d exchanges, with: %d" % (arows, rows)); sys.exit(1)
st = json.loads(con.execute("SELECT stats FROM captures").fetchone()[0])
if st.get("pushes", 0) < 3:
    print("pushes counted:", st.get("pushes")); sys.exit(1)
for v, in con.execute("SELECT DISTINCT version FROM exchanges"):
    if v not in ("RESP2", "RESP3"):
        print("version", v); sys.exit(1)
if not con.execute("SELECT COUNT(*) FROM exchanges WHERE version = 'RESP3'").fetchone()[0]:
    print("no RESP3 exchange after HELLO 3"); sys.exit(1)
errs = con.execute("SELECT method, reason FROM exchanges WHERE status = 500").fetchall()
if errs != [("LPUSH", "WRONGTYPE")]:
    print("error replies:", errs); sys.exit(1)
for blob, in con.execute("SELECT data FROM bodies"):
    try:
        raw = zlib.decompress(blob)
    except Exception:
        raw = blob
    if pw.encode() in raw:
        print("the password is stored in clear"); sys.exit(1)
if pw.encode() in open(db, "rb").read():
    print("the password is in the corpus file"); sys.exit(1)
print("%d commands, %d exchanges, %d pushes" % (total, rows, st["pushes"]))
PY
# --no-redact keeps AUTH's arguments, as it keeps HTTP's secrets
"$REPRISE" capture -r "$TMP/cap.pcap" -o "$TMP/nr.db" --protocol redis --no-redact > "$TMP/nr.out" 2>&1 \
    || { cat "$TMP/nr.out"; fail "capture --no-redact failed"; }
python3 - "$TMP/nr.db" "$PW" <<'PY' || fail "--no-redact did not keep the AUTH arguments"
import sqlite3, sys, zlib
con = sqlite3.connect(sys.argv[1])
blobs = [zlib.decompress(b) for b, in con.execute(
    "SELECT b.data FROM bodies b JOIN exchanges e ON e.req_body_hash = b.hash WHERE e.method = 'AUTH'")]
sys.exit(0 if blobs and all(sys.argv[2].encode() in b for b in blobs) else 1)
PY
grep -q "Redis connections recorded" "$TMP/cap.out" || { cat "$TMP/cap.out"; fail "the summary does not count Redis connections"; }
ex=$(sqlite3 "$TMP/c.db" "SELECT COUNT(*) FROM exchanges")
evalsha=$(sqlite3 "$TMP/c.db" "SELECT method || ' ' || target FROM exchanges WHERE method = 'EVALSHA'")
[ "$evalsha" = "EVALSHA $SHA" ] || fail "EVALSHA endpoint: '$evalsha'"

# replay at 10x against a fresh server
PB=$(free_port)
start_redis b "$PB"
"$REPRISE" replay "$TMP/c.db" --target "redis://127.0.0.1:$PB" --password-file "$TMP/pw" \
    --speed 10 --label fresh > "$TMP/replay.out" 2>&1 || { cat "$TMP/replay.out"; fail "replay failed"; }
run=$(sqlite3 "$TMP/c.db" "SELECT max(id) FROM runs")
read -r sent once match same errs <<<"$(run_counts "$TMP/c.db")"
[ "$sent" -eq "$ex" ] && [ "$once" -eq "$ex" ] || { cat "$TMP/replay.out"; fail "replayed $sent results for $once of $ex exchanges"; }
[ "$errs" -eq 0 ] || { cat "$TMP/replay.out"; fail "$errs replayed commands failed"; }
[ "$match" -eq "$ex" ] || { cat "$TMP/replay.out"; fail "only $match of $ex commands got the captured reply class"; }
cmdstats "$PB" > "$TMP/stats.b"
# the fresh server saw the captured commands (SCRIPT LOAD was captured too)
diff <(grep -v '^config\|^pubsub\|^publish\|^subscribe' "$TMP/stats.a") \
     <(grep -v '^config\|^pubsub\|^publish\|^subscribe' "$TMP/stats.b") \
    || fail "the fresh server did not see the captured commands"

"$REPRISE" analyze "$TMP/c.db" --baseline capture --candidate fresh > "$TMP/an.out" 2>&1 || true
grep -q "EVALSHA $SHA" "$TMP/an.out" && grep -q "^ *GET\b\|  GET " "$TMP/an.out" \
    || { cat "$TMP/an.out"; fail "analyze does not compare per command"; }
cat "$TMP/an.out" >&2 # the per-command comparison, for the log
pass "redis: $ex commands captured and replayed at 10x, each once with its reply class ($same of $ex replies byte for byte the captured one)"
