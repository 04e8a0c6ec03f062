#include "cli/args.hpp"

#include "engine/expt_setup.hpp"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli/flag_table.hpp"
#include "engine/amorphous.hpp"
#include "engine/smv_io.hpp"
#include "engine/units.hpp"

namespace nb {

namespace {

[[noreturn]] void bad(const std::string& flag, const std::string& why) { bad_flag(flag, why); }

Vec3d vec(const std::vector<double>& v) { return Vec3d{v[0], v[1], v[2]}; }

void register_flags(CLI::App& app, SimConfig& c, bool& help, bool& version) {
    FlagTable t(app);
    static constexpr double mm = 1000.0;

    // ---- input files ----
    t.text("--hkl", "structure factors: text file of h k l F (P1)", [&](const std::string& v) { c.hkl_file = v; });
    t.text("--mat", "MOSFLM orientation matrix (reciprocal cell scaled by 1/lambda)",
           [&](const std::string& v) { c.mat_file = v; });
    t.text("--img", "SMV image whose header sets the detector (read before all flags)",
           [&](const std::string& v) { c.img_file = v; });
    t.text("--mask", "SMV mask: zero pixels are skipped (header read before all flags)",
           [&](const std::string& v) { c.mask_file = v; });
    t.text("--sourcefile", "source list: X Y Z weight lambda per line (weight ignored, as in C)",
           [&](const std::string& v) { c.source_file = v; });
    t.flag("--source_weights",
           "apply -sourcefile weights, normalized to sum to the number of sources "
           "(default: ignored, as in C)",
           [&] { c.source_weights = true; });
    t.text("--stol,--4stol", "amorphous F vs sin(theta)/lambda table (read; unused, as in C)",
           [&](const std::string& v) { c.stol_file = v; });
    t.text("--stolout", "file name C keeps for an F vs sin(theta)/lambda output (unused, as in C)",
           [](const std::string&) {});
    t.text("-Q", "amorphous F vs Q table (read; unused, as in C)", [&](const std::string& v) { c.stol_file = v; });

    // ---- crystal ----
    t.numbers(
        "--cell", 6, "unit cell a b c (A) alpha beta gamma (deg)",
        {above(0, "angles > 0 and < 180, giving a positive cell volume"), above(0), above(0), inside(0, 180)},
        [&](const std::vector<double>& v) {
            c.user_cell = true;
            c.cell_a = v[0];
            c.cell_b = v[1];
            c.cell_c = v[2];
            c.cell_alpha = v[3] / RTD;
            c.cell_beta = v[4] / RTD;
            c.cell_gamma = v[5] / RTD;
        },
        "a b c alpha beta gamma");
    app.add_option_function<std::vector<std::string>>(
           "--misset",
           [&](const std::vector<std::string>& v) {
               if (v.size() == 1 && v[0].rfind("rand", 0) == 0) {
                   c.misset_mode = -1;
                   return;
               }
               if (v.size() != 3 || !is_number(v[0]) || !is_number(v[1]) || !is_number(v[2]))
                   bad("-misset", "needs three angles (deg) or the word 'random'");
               c.misset_mode = 1;
               for (int i = 0; i < 3; ++i) c.misset_rot[i] = parse_number("-misset", v[i], kAny) / RTD;
           },
           "crystal rotation about x, y, z (deg), or 'random'")
        ->expected(1, 3)
        ->type_name("FLOAT x 3")
        ->trigger_on_parse();
    t.integer("-N", "crystal size in unit cells along a, b and c", at_least(0, "0: one isolated unit cell, as C"),
              [&](int v) { c.Na = c.Nb = c.Nc = v; });
    t.integer("--Na", "crystal size in cells along a", at_least(0, "0: one isolated unit cell, as C"),
              [&](int v) { c.Na = v; });
    t.integer("--Nb", "crystal size in cells along b", at_least(0, "0: one isolated unit cell, as C"),
              [&](int v) { c.Nb = v; });
    t.integer("--Nc", "crystal size in cells along c", at_least(0, "0: one isolated unit cell, as C"),
              [&](int v) { c.Nc = v; });
    t.number("--xtalsize,--xtal_size,--samplesize,--sample_size", "crystal full width (mm), all three axes",
             at_least(0, "0: size from -N"), [&](double v) { c.sample_x = c.sample_y = c.sample_z = v / mm; });
    t.number("--xtal_thick,--xtal_x,--sample_thick,--sample_x", "crystal size along x (mm)",
             at_least(0, "0: size from -N"), [&](double v) { c.sample_x = v / mm; });
    t.number("--xtal_width,--xtal_y,--sample_width,--sample_y,--width", "crystal size along y (mm)",
             at_least(0, "0: size from -N"), [&](double v) { c.sample_y = v / mm; });
    t.number("--xtal_height,--xtal_z,--sample_height,--sample_z,--height,--xtal_heigh,--sample_heigh,--heigh",
             "crystal size along z (mm)", at_least(0, "0: size from -N"), [&](double v) { c.sample_z = v / mm; });
    t.number("--density,--sample_density,--sample_den", "sample density (g/cm^3; printed only, as in C)", above(0),
             [](double) {});
    t.number("--MW,--molecular_weight,--molec", "molecular weight (printed only, as in C)", above(0), [](double) {});
    t.flag("--square_xtal", "parallelepiped crystal: sincg spots (default)", [&] { c.xtal_shape = XtalShape::Square; });
    t.flag("--round_xtal", "ellipsoidal crystal: sinc3 spots", [&] { c.xtal_shape = XtalShape::Round; });
    t.flag("--gauss_xtal", "Gaussian spots, no inter-Bragg maxima", [&] { c.xtal_shape = XtalShape::Gauss; });
    t.flag("--tophat_spots,--binary_spots", "flat-top spots clipped at the FWHM",
           [&] { c.xtal_shape = XtalShape::Tophat; });
    t.number("--fudge", "spot-shape scale factor (default 1)", above(0), [&](double v) { c.fudge = v; });
    t.number("--default_F", "F for reflections absent from -hkl (default 0)", at_least(0),
             [&](double v) { c.default_F = v; });
    t.number("--mosaic,--mosaic_spread,--mosaicity,--mosaic_spr,--mosaici", "isotropic mosaic spread (deg)",
             at_least(0), [&](double v) { c.mosaic_spread = v / RTD; });
    t.integer("--mosaic_dom,--mosaic_domains", "number of mosaic domains (default 10 when -mosaic is set)",
              auto_when_negative(), [&](int v) { c.mosaic_domains = v; });
    t.integer("--mosaic_seed", "random seed for mosaic domains (default 12345678)", kAny,
              [&](int v) { c.mosaic_seed = -(long)v; });
    t.integer("--misset_seed", "random seed for -misset random (default: time)", kAny,
              [&](int v) { c.misset_seed = -(long)v; });
    t.flag("--interpolate", "tricubic interpolation of F between reflections (default: on when any N <= 2)",
           [&] { c.interpolate = 1; });
    t.flag("--exact_sincg", "evaluate sin(N pi h)/sin(pi h) exactly as C does: bit-for-bit C images, slower",
           [&] { c.exact_sincg = true; });
    t.flag("--exact",
           "C-exact arithmetic: C's sincg, no fused multiply-add, C's libm (images and noise files byte-identical "
           "to C; the default is faster and meets the parity thresholds)",
           [&] {
               c.exact = true;
               c.exact_sincg = true;
           });
    t.flag("--nointerpolate", "nearest-reflection F only", [&] { c.interpolate = 0; });

    // ---- spindle ----
    t.number("--phi", "starting spindle angle (deg, default 0)", kAny, [&](double v) { c.phi0 = v / RTD; });
    t.number("--osc", "oscillation range (deg)", auto_when_negative("negative: auto, as C"),
             [&](double v) { c.osc = v < 0 ? -1.0 : v / RTD; });
    t.number("--phistep", "spindle step (deg)", auto_when_negative(),
             [&](double v) { c.phistep = v < 0 ? -1.0 : v / RTD; });
    t.integer("--phisteps", "spindle steps to render", auto_when_negative("negative: auto, 0: 1 step, as C"),
              [&](int v) { c.phisteps = v; });
    t.text("--expt",
           "DIALS experiment list (.expt): beam, detector panels, goniometer, scan and crystal (docs/expt.md)",
           [&](const std::string& v) { c.expt_file = v; });
    t.text("--shots", "shot list: one image per line with its own orientation (docs/shots.md)",
           [&](const std::string& v) { c.shots_file = v; });
    t.integer("--nframes",
              "rotation series: frames at phi + i*osc, i = 0..N-1, numbered from 1 in file names "
              "(use a printf pattern such as sweep_%04d.img)",
              at_least(1), [&](int v) { c.nframes = v; });

    // ---- beam ----
    t.number("--lambda,--wave", "wavelength (A, default 1)", above(0), [&](double v) { c.lambda0 = v / 1.0e10; });
    t.number("--energy", "photon energy (eV), alternative to -lambda", above(0),
             [&](double v) { c.lambda0 = (kEnergyToLambda / v) / 1.0e10; });
    t.number("--dispersion", "spectral width delta-lambda/lambda (percent)", at_least(0),
             [&](double v) { c.dispersion = v / 100.0; });
    t.integer("--dispsteps", "wavelength steps across -dispersion", auto_when_negative(),
              [&](int v) { c.dispsteps = v; });
    t.number("--divergence", "beam divergence, both directions (mrad)", at_least(0),
             [&](double v) { c.hdivrange = c.vdivrange = v / 1000.0; });
    t.number("--hdivrange", "horizontal divergence range (mrad)", at_least(0),
             [&](double v) { c.hdivrange = v / 1000.0; });
    t.number("--vdivrange", "vertical divergence range (mrad)", at_least(0),
             [&](double v) { c.vdivrange = v / 1000.0; });
    t.number("--hdivstep", "horizontal divergence step (mrad)", auto_when_negative(),
             [&](double v) { c.hdivstep = v < 0 ? -1.0 : v / 1000.0; });
    t.number("--vdivstep", "vertical divergence step (mrad)", auto_when_negative(),
             [&](double v) { c.vdivstep = v < 0 ? -1.0 : v / 1000.0; });
    t.integer("--hdivsteps", "horizontal divergence points", auto_when_negative(), [&](int v) { c.hdivsteps = v; });
    t.integer("--vdivsteps", "vertical divergence points", auto_when_negative(), [&](int v) { c.vdivsteps = v; });
    t.integer("--divsteps", "divergence points in both directions", auto_when_negative(),
              [&](int v) { c.hdivsteps = c.vdivsteps = v; });
    t.flag("--round_div", "trim the divergence grid to an ellipse (default)", [&] { c.round_div = true; });
    t.flag("--square_div", "full rectangular divergence grid", [&] { c.round_div = false; });
    t.number("--fluence", "integrated beam intensity (photons/m^2, default 1.26e29)", above(0),
             [&](double v) { c.fluence = v; });
    t.number("--flux", "beam flux (photons/s), with -exposure and -beamsize", at_least(0, "0: use -fluence"),
             [&](double v) { c.flux = v; });
    t.number("--exposure", "exposure time (s, default 1)", above(0), [&](double v) { c.exposure = v; });
    // negative, as in C: no clipping, and the fluence not from -flux
    t.number("--beamsize", "beam size (mm, default 0.1; negative: the sample unclipped, the fluence not from -flux)",
             kAny, [&](double v) {
                 if (v == 0) bad("-beamsize", "0 is a beam of no size (a negative size leaves the sample unclipped)");
                 c.beamsize = v / mm;
             });
    t.number("--polar", "Kahn polarization factor (default 0)", within(-1, 1), [&](double v) {
        c.polarization = v;
        c.nopolar = false;
    });
    t.flag("--nopolar", "no polarization correction", [&] { c.nopolar = true; });
    t.number("--dmin", "skip scattering finer than this resolution (A)", at_least(0, "0: no limit"),
             [&](double v) { c.dmin = v * 1e-10; });
    t.number("--water", "water background: droplet size (um)", at_least(0), [&](double v) { c.water_size = v / 1e6; });

    // ---- detector ----
    t.number("--pixel", "pixel size (mm, default 0.1)", above(0), [&](double v) { c.pixel_size = v / mm; });
    // 0, as in C: the count from -detsize and -pixel
    t.integer("--detpixels", "detector pixels, square", at_least(0, "0: from -detsize"),
              [&](int v) { c.fpixels = c.spixels = v; });
    t.integer("--detpixels_f,--detpixels_x", "detector pixels along the fast axis", at_least(0, "0: from -detsize_f"),
              [&](int v) { c.fpixels = v; });
    t.integer("--detpixels_s,--detpixels_y", "detector pixels along the slow axis", at_least(0, "0: from -detsize_s"),
              [&](int v) { c.spixels = v; });
    t.number("--detsize", "detector size (mm), square", above(0),
             [&](double v) { c.detsize_f = c.detsize_s = v / mm; });
    t.number("--detsize_f", "detector size along fast (mm)", above(0), [&](double v) { c.detsize_f = v / mm; });
    t.number("--detsize_s", "detector size along slow (mm)", above(0), [&](double v) { c.detsize_s = v / mm; });
    t.number("--distance", "sample to beam spot on the detector (mm, default 100); pivot beam", above(0),
             [&](double v) {
                 c.distance = v / mm;
                 c.pivot = Pivot::Beam;
             });
    t.number("--close_distance", "sample to detector plane along its normal (mm); pivot sample", above(0),
             [&](double v) {
                 c.close_distance = v / mm;
                 c.pivot = Pivot::Sample;
             });
    // C's spelling of "no absorption" is the word inf (or 0); any other value
    // is an attenuation depth, which must be a positive finite number
    t.text("--detector_abs,--detector_absorb", "sensor attenuation depth (um) [> 0; inf or 0: none]",
           [&](const std::string& raw) {
               const std::string v = raw.substr(std::min(raw.find_first_not_of(' '), raw.size()));
               if (v == "inf" || v == "+inf" || v == "infinity" ||
                   (is_number(v) && std::strtod(v.c_str(), nullptr) == 0.0)) {
                   c.detector_thick = 0.0;
                   c.detector_mu = 0.0;
               } else {
                   c.detector_mu = 1.0 / (parse_number("-detector_abs", v, above(0, "inf or 0: none")) * 1e-6);
               }
           });
    t.number("--detector_thick", "sensor thickness (um)", at_least(0), [&](double v) { c.detector_thick = v * 1e-6; });
    t.integer("--detector_thicksteps,--thicksteps", "sensor layers", auto_when_negative(),
              [&](int v) { c.detector_thicksteps = v; });
    t.number("--detector_rotx", "detector rotation about x (deg, default 0)", kAny,
             [&](double v) { c.detector_rotx = v / RTD; });
    t.number("--detector_roty", "detector rotation about y (deg, default 0)", kAny,
             [&](double v) { c.detector_roty = v / RTD; });
    t.number("--detector_rotz", "detector rotation about z (deg, default 0)", kAny,
             [&](double v) { c.detector_rotz = v / RTD; });
    t.number("--twotheta", "detector swing about the twotheta axis (deg, default 0); pivot sample", kAny,
             [&](double v) {
                 c.twotheta = v / RTD;
                 c.pivot = Pivot::Sample;
                 c.twotheta_from_axis = false;
             });
    t.flag("--curved_det", "all pixels at the same distance from the sample", [&] { c.curved_detector = true; });
    t.flag("--point_pixel", "solid angle 1/R^2 only (no obliquity)", [&] { c.point_pixel = true; });
    t.number("--Xbeam",
             "beam centre, fast (mm; default: the convention's; MOSFLM: (detector size + 1 pixel) / 2); pivot beam",
             kAny, [&](double v) {
                 c.Xbeam = v / mm;
                 c.pivot = Pivot::Beam;
             });
    t.number("--Ybeam",
             "beam centre, slow (mm; default: the convention's; MOSFLM: (detector size + 1 pixel) / 2); pivot beam",
             kAny, [&](double v) {
                 c.Ybeam = v / mm;
                 c.pivot = Pivot::Beam;
             });
    t.number("--Xclose", "closest point, fast (mm; default: from the beam centre); pivot sample", kAny, [&](double v) {
        c.Xclose = v / mm;
        c.pivot = Pivot::Sample;
    });
    t.number("--Yclose", "closest point, slow (mm; default: from the beam centre); pivot sample", kAny, [&](double v) {
        c.Yclose = v / mm;
        c.pivot = Pivot::Sample;
    });
    t.number("--ORGX", "XDS origin, fast (pixels; default: from the beam centre); pivot sample", kAny, [&](double v) {
        c.ORGX = v;
        c.pivot = Pivot::Sample;
    });
    t.number("--ORGY", "XDS origin, slow (pixels; default: from the beam centre); pivot sample", kAny, [&](double v) {
        c.ORGY = v;
        c.pivot = Pivot::Sample;
    });
    t.text(
        "--pivot",
        "detector pivot: beam or sample (CUSTOM only; MOSFLM, DENZO, ADXV pivot on the beam, XDS, DIALS on the sample)",
        [&](const std::string& v) {
            if (v.find("sample") != std::string::npos)
                c.pivot = Pivot::Sample;
            else if (v.find("beam") != std::string::npos)
                c.pivot = Pivot::Beam;
            else
                bad("-pivot", "expected 'beam' or 'sample', got '" + v + "'");
        });
    auto conv = [&](Convention cv, Pivot pv) {
        return [&c, cv, pv] {
            c.convention = cv;
            c.pivot = pv;
        };
    };
    t.flag("--mosflm", "MOSFLM axes and beam centre (default)", conv(Convention::Mosflm, Pivot::Beam));
    t.flag("--xds", "XDS axes and ORGX/ORGY origin", conv(Convention::Xds, Pivot::Sample));
    t.flag("--adxv", "ADXV axes and beam centre", conv(Convention::Adxv, Pivot::Beam));
    t.flag("--denzo", "DENZO axes and beam centre", conv(Convention::Denzo, Pivot::Beam));
    t.flag("--dials", "DIALS axes and beam centre", conv(Convention::Dials, Pivot::Beam));
    // a direction of length zero has no unit vector (C divides by zero)
    auto custom = [&](Vec3d& target, const char* flag) {
        return [&c, &target, flag](const std::vector<double>& v) {
            if (v[0] == 0 && v[1] == 0 && v[2] == 0) bad(flag, "0 0 0 is not a direction");
            c.convention = Convention::Custom;
            target = vec(v);
        };
    };
    t.numbers("--fdet_vector", 3, "fast-axis unit vector (selects CUSTOM)", {kAny}, custom(c.fdet, "-fdet_vector"));
    t.numbers("--sdet_vector", 3, "slow-axis unit vector (selects CUSTOM)", {kAny}, custom(c.sdet, "-sdet_vector"));
    t.numbers("--odet_vector", 3, "detector normal (selects CUSTOM)", {kAny}, custom(c.odet, "-odet_vector"));
    t.numbers("--beam_vector", 3, "beam direction (selects CUSTOM)", {kAny}, custom(c.beam, "-beam_vector"));
    t.numbers("--polar_vector", 3, "E-vector of the beam (selects CUSTOM)", {kAny},
              custom(c.polar_vec, "-polar_vector"));
    t.numbers("--spindle_axis", 3, "spindle axis (selects CUSTOM)", {kAny}, custom(c.spindle, "-spindle_axis"));
    // C reads "-twotheta_axis X Y Z" as "-twotheta X" too (its flags match by
    // substring): the swing becomes X degrees about the sample, kept for parity
    // and named by a warning (engine/detector_geometry.cpp)
    t.numbers("--twotheta_axis", 3, "twotheta axis (selects CUSTOM; as in C, also sets -twotheta to its first number)",
              {kAny}, [&, set_axis = custom(c.twotheta_axis, "-twotheta_axis")](const std::vector<double>& v) {
                  set_axis(v);
                  c.twotheta = v[0] / RTD;
                  c.pivot = Pivot::Sample;
                  c.twotheta_from_axis = true;
              });
    t.numbers("--pix0_vector", 3, "sample to first pixel (m; selects CUSTOM; recomputed from the beam centre, as C)",
              {kAny}, [&](const std::vector<double>& v) {
                  c.convention = Convention::Custom;
                  c.pix0_given = true;
                  c.pix0 = vec(v);
              });

    // ---- sampling ----
    t.integer("--oversample", "sub-pixels per pixel edge (default: from crystal size)", auto_when_negative(),
              [&](int v) { c.oversample = v; });
    t.flag("--oversample_thick", "sensor absorption per sub-pixel", [&] { c.oversample_thick = true; });
    t.flag("--oversample_polar", "polarization per sub-pixel", [&] { c.oversample_polar = true; });
    t.flag("--oversample_omega", "solid angle per sub-pixel", [&] { c.oversample_omega = true; });
    t.numbers(
        "--roi", 4,
        "render only xmin xmax ymin ymax (pixels, inclusive; negative, e.g. -1: that edge of the detector, as in C)",
        {kAny},
        [&](const std::vector<double>& v) {
            c.roi_xmin = (int)v[0];
            c.roi_xmax = (int)v[1];
            c.roi_ymin = (int)v[2];
            c.roi_ymax = (int)v[3];
        },
        "xmin xmax ymin ymax", "INT");

    // ---- outputs ----
    t.text("--floatfile,--floatimage", "raw float32 image (default floatimage.bin)",
           [&](const std::string& v) { c.float_file = v; });
    t.text("--intfile,--intimage", "noiseless SMV image (default intimage.img)",
           [&](const std::string& v) { c.int_file = v; });
    t.text("--noisefile,--noiseimage", "SMV image with Poisson noise (default noiseimage.img)",
           [&](const std::string& v) {
               c.noise_file = v;
               c.write_noise = true;
           });
    t.text("--pgmfile,--pgmimage", "8-bit PGM image (default image.pgm)", [&](const std::string& v) {
        c.pgm_file = v;
        c.write_pgm = true;
    });
    t.text("--pngfile,--pngimage", "PNG preview: dark spots on white, sqrt scale (not written by default)",
           [&](const std::string& v) { c.png_file = v; });
    t.text("--nexusfile",
           "NeXus/NXmx HDF5 file holding the whole series or shot list: noise image as int32, geometry as "
           "NXtransformations, read by DIALS (docs/formats.md)",
           [&](const std::string& v) { c.nexus_file = v; });
    t.flag("--nexus_float", "also store the float image in the -nexusfile", [&] { c.nexus_float = true; });
    t.text("--nexus_compression",
           "-nexusfile pixel compression: auto (bitshuffle+LZ4 as Eiger files when the HDF5 plugin is installed, "
           "else deflate), bitshuffle, lz4, deflate or none",
           [&](const std::string& v) {
               if (v != "auto" && v != "bitshuffle" && v != "lz4" && v != "deflate" && v != "none")
                   bad("-nexus_compression", "expected auto, bitshuffle, lz4, deflate or none, got '" + v + "'");
               c.nexus_compression = v;
           });
    t.integer("--nexus_frames_per_file",
              "Eiger layout: the -nexusfile is a master file and the frames go to data files of this many frames "
              "each (NAME_data_000001.h5, ...), linked from the master (default 0: one file)",
              at_least(0, "0: one file"), [&](int v) { c.nexus_frames_per_file = v; });
    t.text("--cbffile",
           "Pilatus-style miniCBF of the noise image, one per frame: a printf pattern such as "
           "sweep_%04d.cbf (docs/formats.md)",
           [&](const std::string& v) { c.cbf_file = v; });
    t.number("--pngscale", "PNG intensity shown black (default: 99.9th percentile)", at_least(0, "0: auto"),
             [&](double v) { c.png_level = v; });
    t.flag("--nonoise", "do not write the -noisefile SMV image", [&] { c.write_noise = false; });
    t.flag("--nopgm", "do not write the PGM image", [&] { c.write_pgm = false; });
    t.number("--scale", "intfile scale (default 55000/max)", at_least(0, "0: auto"),
             [&](double v) { c.intfile_scale = v; });
    t.number("--pgmscale", "PGM scale (default 250/(5 rmsd))", at_least(0, "0: auto"), [&](double v) {
        c.pgm_scale = v;
        c.write_pgm = true;
    });
    t.number("--adc", "offset added to SMV pixels (default 40)", at_least(0), [&](double v) { c.adc_offset = v; });
    t.integer("--seed", "noise seed (default: time)", kAny, [&](int v) { c.seed = -(long)v; });

    // ---- realistic images (ours; docs/realistic.md) ----
    t.text("--amorphous",
           "amorphous material in the beam, rendered with the spots (repeat for several): "
           "MATERIAL:THICKNESS_MM[:DENSITY_G_CM3[:MW]]; MATERIAL water (1 g/cm^3, 18 g/mol), ice (0.92, 18), air "
           "(0.0012, 29) or a table file of sin(theta)/lambda (1/A) and F; width and height: -beamsize",
           [&](const std::string& v) {
               try {
                   c.amorphous.push_back(parse_amorphous_spec(v));
               } catch (const std::runtime_error& e) {
                   throw UsageError(e.what());
               }
           });
    DetectorModel& dm = c.detector_model;
    t.text("--psf", "detector point-spread function on the noise image: gauss, fiber or none (default: none)",
           [&](const std::string& v) {
               if (v == "none") {  // the default, named: no PSF (nothing else of the detector model is turned on)
                   dm.psf = 0;
                   return;
               }
               if (v.find("gauss") != std::string::npos)
                   dm.psf = 1;
               else if (v.find("fiber") != std::string::npos)
                   dm.psf = 2;
               else
                   bad("-psf", "expected gauss, fiber or none, got '" + v + "'");
               dm.enabled = true;
           });
    t.number("--psf_fwhm,--psf_width,--psf_sigma",
             "PSF full width at half maximum (um, default 46; noisify's names too)", at_least(0), [&](double v) {
                 dm.psf_fwhm = v / 1e6;
                 dm.enabled = true;
             });
    t.integer(
        "--psf_radius,--psf_rad", "PSF rendering radius (pixels, default 0: from each pixel's photons)",
        at_least(0, "0: automatic"),
        [&](int v) {
            dm.psf_radius = v;
            dm.enabled = true;
        },
        /*c_atoi=*/false);  // as noisify, which reads it with atof
    t.number("--readout,--readout_noise,--readnoise",
             "read-out noise on the noise image: Gaussian, ADU rms (default 0)", at_least(0), [&](double v) {
                 dm.readout = v;
                 dm.enabled = true;
             });
    t.number("--calibration", "static calibration error on the noise image: fractional, per pixel (default 0)",
             at_least(0), [&](double v) {
                 dm.calibration = v;
                 dm.enabled = true;
             });
    t.number("--flicker", "source flicker on the noise image: fractional Gaussian error per pixel (default 0)",
             at_least(0), [&](double v) {
                 dm.flicker = v;
                 dm.enabled = true;
             });
    t.number("--gain", "noise image ADU per photon (default 1)", at_least(0), [&](double v) {
        dm.gain = v;
        dm.enabled = true;
    });
    t.integer("--calib_seed", "seed of the calibration error (default 123456789)", kAny, [&](int v) {
        dm.calib_seed = -(long)v;
        dm.enabled = true;
    });

    // ---- run control ----
    t.flag("--progress", "progress bar on terminals (default)", [&] { c.progress = true; });
    t.flag("--noprogress", "no progress bar", [&] { c.progress = false; });
    t.flag("--printout", "print C's block of intermediate values for every rendered pixel (or -printout_pixel's)",
           [&] { c.printout = true; });
    t.flag("--coherent", "coherent addition (accepted; unused by C's renderer)", [] {});
    t.number(
        "--source_distance,--source_dist", "source distance (accepted and ignored, as by C: it sets nothing)", kAny,
        [](double) {
            spdlog::warn(
                "WARNING: -source_distance changes nothing: C nanoBragg ignores it (its parsing is commented out), "
                "and the sources are directions");
        });
    t.numbers(
        "--printout_pixel", 2, "-printout for this pixel only: fast slow (a negative fast: every pixel)", {kAny},
        [&](const std::vector<double>& v) {
            // C's -printout_pixel also matches "-printout" (strstr): it turns the printout on;
            // any negative fast pixel prints every pixel, whatever the slow one
            if (v[0] >= 0 && v[1] < 0)
                bad("-printout_pixel", "slow " + std::to_string((int)v[1]) + " with fast " + std::to_string((int)v[0]) +
                                           " names no pixel (a negative fast prints every pixel)");
            c.printout = true;
            c.printout_fpixel = v[0] < 0 ? -1 : (int)v[0];
            c.printout_spixel = v[0] < 0 ? -1 : (int)v[1];
        },
        "", "INT");
    t.numbers(
        "--trace_pixel,--dump_pixel", 2, "print the TRACE_C lines of this pixel's render: slow fast",
        {at_least(-1, "-1 -1: off")},
        [&](const std::vector<double>& v) {
            if ((v[0] < 0) != (v[1] < 0))
                bad("-trace_pixel", "slow and fast are a pixel (both >= 0) or -1 -1 (off), got " +
                                        std::to_string((int)v[0]) + " " + std::to_string((int)v[1]));
            c.trace_spixel = (int)v[0];
            c.trace_fpixel = (int)v[1];
        },
        "", "INT");
    t.text(
        "--device",
        "auto, cpu or cuda (default auto: the GPU when one is present, the CPU for a run shorter than a GPU's start)",
        [&](const std::string& v) {
            if (v != "auto" && v != "cpu" && v != "cuda") bad("-device", "expected auto, cpu or cuda, got '" + v + "'");
            c.device = v;
        });
    t.text("--precision", "double or float (default double; float warns on crystals over 3000 wavelengths long)",
           [&](const std::string& v) {
               if (v != "double" && v != "float") bad("-precision", "expected double or float, got '" + v + "'");
               c.precision = v;
           });
    t.integer("--threads", "CPU threads (default: all cores)", thread_count(), [&](int v) { c.threads = v; });
    app.add_flag("-h,--help,--usage", help, "print this help");
    app.add_flag("--version", version, "print version, git commit, build type, CUDA architectures, CPU paths, MPI/PNG");
}

// C reads -mask then -img headers before any flag, so flags override them.
void apply_image_headers(const std::vector<std::string>& args, SimConfig& c) {
    std::string img, mask;
    for (size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == "-img") img = args[i + 1];
        if (args[i] == "-mask") mask = args[i + 1];
    }
    if (!mask.empty()) apply_smv_header(c, read_smv(mask, "-mask"), true);
    if (!img.empty()) apply_smv_header(c, read_smv(img, "-img"), false);
}

}  // namespace

namespace {

// CLI11's option table, built once per thread and reused: building its ~160
// options costs far more than a parse, which the fuzz targets feel. The flag
// callbacks write into `config`, which each parse starts afresh.
struct Parser {
    SimConfig config;
    bool help = false, version = false;
    CLI::App app{"nanoBragg-compatible X-ray diffraction simulator", "nanoBragg"};
    Parser() {
        app.set_help_flag();
        register_flags(app, config, help, version);
    }
};

}  // namespace

namespace {

// -expt: the file's models over C's flags. A flag giving a second geometry is
// an error naming both; polarization, the sensor and divergence flags are
// overrides (docs/expt.md).
void apply_expt_file(const CLI::App& app, SimConfig& c) {
    auto given = [&](const char* name) { return app.count(name) > 0; };
    auto refuse = [&](const std::vector<const char*>& flags, const std::string& what) {
        for (const char* f : flags)
            if (given(f))
                throw UsageError(std::string(f + 1) + ": " + what + " comes from -expt " + c.expt_file +
                                 "; give one or the other");
    };
    refuse(
        {"--img",           "--distance",      "--close_distance", "--pixel",        "--detpixels",   "--detpixels_f",
         "--detpixels_s",   "--detsize",       "--detsize_f",      "--detsize_s",    "--Xbeam",       "--Ybeam",
         "--Xclose",        "--Yclose",        "--ORGX",           "--ORGY",         "--fdet_vector", "--sdet_vector",
         "--odet_vector",   "--pix0_vector",   "--beam_vector",    "--polar_vector", "--twotheta",    "--twotheta_axis",
         "--detector_rotx", "--detector_roty", "--detector_rotz",  "--pivot",        "--mosflm",      "--xds",
         "--adxv",          "--denzo",         "--dials",          "--curved_det"},
        "the detector");
    refuse({"--lambda", "--energy", "--sourcefile"}, "the beam");
    auto model = std::make_shared<ExptModel>(read_expt(c.expt_file));
    if (model->has_crystal) refuse({"--cell", "--mat", "--misset", "--shots"}, "the crystal");
    if (model->has_goniometer) refuse({"--spindle_axis"}, "the rotation axis");
    if (model->panels.size() > 1 && c.detector_model.psf != 0)
        throw UsageError("-psf: the point-spread function is not yet applied to detectors of several panels (-expt " +
                         c.expt_file + " has " + std::to_string(model->panels.size()) + ")");
    ExptOverrides keep;
    keep.polarization = given("--polar") || given("--nopolar");
    keep.sensor = given("--detector_thick") || given("--detector_abs");
    keep.divergence = given("--divergence") || given("--hdivrange") || given("--vdivrange");
    keep.phi = given("--phi");
    keep.osc = given("--osc");
    keep.nframes = given("--nframes");
    keep.exposure = given("--exposure");
    apply_expt_config(*model, c, keep);
    c.expt = std::move(model);
}

}  // namespace

ParsedArgs parse_args(int argc, const char* const* argv) {
    thread_local Parser p;
    p.config = SimConfig{};
    p.help = false;
    p.version = false;
    p.app.clear();
    CLI::App& app = p.app;
    ParsedArgs r;
    std::vector<std::string> args(argv + 1, argv + argc);
    apply_image_headers(args, p.config);

    parse_flag_table(app, args, [&] { return p.help || p.version; });
    if (!p.help && !p.version && !p.config.expt_file.empty()) apply_expt_file(app, p.config);
    // as in noisify, the width and radius alone draw no PSF: said, since the user meant one
    if (!p.help && !p.version && p.config.detector_model.psf == 0)
        for (const char* f : {"--psf_fwhm", "--psf_radius"})
            if (app.count(f) > 0)
                spdlog::warn(
                    "WARNING: {} draws no PSF without -psf gauss or -psf fiber (as in noisify); it still switches the "
                    "detector model on for the noise image",
                    f + 1);
    r.config = p.config;
    r.outputs_given.floatfile = app.count("--floatfile") > 0;
    r.outputs_given.intfile = app.count("--intfile") > 0;
    r.outputs_given.noisefile = app.count("--noisefile") > 0;
    r.nframes_given = app.count("--nframes") > 0;
    r.outputs_given.pgmfile = app.count("--pgmfile") > 0;
    r.outputs_given.pngfile = app.count("--pngfile") > 0;
    r.help = p.help;
    r.version = p.version;
    if (r.help) r.help_text = single_dash(app.help());
    return r;
}

}  // namespace nb
