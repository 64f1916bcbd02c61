#!/usr/bin/env bash
# Scans logs for the secrets of dutydesk configurations: no token, password or webhook secret may ever be written
# to a log, an error, /metrics or a report.
#
# Usage: scripts/scan_secrets.sh [--dutydesk BIN] [--metrics-url URL]... [--require-metrics] LOG_DIR CONFIG...
#
# Collects every secret value the CONFIG files hold — rocketchat.auth_token and .password (and the SHA-256 digest a
# DDP password login sends), jira.auth.token (and, for basic auth, base64 of user:token as the Authorization header
# carries it), jira.webhook_secret, oncall.token, events.webhooks[].secret, and the credentials in any URL
# (storage.url, events.nats_url, webhook and service URLs: the password, a NATS token, base64 of user:password, a
# password= query parameter) — after ${NAME} expansion from the environment, as dutydesk does. Then greps every
# file under LOG_DIR (recursively; the CONFIG files themselves are skipped) for each secret: literally, and as it
# looks JSON-escaped or percent-encoded when that differs.
#   --dutydesk BIN     also runs `BIN report --config CONFIG --since 2000-01-01` (json, csv and table) for every
#                      CONFIG and scans its output and errors; at least one report must succeed.
#   --metrics-url URL  also fetches URL (a running dutydesk's /metrics) and scans it; repeatable.
#   --require-metrics  fails (exit 2) unless some /metrics page was scanned: fetched, or a file named metrics.txt
#                      under LOG_DIR (tests/e2e/lib.mjs keeps one per stack with E2E_KEEP).
# Secrets shorter than SCAN_SECRETS_MIN_LENGTH (default 8) characters are not scanned (any log would match them);
# they are listed on stderr by name.
#
# Prints what it scanned ("scan_secrets: N files, M secrets from K configs, R reports, P metrics pages") and every
# hit as "scan_secrets: FILE: contains SECRET-NAME (from CONFIG)" — never a secret's value. Exit status: 0 clean,
# 1 a secret was found, 2 a usage error or nothing to scan (no files, no secrets, no successful report, no
# /metrics page when required).
# Needs python3 with PyYAML (Debian: python3-yaml).
set -euo pipefail

usage() {
  sed -n '5p' "$0" | sed 's/^# //' >&2
  exit 2
}

dutydesk=""
metrics_urls=()
require_metrics=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dutydesk) [[ $# -ge 2 ]] || usage; dutydesk=$2; shift 2 ;;
    --metrics-url) [[ $# -ge 2 ]] || usage; metrics_urls+=("$2"); shift 2 ;;
    --require-metrics) require_metrics=1; shift ;;
    --help|-h) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) echo "scan_secrets: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[[ $# -ge 2 ]] || usage
log_dir=$1
shift
if [[ ! -d "$log_dir" ]]; then
  echo "scan_secrets: $log_dir is not a directory" >&2
  exit 2
fi
for c in "$@"; do
  if [[ ! -r "$c" ]]; then
    echo "scan_secrets: cannot read config $c" >&2
    exit 2
  fi
done
if [[ -n "$dutydesk" && ! -x "$dutydesk" ]]; then
  echo "scan_secrets: --dutydesk $dutydesk is not executable" >&2
  exit 2
fi

extra=$(mktemp -d)
trap 'rm -rf "$extra"' EXIT

# Outputs of `dutydesk report` and /metrics pages, scanned like the logs.
reports_ok=0
if [[ -n "$dutydesk" ]]; then
  n=0
  for c in "$@"; do
    n=$((n + 1))
    for format in json csv table; do
      out="$extra/report-$n.$format"
      if "$dutydesk" report --config "$c" --since 2000-01-01 --format "$format" >"$out" 2>"$out.err"; then
        reports_ok=$((reports_ok + 1))
      else
        echo "scan_secrets: warning: report --format $format for $c failed (its errors are scanned too)" >&2
      fi
    done
  done
  if [[ $reports_ok -eq 0 ]]; then
    echo "scan_secrets: --dutydesk given but no report succeeded" >&2
    exit 2
  fi
fi
pages=0
for url in "${metrics_urls[@]}"; do
  pages=$((pages + 1))
  if ! curl -fsS --max-time 10 "$url" >"$extra/metrics-$pages.txt" 2>"$extra/metrics-$pages.err"; then
    echo "scan_secrets: cannot fetch $url" >&2
    exit 2
  fi
done

# Not exec: the EXIT trap removes $extra (the reports and pages) after the scan.
set +e
python3 - "$log_dir" "$extra" "$reports_ok" "$pages" "$require_metrics" "$@" <<'PY'
import base64, hashlib, json, os, re, sys, urllib.parse

try:
    import yaml
except ImportError:
    print("scan_secrets: python3 has no yaml module (Debian: apt-get install python3-yaml)", file=sys.stderr)
    sys.exit(2)

log_dir, extra_dir, reports, pages = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
require_metrics = sys.argv[5] == "1"
configs = sys.argv[6:]
min_length = int(os.environ.get("SCAN_SECRETS_MIN_LENGTH", "8"))

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def expand(text, where, config):
    """${NAME} from the environment, $${ a literal ${ (config/load.cpp). None when a variable is unset."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$${", i):
            out.append("${")
            i += 3
        elif text.startswith("${", i):
            close = text.find("}", i + 2)
            name = text[i + 2:close] if close >= 0 else ""
            if not ENV_NAME.match(name):
                print(f"scan_secrets: warning: {config}: {where}: malformed ${{...}}; taken as written", file=sys.stderr)
                return text
            if name not in os.environ:
                print(f"scan_secrets: warning: {config}: {where}: ${{{name}}} is not set; not scanned", file=sys.stderr)
                return None
            out.append(os.environ[name])
            i = close + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def scalar(node):
    if node is None or isinstance(node, (dict, list)):
        return None
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


secrets = {}  # value -> set of "name (from config)"
short = []


def add(value, name, config):
    if not value:
        return
    if len(value) < min_length:
        short.append(f"{name} in {config} ({len(value)} characters)")
        return
    secrets.setdefault(value, set()).add(f"{name} (from {config})")


def get(tree, *path):
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def text_at(tree, config, *path):
    v = scalar(get(tree, *path))
    return None if v is None else expand(v, ".".join(path), config)


def url_credentials(url, name, config):
    if not url:
        return
    parts = urllib.parse.urlsplit(url)
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        user, sep, password = userinfo.partition(":")
        if sep:
            add(password, f"{name} password", config)
            add(urllib.parse.unquote(password), f"{name} password", config)
            add(base64.b64encode(f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}".encode()).decode(),
                f"{name} user:password as base64", config)
        elif parts.scheme.lower() in ("nats", "tls"):
            add(user, f"{name} token", config)  # nats://TOKEN@host
            add(urllib.parse.unquote(user), f"{name} token", config)
        # elsewhere (postgresql://postgres@host, https://user@host) a user name alone is no secret
    for key, value in urllib.parse.parse_qsl(parts.query):
        if key.lower() in ("password", "pass", "token", "secret", "auth_token"):
            add(value, f"{name} {key}=", config)


for config in configs:
    try:
        with open(config, encoding="utf-8") as f:
            tree = yaml.safe_load(f) or {}
    except Exception as e:  # a broken file is a usage error, not a clean scan
        print(f"scan_secrets: cannot parse {config}: {type(e).__name__}", file=sys.stderr)
        sys.exit(2)
    t = lambda *p: text_at(tree, config, *p)
    add(t("rocketchat", "auth_token"), "rocketchat.auth_token", config)
    password = t("rocketchat", "password")
    add(password, "rocketchat.password", config)
    if password:
        add(hashlib.sha256(password.encode()).hexdigest(), "rocketchat.password as its SHA-256 digest", config)
    token = t("jira", "auth", "token")
    add(token, "jira.auth.token", config)
    user = t("jira", "auth", "user")
    if token and user is not None and (t("jira", "auth", "type") or "bearer") == "basic":
        add(base64.b64encode(f"{user}:{token}".encode()).decode(), "jira.auth user:token as base64", config)
    add(t("jira", "webhook_secret"), "jira.webhook_secret", config)
    add(t("oncall", "token"), "oncall.token", config)
    for name, path in (("rocketchat.url", ("rocketchat", "url")), ("jira.url", ("jira", "url")),
                       ("oncall.url", ("oncall", "url")), ("oncall.grafana_url", ("oncall", "grafana_url")),
                       ("storage.url", ("storage", "url")), ("events.nats_url", ("events", "nats_url"))):
        url_credentials(t(*path), name, config)
    hooks = get(tree, "events", "webhooks")
    for i, hook in enumerate(hooks if isinstance(hooks, list) else []):
        add(text_at(hook, config, "secret"), f"events.webhooks[{i}].secret", config)
        url_credentials(text_at(hook, config, "url"), f"events.webhooks[{i}].url", config)

for s in short:
    print(f"scan_secrets: warning: too short to scan: {s}", file=sys.stderr)
if not secrets:
    print("scan_secrets: the configs hold no secret to scan for", file=sys.stderr)
    sys.exit(2)

# How each secret may appear: as is, JSON-escaped, percent-encoded.
needles = []  # (bytes, names)
for value, names in secrets.items():
    forms = {value, json.dumps(value)[1:-1], urllib.parse.quote(value, safe="")}
    for form in forms:
        needles.append((form.encode(), names))

skip = {os.path.realpath(c) for c in configs}
files = []
for root, dirs, names in os.walk(log_dir):
    dirs.sort()
    for n in sorted(names):
        p = os.path.join(root, n)
        if os.path.isfile(p) and not os.path.islink(p) and os.path.realpath(p) not in skip:
            files.append((p, p))
            if n == "metrics.txt":
                pages += 1
for n in sorted(os.listdir(extra_dir)):
    label = "dutydesk report output" if n.startswith("report-") else "/metrics page"
    files.append((os.path.join(extra_dir, n), f"{label} {n}"))
if not any(p for p, _ in files if not p.startswith(extra_dir)):
    print(f"scan_secrets: no files under {log_dir}", file=sys.stderr)
    sys.exit(2)
if require_metrics and pages == 0:
    print(f"scan_secrets: --require-metrics, but no metrics.txt under {log_dir} and no --metrics-url", file=sys.stderr)
    sys.exit(2)

hits = 0
for path, label in files:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        print(f"scan_secrets: cannot read {label}: {e.strerror}", file=sys.stderr)
        sys.exit(2)
    found = set()
    for needle, names in needles:
        if needle in data:
            found.update(names)
    for name in sorted(found):
        print(f"scan_secrets: {label}: contains {name}")
        hits += 1

print(f"scan_secrets: {len(files)} files, {len(secrets)} secrets from {len(configs)} configs, "
      f"{reports} reports, {pages} metrics pages: {hits} hits")
sys.exit(1 if hits else 0)
PY
exit $?
