// What the CPU executors (scalar kernels/cpu_launcher.cpp, SIMD
// kernels/cpu_simd.cpp) share around their per-pixel work: the rows and
// columns they cover, the shared mark of the first pixel where tricubic
// interpolation failed (pixels after it are re-rendered by the caller
// without interpolation, so a pass may skip them), and the rows' hooks.
// Every function is static: the SIMD file is compiled once per ISA.
#pragma once

#include <omp.h>

#include <algorithm>
#include <atomic>

#include "kernels/cpu_launcher.hpp"
#include "kernels/pixel_params.hpp"

namespace nb {

struct PixelSpan {
    int s_lo, s_hi, f_lo, f_hi;  // inclusive, the ROI clipped to the detector
    bool empty() const { return s_lo > s_hi || f_lo > f_hi; }
    int rows() const { return s_hi - s_lo + 1; }
};

template <typename T>
static inline PixelSpan roi_span(const PixelParams<T>& p) {
    return {std::max(p.roi_ymin, 0), std::min(p.roi_ymax, p.spixels - 1), std::max(p.roi_xmin, 0),
            std::min(p.roi_xmax, p.fpixels - 1)};
}

// Lowers the shared mark to idx when idx is earlier (lock-free, any thread).
static inline void lower_failure_mark(std::atomic<long long>& mark, long long idx) {
    long long seen = mark.load(std::memory_order_relaxed);
    while (idx < seen && !mark.compare_exchange_weak(seen, idx)) {
    }
}

// One pixel by render_pixel_reference into the image; an interpolation failure
// lowers the thread's first failure and the shared mark.
template <typename T>
static inline void store_reference_pixel(const PixelParams<T>& q, int f, int s, InterpCutoff cutoff, long long idx,
                                         float* image, long long& first_failure,
                                         std::atomic<long long>& known_failure) {
    const PixelResult r = render_pixel_reference(q, f, s, cutoff);
    image[idx] = (float)r.value;
    if (r.first_interp_failure >= 0 && idx < first_failure) {
        first_failure = idx;
        lower_failure_mark(known_failure, idx);
    }
}

// The rows of a pass as they finish (row_finished).
struct RowCount {
    const int rows;
    std::atomic<int> done{0};
};

// Row s is final for this pass: its hook, then the progress (from thread 0, as
// the fraction of rows done). A row an interpolation failure cut short is not
// final (final = false): the next pass re-renders and reports it.
static inline void row_finished(const RowHooks& hooks, RowCount& count, int s, bool final = true) {
    if (final && hooks.row_done) hooks.row_done(s);
    const int done = ++count.done;
    if (hooks.progress && omp_get_thread_num() == 0) hooks.progress((double)done / count.rows);
}

}  // namespace nb
