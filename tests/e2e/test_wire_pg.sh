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
# goes once and gets the captured reply class. A wrong password is
# reported per session. The release comparison is test_wire_pg_release.sh.
source "$SRC/tests/lib.sh"

source "$SRC/tests/e2e/pg_lib.sh"
why=$(pg_missing)
[ -z "$why" ] || skip "$why"
command -v pgbench >/dev/null || skip "pgbench not installed"
command -v tcpdump >/dev/null || skip "tcpdump not installed"

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
python3 - "$TMP/c.db" "$TMP/auto.db" "$tx" "$PG_PW" <<'PY' || fail "the corpus does not match pgbench's counts"
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
"$REPRISE" replay "$TMP/c.db" --target "postgres://bench@127.0.0.1:$PB/bench" --password-file "$TMP/pgpw" \
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

pass "postgres: $ex statements captured, replayed at 10x each once with its reply class ($same of $ex replies byte for byte)"
