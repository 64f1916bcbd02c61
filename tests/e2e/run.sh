#!/usr/bin/env bash
# End-to-end tests of the simulator binary. Usage: tests/e2e/run.sh <path to dutydesk-sim>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DUTYDESK_SIM=${1:?usage: run.sh <dutydesk-sim>}
exec node --test --test-reporter=tap --experimental-websocket --test-timeout=60000 "$here"/*.test.mjs
