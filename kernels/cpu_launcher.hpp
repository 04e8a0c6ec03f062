// OpenMP executor of the per-pixel physics.
#pragma once
#include <functional>

#include "kernels/pixel_physics.hpp"

namespace nb {

// Renders every in-ROI, unmasked pixel into image (fpixels*spixels floats,
// pre-zeroed by the caller); pixels before `from_pixel` (image index) are left
// alone. Returns the lowest image index whose render hit an out-of-range
// tricubic neighbourhood, or -1. `progress` (may be empty) is called from one
// thread with the fraction of rows done.
// The vector ISA the CPU executor uses on this machine: generic, avx2 or avx512.
const char* cpu_isa();

template <typename T>
long long render_image_cpu(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                           int threads, const std::function<void(double)>& progress);

}  // namespace nb
