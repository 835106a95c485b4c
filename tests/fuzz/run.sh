#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]: builds the libFuzzer targets with clang
# (ASan + UBSan), makes their seed corpora, and runs each for SECONDS
# (default 30). A crash, leak, timeout or sanitizer report fails the run;
# the reproducer is left in build-fuzz/artifacts/. Prints the executions.
# fuzz_llhttp (built when node-llhttp is installed) is differential: a
# framing that differs from llhttp's, unexplained, is a failure too.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-${FUZZ_SECONDS:-30}}
build=build-fuzz
CC=clang cmake -S . -B "$build" -DREPRISE_FUZZ=ON -DREPRISE_SANITIZE=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=(pcap tcp http exchange resp pgwire wire fielddiff)
# the llhttp differential target exists when node-llhttp is installed
if [ -f /usr/share/llhttp/llhttp.c ]; then
    targets+=(llhttp)
fi
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" \
    test_tcp_pcap >/dev/null

seeds=$build/seeds
rm -rf "$seeds"
mkdir -p "$seeds"/{pcap,tcp,http,exchange,llhttp,resp,pgwire,wire,fielddiff} "$build/artifacts"
# tcp: the packet sequences the reassembly unit tests spell out
FUZZ_SEED_DIR=$seeds/tcp "$build/test_tcp_pcap" >/dev/null 2>&1
# pcap: the sample capture, cut at several lengths, and as pcapng
for n in 512 2048 8192 32768; do head -c "$n" samples/shop.pcap > "$seeds/pcap/shop-$n.pcap"; done
if command -v editcap >/dev/null; then
    editcap -F pcapng -c 20 samples/shop.pcap "$seeds/pcap/shop.pcapng" >/dev/null 2>&1 || true
fi
# http and exchange: messages covering each framing rule
i=0
while IFS= read -r msg; do
    i=$((i + 1))
    printf '%b' "$msg" > "$seeds/http/msg-$i"
    printf '%b' "$msg" > "$seeds/exchange/msg-$i"
    # llhttp: the first byte says requests (odd) or responses (even)
    case "$msg" in HTTP/*) d='\x00' ;; *) d='\x01' ;; esac
    printf '%b' "$d$msg" > "$seeds/llhttp/msg-$i"
done <<'MSGS'
GET / HTTP/1.1\r\nHost: a\r\n\r\n
POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello
HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nTrailer: t\r\n\r\n
HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n
HTTP/1.0 200 OK\r\n\r\nclose-delimited body
GET /a HTTP/1.1\nHost: a\n\nGET /b HTTP/1.1\nHost: a\n\n
HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello
PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nT: 1\r\n\r\n
GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n
CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n
OPTIONS * HTTP/1.1\r\n\r\n
HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n
MSGS
# resp: Redis transcripts; the first byte is the side (bit 0: client) and
# the cut pattern (the other bits)
i=0
while IFS= read -r msg; do
    i=$((i + 1))
    printf '%b' "$msg" > "$seeds/resp/t-$i"
done <<'RESP'
\x01*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n
\x03PING\r\n\r\nset k v\n*0\r\nAUTH default hunter2\r\n
\x81*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*1\r\n$4\r\nEXEC\r\n
\x00+OK\r\n-ERR unknown command\r\n:1000\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n*2\r\n$3\r\nfoo\r\n:2\r\n
\x06+OK\r\n+QUEUED\r\n*2\r\n-ERR not an integer\r\n:1\r\n-EXECABORT discarded\r\n
\x82_\r\n,3.14\r\n,-inf\r\n#t\r\n(12345678901234567890123\r\n=15\r\ntxt:Some string\r\n!9\r\nSYNTAX no\r\n
\x0a%2\r\n+a\r\n:1\r\n+b\r\n~1\r\n,1e5\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n
\x04|1\r\n+ttl\r\n:3600\r\n*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n
\x00$?\r\n;4\r\nHell\r\n;1\r\no\r\n;0\r\n*?\r\n:1\r\n%?\r\n+k\r\n_\r\n.\r\n.\r\n
RESP

# pgwire: the first byte says client (odd) or server (even), 2 an SSL
# exchange first; then a client or server transcript, or a statement
i=0
while IFS= read -r msg; do
    i=$((i + 1))
    printf '%b' "$msg" > "$seeds/pgwire/msg-$i"
done <<'MSGS'
\x01\x00\x00\x00\x1b\x00\x03\x00\x00user\x00u\x00database\x00d\x00\x00Q\x00\x00\x00\x0dSELECT 1\x00X\x00\x00\x00\x04
\x03\x00\x00\x00\x08\x04\xd2\x16/\x00\x00\x00\x10\x00\x03\x00\x00user\x00u\x00\x00
\x01P\x00\x00\x00\x17s1\x00SELECT $1\x00\x00\x01\x00\x00\x00\x17B\x00\x00\x00\x16\x00s1\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x02-3\x00\x00D\x00\x00\x00\x06P\x00E\x00\x00\x00\x09\x00\x00\x00\x00\x00S\x00\x00\x00\x04
\x01d\x00\x00\x00\x061\x0ac\x00\x00\x00\x04f\x00\x00\x00\x05\x00
\x00R\x00\x00\x00\x08\x00\x00\x00\x00S\x00\x00\x00\x08a\x00b\x00K\x00\x00\x00\x0c\x00\x00\x00\x01\x00\x00\x00\x02Z\x00\x00\x00\x05I
\x00R\x00\x00\x00\x17\x00\x00\x00\x0aSCRAM-SHA-256\x00\x00R\x00\x00\x00\x0c\x00\x00\x00\x05salt
\x02NR\x00\x00\x00\x08\x00\x00\x00\x00Z\x00\x00\x00\x05I
\x00T\x00\x00\x00\x1a\x00\x01n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x17\x00\x04\xff\xff\xff\xff\x00\x00D\x00\x00\x00\x0b\x00\x01\x00\x00\x00\x011C\x00\x00\x00\x0dSELECT 1\x00E\x00\x00\x00\x10C42P01\x00Mno\x00\x00
\x01\x00\x00\x00\x10\x04\xd2\x16.\x00\x00\x00\x01\x00\x00\x00\x02
\x01UPDATE pgbench_accounts SET abalance = abalance + -3164 WHERE aid = 40712;
\x01SELECT 'it''s', E'\\'', $$x$$, $t$a$t$, t1, 1.5e-3, .5, 0x1F, "q""i" /* c /* n */ */ -- x
\x01SELECT U&'d!0061' UESCAPE '!', B'01', X'ff', 'a'\n'b', $2, -1, x=-1
MSGS
# wire: the protocol byte (0 redis, 1 postgres, 2 tcp) and programs of
# canned messages (op 7: canned message number len % count)
printf '\x00\x07\x00\x07\x02' > "$seeds/wire/redis"
printf '\x01\x07\x09\x07\x0a\x07\x0b\x07\x0c\x07\x0d\x07\x0e' > "$seeds/wire/pg"
printf '\x02\x07\x15\x07\x16\x00\x03ab\n' > "$seeds/wire/tcp"
# fielddiff: the protocol byte (bit 0 PostgreSQL, bit 1 flip a byte), the
# cut, then two replies
printf '\x00\x05:5\r\n:6\r\n' > "$seeds/fielddiff/int"
printf '\x02\x00%%2\r\n+a\r\n*2\r\n:1\r\n:2\r\n+b\r\n|1\r\n+t\r\n:1\r\n,1.5\r\n' > "$seeds/fielddiff/map"
printf '\x00\x20$?\r\n;2\r\nab\r\n;0\r\n*?\r\n_\r\n.\r\n$3\r\nabc\r\n*1\r\n_\r\n' > "$seeds/fielddiff/streamed"
printf '\x03\x00T\x00\x00\x00\x1a\x00\x01n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x17\x00\x04\xff\xff\xff\xff\x00\x00D\x00\x00\x00\x0b\x00\x01\x00\x00\x00\x011C\x00\x00\x00\x0dSELECT 1\x00E\x00\x00\x00\x10C42P01\x00Mno\x00\x00Z\x00\x00\x00\x05I' > "$seeds/fielddiff/pg"

status=0
for t in "${targets[@]}"; do
    log=$build/fuzz_$t.log
    extra=()
    [ "$t" = llhttp ] && extra=(-dict=tests/fuzz/http.dict -max_len=2048)
    if "$build/fuzz_$t" "$seeds/$t" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$build/artifacts/$t-" \
        -print_final_stats=1 "${extra[@]}" >"$log" 2>&1; then
        execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
        echo "fuzz_$t: ${execs:-?} executions in ${secs}s, no crash"
    else
        echo "fuzz_$t: FAILED, see $log and $build/artifacts/" >&2
        tail -30 "$log" >&2
        status=1
    fi
done
exit $status
