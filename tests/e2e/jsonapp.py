#!/usr/bin/env python3
"""jsonapp.py: a JSON API in two versions, for the field-level diff tests.

usage: jsonapp.py PORT v1|v2

Every response carries noise that differs from one answer to the next: a
timestamp ("ts"), a random request id ("request_id") and a varying
"took_ms" in the body, and the Date and X-Request-Id headers. v2 plants
three real changes:
  - GET /api/items/ID: "price" is 10.99 instead of 9.99 when ID % 3 == 0
    (a third of the ids);
  - GET /api/users/ID: a new field "email";
  - GET /api/list: a new response header X-Api-Version: 2.
"""
import json
import random
import sys
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, VERSION = int(sys.argv[1]), sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, obj, extra=()):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-Id", str(uuid.uuid4()))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def noise(self, obj):
        obj["ts"] = datetime.now(timezone.utc).isoformat()
        obj["request_id"] = str(uuid.uuid4())
        obj["took_ms"] = random.randint(1, 50)
        return obj

    def do_GET(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) == 3 and parts[:2] == ["api", "items"]:
            i = int(parts[2])
            price = 10.99 if VERSION == "v2" and i % 3 == 0 else 9.99
            self.send_json(self.noise({"id": i, "name": "item %d" % i,
                                       "price": price}))
        elif len(parts) == 3 and parts[:2] == ["api", "users"]:
            i = int(parts[2])
            user = {"id": i, "name": "user %d" % i}
            if VERSION == "v2":
                user["email"] = "user%d@example.test" % i
            self.send_json(self.noise(user))
        elif parts == ["api", "list"]:
            items = [{"id": k, "price": 1.5 * k} for k in range(1, 6)]
            random.shuffle(items)  # by id, order does not matter
            extra = [("X-Api-Version", "2")] if VERSION == "v2" else []
            self.send_json(self.noise({"items": items}), extra)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


Server(("127.0.0.1", PORT), Handler).serve_forever()
