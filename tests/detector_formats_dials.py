#!/usr/bin/python3
"""NeXus (-nexusfile) and miniCBF (-cbffile) read back by readers that are not ours.

DIALS' dxtbx imports 10-frame series (and a shot list) and its models must
match the engine's geometry: the engine's own numbers come from the SMV header
of the same frame (DIALS_ORIGIN is pix0, CLOSE_DISTANCE, XDS_ORGX/ORGY the
foot of the normal, DENZO_X/Y_BEAM the beam centre), plus values set on the
command line. Pixels read with h5py (HDF5) and pycbf (CBFlib) must equal the
SMV noise image of the same frame. Bad outputs must fail cleanly.

Usage: detector_formats_dials.py NANOBRAGG
"""
import glob
import math
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import warnings

import h5py
import numpy as np

warnings.filterwarnings("ignore")  # pint warns on the zero oscillation of a shot list
from dxtbx.model.experiment_list import ExperimentListFactory  # noqa: E402

NB = os.path.abspath(sys.argv[1])
TOL_MM = 0.001
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def near(a, b, tol=TOL_MM):
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def run(args, expect_ok=True, **kw):
    p = subprocess.run([NB] + args, capture_output=True, text=True, **kw)
    if expect_ok and p.returncode != 0:
        sys.exit(f"nanoBragg failed ({p.returncode}): {' '.join(args)}\n{p.stdout[-2000:]}\n{p.stderr}")
    return p


def smv(path):
    raw = open(path, "rb").read()
    head = raw[:512].decode("ascii", "ignore")
    h = dict(re.findall(r"(\w+)=([^;\n]*)", head))
    size1, size2 = int(h["SIZE1"]), int(h["SIZE2"])
    pix = np.frombuffer(raw[512:], dtype="<u2").reshape(size2, size1)
    return h, pix


def cbf_pixels(path):
    import pycbf  # CBFlib's own Python binding

    c = pycbf.cbf_handle_struct()
    c.read_file(path.encode(), pycbf.MSG_DIGEST)
    c.find_category(b"array_data")
    c.find_column(b"data")
    params = c.get_integerarrayparameters_wdims_fs()
    fast, slow = params[9], params[10]
    data = c.get_integerarray_as_string()
    return np.frombuffer(data, dtype="<i4").reshape(slow, fast)


COMMON = ("-cell 79.1 79.1 38.4 90 90 90 -default_F 100 -N 5 -lambda 1.0 -detpixels_f 96 -detpixels_s 64 "
          "-pixel 0.1 -distance 100 -seed 1 -nopgm -noprogress -floatfile f_%02d.bin -intfile i_%02d.img").split()
SERIES = "-phi 3 -osc 0.5 -nframes 10".split()


def models(files):
    el = ExperimentListFactory.from_filenames(files)
    return el, el[0]


def compare(tag, fmt, files, head, nimages, origin_xyz=None, beam_centre=True, rotation=True,
            expect_bc=None):
    el, ex = models(files)
    p, b = ex.detector[0], ex.beam
    n = len(el) if len(el) > 1 else len(ex.imageset)  # stills: one experiment per image
    check(n == nimages, f"{tag} {fmt}: {n} images (expect {nimages})")
    px = float(head["PIXEL_SIZE"])
    check(near(p.get_pixel_size(), (px, px), 1e-9), f"{tag} {fmt}: pixel {p.get_pixel_size()} mm (expect {px})")
    check(abs(b.get_wavelength() - float(head["WAVELENGTH"])) < 1e-6,
          f"{tag} {fmt}: wavelength {b.get_wavelength():.8f} A (expect {head['WAVELENGTH']})")
    close = float(head["CLOSE_DISTANCE"])
    check(abs(p.get_distance() - close) < TOL_MM, f"{tag} {fmt}: distance {p.get_distance():.5f} mm (expect {close})")
    o = tuple(float(v) for v in head["DIALS_ORIGIN"].split(","))
    if origin_xyz:
        check(near(p.get_origin(), o), f"{tag} {fmt}: origin {p.get_origin()} (expect {o})")
    else:  # another lab frame than DIALS_ORIGIN's: its length still holds
        lo, le = math.sqrt(sum(v * v for v in p.get_origin())), math.sqrt(sum(v * v for v in o))
        check(abs(lo - le) < TOL_MM, f"{tag} {fmt}: |origin| {lo:.5f} mm (expect {le:.5f})")
    foot = ((float(head["XDS_ORGX"]) - 0.5) * px, (float(head["XDS_ORGY"]) - 0.5) * px)
    check(near(p.get_normal_origin(), foot),
          f"{tag} {fmt}: foot of the normal {p.get_normal_origin()} mm (expect {foot})")
    if beam_centre:
        bc_head = (float(head["DENZO_Y_BEAM"]), float(head["DENZO_X_BEAM"]))  # Fbeam, Sbeam
        bc = p.get_beam_centre(b.get_s0())
        check(near(bc, bc_head), f"{tag} {fmt}: beam centre {bc} mm (expect {bc_head})")
        if expect_bc:
            check(near(bc, expect_bc), f"{tag} {fmt}: beam centre {bc} mm (command line: {expect_bc})")
    if rotation:
        osc = ex.scan.get_oscillation()
        want = (float(head["OSC_START"]), float(head["OSC_RANGE"]))
        check(near(osc, want, 1e-6), f"{tag} {fmt}: oscillation {osc} deg (expect {want})")
        check(near(ex.goniometer.get_rotation_axis(), (1, 0, 0), 1e-9),
              f"{tag} {fmt}: rotation axis {ex.goniometer.get_rotation_axis()}")
    return el


def series_case(tag, extra, origin_xyz=True, beam_centre=True, cbf=True, expect_bc=None, cbf_warning=False,
                pixels=False):
    log = run(COMMON + SERIES + extra + ["-nexusfile", f"{tag}.h5", "-cbffile", f"{tag}_%04d.cbf",
                                         "-noisefile", f"{tag}_%04d.img"])
    head, _ = smv(f"{tag}_0001.img")
    head10, _ = smv(f"{tag}_0010.img")
    check(abs(float(head10["OSC_START"]) - float(head["OSC_START"]) - 9 * float(head["OSC_RANGE"])) < 1e-6,
          f"{tag}: SMV frame 10 starts 9 widths after frame 1")
    el = compare(tag, "NeXus", [f"{tag}.h5"], head, 10, origin_xyz, beam_centre, expect_bc=expect_bc)
    ex = el[0]
    check(abs(ex.scan.get_angle_from_image_index(10) - float(head10["OSC_START"])) < 1e-6,
          f"{tag} NeXus: frame 10 starts at {ex.scan.get_angle_from_image_index(10)} deg")
    warned = "WARNING: -cbffile" in log.stdout + log.stderr
    check(warned == cbf_warning, f"{tag}: miniCBF geometry warning {'given' if warned else 'not given'}")
    if cbf:
        compare(tag, "CBF", sorted(glob.glob(f"{tag}_0*.cbf")), head, 10, origin_xyz, beam_centre,
                expect_bc=expect_bc)
    if pixels:
        with h5py.File(f"{tag}.h5", "r") as f:
            data = f["/entry/data/data"]
            check(data.shape == (10, 64, 96) and data.chunks == (1, 64, 96),
                  f"{tag}: NeXus data {data.shape}, chunks {data.chunks}")
            same = all(np.array_equal(data[i], smv(f"{tag}_{i + 1:04d}.img")[1]) for i in range(10))
            check(same, f"{tag}: h5py pixels of all 10 frames equal the SMV noise images")
            check(int(f["/entry/instrument/detector/saturation_value"][()]) == 65535, f"{tag}: saturation_value")
            # the default compression is Eiger's when the plugin is installed (scripts/setup.sh installs it)
            filt = data.id.get_create_plist().get_filter(0)[0]
            check(filt == 32008 and data.attrs["compression"] == b"bitshuffle+lz4",
                  f"{tag}: NeXus pixels compressed by filter {filt} ({data.attrs['compression']!r}), "
                  "expect 32008 bitshuffle+lz4")
            check(b"nanoBragg engine" in f["/entry/nanobragg/version"][()], f"{tag}: version recorded")
            # a row per source point (it had been one flat list of 3 x sources numbers)
            sources = f["/entry/nanobragg/sources"]
            n = sources["wavelength"].shape[0]
            check(sources["direction_mcstas"].shape == (n, 3) and np.allclose(
                np.linalg.norm(sources["direction_mcstas"][()], axis=1), 1),
                  f"{tag}: sources/direction_mcstas {sources['direction_mcstas'].shape}, expect ({n}, 3) unit rows")
        same = all(np.array_equal(cbf_pixels(f"{tag}_{i + 1:04d}.cbf"), smv(f"{tag}_{i + 1:04d}.img")[1])
                   for i in range(10))
        check(same, f"{tag}: CBFlib pixels of all 10 frames equal the SMV noise images")
        raw = np.array(ex.imageset.get_raw_data(4)[0]).reshape(64, 96)
        check(np.array_equal(raw, smv(f"{tag}_0005.img")[1]), f"{tag}: dxtbx frame 5 equals SMV")


def shots_case():
    with open("shots.txt", "w") as f:
        f.write("misset 10 20 30\nmisset 5 5 5 lambda=1.1\nrandom 7\n")
    run(COMMON + ["-shots", "shots.txt", "-nexusfile", "shots.h5", "-cbffile", "shot_%04d.cbf",
                  "-noisefile", "shot_%04d.img"])
    head, _ = smv("shot_0001.img")
    compare("shots", "NeXus", ["shots.h5"], head, 3, rotation=False)
    compare("shots", "CBF", sorted(glob.glob("shot_0*.cbf")), head, 3, rotation=False)
    with h5py.File("shots.h5", "r") as f:
        wl = list(f["/entry/instrument/beam/incident_wavelength"][()])
        check(near(wl, [1.0, 1.1, 1.0], 1e-9) and len(wl) == 3, f"shots: per-shot wavelengths {wl}")
        same = all(np.array_equal(f["/entry/data/data"][i], smv(f"shot_{i + 1:04d}.img")[1]) for i in range(3))
        check(same, "shots: h5py pixels of the 3 shots equal the SMV noise images")
    same = all(np.array_equal(cbf_pixels(f"shot_{i + 1:04d}.cbf"), smv(f"shot_{i + 1:04d}.img")[1])
               for i in range(3))
    check(same, "shots: CBFlib pixels equal the SMV noise images")


def eiger_case():
    """Master + data files (-nexus_frames_per_file): the Eiger layout, read from elsewhere."""
    run(COMMON + SERIES + ["-nexusfile", "eiger_master.h5", "-nexus_frames_per_file", "4",
                           "-noisefile", "eiger_%04d.img"])
    names = sorted(glob.glob("eiger_*.h5"))
    want = ["eiger_data_000001.h5", "eiger_data_000002.h5", "eiger_data_000003.h5", "eiger_master.h5"]
    check(names == want, f"eiger: files {names}")
    smvs = [smv(f"eiger_{i + 1:04d}.img")[1] for i in range(10)]
    os.makedirs("moved")
    for n in names:  # the set of files moves together: links are relative
        os.rename(n, os.path.join("moved", n))
    here = os.getcwd()
    os.chdir(tempfile.mkdtemp(prefix="nb_formats_elsewhere_"))
    master = os.path.join(here, "moved", "eiger_master.h5")
    with h5py.File(master, "r") as f:
        g = f["/entry/data"]
        links = sorted(k for k in g if k.startswith("data_"))
        check(links == ["data_000001", "data_000002", "data_000003"], f"eiger: master links {links}")
        check([g[k].shape[0] for k in links] == [4, 4, 2], f"eiger: frames per data file {[g[k].shape[0] for k in links]}")
        check([(int(g[k].attrs["image_nr_low"]), int(g[k].attrs["image_nr_high"])) for k in links] ==
              [(1, 4), (5, 8), (9, 10)], "eiger: image_nr_low/high of the data files")
        filt = g["data_000002"].id.get_create_plist().get_filter(0)[0]
        check(filt == 32008, f"eiger: data file compression filter {filt} (expect 32008)")
        same = all(np.array_equal(g["data"][i], smvs[i]) for i in range(10))
        check(g["data"].shape == (10, 64, 96) and same, "eiger: the master's data (virtual) equals the 10 SMV frames")
        same = all(np.array_equal(g[f"data_{i // 4 + 1:06d}"][i % 4], smvs[i]) for i in range(10))
        check(same, "eiger: the data_00000N links give the same 10 frames")
    el, ex = models([master])
    check(len(ex.imageset) == 10, f"eiger: DIALS imports {len(ex.imageset)} images from the master")
    same = all(np.array_equal(np.array(ex.imageset.get_raw_data(i)[0]).reshape(64, 96), smvs[i]) for i in (0, 5, 9))
    check(same, "eiger: DIALS reads frames 1, 6 and 10 of the master + data files as the SMV images")
    os.chdir(here)


def parallel_compression_case():
    """A frame over 4 MB is stored in bands of rows whose bitshuffle+LZ4 chunks are compressed at once, by the
    plugin's own filter: the same bytes as HDF5's one-chunk-at-a-time pipeline (NB_NEXUS_SERIAL_FILTER=1)."""
    args = ("-cell 79.1 79.1 38.4 90 90 90 -default_F 100 -N 5 -lambda 1.0 -detpixels_f 1024 -detpixels_s 1100 "
            "-pixel 0.1 -distance 100 -seed 1 -nframes 2 -osc 0.5 -nexus_float -nopgm -noprogress "
            "-floatfile band_%02d.bin -intfile band_%02d.img -noisefile band_noise_%02d.img").split()
    serial = run(args + ["-nexusfile", "band_serial.h5"], env=dict(os.environ, NB_NEXUS_SERIAL_FILTER="1"))
    par = run(args + ["-nexusfile", "band_parallel.h5"])
    check("a frame's chunks at once" in par.stdout and "a frame's chunks at once" not in serial.stdout,
          "bands: the default run compresses a frame's chunks at once, NB_NEXUS_SERIAL_FILTER=1 does not")
    with h5py.File("band_serial.h5", "r") as a, h5py.File("band_parallel.h5", "r") as b:
        for path in ("/entry/data/data", "/entry/nanobragg/float_image"):
            da, db = a[path], b[path]
            # 1100 rows of 4 KB: 3 bands of 367 rows, the last one short (padded as HDF5 pads it)
            check(db.shape == (2, 1100, 1024) and db.chunks == (1, 367, 1024) and da.chunks == db.chunks,
                  f"bands {path}: {db.shape}, chunks {db.chunks}")
            keys = [(f, r, 0) for f in range(2) for r in (0, 367, 734)]
            same = all(da.id.read_direct_chunk(k) == db.id.read_direct_chunk(k) for k in keys)
            check(same, f"bands {path}: the 6 stored chunks are byte-identical to HDF5's own filtering")
        noise = np.fromfile("band_noise_02.img", dtype="<u2", offset=512).reshape(1100, 1024)
        check(np.array_equal(b["/entry/data/data"][1], noise), "bands: frame 2's pixels equal its SMV noise image")
        floats = np.fromfile("band_02.bin", dtype="<f4").reshape(1100, 1024)
        check(np.array_equal(b["/entry/nanobragg/float_image"][1], floats), "bands: frame 2's floats equal -floatfile")
    _, ex = models(["band_parallel.h5"])
    raw = np.array(ex.imageset.get_raw_data(1)[0]).reshape(1100, 1024)
    check(np.array_equal(raw, noise), "bands: dxtbx reads frame 2 as its SMV noise image")


def compression_choices():
    """Deflate when the bitshuffle plugin is missing; an explicit choice that cannot be met is refused."""
    env = dict(os.environ, HDF5_PLUGIN_PATH="/nonexistent_plugins")
    small = COMMON + ["-noisefile", "c_noise.img", "-floatfile", "c.bin", "-intfile", "c.img"]
    p = run(small + ["-nexusfile", "noplugin.h5"], env=env)
    check("deflate compression" in p.stdout, "no plugin: the run says deflate compression")
    with h5py.File("noplugin.h5", "r") as f:
        d = f["/entry/data/data"]
        check(d.id.get_create_plist().get_filter(1)[0] == 1 and d.attrs["compression"] == b"deflate",
              "no plugin: the file is deflate-compressed")
        check(np.array_equal(d[0], smv("c_noise.img")[1]), "no plugin: h5py pixels equal the SMV noise image")
    p = run(small + ["-nexusfile", "refused.h5", "-nexus_compression", "bitshuffle", "-floatfile", "r.bin"],
            expect_ok=False, env=env)
    first = (p.stderr.strip().splitlines() or [""])[0]
    check(p.returncode == 2 and "-nexus_compression bitshuffle" in first and "not installed" in first
          and not leftovers("refused") and not leftovers("r.bin"),
          f"bitshuffle asked for without its plugin: rc {p.returncode}, {first!r}, nothing written")
    p = run(small + ["-nexus_frames_per_file", "3"], expect_ok=False)
    first = (p.stderr.strip().splitlines() or [""])[0]
    check(p.returncode == 2 and "-nexus_frames_per_file" in first, f"-nexus_frames_per_file alone: {first!r}")
    p = run(small + ["-nexusfile", "z.h5", "-nexus_compression", "zip"], expect_ok=False)
    first = (p.stderr.strip().splitlines() or [""])[0]
    check(p.returncode == 2 and "-nexus_compression" in first and "zip" in first, f"-nexus_compression zip: {first!r}")


def leftovers(stem):
    return glob.glob(stem + "*")


def bad_inputs():
    small = COMMON + "-nframes 3 -osc 1 -floatfile bad_%02d.bin".split()
    p = run(small + ["-nexusfile", "/nonexistent_dir/x.h5"], expect_ok=False)
    check(p.returncode != 0 and "-nexusfile" in p.stderr and "/nonexistent_dir/x.h5" in p.stderr,
          f"unwritable -nexusfile: rc {p.returncode}, {p.stderr.strip().splitlines()[0]!r}")
    check(not glob.glob("bad_*"), "unwritable -nexusfile: stops before rendering")
    # the NeXus writer is a module loaded on demand: without it, one line and nothing written
    p = run(small + ["-nexusfile", "nomodule.h5"], expect_ok=False,
            env=dict(os.environ, NB_NEXUS_MODULE="/nonexistent/libnb_nexus.so"))
    first = (p.stderr.strip().splitlines() or [""])[0]
    check(p.returncode == 2 and "-nexusfile: cannot load the NeXus writer module" in first
          and not leftovers("nomodule") and not glob.glob("bad_*"),
          f"NeXus module missing: rc {p.returncode}, {first!r}, nothing written")
    p = run(small + ["-cbffile", "/nonexistent_dir/x_%04d.cbf"], expect_ok=False)
    check(p.returncode != 0 and "-cbffile" in p.stderr, f"unwritable -cbffile: rc {p.returncode}, "
          f"{p.stderr.strip().splitlines()[0]!r}")
    p = run(small + ["-cbffile", "plain.cbf"], expect_ok=False)
    check(p.returncode != 0 and "no frame number" in p.stderr and not leftovers("plain"),
          f"-cbffile without a frame number, 3 frames: rc {p.returncode}, {p.stderr.strip().splitlines()[0]!r}")

    # The disk fills mid-series: a file size limit (SIGXFSZ ignored, so the
    # write fails with EFBIG as on a full disk) lets frame 1 in but not frame 10.
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    args = COMMON + ["-nframes", "10", "-osc", "1", "-nexusfile", "full.h5", "-nexus_float", "-nonoise"]
    p = run(args, expect_ok=False, preexec_fn=limit)
    frames = len(re.findall(r"frame \d+ of 10", p.stdout))
    check(p.returncode != 0 and "-nexusfile" in p.stderr and 1 < frames < 10,
          f"disk full mid-series: rc {p.returncode} after {frames} frames, {p.stderr.strip()!r}")
    check(not leftovers("full.h5"), f"disk full: nothing left under full.h5* ({leftovers('full.h5')})")
    # A run killed mid-series leaves nothing under the final name.
    proc = subprocess.Popen([NB] + COMMON + ["-nframes", "10", "-osc", "1", "-nexusfile", "killed.h5", "-nonoise",
                                             "-detpixels", "512"], stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("wrote"):  # frame 1 is on disk, the NeXus file is open
            break
    proc.kill()
    proc.wait()
    check(not os.path.exists("killed.h5") and glob.glob("killed.h5.partial.*"),
          f"killed mid-series: no killed.h5, only its temporary ({leftovers('killed.h5')})")
    # the same series without the limit is written whole
    run(args)
    with h5py.File("full.h5", "r") as f:
        check(f["/entry/data/data"].shape[0] == 10 and f["/entry/nanobragg/float_image"].shape[0] == 10,
              "without the limit the same series has 10 frames and 10 float images")


def main():
    os.chdir(tempfile.mkdtemp(prefix="nb_formats_"))
    # default (MOSFLM) convention; beam centre from -Xbeam/-Ybeam: Fbeam = Ybeam + pixel/2, Sbeam = Xbeam + pixel/2
    series_case("mosflm", ["-Xbeam", "3.0", "-Ybeam", "4.5"], expect_bc=(4.55, 3.05), pixels=True)
    series_case("rotx", ["-detector_rotx", "5", "-detector_roty", "3"], cbf=False, cbf_warning=True)
    # with -twotheta C's Fbeam/Sbeam are not where the beam lands; origin and the normal pin the plane
    series_case("twotheta", ["-twotheta", "10", "-detector_rotx", "5"], beam_centre=False, cbf=False,
                cbf_warning=True)
    series_case("xds", ["-xds"], origin_xyz=False)
    # DIALS convention: the spindle is the slow axis, which a miniCBF cannot say (its
    # distance, beam centre and scan still hold; readers put the axis along fast)
    series_case("dials", ["-dials"], origin_xyz=False, cbf_warning=True)
    shots_case()
    parallel_compression_case()
    eiger_case()
    compression_choices()
    bad_inputs()
    if failures:
        sys.exit(f"{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
    print("all format checks passed")


main()
