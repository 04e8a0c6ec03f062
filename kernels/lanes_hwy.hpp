// The Highway lane type: a vector of neighbouring pixels that the formulas of
// kernels/*.hpp (templates over a lane type, see kernels/lanes.hpp) run on
// unchanged. Included once per Highway target from kernels/cpu_simd.cpp.
//
// NB_SIMD_EXACT (0 or 1, set by the build) picks the arithmetic:
//   1 (-exact): transcendentals through C's libm lane by lane, no fused
//     multiply-add anywhere (the file is compiled with -ffp-contract=off), so
//     every lane rounds exactly as the scalar reference and C do;
//   0 (default): Highway's vector exp/sin/cos, a closed form for
//     cos(2 atan2(b, e)), and fused multiply-adds (compiled with
//     -ffp-contract=fast).

#ifndef NB_SIMD_VARIANT
#if NB_SIMD_EXACT
#define NB_SIMD_VARIANT simd_exact
#else
#define NB_SIMD_VARIANT simd_fast
#endif
#endif

// per-target include guard (Highway's idiom)
#if defined(NB_LANES_HWY_TOGGLE) == defined(HWY_TARGET_TOGGLE)
#ifdef NB_LANES_HWY_TOGGLE
#undef NB_LANES_HWY_TOGGLE
#else
#define NB_LANES_HWY_TOGGLE
#endif

#include <cmath>
#include <type_traits>

#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace nb {
namespace NB_SIMD_VARIANT {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class D>
struct LaneMask {
    hn::Mask<D> m;
    friend HWY_INLINE LaneMask operator&(LaneMask a, LaneMask b) { return {hn::And(a.m, b.m)}; }
    friend HWY_INLINE LaneMask operator|(LaneMask a, LaneMask b) { return {hn::Or(a.m, b.m)}; }
    friend HWY_INLINE LaneMask operator!(LaneMask a) { return {hn::Not(a.m)}; }
};

// One value per pixel of the group. Run constants (plain T or int) convert
// implicitly, so a formula reads the same as its scalar instance.
template <class D>
struct Lane {
    using T = hn::TFromD<D>;
    using VT = hn::Vec<D>;
    VT v;

    HWY_INLINE Lane() : v(hn::Zero(D())) {}
    HWY_INLINE Lane(VT x) : v(x) {}
    HWY_INLINE Lane(T s) : v(hn::Set(D(), s)) {}
    template <typename S, typename = std::enable_if_t<std::is_arithmetic<S>::value && !std::is_same<S, T>::value>>
    HWY_INLINE Lane(S s) : v(hn::Set(D(), static_cast<T>(s))) {}

    friend HWY_INLINE Lane operator+(Lane a, Lane b) { return {hn::Add(a.v, b.v)}; }
    friend HWY_INLINE Lane operator-(Lane a, Lane b) { return {hn::Sub(a.v, b.v)}; }
    friend HWY_INLINE Lane operator*(Lane a, Lane b) { return {hn::Mul(a.v, b.v)}; }
    friend HWY_INLINE Lane operator/(Lane a, Lane b) { return {hn::Div(a.v, b.v)}; }
    friend HWY_INLINE Lane operator-(Lane a) { return {hn::Neg(a.v)}; }
    friend HWY_INLINE LaneMask<D> operator==(Lane a, Lane b) { return {hn::Eq(a.v, b.v)}; }
    friend HWY_INLINE LaneMask<D> operator!=(Lane a, Lane b) { return {hn::Ne(a.v, b.v)}; }
    friend HWY_INLINE LaneMask<D> operator<(Lane a, Lane b) { return {hn::Lt(a.v, b.v)}; }
    friend HWY_INLINE LaneMask<D> operator<=(Lane a, Lane b) { return {hn::Le(a.v, b.v)}; }
    friend HWY_INLINE LaneMask<D> operator>(Lane a, Lane b) { return {hn::Gt(a.v, b.v)}; }
    friend HWY_INLINE LaneMask<D> operator>=(Lane a, Lane b) { return {hn::Ge(a.v, b.v)}; }
};

template <class D>
HWY_INLINE Lane<D> lsqrt(Lane<D> x) {
    return {hn::Sqrt(x.v)};
}
template <class D>
HWY_INLINE Lane<D> lfloor(Lane<D> x) {
    return {hn::Floor(x.v)};
}
template <class D>
HWY_INLINE Lane<D> lceil(Lane<D> x) {
    return {hn::Ceil(x.v)};
}
// round half to even, as rint() in the default rounding mode
template <class D>
HWY_INLINE Lane<D> lrint(Lane<D> x) {
    return {hn::Round(x.v)};
}
template <class D>
HWY_INLINE Lane<D> lselect(LaneMask<D> m, Lane<D> a, Lane<D> b) {
    return {hn::IfThenElse(m.m, a.v, b.v)};
}
template <class D>
HWY_INLINE bool any_lane(LaneMask<D> m) {
    return !hn::AllFalse(D(), m.m);
}
template <class D>
HWY_INLINE bool all_lanes(LaneMask<D> m) {
    return hn::AllTrue(D(), m.m);
}

// f applied lane by lane (C's libm: the exact mode, and sincg's large arguments)
template <class D, class F>
HWY_INLINE Lane<D> per_lane(Lane<D> x, F f) {
    using T = hn::TFromD<D>;
    const D d;
    alignas(64) T buf[HWY_MAX_BYTES / sizeof(T)];
    hn::Store(x.v, d, buf);
    for (size_t i = 0; i < hn::Lanes(d); ++i) buf[i] = f(buf[i]);
    return {hn::Load(d, buf)};
}

template <class D>
HWY_INLINE Lane<D> libm_sin(Lane<D> x) {
    return per_lane(x, [](hn::TFromD<D> a) { return std::sin(a); });
}

#if NB_SIMD_EXACT
template <class D>
HWY_INLINE Lane<D> lexp(Lane<D> x) {
    return per_lane(x, [](hn::TFromD<D> a) { return std::exp(a); });
}
template <class D>
HWY_INLINE Lane<D> lsin(Lane<D> x) {
    return per_lane(x, [](hn::TFromD<D> a) { return std::sin(a); });
}
template <class D>
HWY_INLINE Lane<D> lcos(Lane<D> x) {
    return per_lane(x, [](hn::TFromD<D> a) { return std::cos(a); });
}
template <class D>
HWY_INLINE Lane<D> lcos_2psi(Lane<D> b, Lane<D> e) {
    using T = hn::TFromD<D>;
    const D d;
    alignas(64) T bb[HWY_MAX_BYTES / sizeof(T)], ee[HWY_MAX_BYTES / sizeof(T)];
    hn::Store(b.v, d, bb);
    hn::Store(e.v, d, ee);
    for (size_t i = 0; i < hn::Lanes(d); ++i) bb[i] = std::cos(T(2) * -std::atan2(bb[i], ee[i]));
    return {hn::Load(d, bb)};
}
template <class D>
HWY_INLINE Lane<D> lmuladd(Lane<D> a, Lane<D> b, Lane<D> c) {
    return a * b + c;
}
template <class D>
HWY_INLINE Lane<D> ldiv_const(Lane<D> x, hn::TFromD<D> s) {
    return x / s;
}
template <class D>
HWY_INLINE void ldiv3(Lane<D>& x, Lane<D>& y, Lane<D>& z, Lane<D> d) {
    x = x / d, y = y / d, z = z / d;
}
#else
template <class D>
HWY_INLINE Lane<D> lexp(Lane<D> x) {
    return {hn::Exp(D(), x.v)};
}
template <class D>
HWY_INLINE Lane<D> lsin(Lane<D> x) {
    return {hn::Sin(D(), x.v)};
}
template <class D>
HWY_INLINE Lane<D> lcos(Lane<D> x) {
    return {hn::Cos(D(), x.v)};
}
// cos(2 psi), psi = -atan2(b, e): (e^2 - b^2) / (e^2 + b^2), 1 at b = e = 0
template <class D>
HWY_INLINE Lane<D> lcos_2psi(Lane<D> b, Lane<D> e) {
    const Lane<D> e2 = e * e, b2 = b * b, r2 = e2 + b2;
    return lselect(r2 == Lane<D>(0), Lane<D>(1), (e2 - b2) / r2);
}
template <class D>
HWY_INLINE Lane<D> lmuladd(Lane<D> a, Lane<D> b, Lane<D> c) {
    return {hn::MulAdd(a.v, b.v, c.v)};
}
template <class D>
HWY_INLINE Lane<D> ldiv_const(Lane<D> x, hn::TFromD<D> s) {
    return x * (hn::TFromD<D>(1) / s);
}
template <class D>
HWY_INLINE void ldiv3(Lane<D>& x, Lane<D>& y, Lane<D>& z, Lane<D> d) {
    const Lane<D> r = Lane<D>(1) / d;
    x = x * r, y = y * r, z = z * r;
}
// sinc3 (kernels/sincg.hpp) with vector sin/cos: 3 (sin x / x - cos x) / x^2
// cancels for small x, where a 1-ulp error of the vector sin is amplified by
// 1/x^2; below |x| = 1/2 its Taylor series (to x^12, error < 1e-16) instead.
// (ADL prefers this overload to the generic template for lanes.)
template <class D>
HWY_INLINE Lane<D> sinc3(Lane<D> x) {
    const Lane<D> y = x * x;
    Lane<D> series(1.0 / 31135104000.0);
    series = lmuladd(series, y, Lane<D>(-1.0 / 172972800.0));
    series = lmuladd(series, y, Lane<D>(1.0 / 1330560.0));
    series = lmuladd(series, y, Lane<D>(-1.0 / 15120.0));
    series = lmuladd(series, y, Lane<D>(1.0 / 280.0));
    series = lmuladd(series, y, Lane<D>(-1.0 / 10.0));
    series = lmuladd(series, y, Lane<D>(1.0));
    const Lane<D> full = Lane<D>(3) * (lsin(x) / x - lcos(x)) / y;
    return lselect(y < Lane<D>(0.25), series, full);
}
// polint4 (kernels/structure_factor.hpp) for the tricubic lookup, whose
// abscissae are always four consecutive integers: the denominators are the
// constants -6, 2, -2, 6, so multiply instead of 4 divisions per call (21
// calls per evaluation). (Hides the generic template for lanes.)
template <class D>
HWY_INLINE Lane<D> polint4(const Lane<D>* xa, const Lane<D>* ya, Lane<D> x) {
    const Lane<D> d0 = x - xa[0], d1 = x - xa[1], d2 = x - xa[2], d3 = x - xa[3];
    const Lane<D> d01 = d0 * d1, d23 = d2 * d3;
    const Lane<D> t0 = d1 * d23 * ya[0] * Lane<D>(-1.0 / 6.0);
    const Lane<D> t1 = d0 * d23 * ya[1] * Lane<D>(0.5);
    const Lane<D> t2 = d01 * d3 * ya[2] * Lane<D>(-0.5);
    const Lane<D> t3 = d01 * d2 * ya[3] * Lane<D>(1.0 / 6.0);
    return t0 + t1 + t2 + t3;
}
#endif

}  // namespace HWY_NAMESPACE
}  // namespace NB_SIMD_VARIANT
}  // namespace nb
HWY_AFTER_NAMESPACE();

#endif  // NB_LANES_HWY_TOGGLE
