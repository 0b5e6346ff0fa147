#!/usr/bin/env bash
# The README's colo plan validation table is colo's own output: every table row and summary line
# that bench/gpu/plan-table.py prints over the committed H200 validation directory must be a line
# of README.md, and the directory's validation.md must be exactly that output.
# Usage: plan_validation.sh SOURCE_DIR
set -euo pipefail
src=$1
dir=$src/bench/results/2026-11-30-h200-plan-validation
out=$(python3 "$src/bench/gpu/plan-table.py" "$dir")
fail=0
diff <(echo "$out") "$dir/validation.md" > /dev/null ||
  { echo "FAIL: $dir/validation.md is not plan-table.py's output (regenerate it)"; fail=1; }
n=0
while IFS= read -r line; do
  case $line in
    "| "* | "- plan"* | "- mean"*) ;;
    *) continue ;;
  esac
  n=$((n + 1))
  grep -qxF -- "$line" "$src/README.md" || { echo "FAIL: README.md lacks: $line"; fail=1; }
done <<< "$out"
[ "$n" -gt 10 ] || { echo "FAIL: only $n table lines from plan-table.py"; fail=1; }
[ "$fail" = 0 ] && echo "README plan validation = plan-table.py ($n lines)"
exit $fail
