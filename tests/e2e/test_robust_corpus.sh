#!/usr/bin/env bash
# test_robust_corpus.sh: issue 7, a hostile corpus. A valid corpus is edited
# with the sqlite3 shell the way a bug, a disk error or a malicious file
# could leave it: NULL and huge strings, NUL bytes in headers, impossible
# statuses, flags and times, bodies that are not zlib or claim 2^62 bytes,
# hashes of the wrong length, results and exchanges pointing nowhere, JSON
# columns that are not JSON. Every reading command (ls, export, show,
# show --curl, analyze in json and html) and replay must end within 20 s
# with exit 0, 1 or 2 (or analyze's verdict exits 1 and 3 with the report
# written), no signal and no sanitizer report.
source "$SRC/tests/lib.sh"

command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"
command -v nginx >/dev/null || skip "nginx not installed"
GEN="$SRC/tests/e2e/pcapgen.py"
FAILS=()

python3 "$GEN" secrets "$TMP/s.pcap" --n 4 > /dev/null
"$REPRISE" capture -q -r "$TMP/s.pcap" -o "$TMP/good.db" || fail "capture"
P=$(free_port)
start_nginx web "$P"
"$REPRISE" replay "$TMP/good.db" --target "http://127.0.0.1:$P" --max --quiet --label r1 ||
    fail "replay"
"$REPRISE" replay "$TMP/good.db" --target "http://127.0.0.1:$P" --max --quiet --label r2 ||
    fail "replay"

# case NAME SQL: runs every command on a copy of good.db edited by SQL
case_() {
    local name=$1 sql=$2
    local db="$TMP/$name.db"
    cp "$TMP/good.db" "$db"
    # drop the NOT NULL constraints (text only, the storage is unchanged)
    sqlite3 "$db" "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = replace(sql, 'NOT NULL', '') WHERE type = 'table';"
    sqlite3 "$db" "$sql" 2> "$TMP/$name.sqlerr" ||
        { FAILS+=("$name: the SQL failed: $(cat "$TMP/$name.sqlerr")"); return 0; }
    local cmds=(
        "ls $db"
        "export $db"
        "show $db 1"
        "show $db 1 --curl"
        "show $db 2 --body-bytes 0"
        "analyze $db --format json"
        "analyze $db --baseline r1 --candidate r2 --format html"
        "replay $db --target http://127.0.0.1:$P --max --quiet"
    )
    local c rc
    for c in "${cmds[@]}"; do
        rc=0
        # shellcheck disable=SC2086
        timeout -s KILL 20 "$REPRISE" $c > "$TMP/$name.out" 2> "$TMP/$name.err" || rc=$?
        # analyze's verdicts FAIL (1) and INCONCLUSIVE (3) are answers, on
        # stdout with their reasons, not errors
        local verdict=0
        if [[ $c == analyze* ]] && { [ "$rc" -eq 1 ] || [ "$rc" -eq 3 ]; } &&
            grep -q 'verdict' "$TMP/$name.out"; then
            verdict=1
        fi
        if [ "$name" = pristine ] && [ "$rc" -ne 0 ]; then
            FAILS+=("untouched corpus: reprise ${c/$TMP\//}: exit $rc: $(head -c 300 "$TMP/$name.err")")
        elif [ "$rc" -gt 3 ] || { [ "$rc" -eq 3 ] && [ "$verdict" -eq 0 ]; }; then
            FAILS+=("$name: reprise ${c/$TMP\//}: exit $rc: $(grep -m2 -E 'ERROR|runtime error|SUMMARY' "$TMP/$name.err" | head -c 300)")
        elif grep -q -E "Sanitizer|runtime error" "$TMP/$name.err"; then
            FAILS+=("$name: reprise ${c/$TMP\//}: sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error' "$TMP/$name.err" | head -c 300)")
        elif [ "$rc" -ne 0 ] && [ "$verdict" -eq 0 ] && [ "$(wc -l < "$TMP/$name.err")" -ne 1 ]; then
            FAILS+=("$name: reprise ${c/$TMP\//}: exit $rc with $(wc -l < "$TMP/$name.err") stderr lines")
        fi
        printf '%-14s %-60s exit %d %s\n' "$name" "${c/$TMP\//}" "$rc" "$(head -c 100 "$TMP/$name.err" | tr '\n' ' ')"
    done
}

case_ pristine "SELECT 1;"
case_ nulls "UPDATE exchanges SET method = NULL, target = NULL, host = NULL, version = NULL, reason = NULL, req_headers = NULL, resp_headers = NULL;"
case_ huge "UPDATE exchanges SET target = '/' || hex(randomblob(500000)), host = hex(randomblob(100000)), req_headers = randomblob(4000000), method = hex(randomblob(1000));"
case_ nul-bytes "UPDATE exchanges SET req_headers = CAST(X'4869003a200a0d00ff' AS TEXT), target = CAST(X'2f0000ff' AS TEXT), resp_headers = CAST(X'00' AS TEXT);"
case_ numbers "UPDATE exchanges SET status = -5, flags = -1, seq = -9, req_first_us = 9223372036854775807, req_last_us = -9223372036854775808, resp_first_us = 0, resp_last_us = -1, req_wire_bytes = -1, resp_body_size_bytes = -7; UPDATE exchanges SET status = 99999 WHERE id = 2;"
case_ types "UPDATE exchanges SET status = 'abc', req_first_us = 'soon', flags = X'0102', seq = 1.5;"
case_ body-garbage "UPDATE bodies SET data = randomblob(1000);"
case_ body-huge "UPDATE bodies SET size_bytes = 4611686018427387904; UPDATE exchanges SET resp_body_size_bytes = 4611686018427387904, resp_body_stored_bytes = 4611686018427387904;"
case_ body-bomb "UPDATE bodies SET data = zeroblob(0), size_bytes = -1;"
case_ hash-len "UPDATE exchanges SET resp_body_hash = X'00', req_body_hash = X'0102030405060708090a0b0c0d0e0f101112'; UPDATE results SET body_hash = X'01';"
case_ dangling "UPDATE results SET exchange_id = exchange_id + 1000 WHERE exchange_id % 2 = 0; UPDATE exchanges SET connection_id = 999, capture_id = 77 WHERE id = 3; DELETE FROM connections;"
case_ results-odd "UPDATE results SET scheduled_us = NULL, sent_us = -5, first_byte_us = 9223372036854775807, done_us = -9223372036854775808, status = -1, error_class = 'martian', error = randomblob(3000);"
case_ json-garbage "UPDATE captures SET stats = '{\"packets\":', options = 'not json', exchange_count = -3; UPDATE runs SET summary = '[[[[', options = '{', result_count = NULL, status = 'exploded', mode = 'warp';"
case_ no-rows "DELETE FROM exchanges; DELETE FROM bodies;"

if [ "${#FAILS[@]}" -gt 0 ]; then
    printf '  %s\n' "${FAILS[@]}" >&2
    fail "${#FAILS[@]} hostile-corpus case(s) misbehaved"
fi
pass "hostile corpus contents: no signal, no sanitizer report, bounded"
