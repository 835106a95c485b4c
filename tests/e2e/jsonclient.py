#!/usr/bin/env python3
"""jsonclient.py PORT OUT.har N: N requests to jsonapp.py (items 1..N/2,
users, the list), recorded as a HAR 1.2 file with bodies and timings (what
a browser's devtools would save), for `reprise capture --har`."""
import http.client
import json
import sys
import time
from datetime import datetime, timezone

port, out, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port)
entries = []
for k in range(n):
    path = ("/api/items/%d" % (k // 2 + 1) if k % 4 < 2 else
            "/api/users/%d" % (k + 1) if k % 4 == 2 else "/api/list")
    t0 = time.time()
    conn.request("GET", path, headers={"Accept": "application/json"})
    r = conn.getresponse()
    body = r.read()
    t1 = time.time()
    entries.append({
        "startedDateTime": datetime.fromtimestamp(t0, timezone.utc)
        .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "time": (t1 - t0) * 1e3, "connection": "1",
        "request": {"method": "GET", "url": "http://127.0.0.1:%d%s" % (port, path),
                    "httpVersion": "HTTP/1.1", "cookies": [],
                    "headers": [{"name": "Host", "value": "127.0.0.1:%d" % port},
                                {"name": "Accept", "value": "application/json"}],
                    "queryString": [], "headersSize": -1, "bodySize": 0},
        "response": {"status": r.status, "statusText": r.reason,
                     "httpVersion": "HTTP/1.1", "cookies": [],
                     "headers": [{"name": k2, "value": v} for k2, v in r.getheaders()],
                     "content": {"size": len(body), "mimeType": "application/json",
                                 "text": body.decode()},
                     "redirectURL": "", "headersSize": -1, "bodySize": len(body)},
        "cache": {}, "timings": {"send": 0, "wait": (t1 - t0) * 1e3, "receive": 0}})
json.dump({"log": {"version": "1.2", "creator": {"name": "jsonclient", "version": "1"},
                   "entries": entries}}, open(out, "w"))
