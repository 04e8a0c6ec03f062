// 3-vectors for the per-pixel physics. Operations keep C nanoBragg's
// evaluation order (x*x+y*y+z*z, component-wise division by the magnitude)
// so that double-precision results round the same way.
#pragma once
#include <cmath>

#include "kernels/hd.hpp"
#include "kernels/lanes.hpp"

namespace nb {

template <typename T>
struct Vec3 {
    T x, y, z;
};

using Vec3D = Vec3<double>;

template <typename T>
NB_HD_INLINE Vec3<T> make_vec3(T x, T y, T z) {
    return Vec3<T>{x, y, z};
}

// Mixed lane/scalar operands are allowed (a pixel vector against a run constant).
template <typename A, typename B>
NB_HD_INLINE auto dot(const Vec3<A>& a, const Vec3<B>& b) {
    return a.x * b.x + a.y * b.y + a.z * b.z;
}

template <typename T>
NB_HD_INLINE Vec3<T> cross(const Vec3<T>& a, const Vec3<T>& b) {
    return Vec3<T>{a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}

template <typename T>
NB_HD_INLINE T magnitude(const Vec3<T>& v) {
    return lsqrt(v.x * v.x + v.y * v.y + v.z * v.z);
}

template <typename T>
NB_HD_INLINE Vec3<T> scale(const Vec3<T>& v, T s) {
    return Vec3<T>{s * v.x, s * v.y, s * v.z};
}

template <typename T>
NB_HD_INLINE Vec3<T> add(const Vec3<T>& a, const Vec3<T>& b) {
    return Vec3<T>{a.x + b.x, a.y + b.y, a.z + b.z};
}

template <typename T>
NB_HD_INLINE Vec3<T> sub(const Vec3<T>& a, const Vec3<T>& b) {
    return Vec3<T>{a.x - b.x, a.y - b.y, a.z - b.z};
}

// Unit vector and the original length; a zero vector stays zero (C's unitize).
template <typename T>
NB_HD_INLINE T unitize(const Vec3<T>& v, Vec3<T>& unit) {
    T mag = magnitude(v);
    const auto nonzero = mag != T(0);
    T x = v.x, y = v.y, z = v.z;
    ldiv3(x, y, z, mag);
    unit = Vec3<T>{lselect(nonzero, x, T(0)), lselect(nonzero, y, T(0)), lselect(nonzero, z, T(0))};
    return mag;
}

// Rescale to a given length (C's vector_rescale: a zero vector is treated as length 1).
template <typename T>
NB_HD_INLINE Vec3<T> rescale(const Vec3<T>& v, T new_mag) {
    T old = magnitude(v);
    if (old <= T(0)) old = T(1);
    return Vec3<T>{new_mag / old * v.x, new_mag / old * v.y, new_mag / old * v.z};
}

}  // namespace nb
