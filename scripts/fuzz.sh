#!/usr/bin/env bash
# Fuzz smoke test (CI) and long runs: builds the libFuzzer targets in fuzz/ with clang, then runs each one for
# SECONDS on a copy of its seed corpus. Fails (exit 1) when any target finds a crash, a leak, a timeout or runs out of
# memory; the inputs that did it are kept under BUILD_DIR/fuzz-artifacts/<target>/.
#   Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (20)] [BUILD_DIR (build-fuzz)]
#   Env:   FUZZ_TARGETS="ddp_frame config"  run only these;  FUZZ_CORPUS_OUT=DIR  keep each grown corpus in DIR/<target>
# Prints the build time, a detail line per target, and at the end one summary line per target:
#   fuzz: <target>: <execs> execs in <s> s, crashes <n>
# The repository is never written to: corpora are copied to a temp dir, and all output goes to BUILD_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
dir=${2:-"$root/build-fuzz"}
targets=${FUZZ_TARGETS:-"ddp_frame jira_webhook config command"}
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || { echo "fuzz: SECONDS must be a positive integer" >&2; exit 2; }
command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (apt-get install clang)" >&2; exit 2; }

max_len() {  # bytes per input: a websocket frame or webhook body is bounded well below 64 KiB; a config by 16 KiB
  case "$1" in
    config) echo 16384 ;;
    command) echo 8192 ;; # Rocket.Chat's default message limit is 5000 characters
    *) echo 65536 ;;
  esac
}

# A build dir configured for another compiler would be wiped by CMake; refuse instead.
if [[ -f "$dir/CMakeCache.txt" ]] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' "$dir/CMakeCache.txt"; then
  echo "fuzz: $dir is configured for another compiler; pass a build dir of its own (e.g. build-fuzz)" >&2
  exit 2
fi
# A checkout whose top-level CMakeLists.txt does not add fuzz/ yet gets it injected (fuzz/without_top_level.cmake).
# Otherwise the injection is dropped from the cache, where an older configure may have left it.
if grep -q 'add_subdirectory(fuzz)' "$root/CMakeLists.txt"; then
  extra=(-UCMAKE_PROJECT_dutydesk_INCLUDE)
else
  extra=("-DCMAKE_PROJECT_dutydesk_INCLUDE=$root/fuzz/without_top_level.cmake")
fi

t0=$(date +%s)
mkdir -p "$dir"
cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER="$(command -v clang++)" -DCMAKE_BUILD_TYPE=Debug \
  -DDUTYDESK_FUZZ=ON "${extra[@]}" >"$dir/fuzz-configure.log" 2>&1 || { cat "$dir/fuzz-configure.log" >&2; exit 1; }
t1=$(date +%s)
bins=()
for t in $targets; do bins+=("fuzz_$t"); done
cmake --build "$dir" -j"$(nproc)" --target "${bins[@]}"
t2=$(date +%s)
echo "fuzz: build took $((t2 - t0)) s (configure $((t1 - t0)) s, compile and link $((t2 - t1)) s)"

work=$(mktemp -d "${TMPDIR:-/tmp}/dutydesk-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
summary=()
failed=0
for t in $targets; do
  bin="$dir/fuzz/fuzz_$t"
  corpus="$work/$t/corpus"
  artifacts="$work/$t/artifacts"
  mkdir -p "$corpus" "$artifacts" "$work/$t/tmp"
  cp "$root/fuzz/corpus/$t/"* "$corpus/"
  seeds=$(find "$corpus" -type f | wc -l)
  dict=()
  [[ -f "$root/fuzz/$t.dict" ]] && dict=("-dict=$root/fuzz/$t.dict")
  log="$dir/fuzz-$t.log"
  start=$(date +%s)
  rc=0
  # -timeout: seconds one input may take; -rss_limit_mb: libFuzzer's default, stated.
  TMPDIR="$work/$t/tmp" "$bin" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  took=$(($(date +%s) - start))
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
  rss=$(sed -nE 's/^stat::peak_rss_mb: *([0-9]+).*/\1/p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  crashes=$(find "$artifacts" -type f | wc -l)
  if [[ $rc -ne 0 && $crashes -eq 0 ]]; then
    crashes=1 # e.g. a crash while loading the corpus, before an artifact could be written
  fi
  size=$(find "$corpus" -type f | wc -l)
  echo "  $t: corpus $seeds -> $size inputs, ${cov:-cov ?}, peak rss ${rss:-?} MB, exit $rc, log $log"
  if [[ $crashes -ne 0 ]]; then
    failed=1
    keep="$dir/fuzz-artifacts/$t"
    mkdir -p "$keep"
    cp "$artifacts/"* "$keep/" 2>/dev/null || true
    echo "  $t: FAILED; inputs kept in $keep; reproduce with: $bin $keep/<file>" >&2
    grep -E 'ERROR|invariant broken|SUMMARY|runtime error' "$log" | head -5 | sed 's/^/    /' >&2 || true
  fi
  if [[ -n "${FUZZ_CORPUS_OUT:-}" ]]; then
    mkdir -p "$FUZZ_CORPUS_OUT/$t"
    cp "$corpus/"* "$FUZZ_CORPUS_OUT/$t/"
  fi
  summary+=("fuzz: $t: ${execs:-0} execs in $took s, crashes $crashes")
done
printf '%s\n' "${summary[@]}"
exit "$failed"
