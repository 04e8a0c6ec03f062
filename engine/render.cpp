#include "engine/render.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>

#include "engine/amorphous.hpp"
#include "engine/stage_geometry.hpp"
#include "engine/stage_timer.hpp"
#include "engine/zeroed_buffer.hpp"
#include "kernels/cpu_launcher.hpp"
#include "kernels/cuda_launcher.hpp"
#include "kernels/frame_host_backend.hpp"
#include "kernels/rotation.hpp"

namespace nb {

std::vector<double> stage_cell_table(const Experiment& e, bool first_sweep) {
    const Sampling& s = e.samp;
    const Crystal& x = e.xtal;
    Vec3D ap = x.a, bp = x.b, cp = x.c;
    // C rotates the cell only when phi != 0; otherwise the previous cell stays
    auto spindle_step = [&](int t) {
        double phi = s.phi0 + s.phistep * t;
        if (phi != 0.0) {
            ap = rotate_axis(x.a, e.det.spindle, phi);
            bp = rotate_axis(x.b, e.det.spindle, phi);
            cp = rotate_axis(x.c, e.det.spindle, phi);
        }
    };
    if (!first_sweep) {
        // the carry-over into every later sweep: the last phi != 0 step's cell
        for (int t = 0; t < s.phisteps; ++t) spindle_step(t);
    }
    std::vector<double> table;
    table.reserve((size_t)9 * s.phisteps * s.mosaic_domains);
    for (int t = 0; t < s.phisteps; ++t) {
        spindle_step(t);
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
    std::vector<double> cells, cells_first, source_dir, source_lambda, source_weight;
    std::vector<PanelFrame<double>> panels;
};

void stage(const Experiment& e, Staged& st) {
    const DetectorGeometry& d = e.det;
    const Sampling& s = e.samp;
    PixelParams<double>& p = st.p;
    SourceTables<double> src;
    stage_geometry(e, e.src.applied_weight, p, src);
    st.source_dir = std::move(src.dir);
    st.source_lambda = std::move(src.lambda);
    st.source_weight = std::move(src.weight);
    st.panels = std::move(src.panels);
    p.panels = st.panels.empty() ? nullptr : st.panels.data();
    p.source_dir = st.source_dir.data();
    p.source_lambda = st.source_lambda.data();
    p.source_weight = st.source_weight.empty() ? nullptr : st.source_weight.data();

    // the kernel reads the cell tables structure-of-arrays (vector loads per component)
    auto soa = [](const std::vector<double>& aos) {
        const size_t pairs = aos.size() / 9;
        std::vector<double> out(aos.size());
        for (size_t j = 0; j < pairs; ++j)
            for (size_t c = 0; c < 9; ++c) out[c * pairs + j] = aos[9 * j + c];
        return out;
    };
    st.cells = soa(stage_cell_table(e, false));
    st.cells_first = soa(stage_cell_table(e, true));
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
    p.lattice.c_exact_sincg = e.cfg.exact_sincg;
    p.exact = e.cfg.exact;

    const HklGrid& g = e.hkl;
    p.hkl.F = g.F.empty() ? nullptr : g.F.data();
    p.hkl.h_min = g.h_min;
    p.hkl.h_max = g.h_max;
    p.hkl.k_min = g.k_min;
    p.hkl.k_max = g.k_max;
    p.hkl.l_min = g.l_min;
    p.hkl.l_max = g.l_max;
    p.hkl.h_range = g.h_range();
    p.hkl.k_range = g.k_range();
    p.hkl.l_range = g.l_range();
    p.hkl.hkls = g.hkls;
    p.default_F = e.cfg.default_F;
    p.interpolate = e.interpolate;

    p.I_bg = e.I_bg;
    p.water = e.cfg.water_size != 0.0;
    p.r_e_sqr = 7.94079248018965e-30;
    p.fluence = e.fluence;
    p.steps = e.steps;

    // The pixel whose first sweep C runs with the unrotated cell: the first
    // pixel, in serial order, that gets past the ROI, mask and -dmin cuts. With
    // several panels (-expt) it is the stacked image's first, as if the
    // detector were one C image.
    p.first_sweep_pixel = -1;
    for (int sp = std::max(0, s.roi_ymin); sp <= std::min(s.roi_ymax, d.spixels - 1) && p.first_sweep_pixel < 0; ++sp)
        for (int fp = std::max(0, s.roi_xmin); fp <= std::min(s.roi_xmax, d.fpixels - 1); ++fp)
            if (pixel_enters_sweep(p, fp, sp)) {
                p.first_sweep_pixel = (long long)sp * d.fpixels + fp;
                break;
            }
    // -expt: where that first sweep is no different (no phi step at exactly 0),
    // no pixel is set apart, so that a panel renders the same bits alone or
    // among others in every precision (its group would otherwise take the
    // C-rounded path)
    if (e.cfg.expt && st.cells_first == st.cells) p.first_sweep_pixel = -1;
}

}  // namespace

double evaluation_count(const Experiment& e) {
    const Sampling& s = e.samp;
    double w = std::min(s.roi_xmax, e.det.fpixels - 1) - std::max(s.roi_xmin, 0) + 1;
    double h = std::min(s.roi_ymax, e.det.spixels - 1) - std::max(s.roi_ymin, 0) + 1;
    if (w < 0 || h < 0) return 0;
    return w * h * s.oversample * s.oversample * (double)e.src.direction.size() * s.mosaic_domains * s.phisteps *
           s.thicksteps;
}

namespace {

// Single-precision copy of the staged tables (float mode).
struct FloatStaged {
    PixelParams<float> p;
    std::vector<float> cells, cells_first, source_dir, source_lambda, source_weight, F;
    std::vector<PanelFrame<float>> panels;
};

std::vector<float> narrow(const double* src, size_t n) {
    std::vector<float> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = (float)src[i];
    return out;
}

Vec3<float> narrow(const Vec3D& v) { return Vec3<float>{(float)v.x, (float)v.y, (float)v.z}; }

void to_float(const Staged& d, FloatStaged& f) {
    const PixelParams<double>& p = d.p;
    PixelParams<float>& q = f.p;
    q.fpixels = p.fpixels;
    q.spixels = p.spixels;
    q.roi_xmin = p.roi_xmin;
    q.roi_xmax = p.roi_xmax;
    q.roi_ymin = p.roi_ymin;
    q.roi_ymax = p.roi_ymax;
    q.mask = p.mask;
    q.oversample = p.oversample;
    q.pixel_size = (float)p.pixel_size;
    q.subpixel_size = (float)p.subpixel_size;
    q.fdet = narrow(p.fdet);
    q.sdet = narrow(p.sdet);
    q.odet = narrow(p.odet);
    q.pix0 = narrow(p.pix0);
    q.beam = narrow(p.beam);
    q.distance = (float)p.distance;
    q.close_distance = (float)p.close_distance;
    q.curved_detector = p.curved_detector;
    q.point_pixel = p.point_pixel;
    for (const PanelFrame<double>& k : d.panels)
        f.panels.push_back(PanelFrame<float>{narrow(k.fdet), narrow(k.sdet), narrow(k.odet), narrow(k.pix0),
                                             (float)k.distance, (float)k.close_distance});
    q.panels = f.panels.empty() ? nullptr : f.panels.data();
    q.panel_rows = p.panel_rows;
    q.thicksteps = p.thicksteps;
    q.thick = (float)p.thick;
    q.thickstep = (float)p.thickstep;
    q.mu = (float)p.mu;
    q.oversample_thick = p.oversample_thick;
    q.oversample_polar = p.oversample_polar;
    q.oversample_omega = p.oversample_omega;
    f.source_dir = narrow(d.source_dir.data(), d.source_dir.size());
    f.source_lambda = narrow(d.source_lambda.data(), d.source_lambda.size());
    q.sources = p.sources;
    q.source_dir = f.source_dir.data();
    q.source_lambda = f.source_lambda.data();
    f.source_weight = narrow(d.source_weight.data(), d.source_weight.size());
    q.source_weight = p.source_weight ? f.source_weight.data() : nullptr;
    q.dmin = (float)p.dmin;
    q.nopolar = p.nopolar;
    q.polarization = (float)p.polarization;
    q.polar_vector = narrow(p.polar_vector);
    f.cells = narrow(d.cells.data(), d.cells.size());
    f.cells_first = narrow(d.cells_first.data(), d.cells_first.size());
    q.phisteps = p.phisteps;
    q.mosaic_domains = p.mosaic_domains;
    q.cells = f.cells.data();
    q.cells_first = f.cells_first.data();
    q.first_sweep_pixel = p.first_sweep_pixel;
    q.lattice.shape = p.lattice.shape;
    q.lattice.Na = (float)p.lattice.Na;
    q.lattice.Nb = (float)p.lattice.Nb;
    q.lattice.Nc = (float)p.lattice.Nc;
    q.lattice.fudge = (float)p.lattice.fudge;
    q.lattice.a_star = narrow(p.lattice.a_star);
    q.lattice.b_star = narrow(p.lattice.b_star);
    q.lattice.c_star = narrow(p.lattice.c_star);
    q.lattice.c_exact_sincg = p.lattice.c_exact_sincg;
    size_t nF = (size_t)p.hkl.h_range * p.hkl.k_range * p.hkl.l_range;
    if (p.hkl.F) f.F = narrow(p.hkl.F, nF);
    q.hkl.F = p.hkl.F ? f.F.data() : nullptr;
    q.hkl.h_min = p.hkl.h_min;
    q.hkl.h_max = p.hkl.h_max;
    q.hkl.k_min = p.hkl.k_min;
    q.hkl.k_max = p.hkl.k_max;
    q.hkl.l_min = p.hkl.l_min;
    q.hkl.l_max = p.hkl.l_max;
    q.hkl.h_range = p.hkl.h_range;
    q.hkl.k_range = p.hkl.k_range;
    q.hkl.l_range = p.hkl.l_range;
    q.hkl.hkls = p.hkl.hkls;
    q.default_F = (float)p.default_F;
    q.interpolate = p.interpolate;
    q.I_bg = (float)p.I_bg;
    q.water = p.water;
    q.r_e_sqr = p.r_e_sqr;
    q.fluence = p.fluence;
    q.steps = p.steps;
    q.exact = p.exact;
    q.reference = &p;  // pixels on a round crystal's direct beam (kernels/cpu_launcher.hpp)
}

}  // namespace

HostFrameBackend& host_pipeline_backend() {
    static HostFrameBackend backend;
    return backend;
}

namespace {

// Runs C's two-pass interpolation protocol on one executor. `rows` (may be
// null): per-row statistics, filled by the CPU executor as rows finish.
template <typename T>
long long render_two_pass(const PixelParams<T>& p, Device device, const RenderOptions& opt, float* image,
                          DeviceStats* dstats, const Experiment& e, StatsRows* rows) {
    if (device == Device::Cuda) {
        // the device launcher runs both passes and the reductions itself, device-resident
        return render_image_cuda(p, image, dstats);
    }
    if (device == Device::HostPipeline) return render_frame(host_pipeline_backend(), p, image, dstats);
    InterpCutoff all{LLONG_MAX, 0};
    InterpCutoff none{-1, 0};
    RowHooks hooks;
    hooks.progress = opt.progress;
    if (rows) hooks.row_done = [&e, image, rows](int s) { rows->rows[s - rows->s_lo] = row_stats(e, image, s, *rows); };
    long long fail = render_image_cpu(p, all, 0, image, opt.threads, hooks);
    // C switches interpolation off for the rest of the run at the first
    // out-of-range neighbourhood: re-render every later pixel without it.
    hooks.progress = nullptr;
    if (fail >= 0) render_image_cpu(p, none, fail + 1, image, opt.threads, hooks);
    return fail;
}

}  // namespace

RenderResult render_image(const Experiment& e, const RenderOptions& opt) {
    Staged st;
    stage(e, st);
    RenderResult r;
    Device device = opt.device;
    if (device == Device::Auto) device = cuda_device_count() > 0 ? Device::Cuda : Device::Cpu;
    r.backend = device == Device::Cuda ? "cuda" : device == Device::HostPipeline ? "host-pipeline" : "cpu";
    r.backend += opt.precision == Precision::Float ? "/float" : "/double";
    allocate_zeroed(r.image, (size_t)e.det.fpixels * e.det.spixels);
    DeviceStats ds;
    DeviceStats* dstats = device == Device::Cuda || device == Device::HostPipeline ? &ds : nullptr;
    // Default mode on the CPU: the statistics come from per-row sums taken as
    // each row finishes (no extra pass over the image); -exact sums in C's order.
    const bool row_sums = device == Device::Cpu && !e.cfg.exact;
    StatsRows rows;
    if (row_sums) rows = stats_rows(e);
    StageTimer tr("render: spots");
    if (opt.precision == Precision::Float) {
        FloatStaged fs;
        to_float(st, fs);
        r.interp_disabled_at =
            render_two_pass(fs.p, device, opt, r.image.data(), dstats, e, row_sums ? &rows : nullptr);
    } else {
        r.interp_disabled_at =
            render_two_pass(st.p, device, opt, r.image.data(), dstats, e, row_sums ? &rows : nullptr);
    }
    if (dstats && !e.cfg.exact) {
        // the device reductions (deterministic: C's first-maximum rule is part
        // of the combine step): no pass over the image on the host
        r.stats = stats_from_sums(e, ds.max_I, ds.max_index, ds.sum, ds.sumsqr, ds.counted, ds.dev, ds.dev_counted,
                                  ds.nonfinite);
    } else {
        // -exact sums in C's order on the host, so that the printed digits and
        // the integer scale are C's
        r.stats = row_sums ? combine_rows(e, r.image, rows) : image_stats(e, r.image, e.cfg.exact, opt.threads);
    }
    tr.stop();
    if (dstats) r.kernel_ms = ds.kernel_ms;
    if (!e.amorphous.empty()) {
        StageTimer tb("render: background");
        // the background materials are added as their own images would be (docs/realistic.md)
        RenderOptions bg = opt;
        bg.device = device == Device::Cuda ? Device::Cuda : Device::Cpu;
        bg.progress = nullptr;
        add_amorphous_background(e, bg, r.image);
        r.stats = image_stats(e, r.image, e.cfg.exact, opt.threads);
    }
    return r;
}

}  // namespace nb
