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

// sin(pi r) for |r| <= 1/2: the odd Taylor series of sin(pi r) to degree 21
// (truncation error < 1e-17; about 1.5 ulp after rounding). Branch-free, so
// the CPU loops over mosaic domains vectorize.
template <typename T>
NB_HD_INLINE T sinpi_half(T r) {
    const T r2 = r * r;
    T acc = T(-1.0518471716932065e-11);
    acc = acc * r2 + T(5.392664662608129e-10);
    acc = acc * r2 + T(-2.2948428997269873e-08);
    acc = acc * r2 + T(7.952054001475513e-07);
    acc = acc * r2 + T(-2.1915353447830217e-05);
    acc = acc * r2 + T(0.00046630280576761255);
    acc = acc * r2 + T(-0.0073704309457143504);
    acc = acc * r2 + T(0.08214588661112823);
    acc = acc * r2 + T(-0.5992645293207921);
    acc = acc * r2 + T(2.5501640398773455);
    acc = acc * r2 + T(-5.16771278004997);
    acc = acc * r2 + T(3.141592653589793);
    return acc * r;
}

// sincg(pi*h, N) for integer N, evaluated on the fractional part of h:
// with h = m + d and N d = q + e (m, q integers, |d|, |e| <= 1/2),
// sin(N pi h) / sin(pi h) = (-1)^(m(N-1)+q) sin(pi e) / sin(pi d).
// This avoids sin() of N*pi*h, whose argument reduction is both slow and, for
// large h*N, the main source of error (in single precision it is unusable).
// It agrees with C's sin(N x)/sin(x) to ~1e-13 relative away from exact
// Bragg positions; at d == 0 it returns the limit +-N (C returns N at h == 0).
template <typename T>
NB_HD_INLINE T sincg_frac(T h, T N) {
    const T m = std::rint(h);
    const T d = h - m;
    const T y = N * d;
    const T q = std::rint(y);
    const T e = y - q;
    const T t = m * (N - T(1)) + q;
    const T odd = t - T(2) * std::floor(t * T(0.5));
    const T sign = T(1) - T(2) * odd;
    // selects instead of a guarded division, so the loop stays branch-free
    const bool at_peak = d == T(0);
    const T num = at_peak ? N : sinpi_half(e);
    const T den = at_peak ? T(1) : sinpi_half(d);
    return sign * (num / den);
}

// 3 (sin x / x - cos x) / x^2, with the x == 0 limit 1.
template <typename T>
NB_HD_INLINE T sinc3(T x) {
    if (x == T(0)) return T(1);
    return T(3) * (std::sin(x) / x - std::cos(x)) / (x * x);
}

}  // namespace nb
