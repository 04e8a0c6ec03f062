#!/bin/bash
# The GPU check, run from the bundle (scripts/gpu_bundle.sh) on a machine with
# an NVIDIA GPU and its driver but none of our Debian libraries, within a time
# budget (default 450 s; NB_CHECK_SECONDS). Without a GPU every GPU step says
# it was skipped and the rest (the bundle's own checks) still runs, so that the
# script's bugs are found before any GPU time is spent.
#
# Usage: scripts/gpu_check.sh OUTDIR
#   NB_BUNDLE   the bundle folder (default gpu-bundle in the repository root;
#               a build folder serves for a dry run: tests/gpu_check_dry_run.sh)
#   NB_CHECK_CUDAREF  nanoBraggCUDA (default the bundle's ref/nanoBraggCUDA; a
#               dry run may name a stand-in)
# Writes OUTDIR/gpu-report.md (everything measured), OUTDIR/check.log (all
# output), OUTDIR/bench-gpu.{json,md}, OUTDIR/bench-cudaref.{json,md} (when the
# bundle has nanoBraggCUDA) and OUTDIR/ncu.txt; prints a summary table last.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ $# -ge 1 ] || { echo "usage: scripts/gpu_check.sh OUTDIR" >&2; exit 2; }
mkdir -p "$1" && out=$(cd "$1" && pwd)
B=$(cd "${NB_BUNDLE:-$root/gpu-bundle}" 2>/dev/null && pwd) || { echo "gpu_check: no bundle (run scripts/gpu_bundle.sh)" >&2; exit 2; }
if [ ! -x "$B/bin/nanoBragg" ] && [ -f "$B/bundle.tar.xz" ]; then
  # unpacked outside the bundle folder, which stays small enough to carry
  # to the GPU machine again (its programs and libraries are 56 MB)
  unpacked=$(mktemp -d "${TMPDIR:-/tmp}/nb_gpu_bundle.XXXXXX")
  trap 'rm -rf "$unpacked"' EXIT
  tar -xJf "$B/bundle.tar.xz" -C "$unpacked" || { echo "gpu_check: cannot unpack $B/bundle.tar.xz" >&2; exit 2; }
  B=$unpacked
fi
[ -x "$B/bin/nanoBragg" ] || { echo "gpu_check: $B holds no bin/nanoBragg (run scripts/gpu_bundle.sh)" >&2; exit 2; }
# the bundle's bitshuffle plugin: -nexusfile writes bitshuffle+LZ4, as at home
[ -d "$B/lib/hdf5-plugins" ] && export HDF5_PLUGIN_PATH=$B/lib/hdf5-plugins
G=$root/tests/golden
budget=${NB_CHECK_SECONDS:-480}
t0=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/nb_gpu_check.XXXXXX")
# the steps' functions run in shells of their own (step NAME LIMIT bash -c FN),
# each step alone too (NB_CHECK_ONLY)
export B G work
log=$out/check.log
report=$out/gpu-report.md
: >"$log"
rows=()          # summary rows: step|status|seconds|result
sections=()      # report sections, in order (files under $work)
threads=$(nproc)

left() { echo $((budget - (SECONDS - t0))); }
manifest() { head -1 "$B/MANIFEST.txt" 2>/dev/null || echo "$B (a build folder: no MANIFEST.txt)"; }
# NB_CHECK_ONLY=a,b: run only those GPU steps (gpu_tests, sanitizers, kernels, shapes, bench, startup, series, ncu, cudaref)
want() { [ -z "${NB_CHECK_ONLY:-}" ] || [[ ",$NB_CHECK_ONLY," == *",$1,"* ]]; }
note() { echo "$*" | tee -a "$log"; }
row() { rows+=("$1|$2|$3|$4"); }
section() { sections+=("$1"); }

# step NAME LIMIT CMD...: runs CMD (output to the log and $work/NAME.out) for at
# most LIMIT seconds or what is left of the budget; sets step_rc and step_s.
step() {
  local name=$1 limit=$2
  shift 2
  local l
  l=$(left)
  [ "$l" -lt "$limit" ] && limit=$l
  if [ "$limit" -le 5 ]; then
    step_rc=124 step_s=0
    note "== $name: skipped, the time budget is spent"
    : >"$work/$name.out"
    return
  fi
  note "== $name (limit ${limit}s): $*"
  local s=$SECONDS
  timeout -k 10 "$limit" "$@" >"$work/$name.out" 2>&1
  step_rc=$?
  step_s=$((SECONDS - s))
  cat "$work/$name.out" >>"$log"
  note "== $name: exit $step_rc after ${step_s}s"
}

status_of() { case $1 in 0) echo ok ;; 124 | 137) echo timeout ;; *) echo "FAIL($1)" ;; esac; }

# ---------- the machine and the bundle ----------
{
  echo "## Machine"
  echo
  echo "- Date: $(date -u +%FT%TZ)"
  echo "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null | head -1 || echo none)"
  echo "- CUDA driver API: $(nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | head -1)"
  echo "- nvcc on the machine: $(nvcc --version 2>/dev/null | tail -1 || echo none)"
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $threads cores online"
  echo "- OS: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), $(ldd --version 2>/dev/null | head -1)"
  echo "- compute-sanitizer: $(compute-sanitizer --version 2>/dev/null | grep -m1 -i version || echo none)"
  echo "- ncu: $(ncu --version 2>/dev/null | tail -1 || echo none)"
  echo "- Bundle: $(manifest)"
  echo
} >"$work/machine.md"
section "$work/machine.md"
cat "$work/machine.md" >>"$log"

# programs by their own RPATH; the modules they load find the bundle's lib/ through it
missing=$(for p in "$B"/bin/* "$B"/ref/*.bin "$B"/lib/libnb_nexus.so "$B"/lib/hdf5-plugins/*.so; do
  [ -f "$p" ] || continue
  case $p in */lib/*) LD_LIBRARY_PATH=$B/lib ldd "$p" 2>&1 ;; *) ldd "$p" 2>&1 ;; esac | grep 'not found' | sed "s|^|$(basename "$p"): |"
done)
if [ -n "$missing" ]; then
  note "bundle: libraries not found:"
  note "$missing"
  row bundle "FAIL" 0 "missing libraries (see check.log)"
else
  row bundle ok 0 "every library of $(ls "$B"/bin | wc -l) programs resolves"
fi

shape_workloads="lyso_2048_realistic divergence_dispersion cubic_4096 lyso_tricubic_4096 still_2048"
gpu=0 dev=cuda nframes=100 nshots=1000 pipeline_env="" series_env="" bench_runs="--warmup 1 --repeats 2" cudaref_runs="--warmup 0 --repeats 1"
dry=0 kernel_workloads="cubic_4096 still_2048 divergence_dispersion lyso_2048_realistic" cudaref_workloads=""
timed_workloads=""  # the kernels step: every workload (a dry run: one)
cudaref=${NB_CHECK_CUDAREF:-$B/ref/nanoBraggCUDA}
if nvidia-smi -L >/dev/null 2>&1; then gpu=1; fi
if [ "${NB_CHECK_DRY_RUN:-0}" = 1 ] && [ $gpu = 0 ]; then
  # the GPU steps' own logic on the CPU, smaller: finds this script's bugs for free
  gpu=1 dev=cpu dry=1 nframes=4 nshots=5 shape_workloads=integration bench_runs="--warmup 0 --repeats 1 --workloads divergence_dispersion"
  cudaref_runs="--warmup 0 --repeats 1" kernel_workloads=divergence_dispersion cudaref_workloads=divergence_dispersion
  timed_workloads=still_2048
  # the bundle's nanoBraggCUDA needs a GPU: only a stand-in runs here
  [ -n "${NB_CHECK_CUDAREF:-}" ] || cudaref=""
  note "gpu_check: NB_CHECK_DRY_RUN=1 without a GPU: GPU steps run on the CPU (-device cpu), series and shots shortened"
  # the light series and the shots go through the GPU's frame pipeline on its host backend
  # (two frames in flight), serial and scalar: slow, so not the heavy ones
  pipeline_env="NB_PIPELINE_ON_HOST=1"
fi
step smoke 60 bash -c "cd '$work' && '$B/bin/nanoBragg' -cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 256 -distance 100 -device $([ $gpu = 1 ] && echo $dev || echo cpu) -floatfile smoke.bin -nonoise -nopgm"
smoke_backend=$(grep -o 'rendered on [^ ]*' "$work/smoke.out" | head -1)
row smoke "$(status_of $step_rc)" "$step_s" "${smoke_backend:-no render}"
if [ $gpu = 1 ] && [ $step_rc -ne 0 ]; then
  note "gpu_check: a GPU is listed but the smoke render on it failed; GPU steps continue to collect their errors"
fi
skip() { # NAME [TOOL]: why a step did not run
  local why="no GPU on this machine"
  if [ $gpu = 1 ]; then
    if [ -n "${2:-}" ] && ! command -v "$2" >/dev/null; then why="$2 is not on this machine"; else why="not in NB_CHECK_ONLY"; fi
  fi
  row "$1" skipped 0 "$why"
  note "== $1: skipped, $why"
}

# ---------- the GPU tests: golden suite (double, float, -exact) and CPU/GPU agreement ----------
if [ $gpu = 1 ] && want gpu_tests; then
  # 799 GPU tests (246 golden cases x 3 modes, nonBragg's 26 x 2, ...), most a CLI process with CUDA's
  # start (about 0.2 s of CPU): 234 took 46 s in 8 shards on 2026-11-30
  shards=$((threads < 8 ? 8 : threads > 16 ? 16 : threads))
  runner() {
    local pids=() i
    for i in $(seq 0 $((shards - 1))); do
      GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$i NB_CLI_PATH="$B/bin/nanoBragg" NB_COMPARE_PATH="$B/bin/nb-compare" \
        NB_NONBRAGG_PATH="$B/bin/nonBragg" NB_NOISIFY_PATH="$B/bin/noisify" \
        NB_GOLDEN_DIR="$G" "$B/bin/nb_tests" --gtest_filter='*Gpu*' --gtest_brief=0 >"$work/shard$i.log" 2>&1 &
      pids+=($!)
    done
    local rc=0
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    return $rc
  }
  export -f runner
  export shards
  # 2026-12-04: 190 s, then over 200 s (the second run's output was lost with
  # its shell): the shards' own logs are read after the step, whatever its end
  step gpu_tests 330 bash -c runner
  cat "$work"/shard*.log 2>/dev/null | tee -a "$log" >>"$work/gpu_tests.out"
  passed=$(grep -c '^\[       OK \]' "$work/gpu_tests.out")
  failed=$(grep '^\[  FAILED  \]' "$work/gpu_tests.out" | grep -v 'listed below\|tests, listed' | sort -u | grep -c .)
  row gpu_tests "$(status_of $step_rc)" "$step_s" "$passed passed, $failed failed"
  python3 - "$work/gpu_tests.out" >"$work/parity.md" <<'EOF'
import re, sys
rows = {}
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"\[parity (gpu \w+)\] (\S+)\s+corr=(\S+) sum_ratio-1=(\S+)", line)
    if m:
        rows.setdefault(m.group(2), {})[m.group(1)] = (float(m.group(3)), float(m.group(4)))
    m = re.match(r"\[parity gpu exact\] (\S+)\s+float image bit-identical: (\w+)", line)
    if m:
        rows.setdefault(m.group(1), {})["bits"] = m.group(2)
# every failed GPU test (golden, nonBragg golden, agreement), by name
fails = set(re.findall(r"^\[  FAILED  \] (\S+?)(?:,| \(|$)", open(sys.argv[1], errors="replace").read(), re.M)) - {"tests,"}
print("## Golden suite on the GPU\n")
print(f"{len(rows)} cases. Bars: double and -exact corr >= 0.99999 and |sum ratio - 1| <= 1e-5; float >= 0.9999 and <= 1e-3.\n")
print("| case | double corr | double sum-1 | float corr | float sum-1 | exact corr | exact sum-1 | exact bit-identical |")
print("|---|---|---|---|---|---|---|---|")
def cell(d, k):
    if k not in d: return "-", "-"
    return f"{d[k][0]:.10f}", f"{d[k][1]:+.2e}"
for case in sorted(rows):
    d = rows[case]
    dc, ds = cell(d, "gpu double"); fc, fs = cell(d, "gpu float"); ec, es = cell(d, "gpu exact")
    print(f"| {case} | {dc} | {ds} | {fc} | {fs} | {ec} | {es} | {d.get('bits', '-')} |")
if rows:
    for k, bar_c, bar_s in (("gpu double", 0.99999, 1e-5), ("gpu float", 0.9999, 1e-3), ("gpu exact", 0.99999, 1e-5)):
        v = [d[k] for d in rows.values() if k in d]
        if v:
            print(f"\n- {k}: {len(v)} cases, lowest corr {min(c for c, _ in v):.10f}, largest |sum-1| {max(abs(s) for _, s in v):.2e}, "
                  f"{sum(1 for c, s in v if c >= bar_c and abs(s) <= bar_s)} within the bar")
    print(f"- -exact bit-identical to C: {sum(1 for d in rows.values() if d.get('bits') == 'yes')} of {sum(1 for d in rows.values() if 'bits' in d)}")
print("\nFailed tests:", ", ".join(sorted(fails)) or "none")
EOF
  section "$work/parity.md"
  grep -E '^\[  FAILED  \] Gpu' "$work/gpu_tests.out" | sort -u >"$work/agree_fail.txt"
  { echo; echo "## CPU/GPU agreement tests"; echo; grep -E '^\[ +(OK|FAILED) +\] Gpu' "$work/gpu_tests.out" | sort -u | sed 's/^/    /'; echo; } >"$work/agree.md"
  section "$work/agree.md"
else
  skip gpu_tests
fi

# ---------- compute-sanitizer on small cases ----------
case_args() { python3 -c "import json,sys;print(json.load(open('$G/manifest.json'))['cases'][sys.argv[1]]['args'].replace('{in}','$G/inputs'))" "$1"; }
if [ $gpu = 1 ] && want sanitizers && command -v compute-sanitizer >/dev/null; then
  sanitize() {
    local pids=() c tool extra
    # the square-nearest sweep in both precisions (mask: default_F; lyso_nearest: an
    # HKL grid, its 16-byte cell loads and unsigned bounds tests), the general sweep
    # with interpolation, and -exact
    for spec in "mask:-precision double" "lyso_nearest:-precision float" "lyso_interp_out_of_range:-precision float" \
      "mosaic_default_domains:-precision double -exact"; do
      c=${spec%%:*}
      extra=${spec#*:}
      args=$(case_args "$c")
      for tool in memcheck racecheck initcheck synccheck; do
        (
          d=$(mktemp -d "$work/san.XXXX")
          cd "$d" && compute-sanitizer --tool $tool --error-exitcode 99 "$B/bin/nanoBragg" $args $extra -device $dev \
            -nonoise -nopgm -floatfile f.bin >"$work/san_${c}_$tool.log" 2>&1
          echo "rc=$?" >>"$work/san_${c}_$tool.log"
        ) &
        pids+=($!)
        # four at a time: each holds its own context and instrumentation
        if [ ${#pids[@]} -ge 4 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
      done
    done
    wait
    for f in "$work"/san_*.log; do echo "--- $(basename "$f")"; cat "$f"; done
  }
  export -f sanitize case_args
  export dev
  step sanitizers 150 bash -c sanitize
  {
    echo "## compute-sanitizer"
    echo
    echo "| case | tool | summary | exit |"
    echo "|---|---|---|---|"
    for f in "$work"/san_*.log; do
      n=$(basename "$f" .log)
      n=${n#san_}
      summ=$(grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Target application returned an error" "$f" | tail -1)
      echo "| ${n%_*} | ${n##*_} | ${summ:-no summary} | $(grep -o 'rc=[0-9]*' "$f" | tail -1) |"
    done
    echo
  } >"$work/san.md"
  section "$work/san.md"
  # clean: no errors or hazards, and the program itself ended well
  clean=$(grep -l 'ERROR SUMMARY: 0 errors\|RACECHECK SUMMARY: 0 hazards' "$work"/san_*.log 2>/dev/null |
    xargs -r grep -lx 'rc=0' | wc -l)
  total=$(ls "$work"/san_*.log 2>/dev/null | wc -l)
  row sanitizers "$(status_of $step_rc)" "$step_s" "$clean of $total runs clean"
else
  skip sanitizers compute-sanitizer
fi

"$B/bin/nb-bench" --golden "$G" --list >"$work/workloads.tsv" 2>>"$log"

# The render kernels' time (ms, or "none") of one nanoBragg run as it prints
# it: kernel_ms "VAR=VALUE ..." PRECISION ARGS... (the kernels and shapes steps)
kernel_ms() {
  local vars=$1 prec=$2 ms
  shift 2
  ms=$(cd "$work" && env $vars "$B/bin/nanoBragg" "$@" -device $dev -precision $prec -floatfile km.bin -nonoise \
    -nopgm 2>&1 | sed -n 's/.*render kernels \([0-9.]*\) ms.*/\1/p')
  echo "${ms:-none}"
}
export -f kernel_ms

# ---------- the render kernels alone, every workload, twice per precision ----------
# CUDA events as nanoBragg prints them: the quick before/after of a kernel
# change, without nb-bench's C runs (2026-12-04: about 12 s against the bench's 105).
# float:any forces the general sweep (NB_CUDA_SWEEP=any, kernels/sweep_case.hpp):
# the common case's kernel against it, in the same build.
if [ $gpu = 1 ] && want kernels; then
  kernel_times() {
    local w args p k sweep
    while IFS=$'\t' read -r w args _; do
      [ -n "$timed_workloads" ] && [[ " $timed_workloads " != *" $w "* ]] && continue
      for p in float float:any double; do
        sweep=auto
        [[ $p == *:any ]] && sweep=any
        for k in 1 2; do
          echo "kernel $w $p $(kernel_ms "$pipeline_env NB_CUDA_SWEEP=$sweep" ${p%%:*} $args)"
        done
      done
    done <"$work/workloads.tsv"
  }
  export -f kernel_times
  export dev timed_workloads pipeline_env
  step kernels 90 bash -c kernel_times
  python3 - "$work/kernels.out" >"$work/kernels.md" <<'EOF2'
import sys
best = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 4 and f[0] == "kernel" and f[3] != "none":
        key = (f[1], f[2])
        best[key] = min(best.get(key, float("inf")), float(f[3]))
print("## Render kernels alone (CUDA events, best of 2, ms)\n")
print("float, general sweep: NB_CUDA_SWEEP=any (kernels/sweep_case.hpp).\n")
print("| workload | float | float, general sweep | double |")
print("|---|---|---|---|")
for w in dict.fromkeys(k[0] for k in best):
    cell = lambda p: f"{best[(w, p)]:.3f}" if (w, p) in best else "-"
    print(f"| {w} | {cell('float')} | {cell('float:any')} | {cell('double')} |")
print()
EOF2
  section "$work/kernels.md"
  row kernels "$(status_of $step_rc)" "$step_s" "$(grep -c '^kernel .* [0-9.]*$' "$work/kernels.out") timed renders"
else
  skip kernels
fi

# ---------- nb-bench on the GPU against C nanoBragg at $threads threads ----------
if [ $gpu = 1 ] && want bench; then
  ref=()
  [ -x "$B/ref/nanoBragg" ] && ref=(--reference "$B/ref/nanoBragg")
  step bench 200 bash -c "cd '$work' && '$B/bin/nb-bench' --nanobragg '$B/bin/nanoBragg' --golden '$G' --device $dev \
    --threads $threads --precision double,float $bench_runs ${ref[*]} --out '$out/bench-gpu'"
  row bench "$(status_of $step_rc)" "$step_s" "$(grep -c 'ours is' "$work/bench.out") workloads against C ($threads threads)"
  if [ -f "$out/bench-gpu.md" ]; then
    { echo "## nb-bench on the GPU (against C nanoBragg, OMP_NUM_THREADS=$threads)"; echo; sed 1,2d "$out/bench-gpu.md"; echo; } >"$work/bench.md"
    section "$work/bench.md"
  fi
else
  skip bench
fi

# ---------- where a single still's process time goes ----------
# Every GPU process took 0.33-0.42 s whatever its work (2026-11-30), so that a
# 2048x2048 still was 0.84x C at 16 threads as a whole process: NB_TIMINGS
# splits it (CUDA's start, set-up, render, files) beside the process's wall time.
if [ $gpu = 1 ] && want startup; then
  startup() {
    local args prec i s e
    args=$(awk -F'\t' '$1 == "still_2048" {print $2}' "$work/workloads.tsv")
    for prec in float double; do
      for i in 1 2; do
        s=$(date +%s%N)
        (cd "$work" && NB_TIMINGS=1 "$B/bin/nanoBragg" $args -device $dev -precision $prec 2>&1 | grep -E '^\[timing\]|render kernels')
        e=$(date +%s%N)
        echo "still_2048 $prec run $i: process $(( (e - s) / 1000000 )) ms"
      done
    done
    # the same still on the CPU: -device auto keeps it there (engine/run_estimate.hpp)
    for i in 1 2; do
      s=$(date +%s%N)
      (cd "$work" && NB_TIMINGS=1 "$B/bin/nanoBragg" $args -device cpu -precision float 2>&1 | grep -E '^\[timing\] (render_image|the run)')
      e=$(date +%s%N)
      echo "still_2048 float on the CPU run $i: process $(( (e - s) / 1000000 )) ms"
    done
    # a run -device auto sends to the GPU: CUDA starts while the HKL file is
    # read ("device start (CUDA)" beside "set-up: -hkl file"); a dry run
    # renders a corner of it on the CPU
    args=$(awk -F'\t' '$1 == "lyso_2048_realistic" {print $2}' "$work/workloads.tsv")
    [ "$dry" = 1 ] && args="$args -roi 0 63 0 63"
    s=$(date +%s%N)
    (cd "$work" && NB_TIMINGS=1 "$B/bin/nanoBragg" $args -device auto -precision float 2>&1 |
      grep -E '^\[timing\] (device start|wait for the device|set-up|render_image|the run)|^-device auto|rendered on')
    e=$(date +%s%N)
    echo "lyso_2048_realistic float under -device auto: process $(( (e - s) / 1000000 )) ms"
  }
  export -f startup
  export dev dry
  step startup 60 bash -c startup
  { echo "## A single still's process time (still_2048, NB_TIMINGS; files as nb-bench writes them), and a heavy run under -device auto"; echo; echo '```';
    cat "$work/startup.out"; echo '```'; echo; } >"$work/startup.md"
  section "$work/startup.md"
  row startup "$(status_of $step_rc)" "$step_s" "$(grep -E '^(still_2048|lyso_2048_realistic) .*process' "$work/startup.out" | sed 's/still_2048 //' | paste -sd';')"
else
  skip startup
fi

# ---------- throughput: a 100-frame 2048x2048 series and a 1000-shot list ----------
lyso="-cell 79.1 79.1 38.4 90 90 90 -hkl $G/inputs/lyso.hkl -lambda 1.0"
frames_per_s() { # LOGFILE -> frames per second of the run (its job summary) and the render kernels' share
  awk '/render kernels/ && !/^frame timing:/ {match($0, /render kernels [0-9.]+/); k += substr($0, RSTART + 15, RLENGTH - 15)}
    /^job summary:/ {n = $3; s = $6}
    /^frame timing:/ {sub(/^frame timing: /, ""); t = $0}
    END {if (s > 0) printf "%d frames in %.2f s, %.1f frames/s; render kernels %.2f s (%.0f%% of it); %s", n, s, n / s, k / 1000, k / 10 / s, t
         else printf "no job summary"}' "$1"
}
# Files go to memory (/dev/shm) to measure our pipeline, and once to the disk
# the check runs on, whose write speed is the machine's, not ours.
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=$work
series_run() { # NAME FOLDER LIMIT DESCRIPTION ARGS...
  local name=$1 base=$2 limit=$3 desc=$4
  shift 4
  local d
  d=$(mktemp -d "$base/nb_$name.XXXX")
  [ -f "$work/shots.txt" ] && cp "$work/shots.txt" "$d/"
  # the float image and the int SMV, unless series_outputs says otherwise
  step "$name" "$limit" bash -c "cd '$d' && env $series_env '$B/bin/nanoBragg' $* ${series_outputs--nonoise -nopgm} -device $dev"
  local r
  r=$(frames_per_s "$work/$name.out")
  row "$name" "$(status_of $step_rc)" "$step_s" "$r"
  echo "- $desc: $r" >>"$work/thru.md"
  rm -rf "$d"
}
if [ $gpu = 1 ] && want series; then
  : >"$work/thru.md"
  light="$lyso -misset 10 20 30 -N 10 -detpixels 2048 -pixel 0.075 -distance 200 -oversample 1 -phi 0 -osc 0.1 -seed 1"
  # a heavier frame (30 mosaic domains, 2x2 sub-pixels): where the kernel should set the pace
  heavy_args=$(awk -F'\t' '$1 == "lyso_2048_realistic" {print $2}' "$work/workloads.tsv")
  series_env=$pipeline_env
  for prec in float double; do
    series_run series_$prec "$shm" 60 "$nframes-frame 2048x2048 series, $prec, float image and SMV per frame into $shm" \
      $light -nframes $nframes -intfile s_%04d.img -precision $prec
  done
  series_run series_float_disk "$work" 90 "the same in float into $work (the machine's disk)" \
    $light -nframes $nframes -intfile s_%04d.img -precision float
  # Why the writer took 50-60 ms a frame on the H200 machine (13 ms on a 2-core
  # VM): idle OpenMP workers spinning beside it, or the machine's own write rate?
  series_env="OMP_WAIT_POLICY=passive $pipeline_env"
  series_run series_float_passive "$shm" 60 "the same in float into $shm with OMP_WAIT_POLICY=passive (idle OpenMP workers sleep)" \
    $light -nframes $nframes -intfile s_%04d.img -precision float
  series_env=$pipeline_env
  d=$(mktemp -d "$shm/nb_raw.XXXX")
  step raw_writes 30 python3 -c "
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
big, small = bytes(16 << 20), bytes(8 << 20)
t = time.perf_counter()
for i in range(n):
    for name, data in (('f%d' % i, big), ('s%d' % i, small)):
        fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.write(fd, data)
        os.close(fd)
print('one thread: %.1f ms per frame of 16 + 8 MB' % ((time.perf_counter() - t) * 1e3 / n))" "$d" $nframes
  rm -rf "$d"
  r=$(grep -m1 '^one thread:' "$work/raw_writes.out" || echo "no result")
  row raw_writes "$(status_of $step_rc)" "$step_s" "$r"
  echo "- the machine's write rate, $nframes frames' files (16 MB and 8 MB) written one after another into $shm: $r" >>"$work/thru.md"
  series_env=""
  for prec in float double; do
    series_run series_heavy_$prec "$shm" 60 "$((nframes / 2))-frame series of lyso_2048_realistic frames (2 phi steps each), $prec, into $shm" \
      $heavy_args -phi 0 -osc 0.1 -nframes $((nframes / 2)) -seed 1 -intfile s_%04d.img -precision $prec
  done
  # the background materials, added on the device before the statistics (no image round trip)
  series_run series_background_float "$shm" 60 "$((nframes / 2))-frame 2048x2048 series with water and air (-amorphous), float, into $shm" \
    $light -amorphous water:0.1 -amorphous air:50 -nframes $((nframes / 2)) -intfile s_%04d.img -precision float
  # NeXus beside: bitshuffle+LZ4, a frame's 8 bands compressed at once (docs/formats.md)
  series_env=$pipeline_env
  series_run series_nexus_float "$shm" 60 "$nframes-frame 2048x2048 series, float, float image, SMV and NeXus (bitshuffle+LZ4) per frame into $shm" \
    $light -nframes $nframes -intfile s_%04d.img -nexusfile s.h5 -precision float
  grep -o 'NeXus/NXmx, [^)]*' "$work/series_nexus_float.out" | sed 's/^/- NeXus: /' >>"$work/thru.md"
  # C's default outputs (float, int, PGM and the noise image, drawn on the
  # host) plus a miniCBF of the noise image: a drop-in user's series, and what
  # drawing the noise costs the host beside the kernel
  series_outputs=""
  series_run series_noise_float "$shm" 60 "$nframes-frame 2048x2048 series, float, C's default files (float, int, PGM, noise SMV) and a miniCBF per frame into $shm" \
    $light -nframes $nframes -cbffile c_%04d.cbf -precision float
  unset series_outputs
  for i in $(seq 1 $nshots); do echo "random $i"; done >"$work/shots.txt"
  series_run shots "$shm" 90 "$nshots-shot list (random orientations), 1024x1024, float, float image and SMV per shot into $shm" \
    $lyso -N 10 -detpixels 1024 -pixel 0.1 -distance 100 -oversample 1 -shots shots.txt -seed 1 -intfile shot_%05d.img -precision float
  { echo "## Series and shot lists"; echo; cat "$work/thru.md"; echo; } >"$work/thru2.md"
  section "$work/thru2.md"
else
  skip series
fi

# ---------- the render kernels against nanoBraggCUDA's, when the bundle has it ----------
# Kernel against kernel: both programs' whole runs are mostly CUDA's start
# (2026-11-30: 0.3-0.4 s each), so the target (float >= 2x nanoBraggCUDA) is
# read off Nsight Compute's kernel durations, summed over each run's launches.
if [ $gpu = 1 ]; then
if { [ $dev = cuda ] || [ $dry = 1 ]; } && want cudaref && [ -x "$cudaref" ] && command -v ncu >/dev/null && [ "$(left)" -gt 60 ]; then
  # its spots kernel alone, not its image-zeroing kernel (nanoBraggSpotsInitCUDAKernel):
  # ours are timed without the image's memset
  kernels_vs() {
    local w args p
    for w in $kernel_workloads; do
      args=$(awk -F'\t' -v n="$w" '$1 == n {print $2}' "$work/workloads.tsv")
      # nanoBraggCUDA's default device arithmetic is df64 (double-float pairs),
      # its -precision single plain float: ours in float against its single,
      # ours in double against its default
      for p in ref_single ref float double; do
        if [ $p = ref ] || [ $p = ref_single ]; then
          (cd "$work" && ncu --clock-control none --metrics gpu__time_duration.sum -k regex:nanoBraggSpotsCUDAKernel \
            "$cudaref" $args $([ $p = ref_single ] && echo -precision single) -floatfile k.bin -nonoise -nopgm)
        else
          (cd "$work" && ncu --clock-control none --metrics gpu__time_duration.sum -k regex:render_kernel \
            "$B/bin/nanoBragg" $args -device $dev -precision $p -floatfile k.bin -nonoise -nopgm)
        fi | awk -v w="$w" -v p="$p" '/gpu__time_duration.sum/ {v = $NF; u = $(NF - 1); gsub(",", "", v);
            f = (u ~ /^n/) ? 1e-6 : (u ~ /^u/) ? 1e-3 : (u ~ /^m/) ? 1 : 1000; t += v * f; n++}
          END {printf "kernels %s %s %.4f %d\n", w, p, t, n}'
      done
    done
  }
  export -f kernels_vs
  export dev cudaref kernel_workloads
  step kernels_cudaref 120 bash -c kernels_vs
  python3 - "$work/kernels_cudaref.out" >"$work/kernelscu.md" <<'EOF2'
import sys
ms = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 5 and f[0] == "kernels" and int(f[4]) > 0:
        ms[(f[1], f[2])] = float(f[3])
print("## Kernels against nanoBraggCUDA's (Nsight Compute, gpu__time_duration summed over each run's launches, ms)\n")
print("nanoBraggCUDA single: its `-precision single`; df64: its default (double-float pairs).\n")
print("| workload | nanoBraggCUDA single | nanoBraggCUDA df64 | ours float | ours double | its single / our float | its df64 / our double |")
print("|---|---|---|---|---|---|---|")
for w in sorted({k[0] for k in ms}):
    rs, r, fl, db = (ms.get((w, p)) for p in ("ref_single", "ref", "float", "double"))
    cell = lambda v: f"{v:.3f}" if v else "-"
    ratio = lambda a, b: f"{a / b:.2f}x" if a and b else "-"
    print(f"| {w} | {cell(rs)} | {cell(r)} | {cell(fl)} | {cell(db)} | {ratio(rs, fl)} | {ratio(r, db)} |")
print()
EOF2
  section "$work/kernelscu.md"
  row kernels_cudaref "$(status_of $step_rc)" "$step_s" "$(grep -c '^kernels .* [1-9][0-9]*$' "$work/kernels_cudaref.out") kernel timings"
fi
fi

# ---------- Nsight Compute on the heaviest workload, and on the still ----------
# still_2048 in float was the one workload under the 300x target (2026-11-30:
# 1.06 ms, 289x), while the series of the same frame averaged 0.30 ms: Nsight
# Compute times the kernel alone, without the module load that the render
# events may have held then (docs/gpu.md, Open), and its stall reasons say
# where the rest goes (F gathered from the HKL grid at 37.5% occupancy?).
if [ $gpu = 1 ] && want ncu && command -v ncu >/dev/null; then
  heavy=$(awk -F'\t' '$1 == "lyso_2048_realistic" {print $2}' "$work/workloads.tsv")
  [ -n "$heavy" ] || heavy=$(tail -1 "$work/workloads.tsv" | cut -f2)
  still=$(awk -F'\t' '$1 == "still_2048" {print $2}' "$work/workloads.tsv")
  # (not "sections": that is the report's list of sections)
  ncu_sections="--section SpeedOfLight --section LaunchStats --section Occupancy --section ComputeWorkloadAnalysis \
    --section MemoryWorkloadAnalysis --section InstructionStats --section WarpStateStats"
  # workload:precision pairs, each profiled the same way
  runs="lyso_2048_realistic:float lyso_2048_realistic:double"
  [ -n "$still" ] && runs="$runs still_2048:float"
  # cubic_4096 in float: the workload furthest from 2x nanoBraggCUDA's kernel (2026-12-04: 1.63x)
  grep -q '^cubic_4096' "$work/workloads.tsv" && runs="$runs cubic_4096:float"
  # where the heaviest float run's warps stall, line by line (the bundle is built with -lineinfo)
  ncu_extra() { [ "$1" = lyso_2048_realistic:float ] && echo "--section SourceCounters"; }
  ncu_runs() {
    local r w p args
    for r in $runs; do
      w=${r%%:*} p=${r#*:}
      args=$(awk -F'\t' -v n="$w" '$1 == n {print $2}' "$work/workloads.tsv")
      [ -n "$args" ] || args=$heavy
      echo "### $w $p"
      # --launch-skip 1: the first launch is load_render's empty one (one thread,
      # the kernel's code onto the device before the timing), not the render
      (cd "$work" && ncu --clock-control none $ncu_sections $(ncu_extra "$r") -k regex:render_kernel --launch-skip 1 -c 1 \
        "$B/bin/nanoBragg" $args -device $dev -precision "$p" -floatfile n.bin -nonoise -nopgm)
    done
  }
  export -f ncu_runs ncu_extra
  export dev runs ncu_sections heavy
  step ncu 120 bash -c ncu_runs
  cp "$work/ncu.out" "$out/ncu.txt"
  sol=$(grep -E 'Compute \(SM\) Throughput|Duration' "$work/ncu.out" | awk '{print $1, $2, $3, $NF}' | paste -sd';')
  row ncu "$(status_of $step_rc)" "$step_s" "${sol:-no metrics}"
  { echo "## Nsight Compute, render kernel: lyso_2048_realistic (float, then double), still_2048 and cubic_4096 (float)"; echo; echo '```';
    grep -E '^###|render_kernel<|Duration|Throughput|Registers Per|Achieved Occupancy|Theoretical Occupancy|Block Limit|Local Memory|Executed Ipc|FP64|FMA|Warp Cycles|Stall|stalled|L1/TEX Hit|L2 Hit|Location|cuh:|cu:' "$work/ncu.out" | head -200
    echo '```'; echo; } >"$work/ncu.md"
  section "$work/ncu.md"
else
  skip ncu ncu
fi

# ---------- nb-bench against nanoBraggCUDA, when the bundle has it and time is left ----------
if [ $gpu = 1 ]; then
if { [ $dev = cuda ] || [ $dry = 1 ]; } && want cudaref && [ -x "$cudaref" ] && [ "$(left)" -gt 60 ]; then
  # nanoBraggCUDA has no -interpolate, -gauss_xtal or -fudge: the workloads it runs
  wl=${cudaref_workloads:-$(awk -F'\t' '$2 !~ /-interpolate|-gauss_xtal|-fudge/ {print $1}' "$work/workloads.tsv" | paste -sd,)}
  step bench_cudaref 90 bash -c "cd '$work' && '$B/bin/nb-bench' --nanobragg '$B/bin/nanoBragg' --golden '$G' --device $dev \
    --threads $threads --precision double,float $cudaref_runs --workloads $wl --reference '$cudaref' --out '$out/bench-cudaref'"
  row bench_cudaref "$(status_of $step_rc)" "$step_s" "against nanoBraggCUDA ($wl)"
  if [ -f "$out/bench-cudaref.md" ]; then
    { echo "## nb-bench against nanoBraggCUDA (its default precision)"; echo; sed 1,2d "$out/bench-cudaref.md"; echo; } >"$work/benchcu.md"
    section "$work/benchcu.md"
  fi
fi
fi

# (the launch shapes were measured on 2026-11-30 and chose the default: last, as time allows)
# ---------- the render kernel's launch shapes (NB_CUDA_LAUNCH, kernels/cuda_render_kernel.cuh) ----------
if [ $gpu = 1 ] && want shapes; then
  shapes() {
    local w args shape prec k
    for w in $shape_workloads; do
      args=$(awk -F'\t' -v n="$w" '$1 == n {print $2}' "$work/workloads.tsv")
      for prec in float double; do
        for shape in 0 1 2; do
          for k in 1 2; do
            echo "shape $w $prec $shape $(kernel_ms "NB_CUDA_LAUNCH=$shape" $prec $args)"
          done
        done
      done
    done
  }
  export -f shapes
  export dev shape_workloads
  step shapes 90 bash -c shapes
  python3 - "$work/shapes.out" >"$work/shapes.md" <<'EOF2'
import sys
best = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 5 and f[0] == "shape" and f[4] != "none":
        key = (f[1], f[2], int(f[3]))
        best[key] = min(best.get(key, 1e30), float(f[4]))
print("## Launch shapes of the render kernel (best of 2, render kernels ms)\n")
print("Shape 0: 32x8 threads, no occupancy bound; 1: float 32x8 x 3 blocks/SM, double 32x4 x 3; 2: float 32x4 x 5, double 32x2 x 5.\n")
print("| workload | precision | shape 0 | shape 1 | shape 2 |")
print("|---|---|---|---|---|")
for w, p in sorted({(k[0], k[1]) for k in best}):
    print(f"| {w} | {p} | " + " | ".join(f"{best.get((w, p, s), float('nan')):.3f}" for s in range(3)) + " |")
print()
EOF2
  section "$work/shapes.md"
  row shapes "$(status_of $step_rc)" "$step_s" "$(grep -c '^shape .* [0-9.]*$' "$work/shapes.out") timed renders"
else
  skip shapes
fi

# ---------- report and summary ----------
{
  echo "# GPU check, $(date -u +%F)"
  echo
  echo "Command: \`scripts/gpu_check.sh OUTDIR\` from the bundle ($(manifest)), budget ${budget}s, took $((SECONDS - t0))s."
  echo
  echo "| step | status | seconds | result |"
  echo "|---|---|---|---|"
  for r in "${rows[@]}"; do echo "| ${r//|/ | } |"; done
  echo
  for s in "${sections[@]}"; do
    if [ -f "$s" ]; then cat "$s"; else echo "gpu_check: report section '$s' is not a file (a step reused the list's name)" >&2; fi
  done
} >"$report"
rm -rf "$work"
echo
echo "gpu_check: $(( SECONDS - t0 ))s of ${budget}s; report $report, log $log"
printf '%-14s %-10s %6s  %s\n' step status seconds result
for r in "${rows[@]}"; do
  IFS='|' read -r a b c d <<<"$r"
  printf '%-14s %-10s %6s  %s\n' "$a" "$b" "$c" "$d"
done
bad=0
for r in "${rows[@]}"; do case $r in *"|FAIL"* | *"|timeout|"*) bad=1 ;; esac; done
exit $bad
