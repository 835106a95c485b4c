#!/usr/bin/env bash
# bench_store_bodies.sh: what --store-bodies costs. A synthetic HAR of N
# exchanges (default 100,000) over six endpoints (two with ids: 5,000 users
# and N/6 orders) is imported, then replayed (--max --concurrency 32)
# against nginx answering a JSON body that names the request, once per
# mode: none, sample (the default), all. NOISE=1 (default): the body also
# carries noise (nginx's $request_id and $msec), so every body differs from
# the captured one and sample keeps them all, as it must; NOISE=0: the
# bodies are what was captured, and sample keeps the first 100 of each
# endpoint. Printed per mode: responses kept, the corpus file's growth
# (after a checkpoint), bytes per replayed request, and the replay's
# throughput beside --store-bodies none (rounds alternate, with the CPU
# steal of each). Release build: BUILD=build-rel REPRISE=build-rel/reprise.
set -euo pipefail
source "$SRC/tests/lib.sh"
source "$SRC/tests/bench/bench_lib.sh"
N=${N:-100000}
ROUNDS=${ROUNDS:-2}
P=$(free_port)
NOISE=${NOISE:-1}
if [ "$NOISE" = 1 ]; then
    start_nginx web "$P" 'location /api/ { default_type application/json;
    return 200 "{\"path\":\"$uri\",\"request_id\":\"$request_id\",\"ts\":$msec,\"items\":[{\"id\":1,\"price\":9.99},{\"id\":2,\"price\":19.99}]}\n"; }'
else
    start_nginx web "$P" 'location /api/ { default_type application/json;
    return 200 "{\"path\":\"$uri\",\"items\":[]}\n"; }'
fi
/usr/bin/python3 - "$TMP/b.har" "$N" "$P" <<'PY'
import json, sys
out, n, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
paths = ["/api/users/%d", "/api/orders/%d", "/api/search", "/api/cart", "/api/health", "/api/items"]
with open(out, "w") as f:
    f.write('{"log":{"version":"1.2","creator":{"name":"bench","version":"1"},"entries":[')
    for i in range(n):
        p = paths[i % 6]
        if "%d" in p:
            p = p % (i % 5000 if i % 6 == 0 else i)
        ms = i // 10
        e = {"startedDateTime": "2026-12-07T08:%02d:%02d.%03dZ" % (ms // 60000 % 60, ms // 1000 % 60, ms % 1000),
             "time": 1, "request": {"method": "GET", "url": "http://127.0.0.1:%d%s" % (port, p),
             "httpVersion": "HTTP/1.1", "headers": [], "queryString": [], "cookies": [],
             "headersSize": -1, "bodySize": 0},
             "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
             "headers": [{"name": "Content-Type", "value": "application/json"}], "cookies": [],
             "content": {"size": 40, "mimeType": "application/json", "text": '{"path":"%s","items":[]}\n' % p.split("?")[0]},
             "redirectURL": "", "headersSize": -1, "bodySize": 40},
             "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}
        f.write(("," if i else "") + json.dumps(e))
    f.write("]}}")
PY
db=$TMP/b.db
"$REPRISE" capture -q --har "$TMP/b.har" -o "$db"
size() { sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null; stat -c %s "$db"; }
echo "corpus: $N exchanges, $(size) bytes"
for round in $(seq "$ROUNDS"); do
    for mode in none sample all; do
        before=$(size)
        cpu_mark "$TMP/s0"
        "$REPRISE" replay "$db" --target "http://127.0.0.1:$P" --max --concurrency 32 \
            --store-bodies "$mode" --label "$mode$round" --json --quiet > "$TMP/$mode.json"
        cpu_mark "$TMP/s1"
        after=$(size)
        read -r rps kept kb <<< "$(/usr/bin/python3 -c "
import json; r = json.load(open('$TMP/$mode.json'))
print(round(r['responses_per_s']), r['stored_responses'], r['stored_bytes'])")"
        steal=$(/usr/bin/python3 -c "
s0=[int(x) for x in open('$TMP/s0').read().split()[1:]]; s1=[int(x) for x in open('$TMP/s1').read().split()[1:]]
d=[b-a for a,b in zip(s0,s1)]; print('%.1f' % (100.0*d[7]/max(1,sum(d[:8]))))")
        printf "round %d %-6s %8d req/s  kept %7d responses (%6.1f MiB raw)  corpus +%6.1f MiB = %5.0f bytes/request  steal %s%%\n" \
            "$round" "$mode" "$rps" "$kept" "$(echo "$kb / 1048576" | bc -l)" \
            "$(echo "($after - $before) / 1048576" | bc -l)" "$(echo "($after - $before) / $N" | bc -l)" "$steal"
    done
done
