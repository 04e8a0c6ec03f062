// The default mode: compiled with --fmad=true (CMakeLists.txt), fused
// multiply-adds allowed, as the CPU's fast SIMD variant, and with that
// variant's forms of the lane operations that have a C form and a fast one
// (kernels/lanes.hpp, NB_FAST_SCALAR_LANES).
#define NB_FAST_SCALAR_LANES 1
#define NB_CUDA_VARIANT fast
#include "kernels/cuda_render_kernel.cuh"
