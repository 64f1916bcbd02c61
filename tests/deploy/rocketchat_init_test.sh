#!/usr/bin/env bash
# Runs docker/rocketchat-init.sh against dutydesk-sim (seed sim/seed/rocketchat-init.json: an admin, alice, the
# channels #cicd-support and #general, no bot user yet) and checks what it leaves behind through Rocket.Chat's REST API.
# Usage: tests/deploy/rocketchat_init_test.sh <path to dutydesk-sim>
# Prints "ok - ..." / "not ok - ..." per check and ends with "N passed, M failed" (exit 1 when M > 0).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
SIM=${1:?usage: rocketchat_init_test.sh <path to dutydesk-sim>}
[[ -x "$SIM" ]] || { echo "rocketchat_init_test: $SIM is not an executable" >&2; exit 2; }
INIT="$root/docker/rocketchat-init.sh"
SEED="$root/sim/seed/rocketchat-init.json"
for tool in curl jq sha256sum; do
  command -v "$tool" >/dev/null || { echo "rocketchat_init_test: $tool is not installed" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/rocketchat-init-test.XXXXXX)
SIM_PID=""
cleanup() {
  if [[ -n "$SIM_PID" ]] && kill -0 "$SIM_PID" 2>/dev/null; then
    kill -TERM "$SIM_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$SIM_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SIM_PID" 2>/dev/null && kill -KILL "$SIM_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
declare -A shown # logs already printed under a failure
not_ok() {
  echo "not ok - $1"
  failed=$((failed + 1))
  if [[ -n "${2:-}" && -z "${shown[$2]:-}" && -f "$2" ]]; then
    shown[$2]=1
    sed 's/^/#   /' "$2" | tail -n 20
  fi
  return 0
}
check() { # check NAME LOG CMD...: passes when CMD succeeds; LOG is shown on failure
  local name=$1 log=$2
  shift 2
  if "$@"; then ok "$name"; else not_ok "$name" "$log"; fi
}

# --- the simulator on free ports (port 0), ready line: dutydesk-sim ready {"rocketchat":"http://...",...} ---
"$SIM" --seed "$SEED" --rc-listen 127.0.0.1:0 --jira-dc-listen 127.0.0.1:0 --jira-cloud-listen 127.0.0.1:0 \
  --oncall-listen 127.0.0.1:0 --control-listen 127.0.0.1:0 >"$WORK/sim.out" 2>"$WORK/sim.err" &
SIM_PID=$!
deadline=$((SECONDS + 20))
until grep -q '^dutydesk-sim ready ' "$WORK/sim.out" 2>/dev/null; do
  if ! kill -0 "$SIM_PID" 2>/dev/null || ((SECONDS >= deadline)); then
    echo "rocketchat_init_test: dutydesk-sim did not start" >&2
    cat "$WORK/sim.err" >&2
    exit 1
  fi
  sleep 0.1
done
RC=$(sed -n 's/^dutydesk-sim ready //p' "$WORK/sim.out" | jq -r .rocketchat)

ENV_FILE="$WORK/out/rocketchat.env"
mkdir -p "$WORK/out"
ADMIN_PASSWORD=admin-pass
# shellcheck disable=SC2016 # a literal $: the password must survive quoting
BOT_PASSWORD='b0t pass "with" $pecial chars'
run_init() { # run_init LOG [VAR=value...]: the script with the test's defaults; returns its exit status
  local log=$1
  shift
  env RC_URL="$RC" RC_ADMIN_USER=admin RC_ADMIN_PASSWORD="$ADMIN_PASSWORD" RC_BOT_PASSWORD="$BOT_PASSWORD" \
    RC_CHANNELS=" cicd-support,#ops-support " RC_ENV_FILE="$ENV_FILE" RC_WAIT_SECONDS=5 RC_RETRY_SECONDS=0.2 \
    "$@" "$INIT" >"$log.stdout" 2>"$log"
}
env_value() { sed -n "s/^$1=//p" "$ENV_FILE" 2>/dev/null | tail -1; }
# rc_get ROUTE UID TOKEN: GET /api/v1/ROUTE with those credentials; prints the body, fails unless 200.
rc_get() {
  local code
  code=$(curl -sS -o "$WORK/get.body" -w '%{http_code}' -H "X-User-Id: $2" -H "X-Auth-Token: $3" "$RC/api/v1/$1")
  cat "$WORK/get.body"
  [[ $code == 200 ]]
}

# --- 1. first run: creates the bot, its token and #ops-support; invites the bot to #cicd-support ---
run_init "$WORK/run1.log"
rc1=$?
check "first run exits 0" "$WORK/run1.log" test "$rc1" -eq 0
check "the env file has mode 0600" "$WORK/run1.log" test "$(stat -c %a "$ENV_FILE" 2>/dev/null)" = 600
UID1=$(env_value RC_USER_ID)
TOKEN1=$(env_value RC_TOKEN)
check "the env file holds RC_USER_ID and RC_TOKEN" "$ENV_FILE" test -n "$UID1" -a -n "$TOKEN1"
check "nothing on stdout when RC_ENV_FILE is set" "$WORK/run1.log.stdout" test ! -s "$WORK/run1.log.stdout"
check "the log says the user was created" "$WORK/run1.log" grep -q 'created user dutydesk' "$WORK/run1.log"
me=$(rc_get me "$UID1" "$TOKEN1")
check "GET /api/v1/me with the token answers as the bot" "$WORK/run1.log" \
  test "$(jq -r .username <<<"$me" 2>/dev/null)" = dutydesk -a "$(jq -r ._id <<<"$me" 2>/dev/null)" = "$UID1"
check "the bot has the roles user and bot" "$WORK/run1.log" \
  test "$(jq -c '.roles | sort' <<<"$me" 2>/dev/null)" = '["bot","user"]'
subs=$(rc_get subscriptions.get "$UID1" "$TOKEN1" | jq -r '[.update[].name] | sort | join(",")' 2>/dev/null)
check "the bot is a member of #cicd-support (existing) and #ops-support (new), nothing else" "$WORK/run1.log" \
  test "$subs" = "cicd-support,ops-support"
alice_view=$(rc_get "channels.info?roomName=ops-support" Alic3Alic3Alic3Al alice-token-000000000000000000000000000)
check "#ops-support is a public channel owned by the admin" "$WORK/run1.log" \
  test "$(jq -r '.channel.t + " " + .channel.u.username' <<<"$alice_view" 2>/dev/null)" = "c admin"
pw_leak=0
grep -qF -e "$BOT_PASSWORD" -e "$ADMIN_PASSWORD" -e "$TOKEN1" "$WORK/run1.log" "$WORK/run1.log.stdout" && pw_leak=1
check "no password or token in the output" "$WORK/run1.log" test "$pw_leak" -eq 0

# --- 2. second run: keeps the token, changes nothing ---
cp "$ENV_FILE" "$WORK/env.before" 2>/dev/null
before_rooms=$(rc_get "channels.info?roomName=cicd-support" "$UID1" "$TOKEN1" | jq -c '[.channel.usersCount, .channel.msgs]' 2>/dev/null)
run_init "$WORK/run2.log"
rc2=$?
check "second run exits 0" "$WORK/run2.log" test "$rc2" -eq 0
check "second run keeps the token (log says keeping)" "$WORK/run2.log" grep -q 'keeping it' "$WORK/run2.log"
check "second run leaves the env file as it was" "$WORK/run2.log" cmp -s "$ENV_FILE" "$WORK/env.before"
check "second run neither creates a user nor issues a token" "$WORK/run2.log" \
  bash -c "! grep -qE 'created user|token .* issued|regenerating' '$WORK/run2.log'"
after_rooms=$(rc_get "channels.info?roomName=cicd-support" "$UID1" "$TOKEN1" | jq -c '[.channel.usersCount, .channel.msgs]' 2>/dev/null)
check "second run changes no channel (members, messages)" "$WORK/run2.log" test "$before_rooms" = "$after_rooms"
check "the token still answers as the bot" "$WORK/run2.log" \
  test "$(rc_get me "$UID1" "$TOKEN1" | jq -r .username)" = dutydesk

# --- 3. a lost env file: the user exists, the token name exists -> regenerated; the old token stops working ---
rm -f "$ENV_FILE"
run_init "$WORK/run3.log"
rc3=$?
check "a run without the env file exits 0" "$WORK/run3.log" test "$rc3" -eq 0
check "it finds the user and regenerates the token" "$WORK/run3.log" \
  bash -c "grep -q 'user dutydesk exists' '$WORK/run3.log' && grep -q 'regenerating' '$WORK/run3.log'"
TOKEN3=$(env_value RC_TOKEN)
check "the new token logs in as the bot, the old one no longer does" "$WORK/run3.log" \
  bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'X-User-Id: $UID1' -H 'X-Auth-Token: $TOKEN1' '$RC/api/v1/me') == 401 ]] &&
           [[ \$(curl -s -H 'X-User-Id: $UID1' -H 'X-Auth-Token: $TOKEN3' '$RC/api/v1/me' | jq -r .username) == dutydesk ]]"
check "the user id is unchanged" "$WORK/run3.log" test "$(env_value RC_USER_ID)" = "$UID1"

# --- 4. a wrong admin password: non-zero, a clear message, no password in the output ---
cp "$ENV_FILE" "$WORK/env.before" 2>/dev/null
ADMIN_PASSWORD='Wr0ng-Pa55w0rd' run_init "$WORK/run4.log"
rc4=$?
check "a wrong admin password exits non-zero" "$WORK/run4.log" test "$rc4" -ne 0
check "it says the admin login is refused" "$WORK/run4.log" grep -q 'admin login .* is refused' "$WORK/run4.log"
check "it does not print the password" "$WORK/run4.log" \
  bash -c "! grep -qF 'Wr0ng-Pa55w0rd' '$WORK/run4.log' '$WORK/run4.log.stdout'"
check "it leaves the env file alone" "$WORK/run4.log" cmp -s "$ENV_FILE" "$WORK/env.before"

# --- 5. nothing listening: fails with "no answer" after RC_WAIT_SECONDS ---
dead_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
start=$SECONDS
run_init "$WORK/run5.log" RC_URL="http://127.0.0.1:$dead_port" RC_WAIT_SECONDS=2
rc5=$?
check "a dead URL exits non-zero" "$WORK/run5.log" test "$rc5" -ne 0
check "a dead URL fails with \"no answer\"" "$WORK/run5.log" grep -q 'no answer from' "$WORK/run5.log"
check "a dead URL gives up after about RC_WAIT_SECONDS" "$WORK/run5.log" test $((SECONDS - start)) -le 10

# --- 6. a missing required variable ---
run_init "$WORK/run6.log" RC_BOT_PASSWORD=
rc6=$?
check "an unset RC_BOT_PASSWORD exits non-zero and names it" "$WORK/run6.log" \
  bash -c "[[ $rc6 -ne 0 ]] && grep -q 'RC_BOT_PASSWORD is not set' '$WORK/run6.log'"

kill -0 "$SIM_PID" 2>/dev/null || not_ok "dutydesk-sim still running at the end" "$WORK/sim.err"
echo "$passed passed, $failed failed"
((failed == 0))
