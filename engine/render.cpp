#include "engine/render.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

#include "kernels/cpu_launcher.hpp"
#include "kernels/rotation.hpp"

namespace nb {

std::vector<double> stage_cell_table(const Experiment& e, bool first_sweep) {
    const Sampling& s = e.samp;
    const Crystal& x = e.xtal;
    Vec3D ap = x.a, bp = x.b, cp = x.c;
    if (!first_sweep) {
        // the carry-over into every later sweep: the last phi != 0 step's cell
        for (int t = 0; t < s.phisteps; ++t) {
            double phi = s.phi0 + s.phistep * t;
            if (phi != 0.0) {
                ap = rotate_axis(x.a, e.det.spindle, phi);
                bp = rotate_axis(x.b, e.det.spindle, phi);
                cp = rotate_axis(x.c, e.det.spindle, phi);
            }
        }
    }
    std::vector<double> table;
    table.reserve((size_t)9 * s.phisteps * s.mosaic_domains);
    for (int t = 0; t < s.phisteps; ++t) {
        double phi = s.phi0 + s.phistep * t;
        if (phi != 0.0) {
            ap = rotate_axis(x.a, e.det.spindle, phi);
            bp = rotate_axis(x.b, e.det.spindle, phi);
            cp = rotate_axis(x.c, e.det.spindle, phi);
        }
        for (int m = 0; m < s.mosaic_domains; ++m) {
            Vec3D a = ap, b = bp, c = cp;
            if (s.mosaic_spread > 0.0) {
                const double* u = x.mosaic_umats[m].data();
                a = rotate_umat(ap, u);
                b = rotate_umat(bp, u);
                c = rotate_umat(cp, u);
            }
            for (const Vec3D& w : {a, b, c}) {
                table.push_back(w.x);
                table.push_back(w.y);
                table.push_back(w.z);
            }
        }
    }
    return table;
}

namespace {

struct Staged {
    PixelParams<double> p;
    std::vector<double> cells, cells_first, source_dir, source_lambda;
};

void stage(const Experiment& e, Staged& st) {
    const DetectorGeometry& d = e.det;
    const Sampling& s = e.samp;
    PixelParams<double>& p = st.p;
    p.fpixels = d.fpixels;
    p.spixels = d.spixels;
    p.roi_xmin = s.roi_xmin;
    p.roi_xmax = s.roi_xmax;
    p.roi_ymin = s.roi_ymin;
    p.roi_ymax = s.roi_ymax;
    p.mask = e.mask.empty() ? nullptr : e.mask.data();
    p.oversample = s.oversample;
    p.pixel_size = d.pixel_size;
    p.subpixel_size = d.pixel_size / s.oversample;
    p.fdet = d.fdet;
    p.sdet = d.sdet;
    p.odet = d.odet;
    p.pix0 = d.pix0;
    p.beam = d.beam;
    p.distance = d.distance;
    p.close_distance = d.close_distance;
    p.curved_detector = d.curved;
    p.point_pixel = d.point_pixel;
    p.thicksteps = s.thicksteps;
    p.thick = s.thick;
    p.thickstep = s.thickstep;
    p.mu = s.mu;
    p.oversample_thick = e.cfg.oversample_thick;
    p.oversample_polar = e.cfg.oversample_polar;
    p.oversample_omega = e.cfg.oversample_omega;

    for (size_t i = 0; i < e.src.direction.size(); ++i) {
        st.source_dir.push_back(e.src.direction[i].x);
        st.source_dir.push_back(e.src.direction[i].y);
        st.source_dir.push_back(e.src.direction[i].z);
        st.source_lambda.push_back(e.src.lambda[i]);
    }
    p.sources = (int)e.src.direction.size();
    p.source_dir = st.source_dir.data();
    p.source_lambda = st.source_lambda.data();
    p.dmin = e.cfg.dmin;
    p.nopolar = e.cfg.nopolar;
    p.polarization = e.cfg.polarization;
    p.polar_vector = d.polar;

    st.cells = stage_cell_table(e, false);
    st.cells_first = stage_cell_table(e, true);
    p.phisteps = s.phisteps;
    p.mosaic_domains = s.mosaic_domains;
    p.cells = st.cells.data();
    p.cells_first = st.cells_first.data();

    const Crystal& x = e.xtal;
    XtalShape shape = e.cfg.xtal_shape;
    p.lattice.shape = shape == XtalShape::Square  ? Shape::Square
                      : shape == XtalShape::Round ? Shape::Round
                      : shape == XtalShape::Gauss ? Shape::Gauss
                                                  : Shape::Tophat;
    p.lattice.Na = x.Na;
    p.lattice.Nb = x.Nb;
    p.lattice.Nc = x.Nc;
    p.lattice.fudge = e.cfg.fudge;
    p.lattice.a_star = x.a_star;
    p.lattice.b_star = x.b_star;
    p.lattice.c_star = x.c_star;

    const HklGrid& g = e.hkl;
    p.hkl.F = g.F.empty() ? nullptr : g.F.data();
    p.hkl.h_min = g.h_min; p.hkl.h_max = g.h_max;
    p.hkl.k_min = g.k_min; p.hkl.k_max = g.k_max;
    p.hkl.l_min = g.l_min; p.hkl.l_max = g.l_max;
    p.hkl.h_range = g.h_range(); p.hkl.k_range = g.k_range(); p.hkl.l_range = g.l_range();
    p.hkl.hkls = g.hkls;
    p.default_F = e.cfg.default_F;
    p.interpolate = e.interpolate;

    p.I_bg = e.I_bg;
    p.water = e.cfg.water_size != 0.0;
    p.r_e_sqr = 7.94079248018965e-30;
    p.fluence = e.fluence;
    p.steps = e.steps;

    // The pixel whose first sweep C runs with the unrotated cell: the first
    // pixel, in serial order, that gets past the ROI, mask and -dmin cuts.
    p.first_sweep_pixel = -1;
    for (int sp = std::max(0, s.roi_ymin); sp <= std::min(s.roi_ymax, d.spixels - 1) && p.first_sweep_pixel < 0; ++sp)
        for (int fp = std::max(0, s.roi_xmin); fp <= std::min(s.roi_xmax, d.fpixels - 1); ++fp)
            if (pixel_enters_sweep(p, fp, sp)) {
                p.first_sweep_pixel = (long long)sp * d.fpixels + fp;
                break;
            }
}

}  // namespace

ImageStats image_stats(const Experiment& e, const std::vector<float>& image) {
    const DetectorGeometry& d = e.det;
    const Sampling& s = e.samp;
    ImageStats st;
    double sum = 0, sumsqr = 0;
    long long n = 0;
    const int os = s.oversample;
    const double sub = d.pixel_size / os;
    for (int sp = 0; sp < d.spixels; ++sp)
        for (int fp = 0; fp < d.fpixels; ++fp) {
            if (fp < s.roi_xmin || fp > s.roi_xmax || sp < s.roi_ymin || sp > s.roi_ymax) continue;
            long long idx = (long long)sp * d.fpixels + fp;
            if (!e.mask.empty() && e.mask[idx] == 0) continue;
            double v = image[idx];
            if (v > st.max_I) {
                st.max_I = v;
                st.max_I_x = sub * (fp * os + os - 1) + sub / 2.0;
                st.max_I_y = sub * (sp * os + os - 1) + sub / 2.0;
            }
            sum += v;
            sumsqr += v * v;
            ++n;
        }
    st.counted = n;
    st.sum = sum;
    long long sumn = n <= 0 ? 1 : n;
    st.mean = sum / sumn;
    if (sumn <= 1) sumn = 2;
    st.rms = std::sqrt(sumsqr / (sumn - 1));
    double dev = 0;
    long long m = 0;
    for (int sp = 0; sp < d.spixels; ++sp)
        for (int fp = 0; fp < d.fpixels; ++fp) {
            if (fp < s.roi_xmin || fp > s.roi_xmax || sp < s.roi_ymin || sp > s.roi_ymax) continue;
            double t = image[(long long)sp * d.fpixels + fp] - st.mean;
            dev += t * t;
            ++m;
        }
    if (m <= 1) m = 2;
    st.rmsd = std::sqrt(dev / (m - 1));
    return st;
}

RenderResult render_image(const Experiment& e, const RenderOptions& opt) {
    Staged st;
    stage(e, st);
    RenderResult r;
    r.backend = "cpu";
    r.image.assign((size_t)e.det.fpixels * e.det.spixels, 0.0f);
    InterpCutoff all{LLONG_MAX, 0};
    long long fail = render_image_cpu(st.p, all, 0, r.image.data(), opt.threads, opt.progress);
    if (fail >= 0) {
        // C switches interpolation off for the rest of the run at the first
        // out-of-range neighbourhood: re-render every later pixel without it.
        r.interp_disabled_at = fail;
        InterpCutoff none{-1, 0};
        render_image_cpu(st.p, none, fail + 1, r.image.data(), opt.threads, nullptr);
    }
    r.stats = image_stats(e, r.image);
    return r;
}

}  // namespace nb
