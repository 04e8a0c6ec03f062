#!/bin/bash
# Formats every C++/CUDA source of the project with .clang-format (Debian's
# clang-format 14). With --check it changes nothing and fails, listing the
# files, when any file is not formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format: clang-format not found (apt-get install clang-format)" >&2; exit 1; }
mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp' '*.cu' '*.cuh' '*.h' '*.cc')
if [ "${1:-}" = "--check" ]; then
  bad=()
  for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if [ ${#bad[@]} -ne 0 ]; then
    echo "format: ${#bad[@]} file(s) not formatted (run scripts/format.sh): ${bad[*]}" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files formatted"
else
  for f in "${files[@]}"; do [ -f "$f" ] && clang-format -i "$f"; done
  echo "format: formatted ${#files[@]} files"
fi
