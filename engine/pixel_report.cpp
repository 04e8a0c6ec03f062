#include "engine/pixel_report.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

#include "kernels/pixel_physics.hpp"

namespace nb {

namespace {

template <typename T>
Vec3D wide(const Vec3<T>& v) {
    return Vec3D{(double)v.x, (double)v.y, (double)v.z};
}

// The values C's variables hold after a pixel's loops (the last sub-pixel,
// source and (phi, mosaic) pair), in double whatever the render's precision,
// and, with `trace` set, the TRACE_C lines as the loops pass C's trace points.
struct PixelObserver {
    std::FILE* trace = nullptr;
    double phi0 = 0, phistep = 0;  // radians: the TRACE_C_PHI lines' angles
    int mosaic_domains = 1;

    LatticeParams<double> lattice;  // of the last sub-pixel's parameters
    Vec3D pos, diffracted, incident, cell[3];
    double airpath = 0, omega = 0, capture = 0, polar = 0, lambda = 0, stol = 0;
    double h = 0, k = 0, l = 0, F_latt = 0, F_cell = 0, I = 0;
    bool have_cell = false;
    int source_now = -1, pair_now = -1;

    template <typename T>
    void subpixel(const PixelParams<T>& p, int, int, int, const Vec3<T>& r, T air, const Vec3<T>& d, T om, T cap) {
        pos = wide(r);
        airpath = (double)air;
        diffracted = wide(d);
        omega = (double)om;
        capture = (double)cap;
        const LatticeParams<T>& a = p.lattice;
        lattice.shape = a.shape;
        lattice.Na = a.Na;
        lattice.Nb = a.Nb;
        lattice.Nc = a.Nc;
        lattice.fudge = a.fudge;
        lattice.a_star = wide(a.a_star);
        lattice.b_star = wide(a.b_star);
        lattice.c_star = wide(a.c_star);
        lattice.c_exact_sincg = a.c_exact_sincg;
        if (!trace) return;
        pix0 = wide(p.pix0);
        fdet = wide(p.fdet);
        sdet = wide(p.sdet);
        close_distance = (double)p.close_distance;
    }

    template <typename T>
    void source(int src, const Vec3<T>& inc, T lam, const Vec3<T>& S, T st) {
        incident = wide(inc);
        lambda = (double)lam;
        stol = (double)st;
        if (!trace || src != 0) return;
        vec("pix0_vector_meters", pix0);
        vec("fdet_vec", fdet);
        vec("sdet_vec", sdet);
        vec("pixel_pos_meters", pos);
        num("R_distance_meters", airpath);
        num("omega_pixel_sr", omega);
        num("close_distance_meters", close_distance);
        num("obliquity_factor", close_distance / airpath);
        vec("diffracted_vec", diffracted);
        vec("incident_vec", incident);
        num("lambda_meters", lambda);
        num("lambda_angstroms", lambda * 1e10);
        // C's key says A^-1; its value, like this one, is in m^-1
        vec("scattering_vec_A_inv", wide(S));
    }

    // C's polarization step normalizes the incident vector in place: the
    // cos 2theta lines read it so
    void polarization() { unitize(incident, incident); }

    template <typename T>
    void evaluation(int src, int pair, const T* table, int pairs, T hh, T kk, T ll, T fl) {
        source_now = src;
        pair_now = pair;
        h = (double)hh;
        k = (double)kk;
        l = (double)ll;
        F_latt = (double)fl;
        for (int v = 0; v < 3; ++v)
            cell[v] = Vec3D{(double)table[(3 * v) * pairs + pair], (double)table[(3 * v + 1) * pairs + pair],
                            (double)table[(3 * v + 2) * pairs + pair]};
        have_cell = true;
        if (!trace || src != 0 || pair % mosaic_domains != 0) return;
        const bool square = lattice.shape == Shape::Square;
        if (pair == 0) {
            vec("rot_a_angstroms", scaled(cell[0], 1e10));
            vec("rot_b_angstroms", scaled(cell[1], 1e10));
            vec("rot_c_angstroms", scaled(cell[2], 1e10));
            vec("rot_a_star_A_inv", lattice.a_star);
            vec("rot_b_star_A_inv", lattice.b_star);
            vec("rot_c_star_A_inv", lattice.c_star);
            vec("hkl_frac", Vec3D{h, k, l});
            std::fprintf(trace, "TRACE_C: hkl_rounded %d %d %d\n", nearest(h), nearest(k), nearest(l));
            if (square) {
                num("F_latt_a", axis_factor(0));
                num("F_latt_b", axis_factor(1));
                num("F_latt_c", axis_factor(2));
                num("F_latt", F_latt);
            }
        }
        if (square) {
            const int phi_tic = pair / mosaic_domains;
            std::fprintf(trace, "TRACE_C_PHI phi_tic=%d phi_deg=%.15g k_frac=%.15g F_latt_b=%.15g F_latt=%.15g\n",
                         phi_tic, (phi0 + phistep * phi_tic) * 57.295779513082320876798154814105, k, axis_factor(1),
                         F_latt);
        }
    }

    template <typename T>
    void structure_factor(T F, T, T pol, const Vec3<T>& d) {
        F_cell = (double)F;
        diffracted = wide(d);
        if (!trace || pair_now != 0) return;
        if (source_now == 0) num("F_cell", F_cell);
        if (source_now != 2) return;
        // the reference's check of source weighting: its third source
        const double p = (double)pol;
        std::fprintf(trace, "TRACE_C_SOURCE2: F_cell %.15g\n", F_cell);
        std::fprintf(trace, "TRACE_C_SOURCE2: F_latt %.15g\n", F_latt);
        std::fprintf(trace, "TRACE_C_SOURCE2: F_cell_squared %.15g\n", F_cell * F_cell);
        std::fprintf(trace, "TRACE_C_SOURCE2: F_latt_squared %.15g\n", F_latt * F_latt);
        std::fprintf(trace, "TRACE_C_SOURCE2: I_contribution %.15g\n", F_cell * F_cell * F_latt * F_latt);
        std::fprintf(trace, "TRACE_C_SOURCE2: polar %.15g\n", p);
        std::fprintf(trace, "TRACE_C_SOURCE2: cos2theta %.15g\n", dot(incident, diffracted));
        std::fprintf(trace, "TRACE_C_SOURCE2: lambda_angstroms %.15g\n", lambda * 1e10);
        std::fprintf(trace, "TRACE_C_SOURCE2: source_index %d\n", source_now);
    }

    template <typename T>
    void finish(T sum, T cap, T pol, T om, double) {
        I = (double)sum;
        capture = (double)cap;
        polar = (double)pol;
        omega = (double)om;
    }

    // the square lattice's factor along one axis: the lattice with the other
    // two axes one cell long
    double axis_factor(int which) const {
        LatticeParams<double> one = lattice;
        if (which != 0) one.Na = 1;
        if (which != 1) one.Nb = 1;
        if (which != 2) one.Nc = 1;
        return lattice_factor(one, h, k, l, 0.0, 0.0, 0.0);
    }
    static int nearest(double x) { return (int)std::ceil(x - 0.5); }
    static Vec3D scaled(const Vec3D& v, double f) { return Vec3D{v.x * f, v.y * f, v.z * f}; }
    void num(const char* key, double v) const { std::fprintf(trace, "TRACE_C: %s %.15g\n", key, v); }
    void vec(const char* key, const Vec3D& v) const {
        std::fprintf(trace, "TRACE_C: %s %.15g %.15g %.15g\n", key, v.x, v.y, v.z);
    }

private:
    Vec3D pix0, fdet, sdet;
    double close_distance = 0;
};

PixelObserver observer_for(const Experiment& e, std::FILE* trace) {
    PixelObserver obs;
    obs.trace = trace;
    obs.phi0 = e.samp.phi0;
    obs.phistep = e.samp.phistep;
    obs.mosaic_domains = e.samp.mosaic_domains;
    return obs;
}

// Pixel (f, s) replayed with `obs` as the render took it: under the
// interpolation switch-off it met (C's two passes, engine/render.cpp), and
// from the double staging for a round crystal's direct beam in single
// precision (kernels/cpu_launcher.hpp). Returns the pixel's value.
template <typename T>
double replay(const PixelParams<T>& p, const RenderResult& r, int f, int s, PixelObserver& obs) {
    const long long idx = (long long)s * p.fpixels + f;
    const InterpCutoff cutoff =
        (r.interp_disabled_at < 0 || idx <= r.interp_disabled_at) ? InterpCutoff{LLONG_MAX, 0} : InterpCutoff{-1, 0};
    if (p.reference && p.lattice.shape == Shape::Round && pixel_on_direct_beam(p, f, s))
        return render_pixel(*p.reference, f, s, cutoff, obs).value;
    return render_pixel(p, f, s, cutoff, obs).value;
}

// C's -printout block of a replayed pixel.
template <typename T>
void printout_block(std::FILE* out, const Experiment& e, const PixelParams<T>& p, const RenderResult& r,
                    PixelObserver o, int f, int s) {
    if (!o.have_cell) {
        // no (phi, mosaic) pair reached (every source beyond -dmin): C prints
        // whatever an earlier pixel left; the first pair's cell here
        const int pairs = p.phisteps * p.mosaic_domains;
        for (int v = 0; v < 3; ++v)
            o.cell[v] = Vec3D{(double)p.cells[(3 * v) * pairs], (double)p.cells[(3 * v + 1) * pairs],
                              (double)p.cells[(3 * v + 2) * pairs]};
    }
    const double twotheta = std::atan2(std::sqrt(o.pos.y * o.pos.y + o.pos.z * o.pos.z), o.pos.x);
    const double stol_nominal = std::sin(twotheta / 2.0) / (e.cfg.lambda0 * 1e10);
    const float pixel = r.image[(size_t)s * e.det.fpixels + f];
    std::fprintf(out, "%4d %4d : stol = %g or %g\n", f, s, o.stol, stol_nominal);
    std::fprintf(out, "at %g %g %g\n", o.pos.x, o.pos.y, o.pos.z);
    std::fprintf(out, "hkl= %f %f %f  hkl0= %d %d %d\n", o.h, o.k, o.l, o.nearest(o.h), o.nearest(o.k), o.nearest(o.l));
    std::fprintf(out, " F_cell=%g  F_latt=%g   I = %g\n", o.F_cell, o.F_latt, o.I);
    std::fprintf(out, "I/steps %15.10g\n", o.I / (double)(long long)e.steps);
    std::fprintf(out, "polar   %15.10g\n", o.polar);
    std::fprintf(out, "omega   %15.10g\n", o.omega);
    std::fprintf(out, "capfrac %15.10g\n", o.capture);
    std::fprintf(out, "pixel   %15.10g\n", (double)pixel);
    std::fprintf(out, "real-space cell vectors (Angstrom):\n");
    std::fprintf(out, "     %-10s  %-10s  %-10s\n", "a", "b", "c");
    std::fprintf(out, "X: %11.8f %11.8f %11.8f\n", o.cell[0].x * 1e10, o.cell[1].x * 1e10, o.cell[2].x * 1e10);
    std::fprintf(out, "Y: %11.8f %11.8f %11.8f\n", o.cell[0].y * 1e10, o.cell[1].y * 1e10, o.cell[2].y * 1e10);
    std::fprintf(out, "Z: %11.8f %11.8f %11.8f\n", o.cell[0].z * 1e10, o.cell[1].z * 1e10, o.cell[2].z * 1e10);
}

// The closing TRACE_C lines of the traced pixel, after its loops.
template <typename T>
void trace_end(std::FILE* out, const PixelParams<T>& p, const PixelObserver& o, double value, float pixel) {
    o.num("I_before_scaling", o.I);
    o.num("r_e_meters", std::sqrt(p.r_e_sqr));
    o.num("r_e_sqr", p.r_e_sqr);
    o.num("fluence_photons_per_m2", p.fluence);
    std::fprintf(out, "TRACE_C: steps %d\n", (int)p.steps);
    std::fprintf(out, "TRACE_C: oversample_thick %d\n", (int)p.oversample_thick);
    std::fprintf(out, "TRACE_C: oversample_polar %d\n", (int)p.oversample_polar);
    std::fprintf(out, "TRACE_C: oversample_omega %d\n", (int)p.oversample_omega);
    o.num("capture_fraction", o.capture);
    o.num("polar", o.polar);
    o.num("omega_pixel", o.omega);
    o.num("cos_2theta", dot(o.incident, o.diffracted));
    o.num("I_pixel_final", value);
    o.num("floatimage_accumulated", (double)pixel);
}

// C's order: TRACE_CONFIG before the render; then, pixel by pixel in raster
// order, the traced pixel's lines and each printed pixel's block.
template <typename T>
void reports(std::FILE* out, const PixelReportInput& in, const PixelReports& what, const PixelParams<T>& p) {
    const Experiment& e = *in.frame;
    if (what.trace_f >= 0)
        std::fprintf(out, "TRACE_CONFIG: tracing pixel (spixel=%d, fpixel=%d)\n", what.trace_s, what.trace_f);
    const bool trace = what.trace_f >= 0 && !what.trace_skipped;
    auto printed = [&](int f, int s) {
        if (!what.printout) return false;
        return what.printout_f < 0 ? pixel_report_skipped(e, f, s).empty()
                                   : f == what.printout_f && s == what.printout_s;
    };
    auto one = [&](int f, int s) {
        const bool traced = trace && f == what.trace_f && s == what.trace_s;
        if (!traced && !printed(f, s)) return;
        PixelObserver o = observer_for(e, traced ? out : nullptr);
        const double value = replay(p, *in.result, f, s, o);
        const float pixel = in.result->image[(size_t)s * e.det.fpixels + f];
        if (traced) trace_end(out, p, o, value, pixel);
        if (printed(f, s)) printout_block(out, e, p, *in.result, o, f, s);
    };
    if (what.printout && what.printout_f < 0) {
        for (int s = 0; s < e.det.spixels; ++s)
            for (int f = 0; f < e.det.fpixels; ++f) one(f, s);
        return;
    }
    // at most two pixels: in raster order
    const long long a = what.printout ? (long long)what.printout_s * e.det.fpixels + what.printout_f : -1;
    const long long b = trace ? (long long)what.trace_s * e.det.fpixels + what.trace_f : -1;
    auto at = [&](long long idx) { one((int)(idx % e.det.fpixels), (int)(idx / e.det.fpixels)); };
    const long long first = a < 0 ? b : b < 0 ? a : std::min(a, b), second = std::max(a, b);
    if (first >= 0) at(first);
    if (second != first && second >= 0) at(second);
}

}  // namespace

std::string pixel_report_skipped(const Experiment& e, int f, int s) {
    const Sampling& m = e.samp;
    if (f < m.roi_xmin || f > m.roi_xmax || s < m.roi_ymin || s > m.roi_ymax) return "outside the -roi";
    if (!e.mask.empty() && e.mask[(size_t)s * e.det.fpixels + f] == 0) return "masked (-mask)";
    return "";
}

std::string pixel_report_target_problem(const Experiment& e, const std::string& flag, int f, int s) {
    if (f >= 0 && f < e.det.fpixels && s >= 0 && s < e.det.spixels) return "";
    return flag + ": pixel (fast " + std::to_string(f) + ", slow " + std::to_string(s) + ") is outside the " +
           std::to_string(e.det.fpixels) + "x" + std::to_string(e.det.spixels) + " detector";
}

void print_pixel_reports(std::FILE* out, const PixelReportInput& in, const PixelReports& what) {
    if (!what.printout && what.trace_f < 0) return;
    with_staged_params(
        *in.frame, *in.hkl, in.precision, [&](const PixelParams<double>& p) { reports(out, in, what, p); },
        [&](const PixelParams<float>& p) { reports(out, in, what, p); });
}

}  // namespace nb
