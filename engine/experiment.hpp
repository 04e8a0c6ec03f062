// The fully resolved experiment: every auto-selection rule of C nanoBragg
// applied, geometry oriented, crystal built, sources and mosaic domains
// generated. The renderer stages this into PixelParams.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/random.hpp"
#include "kernels/vec3.hpp"

namespace nb {

struct DetectorGeometry {
    Convention convention = Convention::Mosflm;
    Pivot pivot = Pivot::Beam;
    int fpixels = 0, spixels = 0;
    double pixel_size = 0, detsize_f = 0, detsize_s = 0;
    Vec3D fdet, sdet, odet, pix0, beam, polar, spindle, vert, twotheta_axis;
    double distance = 0, close_distance = 0, ratio = 0;
    double Xbeam = 0, Ybeam = 0, Fbeam = 0, Sbeam = 0;
    double Xclose = 0, Yclose = 0, Fclose = 0, Sclose = 0;
    double ORGX = 0, ORGY = 0;
    Vec3D dials_origin{0, 0, 0};  // mm
    double rotx = 0, roty = 0, rotz = 0, twotheta = 0;
    bool curved = false, point_pixel = false;
};

// One panel of a multi-panel detector (-expt), in the engine's lab frame.
struct DetectorPanel {
    std::string name;
    Vec3D fdet, sdet, odet, pix0;             // unit vectors; pix0: m, sample to the first pixel's corner
    double distance = 0, close_distance = 0;  // m, along the beam and along odet
};

struct Sampling {
    int phisteps = 1;
    double phi0 = 0, phistep = 0, osc = 0;
    int hdivsteps = 1, vdivsteps = 1, dispsteps = 1;
    double hdivrange = 0, hdivstep = 0, vdivrange = 0, vdivstep = 0;
    double dispersion = 0, dispstep = 0;
    int thicksteps = 1;
    double thick = 0, thickstep = 0, mu = 0;
    int mosaic_domains = 1;
    double mosaic_spread = 0;
    int oversample = 1, recommended_oversample = 1;
    int roi_xmin = 0, roi_xmax = 0, roi_ymin = 0, roi_ymax = 0;
};

struct Crystal {
    // real-space cell at phi=0 without mosaic, meters
    Vec3D a, b, c;
    // reciprocal cell, 1/Angstrom (used by the non-square spot shapes)
    Vec3D a_star, b_star, c_star;
    double V_cell = 0;                                                       // Angstrom^3
    double a_len = 0, b_len = 0, c_len = 0, alpha = 0, beta = 0, gamma = 0;  // Angstrom, radians
    double astar_len = 0, bstar_len = 0, cstar_len = 0, alpha_star = 0, beta_star = 0, gamma_star = 0;
    double Na = 1, Nb = 1, Nc = 1;
    std::array<double, 3> misset{0, 0, 0};  // radians, as applied
    bool random_misset = false;
    std::vector<std::array<double, 9>> mosaic_umats;
};

struct Sources {
    std::vector<Vec3D> direction;        // unit vectors sample -> source
    std::vector<Vec3D> position;         // m, before unitizing: what C lists ("created a total of")
    std::vector<double> lambda;          // m
    std::vector<double> weight;          // as read (file) or 1/count (generated); C ignores it
    std::vector<double> applied_weight;  // -source_weights: normalized to sum to the count; empty otherwise
    int divsteps = 1;                    // accepted divergence points (generated grid only)
    bool from_file = false;
};

struct HklGrid {
    std::vector<double> F;  // [h][k][l], l fastest, (h_range x k_range x l_range)
    int h_min = 0, h_max = -1, k_min = 0, k_max = -1, l_min = 0, l_max = -1;
    long long hkls = 0;
    int h_range() const { return h_max - h_min + 1; }
    int k_range() const { return k_max - k_min + 1; }
    int l_range() const { return l_max - l_min + 1; }
};

// C nonBragg's table rows in double: the file's rows (stol converted to 1/m)
// between two guard rows at each end (stol -1e99, -1e98 and 1e98, 1e99, F the
// first and last F), as C nonBragg builds them (engine/amorphous.hpp).
struct AmorphousTableData {
    std::vector<double> stol, F;
    std::string name;  // the file or built-in name, for messages
    int points() const { return (int)stol.size(); }
};

// One amorphous material of a realistic image: its table and the molecules the beam sees.
struct AmorphousTerm {
    AmorphousTableData table;
    double molecules = 0;
};

// Everything of an experiment but its structure factors.
struct ExperimentSetup {
    SimConfig cfg;
    DetectorGeometry det;
    Sampling samp;
    Crystal xtal;
    Sources src;
    std::vector<uint16_t> mask;  // empty: no mask
    bool interpolate = false;
    double fluence = 0, flux = 0, exposure = 0, beamsize = 0;
    double I_bg = 0;                 // water background term
    double steps = 1;                // normalization: sources*mosaic*phisteps*oversample^2
    Ran1 ran;                        // C's single generator state, carried on to the noise image
    std::vector<std::string> notes;  // messages C prints during set-up (warnings etc.)
    // the oversampling choice and its warning, which C prints after "crystal is"
    std::vector<std::string> oversample_notes;
    std::vector<AmorphousTerm> amorphous;  // -amorphous: background materials (ours)
    // Several panels (-expt): the image stacks their rows, panel k holding rows
    // [k panel_rows, (k + 1) panel_rows) of det.fpixels x det.spixels; empty: one panel (det)
    std::vector<DetectorPanel> panels;
    int panel_rows() const { return panels.empty() ? det.spixels : det.spixels / (int)panels.size(); }
};

struct Experiment : ExperimentSetup {
    HklGrid hkl;
};

// A copy without the structure factors (what a frame's writers need):
// copying a large grid only to drop it cost page faults per frame.
inline Experiment geometry_copy(const Experiment& e) {
    Experiment c;
    static_cast<ExperimentSetup&>(c) = e;
    return c;
}

}  // namespace nb
