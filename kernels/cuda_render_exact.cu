// -exact: compiled with --fmad=false (CMakeLists.txt), C's rounding.
#define NB_CUDA_VARIANT exact
#include "kernels/cuda_render_kernel.cuh"
