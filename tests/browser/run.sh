#!/usr/bin/env bash
# Browser test of the simulator's live page (sim/web/) in Debian's headless Chromium, driven by playwright-core (no
# browser download). Starts the simulator and `dutydesk serve` against it through tests/e2e/lib.mjs.
# Usage: tests/browser/run.sh <path to dutydesk-sim> <path to dutydesk>
# CHROMIUM overrides the browser (default /usr/bin/chromium, from `apt-get install chromium`); the screenshot goes to
# $BROWSER_ARTIFACTS (default build/browser-artifacts/live-page.png; live-page-failure.png when a wait fails).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage="usage: run.sh <dutydesk-sim> <dutydesk>"
DUTYDESK_SIM=$(realpath "${1:?$usage}")
DUTYDESK_BIN=$(realpath "${2:?$usage}")
export DUTYDESK_SIM DUTYDESK_BIN
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$CHROMIUM" ]]; then
  echo "run.sh: no Chromium at $CHROMIUM (apt-get install -y chromium)" >&2
  exit 1
fi
if [[ ! -d "$here/node_modules/playwright-core" ]]; then
  echo "run.sh: node_modules missing, running npm ci"
  (cd "$here" && npm ci --no-audit --no-fund)
fi
exec node --test --test-reporter=tap --test-timeout=120000 "$here"/*.test.mjs
