// Library-level rendering checks: thread-count determinism (including C's
// serial-order switch-off of tricubic interpolation) and the phi carry-over.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include "engine/render.hpp"
#include "engine/setup.hpp"
#include "engine/units.hpp"
#include "kernels/cpu_launcher.hpp"
#include "tests/golden_agreement.hpp"
#include "tests/run_cli.hpp"

using namespace nb;

namespace {

using nbtest::golden_dir;

bool exists(const std::string& p) { return std::ifstream(p).good(); }

std::vector<float> read_floats(const std::string& p) { return nbtest::floats(nbtest::read_file(p)); }

// lyso_interp_out_of_range: tricubic interpolation hits the edge of the HKL grid
SimConfig lyso_out_of_range() {
    SimConfig c;
    c.user_cell = true;
    c.cell_a = c.cell_b = 79.1;
    c.cell_c = 38.4;
    c.cell_alpha = c.cell_beta = c.cell_gamma = 90 / RTD;
    c.hkl_file = golden_dir() + "/inputs/lyso.hkl";
    c.fdump_file = testing::TempDir() + "/nb_render_test_Fdump.bin";
    c.misset_mode = 1;
    c.misset_rot[0] = 10 / RTD;
    c.misset_rot[1] = 20 / RTD;
    c.misset_rot[2] = 30 / RTD;
    c.lambda0 = 1e-10;
    c.Na = c.Nb = c.Nc = 2;
    c.fpixels = c.spixels = 256;
    c.pixel_size = 0.4e-3;
    c.distance = 0.040;
    c.interpolate = 1;
    return c;
}

}  // namespace

TEST(Render, InterpolationSwitchOffIsThreadCountIndependent) {
    if (!exists(golden_dir() + "/inputs/lyso.hkl")) GTEST_SKIP() << "golden inputs not found";
    Experiment e = prepare_experiment(lyso_out_of_range());
    RenderOptions one, two;
    one.threads = 1;
    two.threads = 2;
    RenderResult a = render_image(e, one), b = render_image(e, two);
    ASSERT_GE(a.interp_disabled_at, 0) << "this case must hit the grid edge";
    EXPECT_EQ(a.interp_disabled_at, b.interp_disabled_at);
    ASSERT_EQ(a.image.size(), b.image.size());
    EXPECT_EQ(0, std::memcmp(a.image.data(), b.image.data(), a.image.size() * sizeof(float)));

    // and the image is C's, bit for bit
    std::string ref = golden_dir() + "/cases/lyso_interp_out_of_range/c.float.bin";
    std::vector<float> c = read_floats(ref);
    ASSERT_EQ(c.size(), a.image.size());
    size_t differing = 0;
    for (size_t i = 0; i < c.size(); ++i) differing += c[i] != a.image[i];
    EXPECT_EQ(differing, 0u);
}

// Default mode takes the statistics from per-row sums as rows finish, also
// over the rows re-rendered after interpolation switched off: they agree with
// a pass over the final image in C's order, and ignore the thread count.
TEST(Render, RowStatisticsMatchAPassOverTheFinalImage) {
    if (!exists(golden_dir() + "/inputs/lyso.hkl")) GTEST_SKIP() << "golden inputs not found";
    Experiment e = prepare_experiment(lyso_out_of_range());
    ImageStats first;
    for (int threads : {1, 2, 3}) {
        RenderOptions opt;
        opt.threads = threads;
        RenderResult r = render_image(e, opt);
        ASSERT_GE(r.interp_disabled_at, 0) << "this case must hit the grid edge";
        const ImageStats ref = image_stats(e, r.image, true);
        // C's one running sum over 65536 pixels rounds by up to ~65536 ulp (1e-11)
        EXPECT_NEAR(r.stats.sum / ref.sum, 1.0, 1e-10) << threads;
        EXPECT_NEAR(r.stats.rms / ref.rms, 1.0, 1e-10) << threads;
        EXPECT_NEAR(r.stats.rmsd / ref.rmsd, 1.0, 1e-10) << threads;
        EXPECT_EQ(r.stats.max_I, ref.max_I);
        EXPECT_EQ(r.stats.max_I_x, ref.max_I_x);
        EXPECT_EQ(r.stats.max_I_y, ref.max_I_y);
        EXPECT_EQ(r.stats.counted, ref.counted);
        if (threads == 1) first = r.stats;
        EXPECT_EQ(r.stats.sum, first.sum) << threads;
        EXPECT_EQ(r.stats.rmsd, first.rmsd) << threads;
    }
}

TEST(Render, PhiZeroStepReusesTheLastRotatedCellAfterTheFirstSweep) {
    SimConfig c;
    c.user_cell = true;
    c.cell_a = c.cell_b = c.cell_c = 100;
    c.default_F = 100;
    c.phi0 = 0;
    c.osc = 90 / RTD;
    c.phisteps = 3;
    c.fpixels = c.spixels = 8;
    Experiment e = prepare_experiment(c);
    std::vector<double> first = stage_cell_table(e, true), later = stage_cell_table(e, false);
    ASSERT_EQ(first.size(), 27u);
    // first sweep: phi=0 uses the unrotated cell
    EXPECT_DOUBLE_EQ(first[0], e.xtal.a.x);
    // later sweeps: phi=0 repeats the last step (phi=60 deg) as C's cached cell does
    for (int i = 0; i < 9; ++i) EXPECT_DOUBLE_EQ(later[i], later[18 + i]) << i;
    EXPECT_NE(later[0], first[0]);
    // the other steps are the same in both tables
    for (int i = 9; i < 27; ++i) EXPECT_DOUBLE_EQ(later[i], first[i]) << i;
}

namespace {
SimConfig mosaic_case() {
    SimConfig c;
    c.user_cell = true;
    c.cell_a = 70;
    c.cell_b = 80;
    c.cell_c = 90;
    c.cell_alpha = 75 / RTD;
    c.cell_beta = 85 / RTD;
    c.cell_gamma = 95 / RTD;
    c.default_F = 100;
    c.Na = c.Nb = c.Nc = 7;
    c.mosaic_spread = 0.5 / RTD;
    c.mosaic_domains = 20;
    c.osc = 2 / RTD;
    c.phisteps = 3;
    c.fpixels = c.spixels = 96;
    c.pixel_size = 0.4e-3;
    return c;
}
}  // namespace

TEST(Render, FractionalIndexSincgAgreesWithCsFormula) {
    SimConfig fast = mosaic_case(), exact = mosaic_case();
    exact.exact_sincg = true;
    RenderOptions opt;
    RenderResult a = render_image(prepare_experiment(fast), opt), b = render_image(prepare_experiment(exact), opt);
    double max_rel = 0, peak = 0;
    for (float v : b.image) peak = std::max(peak, (double)std::fabs(v));
    size_t identical = 0;
    for (size_t i = 0; i < a.image.size(); ++i) {
        max_rel = std::max(max_rel, std::fabs((double)a.image[i] - b.image[i]) / peak);
        identical += a.image[i] == b.image[i];
    }
    EXPECT_LT(max_rel, 1e-9);
    // most float pixels round identically
    EXPECT_GT(identical, a.image.size() * 99 / 100);
}

// In exact mode every executor (the scalar reference and the SIMD one on each
// vector ISA this CPU has) rounds every operation as C does: identical images.
// In the default mode the ISAs with fused multiply-add (AVX2, AVX-512) agree
// with each other bit for bit: a pixel's arithmetic does not depend on the
// lane count.
TEST(Render, EveryCpuVectorIsaGivesTheSameImage) {
    RenderOptions opt;
    for (bool exact : {true, false}) {
        SimConfig c = mosaic_case();
        c.exact = c.exact_sincg = exact;
        Experiment e = prepare_experiment(c);
        std::vector<std::vector<float>> images;
        std::vector<std::string> used;
        for (const char* isa : exact ? std::vector<const char*>{"scalar", "sse4", "avx2", "avx512"}
                                     : std::vector<const char*>{"avx2", "avx512"}) {
            setenv("NB_CPU_ISA", isa, 1);
            used.push_back(cpu_isa());
            images.push_back(render_image(e, opt).image);
        }
        unsetenv("NB_CPU_ISA");
        if (exact) EXPECT_EQ(used[0], "scalar");
        for (size_t i = 1; i < images.size(); ++i)
            EXPECT_EQ(0, std::memcmp(images[0].data(), images[i].data(), images[0].size() * sizeof(float)))
                << used[i] << (exact ? " exact" : " default");
    }
}

// Issue 10's crash without the CLI (which now refuses -ORGY 1e400): an
// infinite detector origin makes every Miller index NaN, with tricubic
// interpolation on (N = 0). The lookups must treat NaN as out of range:
// interpolation switches off at the first pixel and F falls back to the
// nearest-neighbour default instead of a read outside the grid.
TEST(Render, NonFiniteMillerIndicesNeverReadOutsideTheGrid) {
    if (!exists(golden_dir() + "/inputs/lyso.hkl")) GTEST_SKIP() << "golden inputs not found";
    SimConfig c;
    c.mat_file = golden_dir() + "/inputs/ortho.mat";
    c.hkl_file = golden_dir() + "/inputs/lyso.hkl";
    c.fdump_file = testing::TempDir() + "/nb_render_nonfinite_Fdump.bin";
    c.Na = c.Nb = c.Nc = 0;
    c.fpixels = c.spixels = 40;
    c.convention = Convention::Xds;
    c.pivot = Pivot::Sample;
    c.ORGY = std::numeric_limits<double>::infinity();
    Experiment e = prepare_experiment(c);
    for (Precision p : {Precision::Double, Precision::Float}) {
        RenderOptions opt;
        opt.precision = p;
        opt.threads = 2;
        RenderResult r = render_image(e, opt);
        ASSERT_EQ(r.image.size(), 1600u);
        EXPECT_EQ(r.interp_disabled_at, 0);
        long long nonfinite = 0;
        for (float v : r.image) nonfinite += !std::isfinite(v);
        EXPECT_EQ(r.stats.nonfinite, nonfinite);
        std::printf("non-finite origin (%s): %lld of 1600 pixels not finite\n",
                    p == Precision::Double ? "double" : "float", nonfinite);
    }
}
