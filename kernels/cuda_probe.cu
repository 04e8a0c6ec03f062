// CUDA build of the shared per-pixel physics. The full device launcher
// (staging, reductions, precision modes) is issue #4; this translation unit
// keeps kernels/ compiling under nvcc from day one and reports whether a GPU
// is present.
#include <cuda_runtime.h>

#include "kernels/pixel_physics.hpp"

namespace nb {

template <typename T>
__global__ void render_kernel(PixelParams<T> p, InterpCutoff cutoff, float* image) {
    int f = blockIdx.x * blockDim.x + threadIdx.x;
    int s = blockIdx.y * blockDim.y + threadIdx.y;
    if (f < p.roi_xmin || f > p.roi_xmax || s < p.roi_ymin || s > p.roi_ymax) return;
    if (f >= p.fpixels || s >= p.spixels) return;
    long long idx = (long long)s * p.fpixels + f;
    if (p.mask && p.mask[idx] == 0) return;
    image[idx] = (float)render_pixel(p, f, s, cutoff).value;
}

template __global__ void render_kernel<double>(PixelParams<double>, InterpCutoff, float*);
template __global__ void render_kernel<float>(PixelParams<float>, InterpCutoff, float*);

int cuda_device_count() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
    return n;
}

}  // namespace nb
