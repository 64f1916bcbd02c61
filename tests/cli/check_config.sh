#!/usr/bin/env bash
# Runs the real dutydesk binary: check-config on good and bad files (exit codes and exact output lines), version,
# serve/report behaviour and report's argument errors, and that no secret reaches any output.
# Usage: tests/cli/check_config.sh <path to dutydesk binary>
# Prints one line per failed check and ends with exactly "N passed, M failed"; exits 1 when M > 0.
set -euo pipefail

if [[ $# -ne 1 || ! -x "$1" ]]; then
  echo "usage: $0 <path to dutydesk binary>" >&2
  exit 2
fi
BIN=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA=$HERE/../data/config
DATA=$(cd "$DATA" && pwd)
SOURCE=$(cd "$HERE/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

passed=0
failed=0
RC=0

# run ARGS...: runs the binary with a clean, fixed environment; sets RC, writes $TMP/out and $TMP/err.
run() {
  set +e
  env -i PATH=/usr/bin:/bin "${EXTRA_ENV[@]}" "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  set -e
}
EXTRA_ENV=()

ok() { passed=$((passed + 1)); }
fail() {
  failed=$((failed + 1))
  echo "FAIL: $*"
}

# expect_rc NAME CODE
expect_rc() {
  if [[ $RC -eq $2 ]]; then ok; else fail "$1: exit code $RC, expected $2 (stderr: $(head -c 300 "$TMP/err"))"; fi
}

# expect_file NAME STREAM EXPECTED: the whole stream (out|err) must equal EXPECTED (plus a final newline).
expect_file() {
  local actual
  actual=$(cat "$TMP/$2")
  if [[ "$actual" == "$3" ]]; then ok; else
    fail "$1: $2 differs"
    diff <(printf '%s\n' "$3") <(printf '%s\n' "$actual") | sed 's/^/    /' || true
  fi
}

# expect_line NAME STREAM LINENO EXPECTED
expect_line() {
  local actual
  actual=$(sed -n "${3}p" "$TMP/$2")
  if [[ "$actual" == "$4" ]]; then ok; else fail "$1: $2 line $3 is '$actual', expected '$4'"; fi
}

# expect_no NAME TEXT: TEXT appears in neither stream.
expect_no() {
  if grep -qF -- "$2" "$TMP/out" "$TMP/err"; then fail "$1: output contains '$2'"; else ok; fi
}

# -- version --------------------------------------------------------------------------------------------------------
version=$(sed -n 's/^project(dutydesk VERSION \([0-9.]*\).*/\1/p' "$SOURCE/CMakeLists.txt")
run version
expect_rc "version" 0
expect_file "version" out "dutydesk $version"
expect_file "version" err ""

# -- check-config on valid files ------------------------------------------------------------------------------------
run check-config --config "$DATA/minimal.yaml"
expect_rc "check-config minimal" 0
expect_line "check-config minimal" out 1 "$DATA/minimal.yaml: ok"
expect_line "check-config minimal" out 2 "statuses: open, done (final); initial: open; channels: support (team core, jira CORE/Task, remind 4h, default open); rocketchat: http://127.0.0.1:3000 (token auth); jira: http://127.0.0.1:8080 (datacenter, bearer auth); oncall: http://127.0.0.1:8081; storage: sqlite:///var/lib/dutydesk/dutydesk.db; events: off; http: 127.0.0.1:8090; metrics: 127.0.0.1:9464; feedback: off; users: 0; language: en"
expect_file "check-config minimal" err ""
expect_no "check-config minimal" "token-not-secret-in-this-test"

EXTRA_ENV=(RC_USER_ID=ENVUSERID1 RC_TOKEN=ENVRCTOKEN2 JIRA_TOKEN=ENVJIRATOKEN3 JIRA_WEBHOOK_SECRET=ENVHOOK4 ONCALL_TOKEN=ENVONCALL5)
run check-config -c "$DATA/example.yaml"
expect_rc "check-config example" 0
expect_file "check-config example" out "$DATA/example.yaml: ok
statuses: open, in_progress, waiting, done (final); initial: open; channels: cicd-support (team cicd, jira CICD/Task, remind 4h, default open); rocketchat: http://127.0.0.1:3000 (token auth); jira: http://127.0.0.1:8080 (datacenter, bearer auth); oncall: http://127.0.0.1:8081; storage: sqlite:///var/lib/dutydesk/dutydesk.db; events: nats://127.0.0.1:4222 (prefix dutydesk, stream DUTYDESK_EVENTS, 0 webhooks); http: 127.0.0.1:8090; metrics: 127.0.0.1:9464; feedback: on (expire 7d, anonymous); users: 1; language: en"
expect_file "check-config example" err ""
for secret in ENVUSERID1 ENVRCTOKEN2 ENVJIRATOKEN3 ENVHOOK4 ENVONCALL5; do
  expect_no "check-config example" "$secret"
done
EXTRA_ENV=()

# -- check-config on invalid files ----------------------------------------------------------------------------------
run check-config --config "$DATA/example.yaml"
expect_rc "check-config example without env" 1
expect_file "check-config example without env" out ""
expect_file "check-config example without env" err "$DATA/example.yaml:8:12: rocketchat.user_id: environment variable RC_USER_ID is not set
$DATA/example.yaml:9:15: rocketchat.auth_token: environment variable RC_TOKEN is not set
$DATA/example.yaml:15:12: jira.auth.token: environment variable JIRA_TOKEN is not set
$DATA/example.yaml:16:19: jira.webhook_secret: environment variable JIRA_WEBHOOK_SECRET is not set
$DATA/example.yaml:21:10: oncall.token: environment variable ONCALL_TOKEN is not set"

run check-config --config "$DATA/bad.yaml"
expect_rc "check-config bad" 1
expect_file "check-config bad" out ""
expect_file "check-config bad" err "$DATA/bad.yaml:3:8: rocketchat.url: invalid URL 'ftp://127.0.0.1:3000': scheme must be http or https
$DATA/bad.yaml:4:12: rocketchat.user_id: environment variable DUTYDESK_TEST_UNSET_VAR is not set
$DATA/bad.yaml:8:3: unknown key 'flavour' in jira; did you mean 'flavor'?
$DATA/bad.yaml:19:9: statuses[2].id: status id 'open' is listed twice (first at line 16)
$DATA/bad.yaml:25:19: channels[0].remind_after: invalid duration '4x': unknown unit (use ms, s, m, h or d)
$DATA/bad.yaml:26:11: channels[1].room: room 'support' is listed twice (first at line 21)
$DATA/bad.yaml:30:17: initial_status: unknown status id 'opn'; did you mean 'open'?"

run check-config --config "$DATA/flow-unquoted-env.yaml"
expect_rc "check-config unquoted \${X} in flow style" 1
expect_file "check-config unquoted \${X} in flow style" err "$DATA/flow-unquoted-env.yaml:2:72: invalid YAML: end of map flow not found"

run check-config --config "$TMP/missing.yaml"
expect_rc "check-config missing file" 1
expect_file "check-config missing file" err "$TMP/missing.yaml:1:1: cannot read file: No such file or directory"

# -- secrets never appear ---------------------------------------------------------------------------------------------
secrets=(LITRCTOKEN7731 LITRCPASSWORD1193 LITJIRATOKEN2288 LITWEBHOOK4471 LITONCALL5510 LITPGPW9034 LITNATSPW6620
         LITNATSTOKEN3301 LITRCURLPW0042)
run check-config --config "$DATA/secrets.yaml"
expect_rc "check-config secrets" 0
for s in "${secrets[@]}"; do expect_no "check-config secrets" "$s"; done
run check-config --config "$DATA/secrets-bad.yaml"
expect_rc "check-config secrets-bad" 1
if [[ $(wc -l <"$TMP/err") -ge 6 ]]; then ok; else fail "check-config secrets-bad: expected at least 6 errors"; fi
for s in "${secrets[@]}"; do expect_no "check-config secrets-bad" "$s"; done
run serve --config "$DATA/secrets.yaml"
expect_rc "serve secrets (postgresql: not built)" 5
if grep -qF "storage: postgresql://dd:***@db:5432/dutydesk" "$TMP/out"; then ok; else fail "serve secrets: no redacted summary logged"; fi
for s in "${secrets[@]}"; do expect_no "serve secrets" "$s"; done

# -- serve and report -------------------------------------------------------------------------------------------------
# minimal.yaml keeps the default store, /var/lib/dutydesk/dutydesk.db; point it at a directory that does not exist.
sed 's#^statuses:#storage:\n  url: sqlite:///nonexistent-dir/dd.db\nstatuses:#' "$DATA/minimal.yaml" >"$TMP/nostore.yaml"
run serve --config "$TMP/nostore.yaml"
expect_rc "serve without a usable store" 5
if grep -qF "dutydesk serve: cannot open the store:" "$TMP/err"; then ok; else fail "serve without a usable store: no message"; fi
# Rocket.Chat unreachable at start (nothing listens on port 1): exit 6 with the reason.
sed -e 's#^statuses:#storage:\n  url: sqlite://'"$TMP"'/serve-norc.db\nstatuses:#' -e 's#http://127.0.0.1:3000#http://127.0.0.1:1#' \
  "$DATA/minimal.yaml" >"$TMP/norc.yaml"
run serve --config "$TMP/norc.yaml"
expect_rc "serve with Rocket.Chat unreachable" 6
if grep -qF "dutydesk serve: cannot start the Rocket.Chat connection:" "$TMP/err"; then ok; else
  fail "serve with Rocket.Chat unreachable: no message"; fi
# One serve per store: while another process holds the store's lock file (here flock(1), as a running serve does),
# serve refuses at once with exit 5 and says what to do; once it is released, serve gets past the store again.
exec {lockfd}>"$TMP/serve-norc.db.lock"
flock -n "$lockfd"
echo 4242 >&"$lockfd"
run serve --config "$TMP/norc.yaml"
expect_rc "serve on a store another serve holds" 5
expect_line "serve on a store another serve holds" err 1 "dutydesk serve: another dutydesk serve uses this store (pid 4242); its lock file is $TMP/serve-norc.db.lock. Run one dutydesk per store."
exec {lockfd}>&-
run serve --config "$TMP/norc.yaml"
expect_rc "serve after the other serve released the store" 6
run serve --config "$DATA/bad.yaml"
expect_rc "serve bad config" 1
expect_line "serve bad config" err 1 "$DATA/bad.yaml:3:8: rocketchat.url: invalid URL 'ftp://127.0.0.1:3000': scheme must be http or https"

run report --config "$TMP/nostore.yaml" --since 2024-05-01 --until 2024-05-31 --format csv
expect_rc "report without a store" 5
expect_file "report without a store" err "dutydesk report: cannot read sqlite:///nonexistent-dir/dd.db: the database file does not exist"
run report --config "$DATA/bad.yaml"
expect_rc "report bad config" 1
run report --config "$DATA/minimal.yaml" --since 2024-5-1
expect_rc "report --since format" 2
expect_line "report --since format" err 1 "--since: expected a date as YYYY-MM-DD or a UTC time as YYYY-MM-DDTHH:MM:SSZ"
run report --config "$DATA/minimal.yaml" --until 2023-02-29
expect_rc "report --until day" 2
expect_line "report --until day" err 1 "--until: no such day in the calendar"
run report --config "$DATA/minimal.yaml" --since 2024-05-02 --until 2024-05-01
expect_rc "report since after until" 2
expect_line "report since after until" err 1 "--since 2024-05-02 is not before --until 2024-05-01"
run report --config "$DATA/minimal.yaml" --format xml
expect_rc "report --format" 2
expect_line "report --format" err 1 "--format: xml not in {csv,json,table}"

# -- usage errors -----------------------------------------------------------------------------------------------------
run check-config
expect_rc "check-config without --config" 2
expect_line "check-config without --config" err 1 "--config is required"
run
expect_rc "no subcommand" 2
run check-config --config "$DATA/minimal.yaml" --bogus
expect_rc "unknown option" 2
run --help
expect_rc "--help" 0

# -- migrate ----------------------------------------------------------------------------------------------------------
{ cat "$DATA/minimal.yaml"; printf 'storage:\n  url: sqlite://%s/dd.db\n' "$TMP"; } >"$TMP/migrate.yaml"
run migrate --check --config "$TMP/migrate.yaml"
expect_rc "migrate --check on a new database" 4
if grep -qE "^sqlite://$TMP/dd.db: schema version 0, [1-9][0-9]* pending:$" "$TMP/out"; then ok; else
  fail "migrate --check lists pending migrations: $(head -c 300 "$TMP/out")"; fi
if grep -qE "^  1 [a-z]" "$TMP/out"; then ok; else fail "migrate --check names migration 1: $(cat "$TMP/out")"; fi
run migrate --config "$TMP/migrate.yaml"
expect_rc "migrate" 0
if grep -qE "^sqlite://$TMP/dd.db: applied [1-9][0-9]* migration\(s\), schema version 0 -> [1-9][0-9]*$" "$TMP/out"; then ok; else
  fail "migrate reports what it applied: $(cat "$TMP/out") $(cat "$TMP/err")"; fi
run migrate --check --config "$TMP/migrate.yaml"
expect_rc "migrate --check after migrate" 0
if grep -qE "^sqlite://$TMP/dd.db: schema version [1-9][0-9]*, up to date$" "$TMP/out"; then ok; else
  fail "migrate --check after migrate: $(cat "$TMP/out")"; fi
# A PostgreSQL nobody listens for (port 9 on loopback): a storage error, and the password is never printed.
{ cat "$DATA/minimal.yaml"; printf 'storage:\n  url: postgresql://dd:pg-secret-4711@127.0.0.1:9/dd\n'; } >"$TMP/pg.yaml"
run migrate --check --config "$TMP/pg.yaml"
expect_rc "migrate on an unreachable postgresql" 5
if grep -q "pg-secret-4711" "$TMP/out" "$TMP/err"; then fail "migrate prints the storage password"; else ok; fi
if grep -q "^dutydesk migrate: cannot open postgresql://[^ ]*127.0.0.1:9/dd: .*PostgreSQL" "$TMP/err"; then ok; else
  fail "migrate postgresql error: $(cat "$TMP/err")"; fi
# The real one of the test run (scripts/test.sh starts it): a database of its own, migrated like the SQLite file.
if [[ -n "${DUTYDESK_TEST_POSTGRES_URL:-}" ]]; then
  pgdb="cli_$$"
  psql "$DUTYDESK_TEST_POSTGRES_URL" -qc "CREATE DATABASE $pgdb" >/dev/null
  pgurl="${DUTYDESK_TEST_POSTGRES_URL%/*}/$pgdb"
  shown="postgresql://\*\*\*@127\.0\.0\.1:[0-9]+/$pgdb" # printed with the user part masked
  { cat "$DATA/minimal.yaml"; printf 'storage:\n  url: %s\n' "$pgurl"; } >"$TMP/pgreal.yaml"
  run migrate --check --config "$TMP/pgreal.yaml"
  expect_rc "migrate --check on a new postgresql database" 4
  if grep -qE "^$shown: schema version 0, [1-9][0-9]* pending:$" "$TMP/out"; then ok; else
    fail "migrate --check on postgresql lists pending migrations: $(head -c 300 "$TMP/out") $(cat "$TMP/err")"; fi
  run migrate --config "$TMP/pgreal.yaml"
  expect_rc "migrate on postgresql" 0
  if grep -qE "^$shown: applied [1-9][0-9]* migration\(s\), schema version 0 -> [1-9][0-9]*$" "$TMP/out"; then ok; else
    fail "migrate on postgresql reports what it applied: $(cat "$TMP/out") $(cat "$TMP/err")"; fi
  run migrate --check --config "$TMP/pgreal.yaml"
  expect_rc "migrate --check on postgresql after migrate" 0
  run report --config "$TMP/pgreal.yaml" --format json
  expect_rc "report on postgresql" 0
  psql "$DUTYDESK_TEST_POSTGRES_URL" -qc "DROP DATABASE $pgdb" >/dev/null
else
  fail "no test PostgreSQL: set DUTYDESK_TEST_POSTGRES_URL (scripts/test.sh starts one)"
fi

# -- report on a real store ------------------------------------------------------------------------------------------
{ cat "$DATA/minimal.yaml"; printf 'storage:\n  url: sqlite://%s/report.db\n' "$TMP"; } >"$TMP/report.yaml"
run migrate --check --config "$TMP/report.yaml"
run report --config "$TMP/report.yaml" --format json
expect_rc "report on a store with pending migrations" 4
if grep -qE "^dutydesk report: cannot read sqlite://$TMP/report.db: [1-9][0-9]* migration\(s\) pending; run \`dutydesk migrate\` first$" "$TMP/err"; then
  ok; else fail "report on a store with pending migrations: $(cat "$TMP/err")"; fi
run migrate --config "$TMP/report.yaml"
expect_rc "migrate for report" 0
empty_block='"requests_created": 0, "requests_resolved": 0, "first_response_seconds": {"median": null, "p90": null}, "resolution_seconds": {"median": null, "p90": null}, "reopen_rate": null, "surveys_sent": 0, "responses": 0, "response_rate": null, "csat_percent": null, "mean_rating": null, "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}'
run report --config "$TMP/report.yaml" --format json --since 2026-11-01 --until 2026-12-01T00:00:00Z
expect_rc "report json on an empty store" 0
expect_file "report json on an empty store" err ""
# Compared as parsed JSON: the shape, key order and values, not the indentation.
actual_json=$(python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' <"$TMP/out" 2>&1 || true)
expected_json="{\"since\": \"2026-11-01T00:00:00Z\", \"until\": \"2026-12-01T00:00:00Z\", \"overall\": {$empty_block}, \"teams\": [{\"team\": \"core\", $empty_block}]}"
if [[ "$actual_json" == "$expected_json" ]]; then ok; else
  fail "report json on an empty store: got $actual_json"; fi
run report --config "$TMP/report.yaml" --format csv --since 2026-11-01 --until 2026-12-01 --team core
expect_rc "report csv --team" 0
expect_file "report csv --team" out "scope,team,requests_created,requests_resolved,first_response_median_seconds,first_response_p90_seconds,resolution_median_seconds,resolution_p90_seconds,reopen_rate,surveys_sent,n,response_rate,csat_percent,mean_rating,rating_1,rating_2,rating_3,rating_4,rating_5
overall,,0,0,,,,,,0,0,,,,0,0,0,0,0
team,core,0,0,,,,,,0,0,,,,0,0,0,0,0"
run report --config "$TMP/report.yaml" --since 2026-11-01T00:00:00Z --until 2026-11-02
expect_rc "report table" 0
expect_file "report table" out "period 2026-11-01T00:00:00Z .. 2026-11-02T00:00:00Z (until excluded)

team     created  resolved  1st response p50  1st response p90  resolution p50  resolution p90  reopened  surveys  responded  CSAT  mean  1  2  3  4  5  n
core           0         0                 -                 -               -               -         -        0          -     -     -  0  0  0  0  0  0
overall        0         0                 -                 -               -               -         -        0          -     -     -  0  0  0  0  0  0"
run report --config "$TMP/report.yaml" --days 7
expect_rc "report --days" 0
if grep -qE '^period [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z \.\. ' "$TMP/out"; then ok; else
  fail "report --days: $(head -c 300 "$TMP/out")"; fi
run report --config "$TMP/report.yaml" --since 2026-13-01
expect_rc "report bad month" 2
expect_line "report bad month" err 1 "--since: no such day in the calendar"
expect_file "report bad month" out ""
run report --config "$TMP/report.yaml" --until 2026-11-01T25:00:00Z
expect_rc "report bad hour" 2
expect_line "report bad hour" err 1 "--until: no such time of day"
run report --config "$TMP/report.yaml" --since 2026-11-01 --until 2026-11-01
expect_rc "report empty period" 2
expect_line "report empty period" err 1 "--since 2026-11-01 is not before --until 2026-11-01"
run report --config "$TMP/report.yaml" --since 2026-11-01 --days 3
expect_rc "report --days with --since" 2
expect_line "report --days with --since" err 1 "--days: not together with --since (the period is [since, until))"
run report --config "$TMP/report.yaml" --days 0
expect_rc "report --days 0" 2
expect_line "report --days 0" err 1 "--days: expected a whole number of days from 1 to 36500"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
