#!/usr/bin/env bash
# Formats (or with --check, verifies) every C++ file with clang-format-19 and .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.cu')
[ ${#files[@]} -eq 0 ] && exit 0
if [ "${1:-}" = "--check" ]; then
  clang-format-19 --dry-run -Werror "${files[@]}"
  echo "format: ${#files[@]} files ok"
else
  clang-format-19 -i "${files[@]}"
fi
