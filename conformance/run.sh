#!/usr/bin/env bash
# Conformance run: checks dutydesk-sim against the products' official clients and OpenAPI specs.
#   conformance/run.sh <path-to-dutydesk-sim> [<path-to-io_tests>]
# Starts the simulator (demo seed, fixed loopback ports 13000-13099) and two Prism mocks (14010: Jira v3 spec,
# 14011: Jira v2 spec), waits for readiness, runs node's built-in test runner, stops everything it started (by PID)
# and exits non-zero on any failure. Runnable repeatedly, from any cwd. With the io_tests binary it also runs
# dutydesk's own Jira client against the v3 Prism (`io_tests --gtest_filter='JiraPrism*'`, DUTYDESK_PRISM_V3).
# Environment: CONFORMANCE_FILES="test/a.test.mjs ..." runs a subset; KEEP_LOGS=1 keeps the log dir.
set -euo pipefail

CONF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$CONF_DIR/.." && pwd)"
# shared/ lies beside the repository (CI lays a copy there); /work/shared is the developers' machine layout.
if [[ -z "${SPEC_DIR:-}" ]]; then
  for d in "$REPO_DIR/../shared/reference/specs/jira" /work/shared/reference/specs/jira; do
    [[ -f "$d/jira-cloud-platform-v3.swagger-v3.v3.json" ]] && { SPEC_DIR="$(cd "$d" && pwd)"; break; }
  done
fi
[[ -n "${SPEC_DIR:-}" ]] || { echo "run.sh: Atlassian's specs not found (set SPEC_DIR)" >&2; exit 2; }
SEED="${SEED:-$REPO_DIR/sim/seed/demo.json}"

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 <path-to-dutydesk-sim> [<path-to-io_tests>]" >&2
  exit 2
fi
SIM_BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[[ -x "$SIM_BIN" ]] || { echo "run.sh: $SIM_BIN is not an executable" >&2; exit 2; }
IO_TESTS=""
if [[ $# -eq 2 ]]; then
  IO_TESTS="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
  [[ -x "$IO_TESTS" ]] || { echo "run.sh: $IO_TESTS is not an executable" >&2; exit 2; }
fi

START_TS=$(date +%s)
LOG_DIR="$(mktemp -d /tmp/dutydesk-conformance.XXXXXX)"
PIDS=()

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "run.sh: PID $pid did not stop on SIGTERM within 5 s; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [[ $rc -ne 0 || "${KEEP_LOGS:-}" == 1 ]]; then
    echo "run.sh: logs kept in $LOG_DIR"
  else
    rm -rf "$LOG_DIR"
  fi
  echo "run.sh: finished in $(( $(date +%s) - START_TS )) s, exit $rc"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "run.sh: $*" >&2; exit 1; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- dependencies (idempotent, from the committed lockfile) ---
if [[ ! -d "$CONF_DIR/node_modules" ]]; then
  echo "run.sh: node_modules missing, running npm ci"
  (cd "$CONF_DIR" && npm ci --no-audit --no-fund) || die "npm ci failed"
fi
PRISM="$CONF_DIR/node_modules/.bin/prism"
[[ -x "$PRISM" ]] || die "prism not installed ($PRISM); remove node_modules and rerun"

for port in 13000 13080 13081 13082 13099 14010 14011; do
  port_busy "$port" && die "127.0.0.1:$port is already in use (a leftover process?)"
done

# --- start the simulator and both Prism instances ---
"$SIM_BIN" --seed "$SEED" --rc-listen 127.0.0.1:13000 --jira-dc-listen 127.0.0.1:13080 \
  --jira-cloud-listen 127.0.0.1:13082 --oncall-listen 127.0.0.1:13081 --control-listen 127.0.0.1:13099 \
  >"$LOG_DIR/sim.out" 2>"$LOG_DIR/sim.err" &
SIM_PID=$!
PIDS+=("$SIM_PID")

"$PRISM" mock -h 127.0.0.1 -p 14010 --errors -d --seed 1 "$SPEC_DIR/jira-cloud-platform-v3.swagger-v3.v3.json" \
  >"$LOG_DIR/prism-v3.log" 2>&1 &
PIDS+=("$!")
PRISM_V3_PID=$!
"$PRISM" mock -h 127.0.0.1 -p 14011 --errors -d --seed 1 "$SPEC_DIR/jira-cloud-platform-v2.primelib-modified.openapi.json" \
  >"$LOG_DIR/prism-v2.log" 2>&1 &
PIDS+=("$!")
PRISM_V2_PID=$!

# wait_for <what> <pid> <file> <pattern> <timeout-s>: bounded polling for a readiness line.
wait_for() {
  local what=$1 pid=$2 file=$3 pattern=$4 timeout=$5
  local deadline=$(( $(date +%s) + timeout ))
  until grep -q "$pattern" "$file" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run.sh: $what exited before becoming ready; last output:" >&2
      tail -n 30 "$file" "${file%.out}.err" 2>/dev/null >&2 || true
      exit 1
    fi
    if (( $(date +%s) >= deadline )); then
      echo "run.sh: $what not ready within ${timeout} s; last output:" >&2
      tail -n 30 "$file" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
}

wait_for "dutydesk-sim" "$SIM_PID" "$LOG_DIR/sim.out" "dutydesk-sim ready" 30
echo "run.sh: $(grep -m1 'dutydesk-sim ready' "$LOG_DIR/sim.out")"
wait_for "Prism (v3 spec)" "$PRISM_V3_PID" "$LOG_DIR/prism-v3.log" "Prism is listening" 120
wait_for "Prism (v2 spec)" "$PRISM_V2_PID" "$LOG_DIR/prism-v2.log" "Prism is listening" 120
echo "run.sh: Prism ready on 127.0.0.1:14010 (v3) and 127.0.0.1:14011 (v2) after $(( $(date +%s) - START_TS )) s"

# --- run the suite ---
cd "$CONF_DIR"
# shellcheck disable=SC2206
FILES=(${CONFORMANCE_FILES:-test/*.test.mjs})
set +e
# --experimental-websocket: Node 20 has no global WebSocket by default; @rocket.chat/ddp-client uses the global.
# Concurrency 3: the heartbeat file idles ~30 s waiting for a server ping; the others run beside it.
timeout 900 node --experimental-websocket --disable-warning=ExperimentalWarning --test --test-timeout=60000 \
  --test-concurrency=3 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$LOG_DIR/tests.tap" "${FILES[@]}"
TEST_RC=$?
set -e

# node's own summary lines ("# tests N", "# pass N", "# fail N", ...) from the TAP reporter.
grep -E '^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$LOG_DIR/tests.tap" || echo "# fail unknown (no TAP summary)"

kill -0 "$SIM_PID" 2>/dev/null || { echo "run.sh: dutydesk-sim died during the run" >&2; tail -n 30 "$LOG_DIR/sim.err" >&2; TEST_RC=1; }

# --- dutydesk's own Jira client against the v3 spec (after the node suite, so Prism is not shared) ---
PRISM_RC=0
if [[ -n "$IO_TESTS" ]]; then
  echo "run.sh: dutydesk's Jira client against Prism (v3): $IO_TESTS --gtest_filter='JiraPrism*'"
  set +e
  DUTYDESK_PRISM_V3=http://127.0.0.1:14010 timeout 300 "$IO_TESTS" --gtest_filter='JiraPrism*' 2>&1 \
    | tee "$LOG_DIR/jira-prism.out"
  PRISM_RC=${PIPESTATUS[0]}
  set -e
  # A binary without these tests, or one that skipped them, proves nothing.
  if [[ $PRISM_RC -eq 0 ]] && { ! grep -qE '^\[  PASSED  \] [1-9]' "$LOG_DIR/jira-prism.out" ||
                                 grep -q '^\[  SKIPPED \]' "$LOG_DIR/jira-prism.out"; }; then
    echo "run.sh: no JiraPrism test ran (or one was skipped)" >&2
    PRISM_RC=1
  fi
fi

if [[ $TEST_RC -ne 0 ]]; then
  echo "run.sh: FAILED (node --test exit $TEST_RC)" >&2
  exit "$TEST_RC"
fi
if [[ $PRISM_RC -ne 0 ]]; then
  echo "run.sh: FAILED (JiraPrism io_tests exit $PRISM_RC)" >&2
  exit "$PRISM_RC"
fi
echo "run.sh: all conformance tests passed"
