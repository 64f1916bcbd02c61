#!/usr/bin/env bash
# Installs every system package dutydesk needs to build, test and run its demo. Idempotent: a second run on a
# machine that has everything installs nothing and takes well under a second.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache git curl jq python3 python3-yaml clang libclang-rt-14-dev
  libcaf-dev libboost1.81-dev libboost-json1.81-dev libsimdjson-dev libpqxx-dev prometheus-cpp-dev
  libnats-dev nats-server libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev
  libssl-dev libgtest-dev libgmock-dev libsqlite3-dev postgresql-15 nodejs npm
)
# Prometheus, docker-compose and Chromium (the live page's browser test) pull in much we don't need without
# --no-install-recommends; the colour emoji font renders the status reactions in its screenshots.
lean_packages=(prometheus docker-compose chromium fonts-noto-color-emoji)

missing() {
  local out=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || out+=("$p")
  done
  echo "${out[@]:-}"
}

# node and npm may come from outside Debian (the machine image has its own); only install them if absent.
filtered=()
for p in "${packages[@]}"; do
  [[ $p == nodejs ]] && command -v node >/dev/null 2>&1 && continue
  [[ $p == npm ]] && command -v npm >/dev/null 2>&1 && continue
  filtered+=("$p")
done
packages=("${filtered[@]}")

need=$(missing "${packages[@]}")
need_lean=$(missing "${lean_packages[@]}")
if [[ -n "${need// }" || -n "${need_lean// }" ]]; then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "setup: installing:${need:+ $need}${need_lean:+ $need_lean}"
  $sudo apt-get update -qq
  export DEBIAN_FRONTEND=noninteractive
  [[ -n "${need// }" ]] && $sudo apt-get install -y -qq $need >/dev/null
  [[ -n "${need_lean// }" ]] && $sudo apt-get install -y -qq --no-install-recommends $need_lean >/dev/null
fi
echo "setup: system packages ok"
