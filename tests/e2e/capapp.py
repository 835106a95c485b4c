#!/usr/bin/env python3
"""capapp.py: a test server whose capacity is known in theory.

A fixed pool of W worker slots; each request holds one slot for the
service time of its endpoint (/slow/...: S_SLOW ms, anything else: S_FAST
ms, sleeping, so the CPU is not what limits it) and waits for a free slot
first. Capacity = W / mean service time of the traffic mix, e.g. W=4 and a
half/half mix of 20 ms and 5 ms: 4 / 0.0125 = 320 req/s. /metrics answers
at once (outside the pool) in the Prometheus text format with the busy-slot
gauge, the pool's size and a request counter; /metrics-bad answers a
malformed exposition (for the strict parser).

usage: capapp.py PORT WORKERS SLOW_MS FAST_MS
"""
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, WORKERS = int(sys.argv[1]), int(sys.argv[2])
SLOW_S, FAST_S = float(sys.argv[3]) / 1e3, float(sys.argv[4]) / 1e3
pool = threading.BoundedSemaphore(WORKERS)
lock = threading.Lock()
busy = 0
served = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def reply(self, body, ctype="text/plain"):
        # one write: head and body apart would meet Nagle and delayed ACKs
        head = ("HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
                "Content-Length: %d\r\n\r\n" % (ctype, len(body)))
        self.wfile.write(head.encode() + body)

    def do_GET(self):
        global busy, served
        if self.path == "/metrics":
            with lock:
                b, n = busy, served
            body = ("# HELP capapp_pool_busy Worker slots in use.\n"
                    "# TYPE capapp_pool_busy gauge\n"
                    "capapp_pool_busy %d\n"
                    "# HELP capapp_pool_max Worker slots in the pool.\n"
                    "# TYPE capapp_pool_max gauge\n"
                    "capapp_pool_max %d\n"
                    "# TYPE capapp_requests_total counter\n"
                    "capapp_requests_total %d\n" % (b, WORKERS, n))
            self.reply(body.encode(), "text/plain; version=0.0.4")
            return
        if self.path == "/metrics-bad":
            self.reply(b"capapp_pool_busy{pool=\"a\" 3\n", "text/plain")
            return
        with pool:
            with lock:
                busy += 1
            time.sleep(SLOW_S if self.path.startswith("/slow") else FAST_S)
            with lock:
                busy -= 1
                served += 1
        self.reply(b"ok\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


Server(("127.0.0.1", PORT), Handler).serve_forever()
