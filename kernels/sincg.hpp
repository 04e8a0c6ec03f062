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

// sincg(pi*h, N) for integer N, evaluated on the fractional part of h:
// sin(N pi (h0+d)) / sin(pi (h0+d)) = (-1)^(h0 (N-1)) sin(N pi d) / sin(pi d).
// Single precision cannot take sin() of N*pi*h for large h*N directly; the
// reduced form keeps full relative accuracy near every Bragg peak.
template <typename T>
NB_HD_INLINE T sincg_reduced(T h, int h0, int N) {
    T d = h - T(h0);
    T x = T(M_PI) * d;
    if (x == T(0)) return ((h0 & 1) && !(N & 1)) ? T(-N) : T(N);
    T r = std::sin(x * T(N)) / std::sin(x);
    return ((h0 & 1) && !(N & 1)) ? -r : r;
}

// 3 (sin x / x - cos x) / x^2, with the x == 0 limit 1.
template <typename T>
NB_HD_INLINE T sinc3(T x) {
    if (x == T(0)) return T(1);
    return T(3) * (std::sin(x) / x - std::cos(x)) / (x * x);
}

}  // namespace nb
