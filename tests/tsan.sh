#!/usr/bin/env bash
# tests/tsan.sh: the threads of reprise under ThreadSanitizer. Builds only
# the reprise binary with -fsanitize=thread into build-tsan/ (no unit tests,
# no fuzzers), then runs what starts threads, briefly: a capture of the
# sample pcap (the corpus's background writer beside the capture thread),
# and replays against nginx with both engines (feeder, recorder and two
# engine threads; --max with --duration, the open model with --sessions,
# load steps with the monitor thread, a run stopped by SIGINT, and a --web
# run whose speed is changed and which is stopped from the dashboard). Any
# report fails it (halt_on_error). Run
# by tests/run.sh (TSAN=0 skips it); about a minute on 2 cores, most of
# it the build.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-tsan
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREPRISE_TSAN=ON \
    -DREPRISE_TESTS=OFF >/dev/null
cmake --build "$build" --target reprise -j"$(nproc)" >/dev/null
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
SRC=$PWD BUILD=$PWD/$build REPRISE=$PWD/$build/reprise bash -c '
source "$SRC/tests/lib.sh"
command -v nginx >/dev/null || skip "nginx not installed"
"$REPRISE" capture -r "$SRC/samples/shop.pcap" -o "$TMP/c.db" --quiet \
    || fail "capture under TSan failed"
P=$(free_port)
start_nginx web "$P" "location / { return 200 \"ok\\n\"; }"
r() { "$REPRISE" replay "$TMP/c.db" --target "http://127.0.0.1:$P" --quiet "$@"; }
for e in raw curl; do
    r --engine "$e" --max --concurrency 16 --threads 2 --duration 300ms \
        || fail "replay --engine $e --max under TSan failed"
    r --engine "$e" --speed 20 --sessions --threads 2 \
        || fail "replay --engine $e --sessions under TSan failed"
done
r --engine raw --pipeline 4 --max --concurrency 32 --duration 200ms \
    || fail "replay --pipeline under TSan failed"
# load steps judged by the recorder, the monitor thread scraping beside it
r --engine raw --rate 200 --steps 1,2 --step-duration 1200ms --stop-if "p99>1s" \
    --monitor "http://127.0.0.1:$P/metrics" --monitor-pid $$ 2> /dev/null \
    || fail "replay --steps --monitor under TSan failed"
# per-engine correlation state and Lua states, several copies per engine
echo "function request(req, state) state.n = (state.n or 0) + 1; return req end" \
    > "$TMP/hook.lua"
r --engine raw --speed 20 --session-key client --scale 3 --threads 2 \
    --script "$TMP/hook.lua" --extract "t=header:Content-Type" \
    --inject "t=header:X-Seen" \
    || fail "replay with correlation, rules and a script under TSan failed"
"$REPRISE" replay "$TMP/c.db" --target "http://127.0.0.1:$P" --quiet --loop 50 \
    --threads 2 & rp=$!
sleep 0.5
kill -INT "$rp"
wait "$rp" || fail "interrupted replay under TSan exited $?"
# --web: the dashboard thread reads the live statistics while the recorder
# feeds them, and changes the speed and stops the run from there.
"$REPRISE" replay "$TMP/c.db" --target "http://127.0.0.1:$P" --quiet --loop 50 \
    --threads 2 --web 0 2> "$TMP/web.err" & rp=$!
for i in $(seq 1 100); do grep -q "control token" "$TMP/web.err" && break; sleep 0.1; done
base=$(grep -o "dashboard on http://127\.0\.0\.1:[0-9]*" "$TMP/web.err" | grep -o "http.*")
tok=$(grep -o "control token [0-9a-f]*" "$TMP/web.err" | awk "{print \$3}")
[ -n "$base" ] || { cat "$TMP/web.err"; fail "no dashboard under TSan"; }
for i in 1 2 3; do
    curl -sf "$base/api/stats" >/dev/null && curl -sf "$base/metrics" >/dev/null \
        || fail "dashboard under TSan"
    sleep 0.3
done
curl -sf -X POST -H "X-Reprise-Token: $tok" "$base/api/speed?speed=3" >/dev/null \
    || fail "speed change under TSan"
sleep 0.5
curl -sf "$base/api/stats" >/dev/null || fail "dashboard under TSan"
curl -sf -X POST -H "X-Reprise-Token: $tok" "$base/api/stop" >/dev/null \
    || fail "stop under TSan"
wait "$rp" || { cat "$TMP/web.err"; fail "replay --web under TSan exited $?"; }
# the wire engine: Redis sessions on two engine threads, scaled
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
    RP=$(free_port)
    redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$TMP" > "$TMP/redis.log" 2>&1 & track_pid $!
    wait_port "$RP"
    start_tcpdump "$RP" "$TMP/redis.pcap"
    redis-benchmark -p "$RP" -n 400 -c 8 -t set,get -q > /dev/null 2>&1 \
        || fail "redis-benchmark"
    sleep 1.2
    stop_tcpdump
    "$REPRISE" capture -r "$TMP/redis.pcap" -o "$TMP/r.db" --quiet \
        || fail "capture of Redis under TSan failed"
    "$REPRISE" replay "$TMP/r.db" --target "redis://127.0.0.1:$RP" --quiet \
        --speed 20 --threads 2 --scale 2 \
        || fail "replay redis:// under TSan failed"
fi
pass "capture and replay threads run clean under ThreadSanitizer"
'
