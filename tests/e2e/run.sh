#!/usr/bin/env bash
# End-to-end tests on loopback: the simulator binary alone (sim_server), and `dutydesk serve` against it (lifecycle,
# Jira mirror, feedback, events through a real nats-server, metrics scraped by a real Prometheus).
# Usage: tests/e2e/run.sh <path to dutydesk-sim> [<path to dutydesk>]
# Without the second argument the lifecycle tests are skipped (DUTYDESK_BIN unset).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DUTYDESK_SIM=${1:?usage: run.sh <dutydesk-sim> [<dutydesk>]}
if [[ -n "${2:-}" ]]; then
  export DUTYDESK_BIN=$2
else
  unset DUTYDESK_BIN
fi
# The official NATS client (tests/e2e/package.json) reads what dutydesk published to JetStream.
if [[ ! -d "$here/node_modules/nats" ]]; then
  echo "run.sh: node_modules missing, running npm ci"
  (cd "$here" && npm ci --no-audit --no-fund)
fi
exec node --test --test-reporter=tap --experimental-websocket --test-timeout=60000 "$here"/*.test.mjs
