// -precision float on large crystals: a spot is 1/N wide in the Miller index
// and float rounds h to about 1e-7 of |a| / lambda, so past a few thousand
// wavelengths of crystal an image of a few sharp spots can miss the float bar.
// The run says so instead of leaving it to be found (docs/precision.md).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/float_precision.hpp"
#include "engine/setup.hpp"
#include "run_cli.hpp"

using namespace nb;
using namespace nbtest;

namespace {

// a 1 um crystal of a 64 x 72 x 81 A cell at 1 A: 157 x 139 x 124 cells
SimConfig micron_crystal() {
    SimConfig c;
    c.user_cell = true;
    c.cell_a = 64, c.cell_b = 72, c.cell_c = 81;
    c.default_F = 10;
    c.sample_x = c.sample_y = c.sample_z = 1e-6;
    c.fpixels = c.spixels = 16;
    return c;
}

std::vector<std::string> micron_args(const std::string& precision) {
    return {"-cell", "64",        "72",    "81",         "90", "90",         "90",     "-default_F",
            "10",    "-xtalsize", "0.001", "-detpixels", "16", "-precision", precision};
}

}  // namespace

TEST(FloatPrecision, TheCrystalIsMeasuredInWavelengthsAlongItsLongestAxis) {
    SimConfig c = micron_crystal();
    Experiment e = prepare_experiment(c);
    ASSERT_EQ(e.xtal.Na, 157);  // C rounds the size up to whole cells
    CrystalSpan s = crystal_span(e);
    EXPECT_EQ(s.axis, 'a');  // 157 x 64 = 10048 A, b 139 x 72 = 10008, c 124 x 81 = 10044
    EXPECT_NEAR(s.wavelengths, 10048, 1e-6);
    EXPECT_NEAR(s.size_um, 1.0048, 1e-9);

    c.lambda0 = 2e-10;  // twice the wavelength: half as many
    EXPECT_NEAR(crystal_span(prepare_experiment(c)).wavelengths, 5024, 1e-6);

    c.sample_x = c.sample_y = c.sample_z = 0;
    c.Na = c.Nb = c.Nc = 20;  // 1620 A along c at 2 A: 810 wavelengths, no warning
    Experiment small = prepare_experiment(c);
    EXPECT_EQ(crystal_span(small).axis, 'c');
    EXPECT_NEAR(crystal_span(small).wavelengths, 810, 1e-6);
    EXPECT_EQ(float_precision_warning(small, Precision::Float), "");
    EXPECT_NE(float_precision_warning(e, Precision::Float)
                  .find("10048 wavelengths long along a (157 cells, 1 um; over 3000)"),
              std::string::npos)
        << float_precision_warning(e, Precision::Float);
    EXPECT_EQ(float_precision_warning(e, Precision::Double), "");  // double carries h to 1e-16
}

TEST(FloatPrecision, AFloatRunOfALargeCrystalWarnsADoubleRunDoesNot) {
    TempDir d("float_span");
    RunResult f = run_cli(micron_args("float"), d.path.string(), 60);
    ASSERT_EQ(f.exit_code, 0) << f.err;
    const std::string said = f.out + f.err;  // the log's warnings go where its info goes
    EXPECT_NE(said.find("WARNING: -precision float: the crystal is 10048 wavelengths long along a"), std::string::npos)
        << said;
    EXPECT_NE(said.find("use -precision double"), std::string::npos) << said;

    RunResult dbl = run_cli(micron_args("double"), d.path.string(), 60);
    ASSERT_EQ(dbl.exit_code, 0) << dbl.err;
    EXPECT_EQ((dbl.out + dbl.err).find("-precision float"), std::string::npos) << dbl.out;
}

// The line that found it: `-gauss_xtal -fudge 1000 -N 5` on a 50 x 60 x 70 A
// cell missed the float bar by 2.3e-3 in the sum with no warning. Gaussian and
// tophat spots take their width from Na Nb Nc and -fudge, not from the cell; a
// round crystal's -fudge multiplies its hrad^2. A random sweep of the three
// shapes missed the bar only past 3000 such wavelengths (docs/precision.md).
TEST(FloatPrecision, TheSpotShapeAndFudgeSetHowSharpTheSpotsAre) {
    SimConfig c;
    c.user_cell = true;
    c.cell_a = 50, c.cell_b = 60, c.cell_c = 70;
    c.default_F = 100;
    c.Na = c.Nb = c.Nc = 5;
    c.fpixels = c.spixels = 16;
    c.fudge = 1000;  // a square crystal has no use for it
    EXPECT_EQ(crystal_span(prepare_experiment(c)).axis, 'c');
    EXPECT_NEAR(crystal_span(prepare_experiment(c)).wavelengths, 350, 1e-9);
    EXPECT_EQ(float_precision_warning(prepare_experiment(c), Precision::Float), "");

    c.xtal_shape = XtalShape::Round;  // 350 x sqrt(1000)
    EXPECT_NEAR(crystal_span(prepare_experiment(c)).wavelengths, 350 * std::sqrt(1000.0), 1e-9);
    EXPECT_NE(float_precision_warning(prepare_experiment(c), Precision::Float)
                  .find("the crystal is 11068 wavelengths long along c (5 cells, 0.035 um, -fudge 1000; over 3000)"),
              std::string::npos)
        << float_precision_warning(prepare_experiment(c), Precision::Float);

    c.xtal_shape = XtalShape::Gauss;  // 125 cells x sqrt(1000) at 1 A, whatever the cell
    Experiment g = prepare_experiment(c);
    EXPECT_NEAR(crystal_span(g).wavelengths, 125 * std::sqrt(1000.0), 1e-9);
    EXPECT_NE(
        float_precision_warning(g, Precision::Float)
            .find("with -gauss_xtal the spots are as sharp as a crystal 3953 wavelengths long (Na Nb Nc = 125 cells, "
                  "-fudge 1000; over 3000)"),
        std::string::npos)
        << float_precision_warning(g, Precision::Float);
    c.lambda0 = 2e-10;  // at 2 A half as many: no warning
    EXPECT_EQ(float_precision_warning(prepare_experiment(c), Precision::Float), "");

    c.lambda0 = 1e-10;
    c.fudge = 1;
    c.Na = c.Nb = c.Nc = 15;  // 3375 cells: tophat too
    c.xtal_shape = XtalShape::Tophat;
    EXPECT_NE(
        float_precision_warning(prepare_experiment(c), Precision::Float)
            .find(
                "with -tophat_spots the spots are as sharp as a crystal 3375 wavelengths long (Na Nb Nc = 3375 cells; "
                "over 3000)"),
        std::string::npos)
        << float_precision_warning(prepare_experiment(c), Precision::Float);
}
