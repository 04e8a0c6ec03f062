// One frame on a device, written once over a Backend: the CUDA backend
// (kernels/cuda_launcher.cu) and a host backend (kernels/frame_host_backend.hpp)
// that runs the same staging, passes, reductions and copies on the CPU, so that
// CI checks this logic against the CPU executors without a GPU.
//
// A frame is submitted, then collected: a backend has two frame slots (image,
// statistics and their host copies), so that the next frame's kernels run
// while the previous frame's copy back and the host's work on it go on.
//
// A Backend provides, in stream order:
//   SlotRing& slots()                                  which slot a frame takes
//   const U* upload(Table, const U* host, size_t n)   reusable buffer per table
//   const U* hkl_grid(const U* host, size_t n)         re-uploaded only when its bytes change
//   float* zeroed_image(int slot, size_t n)           after the slot's last copy back has read it
//   unsigned long long* reset_flag()
//   void load_render(const PixelParams<T>&)            the render kernel's code on the device, before the timing
//   void mark_start(int slot); void mark_rendered(int slot); double kernel_ms(int slot)
//   BeamList* reset_beam_list(size_t capacity)         pixels on a round crystal's direct beam
//   void render(const PixelParams<T>&, InterpCutoff, long long from_pixel, float* image, unsigned long long* flag)
//   void add_background(const PixelParams<T>&, const AmorphousParams<T>&, const PolarizationFrame<T>*, float* image)
//   void find_beam_pixels(const PixelParams<T>&, BeamList*)   pixel_on_direct_beam over the image
//   unsigned long long read_flag(const unsigned long long* flag)   waits
//   std::vector<long long> read_beam_list(const BeamList*)        waits
//   void patch(float* image, const std::vector<long long>& idx, const std::vector<float>& values)
//   FrameResults* results(int slot)
//   void reduce(Op, Combine, R init, long long n, R* out)
//   void copy_back(int slot, const float* image, size_t n, const FrameResults* results)   queued, no wait
//   void collect(int slot, float* host_image, size_t n, FrameResults* host)   waits for the slot's copy
#pragma once
#include <algorithm>
#include <climits>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/amorphous_physics.hpp"
#include "kernels/cpu_launcher.hpp"
#include "kernels/cuda_launcher.hpp"
#include "kernels/frame_reductions.hpp"
#include "kernels/pixel_physics.hpp"

namespace nb {

// The tables a backend keeps a buffer for: the spots', then a background
// pass's (its sources, their polarization frames, and 4 arrays per material).
enum class Table {
    Mask,
    SourceDir,
    SourceLambda,
    SourceWeight,
    Cells,
    CellsFirst,
    Panels,
    Frames,
    BgSourceDir,
    BgSourceLambda,
    BgSourceWeight,
    BgFrames,
    BgMaterials,
    Count = BgMaterials + 4 * kMaxMaterials
};
inline Table material_table(int m, int k) { return (Table)((int)Table::BgMaterials + 4 * m + k); }

// Pixels the kernel found on a round crystal's direct beam: their value
// depends on the last bit of C's double arithmetic (kernels/pixel_physics.hpp,
// on_direct_beam), which fused multiply-adds and single precision do not
// keep, so the host renders them again with C's rounding.
struct BeamList {
    unsigned long long count;  // may exceed capacity: then the list is incomplete
    unsigned long long capacity;
    long long* index;
};

// Which pixels a render pass covers, in two steps so that the kernel can
// return as early as it did before they were shared (one predicate returning
// an index cost the float kernel 16 more bytes of spills under its register
// bound): inside the image and the ROI, then not before `from_pixel` and not
// masked.
template <typename T>
NB_HD_INLINE bool pixel_in_roi(const PixelParams<T>& p, int f, int s) {
    return f < p.fpixels && s < p.spixels && f >= p.roi_xmin && f <= p.roi_xmax && s >= p.roi_ymin && s <= p.roi_ymax;
}
template <typename T>
NB_HD_INLINE bool pixel_in_pass(const PixelParams<T>& p, long long idx, long long from_pixel) {
    return idx >= from_pixel && !(p.mask && p.mask[idx] == 0);
}
// The rows a launch covers: the ROI's (with several panels, one panel's, see
// render_frame), so that a panel's launch has no blocks for the other panels.
template <typename T>
NB_HD_INLINE int first_row(const PixelParams<T>& p) {
    return p.roi_ymin > 0 ? p.roi_ymin : 0;
}
template <typename T>
NB_HD_INLINE int row_count(const PixelParams<T>& p) {
    const int last = p.roi_ymax < p.spixels - 1 ? p.roi_ymax : p.spixels - 1;
    return last >= first_row(p) ? last - first_row(p) + 1 : 0;
}
template <typename T>
NB_HD_INLINE long long pixel_to_render(const PixelParams<T>& p, int f, int s, long long from_pixel) {
    if (!pixel_in_roi(p, f, s)) return -1;
    const long long idx = (long long)s * p.fpixels + f;
    return pixel_in_pass(p, idx, from_pixel) ? idx : -1;
}

// Appends a direct-beam pixel to the list at `slot` (the count keeps rising past capacity).
NB_HD_INLINE void note_beam_pixel(BeamList* beam, unsigned long long slot, long long idx) {
    if (slot < beam->capacity) beam->index[slot] = idx;
}

// The parameters of one launch per panel, each with its panel's frame and its
// rows as the ROI (p.panels a host table); p itself with one panel.
template <typename T>
std::vector<PixelParams<T>> launch_views(const PixelParams<T>& p) {
    std::vector<PixelParams<T>> views;
    if (!p.panels) return {p};
    for (int k = 0; k * p.panel_rows < p.spixels; ++k) {
        PixelParams<T> v = panel_params(p, k * p.panel_rows);
        v.roi_ymin = std::max(p.roi_ymin, k * p.panel_rows);
        v.roi_ymax = std::min(p.roi_ymax, (k + 1) * p.panel_rows - 1);
        if (v.roi_ymin <= v.roi_ymax) views.push_back(v);
    }
    return views;
}

// Adds a background pass (up to kMaxMaterials amorphous materials) to the
// frame's image on the device, in place: each pixel's float sum in the order
// the CPU adds them after its spots (engine/amorphous.hpp).
template <typename Backend, typename T>
void add_background_pass(Backend& b, const BackgroundPass<T>& bg, const uint16_t* d_mask, float* d_image) {
    PixelParams<T> p = bg.p;
    AmorphousParams<T> a = bg.a;
    const std::vector<PolarizationFrame<T>> frames = source_polarization_frames(p);
    p.source_dir = b.upload(Table::BgSourceDir, p.source_dir, 3 * (size_t)p.sources);
    p.source_lambda = b.upload(Table::BgSourceLambda, p.source_lambda, (size_t)p.sources);
    p.source_weight = b.upload(Table::BgSourceWeight, p.source_weight, p.source_weight ? (size_t)p.sources : 0);
    p.mask = d_mask;
    p.reference = nullptr;
    const PolarizationFrame<T>* d_frames = b.upload(Table::BgFrames, frames.data(), frames.size());
    for (int m = 0; m < a.materials; ++m) {
        AmorphousTable<T>& t = a.tables[m];
        t.stol = b.upload(material_table(m, 0), t.stol, (size_t)t.rows);
        t.F = b.upload(material_table(m, 1), t.F, (size_t)t.rows);
        t.cubic = b.upload(material_table(m, 2), t.cubic, t.cubic ? 6 * (size_t)t.rows : 0);
        t.bucket = b.upload(material_table(m, 3), t.bucket, (size_t)t.buckets);
    }
    // several panels: a launch per panel with its frame and rows, as the spots
    for (const PixelParams<T>& v : launch_views(p)) b.add_background(v, a, d_frames, d_image);
}

// The two frame slots of a backend: frame k takes slot k % 2, and a slot is
// taken again only after its frame was collected (a third frame in flight
// would overwrite the host copy of the first before anyone read it).
class SlotRing {
public:
    static constexpr int kSlots = 2;
    int take() {
        const int s = next_;
        if (busy_[s]) throw std::logic_error("frame pipeline: a third frame submitted before the first was collected");
        busy_[s] = true;
        next_ = (next_ + 1) % kSlots;
        return s;
    }
    bool busy(int s) const { return s >= 0 && s < kSlots && busy_[s]; }
    // never throws: scope guards call it on the way out of an exception
    void give_back(int s) noexcept {
        if (s >= 0 && s < kSlots) busy_[s] = false;
    }
    int in_flight() const { return (int)busy_[0] + (int)busy_[1]; }

private:
    bool busy_[kSlots] = {false, false};
    int next_ = 0;
};

// Queues hp's frame on the backend with C's two-pass interpolation protocol,
// the background materials and the statistics reductions (when `stats`), up to the copy back into its
// slot's host buffer; waits mid-frame only when interpolating (C's switch-off
// point) or for a round crystal's direct-beam pixels.
// `background`: amorphous materials added to the spots on the device before
// the statistics (engine/amorphous.hpp, BackgroundStaging).
template <typename Backend, typename T>
FrameTicket submit_frame(Backend& b, const PixelParams<T>& hp, bool stats,
                         const std::vector<BackgroundPass<T>>& background = {}) {
    const size_t npix = (size_t)hp.fpixels * hp.spixels;
    const size_t pairs = (size_t)hp.phisteps * hp.mosaic_domains;
    const size_t nF = hp.hkl.F ? (size_t)hp.hkl.h_range * hp.hkl.k_range * hp.hkl.l_range : 0;

    const int slot = b.slots().take();
    struct GiveBackOnThrow {
        Backend& b;
        int slot;
        bool armed = true;
        ~GiveBackOnThrow() {
            if (armed) b.slots().give_back(slot);
        }
    } guard{b, slot};

    PixelParams<T> dp = hp;
    dp.mask = b.upload(Table::Mask, hp.mask, hp.mask ? npix : 0);
    dp.source_dir = b.upload(Table::SourceDir, hp.source_dir, 3 * (size_t)hp.sources);
    dp.source_lambda = b.upload(Table::SourceLambda, hp.source_lambda, (size_t)hp.sources);
    dp.source_weight = b.upload(Table::SourceWeight, hp.source_weight, hp.source_weight ? (size_t)hp.sources : 0);
    const std::vector<PolarizationFrame<T>> frames = source_polarization_frames(hp);
    dp.polar_frames = b.upload(Table::Frames, frames.data(), frames.size());
    // the device's cell tables interleaved (kernels/sweep_case.hpp)
    const std::vector<T> cells = interleave_cells(hp.cells, pairs);
    const std::vector<T> cells_first = interleave_cells(hp.cells_first, pairs);
    dp.cells = b.upload(Table::Cells, cells.data(), cells.size());
    dp.cells_first = b.upload(Table::CellsFirst, cells_first.data(), cells_first.size());
    const size_t npanels = hp.panels ? (size_t)(hp.spixels / hp.panel_rows) : 0;
    dp.panels = b.upload(Table::Panels, hp.panels, npanels);
    dp.hkl.F = b.hkl_grid(hp.hkl.F, nF);
    float* d_image = b.zeroed_image(slot, npix);
    unsigned long long* d_fail = b.reset_flag();
    const bool round = hp.lattice.shape == Shape::Round;
    BeamList* d_beam = round ? b.reset_beam_list(std::min<size_t>(npix, 1u << 20)) : nullptr;

    // Several panels: one launch per panel on the same stream, each with its
    // panel's frame in the parameters and its rows as the ROI (the device code
    // reads no panel table, so the kernel keeps its registers and no stack)
    PixelParams<T> base = dp;
    base.panels = hp.panels;  // host table: panel_params reads it here
    const std::vector<PixelParams<T>> views = launch_views(base);
    // kernel_ms times the passes alone: loading the kernel's code (a module's
    // first launch in a process) is start-up, not rendering
    b.load_render(dp);
    b.mark_start(slot);
    for (const PixelParams<T>& v : views) b.render(v, InterpCutoff{LLONG_MAX, 0}, 0, d_image, d_fail);
    unsigned long long fail = ULLONG_MAX;
    if (hp.interpolate) {
        // C switches interpolation off for the rest of the image at the first
        // out-of-range neighbourhood, in serial order: re-render every later
        // pixel without it (a mid-frame wait only when interpolating)
        fail = b.read_flag(d_fail);
        if (fail != ULLONG_MAX)
            for (const PixelParams<T>& v : views)
                b.render(v, InterpCutoff{-1, 0}, (long long)fail + 1, d_image, d_fail);
    }
    b.mark_rendered(slot);
    if (round) {
        for (const PixelParams<T>& v : views) b.find_beam_pixels(v, d_beam);
        // a round crystal's direct-beam pixels, again with C's rounding on the
        // host (from the double-precision staging in float), before the statistics
        std::vector<long long> beam = b.read_beam_list(d_beam);
        if (!beam.empty()) {
            std::sort(beam.begin(), beam.end());
            beam.erase(std::unique(beam.begin(), beam.end()), beam.end());
            std::vector<float> values(beam.size());
            for (size_t i = 0; i < beam.size(); ++i) {
                const long long idx = beam[i];
                const InterpCutoff cut =
                    (fail != ULLONG_MAX && idx > (long long)fail) ? InterpCutoff{-1, 0} : InterpCutoff{LLONG_MAX, 0};
                values[i] =
                    (float)render_pixel_reference(hp, (int)(idx % hp.fpixels), (int)(idx / hp.fpixels), cut).value;
            }
            b.patch(d_image, beam, values);
        }
    }
    for (const BackgroundPass<T>& bg : background) add_background_pass(b, bg, dp.mask, d_image);
    FrameResults* d_results = b.results(slot);
    if (stats) {
        MomentsOf op{d_image, dp.mask, hp.fpixels, hp.roi_xmin, hp.roi_xmax, hp.roi_ymin, hp.roi_ymax};
        b.reduce(op, CombineMoments{}, PixelMoments{0, 0, 0, -1, 0}, (long long)npix, &d_results->moments);
        // the second pass C makes for rmsd, over every ROI pixel
        SpreadOf sop{d_image, &d_results->moments, hp.fpixels, hp.roi_xmin, hp.roi_xmax, hp.roi_ymin, hp.roi_ymax};
        b.reduce(sop, AddSpread{}, Spread{0, 0, 0}, (long long)npix, &d_results->spread);
    }
    b.copy_back(slot, d_image, npix, stats ? d_results : nullptr);
    guard.armed = false;
    return FrameTicket{slot, fail == ULLONG_MAX ? -1 : (long long)fail, npix, stats};
}

// Waits for a submitted frame's copy back: its image into `image` (host
// memory, fpixels*spixels floats) and its statistics into `stats` (when the
// frame was submitted with them). Returns the pixel where interpolation
// switched off, or -1. The slot is free again afterwards, even on an error.
template <typename Backend>
long long collect_frame(Backend& b, const FrameTicket& t, float* image, DeviceStats* stats) {
    if (!b.slots().busy(t.slot)) throw std::logic_error("frame pipeline: a frame collected twice");
    struct GiveBack {
        Backend& b;
        int slot;
        ~GiveBack() { b.slots().give_back(slot); }
    } give_back{b, t.slot};
    FrameResults res{};
    b.collect(t.slot, image, t.npix, t.stats ? &res : nullptr);
    if (stats && t.stats) {
        stats->sum = res.moments.sum;
        stats->sumsqr = res.moments.sumsqr;
        stats->max_I = res.moments.max_index >= 0 ? res.moments.max_I : 0.0;
        stats->max_index = res.moments.max_index;
        stats->counted = res.moments.counted;
        stats->dev = res.spread.dev;
        stats->dev_counted = res.spread.m;
        stats->nonfinite = res.spread.nonfinite;
        stats->kernel_ms = b.kernel_ms(t.slot);
    }
    return t.interp_disabled_at;
}

}  // namespace nb
