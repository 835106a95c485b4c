#!/usr/bin/env bash
# samples/start-release.sh RELEASE PORT DIR
# Starts nginx on 127.0.0.1:PORT serving the sample shop API as release v1
# or v2, in the foreground (callers background it). v2 carries two planted
# changes: GET /api/orders/:id is 20 ms slower, and GET /api/users/:id
# answers 404 for ids ending in 7.
set -euo pipefail
release=$1 port=$2 dir=$3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir"
chmod 755 "$dir"
case "$release" in
    v1) orders_sleep=0.002; users_extra='' ;;
    v2) orders_sleep=0.022; users_extra='if ($uri ~ 7$) { return 404 '"'"'{"error":"no such user"}\\n'"'"'; }' ;;
    *) echo "start-release.sh: release must be v1 or v2" >&2; exit 2 ;;
esac
sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" -e "s|@RELEASE@|$release|g" \
    -e "s|@ORDERS_SLEEP@|$orders_sleep|g" -e "s|@USERS_EXTRA@|$users_extra|g" \
    "$here/nginx-release.conf.in" > "$dir/nginx.conf"
exec nginx -c "$dir/nginx.conf" -p "$dir"
