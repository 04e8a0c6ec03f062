// Kahn polarization factor for an incident beam whose E-vector lies closest
// to `axis`.
#pragma once
#include <cmath>

#include "kernels/vec3.hpp"

namespace nb {

template <typename T>
NB_HD_INLINE T polarization_factor(T kahn_factor, const Vec3<T>& incident_in, const Vec3<T>& diffracted_in,
                                   const Vec3<T>& axis_in) {
    Vec3<T> incident, diffracted, axis;
    unitize(incident_in, incident);
    unitize(diffracted_in, diffracted);
    unitize(axis_in, axis);

    T cos2theta = dot(incident, diffracted);
    T cos2theta_sqr = cos2theta * cos2theta;
    T sin2theta_sqr = T(1) - cos2theta_sqr;

    T psi = T(0);
    if (kahn_factor != T(0)) {
        Vec3<T> B_in, E_in;
        unitize(cross(axis, incident), B_in);
        unitize(cross(incident, B_in), E_in);
        T E_out = dot(diffracted, E_in);
        T B_out = dot(diffracted, B_in);
        psi = -std::atan2(B_out, E_out);
    }
    return T(0.5) * (T(1) + cos2theta_sqr - kahn_factor * std::cos(T(2) * psi) * sin2theta_sqr);
}

}  // namespace nb
