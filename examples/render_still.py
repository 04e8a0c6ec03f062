#!/usr/bin/env python3
"""Render a still with the nanobragg module, show it and its radial profile, save a PNG.

    PYTHONPATH=build/python /usr/bin/python3 examples/render_still.py [out.png] [extra nanoBragg flags...]

Uses the lysozyme structure factors of tests/golden/inputs; with no display, matplotlib's Agg
backend writes the PNG only.
"""
import os
import sys

import matplotlib

if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import nanobragg

here = os.path.dirname(os.path.abspath(__file__))
hkl = os.path.join(here, "..", "tests", "golden", "inputs", "lyso.hkl")
out = sys.argv[1] if len(sys.argv) > 1 else "render_still.png"
args = ["-cell", "79.1", "79.1", "38.4", "90", "90", "90", "-hkl", hkl, "-misset", "10", "20", "30",
        "-lambda", "1.0", "-N", "10", "-detpixels", "512", "-pixel", "0.2", "-distance", "120"] + sys.argv[2:]

r = nanobragg.simulate(args)
g = r.geometry
print(r)
print("rendered on %s: %dx%d pixels of %g mm at %g mm, lambda %g A" %
      (r.backend, g.fpixels, g.spixels, g.pixel_size_mm, g.distance_mm, g.wavelength_A))

# radial profile about the direct beam spot (Fbeam, Sbeam are along fast and slow, in mm)
fast, slow = np.meshgrid(np.arange(g.fpixels), np.arange(g.spixels))
radius_mm = np.hypot((fast + 0.5) * g.pixel_size_mm - g.beam_fs_mm[0], (slow + 0.5) * g.pixel_size_mm - g.beam_fs_mm[1])
bins = np.arange(0, radius_mm.max() + g.pixel_size_mm, 2 * g.pixel_size_mm)
which = np.digitize(radius_mm.ravel(), bins)
total = np.bincount(which, weights=r.image.ravel(), minlength=len(bins) + 1)[1:len(bins)]
count = np.bincount(which, minlength=len(bins) + 1)[1:len(bins)]
profile = total / np.maximum(count, 1)
two_theta = np.degrees(np.arctan((bins[:-1] + g.pixel_size_mm) / g.distance_mm))

fig, (ax_image, ax_profile) = plt.subplots(1, 2, figsize=(11, 5))
level = np.percentile(r.image, 99.9) or 1.0
ax_image.imshow(np.sqrt(r.image), cmap="gray_r", vmax=np.sqrt(level), origin="upper")
ax_image.set_title("still (sqrt scale), max_I %.3g" % r.max_I)
ax_image.set_xlabel("fast (pixels)")
ax_image.set_ylabel("slow (pixels)")
shown = (count > 0) & (profile > 0)
ax_profile.semilogy(two_theta[shown], profile[shown])
ax_profile.set_xlabel("2theta (deg)")
ax_profile.set_ylabel("mean intensity (photons/pixel)")
ax_profile.set_title("radial profile")
fig.tight_layout()
fig.savefig(out, dpi=100)
print("wrote", out)
if matplotlib.get_backend().lower() != "agg":
    plt.show()
