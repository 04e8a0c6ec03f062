#!/bin/bash
# Builds and installs nanoBragg, nb-compare and nb-bench into PREFIX, then
# renders a small image with the installed CLI as a smoke test. Used by the
# Dockerfile's build stage and, unchanged, by CI.
# Usage: build_in_image.sh SOURCE_DIR PREFIX
set -euo pipefail
src=$1
prefix=$2
need=(build-essential cmake libcli11-dev libspdlog-dev libpng-dev libopenmpi-dev openmpi-bin nlohmann-json3-dev
      libhdf5-dev hdf5-filter-plugin bitshuffle libhwy-dev libfftw3-dev pkg-config)
missing=()
for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
build=$(mktemp -d)
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNB_BUILD_TESTS=OFF -DNB_BUILD_PYTHON=OFF -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build "$build" -j"$(nproc)" --target nanoBragg noisify nonBragg nb-compare nb-bench
cmake --install "$build" >/dev/null
rm -rf "$build"
smoke=$(mktemp -d)
(cd "$smoke" && "$prefix/bin/nanoBragg" -cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 64 \
   -distance 100 -seed 1 -device cpu -nexusfile smoke.h5 -cbffile smoke.cbf > smoke.log && test -s floatimage.bin \
   && test -s intimage.img && test -s smoke.h5 && test -s smoke.cbf)
rm -rf "$smoke"
echo "installed nanoBragg into $prefix"
