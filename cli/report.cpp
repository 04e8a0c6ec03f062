#include "cli/report.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "engine/detector_geometry.hpp"
#include "engine/units.hpp"

namespace nb {

void print_setup(const Experiment& e) {
    const DetectorGeometry& d = e.det;
    const Sampling& s = e.samp;
    const Crystal& x = e.xtal;
    std::printf("nanoBragg engine (C nanoBragg-compatible) - drop-in for James Holton and Ken Frankel's nanoBragg\n");
    std::printf("%s convention selected.\n", convention_name(d.convention));
    std::printf("pivoting detector around %s\n", d.pivot == Pivot::Sample ? "sample" : "direct beam spot");
    for (const auto& n : e.notes) spdlog::info("{}", n);
    if (x.random_misset)
        std::printf("random orientation misset angles: %f %f %f deg\n", x.misset[0] * RTD, x.misset[1] * RTD,
                    x.misset[2] * RTD);
    std::printf("Unit Cell: %g %g %g %g %g %g\n", x.a_len, x.b_len, x.c_len, x.alpha * RTD, x.beta * RTD,
                x.gamma * RTD);
    std::printf("volume = %g A^3\n", x.V_cell);
    std::printf("crystal is %g x %g x %g microns\n", magnitude(x.a) * x.Na * 1e6, magnitude(x.b) * x.Nb * 1e6,
                magnitude(x.c) * x.Nc * 1e6);
    std::printf("  %lld initialized hkls (all others =%g)\n", e.hkl.hkls, e.cfg.default_F);
    std::printf("  xtal: %.0fx%.0fx%.0f cells\n", x.Na, x.Nb, x.Nc);
    std::printf("  wave=%g meters +/- %g%% in %d steps\n", e.cfg.lambda0, s.dispersion * 100, s.dispsteps);
    if (e.cfg.nopolar)
        std::printf("  polarization effect disabled\n");
    else
        std::printf("  Kahn polarization factor: %f\n", e.cfg.polarization);
    std::printf("  incident fluence: %g photons/m^2\n", e.fluence);
    std::printf("  distance=%g detsize=%gx%g  pixel=%g meters (%dx%d pixels)\n", d.distance, d.detsize_f, d.detsize_s,
                d.pixel_size, d.fpixels, d.spixels);
    std::printf("  sensor is %g m thick in %d layers with mu= %g\n", s.thick, s.thicksteps, s.mu);
    std::printf("  Xbeam=%g Ybeam=%g\n  Fbeam=%g Sbeam=%g\n  Xclose=%g Yclose=%g\n  Fclose=%g Sclose=%g\n", d.Xbeam,
                d.Ybeam, d.Fbeam, d.Sbeam, d.Xclose, d.Yclose, d.Fclose, d.Sclose);
    std::printf("  DETECTOR_PIX0_VECTOR %.15g %.15g %.15g\n", d.pix0.x, d.pix0.y, d.pix0.z);
    std::printf("  %zu sources\n", e.src.direction.size());
    std::printf("  %d mosaic domains over mosaic spread of %g degrees\n", s.mosaic_domains, s.mosaic_spread * RTD);
    std::printf("  %d phi steps from %g to %g degrees\n", s.phisteps, s.phi0 * RTD, (s.phi0 + s.osc) * RTD);
    std::printf("  %dx%d pixel oversample steps\n", s.oversample, s.oversample);
    long long roi_pixels = (long long)(std::min(s.roi_xmax, d.fpixels - 1) - std::max(s.roi_xmin, 0) + 1) *
                           (std::min(s.roi_ymax, d.spixels - 1) - std::max(s.roi_ymin, 0) + 1);
    if (roi_pixels < 0) roi_pixels = 0;
    std::printf("  evaluations: %lld (pixels x subpixels x sources x mosaic x phi x layers)\n",
                roi_pixels * s.oversample * s.oversample * (long long)e.src.direction.size() * s.mosaic_domains *
                    s.phisteps * s.thicksteps);
    std::printf("  %s structure factors\n", e.interpolate ? "tricubic-interpolated" : "nearest-neighbour");
    std::fflush(stdout);
}

void print_stats(const ImageStats& s) {
    std::printf("max_I = %g  at %g %g\n", s.max_I, s.max_I_x, s.max_I_y);
    std::printf("mean= %g rms= %g rmsd= %g\n", s.mean, s.rms, s.rmsd);
}

void ProgressBar::update(double fraction) {
    if (!enabled_) return;
    int pct = (int)(fraction * 100.0);
    if (pct == last_) return;
    last_ = pct;
    int width = 40, filled = pct * width / 100;
    std::fprintf(stdout, "\r[%.*s%*s] %3d%%", filled, "########################################", width - filled, "",
                 pct);
    std::fflush(stdout);
}

void ProgressBar::finish() {
    if (enabled_ && last_ >= 0) std::fprintf(stdout, "\n");
}

}  // namespace nb
