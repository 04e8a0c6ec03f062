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
# stand-ins for ncu, compute-sanitizer and nanoBraggCUDA (tests/stand_in), so
# that the steps that need them run too
PATH=$PWD/tests/stand_in:$PATH NB_BUNDLE=$build NB_CHECK_DRY_RUN=1 NB_CHECK_SECONDS=400 \
  NB_CHECK_CUDAREF=$PWD/tests/stand_in/nanoBraggCUDA NB_STAND_IN_NANOBRAGG=$build/bin/nanoBragg \
  scripts/gpu_check.sh "$out" >"$out/stdout" 2>"$out/stderr"
rc=$?
fail=0
bad() { echo "FAIL $*"; fail=1; }
[ $rc -eq 0 ] || bad "gpu_check.sh exited $rc"
if [ -s "$out/stderr" ]; then bad "gpu_check.sh wrote to stderr:"; sed 's/^/  /' "$out/stderr" | head -20; fi
report=$out/gpu-report.md
[ -f "$report" ] || bad "no report"
for s in "## Machine" "## Golden suite on the GPU" "## CPU/GPU agreement tests" "## nb-bench on the GPU" \
  "## A single still's process time" "## Series and shot lists" "## Nsight Compute, render kernel" \
  "## Launch shapes of the render kernel" "## compute-sanitizer" "## Kernels against nanoBraggCUDA's" \
  "## nb-bench against nanoBraggCUDA"; do
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
for s in smoke gpu_tests sanitizers kernels bench startup series_float series_nexus_float series_noise_float shots kernels_cudaref ncu \
  bench_cudaref shapes; do
  echo "$summary" | grep -q "^$s  *ok " || bad "step $s did not run to ok"
done
# the report's tables hold what the stand-ins gave: 16 clean sanitizer runs, and
# the kernel timings of both programs (1.25 ms each, one launch)
grep -q "^| mask | memcheck | ========= ERROR SUMMARY: 0 errors | rc=0 |" "$report" ||
  bad "the compute-sanitizer table lacks mask's memcheck run"
echo "$summary" | grep -q "^sanitizers .*16 of 16 runs clean" || bad "the sanitizer row does not count 16 clean runs"
grep -q "^| divergence_dispersion | 1.250 | 1.250 | 1.250 | 1.250 | 1.00x | 1.00x |" "$report" ||
  bad "the kernel table lacks divergence_dispersion's timings"
# the kernels step timed still_2048 through the host pipeline (0.000 ms there)
grep -q "^| still_2048 | 0.000 | 0.000 | 0.000 |" "$report" || bad "the render kernels' table lacks still_2048"
grep -q "NeXus: NeXus/NXmx, bitshuffle+lz4 compression, a frame's chunks at once" "$report" ||
  bad "the NeXus series did not compress a frame's chunks at once"
# steps run alone (NB_CHECK_ONLY), as a GPU session's rerun of a few would:
# each finds its programs and inputs without the steps before it
only=$out/only
mkdir -p "$only"
PATH=$PWD/tests/stand_in:$PATH NB_BUNDLE=$build NB_CHECK_DRY_RUN=1 NB_CHECK_SECONDS=200 NB_CHECK_ONLY=sanitizers,cudaref,shapes \
  NB_CHECK_CUDAREF=$PWD/tests/stand_in/nanoBraggCUDA NB_STAND_IN_NANOBRAGG=$build/bin/nanoBragg \
  scripts/gpu_check.sh "$only" >"$only/stdout" 2>"$only/stderr" || bad "gpu_check.sh with NB_CHECK_ONLY exited $?"
[ -s "$only/stderr" ] && bad "gpu_check.sh with NB_CHECK_ONLY wrote to stderr"
for s in sanitizers kernels_cudaref bench_cudaref shapes; do
  grep -q "^$s  *ok " "$only/stdout" || bad "step $s alone did not run to ok"
done
grep -q "^sanitizers .*16 of 16 runs clean" "$only/stdout" || bad "step sanitizers alone: not 16 clean runs"
grep -q "^| divergence_dispersion | 1.250 | 1.250 | 1.250 | 1.250 | 1.00x | 1.00x |" "$only/gpu-report.md" ||
  bad "step kernels_cudaref alone: no timings"
[ $fail -eq 0 ] && echo "gpu_check dry run: report complete, every step ok or skipped"
exit $fail
