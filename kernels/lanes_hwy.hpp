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
#include "kernels/sincg.hpp"

HWY_BEFORE_NAMESPACE();
namespace nb {
namespace NB_SIMD_VARIANT {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Vectors per lane group. Every formula runs on kVectors independent vectors
// side by side, so the core overlaps their dependency chains: a still (one
// evaluation per pixel) is otherwise bound by the latency of one pixel's chain
// (position, square roots, divisions, sincg's polynomials, the lookup).
// Measured on AVX2 (Zen 3, one thread, render time of nb-bench's workloads,
// docs/performance.md): 4 beats 1 by 1.3-2.3x and 2 by up to 1.5x; 8 spills
// registers and is slower than 4.
// The sanitizer and fuzz builds (scripts/test_sanitizers.sh, fuzz/) set
// NB_LANE_VECTORS=1: under AddressSanitizer a group of four stays out of
// registers (a render 50 times slower) and takes minutes longer to compile.
#ifndef NB_LANE_VECTORS
#define NB_LANE_VECTORS 4
#endif
constexpr int kVectors = NB_LANE_VECTORS;

template <class D>
struct LaneMask {
    hn::Mask<D> m[kVectors];
    friend HWY_INLINE LaneMask operator&(LaneMask a, LaneMask b) {
        LaneMask r;
        for (int i = 0; i < kVectors; ++i) r.m[i] = hn::And(a.m[i], b.m[i]);
        return r;
    }
    friend HWY_INLINE LaneMask operator|(LaneMask a, LaneMask b) {
        LaneMask r;
        for (int i = 0; i < kVectors; ++i) r.m[i] = hn::Or(a.m[i], b.m[i]);
        return r;
    }
    friend HWY_INLINE LaneMask operator!(LaneMask a) {
        LaneMask r;
        for (int i = 0; i < kVectors; ++i) r.m[i] = hn::Not(a.m[i]);
        return r;
    }
};

// One value per pixel of the group (kVectors vectors of hn::Lanes(D()) each).
// Run constants (plain T or int) convert implicitly, so a formula reads the
// same as its scalar instance.
template <class D>
struct Lane {
    using T = hn::TFromD<D>;
    using VT = hn::Vec<D>;
    static constexpr int K = kVectors;
    VT v[K];

    HWY_INLINE Lane() {
        for (int i = 0; i < K; ++i) v[i] = hn::Zero(D());
    }
    HWY_INLINE Lane(T s) {
        for (int i = 0; i < K; ++i) v[i] = hn::Set(D(), s);
    }
    template <typename S, typename = std::enable_if_t<std::is_arithmetic<S>::value && !std::is_same<S, T>::value>>
    HWY_INLINE Lane(S s) : Lane(static_cast<T>(s)) {}

    // lane values from memory (kVectors * hn::Lanes(D()) of them) and back
    static HWY_INLINE Lane load(const T* from) {
        Lane r;
        for (int i = 0; i < K; ++i) r.v[i] = hn::LoadU(D(), from + i * hn::Lanes(D()));
        return r;
    }
    HWY_INLINE void store(T* to) const {
        for (int i = 0; i < K; ++i) hn::StoreU(v[i], D(), to + i * hn::Lanes(D()));
    }
    // 0, 1, 2, ... across the group
    static HWY_INLINE Lane iota() {
        Lane r;
        for (int i = 0; i < K; ++i) r.v[i] = hn::Iota(D(), T(i * hn::Lanes(D())));
        return r;
    }

#define NB_LANE_BINARY(op, fn)                                       \
    friend HWY_INLINE Lane operator op(Lane a, Lane b) {             \
        Lane r;                                                      \
        for (int i = 0; i < K; ++i) r.v[i] = hn::fn(a.v[i], b.v[i]); \
        return r;                                                    \
    }
#define NB_LANE_COMPARE(op, fn)                                      \
    friend HWY_INLINE LaneMask<D> operator op(Lane a, Lane b) {      \
        LaneMask<D> r;                                               \
        for (int i = 0; i < K; ++i) r.m[i] = hn::fn(a.v[i], b.v[i]); \
        return r;                                                    \
    }
    NB_LANE_BINARY(+, Add)
    NB_LANE_BINARY(-, Sub)
    NB_LANE_BINARY(*, Mul)
    NB_LANE_BINARY(/, Div)
    NB_LANE_COMPARE(==, Eq)
    NB_LANE_COMPARE(!=, Ne)
    NB_LANE_COMPARE(<, Lt)
    NB_LANE_COMPARE(<=, Le)
    NB_LANE_COMPARE(>, Gt)
    NB_LANE_COMPARE(>=, Ge)
#undef NB_LANE_BINARY
#undef NB_LANE_COMPARE
    friend HWY_INLINE Lane operator-(Lane a) {
        Lane r;
        for (int i = 0; i < K; ++i) r.v[i] = hn::Neg(a.v[i]);
        return r;
    }
};

// an op applied to each vector: `expr` of x
#define NB_LANE_UNARY(name, expr)            \
    template <class D>                       \
    HWY_INLINE Lane<D> name(Lane<D> a) {     \
        Lane<D> r;                           \
        for (int i = 0; i < kVectors; ++i) { \
            const hn::Vec<D> x = a.v[i];     \
            r.v[i] = expr;                   \
        }                                    \
        return r;                            \
    }
NB_LANE_UNARY(lsqrt, hn::Sqrt(x))
NB_LANE_UNARY(lfloor, hn::Floor(x))
NB_LANE_UNARY(lceil, hn::Ceil(x))
// round half to even, as rint() in the default rounding mode
NB_LANE_UNARY(lrint, hn::Round(x))

template <class D>
HWY_INLINE Lane<D> lselect(LaneMask<D> m, Lane<D> a, Lane<D> b) {
    Lane<D> r;
    for (int i = 0; i < kVectors; ++i) r.v[i] = hn::IfThenElse(m.m[i], a.v[i], b.v[i]);
    return r;
}
template <class D>
HWY_INLINE bool any_lane(LaneMask<D> m) {
    hn::Mask<D> u = m.m[0];
    for (int i = 1; i < kVectors; ++i) u = hn::Or(u, m.m[i]);
    return !hn::AllFalse(D(), u);
}
template <class D>
HWY_INLINE bool all_lanes(LaneMask<D> m) {
    hn::Mask<D> u = m.m[0];
    for (int i = 1; i < kVectors; ++i) u = hn::And(u, m.m[i]);
    return hn::AllTrue(D(), u);
}
template <class D>
HWY_INLINE LaneMask<D> lane_nonzero(Lane<D> a) {
    return a != Lane<D>(hn::TFromD<D>(0));
}

// f applied lane by lane (C's libm: the exact mode, and sincg's large arguments)
template <class D, class F>
HWY_INLINE Lane<D> per_lane(Lane<D> x, F f) {
    using T = hn::TFromD<D>;
    alignas(64) T buf[kVectors * HWY_MAX_BYTES / sizeof(T)];
    x.store(buf);
    for (size_t i = 0; i < kVectors * hn::Lanes(D()); ++i) buf[i] = f(buf[i]);
    return Lane<D>::load(buf);
}

template <class D>
HWY_INLINE Lane<D> libm_sin(Lane<D> x) {
    return per_lane(x, [](hn::TFromD<D> a) { return std::sin(a); });
}

// C's sinc3 in double, lane by lane (kernels/sincg.hpp: lanes near x = 0)
template <class D>
HWY_INLINE Lane<D> sinc3_c_lanes(Lane<D> x) {
    using T = hn::TFromD<D>;
    return per_lane(x, [](T a) { return (T)sinc3_c((double)a); });
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
    alignas(64) T bb[kVectors * HWY_MAX_BYTES / sizeof(T)], ee[kVectors * HWY_MAX_BYTES / sizeof(T)];
    b.store(bb);
    e.store(ee);
    for (size_t i = 0; i < kVectors * hn::Lanes(D()); ++i) bb[i] = std::cos(T(2) * -std::atan2(bb[i], ee[i]));
    return Lane<D>::load(bb);
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
NB_LANE_UNARY(lexp, hn::Exp(D(), x))
NB_LANE_UNARY(lsin, hn::Sin(D(), x))
NB_LANE_UNARY(lcos, hn::Cos(D(), x))
// cos(2 psi), psi = -atan2(b, e): (e^2 - b^2) / (e^2 + b^2), 1 at b = e = 0
template <class D>
HWY_INLINE Lane<D> lcos_2psi(Lane<D> b, Lane<D> e) {
    const Lane<D> e2 = e * e, b2 = b * b, r2 = e2 + b2;
    return lselect(r2 == Lane<D>(0), Lane<D>(1), (e2 - b2) / r2);
}
template <class D>
HWY_INLINE Lane<D> lmuladd(Lane<D> a, Lane<D> b, Lane<D> c) {
    Lane<D> r;
    for (int i = 0; i < kVectors; ++i) r.v[i] = hn::MulAdd(a.v[i], b.v[i], c.v[i]);
    return r;
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
#endif
// a / x / x * c / x (a solid angle), C's form in both variants: the CPU's
// divisions cost little beside a GPU thread's (the scalar lanes' fast form)
template <class D>
HWY_INLINE Lane<D> ldiv_cubed(Lane<D> a, Lane<D> x, hn::TFromD<D> c) {
    return a / x / x * c / x;
}
#if !NB_SIMD_EXACT
// sinc3 with vector sin/cos: the cancellation-free form (kernels/sincg.hpp),
// C's expression in double near x = 0. (ADL prefers this overload to the
// generic template for lanes.)
// Highway's Sin and Cos hold for |x| < 39000 only; past that (a round crystal
// far from its nearest node: a 9e18 A cell gave +inf pixels where C's are 0)
// the lanes take C's expression with libm.
template <class D>
HWY_INLINE Lane<D> sinc3(Lane<D> x) {
    using T = hn::TFromD<D>;
    Lane<D> r = sinc3_stable(x);
    const LaneMask<D> far = x * x > Lane<D>(T(39000.0 * 39000.0));
    if (any_lane(far)) r = lselect(far, sinc3_c_lanes(x), r);
    return r;
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
#undef NB_LANE_UNARY

}  // namespace HWY_NAMESPACE
}  // namespace NB_SIMD_VARIANT
}  // namespace nb
HWY_AFTER_NAMESPACE();

#endif  // NB_LANES_HWY_TOGGLE
