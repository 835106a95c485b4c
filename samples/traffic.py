#!/usr/bin/env python3
"""samples/traffic.py: realistic-looking traffic for the sample shop API.

Simulated users each open a connection, make a few requests over keep-alive
(browse users and orders, search, post to the cart) and leave; a share of
requests use a fresh connection each. Requests carry a session cookie and a
bearer token, which reprise's redaction must hide. Bounded by --duration and
--max-requests; talks only to the loopback address given.
"""
import argparse
import http.client
import json
import random
import signal
import threading
import time


def user_session(host, port, rng, deadline, counter, lock, max_requests):
    conn = http.client.HTTPConnection(host, port, timeout=5)
    token = "tok-%016x" % rng.getrandbits(64)
    cookie = "session=%032x; theme=dark" % rng.getrandbits(128)
    for _ in range(rng.randint(2, 8)):
        with lock:
            if counter[0] >= max_requests or time.time() >= deadline:
                break
            counter[0] += 1
        r = rng.random()
        headers = {"Cookie": cookie, "User-Agent": "shop-app/1.0"}
        body = None
        method = "GET"
        if r < 0.35:
            path = "/api/users/%d" % rng.randint(1, 400)
            headers["Authorization"] = "Bearer " + token
        elif r < 0.65:
            path = "/api/orders/%d" % rng.randint(1000, 9999)
            headers["Authorization"] = "Bearer " + token
        elif r < 0.75:
            path = "/api/search?q=%s" % rng.choice(["shoes", "hat", "red+socks", "bag"])
        elif r < 0.88:
            method = "POST"
            path = "/api/cart"
            body = json.dumps({"sku": rng.randint(1, 500), "qty": rng.randint(1, 3)})
            headers["Content-Type"] = "application/json"
        elif r < 0.95:
            path = "/"
        else:
            path = "/health"
        if rng.random() < 0.15:  # some clients do not keep connections alive
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        time.sleep(rng.uniform(0.005, 0.05))  # think time
    conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--duration", type=float, default=15.0, help="seconds (default 15)")
    ap.add_argument("--users", type=int, default=8, help="concurrent users (default 8)")
    ap.add_argument("--max-requests", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    # Ctrl-C ends the generator at once (the demo then cleans up).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if not (a.host.startswith("127.") or a.host in ("::1", "localhost")):
        ap.error("traffic.py only talks to loopback addresses")
    deadline = time.time() + a.duration
    counter, lock = [0], threading.Lock()

    def worker(i):
        rng = random.Random(a.seed * 1000 + i)
        while time.time() < deadline and counter[0] < a.max_requests:
            user_session(a.host, a.port, rng, deadline, counter, lock, a.max_requests)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(a.users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("traffic.py: %d requests in %.1f s" % (counter[0], a.duration))


if __name__ == "__main__":
    main()
