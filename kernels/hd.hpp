// Marks functions that run on both executors: the OpenMP CPU backend and CUDA.
#pragma once
#if defined(__CUDACC__)
#define NB_HD __host__ __device__
#define NB_HD_INLINE __host__ __device__ __forceinline__
#else
#define NB_HD
#define NB_HD_INLINE inline
#endif
