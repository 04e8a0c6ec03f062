// Host loops that the compiler vectorizes (the file conversions, the noise
// image's first pass) are compiled for wider vectors too, and the widest this
// CPU runs is picked when the program loads (GCC's and Clang's function
// multiversioning). The engine's baseline is x86-64's SSE2: 2 doubles at a
// time where AVX2 and AVX-512 run 4 and 8 (the SMV conversion of a 2048x2048
// image: 15 ms -> 4 ms). The engine is built without contraction
// (-ffp-contract=off) and these loops are per pixel, so every version gives
// the same bits.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(NB_NO_VECTOR_CLONES)
#define NB_VECTOR_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define NB_VECTOR_CLONES
#endif
