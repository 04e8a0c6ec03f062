#!/bin/bash
# The test suite built with AddressSanitizer + UndefinedBehaviorSanitizer
# (CPU backend): unit and CLI tests and every golden case in double precision.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# one SIMD ISA (AVX2) and no Python module: the sanitized SIMD executor takes minutes per ISA to compile;
# one vector per lane group (NB_LANE_VECTORS, kernels/lanes_hwy.hpp): with four, one test took over 15 min under ASan
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DNB_ENABLE_CUDA=OFF -DNB_BUILD_PYTHON=OFF -DNB_CPU_ISAS=avx2 \
  -DCMAKE_CXX_FLAGS="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DNB_LANE_VECTORS=1" \
  >/dev/null
cmake --build build-asan -j"$(nproc)" --target nb_tests nanoBragg noisify nb-compare
# The sanitized lane code is slow (Lane holds an array of vectors, which ASan keeps on the stack):
# the two Render tests that render a mosaic case six and two times ran 15 and 10 minutes, so they
# run in the normal suite only; the SIMD executor stays covered here by the Simd corner cases
# (every ISA path, both modes, thread counts), and the golden cases below run on the scalar
# reference executor (NB_CPU_ISA=scalar), which shares the formulas.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan -j"$(nproc)" --output-on-failure --no-tests=error -LE 'e2e|docker|mpi|python|formats' \
  -E 'Golden\.|Gpu|Render\.EveryCpuVectorIsaGivesTheSameImage|Render\.FractionalIndexSincgAgreesWithCsFormula' \
  --timeout 1800
# every golden case in double precision, under the sanitizers
NB_CPU_ISA=scalar ctest --test-dir build-asan -j"$(nproc)" --output-on-failure --timeout 1800 --no-tests=error \
  -R 'Golden\.DoublePrecisionMatchesC/'
