#!/usr/bin/env bash
# test_wire_tcp.sh: the generic turn-taking mode (--protocol tcp) on a
# memcached text session. memcached (Debian) runs on a free port; a client
# in standard-library Python speaks to it on three connections (set, get,
# incr, append, delete, a miss, an error, a multi-get, a 20 KB value that
# comes in several segments) and is recorded with tcpdump. The capture
# holds one exchange per client message, named by its first word. It is
# replayed at 10x against a FRESH memcached (tcp://, replies end at their
# captured size): every message goes once and every reply is byte for byte
# the captured one (the same body hash).
source "$SRC/tests/lib.sh"

command -v memcached >/dev/null || skip "memcached not installed"
command -v tcpdump >/dev/null || skip "tcpdump not installed"

start_memcached() { # PORT
    memcached -l 127.0.0.1 -p "$1" -U 0 -u nobody -m 16 &
    track_pid $!
    wait_port "$1"
}
PA=$(free_port)
start_memcached "$PA"
cat > "$TMP/client.py" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
big = b"x" * 20000
def session(cmds):
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    n = 0
    for cmd, ends in cmds:
        s.sendall(cmd)
        got = b""
        while not any(got.endswith(e) for e in ends):
            line = f.readline()
            if not line:
                raise SystemExit("closed")
            got += line
        n += 1
    s.close()
    time.sleep(0.1) # sessions 10 ms apart at 10x: later ones read earlier writes
    return n
k = 0
k += session([(b"set a 0 0 1\r\n1\r\n", [b"STORED\r\n"]),
              (b"get a\r\n", [b"END\r\n"]),
              (b"incr a 41\r\n", [b"\r\n"]),
              (b"append a 0 0 2\r\nxy\r\n", [b"STORED\r\n"]),
              (b"get a\r\n", [b"END\r\n"]),
              (b"get nothere\r\n", [b"END\r\n"]),
              (b"bogus command\r\n", [b"ERROR\r\n"])])
k += session([(b"set big 0 0 20000\r\n" + big + b"\r\n", [b"STORED\r\n"]),
              (b"get big\r\n", [b"END\r\n"]),
              (b"set b 0 0 3\r\nbee\r\n", [b"STORED\r\n"]),
              (b"get a b big\r\n", [b"END\r\n"])])
for i in range(10):
    k += session([(b"set k%d 0 0 2\r\nv%d\r\n" % (i, i % 10), [b"STORED\r\n"]),
                  (b"get k%d\r\n" % i, [b"END\r\n"]),
                  (b"delete k%d\r\n" % i, [b"DELETED\r\n"])])
print(k)
PY
start_tcpdump "$PA" "$TMP/cap.pcap"
msgs=$(python3 "$TMP/client.py" "$PA") || fail "the memcached client failed"
sleep 1.2
stop_tcpdump
[ "$(tcpdump_drops "$TMP/cap.pcap")" -eq 0 ] || skip "tcpdump dropped packets"

"$REPRISE" capture -r "$TMP/cap.pcap" -o "$TMP/c.db" --protocol tcp --port "$PA" > "$TMP/cap.out" 2>&1 \
    || { cat "$TMP/cap.out"; fail "capture failed"; }
check_identity "$TMP/c.db"
ex=$(sqlite3 "$TMP/c.db" "SELECT COUNT(*) FROM exchanges")
[ "$ex" -eq "$msgs" ] || { cat "$TMP/cap.out"; fail "$ex exchanges for $msgs client messages"; }
[ "$(sqlite3 "$TMP/c.db" "SELECT COUNT(*) FROM exchanges WHERE version = 'TCP' AND method = 'set'")" -eq 13 ] \
    || fail "the set messages are not named 'set': $(sqlite3 "$TMP/c.db" "SELECT method, COUNT(*) FROM exchanges GROUP BY 1")"
big=$(sqlite3 "$TMP/c.db" "SELECT req_wire_bytes FROM exchanges WHERE method = 'set' ORDER BY req_wire_bytes DESC LIMIT 1")
[ "$big" -eq 20021 ] || fail "the 20 KB set is $big bytes"

PB=$(free_port)
start_memcached "$PB"
"$REPRISE" replay "$TMP/c.db" --target "tcp://127.0.0.1:$PB" --speed 10 --label fresh > "$TMP/replay.out" 2>&1 \
    || { cat "$TMP/replay.out"; fail "replay failed"; }
run=$(sqlite3 "$TMP/c.db" "SELECT max(id) FROM runs")
read -r sent once match same errs <<<"$(run_counts "$TMP/c.db")"
[ "$sent" -eq "$ex" ] && [ "$once" -eq "$ex" ] || { cat "$TMP/replay.out"; fail "replayed $sent results for $once of $ex messages"; }
[ "$errs" -eq 0 ] || { cat "$TMP/replay.out"; fail "$errs replayed messages failed"; }
[ "$same" -eq "$ex" ] || { sqlite3 "$TMP/c.db" "SELECT e.method, r.resp_bytes, e.resp_wire_bytes FROM results r JOIN exchanges e ON e.id = r.exchange_id WHERE r.run_id = $run AND r.body_hash IS NOT e.resp_body_hash"; fail "only $same of $ex replies are the captured bytes"; }
pass "tcp: $ex memcached messages captured and replayed at 10x, every reply byte for byte"
