#!/usr/bin/env bash
# test_replay_tls.sh: replay over TLS. Plain traffic captured on one nginx
# port is replayed to the same nginx's TLS port (self-signed certificate made
# here): without trust every request is a tls error result; with --cacert it
# verifies; with --http2 --insecure ALPN negotiates HTTP/2 (nginx logs
# HTTP/2.0); --host and --set-header reach the server. TLS and HTTP/2 are
# the curl engine's: run for the raw engine (REPRISE_ENGINE=raw, see
# CMakeLists.txt), the test checks that raw refuses them with a clear error.
# engines: raw curl
source "$SRC/tests/lib.sh"
ENGINE=${REPRISE_ENGINE:-curl}
if [ "$ENGINE" = raw ]; then
    for args in "--target https://127.0.0.1:1" "--target http://127.0.0.1:1 --http2"; do
        rc=0
        # shellcheck disable=SC2086
        "$REPRISE" replay "$TMP/none.db" $args --engine raw 2> "$TMP/err" || rc=$?
        [ "$rc" -eq 2 ] && grep -q "needs --engine curl" "$TMP/err" \
            || { cat "$TMP/err"; fail "--engine raw $args: exit $rc, expected 2 naming curl"; }
    done
    pass "--engine raw refuses https:// and --http2, naming --engine curl"
    exit 0
fi

command -v nginx >/dev/null || skip "nginx not installed"
command -v tcpdump >/dev/null || skip "tcpdump not installed"
command -v openssl >/dev/null || skip "openssl not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$TMP/key.pem" -out "$TMP/crt.pem" 2>/dev/null || skip "openssl cannot make a certificate"
chmod 644 "$TMP/key.pem"
P=$(free_port)
PS=$(free_port)
start_nginx web "$P" "listen 127.0.0.1:$PS ssl http2;
        ssl_certificate $TMP/crt.pem; ssl_certificate_key $TMP/key.pem;
        location = /echo-host { return 200 \"\$host|\$http_x_replay\"; }"
wait_port "$PS"
start_tcpdump "$P" "$TMP/cap.pcap"
curl -s -o /dev/null "http://127.0.0.1:$P/"
curl -s -o /dev/null "http://127.0.0.1:$P/echo-host"
stop_tcpdump
"$REPRISE" capture -r "$TMP/cap.pcap" -o "$TMP/c.db" --port "$P" --quiet || fail "capture failed"
q() { sqlite3 "$TMP/c.db" "$1"; }
last_run() { q "SELECT max(id) FROM runs"; }
log="$TMP/web/access.log"

set +e
"$REPRISE" replay "$TMP/c.db" --target "https://127.0.0.1:$PS" --label tlsfail > "$TMP/tls.out" 2>/dev/null
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "replay with only TLS failures exited $rc, want 1"
[ "$(q "SELECT count(*) FROM results WHERE run_id = $(last_run) AND error_class = 'tls'")" -eq 2 ] \
    || fail "an untrusted certificate should give 2 tls errors"
grep -q "^            tls      2  .*certificate" "$TMP/tls.out" || fail "summary lacks the TLS cause: $(cat "$TMP/tls.out")"
grep -q "^  advice    the target's TLS certificate was not accepted: give its CA with --cacert FILE, or skip verification with -k" "$TMP/tls.out" ||
    fail "summary lacks the --cacert/-k advice: $(cat "$TMP/tls.out")"
! grep -q "try more --threads" "$TMP/tls.out" || fail "lateness advice for a TLS failure"
pass "untrusted certificate: 2 tls error results, the cause and --cacert/-k advice first"

: > "$log"
"$REPRISE" replay "$TMP/c.db" --target "https://127.0.0.1:$PS" --cacert "$TMP/crt.pem" \
    --quiet || fail "replay --cacert failed"
sleep 0.2
[ "$(grep -c "HTTP/1.1 200" "$log")" -eq 2 ] || { cat "$log"; fail "--cacert: expected 2 HTTP/1.1 requests"; }
pass "--cacert: verified, HTTP/1.1 by default"
# the verdict on the run whose every request failed verification: FAIL,
# whatever --fail-if says about latency
set +e
"$REPRISE" analyze "$TMP/c.db" --baseline "$(last_run)" --candidate tlsfail \
    --fail-if 'p99>+10%' > "$TMP/tlsv.txt" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "analyze of the all-TLS-failure run exited $rc, want 1 (FAIL): $(cat "$TMP/tlsv.txt")"
grep -q "^verdict: FAIL" "$TMP/tlsv.txt" || fail "no FAIL verdict: $(cat "$TMP/tlsv.txt")"
grep -q "certificate" "$TMP/tlsv.txt" || fail "the report does not name the TLS cause: $(cat "$TMP/tlsv.txt")"
pass "analyze: every request failed TLS verification: FAIL (exit 1), the cause named"

: > "$log"
"$REPRISE" replay "$TMP/c.db" --target "https://127.0.0.1:$PS" --http2 --insecure \
    --host staging.example --set-header "X-Replay: yes" --quiet || fail "replay --http2 failed"
sleep 0.2
[ "$(grep -c "HTTP/2.0 200" "$log")" -eq 2 ] || { cat "$log"; fail "--http2: expected 2 HTTP/2.0 requests"; }
r=$(last_run)
[ "$(q "SELECT count(*) FROM results WHERE run_id = $r AND status = 200")" -eq 2 ] || fail "--http2: results not 200"
# The echo-host response body is "staging.example|yes": its hash must match.
want=$(printf 'staging.example|yes' | sha256sum | cut -c1-32)
got=$(q "SELECT lower(hex(r.body_hash)) FROM results r JOIN exchanges e ON e.id = r.exchange_id
         WHERE r.run_id = $r AND e.target = '/echo-host'")
[ "$got" = "$want" ] || fail "--host/--set-header did not reach the server (hash $got, want $want)"
pass "--http2 negotiated HTTP/2; --host and --set-header sent"
