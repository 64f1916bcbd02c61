#!/usr/bin/env bash
# Measures the simulator's ceiling on loopback with a Release build: REST calls/s and websocket frames/s.
# Usage: bench/sim_ceiling.sh [SECONDS]   (prints one line per measurement; BENCHMARKS.md records them)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-5}
build="$root/build-release"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDUTYDESK_WERROR=OFF >/dev/null
cmake --build "$build" --target dutydesk-sim sim_ceiling -j"$(nproc)" >/dev/null
work=$(mktemp -d)
"$build/sim/dutydesk-sim" --seed "$root/sim/seed/demo.json" --rc-listen 127.0.0.1:0 --jira-dc-listen 127.0.0.1:0 \
  --jira-cloud-listen 127.0.0.1:0 --oncall-listen 127.0.0.1:0 --control-listen 127.0.0.1:0 >"$work/out" 2>"$work/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do grep -q ready "$work/out" && break; sleep 0.1; done
port_of() { sed -E "s/.*\"$1\":\"http:\/\/127.0.0.1:([0-9]+)\".*/\1/" "$work/out"; }
rc=$(port_of rocketchat); dc=$(port_of jira-dc)
echo "commit $(git -C "$root" rev-parse --short HEAD), $(nproc) cores, ${secs}s per run"
"$build/bench/sim_ceiling" rest 127.0.0.1 "$rc" 4 "$secs" GET /api/v1/me
"$build/bench/sim_ceiling" rest 127.0.0.1 "$rc" 4 "$secs" POST /api/v1/chat.postMessage '{"roomId":"DbaSupp0rtRoom002","text":"load"}'
"$build/bench/sim_ceiling" rest 127.0.0.1 "$dc" 4 "$secs" GET /rest/api/2/myself
"$build/bench/sim_ceiling" ws 127.0.0.1 "$rc" 8 2 "$secs" CicdSupp0rtRoom01
