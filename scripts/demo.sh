#!/usr/bin/env bash
# README command 1: set up, build, and start the simulator with the demo seed (two support channels, an on-call
# rota, users, two Jira flavours), then print how to talk to it. Stops on Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$root/build"

sim="$root/build/sim/dutydesk-sim"
seed="$root/sim/seed/demo.json"
workdir="$root/.demo"
mkdir -p "$workdir"
"$sim" --seed "$seed" >"$workdir/sim.out" 2>"$workdir/sim.err" &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q "dutydesk-sim ready" "$workdir/sim.out" 2>/dev/null && break
  kill -0 "$sim_pid" 2>/dev/null || { cat "$workdir/sim.err"; exit 1; }
  sleep 0.1
done
grep -q "dutydesk-sim ready" "$workdir/sim.out" || { echo "demo: the simulator did not start"; exit 1; }

bot='-H X-User-Id:B0tB0tB0tB0tB0tB0 -H X-Auth-Token:dutydesk-pat-0000000000000000000000000000'
cat <<TXT

dutydesk-sim is up (pid $sim_pid): $(sed 's/^dutydesk-sim ready //' "$workdir/sim.out" | head -1)

  The request lifecycle (dutydesk serve) is not built yet; until it is, the demo is the simulator itself.
  Seed: sim/seed/demo.json (users alice, bob, carol, dave, eve; channels #cicd-support, #dba-support;
  Jira projects CICD and DBA; OnCall schedules SCHEDCICD (bob) and SCHEDDBA (carol)).

Try it:
  # Alice posts in #cicd-support through the control API (as the web client would):
  curl -s -XPOST 127.0.0.1:8099/control/rocketchat/messages -d '{"user":"alice","room":"cicd-support","text":"CI is red on main"}'
  # The bot reads the channel over Rocket.Chat's REST API:
  curl -s $bot '127.0.0.1:3000/api/v1/channels.history?roomId=CicdSupp0rtRoom01'
  # Who is on duty for CI/CD (Grafana OnCall API):
  curl -s -H 'Authorization: oncall-token-000000000000000000' 127.0.0.1:8081/api/v1/schedules/SCHEDCICD/
  # Create a Jira issue on the Data Center flavour:
  curl -s -H 'Authorization: Bearer jira-bot-token-0000000000000000' -H 'Content-Type: application/json' \\
    127.0.0.1:8080/rest/api/2/issue -d '{"fields":{"project":{"key":"DBA"},"issuetype":{"name":"Task"},"summary":"Replica lag"}}'
  # Everything the simulator received:
  curl -s '127.0.0.1:8099/control/requests?limit=20'
  # Inject faults: 20% 429s on Jira Cloud for a minute
  curl -s -XPOST 127.0.0.1:8099/control/faults -d '{"system":"jira-cloud","rate_429":0.2,"for_ms":60000}'

  Realtime: ws://127.0.0.1:3000/websocket (DDP). Control API reference: docs/simulator.md.
  Press Ctrl-C to stop.
TXT
wait "$sim_pid"
