#!/bin/bash
# The SIMD executor's objects (kernels/cpu_simd.cpp, compiled once per ISA and
# variant) define no weak symbol outside their ISA's own namespace (Highway's
# N_SSE4, N_AVX2, N_AVX3, ...). The linker keeps one copy of a weak symbol for
# every caller: a header function compiled into the AVX-512 object could be the
# copy the scalar and AVX2 paths run, and stop them on a machine without
# AVX-512. Functions of the shared headers are static for that reason.
# Usage: simd_object_symbols.sh OBJECT...
set -u
[ $# -ge 1 ] || { echo "usage: simd_object_symbols.sh OBJECT..." >&2; exit 2; }
bad=0
for o in "$@"; do
  syms=$(nm -C "$o") || { echo "cannot read $o" >&2; exit 2; }
  shared=$(echo "$syms" | awk '$2 == "W" || $2 == "V" || $2 == "u"' | grep -v '::N_[A-Z0-9_]*::\|hwy::\|DW\.ref\.__gxx_personality_v0')
  if [ -n "$shared" ]; then
    echo "$o: weak symbols outside the ISA's namespace:"
    echo "$shared" | sed 's/^/  /'
    bad=1
  fi
done
[ $bad = 0 ] && echo "$# objects: no weak symbol outside their ISA's namespace"
exit $bad
