#include "engine/solid_angle.hpp"

#include <cmath>
#include <cstdio>

#include "engine/render.hpp"
#include "kernels/pixel_physics.hpp"

namespace nb {

double detector_solid_angle_sum(const Experiment& e) {
    const Sampling& m = e.samp;
    double sum = 0;
    // the geometry only: staged without structure factors
    with_staged_params(
        e, HklGrid{}, Precision::Double,
        [&](const PixelParams<double>& p) {
            const int s0 = std::max(m.roi_ymin, 0), s1 = std::min(m.roi_ymax, e.det.spixels - 1);
            const int f0 = std::max(m.roi_xmin, 0), f1 = std::min(m.roi_xmax, e.det.fpixels - 1);
#pragma omp parallel for reduction(+ : sum) schedule(static)
            for (int s = s0; s <= s1; ++s)
                for (int f = f0; f <= f1; ++f) {
                    if (!e.mask.empty() && e.mask[(size_t)s * e.det.fpixels + f] == 0) continue;
                    sum += pixel_solid_angle_sum(p, f, s);
                }
        },
        [](const PixelParams<float>&) {});
    return sum;
}

std::string solid_angle_text(double steradians) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "solid angle subtended by detector = %g steradian ( %g%% sphere)\n", steradians,
                  100 * steradians / 4 / M_PI);
    return buf;
}

}  // namespace nb
