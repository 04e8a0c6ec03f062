#!/bin/bash
# Configures and builds into build/ (the CLI lands at build/bin/nanoBragg).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
