#!/usr/bin/env bash
# test_capture_files.sh: `reprise capture -r` on the shared real-world
# captures (request counts against tshark's, see ../shared/pcaps/README.md),
# on standard input, on a file cut mid-packet, and every input/usage error:
# one stderr line naming the input, exit 2 (or 1 for runtime failures).
source "$SRC/tests/lib.sh"

PCAPS="$SRC/../shared/pcaps"
[ -d "$PCAPS" ] || skip "shared pcaps not found at $PCAPS"

count() { "$REPRISE" export "$1" --format jsonl | wc -l; }

# 1. the walking skeleton: two exchanges, Ethernet and SLL2
for f in simple_http.pcap simple_http_sll2.pcap; do
    rm -f "$TMP/c.db"
    "$REPRISE" capture -q -r "$PCAPS/$f" -o "$TMP/c.db" || fail "$f: exit $?"
    "$REPRISE" export "$TMP/c.db" --format jsonl > "$TMP/c.jsonl"
    [ "$(wc -l < "$TMP/c.jsonl")" -eq 2 ] || fail "$f: expected 2 exchanges"
    grep -q '"method":"GET","target":"/",.*"status":200' "$TMP/c.jsonl" ||
        fail "$f: GET / -> 200 missing"
    grep -q '"target":"/favicon.ico",.*"status":404' "$TMP/c.jsonl" ||
        fail "$f: GET /favicon.ico -> 404 missing"
done

# 2. every shared capture: at least tshark's request count (putty-upload has
#    a POST cut short that tshark does not count; we record it, flagged)
while IFS=$'\t' read -r f req _resp; do
    rm -f "$TMP/t.db"
    "$REPRISE" capture -q -r "$PCAPS/$f" -o "$TMP/t.db" || fail "$f: exit $?"
    n=$(count "$TMP/t.db")
    [ "$n" -ge "$req" ] || fail "$f: $n exchanges, tshark sees $req requests"
done < "$PCAPS/expected.tsv"

# 3. standard input, and several captures appended to one corpus
rm -f "$TMP/s.db"
"$REPRISE" capture -q -r - -o "$TMP/s.db" < "$PCAPS/simple_http.pcap" ||
    fail "stdin: exit $?"
cat "$PCAPS/get.pcap" | "$REPRISE" capture -q -r - -o "$TMP/s.db" --label two ||
    fail "stdin pipe: exit $?"
[ "$(count "$TMP/s.db")" -eq 3 ] || fail "stdin: expected 3 exchanges"

# 4. a file cut mid-packet: what was read is kept, a warning, exit 0
head -c 1000 "$PCAPS/simple_http.pcap" > "$TMP/cut.pcap"
rm -f "$TMP/cut.db"
"$REPRISE" capture -r "$TMP/cut.pcap" -o "$TMP/cut.db" 2> "$TMP/cut.log" ||
    fail "truncated pcap: exit $?"
grep -q "truncated" "$TMP/cut.log" || fail "truncated pcap: no warning"
[ "$(count "$TMP/cut.db")" -eq 1 ] || fail "truncated pcap: request lost"

# 5. errors: exit code and one line on stderr that names the input
expect_error() { # CODE WORD ARGS...
    local code=$1 word=$2; shift 2
    set +e
    "$REPRISE" capture "$@" > "$TMP/out" 2> "$TMP/err"
    local rc=$?
    set -e
    [ "$rc" -eq "$code" ] || fail "capture $*: exit $rc, expected $code"
    [ "$(wc -l < "$TMP/err")" -eq 1 ] || fail "capture $*: not one stderr line"
    grep -q -- "$word" "$TMP/err" || fail "capture $*: '$word' not in: $(cat "$TMP/err")"
}
: > "$TMP/empty.pcap"
echo "not a capture" > "$TMP/garbage.pcap"
G="$PCAPS/get.pcap"
expect_error 2 "missing.pcap" -r "$TMP/missing.pcap" -o "$TMP/x.db"
expect_error 2 "empty.pcap" -r "$TMP/empty.pcap" -o "$TMP/x.db"
expect_error 2 "garbage.pcap" -r "$TMP/garbage.pcap" -o "$TMP/x.db"
gzip -c "$PCAPS/get.pcap" > "$TMP/get.pcap.gz"
expect_error 2 "gzip-compressed" -r "$TMP/get.pcap.gz" -o "$TMP/x.db"
expect_error 2 "is a directory" -r "$G" -o "$TMP"
expect_error 1 "nodir" -r "$G" -o "$TMP/nodir/x.db"
expect_error 2 "filter" -r "$G" -o "$TMP/x.db" tcp port
expect_error 2 "nosuchif0" -i nosuchif0 -o "$TMP/x.db"
expect_error 2 "\-\-port" -r "$G" -o "$TMP/x.db" --port 80,x
expect_error 2 "\-\-port" -r "$G" -o "$TMP/x.db" --port 70000
expect_error 2 "\-\-sample" -r "$G" -o "$TMP/x.db" --sample 0
expect_error 2 "\-\-duration" -r "$G" -o "$TMP/x.db" --duration soon
expect_error 2 "\-\-count" -r "$G" -o "$TMP/x.db" --count -1
expect_error 2 "\-\-max-memory" -r "$G" -o "$TMP/x.db" --max-memory lots
expect_error 2 "\-o" -r "$G"
expect_error 2 "exactly one" -o "$TMP/x.db"
expect_error 2 "unknown option" -r "$G" -o "$TMP/x.db" --bogus
echo "not a corpus" > "$TMP/notdb"
expect_error 2 "notdb" -r "$G" -o "$TMP/notdb"
# a link type reprise does not decode (802.11)
python3 - "$TMP/wifi.pcap" <<'PY'
import struct, sys
open(sys.argv[1], "wb").write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 105))
PY
expect_error 2 "not supported" -r "$TMP/wifi.pcap" -o "$TMP/x.db"

# 6. --help describes every flag it accepts
"$REPRISE" capture --help > "$TMP/help" || fail "--help exit $?"
for flag in -i -r -o --label --port --sample --duration --count --buffer-size \
            --promisc --immediate --user --flow-timeout --max-memory --max-body \
            --no-redact --redact-header --redact-query --stats --quiet; do
    grep -q -- "$flag" "$TMP/help" || fail "--help does not mention $flag"
done

pass "capture from files"
