#!/usr/bin/env bash
# samples/make-sample-pcap.sh [SECONDS]: re-records samples/shop.pcap, the
# small capture that lets `reprise capture -r samples/shop.pcap` work without
# root: traffic.py against release v1 on loopback, recorded by tcpdump.
# Needs root (tcpdump on lo). The port is fixed (18080) so the file is stable.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-2}
dir=$(mktemp -d); chmod 755 "$dir"
port=18080
"$here/start-release.sh" v1 "$port" "$dir/v1" & ng=$!
trap 'kill $ng $td 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
tcpdump -i lo -s 0 -U --immediate-mode -w "$dir/shop.pcap" "tcp port $port" 2>/dev/null & td=$!
sleep 1
python3 "$here/traffic.py" --port "$port" --duration "$secs" --users 4 --seed 7
sleep 0.5
kill -INT $td; wait $td || true
cp "$dir/shop.pcap" "$here/shop.pcap"
ls -l "$here/shop.pcap"
