#!/usr/bin/env python3
"""stateclient.py: a realistic client of stateapp.py for the correlation
tests, standard library only. USERS users run at once, each on a keep-alive
connection of its own: log in, take a bearer token, create orders (a UUID
Idempotency-Key and a UUID X-Request-Id each; one key is sent twice and
refused with 409), read and update them by id, page through its orders by
cursor, fill in the profile form (its hidden token), and log out. Every
second user also opens a second connection, as a browser does, and reads
there with the same cookie and token. Every request carries the user's
X-Device header (a session key that is neither a cookie nor a secret). Exits 1 if the app did not answer as
a logged-in client expects, so a broken capture is not a broken client.

    stateclient.py PORT [USERS]
"""
import http.client
import json
import re
import sys
import threading
import time
import urllib.parse
import uuid

PORT = int(sys.argv[1])
USERS = int(sys.argv[2]) if len(sys.argv) > 2 else 6
errors = []


class Client:
    def __init__(self, device):
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        self.cookie = None
        self.device = device  # sent on every request, as an app would

    def req(self, method, path, body=None, headers=None, form=False,
            want=200):
        h = {"User-Agent": "stateclient/1.0", "X-Request-Id": str(uuid.uuid4()),
             "X-Device": self.device}
        if self.cookie:
            h["Cookie"] = self.cookie
        h.update(headers or {})
        data = None
        if body is not None:
            if form:
                data = urllib.parse.urlencode(body)
                h["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                data = json.dumps(body)
                h["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=h)
        r = self.conn.getresponse()
        raw = r.read()
        sc = r.getheader("Set-Cookie")
        if sc:
            self.cookie = sc.split(";")[0]
        if r.status != want:
            errors.append("%s %s: %d, wanted %d" % (method, path, r.status,
                                                    want))
        time.sleep(0.002)
        if r.getheader("Content-Type", "").startswith("application/json"):
            return json.loads(raw or b"{}")
        return raw.decode()


def user(i):
    name = "user%d" % i
    a = Client("device-%d" % i)
    # a wrong password first: a 401 that must replay as 401
    a.req("POST", "/login", {"user": name, "password": "wrong"}, want=401)
    login = a.req("POST", "/login", {"user": name, "password": "pw-" + name})
    csrf = {"X-CSRF-Token": login["csrf"]}
    tok = a.req("GET", "/token")["access_token"]
    bearer = {"Authorization": "Bearer " + tok}
    a.req("GET", "/me", headers=bearer)
    ids = []
    for k in range(3):
        key = str(uuid.uuid4())
        o = a.req("POST", "/orders", {"item": "item-%d-%d" % (i, k),
                                      "qty": k + 1},
                  headers=dict(csrf, **{"Idempotency-Key": key}), want=201)
        ids.append(o["id"])
        if k == 0:  # a retry with the same key: refused
            a.req("POST", "/orders", {"item": "again", "qty": 1},
                  headers=dict(csrf, **{"Idempotency-Key": key}), want=409)
    a.req("GET", "/orders/%d" % ids[0], headers=bearer)
    a.req("PUT", "/orders/%d" % ids[1], {"qty": 7}, headers=csrf)
    a.req("GET", "/orders/%d" % ids[1])
    page = a.req("GET", "/orders")
    while page.get("next_cursor"):
        page = a.req("GET", "/orders?cursor=" +
                     urllib.parse.quote(page["next_cursor"]))
    a.req("POST", "/lookup", {"order_id": ids[2]})
    html = a.req("GET", "/profile")
    ft = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    a.req("POST", "/profile", {"form_token": ft, "name": name}, form=True)
    if i % 2 == 0:  # a second connection of the same user
        b = Client("device-%d" % i)
        b.cookie = a.cookie
        b.req("GET", "/orders/%d" % ids[2])
        b.req("GET", "/me", headers=bearer)
        b.req("GET", "/orders/%d" % ids[0], headers=bearer)
        b.conn.close()
    a.req("GET", "/orders/%d" % ids[2], headers=bearer)
    a.req("POST", "/logout", {}, headers=csrf)
    a.req("GET", "/orders", want=401)
    a.conn.close()


threads = [threading.Thread(target=user, args=(i,)) for i in range(USERS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
