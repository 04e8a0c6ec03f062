// Structure-factor lookup on the HKL grid: nearest neighbour and C
// nanoBragg's tricubic (4x4x4 Lagrange, polin3) interpolation.
#pragma once
#include <climits>
#include <cmath>

#include "kernels/hd.hpp"
#include "kernels/lanes.hpp"

namespace nb {

// A dense F grid over [h_min,h_max] x [k_min,k_max] x [l_min,l_max], l fastest.
template <typename T>
struct HklGridView {
    const T* F = nullptr;
    int h_min = 0, h_max = -1, k_min = 0, k_max = -1, l_min = 0, l_max = -1;
    int h_range = 0, k_range = 0, l_range = 0;  // max - min + 1
    long long hkls = 0;                         // reflections read (0: no grid)

    NB_HD_METHOD T at(int h, int k, int l) const {
        return F[((long long)(h - h_min) * k_range + (k - k_min)) * l_range + (l - l_min)];
    }
};

// Nearest Miller index, C's ceil(h - 0.5). Converting NaN, infinity or a value
// beyond int to int is undefined behaviour; such an index gets INT_MIN, which
// is what x86 conversion gives C and which no grid holds (out of range).
template <typename T>
NB_HD_INLINE int nearest_index(T h) {
    const T r = std::ceil(h - T(0.5));
    return (r >= T(INT_MIN) && r < -T(INT_MIN)) ? (int)r : INT_MIN;  // -INT_MIN: 2^31, exact in float
}

// The same as a floating-point number, for lanes (no int conversion). C's h0
// is an int, so past int's range it is INT_MIN here too: the round, Gaussian
// and tophat shapes take h - h0, which is then h + 2^31 (found by a line with a
// 9e18 A cell, where C's spots came from that difference).
template <typename V>
NB_HD_INLINE V nearest_index_fp(V h) {
    const V r = lceil(h - V(0.5));
    const V lowest(-2147483648.0);  // INT_MIN, exact in float
    return lselect((r >= lowest) & (r < -lowest), r, lowest);
}

template <typename T>
NB_HD_INLINE T lookup_nearest(const HklGridView<T>& g, int h0, int k0, int l0, T default_F) {
    if (g.hkls && h0 <= g.h_max && h0 >= g.h_min && k0 <= g.k_max && k0 >= g.k_min && l0 <= g.l_max && l0 >= g.l_min) {
        return g.at(h0, k0, l0);
    }
    return default_F;
}

// C's nearest index ceil(h - 0.5) in one conversion on a GPU: rounding up,
// saturating beyond int's range (outside every grid, as C's INT_MIN is), NaN
// to 0 (lookup_nearest_fp tests NaN itself). The host computes what the GPU's
// conversion gives, so that the tests of the device's sweep check its logic.
template <typename T>
NB_HD_INLINE int nearest_index_sat(T h) {
#if defined(__CUDA_ARCH__)
    if constexpr (sizeof(T) == sizeof(float))
        return __float2int_ru(h - 0.5f);
    else
        return __double2int_ru(h - 0.5);
#else
    const T r = std::ceil(h - T(0.5));
    const T two31 = T(2147483648.0);  // exact in float
    return r != r ? 0 : r >= two31 ? INT_MAX : r < -two31 ? INT_MIN : (int)r;
#endif
}

// lookup_nearest at the nearest indices of fractional (h, k, l), for the
// sweep of the common case (kernels/sweep_case.hpp): a grid index inside
// [0, range) by one unsigned comparison an axis (an index below the grid
// wraps above its range), and a NaN index, which C makes INT_MIN, outside.
// The offset into F in 32 bits: that sweep's grids hold fewer than 2^32 values.
template <typename T>
NB_HD_INLINE T lookup_nearest_fp(const HklGridView<T>& g, T h, T k, T l, T default_F) {
    const unsigned hi = (unsigned)nearest_index_sat(h) - (unsigned)g.h_min;
    const unsigned ki = (unsigned)nearest_index_sat(k) - (unsigned)g.k_min;
    const unsigned li = (unsigned)nearest_index_sat(l) - (unsigned)g.l_min;
    const T sum = h + k + l;  // NaN when an index is (or +inf and -inf: outside anyway)
    if (g.hkls && hi < (unsigned)g.h_range && ki < (unsigned)g.k_range && li < (unsigned)g.l_range && sum == sum)
        return g.F[(hi * (unsigned)g.k_range + ki) * (unsigned)g.l_range + li];
    return default_F;
}

// True when the 4x4x4 neighbourhood around (h,k,l) is not inside the grid;
// C tests the fractional indices, not the floors, and so do we. Written as
// "not inside" so that a NaN index (every comparison false) is out of range:
// C's form lets NaN through to a lookup outside the grid.
// The scalar form (one pixel) and the lane form (a mask) share interpolation_in_range.
template <typename V, typename T>
NB_HD_INLINE auto interpolation_in_range(const HklGridView<T>& g, V h, V k, V l) {
    return ((h - T(g.h_min) + T(3)) <= V(T(g.h_range))) & (h - T(2) >= V(T(g.h_min))) &
           ((k - T(g.k_min) + T(3)) <= V(T(g.k_range))) & (k - T(2) >= V(T(g.k_min))) &
           ((l - T(g.l_min) + T(3)) <= V(T(g.l_range))) & (l - T(2) >= V(T(g.l_min)));
}

template <typename T>
NB_HD_INLINE bool interpolation_out_of_range(const HklGridView<T>& g, T h, T k, T l) {
    return !interpolation_in_range(g, h, k, l);
}

// Four-point Lagrange polynomial through (xa[i], ya[i]) evaluated at x,
// term by term in C's order, for any abscissae (the |F| table of amorphous
// material: kernels/amorphous_physics.hpp).
template <typename T>
NB_HD_INLINE T polint4_c(const T* xa, const T* ya, T x) {
    // (T is a lane type: the same terms for one pixel or a vector of them)
    T x0 = (x - xa[1]) * (x - xa[2]) * (x - xa[3]) * ya[0] / ((xa[0] - xa[1]) * (xa[0] - xa[2]) * (xa[0] - xa[3]));
    T x1 = (x - xa[0]) * (x - xa[2]) * (x - xa[3]) * ya[1] / ((xa[1] - xa[0]) * (xa[1] - xa[2]) * (xa[1] - xa[3]));
    T x2 = (x - xa[0]) * (x - xa[1]) * (x - xa[3]) * ya[2] / ((xa[2] - xa[0]) * (xa[2] - xa[1]) * (xa[2] - xa[3]));
    T x3 = (x - xa[0]) * (x - xa[1]) * (x - xa[2]) * ya[3] / ((xa[3] - xa[0]) * (xa[3] - xa[1]) * (xa[3] - xa[2]));
    return x0 + x1 + x2 + x3;
}

// The same for the tricubic HKL lookup, whose abscissae are four consecutive
// integers: the denominators are then -6, 2, -2 and 6. The fast forms (the
// SIMD default mode, kernels/lanes_hwy.hpp, and the GPU's default-mode kernel,
// NB_FAST_SCALAR_LANES) multiply by them: 4 divisions fewer a call, 21 calls an
// evaluation. Everything else takes C's.
template <typename T>
NB_HD_INLINE T polint4(const T* xa, const T* ya, T x) {
#if NB_FAST_SCALAR_LANES
    const T d0 = x - xa[0], d1 = x - xa[1], d2 = x - xa[2], d3 = x - xa[3];
    const T d01 = d0 * d1, d23 = d2 * d3;
    return d1 * d23 * ya[0] * T(-1.0 / 6.0) + d0 * d23 * ya[1] * T(0.5) + d01 * d3 * ya[2] * T(-0.5) +
           d01 * d2 * ya[3] * T(1.0 / 6.0);
#else
    return polint4_c(xa, ya, x);
#endif
}

// Tricubic interpolation of F at fractional (h,k,l); the caller has checked
// interpolation_out_of_range() is false.
template <typename T>
NB_HD_INLINE T lookup_tricubic(const HklGridView<T>& g, T h, T k, T l) {
    int hf = (int)std::floor(h), kf = (int)std::floor(k), lf = (int)std::floor(l);
    T hd[4], kd[4], ld[4];
    for (int i = 0; i < 4; ++i) {
        hd[i] = (T)(hf - 1 + i);
        kd[i] = (T)(kf - 1 + i);
        ld[i] = (T)(lf - 1 + i);
    }
    T over_h[4];
    for (int i1 = 0; i1 < 4; ++i1) {
        T over_k[4];
        for (int i2 = 0; i2 < 4; ++i2) {
            T row[4];
            for (int i3 = 0; i3 < 4; ++i3) row[i3] = g.at(hf - 1 + i1, kf - 1 + i2, lf - 1 + i3);
            over_k[i2] = polint4(ld, row, l);
        }
        over_h[i1] = polint4(kd, over_k, k);
    }
    return polint4(hd, over_h, h);
}

}  // namespace nb
