#!/bin/bash
# Builds the libFuzzer targets (clang) and runs each for a bounded time.
# Usage: scripts/fuzz.sh [seconds_per_target]   (default 10)
# Exit status is non-zero on any crash, sanitizer report, leak or timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
for p in clang libclang-rt-14-dev libomp-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev libomp-dev; break; }
done
cmake -S fuzz -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)"
# parsers refuse grids/images beyond this budget, which keeps every input fast
export NB_MEMORY_LIMIT_MB=${NB_MEMORY_LIMIT_MB:-1}
# the command-line target renders: its seeds are the golden command lines, also with
# -exact and in float (the SIMD executor's other variants), whose input files
# (lyso.hkl, ortho.mat, ...) it finds here
export NB_FUZZ_INPUTS=$PWD/tests/golden/inputs
status=0
for t in hkl fdump matrix sourcefile smv expt cli_args; do
  corpus=$(mktemp -d)
  cp -r fuzz/corpus/$t/. "$corpus/"
  if [ "$t" = cli_args ]; then
    /usr/bin/python3 -c 'import json,sys
for name, c in json.load(open("tests/golden/manifest.json"))["cases"].items():
    for tag, extra in (("", ""), ("_exact", " -exact"), ("_float", " -precision float")):
        open(sys.argv[1] + "/golden_" + name + tag + ".txt", "w").write(c["args"] + extra)' "$corpus"
  fi
  log=$(mktemp)
  if build-fuzz/fuzz_$t "$corpus" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$corpus/" >"$log" 2>&1; then
    echo "fuzz_$t: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}') executions, no findings"
  else
    echo "fuzz_$t: FINDING"; grep -E "ERROR|SUMMARY|runtime error|terminate called|what\(\)" "$log" | head -8; status=1
  fi
  rm -rf "$corpus" "$log"
done
exit $status
