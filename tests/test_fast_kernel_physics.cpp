// The physics of the GPU's default-mode kernel (kernels/cuda_render_fast.cu)
// on the host: this file, as that one, takes the fast forms of the lane
// operations (NB_FAST_SCALAR_LANES: cos 2psi without atan2 and cos, division
// by a product's reciprocal, the tricubic polint4 with constant denominators),
// so that render_pixel here is the kernel's per-pixel body without its fused
// multiply-adds. Its images are held to C's at the bars of the golden suite,
// and the fast forms differ from C's where they must: on every CI run, before
// any GPU sees them. The scalar reference elsewhere keeps C's forms (checked
// last: the forms are per translation unit, never mixed at link time).
#define NB_FAST_SCALAR_LANES 1

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "engine/render.hpp"
#include "engine/setup.hpp"
#include "golden_case.hpp"
#include "kernels/frame_pipeline.hpp"
#include "kernels/pixel_physics.hpp"
#include "run_cli.hpp"
#include "tests/golden_agreement.hpp"

using namespace nb;

namespace {

Experiment golden_experiment(const std::string& id) { return prepare_experiment(nbtest::golden_config(id)); }

template <typename Sweep, typename T>
std::vector<float> render_as(const PixelParams<T>& p) {
    std::vector<float> image((size_t)p.fpixels * p.spixels, 0.0f);
    for (int s = 0; s < p.spixels; ++s)
        for (int f = 0; f < p.fpixels; ++f) {
            const long long idx = pixel_to_render(p, f, s, 0);  // ROI and mask, as the kernel
            if (idx >= 0) image[idx] = (float)render_pixel<Sweep>(p, f, s, InterpCutoff{LLONG_MAX, 0}).value;
        }
    return image;
}

// Every pixel through this file's render_pixel as the GPU kernel runs it: the
// polarization frames and the interleaved cell tables staged as the GPU
// pipeline stages them (kernels/frame_pipeline.hpp), and the sweep compiled
// for the case the launcher picks (kernels/cuda_render_kernel.cuh).
template <typename T>
std::vector<float> render_fast(const PixelParams<T>& staged, SweepKind& kind) {
    PixelParams<T> p = staged;
    const std::vector<PolarizationFrame<T>> frames = source_polarization_frames(p);
    p.polar_frames = frames.data();
    const size_t pairs = (size_t)p.phisteps * p.mosaic_domains;
    const std::vector<T> cells = interleave_cells(p.cells, pairs), first = interleave_cells(p.cells_first, pairs);
    p.cells = cells.data();
    p.cells_first = first.data();
    kind = sweep_kind(p);
    return with_device_sweep(kind, [&](auto sweep) { return render_as<decltype(sweep)>(p); });
}

std::vector<float> render_fast(const Experiment& e, Precision prec, SweepKind& kind) {
    std::vector<float> image;
    with_staged_params(
        e, e.hkl, prec, [&](const PixelParams<double>& p) { image = render_fast(p, kind); },
        [&](const PixelParams<float>& p) { image = render_fast(p, kind); });
    return image;
}

// The case's images against C's at the golden bars; `kind`: the sweep the GPU
// would compile for it.
void expect_golden(const std::string& id, SweepKind want = SweepKind::Any) {
    const Experiment e = golden_experiment(id);
    const std::vector<float> ref =
        nbtest::floats(nbtest::read_file(nbtest::golden_dir() + "/cases/" + id + "/c.float.bin"));
    for (Precision prec : {Precision::Double, Precision::Float}) {
        SCOPED_TRACE(id + (prec == Precision::Float ? " float" : " double"));
        SweepKind kind = SweepKind::Any;
        const std::vector<float> img = render_fast(e, prec, kind);
        EXPECT_EQ((int)kind, (int)want) << "the sweep the GPU would compile";
        ASSERT_EQ(img.size(), ref.size());
        const nbtest::Agreement a = nbtest::compare(img, ref);
        // the golden suite's bars (tests/golden/README.md)
        const bool single = prec == Precision::Float;
        EXPECT_GE(a.corr, single ? 0.9999 : 0.99999);
        EXPECT_LE(std::fabs(a.sum_ratio - 1), single ? 1e-3 : 1e-5);
    }
}

}  // namespace

// The Kahn factor's cos 2psi from (e^2 - b^2) / (e^2 + b^2), where the image
// has no symmetry that would hide a wrong psi (a misset triclinic cell with
// 12 divergence sources and a thick sensor; a misset lyso with dispersion on
// a rotated detector).
TEST(FastKernelPhysics, PolarizationAsC) {
    for (const char* id : {"random_089", "random_037"}) expect_golden(id, SweepKind::SquareNearest);
}

// Tricubic interpolation with constant denominators (lyso, N = 2: C
// interpolates), and the scattering vector divided by a reciprocal wavelength
// over many sources (divergence and dispersion), and sub-pixels.
TEST(FastKernelPhysics, InterpolationSourcesAndSubpixelsAsC) {
    expect_golden("lyso_interpolate");
    for (const char* id : {"divergence_dispersion", "oversample_4"}) expect_golden(id, SweepKind::SquareNearest);
}

// The common case's own sweep (kernels/sweep_case.hpp): F_latt without its
// sign and through a reciprocal, the nearest F by unsigned index tests, the
// cell table interleaved. Cubic and triclinic cells, phi sweeps, mosaic
// domains, axes of one cell (skipped), HKL grids with default_F beyond their
// edges, water (no F_latt == 0 skip), -dmin, curved detectors, sensor
// layers, ROI and mask.
TEST(FastKernelPhysics, SquareCrystalNearestFSweepAsC) {
    for (const char* id : {"cubic_1024", "lyso_nearest", "mosaic_10", "phi_9", "random_093", "mixed_0100", "random_028",
                           "random_017", "tiny_lambda", "triclinic_abs_peak", "roi", "mask"})
        expect_golden(id, SweepKind::SquareNearest);
    // an axis of one cell beside a thin one: C interpolates, the general sweep
    for (const char* id : {"custom_0141", "random_026"}) expect_golden(id);
}

// The fast forms are not C's: the same pixel differs in its last bits
// somewhere, so this file does test them (and the scalar reference, built
// without NB_FAST_SCALAR_LANES, keeps C's).
TEST(FastKernelPhysics, FastFormsAreTheOnesTested) {
    EXPECT_EQ(lcos_2psi(0.0, 0.0), 1.0);
    EXPECT_DOUBLE_EQ(lcos_2psi(1.0, 1.0), 0.0);
    EXPECT_DOUBLE_EQ(lcos_2psi(0.0, 2.0), 1.0);
    EXPECT_DOUBLE_EQ(lcos_2psi(3.0, 0.0), -1.0);
    int differ = 0;
    for (int i = 1; i < 200; ++i) {
        const double b = 0.013 * i, e = 1.0 - 0.004 * i;
        const double c_form = std::cos(2.0 * -std::atan2(b, e));
        EXPECT_NEAR(lcos_2psi(b, e), c_form, 4e-16);
        if (lcos_2psi(b, e) != c_form) ++differ;
    }
    EXPECT_GT(differ, 0) << "lcos_2psi here is C's form: NB_FAST_SCALAR_LANES did not take";
    const double xa[4] = {2, 3, 4, 5}, ya[4] = {1.5, -2.25, 7.0, 3.125};
    for (double x : {3.0, 3.3, 4.71, 2.05}) EXPECT_NEAR(polint4(xa, ya, x), polint4_c(xa, ya, x), 1e-13);
}
