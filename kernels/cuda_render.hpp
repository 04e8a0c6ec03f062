// The two compiled variants of the render kernel (kernels/cuda_render_kernel.cuh).
#pragma once

#include <cuda_runtime.h>

#include "kernels/pixel_physics.hpp"

namespace nb {
namespace exact {
template <typename T>
cudaError_t launch_render(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                          unsigned long long* first_failure, cudaStream_t stream);
}
namespace fast {
template <typename T>
cudaError_t launch_render(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                          unsigned long long* first_failure, cudaStream_t stream);
}

// -exact renders without fused multiply-adds, the default mode with them.
template <typename T>
cudaError_t launch_render(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                          unsigned long long* first_failure, cudaStream_t stream) {
    return p.exact ? exact::launch_render(p, cutoff, from_pixel, image, first_failure, stream)
                   : fast::launch_render(p, cutoff, from_pixel, image, first_failure, stream);
}
}  // namespace nb
