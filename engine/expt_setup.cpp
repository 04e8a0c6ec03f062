#include "engine/expt_setup.hpp"

#include "engine/panels.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <stdexcept>
#include <string>

namespace nb {

namespace {

constexpr double kRad = M_PI / 180.0;

[[noreturn]] void fail(const ExptModel& m, const std::string& what) {
    throw std::runtime_error("-expt " + m.path + ": " + what);
}

Vec3d to_cfg(const Vec3D& v) { return Vec3d{v.x, v.y, v.z}; }

// The panels share the raster's size and one square pixel size.
void check_panels_alike(const ExptModel& m) {
    const ExptPanel& p0 = m.panels[0];
    if (std::fabs(p0.pixel_fast - p0.pixel_slow) > 1e-9 * p0.pixel_fast)
        fail(m, "detector, panel 0: pixels of " + std::to_string(p0.pixel_fast) + " x " +
                    std::to_string(p0.pixel_slow) + " mm are not square (not supported)");
    for (size_t i = 1; i < m.panels.size(); ++i) {
        const ExptPanel& p = m.panels[i];
        if (p.fpixels != p0.fpixels || p.spixels != p0.spixels)
            fail(m, "detector, panel " + std::to_string(i) + ": " + std::to_string(p.fpixels) + " x " +
                        std::to_string(p.spixels) + " pixels where panel 0 has " + std::to_string(p0.fpixels) + " x " +
                        std::to_string(p0.spixels) + " (panels of different sizes are not supported)");
        if (std::fabs(p.pixel_fast - p0.pixel_fast) > 1e-9 * p0.pixel_fast ||
            std::fabs(p.pixel_slow - p0.pixel_slow) > 1e-9 * p0.pixel_slow)
            fail(m, "detector, panel " + std::to_string(i) + ": its pixel size differs from panel 0's (not supported)");
    }
}

}  // namespace

void apply_expt_config(const ExptModel& m, SimConfig& cfg, const ExptOverrides& keep) {
    check_panels_alike(m);
    const ExptPanel& p0 = m.panels[0];
    cfg.lambda0 = m.wavelength * 1e-10;
    cfg.convention = Convention::Custom;
    cfg.pivot = Pivot::Sample;
    cfg.beam = to_cfg(engine_from_dials(scale(m.to_source, -1.0)));
    // the E-vector lies in the polarization plane, across the beam
    Vec3D e{0, 0, 0};
    if (!(unitize(cross(m.polarization_normal, m.to_source), e) > 1e-9))
        fail(m, "beam: polarization_normal lies along the beam");
    cfg.polar_vec = to_cfg(engine_from_dials(e));
    if (!keep.polarization) {
        cfg.polarization = 2.0 * m.polarization_fraction - 1.0;  // the Kahn factor
        cfg.nopolar = false;
    }
    cfg.pixel_size = p0.pixel_fast * 1e-3;
    cfg.fpixels = p0.fpixels;
    cfg.spixels = p0.spixels * (int)m.panels.size();
    cfg.detsize_f = cfg.fpixels * cfg.pixel_size;
    cfg.detsize_s = cfg.spixels * cfg.pixel_size;
    // a sensor thinner than 1 um is none: our NeXus files say 1 nm where the run had no sensor
    if (!keep.sensor && p0.thickness >= 1e-3 && p0.mu > 0) {
        cfg.detector_thick = p0.thickness * 1e-3;
        cfg.detector_mu = p0.mu * 1e3;
    }
    if (!keep.divergence && m.divergence > 0) cfg.hdivrange = cfg.vdivrange = m.divergence * kRad;
    if (m.has_goniometer) {
        Vec3D axis{0, 0, 0};
        unitize(mat_apply(m.setting, m.rotation_axis), axis);
        cfg.spindle = to_cfg(engine_from_dials(axis));
    }
    // a still's scan has its exposure too (the NeXus count_time; with -flux, the fluence)
    if (!keep.exposure && m.exposure_time > 0) cfg.exposure = m.exposure_time;
    if (m.has_scan && m.has_goniometer) {
        if (!keep.phi) cfg.phi0 = m.osc_start * kRad;
        if (!keep.osc) cfg.osc = m.osc_width * kRad;
        if (!keep.nframes) cfg.nframes = m.last_image - m.first_image + 1;
        // files numbered as the scan's images, when they are the scan's angles
        if (!keep.phi) cfg.first_frame = m.first_image;
    }
    if (m.has_crystal) {
        // the A matrix at phi = 0 in the lab (S F A), in the engine's frame, as
        // a MOSFLM matrix carries it (columns a*, b*, c* times lambda)
        Vec3D a, b, c;
        reciprocal_at(m, 0.0, a, b, c);
        a = engine_from_dials(a);
        b = engine_from_dials(b);
        c = engine_from_dials(c);
        const double l = m.wavelength;
        cfg.mat_values =
            std::array<double, 9>{a.x * l, b.x * l, c.x * l, a.y * l, b.y * l, c.y * l, a.z * l, b.z * l, c.z * l};
        cfg.mat_file.clear();
        cfg.user_cell = false;
    }
}

void apply_expt_detector(const ExptModel& m, Experiment& e) {
    // what the file holds that is not rendered is said, not dropped
    if (m.experiments > 1)
        e.notes.push_back("WARNING: -expt " + m.path + " holds " + std::to_string(m.experiments) +
                          " experiments: rendering experiment " + std::to_string(m.experiment) + " alone");
    if (m.scan_varying)
        e.notes.push_back("WARNING: -expt " + m.path +
                          ": the crystal's scan-varying model (A_at_scan_points) is not rendered; its static A "
                          "matrix is");
    DetectorGeometry& d = e.det;
    std::vector<DetectorPanel> panels;
    for (size_t i = 0; i < m.panels.size(); ++i) {
        const ExptPanel& p = m.panels[i];
        DetectorPanel k;
        k.name = p.name;
        k.fdet = engine_from_dials(p.fast);
        k.sdet = engine_from_dials(p.slow);
        k.pix0 = scale(engine_from_dials(p.origin), 1e-3);
        unitize(cross(k.fdet, k.sdet), k.odet);
        // the normal points away from the sample (the sensor's depth, the solid angle's sign)
        if (dot(k.pix0, k.odet) < 0) k.odet = scale(k.odet, -1.0);
        k.close_distance = dot(k.pix0, k.odet);
        if (!(k.close_distance > 0))
            fail(m, "detector, panel " + std::to_string(i) + ": its plane passes through the sample");
        double ratio = dot(d.beam, k.odet);
        if (ratio == 0.0) ratio = DBL_MIN;
        k.distance = k.close_distance / ratio;
        panels.push_back(k);
    }
    const DetectorPanel& k0 = panels[0];
    d.convention = Convention::Custom;
    d.pivot = Pivot::Sample;
    d.rotx = d.roty = d.rotz = d.twotheta = 0;
    d.curved = false;
    // panel 0's frame and the centres C reports from it (the file's origin to the last bit)
    set_panel_frame(d, k0);
    d.dials_origin = m.panels[0].origin;
    if (panels.size() > 1) e.panels = std::move(panels);

    // the panels' untrusted rectangles
    bool masked = false;
    for (const ExptPanel& p : m.panels) masked = masked || !p.mask.empty();
    if (!masked) return;
    if (e.mask.empty()) e.mask.assign((size_t)d.fpixels * d.spixels, 1);
    const int rows = e.panel_rows();
    for (size_t i = 0; i < m.panels.size(); ++i)
        for (const auto& r : m.panels[i].mask)
            for (int s = std::max(0, r[1]); s < std::min(rows, r[3]); ++s)
                for (int f = std::max(0, r[0]); f < std::min(d.fpixels, r[2]); ++f)
                    e.mask[((size_t)i * rows + s) * d.fpixels + f] = 0;
}

}  // namespace nb
