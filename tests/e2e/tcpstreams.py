#!/usr/bin/env python3
"""tcpstreams.py: the client-to-server byte streams of the TCP connections
to one port in a pcap file, for tests that compare what reached a server
with what was sent. Written here, independent of reprise's own capture code,
so a test does not check reprise with reprise.

    tcpstreams.py FILE.pcap PORT  ->  JSON on stdout:
    [{"client_port": N, "syn_us": T, "data": "<hex>",
      "segments": [[t_us, offset, length], ...],
      "server_first_us": T or null}, ...]   (ordered by SYN time)

Reads classic pcap (what tcpdump -w writes) with Ethernet (lo on Linux),
Linux cooked (SLL) or raw IP links; IPv4 and IPv6. Payload is placed by
sequence number relative to the SYN, so retransmissions and reordering do
not change the stream; a connection whose SYN was not seen is skipped.
server_first_us is the time of the first payload byte the server sent.
"""
import json
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
        magic = struct.unpack("<I", hdr[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            end = "<"
        elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
            end = ">"
            magic = struct.unpack(">I", hdr[:4])[0]
        else:
            sys.exit("tcpstreams: %s: not a classic pcap file" % path)
        nano = magic == 0xA1B23C4D
        link = struct.unpack(end + "I", hdr[20:24])[0]
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, frac, incl, _orig = struct.unpack(end + "IIII", rec)
            data = f.read(incl)
            t_us = sec * 1000000 + (frac // 1000 if nano else frac)
            yield t_us, link, data


def ip_payload(link, d):
    if link == 1:  # Ethernet
        if len(d) < 14:
            return None
        et, off = struct.unpack("!H", d[12:14])[0], 14
        while et == 0x8100 and len(d) >= off + 4:  # VLAN
            et = struct.unpack("!H", d[off + 2:off + 4])[0]
            off += 4
        return d[off:] if et in (0x0800, 0x86DD) else None
    if link == 113:  # Linux cooked
        return d[16:]
    if link in (101, 12, 14):  # raw IP
        return d
    return None


def tcp_of(ip):
    if not ip:
        return None
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        if ip[9] != 6:
            return None
        return ip[ihl:total]
    if v == 6 and len(ip) >= 40 and ip[6] == 6:
        plen = struct.unpack("!H", ip[4:6])[0]
        return ip[40:40 + plen]
    return None


def main():
    path, port = sys.argv[1], int(sys.argv[2])
    conns = {}
    for t_us, link, d in packets(path):
        tcp = tcp_of(ip_payload(link, d))
        if not tcp or len(tcp) < 20:
            continue
        sp, dp, seq = struct.unpack("!HHI", tcp[:8])
        off = (tcp[12] >> 4) * 4
        flags = tcp[13]
        payload = tcp[off:]
        if dp == port:
            if flags & 0x02:  # SYN: a new connection from sp
                conns[sp] = {"client_port": sp, "syn_us": t_us,
                             "isn": seq, "bytes": {}, "segments": [],
                             "server_first_us": None}
                continue
            c = conns.get(sp)
            if c is None or not payload:
                continue
            rel = (seq - c["isn"] - 1) & 0xFFFFFFFF
            c["segments"].append([t_us, rel, len(payload)])
            for i, b in enumerate(payload):
                c["bytes"].setdefault(rel + i, b)
        elif sp == port:
            c = conns.get(dp)
            if c is not None and payload and c["server_first_us"] is None:
                c["server_first_us"] = t_us
    out = []
    for c in sorted(conns.values(), key=lambda c: c["syn_us"]):
        b = c["bytes"]
        n = 0
        while n in b:
            n += 1
        out.append({"client_port": c["client_port"], "syn_us": c["syn_us"],
                    "data": bytes(b[i] for i in range(n)).hex(),
                    "segments": c["segments"],
                    "server_first_us": c["server_first_us"]})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
