#!/bin/bash
# The realistic sweep (issue 20): 45 frames of a known lysozyme crystal on a
# water and air background, through noisify's detector model (fiber PSF,
# read-out noise, calibration error), written as SMV by one nanoBragg run.
# DIALS must index it to the true cell (0.2% on every edge, 0.2 degrees on
# every angle) and integrate it (at least 2000 reflections integrated by
# summation, at least 300 of them with I/sigma >= 5; measured: 12910 and 527).
# Usage: e2e_dials_realistic.sh NANOBRAGG GOLDEN_DIR
set -euo pipefail
nb=$1
golden=$2
for tool in dials.import dials.find_spots dials.index dials.integrate; do
  command -v "$tool" >/dev/null || { echo "e2e: $tool not found (scripts/setup.sh installs Debian's dials)"; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$nb" -cell 79.1 79.1 38.4 90 90 90 -hkl "$golden/inputs/lyso.hkl" -misset 10 20 30 -lambda 1.0 -N 40 \
  -detpixels 1024 -pixel 0.1 -distance 150 -phi 0 -osc 1 -nframes 45 -oversample 1 -mosaic 0.05 -mosaic_dom 5 \
  -fluence 1e25 -beamsize 0.001 -amorphous water:0.0005 -amorphous air:1 \
  -psf fiber -psf_fwhm 50 -readout 3 -calibration 0.03 -seed 1 \
  -noisefile sweep_%03d.img -nopgm -floatfile float_%03d.bin -intfile int_%03d.img > render.log
grep -q "PSF convolved by FFT" render.log || grep -q "lost photons" render.log || { echo "e2e: no PSF applied"; exit 1; }
dials.import sweep_0*.img > import.log
dials.find_spots imported.expt nproc=2 > find_spots.log
dials.index imported.expt strong.refl > index.log || { tail -30 index.log; exit 1; }
dials.integrate indexed.expt indexed.refl nproc=2 > integrate.log || { tail -30 integrate.log; exit 1; }
/usr/bin/python3 - <<'PY'
import re, sys
from dials.array_family import flex
cells = re.findall(r"Unit cell: ([^\n]+)", open("index.log").read())
if not cells:
    sys.exit("e2e: dials.index reported no unit cell")
values = [float(re.sub(r"\(.*?\)", "", v)) for v in cells[-1].replace(",", " ").split()]
edges, angles = sorted(values[:3]), values[3:]
bad = [f"edge {e:.4f} vs {x}" for e, x in zip(edges, sorted([79.1, 79.1, 38.4])) if abs(e / x - 1) > 0.002]
bad += [f"angle {a:.4f} vs 90" for a in angles if abs(a - 90.0) > 0.2]
print("indexed cell:", values)
r = flex.reflection_table.from_file("integrated.refl")
summed = r.select(r.get_flags(r.flags.integrated_sum))
n = len(summed)
isig = sorted(summed["intensity.sum.value"][i] / max(summed["intensity.sum.variance"][i], 1e-30) ** 0.5 for i in range(n))
strong = sum(1 for v in isig if v >= 5)
print(f"integrated by summation: {n} reflections, {strong} with I/sigma >= 5, median I/sigma {isig[n // 2] if n else 0:.2f}")
if n < 2000:
    bad.append(f"only {n} reflections integrated")
if strong < 300:
    bad.append(f"only {strong} reflections with I/sigma >= 5")
sys.exit("e2e: " + "; ".join(bad) if bad else 0)
PY
