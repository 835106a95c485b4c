#!/usr/bin/env bash
# The HTML report renders in headless Chromium with its charts: the sample
# capture is replayed against v1 and v2, `analyze --format html` writes the
# report, Chromium takes a screenshot, and the screenshot must show both the
# baseline (grey) and candidate (orange) colours of the charts in quantity.
# The page must load nothing from the network (it is one self-contained file).
source "$SRC/tests/lib.sh"
chrome=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chrome" ] || skip "chromium not installed"

v1=$(free_port); v2=$(free_port)
"$SRC/samples/start-release.sh" v1 "$v1" "$TMP/v1" & track_pid $!
"$SRC/samples/start-release.sh" v2 "$v2" "$TMP/v2" & track_pid $!
wait_port "$v1"; wait_port "$v2"
db=$TMP/r.db
"$REPRISE" capture -r "$SRC/samples/shop.pcap" -o "$db" 2>/dev/null || fail "capture"
"$REPRISE" replay "$db" --target "http://127.0.0.1:$v1" --speed 20 --label v1 --quiet || fail "replay v1"
"$REPRISE" replay "$db" --target "http://127.0.0.1:$v2" --speed 20 --label v2 --quiet || fail "replay v2"
"$REPRISE" analyze "$db" --baseline v1 --candidate v2 --format html -o "$TMP/report.html" || true
[ -s "$TMP/report.html" ] || fail "no report written"
! grep -Eq '(src|href)="(https?:)?//' "$TMP/report.html" || fail "report loads something from the network"
n=$(grep -c '<svg' "$TMP/report.html")
[ "$n" -ge 4 ] || fail "expected 4 charts, found $n <svg> elements"

timeout 60 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --user-data-dir="$TMP/chrome" --window-size=1280,2400 \
    --screenshot="$TMP/report.png" "file://$TMP/report.html" >"$TMP/chrome.log" 2>&1 \
    || { cat "$TMP/chrome.log"; fail "chromium failed"; }
[ -s "$TMP/report.png" ] || fail "no screenshot"
python3 "$SRC/tests/e2e/pngcolors.py" "$TMP/report.png" d35400 7f8c8d > "$TMP/colors"
cand=$(awk '$1 == "d35400" {print $2}' "$TMP/colors")
base=$(awk '$1 == "7f8c8d" {print $2}' "$TMP/colors")
[ "$cand" -gt 2000 ] && [ "$base" -gt 2000 ] || fail "charts not drawn: candidate $cand px, baseline $base px"
pass "report.html renders in Chromium: $n charts, $cand candidate and $base baseline pixels"
