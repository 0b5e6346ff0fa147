#!/usr/bin/env bash
# Installs the Debian 12 packages colo needs to build, test and run, and the npm packages the
# HTML report inlines (web/, pinned by web/package-lock.json).
# Needs root (or sudo) for apt. Idempotent: does nothing when everything is present.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config git
      libcli11-dev nlohmann-json3-dev libcpp-httplib-dev libyaml-cpp-dev libsqlite3-dev sqlite3
      libfmt-dev libspdlog-dev libexpected-dev libgtest-dev libgmock-dev libbenchmark-dev
      clang-19 clang-format-19 clang-tidy-19 libclang-rt-19-dev python3 procps jq
      chromium tmux
      slurm-wlm munge  # the one-node Slurm cluster of tests/slurm (slurmctld, slurmd, munged)
      prometheus)  # scrapes colo serve in tests/prometheus
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Charting libraries for the HTML report, reinstalled when the lock file changes.
web="$(dirname "$0")/../web"
stamp="$web/node_modules/.colo-lock"
if ! cmp -s "$web/package-lock.json" "$stamp" 2>/dev/null; then
  echo "install-deps: npm ci in web/"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$web/package-lock.json" "$stamp"
fi
