#!/usr/bin/env bash
# bench_merge.sh: times `reprise merge` of SHARDS shard corpora of PER
# results each (gen_shards.c writes them through the corpus API) into a new
# OUT, against a peer doing the same with the sqlite3 shell: a copy of the
# capture-only corpus, the shards ATTACHed, one INSERT ... SELECT of each
# shard's results into a new run, in one transaction with the rollback
# journal and synchronous=OFF (what one writes by hand; it does not check
# the shards, shift their clocks or count the spread). Rounds alternate
# reprise and peer; each prints wall and CPU time, the ratio, and how quiet
# the machine was (bench_lib.sh: steal, others). Never asserts a time.
#   SHARDS=10 PER=1000000 ROUNDS=2 nice tests/bench/bench_merge.sh
# The peer's SQLite attaches at most 10 files, so SHARDS <= 10. Needs about
# SHARDS x PER x 120 bytes of disk in $TMPDIR, twice.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
source "$SRC/tests/bench/bench_lib.sh"

SHARDS=${SHARDS:-10}
PER=${PER:-100000}
ROUNDS=${ROUNDS:-2}
[ "$SHARDS" -le 10 ] || fail "SHARDS must be at most 10 (SQLite's ATTACH limit, for the peer)"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"

echo "== building a release reprise and gen_shards"
cmake -S "$SRC" -B "$TMP/build" -DCMAKE_BUILD_TYPE=Release \
    -DREPRISE_TESTS=OFF -DREPRISE_SANITIZE=OFF >/dev/null
cmake --build "$TMP/build" --target reprise -j2 >/dev/null
libs="$TMP/build/librp_corpus.a $TMP/build/librp_common.a"
cc -O2 -I"$SRC" "$SRC/tests/bench/gen_shards.c" $libs \
    $(pkg-config --libs sqlite3 zlib libcrypto) -lm -o "$TMP/gen"
R="$TMP/build/reprise"

echo "== generating $SHARDS shards x $PER results"
t0=$(date +%s.%N)
"$TMP/gen" "$TMP" "$SHARDS" "$PER"
t1=$(date +%s.%N)
printf "generated in %.1f s, %s MiB\n" "$(echo "$t1 - $t0" | bc -l)" "$(du -cm "$TMP"/shard-*.db | tail -1 | cut -f1)"

peer_sql() {
    local i
    for i in $(seq 0 $((SHARDS - 1))); do echo "ATTACH '$TMP/shard-$i.db' AS s$i;"; done
    echo "PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF; BEGIN;"
    echo "INSERT INTO runs(capture_id, label, target, mode, options, started_us, status, tool_version)"
    echo "  SELECT capture_id, label, target, mode, options, started_us, status, tool_version FROM s0.runs;"
    for i in $(seq 0 $((SHARDS - 1))); do
        echo "INSERT INTO results SELECT (SELECT max(id) FROM main.runs), exchange_id, copy, loop,"
        echo "  scheduled_us, sent_us, first_byte_us, done_us, connect_us, status, resp_bytes,"
        echo "  body_hash, error_class, error FROM s$i.results;"
    done
    echo "COMMIT;"
}
peer_sql > "$TMP/peer.sql"

# timed LABEL CMD...: runs CMD under /usr/bin/time; prints wall, cpu, quiet
timed() {
    local label=$1; shift
    cpu_mark "$TMP/s0"
    /usr/bin/time -f "%e %U %S" -o "$TMP/time" "$@" > "$TMP/out.$label" 2>&1 \
        || { cat "$TMP/out.$label"; fail "$label failed"; }
    cpu_mark "$TMP/s1"
    read -r wall user sys < "$TMP/time"
    cpu=$(echo "$user + $sys" | bc -l)
    quiet=$(round_quiet "$TMP/s0" "$TMP/s1" "$cpu")
    echo "$wall $cpu $quiet"
}

total=$((SHARDS * PER))
for round in $(seq 1 "$ROUNDS"); do
    rm -f "$TMP/out.db" "$TMP/peer.db"
    read -r rw rc rsteal rothers < <(timed reprise "$R" merge "$TMP/out.db" "$TMP"/shard-*.db)
    n=$(sqlite3 "$TMP/out.db" "SELECT result_count FROM runs")
    [ "$n" -eq "$total" ] || fail "reprise merged $n results, expected $total"
    read -r pw pc psteal pothers < <(timed peer sh -c "cp '$TMP/base.db' '$TMP/peer.db' && sqlite3 -bail '$TMP/peer.db' < '$TMP/peer.sql'")
    n=$(sqlite3 "$TMP/peer.db" "SELECT count(*) FROM results")
    [ "$n" -eq "$total" ] || fail "the peer merged $n results, expected $total"
    printf "round %d: %d x %d results: reprise merge %.2f s (cpu %.2f s, steal %s%%, others %s%%), sqlite3 peer %.2f s (cpu %.2f s, steal %s%%, others %s%%): ratio %.2fx the peer's time, %.2f M results/s\n" \
        "$round" "$SHARDS" "$PER" "$rw" "$rc" "$rsteal" "$rothers" "$pw" "$pc" "$psteal" "$pothers" \
        "$(echo "$rw / $pw" | bc -l)" "$(echo "$total / $rw / 1000000" | bc -l)"
done
grep "start spread" "$TMP/out.reprise" || true
