#!/usr/bin/env bash
# test_wire_fields.sh: analyze's field diff on Redis and PostgreSQL replies
# end to end. Commands and queries are captured against a real server,
# replayed with --store-bodies all against two fresh servers, one seeded
# like the first and one whose data differs, and analyze of the two runs
# must name the fields that changed (a Redis value, a hash field, a list
# shortened; a PostgreSQL row count, a row value) in field_changes, and
# nothing for the commands whose replies are the same.
source "$SRC/tests/lib.sh"

command -v python3 >/dev/null || skip "python3 not installed"
command -v tcpdump >/dev/null || skip "tcpdump not installed"

# check_fields REPORT ENDPOINT PATH: the JSON report lists a field change
# of that endpoint at that path; with a 4th argument, none for the endpoint
check_fields() {
    python3 - "$@" <<'PY'
import json, sys
rep, ep, path = sys.argv[1], sys.argv[2], sys.argv[3]
fc = [f for f in json.load(open(rep))["field_changes"] if f["endpoint"] == ep]
if len(sys.argv) > 4:
    if fc:
        print("unexpected changes for %s: %s" % (ep, fc)); sys.exit(1)
    sys.exit(0)
if not [f for f in fc if f["path"] == path]:
    print("no change %s %s in %s" % (ep, path, json.dumps(fc)))
    sys.exit(1)
PY
}

# ---- Redis -----------------------------------------------------------------
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
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
    seed() { # PORT PRICE AGE LIST...
        cli "$1" SET price "$2" >/dev/null
        cli "$1" SET name widget >/dev/null
        cli "$1" HSET user name bob age "$3" >/dev/null
        cli "$1" RPUSH l "${@:4}" >/dev/null
    }
    PA=$(free_port)
    start_redis a "$PA"
    seed "$PA" 10 30 a b c
    start_tcpdump "$PA" "$TMP/r.pcap"
    cli "$PA" > "$TMP/r.out" <<'CMDS'
GET price
GET name
HGETALL user
LRANGE l 0 -1
CMDS
    sleep 1.2
    stop_tcpdump
    "$REPRISE" capture -r "$TMP/r.pcap" -o "$TMP/r.db" --protocol redis > "$TMP/rcap.out" 2>&1 \
        || { cat "$TMP/rcap.out"; fail "redis capture failed"; }
    PB=$(free_port)
    start_redis b "$PB"
    seed "$PB" 10 30 a b c
    PC=$(free_port)
    start_redis c "$PC"
    seed "$PC" 11 31 a b
    for side in "$PB:v1" "$PC:v2"; do
        "$REPRISE" replay "$TMP/r.db" --target "redis://127.0.0.1:${side%%:*}" \
            --password-file "$TMP/pw" --store-bodies all --label "${side#*:}" \
            > "$TMP/rrep.${side#*:}.out" 2>&1 \
            || { cat "$TMP/rrep.${side#*:}.out"; fail "redis replay ${side#*:}"; }
    done
    "$REPRISE" analyze "$TMP/r.db" --baseline v1 --candidate v2 --format json \
        > "$TMP/ran.json" 2> "$TMP/ran.err" || true
    [ -s "$TMP/ran.json" ] || { cat "$TMP/ran.err"; fail "redis analyze wrote nothing"; }
    check_fields "$TMP/ran.json" "GET" '$' || fail "redis: GET's value change not found"
    check_fields "$TMP/ran.json" "HGETALL" '$[*]' || fail "redis: HGETALL's field change not found"
    check_fields "$TMP/ran.json" "LRANGE" '$[*]' || fail "redis: LRANGE's shorter list not found"
    grep -q '"path": *"body"' "$TMP/ran.json" && fail "redis: a reply compared as an opaque body"
    pass "redis: changed replies reported by field"
else
    echo "redis-server not installed: Redis part skipped"
fi

# ---- PostgreSQL ------------------------------------------------------------
source "$SRC/tests/e2e/pg_lib.sh"
if [ -z "$(pg_missing)" ]; then
    pseed() { # PORT N_ITEMS NAME_OF_2
        psql -h 127.0.0.1 -p "$1" -U bench -d postgres -q >/dev/null <<SQL
CREATE TABLE items (id int PRIMARY KEY, name text);
INSERT INTO items SELECT g, 'item' || g FROM generate_series(1, $2) g;
UPDATE items SET name = '$3' WHERE id = 2;
SQL
    }
    QA=$(free_port)
    start_pg a "$QA"
    pseed "$QA" 5 item2
    start_tcpdump "$QA" "$TMP/p.pcap"
    psql -h 127.0.0.1 -p "$QA" -U bench -d postgres -q > "$TMP/p.out" 2>&1 <<'SQL'
SELECT id, name FROM items WHERE id > 3 ORDER BY id;
SELECT id, name FROM items WHERE id < 3 ORDER BY id;
SELECT count(*) FROM items WHERE id = 1;
SQL
    sleep 1.2
    stop_tcpdump
    "$REPRISE" capture -r "$TMP/p.pcap" -o "$TMP/p.db" --protocol postgres > "$TMP/pcap.out" 2>&1 \
        || { cat "$TMP/pcap.out"; fail "postgres capture failed"; }
    QB=$(free_port)
    start_pg b "$QB"
    pseed "$QB" 5 item2
    QC=$(free_port)
    start_pg c "$QC"
    pseed "$QC" 3 renamed
    for side in "$QB:v1" "$QC:v2"; do
        "$REPRISE" replay "$TMP/p.db" --target "postgres://bench@127.0.0.1:${side%%:*}/postgres" \
            --password-file "$TMP/pgpw" --store-bodies all --label "${side#*:}" \
            > "$TMP/prep.${side#*:}.out" 2>&1 \
            || { cat "$TMP/prep.${side#*:}.out"; fail "postgres replay ${side#*:}"; }
    done
    "$REPRISE" analyze "$TMP/p.db" --baseline v1 --candidate v2 --format json \
        > "$TMP/pan.json" 2> "$TMP/pan.err" || true
    [ -s "$TMP/pan.json" ] || { cat "$TMP/pan.err"; fail "postgres analyze wrote nothing"; }
    GT='SELECT id, name FROM items WHERE id > $1 ORDER BY id'
    LT='SELECT id, name FROM items WHERE id < $1 ORDER BY id'
    check_fields "$TMP/pan.json" "$GT" '$.rows' || fail "postgres: the row count change not found"
    check_fields "$TMP/pan.json" "$LT" '$.data[*][1]' || fail "postgres: the row value change not found"
    check_fields "$TMP/pan.json" 'SELECT count(*) FROM items WHERE id = $1' '' absent \
        || fail "postgres: an unchanged reply reported"
    pass "postgres: row counts and row values reported by field"
else
    echo "postgresql-15 not installed: PostgreSQL part skipped"
fi
