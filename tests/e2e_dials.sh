#!/bin/bash
# End-to-end check with the real client: render a 20-frame, 1 degree/frame
# sweep of a known lysozyme crystal, then dials.import, dials.find_spots and
# dials.index must recover the simulated cell within 0.2% on every edge and
# 0.2 degrees on every angle, from the SMV files and from the NeXus file of
# the same render.
# Usage: e2e_dials.sh NANOBRAGG GOLDEN_DIR
set -euo pipefail
nb=$1
golden=$2
for tool in dials.import dials.find_spots dials.index; do
  command -v "$tool" >/dev/null || { echo "e2e: $tool not found (scripts/setup.sh installs Debian's dials)"; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$nb" -cell 79.1 79.1 38.4 90 90 90 -hkl "$golden/inputs/lyso.hkl" -misset 10 20 30 -lambda 1.0 -N 10 \
  -detpixels 1024 -pixel 0.1 -distance 150 -phi 0 -osc 1 -nframes 20 -oversample 1 -mosaic 0.05 -mosaic_dom 5 \
  -fluence 1e27 -seed 1 -noisefile sweep_%03d.img -nopgm -floatfile float_%03d.bin -intfile int_%03d.img \
  -nexusfile sweep.h5 > render.log
index() {  # FORMAT FILES...: import, find spots, index, compare the cell
  local format=$1
  shift
  mkdir "$format"
  (
    cd "$format"
    echo "== $format"
    dials.import "${@/#/../}" > import.log
    dials.find_spots imported.expt nproc=2 > find_spots.log
    dials.index imported.expt strong.refl > index.log || { tail -30 index.log; exit 1; }
    check_cell index.log
  )
}
check_cell() {
/usr/bin/python3 - "$1" <<'PY'
import re, sys
cells = re.findall(r"Unit cell: ([^\n]+)", open(sys.argv[1]).read())
if not cells:
    sys.exit("e2e: dials.index reported no unit cell")
values = [float(re.sub(r"\(.*?\)", "", v)) for v in cells[-1].replace(",", " ").split()]
edges, angles = sorted(values[:3]), values[3:]
expect_edges, expect_angles = sorted([79.1, 79.1, 38.4]), [90.0, 90.0, 90.0]
print("indexed cell:", values)
bad = [f"edge {e:.4f} vs {x}" for e, x in zip(edges, expect_edges) if abs(e / x - 1) > 0.002]
bad += [f"angle {a:.4f} vs {x}" for a, x in zip(angles, expect_angles) if abs(a - x) > 0.2]
worst_edge = max(abs(e / x - 1) for e, x in zip(edges, expect_edges))
worst_angle = max(abs(a - x) for a, x in zip(angles, expect_angles))
print(f"worst edge error {100 * worst_edge:.3f}%, worst angle error {worst_angle:.3f} deg")
sys.exit("e2e: cell off: " + "; ".join(bad) if bad else 0)
PY
}
index smv sweep_0*.img
index nexus sweep.h5
