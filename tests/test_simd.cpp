// The SIMD executor (kernels/cpu_simd.cpp: pixels across lanes) against the
// scalar reference (render_pixel, NB_CPU_ISA=scalar) on the corners of the
// lane driver: detector widths that are not a multiple of any lane count, odd
// ROIs, masks, every lattice shape, both F lookups (tricubic with its
// switch-off), oversampling flags, sensor layers, -dmin, water, weighted
// sources, curved detectors; and thread-count independence. In exact mode the
// two must agree bit for bit (double and float); in the default mode (fused
// multiply-adds, vector math) to the double parity bar and far tighter on the
// peak-normalized difference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "tests/run_cli.hpp"

using namespace nbtest;

namespace {

std::vector<float> render(const std::string& args, const char* isa, const std::vector<std::string>& extra) {
    TempDir dir("simd");
    std::string a = args;
    for (size_t p; (p = a.find("{in}")) != std::string::npos;) a.replace(p, 4, golden_dir() + "/inputs");
    std::vector<std::string> argv = split_ws(a);
    argv.insert(argv.end(), {"-floatfile", "out.bin", "-device", "cpu"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (isa)
        setenv("NB_CPU_ISA", isa, 1);
    else
        unsetenv("NB_CPU_ISA");
    RunResult r = run_cli(argv, dir.path.string(), 300);
    unsetenv("NB_CPU_ISA");
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    std::string bytes = read_file(dir.file("out.bin"));
    std::vector<float> f(bytes.size() / sizeof(float));
    std::memcpy(f.data(), bytes.data(), f.size() * sizeof(float));
    return f;
}

struct SimdCase {
    const char* name;
    const char* args;
};

void PrintTo(const SimdCase& c, std::ostream* os) { *os << c.name; }

const char* kBase = "-cell 100 100 100 90 90 90 -default_F 100 -lambda 1.0 -distance 60 ";

std::vector<SimdCase> cases() {
    return {
        {"odd_width", "-N 5 -detpixels_f 37 -detpixels_s 23 -pixel 0.4"},
        {"odd_roi", "-N 5 -detpixels 96 -pixel 0.3 -roi 3 40 5 61"},
        {"single_column_roi", "-N 5 -detpixels 64 -pixel 0.4 -roi 17 17 0 63"},
        {"mask", "-N 5 -mask {in}/mask_128.img"},
        {"square_N1_axis", "-Na 1 -Nb 5 -Nc 7 -detpixels 61 -pixel 0.4"},
        {"round", "-N 8 -detpixels 61 -pixel 0.4 -round_xtal"},
        // the direct beam on a pixel centre: C's scattering vector is ~1e-16, not 0, and
        // its sinc3 gives 0 there (kernels/pixel_physics.hpp, on_direct_beam)
        {"round_direct_beam", "-N 8 -detpixels 63 -pixel 0.4 -round_xtal -oversample 1 -dials"},
        {"gauss", "-N 8 -detpixels 61 -pixel 0.4 -gauss_xtal"},
        {"tophat", "-N 8 -detpixels 61 -pixel 0.4 -tophat_spots -fudge 2"},
        {"nearest_hkl", "-hkl {in}/lyso.hkl -misset 10 20 30 -N 4 -detpixels 61 -pixel 0.4 -nointerpolate"},
        {"tricubic", "-hkl {in}/lyso.hkl -misset 10 20 30 -N 2 -detpixels 61 -pixel 0.4 -interpolate"},
        // fine pixels: most lane vectors share one neighbourhood (the broadcast path)
        {"tricubic_shared_neighbourhood",
         "-hkl {in}/lyso.hkl -misset 10 20 30 -N 2 -detpixels 67 -pixel 0.02 -distance 300 -interpolate"},
        {"tricubic_switch_off",
         "-hkl {in}/lyso.hkl -misset 10 20 30 -N 2 -detpixels 73 -pixel 1.2 -distance 40 -interpolate"},
        {"sparse_default_F", "-hkl {in}/sparse.hkl -default_F 10 -N 5 -detpixels 45 -pixel 0.2"},
        {"oversample_flags",
         "-N 5 -detpixels 29 -pixel 0.4 -oversample 3 -oversample_omega -oversample_polar -oversample_thick "
         "-detector_thick 200 -detector_abs 300 -thicksteps 2"},
        {"thick_sensor", "-N 5 -detpixels 45 -pixel 0.4 -detector_thick 450 -detector_abs 500 -thicksteps 3"},
        {"dmin", "-N 5 -detpixels 61 -pixel 0.4 -dmin 4"},
        {"water_point_pixel", "-N 5 -detpixels 45 -pixel 0.4 -water 100 -point_pixel"},
        {"weighted_sources", "-N 5 -detpixels 45 -pixel 0.4 -sourcefile {in}/two_wavelengths.txt -source_weights"},
        {"divergence_mosaic_phi",
         "-N 5 -detpixels 33 -pixel 0.4 -hdivrange 0.2 -hdivsteps 3 -dispersion 0.1 -dispsteps 2 -mosaic 0.5 "
         "-mosaic_dom 3 -phi 0 -osc 2 -phisteps 2"},
        {"curved_tilted", "-N 5 -detpixels 45 -pixel 0.4 -curved_det -twotheta 10 -polar 0.95"},
        {"nopolar_polar0", "-N 5 -detpixels 45 -pixel 0.4 -nopolar"},
    };
}

double correlation(const std::vector<float>& a, const std::vector<float>& b, double* max_rel) {
    double n = (double)a.size(), sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, peak = 0, maxd = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        double x = a[i], y = b[i];
        sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
        peak = std::max(peak, std::fabs(x));
        maxd = std::max(maxd, std::fabs(x - y));
    }
    *max_rel = maxd / (peak > 0 ? peak : 1);
    double vx = sxx - sx * sx / n, vy = syy - sy * sy / n;
    return vx > 0 && vy > 0 ? (sxy - sx * sy / n) / std::sqrt(vx * vy) : (maxd == 0 ? 1 : 0);
}

class Simd : public testing::TestWithParam<SimdCase> {};

TEST_P(Simd, ExactModeMatchesScalarBitForBit) {
    const SimdCase& c = GetParam();
    for (const char* precision : {"double", "float"}) {
        const std::string args = std::string(kBase) + c.args;
        std::vector<float> ref = render(args, "scalar", {"-exact", "-precision", precision});
        std::vector<float> simd = render(args, nullptr, {"-exact", "-precision", precision});
        ASSERT_EQ(ref.size(), simd.size());
        ASSERT_FALSE(ref.empty());
        size_t differ = 0;
        for (size_t i = 0; i < ref.size(); ++i) differ += std::memcmp(&ref[i], &simd[i], sizeof(float)) != 0;
        EXPECT_EQ(differ, 0u) << c.name << " " << precision;
        double sum = 0;
        for (float v : ref) sum += v;
        EXPECT_GT(sum, 0) << c.name << ": the case renders nothing";
    }
}

TEST_P(Simd, DefaultModeAgreesWithScalar) {
    const SimdCase& c = GetParam();
    const std::string args = std::string(kBase) + c.args;
    std::vector<float> ref = render(args, "scalar", {"-precision", "double"});
    std::vector<float> simd = render(args, nullptr, {"-precision", "double"});
    ASSERT_EQ(ref.size(), simd.size());
    double max_rel = 0;
    double corr = correlation(ref, simd, &max_rel);
    std::printf("[simd default] %-22s corr=%.12f max|diff|/peak=%.2e\n", c.name, corr, max_rel);
    EXPECT_GE(corr, 0.99999) << c.name;
    EXPECT_LT(max_rel, 1e-6) << c.name;
}

// Rows go to threads dynamically; a pixel's lane group never depends on them.
TEST_P(Simd, ImageIsTheSameForAnyThreadCount) {
    const SimdCase& c = GetParam();
    const std::string args = std::string(kBase) + c.args;
    std::vector<float> one = render(args, nullptr, {"-threads", "1"});
    for (const char* t : {"2", "3"}) {
        std::vector<float> many = render(args, nullptr, {"-threads", t});
        ASSERT_EQ(one.size(), many.size());
        EXPECT_EQ(0, std::memcmp(one.data(), many.data(), one.size() * sizeof(float))) << c.name << " threads " << t;
    }
}

std::string name_of(const testing::TestParamInfo<SimdCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Corners, Simd, testing::ValuesIn(cases()), name_of);

// C's nearest index is an int: past 2^31 it is INT_MIN, so a round crystal's
// h - h0 is ~2^31 and sinc3's argument ~1e19, far beyond vector sin's range.
// C gives 0 on every pixel of this 9e18 A cell; the vector lanes gave +inf on
// 4064 of 4096 before they took libm there.
TEST(SimdLimits, RoundCrystalFarFromEveryNodeIsZeroAsInC) {
    const std::string args =
        "-cell 9e18 100 100 90 90 90 -N 8 -round_xtal -default_F 100 -lambda 1 -distance 100 -detpixels 64";
    for (const char* precision : {"double", "float"})
        for (const char* isa : {(const char*)nullptr, "scalar"}) {
            const std::vector<float> img = render(args, isa, {"-precision", precision});
            ASSERT_EQ(img.size(), 64u * 64u);
            size_t nonzero = 0;
            for (float v : img) nonzero += v != 0.0f;
            EXPECT_EQ(nonzero, 0u) << precision << " " << (isa ? isa : "default");
        }
}

}  // namespace
