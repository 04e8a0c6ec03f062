#!/usr/bin/python3
"""-expt end to end with DIALS as the client (issue 21).

1. A Jungfrau-4M-like detector (8 modules of 1024x512 with gaps, in a moved and
   turned hierarchy, a kappa goniometer) and a CSPAD-like one (32 tilted panels
   in quadrants, a still), built with dxtbx and written as .expt: our NeXus,
   read by dials.import, gives the same panel models (origins within 1e-4 mm,
   axes within 1e-6), the same beam and the same scan.
2. DIALS indexes a simulated rotation sweep on a 4-module detector to the true
   cell, and its crystal orientation is the one we put in (up to the lattice's
   422 symmetry).
3. The loop closes: dials.import of our own single-panel NeXus, then -expt of
   that import with the same crystal, reproduces the first image.
4. A beam off DIALS's -z (NXmx has none that dxtbx reads): dials.import of our
   NeXus gives every panel's beam centre back within 1e-6 pixel, and the same
   angles between beam, rotation axis and panels (the frame comes back turned).

Usage: e2e_dials_expt.py NANOBRAGG GOLDEN_DIR
"""
import glob
import math
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
from dxtbx.model import BeamFactory, Crystal, Detector, GoniometerFactory, ScanFactory
from dxtbx.model.experiment_list import Experiment, ExperimentList, ExperimentListFactory
from scitbx import matrix
from scitbx.array_family import flex

NB, GOLDEN = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
LYSO = os.path.join(GOLDEN, "inputs", "lyso.hkl")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(args, log):
    with open(log, "w") as f:
        r = subprocess.run(args, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        print(open(log).read()[-3000:])
        sys.exit(f"e2e: {args[0]} failed ({log})")


def rot(axis, deg):
    return matrix.col(axis).normalize().axis_and_angle_as_r3_rotation_matrix(deg, deg=True)


def lysozyme(U):
    a, c = 79.1, 38.4
    return Crystal(U * matrix.col((a, 0, 0)), U * matrix.col((0, a, 0)), U * matrix.col((0, 0, c)),
                   space_group_symbol="P 43 21 2")


def beam(wavelength):
    b = BeamFactory.simple(wavelength)
    b.set_polarization_normal((0.0, 1.0, 0.0))
    b.set_polarization_fraction(0.999)
    return b


def jungfrau_like():
    det = Detector()
    root = det.hierarchy()
    root.set_name("JF4M")
    R = rot((0, 1, 0), 5.0) * rot((0, 0, 1), 2.0)
    root.set_local_frame(R * matrix.col((1, 0, 0)), R * matrix.col((0, -1, 0)), (1.5, -2.0, -120.0))
    nf, ns, px = 1024, 512, 0.075
    wf, ws = nf * px, ns * px
    for col in range(2):
        half = root.add_group()
        half.set_name(f"half{col}")
        Rh = rot((0, 0, 1), 0.3 if col == 0 else -0.2)
        half.set_local_frame(Rh * matrix.col((1, 0, 0)), Rh * matrix.col((0, 1, 0)),
                             (-(wf + 1.0) if col == 0 else 1.0, 0.0, 0.0))
        for row in range(4):
            p = half.add_panel()
            p.set_name(f"module{col * 4 + row}")
            p.set_type("SENSOR_PAD")
            p.set_image_size((nf, ns))
            p.set_pixel_size((px, px))
            p.set_trusted_range((-1, 65535))
            p.set_material("CdTe")
            p.set_local_frame((1, 0, 0), (0, 1, 0), (0.0, -2 * ws - 5.25 + row * (ws + 3.5), 0.05 * row))
    gonio = GoniometerFactory.make_multi_axis_goniometer(
        axes=flex.vec3_double([(1, 0, 0), tuple(matrix.col((0.914, 0.279, -0.297)).normalize()), (1, 0, 0)]),
        angles=flex.double([0.0, 30.0, 10.0]),
        names=flex.std_string(["PHI", "KAPPA", "OMEGA"]),
        scan_axis=2)
    scan = ScanFactory.make_scan(image_range=(1, 2), exposure_times=0.1, oscillation=(-5.0, 0.25),
                                 epochs={1: 0.0, 2: 0.1}, deg=True)
    return ExperimentList([Experiment(beam=beam(1.3), detector=det, goniometer=gonio, scan=scan,
                                      crystal=lysozyme(rot((1, 2, 3), 37.0)))])


def cspad_like():
    det = Detector()
    root = det.hierarchy()
    root.set_name("CSPAD")
    R = rot((1, 1, 0), 1.0)
    root.set_local_frame(R * matrix.col((1, 0, 0)), R * matrix.col((0, 1, 0)), (0.3, -0.4, -150.0))
    nf, ns, px = 194, 185, 0.11
    wf, ws = nf * px, ns * px
    for q in range(4):
        quad = root.add_group()
        quad.set_name(f"Q{q}")
        Rq = rot((0, 0, 1), 90.0 * q + 0.7 * (q - 1.5)) * rot((1, 0, 0), 0.4 * q)
        quad.set_local_frame(Rq * matrix.col((1, 0, 0)), Rq * matrix.col((0, 1, 0)), Rq * matrix.col((2.0, 2.0, 0.1 * q)))
        for s in range(8):
            p = quad.add_panel()
            p.set_name(f"Q{q}S{s}")
            p.set_type("SENSOR_PAD")
            p.set_image_size((nf, ns))
            p.set_pixel_size((px, px))
            p.set_trusted_range((-10, 65535))
            Rp = rot((0, 1, 0), 0.5 + 0.1 * s) * rot((1, 0, 0), -0.3 * (s % 3)) * rot((0, 0, 1), 0.05 * s)
            if s >= 4:
                Rp = Rp * rot((0, 0, 1), 90.0)
            ox = (s % 4) * (ws + 1.0) + (ws if s >= 4 else 0.0)
            oy = 0.0 if s < 4 else wf + 2.0
            p.set_local_frame(Rp * matrix.col((1, 0, 0)), Rp * matrix.col((0, 1, 0)), (ox, oy, 0.02 * s))
    return ExperimentList([Experiment(beam=beam(1.3), detector=det, crystal=lysozyme(rot((0, 1, 0), 20.0)))])


def four_modules(U):
    """A 2x2 detector of 512x512 modules (0.1 mm, 1 mm gaps), turned 3 deg, at 150 mm; 20 frames of 1 deg."""
    det = Detector()
    root = det.hierarchy()
    R = rot((0, 0, 1), 3.0)
    root.set_local_frame(R * matrix.col((1, 0, 0)), R * matrix.col((0, -1, 0)), (0.0, 0.0, -150.0))
    for k in range(4):
        p = root.add_panel()
        p.set_name(f"m{k}")
        p.set_type("SENSOR_PAD")
        p.set_image_size((512, 512))
        p.set_pixel_size((0.1, 0.1))
        p.set_trusted_range((-1, 65535))
        p.set_local_frame((1, 0, 0), (0, 1, 0), (-51.7 + (k % 2) * 52.2, -51.7 + (k // 2) * 52.2, 0.0))
    gonio = GoniometerFactory.known_axis((1, 0, 0))
    scan = ScanFactory.make_scan(image_range=(1, 20), exposure_times=1.0, oscillation=(0.0, 1.0),
                                 epochs={i + 1: float(i) for i in range(20)}, deg=True)
    return ExperimentList([Experiment(beam=beam(1.0), detector=det, goniometer=gonio, scan=scan, crystal=lysozyme(U))])


def compare_models(ours_expt, imported_expt, name, still):
    a = ExperimentListFactory.from_json_file(ours_expt, check_format=False)[0]
    b = ExperimentListFactory.from_json_file(imported_expt, check_format=False)[0]
    check(len(a.detector) == len(b.detector), f"{name}: {len(b.detector)} panels back of {len(a.detector)}")
    worst_o = worst_ax = 0.0
    for pa, pb in zip(a.detector, b.detector):
        worst_o = max(worst_o, max(abs(x - y) for x, y in zip(pa.get_origin(), pb.get_origin())))
        worst_ax = max(worst_ax, max(abs(x - y) for x, y in zip(pa.get_fast_axis() + pa.get_slow_axis(),
                                                               pb.get_fast_axis() + pb.get_slow_axis())))
        if pa.get_image_size() != pb.get_image_size() or abs(pa.get_pixel_size()[0] - pb.get_pixel_size()[0]) > 1e-9:
            check(False, f"{name}: panel size or pixel size differs")
    check(worst_o < 1e-4, f"{name}: panel origins within 1e-4 mm (worst {worst_o:.2e})")
    check(worst_ax < 1e-6, f"{name}: panel axes within 1e-6 (worst {worst_ax:.2e})")
    if a.detector[0].get_material():  # the file had said Si whatever the list's sensor
        check(b.detector[0].get_material() == a.detector[0].get_material(),
              f"{name}: sensor material {b.detector[0].get_material()!r} vs {a.detector[0].get_material()!r}")
    s0a, s0b = matrix.col(a.beam.get_s0()), matrix.col(b.beam.get_s0())
    check((s0a - s0b).length() < 1e-9 * s0a.length(), f"{name}: beam s0 {tuple(s0b)} vs {tuple(s0a)}")
    if not still:
        ea, eb = matrix.col(a.goniometer.get_rotation_axis()), matrix.col(b.goniometer.get_rotation_axis())
        check((ea - eb).length() < 1e-6, f"{name}: rotation axis {tuple(eb)} vs {tuple(ea)}")
        oa, ob = a.scan.get_oscillation(), b.scan.get_oscillation()
        check(abs(oa[0] - ob[0]) < 1e-9 and abs(oa[1] - ob[1]) < 1e-9 and
              a.scan.get_image_range() == b.scan.get_image_range(),
              f"{name}: scan {ob} {b.scan.get_image_range()} vs {oa} {a.scan.get_image_range()}")
        ta, tb = a.scan.get_exposure_times()[0], b.scan.get_exposure_times()[0]  # it had come back 1 s
        check(abs(ta - tb) < 1e-9, f"{name}: exposure time {tb} s vs {ta} s")


def orientation_error(truth, found):
    """Largest angle (deg) between each of our real-space axes and the found
    axis (either sign) of the same length: the orientation up to the choice of
    setting dials.index made (it may call 38.4 A its a)."""
    T = [matrix.col(v) for v in truth.get_real_space_vectors()]
    F = [matrix.col(v) for v in found.get_real_space_vectors()]
    worst = 0.0
    for t in T:
        best = 180.0
        for f in F:
            if abs(f.length() / t.length() - 1) > 0.01:
                continue
            best = min(best, t.angle(f, deg=True), t.angle(-f, deg=True))
        worst = max(worst, best)
    return worst


def main():
    work = tempfile.mkdtemp(prefix="nb_e2e_expt_")
    os.chdir(work)
    crystal_flags = ["-hkl", LYSO, "-N", "10", "-oversample", "1", "-seed", "1", "-nopgm"]

    # 1. panel models through our NeXus and dials.import
    for name, el, still in (("jungfrau", jungfrau_like(), False), ("cspad", cspad_like(), True)):
        el.as_file(f"{name}.expt")
        run([NB, "-expt", f"{name}.expt", *crystal_flags, "-nexusfile", f"{name}.h5", "-floatfile", f"{name}.bin",
             "-intfile", f"{name}_int.img", "-noisefile", f"{name}_noise.img"], f"{name}.log")
        run(["dials.import", f"{name}.h5", f"output.experiments={name}_imported.expt"], f"{name}_import.log")
        compare_models(f"{name}.expt", f"{name}_imported.expt", name, still)

    # 2. DIALS indexes a multi-panel sweep to our cell and orientation
    U = rot((1, 2, 3), 37.0) * rot((0, 1, 0), -11.0)
    el = four_modules(U)
    el.as_file("sweep.expt")
    # C samples each phi step at its start, so that the spots sit osc / (2 phisteps)
    # early: 10 steps put that at 0.05 deg (with C's automatic 2 it is 0.25 deg)
    run([NB, "-expt", "sweep.expt", *crystal_flags, "-phisteps", "10", "-mosaic", "0.05", "-mosaic_dom", "5",
         "-fluence", "1e27",
         "-nexusfile", "sweep.h5", "-floatfile", "sweep_%03d.bin", "-nonoise"], "sweep.log")
    run(["dials.import", "sweep.h5"], "sweep_import.log")
    run(["dials.find_spots", "imported.expt", "nproc=2"], "sweep_spots.log")
    run(["dials.index", "imported.expt", "strong.refl"], "sweep_index.log")
    found = ExperimentListFactory.from_json_file("indexed.expt", check_format=False)[0]
    cell = found.crystal.get_unit_cell().parameters()
    print("indexed cell:", " ".join(f"{v:.3f}" for v in cell))
    edges = sorted(cell[:3])
    check(all(abs(e / t - 1) < 0.002 for e, t in zip(edges, sorted([79.1, 79.1, 38.4]))) and
          all(abs(x - 90) < 0.2 for x in cell[3:]), "sweep: indexed cell within 0.2% of 79.1 79.1 38.4")
    err = orientation_error(el[0].crystal, found.crystal)
    check(err < 0.2, f"sweep: crystal orientation within 0.2 deg of ours (off by {err:.3f} deg)")
    check(len(found.detector) == 4, "sweep: indexed on 4 panels")

    # 3. the loop closes on a single panel
    flags = ["-cell", "79.1", "79.1", "38.4", "90", "90", "90", "-misset", "10", "20", "30", "-default_F", "100",
             "-N", "5", "-oversample", "2", "-seed", "1", "-nopgm"]
    run([NB, *flags, "-lambda", "1.1", "-detpixels", "300", "-pixel", "0.15", "-distance", "110", "-phi", "3",
         "-osc", "0.5", "-nexusfile", "first.h5", "-floatfile", "first.bin"], "first.log")
    run(["dials.import", "first.h5", "output.experiments=first.expt"], "first_import.log")
    run([NB, "-expt", "first.expt", *flags, "-polar", "0", "-floatfile", "again.bin"], "again.log")
    a = np.fromfile("first.bin", dtype=np.float32).astype(float)
    b = np.fromfile("again.bin", dtype=np.float32).astype(float)
    corr = np.corrcoef(a, b)[0, 1]
    ratio = b.sum() / a.sum()
    same = float(np.mean(a == b))
    print(f"loop: correlation {corr:.12f}, sum ratio - 1 = {ratio - 1:.2e}, {100 * same:.2f}% of pixels bit for bit")
    check(a.size == 300 * 300 and a.sum() > 0, "loop: the first image has photons")
    check(corr >= 0.999999 and abs(ratio - 1) <= 1e-6, "loop: -expt of the import reproduces the first image")
    # this geometry survives the round trip exactly (the origin, axes and pixel
    # size come back to the bit), so the image does too
    check(same == 1.0, "loop: every pixel bit for bit")

    # 4. a beam off the lab frame's axis
    el = four_modules(U)
    s0_dir = matrix.col((0.03, -0.02, 1.0)).normalize()
    el[0].beam.set_direction(s0_dir)
    el.as_file("tilted.expt")
    run([NB, "-expt", "tilted.expt", "-hkl", LYSO, "-N", "3", "-oversample", "1", "-seed", "1", "-nopgm", "-nonoise",
         "-roi", "0", "63", "0", "63", "-nexusfile", "tilted.h5", "-floatfile", "tilted_%03d.bin"], "tilted.log")
    run(["dials.import", "tilted.h5", "output.experiments=tilted_imported.expt"], "tilted_import.log")
    a = ExperimentListFactory.from_json_file("tilted.expt", check_format=False)[0]
    b = ExperimentListFactory.from_json_file("tilted_imported.expt", check_format=False)[0]
    s0a, s0b = matrix.col(a.beam.get_s0()), matrix.col(b.beam.get_s0())
    worst_px = max(max(abs(x - y) for x, y in zip(pa.get_beam_centre_px(s0a), pb.get_beam_centre_px(s0b)))
                   for pa, pb in zip(a.detector, b.detector))
    check(worst_px < 1e-6, f"tilted beam: every panel's beam centre within 1e-6 pixel (worst {worst_px:.2e})")
    ea, eb = matrix.col(a.goniometer.get_rotation_axis()), matrix.col(b.goniometer.get_rotation_axis())
    na, nb_ = matrix.col(a.detector[0].get_normal()), matrix.col(b.detector[0].get_normal())
    turns = [abs(ea.angle(s0a) - eb.angle(s0b)), abs(na.angle(s0a) - nb_.angle(s0b)), abs(ea.angle(na) - eb.angle(nb_)),
             abs(s0a.length() - s0b.length())]
    check(max(turns) < 1e-9, f"tilted beam: angles between beam, axis and panel kept (worst {max(turns):.2e})")

    # 5. per-panel miniCBF files numbered as the scan's images: dxtbx reads each
    # panel's files as one sweep of the same images and angles
    el = four_modules(U)
    el[0].scan = ScanFactory.make_scan(image_range=(11, 13), exposure_times=1.0, oscillation=(10.0, 1.0),
                                       epochs={i: float(i) for i in range(11, 14)}, deg=True)
    el.as_file("range.expt")
    run([NB, "-expt", "range.expt", "-hkl", LYSO, "-N", "3", "-oversample", "1", "-seed", "1", "-nopgm",
         "-roi", "0", "63", "0", "63", "-cbffile", "range_%04d.cbf"], "range.log")
    back = ExperimentListFactory.from_filenames(sorted(glob.glob("range_p02_*.cbf")))
    check(len(back) == 1 and back[0].scan.get_image_range() == (11, 13) and
          tuple(back[0].scan.get_oscillation()) == (10.0, 1.0),
          "range: one panel's miniCBF files come back as one sweep, images 11-13 from 10 deg "
          f"({[e.scan.get_image_range() for e in back if e.scan]})")

    # 6. a kappa goniometer comes back as its chain of axes, scanning phi (the
    # innermost: omega and kappa set the lab axis)
    el = four_modules(U)
    el[0].goniometer = GoniometerFactory.make_kappa_goniometer(alpha=50, omega=20, kappa=30, phi=40, direction="+y",
                                                               scan_axis="phi")
    el[0].scan = ScanFactory.make_scan(image_range=(1, 3), exposure_times=1.0, oscillation=(10.0, 1.0),
                                       epochs={i: float(i) for i in range(1, 4)}, deg=True)
    el.as_file("kappa.expt")
    run([NB, "-expt", "kappa.expt", "-hkl", LYSO, "-N", "3", "-oversample", "1", "-nopgm", "-nonoise",
         "-roi", "0", "63", "0", "63", "-nexusfile", "kappa.h5", "-floatfile", "kappa_%03d.bin"], "kappa.log")
    run(["dials.import", "kappa.h5", "output.experiments=kappa_imported.expt"], "kappa_import.log")
    a = el[0].goniometer
    b = ExperimentListFactory.from_json_file("kappa_imported.expt", check_format=False)[0].goniometer
    multi = hasattr(b, "get_names")
    check(multi and list(b.get_names()) == ["PHI", "KAPPA", "OMEGA"] and b.get_scan_axis() == 0 and
          list(b.get_angles())[1:] == [30.0, 20.0],
          f"kappa: the axes come back by name with their angles ({type(b).__name__})")
    worst = max(max(abs(x - y) for x, y in zip(getattr(a, f)(), getattr(b, f)()))
                for f in ("get_rotation_axis", "get_fixed_rotation", "get_setting_rotation"))
    check(worst < 1e-9, f"kappa: rotation axis, fixed and setting rotations within 1e-9 (worst {worst:.2e})")
    if multi:
        worst = max(max(abs(x - y) for x, y in zip(u, v)) for u, v in zip(a.get_axes(), b.get_axes()))
        check(worst < 1e-9, f"kappa: every axis within 1e-9 (worst {worst:.2e})")

    if failures:
        sys.exit("e2e_dials_expt: " + "; ".join(failures))
    print("e2e_dials_expt: all checks passed in", work)
    subprocess.run(["rm", "-rf", work])


main()
