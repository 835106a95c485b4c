#!/usr/bin/env bash
# bench_replay_script.sh: what the --script LuaJIT hook costs per request.
# The same closed-model replay (--max --concurrency 8 --sessions, raw engine,
# 1 thread, every result recorded; a synthetic capture of 1000 GET / over 8
# connections, looped) against nginx's return 200, three ways in alternating
# rounds: no script; a script whose request(req, state) and response(res,
# state) look at every request and response and change nothing (the call
# cost: two Lua calls with their tables); and one whose request() rewrites a
# header of every request (so each request is also rebuilt and re-prepared
# on the engine thread). Prints each round's rate, CPU steal (bench_lib.sh)
# and the CPU reprise used per request (user + system, /usr/bin/time),
# with the median difference to no script. Never asserts.
#   BUILD=build-rel ROUNDS=5 LOOPS=40 tests/bench/bench_replay_script.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
source "$SRC/tests/bench/bench_lib.sh"

ROUNDS=${ROUNDS:-5}
LOOPS=${LOOPS:-40}
command -v nginx >/dev/null || skip "nginx not installed"
[ -x /usr/bin/time ] || skip "/usr/bin/time not installed"
if grep -q 'REPRISE_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    echo "note: $BUILD is a sanitizer build; reprise is several times slower"
fi
cmake --build "$BUILD" --target reprise rp_corpus rp_common -j2 >/dev/null
cc -O2 -I"$SRC" "$SRC/tests/bench/bench_replay_gen.c" \
    "$BUILD/librp_corpus.a" "$BUILD/librp_common.a" \
    $(pkg-config --libs sqlite3 zlib libcrypto) -lm -o "$TMP/gen"
"$TMP/gen" "$TMP/c.db" 1000 1000 8 0

P=$(free_port)
start_nginx web "$P" 'location = / { return 200 "hello from web\n"; }'
URL="http://127.0.0.1:$P"
cat > "$TMP/look.lua" <<'LUA'
function request(req, state)
  state.n = (state.n or 0) + 1
  return nil
end
function response(res, state)
  if res.status ~= 200 then state.bad = true end
end
LUA
cat > "$TMP/rewrite.lua" <<'LUA'
function request(req, state)
  state.n = (state.n or 0) + 1
  req.headers = req.headers .. "X-Seq: " .. state.n .. "\r\n"
  return req
end
LUA

# rate ARGS...: one replay, prints "responses/s CPU-us-per-response" (the
# CPU of the whole reprise process, user + system, all its threads).
rate() {
    /usr/bin/time -f "%U %S" -o "$TMP/time" "$REPRISE" replay "$TMP/c.db" --target "$URL" \
        --max --concurrency 8 --sessions --no-correlate --threads 1 --loop "$LOOPS" \
        --quiet --label bench "$@" > /dev/null 2>&1 || true
    local n r
    read -r n r < <(sqlite3 -separator ' ' "$TMP/c.db" \
        "SELECT json_extract(summary, '$.responses'),
                printf('%.0f', json_extract(summary, '$.responses_per_s'))
         FROM runs ORDER BY id DESC LIMIT 1")
    awk -v n="$n" -v r="$r" '{printf "%s %.3f\n", r, ($1 + $2) * 1e6 / n}' "$TMP/time"
}

: > "$TMP/rounds"
for r in $(seq 1 "$ROUNDS"); do
    cpu_mark "$TMP/s0"
    if [ $((r % 2)) -eq 1 ]; then
        a=$(rate); b=$(rate --script "$TMP/look.lua"); c=$(rate --script "$TMP/rewrite.lua")
    else
        c=$(rate --script "$TMP/rewrite.lua"); b=$(rate --script "$TMP/look.lua"); a=$(rate)
    fi
    cpu_mark "$TMP/s1"
    q=$(round_quiet "$TMP/s0" "$TMP/s1" 0 | awk '{print $1}')
    echo "$a $b $c" >> "$TMP/rounds"
    echo "round $r (req/s, CPU us/request): no script $a; looking script $b; rewriting script $c (steal $q)"
done
python3 - "$TMP/rounds" <<'PY'
import statistics, sys
rows = [[float(x) for x in l.split()] for l in open(sys.argv[1]) if l.strip()]
med = lambda k: statistics.median(r[k] for r in rows)
d = lambda k: statistics.median(r[k] - r[1] for r in rows)
print("median: no script %.0f req/s %.2f us CPU/request; looking %.0f req/s %.2f us;"
      " rewriting %.0f req/s %.2f us" % (med(0), med(1), med(2), med(3), med(4), med(5)))
print("script cost per request (CPU, median of the rounds' differences): %.2f us looking"
      " (request + response calls), %.2f us rewriting (calls + rebuilding the request)"
      % (d(3), d(5)))
PY
