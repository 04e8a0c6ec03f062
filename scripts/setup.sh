#!/bin/bash
# Installs what the build needs on a fresh Debian 12 machine (idempotent:
# nothing is fetched when everything is already installed).
set -euo pipefail
# dials (the end-to-end test's client) and OpenMPI (multi-rank series) are Debian packages too;
# Highway (CPU SIMD), FFTW (the PSF by FFT), nlohmann-json, HDF5 with its filter plugins (NeXus: bitshuffle+LZ4 as Eiger), libcbf and pycbf (the
# independent miniCBF reader of the format test), h5py,
# pybind11 with NumPy/pytest/matplotlib (the Python module), clang-format (CI's format check)
packages=(build-essential cmake libcli11-dev libspdlog-dev libgtest-dev libgmock-dev libpng-dev
          openmpi-bin libopenmpi-dev dials libhwy-dev nlohmann-json3-dev libhdf5-dev hdf5-filter-plugin bitshuffle
          libfftw3-dev pkg-config zlib1g-dev
          libcbf-dev pybind11-dev python3-dev python3-numpy python3-pytest python3-matplotlib python3-h5py
          python3-pycbf
          clang-format)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null && SUDO="sudo" || { echo "setup: need root to install ${missing[*]}" >&2; exit 1; }
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
