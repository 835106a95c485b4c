#!/usr/bin/env bash
# test_robust_input.sh: issue 7 part 1, bad input. Every command, fed a bad
# file, flag, value or name, must print one line on stderr that names the
# input (exit 2 for usage or bad input, 1 for a runtime failure), never die of
# a signal, never hang (each call is bounded by `timeout`), and never change
# an existing corpus (its checksum is compared after every call). A pcap cut
# mid-write keeps what was read, warns and exits 0.
source "$SRC/tests/lib.sh"

command -v nginx >/dev/null || skip "nginx not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"
GEN="$SRC/tests/e2e/pcapgen.py"

# A corpus with a capture (5 exchanges) and a run labelled base.
python3 "$GEN" ok "$TMP/ok.pcap" --n 5 > /dev/null
"$REPRISE" capture -q -r "$TMP/ok.pcap" -o "$TMP/c.db" || fail "capture of ok.pcap"
check_identity "$TMP/c.db" ok.pcap
P=$(free_port)
start_nginx web "$P" 'location /ok/ { return 200 "ok\n"; }'
"$REPRISE" replay "$TMP/c.db" --target "http://127.0.0.1:$P" --max --label base \
    --quiet || fail "replay"
DB="$TMP/c.db"
sum() { md5sum "$DB" | cut -d' ' -f1; }
SUM=$(sum)

FAILS=()
# expect CODE WORD CMD ARGS...: exit CODE, one stderr line containing WORD
# (grep -i -F), no signal, within 20 s, corpus unchanged. CODE may be "1|2".
# Standard output goes to $STDOUT when set.
expect() {
    local code=$1 word=$2; shift 2
    local rc=0
    timeout -s KILL 20 "$REPRISE" "$@" > "${STDOUT:-$TMP/out}" 2> "$TMP/err" < /dev/null || rc=$?
    local what="reprise $*"
    local lines; lines=$(wc -l < "$TMP/err")
    if ! [[ "$rc" =~ ^($code)$ ]]; then
        FAILS+=("$what: exit $rc, expected $code; stderr: $(head -c 300 "$TMP/err")")
    elif [ "$lines" -ne 1 ]; then
        FAILS+=("$what: $lines stderr lines, expected 1: $(head -c 300 "$TMP/err")")
    elif ! grep -qiF -- "$word" "$TMP/err"; then
        FAILS+=("$what: '$word' not named in: $(cat "$TMP/err")")
    fi
    if [ "$(sum)" != "$SUM" ]; then
        FAILS+=("$what: changed the existing corpus")
        SUM=$(sum)
    fi
    [ -e "$DB-wal" ] && FAILS+=("$what: left $DB-wal behind")
    return 0
}

# --- pcap inputs ------------------------------------------------------------
: > "$TMP/empty.pcap"
head -c 5000 /dev/urandom > "$TMP/garbage.pcap"
cp "$TMP/ok.pcap" "$TMP/unread.pcap"; chmod 000 "$TMP/unread.pcap"
python3 - "$TMP/wifi.pcap" <<'PY'
import struct, sys
f = open(sys.argv[1], "wb")
f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 105))
f.write(struct.pack("<IIII", 1, 0, 4, 4) + b"abcd")
PY
O="$TMP/new.db"
expect 2 missing.pcap capture -r "$TMP/missing.pcap" -o "$O"
expect 2 empty.pcap capture -r "$TMP/empty.pcap" -o "$O"
expect 2 garbage.pcap capture -r "$TMP/garbage.pcap" -o "$O"
expect 2 wifi.pcap capture -r "$TMP/wifi.pcap" -o "$O"
expect 2 nosuchif0 capture -i nosuchif0 -o "$O"
expect 2 filter capture -r "$TMP/ok.pcap" -o "$O" 'tcp port and'
expect 2 filter capture -r "$TMP/ok.pcap" -o "$O" 'host 999.1.1.1'
if [ "$(id -u)" -eq 0 ] && id nobody > /dev/null 2>&1; then
    # root reads anything: check unreadable/unwritable as nobody
    rc=0
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        timeout -s KILL 20 "$REPRISE" capture -r "$TMP/unread.pcap" -o /tmp/reprise-never.db \
        2> "$TMP/err" || rc=$?
    [ "$rc" -eq 2 ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] && grep -q unread.pcap "$TMP/err" ||
        FAILS+=("capture -r unreadable file: exit $rc: $(cat "$TMP/err")")
    mkdir -m 755 "$TMP/ro"
    rc=0
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        timeout -s KILL 20 "$REPRISE" capture -r "$TMP/ok.pcap" -o "$TMP/ro/x.db" \
        2> "$TMP/err" || rc=$?
    { [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]; } && [ "$(wc -l < "$TMP/err")" -eq 1 ] &&
        grep -q "ro/x.db" "$TMP/err" ||
        FAILS+=("capture -o not writable: exit $rc: $(cat "$TMP/err")")
    rm -f /tmp/reprise-never.db
fi
expect 2 "is a directory" capture -r "$TMP/ok.pcap" -o "$TMP"
expect 1 "nodir" capture -r "$TMP/ok.pcap" -o "$TMP/nodir/x.db"

# a pcap cut mid-record: what was read is kept, a warning, exit 0
python3 "$GEN" ok "$TMP/full.pcap" --n 4 > /dev/null
size=$(stat -c %s "$TMP/full.pcap")
head -c $((size - 30)) "$TMP/full.pcap" > "$TMP/cut.pcap"
rc=0
timeout -s KILL 20 "$REPRISE" capture -r "$TMP/cut.pcap" -o "$TMP/cut.db" 2> "$TMP/cut.err" || rc=$?
n=$("$REPRISE" export "$TMP/cut.db" 2>/dev/null | wc -l)
if [ "$rc" -ne 0 ] || ! grep -qi "truncated" "$TMP/cut.err" || [ "$n" -ne 4 ]; then
    FAILS+=("truncated pcap: exit $rc, $n of 4 exchanges, stderr: $(cat "$TMP/cut.err")")
fi
# a record header cut in two
head -c $((24 + 8)) "$TMP/full.pcap" > "$TMP/cut2.pcap"
rc=0
timeout -s KILL 20 "$REPRISE" capture -r "$TMP/cut2.pcap" -o "$TMP/cut2.db" 2> "$TMP/cut2.err" || rc=$?
[ "$rc" -eq 0 ] && grep -qi "truncated" "$TMP/cut2.err" ||
    FAILS+=("pcap cut in a record header: exit $rc: $(cat "$TMP/cut2.err")")

# the same cut in a pcapng file (editcap converts)
if command -v editcap > /dev/null; then
    editcap -F pcapng "$TMP/full.pcap" "$TMP/full.pcapng"
    size=$(stat -c %s "$TMP/full.pcapng")
    head -c $((size - 30)) "$TMP/full.pcapng" > "$TMP/cut.pcapng"
    rc=0
    timeout -s KILL 20 "$REPRISE" capture -r "$TMP/cut.pcapng" -o "$TMP/cutng.db" 2> "$TMP/cutng.err" || rc=$?
    n=$("$REPRISE" export "$TMP/cutng.db" 2>/dev/null | wc -l)
    [ "$rc" -eq 0 ] && grep -qi "truncated" "$TMP/cutng.err" && [ "$n" -eq 4 ] ||
        FAILS+=("truncated pcapng: exit $rc, $n of 4 exchanges: $(cat "$TMP/cutng.err")")
fi
# only the file header: no packet, nothing to keep, but not an error either way
head -c 24 "$TMP/full.pcap" > "$TMP/hdr.pcap"
rc=0
timeout -s KILL 20 "$REPRISE" capture -r "$TMP/hdr.pcap" -o "$TMP/hdr.db" 2> "$TMP/hdr.err" || rc=$?
[ "$rc" -eq 0 ] || FAILS+=("pcap with only its file header: exit $rc: $(cat "$TMP/hdr.err")")

# --- output paths for the readers -------------------------------------------
expect 2 "$TMP" export "$DB" -o "$TMP"
expect 1 "nodir" export "$DB" -o "$TMP/nodir/x.jsonl"
expect "1|2" "$TMP" analyze "$DB" -o "$TMP"
expect 1 "nodir" analyze "$DB" -o "$TMP/nodir/r.txt"
echo keep > "$TMP/keep.jsonl"
expect 2 "99" export "$DB" -o "$TMP/keep.jsonl" --capture 99
[ "$(cat "$TMP/keep.jsonl")" = keep ] || FAILS+=("a failed export -o destroyed the existing file")
if [ -c /dev/full ]; then
    # a full device as the output: a runtime failure naming it, exit 1;
    # /dev/full must stay a device (a failed export once unlinked it)
    expect 1 "/dev/full" export "$DB" -o /dev/full
    expect 1 "/dev/full" analyze "$DB" -o /dev/full
    STDOUT=/dev/full expect 1 "standard output" export "$DB"
    STDOUT=/dev/full expect 1 "standard output" ls "$DB"
    STDOUT=/dev/full expect 1 "standard output" analyze "$DB"
    STDOUT=/dev/full expect 1 "standard output" show "$DB" 1
    STDOUT=/dev/full expect 1 "standard output" show "$DB" 1 --curl
    [ -c /dev/full ] || FAILS+=("/dev/full is no longer a character device")
    cp "$DB" "$TMP/json.db"
    rc=0
    timeout -s KILL 20 "$REPRISE" replay "$TMP/json.db" --target "http://127.0.0.1:$P" --max \
        --json --quiet > /dev/full 2> "$TMP/err" || rc=$?
    [ "$rc" -eq 1 ] && [ "$(wc -l < "$TMP/err")" -eq 1 ] ||
        FAILS+=("replay --json > /dev/full: exit $rc, expected 1 with one line: $(head -c 300 "$TMP/err")")
fi

# --- corpus inputs ----------------------------------------------------------
echo "this is not a corpus" > "$TMP/text.db"
sqlite3 "$TMP/other.db" "CREATE TABLE t(x); INSERT INTO t VALUES (1);"
cp "$DB" "$TMP/newer.db"
sqlite3 "$TMP/newer.db" "PRAGMA user_version = 99;"
for f in text.db other.db newer.db; do
    before=$(md5sum < "$TMP/$f")
    word=$f
    expect 2 "$word" ls "$TMP/$f"
    expect 2 "$word" export "$TMP/$f"
    expect 2 "$word" analyze "$TMP/$f"
    expect 2 "$word" show "$TMP/$f" 1
    expect 2 "$word" replay "$TMP/$f" --target "http://127.0.0.1:$P"
    expect 2 "$word" capture -r "$TMP/ok.pcap" -o "$TMP/$f"
    [ "$(md5sum < "$TMP/$f")" = "$before" ] || FAILS+=("$f was changed by a command")
done
expect 2 "newer" ls "$TMP/newer.db"
for cmd in ls export analyze; do expect 2 missing.db $cmd "$TMP/missing.db"; done
expect 2 missing.db show "$TMP/missing.db" 1
expect 2 missing.db replay "$TMP/missing.db" --target "http://127.0.0.1:$P"
[ -e "$TMP/missing.db" ] && FAILS+=("a reader created missing.db")
expect 2 "$TMP" ls "$TMP"

# --- names, URLs, values ----------------------------------------------------
expect 2 nosuchrun analyze "$DB" --candidate nosuchrun
expect 2 nosuchrun analyze "$DB" --baseline nosuchrun
expect 2 "12345" analyze "$DB" --candidate 12345
expect 2 "capture" analyze "$DB" --baseline capture:999
expect 2 "999" replay "$DB" --target "http://127.0.0.1:$P" --capture 999
expect 2 "99999" show "$DB" 99999
expect 2 "abc" show "$DB" abc
expect 2 "99" export "$DB" --capture 99
for url in 'gopher://x' 'http://' 'http://127.0.0.1:99999' 'not a url' \
           'http://127.0.0.1:80/path' 'http://[::1' ''; do
    expect 2 "target" replay "$DB" --target "$url"
done
T=(--target "http://127.0.0.1:$P")
for v in fast 0 -1 nan inf 1e999 ''; do expect 2 "--speed" replay "$DB" "${T[@]}" --speed "$v"; done
for v in -3 0 x 10/m 1e999; do expect 2 "--rate" replay "$DB" "${T[@]}" --rate "$v"; done
for v in 1fortnight -5s '' 99999999999999999999h; do
    expect 2 "--duration" replay "$DB" "${T[@]}" --duration "$v"
    expect 2 "--duration" capture -r "$TMP/ok.pcap" -o "$O" --duration "$v"
done
expect 2 "--timeout" replay "$DB" "${T[@]}" --timeout soon
for v in lots -1 1Q 99999999999999999999 ''; do
    expect 2 "--max-body" capture -r "$TMP/ok.pcap" -o "$O" --max-body "$v"
    expect 2 "--max-memory" capture -r "$TMP/ok.pcap" -o "$O" --max-memory "$v"
done
expect 2 "--concurrency" replay "$DB" "${T[@]}" --max --concurrency 0
expect 2 "--threads" replay "$DB" "${T[@]}" --threads -2
expect 2 "--scale" replay "$DB" "${T[@]}" --scale x
expect 2 "--loop" replay "$DB" "${T[@]}" --loop 99999999999999999999
expect 2 "--filter" replay "$DB" "${T[@]}" --filter nokey
expect 2 "--rewrite-path" replay "$DB" "${T[@]}" --rewrite-path '(=x'
for expr in 'p99>' 'p99>+10' 'p42>1ms' 'latency>5' 'errors>>1%' 'p99>+10%%' \
            'p50 > fast' '>1ms' ''; do
    expect 2 "--fail-if" analyze "$DB" --fail-if "$expr"
done
expect 2 "--format" analyze "$DB" --format yaml
expect 2 "--alpha" analyze "$DB" --alpha 2
expect 2 "--threshold" analyze "$DB" --threshold x
expect 2 "--format" export "$DB" --format xml

# --- unknown subcommands and flags, missing arguments -----------------------
expect 2 "frobnicate" frobnicate
expect 2 "--bogus" --bogus
for cmd in capture replay analyze show ls export; do
    expect 2 "--bogus" $cmd --bogus "$DB"
done
expect 2 "--speed" replay "$DB" "${T[@]}" --speed
expect 2 "--target" replay "$DB"
expect 2 "-o" capture -r "$TMP/ok.pcap"
expect 2 "exactly one" capture -r "$TMP/ok.pcap" -i lo -o "$O"
expect 2 "one of" replay "$DB" "${T[@]}" --max --rate 10
expect 2 "" ls
expect 2 "" show "$DB"
expect 2 "" ls "$DB" "$DB"

# the existing corpus still opens and is intact
[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || FAILS+=("corpus integrity")
"$REPRISE" ls "$DB" > /dev/null || FAILS+=("ls of the corpus failed at the end")

if [ "${#FAILS[@]}" -gt 0 ]; then
    printf '  %s\n' "${FAILS[@]}" >&2
    fail "${#FAILS[@]} bad-input case(s) misbehaved"
fi
pass "bad input: one stderr line naming the input, exit 2/1, corpus unchanged"
