#!/usr/bin/env bash
# One benchmark run (issue 8): dutydesk-sim with a generated seed (M channels, U users), then `dutydesk serve`
# (or, with --bot node, the side-by-side Node bot in bench/node-bot/), then the load driver bench/load.mjs.
# Appends one CSV row to OUT/results.csv and prints a markdown table. bench/README.md explains every figure.
#
#   bench/run.sh [--requests N] [--rate R|max] [--channels M] [--users U] [--replies K] [--store sqlite|postgres]
#                [--bot dutydesk|node] [--concurrency C] [--timeout S] [--out DIR]
#
# Binaries: $DUTYDESK_BIN and $DUTYDESK_SIM_BIN if set, else $BUILD_DIR (default build-release) built in Release
# when missing. --store postgres needs BENCH_POSTGRES_URL (a server URL; a fresh database is created per run).
# NODE_BOT_VIA=rest makes the Node bot use REST instead of DDP methods.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
requests=200 rate=max channels=4 users=20 replies=0 store=sqlite bot=dutydesk concurrency=8 timeout=120
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests) requests=$2 ;;
    --rate) rate=$2 ;;
    --channels) channels=$2 ;;
    --users) users=$2 ;;
    --replies) replies=$2 ;;
    --store) store=$2 ;;
    --bot) bot=$2 ;;
    --concurrency) concurrency=$2 ;;
    --timeout) timeout=$2 ;;
    --out) out=$2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift 2 || { echo "run.sh: $1 needs a value" >&2; exit 2; }
done
case "$store" in sqlite|postgres) ;; *) echo "run.sh: --store is sqlite or postgres" >&2; exit 2 ;; esac
case "$bot" in dutydesk|node) ;; *) echo "run.sh: --bot is dutydesk or node" >&2; exit 2 ;; esac

build="${BUILD_DIR:-build-release}"
[[ "$build" = /* ]] || build="$root/$build"
sim_bin="${DUTYDESK_SIM_BIN:-$build/sim/dutydesk-sim}"
dd_bin="${DUTYDESK_BIN:-$build/app/dutydesk}"
if [[ ! -x "$sim_bin" || ( "$bot" = dutydesk && ! -x "$dd_bin" ) ]]; then
  echo "run.sh: building dutydesk and dutydesk-sim in $build (Release)" >&2
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDUTYDESK_TESTS=OFF -DDUTYDESK_WERROR=OFF >/dev/null
  cmake --build "$build" --target dutydesk dutydesk-sim -j"$(nproc)" >/dev/null
fi
if [[ "$bot" = node && ! -d "$root/bench/node-bot/node_modules" ]]; then
  (cd "$root/bench/node-bot" && npm ci --no-audit --no-fund >/dev/null 2>&1)
fi

[[ -n "$out" ]] || out="$build/bench-results"
mkdir -p "$out"
out=$(cd "$out" && pwd)
run="$out/run-$(date -u +%Y%m%dT%H%M%SZ)-$bot-$$"
mkdir -p "$run"
sim_pid="" bot_pid="" load_pid=""
# shellcheck disable=SC2317  # called by the trap
cleanup() {
  trap - EXIT INT TERM
  local p
  for p in "$load_pid" "$bot_pid" "$sim_pid"; do
    if [[ -n "$p" ]]; then kill "$p" 2>/dev/null || true; fi
  done
  # Poll rather than `wait`: inside a signal's trap bash's wait can return before the child is gone (dutydesk
  # takes a second or two to stop its actors). SIGKILL after 15 s.
  for p in "$load_pid" "$bot_pid" "$sim_pid"; do
    [[ -n "$p" ]] || continue
    for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then echo "run.sh: $p did not stop in 15 s; SIGKILL" >&2; kill -9 "$p" 2>/dev/null || true; fi
    wait "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_line() {  # wait_line <file> <regex> <pid> <what>
  for _ in $(seq 1 300); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { echo "run.sh: $4 exited; its output ($1):" >&2; tail -20 "$1" >&2; exit 1; }
    sleep 0.1
  done
  echo "run.sh: $4 printed no ready line in 30 s ($1):" >&2; tail -20 "$1" >&2; exit 1
}

node "$root/bench/lib/setup.mjs" seed --out "$run" --channels "$channels" --users "$users"
"$sim_bin" --seed "$run/seed.json" --rc-listen 127.0.0.1:0 --jira-dc-listen 127.0.0.1:0 --jira-cloud-listen 127.0.0.1:0 \
  --oncall-listen 127.0.0.1:0 --control-listen 127.0.0.1:0 >"$run/sim.out" 2>"$run/sim.err" &
sim_pid=$!
wait_line "$run/sim.out" '^dutydesk-sim ready ' "$sim_pid" "dutydesk-sim"
urls=$(sed -n 's/^dutydesk-sim ready //p' "$run/sim.out" | head -1)
url_of() { node -e 'console.log(JSON.parse(process.argv[1])[process.argv[2]])' "$urls" "$1"; }
control=$(url_of control)

metrics=""
if [[ "$bot" = dutydesk ]]; then
  if [[ "$store" = postgres ]]; then
    [[ -n "${BENCH_POSTGRES_URL:-}" ]] || { echo "run.sh: --store postgres needs BENCH_POSTGRES_URL" >&2; exit 2; }
    db="bench_$(date -u +%Y%m%d%H%M%S)_$$"
    psql "$BENCH_POSTGRES_URL" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $db" >/dev/null
    storage=$(node -e 'const u=new URL(process.argv[1]); u.pathname="/"+process.argv[2]; console.log(u.toString())' \
      "$BENCH_POSTGRES_URL" "$db")
  else
    storage="sqlite://$run/dutydesk.db"
  fi
  node "$root/bench/lib/setup.mjs" config --out "$run" --urls "$urls" --storage "$storage"
  "$dd_bin" check-config --config "$run/dutydesk.yaml" >/dev/null
  "$dd_bin" serve --config "$run/dutydesk.yaml" >"$run/bot.log" 2>&1 &
  bot_pid=$!
  wait_line "$run/bot.log" '^dutydesk ready ' "$bot_pid" "dutydesk serve"
  metrics="http://127.0.0.1:$(node -p "require('$run/ports.json').metrics")/metrics"
  version=$("$dd_bin" version 2>/dev/null | head -1 || true)
else
  store=none
  rids=$(node -p "require('$run/workload.json').rooms.map((r) => r.id).join(',')")
  node --experimental-websocket --no-warnings "$root/bench/node-bot/bot.mjs" --url "$(url_of rocketchat)" \
    --user-id B0tB0tB0tB0tB0tB0 --token dutydesk-pat-0000000000000000000000000000 --rooms "$rids" \
    --via "${NODE_BOT_VIA:-ddp}" >"$run/bot.log" 2>&1 &
  bot_pid=$!
  wait_line "$run/bot.log" '^node-bot ready ' "$bot_pid" "the node bot"
  version="node $(node --version), @rocket.chat/ddp-client $(node -p "require('$root/bench/node-bot/node_modules/@rocket.chat/ddp-client/package.json').version"), via ${NODE_BOT_VIA:-ddp}"
fi

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
if [[ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then dirty="+dirty"; fi
echo "run.sh: $bot ($version) on commit $commit$dirty, $(nproc) cores; logs in $run" >&2
status=0
node "$root/bench/load.mjs" --control "$control" --workload "$run/workload.json" --bot "$bot" --pid "$bot_pid" \
  --sim-pid "$sim_pid" --requests "$requests" --rate "$rate" --replies "$replies" --concurrency "$concurrency" \
  --timeout "$timeout" --clk-tck "$(getconf CLK_TCK)" --commit "$commit$dirty" --store "$store" \
  ${metrics:+--metrics "$metrics"} --csv "$out/results.csv" &
load_pid=$!  # in the background, so that a signal runs the trap at once (bash defers it for a foreground child)
wait "$load_pid" || status=$?
load_pid=""
kill -0 "$bot_pid" 2>/dev/null || { echo "run.sh: the bot died during the run; see $run/bot.log" >&2; status=1; }
exit "$status"
