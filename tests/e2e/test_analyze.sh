#!/usr/bin/env bash
# test_analyze.sh: `reprise analyze` and `reprise show` through the real
# binary on a synthetic corpus (tests/bench/gen_corpus.c, compiled here
# against the build's libraries): v2 makes GET /api/search 60% slower, fails
# 3% of POST /api/orders with 503 and changes 5% of GET /api/users/:id
# bodies; v1b is an A/A partner of v1. Checks the JSON contract with python,
# every --fail-if kind and its exit code, every output format, and errors.
source "$SRC/tests/lib.sh"

san=""
if grep -q 'REPRISE_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    san="-fsanitize=address,undefined"
fi
cc -O1 $san -I"$SRC" "$SRC/tests/bench/gen_corpus.c" "$BUILD/librp_corpus.a" \
    "$BUILD/librp_common.a" $(pkg-config --libs sqlite3 zlib libcrypto) -lm \
    -o "$TMP/gen" || skip "cannot build gen_corpus against $BUILD"
db=$TMP/a.db
"$TMP/gen" "$db" 6000 2 || fail "gen_corpus"

rc() { set +e; "$@" >"$TMP/stdout" 2>"$TMP/stderr"; echo $?; set -e; }
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }

# default: latest run (v2) against the capture; its 503s fail the default
# gates (errors and status mix) on POST /api/orders and on nothing else
[ "$(rc "$REPRISE" analyze "$db" --format json -o "$TMP/cap.json")" = 1 ] ||
    fail "analyze vs capture: $(cat "$TMP/stderr")"
[ "$(json "$TMP/cap.json" '" ".join(sorted(set(f["endpoint"] + ":" + f["condition"] for f in r["failed_conditions"] if f["default"])))')" \
    = "POST /api/orders:errors>+1% POST /api/orders:status-mix>1%" ] ||
    fail "default gates: $(json "$TMP/cap.json" 'r["failed_conditions"]')"
json "$TMP/cap.json" 'r["verdict_reasons"][0]["kind"], r["verdict_reasons"][0]["text"]' |
    grep -q "fail.*errors>+1% (default) held on" || fail "verdict reasons: $(json "$TMP/cap.json" 'r["verdict_reasons"]')"
[ "$(json "$TMP/cap.json" 'r["baseline"]["kind"], r["candidate"]["label"]')" = "capture v2" ] ||
    fail "default sets: $(json "$TMP/cap.json" 'r["baseline"], r["candidate"]')"

# A/B with noise floor: exactly the search endpoint regressed
[ "$(rc "$REPRISE" analyze "$db" --baseline v1 --candidate v2 --noise v1b \
    --fail-if 'p99>+10%' --format json -o "$TMP/ab.json")" = 1 ] ||
    fail "A/B gate should fail"
got=$(json "$TMP/ab.json" '",".join(e["endpoint"] for e in r["endpoints"] if e["regressed"])')
[ "$got" = "GET /api/search" ] || fail "A/B regressed: [$got]"
[ "$(json "$TMP/ab.json" 'r["verdict"], r["failed_conditions"][0]["endpoint"]')" = "fail GET /api/search" ] ||
    fail "A/B verdict: $(json "$TMP/ab.json" 'r["failed_conditions"]')"
json "$TMP/ab.json" 'r["endpoints"][0]["noise_floor"]["p99_us"] >= 0' | grep -q True ||
    fail "noise floor missing"
eps=$(json "$TMP/ab.json" '" ".join(sorted(e["endpoint"].replace(" ","_") for e in r["endpoints"]))')
for want in GET_/api/users/:id GET_/api/search POST_/api/orders \
    DELETE_/api/sessions/:id GET_/health; do
    [[ " $eps " == *" $want "* ]] || fail "endpoint $want missing in [$eps]"
done

# A/A flags nothing and passes
[ "$(rc "$REPRISE" analyze "$db" --baseline v1 --candidate v1b \
    --fail-if 'p99>+10%' --fail-if 'p50>+1ms' --format json -o "$TMP/aa.json")" = 0 ] ||
    fail "A/A gate should pass"
[ -z "$(json "$TMP/aa.json" '",".join(e["endpoint"] for e in r["endpoints"] if e["regressed"] or e["improved"])')" ] ||
    fail "A/A flagged endpoints"

# every condition kind
check() { # want-exit, expr (the default gates off: each condition alone)
    local got
    got=$(rc "$REPRISE" analyze "$db" --baseline v1 --candidate v2 \
        --no-default-gates --fail-if "$2")
    [ "$got" = "$1" ] || fail "--fail-if '$2': exit $got, want $1 ($(cat "$TMP/stderr"))"
}
check 1 'p99>+10%';  check 0 'p99>+200%'
check 1 'p50>+2ms';  check 0 'p50>+50ms'
check 1 'p95>10ms';  check 0 'p95>10s'
check 1 'errors>1%'; check 0 'errors>10%'
check 1 'status-changed>0.5%'; check 0 'status-changed>50%'
check 1 'status-mix>1%';       check 0 'status-mix>10%'
check 1 'body-changed>1%';     check 0 'body-changed>50%'
check 2 'p99>10%'; check 2 'p99 > fast'; check 2 'foo>1%'

# formats (v2 against v1 fails the default gates: exit 1 whatever the
# format), one call with several outputs, the format from each extension
for f in text csv markdown html; do
    [ "$(rc "$REPRISE" analyze "$db" --baseline v1 --format $f -o "$TMP/r.$f")" = 1 ] ||
        fail "--format $f"
    grep -q "GET /api/search" "$TMP/r.$f" || fail "--format $f lacks the endpoint"
done
[ "$(rc "$REPRISE" analyze "$db" --baseline v1 -o "$TMP/m.html" -o "$TMP/m.json" \
    -o "$TMP/m.md" -o "$TMP/m.txt" -o "$TMP/m.csv")" = 1 ] || fail "several -o"
grep -q '<svg' "$TMP/m.html" && json "$TMP/m.json" 'r["verdict"]' | grep -qx fail &&
    grep -q '^### reprise: :x: \*\*FAIL\*\*' "$TMP/m.md" &&
    grep -q '^verdict: FAIL' "$TMP/m.txt" && head -1 "$TMP/m.csv" | grep -q '^endpoint,' ||
    fail "several -o: a format is wrong"
[ "$(rc "$REPRISE" analyze "$db" -o "$TMP/a.out" -o "$TMP/b.out")" = 2 ] ||
    fail "two -o of unknown format should be refused"
grep -q "<svg" "$TMP/r.html" || fail "html without svg"
! grep -qiE "<script|src=|href=" "$TMP/r.html" || fail "html not self-contained"
head -1 "$TMP/r.csv" | grep -q '^endpoint,verdict,p_value' || fail "csv header"

# errors: one line, exit 2
[ "$(rc "$REPRISE" analyze "$db" --candidate V2)" = 2 ] || fail "unknown run V2"
grep -q "no run with id or label 'V2'; did you mean 'v2' (run 3)" "$TMP/stderr" ||
    fail "no close match suggested: $(cat "$TMP/stderr")"
[ "$(rc "$REPRISE" analyze "$db" --candidate nosuch)" = 2 ] || fail "unknown run"
[ "$(wc -l < "$TMP/stderr")" = 1 ] || fail "unknown run: not one line: $(cat "$TMP/stderr")"
grep -q "nosuch" "$TMP/stderr" || fail "unknown run message"
[ "$(rc "$REPRISE" analyze "$TMP/missing.db")" = 2 ] || fail "missing db"
[ "$(rc "$REPRISE" analyze "$db" --group-by nothing)" = 2 ] || fail "bad --group-by"
[ "$(rc "$REPRISE" analyze --help)" = 0 ] || fail "--help"
for flag in --baseline --candidate --noise --group-by --template --keep-query \
    --metric --alpha --threshold --min-effect --fail-if --min-count --format \
    --output --top --color --no-color --no-default-gates --allow-all-errors \
    --max-lateness INCONCLUSIVE status-mix; do
    grep -q -- "$flag" "$TMP/stdout" || fail "--help lacks $flag"
done

# show: an exchange of the slowest list, and its curl command
id=$(json "$TMP/ab.json" 'r["slowest"][0]["exchange_id"]')
[ "$(rc "$REPRISE" show "$db" "$id")" = 0 ] || fail "show $id"
grep -q "^> GET /api/search" "$TMP/stdout" || fail "show: request line"
grep -q "^< HTTP/1.1 200" "$TMP/stdout" || fail "show: status line"
grep -q "^  run 3 'v2' (started 20[0-9-]*T[0-9:.]*Z, speed):" "$TMP/stdout" && grep -q "^    loop 0: copy 0: status 200, latency " "$TMP/stdout" ||
    fail "show: replays of the exchange: $(cat "$TMP/stdout")"
[ "$(rc "$REPRISE" show "$db" "$id" --curl --target http://127.0.0.1:1)" = 0 ] ||
    fail "show --curl"
grep -q "^curl .*'http://127.0.0.1:1/api/search?q=item" "$TMP/stdout" ||
    fail "show --curl: $(cat "$TMP/stdout")"
bash -n "$TMP/stdout" || fail "show --curl is not valid shell"
[ "$(rc "$REPRISE" show "$db" 99999999)" = 2 ] || fail "show unknown id"
[ "$(rc "$REPRISE" show --help)" = 0 ] || fail "show --help"
pass "analyze: A/B, A/A, fail-if, formats, errors; show and --curl"
