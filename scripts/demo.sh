#!/usr/bin/env bash
# README command 1: set up, build, start the simulator with the demo seed (two support channels, an on-call rota,
# users, two Jira flavours) and `dutydesk serve` against it, play the demo story (scripts/demo_story.mjs), then stay
# up and print how to poke at it. Ctrl-C stops both. DEMO_NONINTERACTIVE=1: stop after the story (CI checks it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z "${DEMO_NO_BUILD:-}" ]]; then  # DEMO_NO_BUILD=1: use the binaries already in build/
  "$root/scripts/setup.sh"
  "$root/scripts/build.sh" "$root/build"
fi

sim="$root/build/sim/dutydesk-sim"
dutydesk="$root/build/app/dutydesk"
seed="$root/sim/seed/demo.json"
workdir="$root/.demo"
mkdir -p "$workdir"
# The simulator starts empty and its ids are deterministic: a database from an earlier run would name the same ids.
rm -f "$workdir"/dutydesk.db "$workdir"/dutydesk.db-* "$workdir"/dutydesk.log "$workdir"/story.json

sim_pid="" dd_pid=""
cleanup() {
  trap - EXIT INT TERM
  [[ -n "$dd_pid" ]] && kill "$dd_pid" 2>/dev/null || true
  [[ -n "$sim_pid" ]] && kill "$sim_pid" 2>/dev/null || true
  [[ -n "$dd_pid" ]] && wait "$dd_pid" 2>/dev/null || true
  [[ -n "$sim_pid" ]] && wait "$sim_pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT TERM

wait_for_line() {  # wait_for_line <file> <pattern> <pid> <what>
  for _ in $(seq 1 300); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { echo "demo: $4 exited:"; tail -20 "$1" "${1%.out}.err" 2>/dev/null; exit 1; }
    sleep 0.1
  done
  echo "demo: $4 did not start in 30 s:"; tail -20 "$1"; exit 1
}

"$sim" --seed "$seed" >"$workdir/sim.out" 2>"$workdir/sim.err" &
sim_pid=$!
wait_for_line "$workdir/sim.out" "dutydesk-sim ready" "$sim_pid" "the simulator"

cat >"$workdir/dutydesk.yaml" <<YAML
# written by scripts/demo.sh for the simulator's default ports (sim/seed/demo.json)
rocketchat:
  url: http://127.0.0.1:3000
  user_id: B0tB0tB0tB0tB0tB0
  auth_token: dutydesk-pat-0000000000000000000000000000
jira:
  url: http://127.0.0.1:8080
  flavor: datacenter
  auth:
    token: jira-bot-token-0000000000000000
  webhook_secret: webhook-secret-0000   # the seed's Jira webhook posts to 127.0.0.1:8090 with this secret
  service_field: customfield_10100
oncall:
  url: http://127.0.0.1:8081
  token: oncall-token-000000000000000000
storage:
  url: sqlite://$workdir/dutydesk.db
http:
  listen: 127.0.0.1:8090
metrics:
  listen: 127.0.0.1:9464
feedback:
  enabled: true      # a resolved request's requester gets a rating DM with five buttons
  expire_after: 1d
statuses:
  - id: open
    label: Open
    emoji: ":new:"
    jira_status: To Do
  - id: in_progress
    label: In progress
    emoji: ":hammer_and_wrench:"
    jira_status: In Progress
  - id: done
    label: Done
    emoji: ":white_check_mark:"
    jira_status: Done
    final: true
channels:
  - room: cicd-support
    team: cicd
    members: [alice]
    jira:
      project: CICD
    services: [pipeline, ci]
    oncall:
      schedule_id: SCHEDCICD
      fallback: [dave]
    remind_after: 20s
  - room: dba-support
    team: dba
    members: []
    jira:
      project: DBA
    services: [postgres, mysql]
    oncall:
      schedule_id: SCHEDDBA
      fallback: [eve]
    remind_after: 4h
YAML
"$dutydesk" check-config --config "$workdir/dutydesk.yaml" >/dev/null

"$dutydesk" serve --config "$workdir/dutydesk.yaml" >"$workdir/dutydesk.log" 2>&1 &
dd_pid=$!
wait_for_line "$workdir/dutydesk.log" "^dutydesk ready" "$dd_pid" "dutydesk serve"
echo "demo: dutydesk-sim (pid $sim_pid) and dutydesk serve (pid $dd_pid) are up; logs in .demo/"
echo "demo: the simulator's live page (channels, threads, DMs, Jira board, on-call; post and click as any user): http://127.0.0.1:8099/"
echo

if ! node "$root/scripts/demo_story.mjs" http://127.0.0.1:8099 "$workdir/story.json"; then
  echo "demo: the story failed; the last lines of .demo/dutydesk.log:"
  tail -20 "$workdir/dutydesk.log"
  exit 1
fi

if [[ -n "${DEMO_NONINTERACTIVE:-}" ]]; then
  echo "demo: the story played; DEMO_NONINTERACTIVE is set, so stopping instead of staying up"
  exit 0
fi

ids() { node -p "require('$workdir/story.json').$1"; }
C=127.0.0.1:8099/control/rocketchat
cat <<TXT

Poke at it (the control API acts as the Rocket.Chat users; dutydesk answers as in the story):
  # alice asks a new question in #cicd-support:
  curl -s -XPOST $C/messages -d '{"as":"alice","room":"cicd-support","text":"The deploy job hangs"}'
  # a command in a request's thread (here alice's first request):
  curl -s -XPOST $C/messages -d '{"as":"bob","room":"cicd-support","tmid":"$(ids ci_root)","text":"!dd help"}'
  # click a status button of an intro (button index or label):
  curl -s -XPOST $C/click -d '{"as":"bob","message_id":"$(ids ci_intro)","button":"In progress"}'
  # look at a thread (root, reactions, replies):
  curl -s $C/threads/$(ids ci_root)
  # the root's reactions, and every top-level message of a channel:
  curl -s $C/messages/$(ids ci_root)/reactions
  curl -s '$C/rooms/dba-support/messages?top_level=true'
  # DMs the bot sent eve (refusals), after e.g. eve clicks a button on someone else's request:
  curl -s $C/users/eve/dms
  # drop dutydesk's websocket, or make Rocket.Chat answer 30% 429s for 10 s:
  curl -s -XPOST $C/drop
  curl -s -XPOST 127.0.0.1:8099/control/faults -d '{"system":"rocketchat","rate_429":0.3,"for_ms":10000}'
  # the Jira side (Data Center): every request is an issue; comment or transition as carol and watch the thread:
  curl -s 127.0.0.1:8099/control/jira-dc/issues
  curl -s -XPOST 127.0.0.1:8099/control/jira-dc/issues/CICD-2/comments -d '{"as":"carol","body":"Fixed on our side"}'
  curl -s -XPOST 127.0.0.1:8099/control/jira-dc/issues/CICD-2/transitions -d '{"as":"carol","to":"In Progress"}'
  # a task created in Jira becomes a request in the channel of its service:
  curl -s -XPOST 127.0.0.1:8099/control/jira-dc/issues -d '{"as":"carol","project":"CICD","summary":"Runner disk full","fields":{"customfield_10100":{"value":"ci"}}}'

  Logs: .demo/dutydesk.log, .demo/sim.err. Control API reference: docs/simulator.md, docs/sim/rocketchat.md,
  docs/sim/jira.md; the mirror: docs/jira.md.
  Press Ctrl-C to stop both.
TXT
wait -n "$sim_pid" "$dd_pid" || true
echo "demo: a process exited; stopping"
