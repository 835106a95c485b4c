#!/usr/bin/env bash
# The two browser captures from ../shared/pcaps (Ethernet and Linux SLL2)
# give exactly GET / -> 200 and GET /favicon.ico -> 404. Skips without them.
source "$SRC/tests/lib.sh"
pcaps=$SRC/../shared/pcaps
[ -d "$pcaps" ] || skip "no $pcaps"
for f in simple_http.pcap simple_http_sll2.pcap; do
    db=$TMP/${f%.pcap}.db
    "$REPRISE" capture -r "$pcaps/$f" -o "$db" || fail "$f: capture failed"
    "$REPRISE" export "$db" --format jsonl > "$TMP/out.jsonl" || fail "$f: export failed"
    got=$(python3 -c '
import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l); print(e["method"], e["target"], e["status"])' "$TMP/out.jsonl")
    want=$'GET / 200\nGET /favicon.ico 404'
    [ "$got" = "$want" ] || fail "$f: got [$got], want [$want]"
done
pass "simple_http.pcap and simple_http_sll2.pcap"
