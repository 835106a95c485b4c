#!/usr/bin/env bash
# test_k8s_manifests.sh: the Kubernetes sample (samples/k8s) validates
# offline against the Kubernetes API's own types (Debian's
# python3-kubernetes; tests/e2e/k8s_check.py), with reprise's rules for it
# (an Indexed Job whose pods replay shard $JOB_COMPLETION_INDEX/$SHARDS
# with --start-at, mounts that name volumes, a claim that exists), and
# each kind of broken manifest fails the check. The Dockerfile is checked
# for what the README promises (Debian base, built from this repository,
# reprise as the entry point).
source "$SRC/tests/lib.sh"
py=/usr/bin/python3
"$py" -c 'import kubernetes, yaml' 2>/dev/null || skip "python3-kubernetes or python3-yaml missing"
k8s=$SRC/samples/k8s
check() { "$py" "$SRC/tests/e2e/k8s_check.py" "$@"; }

out=$(check "$k8s"/*.yaml) || fail "the sample manifests do not validate: $out"
echo "$out"

# broken copies must fail, each for its own reason
broken() { # name, sed expression, file, what the check must say
    sed "$2" "$k8s/$3" > "$TMP/$1.yaml"
    cmp -s "$k8s/$3" "$TMP/$1.yaml" && fail "$1: the sed expression changed nothing"
    local got
    if got=$(check "$TMP/$1.yaml" "$k8s/shards-pvc.yaml"); then
        fail "$1: a broken manifest passed the check"
    fi
    grep -q -- "$4" <<< "$got" || fail "$1: expected '$4' in: $got"
    echo "$1: refused ($(head -1 <<< "$got"))"
}
broken typo 's/completionMode: Indexed/completionMod: Indexed/' replay-job.yaml "unknown field 'completionMod'"
broken type 's/  backoffLimit: 0/  backoffLimit: "none"/' replay-job.yaml "backoffLimit: expected int"
broken not-indexed 's/completionMode: Indexed/completionMode: NonIndexed/' replay-job.yaml "completionMode must be Indexed"
broken no-shard 's|--shard "\$JOB_COMPLETION_INDEX/\$SHARDS"||' replay-job.yaml "lacks --shard"
broken mount 's/^            - name: shards$/            - name: shardz/' replay-job.yaml "which is no volume"
broken claim 's/claimName: reprise-shards/claimName: other/' merge-job.yaml "which no manifest defines"
"$py" - "$k8s/merge-job.yaml" > "$TMP/nocontainers.yaml" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]).read().replace("${", "<").replace("}", ">"))
del d["spec"]["template"]["spec"]["containers"]
print(yaml.safe_dump(d))
PY
got=$(check "$TMP/nocontainers.yaml") && fail "a Job without containers passed"
grep -q "containers.*must not be .None." <<< "$got" || fail "missing containers: $got"
echo "nocontainers: refused"

# the Dockerfile builds reprise from this repository on Debian
df=$k8s/Dockerfile
grep -q '^FROM debian:bookworm-slim AS build$' "$df" || fail "Dockerfile: no Debian build stage"
grep -q '^COPY \. /src$' "$df" || fail "Dockerfile: does not build from the repository"
grep -q 'cmake --build' "$df" || fail "Dockerfile: does not build"
grep -q '^ENTRYPOINT \["/usr/local/bin/reprise"\]$' "$df" || fail "Dockerfile: reprise is not the entry point"
! grep -qiE '^FROM [^ ]*:latest' "$df" || fail "Dockerfile: an unpinned base image"
pass "Kubernetes sample: 3 manifests validate; 7 broken variants are refused; Dockerfile as documented"
