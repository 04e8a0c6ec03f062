#!/bin/bash
# Proves the GPU bundle (scripts/gpu_bundle.sh) self-contained: its programs
# run in a bare Debian (debootstrap --variant=minbase, nothing else
# installed), where the GPU tests skip and a CPU render works.
# Usage: scripts/gpu_bundle_chroot.sh [CHROOT_DIR]   (default /tmp/nb-bare-debian;
# created with debootstrap when missing; needs root)
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-/tmp/nb-bare-debian}
[ -f gpu-bundle/bundle.tar.xz ] || { echo "gpu_bundle_chroot: run scripts/gpu_bundle.sh first" >&2; exit 2; }
if [ ! -x "$root/bin/bash" ]; then
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
fi
rm -rf "$root/nb"
mkdir -p "$root/nb/bundle" "$root/nb/tests"
tar -xJf gpu-bundle/bundle.tar.xz -C "$root/nb/bundle"
cp -r tests/golden "$root/nb/tests/golden"
# /proc as on any running system: the loader reads /proc/self/exe to expand $ORIGIN
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/nb "$@"; }
echo "== libraries the bundle's programs cannot find in the bare system (expect none)"
missing=$(in_root /bin/sh -c 'for p in /nb/bundle/bin/*; do ldd $p | grep "not found"; done' || true)
echo "${missing:-none}"
[ -z "$missing" ] || exit 1
echo "== packages in the bare system: $(chroot "$root" dpkg -l | grep -c '^ii')"
echo "== CPU render"
in_root /bin/sh -c 'mkdir -p /tmp/r && cd /tmp/r && /nb/bundle/bin/nanoBragg -cell 100 100 100 90 90 90 \
  -default_F 100 -N 5 -detpixels 256 -distance 100 -floatfile f.bin -nopgm' | grep -E "rendered on|max_I|wrote"
echo "== NeXus module (lib/libnb_nexus.so and HDF5 from the bundle)"
in_root /bin/sh -c 'cd /tmp/r && /nb/bundle/bin/nanoBragg -cell 100 100 100 90 90 90 -default_F 100 -N 5 \
  -detpixels 64 -distance 100 -nexusfile x.h5 -nonoise -nopgm' | grep -E "wrote x.h5"
echo "== GPU tests (they skip without a GPU) and four golden cases on the CPU, from the bundle"
in_root /bin/sh -c 'NB_CLI_PATH=/nb/bundle/bin/nanoBragg NB_GOLDEN_DIR=/nb/tests/golden /nb/bundle/bin/nb_tests \
  --gtest_filter="*Gpu*:*Golden.DoublePrecisionMatchesC/cubic_1024:*Golden.DoublePrecisionMatchesC/lyso_interpolate:*Golden.DoublePrecisionMatchesC/mosaic_10:*Golden.DoublePrecisionMatchesC/mask" 2>&1' |
  grep -E "^\[  PASSED|^\[  SKIPPED \] [0-9]|^\[  FAILED|tests? ran|^\[parity double\].*corr"
echo "== nb-bench lists its workloads"
in_root /nb/bundle/bin/nb-bench --golden /nb/tests/golden --list | cut -f1 | paste -sd' '
