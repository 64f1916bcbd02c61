#!/usr/bin/env bash
# Checks the Kubernetes manifests in deploy/kubernetes against each other, against dutydesk's own config rules and
# against docker/Dockerfile: kustomize renders them; the ConfigMap's dutydesk.yaml passes the real
# `dutydesk check-config` with a dummy value for each ${NAME} it uses, and each of those is set by the Deployment;
# the container ports, probes, Prometheus annotations and Service ports agree with http.listen / metrics.listen; the
# pod is locked down (non-root with the image's uid, read-only root, no privilege escalation, no capabilities) and
# has resources; a SQLite store would sit on a mounted volume.
#
# Usage: tests/deploy/check_kubernetes.sh <path to dutydesk binary> [manifests dir]
#   manifests dir: default deploy/kubernetes of this checkout (or $DUTYDESK_K8S_DIR); give a broken copy to see a
#   check fail. $DUTYDESK_DOCKERFILE overrides docker/Dockerfile.
# Prints "ok - WHAT" or "not ok - WHAT: WHY" per check, ends with exactly "N passed, M failed"; exits 1 when M > 0,
# 2 on bad usage. Needs kubectl (offline: only `kubectl kustomize`) and python3 with PyYAML.
#
# Not done: `kubectl apply --dry-run=client` and `kubectl create --dry-run=client` both need an API server (they
# download the OpenAPI schema and the resource mapping; offline they fail with "connection refused", and even with
# --validate=false), so they are not run here.
set -uo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 <path to dutydesk binary> [manifests dir]" >&2
  exit 2
fi
BIN=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${2:-${DUTYDESK_K8S_DIR:-$ROOT/deploy/kubernetes}}
DOCKERFILE=${DUTYDESK_DOCKERFILE:-$ROOT/docker/Dockerfile}
KUBECTL=${KUBECTL:-kubectl}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
ok() {
  passed=$((passed + 1))
  echo "ok - $1"
}
notok() {
  failed=$((failed + 1))
  echo "not ok - $1: $2"
}
# tally: echoes and counts the "ok - " / "not ok - " lines read from stdin.
tally() {
  local line
  while IFS= read -r line; do
    case $line in
      "ok - "*) passed=$((passed + 1)) ;;
      "not ok - "*) failed=$((failed + 1)) ;;
    esac
    echo "$line"
  done
}
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit $?
}

# 1. kustomize renders the directory.
if [[ ! -d $DIR ]]; then
  notok "kubectl kustomize $DIR" "no such directory"
  finish
fi
if "$KUBECTL" kustomize "$DIR" >"$TMP/rendered.yaml" 2>"$TMP/kustomize.err"; then
  ok "kubectl kustomize renders $(grep -c '^kind:' "$TMP/rendered.yaml") objects"
else
  notok "kubectl kustomize $DIR" "$(tr '\n' ' ' <"$TMP/kustomize.err")"
  finish
fi

# 2. The manifests among themselves (python3 + PyYAML). It writes the ConfigMap's config to $TMP/dutydesk.yaml and
# one NAME=VALUE line per ${NAME} of the config to $TMP/config.env (the Deployment's literal value, else a dummy).
cat >"$TMP/check.py" <<'PY'
import os, re, sys
import yaml

rendered, manifests, dockerfile, tmp = sys.argv[1:5]

def ok(what):
    print(f"ok - {what}")

def notok(what, why):
    print(f"not ok - {what}: {why}")

def check(what, problems):
    """problems: a list of strings; empty means ok."""
    if problems:
        notok(what, "; ".join(problems))
    else:
        ok(what)

with open(rendered) as f:
    docs = [d for d in yaml.safe_load_all(f) if d is not None]

missing = []
for i, d in enumerate(docs):
    if not isinstance(d, dict):
        missing.append(f"document {i} is not a map")
        continue
    name = (d.get("metadata") or {}).get("name") if isinstance(d.get("metadata"), dict) else None
    for key, value in (("apiVersion", d.get("apiVersion")), ("kind", d.get("kind")), ("metadata.name", name)):
        if not value:
            missing.append(f"document {i} ({d.get('kind', '?')}) has no {key}")
check("every rendered object has apiVersion, kind and metadata.name", missing)
docs = [d for d in docs if isinstance(d, dict)]

def of_kind(kind):
    return [d for d in docs if d.get("kind") == kind]

deployments, services = of_kind("Deployment"), of_kind("Service")
check("exactly one Deployment and one Service", 
      ([] if len(deployments) == 1 else [f"{len(deployments)} Deployments"]) +
      ([] if len(services) == 1 else [f"{len(services)} Services"]))
if len(deployments) != 1 or len(services) != 1:
    sys.exit(0)
dep, svc = deployments[0], services[0]
spec = dep.get("spec") or {}
pod_meta = (spec.get("template") or {}).get("metadata") or {}
pod = (spec.get("template") or {}).get("spec") or {}
containers = pod.get("containers") or []
check("the Deployment has one container", [] if len(containers) == 1 else [f"{len(containers)} containers"])
if len(containers) != 1:
    sys.exit(0)
c = containers[0]

# One dutydesk per database.
check("the Deployment runs 1 replica with strategy Recreate",
      ([] if spec.get("replicas", 1) == 1 else [f"replicas is {spec.get('replicas')}"]) +
      ([] if (spec.get("strategy") or {}).get("type") == "Recreate"
       else [f"strategy is {(spec.get('strategy') or {}).get('type', 'RollingUpdate (the default)')}"]))

# The config file named by --config comes from a ConfigMap volume.
args = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
config_path = None
for i, a in enumerate(args):
    if a in ("--config", "-c") and i + 1 < len(args):
        config_path = args[i + 1]
    elif a.startswith("--config="):
        config_path = a.split("=", 1)[1]
volumes = {v.get("name"): v for v in pod.get("volumes") or []}
mounts = c.get("volumeMounts") or []
config_text, problems = None, []
if "serve" not in args:
    problems.append(f"the container does not run serve (args {args})")
if not config_path:
    problems.append("no --config in the container's args")
else:
    d, base = os.path.split(config_path)
    for m in mounts:
        if m.get("mountPath", "").rstrip("/") == d and m.get("name") in volumes:
            cm = volumes[m["name"]].get("configMap")
            if not cm:
                continue
            key = base
            for item in cm.get("items") or []:
                if item.get("path") == base:
                    key = item.get("key")
            if cm.get("items") and not any(it.get("path") == base for it in cm["items"]):
                continue
            for obj in of_kind("ConfigMap"):
                if obj["metadata"]["name"] == cm.get("name") and key in (obj.get("data") or {}):
                    config_text = obj["data"][key]
            if config_text is None:
                problems.append(f"ConfigMap {cm.get('name')} with key {key} is not among the rendered objects")
    if config_text is None and not problems:
        problems.append(f"no ConfigMap volume is mounted at {d} providing {base}")
check(f"--config {config_path} is a key of a rendered ConfigMap, mounted", problems)
if config_text is None:
    sys.exit(0)
with open(os.path.join(tmp, "dutydesk.yaml"), "w") as f:
    f.write(config_text)
try:
    cfg = yaml.safe_load(config_text) or {}
except yaml.YAMLError as e:
    notok("the ConfigMap's config is YAML", str(e).replace("\n", " "))
    sys.exit(0)

# Every ${NAME} of the config (in values, not comments; $${ is a literal) is set by the Deployment.
names = []
def walk(x):
    if isinstance(x, dict):
        for v in x.values():
            walk(v)
    elif isinstance(x, list):
        for v in x:
            walk(v)
    elif isinstance(x, str):
        for m in re.finditer(r"(\$?)\$\{([A-Za-z_][A-Za-z0-9_]*)\}", x):
            if not m.group(1) and m.group(2) not in names:
                names.append(m.group(2))
walk(cfg)

secret_example = {}
try:
    with open(os.path.join(manifests, "secret.example.yaml")) as f:
        for d in yaml.safe_load_all(f):
            if isinstance(d, dict) and d.get("kind") == "Secret":
                secret_example[d["metadata"]["name"]] = set((d.get("stringData") or {}).keys()) | set((d.get("data") or {}).keys())
except OSError:
    pass
secrets = dict(secret_example)
for s in of_kind("Secret"):
    secrets[s["metadata"]["name"]] = set((s.get("stringData") or {}).keys()) | set((s.get("data") or {}).keys())

env = {}  # name -> literal value or None (from a Secret/ConfigMap/field)
ref_problems = []
for e in c.get("env") or []:
    if "value" in e:
        env[e["name"]] = str(e["value"])
    else:
        env[e["name"]] = None
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            if ref.get("name") not in secrets:
                ref_problems.append(f"{e['name']}: no Secret {ref.get('name')} in secret.example.yaml or the render")
            elif ref.get("key") not in secrets[ref["name"]]:
                ref_problems.append(f"{e['name']}: Secret {ref['name']} has no key {ref.get('key')}")
for src in c.get("envFrom") or []:
    ref = src.get("secretRef")
    if ref:
        if ref.get("name") in secrets:
            for k in secrets[ref["name"]]:
                env.setdefault(src.get("prefix", "") + k, None)
        else:
            ref_problems.append(f"envFrom: no Secret {ref.get('name')} in secret.example.yaml or the render")
check(f"the config uses {len(names)} ${{NAME}} variables ({', '.join(names)})",
      [] if names else ["none: a secret is written literally, or the extraction is broken"])
check("every ${NAME} of the config is set by the Deployment's env",
      [f"{n} is not in the container's env" for n in names if n not in env])
check("the Deployment's secretKeyRefs name keys of the Secret (secret.example.yaml)", ref_problems)
placeholders = [s["metadata"]["name"] for s in of_kind("Secret")
                if re.search(r"replace.?me", yaml.safe_dump(s.get("stringData") or s.get("data") or {}), re.I)]
check("no rendered Secret holds placeholder values", [f"Secret {n}" for n in placeholders])
with open(os.path.join(tmp, "config.env"), "w") as f:
    for n in names:
        f.write(f"{n}={env[n] if env.get(n) is not None else 'dummy-' + n.lower()}\n")

# Ports: container ports = the listen addresses, on all interfaces.
ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
def listen(section):
    value = ((cfg.get(section) or {}) if isinstance(cfg.get(section), dict) else {}).get("listen")
    default = {"http": "127.0.0.1:8090", "metrics": "127.0.0.1:9464"}[section]
    value = str(value) if value is not None else default
    host, _, port = value.rpartition(":")
    return value, host, int(port) if port.isdigit() else None
for section, port_name in (("http", "http"), ("metrics", "metrics")):
    value, host, port = listen(section)
    problems = []
    if host not in ("0.0.0.0", "[::]"):
        problems.append(f"{section}.listen is {value}: kubelet and Prometheus cannot reach {host} (use 0.0.0.0)")
    if port_name not in ports:
        problems.append(f"no container port named {port_name}")
    elif ports[port_name] != port:
        problems.append(f"container port {port_name} is {ports[port_name]}, {section}.listen is {value}")
    check(f"container port {port_name} = {section}.listen {value}, on all interfaces", problems)
http_port = listen("http")[2]
metrics_port = listen("metrics")[2]

def port_is(p, name, number):
    return p == name or (isinstance(p, int) and p == number)

# Probes.
for probe, path, required in (("livenessProbe", "/healthz", True), ("readinessProbe", "/readyz", True),
                              ("startupProbe", "/healthz", False)):
    pr = c.get(probe)
    if pr is None:
        if required:
            notok(f"{probe} is GET {path} on the http port", "missing")
        continue
    g = pr.get("httpGet") or {}
    problems = []
    if g.get("path") != path:
        problems.append(f"path is {g.get('path')}")
    if not port_is(g.get("port"), "http", http_port):
        problems.append(f"port is {g.get('port')}, not http ({http_port})")
    check(f"{probe} is GET {path} on the http port", problems)

# Prometheus annotations (pod and Service).
for where, ann in (("pod", pod_meta.get("annotations") or {}), ("Service", (svc.get("metadata") or {}).get("annotations") or {})):
    problems = []
    if ann.get("prometheus.io/scrape") != "true":
        problems.append(f"prometheus.io/scrape is {ann.get('prometheus.io/scrape')!r}")
    if ann.get("prometheus.io/port") != str(metrics_port):
        problems.append(f"prometheus.io/port is {ann.get('prometheus.io/port')!r}, metrics.listen's port is {metrics_port}")
    if ann.get("prometheus.io/path") != "/metrics":
        problems.append(f"prometheus.io/path is {ann.get('prometheus.io/path')!r}")
    check(f"the {where}'s prometheus.io annotations: scrape, port {metrics_port}, path /metrics", problems)

# Service: selects the pod, its targetPorts are container ports, http and metrics are exposed.
sspec = svc.get("spec") or {}
labels = pod_meta.get("labels") or {}
sel = sspec.get("selector") or {}
check("the Service's selector matches the pod's labels",
      [] if sel and all(labels.get(k) == v for k, v in sel.items()) else [f"selector {sel}, pod labels {labels}"])
problems, targets = [], set()
for p in sspec.get("ports") or []:
    t = p.get("targetPort", p.get("port"))
    hit = [n for n, num in ports.items() if t == n or t == num]
    if not hit:
        problems.append(f"port {p.get('name')}: targetPort {t} is no container port")
    targets.update(hit)
for n in ("http", "metrics"):
    if n in ports and n not in targets:
        problems.append(f"container port {n} is not exposed")
check("the Service's targetPorts resolve to the container's http and metrics ports", problems)

# Security context: the container's value wins over the pod's.
psc, csc = pod.get("securityContext") or {}, c.get("securityContext") or {}
def eff(key):
    return csc.get(key, psc.get(key))
check("runAsNonRoot is true", [] if eff("runAsNonRoot") is True else [f"runAsNonRoot is {eff('runAsNonRoot')}"])
check("readOnlyRootFilesystem is true", [] if csc.get("readOnlyRootFilesystem") is True
      else [f"readOnlyRootFilesystem is {csc.get('readOnlyRootFilesystem')}"])
check("allowPrivilegeEscalation is false", [] if csc.get("allowPrivilegeEscalation") is False
      else [f"allowPrivilegeEscalation is {csc.get('allowPrivilegeEscalation')}"])
drop = [str(x).upper() for x in ((csc.get("capabilities") or {}).get("drop") or [])]
add = (csc.get("capabilities") or {}).get("add") or []
check("capabilities drop ALL and add none", ([] if "ALL" in drop else [f"drop is {drop}"]) + ([f"add is {add}"] if add else []))
sp = (eff("seccompProfile") or {}).get("type")
check("seccompProfile is RuntimeDefault", [] if sp in ("RuntimeDefault", "Localhost") else [f"seccompProfile is {sp}"])
check("the container is not privileged", [f"privileged is true"] if csc.get("privileged") is True else [])

res = c.get("resources") or {}
check("resources requests and limits set cpu and memory",
      [f"{kind}.{r} missing" for kind in ("requests", "limits") for r in ("cpu", "memory")
       if not (res.get(kind) or {}).get(r)])

# runAsUser = the image's dutydesk user.
what = "runAsUser equals the uid of docker/Dockerfile's dutydesk user"
if not os.path.isfile(dockerfile):
    notok(what, "docker/Dockerfile missing")
else:
    with open(dockerfile) as f:
        text = f.read()
    m = re.search(r"--uid[= ]+(\d+)", text)
    if not m:
        notok(what, "no --uid NNNN in docker/Dockerfile")
    else:
        uid = int(m.group(1))
        problems = []
        for where, sc in (("pod", psc), ("container", csc)):
            if "runAsUser" in sc and sc["runAsUser"] != uid:
                problems.append(f"the {where}'s runAsUser is {sc['runAsUser']}")
        if eff("runAsUser") is None:
            problems.append("runAsUser is not set")
        check(f"{what} ({uid})", problems)
        m = re.search(r"groupadd[^\n]*--gid[= ]+(\d+)", text)
        if m:
            gid = int(m.group(1))
            check(f"runAsGroup and fsGroup equal the dutydesk group's gid ({gid})",
                  [f"{k} is {v}" for k, v in (("runAsGroup", eff("runAsGroup")), ("fsGroup", psc.get("fsGroup")))
                   if v is not None and v != gid])

# Writable places: /tmp, and a SQLite store's directory, must be mounted volumes (the root fs is read-only).
def mounted_writable(path):
    for m in mounts:
        mp = m.get("mountPath", "").rstrip("/") or "/"
        if (path == mp or path.startswith(mp + "/")) and not m.get("readOnly") and m.get("name") in volumes \
                and not (volumes[m["name"]].get("configMap") or volumes[m["name"]].get("secret")):
            return m
    return None
check("a writable volume is mounted at /tmp", [] if mounted_writable("/tmp") else ["none"])
url = str(((cfg.get("storage") or {}) if isinstance(cfg.get("storage"), dict) else {}).get("url")
          or "sqlite:///var/lib/dutydesk/dutydesk.db")
if url.startswith("sqlite:"):
    path = url[len("sqlite://"):] if url.startswith("sqlite://") else url[len("sqlite:"):]
    d = os.path.dirname(path)
    m = mounted_writable(d)
    check(f"the SQLite store {path} is on a mounted writable volume",
          [] if m else [f"nothing writable is mounted at {d}; the root file system is read-only"])
else:
    ok(f"the store is not SQLite on the read-only root ({url.split(':', 1)[0]})")
PY

python3 "$TMP/check.py" "$TMP/rendered.yaml" "$DIR" "$DOCKERFILE" "$TMP" >"$TMP/checks.out" 2>"$TMP/checks.err"
py_rc=$?
tally <"$TMP/checks.out"
if [[ $py_rc -ne 0 ]]; then
  notok "the manifest checks ran" "python3 exit $py_rc: $(tail -3 "$TMP/checks.err" | tr '\n' ' ')"
fi

# 3. The ConfigMap's config passes the real check-config, with only the ${NAME} variables set.
what="dutydesk check-config accepts the ConfigMap's config"
if [[ ! -f $TMP/dutydesk.yaml ]]; then
  notok "$what" "no config was extracted"
elif [[ ! -x $BIN ]]; then
  notok "$what" "$BIN is not an executable"
else
  mapfile -t vars <"$TMP/config.env"
  env -i PATH=/usr/bin:/bin "${vars[@]}" "$BIN" check-config --config "$TMP/dutydesk.yaml" >"$TMP/cc.out" 2>"$TMP/cc.err"
  rc=$?
  if [[ $rc -eq 0 ]] && grep -qx "$TMP/dutydesk.yaml: ok" "$TMP/cc.out"; then
    ok "$what"
  else
    notok "$what" "exit $rc: $(sed "s|$TMP/||" "$TMP/cc.err" | tr '\n' ' ')"
  fi
fi

finish
