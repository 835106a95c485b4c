#!/usr/bin/env bash
# test_symbols.sh: every symbol a module's static library exports carries
# that module's prefix, so modules cannot collide and a reader knows where
# a function lives from its name. The prefixes (DESIGN.md, "Prefixes"):
#   librp_common   rp_          librp_proto    http_, proto_ (sniffing),
#                               resp_ (Redis), pg_ (PostgreSQL wire)
#   librp_corpus   corpus_      librp_capture  cap_, tcp_ (tcp_flow)
#   librp_replay   replay_      librp_analyze  an_
# Names starting with "__" are the compiler's and toolchain's (sanitizer
# instrumentation), reserved to them by the C standard, and are not checked.
source "$SRC/tests/lib.sh"
command -v nm >/dev/null || skip "nm not installed"

declare -A allowed=(
    [rp_common]="rp_"
    [rp_proto]="http_ proto_ resp_ pg_"
    [rp_corpus]="corpus_"
    [rp_capture]="cap_ tcp_"
    [rp_replay]="replay_"
    [rp_analyze]="an_"
)
bad=0
checked=0
for lib in "${!allowed[@]}"; do
    a="$BUILD/lib$lib.a"
    [ -f "$a" ] || fail "$a not built"
    # defined, external symbols: functions (T), data (D, B, R, C, G, S)
    while read -r sym; do
        checked=$((checked + 1))
        case "$sym" in __*) continue ;; esac
        ok=0
        for p in ${allowed[$lib]}; do
            case "$sym" in "$p"*) ok=1 ;; esac
        done
        if [ "$ok" -eq 0 ]; then
            echo "lib$lib.a exports '$sym' without its prefix (${allowed[$lib]})" >&2
            bad=$((bad + 1))
        fi
    done < <(nm -g --defined-only "$a" | awk 'NF == 3 && $2 ~ /^[TDBRCGSV]$/ {print $3}' | sort -u)
done
[ "$checked" -gt 100 ] || fail "only $checked symbols found: nm output not understood"
[ "$bad" -eq 0 ] || fail "$bad exported symbols lack their module's prefix"
pass "$checked exported symbols, each with its module's prefix"
