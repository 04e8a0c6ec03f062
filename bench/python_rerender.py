#!/usr/bin/env python3
"""Repeated renders: nanobragg.Simulator (set up once, set_phi, render) against command-line runs.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_rerender.py [N] [nanoBragg path] [extra flags...]

Renders N (default 100) 1024x1024 lysozyme stills at phi = 0, 0.01, ... deg three ways: one
Simulator in this process, N nanobragg.simulate calls (set-up each time, no process start), N
nanoBragg processes (writing -floatfile only; the CLI also writes its default intimage.img). Checks
that the Simulator's images equal the command line's, byte for byte, for the first and last phi.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import nanobragg

here = os.path.dirname(os.path.abspath(__file__))
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
CLI = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "build", "bin", "nanoBragg")
HKL = os.path.join(here, "..", "tests", "golden", "inputs", "lyso.hkl")
ARGS = ["-cell", "79.1", "79.1", "38.4", "90", "90", "90", "-hkl", HKL, "-misset", "10", "20", "30", "-lambda", "1",
        "-N", "10", "-detpixels", "1024", "-pixel", "0.1", "-distance", "120", "-oversample", "1"] + sys.argv[3:]
phis = [i * 0.01 for i in range(N)]


def summary(name, times, total):
    return "| %s | %.3f | %.3f | %.3f | %.1f |" % (name, total, statistics.median(times), min(times), N / total)


work = tempfile.mkdtemp(prefix="nb_rerender_")
os.chdir(work)

t0 = time.perf_counter()
sim = nanobragg.Simulator(ARGS)
setup = time.perf_counter() - t0

# interleaved, image by image, so that load from other programs on the machine
# falls on all three ways alike
sim_times, simulate_times, cli_times = [], [], []
first = last = None
for i, phi in enumerate(phis):
    t = time.perf_counter()
    sim.set_phi(phi)
    image = sim.render().image
    sim_times.append(time.perf_counter() - t)
    if first is None:
        first = image
    last = image

    t = time.perf_counter()
    nanobragg.simulate(ARGS + ["-phi", repr(phi)])
    simulate_times.append(time.perf_counter() - t)

    t = time.perf_counter()
    subprocess.run([CLI] + ARGS + ["-phi", repr(phi), "-floatfile", "f%d.bin" % i, "-nonoise", "-nopgm",
                                   "-noprogress"], check=True, stdout=subprocess.DEVNULL)
    cli_times.append(time.perf_counter() - t)
sim_total, simulate_total, cli_total = sum(sim_times), sum(simulate_times), sum(cli_times)

same_first = open("f0.bin", "rb").read() == first.tobytes()
same_last = open("f%d.bin" % (N - 1), "rb").read() == last.tobytes()
for name in os.listdir(work):
    os.remove(os.path.join(work, name))
os.rmdir(work)

print("flags: %s" % " ".join(a if a != HKL else "lyso.hkl" for a in ARGS))
print("backend: %s; %d renders of 1024x1024; Simulator set-up %.3f s" % (sim.render().backend, N, setup))
print("| way | total s | median s/image | min s/image | images/s |")
print("|---|---|---|---|---|")
print(summary("Simulator: set_phi + render", sim_times, sim_total))
print(summary("nanobragg.simulate per image", simulate_times, simulate_total))
print(summary("nanoBragg process per image", cli_times, cli_total))
print("Simulator over processes: %.2fx faster in total; over simulate: %.2fx" %
      (cli_total / sim_total, simulate_total / sim_total))
print("median set-up saved per image: %.3f s (simulate - Simulator), %.3f s (process - Simulator)" %
      (statistics.median(simulate_times) - statistics.median(sim_times),
       statistics.median(cli_times) - statistics.median(sim_times)))
print("Simulator images equal the command line's -floatfile (first, last phi): %s, %s" % (same_first, same_last))
