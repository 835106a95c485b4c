#!/usr/bin/env bash
# test_wire_pg_release.sh: the release test for PostgreSQL. A workload of
# three queries (pgbench, one client, paced) is recorded with tcpdump and
# replayed against the server it was captured on and a fresh one with the
# same schema but without the index one query needs (DROP INDEX
# orders_by_customer);
# analyze --metric service must flag that statement, and only it, as a
# latency regression, and --fail-if 'p50>+50%' must fail the release. One
# client: on 2 cores a second session scanning beside it would slow the
# other statements too (CPU, not the plan).
# serial: the release figure depends on the CPU
source "$SRC/tests/lib.sh"
source "$SRC/tests/e2e/pg_lib.sh"
why=$(pg_missing)
[ -z "$why" ] || skip "$why"
command -v pgbench >/dev/null || skip "pgbench not installed"
command -v tcpdump >/dev/null || skip "tcpdump not installed"

# v1 is the server the workload was captured on (it only reads, so its
# data is as it was); v2 a fresh one with the same schema, less the index
PA=$(free_port)
start_pg a "$PA"
init_orders "$PA"
PC=$(free_port)
start_pg c "$PC"
init_orders "$PC"
psql -h 127.0.0.1 -p "$PC" -U bench -d bench -qc "DROP INDEX orders_by_customer" || fail "drop index"
# the release test: the same queries, one of them without its index
cat > "$TMP/release.sql" <<'SQL'
\set cid random(1, 2000)
SELECT count(*), sum(total) FROM orders WHERE customer_id = :cid;
SELECT name FROM customers WHERE id = :cid;
SELECT id, total FROM orders WHERE id = :cid;
SQL
start_tcpdump "$PA" "$TMP/rel.pcap"
pgbench -h 127.0.0.1 -p "$PA" -U bench -c 1 -t 150 -R 40 -n -f "$TMP/release.sql" bench > "$TMP/rel.out" 2>&1 \
    || { cat "$TMP/rel.out"; fail "pgbench release workload"; }
sleep 1.2
stop_tcpdump
[ "$(tcpdump_drops "$TMP/rel.pcap")" -eq 0 ] || skip "tcpdump dropped packets"
"$REPRISE" capture -r "$TMP/rel.pcap" -o "$TMP/r.db" > "$TMP/rcap.out" 2>&1 || { cat "$TMP/rcap.out"; fail "capture"; }
for side in "$PA:v1" "$PC:v2"; do
    "$REPRISE" replay "$TMP/r.db" --target "postgres://bench@127.0.0.1:${side%%:*}/bench" \
        --password-file "$TMP/pgpw" --speed 2 --label "${side##*:}" > "$TMP/rel.${side##*:}.out" 2>&1 \
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
pass "postgres release: the statement that lost its index alone regressed, and the release fails"
