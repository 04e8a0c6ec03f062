#include "engine/crystal.hpp"

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "engine/units.hpp"
#include "kernels/rotation.hpp"

namespace nb {

std::array<double, 9> read_mosflm_matrix(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("-mat: cannot open matrix file '" + path + "'");
    return parse_mosflm_matrix(in, path);
}

std::array<double, 9> parse_mosflm_matrix(std::istream& in, const std::string& path) {
    std::array<double, 9> m{};
    for (int i = 0; i < 9; ++i) {
        std::string tok;
        if (!(in >> tok)) {
            throw std::runtime_error("-mat: matrix file '" + path + "' has " + std::to_string(i) +
                                     " numbers; a MOSFLM A matrix needs 9 (three lines of three)");
        }
        char* end = nullptr;
        double x = std::strtod(tok.c_str(), &end);
        if (end == tok.c_str() || *end != '\0' || !std::isfinite(x)) {
            throw std::runtime_error("-mat: matrix file '" + path + "': '" + tok + "' is not a number (entry " +
                                     std::to_string(i + 1) + ")");
        }
        m[i] = x;
    }
    return m;
}

namespace {

// Clamp as C does: sines to [-1,1]; a cosine whose square exceeds 1 becomes +1.
void clamp_trig(double& s, double& c) {
    if (s > 1.0) s = 1.0;
    if (s < -1.0) s = -1.0;
    if (c * c > 1.0) c = 1.0;
}

bool oddball(double s, double c) { return s > 1.0000001 || s < -1.0000001 || c > 1.0000001 || c < -1.0000001; }

// Reciprocal cell in the default orientation (a* along x) from -cell.
void reciprocal_from_cell(double a, double b, double c, double alpha, double beta, double gamma, Vec3D& a_star,
                          Vec3D& b_star, Vec3D& c_star, double& V_cell, std::vector<std::string>& notes) {
    double aavg = (alpha + beta + gamma) / 2;
    double skew = std::sin(aavg) * std::sin(aavg - alpha) * std::sin(aavg - beta) * std::sin(aavg - gamma);
    if (skew < 0.0) skew = -skew;
    V_cell = 2.0 * a * b * c * std::sqrt(skew);
    if (V_cell <= 0.0) {
        notes.push_back("WARNING: impossible unit cell volume: " + std::to_string(V_cell));
        V_cell = DBL_MIN;
    }
    double V_star = 1.0 / V_cell;
    double as = b * c * std::sin(alpha) * V_star;
    double bs = c * a * std::sin(beta) * V_star;
    double cs = a * b * std::sin(gamma) * V_star;
    if (as <= 0.0 || bs <= 0.0 || cs <= 0.0) {
        notes.push_back("WARNING: impossible reciprocal cell lengths");
        as = std::fabs(as);
        bs = std::fabs(bs);
        cs = std::fabs(cs);
        if (as <= 0.0) as = DBL_MIN;
        if (bs <= 0.0) bs = DBL_MIN;
        if (cs <= 0.0) cs = DBL_MIN;
    }
    double sin_as = a * V_star / bs / cs, sin_bs = b * V_star / as / cs, sin_gs = c * V_star / as / bs;
    double cos_as = (std::cos(beta) * std::cos(gamma) - std::cos(alpha)) / (std::sin(beta) * std::sin(gamma));
    double cos_bs = (std::cos(gamma) * std::cos(alpha) - std::cos(beta)) / (std::sin(gamma) * std::sin(alpha));
    double cos_gs = (std::cos(alpha) * std::cos(beta) - std::cos(gamma)) / (std::sin(alpha) * std::sin(beta));
    if (oddball(sin_as, cos_as) || oddball(sin_bs, cos_bs) || oddball(sin_gs, cos_gs))
        notes.push_back("WARNING: oddball reciprocal cell angles");
    clamp_trig(sin_as, cos_as);
    clamp_trig(sin_bs, cos_bs);
    clamp_trig(sin_gs, cos_gs);

    a_star = Vec3D{as, 0.0, 0.0};
    b_star = Vec3D{bs * cos_gs, bs * sin_gs, 0.0};
    c_star = Vec3D{cs * cos_bs, cs * (cos_as - cos_bs * cos_gs) / sin_gs, cs * V_cell / (a * b * c * sin_gs)};
}

}  // namespace

Crystal build_crystal(const SimConfig& cfg, Ran1& ran, int64_t& misset_seed, std::vector<std::string>& notes) {
    Crystal x;
    Vec3D a_star{0, 0, 0}, b_star{0, 0, 0}, c_star{0, 0, 0};
    double a_len = cfg.cell_a, b_len = cfg.cell_b, c_len = cfg.cell_c;
    double V_cell = 0;

    if (cfg.user_cell) {
        // a few defaults, as C fills them
        if (b_len <= 0.0) b_len = a_len;
        if (c_len <= 0.0) c_len = a_len;
        double alpha = cfg.cell_alpha > 0.0 ? cfg.cell_alpha : M_PI / 2;
        double beta = cfg.cell_beta > 0.0 ? cfg.cell_beta : M_PI / 2;
        double gamma = cfg.cell_gamma > 0.0 ? cfg.cell_gamma : M_PI / 2;
        // C folds a negative volume factor to positive and goes on with a cell
        // that does not exist: each angle must be below the sum of the other two
        // and all three below 360 deg.
        const double s = (alpha + beta + gamma) / 2;
        if (!(a_len > 0 && b_len > 0 && c_len > 0) ||
            !(std::sin(s) * std::sin(s - alpha) * std::sin(s - beta) * std::sin(s - gamma) > 0)) {
            char buf[200];
            std::snprintf(buf, sizeof buf,
                          "-cell: %g %g %g %g %g %g has no positive volume (each angle must be less than the sum of "
                          "the other two, and all three less than 360 deg)",
                          a_len, b_len, c_len, alpha * 180 / M_PI, beta * 180 / M_PI, gamma * 180 / M_PI);
            throw std::runtime_error(buf);
        }
        reciprocal_from_cell(a_len, b_len, c_len, alpha, beta, gamma, a_star, b_star, c_star, V_cell, notes);
    }
    if (!cfg.mat_file.empty() || cfg.mat_values) {
        std::array<double, 9> m = cfg.mat_values ? *cfg.mat_values : read_mosflm_matrix(cfg.mat_file);
        // the A matrix carries 1/lambda: remove it
        const double s = 1e-10 / cfg.lambda0;
        a_star = scale(Vec3D{m[0], m[3], m[6]}, s);
        b_star = scale(Vec3D{m[1], m[4], m[7]}, s);
        c_star = scale(Vec3D{m[2], m[5], m[8]}, s);
    }

    std::array<double, 3> misset{cfg.misset_rot[0], cfg.misset_rot[1], cfg.misset_rot[2]};
    bool apply_misset = cfg.misset_mode == 1;
    if (cfg.misset_mode == -1) {
        // C passes 90 (radians, not degrees) as the cap: a full random orientation.
        std::array<double, 9> umat = mosaic_rotation_umat(90.0f, ran, misset_seed);
        misset = umat2misset(umat);
        x.random_misset = true;
        apply_misset = true;
    }
    if (apply_misset) {
        a_star = rotate_xyz(a_star, misset[0], misset[1], misset[2]);
        b_star = rotate_xyz(b_star, misset[0], misset[1], misset[2]);
        c_star = rotate_xyz(c_star, misset[0], misset[1], misset[2]);
        x.misset = misset;
    }

    Vec3D axb = cross(a_star, b_star), bxc = cross(b_star, c_star), cxa = cross(c_star, a_star);
    double V_star = dot(a_star, bxc);
    // C divides by zero here and renders NaN: a matrix must span a cell
    if ((cfg.mat_values || !cfg.mat_file.empty()) && !std::isfinite(1.0 / V_star))
        throw std::runtime_error(
            "-mat: " + (cfg.mat_values ? std::string("the orientation matrix") : "'" + cfg.mat_file + "'") +
            " is singular: its columns a*, b*, c* span no volume, so there is no unit cell");
    if (cfg.user_cell) {
        // make sure the user's cell lengths take
        bxc = rescale(bxc, a_len / V_cell);
        cxa = rescale(cxa, b_len / V_cell);
        axb = rescale(axb, c_len / V_cell);
        V_star = 1.0 / V_cell;
    }
    V_cell = 1.0 / V_star;

    Vec3D a = scale(bxc, V_cell), b = scale(cxa, V_cell), c = scale(axb, V_cell);
    a_star = scale(cross(b, c), V_star);
    b_star = scale(cross(c, a), V_star);
    c_star = scale(cross(a, b), V_star);

    x.a_len = magnitude(a);
    x.b_len = magnitude(b);
    x.c_len = magnitude(c);
    x.astar_len = magnitude(a_star);
    x.bstar_len = magnitude(b_star);
    x.cstar_len = magnitude(c_star);
    {
        double sa = x.astar_len * V_cell / x.b_len / x.c_len, sb = x.bstar_len * V_cell / x.a_len / x.c_len,
               sg = x.cstar_len * V_cell / x.a_len / x.b_len;
        double ca = dot(b, c) / x.b_len / x.c_len, cb = dot(a, c) / x.a_len / x.c_len,
               cg = dot(a, b) / x.a_len / x.b_len;
        if (oddball(sa, ca) || oddball(sb, cb) || oddball(sg, cg)) notes.push_back("WARNING: oddball cell angles");
        clamp_trig(sa, ca);
        clamp_trig(sb, cb);
        clamp_trig(sg, cg);
        x.alpha = std::atan2(sa, ca);
        x.beta = std::atan2(sb, cb);
        x.gamma = std::atan2(sg, cg);
        double ssa = x.a_len * V_star / x.bstar_len / x.cstar_len, ssb = x.b_len * V_star / x.astar_len / x.cstar_len,
               ssg = x.c_len * V_star / x.astar_len / x.bstar_len;
        double csa = dot(b_star, c_star) / x.bstar_len / x.cstar_len,
               csb = dot(a_star, c_star) / x.astar_len / x.cstar_len,
               csg = dot(a_star, b_star) / x.astar_len / x.bstar_len;
        clamp_trig(ssa, csa);
        clamp_trig(ssb, csb);
        clamp_trig(ssg, csg);
        x.alpha_star = std::atan2(ssa, csa);
        x.beta_star = std::atan2(ssb, csb);
        x.gamma_star = std::atan2(ssg, csg);
    }
    x.V_cell = V_cell;
    x.a_star = a_star;
    x.b_star = b_star;
    x.c_star = c_star;

    // to meters
    x.a = scale(a, 1e-10);
    x.b = scale(b, 1e-10);
    x.c = scale(c, 1e-10);

    double Na = cfg.Na, Nb = cfg.Nb, Nc = cfg.Nc;
    if (cfg.sample_x > 0) Na = std::ceil(cfg.sample_x / magnitude(x.a));
    if (cfg.sample_y > 0) Nb = std::ceil(cfg.sample_y / magnitude(x.b));
    if (cfg.sample_z > 0) Nc = std::ceil(cfg.sample_z / magnitude(x.c));
    if (Na <= 1.0) Na = 1.0;
    if (Nb <= 1.0) Nb = 1.0;
    if (Nc <= 1.0) Nc = 1.0;
    x.Na = Na;
    x.Nb = Nb;
    x.Nc = Nc;
    return x;
}

}  // namespace nb
