#!/usr/bin/env bash
# Installs the Debian 12 packages colo needs to build, test and run.
# Needs root (or sudo). Idempotent: does nothing when every package is present.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config git
      libcli11-dev nlohmann-json3-dev libyaml-cpp-dev libsqlite3-dev sqlite3
      libfmt-dev libspdlog-dev libexpected-dev libgtest-dev libgmock-dev libbenchmark-dev
      clang-19 clang-format-19 libclang-rt-19-dev python3 procps)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
