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

// sin(pi r) for |r| <= 1/2. Double: the odd Taylor series of sin(pi r) to
// degree 21 (truncation error < 1e-17; about 1.5 ulp after rounding). Single
// precision: a minimax polynomial of degree 9 (relative error 5.3e-9, far
// below a float ulp; evaluated in float, within 1.7e-7 of sin(pi r) on
// [-1/2, 1/2], as the degree-13 series was: two fused multiply-adds fewer a
// call, twelve an evaluation of three axes). Branch-free, so the CPU loops
// over mosaic domains vectorize.
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
        acc = lmuladd(acc, r2, T(-0.0073704309457143504));
        acc = lmuladd(acc, r2, T(0.08214588661112823));
        acc = lmuladd(acc, r2, T(-0.5992645293207921));
        acc = lmuladd(acc, r2, T(2.5501640398773455));
        acc = lmuladd(acc, r2, T(-5.16771278004997));
        acc = lmuladd(acc, r2, T(3.141592653589793));
    } else {
        acc = T(0.07756070105496399);
        acc = lmuladd(acc, r2, T(-0.5982422878533482));
        acc = lmuladd(acc, r2, T(2.5500697525462552));
        acc = lmuladd(acc, r2, T(-5.167709686186553));
        acc = lmuladd(acc, r2, T(3.141592636907296));
    }
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
// Signed = false leaves the sign out (num is then +-|num|), for F_latt that
// is only squared (kernels/sweep_case.hpp): 8 instructions fewer an axis.
template <bool Signed = true, typename V, typename T>
NB_HD_INLINE void sincg_frac_parts(V h, T N, V& num, V& den) {
    const V m = lrint(h);
    const V d = h - m;
    const V y = d * N;
    const V q = lrint(y);
    const V e = y - q;
    V sign = V(T(1));
    if constexpr (Signed) {
        const V t = m * (N - T(1)) + q;
        const V odd = t - V(T(2)) * lfloor(t * T(0.5));
        sign = V(T(1)) - V(T(2)) * odd;
    }
    // selects instead of a guarded division, so the loop stays branch-free.
    // In single precision the peak is |N d| < 1e-6, where the ratio is N to
    // 2e-12: fused multiply-adds leave d at ~1e-13 instead of C's 0 on the
    // direct beam, and the product of three axes' sin(pi d) then underflows
    // float (a denormal quotient: F_latt 18% off, above N^3; random golden
    // line random_098). Double keeps C's exact test.
    const auto at_peak = [&] {
        if constexpr (sizeof(LaneScalar<V>) == sizeof(float))
            return y * y < V(T(1e-12));
        else
            return d == V(T(0));
    }();
    if constexpr (Signed)
        num = sign * lselect(at_peak, V(N), sinpi_half(e));
    else
        num = lselect(at_peak, V(N), sinpi_half(e));
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

// The square-crystal F_latt up to its sign, for a sweep that only squares it
// (DeviceSweep<SquareNearest>, kernels/sweep_case.hpp): no signs, and the
// quotient through ldiv_approx. A thread's axes with one cell are skipped by
// a branch all threads take alike.
template <typename T>
NB_HD_INLINE T sincg_frac_product_unsigned(T h, T k, T l, T Na, T Nb, T Nc) {
    T num = T(1), den = T(1), n, d;
    if (Na > 1) {
        sincg_frac_parts<false>(h, Na, n, d);
        num = num * n, den = den * d;
    }
    if (Nb > 1) {
        sincg_frac_parts<false>(k, Nb, n, d);
        num = num * n, den = den * d;
    }
    if (Nc > 1) {
        sincg_frac_parts<false>(l, Nc, n, d);
        num = num * n, den = den * d;
    }
    return ldiv_approx(num, den);
}

// sinc3, the Fourier transform of a sphere: 3 (sin x / x - cos x) / x^2, with
// the x == 0 limit 1.
//
// C nanoBragg evaluates that expression in double, and near x = 0 it cancels:
// sin(x)/x and cos(x) both round to about 1, so the difference keeps only their
// rounding errors, amplified by 3/x^2 (a relative error of ~3e-16/x^2). For
// 0 < |x| < 1.05e-8 C returns exactly 0 (sin(x)/x and cos(x) are both 1.0),
// below |x| ~ 1e-7 values dominated by rounding, and only at x == 0 the limit
// 1. x is that small at the direct beam (h = k = l = 0 up to rounding, see
// on_direct_beam in pixel_physics.hpp); C's numbers are the reference, so
// every instance takes C's expression there (sinc3_c).
NB_HD_INLINE double sinc3_c(double x) {
    if (x == 0.0) return 1.0;
    return 3.0 * (std::sin(x) / x - std::cos(x)) / (x * x);
}

// Below |x| = 1e-3 (x^2 < 1e-6) the cancellation-free forms switch to sinc3_c:
// there C's rounding error is still below 1e-9 relative, so the two agree at
// the switch.
constexpr double kSinc3NearZeroSqr = 1e-6;

// The Taylor series of sinc3 in y = x^2, to y^6 (for |x| < 1/2 the truncation
// error is below 1e-16).
template <typename V>
NB_HD_INLINE V sinc3_series(V y) {
    using T = LaneScalar<V>;
    V s = V(T(1.0 / 31135104000.0));
    s = lmuladd(s, y, V(T(-1.0 / 172972800.0)));
    s = lmuladd(s, y, V(T(1.0 / 1330560.0)));
    s = lmuladd(s, y, V(T(-1.0 / 15120.0)));
    s = lmuladd(s, y, V(T(1.0 / 280.0)));
    s = lmuladd(s, y, V(T(-1.0 / 10.0)));
    return lmuladd(s, y, V(T(1)));
}

// sinc3_c lane by lane, in double whatever the lane precision (the lane
// instance is in lanes_hwy.hpp). The GPU's float kernel stays in float
// (tests/cuda_kernel_resources.sh holds it to its final scale in double):
// there the series, so GPU float does not give C's zero next to the direct
// beam (docs/gpu.md, "Open").
NB_HD_INLINE float sinc3_c_lanes(float x) {
#if defined(__CUDA_ARCH__)
    return sinc3_series(x * x);
#else
    return (float)sinc3_c((double)x);
#endif
}
NB_HD_INLINE double sinc3_c_lanes(double x) { return sinc3_c(x); }

// sinc3 without the cancellation where it is not C's: with sin and cos that are
// not C's libm (vector math) or not double (single precision), a 1-ulp error of
// either is amplified by 3/x^2, so below |x| = 1/2 the series instead; below
// |x| = 1e-3 C's own expression in double (sinc3_c), which the series would
// not reproduce: C gives 0, not ~1, for 0 < |x| < ~1e-8 (the direct beam).
template <typename V>
NB_HD_INLINE V sinc3_stable(V x) {
    using T = LaneScalar<V>;
    const V y = x * x;
    V r = lselect(y < V(T(0.25)), sinc3_series(y), V(T(3)) * (lsin(x) / x - lcos(x)) / y);
    const auto near_zero = y < V(T(kSinc3NearZeroSqr));
    if (any_lane(near_zero)) r = lselect(near_zero, sinc3_c_lanes(x), r);
    return r;
}

// sinc3 as C computes it. Double with C's libm (the scalar reference, the
// -exact lanes) is C's expression itself, bit for bit; single precision takes
// sinc3_stable (the fast lanes overload sinc3 with it in lanes_hwy.hpp).
template <typename V>
NB_HD_INLINE V sinc3(V x) {
    if constexpr (sizeof(LaneScalar<V>) == sizeof(double)) {
        return lselect(x == V(0), V(1), V(3) * (lsin(x) / x - lcos(x)) / (x * x));
    } else {
        return sinc3_stable(x);
    }
}

}  // namespace nb
