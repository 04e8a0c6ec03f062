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

#define NB_SCALAR_LANE_OPS(T)                                                \
    NB_HD_INLINE T lsqrt(T x) { return std::sqrt(x); }                       \
    NB_HD_INLINE T lfloor(T x) { return std::floor(x); }                     \
    NB_HD_INLINE T lceil(T x) { return std::ceil(x); }                       \
    NB_HD_INLINE T lrint(T x) { return std::rint(x); }                       \
    NB_HD_INLINE T lexp(T x) { return std::exp(x); }                         \
    NB_HD_INLINE T lsin(T x) { return std::sin(x); }                         \
    NB_HD_INLINE T lcos(T x) { return std::cos(x); }                         \
    /* sin with C's libm on every instance (C's sincg on large arguments) */ \
    NB_HD_INLINE T libm_sin(T x) { return std::sin(x); }                     \
    NB_HD_INLINE T lselect(bool m, T a, T b) { return m ? a : b; }           \
    /* a * b + c; the vector instance may fuse it (fast mode) */             \
    NB_HD_INLINE T lmuladd(T a, T b, T c) { return a * b + c; }

// Four operations have a C form and a fast form, as the SIMD lanes do
// (kernels/lanes_hwy.hpp; ldiv_cubed takes C's form in both SIMD variants). The scalar CPU reference and the GPU's
// -exact kernel take C's; the GPU's default-mode kernel (kernels/cuda_render_fast.cu defines NB_FAST_SCALAR_LANES)
// takes the fast SIMD lanes' forms: an IEEE division or atan2 and cos cost a GPU thread far more than a multiply.
#if NB_FAST_SCALAR_LANES
#define NB_SCALAR_LANE_VARIANT_OPS(T)                                               \
    /* cos(2 psi), psi = -atan2(b, e): (e^2 - b^2) / (e^2 + b^2), 1 at b = e = 0 */ \
    NB_HD_INLINE T lcos_2psi(T b, T e) {                                            \
        const T e2 = e * e, b2 = b * b, r2 = e2 + b2;                               \
        return r2 == T(0) ? T(1) : (e2 - b2) / r2;                                  \
    }                                                                               \
    NB_HD_INLINE T ldiv_const(T x, T s) { return x * (T(1) / s); }                  \
    NB_HD_INLINE void ldiv3(T& x, T& y, T& z, T d) {                                \
        const T r = T(1) / d;                                                       \
        x = x * r, y = y * r, z = z * r;                                            \
    }                                                                               \
    NB_HD_INLINE T ldiv_cubed(T a, T x, T c) {                                      \
        const T r = T(1) / x;                                                       \
        return a * r * r * c * r;                                                   \
    }
#else
#define NB_SCALAR_LANE_VARIANT_OPS(T)                                                   \
    /* cos(2 psi) with psi = -atan2(b, e): the Kahn polarization angle term */          \
    NB_HD_INLINE T lcos_2psi(T b, T e) { return std::cos(T(2) * -std::atan2(b, e)); }   \
    /* x / s for a run constant s; the fast forms multiply by 1/s */                    \
    NB_HD_INLINE T ldiv_const(T x, T s) { return x / s; }                               \
    /* x, y, z each divided by d; the fast forms multiply by 1/d */                     \
    NB_HD_INLINE void ldiv3(T& x, T& y, T& z, T d) { x = x / d, y = y / d, z = z / d; } \
    /* a / x / x * c / x (a solid angle); the fast forms multiply by 1/x */             \
    NB_HD_INLINE T ldiv_cubed(T a, T x, T c) { return a / x / x * c / x; }
#endif

NB_SCALAR_LANE_OPS(float)
NB_SCALAR_LANE_OPS(double)
NB_SCALAR_LANE_VARIANT_OPS(float)
NB_SCALAR_LANE_VARIANT_OPS(double)
#undef NB_SCALAR_LANE_OPS
#undef NB_SCALAR_LANE_VARIANT_OPS

// x / y where an ulp does not matter (a square crystal's F_latt on its way to
// being squared, kernels/sweep_case.hpp). A GPU's default-mode float kernel
// multiplies by the hardware reciprocal (rcp.approx.ftz: within 1 ulp; y is
// a product of sines far above the subnormals there) instead of IEEE
// division's ~8 instructions and slow-path test; elsewhere x / y.
NB_HD_INLINE float ldiv_approx(float x, float y) {
#if defined(__CUDA_ARCH__) && NB_FAST_SCALAR_LANES
    float r;
    asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(y));
    return x * r;
#else
    return x / y;
#endif
}
NB_HD_INLINE double ldiv_approx(double x, double y) { return x / y; }

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
