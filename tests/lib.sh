# tests/lib.sh: shared helpers for end-to-end tests and benchmarks. Source it.
# Every process a test starts is registered and stopped on exit, even when the
# test fails. Traffic goes to 127.0.0.1 only.
set -euo pipefail

: "${SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${BUILD:=$SRC/build}"
: "${REPRISE:=$BUILD/reprise}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/reprise-test.XXXXXX")
chmod 755 "$TMP" # nginx workers run as an unprivileged user
_PIDS=()

_cleanup() {
    local rc=$?
    for pid in "${_PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    for pid in "${_PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
        echo "test failed (rc=$rc); files kept in $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

# Registers a background pid to be stopped at exit.
track_pid() { _PIDS+=("$1"); }

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
pass() { echo "PASS: $*"; }

# Prints a free TCP port on 127.0.0.1 (asks the kernel for one).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until 127.0.0.1:$1 accepts connections (up to 10 s).
wait_port() {
    local port=$1 i
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    fail "nothing listening on 127.0.0.1:$port after 10 s"
}

# start_nginx NAME PORT [EXTRA_SERVER_CONF]
# Starts nginx on 127.0.0.1:PORT with its own prefix in $TMP/NAME; the access
# log is $TMP/NAME/access.log with "$request" and status per line. The echo
# module is loaded, so EXTRA_SERVER_CONF may use echo_sleep etc.
start_nginx() {
    local name=$1 port=$2 extra=${3:-}
    local dir="$TMP/$name"
    mkdir -p "$dir/logs" "$dir/html"
    echo "hello from $name" > "$dir/html/index.html"
    local echo_mod=/usr/lib/nginx/modules/ngx_http_echo_module.so
    cat > "$dir/nginx.conf" <<CONF
$( [ -f "$echo_mod" ] && echo "load_module $echo_mod;" )
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    log_format reprise '\$request \$status \$request_length';
    client_body_temp_path $dir/tmp_body;
    proxy_temp_path $dir/tmp_proxy;
    fastcgi_temp_path $dir/tmp_fcgi;
    uwsgi_temp_path $dir/tmp_uwsgi;
    scgi_temp_path $dir/tmp_scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$port;
        access_log $dir/access.log reprise;
        root $dir/html;
        location = /post { client_body_buffer_size 1m; echo_read_request_body; echo "ok"; }
        $extra
    }
}
CONF
    nginx -c "$dir/nginx.conf" -p "$dir" &
    track_pid $!
    wait_port "$port"
}

# start_tcpdump PORT FILE: records loopback traffic on PORT to FILE with
# tcpdump and sets TCPDUMP_PID. The 64 MiB buffer (-B) matters with -s 0:
# libpcap sizes its ring's slots by the snapshot length, so the default 2 MiB
# holds only a few 64 KB loopback segments and a burst of them is dropped. Call it directly, not in $(...): a command
# substitution would wait for tcpdump to exit. Stop with stop_tcpdump, which
# lets tcpdump flush the file.
start_tcpdump() {
    local port=$1 file=$2
    tcpdump -i lo -s 0 -B 65536 -U --immediate-mode -w "$file" "tcp port $port" >/dev/null 2>"$file.log" &
    TCPDUMP_PID=$!
    track_pid "$TCPDUMP_PID"
    local i
    for i in $(seq 1 50); do
        grep -q "listening on" "$file.log" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "tcpdump did not start: $(cat "$file.log")"
}
stop_tcpdump() {
    local pid=${1:-$TCPDUMP_PID}
    sleep 0.3
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
# tcpdump_drops FILE: the packets tcpdump (started on FILE) reported as
# dropped by the kernel; a test that needs every packet retries or skips.
tcpdump_drops() {
    awk '/dropped by kernel/ {print $1; f = 1} END {if (!f) print 0}' "$1.log"
}

# check_identity DB [LABEL]: the accounting self-check of every capture in
# DB: requests seen = exchanges + the lost_* counts (corpus/SCHEMA.md), the
# stored exchange_count equals the exchanges counter, and the exchanges in
# the table equal it too. Fails the test naming LABEL otherwise.
check_identity() {
    local db=$1 label=${2:-$1}
    python3 - "$db" "$label" <<'PY' || fail "identity: $label"
import json, sqlite3, sys
db, label = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db)
bad = 0
for cid, stats, count in con.execute(
        "SELECT id, stats, exchange_count FROM captures"):
    s = json.loads(stats)
    lost = sum(v for k, v in s.items() if k.startswith("lost_"))
    rows = con.execute("SELECT COUNT(*) FROM exchanges WHERE capture_id = ?",
                       (cid,)).fetchone()[0]
    if s["requests"] != s["exchanges"] + lost or count != s["exchanges"] \
            or rows != s["exchanges"]:
        print("%s capture %d: requests %d != exchanges %d + lost %d "
              "(stored count %s, rows %d)" % (label, cid, s["requests"],
              s["exchanges"], lost, count, rows), file=sys.stderr)
        bad = 1
sys.exit(bad)
PY
}

# run_counts DB: for the latest run in DB, "results exchanges status-matches
# same-bodies errors": how many results, of how many distinct exchanges,
# got the captured status, the captured body (hash), and failed.
run_counts() {
    sqlite3 -separator ' ' "$1" "
        SELECT COUNT(*), COUNT(DISTINCT r.exchange_id), SUM(r.status = e.status),
               SUM(r.body_hash = e.resp_body_hash),
               SUM(r.error_class IS NOT NULL AND r.error_class != 'none')
        FROM results r JOIN exchanges e ON e.id = r.exchange_id
        WHERE r.run_id = (SELECT MAX(id) FROM runs)"
}
