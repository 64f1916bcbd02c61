#!/usr/bin/env bash
# Creates dutydesk's bot user on a Rocket.Chat server, gives it a personal access token and puts it in the support
# channels, all through Rocket.Chat's REST API (facts: ../../shared/reference/rocketchat.md and the OpenAPI files in
# ../../shared/reference/specs/rocketchat/). Idempotent: a second run keeps a token that still logs in, and finds the
# user and the channels that already exist.
#
# docker/compose.yaml runs it once (service rocketchat-init, image target rocketchat-init) and dutydesk reads the
# result from the shared volume. It works the same against any Rocket.Chat (7.x/8.x) from a shell with bash, curl,
# jq and sha256sum:
#   RC_URL=https://chat.example.com RC_ADMIN_USER=admin RC_ADMIN_PASSWORD=... RC_BOT_PASSWORD=... \
#   RC_CHANNELS=cicd-support,dba-support RC_ENV_FILE=./rocketchat.env docker/rocketchat-init.sh
#
# Environment:
#   RC_URL             Rocket.Chat base URL (default http://rocketchat:3000)
#   RC_ADMIN_USER      an administrator (needs create-user, create-c, add-user-to-any-c-room) (required)
#   RC_ADMIN_PASSWORD  its password (required; an admin with 2FA by e-mail or TOTP cannot be used here)
#   RC_BOT_USER        the bot's user name (default dutydesk)
#   RC_BOT_PASSWORD    the bot's password, set when the user is created and used once per run to make the token
#                      (required)
#   RC_BOT_NAME        display name (default DutyDesk); RC_BOT_EMAIL (default <bot>@example.invalid, left unverified)
#   RC_CHANNELS        comma-separated public channels to create if missing and add the bot to (default: none)
#   RC_TOKEN_NAME      the personal access token's name (default dutydesk)
#   RC_ENV_FILE        where to write RC_USER_ID=... and RC_TOKEN=... (mode 0600); unset: printed on stdout
#   RC_WAIT_SECONDS    how long to wait for Rocket.Chat to accept the admin login (default 600)
#   RC_RETRY_SECONDS   the pause between two login attempts while waiting (default 5)
#
# Steps (endpoint, what the server requires):
#   1. POST /api/v1/login as the admin, retried until Rocket.Chat is up (a fresh server needs a minute or two).
#   2. If RC_ENV_FILE holds a token: GET /api/v1/me with it; if it answers as the bot, keep it (steps 3-5 skipped).
#   3. GET /api/v1/users.info?username=BOT, else POST /api/v1/users.create with roles [user, bot]:
#      bot: exempt from the REST rate limiter (api-bypass-rate-limit) and may send many messages;
#      user: holds create-personal-access-tokens, which by default only admin and user have. The e-mail stays
#      unverified so e-mail 2FA (auto opt-in) never applies to the bot's password login.
#   4. POST /api/v1/login as the bot, then POST /api/v1/users.generatePersonalAccessToken
#      {tokenName, bypassTwoFactor: true}. The endpoint requires 2FA: with the default password fallback the code is
#      the SHA-256 hex digest of the password (headers x-2fa-method: password, x-2fa-code). A token of that name that
#      exists already (its value is lost) is replaced with users.regeneratePersonalAccessToken. The password session
#      is closed with POST /api/v1/logout; the token (a PAT) does not expire and also works as the DDP resume token.
#   5. Per channel: GET /api/v1/channels.info?roomName=, then POST channels.invite {roomId, userId}, or
#      POST channels.create {name, members: [BOT]} when it does not exist.
#   6. POST /api/v1/logout for the admin session.
set -euo pipefail
shopt -s lastpipe # `jq ... | api ...`: api runs in this shell, so STATUS stays set

RC_URL=${RC_URL:-http://rocketchat:3000}
RC_URL=${RC_URL%/}
RC_BOT_USER=${RC_BOT_USER:-dutydesk}
RC_BOT_NAME=${RC_BOT_NAME:-DutyDesk}
RC_BOT_EMAIL=${RC_BOT_EMAIL:-$RC_BOT_USER@example.invalid}
RC_CHANNELS=${RC_CHANNELS:-}
RC_TOKEN_NAME=${RC_TOKEN_NAME:-dutydesk}
RC_ENV_FILE=${RC_ENV_FILE:-}
RC_WAIT_SECONDS=${RC_WAIT_SECONDS:-600}
RC_RETRY_SECONDS=${RC_RETRY_SECONDS:-5}

log() { echo "rocketchat-init: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}
for v in RC_ADMIN_USER RC_ADMIN_PASSWORD RC_BOT_PASSWORD; do
  [[ -n "${!v:-}" ]] || die "$v is not set"
done
for tool in curl jq sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
umask 077

STATUS=0 # HTTP status of the last call (000 = no answer); its body is in $TMP/body
# api METHOD PATH [AUTH]: the JSON body, if any, comes on stdin. AUTH names a header file written by set_auth.
# Credentials go through files, not the command line (visible in /proc to other processes).
api() {
  local method=$1 path=$2 auth=${3:-} args=(-sS --connect-timeout 10 --max-time 60 -o "$TMP/body" -w '%{http_code}' -X "$1"
    -H @"$TMP/json.hdr")
  [[ -n "$auth" ]] && args+=(-H @"$TMP/$auth.hdr")
  [[ $method == POST ]] && args+=(--data-binary @-)
  rm -f "$TMP/body" # a failed call must not leave the previous answer behind
  STATUS=$(curl "${args[@]}" "$RC_URL/api/v1/$path" 2>"$TMP/curl.err") || STATUS=000
  [[ -f "$TMP/body" ]] || : >"$TMP/body"
}
body() { jq -r "$1 // empty" "$TMP/body" 2>/dev/null || true; }
error_of() { # a short reason from a failure body (never echoes request data)
  local e
  e=$(jq -r '.error // .message // empty' "$TMP/body" 2>/dev/null || true)
  echo "HTTP $STATUS${e:+: $e}"
}
set_auth() { printf 'X-User-Id: %s\nX-Auth-Token: %s\n' "$2" "$3" >"$TMP/$1.hdr"; }
printf 'Content-Type: application/json\n' >"$TMP/json.hdr"

login() { # login USER PASSWORD NAME: sets the header file NAME and $LOGIN_ID
  jq -n --arg u "$1" --arg p "$2" '{user: $u, password: $p}' | api POST login
  [[ $STATUS == 200 ]] || return 1
  LOGIN_ID=$(body .data.userId)
  set_auth "$3" "$LOGIN_ID" "$(body .data.authToken)"
}

# 1. Wait for Rocket.Chat and log in as the admin. No answer, 5xx and 429 are waited out; a refused login is
# retried twice (a server still starting), then it is an error.
deadline=$(($(date +%s) + RC_WAIT_SECONDS))
next_note=0
refused=0
until login "$RC_ADMIN_USER" "$RC_ADMIN_PASSWORD" admin; do
  now=$(date +%s)
  if [[ $STATUS == 401 || $STATUS == 403 ]]; then
    refused=$((refused + 1))
    ((refused < 3)) || die "the admin login at $RC_URL is refused: $(error_of) (check RC_ADMIN_USER / RC_ADMIN_PASSWORD)"
  elif [[ $STATUS != 000 && $STATUS != 429 && $STATUS != 5* ]]; then
    die "the admin login at $RC_URL: $(error_of)"
  fi
  if ((now >= deadline)); then
    [[ $STATUS == 000 ]] && die "no answer from $RC_URL after ${RC_WAIT_SECONDS}s ($(head -c 200 "$TMP/curl.err"))"
    die "the admin login at $RC_URL still fails after ${RC_WAIT_SECONDS}s: $(error_of)"
  fi
  if ((now >= next_note)); then
    reason="no answer"
    [[ $STATUS == 000 ]] || reason=$(error_of)
    log "waiting for $RC_URL to accept the admin login ($reason)"
    next_note=$((now + 30))
  fi
  sleep "$RC_RETRY_SECONDS"
done
log "logged in to $RC_URL as $RC_ADMIN_USER"

# 2. A token from an earlier run that still works is kept.
bot_id="" bot_pat=""
if [[ -n "$RC_ENV_FILE" && -s "$RC_ENV_FILE" ]]; then
  old_id=$(sed -n 's/^RC_USER_ID=//p' "$RC_ENV_FILE" | tail -1)
  old_token=$(sed -n 's/^RC_TOKEN=//p' "$RC_ENV_FILE" | tail -1)
  if [[ -n "$old_id" && -n "$old_token" ]]; then
    set_auth old "$old_id" "$old_token"
    api GET me old </dev/null
    if [[ $STATUS == 200 && "$(body .username)" == "$RC_BOT_USER" ]]; then
      bot_id=$old_id bot_pat=$old_token
      log "the token in $RC_ENV_FILE still logs in as $RC_BOT_USER; keeping it"
    else
      log "the token in $RC_ENV_FILE does not log in as $RC_BOT_USER ($(error_of)); making a new one"
    fi
  fi
fi

if [[ -z "$bot_pat" ]]; then
  # 3. The bot user.
  api GET "users.info?username=$(jq -rn --arg u "$RC_BOT_USER" '$u|@uri')" admin </dev/null
  if [[ $STATUS == 200 && -n "$(body .user._id)" ]]; then
    bot_id=$(body .user._id)
    log "user $RC_BOT_USER exists ($bot_id)"
  else
    jq -n --arg u "$RC_BOT_USER" --arg n "$RC_BOT_NAME" --arg e "$RC_BOT_EMAIL" --arg p "$RC_BOT_PASSWORD" \
      '{username: $u, name: $n, email: $e, password: $p, roles: ["user", "bot"], verified: false,
        joinDefaultChannels: false, requirePasswordChange: false, sendWelcomeEmail: false}' |
      api POST users.create admin
    [[ $STATUS == 200 ]] || die "users.create $RC_BOT_USER: $(error_of)"
    bot_id=$(body .user._id)
    log "created user $RC_BOT_USER ($bot_id) with roles user, bot"
  fi

  # 4. Its personal access token, made by the bot itself.
  login "$RC_BOT_USER" "$RC_BOT_PASSWORD" bot ||
    die "the bot login fails: $(error_of) (a user $RC_BOT_USER that existed before must have RC_BOT_PASSWORD)"
  [[ "$LOGIN_ID" == "$bot_id" ]] || die "the bot login returned user id $LOGIN_ID, expected $bot_id"
  printf 'x-2fa-method: password\nx-2fa-code: %s\n' \
    "$(printf '%s' "$RC_BOT_PASSWORD" | sha256sum | cut -d' ' -f1)" >>"$TMP/bot.hdr"
  jq -n --arg t "$RC_TOKEN_NAME" '{tokenName: $t, bypassTwoFactor: true}' |
    api POST users.generatePersonalAccessToken bot
  if [[ $STATUS != 200 && "$(body .errorType)" == error-token-already-exists ]]; then
    log "a token named $RC_TOKEN_NAME exists already; regenerating it"
    jq -n --arg t "$RC_TOKEN_NAME" '{tokenName: $t}' | api POST users.regeneratePersonalAccessToken bot
  fi
  [[ $STATUS == 200 && -n "$(body .token)" ]] || die "personal access token: $(error_of)"
  bot_pat=$(body .token)
  echo '{}' | api POST logout bot
  log "personal access token $RC_TOKEN_NAME issued for $RC_BOT_USER"
fi

# 5. The channels, with the bot in each.
IFS=',' read -r -a channels <<<"$RC_CHANNELS"
for ch in "${channels[@]}"; do
  ch=${ch//[[:space:]]/}
  ch=${ch#\#}
  [[ -n "$ch" ]] || continue
  api GET "channels.info?roomName=$(jq -rn --arg c "$ch" '$c|@uri')" admin </dev/null
  room_id=$(body .channel._id) # read before the pipe below: its left side runs while api replaces $TMP/body
  if [[ $STATUS == 200 && -n "$room_id" ]]; then
    jq -n --arg r "$room_id" --arg u "$bot_id" '{roomId: $r, userId: $u}' | api POST channels.invite admin
    [[ $STATUS == 200 ]] || die "channels.invite #$ch: $(error_of)"
    log "#$ch exists; $RC_BOT_USER is a member"
  else
    jq -n --arg c "$ch" --arg u "$RC_BOT_USER" '{name: $c, members: [$u]}' | api POST channels.create admin
    [[ $STATUS == 200 ]] || die "channels.create #$ch: $(error_of)"
    log "created #$ch with $RC_BOT_USER as a member"
  fi
done

# 6. Close the admin session; hand over the token.
echo '{}' | api POST logout admin
if [[ -n "$RC_ENV_FILE" ]]; then
  printf 'RC_USER_ID=%s\nRC_TOKEN=%s\n' "$bot_id" "$bot_pat" >"$RC_ENV_FILE.tmp"
  chmod 0600 "$RC_ENV_FILE.tmp"
  mv -f "$RC_ENV_FILE.tmp" "$RC_ENV_FILE"
  log "wrote RC_USER_ID ($bot_id) and RC_TOKEN to $RC_ENV_FILE"
else
  printf 'RC_USER_ID=%s\nRC_TOKEN=%s\n' "$bot_id" "$bot_pat"
fi
