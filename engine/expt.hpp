// DIALS experiment lists (.expt, JSON as dials.import and dials.index write
// them): the beam, detector, goniometer, scan and crystal of one experiment,
// in DIALS's lab frame and units, with every panel's frame composed through
// the detector hierarchy (docs/expt.md).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "kernels/vec3.hpp"

namespace nb {

using Mat3 = std::array<double, 9>;  // row-major

struct ExptPanel {
    std::string name;
    int fpixels = 0, spixels = 0;
    double pixel_fast = 0, pixel_slow = 0;  // mm
    Vec3D origin, fast, slow;               // lab frame (mm; unit vectors), the first pixel's outer corner
    double thickness = 0, mu = 0;           // mm, 1/mm
    std::string material;
    std::vector<std::array<int, 4>> mask;  // untrusted rectangles: fast0, slow0, fast1, slow1 (ends excluded)
};

struct ExptModel {
    std::string path;
    int experiment = 0;  // which experiment of the list
    int experiments = 1;
    bool scan_varying = false;  // the crystal has A_at_scan_points (the static model is rendered)

    // beam
    Vec3D to_source{0, 0, 1};  // unit: sample towards the source
    double wavelength = 0;     // Angstrom
    Vec3D polarization_normal{0, 1, 0};
    double polarization_fraction = 0.999;
    double divergence = 0, sigma_divergence = 0;  // deg

    std::vector<ExptPanel> panels;

    bool has_goniometer = false;
    Vec3D rotation_axis{1, 0, 0};  // datum axis e: the lab axis is S e
    Mat3 fixed{1, 0, 0, 0, 1, 0, 0, 0, 1}, setting{1, 0, 0, 0, 1, 0, 0, 0, 1};
    // a multi-axis goniometer as given (axes[0] innermost, unit vectors at
    // datum; the scan axis's angle is the scan's), for the NeXus chain
    std::vector<Vec3D> axes;
    std::vector<double> angles;  // deg
    std::vector<std::string> axis_names;
    int scan_axis = 0;

    bool has_scan = false;
    int first_image = 1, last_image = 1;
    double osc_start = 0, osc_width = 0;  // deg
    double exposure_time = 0;             // s, the first image's; 0: none given

    bool has_crystal = false;
    Vec3D real_a, real_b, real_c;  // Angstrom, at phi = 0 in the frame before the fixed rotation
};

// Reads experiment `index` of the list. Errors name the file, the object and
// the problem ("-expt FILE: detector 0, panel 3: image_size ...").
ExptModel read_expt(const std::string& path, int index = 0);
ExptModel parse_expt(const std::string& text, const std::string& path, int index = 0);

// DIALS's lab frame (imgCIF: the beam along -z, y up) to the engine's (the
// beam along +x, as C nanoBragg's MOSFLM convention) and back: a proper
// rotation, d = (v_z, v_y, -v_x).
// (Inline: the NeXus writer module uses it, and links none of the engine.)
inline Vec3D engine_from_dials(const Vec3D& d) { return Vec3D{-d.z, d.y, d.x}; }
inline Vec3D dials_from_engine(const Vec3D& v) { return Vec3D{v.z, v.y, -v.x}; }

// The crystal's reciprocal vectors (1/Angstrom) in DIALS's lab frame at the
// scan angle phi (deg): S R(e, phi) F A (dxtbx's rotation formula).
void reciprocal_at(const ExptModel& m, double phi, Vec3D& a_star, Vec3D& b_star, Vec3D& c_star);

Mat3 mat_mul(const Mat3& a, const Mat3& b);
Vec3D mat_apply(const Mat3& m, const Vec3D& v);

}  // namespace nb
