# tests/e2e/pg_lib.sh: throwaway PostgreSQL 15 servers for the wire tests,
# sourced after tests/lib.sh. Each server is a fresh cluster in the test's
# own folder on a free port, with SCRAM-SHA-256 passwords (PG_PW, also in
# $TMP/pgpw for --password-file), owned by the postgres user (initdb
# refuses root) and stopped with the test. pg_missing says why no server
# can run here (a test skips, or leaves its PostgreSQL part out).
PGBIN=/usr/lib/postgresql/15/bin
pg_missing() {
    if [ ! -x "$PGBIN/postgres" ]; then echo "postgresql-15 not installed"
    elif ! command -v psql >/dev/null; then echo "psql not installed"
    elif ! command -v setpriv >/dev/null; then echo "setpriv not installed"
    elif ! id postgres >/dev/null 2>&1; then echo "no postgres user to run the server as"
    fi
}

PG_PW="pg-$RANDOM-secret"
printf '%s\n' "$PG_PW" > "$TMP/pgpw"
export PGPASSWORD=$PG_PW
# start_pg NAME PORT: a fresh cluster owned by postgres (initdb refuses root)
start_pg() {
    local dir="$TMP/$1"
    mkdir -p "$dir"
    printf '%s\n' "$PG_PW" > "$dir/pwfile"
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
# init_orders PORT: the orders/customers/notes tables, analyzed
init_orders() {
    psql -h 127.0.0.1 -p "$1" -U bench -d bench -qc "$SCHEMA" -c "VACUUM ANALYZE" >/dev/null \
        || fail "schema on $1"
}
# init_schema PORT: pgbench's tables (scale 1) and init_orders
init_schema() {
    pgbench -h 127.0.0.1 -p "$1" -U bench -i -s 1 -q bench > "$TMP/init.$1.log" 2>&1 \
        || { cat "$TMP/init.$1.log"; fail "pgbench -i"; }
    init_orders "$1"
}
tx_of() { sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$1"; }
