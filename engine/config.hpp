// User-facing simulation parameters, in nanoBragg's internal units (meters,
// radians, fractions) with nanoBragg's "not given" sentinels (NaN or -1).
// The CLI fills this struct flag by flag, exactly as C nanoBragg's argument
// loop would; engine/resolve.cpp then applies C's auto-selection rules.
#pragma once

#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nb {

enum class Convention { Custom, Adxv, Mosflm, Xds, Dials, Denzo };
enum class Pivot { Sample, Beam };
enum class XtalShape { Square, Round, Gauss, Tophat };

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Vec3d {
    double x = 0, y = 0, z = 0;
};

// One amorphous material in the beam: its |F| table (a built-in name or a
// file of sin(theta)/lambda and F), thickness along the beam, and density and
// molecular weight (0: the built-in table's, or water's for a file). Its
// width and height are the beam's (-beamsize).
struct AmorphousLayer {
    std::string table;
    double thickness = 0;         // m
    double density = 0;           // g/m^3
    double molecular_weight = 0;  // g/mol
    std::string spec;             // as given, for messages
};

// C noisify's detector model (engine/detector_response.hpp) as nanoBragg
// flags; `enabled` when any of them is given. Unlike noisify, nothing is on
// by default: calibration error 0 unless -calibration asks.
struct DetectorModel {
    bool enabled = false;
    int psf = 0;              // 0 none, 1 gauss, 2 fiber
    double psf_fwhm = 46e-6;  // m
    int psf_radius = 0;       // pixels, 0: automatic
    double flicker = 0, calibration = 0, readout = 0, gain = 1;
    long calib_seed = 123456789;  // stored as C stores it (a flag value negated)
};

struct ExptModel;  // engine/expt.hpp

struct SimConfig {
    // ---- inputs ----
    std::string hkl_file;                             // -hkl
    std::string mat_file;                             // -mat
    std::optional<std::array<double, 9>> mat_values;  // an A matrix given inline (shot lists)
    std::string source_file;                          // -sourcefile
    double source_distance = 10.0;                    // m: where generated sources sit (nonBragg's -source_distance)
    bool source_weights = false;                      // -source_weights (ours): apply the weight column (C ignores it)
    std::string img_file;                             // -img  (SMV header ingestion)
    std::string mask_file;                            // -mask
    std::string stol_file;                            // -stol/-4stol/-Q (read and validated; unused by C's renderer)
    std::string fdump_file = "Fdump.bin";
    bool write_fdump = true;  // -hkl caches its grid in fdump_file, as C does (the Python module writes no cache)

    // ---- outputs (empty = C's default name, see cli) ----
    std::string float_file = "floatimage.bin";
    std::string int_file = "intimage.img";
    std::string noise_file = "noiseimage.img";
    std::string pgm_file = "image.pgm";
    std::string png_file;                    // -pngfile (ours): preview image, none by default
    std::string nexus_file;                  // -nexusfile (ours): the whole series in one NeXus/NXmx HDF5 file
    bool nexus_float = false;                // -nexus_float (ours): the float image in that file too
    std::string nexus_compression = "auto";  // -nexus_compression (ours): auto, bitshuffle, lz4, deflate, none
    int nexus_frames_per_file = 0;           // -nexus_frames_per_file (ours): 0 one file, N master + data files
    std::string cbf_file;                    // -cbffile (ours): miniCBF per frame (printf pattern)
    double png_level = 0;                    // -pngscale: intensity shown black (<=0: auto)
    bool write_int = true;
    bool write_pgm = true;
    bool write_noise = true;   // -nonoise turns off
    double intfile_scale = 0;  // -scale (<=0: auto 55000/max)
    double pgm_scale = 0;      // -pgmscale (<=0: auto)
    double adc_offset = 40.0;  // -adc

    // ---- crystal ----
    bool user_cell = false;
    double cell_a = 0, cell_b = 0, cell_c = 0;             // Angstrom
    double cell_alpha = 0, cell_beta = 0, cell_gamma = 0;  // radians
    int misset_mode = 0;                                   // 0 none, 1 angles, -1 random
    double misset_rot[3] = {0, 0, 0};                      // radians
    double Na = 1, Nb = 1, Nc = 1;
    double sample_x = 0, sample_y = 0, sample_z = 0;  // m (-xtalsize family)
    XtalShape xtal_shape = XtalShape::Square;
    double fudge = 1.0;
    double default_F = 0.0;
    double mosaic_spread = -1.0;  // radians
    int mosaic_domains = -1;
    long mosaic_seed = -12345678;     // stored as C stores it (negated user value)
    std::optional<long> misset_seed;  // unset: same as seed
    int interpolate = 2;              // 2 auto, 1 on, 0 off
    bool exact_sincg = false;         // -exact_sincg: C's sin(N x)/sin(x) verbatim (bit parity, slower)
    bool exact = false;               // -exact: C's sincg, no fused multiply-add, C's libm: byte-identical to C

    // ---- spindle ----
    double phi0 = 0.0, phistep = -1.0, osc = -1.0;  // radians
    int phisteps = -1;

    // ---- beam ----
    double lambda0 = 1.0e-10;                  // m
    double dispersion = 0.0, dispstep = -1.0;  // fraction
    int dispsteps = -1;
    double hdivrange = -1.0, hdivstep = -1.0, vdivrange = -1.0, vdivstep = -1.0;  // radians
    int hdivsteps = -1, vdivsteps = -1;
    bool round_div = true;
    double fluence = 125932015286227086360700780544.0;   // photons/m^2
    double flux = 0.0, exposure = 1.0, beamsize = 1e-4;  // ph/s, s, m
    double polarization = 0.0;                           // Kahn factor
    bool nopolar = false;
    double dmin = 0.0;        // m
    double water_size = 0.0;  // m

    // ---- detector ----
    double pixel_size = 0.1e-3;  // m
    int fpixels = 0, spixels = 0;
    double detsize_f = 102.4e-3, detsize_s = 102.4e-3;  // m
    double distance = 100.0e-3;                         // m
    double close_distance = kNaN;
    double detector_mu = -1.0;    // 1/m
    double detector_thick = 0.0;  // m
    double detector_thickstep = -1.0;
    int detector_thicksteps = -1;
    Vec3d fdet{0, 0, 1}, sdet{0, -1, 0}, odet{1, 0, 0};
    Vec3d beam{1, 0, 0}, polar_vec{0, 0, 1}, spindle{0, 0, 1};
    Vec3d twotheta_axis{0, 1, 0};
    bool pix0_given = false;
    Vec3d pix0{0, 0, 0};
    double detector_rotx = 0, detector_roty = 0, detector_rotz = 0;  // radians
    double twotheta = 0.0;                                           // radians
    // C matches flags by substring, so "-twotheta_axis X Y Z" is also read as
    // "-twotheta X": set when the last of the two on the line was the axis
    bool twotheta_from_axis = false;
    Pivot pivot = Pivot::Beam;
    Convention convention = Convention::Mosflm;
    bool curved_detector = false;
    bool point_pixel = false;
    double Xbeam = kNaN, Ybeam = kNaN;    // m
    double Xclose = kNaN, Yclose = kNaN;  // m
    double ORGX = kNaN, ORGY = kNaN;      // pixels
    double header_twotheta = kNaN;        // C stores -img/-mask TWOTHETA in an unused variable

    // ---- sampling ----
    int oversample = -1;
    bool oversample_thick = false, oversample_polar = false, oversample_omega = false;
    int roi_xmin = -1, roi_xmax = -1, roi_ymin = -1, roi_ymax = -1;

    // ---- noise ----
    std::optional<long> seed;  // stored negated, as C does; unset: C uses -time()
    // the noise image from C's one generator in pixel order also outside -exact
    // (nonBragg, whose golden SMV files are C's in every mode)
    bool c_noise_order = false;

    // ---- realistic images (ours; docs/realistic.md) ----
    // amorphous material in the beam, rendered with the spots (C nonBragg's term)
    std::vector<AmorphousLayer> amorphous;  // -amorphous
    // the detector model of C noisify applied to the noise image
    DetectorModel detector_model;

    // ---- a DIALS experiment (ours, -expt; docs/expt.md) ----
    std::string expt_file;
    std::shared_ptr<const ExptModel> expt;  // read at parse time; its detector replaces C's flags' geometry

    // ---- series (ours) ----
    int nframes = 1;         // -nframes: rotation series, frame i at phi0 + i*osc
    int first_frame = 1;     // the file number of frame 0 (an -expt scan's image_range start)
    std::string shots_file;  // -shots: one image per line of the file (see docs/shots.md)

    // ---- execution ----
    int threads = 0;  // 0: OpenMP default
    bool progress = true;
    std::string device = "auto";
    std::string precision = "double";
    int trace_fpixel = -1, trace_spixel = -1;        // -trace_pixel (slow fast)
    bool printout = false;                           // -printout: every pixel, or printout_fpixel/spixel's
    int printout_fpixel = -1, printout_spixel = -1;  // -printout_pixel
};

}  // namespace nb
