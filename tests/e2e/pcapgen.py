#!/usr/bin/env python3
"""pcapgen.py: writes small crafted pcap files for reprise's robustness tests.

A pcap here is the classic libpcap format (microsecond timestamps, Ethernet
link type) holding Ethernet/IPv4/TCP frames; no checksums are computed
(reprise, like tcpdump -r, does not verify them). A TCP connection is
written as a three-way handshake, the client's bytes, the server's bytes (cut
into segments of at most MSS bytes) and FINs, with consistent sequence
numbers, so any TCP reassembler sees clean streams.

As a module: Pcap(path) with .conn(client_bytes, server_bytes) and .close().
As a CLI:    pcapgen.py SCENARIO OUT [--port N] [--n N]
Scenarios:   ok (N plain GET exchanges with an Authorization secret),
             bodies (N exchanges with 16 KiB incompressible bodies),
             secrets (credentials in Cookie, Set-Cookie, Proxy-Authorization
             and Authorization; each contains DO-NOT-LEAK), evil (shell
             metacharacters in targets, Host, headers and bodies),
             pipeline-fat (N connections x 1000 unanswered 4 KiB requests),
             huge-headers, chunk-endless, cl-huge, header-flood, pipeline,
             pipeline-noresp, many-conns (N x 1000 unfinished connections);
             sizes scale with N.
Every scenario prints one line to stdout: what a correct capture should
record, as "expect KEY=VALUE ...".
"""
import struct
import sys

MSS = 1460
SECRET = "Bearer s3cr3t-t0ken-DO-NOT-LEAK-7f3a9"
SECRET_COOKIE = b"c00kie-DO-NOT-LEAK-91b2"
SECRET_PROXY = b"cHJveHk6DO-NOT-LEAK-pr0xy"
SECRET_SETCOOKIE = b"setc00kie-DO-NOT-LEAK-55d1"


class Pcap:
    """A pcap writer that lays TCP connections out on a fake timeline."""

    def __init__(self, path, linktype=1, snaplen=262144):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0,
                                 snaplen, linktype))
        self.t_us = 1_700_000_000 * 1_000_000
        self.nconn = 0

    def frame(self, payload, step_us=50):
        self.t_us += step_us
        sec, usec = divmod(self.t_us, 1_000_000)
        self.f.write(struct.pack("<IIII", sec, usec, len(payload),
                                 len(payload)))
        self.f.write(payload)

    @staticmethod
    def tcp_frame(src, dst, sport, dport, seq, ack, flags, data=b""):
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                          ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
        total = 20 + len(tcp) + len(data)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6,
                         0, bytes(src), bytes(dst))
        eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" \
            + b"\x08\x00"
        return eth + ip + tcp + data

    def conn(self, client_bytes, server_bytes=b"", port=8080, fin=True,
             interleave=None):
        """One TCP connection. interleave: a list of (from_client, bytes)
        pieces sent in that order instead of client then server."""
        # a distinct (client address, port) per connection, up to 2^24
        k = self.nconn
        self.nconn += 1
        cli, srv = [127, 1 + (k >> 16) % 254, (k >> 8) & 255, k & 255], \
            [127, 0, 0, 2]
        cport = 40000 + k % 20000
        cseq, sseq = 1000, 50000
        F, S, R, P, A = 0x01, 0x02, 0x04, 0x08, 0x10
        self.frame(self.tcp_frame(cli, srv, cport, port, cseq, 0, S))
        self.frame(self.tcp_frame(srv, cli, port, cport, sseq, cseq + 1, S | A))
        cseq += 1
        sseq += 1
        self.frame(self.tcp_frame(cli, srv, cport, port, cseq, sseq, A))
        pieces = interleave if interleave is not None else \
            [(True, client_bytes), (False, server_bytes)]
        for from_client, data in pieces:
            for off in range(0, len(data), MSS):
                seg = data[off:off + MSS]
                if from_client:
                    self.frame(self.tcp_frame(cli, srv, cport, port, cseq,
                                              sseq, P | A, seg), 5)
                    cseq += len(seg)
                else:
                    self.frame(self.tcp_frame(srv, cli, port, cport, sseq,
                                              cseq, P | A, seg), 5)
                    sseq += len(seg)
        if fin:
            self.frame(self.tcp_frame(cli, srv, cport, port, cseq, sseq, F | A))
            self.frame(self.tcp_frame(srv, cli, port, cport, sseq, cseq + 1,
                                      F | A))
            self.frame(self.tcp_frame(cli, srv, cport, port, cseq + 1,
                                      sseq + 1, A))

    def close(self):
        self.f.close()


def get(path, extra=b""):
    return (b"GET " + path + b" HTTP/1.1\r\nHost: example.test\r\n"
            b"Authorization: " + SECRET.encode() + b"\r\n" + extra + b"\r\n")


def ok(body=b"hello\n"):
    return (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)) \
        + body


def scenario(name, out, port, n):
    p = Pcap(out)
    expect = ""
    if name == "ok":
        for i in range(n):
            p.conn(get(b"/ok/%d" % i), ok(), port)
        expect = "exchanges=%d" % n
    elif name == "bodies":
        # N exchanges, each with a distinct 16 KiB incompressible body
        import random
        rnd = random.Random(7)
        for i in range(n):
            body = rnd.randbytes(16384)
            p.conn(get(b"/body/%d" % i), ok(body), port)
        expect = "exchanges=%d" % n
    elif name == "secrets":
        # credentials in every header reprise redacts by default; each
        # secret contains SECRET's distinctive middle part
        for i in range(n):
            p.conn(get(b"/s/%d" % i,
                       b"Cookie: session=" + SECRET_COOKIE + b"\r\n"
                       b"Proxy-Authorization: Basic " + SECRET_PROXY + b"\r\n"),
                   b"HTTP/1.1 200 OK\r\nSet-Cookie: sid=" + SECRET_SETCOOKIE
                   + b"; HttpOnly\r\nContent-Length: 3\r\n\r\nok\n", port)
        expect = "exchanges=%d" % n
    elif name == "evil":
        # shell metacharacters in the target, the Host and header values;
        # anything that reaches a shell would create ./reprise_pwned
        t = [b"/a$(touch${IFS}reprise_pwned)", b"/b`touch${IFS}reprise_pwned`",
             b"/c;touch${IFS}reprise_pwned;", b"/d'$(touch${IFS}reprise_pwned)'",
             b"/e|touch${IFS}reprise_pwned", b"/f?q=\"$(touch${IFS}reprise_pwned)\""]
        for i, target in enumerate(t):
            p.conn(b"GET " + target + b" HTTP/1.1\r\nHost: h$(touch${IFS}reprise_pwned)"
                   b"\r\nX-Evil: '\"`touch reprise_pwned`$(touch reprise_pwned)\r\n"
                   b"\r\n", ok(b"$(touch reprise_pwned)\n"), port)
        p.conn(b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 26\r\n\r\n"
               b"'$(touch reprise_pwned)'\n;", ok(), port)
        expect = "exchanges=%d" % (len(t) + 1)
    elif name == "huge-headers":
        # one header line of n KiB with no end of line, then a FIN; then a
        # normal exchange on another connection that must still be recorded
        big = b"GET /big HTTP/1.1\r\nHost: h\r\nX-Big: " + b"A" * (n * 1024)
        p.conn(big, b"", port)
        p.conn(get(b"/after"), ok(), port)
        expect = "min_exchanges=1 target=/after"
    elif name == "chunk-endless":
        # a chunked response whose chunk-size line never ends, then chunk
        # sizes of 2^64-1 and 2^64 and a size made of n KiB of hex digits
        p.conn(get(b"/chunk1"),
               b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"f" * (n * 1024), port)
        p.conn(get(b"/chunk2"),
               b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"ffffffffffffffff\r\nabc", port)
        p.conn(get(b"/chunk3"),
               b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"10000000000000000\r\nabc", port)
        p.conn(get(b"/after"), ok(), port)
        expect = "min_exchanges=1 target=/after"
    elif name == "cl-huge":
        # Content-Length 2^64-1, 2^64 and 99999999999999999999999 with a few
        # body bytes; the capture must not wait for or allocate them
        for i, cl in enumerate([b"18446744073709551615", b"18446744073709551616",
                                b"99999999999999999999999", b"-1"]):
            p.conn(b"POST /cl%d HTTP/1.1\r\nHost: h\r\nContent-Length: %s"
                   b"\r\n\r\nabc" % (i, cl), b"", port)
            p.conn(get(b"/r%d" % i),
                   b"HTTP/1.1 200 OK\r\nContent-Length: %s\r\n\r\nxyz" % cl,
                   port)
        p.conn(get(b"/after"), ok(), port)
        expect = "min_exchanges=1 target=/after"
    elif name == "header-flood":
        # n thousand tiny headers in one request, then a normal exchange
        flood = b"".join(b"X-%d: v\r\n" % i for i in range(n * 1000))
        p.conn(b"GET /flood HTTP/1.1\r\nHost: h\r\n" + flood + b"\r\n",
               ok(), port)
        p.conn(get(b"/after"), ok(), port)
        expect = "min_exchanges=1 target=/after"
    elif name == "pipeline":
        # n thousand pipelined requests on one connection, answered in order
        reqs = b"".join(b"GET /p/%d HTTP/1.1\r\nHost: h\r\n\r\n" % i
                        for i in range(n * 1000))
        resps = ok(b"") * (n * 1000)
        p.conn(reqs, resps, port)
        expect = "max_exchanges=%d" % (n * 1000)
    elif name == "pipeline-noresp":
        # n thousand pipelined requests that are never answered
        reqs = b"".join(b"GET /q/%d HTTP/1.1\r\nHost: h\r\n\r\n" % i
                        for i in range(n * 1000))
        p.conn(reqs, b"", port)
        expect = "max_exchanges=%d" % (n * 1000)
    elif name == "pipeline-fat":
        # N connections, each with 1000 pipelined requests carrying 4 KiB of
        # headers that are never answered (4 MiB held per connection if
        # nothing bounds it)
        pad = b"X-Pad: " + b"p" * 4000 + b"\r\n"
        for c in range(n):
            reqs = b"".join(b"GET /fat/%d/%d HTTP/1.1\r\nHost: h\r\n" % (c, i)
                            + pad + b"\r\n" for i in range(1000))
            p.conn(reqs, b"", port, fin=False)
        expect = "max_exchanges=%d" % (n * 1000)
    elif name == "many-conns":
        # n thousand connections that send half a request and never finish
        for i in range(n * 1000):
            p.conn(b"GET /half/%d HTTP/1.1\r\nHost: h\r\nX-A: " % i, b"",
                   port, fin=False)
        expect = "max_exchanges=%d" % (n * 1000)
    else:
        sys.exit("pcapgen.py: unknown scenario '%s'" % name)
    p.close()
    print("expect " + expect)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    port, n = 8080, 1
    args = argv[3:]
    while args:
        if args[0] == "--port":
            port = int(args[1])
        elif args[0] == "--n":
            n = int(args[1])
        else:
            sys.exit("pcapgen.py: unknown option " + args[0])
        args = args[2:]
    scenario(argv[1], argv[2], port, n)


if __name__ == "__main__":
    main(sys.argv)
