#!/usr/bin/env bash
# The test command (README, .ci/run): set up, build, run every test.
#   1. unit tests (ctest: domain, config, io, storage, actors, simulator modules)
#   2. the CLI's end-to-end script against the real dutydesk binary
#   3. end to end on loopback (tests/e2e): the simulator alone, and `dutydesk serve` against it; the demo story
#      (README command 1, non-interactive); the conformance suite: the simulator driven by official clients (npm)
#      and Prism on Atlassian's spec
#      the small chaos run (scripts/chaos.sh: 30 requests, 3 kills -9, every fault kind; fails on anything lost,
#      duplicated or wrong)
#   4. a fuzz smoke run of the four parser targets (fuzz/, scripts/fuzz.sh); the whole unit suite again under
#      ASan+UBSan, and the e2e and conformance suites against the sanitized binaries; the actor, I/O and event tests
#      under ThreadSanitizer (scripts/tsan.sh)
#   5. the secrets scan: every configured secret against the e2e logs, /metrics pages and reports
# One real PostgreSQL 15 on loopback serves the whole run (DUTYDESK_TEST_POSTGRES_URL): the storage tests on both
# backends, the CLI's migrate, and a second pass of the e2e suite with storage.url on PostgreSQL. The chaos run
# starts a PostgreSQL and a NATS of its own.
# --fast skips 4 (for the edit-build-test loop; CI always runs everything).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fast=0
[[ "${1:-}" == "--fast" ]] && fast=1

"$root/scripts/setup.sh"
start=$(date +%s)
passed=0
failed=0
count() {  # count <passed> <failed>
  passed=$((passed + $1))
  failed=$((failed + $2))
}
ctest_counts() {  # parses ctest's "N% tests passed, F tests failed out of T"
  local line total fails
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$1" | tail -1 || true)
  if [[ -z "$line" ]]; then
    count 0 1
    rc=1
    return
  fi
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  fails=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
  count $((total - fails)) "$fails"
}
logdir="$root/build/test-logs"

# The run's PostgreSQL: started once, destroyed (by its PID, with its data) however the script ends.
pg_dir="$root/build/pg-run"
mkdir -p "$root/build"
DUTYDESK_TEST_POSTGRES_URL=$("$root/scripts/pg_server.sh" start "$pg_dir")
export DUTYDESK_TEST_POSTGRES_URL
trap '"$root/scripts/pg_server.sh" destroy "$pg_dir" >/dev/null 2>&1 || true' EXIT
echo "== PostgreSQL for the run: $DUTYDESK_TEST_POSTGRES_URL"

stage() {  # stage <name>: prints the time the previous stage took, then the new stage's heading
  local now
  now=$(date +%s)
  [[ -n "${stage_name:-}" ]] && echo "== $stage_name took $((now - stage_start)) s"
  stage_name=$1
  stage_start=$now
  [[ -n "$1" ]] && echo "== $1"
  return 0
}

stage build
"$root/scripts/build.sh" "$root/build"
mkdir -p "$logdir"

stage "unit tests"
rc=0
DUTYDESK_SIM="$root/build/sim/dutydesk-sim" ctest --test-dir "$root/build" --output-on-failure -j"$(nproc)" 2>&1 | tee "$logdir/ctest.log" || rc=1
ctest_counts "$logdir/ctest.log"

cli_suite() {  # cli_suite <name> <script>: a shell test script that ends with "N passed, M failed"
  if bash "$2" "$root/build/app/dutydesk" 2>&1 | tee "$logdir/$1.log"; then :; else rc=1; fi
  local line
  line=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$logdir/$1.log" | tail -1 || true)
  [[ -n "$line" ]] && count "$(cut -d' ' -f1 <<<"$line")" "$(cut -d' ' -f3 <<<"$line")" || { count 0 1; rc=1; }
}

stage "CLI"
cli_suite cli "$root/tests/cli/check_config.sh"
cli_suite cli-secrets "$root/tests/cli/scan_secrets_test.sh"

script_suite() {  # script_suite <name> <command...>: a test script that ends with "N passed, M failed"
  local name=$1
  shift
  if "$@" 2>&1 | tee "$logdir/$name.log"; then :; else rc=1; fi
  local line
  line=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$logdir/$name.log" | tail -1 || true)
  [[ -n "$line" ]] && count "$(cut -d' ' -f1 <<<"$line")" "$(cut -d' ' -f3 <<<"$line")" || { count 0 1; rc=1; }
}

node_suite() {  # node_suite <name> <command...>: runs a node:test suite, counts its "# pass/# fail" lines
  local name=$1
  shift
  if "$@" 2>&1 | tee "$logdir/$name.log"; then :; else rc=1; fi
  local p f
  p=$(grep -E "^# pass [0-9]+" "$logdir/$name.log" | tail -1 | awk '{print $3}' || true)
  f=$(grep -E "^# fail [0-9]+" "$logdir/$name.log" | tail -1 | awk '{print $3}' || true)
  if [[ -n "$p" ]]; then count "$p" "${f:-0}"; else count 0 1; rc=1; fi
}

# The e2e passes keep their stacks' directories (config, dutydesk.log, the last /metrics) for the secrets scan.
keep="$root/build/e2e-keep"
rm -rf "$keep"
mkdir -p "$keep/sqlite" "$keep/postgres" "$keep/asan"
e2e_pass() {  # e2e_pass <name> <keep subdir> <sim> <dutydesk>
  E2E_KEEP=1 TMPDIR="$keep/$2" node_suite "$1" bash "$root/tests/e2e/run.sh" "$3" "$4"
}

stage "simulator end to end (real binary, loopback)"
e2e_pass e2e sqlite "$root/build/sim/dutydesk-sim" "$root/build/app/dutydesk"

stage "simulator end to end on PostgreSQL (storage.url postgresql://)"
export DUTYDESK_E2E_POSTGRES_URL=$DUTYDESK_TEST_POSTGRES_URL
e2e_pass e2e-postgres postgres "$root/build/sim/dutydesk-sim" "$root/build/app/dutydesk"
unset DUTYDESK_E2E_POSTGRES_URL

stage "the simulator's live page in headless Chromium (tests/browser)"
BROWSER_ARTIFACTS="$root/build/browser-artifacts" \
  node_suite browser bash "$root/tests/browser/run.sh" "$root/build/sim/dutydesk-sim" "$root/build/app/dutydesk"

stage "chaos, small run (30 requests, 3 kills, seed 1; tests/chaos)"
if bash "$root/scripts/chaos.sh" --requests 30 --kills 3 --seed 1 >"$logdir/chaos.log" 2>&1; then
  count 1 0; grep -E "^chaos: (requests|kills|lost|duplicated|wrong|fault) " "$logdir/chaos.log" || true
else
  echo "the chaos run failed; its end:"; tail -60 "$logdir/chaos.log"; count 0 1; rc=1
fi

stage "demo (README command 1, story only)"
if DEMO_NO_BUILD=1 DEMO_NONINTERACTIVE=1 bash "$root/scripts/demo.sh" >"$logdir/demo.log" 2>&1; then count 1 0; else
  echo "demo failed; its log:"; tail -40 "$logdir/demo.log"; count 0 1; rc=1; fi

stage "conformance (official clients and specs)"
node_suite conformance bash "$root/conformance/run.sh" "$root/build/sim/dutydesk-sim" "$root/build/tests/io_tests"

stage "packaging: docker/ and deploy/kubernetes/ (no engine or cluster here; tests/deploy, docs/deploy.md)"
script_suite deploy-docker python3 "$root/tests/deploy/check_docker.py" "$root/build/app/dutydesk" \
  "$root/build/sim/dutydesk-sim" --build-dir "$root/build-image"
cli_suite deploy-kubernetes "$root/tests/deploy/check_kubernetes.sh"
script_suite deploy-rocketchat-init bash "$root/tests/deploy/rocketchat_init_test.sh" "$root/build/sim/dutydesk-sim"

if [[ $fast -eq 0 ]]; then
  stage "fuzz smoke (libFuzzer + ASan/UBSan, clang; 15 s per target)"
  if bash "$root/scripts/fuzz.sh" 15 "$root/build-fuzz" 2>&1 | tee "$logdir/fuzz.log"; then count 1 0; else
    count 0 1; rc=1; fi
  stage "sanitizer build (ASan+UBSan)"
  "$root/scripts/build.sh" "$root/build-asan" -DDUTYDESK_SANITIZE=ON
  stage "unit tests under ASan+UBSan"
  export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    DUTYDESK_SIM="$root/build-asan/sim/dutydesk-sim" ctest --test-dir "$root/build-asan" --output-on-failure -j"$(nproc)" 2>&1 | tee "$logdir/ctest-asan.log" || rc=1
  ctest_counts "$logdir/ctest-asan.log"
  stage "simulator end to end and conformance, against the ASan+UBSan simulator"
  export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  e2e_pass e2e-asan asan "$root/build-asan/sim/dutydesk-sim" "$root/build-asan/app/dutydesk"
  node_suite conformance-asan bash "$root/conformance/run.sh" "$root/build-asan/sim/dutydesk-sim" "$root/build-asan/tests/io_tests"
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
  stage "ThreadSanitizer: actor, I/O and event tests (scripts/tsan.sh)"
  if bash "$root/scripts/tsan.sh" "$root/build-tsan" 2>&1 | tee "$logdir/tsan.log"; then tsan_ok=1; else tsan_ok=0; rc=1; fi
  # Its ctest log counts the tests; a TSan report makes its test fail, a failed self-check counts as one failure.
  if [[ -f "$root/build-tsan/tsan-ctest.log" ]] && grep -qE "tests passed, [0-9]+ tests? failed" "$root/build-tsan/tsan-ctest.log"; then
    cp "$root/build-tsan/tsan-ctest.log" "$logdir/tsan-ctest.log"
    before=$failed
    ctest_counts "$logdir/tsan-ctest.log"
    [[ $tsan_ok -eq 0 && $failed -eq $before ]] && count 0 1
  else
    count 0 1
  fi
fi

stage "secrets: every configured secret against the e2e logs, /metrics pages and reports"
if bash "$root/scripts/scan_secrets.sh" --require-metrics --dutydesk "$root/build/app/dutydesk" "$keep" \
  "$keep"/*/dutydesk-*/dutydesk.yaml >"$logdir/secrets.log" 2>&1; then count 1 0; else count 0 1; rc=1; fi
# The summary and the first hits (a leak repeats in many files; the log has them all).
grep -v "contains" "$logdir/secrets.log" || true
grep "contains" "$logdir/secrets.log" | head -20 || true

stage ""
# What failed, by name, at the end where a truncated CI log still shows it.
if [[ $failed -gt 0 || $rc -ne 0 ]]; then
  echo "== failures:"
  for f in "$logdir"/*.log; do
    name=$(basename "$f" .log)
    sed -n '/The following tests FAILED:/,/^Errors while running/p' "$f" | grep -E "^\s+[0-9]+ - " | sed "s/^/  $name: /" || true
    grep -E "^\s*not ok [0-9]+ - " "$f" | sed "s/^\s*/  $name: /" || true
    grep -E "^FAIL: " "$f" | sed "s/^/  $name: /" || true
    grep -E "^scan_secrets: .*: contains " "$f" | head -5 | sed "s/^/  $name: /" || true
    grep -E "^chaos: +(lost|duplicated|wrong): " "$f" | head -10 | sed "s/^/  $name: /" || true
  done
fi
echo "== done in $(( $(date +%s) - start )) s"
echo "total: $passed passed, $failed failed"
[[ $rc -eq 0 && $failed -eq 0 ]]
