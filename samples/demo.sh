#!/usr/bin/env bash
# samples/demo.sh: reprise's whole job, end to end, on this machine.
#   1. starts "production" (the sample shop API, release v1) and "staging"
#      (release v2: orders 20 ms slower, some users answer 404), on free
#      loopback ports;
#   2. drives ~15 s of realistic traffic at production while reprise captures
#      it live on the loopback interface (needs root for the live capture);
#   3. replays the capture at 10x against v1 twice (baseline and its noise
#      floor) and against v2 (candidate);
#   4. prints the analysis and writes demo-out/report.html.
# Stops everything it started, also on Ctrl-C. Safe to run repeatedly.
# Environment: DEMO_SECONDS (traffic duration, default 15), DEMO_USERS
# (simulated users, default 8), DEMO_OUT (output folder, default
# ./demo-out), REPRISE (binary; default: build it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
secs=${DEMO_SECONDS:-15}
out=${DEMO_OUT:-$PWD/demo-out}
pids=()

cleanup() {
    local rc=$?
    for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
    exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, cleaning up" >&2; exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
wait_port() {
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "demo: nothing listening on port $1" >&2; exit 1
}

if [ -z "${REPRISE:-}" ]; then
    say "installing what is missing and building"
    "$top/tests/install-deps.sh"
    cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=Release -DREPRISE_TESTS=OFF >/dev/null
    cmake --build "$top/build" -j"$(nproc)" >/dev/null
    REPRISE=$top/build/reprise
fi
[ "$(id -u)" -eq 0 ] || { echo "demo: the live capture on 'lo' needs root (run with sudo)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
chmod 755 "$out"
db=$out/demo.db
prod=$(free_port); staging=$(free_port)

say "starting production (v1) on 127.0.0.1:$prod and staging (v2) on 127.0.0.1:$staging"
"$here/start-release.sh" v1 "$prod" "$out/v1" & pids+=($!)
"$here/start-release.sh" v2 "$staging" "$out/v2" & pids+=($!)
wait_port "$prod"; wait_port "$staging"

say "capturing live on lo while users hit production for ${secs}s"
"$REPRISE" capture -i lo --port "$prod" -o "$db" --label production &
cap=$!; pids+=($cap)
sleep 1
python3 "$here/traffic.py" --port "$prod" --duration "$secs" --users "${DEMO_USERS:-8}"
sleep 0.5
kill -INT "$cap"; wait "$cap"

say "replaying at 10x against v1 (baseline, twice for the noise floor) and v2 (candidate), side by side"
# The three replays run at the same time, against three servers, so that
# whatever else this machine is doing slows all of them alike (as Diffy runs
# primary, secondary and candidate together). A second v1 instance gives the
# noise floor: what differs between two copies of the same release.
# Three replays share this machine with their three servers, so they sleep
# between requests (--spin 0) instead of busy-polling for a precision that
# would cost the servers CPU; a replay on a load box of its own keeps the
# default.
replica=$(free_port)
"$here/start-release.sh" v1 "$replica" "$out/v1-replica" & pids+=($!)
wait_port "$replica"
"$REPRISE" replay "$db" --target "http://127.0.0.1:$prod" --speed 10 --spin 0 --label v1 --quiet & r1=$!
"$REPRISE" replay "$db" --target "http://127.0.0.1:$replica" --speed 10 --spin 0 --label v1-again --quiet & r2=$!
"$REPRISE" replay "$db" --target "http://127.0.0.1:$staging" --speed 10 --spin 0 --label v2 --quiet & r3=$!
pids+=($r1 $r2 $r3)
wait $r1; wait $r2; wait $r3
"$REPRISE" ls "$db"

say "analysis: v2 against v1"
set +e
"$REPRISE" analyze "$db" --baseline v1 --candidate v2 --noise v1-again \
    --fail-if 'p90>+10%' --fail-if 'status-changed>0.5%'
verdict=$?
set -e
"$REPRISE" analyze "$db" --baseline v1 --candidate v2 --noise v1-again \
    --format html -o "$out/report.html" || true
say "report: $out/report.html   corpus: $db"
if [ "$verdict" -eq 1 ]; then
    echo "demo: the CI gate failed as it should: v2 carries the planted regressions"
    exit 0
fi
echo "demo: expected the gate to fail on v2 (analyze exited $verdict)" >&2
exit 1
