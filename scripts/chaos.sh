#!/usr/bin/env bash
# The chaos run (tests/chaos/chaos.mjs) with the binaries of build/ (DUTYDESK_BUILD overrides the build dir);
# every argument passes through: --requests N --kills K --seed S --keep --duration SECONDS ...
# Needs nats-server, PostgreSQL 15 (scripts/pg_server.sh) and node; installs the NATS client like tests/e2e/run.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${DUTYDESK_BUILD:-$root/build}
for bin in "$build/sim/dutydesk-sim" "$build/app/dutydesk"; do
  [[ -x $bin ]] || { echo "chaos.sh: $bin is missing; build it first (scripts/build.sh)" >&2; exit 2; }
done
if [[ ! -d "$root/tests/e2e/node_modules/nats" ]]; then
  echo "chaos.sh: node_modules missing, running npm ci in tests/e2e"
  (cd "$root/tests/e2e" && npm ci --no-audit --no-fund)
fi
exec node "$root/tests/chaos/chaos.mjs" --sim "$build/sim/dutydesk-sim" --dutydesk "$build/app/dutydesk" "$@"
