// nonBragg: C nanoBragg's companion program for amorphous material (water,
// air, ice), as a drop-in. Renders |F|^2 of one molecule, interpolated from a
// table against sin(theta)/lambda, times the number of molecules the beam
// sees, over the detector with C nonBragg's geometry, sources and sampling
// (the term itself: engine/amorphous.hpp), and writes C's float image, SMV
// int and noise images and PGM, with C's printed statistics.
#include <omp.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "cli/flag_table.hpp"
#include "cli/outputs.hpp"
#include "engine/amorphous.hpp"
#include "engine/build_info.hpp"
#include "engine/detector_geometry.hpp"
#include "engine/heap_policy.hpp"
#include "engine/image_io.hpp"
#include "engine/interrupt_cleanup.hpp"
#include "engine/render.hpp"
#include "engine/sampling_rules.hpp"
#include "engine/smv_io.hpp"
#include "engine/sources.hpp"
#include "kernels/cuda_launcher.hpp"
#include "kernels/rotation.hpp"

namespace {

constexpr double kRTD = 180.0 * M_1_PI;  // C nonBragg's RTD

enum class PivotChoice { Sample, Beam };

struct Options {
    std::string table_file;
    nb::TableAxis axis = nb::TableAxis::Stol;
    std::string table_flag = "-stol";
    std::string source_file;
    std::string float_file = "floatimage.bin", int_file = "intimage.img", pgm_file = "image.pgm",
                noise_file = "noiseimage.img";
    bool write_pgm = true, noise = true;

    // beam
    nb::Vec3D beam{1, 0, 0}, polar{0, 0, 1}, spindle{0, 0, 1}, twotheta_axis{0, 1, 0};
    double lambda0 = 1.0e-10, dispersion = 0, dispstep = -1;  // C's 0: -dispsteps alone keeps one wavelength
    int dispsteps = -1;
    double source_distance = 10.0;
    double hdivrange = -1, hdivstep = -1, vdivrange = -1, vdivstep = -1;
    int hdivsteps = -1, vdivsteps = -1;
    bool round_div = true;
    double fluence = 125932015286227086360700780544.0;
    double flux = 0, exposure = 1, beamsize = 1e-4;
    double polarization = 0;
    bool nopolar = false;

    // sample
    double sample_x = 1e-4, sample_y = 1e-4, sample_z = 1e-4;  // m
    double density = 1.0e6;                                    // g/m^3
    double molecular_weight = 18.0;                            // g/mol
    double molecules = 0;

    // detector
    double pixel = 0.1e-3, distance = 100.0e-3, close_distance = NAN;
    double detsize_x = 102.4e-3, detsize_y = 102.4e-3;
    int fpixels = 0, spixels = 0;
    nb::Vec3D fdet{0, 0, 1}, sdet{0, -1, 0}, odet{1, 0, 0};
    double rotx = 0, roty = 0, rotz = 0, twotheta = 0;
    bool twotheta_from_axis = false;  // -twotheta_axis was the last to set the swing
    PivotChoice pivot = PivotChoice::Beam;
    double Xbeam = NAN, Ybeam = NAN, Xclose = NAN, Yclose = NAN, ORGX = NAN, ORGY = NAN;
    bool curved = false, point_pixel = false, fmap = false;
    int oversample = -1;
    int roi_xmin = -1, roi_xmax = -1, roi_ymin = -1, roi_ymax = -1;

    // spindle (the SMV header only)
    double phi0 = 0, osc = -1, phistep = -1;
    int phisteps = -1;

    // outputs
    double intfile_scale = 0, pgm_scale = 0, adc_offset = 40.0;
    long long seed = 0;
    bool seed_given = false;

    // ours
    nb::Precision precision = nb::Precision::Double;
    std::string device = "auto";
    bool exact = false;
    int threads = 0;
    bool help = false, version = false;
};

void register_flags(CLI::App& app, Options& o) {
    nb::FlagTable t(app);
    constexpr double mm = 1000.0;
    using nb::above;
    using nb::at_least;
    using nb::auto_when_negative;
    using nb::kAny;
    auto vec = [&](const char* names, const char* help, nb::Vec3D& v) {
        t.numbers(names, 3, help, {kAny}, [&v](const std::vector<double>& x) { v = nb::Vec3D{x[0], x[1], x[2]}; });
    };

    // ---- the material ----
    t.text("--stol",
           "table of sin(theta)/lambda (1/A) and F (electrons per molecule), two columns (required, or "
           "-4stol or -Q)",
           [&](const std::string& v) {
               o.table_file = v;
               o.axis = nb::TableAxis::Stol;
               o.table_flag = "-stol";
           });
    t.text("--4stol", "the same table against 4 sin(theta)/lambda (1/A)", [&](const std::string& v) {
        o.table_file = v;
        o.axis = nb::TableAxis::FourStol;
        o.table_flag = "-4stol";
    });
    t.text("-Q", "the same table against Q = 4 pi sin(theta)/lambda (1/A)", [&](const std::string& v) {
        o.table_file = v;
        o.axis = nb::TableAxis::Q;
        o.table_flag = "-Q";
    });
    t.number("--thick,--thickness,--sample_thick,--sample_x", "sample thickness along the beam (mm, default 0.1)",
             above(0), [&](double v) { o.sample_x = v / mm; });
    t.number("--width,--sample_width,--sample_y", "sample width (mm, default 0.1; clipped to -beamsize)", above(0),
             [&](double v) { o.sample_y = v / mm; });
    t.number("--heigh,--height,--sample_heigh,--sample_height,--sample_z",
             "sample height (mm, default 0.1; clipped to -beamsize)", above(0), [&](double v) { o.sample_z = v / mm; });
    t.number("--samplesize,--sample_size", "thickness, width and height of a cube-shaped sample (mm)", above(0),
             [&](double v) { o.sample_x = o.sample_y = o.sample_z = v / mm; });
    t.number("--density,--sample_density,--sample_den", "sample density (g/cm^3, default 1)", above(0),
             [&](double v) { o.density = v * 1e6; });
    t.number("--MW,--molecular_weight,--molecular", "molecular weight of the material (g/mol, default 18)", above(0),
             [&](double v) { o.molecular_weight = v; });
    t.number("--molecules,--sample_molecules",
             "number of molecules in the beam (default: from size, density and -MW; sets the density)", above(0),
             [&](double v) { o.molecules = v; });

    // ---- beam ----
    t.number("--lambda,--wave", "wavelength (A, default 1)", above(0), [&](double v) { o.lambda0 = v / 1.0e10; });
    t.number("--energy", "photon energy (eV; sets -lambda)", above(0),
             [&](double v) { o.lambda0 = (12398.42 / v) / 1.0e10; });
    t.number("--dispersion", "spectral spread delta-lambda/lambda (percent, default 0)", at_least(0),
             [&](double v) { o.dispersion = v / 100.0; });
    t.integer("--dispsteps", "wavelengths across -dispersion (default: 2 with a spread)", auto_when_negative(),
              [&](int v) { o.dispsteps = v; });
    t.number("--divergence", "beam divergence, horizontal and vertical (mrad, default 0)", at_least(0),
             [&](double v) { o.hdivrange = o.vdivrange = v / mm; });
    t.number("--hdivrange", "horizontal divergence (mrad)", at_least(0), [&](double v) { o.hdivrange = v / mm; });
    t.number("--vdivrange", "vertical divergence (mrad)", at_least(0), [&](double v) { o.vdivrange = v / mm; });
    t.number("--hdivstep", "horizontal divergence step (mrad)", auto_when_negative(),
             [&](double v) { o.hdivstep = v / mm; });
    t.number("--vdivstep", "vertical divergence step (mrad)", auto_when_negative(),
             [&](double v) { o.vdivstep = v / mm; });
    t.integer("--hdivsteps", "horizontal divergence points", auto_when_negative(), [&](int v) { o.hdivsteps = v; });
    t.integer("--vdivsteps", "vertical divergence points", auto_when_negative(), [&](int v) { o.vdivsteps = v; });
    t.integer("--divsteps", "divergence points, horizontal and vertical", auto_when_negative(),
              [&](int v) { o.hdivsteps = o.vdivsteps = v; });
    t.flag("--round_div", "trim the divergence grid to an ellipse (default)", [&] { o.round_div = true; });
    t.flag("--square_div", "keep the whole divergence grid", [&] { o.round_div = false; });
    t.text("--sourcefile", "sources, one per line: X Y Z (m, sample to source) weight lambda (m)",
           [&](const std::string& v) { o.source_file = v; });
    t.number("--source_distance", "distance of generated sources from the sample (mm, default 10000)", above(0),
             [&](double v) { o.source_distance = v / mm; });
    t.number("--fluence", "incident fluence (photons/m^2, default 1.26e29)", above(0),
             [&](double v) { o.fluence = v; });
    t.number("--flux", "incident flux (photons/s; with -exposure and -beamsize sets the fluence)", at_least(0),
             [&](double v) { o.flux = v; });
    t.number("--exposure", "exposure time (s, default 1)", above(0), [&](double v) { o.exposure = v; });
    // negative, as in C: no clipping, and the fluence not from -flux
    t.number("--beamsize",
             "beam width and height (mm, default 0.1; clips the sample; negative: no clipping, the fluence not "
             "from -flux)",
             kAny, [&](double v) {
                 if (v == 0)
                     nb::bad_flag("-beamsize", "0 is a beam of no size (a negative size leaves the sample unclipped)");
                 o.beamsize = v / mm;
             });
    t.number("--polar", "Kahn polarization factor (default 0: unpolarized)", nb::within(-1, 1), [&](double v) {
        o.polarization = v;
        o.nopolar = false;
    });
    t.flag("--nopolar", "no polarization factor", [&] { o.nopolar = true; });
    vec("--beam_vector", "beam direction, sample frame (default 1 0 0)", o.beam);
    vec("--polar_vector", "E-vector of the beam (default 0 0 1)", o.polar);
    vec("--spindle_axis", "spindle axis (default 0 0 1; the image does not depend on it)", o.spindle);

    // ---- detector ----
    t.number("--distance", "sample to detector along the beam (mm, default 100; pivot: beam)", above(0), [&](double v) {
        o.distance = v / mm;
        o.pivot = PivotChoice::Beam;
    });
    t.number("--close_distance", "sample to detector plane (mm; pivot: sample)", above(0), [&](double v) {
        o.close_distance = v / mm;
        o.pivot = PivotChoice::Sample;
    });
    t.number("--pixel", "pixel size (mm, default 0.1)", above(0), [&](double v) { o.pixel = v / mm; });
    t.number("--detsize", "detector size, square (mm, default 102.4)", above(0),
             [&](double v) { o.detsize_x = o.detsize_y = v / mm; });
    t.number("--detsize_x,--detsize_f", "detector size along fast (mm)", above(0),
             [&](double v) { o.detsize_x = v / mm; });
    t.number("--detsize_y,--detsize_s", "detector size along slow (mm)", above(0),
             [&](double v) { o.detsize_y = v / mm; });
    // 0, as in C: the count from -detsize and -pixel
    t.integer("--detpixels", "detector pixels, square (default: -detsize / -pixel)", at_least(0, "0: from -detsize"),
              [&](int v) { o.fpixels = o.spixels = v; });
    t.integer("--detpixels_f,--detpixels_x", "pixels along fast", at_least(0, "0: from -detsize_x"),
              [&](int v) { o.fpixels = v; });
    t.integer("--detpixels_s,--detpixels_y", "pixels along slow", at_least(0, "0: from -detsize_y"),
              [&](int v) { o.spixels = v; });
    t.number("--Xbeam", "direct beam along fast from the first pixel's corner (mm; pivot: beam)", kAny, [&](double v) {
        o.Xbeam = v / mm;
        o.pivot = PivotChoice::Beam;
    });
    t.number("--Ybeam", "direct beam along slow (mm; pivot: beam)", kAny, [&](double v) {
        o.Ybeam = v / mm;
        o.pivot = PivotChoice::Beam;
    });
    t.number("--Xclose", "point of closest approach along fast (mm; pivot: sample)", kAny, [&](double v) {
        o.Xclose = v / mm;
        o.pivot = PivotChoice::Sample;
    });
    t.number("--Yclose", "point of closest approach along slow (mm; pivot: sample)", kAny, [&](double v) {
        o.Yclose = v / mm;
        o.pivot = PivotChoice::Sample;
    });
    t.number("--ORGX", "point of closest approach along fast (pixels; pivot: sample)", kAny, [&](double v) {
        o.ORGX = v;
        o.pivot = PivotChoice::Sample;
    });
    t.number("--ORGY", "point of closest approach along slow (pixels; pivot: sample)", kAny, [&](double v) {
        o.ORGY = v;
        o.pivot = PivotChoice::Sample;
    });
    t.text("--pivot", "sample or beam: what stays put when the detector rotates (default beam)",
           [&](const std::string& v) {
               if (v.find("sample") != std::string::npos)
                   o.pivot = PivotChoice::Sample;
               else if (v.find("beam") != std::string::npos)
                   o.pivot = PivotChoice::Beam;
               else
                   nb::bad_flag("-pivot", "expected sample or beam, got '" + v + "'");
           });
    vec("--fdet_vector", "fast axis of the detector (default 0 0 1)", o.fdet);
    vec("--sdet_vector", "slow axis of the detector (default 0 -1 0)", o.sdet);
    vec("--odet_vector", "detector normal (accepted; as in C it is fast x slow)", o.odet);
    // C reads "-twotheta_axis X Y Z" as "-twotheta X" too (substring flags):
    // kept for parity, with a warning
    t.numbers("--twotheta_axis", 3,
              "two-theta rotation axis (default 0 1 0; as in C, also sets -twotheta to its first number)", {kAny},
              [&](const std::vector<double>& x) {
                  o.twotheta_axis = nb::Vec3D{x[0], x[1], x[2]};
                  o.twotheta = x[0] / kRTD;
                  o.pivot = PivotChoice::Sample;
                  o.twotheta_from_axis = true;
              });
    t.number("--twotheta", "detector two-theta swing (deg; pivot: sample)", kAny, [&](double v) {
        o.twotheta = v / kRTD;
        o.pivot = PivotChoice::Sample;
        o.twotheta_from_axis = false;
    });
    t.number("--detector_rotx", "detector rotation about x (deg)", kAny, [&](double v) { o.rotx = v / kRTD; });
    t.number("--detector_roty", "detector rotation about y (deg)", kAny, [&](double v) { o.roty = v / kRTD; });
    t.number("--detector_rotz", "detector rotation about z (deg)", kAny, [&](double v) { o.rotz = v / kRTD; });
    t.flag("--curved_det", "pixels on a sphere around the sample (as in C, only with an argument after it)",
           [&] { o.curved = true; });
    t.flag("--point_pixel", "solid angle by the inverse square law only (no obliquity)", [&] { o.point_pixel = true; });
    t.integer("--oversample", "sub-pixels per pixel edge (default 1)", auto_when_negative("0 or negative: 1, as C"),
              [&](int v) { o.oversample = v; });
    t.numbers(
        "--roi", 4, "render only pixels xmin xmax ymin ymax (inclusive; default: all)", {kAny},
        [&](const std::vector<double>& v) {
            for (double x : v)
                if (x != std::floor(x) || std::fabs(x) > 2e9) nb::bad_flag("-roi", "expects four integers");
            o.roi_xmin = (int)v[0];
            o.roi_xmax = (int)v[1];
            o.roi_ymin = (int)v[2];
            o.roi_ymax = (int)v[3];
        },
        "xmin xmax ymin ymax", "INT");
    t.flag("--Fmap", "write F at each pixel instead of photons (absorption masks)", [&] { o.fmap = true; });

    // ---- spindle: the SMV header only ----
    t.number("--phi", "spindle start (deg, default 0; header only)", kAny, [&](double v) { o.phi0 = v / kRTD; });
    t.number("--osc", "oscillation range (deg; header only)", auto_when_negative("negative: auto, as C"),
             [&](double v) { o.osc = v / kRTD; });
    t.number("--phistep", "spindle step (deg; header only)", auto_when_negative(),
             [&](double v) { o.phistep = v / kRTD; });
    t.integer("--phisteps", "spindle steps (header only)", auto_when_negative("negative: auto, as C"),
              [&](int v) { o.phisteps = v; });

    // ---- outputs ----
    t.text("--floatfile,--floatimage", "raw float32 image, photons/pixel (default floatimage.bin)",
           [&](const std::string& v) { o.float_file = v; });
    t.text("--intfile,--intimage", "noiseless SMV image (default intimage.img)",
           [&](const std::string& v) { o.int_file = v; });
    t.text("--pgmfile,--pgmimage", "8-bit PGM preview (default image.pgm)",
           [&](const std::string& v) { o.pgm_file = v; });
    t.text("--noisefile,--noiseimage", "SMV image with Poisson noise (default noiseimage.img)",
           [&](const std::string& v) {
               o.noise_file = v;
               o.noise = true;  // as in C, a later -noisefile undoes -nonoise
           });
    t.flag("--nonoise", "no noise image", [&] { o.noise = false; });
    t.flag("--nopgm", "no PGM image (C writes it anyway)", [&] { o.write_pgm = false; });
    t.number("--scale", "SMV counts per photon (default 0: 55000 / the brightest pixel)", at_least(0, "0: auto"),
             [&](double v) { o.intfile_scale = v; });
    t.number("--pgmscale", "PGM grey levels per photon (default 0: 50 / rmsd)", at_least(0, "0: auto"),
             [&](double v) { o.pgm_scale = v; });
    t.number("--adc", "offset added to SMV pixels (ADU, default 40)", at_least(0), [&](double v) { o.adc_offset = v; });
    t.integer("--seed", "noise seed (default: the time)", kAny, [&](int v) {
        o.seed = -(long long)v;
        o.seed_given = true;
    });
    t.flag("--noprogress", "no progress meter", [] {});
    t.flag("--progress", "progress meter (C's; ours prints nothing)", [] {});
    t.flag("--coherent", "accepted, no effect (as in C)", [] {});
    // a nanoBragg line handed to nonBragg: C's parsing of these is commented out
    for (const char* f : {"--dmin", "--mat", "--hkl"})
        t.text(f, "accepted and ignored, as by C nonBragg (it has no crystal)", [f](const std::string&) {
            spdlog::warn("WARNING: {} changes nothing: C nonBragg ignores it (it renders no crystal)",
                         std::string(f).substr(1));
        });

    // ---- ours ----
    t.text("--precision", "double or float (default double)", [&](const std::string& v) {
        if (v == "double")
            o.precision = nb::Precision::Double;
        else if (v == "float")
            o.precision = nb::Precision::Float;
        else
            nb::bad_flag("-precision", "expected double or float, got '" + v + "'");
    });
    t.text(
        "--device",
        "auto, cpu or cuda (default auto: the GPU when one is present, the CPU for a run shorter than a GPU's start)",
        [&](const std::string& v) {
            if (v != "auto" && v != "cpu" && v != "cuda")
                nb::bad_flag("-device", "expected auto, cpu or cuda, got '" + v + "'");
            o.device = v;
        });
    t.flag("--exact", "C's rounding in every operation: C's images bit for bit (double)", [&] { o.exact = true; });
    t.integer("--threads", "CPU threads (default: all cores)", nb::thread_count(), [&](int v) { o.threads = v; });

    // C's inverse mode (an image in, F against stol out) is not offered
    for (const char* f : {"--img", "--stolout", "--ignore"})
        t.text(f, "not offered: C's inverse mode (F from an image); see docs/nonbragg.md", [f](const std::string&) {
            nb::bad_flag(std::string(f).substr(1),
                         "C's inverse mode (F against sin(theta)/lambda from an image) is "
                         "not offered; see docs/nonbragg.md");
        });
    t.flag("--noreject", "not offered: part of C's inverse mode (see -img)", [] {
        nb::bad_flag("-noreject",
                     "C's inverse mode (F against sin(theta)/lambda from an image) is not offered; see "
                     "docs/nonbragg.md");
    });
    t.flag("--printout", "not offered: C's per-pixel debug print (use -floatfile)",
           [] { nb::bad_flag("-printout", "C's per-pixel debug print is not offered; read the -floatfile image"); });
    t.numbers("--printout_pixel", 2, "not offered: C's debug print of one pixel (use -floatfile)", {kAny},
              [](const std::vector<double>&) {
                  nb::bad_flag("-printout_pixel",
                               "C's per-pixel debug print is not offered; read the -floatfile image");
              });
    t.number("--gain", "accepted and unused: C reads it only in its inverse mode (-img), not offered", kAny,
             [](double) {});
    t.numbers("--pix0_vector", 3, "accepted and unused: C computes the first pixel from the beam centre", {kAny},
              [](const std::vector<double>&) {});

    app.add_flag("-h,--help,--usage", o.help, "print this help");
    app.add_flag("--version", o.version, "print version, git commit and build type");
}

// C nonBragg's statistics: over the ROI, max_I at the pixel's last sub-pixel,
// sums of the float image and of its float squares; its rmsd loop reads each
// pixel's successor (an off-by-one in C: the last one reads 0).
struct Stats {
    double max_I = 0, max_x = 0, max_y = 0, mean = 0, rms = 0, rmsd = 0;
};

Stats c_statistics(const std::vector<float>& img, int fp, int sp, const nb::Sampling& s, double subpixel) {
    auto in_roi = [&](int f, int y) { return !(f < s.roi_xmin || f > s.roi_xmax || y < s.roi_ymin || y > s.roi_ymax); };
    Stats st;
    double sum = 0, sumsqr = 0;
    long long n = 0;
    for (int y = 0; y < sp; ++y)
        for (int f = 0; f < fp; ++f) {
            if (!in_roi(f, y)) continue;
            const float v = img[(size_t)y * fp + f];
            if (v > st.max_I) {
                st.max_I = v;
                st.max_x = subpixel * (f * s.oversample + s.oversample - 1) + subpixel / 2.0;
                st.max_y = subpixel * (y * s.oversample + s.oversample - 1) + subpixel / 2.0;
            }
            sum += v;
            const float sq = v * v;
            sumsqr += sq;
            ++n;
        }
    if (n <= 0) n = 1;
    st.mean = sum / n;
    if (n <= 1) n = 2;
    st.rms = std::sqrt(sumsqr / (n - 1));
    double dev = 0;
    long long m = 0;
    const size_t pixels = (size_t)fp * sp;
    for (int y = 0; y < sp; ++y)
        for (int f = 0; f < fp; ++f) {
            if (!in_roi(f, y)) continue;
            const size_t next = (size_t)y * fp + f + 1;
            const double t = (next < pixels ? img[next] : 0.0f) - st.mean;
            dev += t * t;
            ++m;
        }
    if (m <= 1) m = 2;
    st.rmsd = std::sqrt(dev / (m - 1));
    return st;
}

std::string nonbragg_smv_header(const Options& o, const nb::DetectorGeometry& d, double osc) {
    char buf[1024];
    int n = std::snprintf(
        buf, sizeof buf,
        "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\nSIZE1=%d;\nSIZE2=%d;\n"
        "PIXEL_SIZE=%g;\nDISTANCE=%g;\nWAVELENGTH=%g;\nBEAM_CENTER_X=%g;\nBEAM_CENTER_Y=%g;\nORGX=%g;\nORGY=%g;\n"
        "CLOSE_DISTANCE=%g;\nPHI=%g;\nOSC_START=%g;\nOSC_RANGE=%g;\nTWOTHETA=%g;\nDETECTOR_SN=000;\n"
        "BEAMLINE=fake;\n}\f",
        d.fpixels, d.spixels, d.pixel_size * 1000.0, d.distance * 1000.0, o.lambda0 * 1e10, d.Xbeam * 1000.0,
        (d.detsize_s - d.Ybeam) * 1000, d.Xclose / d.pixel_size, d.Yclose / d.pixel_size, d.close_distance * 1000.0,
        o.phi0 * kRTD, o.phi0 * kRTD, osc * kRTD, o.twotheta * kRTD);
    return nb::smv_header_block(std::string(buf, (size_t)std::max(n, 0)), o.exact);
}

void check_finite(const char* flag, double v) {
    if (!std::isfinite(v)) nb::bad_flag(flag, "is not a finite number");
}

int run(Options& o) {
    if (o.table_file.empty())
        throw nb::UsageError("-stol: no table of F against sin(theta)/lambda given (nonBragg -stol water.stol ...)");
    // outputs: clashing names are refused before anything is computed
    {
        std::vector<std::pair<std::string, std::string>> names{{o.float_file, "-floatfile"}, {o.int_file, "-intfile"}};
        if (o.write_pgm) names.push_back({o.pgm_file, "-pgmfile"});
        if (o.noise) names.push_back({o.noise_file, "-noisefile"});
        for (size_t i = 0; i < names.size(); ++i) {
            if (names[i].first.empty()) throw nb::UsageError(names[i].second + ": empty file name");
            nb::check_output_target(names[i].first, names[i].second);
            for (const std::string& in : {o.table_file, o.source_file})
                if (!in.empty() && nb::same_file(names[i].first, in))
                    throw nb::UsageError(names[i].second + ": '" + in + "' is an input file of this run");
            for (size_t j = 0; j < i; ++j)
                if (nb::same_output_file(names[i].first, names[j].first))
                    throw nb::UsageError(names[i].second + ": '" + names[i].first + "' is also the " + names[j].second +
                                         " file: give each output its own name");
        }
    }
    if (!o.seed_given) o.seed = -(long long)std::time(nullptr);

    nb::AmorphousTableData table;
    try {
        table = nb::read_amorphous_table(o.table_file, o.table_flag, o.axis);
    } catch (const std::runtime_error& e) {
        throw nb::UsageError(e.what());
    }

    nb::Experiment e;
    nb::SimConfig& cfg = e.cfg;
    nb::DetectorGeometry& d = e.det;
    nb::Sampling& s = e.samp;

    // ---- detector size ----
    if (o.fpixels) o.detsize_x = o.pixel * o.fpixels;
    if (o.spixels) o.detsize_y = o.pixel * o.spixels;
    const double fp = std::ceil(o.detsize_x / o.pixel), spx = std::ceil(o.detsize_y / o.pixel);
    if (!(fp >= 1 && spx >= 1 && fp * spx <= 4e9))
        throw nb::UsageError("-detpixels: the detector would have " + std::to_string(fp) + " x " + std::to_string(spx) +
                             " pixels");
    d.fpixels = (int)fp;
    d.spixels = (int)spx;
    d.pixel_size = o.pixel;
    d.detsize_f = o.detsize_x;
    d.detsize_s = o.detsize_y;
    double Xclose = o.Xclose, Yclose = o.Yclose, Xbeam = o.Xbeam, Ybeam = o.Ybeam;
    if (!std::isnan(o.ORGX)) Xclose = o.ORGX * o.pixel;
    if (!std::isnan(o.ORGY)) Yclose = o.ORGY * o.pixel;
    if (std::isnan(Xclose)) Xclose = (o.detsize_x - o.pixel) / 2.0;
    if (std::isnan(Yclose)) Yclose = (o.detsize_y + o.pixel) / 2.0;
    if (std::isnan(Xbeam)) Xbeam = Xclose;
    if (std::isnan(Ybeam)) Ybeam = Yclose;
    s.roi_xmin = o.roi_xmin < 0 ? 0 : o.roi_xmin;
    s.roi_xmax = o.roi_xmax < 0 ? d.fpixels : o.roi_xmax;
    s.roi_ymin = o.roi_ymin < 0 ? 0 : o.roi_ymin;
    s.roi_ymax = o.roi_ymax < 0 ? d.spixels : o.roi_ymax;

    // ---- beam and sample ----
    double fluence = o.fluence;
    if (o.flux != 0.0 && o.exposure > 0.0 && o.beamsize >= 0) fluence = o.flux * o.exposure / o.beamsize / o.beamsize;
    check_finite("-fluence", fluence);
    double sample_y = o.sample_y, sample_z = o.sample_z;
    if (o.beamsize >= 0) {
        if (o.beamsize < sample_y) {
            std::printf("WARNING: clipping sample (%g m high) with beam (%g m)\n", sample_y, o.beamsize);
            sample_y = o.beamsize;
        }
        if (o.beamsize < sample_z) {
            std::printf("WARNING: clipping sample (%g m wide) with beam (%g m)\n", sample_z, o.beamsize);
            sample_z = o.beamsize;
        }
    }
    const double volume = o.sample_x * sample_y * sample_z;
    const double avogadro = 6.02214179e23;
    double density = o.density;
    if (o.molecules != 0) density = o.molecules / volume / avogadro * o.molecular_weight;
    const double molecules = volume * density * avogadro / o.molecular_weight;
    check_finite("-molecules", molecules);

    // ---- geometry: C nonBragg's rules ----
    nb::Vec3D beam, fdet, sdet, odet, polar, vert, axis;
    nb::unitize(o.beam, beam);
    nb::unitize(o.fdet, fdet);
    nb::unitize(o.sdet, sdet);
    nb::unitize(nb::cross(fdet, sdet), odet);
    nb::unitize(o.polar, polar);
    nb::unitize(nb::cross(beam, polar), vert);
    axis = o.twotheta_axis;
    if (o.twotheta_from_axis) std::printf("%s\n", nb::twotheta_from_axis_warning(o.twotheta).c_str());
    for (const auto& [v, flag] : {std::pair<const nb::Vec3D&, const char*>{beam, "-beam_vector"},
                                  {fdet, "-fdet_vector"},
                                  {sdet, "-sdet_vector"},
                                  {odet, "-fdet_vector/-sdet_vector"}})
        if (nb::magnitude(v) == 0.0) nb::bad_flag(flag, "is a zero vector (or fast and slow are parallel)");
    nb::Vec3D ov = nb::rotate_xyz(odet, o.rotx, o.roty, o.rotz);
    double ratio = nb::dot(beam, ov);
    if (ratio == 0.0) ratio = DBL_MIN;
    double close_distance = o.close_distance;
    if (std::isnan(close_distance)) close_distance = ratio * o.distance;
    double distance = close_distance / ratio;
    nb::Vec3D pix0{0, 0, 0};
    if (o.pivot == PivotChoice::Sample) {
        std::printf("pivoting detector around sample\n");
        pix0 = nb::Vec3D{-Xclose * fdet.x - Yclose * sdet.x + close_distance * odet.x,
                         -Xclose * fdet.y - Yclose * sdet.y + close_distance * odet.y,
                         -Xclose * fdet.z - Yclose * sdet.z + close_distance * odet.z};
        pix0 = nb::rotate_xyz(pix0, o.rotx, o.roty, o.rotz);
        pix0 = nb::rotate_axis(pix0, axis, o.twotheta);
    }
    fdet = nb::rotate_axis(nb::rotate_xyz(fdet, o.rotx, o.roty, o.rotz), axis, o.twotheta);
    sdet = nb::rotate_axis(nb::rotate_xyz(sdet, o.rotx, o.roty, o.rotz), axis, o.twotheta);
    odet = nb::rotate_axis(nb::rotate_xyz(odet, o.rotx, o.roty, o.rotz), axis, o.twotheta);
    if (o.pivot == PivotChoice::Beam) {
        std::printf("pivoting detector around direct beam spot\n");
        pix0 = nb::Vec3D{-Xbeam * fdet.x - Ybeam * sdet.x + distance * beam.x,
                         -Xbeam * fdet.y - Ybeam * sdet.y + distance * beam.y,
                         -Xbeam * fdet.z - Ybeam * sdet.z + distance * beam.z};
    }
    Xclose = -nb::dot(pix0, fdet);
    Yclose = -nb::dot(pix0, sdet);
    close_distance = nb::dot(pix0, odet);
    const nb::Vec3D to_beam{close_distance / ratio * beam.x - pix0.x, close_distance / ratio * beam.y - pix0.y,
                            close_distance / ratio * beam.z - pix0.z};
    Xbeam = nb::dot(fdet, to_beam);
    Ybeam = nb::dot(sdet, to_beam);
    distance = close_distance / ratio;
    check_finite("-distance", distance);
    d.fdet = fdet;
    d.sdet = sdet;
    d.odet = odet;
    d.pix0 = pix0;
    d.beam = beam;
    d.polar = polar;
    d.vert = vert;
    d.twotheta_axis = axis;
    d.distance = distance;
    d.close_distance = close_distance;
    d.ratio = ratio;
    d.Xbeam = Xbeam;
    d.Ybeam = Ybeam;
    d.Xclose = Xclose;
    d.Yclose = Yclose;
    d.curved = o.curved;
    d.point_pixel = o.point_pixel;
    d.twotheta = o.twotheta;

    // ---- sampling and sources ----
    const nb::StepTriple phi = nb::resolve_phi_steps(o.phisteps, o.osc, o.phistep);
    const nb::StepTriple h = nb::resolve_spread_steps(o.hdivsteps, o.hdivrange, o.hdivstep, "-hdivrange/-hdivstep");
    const nb::StepTriple v = nb::resolve_spread_steps(o.vdivsteps, o.vdivrange, o.vdivstep, "-vdivrange/-vdivstep");
    const nb::StepTriple disp = nb::resolve_spread_steps(o.dispsteps, o.dispersion, o.dispstep, "-dispersion");
    s.hdivsteps = h.steps, s.hdivrange = h.range, s.hdivstep = h.step;
    s.vdivsteps = v.steps, s.vdivrange = v.range, s.vdivstep = v.step;
    s.dispsteps = disp.steps, s.dispersion = disp.range, s.dispstep = disp.step;
    s.oversample = o.oversample <= 0 ? 1 : o.oversample;
    s.thicksteps = 1;
    cfg.source_file = o.source_file;
    cfg.source_distance = o.source_distance;
    cfg.lambda0 = o.lambda0;
    cfg.round_div = o.round_div;
    cfg.nopolar = o.nopolar;
    cfg.polarization = o.polarization;
    cfg.exact = o.exact;
    cfg.adc_offset = o.adc_offset;
    cfg.c_noise_order = true;  // C's noise bytes in every mode (tests/golden/nonbragg)
    try {
        e.src = nb::build_sources(cfg, d, s);
    } catch (const std::runtime_error& ex) {
        throw nb::UsageError(ex.what());
    }
    // nonBragg weights each source: generated ones count 1, a file's as read
    std::vector<double> weights(e.src.direction.size(), 1.0);
    if (e.src.from_file) weights = e.src.weight;
    for (size_t i = 0; i < weights.size(); ++i)
        if (!std::isfinite(weights[i]) || !std::isfinite(e.src.lambda[i]) || !(e.src.lambda[i] > 0))
            throw nb::UsageError("-sourcefile: source " + std::to_string(i + 1) + " of '" + o.source_file +
                                 "' has a weight or wavelength that is not a finite (positive) number");
    const int sources = (int)e.src.direction.size();
    if (sources == 0) throw nb::UsageError("-divergence: no source left inside the divergence ellipse");
    const double steps = (double)sources * s.oversample * s.oversample;

    std::printf("  created a total of %d sources:\n", sources);
    for (int i = 0; i < sources && i < 20; ++i)
        std::printf("%g %g %g   %g %g\n", o.source_distance * e.src.direction[i].x,
                    o.source_distance * e.src.direction[i].y, o.source_distance * e.src.direction[i].z, weights[i],
                    e.src.lambda[i]);
    std::printf("  %d initialized F points (will cubic-spline interpolate between them)\n", table.points());
    std::printf("  wave=%g meters +/- %g%% in %d steps\n", o.lambda0, s.dispersion * 100, s.dispsteps);
    if (o.nopolar)
        std::printf("  polarization effect disabled\n");
    else
        std::printf("  Kahn polarization factor: %f\n", o.polarization);
    if (o.curved) std::printf("  curved detector: all pixels same distance from origin\n");
    if (o.point_pixel) std::printf("  pixel obliquity effect disabled\n");
    if (o.fmap) std::printf("  Fmap mode: plotting structure factor at every pixel\n");
    std::printf("  incident fluence: %g photons/m^2\n", fluence);
    std::printf("  sample is %g m thick x %g m high x %g m wide, %g g/cm^3 and %g g/mol (%g molecules)\n", o.sample_x,
                sample_y, sample_z, density / 1e6, o.molecular_weight, molecules);
    std::printf("  distance=%g detsize=%gx%g  pixel=%g meters (%dx%d pixels)\n", distance, o.detsize_x, o.detsize_y,
                o.pixel, d.fpixels, d.spixels);
    std::printf("  Xbeam=%g Ybeam=%g\n", Xbeam, Ybeam);
    std::printf("  detector origin: %g %g %g\n", pix0.x, pix0.y, pix0.z);
    std::printf("  DIRECTION_OF_DETECTOR_X-AXIS= %g %g %g\n", fdet.x, fdet.y, fdet.z);
    std::printf("  DIRECTION_OF_DETECTOR_Y-AXIS= %g %g %g\n", sdet.x, sdet.y, sdet.z);
    std::printf("  INCIDENT_BEAM_DIRECTION= %g %g %g\n", beam.x, beam.y, beam.z);
    std::printf("  POLARIZATION_PLANE_NORMAL= %g %g %g\n", polar.x, polar.y, polar.z);
    std::printf("  roi: %d < x < %d && %d < y < %d\n", s.roi_xmin, s.roi_xmax, s.roi_ymin, s.roi_ymax);
    std::printf("  hdivrange=%g hdivstep=%g  radians\n", s.hdivrange, s.hdivstep);
    std::printf("  vdivrange=%g vdivstep=%g  radians\n", s.vdivrange, s.vdivstep);
    // C counts no divergence steps for a -sourcefile and prints its initial -1
    std::printf("  %d divergence steps\n", e.src.from_file ? -1 : e.src.divsteps);
    std::printf("  %d sources\n", sources);
    std::printf("  %d pixel oversample steps\n", s.oversample);
    if (o.noise) std::printf("\n  noise image paramters:\n  seed: %lld\n", o.seed);
    std::fflush(stdout);

    // ---- render ----
    nb::RenderOptions ro;
    ro.threads = o.threads;
    ro.precision = o.precision;
    const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
    ro.device = nb::choose_device(nb::device_for_run(o.device, nb::evaluation_count(e), threads, true), false);
    nb::AmorphousScale scale;
    scale.fluence = fluence;
    scale.molecules = molecules;
    scale.steps = steps;
    scale.fmap = o.fmap;
    auto image = std::make_shared<std::vector<float>>();
    const double omega_sum = nb::render_amorphous(e, table, scale, weights, ro, *image);
    image->resize((size_t)d.fpixels * d.spixels, 0.0f);
    std::printf("\nsolid angle subtended by detector = %g steradian ( %g%% sphere)\n", omega_sum,
                100 * omega_sum / 4 / M_PI);

    const Stats st = c_statistics(*image, d.fpixels, d.spixels, s, o.pixel / s.oversample);
    std::printf("writing %s as %lld 4-byte floats\n", o.float_file.c_str(), (long long)image->size());
    std::printf("max_I = %g  at %g %g\n", st.max_I, st.max_x, st.max_y);
    std::printf("mean= %g rms= %g rmsd= %g\n", st.mean, st.rms, st.rmsd);
    const double int_scale = nb::auto_int_scale(o.intfile_scale, st.max_I);
    std::printf("intfile_scale = %g\n", int_scale);
    std::printf("writing %s as 2-byte integers\n", o.int_file.c_str());
    const double pgm_scale = nb::auto_pgm_scale(o.pgm_scale, int_scale, st.rmsd);

    const std::string header = nonbragg_smv_header(o, d, phi.range);
    if (std::string w = nb::smv_header_overrun_warning(header, "-intfile/-noisefile"); !w.empty())
        spdlog::warn("{}", w);
    auto exp = std::make_shared<nb::Experiment>(e);
    auto noise = std::make_shared<nb::NoiseImage>();
    // the raw formats by rows (nanoBragg's, with nonBragg's SMV header); each
    // file holds what its rows refer to
    auto rows = [exp, image, noise](nb::RowFile r, const std::string* smv_header = nullptr) {
        if (smv_header) r.header = *smv_header;
        return nb::rows_holding(std::move(r), exp, image, noise);
    };
    std::vector<nb::OutputFile> files;
    files.push_back(nb::row_output(o.float_file, "-floatfile", rows(nb::float_rows(*exp, *image))));
    files.push_back(nb::row_output(o.int_file, "-intfile", rows(nb::smv_int_rows(*exp, *image, int_scale), &header)));
    if (o.write_pgm) {
        std::printf("pgm_scale = %g\n", pgm_scale);
        std::printf("writing %s as 1-byte integers\n", o.pgm_file.c_str());
        files.push_back(nb::row_output(o.pgm_file, "-pgmfile", rows(nb::pgm_rows(*exp, *image, pgm_scale))));
    }
    if (o.noise) {
        *noise = nb::make_noise_image(*exp, *image, o.seed);
        std::printf("%.0f photons on noise image (%d overloads)\n", noise->photons, noise->overloads);
        std::printf("writing %s as 2-byte integers\n", o.noise_file.c_str());
        files.push_back(nb::row_output(o.noise_file, "-noisefile", rows(nb::smv_noise_rows(*exp, *noise), &header)));
    }
    std::fflush(stdout);
    nb::commit_outputs(files);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    nb::remove_temporaries_on_stop_signals();  // before any thread: Ctrl-C leaves no temporary file
    spdlog::set_pattern("%v");
    nb::use_huge_page_heap();  // engine/heap_policy.hpp: one job, then exit
    Options o;
    CLI::App app{
        "nonBragg: scattering of amorphous material (water, air, ice) from a table of F against "
        "sin(theta)/lambda (drop-in for C nanoBragg's nonBragg)",
        "nonBragg"};
    app.set_help_flag();
    app.allow_extras(false);
    register_flags(app, o);
    const std::vector<std::string> args(argv + 1, argv + argc);
    return nb::run_program(app, args,
                           {"nonBragg", "nonBragg, " + nb::version_line(),
                            "nonBragg amorphous material diffraction simulator, " + nb::version_line()},
                           o.help, o.version, [&] { return run(o); });
}
