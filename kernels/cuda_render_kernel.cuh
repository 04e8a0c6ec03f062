// The render kernel: one thread per pixel running render_pixel (the same
// function the CPU executors run). This header is compiled twice, once per
// rounding variant (cuda_render_exact.cu, cuda_render_fast.cu), because
// nvcc's --fmad is a per-translation-unit switch: -exact must not contract
// a*b+c into a fused multiply-add (C does not), the default mode may.
#pragma once

#include <cuda_runtime.h>

#include "kernels/pixel_physics.hpp"

#ifndef NB_CUDA_VARIANT
#error "define NB_CUDA_VARIANT (exact or fast) before including this header"
#endif

namespace nb {
namespace NB_CUDA_VARIANT {

template <typename T>
__global__ void render_kernel(PixelParams<T> p, InterpCutoff cutoff, long long from_pixel, float* image,
                              unsigned long long* first_failure) {
    int f = blockIdx.x * blockDim.x + threadIdx.x;
    int s = blockIdx.y * blockDim.y + threadIdx.y;
    if (f >= p.fpixels || s >= p.spixels) return;
    if (f < p.roi_xmin || f > p.roi_xmax || s < p.roi_ymin || s > p.roi_ymax) return;
    long long idx = (long long)s * p.fpixels + f;
    if (idx < from_pixel) return;
    if (p.mask && p.mask[idx] == 0) return;
    PixelResult r = render_pixel(p, f, s, cutoff);
    image[idx] = (float)r.value;
    if (r.first_interp_failure >= 0) atomicMin(first_failure, (unsigned long long)idx);
}

template <typename T>
cudaError_t launch_render(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                          unsigned long long* first_failure, cudaStream_t stream) {
    dim3 block(32, 8);
    dim3 grid((p.fpixels + block.x - 1) / block.x, (p.spixels + block.y - 1) / block.y);
    render_kernel<T><<<grid, block, 0, stream>>>(p, cutoff, from_pixel, image, first_failure);
    return cudaGetLastError();
}

template cudaError_t launch_render<double>(const PixelParams<double>&, InterpCutoff, long long, float*,
                                           unsigned long long*, cudaStream_t);
template cudaError_t launch_render<float>(const PixelParams<float>&, InterpCutoff, long long, float*,
                                          unsigned long long*, cudaStream_t);

}  // namespace NB_CUDA_VARIANT
}  // namespace nb
