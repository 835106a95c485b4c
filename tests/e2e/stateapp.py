#!/usr/bin/env python3
"""stateapp.py: a small stateful web app for the correlation tests, standard
library only. Every process draws its own secrets and its own order-id base,
so a fresh instance answers every captured session cookie, token, CSRF value,
order id and cursor with values of its own: traffic replayed as captured gets
401/403/404, traffic whose values are correlated gets what was captured.

    stateapp.py PORT [SECRETS_FILE]

With SECRETS_FILE, every secret handed out (session ids, CSRF values, bearer
tokens, form tokens) is appended to it, one a line, so a test can check that
none of them is stored in clear.

Endpoints (JSON unless said):
  POST /login {"user","password"}  -> Set-Cookie sid=...; {"csrf": ...}
                                       (password must be "pw-" + user)
  GET  /token            (cookie)   -> {"access_token": ..., "token_type"}
  GET  /me               (bearer)   -> {"user": ...}
  POST /orders  (cookie + X-CSRF-Token + Idempotency-Key) {"item","qty"}
                                    -> 201 {"id": N}, Location: /orders/N;
                                       a reused Idempotency-Key is 409
  GET  /orders/N   (bearer or cookie; the owner only, else 404)
  PUT  /orders/N   (cookie + X-CSRF-Token) {"qty"}
  GET  /orders[?cursor=C]  (cookie)  -> {"items": [...], "next_cursor": C'}
  POST /lookup {"order_id": N} (cookie; the owner only, else 404)
                                       two a page; an unknown cursor is 400
  GET  /profile    (cookie)  -> HTML form with a hidden form_token
  POST /profile    (cookie)  form: form_token=...&name=... (403 if wrong)
  POST /logout     (cookie + X-CSRF-Token) -> {"ok": true}; the session ends
"""
import json
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
SESSIONS = {}     # sid -> {"user", "csrf", "form"}
TOKENS = {}       # bearer -> user
ORDERS = {}       # id -> {"user", "item", "qty"}
IDEM = set()      # Idempotency-Keys seen
CURSORS = {}      # cursor -> (user, offset)
NEXT_ID = [secrets.randbelow(900000) + 100000]
SECRETS_FILE = sys.argv[2] if len(sys.argv) > 2 else None


def handed_out(*vals):
    if SECRETS_FILE:
        with open(SECRETS_FILE, "a") as f:
            for v in vals:
                f.write(v + "\n")


class App(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # one write per response (handle_one_request flushes), without Nagle:
    # otherwise head and body leave in two segments and delayed ACKs add
    # 40 ms to every exchange
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def send(self, status, obj=None, headers=(), html=None):
        if html is not None:
            body, ctype = html.encode(), "text/html"
        else:
            body, ctype = json.dumps(obj if obj is not None else {}).encode(), \
                "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def jbody(self):
        try:
            return json.loads(self.body() or b"{}")
        except ValueError:
            return None

    def session(self):
        raw = self.headers.get("Cookie") or ""
        for part in raw.split(";"):
            k, _, v = part.strip().partition("=")
            if k == "sid" and v in SESSIONS:
                return v, SESSIONS[v]
        return None, None

    def bearer_user(self):
        a = self.headers.get("Authorization") or ""
        if a.startswith("Bearer "):
            return TOKENS.get(a[7:])
        return None

    def csrf_ok(self, s):
        return s is not None and self.headers.get("X-CSRF-Token") == s["csrf"]

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        parts = [p for p in u.path.split("/") if p]
        with LOCK:
            sid, s = self.session()
            if u.path == "/token":
                if not s:
                    return self.send(401, {"error": "login"})
                tok = secrets.token_urlsafe(24)
                TOKENS[tok] = s["user"]
                handed_out(tok)
                return self.send(200, {"access_token": tok,
                                       "token_type": "Bearer"})
            if u.path == "/me":
                user = self.bearer_user()
                if not user:
                    return self.send(401, {"error": "token"})
                return self.send(200, {"user": user})
            if u.path == "/orders":
                if not s:
                    return self.send(401, {"error": "login"})
                off = 0
                if "cursor" in q:
                    c = CURSORS.get(q["cursor"][0])
                    if not c or c[0] != s["user"]:
                        return self.send(400, {"error": "cursor"})
                    off = c[1]
                mine = sorted(i for i, o in ORDERS.items()
                              if o["user"] == s["user"])
                page = mine[off:off + 2]
                nxt = None
                if off + 2 < len(mine):
                    nxt = secrets.token_urlsafe(12)
                    CURSORS[nxt] = (s["user"], off + 2)
                return self.send(200, {"items": page, "next_cursor": nxt})
            if len(parts) == 2 and parts[0] == "orders":
                user = self.bearer_user() or (s and s["user"])
                if not user:
                    return self.send(401, {"error": "login"})
                o = ORDERS.get(int(parts[1])) if parts[1].isdigit() else None
                if not o or o["user"] != user:
                    return self.send(404, {"error": "no such order"})
                return self.send(200, {"id": int(parts[1]), "item": o["item"],
                                       "qty": o["qty"]})
            if u.path == "/profile":
                if not s:
                    return self.send(401, {"error": "login"})
                s["form"] = secrets.token_hex(16)
                handed_out(s["form"])
                return self.send(200, html=(
                    "<html><body><form method=\"post\" action=\"/profile\">"
                    "<input type=\"hidden\" name=\"form_token\" value=\"%s\">"
                    "<input name=\"name\"></form></body></html>" % s["form"]))
        self.send(404, {"error": "not found"})

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        with LOCK:
            sid, s = self.session()
            if u.path == "/login":
                b = self.jbody()
                if not b or b.get("password") != "pw-" + str(b.get("user")):
                    return self.send(401, {"error": "bad credentials"})
                sid = secrets.token_hex(16)
                SESSIONS[sid] = {"user": b["user"],
                                 "csrf": secrets.token_urlsafe(18),
                                 "form": None}
                handed_out(sid, SESSIONS[sid]["csrf"])
                return self.send(200, {"user": b["user"],
                                       "csrf": SESSIONS[sid]["csrf"]},
                                 [("Set-Cookie",
                                   "sid=%s; Path=/; HttpOnly" % sid)])
            if u.path == "/orders":
                b = self.jbody()
                if not s:
                    return self.send(401, {"error": "login"})
                if not self.csrf_ok(s):
                    return self.send(403, {"error": "csrf"})
                key = self.headers.get("Idempotency-Key")
                if not key:
                    return self.send(400, {"error": "Idempotency-Key"})
                if key in IDEM:
                    return self.send(409, {"error": "key reused"})
                IDEM.add(key)
                n = NEXT_ID[0]
                NEXT_ID[0] += 1
                ORDERS[n] = {"user": s["user"], "item": (b or {}).get("item"),
                             "qty": (b or {}).get("qty", 1)}
                return self.send(201, {"id": n},
                                 [("Location", "/orders/%d" % n)])
            if u.path == "/lookup":  # an id in a JSON request body
                b = self.jbody() or {}
                if not s:
                    return self.send(401, {"error": "login"})
                o = ORDERS.get(b.get("order_id"))
                if not o or o["user"] != s["user"]:
                    return self.send(404, {"error": "no such order"})
                return self.send(200, {"item": o["item"]})
            if u.path == "/profile":
                form = urllib.parse.parse_qs(self.body().decode())
                if not s:
                    return self.send(401, {"error": "login"})
                if not s["form"] or form.get("form_token") != [s["form"]]:
                    return self.send(403, {"error": "form token"})
                return self.send(200, {"name": form.get("name", [""])[0]})
            if u.path == "/logout":
                self.body()
                if not s:
                    return self.send(401, {"error": "login"})
                if not self.csrf_ok(s):
                    return self.send(403, {"error": "csrf"})
                del SESSIONS[sid]
                return self.send(200, {"ok": True})
        self.send(404, {"error": "not found"})

    def do_PUT(self):
        u = urllib.parse.urlsplit(self.path)
        parts = [p for p in u.path.split("/") if p]
        with LOCK:
            sid, s = self.session()
            b = self.jbody()
            if len(parts) != 2 or parts[0] != "orders":
                return self.send(404, {"error": "not found"})
            if not s:
                return self.send(401, {"error": "login"})
            if not self.csrf_ok(s):
                return self.send(403, {"error": "csrf"})
            o = ORDERS.get(int(parts[1])) if parts[1].isdigit() else None
            if not o or o["user"] != s["user"]:
                return self.send(404, {"error": "no such order"})
            o["qty"] = (b or {}).get("qty", o["qty"])
            return self.send(200, {"id": int(parts[1]), "qty": o["qty"]})


def main():
    port = int(sys.argv[1])
    srv = ThreadingHTTPServer(("127.0.0.1", port), App)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
