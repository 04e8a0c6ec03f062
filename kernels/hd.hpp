// Marks functions that run on both executors: the OpenMP CPU backend and CUDA.
#pragma once
// Kernel functions have internal linkage (static): the CPU launcher is compiled
// once per vector ISA, and shared (weak) inline symbols would let the linker
// run one ISA's copy from another's launcher.
#if defined(__CUDACC__)
#define NB_HD static __host__ __device__
#define NB_HD_INLINE static __host__ __device__ __forceinline__
#define NB_HD_METHOD __host__ __device__ __forceinline__
#else
#define NB_HD static
#define NB_HD_INLINE static inline __attribute__((always_inline))
#define NB_HD_METHOD inline __attribute__((always_inline))
#endif
