// Rotations shared by host set-up and the per-pixel kernel.
#pragma once
#include <cmath>

#include "kernels/vec3.hpp"

namespace nb {

// Rotate about x, then y, then z (right-handed, radians). A zero angle skips
// its rotation entirely, as C does, so that exact zeros stay exact.
template <typename T>
NB_HD_INLINE Vec3<T> rotate_xyz(const Vec3<T>& v, T phix, T phiy, T phiz) {
    T nx = v.x, ny = v.y, nz = v.z;
    if (phix != T(0)) {
        T c = std::cos(phix), s = std::sin(phix);
        T ry = ny * c + nz * (-s);
        T rz = ny * s + nz * c;
        ny = ry;
        nz = rz;
    }
    if (phiy != T(0)) {
        T c = std::cos(phiy), s = std::sin(phiy);
        T rx = nx * c + ny * T(0) + nz * s;
        T rz = nx * (-s) + ny * T(0) + nz * c;
        nx = rx;
        nz = rz;
    }
    if (phiz != T(0)) {
        T c = std::cos(phiz), s = std::sin(phiz);
        T rx = nx * c + ny * (-s);
        T ry = nx * s + ny * c;
        nx = rx;
        ny = ry;
    }
    return Vec3<T>{nx, ny, nz};
}

// Rodrigues rotation of v about a unit axis by phi radians (V: lane type, kernels/lanes.hpp).
template <typename V, typename T>
NB_HD_INLINE Vec3<V> rotate_axis(const Vec3<V>& v, const Vec3<T>& axis, V phi) {
    V s = lsin(phi), c = lcos(phi);
    V d = (v.x * axis.x + v.y * axis.y + v.z * axis.z) * (V(T(1)) - c);
    return Vec3<V>{axis.x * d + v.x * c + (-axis.z * v.y + axis.y * v.z) * s,
                   axis.y * d + v.y * c + (+axis.z * v.x - axis.x * v.z) * s,
                   axis.z * d + v.z * c + (-axis.y * v.x + axis.x * v.y) * s};
}

// Row-major 3x3 matrix times vector.
template <typename T>
NB_HD_INLINE Vec3<T> rotate_umat(const Vec3<T>& v, const T* u) {
    return Vec3<T>{u[0] * v.x + u[1] * v.y + u[2] * v.z, u[3] * v.x + u[4] * v.y + u[5] * v.z,
                   u[6] * v.x + u[7] * v.y + u[8] * v.z};
}

}  // namespace nb
