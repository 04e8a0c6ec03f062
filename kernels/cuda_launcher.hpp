// CUDA executor of the per-pixel physics (the same functions the CPU runs).
// Without a CUDA build these report no device and refuse to render.
#pragma once

#include "kernels/pixel_physics.hpp"

namespace nb {

// Number of usable CUDA devices (0 without a CUDA build, driver or GPU).
int cuda_device_count();

// Binds this process to GPU `index % count` (MPI ranks pick by local rank).
void cuda_use_device(int index);

struct DeviceStats {
    double sum = 0, sumsqr = 0, max_I = 0;
    long long max_index = -1, counted = 0;
    double kernel_ms = 0;  // the render passes, timed with CUDA events
    // over every ROI pixel, masked or not (C's rmsd): squared deviations from
    // the mean sum/counted, their count, and the NaN or infinite pixels
    double dev = 0;
    long long dev_counted = 0, nonfinite = 0;
};

// Renders the image on the GPU with C's two-pass interpolation protocol,
// device-resident: tables go up once, only the image (and the statistics,
// reduced on the device over the ROI and mask) come back. Returns the pixel
// where tricubic interpolation switched off, or -1. Throws std::runtime_error
// on any CUDA failure.
template <typename T>
long long render_image_cuda(const PixelParams<T>& p, float* image, DeviceStats* stats);

}  // namespace nb
