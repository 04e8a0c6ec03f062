// Lattice transforms: the Fourier transform of N unit cells along one axis
// (sincg) and of a sphere (sinc3).
#pragma once
#include <cmath>

#include "kernels/hd.hpp"

namespace nb {

// sin(N x)/sin(x), with the x == 0 limit N (C nanoBragg's sincg).
template <typename T>
NB_HD_INLINE T sincg(T x, T N) {
    if (x == T(0)) return N;
    return std::sin(x * N) / std::sin(x);
}

// 3 (sin x / x - cos x) / x^2, with the x == 0 limit 1.
template <typename T>
NB_HD_INLINE T sinc3(T x) {
    if (x == T(0)) return T(1);
    return T(3) * (std::sin(x) / x - std::cos(x)) / (x * x);
}

}  // namespace nb
