#!/usr/bin/env bash
# bench_replay_script.sh: what the --script LuaJIT hook costs per request.
# The same closed-model replay (--max --concurrency 8 --sessions, raw engine,
# 1 thread, every result recorded; a synthetic capture of 1000 GET / over 8
# connections, looped) against nginx's return 200, three ways in alternating
# rounds: no script; a script whose request(req, state) and response(res,
# state) look at every request and response and change nothing (the call
# cost: two Lua calls with their tables); and one whose request() rewrites a
# header of every request (so each request is also rebuilt and re-prepared
# on the engine thread). Prints each round's rate and CPU steal
# (bench_lib.sh) and the median cost per request in microseconds,
# (1/rate_script - 1/rate_none). Never asserts.
#   BUILD=build-rel ROUNDS=5 LOOPS=40 tests/bench/bench_replay_script.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
source "$SRC/tests/bench/bench_lib.sh"

ROUNDS=${ROUNDS:-5}
LOOPS=${LOOPS:-40}
command -v nginx >/dev/null || skip "nginx not installed"
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

# rate ARGS...: one replay, prints responses per second.
rate() {
    "$REPRISE" replay "$TMP/c.db" --target "$URL" --max --concurrency 8 --sessions \
        --no-correlate --threads 1 --loop "$LOOPS" --quiet --label bench "$@" > /dev/null 2>&1 || true
    sqlite3 "$TMP/c.db" "SELECT printf('%.0f', json_extract(summary, '$.responses_per_s'))
                         FROM runs ORDER BY id DESC LIMIT 1"
}

declare -a NONE LOOK REWR
for r in $(seq 1 "$ROUNDS"); do
    cpu_mark "$TMP/s0"
    if [ $((r % 2)) -eq 1 ]; then
        a=$(rate); b=$(rate --script "$TMP/look.lua"); c=$(rate --script "$TMP/rewrite.lua")
    else
        c=$(rate --script "$TMP/rewrite.lua"); b=$(rate --script "$TMP/look.lua"); a=$(rate)
    fi
    cpu_mark "$TMP/s1"
    q=$(round_quiet "$TMP/s0" "$TMP/s1" 0 | awk '{print $1}')
    NONE+=("$a"); LOOK+=("$b"); REWR+=("$c")
    echo "round $r: no script $a req/s, looking script $b req/s, rewriting script $c req/s (steal $q)"
done
python3 - "${NONE[*]}" "${LOOK[*]}" "${REWR[*]}" <<'PY'
import statistics, sys
none, look, rewr = ([float(x) for x in a.split()] for a in sys.argv[1:4])
def cost(xs):
    return statistics.median(1e6 / x - 1e6 / n for x, n in zip(xs, none))
print("median rate: no script %.0f req/s, looking %.0f, rewriting %.0f"
      % (statistics.median(none), statistics.median(look), statistics.median(rewr)))
print("script cost per request: %.2f us looking (request+response calls), "
      "%.2f us rewriting (calls + rebuilding the request)" % (cost(look), cost(rewr)))
PY
