// The render kernel: one thread per pixel running render_pixel (the same
// function the CPU executors run). This header is compiled twice, once per
// rounding variant (cuda_render_exact.cu, cuda_render_fast.cu), because
// nvcc's --fmad is a per-translation-unit switch: -exact must not contract
// a*b+c into a fused multiply-add (C does not), the default mode may.
#pragma once

#include <cuda_runtime.h>

#include "kernels/frame_pipeline.hpp"

#ifndef NB_CUDA_VARIANT
#error "define NB_CUDA_VARIANT (exact or fast) before including this header"
#endif

namespace nb {
namespace NB_CUDA_VARIANT {

// Launch shapes (threads per block, and the blocks per multiprocessor that
// __launch_bounds__ asks the register allocator to make room for), chosen at
// run time by launch_shape() (kernels/cuda_render.hpp): shape 0 leaves the
// register count to the compiler; shapes 1 and 2 trade registers for
// occupancy. docs/gpu.md has what each measured.
template <typename T, int Shape>
struct LaunchShape {
    static constexpr bool single = sizeof(T) == sizeof(float);
    static constexpr int bx = 32;
    static constexpr int by = Shape == 0 ? 8 : Shape == 1 ? (single ? 8 : 4) : (single ? 4 : 2);
    static constexpr int min_blocks = Shape == 0 ? 1 : Shape == 1 ? 3 : 5;
};

// Kind: the compiled case of the sweep (kernels/sweep_case.hpp).
template <typename T, int Shape, SweepKind Kind>
__global__ void __launch_bounds__(LaunchShape<T, Shape>::bx* LaunchShape<T, Shape>::by,
                                  LaunchShape<T, Shape>::min_blocks)
    render_kernel(PixelParams<T> p, InterpCutoff cutoff, long long from_pixel, float* image,
                  unsigned long long* first_failure) {
    const int f = blockIdx.x * blockDim.x + threadIdx.x;
    const int s = blockIdx.y * blockDim.y + threadIdx.y;
    if (!pixel_in_roi(p, f, s)) return;
    const long long idx = (long long)s * p.fpixels + f;
    if (!pixel_in_pass(p, idx, from_pixel)) return;
    const PixelResult r = render_pixel<DeviceSweep<Kind>>(p, f, s, cutoff);
    image[idx] = (float)r.value;
    if (r.first_interp_failure >= 0) atomicMin(first_failure, (unsigned long long)idx);
}

template <typename T, int Shape, SweepKind Kind>
cudaError_t launch_shape(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                         unsigned long long* first_failure, cudaStream_t stream) {
    using L = LaunchShape<T, Shape>;
    dim3 block(L::bx, L::by);
    // the whole raster's rows (a panel's launch: its rows are the ROI, the rest exit at once)
    dim3 grid((p.fpixels + block.x - 1) / block.x, (p.spixels + block.y - 1) / block.y);
    render_kernel<T, Shape, Kind><<<grid, block, 0, stream>>>(p, cutoff, from_pixel, image, first_failure);
    return cudaGetLastError();
}

// One launch of a single thread that exits at once (no pixels): under lazy
// loading, the default since CUDA 12.2, a kernel's code reaches the device at
// its first launch, and that wait would otherwise sit inside the first
// frame's timed render.
template <typename T, int Shape, SweepKind Kind>
cudaError_t load_shape(cudaStream_t stream) {
    PixelParams<T> none{};
    render_kernel<T, Shape, Kind><<<1, 1, 0, stream>>>(none, InterpCutoff{-1, 0}, 0, nullptr, nullptr);
    return cudaGetLastError();
}

// The common case's kernel is compiled in the default mode only: -exact's
// runs are never that case (sweep_kind).
#if NB_FAST_SCALAR_LANES
constexpr bool kSquareNearestKernel = true;
#else
constexpr bool kSquareNearestKernel = false;
#endif

template <typename T, SweepKind Kind>
cudaError_t load_kind(int shape, cudaStream_t stream) {
    return shape == 1   ? load_shape<T, 1, Kind>(stream)
           : shape == 2 ? load_shape<T, 2, Kind>(stream)
                        : load_shape<T, 0, Kind>(stream);
}

template <typename T>
cudaError_t load_render(int shape, SweepKind kind, cudaStream_t stream) {
    return with_device_sweep<kSquareNearestKernel>(
        kind, [&](auto sweep) { return load_kind<T, decltype(sweep)::kind>(shape, stream); });
}

template <typename T, SweepKind Kind>
cudaError_t launch_kind(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                        unsigned long long* first_failure, cudaStream_t stream, int shape) {
    switch (shape) {
        case 1:
            return launch_shape<T, 1, Kind>(p, cutoff, from_pixel, image, first_failure, stream);
        case 2:
            return launch_shape<T, 2, Kind>(p, cutoff, from_pixel, image, first_failure, stream);
        default:
            return launch_shape<T, 0, Kind>(p, cutoff, from_pixel, image, first_failure, stream);
    }
}

template <typename T>
cudaError_t launch_render(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                          unsigned long long* first_failure, cudaStream_t stream, int shape, SweepKind kind) {
    return with_device_sweep<kSquareNearestKernel>(kind, [&](auto sweep) {
        return launch_kind<T, decltype(sweep)::kind>(p, cutoff, from_pixel, image, first_failure, stream, shape);
    });
}

template cudaError_t launch_render<double>(const PixelParams<double>&, InterpCutoff, long long, float*,
                                           unsigned long long*, cudaStream_t, int, SweepKind);
template cudaError_t launch_render<float>(const PixelParams<float>&, InterpCutoff, long long, float*,
                                          unsigned long long*, cudaStream_t, int, SweepKind);
template cudaError_t load_render<double>(int, SweepKind, cudaStream_t);
template cudaError_t load_render<float>(int, SweepKind, cudaStream_t);

}  // namespace NB_CUDA_VARIANT
}  // namespace nb
