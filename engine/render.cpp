#include "engine/render.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include <omp.h>

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

void stage(const Experiment& e, Staged& st, const HklGrid& g) {
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

Device resolve_device(Device d) {
    if (d == Device::Auto) return cuda_device_count() > 0 ? Device::Cuda : Device::Cpu;
    return d;
}

std::string backend_name(Device device, Precision precision) {
    std::string name = device == Device::Cuda ? "cuda" : device == Device::HostPipeline ? "host-pipeline" : "cpu";
    return name + (precision == Precision::Float ? "/float" : "/double");
}

// A collected image out of the device's pinned copy, by up to 4 threads: one
// thread's copy bandwidth is a fraction of what the memory system gives, and
// more would take cores from the previous frame's writer (whose conversions
// use 4 as well) for little more bandwidth.
void parallel_copy(float* dst, const float* src, size_t n, int threads) {
    constexpr size_t chunk = (size_t)1 << 18;  // 1 MB of floats
    const long long chunks = (long long)((n + chunk - 1) / chunk);
    const int t = (int)std::min<long long>({threads > 0 ? threads : omp_get_max_threads(), 4, chunks});
    if (t < 2) {
        std::memcpy(dst, src, n * sizeof(float));
        return;
    }
#pragma omp parallel for schedule(static) num_threads(t)
    for (long long k = 0; k < chunks; ++k) {
        const size_t off = (size_t)k * chunk;
        std::memcpy(dst + off, src + off, std::min(chunk, n - off) * sizeof(float));
    }
}

// An image buffer the device's copy back fills whole: one of the right size
// (a recycled frame's) is used as it is, without zeroing it again.
void image_for_copy(std::vector<float>& image, size_t n) {
    if (image.size() == n) return;
    if (image.capacity() >= n) {
        image.resize(n);
        return;
    }
    allocate_zeroed(image, n);
}

// Runs C's two-pass interpolation protocol on the CPU executors. `rows` (may
// be null): per-row statistics, filled as rows finish.
template <typename T>
long long render_two_pass_cpu(const PixelParams<T>& p, const RenderOptions& opt, float* image, const Experiment& e,
                              StatsRows* rows) {
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

// The spots on the CPU, with their statistics: in the default mode from
// per-row sums taken as each row finishes (no extra pass over the image);
// -exact sums in C's order.
void render_spots_cpu(const Experiment& e, const RenderOptions& opt, RenderResult& r) {
    Staged st;
    stage(e, st, e.hkl);
    allocate_zeroed(r.image, (size_t)e.det.fpixels * e.det.spixels);
    const bool row_sums = !e.cfg.exact;
    StatsRows rows;
    if (row_sums) rows = stats_rows(e);
    StatsRows* rp = row_sums ? &rows : nullptr;
    if (opt.precision == Precision::Float) {
        FloatStaged fs;
        to_float(st, fs);
        r.interp_disabled_at = render_two_pass_cpu(fs.p, opt, r.image.data(), e, rp);
    } else {
        r.interp_disabled_at = render_two_pass_cpu(st.p, opt, r.image.data(), e, rp);
    }
    r.stats = row_sums ? combine_rows(e, r.image, rows) : image_stats(e, r.image, true, opt.threads);
}

template <typename T>
FrameTicket submit_staged(const Experiment& e, Device device, const PixelParams<T>& p) {
    // the background materials go with the spots, added on the device
    // before the statistics (no image round trip, no host pass)
    const BackgroundStaging<T> background(e);
    if (device == Device::Cuda) return submit_image_cuda(p, background.passes());
    return submit_frame(host_pipeline_backend(), p, true, background.passes());
}

// A frame queued on a device executor (the GPU, or the host backend of its
// pipeline): the host's staging is not needed once this returns.
FrameTicket submit_spots(const Experiment& e, const RenderOptions& opt, Device device) {
    Staged st;
    stage(e, st, e.hkl);
    if (opt.precision == Precision::Float) {
        FloatStaged fs;
        to_float(st, fs);
        return submit_staged(e, device, fs.p);
    }
    return submit_staged(e, device, st.p);
}

void collect_spots(const Experiment& e, const RenderOptions& opt, Device device, const FrameTicket& t,
                   RenderResult& r) {
    image_for_copy(r.image, t.npix);
    DeviceStats ds;
    r.interp_disabled_at = device == Device::Cuda
                               ? collect_image_cuda(t, r.image.data(), &ds, parallel_copy, opt.threads)
                               : collect_frame(host_pipeline_backend(), t, r.image.data(), &ds);
    if (!e.cfg.exact) {
        // the device reductions (deterministic: C's first-maximum rule is part
        // of the combine step): no pass over the image on the host
        r.stats = stats_from_sums(e, ds.max_I, ds.max_index, ds.sum, ds.sumsqr, ds.counted, ds.dev, ds.dev_counted,
                                  ds.nonfinite);
    } else {
        // -exact sums in C's order on the host, so that the printed digits and
        // the integer scale are C's
        r.stats = image_stats(e, r.image, true, opt.threads);
    }
    r.kernel_ms = ds.kernel_ms;
}

// The background materials on the CPU, added as their own images would be
// (docs/realistic.md); a device adds them before its statistics.
void add_background_cpu(const Experiment& e, const RenderOptions& opt, RenderResult& r) {
    if (e.amorphous.empty()) return;
    StageTimer tb("render: background");
    RenderOptions bg = opt;
    bg.progress = nullptr;
    add_amorphous_background(e, bg, r.image);
    r.stats = image_stats(e, r.image, e.cfg.exact, opt.threads);
}

// A whole frame on the CPU: spots, then background materials.
void render_frame_cpu(const Experiment& e, const RenderOptions& opt, RenderResult& r) {
    StageTimer tr("render: spots");
    render_spots_cpu(e, opt, r);
    tr.stop();
    add_background_cpu(e, opt, r);
}

}  // namespace

void with_staged_params(const Experiment& e, const HklGrid& hkl, Precision precision,
                        const std::function<void(const PixelParams<double>&)>& in_double,
                        const std::function<void(const PixelParams<float>&)>& in_float) {
    Staged st;
    stage(e, st, hkl);
    if (precision == Precision::Float) {
        FloatStaged fs;
        to_float(st, fs);
        in_float(fs.p);
    } else {
        in_double(st.p);
    }
}

RenderResult render_image(const Experiment& e, const RenderOptions& opt) {
    const Device device = resolve_device(opt.device);
    RenderResult r;
    r.backend = backend_name(device, opt.precision);
    if (device == Device::Cpu) {
        render_frame_cpu(e, opt, r);
    } else {
        StageTimer tr("render: spots");
        // one image at a time from here (threads of the Python module may
        // render at once): a device has two frame slots, and a FrameQueue
        // is the way to use both
        static std::mutex one_image;
        std::lock_guard<std::mutex> lock(one_image);
        collect_spots(e, opt, device, submit_spots(e, opt, device), r);
    }
    return r;
}

FrameQueue::FrameQueue(const RenderOptions& opt) : opt_(opt), device_(resolve_device(opt.device)) {
    depth_ = device_ == Device::Cpu ? 1 : SlotRing::kSlots;
}

FrameQueue::~FrameQueue() {
    // frames still in flight (a run stopped by an error) give their slots back
    while (!pending_.empty()) {
        try {
            collect();  // takes the frame off the queue first, so this ends
        } catch (...) {
        }
    }
}

void FrameQueue::submit(const Experiment& e) {
    if ((int)pending_.size() >= depth_)
        throw std::logic_error("FrameQueue: submit with " + std::to_string(depth_) + " frames in flight");
    Pending p;
    p.exp = geometry_copy(e);
    p.result.backend = backend_name(device_, opt_.precision);
    p.result.image = take_spare();
    if (device_ == Device::Cpu) {
        render_frame_cpu(e, opt_, p.result);
        p.done = true;
    } else {
        StageTimer tr("render: submit spots");
        p.ticket = submit_spots(e, opt_, device_);
    }
    pending_.push_back(std::move(p));
}

FrameQueue::Frame FrameQueue::collect() {
    if (pending_.empty()) throw std::logic_error("FrameQueue: collect with no frame in flight");
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    if (!p.done) {
        StageTimer tr("render: collect spots");
        collect_spots(p.exp, opt_, device_, p.ticket, p.result);
    }
    return Frame{std::move(p.exp), std::move(p.result)};
}

void FrameQueue::recycle(std::vector<float>&& image) {
    std::lock_guard<std::mutex> lock(spare_mutex_);
    if (spare_.size() < 3 && image.capacity() > 0) spare_.push_back(std::move(image));
}

std::vector<float> FrameQueue::take_spare() {
    std::lock_guard<std::mutex> lock(spare_mutex_);
    if (spare_.empty()) return {};
    std::vector<float> v = std::move(spare_.back());
    spare_.pop_back();
    return v;
}

}  // namespace nb
