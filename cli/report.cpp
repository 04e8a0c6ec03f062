#include "cli/report.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "engine/detector_geometry.hpp"
#include "engine/units.hpp"

namespace nb {

void print_setup(const Experiment& e, std::optional<int64_t> noise_seed) {
    const DetectorGeometry& d = e.det;
    const Sampling& s = e.samp;
    const Crystal& x = e.xtal;
    std::printf("nanoBragg engine (C nanoBragg-compatible) - drop-in for James Holton and Ken Frankel's nanoBragg\n");
    std::printf("%s convention selected.\n", convention_name(d.convention));
    std::printf("pivoting detector around %s\n", d.pivot == Pivot::Sample ? "sample" : "direct beam spot");
    const Vec3D beam_on_detector{dot(d.beam, d.fdet), dot(d.beam, d.sdet), dot(d.beam, d.odet)};
    std::printf("XDS incident beam: %g %g %g\n", beam_on_detector.x, beam_on_detector.y, beam_on_detector.z);
    for (const auto& n : e.notes) spdlog::info("{}", n);
    if (x.random_misset)
        std::printf("random orientation misset angles: %f %f %f deg\n", x.misset[0] * RTD, x.misset[1] * RTD,
                    x.misset[2] * RTD);
    std::printf("Unit Cell: %g %g %g %g %g %g\n", x.a_len, x.b_len, x.c_len, x.alpha * RTD, x.beta * RTD,
                x.gamma * RTD);
    std::printf("Recp Cell: %g %g %g %g %g %g\n", x.astar_len, x.bstar_len, x.cstar_len, x.alpha_star * RTD,
                x.beta_star * RTD, x.gamma_star * RTD);
    std::printf("volume = %g A^3\n", x.V_cell);
    auto table = [](const char* title, const char* const names[3], const Vec3D& a, const Vec3D& b, const Vec3D& c) {
        std::printf("%s\n     %-10s  %-10s  %-10s\n", title, names[0], names[1], names[2]);
        std::printf("X: %11.8f %11.8f %11.8f\nY: %11.8f %11.8f %11.8f\nZ: %11.8f %11.8f %11.8f\n", a.x, b.x, c.x, a.y,
                    b.y, c.y, a.z, b.z, c.z);
    };
    static const char* const real_names[3] = {"a", "b", "c"};
    static const char* const star_names[3] = {"a_star", "b_star", "c_star"};
    table("real-space cell vectors (Angstrom):", real_names, scale(x.a, 1e10), scale(x.b, 1e10), scale(x.c, 1e10));
    table("reciprocal-space cell vectors (Angstrom^-1):", star_names, x.a_star, x.b_star, x.c_star);
    std::printf("crystal is %g x %g x %g microns\n", magnitude(x.a) * x.Na * 1e6, magnitude(x.b) * x.Nb * 1e6,
                magnitude(x.c) * x.Nc * 1e6);
    for (const auto& n : e.oversample_notes) spdlog::info("{}", n);
    // C's rough molecular weight: the crystal's volume at 1.2 g/cm^3 over its cells
    const double volume = magnitude(x.a) * x.Na * magnitude(x.b) * x.Nb * magnitude(x.c) * x.Nc;
    std::printf("approximate MW = %g\n", volume * 1.2e6 * kAvogadro / (x.Na * x.Nb * x.Nc));
    std::printf("  created a total of %zu sources:\n", e.src.position.size());
    for (size_t i = 0; i < e.src.position.size(); ++i) {
        const Vec3D& r = e.src.position[i];
        std::printf("%g %g %g   %g %g\n", r.x, r.y, r.z, e.src.weight[i], e.src.lambda[i]);
    }
    std::printf("  created a total of %zu mosaic domains\n", x.mosaic_umats.size());
    std::printf("  %lld initialized hkls (all others =%g)\n", e.hkl.hkls, e.cfg.default_F);
    static const char* const shape_names[] = {"parallelpiped", "ellipsoidal", "gaussian", "tophat-spot"};
    std::printf("  %s xtal: %.0fx%.0fx%.0f cells\n", shape_names[(int)e.cfg.xtal_shape], x.Na, x.Nb, x.Nc);
    std::printf("  wave=%g meters +/- %g%% in %d steps\n", e.cfg.lambda0, s.dispersion * 100, s.dispsteps);
    if (e.cfg.nopolar)
        std::printf("  polarization effect disabled\n");
    else
        std::printf("  Kahn polarization factor: %f\n", e.cfg.polarization);
    if (d.curved) std::printf("  curved detector: all pixels same distance from origin\n");
    if (d.point_pixel) std::printf("  pixel obliquity effect disabled\n");
    std::printf("  incident fluence: %g photons/m^2\n", e.fluence);
    std::printf("  distance=%g detsize=%gx%g  pixel=%g meters (%dx%d pixels)\n", d.distance, d.detsize_f, d.detsize_s,
                d.pixel_size, d.fpixels, d.spixels);
    std::printf("  sensor is %g m thick in %d layers with mu= %g\n", s.thick, s.thicksteps, s.mu);
    std::printf("  Xbeam=%g Ybeam=%g\n  Fbeam=%g Sbeam=%g\n  Xclose=%g Yclose=%g\n  Fclose=%g Sclose=%g\n", d.Xbeam,
                d.Ybeam, d.Fbeam, d.Sbeam, d.Xclose, d.Yclose, d.Fclose, d.Sclose);
    auto axis = [](const char* name, const Vec3D& v) { std::printf("  %s= %g %g %g\n", name, v.x, v.y, v.z); };
    axis("DIRECTION_OF_DETECTOR_X-AXIS", d.fdet);
    axis("DIRECTION_OF_DETECTOR_Y-AXIS", d.sdet);
    axis("DIRECTION_OF_DETECTOR_Z-AXIS", d.odet);
    axis("INCIDENT_BEAM_DIRECTION", d.beam);
    axis("spindle ROTATION_AXIS", d.spindle);
    axis("POLARIZATION_PLANE_NORMAL", cross(d.beam, d.polar));
    axis("dials origin", d.dials_origin);
    std::printf("  DETECTOR_PIX0_VECTOR %.15g %.15g %.15g\n", d.pix0.x, d.pix0.y, d.pix0.z);
    std::printf("  roi: %d < x < %d && %d < y < %d\n", s.roi_xmin, s.roi_xmax, s.roi_ymin, s.roi_ymax);
    std::printf("  hdivrange=%g hdivstep=%g  radians\n", s.hdivrange, s.hdivstep);
    std::printf("  vdivrange=%g vdivstep=%g  radians\n", s.vdivrange, s.vdivstep);
    // C counts no divergence steps for a -sourcefile and prints its initial -1
    std::printf("  %d divergence steps\n", e.src.from_file ? -1 : e.src.divsteps);
    std::printf("  %zu sources\n", e.src.direction.size());
    std::printf("  %d mosaic domains over mosaic spread of %g degrees\n", s.mosaic_domains, s.mosaic_spread * RTD);
    std::printf("  %d phi steps from %g to %g degrees\n", s.phisteps, s.phi0 * RTD, (s.phi0 + s.osc) * RTD);
    std::printf("  %dx%d pixel oversample steps%s%s%s\n", s.oversample, s.oversample,
                e.cfg.oversample_thick ? " +thick" : "", e.cfg.oversample_polar ? " +polar" : "",
                e.cfg.oversample_omega ? " +omega" : "");
    if (!e.mask.empty()) std::printf("  skipping zero-flagged pixels in %s\n", e.cfg.mask_file.c_str());
    if (noise_seed)
        std::printf("\n  noise image paramters:\n  seed: %lld\n  water droplet size: %g m\n", (long long)*noise_seed,
                    e.cfg.water_size);
    long long roi_pixels = (long long)(std::min(s.roi_xmax, d.fpixels - 1) - std::max(s.roi_xmin, 0) + 1) *
                           (std::min(s.roi_ymax, d.spixels - 1) - std::max(s.roi_ymin, 0) + 1);
    if (roi_pixels < 0) roi_pixels = 0;
    std::printf("  evaluations: %lld (pixels x subpixels x sources x mosaic x phi x layers)\n",
                roi_pixels * s.oversample * s.oversample * (long long)e.src.direction.size() * s.mosaic_domains *
                    s.phisteps * s.thicksteps);
    std::printf("  %s structure factors\n", e.interpolate ? "tricubic-interpolated" : "nearest-neighbour");
    std::fflush(stdout);
}

std::string stats_text(const ImageStats& s) {
    char buf[256];
    int n = std::snprintf(buf, sizeof buf, "max_I = %g  at %g %g\nmean= %g rms= %g rmsd= %g\n", s.max_I, s.max_I_x,
                          s.max_I_y, s.mean, s.rms, s.rmsd);
    return std::string(buf, (size_t)std::clamp(n, 0, (int)sizeof buf - 1));
}

void print_stats(const ImageStats& s) { std::fputs(stats_text(s).c_str(), stdout); }

namespace {

std::string clock_text(double seconds) {
    if (!(seconds >= 0) || seconds > 99 * 3600.0) return "--:--";
    const long long t = (long long)(seconds + 0.5);
    char buf[32];
    if (t >= 3600)
        std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", t / 3600, t / 60 % 60, t % 60);
    else
        std::snprintf(buf, sizeof buf, "%lld:%02lld", t / 60, t % 60);
    return buf;
}

}  // namespace

std::string ProgressBar::line(double fraction, double frame_seconds, double evaluations, int frame, int nframes) {
    fraction = std::clamp(fraction, 0.0, 1.0);
    const int pct = (int)(fraction * 100.0), width = 30, filled = pct * width / 100;
    std::string out = "[" + std::string(filled, '#') + std::string(width - filled, ' ') + "] ";
    char buf[160];
    std::snprintf(buf, sizeof buf, "%3d%%", pct);
    out += buf;
    if (nframes > 1) {
        std::snprintf(buf, sizeof buf, "  frame %d/%d", frame, nframes);
        out += buf;
    }
    if (fraction > 0 && frame_seconds > 0) {
        // this frame's pace, assumed for the frames still to come
        const double frame_total = frame_seconds / fraction;
        const double left = frame_total * (1 - fraction) + frame_total * (nframes - frame);
        std::snprintf(buf, sizeof buf, "  %.3g evals/s  %s left", fraction * evaluations / frame_seconds,
                      clock_text(left).c_str());
        out += buf;
    } else {
        out += "  -- evals/s  --:-- left";
    }
    return out;
}

void ProgressBar::start_frame(int frame, int nframes, double evaluations) {
    frame_ = frame;
    nframes_ = nframes;
    evaluations_ = evaluations;
    last_pct_ = -1;
    last_draw_ = -1;
    start_ = std::chrono::steady_clock::now();
}

void ProgressBar::update(double fraction) {
    if (!enabled_) return;
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const int pct = (int)(fraction * 100.0);
    if (pct == last_pct_ && t - last_draw_ < 0.5) return;  // redraw on a new percent or twice a second
    last_pct_ = pct;
    last_draw_ = t;
    // pad so a shorter line fully covers the previous one
    std::fprintf(stdout, "\r%-90s", line(fraction, t, evaluations_, frame_, nframes_).c_str());
    std::fflush(stdout);
}

void ProgressBar::finish() {
    if (enabled_ && last_pct_ >= 0) std::fprintf(stdout, "\n");
    last_pct_ = -1;
}

}  // namespace nb
