#!/usr/bin/env bash
# The README's and docs/plan.md's colo plan validation tables are colo's own output: for each
# committed H200 validation directory, every table row and summary line that
# bench/gpu/plan-table.py prints over it must be a line of README.md and of docs/plan.md, and the
# directory's validation.md must be exactly that output.
# Usage: plan_validation.sh SOURCE_DIR
set -euo pipefail
src=$1
fail=0
# name: the docs that carry its table (the README shows the current model's rechecks; docs/plan.md
# every table).
for entry in 2026-11-30-h200-plan-validation:docs/plan.md \
  2026-12-01-h200-plan-heldout:docs/plan.md \
  2026-12-01-h200-plan-every-candidate:README.md,docs/plan.md \
  2026-12-01-plan-recheck/validation:README.md,docs/plan.md \
  2026-12-01-plan-recheck/heldout:README.md,docs/plan.md \
  2026-12-01-plan-recheck/every-candidate:README.md,docs/plan.md; do
  name=${entry%%:*}
  docs=${entry#*:}
  dir=$src/bench/results/$name
  out=$(python3 "$src/bench/gpu/plan-table.py" "$dir")
  diff <(echo "$out") "$dir/validation.md" > /dev/null ||
    { echo "FAIL: $dir/validation.md is not plan-table.py's output (regenerate it)"; fail=1; }
  n=0
  while IFS= read -r line; do
    case $line in
      "| "* | "- plan"* | "- mean"*) ;;
      *) continue ;;
    esac
    n=$((n + 1))
    for doc in ${docs//,/ }; do
      grep -qxF -- "$line" "$src/$doc" || { echo "FAIL: $doc lacks ($name): $line"; fail=1; }
    done
  done <<< "$out"
  [ "$n" -gt 5 ] || { echo "FAIL: only $n table lines from plan-table.py over $name"; fail=1; }
  echo "$name: $n lines"
done
[ "$fail" = 0 ] && echo "README and docs/plan.md plan validation = plan-table.py"
exit $fail
