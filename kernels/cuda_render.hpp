// The two compiled variants of the render kernel (kernels/cuda_render_kernel.cuh).
#pragma once

#include <cuda_runtime.h>

#include "kernels/frame_pipeline.hpp"

namespace nb {
namespace exact {
template <typename T>
cudaError_t launch_render(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                          unsigned long long* first_failure, cudaStream_t stream, int shape, SweepKind kind);
template <typename T>
cudaError_t load_render(int shape, SweepKind kind, cudaStream_t stream);
}  // namespace exact
namespace fast {
template <typename T>
cudaError_t launch_render(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                          unsigned long long* first_failure, cudaStream_t stream, int shape, SweepKind kind);
template <typename T>
cudaError_t load_render(int shape, SweepKind kind, cudaStream_t stream);
}  // namespace fast

// The amorphous term's kernel (kernels/cuda_amorphous.cu, without fused
// multiply-adds) over p's rows on `stream`, into image (in place when a.add);
// omega_total (null: not wanted) gains the solid angles.
template <typename T>
cudaError_t launch_amorphous(const PixelParams<T>& p, const AmorphousParams<T>& a, const PolarizationFrame<T>* frames,
                             float* image, double* omega_total, cudaStream_t stream);

// The launch shape of the render kernel (0, 1 or 2: kernels/cuda_render_kernel.cuh)
// per precision, the fastest measured on an H200 (docs/gpu.md: 3 blocks per
// multiprocessor, 6-25% faster than the compiler's register choice on every
// workload but the 2048x2048 still); NB_CUDA_LAUNCH=N overrides it, for
// measuring. tests/cuda_kernel_resources.sh reads these two lines.
constexpr int kDefaultLaunchShapeFloat = 1;
constexpr int kDefaultLaunchShapeDouble = 1;
template <typename T>
int launch_shape_for();

// The sweep the kernel is compiled for (kernels/sweep_case.hpp): sweep_kind(p),
// or Any for every run with NB_CUDA_SWEEP=any (for measuring the common case's
// kernel against the general one).
template <typename T>
SweepKind device_sweep_kind(const PixelParams<T>& p);

// -exact renders without fused multiply-adds, the default mode with them.
template <typename T>
cudaError_t launch_render(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                          unsigned long long* first_failure, cudaStream_t stream) {
    const int shape = launch_shape_for<T>();
    const SweepKind kind = device_sweep_kind(p);
    return p.exact ? exact::launch_render(p, cutoff, from_pixel, image, first_failure, stream, shape, kind)
                   : fast::launch_render(p, cutoff, from_pixel, image, first_failure, stream, shape, kind);
}

// The kernel launch_render(p, ...) would run, loaded onto the device by an
// empty launch (kernels/cuda_render_kernel.cuh, load_shape).
template <typename T>
cudaError_t load_render(const PixelParams<T>& p, cudaStream_t stream) {
    const int shape = launch_shape_for<T>();
    return p.exact ? exact::load_render<T>(shape, device_sweep_kind(p), stream)
                   : fast::load_render<T>(shape, device_sweep_kind(p), stream);
}
}  // namespace nb
