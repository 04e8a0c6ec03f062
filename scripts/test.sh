#!/bin/bash
# Set-up, build and the whole test suite (unit tests, CLI tests, golden parity).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
