#!/usr/bin/env bash
# The actor, I/O and event tests under ThreadSanitizer (issue 6). Configures BUILD_DIR with DUTYDESK_TSAN=ON, builds
# actors_tests, io_tests, events_tests and dutydesk-sim (the io tests run the simulator and nats-server), runs every
# test of those three executables through ctest with tests/tsan.supp and tests/tsan_caf_shim.c preloaded (it shows
# TSan CAF's message hand-offs, which the uninstrumented libcaf_core.so hides), and fails on a failed test or on any
# TSan report, even in a test that passed.
#   Usage: scripts/tsan.sh [BUILD_DIR (build-tsan)]
#   Env:   TSAN_JOBS=N  ctest -j (default: the number of cores)
# Prints the build time, ctest's summary line ("N% tests passed, F tests failed out of T"), the number of TSan
# reports and the tests that had them. The full ctest log is BUILD_DIR/tsan-ctest.log.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-"$root/build-tsan"}
mkdir -p "$dir" && dir=$(cd "$dir" && pwd) # absolute: ctest names the test commands by absolute paths
jobs=${TSAN_JOBS:-$(nproc)}
targets=(actors_tests io_tests events_tests dutydesk-sim)
executables=(actors_tests io_tests events_tests)
supp="$root/tests/tsan.supp"
log="$dir/tsan-ctest.log"

t0=$(date +%s)
mkdir -p "$dir"
# -Wno-tsan: g++ 12 warns (-Werror) that Asio's std_fenced_block uses std::atomic_thread_fence, which TSan does not
# model; Asio's handler queues are mutex-protected, the fence is an extra, so nothing TSan needs is lost.
cmake -S "$root" -B "$dir" -G Ninja -DDUTYDESK_TSAN=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-Wno-tsan \
  >"$dir/tsan-configure.log" 2>&1 || { cat "$dir/tsan-configure.log" >&2; exit 1; }
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}"
# The CAF hand-off annotations (tests/tsan_caf_shim.c), preloaded into every test process.
shim="$dir/libtsan_caf_shim.so"
cc -O1 -g -shared -fPIC -o "$shim" "$root/tests/tsan_caf_shim.c" -ldl
probe="$dir/tsan_probe"
c++ -std=c++20 -O0 -g1 -fsanitize=thread -o "$probe" "$root/tests/tsan_probe.cpp" -lcaf_core
t1=$(date +%s)
echo "tsan: build took $((t1 - t0)) s"

# Self-check: with the shim and the suppressions, a program whose accesses are ordered by CAF messages has no
# report, and the same program with one unordered write has a report at that write. Without it a broken shim (or
# an over-broad suppression) would pass silently.
probe_run() {  # probe_run <mode>: prints the number of reports
  LD_PRELOAD="$shim" TSAN_OPTIONS="halt_on_error=0 suppressions=$supp" "$probe" "$1" >"$dir/tsan-probe-$1.log" 2>&1 || true
  grep -c "WARNING: ThreadSanitizer" "$dir/tsan-probe-$1.log" || true
}
ordered=$(probe_run ordered)
racy=$(probe_run racy)
if [[ "$ordered" -ne 0 ]] || [[ "$racy" -eq 0 ]] || ! grep -q "tsan_probe.cpp:18" "$dir/tsan-probe-racy.log"; then
  echo "tsan: self-check failed: $ordered reports for ordered accesses (want 0), $racy for a race (want >0 at" \
    "tests/tsan_probe.cpp:18); see $dir/tsan-probe-*.log" >&2
  exit 1
fi
echo "tsan: self-check: 0 reports for message-ordered accesses, $racy for a real race (tests/tsan_probe.cpp:18)"

# The three executables' tests: the ones whose command is one of them (this tree builds nothing else, but a tree
# shared with other targets must not run their tests here).
names=$(ctest --test-dir "$dir" --show-only=json-v1 | jq -r --arg d "$dir/tests/" \
  --argjson exes "$(printf '%s\n' "${executables[@]}" | jq -R . | jq -s .)" \
  '.tests[] | select((.command // [""])[0] as $c | $exes | index($c | ltrimstr($d))) | .name')
count=$(grep -c . <<<"$names" || true)
if [[ "$count" -eq 0 ]]; then
  echo "tsan: no tests found in $dir" >&2
  exit 1
fi
# ctest -R takes one regex: the names, escaped and anchored.
regex="^($(sed -E 's/[][\.^$*+?(){}|\\/]/\\&/g' <<<"$names" | paste -sd'|'))\$"

# Every process the tests start (the simulator, nats-server) inherits this marker; a test that TSan stopped
# (halt_on_error) cannot stop its children, so they are found by it afterwards and stopped by their PIDs.
marker="DUTYDESK_TSAN_RUN=$$-$t1"
reap() {
  local p
  for p in $(pgrep -f 'dutydesk-sim|nats-server' || true); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "$marker"; then
      kill -TERM "$p" 2>/dev/null || true
    fi
  done
}
trap reap EXIT

echo "tsan: running $count tests of ${executables[*]} (ctest -j$jobs)"
rc=0
env "$marker" LD_PRELOAD="$shim" TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$supp" \
  DUTYDESK_SIM="$dir/sim/dutydesk-sim" \
  ctest --test-dir "$dir" -R "$regex" -j"$jobs" --output-on-failure >"$log" 2>&1 || rc=1
t2=$(date +%s)

summary=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -1 || true)
reports=$(grep -c "WARNING: ThreadSanitizer" "$log" || true)
# ctest prints a passing test's output only on failure; a report makes the test exit non-zero (halt_on_error), so
# each report belongs to a failed test. The simulator's own reports land in the same output.
echo "tsan: tests took $((t2 - t1)) s; log $log"
if [[ -n "$summary" ]]; then echo "$summary"; else echo "tsan: ctest printed no summary" >&2; rc=1; fi
echo "tsan: $reports ThreadSanitizer reports"
if [[ "$reports" -gt 0 ]]; then
  rc=1
  grep -E "^SUMMARY: ThreadSanitizer" "$log" | sort | uniq -c | sort -rn | head -20 | sed 's/^/  /'
fi
if [[ $rc -ne 0 ]]; then
  sed -n '/The following tests FAILED:/,$p' "$log" | grep -E "^\s+[0-9]+ - " | sed 's/^/  failed: /' || true
fi
echo "tsan: done in $((t2 - t0)) s"
exit "$rc"
