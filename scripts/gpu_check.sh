#!/bin/bash
# On a machine with an NVIDIA GPU: build, run the GPU tests (golden suite on the
# GPU in double and float, CPU/GPU agreement), compute-sanitizer memcheck and
# racecheck on a few cases, and write reports/gpu-parity-<date>.md.
# Usage: scripts/gpu_check.sh [output-report-path]
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh || exit 1
date_tag=$(date -u +%Y-%m-%d)
report=${1:-reports/gpu-parity-$date_tag.md}
log=$(mktemp)
gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)
build/bin/nb_tests --gtest_filter='*Gpu*' 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
G=$(cd tests/golden && pwd)
san=""
for c in cubic_1024 lyso_interp_out_of_range mosaic_10 mask; do
  args=$(python3 -c "import json;print(json.load(open('$G/manifest.json'))['cases']['$c']['args'].replace('{in}','$G/inputs'))")
  tmp=$(mktemp -d)
  for tool in memcheck racecheck; do
    out=$(cd "$tmp" && compute-sanitizer --tool $tool --error-exitcode 99 "$OLDPWD/build/bin/nanoBragg" $args -device cuda -nonoise -nopgm 2>&1 | grep -E "ERROR SUMMARY|RACECHECK SUMMARY" | tail -1)
    san="$san| $c | $tool | ${out:-no summary} |"$'\n'
  done
  rm -rf "$tmp"
done
{
  echo "# GPU parity report, $date_tag"
  echo
  echo "- GPU and driver: ${gpu:-unknown}"
  echo "- Command: \`scripts/gpu_check.sh\` (build/bin/nb_tests --gtest_filter='*Gpu*', compute-sanitizer on 4 cases)"
  echo "- Test exit status: $status"
  echo
  echo "## Golden cases on the GPU"
  echo
  echo '```'
  grep -E "^\[parity gpu" "$log"
  echo '```'
  echo
  echo "## compute-sanitizer"
  echo
  echo "| case | tool | summary |"
  echo "|---|---|---|"
  printf "%s" "$san"
} > "$report"
echo "wrote $report"
exit $status
