#!/usr/bin/env bash
# bench_replay_timing.sh: schedule accuracy of the open model. 10k exchanges
# captured at 1000/s over 8 keep-alive connections (a synthetic capture
# written through the corpus API, each a distinct GET /?n=I) are replayed at
# --speed 10 (10k req/s for 1 s) against nginx while tcpdump records the
# replayed requests on lo, ROUNDS times. Each round prints the distribution
# of |sent - scheduled| as recorded in the results and as seen on the wire
# (the packet carrying each request, against its scheduled time; the
# constant offset between the pcap's wall clock and the run's clock is the
# median difference), its ratio to the 0.5 ms goal for p99, the CPU steal
# and the CPU other processes used meanwhile (quiet: steal < 2%, others <
# 5%, bench_lib.sh), and checks in the capture (tshark) and in nginx's log
# that every request went out exactly once. Timing is never asserted; a
# count mismatch fails.
#   BUILD=build-rel ROUNDS=5 tests/bench/bench_replay_timing.sh
# Each round first waits up to QUIET_WAIT seconds (default 60; 0: no wait)
# for a quiet moment of the machine.
# ENGINE=curl compares the curl engine; REPLAY_ARGS="--spin 0" adds options.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
source "$SRC/tests/bench/bench_lib.sh"

N=${N:-10000}
SPEED=${SPEED:-10}
ROUNDS=${ROUNDS:-5}
ENGINE=${ENGINE:-raw}
command -v nginx >/dev/null || skip "nginx not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"
command -v tcpdump >/dev/null || skip "tcpdump not installed"
command -v tshark >/dev/null || skip "tshark not installed"
[ -x /usr/bin/time ] || skip "/usr/bin/time not installed"
if grep -q 'REPRISE_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    echo "note: $BUILD is a sanitizer build; timing is pessimistic"
fi
cmake --build "$BUILD" --target reprise rp_corpus rp_common -j2 >/dev/null
cc -O2 -I"$SRC" "$SRC/tests/bench/bench_replay_gen.c" \
    "$BUILD/librp_corpus.a" "$BUILD/librp_common.a" \
    $(pkg-config --libs sqlite3 zlib libcrypto) -lm -o "$TMP/gen"
"$TMP/gen" "$TMP/c0.db" "$N" 1000 8 0 distinct

P=$(free_port)
start_nginx web "$P"
NG=$(nginx_master web)
HZ=$(getconf CLK_TCK)
echo "timing: $N exchanges captured at 1000/s on 8 connections, --speed $SPEED," \
     "$ENGINE engine, $ROUNDS rounds"
uptime
fails=0
for round in $(seq "$ROUNDS"); do
    [ "${QUIET_WAIT:-60}" = 0 ] || wait_quiet
    cp "$TMP/c0.db" "$TMP/c.db"
    : > "$TMP/web/access.log"
    # Requests only (to the server port), headers fit in 512 bytes; a 64 MiB
    # buffer so tcpdump drops nothing at 10k req/s.
    tcpdump -i lo -s 512 -B 65536 -U --immediate-mode -w "$TMP/replay.pcap" \
        "tcp dst port $P" >/dev/null 2>"$TMP/tcpdump.log" &
    TD=$!
    track_pid "$TD"
    for _ in $(seq 1 50); do
        grep -q "listening on" "$TMP/tcpdump.log" && break
        sleep 0.1
    done
    grep -q "listening on" "$TMP/tcpdump.log" || fail "tcpdump did not start"
    cpu_mark "$TMP/s0"
    n0=$(( $(tree_cpu_ticks "$NG") + $(tree_cpu_ticks "$TD") ))
    /usr/bin/time -f "%U %S" -o "$TMP/rp.cpu" "$REPRISE" replay "$TMP/c.db" \
        --target "http://127.0.0.1:$P" --speed "$SPEED" --engine "$ENGINE" \
        --quiet --json ${REPLAY_ARGS:-} > "$TMP/r.json"
    n1=$(( $(tree_cpu_ticks "$NG") + $(tree_cpu_ticks "$TD") )) # nginx, tcpdump
    cpu_mark "$TMP/s1"
    own=$(python3 -c "print(sum(float(x) for x in open('$TMP/rp.cpu').read().split()[-2:]) + ($n1 - $n0) / $HZ)")
    read -r steal others <<<"$(round_quiet "$TMP/s0" "$TMP/s1" "$own")"
    sleep 1.2 # libpcap may hold the last packets for up to a second
    kill -INT "$TD"
    wait "$TD" || true
    dropped=$(awk '/dropped by kernel/ {print $1}' "$TMP/tcpdump.log")
    sqlite3 -separator ' ' "$TMP/c.db" "SELECT e.target, r.scheduled_us, r.sent_us
        FROM results r JOIN exchanges e ON e.id = r.exchange_id
        WHERE r.sent_us IS NOT NULL" > "$TMP/sched.txt"
    # Every HTTP request in the capture (TCP retransmissions left out), by
    # URI, with the time of the packet that carried it.
    tshark -r "$TMP/replay.pcap" -d "tcp.port==$P,http" -n \
        -Y 'http.request && !tcp.analysis.retransmission' \
        -T fields -e frame.time_epoch -e http.request.uri > "$TMP/wire.txt" \
        2>"$TMP/tshark.log"
    logged=$(grep -c '^GET /?n=' "$TMP/web/access.log" || true)
    python3 - "$TMP/sched.txt" "$TMP/r.json" "$N" "$TMP/wire.txt" "$logged" \
        "${dropped:-?}" "$steal" "$others" "$round" <<'PY' || fails=$((fails + 1))
import collections, json, statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
sched = {t: int(s) for t, s, _ in rows}
late = sorted(abs(int(x) - int(s)) for _, s, x in rows)
d = json.load(open(sys.argv[2]))
want = int(sys.argv[3])
wire = [l.split() for l in open(sys.argv[4]) if l.strip()]
rnd, steal, others = sys.argv[9], float(sys.argv[7]), float(sys.argv[8])
def pct(v, p):
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))] if v else -1
# wire time minus scheduled time, less the clocks' offset (the median)
first = {}
for t, u in wire:
    first.setdefault(u, float(t) * 1e6)
diffs = [first[u] - sched[u] for u in first if u in sched]
off = statistics.median(diffs) if diffs else 0
wl = sorted(abs(x - off) for x in diffs)
quiet = steal < 2 and others < 5
print("  round %s: sent %d, errors %d, %.0f req/s; steal %.1f%%, others %.1f%% (%s)"
      % (rnd, d["sent"], d["errors"], d["sent_per_s"], steal, others,
         "quiet" if quiet else "not quiet"))
print("    |sent - scheduled| recorded  p50 %dus  p90 %dus  p99 %dus  p99.9 %dus  max %dus"
      % (pct(late, 50), pct(late, 90), pct(late, 99), pct(late, 99.9), late[-1]))
print("    |sent - scheduled| on wire   p50 %dus  p90 %dus  p99 %dus  p99.9 %dus  max %dus"
      % (pct(wl, 50), pct(wl, 90), pct(wl, 99), pct(wl, 99.9), wl[-1] if wl else -1))
print("    p99 / 0.5ms goal: recorded %.2f, wire %.2f (<= 1.00 meets it)"
      % (pct(late, 99) / 500.0, pct(wl, 99) / 500.0))
seen = collections.Counter(u for _, u in wire)
expect = {"/?n=%d" % i for i in range(want)}
missing = len(expect - set(seen))
dups = sum(c - 1 for u, c in seen.items() if c > 1)
extra = len(set(seen) - expect)
logged = int(sys.argv[5] or 0)
ok = not missing and not dups and not extra and logged == want
print("    tcpdump: %d requests, %d distinct; missing %d, duplicated %d, "
      "unexpected %d (tcpdump dropped %s); nginx logged %d; exactly once: %s"
      % (sum(seen.values()), len(seen), missing, dups, extra, sys.argv[6],
         logged, "yes" if ok else "NO"))
with open(sys.argv[1] + ".sum", "a") as f:
    f.write("%s %d %d %d\n" % (rnd, quiet, pct(late, 99), pct(wl, 99)))
sys.exit(0 if ok else 1)
PY
    cat "$TMP/sched.txt.sum" >> "$TMP/rounds.txt"
    rm -f "$TMP/sched.txt.sum"
done
python3 - "$TMP/rounds.txt" <<'PY'
import sys
r = [l.split() for l in open(sys.argv[1]) if l.strip()]
q = [x for x in r if x[1] == "1"]
fmt = lambda rows, i: ", ".join("%.2fms" % (int(x[i]) / 1000.0) for x in rows)
print("p99 |sent - scheduled| per round (recorded): %s" % fmt(r, 2))
print("p99 |sent - scheduled| per round (wire):     %s" % fmt(r, 3))
print("%d of %d rounds quiet%s" % (len(q), len(r),
      "; in them p99 recorded %s, wire %s" % (fmt(q, 2), fmt(q, 3)) if q else ""))
print("goal: p99 <= 0.5 ms on a quiet machine")
PY
[ "$fails" -eq 0 ] || fail "$fails rounds did not send every request exactly once"
pass done
