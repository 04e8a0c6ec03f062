// OpenMP executor of the per-pixel physics.
#pragma once
#include <functional>
#include <string>

#include "kernels/pixel_physics.hpp"

namespace nb {

// The vector ISA the CPU executor uses on this machine: generic, avx2 or avx512.
const char* cpu_isa();

// "" unless NB_CPU_ISA asks for a path this build or CPU does not have (or
// names none): then a WARNING line saying which runs instead.
std::string cpu_isa_request_warning();

// What the host hears while rows finish (either may be empty): `progress`,
// from one thread, with the fraction of rows done; `row_done(s)`, from the
// thread that rendered row s, once its pixels are final for this pass (they
// are still in that core's cache).
struct RowHooks {
    std::function<void(double)> progress;
    std::function<void(int)> row_done;
};

// render_pixel as C rounds it: compiled in the scalar executor's file, without
// fused multiply-adds whatever the calling executor's mode. In single
// precision a pixel on the direct beam of a round crystal (PixelResult::on_beam)
// is rendered again from the double-precision staging (PixelParams::reference),
// C's own arithmetic. The SIMD executor hands its fallback groups to it.
template <typename T>
PixelResult render_pixel_reference(const PixelParams<T>& p, int f, int s, InterpCutoff cutoff);

// Renders every in-ROI, unmasked pixel into image (fpixels*spixels floats,
// pre-zeroed by the caller); pixels before `from_pixel` (image index) are left
// alone. Returns the lowest image index whose render hit an out-of-range
// tricubic neighbourhood, or -1.
template <typename T>
long long render_image_cpu(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                           int threads, const RowHooks& hooks);

}  // namespace nb
