#!/usr/bin/env bash
# tests/install-deps.sh: installs the Debian packages reprise needs, and only
# those that are missing. Idempotent; runs apt-get as root, or through sudo.
#   tests/install-deps.sh          build dependencies (for ./samples/demo.sh)
#   tests/install-deps.sh --test   plus what the tests and benchmarks use
set -euo pipefail

build_pkgs=(cmake make gcc pkg-config libpcap-dev libcurl4-openssl-dev
            libsqlite3-dev zlib1g-dev libssl-dev libjansson-dev libluajit-5.1-dev
            libcmocka-dev libmicrohttpd-dev
            nginx libnginx-mod-http-echo tcpdump curl python3 sqlite3)
test_pkgs=(tshark wrk python3-locust clang libclang-rt-14-dev procps iproute2 chromium
           time openssl python3-kubernetes python3-yaml node-llhttp
           python3-prometheus-client python3-websocket node-har-validator
           redis-server redis-tools memcached postgresql)

pkgs=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then
    pkgs+=("${test_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "reprise: installing missing packages: ${missing[*]}" >&2
as_root=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "reprise: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    as_root=(sudo DEBIAN_FRONTEND=noninteractive)
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine's package lists are stale: always update first.
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
