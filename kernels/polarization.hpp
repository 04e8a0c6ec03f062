// Kahn polarization factor for an incident beam whose E-vector lies closest
// to `axis`.
#pragma once
#include <cmath>

#include "kernels/vec3.hpp"

namespace nb {

// V: lane type of the directions (kernels/lanes.hpp); the factor and axis are run constants.
template <typename V, typename T>
NB_HD_INLINE V polarization_factor(T kahn_factor, const Vec3<V>& incident_in, const Vec3<V>& diffracted_in,
                                   const Vec3<T>& axis_in) {
    Vec3<V> incident, diffracted;
    Vec3<T> axis;
    unitize(incident_in, incident);
    unitize(diffracted_in, diffracted);
    unitize(axis_in, axis);

    V cos2theta = dot(incident, diffracted);
    V cos2theta_sqr = cos2theta * cos2theta;
    V sin2theta_sqr = V(T(1)) - cos2theta_sqr;

    V cos_2psi = V(T(1));  // psi = 0
    if (kahn_factor != T(0)) {
        Vec3<V> B_in, E_in;
        const Vec3<V> ax{V(axis.x), V(axis.y), V(axis.z)};
        unitize(cross(ax, incident), B_in);
        unitize(cross(incident, B_in), E_in);
        V E_out = dot(diffracted, E_in);
        V B_out = dot(diffracted, B_in);
        cos_2psi = lcos_2psi(B_out, E_out);
    }
    return V(T(0.5)) * (V(T(1)) + cos2theta_sqr - V(kahn_factor) * cos_2psi * sin2theta_sqr);
}

}  // namespace nb
