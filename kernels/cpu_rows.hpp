// What the CPU executors (scalar kernels/cpu_launcher.cpp, SIMD
// kernels/cpu_simd.cpp) share around their per-pixel work: the rows and
// columns they cover, and the shared mark of the first pixel where tricubic
// interpolation failed (pixels after it are re-rendered by the caller
// without interpolation, so a pass may skip them).
#pragma once

#include <algorithm>
#include <atomic>

#include "kernels/pixel_params.hpp"

namespace nb {

struct PixelSpan {
    int s_lo, s_hi, f_lo, f_hi;  // inclusive, the ROI clipped to the detector
    bool empty() const { return s_lo > s_hi || f_lo > f_hi; }
    int rows() const { return s_hi - s_lo + 1; }
};

template <typename T>
inline PixelSpan roi_span(const PixelParams<T>& p) {
    return {std::max(p.roi_ymin, 0), std::min(p.roi_ymax, p.spixels - 1), std::max(p.roi_xmin, 0),
            std::min(p.roi_xmax, p.fpixels - 1)};
}

// Lowers the shared mark to idx when idx is earlier (lock-free, any thread).
inline void lower_failure_mark(std::atomic<long long>& mark, long long idx) {
    long long seen = mark.load(std::memory_order_relaxed);
    while (idx < seen && !mark.compare_exchange_weak(seen, idx)) {
    }
}

}  // namespace nb
