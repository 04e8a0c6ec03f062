// The default mode: compiled with --fmad=true (CMakeLists.txt), fused
// multiply-adds allowed, as the CPU's fast SIMD variant.
#define NB_CUDA_VARIANT fast
#include "kernels/cuda_render_kernel.cuh"
