// The per-frame statistics as two reductions over pixel indices, written once
// for the GPU (CUB, kernels/cuda_launcher.cu) and the host backend that tests
// the same orchestration without a GPU (kernels/frame_host_backend.hpp).
#pragma once
#include <cstdint>

#include "kernels/hd.hpp"

namespace nb {

// Unmasked ROI pixels: sum, sum of squares, count, and C's first strict maximum.
struct PixelMoments {
    double sum, sumsqr, max_I;
    long long max_index, counted;
};

struct MomentsOf {
    const float* image;
    const uint16_t* mask;
    int fpixels, roi_xmin, roi_xmax, roi_ymin, roi_ymax;
    NB_HD_METHOD PixelMoments operator()(long long idx) const {
        int f = (int)(idx % fpixels), s = (int)(idx / fpixels);
        if (f < roi_xmin || f > roi_xmax || s < roi_ymin || s > roi_ymax || (mask && mask[idx] == 0))
            return PixelMoments{0, 0, 0, -1, 0};
        const float x = image[idx];
        const float sq = x * x;  // C squares in float (engine/image_stats.hpp, c_square)
        const double v = x;
        return PixelMoments{v, sq, v, v > 0 ? idx : -1, 1};
    }
};

// C keeps the first strict maximum in serial order (starting from 0); ties go
// to the lower index, so any reduction order gives C's pixel.
struct CombineMoments {
    NB_HD_METHOD PixelMoments operator()(const PixelMoments& a, const PixelMoments& b) const {
        PixelMoments r{a.sum + b.sum, a.sumsqr + b.sumsqr, a.max_I, a.max_index, a.counted + b.counted};
        if (b.max_index >= 0 &&
            (r.max_index < 0 || b.max_I > r.max_I || (b.max_I == r.max_I && b.max_index < r.max_index))) {
            r.max_I = b.max_I;
            r.max_index = b.max_index;
        }
        return r;
    }
};

// Every ROI pixel, masked or not (C's rmsd): squared deviations from the mean,
// their count, and the NaN or infinite pixels.
struct Spread {
    double dev;
    long long m, nonfinite;
};

// The mean comes from the first reduction's result where it lies (device
// memory on the GPU), so that both reductions are queued without a round trip.
struct SpreadOf {
    const float* image;
    const PixelMoments* moments;
    int fpixels, roi_xmin, roi_xmax, roi_ymin, roi_ymax;
    NB_HD_METHOD Spread operator()(long long idx) const {
        int f = (int)(idx % fpixels), s = (int)(idx / fpixels);
        if (f < roi_xmin || f > roi_xmax || s < roi_ymin || s > roi_ymax) return Spread{0, 0, 0};
        const float v = image[idx];
        const double mean = moments->sum / (moments->counted <= 0 ? 1 : moments->counted);
        const double t = v - mean;
        const bool finite = (v - v) == 0.0f;  // NaN and infinity give NaN (no std:: call on the device)
        return Spread{t * t, 1, finite ? 0 : 1};
    }
};

struct AddSpread {
    NB_HD_METHOD Spread operator()(const Spread& a, const Spread& b) const {
        return Spread{a.dev + b.dev, a.m + b.m, a.nonfinite + b.nonfinite};
    }
};

// What a frame's reductions leave behind, copied back in one piece.
struct FrameResults {
    PixelMoments moments;
    Spread spread;
};

}  // namespace nb
