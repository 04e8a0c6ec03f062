#!/bin/bash
# scripts/gpu_check.sh runs only when a GPU is lent, a few minutes at a time:
# its own bugs must show here. Its dry run (the GPU steps' logic on the CPU,
# shortened) over this build's programs must finish cleanly and write every
# section of its report.
#
# Usage: tests/gpu_check_dry_run.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
out=$(mktemp -d "${TMPDIR:-/tmp}/nb_gpu_dry.XXXXXX")
trap 'rm -rf "$out"' EXIT
# a stand-in ncu, so that the Nsight Compute step runs too
PATH=$PWD/tests/stand_in:$PATH NB_BUNDLE=$build NB_CHECK_DRY_RUN=1 NB_CHECK_SECONDS=400 scripts/gpu_check.sh "$out" >"$out/stdout" 2>"$out/stderr"
rc=$?
fail=0
bad() { echo "FAIL $*"; fail=1; }
[ $rc -eq 0 ] || bad "gpu_check.sh exited $rc"
if [ -s "$out/stderr" ]; then bad "gpu_check.sh wrote to stderr:"; sed 's/^/  /' "$out/stderr" | head -20; fi
report=$out/gpu-report.md
[ -f "$report" ] || bad "no report"
for s in "## Machine" "## Golden suite on the GPU" "## CPU/GPU agreement tests" "## nb-bench on the GPU" \
  "## A single still's process time" "## Series and shot lists" "## Nsight Compute, render kernel" \
  "## Launch shapes of the render kernel"; do
  grep -qF "$s" "$report" 2>/dev/null || bad "the report has no section '$s'"
done
# every step that ran ended well; those skipped say why
summary=$(sed -n '/^step  *status/,$p' "$out/stdout")
echo "$summary"
while read -r name status _; do
  case $status in
    ok | skipped) ;;
    *) bad "step $name: $status" ;;
  esac
done < <(echo "$summary" | tail -n +2)
for s in smoke gpu_tests bench startup series_float series_nexus_float shots ncu shapes; do
  echo "$summary" | grep -q "^$s  *ok " || bad "step $s did not run to ok"
done
grep -q "NeXus: NeXus/NXmx, bitshuffle+lz4 compression, a frame's chunks at once" "$report" ||
  bad "the NeXus series did not compress a frame's chunks at once"
[ $fail -eq 0 ] && echo "gpu_check dry run: report complete, every step ok or skipped"
exit $fail
