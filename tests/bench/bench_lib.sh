# tests/bench/bench_lib.sh: what the replay benchmarks share, sourced after
# tests/lib.sh. The machine is shared (2 cores; other sessions build and test
# on it), so every round says how quiet it was: the CPU steal (time the
# hypervisor gave other guests) and the CPU that processes other than the
# benchmark's own used meanwhile ("others": user and system time, from
# /proc/stat, less the tools' own; interrupt time, which includes the
# loopback traffic's receive side, is nobody's). A round is quiet when
# steal < 2% and others < 5% of the machine.

# cpu_mark FILE: the machine's CPU counters now.
cpu_mark() { head -1 /proc/stat > "$1"; }

# tree_cpu_ticks PID...: user+system clock ticks of the processes and their
# children (threads included), for nginx's master and workers.
tree_cpu_ticks() {
    local total=0 pid kid
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] || continue
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
        for kid in $(pgrep -P "$pid" 2>/dev/null); do
            total=$((total + $(tree_cpu_ticks "$kid")))
        done
    done
    echo "$total"
}

# nginx_master NAME: the pid of the nginx started by start_nginx NAME.
nginx_master() { cat "$TMP/$1/nginx.pid"; }

# round_quiet STAT0 STAT1 OWN_CPU_S: prints "steal% others%" of the round,
# where OWN_CPU_S is the CPU seconds of the benchmark's own processes
# (tools measured with /usr/bin/time and nginx).
round_quiet() {
    python3 - "$1" "$2" "$3" <<'PY'
import os, sys
s0, s1 = ([int(x) for x in open(f).read().split()[1:]] for f in sys.argv[1:3])
d = [b - a for a, b in zip(s0, s1)]
hz = os.sysconf("SC_CLK_TCK")
total = sum(d[:8])
busy = total - d[3] - d[4]  # all but idle and iowait (steal included)
steal = d[7]
own = float(sys.argv[3]) * hz
# interrupts are nobody's process time: on loopback the receiving side of
# the benchmark's own traffic runs in softirq, so it is left out too
others = max(0.0, busy - steal - d[5] - d[6] - own)
print("%.1f %.1f" % (100.0 * steal / max(1, total), 100.0 * others / max(1, total)))
PY
}

# wrk_pipeline_script FILE N: a wrk Lua script that sends N requests of
# GET / at a time on each connection (wrk's scripts/pipeline.lua idea).
wrk_pipeline_script() {
    cat > "$1" <<LUA
init = function(args)
   local r = {}
   for i = 1, $2 do r[i] = wrk.format(nil, "/") end
   req = table.concat(r)
end
request = function() return req end
LUA
}

# wait_quiet MAX_S: waits (up to MAX_S seconds; QUIET_WAIT, default 60)
# until the machine was idle for 2 s in a row (under 5% busy), so a round
# starts in a quiet moment if one comes; prints how long it waited.
wait_quiet() {
    local max=${1:-${QUIET_WAIT:-60}}
    python3 - "$max" <<'PY'
import sys, time
limit = time.monotonic() + float(sys.argv[1])
start = time.monotonic()
def stat():
    return [int(x) for x in open("/proc/stat").readline().split()[1:9]]
a = stat()
while True:
    time.sleep(2)
    b = stat()
    d = [y - x for x, y in zip(a, b)]
    busy = sum(d) - d[3] - d[4]
    a = b
    if busy <= 0.05 * max(1, sum(d)) or time.monotonic() >= limit:
        break
print("  (waited %.0fs for a quiet moment%s)" % (time.monotonic() - start,
      "" if time.monotonic() < limit else ", none came"))
PY
}
