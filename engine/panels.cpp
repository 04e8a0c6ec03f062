#include "engine/panels.hpp"

#include "engine/image_io.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nb {

int panel_count(const Experiment& e) { return e.panels.empty() ? 1 : (int)e.panels.size(); }

void set_panel_frame(DetectorGeometry& d, const DetectorPanel& q) {
    d.fdet = q.fdet;
    d.sdet = q.sdet;
    d.odet = q.odet;
    d.pix0 = q.pix0;
    d.distance = q.distance;
    d.close_distance = q.close_distance;
    d.ratio = dot(d.beam, q.odet);
    d.Fclose = -dot(q.pix0, q.fdet);
    d.Sclose = -dot(q.pix0, q.sdet);
    const Vec3D hit = sub(scale(d.beam, q.distance), q.pix0);
    d.Fbeam = d.Xbeam = dot(q.fdet, hit);
    d.Sbeam = d.Ybeam = dot(q.sdet, hit);
    d.Xclose = d.Fclose;
    d.Yclose = d.Sclose;
    d.ORGX = d.Fclose / d.pixel_size + 0.5;
    d.ORGY = d.Sclose / d.pixel_size + 0.5;
    d.dials_origin = Vec3D{1000.0 * q.pix0.z, 1000.0 * q.pix0.y, -1000.0 * q.pix0.x};
}

Experiment panel_experiment(const Experiment& e, int k) {
    Experiment p;
    p.cfg = e.cfg;
    p.det = e.det;
    p.samp = e.samp;
    p.xtal = e.xtal;
    p.src = e.src;
    p.fluence = e.fluence;
    p.flux = e.flux;
    p.exposure = e.exposure;
    p.beamsize = e.beamsize;
    if (e.panels.empty()) return p;
    const DetectorPanel& q = e.panels[(size_t)k];
    DetectorGeometry& d = p.det;
    const int rows = e.panel_rows();
    d.spixels = rows;
    d.detsize_s = rows * d.pixel_size;
    set_panel_frame(d, q);
    // the ROI in the panel's own rows
    p.samp.roi_ymin = std::max(0, e.samp.roi_ymin - k * rows);
    p.samp.roi_ymax = std::min(rows - 1, e.samp.roi_ymax - k * rows);
    if (!e.mask.empty()) p.mask = panel_pixels(e, e.mask, k);
    return p;
}

NoiseImage panel_noise(const Experiment& e, const NoiseImage& noise, int k) {
    NoiseImage out;
    out.pixels = panel_pixels(e, noise.pixels, k);
    for (uint16_t v : out.pixels) out.photons += std::max(0.0, (double)v - e.cfg.adc_offset);
    for (uint16_t v : out.pixels) out.overloads += v == 65535;
    return out;
}

std::string panel_file_name(const std::string& name, int k, int panels) {
    if (panels <= 1 || is_stream_target(name)) return name;
    const size_t slash = name.find_last_of('/');
    const size_t base = slash == std::string::npos ? 0 : slash + 1;
    char tag[16];
    std::snprintf(tag, sizeof tag, panels > 100 ? "p%03d" : "p%02d", k);
    // a frame number in the file's name stays last ("sweep_p03_%04d.cbf"), as
    // dxtbx's templates need; "%%" is a literal percent sign
    for (size_t i = base; i < name.size(); ++i) {
        if (name[i] != '%') continue;
        if (i + 1 < name.size() && name[i + 1] == '%') {
            ++i;
            continue;
        }
        const char before = i > base ? name[i - 1] : '\0';
        if (before == '_' || before == '-' || before == '.') return name.substr(0, i) + tag + before + name.substr(i);
        return name.substr(0, i) + (i > base ? "_" : "") + tag + "_" + name.substr(i);
    }
    size_t dot = name.find_last_of('.');
    if (dot == std::string::npos || dot < base) dot = name.size();
    return name.substr(0, dot) + "_" + tag + name.substr(dot);
}

std::vector<float> detector_layout(const Experiment& e, const std::vector<float>& image, int width, int& height) {
    const DetectorGeometry& d = e.det;
    const int n = panel_count(e), rows = e.panel_rows(), fp = d.fpixels;
    // the plane across the beam: two axes perpendicular to it
    Vec3D u{0, 0, 0}, v{0, 0, 0};
    const Vec3D up = std::fabs(d.beam.y) < 0.9 ? Vec3D{0, 1, 0} : Vec3D{0, 0, 1};
    // seen from the sample: u to the right (DIALS's +x for a beam along -z), v up
    unitize(cross(d.beam, up), u);
    unitize(cross(u, d.beam), v);
    auto frame = [&](int k, Vec3D& f, Vec3D& s, Vec3D& o) {
        if (e.panels.empty()) {
            f = d.fdet, s = d.sdet, o = d.pix0;
        } else {
            f = e.panels[(size_t)k].fdet, s = e.panels[(size_t)k].sdet, o = e.panels[(size_t)k].pix0;
        }
    };
    // central projection through the sample onto the plane at unit distance
    auto project = [&](const Vec3D& p, double& x, double& y) {
        const double z = dot(p, d.beam);
        x = dot(p, u) / z;
        y = dot(p, v) / z;
    };
    double x0 = std::numeric_limits<double>::max(), x1 = -x0, y0 = x0, y1 = -x0;
    for (int k = 0; k < n; ++k) {
        Vec3D f, s, o;
        frame(k, f, s, o);
        for (int cf : {0, fp})
            for (int cs : {0, rows}) {
                double x, y;
                project(add(o, add(scale(f, cf * d.pixel_size), scale(s, cs * d.pixel_size))), x, y);
                x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
            }
    }
    const double per = (x1 - x0) / width;
    height = std::max(1, (int)std::ceil((y1 - y0) / per));
    std::vector<float> out((size_t)width * height, std::numeric_limits<float>::quiet_NaN());
    // every output pixel a panel pixel lands in gets its largest value; a
    // picture finer than the panels' pixels gets each pixel's whole footprint
    const int sub = std::max(1, (int)std::ceil(d.pixel_size / (per * d.close_distance) * 1.5));
    for (int k = 0; k < n; ++k) {
        Vec3D f, s, o;
        frame(k, f, s, o);
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < fp; ++c) {
                const float val = image[((size_t)k * rows + r) * fp + c];
                for (int a = 0; a < sub; ++a)
                    for (int b = 0; b < sub; ++b) {
                        const Vec3D p = add(o, add(scale(f, (c + (b + 0.5) / sub) * d.pixel_size),
                                                   scale(s, (r + (a + 0.5) / sub) * d.pixel_size)));
                        double x, y;
                        project(p, x, y);
                        const int px = (int)((x - x0) / per), py = (int)((y1 - y) / per);
                        if (px < 0 || px >= width || py < 0 || py >= height) continue;
                        float& o2 = out[(size_t)py * width + px];
                        o2 = std::isnan(o2) ? val : std::max(o2, val);
                    }
            }
    }
    return out;
}

}  // namespace nb
