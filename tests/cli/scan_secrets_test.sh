#!/usr/bin/env bash
# Checks scripts/scan_secrets.sh on made-up logs: each kind of secret it must collect (also through ${ENV}) is found
# when planted in a log (literally, JSON-escaped, as base64 of user:password), hits name the file and the secret but
# never print its value, clean logs pass, the configs themselves are not scanned, and bad invocations are exit 2.
# Usage: tests/cli/scan_secrets_test.sh [path to a dutydesk binary, for the --dutydesk report check]
# Prints one line per failed check and ends with exactly "N passed, M failed"; exits 1 when M > 0.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCAN=$HERE/../../scripts/scan_secrets.sh
BIN=${1:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

# scan ARGS...: runs the scanner; sets RC and OUT (stdout and stderr).
scan() {
  OUT=$(env -i PATH=/usr/bin:/bin HOME="$TMP" "${EXTRA_ENV[@]}" bash "$SCAN" "$@" 2>&1)
  RC=$?
}
EXTRA_ENV=()
check() { # check NAME CONDITION...
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $name (rc $RC)"
    sed 's/^/    /' <<<"$OUT"
  fi
}
has() { grep -qF -- "$1" <<<"$OUT"; }
lacks() { ! grep -qF -- "$1" <<<"$OUT"; }

RC_TOKEN=rc-pat-AAAA1111BBBB2222
JIRA_TOKEN=jira-api-token-CCCC3333
HOOK=webhook-secret-DDDD4444
ONCALL=oncall-token-EEEE5555
PG_PASS=pg-pass-FFFF6666
NATS_PASS=nats-pass-GGGG7777
SINK=sink-secret-HHHH8888
ENV_TOKEN=from-the-env-IIII9999

mkdir -p "$TMP/cfg" "$TMP/logs/sub"
cat >"$TMP/cfg/dutydesk.yaml" <<EOF
rocketchat:
  url: http://127.0.0.1:3000
  user_id: B0tB0tB0tB0tB0tB0
  auth_token: $RC_TOKEN
jira:
  url: http://127.0.0.1:8080
  flavor: cloud
  auth:
    type: basic
    user: bot@example.com
    token: $JIRA_TOKEN
  webhook_secret: $HOOK
oncall:
  url: http://127.0.0.1:8081
  token: \${ONCALL_FROM_ENV}
storage:
  url: postgresql://dutydesk:$PG_PASS@127.0.0.1:5432/dutydesk
events:
  nats_url: nats://events:$NATS_PASS@127.0.0.1:4222
  webhooks:
    - { url: "https://hooks.example.com/x", secret: "$SINK" }
channels: []
EOF
cat >"$TMP/cfg/other.yaml" <<EOF
rocketchat:
  url: http://127.0.0.1:3000
  username: dutydesk
  password: "\${RC_PASSWORD}"
jira:
  url: http://127.0.0.1:8080
  auth: { token: short }
  webhook_secret: x
oncall: { url: "http://127.0.0.1:8081", token: oncall-token-000000000000 }
EOF
echo "2026-12-01 09:00:00 info dutydesk starts; config ok" >"$TMP/logs/dutydesk.log"
echo "nothing to see" >"$TMP/logs/sub/other.log"
cp "$TMP/cfg/dutydesk.yaml" "$TMP/logs/dutydesk.yaml" # a config inside the log dir is skipped when named
EXTRA_ENV=(ONCALL_FROM_ENV=$ONCALL RC_PASSWORD="$ENV_TOKEN")
configs=("$TMP/logs/dutydesk.yaml" "$TMP/cfg/other.yaml")

scan "$TMP/logs" "${configs[@]}"
check "clean logs pass" test "$RC" -eq 0
check "the counts are printed" has "2 files, 13 secrets from 2 configs, 0 reports, 0 metrics pages: 0 hits"
check "short secrets are named, not scanned" has "too short to scan: jira.auth.token in $TMP/cfg/other.yaml (5 characters)"
check "the webhook secret x is too short" has "too short to scan: jira.webhook_secret"
check "no secret value printed on a clean run" lacks "$ENV_TOKEN"

# plant FILE TEXT NAME: the scan fails naming FILE and NAME, and prints no secret value.
plant() {
  local file=$1 text=$2 name=$3
  printf '%s\n' "$text" >>"$TMP/logs/$file"
  scan "$TMP/logs" "${configs[@]}"
  check "$name in $file is found" test "$RC" -eq 1
  check "$name in $file is named" has "scan_secrets: $TMP/logs/$file: contains $name"
  for v in "$RC_TOKEN" "$JIRA_TOKEN" "$HOOK" "$ONCALL" "$PG_PASS" "$NATS_PASS" "$SINK" "$ENV_TOKEN"; do
    check "$name: no value printed" lacks "$v"
  done
  rm -f "$TMP/logs/$file"
  echo "nothing to see" >"$TMP/logs/sub/other.log"
}
plant leak1.log "GET /api/v1/me X-Auth-Token: $RC_TOKEN" "rocketchat.auth_token"
plant sub/other.log "Authorization: Basic $(printf 'bot@example.com:%s' "$JIRA_TOKEN" | base64 -w0)" \
  "jira.auth user:token as base64"
plant leak2.log "jira token $JIRA_TOKEN" "jira.auth.token"
plant leak3.log "signing with $HOOK" "jira.webhook_secret"
plant leak4.log "oncall said 401 for $ONCALL" "oncall.token"
plant leak5.log "cannot connect to postgresql://dutydesk:$PG_PASS@127.0.0.1" "storage.url password"
plant leak6.log "Authorization: Basic $(printf 'dutydesk:%s' "$PG_PASS" | base64 -w0)" "storage.url user:password as base64"
plant leak7.log "nats: nats://events:$NATS_PASS@127.0.0.1:4222" "events.nats_url password"
plant leak8.log "{\"secret\":\"$SINK\"}" "events.webhooks[0].secret"
plant leak9.log "rc password $ENV_TOKEN" "rocketchat.password"
plant leak10.log "digest $(printf '%s' "$ENV_TOKEN" | sha256sum | cut -d' ' -f1)" "rocketchat.password as its SHA-256 digest"
printf 'binary\0%s\0' "$HOOK" >"$TMP/logs/dd.db"
scan "$TMP/logs" "${configs[@]}"
check "a secret in a binary file is found" test "$RC" -eq 1
rm -f "$TMP/logs/dd.db"

# A secret with characters that JSON escapes, in a JSON log line.
cat >"$TMP/cfg/quoted.yaml" <<'EOF'
jira:
  webhook_secret: 'quote"and\backslash'
EOF
printf '{"msg":"secret is quote\\"and\\\\backslash"}\n' >"$TMP/logs/json.log"
scan "$TMP/logs" "$TMP/cfg/quoted.yaml" "${configs[@]}"
check "a JSON-escaped secret is found" has "json.log: contains jira.webhook_secret (from $TMP/cfg/quoted.yaml)"
rm -f "$TMP/logs/json.log"

# The config named is skipped; the same config not named is a hit.
scan "$TMP/logs" "$TMP/cfg/dutydesk.yaml"
check "an unnamed config copy in the log dir is a hit" test "$RC" -eq 1
check "an unnamed config copy names the file" has "$TMP/logs/dutydesk.yaml: contains rocketchat.auth_token"

# An unset ${ENV} is reported, not fatal.
EXTRA_ENV=()
scan "$TMP/logs" "${configs[@]}"
check "an unset variable is named" has 'oncall.token: ${ONCALL_FROM_ENV} is not set; not scanned'
check "an unset variable does not fail a clean scan" test "$RC" -eq 0

# /metrics snapshots (tests/e2e/lib.mjs keeps a metrics.txt per stack): counted, scanned, and required on demand.
scan --require-metrics "$TMP/logs" "${configs[@]}"
check "--require-metrics without a snapshot is exit 2" test "$RC" -eq 2
printf '# TYPE dutydesk_requests_created_total counter\ndutydesk_requests_created_total{team="cicd",source="chat"} 3\n' \
  >"$TMP/logs/metrics.txt"
scan --require-metrics "$TMP/logs" "${configs[@]}"
check "a clean snapshot passes" test "$RC" -eq 0
check "the snapshot is counted" has ", 0 reports, 1 metrics pages: 0 hits"
plant metrics.txt "dutydesk_outbound_calls_total{system=\"$RC_TOKEN\"} 1" "rocketchat.auth_token"

# Usage errors.
scan "$TMP/logs"
check "no config is a usage error" test "$RC" -eq 2
scan "$TMP/nope" "${configs[@]}"
check "a missing log dir is exit 2" test "$RC" -eq 2
scan "$TMP/logs" "$TMP/cfg/missing.yaml"
check "a missing config is exit 2" test "$RC" -eq 2
mkdir -p "$TMP/empty"
scan "$TMP/empty" "${configs[@]}"
check "an empty log dir is exit 2" test "$RC" -eq 2
printf 'jira:\n  url: http://x\n' >"$TMP/cfg/none.yaml"
scan "$TMP/logs" "$TMP/cfg/none.yaml"
check "a config without secrets is exit 2" test "$RC" -eq 2
printf 'jira: [unclosed\n' >"$TMP/cfg/broken.yaml"
scan "$TMP/logs" "$TMP/cfg/broken.yaml"
check "a broken config is exit 2" test "$RC" -eq 2

# dutydesk report's output is scanned too (needs the binary and a store it can read).
if [[ -n "$BIN" ]]; then
  cat >"$TMP/cfg/report.yaml" <<EOF
rocketchat: { url: "http://127.0.0.1:3000", user_id: B0tB0tB0tB0tB0tB0, auth_token: $RC_TOKEN }
jira: { url: "http://127.0.0.1:8080", auth: { token: $JIRA_TOKEN }, webhook_secret: $HOOK }
oncall: { url: "http://127.0.0.1:8081", token: $ONCALL }
storage: { url: "sqlite://$TMP/report.db" }
statuses: [ { id: open, label: Open }, { id: done, label: Done, final: true } ]
channels:
  - { room: cicd-support, team: cicd, jira: { project: CICD }, oncall: { schedule_id: S, fallback: [dave] } }
EOF
  "$BIN" migrate --config "$TMP/cfg/report.yaml" >/dev/null 2>&1 || true
  scan --dutydesk "$BIN" "$TMP/logs" "$TMP/cfg/report.yaml" "${configs[@]}"
  check "reports are run and scanned" has ", 3 reports, 0 metrics pages: 0 hits"
  check "a clean report passes" test "$RC" -eq 0
fi

# A user name alone is a secret in a NATS URL (nats://TOKEN@host), not in a PostgreSQL one: a report that cannot
# reach postgresql://postgres@host/postgres names the database, and that is no leak.
cat >"$TMP/cfg/userinfo.yaml" <<EOF
storage: { url: "postgresql://postgres@127.0.0.1:1/postgres" }
events: { nats_url: "nats://nats-token-JJJJ0000@127.0.0.1:4222" }
EOF
mkdir -p "$TMP/logs3"
echo "cannot read postgresql://***@127.0.0.1:1/postgres: connection refused" >"$TMP/logs3/dutydesk.log"
scan "$TMP/logs3" "$TMP/cfg/userinfo.yaml"
check "a PostgreSQL user name is not a secret" test "$RC" -eq 0
check "a NATS token is one" has "1 secrets from 1 configs"
echo "nats connect nats-token-JJJJ0000@127.0.0.1" >"$TMP/logs3/nats.log"
scan "$TMP/logs3" "$TMP/cfg/userinfo.yaml"
check "a NATS token in a log is found" has "contains events.nats_url token"
check "a NATS token in a log fails" test "$RC" -eq 1

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
