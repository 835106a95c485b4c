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
"$REPRISE" replay "$db" --target "http://127.0.0.1:$v1" --speed 20 --label v1b --quiet || fail "replay v1b"
# no --fail-if: the verdict (the default gates: v2's 404s move the status
# mix) is in the report all the same
"$REPRISE" analyze "$db" --baseline v1 --candidate v2 --noise v1b --format html -o "$TMP/report.html" || true
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

# The sections the text report has, as Chromium sees the page (its DOM
# after parsing, not our bytes): verdict and reasons, the runs with their
# targets, mode, speed and lateness, the change columns, notices, errors,
# status transitions; tooltips on the charts and the baseline drawn beside
# the candidate on the time charts.
timeout 60 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --user-data-dir="$TMP/chrome2" --dump-dom "file://$TMP/report.html" \
    > "$TMP/dom.html" 2>"$TMP/chrome2.log" || { cat "$TMP/chrome2.log"; fail "chromium --dump-dom failed"; }
python3 - "$TMP/dom.html" <<'PY' || fail "report.html lacks a section"
import re, sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.ids = {}; self.cur = []; self.titles = 0
        self.dashed = 0; self.th = []; self.in_th = False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a: self.ids[a["id"]] = ""; self.cur.append(a["id"])
        if tag == "title": self.titles += 1
        if tag == "polyline" and "stroke-dasharray" in a: self.dashed += 1
        if tag == "th": self.in_th = True; self.th.append("")
    def handle_endtag(self, tag):
        if tag == "th": self.in_th = False
    def handle_data(self, d):
        for i in self.cur: self.ids[i] += d
        if self.in_th: self.th[-1] += d
p = P(); p.feed(open(sys.argv[1]).read())
text = open(sys.argv[1]).read()
need = {
    "verdict": "verdict: FAIL", "reasons": "status-mix>1% (default) held on",
    "runs": "mode speed 20x", "notices": "", "endpoints": "", "errors": "",
    "transitions": "200 -> 404", "charts": "", "slowest": "",
}
bad = [k for k, v in need.items() if k not in p.ids]
bad += ["%s lacks '%s'" % (k, v) for k, v in need.items() if k in p.ids and v not in p.ids[k]
        and v not in re.sub(r"\s+", " ", text)]
for col in ("p50 d", "p90 d", "p99 d", "status mix"):
    if col not in p.th: bad.append("no column " + col)
if "noise run" not in p.ids.get("runs", "") and "noise run" not in text: bad.append("no noise run in the runs table")
if "lateness p99" not in text: bad.append("no lateness")
if p.titles < 20: bad.append("only %d tooltips" % p.titles)
if p.dashed < 4: bad.append("baseline not drawn on the time charts (%d dashed lines)" % p.dashed)
if bad:
    print("\n".join(bad)); sys.exit(1)
print("sections:", " ".join(sorted(p.ids)), "| tooltips", p.titles)
PY
pass "report.html as Chromium parses it: verdict and reasons, runs, change columns, errors, transitions, tooltips, baseline on the time charts"
