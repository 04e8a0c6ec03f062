#include "engine/sources.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "engine/text_table.hpp"
#include "engine/units.hpp"
#include "kernels/rotation.hpp"

namespace nb {

namespace {

// C's elliptical trimming of the divergence grid (with its half-step offset
// for even step counts); true when the point is kept.
bool inside_divergence_ellipse(double hdiv, double vdiv, const Sampling& s) {
    double test = (hdiv * hdiv - s.hdivstep * s.hdivstep / 4.0 * (1 - s.hdivsteps % 2)) / s.hdivrange / s.hdivrange;
    test += (vdiv * vdiv - s.vdivstep * s.vdivstep / 4.0 * (1 - s.vdivsteps % 2)) / s.vdivrange / s.vdivrange;
    return !(test * 4.0 > 1.1);
}

}  // namespace

Sources build_sources(const SimConfig& cfg, const DetectorGeometry& det, const Sampling& samp) {
    Sources out;
    std::vector<Vec3D> raw;
    if (!cfg.source_file.empty()) {
        // columns X Y Z weight lambda; C reads the weight and ignores it
        // (NaN, a missing column or "nan" as C reads both, takes the default)
        auto rows = read_text_table(cfg.source_file, 5, "-sourcefile");
        for (size_t i = 0; i < rows.size(); ++i) {
            const auto& r = rows[i];
            double X = std::isnan(r[0]) ? -cfg.source_distance * det.beam.x : r[0];
            double Y = std::isnan(r[1]) ? -cfg.source_distance * det.beam.y : r[1];
            double Z = std::isnan(r[2]) ? -cfg.source_distance * det.beam.z : r[2];
            const std::string where = "-sourcefile: '" + cfg.source_file + "' source " + std::to_string(i + 1);
            // no direction, or no wavelength: C renders NaN or nothing
            if (X == 0 && Y == 0 && Z == 0)
                throw std::runtime_error(where + ": the position 0 0 0 gives no direction to the sample");
            if (!std::isnan(r[4]) && !(r[4] > 0))
                throw std::runtime_error(where + ": the wavelength must be > 0 (m; leave it out for -lambda's)");
            raw.push_back(Vec3D{X, Y, Z});
            out.weight.push_back(std::isnan(r[3]) ? 1.0 : r[3]);
            out.lambda.push_back(std::isnan(r[4]) ? cfg.lambda0 : r[4]);
        }
        out.from_file = true;
        out.divsteps = 0;
    } else {
        int divsteps = 0;
        for (int ht = 0; ht < samp.hdivsteps; ++ht)
            for (int vt = 0; vt < samp.vdivsteps; ++vt) {
                double hdiv = samp.hdivstep * ht - samp.hdivrange / 2.0;
                double vdiv = samp.vdivstep * vt - samp.vdivrange / 2.0;
                if (cfg.round_div && !inside_divergence_ellipse(hdiv, vdiv, samp)) continue;
                ++divsteps;
            }
        const double weight = 1.0 / (double)(divsteps * samp.dispsteps);
        for (int ht = 0; ht < samp.hdivsteps; ++ht)
            for (int vt = 0; vt < samp.vdivsteps; ++vt) {
                double hdiv = samp.hdivstep * ht - samp.hdivrange / 2.0;
                double vdiv = samp.vdivstep * vt - samp.vdivrange / 2.0;
                if (cfg.round_div && !inside_divergence_ellipse(hdiv, vdiv, samp)) continue;
                // divergence is an angle about the E-vector ("horizontal") and its normal
                Vec3D up{-cfg.source_distance * det.beam.x, -cfg.source_distance * det.beam.y,
                         -cfg.source_distance * det.beam.z};
                Vec3D tilted = rotate_axis(rotate_axis(up, det.polar, vdiv), det.vert, hdiv);
                for (int dt = 0; dt < samp.dispsteps; ++dt) {
                    raw.push_back(tilted);
                    out.weight.push_back(weight);
                    out.lambda.push_back(cfg.lambda0 * (1.0 + samp.dispstep * dt - samp.dispersion / 2.0));
                }
            }
        out.divsteps = divsteps;
    }
    for (const Vec3D& r : raw) {
        Vec3D u;
        unitize(r, u);
        out.direction.push_back(u);
    }
    out.position = std::move(raw);
    if (cfg.source_weights) {
        // normalized so that the weights sum to the number of sources: equal
        // weights reproduce the unweighted image exactly
        double total = 0;
        for (size_t i = 0; i < out.weight.size(); ++i) {
            double w = out.weight[i];
            if (!(w > 0) || !std::isfinite(w)) {
                throw std::runtime_error("-source_weights: source " + std::to_string(i + 1) +
                                         (cfg.source_file.empty() ? "" : " of '" + cfg.source_file + "'") +
                                         " has weight " + std::to_string(w) + "; weights must be positive");
            }
            total += w;
        }
        const double n = (double)out.weight.size();
        bool all_equal = true;
        for (double w : out.weight) all_equal = all_equal && w == out.weight[0];
        for (double w : out.weight) out.applied_weight.push_back(all_equal ? 1.0 : w * n / total);
    }
    return out;
}

}  // namespace nb
