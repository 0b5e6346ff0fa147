#!/usr/bin/env bash
# The README's headline numbers, as colo itself computes them from committed stores: for each
# store, `colo report --format json` of its experiment (default: the newest), one line per
# group and mode with the aggregate speed-up and its 95% CI over per-repetition paired ratios
# (docs/metrics.md), then colo's recommendation. The README quotes these lines verbatim.
#
# Usage: scripts/readme-numbers.sh [STORE[:ID]...]
#   STORE: a colo.db, a results folder holding one, or a .tgz holding colo.db (bench/results/*);
#   ID: the experiment (default: the newest). Default stores: the H200 and H100 references.
# colo: $COLO if set, else build/release/bin/colo or build/dev/bin/colo, else built here
# (cmake --preset release). Stores are copied to a temporary folder: nothing in the repository
# is written.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ $# -eq 0 ]; then
  set -- bench/results/2026-11-30-h200-repro-resnet18-4x/colo.db \
         bench/results/2026-11-25-h100-repro-and-models/call1-results.tgz
fi
colo=${COLO:-}
if [ -z "$colo" ]; then
  for c in build/release/bin/colo build/dev/bin/colo; do
    if [ -x "$c" ]; then colo=$c; break; fi
  done
fi
if [ -z "$colo" ]; then
  cmake --preset release > /dev/null && cmake --build --preset release --target colo > /dev/null
  colo=build/release/bin/colo
fi
command -v jq > /dev/null || { echo "readme-numbers.sh: needs jq (apt-get install jq)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for arg in "$@"; do
  store=${arg%%:*}
  id=""
  [ "$store" != "$arg" ] && id=${arg#*:}
  n=$((n + 1))
  dir="$tmp/$n"
  mkdir -p "$dir"
  case "$store" in
    *.tgz|*.tar.gz) tar xzf "$store" -C "$dir" colo.db ;;
    *.db) cp "$store" "$dir/colo.db" ;;
    *) cp "$store/colo.db" "$dir/colo.db" ;;
  esac
  json=$("$colo" --results "$dir" report $id --format json)
  jq -r --arg src "$store" '
    def x: (. * 100 | round / 100 | tostring | if test("\\.") then . else . + ".0" end
            | if test("\\.[0-9]$") then . + "0" else . end) + "x";
    "\(.gpu): \"\(.experiment)\" (\($src))",
    (.groups[] | select(.speedup.n > 0) |
      "  \(.group) \(.mode): \(.speedup.mean | x) aggregate speed-up, 95% CI " +
      "\([(.speedup.mean - .speedup.ci95_half), 0] | max | x)-" +
      "\((.speedup.mean + .speedup.ci95_half) | x) over \(.speedup.n) repetitions" +
      (if .unpaired_reps > 0 then " (\(.unpaired_reps) unpaired)" else " (paired per repetition)" end)),
    (.recommendations[] | "  recommendation: \(.)")' <<< "$json"
done
