#!/usr/bin/env bash
# test_wire_pg.sh: PostgreSQL traffic end to end with the real server.
# PostgreSQL 15 (Debian) runs on a free port in its own folder, with
# SCRAM-SHA-256 passwords. pgbench's built-in TPC-B-like script is
# recorded with tcpdump in the simple, extended and prepared protocols,
# with a COPY and an error beside it. The capture must hold one exchange
# per statement pgbench ran (its own transaction count times the
# script's statements), named by the normalised statement, and no
# password. It is replayed at 10x against a FRESH server initialised with
# the same schema, authenticating with --password-file: every statement
# goes once and gets the captured reply class.
# The release test: a second workload (three queries) is replayed against
# two fresh servers, the second without the index one query needs; analyze
# must flag that statement, and only it, as a latency regression. One
# client: on 2 cores a second session scanning beside it would slow the
# other statements too (CPU, not the plan).
# serial: the release figure depends on the CPU
source "$SRC/tests/lib.sh"

PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/postgres" ] || skip "postgresql-15 not installed"
command -v pgbench >/dev/null || skip "pgbench not installed"
command -v tcpdump >/dev/null || skip "tcpdump not installed"
command -v setpriv >/dev/null || skip "setpriv not installed"
id postgres >/dev/null 2>&1 || skip "no postgres user to run the server as"

PW="pg-$RANDOM-secret"
printf '%s\n' "$PW" > "$TMP/pw"
export PGPASSWORD=$PW
# start_pg NAME PORT: a fresh cluster owned by postgres (initdb refuses root)
start_pg() {
    local dir="$TMP/$1"
    mkdir -p "$dir"
    printf '%s\n' "$PW" > "$dir/pwfile"
    chown -R postgres "$dir"
    setpriv --reuid=postgres --regid=postgres --init-groups \
        "$PGBIN/initdb" -D "$dir/data" -U bench --auth=scram-sha-256 \
        --pwfile="$dir/pwfile" --no-sync > "$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log"; fail "initdb $1"; }
    setpriv --reuid=postgres --regid=postgres --init-groups \
        "$PGBIN/postgres" -D "$dir/data" -p "$2" -k "$dir" \
        -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off -c max_connections=40 > "$dir/log" 2>&1 &
    track_pid $!
    wait_port "$2"
    local i
    for i in $(seq 1 50); do
        psql -h 127.0.0.1 -p "$2" -U bench -d postgres -Atqc "SELECT 1" >/dev/null 2>&1 && break
        sleep 0.1
    done
    psql -h 127.0.0.1 -p "$2" -U bench -d postgres -qc "CREATE DATABASE bench" >/dev/null
}
SCHEMA="
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 2000) g;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, total numeric NOT NULL);
INSERT INTO orders SELECT g, (g * 7919) % 2000 + 1, (g % 1000) / 10.0 FROM generate_series(1, 100000) g;
CREATE INDEX orders_by_customer ON orders (customer_id);
CREATE TABLE notes (id int, body text);"
init_schema() { # PORT [SQL...]
    local port=$1
    shift
    pgbench -h 127.0.0.1 -p "$port" -U bench -i -s 1 -q bench > "$TMP/init.$port.log" 2>&1 \
        || { cat "$TMP/init.$port.log"; fail "pgbench -i"; }
    psql -h 127.0.0.1 -p "$port" -U bench -d bench -qc "$SCHEMA" -c "VACUUM ANALYZE" "$@" >/dev/null \
        || fail "schema on $port"
}
tx_of() { sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$1"; }

PA=$(free_port)
start_pg a "$PA"
init_schema "$PA"
start_tcpdump "$PA" "$TMP/cap.pcap"
T=40
pgbench -h 127.0.0.1 -p "$PA" -U bench -c 3 -t "$T" -M simple -n bench > "$TMP/b1.out" 2>&1 || { cat "$TMP/b1.out"; fail "pgbench simple"; }
pgbench -h 127.0.0.1 -p "$PA" -U bench -c 2 -t "$T" -M extended -n bench > "$TMP/b2.out" 2>&1 || { cat "$TMP/b2.out"; fail "pgbench extended"; }
pgbench -h 127.0.0.1 -p "$PA" -U bench -c 2 -t "$T" -M prepared -n bench > "$TMP/b3.out" 2>&1 || { cat "$TMP/b3.out"; fail "pgbench prepared"; }
# one session with a COPY in, a COPY out and an error
psql -h 127.0.0.1 -p "$PA" -U bench -d bench -q > "$TMP/psql.out" 2>&1 <<'SQL'
COPY notes FROM STDIN;
1	first
2	second
\.
COPY notes TO STDOUT;
SELECT * FROM no_such_table;
SELECT count(*) FROM notes WHERE id = 2;
SQL
grep -q 'no_such_table' "$TMP/psql.out" || fail "psql: $(cat "$TMP/psql.out")"
sleep 1.2
stop_tcpdump
[ "$(tcpdump_drops "$TMP/cap.pcap")" -eq 0 ] || skip "tcpdump dropped packets"
tx=$(( $(tx_of "$TMP/b1.out") + $(tx_of "$TMP/b2.out") + $(tx_of "$TMP/b3.out") ))
[ "$tx" -eq $(( 7 * T )) ] || fail "pgbench ran $tx transactions"

"$REPRISE" capture -r "$TMP/cap.pcap" -o "$TMP/c.db" --protocol postgres > "$TMP/cap.out" 2>&1 \
    || { cat "$TMP/cap.out"; fail "capture failed"; }
check_identity "$TMP/c.db"
"$REPRISE" capture -r "$TMP/cap.pcap" -o "$TMP/auto.db" > "$TMP/auto.out" 2>&1 \
    || { cat "$TMP/auto.out"; fail "capture without --protocol failed"; }
check_identity "$TMP/auto.db"
python3 - "$TMP/c.db" "$TMP/auto.db" "$tx" "$PW" <<'PY' || fail "the corpus does not match pgbench's counts"
import json, sqlite3, sys
db, auto, tx, pw = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
con = sqlite3.connect(db)
ep = dict(con.execute("SELECT method || CASE target WHEN '' THEN '' ELSE ' ' || target END, COUNT(*) "
                      "FROM exchanges GROUP BY 1"))
want = {
    "BEGIN": tx, "END": tx,
    "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2": tx,
    "SELECT abalance FROM pgbench_accounts WHERE aid = $1": tx,
    "UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2": tx,
    "UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2": tx,
    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)": tx,
}
bad = [(k, v, ep.get(k, 0)) for k, v in want.items() if ep.get(k, 0) < v]
# prepared mode parses each statement once per connection: PREPARE units
if bad:
    print("endpoint  want  got"); [print(*b) for b in bad]
    print(sorted(ep.items(), key=lambda x: -x[1])[:20]); sys.exit(1)
for k, v in want.items():
    if ep[k] != v:
        print("endpoint %r: %d exchanges for %d statements" % (k, ep[k], v)); sys.exit(1)
st = json.loads(con.execute("SELECT stats FROM captures").fetchone()[0])
if st.get("copies", 0) != 2:
    print("COPY operations counted:", st.get("copies")); sys.exit(1)
if st.get("startups", 0) < 8:
    print("startups:", st.get("startups")); sys.exit(1)
errs = con.execute("SELECT reason FROM exchanges WHERE status = 500").fetchall()
if errs != [("42P01",)]:
    print("errors:", errs); sys.exit(1)
tags = con.execute("SELECT reason FROM exchanges WHERE method = 'SELECT' AND target LIKE 'count(*) FROM notes%'").fetchall()
if tags != [("SELECT 1",)]:
    print("command tag:", tags); sys.exit(1)
if pw.encode() in open(db, "rb").read():
    print("the password is in the corpus"); sys.exit(1)
n = con.execute("SELECT COUNT(*) FROM exchanges").fetchone()[0]
if sqlite3.connect(auto).execute("SELECT COUNT(*) FROM exchanges").fetchone()[0] != n:
    print("without --protocol the count differs"); sys.exit(1)
print("%d exchanges, %d transactions, %d startups" % (n, tx, st["startups"]))
PY
ex=$(sqlite3 "$TMP/c.db" "SELECT COUNT(*) FROM exchanges")

# replay at 10x against a fresh server with the same schema
PB=$(free_port)
start_pg b "$PB"
init_schema "$PB"
"$REPRISE" replay "$TMP/c.db" --target "postgres://bench@127.0.0.1:$PB/bench" --password-file "$TMP/pw" \
    --speed 10 --label fresh > "$TMP/replay.out" 2>&1 || { cat "$TMP/replay.out"; fail "replay failed"; }
run=$(sqlite3 "$TMP/c.db" "SELECT max(id) FROM runs")
read -r sent once match same errs <<<"$(run_counts "$TMP/c.db")"
[ "$sent" -eq "$ex" ] && [ "$once" -eq "$ex" ] || { cat "$TMP/replay.out"; fail "replayed $sent results for $once of $ex exchanges"; }
[ "$errs" -eq 0 ] || { sqlite3 "$TMP/c.db" "SELECT error FROM results WHERE run_id = $run AND error IS NOT NULL LIMIT 5"; fail "$errs replayed statements failed"; }
[ "$match" -eq "$ex" ] || { sqlite3 "$TMP/c.db" "SELECT e.method, e.target, e.status, r.status FROM results r JOIN exchanges e ON e.id = r.exchange_id WHERE r.run_id = $run AND r.status != e.status LIMIT 10"; fail "only $match of $ex statements got the captured reply class"; }
hist=$(psql -h 127.0.0.1 -p "$PB" -U bench -d bench -Atc "SELECT count(*) FROM pgbench_history")
[ "$hist" -eq "$tx" ] || fail "the fresh server has $hist history rows for $tx transactions"
# a wrong password is refused with a clear error, per statement
printf 'wrong\n' > "$TMP/badpw"
"$REPRISE" replay "$TMP/c.db" --target "postgres://bench@127.0.0.1:$PB/bench" --password-file "$TMP/badpw" \
    --speed 10 --label badpw > "$TMP/bad.out" 2>&1 || true
sqlite3 "$TMP/c.db" "SELECT error FROM results WHERE run_id = (SELECT max(id) FROM runs) AND error IS NOT NULL LIMIT 1" \
    | grep -q "28P01\|password authentication failed" || { cat "$TMP/bad.out"; fail "a wrong password is not reported"; }

# the release test: the same queries, one of them without its index
cat > "$TMP/release.sql" <<'SQL'
\set cid random(1, 2000)
SELECT count(*), sum(total) FROM orders WHERE customer_id = :cid;
SELECT name FROM customers WHERE id = :cid;
SELECT id, total FROM orders WHERE id = :cid;
SQL
start_tcpdump "$PA" "$TMP/rel.pcap"
pgbench -h 127.0.0.1 -p "$PA" -U bench -c 1 -t 300 -R 40 -n -f "$TMP/release.sql" bench > "$TMP/rel.out" 2>&1 \
    || { cat "$TMP/rel.out"; fail "pgbench release workload"; }
sleep 1.2
stop_tcpdump
[ "$(tcpdump_drops "$TMP/rel.pcap")" -eq 0 ] || skip "tcpdump dropped packets"
"$REPRISE" capture -r "$TMP/rel.pcap" -o "$TMP/r.db" > "$TMP/rcap.out" 2>&1 || { cat "$TMP/rcap.out"; fail "capture"; }
PC=$(free_port)
start_pg c "$PC"
init_schema "$PC"
psql -h 127.0.0.1 -p "$PC" -U bench -d bench -qc "DROP INDEX orders_by_customer" || fail "drop index"
for side in "$PB:v1" "$PC:v2"; do
    "$REPRISE" replay "$TMP/r.db" --target "postgres://bench@127.0.0.1:${side%%:*}/bench" \
        --password-file "$TMP/pw" --speed 2 --label "${side##*:}" > "$TMP/rel.${side##*:}.out" 2>&1 \
        || { cat "$TMP/rel.${side##*:}.out"; fail "replay ${side##*:}"; }
done
rc=0
"$REPRISE" analyze "$TMP/r.db" --baseline v1 --candidate v2 --metric service --format json \
    --fail-if 'p50>+50%' > "$TMP/an.json" 2> "$TMP/an.err" || rc=$?
"$REPRISE" analyze "$TMP/r.db" --baseline v1 --candidate v2 --metric service > "$TMP/an.txt" 2>&1 || true
[ "$rc" -eq 1 ] || { cat "$TMP/an.txt" "$TMP/an.err"; fail "analyze did not fail the release (exit $rc)"; }
python3 - "$TMP/an.json" <<'PY' || { cat "$TMP/an.txt"; fail "the slowed statement is not the one flagged"; }
import json, sys
r = json.load(open(sys.argv[1]))
eps = r["endpoints"]
slow = "SELECT count(*), sum(total) FROM orders WHERE customer_id = $1"
flagged = [e["endpoint"] for e in eps if e.get("regressed")]
names = [e["endpoint"] for e in eps]
if slow not in names:
    print("no endpoint", slow, names); sys.exit(1)
if flagged != [slow]:
    print("flagged:", flagged); sys.exit(1)
PY
cat "$TMP/an.txt" >&2 # the release analysis, for the log
pass "postgres: $ex statements captured, replayed at 10x each once with its reply class ($same of $ex replies byte for byte); the unindexed statement alone regressed"
