// Lattice transforms: the Fourier transform of N unit cells along one axis
// (sincg) and of a sphere (sinc3).
#pragma once
#include <cmath>

#include "kernels/hd.hpp"
#include "kernels/lanes.hpp"

namespace nb {

// sin(N x)/sin(x), with the x == 0 limit N (C nanoBragg's sincg).
// libm on every instance: the arguments reach N*pi*h, beyond vector sin's range.
template <typename V, typename T>
NB_HD_INLINE V sincg(V x, T N) {
    return lselect(x == V(0), V(N), libm_sin(x * N) / libm_sin(x));
}

// sin(pi r) for |r| <= 1/2: the odd Taylor series of sin(pi r), to degree 21
// in double (truncation error < 1e-17; about 1.5 ulp after rounding) and to
// degree 13 in single precision (truncation < 7e-10, far below a float ulp:
// five fused multiply-adds fewer). Branch-free, so the CPU loops over mosaic
// domains vectorize.
template <typename T>
NB_HD_INLINE T sinpi_half(T r) {
    const T r2 = r * r;
    T acc;
    if constexpr (sizeof(LaneScalar<T>) == sizeof(double)) {
        acc = T(-1.0518471716932065e-11);
        acc = lmuladd(acc, r2, T(5.392664662608129e-10));
        acc = lmuladd(acc, r2, T(-2.2948428997269873e-08));
        acc = lmuladd(acc, r2, T(7.952054001475513e-07));
        acc = lmuladd(acc, r2, T(-2.1915353447830217e-05));
        acc = lmuladd(acc, r2, T(0.00046630280576761255));
    } else {
        acc = T(0.00046630280576761255);
    }
    acc = lmuladd(acc, r2, T(-0.0073704309457143504));
    acc = lmuladd(acc, r2, T(0.08214588661112823));
    acc = lmuladd(acc, r2, T(-0.5992645293207921));
    acc = lmuladd(acc, r2, T(2.5501640398773455));
    acc = lmuladd(acc, r2, T(-5.16771278004997));
    acc = lmuladd(acc, r2, T(3.141592653589793));
    return acc * r;
}

// sincg(pi*h, N) for integer N, evaluated on the fractional part of h:
// with h = m + d and N d = q + e (m, q integers, |d|, |e| <= 1/2),
// sin(N pi h) / sin(pi h) = (-1)^(m(N-1)+q) sin(pi e) / sin(pi d).
// This avoids sin() of N*pi*h, whose argument reduction is both slow and, for
// large h*N, the main source of error (in single precision it is unusable).
// It agrees with C's sin(N x)/sin(x) to ~1e-13 relative away from exact
// Bragg positions; at d == 0 it returns the limit +-N (C returns N at h == 0).
// Numerator (with its sign) and denominator of sincg_frac, so that a product
// of three factors costs one division (F_latt of the square crystal).
template <typename V, typename T>
NB_HD_INLINE void sincg_frac_parts(V h, T N, V& num, V& den) {
    const V m = lrint(h);
    const V d = h - m;
    const V y = d * N;
    const V q = lrint(y);
    const V e = y - q;
    const V t = m * (N - T(1)) + q;
    const V odd = t - V(T(2)) * lfloor(t * T(0.5));
    const V sign = V(T(1)) - V(T(2)) * odd;
    // selects instead of a guarded division, so the loop stays branch-free
    const auto at_peak = d == V(T(0));
    num = sign * lselect(at_peak, V(N), sinpi_half(e));
    den = lselect(at_peak, V(T(1)), sinpi_half(d));
}

template <typename V, typename T>
NB_HD_INLINE V sincg_frac(V h, T N) {
    V num, den;
    sincg_frac_parts(h, N, num, den);
    return num / den;
}

// The square-crystal F_latt: the product of sincg_frac over the axes with
// more than one cell, with one division.
template <typename V, typename T>
NB_HD_INLINE V sincg_frac_product(V h, V k, V l, T Na, T Nb, T Nc) {
    V num = V(T(1)), den = V(T(1)), n, d;
    if (Na > 1) {
        sincg_frac_parts(h, Na, n, d);
        num = num * n, den = den * d;
    }
    if (Nb > 1) {
        sincg_frac_parts(k, Nb, n, d);
        num = num * n, den = den * d;
    }
    if (Nc > 1) {
        sincg_frac_parts(l, Nc, n, d);
        num = num * n, den = den * d;
    }
    return num / den;
}

// 3 (sin x / x - cos x) / x^2, with the x == 0 limit 1.
template <typename V>
NB_HD_INLINE V sinc3(V x) {
    return lselect(x == V(0), V(1), V(3) * (lsin(x) / x - lcos(x)) / (x * x));
}

}  // namespace nb
