#!/bin/bash
# The test suite built with AddressSanitizer + UndefinedBehaviorSanitizer
# (CPU backend): unit and CLI tests and every golden case on both CPU executors.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# One SIMD ISA (AVX2) and no Python module, to save compile time. The SIMD executor's objects
# (NB_SIMD_EXTRA_FLAGS) get -O2, one vector per lane group (NB_LANE_VECTORS, kernels/lanes_hwy.hpp)
# and no use-after-scope checks, with which GCC keeps every lane temporary as a poisoned stack
# object. A 512x512 mosaic render (golden mosaic_50_oversample), 2 cores: 0.8 s so; 127 s with
# use-after-scope checks; 39 s with four vectors (and 3 min more to compile).
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DNB_ENABLE_CUDA=OFF -DNB_BUILD_PYTHON=OFF -DNB_CPU_ISAS=avx2 \
  -DCMAKE_CXX_FLAGS="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
  -DNB_SIMD_EXTRA_FLAGS="-O2 -DNB_LANE_VECTORS=1 -fno-sanitize-address-use-after-scope" \
  >/dev/null
cmake --build build-asan -j"$(nproc)" --target nb_tests nanoBragg noisify nb-compare
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
unset NB_CPU_ISA
ctest --test-dir build-asan -j"$(nproc)" --output-on-failure --no-tests=error -LE 'e2e|docker|mpi|python|formats|symbols|gpu_check' \
  -E 'Golden\.|Gpu' --timeout 900
# Every golden case on the SIMD executor (AVX2) in double, float and -exact, and on the scalar
# reference in -exact and in double: each set takes 80-100 s on 2 cores.
ctest --test-dir build-asan -j"$(nproc)" --output-on-failure --timeout 900 --no-tests=error \
  -R 'Golden\.(DoublePrecisionMatchesC|FloatPrecisionMeetsItsThresholds|ExactModeIsByteIdenticalToC|ScalarReferenceExactModeIsByteIdenticalToC)/'
NB_CPU_ISA=scalar ctest --test-dir build-asan -j"$(nproc)" --output-on-failure --timeout 900 --no-tests=error \
  -R 'Golden\.DoublePrecisionMatchesC/'
