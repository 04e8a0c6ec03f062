#!/bin/bash
# The render kernel's resources as ptxas reports them for sm_90, checked
# without a GPU: the default launch shapes (kernels/cuda_render.hpp) spill no
# more than when they were measured fastest (their register bound of 3 blocks
# per multiprocessor costs 20 bytes in the -exact float kernel, 8 in double) and keep a small
# stack frame, and the float kernel keeps its
# double-precision arithmetic to the final scale (a float kernel that starts
# computing in double runs at the FP64 rate); the default-mode float kernel of
# the common case (a square crystal with nearest F, kernels/sweep_case.hpp)
# keeps its per-pair sweep loop within max_sq_sweep PTX instructions (279 a
# pair before that kernel, 148 with it). Prints the table docs/gpu.md holds.
# Usage: tests/cuda_kernel_resources.sh NVCC SOURCE_DIR
set -euo pipefail
nvcc=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
max_stack=64        # bytes: what is left is sinf/cosf's argument reduction for huge arguments
max_float_f64=19    # f64 arithmetic instructions in a float kernel: the final scale
max_spill_f=20      # bytes, float and double default shapes (spill stores and loads each)
max_spill_d=8
max_sq_sweep=160    # PTX instructions in the common case's float sweep loop (tests/ptx_sweep_size.py)
shape_f=$(sed -n 's/^constexpr int kDefaultLaunchShapeFloat = \([0-9]\);/\1/p' "$src/kernels/cuda_render.hpp")
shape_d=$(sed -n 's/^constexpr int kDefaultLaunchShapeDouble = \([0-9]\);/\1/p' "$src/kernels/cuda_render.hpp")
[ -n "$shape_f" ] && [ -n "$shape_d" ] || { echo "cannot read the default launch shapes" >&2; exit 1; }
fail=0
printf '| variant | sweep | precision | shape | registers | stack frame (bytes) | spill stores/loads (bytes) | f64 arithmetic in PTX | PTX in the sweep loop |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for v in fast exact; do
  fmad=$([ $v = fast ] && echo true || echo false)
  "$nvcc" -O3 -std=c++17 -arch=sm_90 --fmad=$fmad -I"$src" -Xptxas -v -c "$src/kernels/cuda_render_$v.cu" \
    -o "$tmp/$v.o" 2>"$tmp/$v.ptxas"
  "$nvcc" -O3 -std=c++17 -arch=sm_90 --fmad=$fmad -I"$src" -ptx "$src/kernels/cuda_render_$v.cu" -o "$tmp/$v.ptx"
  kinds=$([ $v = fast ] && echo "1 0" || echo 0)
  for kind in $kinds; do
  for prec in f d; do
    for shape in 0 1 2; do
      name="render_kernelI${prec}Li${shape}ELNS_9SweepKindE${kind}E"
      # ptxas prints the entry line, its properties, its stack/spill line, then its register line
      info=$(grep -A3 "entry function '.*$name" "$tmp/$v.ptxas" || true)
      [ -n "$info" ] || { echo "no ptxas report for $v $name" >&2; fail=1; continue; }
      regs=$(echo "$info" | sed -n 's/.*Used \([0-9]*\) registers.*/\1/p')
      stack=$(echo "$info" | sed -n 's/^ *\([0-9]*\) bytes stack frame.*/\1/p')
      spill_st=$(echo "$info" | sed -n 's/.* \([0-9]*\) bytes spill stores.*/\1/p')
      spill_ld=$(echo "$info" | sed -n 's/.* \([0-9]*\) bytes spill loads.*/\1/p')
      f64=$(awk -v n="$name" '$0 ~ "\\.entry .*"n {on=1} on && /^}/ {on=0} on' "$tmp/$v.ptx" |
        grep -cE '^\s*(add|sub|mul|div|fma|mad|sqrt|rcp|rsqrt|neg|abs|min|max|setp|ex2|lg2|sin|cos)(\.[a-z0-9]+)*\.f64' || true)
      sweep=$(python3 "$src/tests/ptx_sweep_size.py" "$tmp/$v.ptx" "$name") || { echo "no sweep loop in $v $name" >&2; fail=1; }
      default=""
      [ $prec = f ] && [ $shape = "$shape_f" ] && default=" (default)"
      [ $prec = d ] && [ $shape = "$shape_d" ] && default=" (default)"
      printf '| %s | %s | %s | %s%s | %s | %s | %s/%s | %s | %s |\n' $v $([ $kind = 1 ] && echo square-nearest || echo any) \
        $([ $prec = f ] && echo float || echo double) $shape "$default" "$regs" "$stack" "$spill_st" "$spill_ld" "$f64" "$sweep"
      if [ $v = fast ] && [ $kind = 1 ] && [ $prec = f ] && [ -n "$default" ] && [ "${sweep:-999999}" -gt $max_sq_sweep ]; then
        echo "FAIL: $v $name has $sweep PTX instructions in its sweep loop (at most $max_sq_sweep)" >&2; fail=1
      fi
      if [ -n "$default" ]; then
        max_spill=$([ $prec = f ] && echo $max_spill_f || echo $max_spill_d)
        if [ "$spill_st" -gt "$max_spill" ] || [ "$spill_ld" -gt "$max_spill" ]; then
          echo "FAIL: $v $name spills $spill_st/$spill_ld bytes (at most $max_spill)" >&2; fail=1
        fi
        if [ "$stack" -gt $max_stack ]; then
          echo "FAIL: $v $name has a $stack-byte stack frame (at most $max_stack)" >&2; fail=1
        fi
      fi
      if [ $prec = f ] && [ "$f64" -gt $max_float_f64 ]; then
        echo "FAIL: $v $name executes $f64 f64 arithmetic instructions (at most $max_float_f64)" >&2; fail=1
      fi
    done
  done
  done
done
exit $fail
