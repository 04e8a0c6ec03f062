#!/usr/bin/env python3
"""Merges nb-bench JSON files (one per thread count, each run with --reference)
into one CPU report: ours and the reference at every thread count, double and
float, evaluations per second per core, and a napkin fraction of the core's
floating-point peak.

usage: cpu_report.py --ghz 2.45 --lanes64 4 --fma-units 2 --out reports/bench-cpu-DATE a.json b.json ...

Napkin model: peak FLOP/s per core = GHz x lanes x FMA units x 2 (float: twice
the lanes). FLOPs per evaluation are estimated by hand from the kernel
(FLOPS_PER_EVAL below; a division, rounding or square root counts as one).
"""
import argparse
import json

# Square-lattice F_latt (3 x sincg_frac: two 12-term polynomials, a division and
# roundings each) + Miller indices + the running sum: ~215. Per sub-pixel
# overhead (position, unit vector, solid angle, polarization against the
# source's precomputed frame, scattering vector): ~100, spread over the
# evaluations of that sub-pixel. Tricubic F: 21 four-point Lagrange polynomials
# (~35 each) + index arithmetic: ~770. (Counted for double; float's sincg
# polynomials have 7 terms instead of 12.)
FLOPS_PER_EVAL = {
    "cubic_4096": 215 + 100,
    "lyso_tricubic_4096": 215 + 770 + 100,
    "still_2048": 215 + 5 + 100,
    "divergence_dispersion": 215 + 10,
    "mosaic_50_oversample": 215 + 100 / 50,
    "integration": 215 + 140 / 45,
    "lyso_2048_realistic": 215 + 5 + 100 / 30,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ghz", type=float, required=True)
    ap.add_argument("--lanes64", type=int, required=True, help="doubles per vector register")
    ap.add_argument("--fma-units", type=int, default=2)
    ap.add_argument("--machine", default="")
    ap.add_argument("--note", default="")
    ap.add_argument("--out", required=True)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    peak = {"double": a.ghz * 1e9 * a.lanes64 * a.fma_units * 2}
    peak["float"] = 2 * peak["double"]
    # a later file's run replaces an earlier one of the same workload, program,
    # precision and thread count (re-measuring ours after a change, say)
    by_key = {}
    for f in a.files:
        js = json.load(open(f))
        for r in js["results"]:
            by_key[(r["workload"], r["program"], r["precision"], r["threads"])] = r
    rows = list(by_key.values())
    order = list(FLOPS_PER_EVAL)
    rows.sort(key=lambda r: (order.index(r["workload"]) if r["workload"] in order else 99, r["threads"],
                             r["program"] != "ours", r["precision"]))
    # C's time per (workload, threads)
    ref = {(r["workload"], r["threads"]): r["seconds_median"] for r in rows if r["program"] == "reference"}
    refc = {(r["workload"], r["threads"]): r["cpu_seconds_median"] for r in rows if r["program"] == "reference"}
    dbl = {(r["workload"], r["threads"]): r["seconds_median"]
           for r in rows if r["program"] == "ours" and r["precision"] == "double"}
    dblc = {(r["workload"], r["threads"]): r["cpu_seconds_median"]
            for r in rows if r["program"] == "ours" and r["precision"] == "double"}
    out = []
    summary = []
    lines = ["| workload | threads | program | precision | wall s | CPU s | evaluations | evals/s/core (wall) "
             "| evals per CPU-s | napkin % of peak (CPU) | C / this (wall) | C / this (CPU) | double / float (CPU) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        w, t, s = r["workload"], r["threads"], r["seconds_median"]
        prog = "C nanoBragg" if r["program"] == "reference" else "ours"
        prec = r["precision"]
        cs = r["cpu_seconds_median"]
        per_core = r["evaluations"] / s / t if s > 0 else 0
        per_cpu_s = r["evaluations"] / cs if cs > 0 else 0
        fl = FLOPS_PER_EVAL.get(w, 0)
        frac = 100 * per_cpu_s * fl / peak[prec] if fl else 0
        c, cc = ref.get((w, t)), refc.get((w, t))
        ratio = f"{c / s:.1f}x" if c and prog == "ours" else ""
        ratio_cpu = f"{cc / cs:.1f}x" if cc and prog == "ours" else ""
        dvf = f"{dblc[(w, t)] / cs:.2f}x" if prog == "ours" and prec == "float" and (w, t) in dblc else ""
        lines.append(f"| {w} | {t} | {prog} | {prec} | {s:.3f} | {cs:.3f} | {r['evaluations']:.3g} | {per_core:.3g} | "
                     f"{per_cpu_s:.3g} | {frac:.1f} | {ratio} | {ratio_cpu} | {dvf} |")
        out.append(dict(r, evaluations_per_second_per_core=per_core, evaluations_per_cpu_second=per_cpu_s,
                        napkin_flops_per_evaluation=fl, napkin_fraction_of_peak=frac / 100,
                        c_over_this_wall=(c / s if c and prog == "ours" else None),
                        c_over_this_cpu=(cc / cs if cc and prog == "ours" else None)))
    for w in order:
        for t in sorted({r["threads"] for r in rows}):
            c, cc = ref.get((w, t)), refc.get((w, t))
            d, dc = dbl.get((w, t)), dblc.get((w, t))
            fl = [(r["seconds_median"], r["cpu_seconds_median"]) for r in rows
                  if r["workload"] == w and r["threads"] == t and r["program"] == "ours" and r["precision"] == "float"]
            if c and d and fl:
                f, fc = fl[0]
                summary.append(f"| {w} | {t} | {c:.2f} / {cc:.2f} | {d:.3f} / {dc:.3f} | {c / d:.1f}x / {cc / dc:.1f}x "
                               f"| {f:.3f} / {fc:.3f} | {d / f:.2f}x / {dc / fc:.2f}x |")
    md = ["# CPU benchmark: SIMD across pixels (issue 11)", ""]
    if a.machine:
        md.append(f"- Machine: {a.machine}")
    md.append(f"- Napkin peak per core: {a.ghz} GHz x {a.lanes64} doubles x {a.fma_units} FMA units x 2 = "
              f"{peak['double'] / 1e9:.1f} GFLOP/s double, {peak['float'] / 1e9:.1f} GFLOP/s float")
    if a.note:
        md.append(f"- {a.note}")
    md += ["", "## Summary (each cell: wall clock / CPU time of the process)", "",
           "C / ours: how many times faster we are in double; double / float: float's speed-up over double.", "",
           "| workload | threads | C (s) | ours double (s) | C / ours | ours float (s) | double / float |",
           "|---|---|---|---|---|---|---|"] + summary
    md += ["", "## Every run", ""] + lines
    md += ["", "FLOPs per evaluation (napkin, from the kernel): " +
           ", ".join(f"{k} {v:.0f}" for k, v in FLOPS_PER_EVAL.items()) + "."]
    open(a.out + ".md", "w").write("\n".join(md) + "\n")
    json.dump({"peak_flops_per_core": peak, "results": out}, open(a.out + ".json", "w"), indent=2)
    print("\n".join(md))


if __name__ == "__main__":
    main()
