// The scalar lane type: the per-pixel formulas are templates over a "lane"
// type V that is either a plain float/double (this file: CUDA and the scalar
// CPU reference) or a Highway vector of neighbouring pixels
// (kernels/lanes_hwy.hpp). The formulas call these operations unqualified, so
// overload resolution (ADL for the vector type) picks the instance.
//
// Conditions that differ from pixel to pixel are written as selects (lselect)
// rather than branches; conditions on run parameters stay ordinary branches.
#pragma once
#include <cmath>

#include "kernels/hd.hpp"

namespace nb {

#define NB_SCALAR_LANE_OPS(T)                                                             \
    NB_HD_INLINE T lsqrt(T x) { return std::sqrt(x); }                                    \
    NB_HD_INLINE T lfloor(T x) { return std::floor(x); }                                  \
    NB_HD_INLINE T lceil(T x) { return std::ceil(x); }                                    \
    NB_HD_INLINE T lrint(T x) { return std::rint(x); }                                    \
    NB_HD_INLINE T lexp(T x) { return std::exp(x); }                                      \
    NB_HD_INLINE T lsin(T x) { return std::sin(x); }                                      \
    NB_HD_INLINE T lcos(T x) { return std::cos(x); }                                      \
    /* sin with C's libm on every instance (C's sincg on large arguments) */              \
    NB_HD_INLINE T libm_sin(T x) { return std::sin(x); }                                  \
    /* cos(2 psi) with psi = -atan2(b, e): the Kahn polarization angle term */            \
    NB_HD_INLINE T lcos_2psi(T b, T e) { return std::cos(T(2) * -std::atan2(b, e)); }     \
    NB_HD_INLINE T lselect(bool m, T a, T b) { return m ? a : b; }                        \
    /* a * b + c; the vector instance may fuse it (fast mode) */                          \
    NB_HD_INLINE T lmuladd(T a, T b, T c) { return a * b + c; }                           \
    /* x / s for a run constant s; the vector instance may multiply by 1/s (fast mode) */ \
    NB_HD_INLINE T ldiv_const(T x, T s) { return x / s; }                                 \
    /* x, y, z each divided by d; the vector instance may multiply by 1/d (fast mode) */  \
    NB_HD_INLINE void ldiv3(T& x, T& y, T& z, T d) { x = x / d, y = y / d, z = z / d; }

NB_SCALAR_LANE_OPS(float)
NB_SCALAR_LANE_OPS(double)
#undef NB_SCALAR_LANE_OPS

// The number type of a lane type: itself for float and double, T of a vector lane.
template <typename V>
struct LaneScalarOf {
    using type = typename V::T;
};
template <>
struct LaneScalarOf<float> {
    using type = float;
};
template <>
struct LaneScalarOf<double> {
    using type = double;
};
template <typename V>
using LaneScalar = typename LaneScalarOf<V>::type;

NB_HD_INLINE bool any_lane(bool m) { return m; }
NB_HD_INLINE bool all_lanes(bool m) { return m; }

}  // namespace nb
