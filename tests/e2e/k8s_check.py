#!/usr/bin/python3
"""k8s_check.py MANIFEST...: validates Kubernetes manifests offline against
the API models of Debian's python3-kubernetes (the OpenAPI types of the
Kubernetes API): every key must be a field of its object, every value of
its field's type, every required field present; then reprise's own rules
for the sample (an Indexed Job whose pods replay shard
$JOB_COMPLETION_INDEX/$SHARDS with --start-at, mounts that name existing
volumes, a claim that exists). Templates are filled with sample values
first (the ${VAR} that envsubst fills). Prints one line per problem and
exits 1 when there is any; 0 with "ok" otherwise."""
import re
import sys

import kubernetes.client as k8s
import yaml

SAMPLE = {"IMAGE": "registry.example/reprise:1", "SHARDS": "3",
          "TARGET": "http://staging.example:8080", "SPEED": "10",
          "START_AT": "2026-12-07T12:00:00Z", "LABEL": "release-42",
          "CORPUS_URL": "https://files.example/prod.db", "BASELINE": "v41"}
KINDS = {("batch/v1", "Job"): "V1Job",
         ("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim",
         ("v1", "ConfigMap"): "V1ConfigMap"}
PRIMITIVE = {"str": str, "int": int, "bool": bool, "float": (int, float),
             "object": object}
problems = []


def check(value, typ, path):
    """Checks value against an OpenAPI type name such as 'V1JobSpec',
    'list[V1Container]', 'dict(str, str)' or 'str'."""
    if value is None:
        return
    m = re.match(r"list\[(.*)\]$", typ)
    if m:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        for i, v in enumerate(value):
            check(v, m.group(1), f"{path}[{i}]")
        return
    m = re.match(r"dict\(([^,]*), (.*)\)$", typ)
    if m:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map, got {type(value).__name__}")
            return
        for k, v in value.items():
            check(v, m.group(2), f"{path}.{k}")
        return
    if typ in PRIMITIVE:
        if typ == "str" and isinstance(value, (int, float)) and not isinstance(value, bool):
            problems.append(f"{path}: expected a string, got the number {value} (quote it)")
        elif not isinstance(value, PRIMITIVE[typ]) or (typ == "int" and isinstance(value, bool)):
            problems.append(f"{path}: expected {typ}, got {type(value).__name__}")
        return
    cls = getattr(k8s, typ, None)
    if cls is None:  # a type the client keeps opaque (IntOrString...)
        return
    if not isinstance(value, dict):
        problems.append(f"{path}: expected an object ({typ}), got {type(value).__name__}")
        return
    by_json = {v: k for k, v in cls.attribute_map.items()}
    for k, v in value.items():
        if k not in by_json:
            problems.append(f"{path}: unknown field '{k}' of {typ}")
            continue
        check(v, cls.openapi_types[by_json[k]], f"{path}.{k}")
    # required fields: the model's constructor refuses a None for them
    try:
        cls(**{by_json[k]: "x" for k in value if k in by_json})
    except ValueError as e:
        problems.append(f"{path}: {e}")
    except TypeError:
        pass


def fill(text):
    return re.sub(r"\$\{(\w+)\}", lambda m: SAMPLE.get(m.group(1), m.group(0)), text)


def reprise_rules(docs):
    claims = {d["metadata"]["name"] for d in docs if d.get("kind") == "PersistentVolumeClaim"}
    for d in docs:
        if d.get("kind") != "Job":
            continue
        name = d["metadata"]["name"]
        spec = d.get("spec", {})
        pod = spec.get("template", {}).get("spec", {})
        vols = {v["name"]: v for v in pod.get("volumes", [])}
        for v in vols.values():
            c = v.get("persistentVolumeClaim", {}).get("claimName")
            if c and claims and c not in claims:
                problems.append(f"{name}: volume {v['name']} claims '{c}', which no manifest defines")
        for c in pod.get("initContainers", []) + pod.get("containers", []):
            for m in c.get("volumeMounts", []):
                if m["name"] not in vols:
                    problems.append(f"{name}: {c['name']} mounts '{m['name']}', which is no volume of the pod")
            if not c.get("image"):
                problems.append(f"{name}: container {c.get('name')} has no image")
        text = yaml.safe_dump(d)
        if "reprise replay" in text:
            if spec.get("completionMode") != "Indexed":
                problems.append(f"{name}: completionMode must be Indexed (JOB_COMPLETION_INDEX is the shard)")
            if str(spec.get("completions")) != SAMPLE["SHARDS"] or str(spec.get("parallelism")) != SAMPLE["SHARDS"]:
                problems.append(f"{name}: completions and parallelism must both be the shard count")
            for want in ("--shard \"$JOB_COMPLETION_INDEX/$SHARDS\"", "--start-at", "JOB_COMPLETION_INDEX"):
                if want not in text:
                    problems.append(f"{name}: the replay command lacks {want}")
            if pod.get("restartPolicy") != "Never":
                problems.append(f"{name}: a replayed shard must not restart (restartPolicy Never)")


def main(paths):
    docs = []
    for p in paths:
        for d in yaml.safe_load_all(fill(open(p).read())):
            if d is None:
                continue
            docs.append(d)
            key = (d.get("apiVersion"), d.get("kind"))
            if key not in KINDS:
                problems.append(f"{p}: unknown kind {key}")
                continue
            check(d, KINDS[key], f"{p}:{d['kind']}")
    reprise_rules(docs)
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"ok: {len(docs)} manifests")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
