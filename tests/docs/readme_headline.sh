#!/usr/bin/env bash
# The README's headline numbers are colo's own output: every line scripts/readme-numbers.sh
# prints now (over the committed stores) must be a line of README.md. Exit 77 (skipped) without
# jq. Usage: readme_headline.sh SOURCE_DIR COLO_BIN_DIR
set -euo pipefail
src=$1
bin=$2
command -v jq > /dev/null || { echo "SKIPPED: jq is not installed (scripts/install-deps.sh)"; exit 77; }
out=$(COLO="$bin/colo" "$src/scripts/readme-numbers.sh")
fail=0
while IFS= read -r line; do
  grep -qxF -- "$line" "$src/README.md" || { echo "FAIL: README.md lacks: $line"; fail=1; }
done <<< "$out"
[ "$fail" = 0 ] && echo "README headline = scripts/readme-numbers.sh ($(wc -l <<< "$out") lines)"
exit $fail
