#!/bin/bash
# Builds, on a machine without a GPU, what scripts/gpu_check.sh runs on a GPU
# machine that has the CUDA driver but none of our Debian libraries:
# gpu-bundle/bin (nanoBragg, noisify, nonBragg, nb_tests, nb-bench, nb-compare for sm_90, with an
# RPATH of $ORIGIN/../lib, not a RUNPATH: an executable's RPATH also serves its
# libraries' own dependencies, libhdf5's libcurl say) and gpu-bundle/lib (every shared library they load beyond
# glibc; the CUDA runtime is linked statically, the driver comes from the host).
#
# Usage: scripts/gpu_bundle.sh [--ref DIR] [--arch 90]
#   --ref DIR  reference programs built by hand (never part of this repository):
#              DIR/bin/nanoBragg (C nanoBragg), optionally DIR/bin/nanoBraggCUDA,
#              and DIR/lib/ with what they need (libgomp). They go to gpu-bundle/ref.
# gpu-bundle/ is ignored by git; carry it to the GPU machine (device tool: carry
# ["gpu-bundle"]) as gpu-bundle/bundle.tar.xz; scripts/gpu_check.sh unpacks
# it in place. The working tree plus the bundle must stay under 60 MB.
# scripts/gpu_bundle_chroot.sh proves it self-contained in a bare Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
ref="" arch=90
while [ $# -gt 0 ]; do
  case "$1" in
    --ref) ref=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    *) echo "gpu_bundle: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || { echo "gpu_bundle: nvcc not found" >&2; exit 1; }
export PATH=$PATH:/usr/local/cuda/bin
scripts/setup.sh
build=build-gpu
# No MPI (one rank per GPU is not what the check measures; OpenMPI would add
# ~20 libraries), no Python module, the two SIMD ISAs a GPU host has.
# The project links its build tree with the install RPATH (CMakeLists.txt:
# CMAKE_BUILD_WITH_INSTALL_RPATH), so the bundle's $ORIGIN/../lib goes there.
cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" \
  -DNB_BUILD_PYTHON=OFF -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON -DNB_CUDA_LINEINFO=ON "-DNB_CPU_ISAS=avx2;avx512" \
  '-DCMAKE_INSTALL_RPATH=$ORIGIN/../lib' -DCMAKE_EXE_LINKER_FLAGS=-Wl,--disable-new-dtags >/dev/null
ninja -C $build nanoBragg noisify nonBragg nb_tests nb-bench nb-compare nb_nexus
for p in nanoBragg noisify nonBragg nb_tests nb-bench nb-compare; do
  readelf -d $build/bin/$p | grep -q '(RPATH).*\$ORIGIN/../lib' ||
    { echo "gpu_bundle: $build/bin/$p has no RPATH \$ORIGIN/../lib: it would not find the bundle's libraries" >&2; exit 1; }
done
out=gpu-bundle
rm -rf $out.tmp
mkdir -p $out.tmp/bin $out.tmp/lib $out.tmp/ref
for p in nanoBragg noisify nonBragg nb_tests nb-bench nb-compare; do
  cp $build/bin/$p $out.tmp/bin/
  strip --strip-unneeded $out.tmp/bin/$p
done
# the NeXus writer module (-nexusfile), loaded from ../lib by the programs
cp $build/lib/libnb_nexus.so $out.tmp/lib/
strip --strip-unneeded $out.tmp/lib/libnb_nexus.so
# glibc's own libraries come from the host (any glibc >= the one built against).
is_system() {
  case "$(basename "$1")" in
    linux-vdso*|ld-linux*|libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|libresolv.so*|libutil.so*|libanl.so*) return 0 ;;
    *) return 1 ;;
  esac
}
# HDF5's bitshuffle plugin, so that -nexusfile writes Eiger's bitshuffle+LZ4 there
# too (gpu_check.sh sets HDF5_PLUGIN_PATH); its liblz4 is found through the
# programs' RPATH
plugin=$(ls /usr/lib/*/hdf5/serial/plugins/libh5bshuf.so 2>/dev/null | head -1)
if [ -n "$plugin" ]; then
  mkdir -p $out.tmp/lib/hdf5-plugins
  cp -L "$plugin" $out.tmp/lib/hdf5-plugins/
fi
for p in $out.tmp/bin/* $out.tmp/lib/libnb_nexus.so $out.tmp/lib/hdf5-plugins/*.so; do
  [ -f "$p" ] || continue
  ldd "$p" | awk '/=>/ {print $3} !/=>/ && $1 ~ /^\// {print $1}' | while read -r lib; do
    [ -n "$lib" ] && [ -f "$lib" ] || continue
    is_system "$lib" && continue
    cp -Ln "$lib" $out.tmp/lib/ 2>/dev/null || true
  done
done
if [ -n "$ref" ]; then
  for p in nanoBragg nanoBraggCUDA; do
    [ -x "$ref/bin/$p" ] || continue
    cp "$ref/bin/$p" $out.tmp/ref/$p.bin
    # a wrapper so that only the reference, not the host's tools, sees our libgomp
    printf '#!/bin/sh\nhere=$(dirname "$(readlink -f "$0")")\nLD_LIBRARY_PATH=$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec "$here/%s.bin" "$@"\n' \
      "$p" > $out.tmp/ref/$p
    chmod +x $out.tmp/ref/$p
  done
  [ -d "$ref/lib" ] && cp -r "$ref/lib" $out.tmp/ref/lib
fi
{
  echo "commit $(git rev-parse HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"
  echo "built $(date -u +%FT%TZ) on $(uname -m), $(ldd --version | head -1)"
  echo "nvcc $(nvcc --version | tail -1), sm_$arch"
  for p in $out.tmp/bin/* $out.tmp/ref/*.bin; do
    [ -f "$p" ] || continue
    echo "== $(basename "$p")"
    ldd "$p" | sed 's/ (0x.*//'
  done
} > $out.tmp/MANIFEST.txt
# HDF5's network dependencies (libcurl, OpenSSL, Kerberos, ...) make the
# folder about 40 MB: it travels as one xz archive that gpu_check.sh unpacks.
rm -rf $out
mkdir -p $out
(cd $out.tmp && tar -cJf ../$out/bundle.tar.xz bin lib ref MANIFEST.txt)
cp $out.tmp/MANIFEST.txt $out/
rm -rf $out.tmp
tree_mb=$(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)
bundle_mb=$(du -sb $out | cut -f1)
echo "gpu_bundle: $out/ $((bundle_mb / 1000000)) MB (working tree $((tree_mb / 1000000)) MB, together $(((tree_mb + bundle_mb) / 1000000)) MB of 60)"
if [ $((tree_mb + bundle_mb)) -gt 60000000 ]; then
  echo "gpu_bundle: working tree plus bundle over 60 MB" >&2
  exit 1
fi
