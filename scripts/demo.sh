#!/bin/bash
# Set-up, build, and one simulation with built-in inputs: a lysozyme crystal
# (79.1 x 79.1 x 38.4 A, structure factors from tests/golden/inputs/lyso.hkl)
# on a 1024x1024 detector. Look at demo/image.png (or the SMV files in adxv).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
mkdir -p demo
cd demo
# a 15-cell round crystal with 0.2 deg mosaicity, 0.5 deg of rotation in 4 steps
../build/bin/nanoBragg -cell 79.1 79.1 38.4 90 90 90 -hkl ../tests/golden/inputs/lyso.hkl -N 15 -round_xtal \
  -lambda 1.0 -distance 120 -detpixels 1024 -misset 10 20 30 -mosaic 0.2 -mosaic_dom 10 -osc 0.5 -phisteps 4 \
  -oversample 1 -floatfile floatimage.bin -intfile intimage.img -noisefile noiseimage.img -pgmfile image.pgm \
  -pngfile image.png -seed 1
echo
echo "demo images: $(pwd)/image.png (preview), image.pgm, intimage.img, noiseimage.img (SMV), floatimage.bin (raw float32)"
