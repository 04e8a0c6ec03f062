// Kahn polarization factor for an incident beam whose E-vector lies closest
// to `axis`.
#pragma once
#include <cmath>

#include "kernels/vec3.hpp"

namespace nb {

// What the factor needs of one source: the unit incident direction and the
// unit B and E directions of its polarization frame. They depend on the
// source alone, so the vector executor computes them once per source per
// image; the operations are C's, so every executor gets the same bits.
template <typename T>
struct PolarizationFrame {
    Vec3<T> incident, B_in, E_in;
};

template <typename T>
NB_HD_INLINE PolarizationFrame<T> polarization_frame(const Vec3<T>& incident_in, const Vec3<T>& axis_in) {
    PolarizationFrame<T> fr;
    Vec3<T> axis;
    unitize(incident_in, fr.incident);
    unitize(axis_in, axis);
    unitize(cross(axis, fr.incident), fr.B_in);
    unitize(cross(fr.incident, fr.B_in), fr.E_in);
    return fr;
}

// The factor for a unit diffracted direction (C unitizes it first; so do
// the callers). V: lane type of the direction (kernels/lanes.hpp); the Kahn
// factor and the frame are per-source constants.
template <typename V, typename T>
NB_HD_INLINE V polarization_factor(T kahn_factor, const PolarizationFrame<T>& fr, const Vec3<V>& diffracted) {
    V cos2theta = dot(diffracted, fr.incident);
    V cos2theta_sqr = cos2theta * cos2theta;
    V sin2theta_sqr = V(T(1)) - cos2theta_sqr;

    V cos_2psi = V(T(1));  // psi = 0
    if (kahn_factor != T(0)) {
        V E_out = dot(diffracted, fr.E_in);
        V B_out = dot(diffracted, fr.B_in);
        cos_2psi = lcos_2psi(B_out, E_out);
    }
    return V(T(0.5)) * (V(T(1)) + cos2theta_sqr - V(kahn_factor) * cos_2psi * sin2theta_sqr);
}

// The same for any incident and diffracted directions (scalar reference).
template <typename T>
NB_HD_INLINE T polarization_factor(T kahn_factor, const Vec3<T>& incident, const Vec3<T>& diffracted_in,
                                   const Vec3<T>& axis) {
    Vec3<T> diffracted;
    unitize(diffracted_in, diffracted);
    return polarization_factor(kahn_factor, polarization_frame(incident, axis), diffracted);
}

}  // namespace nb
