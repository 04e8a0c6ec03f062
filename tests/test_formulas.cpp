// Unit tests of the shared physics formulas against values printed by C
// nanoBragg's own functions (built by hand outside the repository).
#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <limits>

#include "engine/random.hpp"
#include "kernels/polarization.hpp"
#include "kernels/rotation.hpp"
#include "kernels/sincg.hpp"
#include "kernels/structure_factor.hpp"

using namespace nb;

TEST(Formulas, SincgMatchesC) {
    EXPECT_EQ(sincg(0.0, 5.0), 5.0);
    EXPECT_DOUBLE_EQ(sincg(0.3, 5.0), 3.3753867387727041);
    // near a Bragg peak of order 2 the lattice sum is tiny but not zero
    EXPECT_NEAR(sincg(M_PI * 2.1, 10.0), -3.1744383592082076e-15, 1e-20);
    // N cells give N at integer h (limit of sin(N x)/sin(x))
    EXPECT_NEAR(std::fabs(sincg(M_PI * 3.0 + 1e-9, 7.0)), 7.0, 1e-6);
}

// The square crystal's F_latt next to the direct beam in single precision:
// fused multiply-adds leave |h| at ~1e-14 where C has 0, and the product of
// three such sines is a float denormal (random_098 came out 0.8-18% off).
TEST(Formulas, SquareLatticeNextToTheDirectBeamInFloat) {
    for (float d : {0.0f, 2e-15f, 1e-14f, -3e-14f, 1e-11f, 1e-8f}) {
        const float F = sincg_frac_product(d, -d, d, 6.0f, 6.0f, 6.0f);
        EXPECT_NEAR(F, 216.0f, 216.0f * 1e-6f) << d;
    }
    // away from the peak the single-precision form still follows C's formula
    const float h = 0.013f;
    EXPECT_NEAR(sincg_frac(h, 6.0f), std::sin(6 * M_PI * h) / std::sin(M_PI * h), 2e-5);
}

// The common case's F_latt (kernels/sweep_case.hpp) leaves the sign out and
// skips axes of one cell: its square is the signed product's, bit for bit on
// the host (ldiv_approx divides here), near and far from the Bragg peaks.
template <typename T>
void unsigned_square_lattice_squares_alike() {
    int negative = 0;
    for (T N : {T(1), T(2), T(5), T(20)})
        for (int i = -40; i <= 40; ++i) {
            const T h = T(i) * T(0.137) + T(1e-4) * T(i % 3), k = T(3) - T(i) * T(0.0625), l = T(i) * T(1.01);
            const T s = sincg_frac_product(h, k, l, N, T(4), N), u = sincg_frac_product_unsigned(h, k, l, N, T(4), N);
            ASSERT_EQ(std::fabs(u), std::fabs(s)) << N << " " << h << " " << k << " " << l;
            if (s < 0) ++negative;
        }
    EXPECT_GT(negative, 10);  // the signed product does take both signs
}
TEST(Formulas, UnsignedSquareLatticeSquaresAlikeDouble) { unsigned_square_lattice_squares_alike<double>(); }
TEST(Formulas, UnsignedSquareLatticeSquaresAlikeFloat) { unsigned_square_lattice_squares_alike<float>(); }

TEST(Formulas, Sinc3MatchesC) {
    EXPECT_EQ(sinc3(0.0), 1.0);
    EXPECT_DOUBLE_EQ(sinc3(1.7), 0.73928380872472654);
}

// C's sinc3 cancels next to 0: the limit 1 only at x == 0 exactly, 0 for a
// tiny nonzero x (sin(x)/x and cos(x) both round to 1), values dominated by
// rounding up to |x| ~ 1e-4. The round-crystal spot at the direct beam takes
// one or the other, so every instance keeps C's expression below |x| = 1e-3.
TEST(Formulas, Sinc3NextToZeroIsC) {
    EXPECT_EQ(sinc3(1e-10), 0.0);
    EXPECT_EQ(sinc3_c(1e-10), 0.0);
    EXPECT_EQ(sinc3_stable(0.0), 1.0);
    for (double x : {1e-14, 1e-10, 3e-7, 2e-5, 9e-4}) {
        EXPECT_EQ(sinc3_stable(x), sinc3_c(x)) << x;
        EXPECT_EQ(sinc3_stable(-x), sinc3_c(-x)) << x;
        // single precision takes C's double expression there too
        EXPECT_EQ(sinc3((float)x), (float)sinc3_c((double)(float)x)) << x;
    }
    EXPECT_EQ(sinc3(0.0f), 1.0f);
    // elsewhere the cancellation-free forms agree with C's expression to its
    // rounding error (3e-16 / x^2) and to single precision
    for (double x : {1.1e-3, 0.01, 0.3, 0.49, 0.51, 1.7, 4.4}) {
        EXPECT_NEAR(sinc3_stable(x), sinc3_c(x), 1e-9) << x;
        EXPECT_NEAR(sinc3((float)x), sinc3_c((double)(float)x), 1e-6) << x;
    }
}

TEST(Formulas, PolarizationMatchesC) {
    Vec3D inc{1, 0, 0}, dif{0.8, 0.6, 0}, axis{0, 0, 1};
    // unpolarized: (1 + cos^2 2theta)/2
    EXPECT_DOUBLE_EQ(polarization_factor(0.0, inc, dif, axis), 0.82000000000000006);
    EXPECT_DOUBLE_EQ(polarization_factor(0.95, inc, dif, axis), 0.99099999999999999);
    // scattering along the E-vector is suppressed by the Kahn factor
    Vec3D along_e{0, 0, 1};
    EXPECT_NEAR(polarization_factor(1.0, inc, along_e, axis), 0.0, 1e-15);
}

TEST(Formulas, RotationOrderIsXThenYThenZ) {
    Vec3D v{1, 2, 3};
    Vec3D r = rotate_xyz(v, 0.1, 0.2, 0.3);
    EXPECT_DOUBLE_EQ(r.x, 1.0411536583867149);
    EXPECT_DOUBLE_EQ(r.y, 2.0916086087501053);
    EXPECT_DOUBLE_EQ(r.z, 2.9225284408248982);
    // z first would give a different vector
    Vec3D wrong = rotate_xyz(rotate_xyz(rotate_xyz(v, 0.0, 0.0, 0.3), 0.0, 0.2, 0.0), 0.1, 0.0, 0.0);
    EXPECT_GT(std::fabs(wrong.x - r.x), 1e-3);
}

TEST(Formulas, RotateAboutAxis) {
    Vec3D r = rotate_axis(Vec3D{1, 2, 3}, Vec3D{0, 0, 1}, 0.5);
    EXPECT_DOUBLE_EQ(r.x, -0.081268515318033252);
    EXPECT_DOUBLE_EQ(r.y, 2.2345906623849485);
    EXPECT_DOUBLE_EQ(r.z, 3.0);
}

TEST(Random, Ran1SequenceForKnownSeed) {
    Ran1 r;
    int64_t seed = -12345678;
    const float expect[5] = {0.765989304f, 0.023453664f, 0.589726627f, 0.535101593f, 0.982231438f};
    for (float e : expect) EXPECT_FLOAT_EQ(r.next(seed), e);
}

// The LCG step folds IA * idum modulo 2^31 - 1 instead of Schrage's division;
// inside (0, IM) the two agree (checked there exhaustively by hand: 0 of
// 2^31 - 2 differ), outside it Schrage's own arithmetic runs. Here: edges, a
// stride through the range, and whole sequences from odd seeds.
TEST(Random, LcgStepIsSchragesStep) {
    for (int64_t i : {int64_t(1), int64_t(2), Ran1::IQ, Ran1::IQ + 1, Ran1::IM / 2, Ran1::IM - 2, Ran1::IM - 1})
        EXPECT_EQ(Ran1::lcg_step(i), Ran1::schrage(i)) << i;
    for (int64_t i = 1; i < Ran1::IM; i += 9973) ASSERT_EQ(Ran1::lcg_step(i), Ran1::schrage(i)) << i;
    for (int64_t i : {int64_t(0), int64_t(-5), Ran1::IM, int64_t(5000000000LL)})
        EXPECT_EQ(Ran1::lcg_step(i), Ran1::schrage(i)) << i;
    // C's ran1 written with Schrage's step throughout, against ours
    for (int64_t seed0 : {int64_t(-1), int64_t(-12345678), int64_t(7), int64_t(-5000000000LL), int64_t(0)}) {
        int64_t a = seed0, b = seed0, iy = 0;
        int64_t iv[32];
        Ran1 r;
        for (int n = 0; n < 100000; ++n) {
            if (b <= 0 || !iy) {
                b = -b < 1 ? 1 : -b;
                for (int j = 39; j >= 0; --j) {
                    b = Ran1::schrage(b);
                    if (j < 32) iv[j] = b;
                }
                iy = iv[0];
            }
            b = Ran1::schrage(b);
            const int j = (int)(iy / Ran1::NDIV);
            iy = iv[j];
            iv[j] = b;
            float want = (float)(1.0 / Ran1::IM * iy);
            if (want > 1.0 - 1.2e-7) want = (float)(1.0 - 1.2e-7);
            const float got = r.next(a);
            ASSERT_EQ(got, want) << "seed " << seed0 << " draw " << n;
            ASSERT_EQ(a, b);
        }
    }
}

TEST(Random, MosaicRotationMatchesC) {
    Ran1 r;
    int64_t seed = -42;
    auto u = mosaic_rotation_umat((float)(0.5 / (180.0 * M_1_PI)), r, seed);
    const double expect[9] = {0.99996884578363276,    -0.0006309641147267108, 0.0078682492611212868,
                              0.0006199464379422593,  0.99999882414592578,    0.0014026308066683226,
                              -0.0078691250189135541, -0.001397709215702416,  0.9999680611301468};
    for (int i = 0; i < 9; ++i) EXPECT_DOUBLE_EQ(u[i], expect[i]) << i;
}

TEST(Random, RandomMissetMatchesC) {
    Ran1 r;
    int64_t seed = -12345;
    auto m = umat2misset(mosaic_rotation_umat(90.0f, r, seed));
    EXPECT_DOUBLE_EQ(m[0], 1.8451752577429177);
    EXPECT_DOUBLE_EQ(m[1], -0.61001558335036155);
    EXPECT_DOUBLE_EQ(m[2], -1.7073434076993237);
}

TEST(Random, PoissonAndGaussianDeviatesMatchC) {
    Ran1 r;
    Deviates d(r);
    int64_t seed = -987;
    const float means[7] = {0.5f, 3.0f, 11.9f, 12.0f, 50.0f, 1000.0f, 2e6f};
    const float expect[7] = {1, 2, 13, 11, 56, 998, 2000242.25f};
    for (int i = 0; i < 7; ++i) EXPECT_FLOAT_EQ(d.poisson(means[i], seed), expect[i]) << means[i];
    // the Gaussian used for the 2e6 mean left its Box-Muller spare behind
    int64_t s2 = -55;
    const float g[4] = {-0.299478203f, 0.460134953f, 0.102222696f, -0.626264632f};
    for (float e : g) EXPECT_FLOAT_EQ(d.gauss(s2), e);
    EXPECT_FLOAT_EQ(gammln(5.0f), 3.17805386f);
    EXPECT_FLOAT_EQ(gammln(13.5f), 21.2600765f);
}

TEST(StructureFactor, TricubicReproducesACubicExactly) {
    // Lagrange interpolation through 4 points per axis is exact for cubics.
    std::vector<double> F;
    const int n = 10;
    auto f = [](double h, double k, double l) { return 1 + 0.5 * h * h * h - 0.25 * k * k + 2 * l + h * k * l; };
    for (int h = 0; h < n; ++h)
        for (int k = 0; k < n; ++k)
            for (int l = 0; l < n; ++l) F.push_back(f(h, k, l));
    HklGridView<double> g;
    g.F = F.data();
    g.h_min = g.k_min = g.l_min = 0;
    g.h_max = g.k_max = g.l_max = n - 1;
    g.h_range = g.k_range = g.l_range = n;
    g.hkls = n * n * n;
    EXPECT_FALSE(interpolation_out_of_range(g, 4.3, 5.7, 3.2));
    EXPECT_NEAR(lookup_tricubic(g, 4.3, 5.7, 3.2), f(4.3, 5.7, 3.2), 1e-9);
    EXPECT_TRUE(interpolation_out_of_range(g, 1.5, 5.0, 5.0));  // needs h-2 >= h_min
    EXPECT_TRUE(interpolation_out_of_range(g, 7.5, 5.0, 5.0));  // needs h+3 <= h_range + h_min
    EXPECT_EQ(lookup_nearest(g, 3, 4, 5, 7.0), f(3, 4, 5));
    EXPECT_EQ(lookup_nearest(g, 3, 4, 10, 7.0), 7.0);
}

// Issue 10: a non-finite Miller index (an infinite detector origin gives NaN)
// passed C's range test and read outside the grid. Both lookups must treat
// it as out of range, in double and in float.
template <typename T>
void non_finite_indices_are_out_of_range() {
    std::vector<T> F(10 * 10 * 10, T(3));
    HklGridView<T> g;
    g.F = F.data();
    g.h_max = g.k_max = g.l_max = 9;
    g.h_range = g.k_range = g.l_range = 10;
    g.hkls = 1000;
    const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
    const T ok = T(4.5);
    for (T bad : {nan, inf, -inf, T(1e30), T(-1e30)}) {
        SCOPED_TRACE(bad);
        EXPECT_TRUE(interpolation_out_of_range(g, bad, ok, ok));
        EXPECT_TRUE(interpolation_out_of_range(g, ok, bad, ok));
        EXPECT_TRUE(interpolation_out_of_range(g, ok, ok, bad));
        EXPECT_TRUE(interpolation_out_of_range(g, bad, bad, bad));
        EXPECT_EQ(nearest_index(bad), INT_MIN);
        EXPECT_EQ(lookup_nearest(g, nearest_index(bad), nearest_index(ok), nearest_index(ok), T(7)), T(7));
        EXPECT_EQ(lookup_nearest(g, nearest_index(ok), nearest_index(ok), nearest_index(bad), T(7)), T(7));
        // the common case's lookup from fractional indices (kernels/sweep_case.hpp)
        EXPECT_EQ(lookup_nearest_fp(g, bad, ok, ok, T(7)), T(7));
        EXPECT_EQ(lookup_nearest_fp(g, ok, bad, ok, T(7)), T(7));
        EXPECT_EQ(lookup_nearest_fp(g, ok, ok, bad, T(7)), T(7));
    }
    EXPECT_EQ(lookup_nearest_fp(g, ok, ok, ok, T(7)), T(3));
    EXPECT_FALSE(interpolation_out_of_range(g, ok, ok, ok));
    EXPECT_EQ(nearest_index(T(4.5)), 4);  // C's ceil(h - 0.5): halves round down
    EXPECT_EQ(nearest_index(T(-2.6)), -3);
    EXPECT_EQ(nearest_index(T(1e6)), 1000000);
    EXPECT_EQ(lookup_nearest(g, nearest_index(ok), nearest_index(ok), nearest_index(ok), T(7)), T(3));
}

// lookup_nearest_fp's unsigned range tests and index against lookup_nearest
// at C's nearest indices: a grid starting below zero, with every F distinct,
// indices inside, on and past every edge, and halves (C rounds them down).
template <typename T>
void nearest_from_fractional_indices_as_lookup_nearest() {
    HklGridView<T> g;
    g.h_min = -3, g.h_max = 4, g.k_min = 2, g.k_max = 6, g.l_min = -7, g.l_max = -1;
    g.h_range = 8, g.k_range = 5, g.l_range = 7;
    std::vector<T> F((size_t)g.h_range * g.k_range * g.l_range);
    for (size_t i = 0; i < F.size(); ++i) F[i] = T(i + 1);
    g.F = F.data();
    g.hkls = (long long)F.size();
    int inside = 0, outside = 0;
    for (T h = T(-5); h <= T(6); h += T(0.25))
        for (T k = T(0); k <= T(8); k += T(0.5))
            for (T l = T(-9); l <= T(1); l += T(0.5)) {
                const T want = lookup_nearest(g, nearest_index(h), nearest_index(k), nearest_index(l), T(-1));
                ASSERT_EQ(lookup_nearest_fp(g, h, k, l, T(-1)), want) << h << " " << k << " " << l;
                ++(want == T(-1) ? outside : inside);
            }
    EXPECT_GT(inside, 1000);
    EXPECT_GT(outside, 1000);
    g.hkls = 0;  // no grid: default_F everywhere
    EXPECT_EQ(lookup_nearest_fp(g, T(0), T(3), T(-2), T(-1)), T(-1));
}

TEST(StructureFactor, NearestFromFractionalIndicesAsLookupNearestDouble) {
    nearest_from_fractional_indices_as_lookup_nearest<double>();
}
TEST(StructureFactor, NearestFromFractionalIndicesAsLookupNearestFloat) {
    nearest_from_fractional_indices_as_lookup_nearest<float>();
}

TEST(StructureFactor, NonFiniteIndicesAreOutOfRangeDouble) { non_finite_indices_are_out_of_range<double>(); }
TEST(StructureFactor, NonFiniteIndicesAreOutOfRangeFloat) { non_finite_indices_are_out_of_range<float>(); }
