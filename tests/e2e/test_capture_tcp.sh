#!/usr/bin/env bash
# test_capture_tcp.sh: crafted TCP pathologies through the whole binary
# (decode -> reassembly -> HTTP layer -> corpus). A small Python writer
# spells out each packet sequence as a pcap; the corpus must hold the
# exchanges a correct TCP receiver would have seen.
source "$SRC/tests/lib.sh"
command -v python3 > /dev/null || skip "python3 missing"

cat > "$TMP/gen.py" <<'PY'
import struct, sys

def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

class Pcap:
    def __init__(s, path, link=1):
        s.f = open(path, "wb"); s.t = 1700000000.0; s.link = link
        s.f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, link))
    def frame(s, b):
        s.t += 0.001
        s.f.write(struct.pack("<IIII", int(s.t), int(s.t * 1e6) % 1000000, len(b), len(b)) + b)

def tcp(sp, dp, seq, ack, flags, data=b""):
    fl = sum({"F": 1, "S": 2, "R": 4, "P": 8, "A": 16}[c] for c in flags)
    return struct.pack("!HHIIBBHHH", sp, dp, seq & 0xffffffff, ack & 0xffffffff, 5 << 4, fl, 65535, 0, 0) + data

def ip4(src, dst, seg):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + seg

def ip6(src, dst, seg):
    return struct.pack("!IHBB16s16s", 0x60000000, len(seg), 6, 64, bytes(src), bytes(dst)) + seg

C4, S4 = [10, 0, 0, 1], [10, 0, 0, 2]
C6, S6 = [0x20, 1, 0xd, 0xb8] + [0] * 11 + [1], [0x20, 1, 0xd, 0xb8] + [0] * 11 + [2]

class Conn:
    """One connection; c()/s() send from client/server with auto seq/ack."""
    def __init__(s, pc, cport, cisn=1000, sisn=5000, v6=False, vlan=None):
        s.pc, s.cp, s.cs, s.ss, s.v6, s.vlan = pc, cport, cisn, sisn, v6, vlan
    def _send(s, from_client, flags, data, seq=None):
        if from_client:
            src, dst, sp, dp, q, a = (C6 if s.v6 else C4), (S6 if s.v6 else S4), s.cp, 80, s.cs, s.ss
        else:
            src, dst, sp, dp, q, a = (S6 if s.v6 else S4), (C6 if s.v6 else C4), 80, s.cp, s.ss, s.cs
        seg = tcp(sp, dp, q if seq is None else seq, a, flags, data)
        pkt = ip6(src, dst, seg) if s.v6 else ip4(src, dst, seg)
        et = 0x86dd if s.v6 else 0x0800
        hdr = b"\2\0\0\0\0\2\2\0\0\0\0\1"
        if s.vlan is not None:
            hdr += struct.pack("!HHH", 0x8100, s.vlan, et)
        else:
            hdr += struct.pack("!H", et)
        s.pc.frame(hdr + pkt)
    def handshake(s):
        s._send(1, "S", b""); s.cs += 1
        s._send(0, "SA", b""); s.ss += 1
        s._send(1, "A", b"")
    def c(s, data, flags="PA", seq=None, advance=True):
        s._send(1, flags, data, seq)
        if advance: s.cs += len(data) + (1 if "F" in flags else 0)
    def s(s, data, flags="PA", seq=None, advance=True):
        s._send(0, flags, data, seq)
        if advance: s.ss += len(data) + (1 if "F" in flags else 0)
    def close(s):
        s.c(b"", "FA"); s.s(b"", "FA"); s.c(b"", "A")

def req(path): return b"GET " + path + b" HTTP/1.1\r\nHost: t\r\n\r\n"
def resp(body): return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body

case, out = sys.argv[1], sys.argv[2]
pc = Pcap(out)
if case == "reorder":      # request in 3 segments sent 3,1,2; response 2,1
    k = Conn(pc, 40001); k.handshake()
    r = req(b"/reorder"); b = k.cs
    k.c(r[20:], seq=b + 20, advance=False); k.c(r[:8], seq=b, advance=False)
    k.c(r[8:20], seq=b + 8, advance=False); k.cs += len(r)
    p = resp(b"x" * 3000); b = k.ss
    k.s(p[1500:], seq=b + 1500, advance=False); k.s(p[:1500], seq=b, advance=False); k.ss += len(p)
    k.close()
elif case == "retrans":    # retransmissions and overlapping segments
    k = Conn(pc, 40002); k.handshake()
    r = req(b"/retrans"); b = k.cs
    k.c(r[:10], seq=b, advance=False); k.c(r[:10], seq=b, advance=False)
    k.c(r[5:25], seq=b + 5, advance=False); k.c(r[:], seq=b, advance=False); k.cs += len(r)
    p = resp(b"hello"); k.s(p); k.s(p, seq=k.ss - len(p), advance=False)
    k.c(req(b"/second")); k.s(resp(b"again")); k.close()
elif case == "wrap":       # sequence numbers cross 2^32 in both directions
    k = Conn(pc, 40003, cisn=0xffffffff - 10, sisn=0xffffffff - 30); k.handshake()
    for i in range(3):
        k.c(req(b"/wrap%d" % i)); k.s(resp(b"w" * 100))
    k.close()
elif case == "loss":       # a response segment lost: later exchanges survive
    k = Conn(pc, 40004); k.handshake()
    k.c(req(b"/one")); k.s(resp(b"1"))
    k.c(req(b"/lost")); p = resp(b"L" * 2000)
    k.s(p[:1000]); k.ss += 500; k.s(p[1500:])      # 500 bytes never seen
    k.c(req(b"/three")); k.s(resp(b"3"))
    k.close()
elif case == "midstream":  # capture starts inside a response body
    k = Conn(pc, 40005)
    k.s(b"...tail of a body nobody asked for")
    k.c(req(b"/after")); k.s(resp(b"ok"))
    k.close()
elif case == "v6vlan":     # IPv6 inside an 802.1Q tag, and IPv4 in QinQ-less VLAN
    k = Conn(pc, 40006, v6=True, vlan=42); k.handshake()
    k.c(req(b"/v6")); k.s(resp(b"six")); k.close()
    k = Conn(pc, 40007, vlan=7); k.handshake()
    k.c(req(b"/v4vlan")); k.s(resp(b"four")); k.close()
elif case == "rst":        # reset after the response, and a reused port
    k = Conn(pc, 40008); k.handshake()
    k.c(req(b"/rst")); k.s(resp(b"r")); k.c(b"", "RA")
    k = Conn(pc, 40008, cisn=777777, sisn=888888); k.handshake()
    k.c(req(b"/reused")); k.s(resp(b"u")); k.close()
elif case == "evict":      # 30 responses stuck behind holes: 3 MB buffered
    for i in range(30):
        k = Conn(pc, 41000 + i); k.handshake()
        k.c(req(b"/stuck%d" % i)); k.ss += 1000     # first 1000 bytes lost
        for j in range(70):
            k.s(b"x" * 1448)
PY

run() { # CASE: prints "target status flags" per exchange
    python3 "$TMP/gen.py" "$1" "$TMP/$1.pcap"
    rm -f "$TMP/$1.db"
    "$REPRISE" capture -q -r "$TMP/$1.pcap" -o "$TMP/$1.db" || fail "$1: exit $?"
    check_identity "$TMP/$1.db" "$1"
    "$REPRISE" export "$TMP/$1.db" --format jsonl | python3 -c '
import json, sys
for l in sys.stdin:
    e = json.loads(l)
    print(e["target"], e["status"], e["resp_body_bytes"], ",".join(e["flags"]) or "-")'
}
expect() { # CASE EXPECTED
    local got
    got=$(run "$1")
    [ "$got" = "$2" ] || fail "$1: got
$got
expected
$2"
}

expect reorder "/reorder 200 3000 -"
expect retrans "/retrans 200 5 -
/second 200 5 -"
expect wrap "/wrap0 200 100 -
/wrap1 200 100 -
/wrap2 200 100 -"
out=$(run loss)
echo "$out" | grep -q "^/one 200 1 -$" || fail "loss: /one: $out"
echo "$out" | grep -q "^/lost 200 .*resp_incomplete" || fail "loss: /lost not flagged: $out"
echo "$out" | grep -q "^/three 200 1 -$" || fail "loss: /three: $out"
expect midstream "/after 200 2 -"
expect v6vlan "/v6 200 3 -
/v4vlan 200 4 -"
expect rst "/rst 200 1 -
/reused 200 1 -"
# the memory cap evicts flows (counted) instead of growing
python3 "$TMP/gen.py" evict "$TMP/evict.pcap"
"$REPRISE" capture -r "$TMP/evict.pcap" -o "$TMP/evict.db" --max-memory 1MiB \
    2> "$TMP/evict.log" || fail "evict: exit $?"
grep -Eq " [1-9][0-9]* evictions" "$TMP/evict.log" || fail "evict: $(cat "$TMP/evict.log")"
[ "$("$REPRISE" export "$TMP/evict.db" | wc -l)" -eq 30 ] || fail "evict: requests lost"
"$REPRISE" capture -r "$TMP/evict.pcap" -o "$TMP/evict2.db" 2> "$TMP/evict2.log" ||
    fail "evict (no cap): exit $?"
grep -q " 0 evictions" "$TMP/evict2.log" || fail "evict without cap: $(cat "$TMP/evict2.log")"
check_identity "$TMP/evict.db" evict
check_identity "$TMP/evict2.db" evict2
pass "crafted TCP cases"
