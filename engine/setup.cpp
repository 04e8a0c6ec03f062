#include "engine/setup.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <utility>

#include "engine/amorphous.hpp"
#include "engine/crystal.hpp"
#include "engine/detector_geometry.hpp"
#include "engine/expt_setup.hpp"
#include "engine/hkl_io.hpp"
#include "engine/memory_budget.hpp"
#include "engine/sampling_rules.hpp"
#include "engine/smv_io.hpp"
#include "engine/sources.hpp"
#include "engine/stage_timer.hpp"
#include "engine/text_table.hpp"
#include "engine/units.hpp"

namespace nb {

namespace {

bool file_exists(const std::string& path) {
    std::ifstream f(path);
    return f.good();
}

void resolve_fluence(Experiment& e, SimConfig& cfg) {
    double fluence = cfg.fluence, flux = cfg.flux, exposure = cfg.exposure, beamsize = cfg.beamsize;
    if (flux != 0.0 && exposure > 0.0 && beamsize >= 0) fluence = flux * exposure / beamsize / beamsize;
    if (beamsize >= 0) {
        // C's %lg: "2e-07 m", which std::to_string printed as 0.000000
        auto clipping = [&](double size, const char* side) {
            char line[128];
            std::snprintf(line, sizeof line, "WARNING: clipping sample (%g m %s) with beam (%g m)", size, side,
                          beamsize);
            e.notes.push_back(line);
        };
        if (beamsize < cfg.sample_y) {
            clipping(cfg.sample_y, "high");
            cfg.sample_y = beamsize;
        }
        if (beamsize < cfg.sample_z) {
            clipping(cfg.sample_z, "wide");
            cfg.sample_z = beamsize;
        }
    }
    if (exposure > 0.0) flux = fluence / exposure * beamsize * beamsize;
    e.fluence = fluence;
    e.flux = flux;
    e.exposure = exposure;
    e.beamsize = beamsize;
}

void resolve_sampling(Experiment& e, const SimConfig& cfg) {
    Sampling& s = e.samp;
    StepTriple phi = resolve_phi_steps(cfg.phisteps, cfg.osc, cfg.phistep);
    s.phisteps = phi.steps;
    s.osc = phi.range;
    s.phistep = phi.step;
    s.phi0 = cfg.phi0;
    StepTriple h = resolve_spread_steps(cfg.hdivsteps, cfg.hdivrange, cfg.hdivstep, "-hdivrange/-hdivstep");
    StepTriple v = resolve_spread_steps(cfg.vdivsteps, cfg.vdivrange, cfg.vdivstep, "-vdivrange/-vdivstep");
    StepTriple d = resolve_spread_steps(cfg.dispsteps, cfg.dispersion, cfg.dispstep, "-dispersion/-dispstep");
    s.hdivsteps = h.steps;
    s.hdivrange = h.range;
    s.hdivstep = h.step;
    s.vdivsteps = v.steps;
    s.vdivrange = v.range;
    s.vdivstep = v.step;
    s.dispsteps = d.steps;
    s.dispersion = d.range;
    s.dispstep = d.step;
    StepTriple t = resolve_thickness_steps(cfg.detector_thicksteps, cfg.detector_thick, cfg.detector_thickstep);
    s.thicksteps = t.steps;
    s.thick = t.range;
    s.thickstep = t.step;
    s.mu = cfg.detector_mu;
    if (t.range > 0.0 && s.mu < 0.0) {
        s.mu = 1.0 / t.range;
        char line[96];  // C's %g (and its unit, though mu is in 1/m)
        std::snprintf(line, sizeof line, "WARNING: setting detector attenuation depth to %g m", s.mu);
        e.notes.push_back(line);
    }
    MosaicChoice m = resolve_mosaic(cfg.mosaic_domains, cfg.mosaic_spread, e.notes);
    s.mosaic_domains = m.domains;
    s.mosaic_spread = m.spread;

    // The source list (direction, wavelength, weights) and the cell table (a
    // real-space cell per phi step and domain) are held in memory whole.
    const double budget = (double)memory_budget_bytes();
    const double sources = (double)h.steps * v.steps * d.steps;
    if (cfg.source_file.empty() && sources * 80 > budget)
        throw std::runtime_error("-hdivsteps/-vdivsteps/-dispsteps: " + std::to_string(h.steps) + " x " +
                                 std::to_string(v.steps) + " x " + std::to_string(d.steps) +
                                 " sources need more memory than this machine allows");
    if ((double)s.phisteps * s.mosaic_domains * 9 * sizeof(double) > budget)
        throw std::runtime_error("-phisteps/-mosaic_domains: " + std::to_string(s.phisteps) + " phi steps x " +
                                 std::to_string(s.mosaic_domains) +
                                 " mosaic domains need more memory than this machine allows");
}

void resolve_oversample(Experiment& e, const SimConfig& cfg) {
    const Crystal& x = e.xtal;
    double xa = magnitude(x.a) * x.Na, xb = magnitude(x.b) * x.Nb, xc = magnitude(x.c) * x.Nc;
    double xmax = xa;
    if (xmax < xb) xmax = xb;
    if (xmax < xc) xmax = xc;
    double reciprocal_pixel = cfg.lambda0 * e.det.distance / cfg.pixel_size;
    const double rec_wanted = std::ceil(3.0 * xmax / reciprocal_pixel);
    // Sub-pixel coordinates are ints (pixel * oversample + sub-pixel), as in C,
    // so the finest grid the detector allows is INT_MAX / its longest edge.
    const int det_edge = std::max(std::max(e.det.fpixels, e.det.spixels), 1);
    const int finest = INT_MAX / det_edge;
    // C stores the count in an int: on x86-64 a double past INT_MAX (or NaN)
    // converts to INT_MIN, which its "<= 0" test turns into 1. A detector edge-on
    // to the beam (distance ~0) gets there, and C renders it at 1-fold.
    const bool fits_int = rec_wanted < 2147483648.0;  // false for NaN
    int rec = rec_wanted >= 1 && fits_int ? (int)std::min(rec_wanted, (double)finest) : 1;
    e.samp.recommended_oversample = rec;
    e.samp.oversample = cfg.oversample;
    if (e.samp.oversample <= 0 && !fits_int && !std::isnan(rec_wanted)) {
        char buf[240];
        std::snprintf(buf, sizeof buf,
                      "WARNING: the crystal (%g um across) would need %.3g sub-pixels per pixel edge, past C's integer "
                      "range: C then takes 1, and so does this run; give -oversample to choose",
                      xmax * 1e6, rec_wanted);
        e.oversample_notes.push_back(buf);
    }
    if (e.samp.oversample <= 0 && fits_int && rec_wanted > finest) {
        char buf[240];
        std::snprintf(buf, sizeof buf,
                      "-oversample: the crystal (%g um across) needs more than %d sub-pixels per pixel edge on this "
                      "%d-pixel detector, which cannot be rendered; give -oversample",
                      xmax * 1e6, finest, det_edge);
        throw std::runtime_error(buf);
    }
    if (e.samp.oversample > finest)
        throw std::runtime_error("-oversample: " + std::to_string(e.samp.oversample) + " sub-pixels per edge on a " +
                                 std::to_string(det_edge) + "-pixel detector exceed the sub-pixel grid (at most " +
                                 std::to_string(finest) + ")");
    if (e.samp.oversample <= 0) {
        e.samp.oversample = rec;
        e.oversample_notes.push_back("auto-selected " + std::to_string(rec) + "-fold oversampling");
    }
    if (e.samp.oversample < rec) {
        char buf[320];  // C's four lines
        std::snprintf(buf, sizeof buf,
                      "WARNING: maximum dimension of sample is %g A\n         but reciprocal pixel size is %g A\n"
                      "         intensity may vary significantly across a pixel!\n"
                      "         recommend -oversample %d to work around this",
                      xmax * 1e10, reciprocal_pixel * 1e10, rec);
        e.oversample_notes.push_back(buf);
    }
}

void load_structure_factors(Experiment& e, const SimConfig& cfg) {
    if (!cfg.hkl_file.empty()) {
        {
            StageTimer t("set-up: -hkl file");
            e.hkl = read_hkl_text(cfg.hkl_file, cfg.default_F, e.notes);
        }
        try {
            StageTimer t("set-up: Fdump.bin");
            if (cfg.write_fdump) write_fdump(cfg.fdump_file, e.hkl);
        } catch (const std::exception& ex) {
            e.notes.push_back(std::string("WARNING: ") + ex.what());
        }
    } else if (file_exists(cfg.fdump_file)) {
        e.hkl = read_fdump(cfg.fdump_file);
        e.notes.push_back("reading Fs from " + cfg.fdump_file);
    } else if (cfg.default_F == 0.0) {
        throw std::runtime_error("-hkl: no structure factors: give -hkl FILE or -default_F F (no " + cfg.fdump_file +
                                 " cache to read)");
    }
}

}  // namespace

namespace {
using GeometryReady = std::function<void(const Experiment&)>;
Experiment prepare(const SimConfig& cfg_in, const HklGrid* preloaded, HklGrid* movable, const GeometryReady* ready);
}  // namespace

Experiment prepare_experiment(const SimConfig& cfg) { return prepare(cfg, nullptr, nullptr, nullptr); }

Experiment prepare_experiment(const SimConfig& cfg, const HklGrid& preloaded) {
    return prepare(cfg, &preloaded, nullptr, nullptr);
}

Experiment prepare_experiment(const SimConfig& cfg, HklGrid&& preloaded) {
    return prepare(cfg, &preloaded, &preloaded, nullptr);
}

Experiment prepare_experiment(const SimConfig& cfg, const GeometryReady& geometry_ready) {
    return prepare(cfg, nullptr, nullptr, &geometry_ready);
}

namespace {

Experiment prepare(const SimConfig& cfg_in, const HklGrid* preloaded, HklGrid* movable, const GeometryReady* ready) {
    Experiment e;
    e.cfg = cfg_in;
    SimConfig cfg = cfg_in;

    if (!preloaded && cfg.hkl_file.empty() && cfg.default_F == 0.0 && !file_exists(cfg.fdump_file)) {
        throw MissingInput("-hkl: no structure factors: give -hkl FILE or -default_F F");
    }
    if (cfg.mat_file.empty() && !cfg.mat_values && !(cfg.user_cell && cfg.cell_a != 0.0)) {
        throw MissingInput(std::string("-cell: no unit cell: give -cell a b c alpha beta gamma or -mat FILE") +
                           (cfg.expt ? " (the experiment list -expt " + cfg.expt_file + " has no crystal)" : ""));
    }

    resolve_fluence(e, cfg);
    e.det = resolve_detector(cfg, e.notes);
    {
        const double bytes = (double)e.det.fpixels * e.det.spixels * sizeof(float);
        if (e.det.fpixels <= 0 || e.det.spixels <= 0)
            throw std::runtime_error("-detpixels: the detector has no pixels (" + std::to_string(e.det.fpixels) + "x" +
                                     std::to_string(e.det.spixels) + ")");
        if (bytes > (double)memory_budget_bytes())
            throw std::runtime_error("-detpixels: a " + std::to_string(e.det.fpixels) + "x" +
                                     std::to_string(e.det.spixels) + " image needs " +
                                     std::to_string((long long)(bytes / 1048576)) +
                                     " MB, more than this machine's memory allows");
    }
    if (!cfg.mask_file.empty()) {
        SmvImage m = read_smv(cfg.mask_file, "-mask");
        if (m.width != e.det.fpixels || m.height != e.det.spixels) {
            throw std::runtime_error("-mask: '" + cfg.mask_file + "' is " + std::to_string(m.width) + "x" +
                                     std::to_string(m.height) + " pixels but the detector is " +
                                     std::to_string(e.det.fpixels) + "x" + std::to_string(e.det.spixels));
        }
        e.mask = std::move(m.data);
    }
    if (cfg.expt) apply_expt_detector(*cfg.expt, e);
    Sampling& s = e.samp;
    s.roi_xmin = cfg.roi_xmin < 0 ? 0 : cfg.roi_xmin;
    s.roi_xmax = cfg.roi_xmax < 0 ? e.det.fpixels : cfg.roi_xmax;
    s.roi_ymin = cfg.roi_ymin < 0 ? 0 : cfg.roi_ymin;
    s.roi_ymax = cfg.roi_ymax < 0 ? e.det.spixels : cfg.roi_ymax;
    resolve_sampling(e, cfg);

    // C decides on interpolation from -N before the crystal size is known.
    int interpolate = cfg.interpolate;
    if (interpolate > 1) {
        interpolate = (cfg.Na <= 2 || cfg.Nb <= 2 || cfg.Nc <= 2) ? 1 : 0;
        e.notes.push_back(interpolate ? "auto-selected tricubic interpolation of structure factors"
                                      : "auto-selected no interpolation");
    }

    int64_t misset_seed = cfg.misset_seed ? *cfg.misset_seed : -(int64_t)std::time(nullptr);
    e.xtal = build_crystal(cfg, e.ran, misset_seed, e.notes);
    resolve_oversample(e, cfg);

    // the structure factors are read last (after the geometry a GPU's start
    // waits on); their notes keep C's place, here
    const size_t hkl_notes_at = e.notes.size();

    if (!cfg.stol_file.empty()) read_text_table(cfg.stol_file, 2, "-stol");

    if (!cfg.source_file.empty() &&
        (cfg.hdivrange >= 0 || cfg.vdivrange >= 0 || cfg.hdivstep > 0 || cfg.vdivstep > 0 || cfg.hdivsteps > 0 ||
         cfg.vdivsteps > 0 || cfg.dispersion != 0 || cfg.dispsteps > 0)) {
        e.notes.push_back(
            "WARNING: -sourcefile given: the divergence and dispersion flags are ignored (as in C "
            "nanoBragg); the file's sources are used as they are");
    }
    e.src = build_sources(cfg, e.det, s);

    int64_t mosaic_seed = cfg.mosaic_seed;
    e.xtal.mosaic_umats.resize(s.mosaic_domains);
    for (int m = 0; m < s.mosaic_domains; ++m) {
        e.xtal.mosaic_umats[m] = mosaic_rotation_umat((float)s.mosaic_spread, e.ran, mosaic_seed);
        // C forces the first domain to the unrotated crystal (after drawing it).
        if (m == 0) e.xtal.mosaic_umats[0] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    }

    for (const AmorphousLayer& l : cfg.amorphous) e.amorphous.push_back(resolve_amorphous_layer(l, e.beamsize));

    e.steps = (double)e.src.direction.size() * s.mosaic_domains * s.phisteps * s.oversample * s.oversample;
    e.I_bg = kWaterF * kWaterF * kThomsonSqr * e.fluence * cfg.water_size * cfg.water_size * cfg.water_size * 1e6 *
             kAvogadro / kWaterMW;
    if (ready) (*ready)(e);
    if (movable) {
        // taken over at the end, once nothing else can fail
    } else if (preloaded) {
        e.hkl = *preloaded;
    } else {
        std::vector<std::string> later(e.notes.begin() + (std::ptrdiff_t)hkl_notes_at, e.notes.end());
        e.notes.resize(hkl_notes_at);
        load_structure_factors(e, cfg);
        e.notes.insert(e.notes.end(), later.begin(), later.end());
    }
    e.interpolate = interpolate == 1 && (movable ? movable->hkls : e.hkl.hkls) > 0;
    if (movable) e.hkl = std::move(*movable);
    return e;
}

}  // namespace

}  // namespace nb
