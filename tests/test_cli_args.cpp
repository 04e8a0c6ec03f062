// The command line: C's flag names, units, side effects in command-line
// order, and clear errors naming the flag.
#include <gtest/gtest.h>

#include <initializer_list>

#include "cli/args.hpp"
#include "engine/detector_geometry.hpp"
#include "engine/units.hpp"

using namespace nb;

namespace {

ParsedArgs parse(std::initializer_list<const char*> args) {
    std::vector<const char*> argv{"nanoBragg"};
    argv.insert(argv.end(), args.begin(), args.end());
    return parse_args((int)argv.size(), argv.data());
}

std::string error_of(std::initializer_list<const char*> args) {
    try {
        parse(args);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

// A file name that begins with '-' had been doubled ("-floatfile -foo.bin"
// wrote "--foo.bin"; "-floatfile -nopgm" wrote "--nopgm"): it is refused.
TEST(CliArgs, AValueThatLooksLikeAFlagIsRefused) {
    EXPECT_EQ(error_of({"-floatfile", "-nopgm"}),
              "-floatfile: '-nopgm' looks like a flag, not a value (a file name may not begin with '-': write "
              "./-nopgm)");
    EXPECT_EQ(parse({"-floatfile", "./-foo.bin"}).config.float_file, "./-foo.bin");
}

TEST(CliArgs, TranslatesSingleDashLongFlagsButNotNumbers) {
    auto t = translate_flags({"-hkl", "x.hkl", "-N", "5", "-misset", "-89.9", "-1e-3", ".5", "--device"});
    std::vector<std::string> expect{"--hkl", "x.hkl", "-N", "5", "--misset", "-89.9", "-1e-3", ".5", "--device"};
    EXPECT_EQ(t, expect);
}

TEST(CliArgs, ConvertsUnitsAsC) {
    SimConfig c = parse({"-distance",   "100", "-lambda",     "1.5", "-pixel",          "0.172", "-twotheta", "20",
                         "-dispersion", "2",   "-divergence", "0.3", "-detector_thick", "450",   "-water",    "100",
                         "-dmin",       "2",   "-beamsize",   "0.05"})
                      .config;
    EXPECT_DOUBLE_EQ(c.distance, 0.1);
    EXPECT_DOUBLE_EQ(c.lambda0, 1.5e-10);
    EXPECT_DOUBLE_EQ(c.pixel_size, 0.172e-3);
    EXPECT_DOUBLE_EQ(c.twotheta, 20 / RTD);
    EXPECT_DOUBLE_EQ(c.dispersion, 0.02);
    EXPECT_DOUBLE_EQ(c.hdivrange, 0.3e-3);
    EXPECT_DOUBLE_EQ(c.vdivrange, 0.3e-3);
    EXPECT_DOUBLE_EQ(c.detector_thick, 450e-6);
    EXPECT_DOUBLE_EQ(c.water_size, 100e-6);
    EXPECT_DOUBLE_EQ(c.dmin, 2e-10);
    EXPECT_DOUBLE_EQ(c.beamsize, 0.05e-3);
    EXPECT_DOUBLE_EQ(parse({"-energy", "12398.42"}).config.lambda0, 1e-10);
    EXPECT_DOUBLE_EQ(parse({"-detector_abs", "500"}).config.detector_mu, 1.0 / 500e-6);
    SimConfig inf = parse({"-detector_thick", "100", "-detector_abs", "inf"}).config;
    EXPECT_EQ(inf.detector_mu, 0.0);
    EXPECT_EQ(inf.detector_thick, 0.0);
}

TEST(CliArgs, LaterFlagsWinAndSideEffectsFollowCommandLineOrder) {
    EXPECT_EQ(parse({"-distance", "100", "-twotheta", "12"}).config.pivot, Pivot::Sample);
    EXPECT_EQ(parse({"-twotheta", "12", "-distance", "100"}).config.pivot, Pivot::Beam);
    EXPECT_EQ(parse({"-xds", "-pivot", "beam"}).config.pivot, Pivot::Beam);
    EXPECT_EQ(parse({"-pivot", "beam", "-xds"}).config.pivot, Pivot::Sample);
    SimConfig c = parse({"-N", "5", "-Nb", "7", "-lambda", "1", "-wave", "2"}).config;
    EXPECT_EQ(c.Na, 5);
    EXPECT_EQ(c.Nb, 7);
    EXPECT_DOUBLE_EQ(c.lambda0, 2e-10);
    EXPECT_EQ(parse({"-detpixels", "100", "-detpixels_s", "50"}).config.spixels, 50);
}

// C matches flags by substring: "-twotheta_axis X Y Z" is also "-twotheta X"
// (X degrees, pivot sample), unless a -twotheta follows it. A note says so.
// C sets -curved_det only when an argument follows it and reads none
// (cli/flag_table.cpp, curved_det_as_c; nonBragg's images: NonBragg.CurvedDetIsReadAsC).
TEST(CliArgs, CurvedDetNeedsAnArgumentAfterItAsInC) {
    EXPECT_TRUE(parse({"-curved_det", "-distance", "20"}).config.curved_detector);
    SimConfig c = parse({"-curved_det", "1", "-distance", "20"}).config;  // the 1 is skipped
    EXPECT_TRUE(c.curved_detector);
    EXPECT_DOUBLE_EQ(c.distance, 0.020);
    EXPECT_FALSE(parse({"-distance", "20", "-curved_det"}).config.curved_detector);
}

TEST(CliArgs, TwothetaAxisAlsoSetsTheSwingAsC) {
    SimConfig c = parse({"-twotheta", "20", "-twotheta_axis", "3", "1", "0"}).config;
    EXPECT_DOUBLE_EQ(c.twotheta, 3 / RTD);
    EXPECT_EQ(c.pivot, Pivot::Sample);
    EXPECT_EQ(c.convention, Convention::Custom);
    EXPECT_TRUE(c.twotheta_from_axis);
    std::vector<std::string> notes;
    resolve_detector(c, notes);
    bool named = false;
    for (const std::string& n : notes)
        named = named || n.rfind("WARNING: -twotheta_axis also set -twotheta to 3 degrees", 0) == 0;
    EXPECT_TRUE(named) << testing::PrintToString(notes);

    c = parse({"-twotheta_axis", "3", "1", "0", "-twotheta", "20"}).config;
    EXPECT_DOUBLE_EQ(c.twotheta, 20 / RTD);
    EXPECT_FALSE(c.twotheta_from_axis);
    notes.clear();
    resolve_detector(c, notes);
    for (const std::string& n : notes) EXPECT_EQ(n.find("-twotheta_axis"), std::string::npos) << n;

    // a later -pivot still wins, as in C
    EXPECT_EQ(parse({"-twotheta_axis", "0", "1", "0", "-pivot", "beam"}).config.pivot, Pivot::Beam);
    EXPECT_DOUBLE_EQ(parse({"-twotheta_axis", "0", "1", "0"}).config.twotheta, 0.0);
}

// The stems C's substring matching accepts are flags here too.
TEST(CliArgs, CsFlagStemsAreAccepted) {
    SimConfig c = parse({"-xtal_heigh", "0.5", "-sample_den", "1.2", "-molec", "40", "-stolout", "out.stol"}).config;
    EXPECT_DOUBLE_EQ(c.sample_z, 0.5e-3);
    EXPECT_DOUBLE_EQ(parse({"-sample_heigh", "0.25"}).config.sample_z, 0.25e-3);
    EXPECT_DOUBLE_EQ(parse({"-heigh", "0.125"}).config.sample_z, 0.125e-3);
    EXPECT_DOUBLE_EQ(parse({"-mosaic_spr", "0.5"}).config.mosaic_spread, 0.5 / RTD);
    EXPECT_DOUBLE_EQ(parse({"-mosaici", "0.25"}).config.mosaic_spread, 0.25 / RTD);
}

TEST(CliArgs, VectorsMissetCellAndRoi) {
    SimConfig c =
        parse({"-misset", "-89.968546",   "-31.328953", "177.753396", "-cell",   "70",   "80", "90", "75", "85",
               "95",      "-pix0_vector", "0.1",        "0.0128",     "-0.0128", "-roi", "1",  "2",  "3",  "4"})
            .config;
    EXPECT_EQ(c.misset_mode, 1);
    EXPECT_DOUBLE_EQ(c.misset_rot[0], -89.968546 / RTD);
    EXPECT_DOUBLE_EQ(c.misset_rot[2], 177.753396 / RTD);
    EXPECT_TRUE(c.user_cell);
    EXPECT_DOUBLE_EQ(c.cell_gamma, 95 / RTD);
    EXPECT_EQ(c.convention, Convention::Custom);
    EXPECT_DOUBLE_EQ(c.pix0.z, -0.0128);
    EXPECT_EQ(c.roi_ymax, 4);
    SimConfig r = parse({"-misset", "random", "-misset_seed", "12345"}).config;
    EXPECT_EQ(r.misset_mode, -1);
    ASSERT_TRUE(r.misset_seed.has_value());
    EXPECT_EQ(*r.misset_seed, -12345);
}

TEST(CliArgs, SeedsAreStoredNegatedAsC) {
    SimConfig c = parse({"-seed", "42", "-mosaic_seed", "4242"}).config;
    EXPECT_EQ(*c.seed, -42);
    EXPECT_EQ(c.mosaic_seed, -4242);
    EXPECT_EQ(SimConfig{}.mosaic_seed, -12345678);
}

TEST(CliArgs, OutputFlagsAndSwitches) {
    SimConfig c = parse({"-floatimage", "f.bin", "-intfile", "i.img", "-noisefile", "n.img", "-nopgm", "-scale", "10",
                         "-adc", "20", "-oversample_thick", "-nopolar", "-round_xtal", "-nointerpolate"})
                      .config;
    EXPECT_EQ(c.float_file, "f.bin");
    EXPECT_EQ(c.int_file, "i.img");
    EXPECT_EQ(c.noise_file, "n.img");
    EXPECT_FALSE(c.write_pgm);
    EXPECT_DOUBLE_EQ(c.intfile_scale, 10);
    EXPECT_DOUBLE_EQ(c.adc_offset, 20);
    EXPECT_TRUE(c.oversample_thick);
    EXPECT_TRUE(c.nopolar);
    EXPECT_EQ(c.xtal_shape, XtalShape::Round);
    EXPECT_EQ(c.interpolate, 0);
}

TEST(CliArgs, ErrorsNameTheFlag) {
    EXPECT_EQ(error_of({"-foo", "3"}), "-foo: unknown flag");
    // a word after a flag that takes none (C skips it, the flag in force)
    EXPECT_EQ(error_of({"-interpolate", "0"}),
              "-interpolate: takes no value; C nanoBragg skips the '0' after it, with -interpolate in force: remove "
              "the '0', or the flag");
    // a team OpenMP cannot start had crashed every program (and the Python interpreter)
    EXPECT_EQ(error_of({"-threads", "100000"}), "-threads: 100000 is out of range (must be 0 to 4096)");
    // C reads a longer spelling of a flag as the flag (strstr): offered, not assumed
    EXPECT_EQ(error_of({"-pixel_size", "0.1"}), "-pixel_size: unknown flag (did you mean -pixel?)");
    EXPECT_EQ(error_of({"-detpixels_fast", "64"}), "-detpixels_fast: unknown flag (did you mean -detpixels_f?)");
    EXPECT_NE(error_of({"-N", "abc"}).find("-N"), std::string::npos);
    EXPECT_NE(error_of({"-cell", "100", "100", "-N", "5"}).find("-cell: needs 6 numbers"), std::string::npos);
    EXPECT_NE(error_of({"-detpixels", "-1"}).find("-detpixels"), std::string::npos);
    EXPECT_NE(error_of({"-detpixels_f", "-5"}).find("-detpixels_f"), std::string::npos);
    EXPECT_NE(error_of({"-lambda", "0"}).find("-lambda"), std::string::npos);
    EXPECT_NE(error_of({"-distance", "-10"}).find("-distance"), std::string::npos);
    EXPECT_NE(error_of({"-pivot", "middle"}).find("-pivot"), std::string::npos);
    EXPECT_NE(error_of({"-misset", "1", "2"}).find("-misset"), std::string::npos);
    EXPECT_NE(error_of({"-precision", "half"}).find("-precision"), std::string::npos);
    EXPECT_NE(error_of({"-hkl"}).find("-hkl"), std::string::npos);
    // messages use the user's spelling, never CLI11's "--"
    EXPECT_EQ(error_of({"-N", "abc"}).find("--"), std::string::npos);
}

TEST(CliArgs, HelpListsFlagsWithUnits) {
    ParsedArgs h = parse({"-h"});
    EXPECT_TRUE(h.help);
    EXPECT_NE(h.help_text.find("-distance"), std::string::npos);
    EXPECT_NE(h.help_text.find("(mm"), std::string::npos);
    EXPECT_EQ(h.help_text.find("--distance"), std::string::npos);
}
