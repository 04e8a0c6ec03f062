// The default mode's per-pixel deviates (engine/pixel_random.hpp): the
// Poisson draws must follow the Poisson distribution in every branch (C's
// multiplication method, the transformed rejection, C's Gaussian tail).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "engine/pixel_random.hpp"

namespace nb {
namespace {

double poisson_pmf(double mean, long k) { return std::exp(-mean + k * std::log(mean) - std::lgamma(k + 1.0)); }

// Pearson's chi-square of the draws against the Poisson pmf, over the bins of
// expected count >= 20 (the rest pooled into both tails); returns chi2 / dof.
double chi2_per_dof(double mean, const std::vector<double>& draws) {
    std::map<long, double> seen;
    for (double d : draws) seen[(long)d] += 1;
    const double n = (double)draws.size();
    double chi2 = 0, low_e = 0, low_o = 0;
    int dof = 0;
    long k = 0;
    for (; k < (long)(mean + 40 * std::sqrt(mean) + 40); ++k) {
        const double e = n * poisson_pmf(mean, k);
        const double o = seen.count(k) ? seen[k] : 0.0;
        if (e < 20) {
            low_e += e, low_o += o;
            continue;
        }
        chi2 += (o - e) * (o - e) / e;
        ++dof;
    }
    if (low_e > 0) chi2 += (low_o - low_e) * (low_o - low_e) / low_e, ++dof;
    return chi2 / std::max(dof - 1, 1);
}

TEST(PixelStream, PoissonDrawsFollowThePoissonDistribution) {
    // one stream per pixel, as the noise image draws them
    for (double mean : {0.3, 5.0, 11.9, 12.0, 13.7, 30.0, 150.0, 2500.0, 9.0e5}) {
        const int n = 400000;
        std::vector<double> draws(n);
        double m = 0, v = 0;
        for (int i = 0; i < n; ++i) {
            draws[i] = PixelStream(-31, (uint64_t)i).poisson(mean);
            ASSERT_EQ(draws[i], std::floor(draws[i])) << mean;
            ASSERT_GE(draws[i], 0.0) << mean;
            m += draws[i];
        }
        m /= n;
        for (double d : draws) v += (d - m) * (d - m);
        v /= n - 1;
        EXPECT_NEAR(m, mean, 5 * std::sqrt(mean / n)) << mean;
        EXPECT_NEAR(v / mean, 1.0, 0.015) << mean;
        // chi2/dof of a correct sampler stays near 1; a wrong acceptance
        // constant in the rejection step moves it far above
        EXPECT_LT(chi2_per_dof(mean, draws), 1.6) << mean;
    }
}

// Chi-square of Gaussian draws over 200 equal-probability bins, and the tails
// (the ziggurat's rare branches: the wedges, the tail beyond r = 3.654).
TEST(PixelStream, GaussianDrawsFollowTheNormalDistribution) {
    const NormalZiggurat& z = NormalZiggurat::get();
    EXPECT_NEAR(z.x[0], 3.9107579595370900, 1e-12);                     // the base layer's width, v / f(r)
    EXPECT_NEAR(z.x[255] * (1.0 - z.f[255]), NormalZiggurat::v, 1e-9);  // the top layer closes at 0
    for (int i = 1; i < 256; ++i) ASSERT_GT(z.x[i], z.x[i + 1]) << i;
    const int n = 2000000, bins = 200;
    std::vector<double> count(bins, 0.0);
    double m = 0, m2 = 0, m4 = 0, beyond_r = 0, beyond_2 = 0, beyond_5 = 0;
    for (int i = 0; i < n; ++i) {
        const double g = PixelStream(11, (uint64_t)i, 3).gauss();
        ASSERT_TRUE(std::isfinite(g));
        m += g, m2 += g * g, m4 += g * g * g * g;
        beyond_r += std::fabs(g) > NormalZiggurat::r;
        beyond_2 += std::fabs(g) > 2.0;
        beyond_5 += std::fabs(g) > 5.0;
        const double cdf = 0.5 * std::erfc(-g / std::sqrt(2.0));
        count[std::min(bins - 1, (int)(cdf * bins))] += 1;
    }
    EXPECT_NEAR(m / n, 0.0, 5 / std::sqrt(n));
    EXPECT_NEAR(m2 / n, 1.0, 5 * std::sqrt(2.0 / n));
    EXPECT_NEAR(m4 / n, 3.0, 5 * std::sqrt(96.0 / n));
    double chi2 = 0;
    const double e = (double)n / bins;
    for (double c : count) chi2 += (c - e) * (c - e) / e;
    EXPECT_LT(chi2 / (bins - 1), 1.35);  // 199 dof: p ~ 1e-3 at 1.3
    const double p_r = std::erfc(NormalZiggurat::r / std::sqrt(2.0)), p_2 = std::erfc(2.0 / std::sqrt(2.0));
    EXPECT_NEAR(beyond_r, n * p_r, 5 * std::sqrt(n * p_r));
    EXPECT_NEAR(beyond_2, n * p_2, 5 * std::sqrt(n * p_2));
    EXPECT_NEAR(beyond_5, n * std::erfc(5.0 / std::sqrt(2.0)), 6.0);  // about 1.1 expected
}

TEST(PixelStream, SameKeySameDrawsOtherKeyOtherDraws) {
    EXPECT_EQ(PixelStream(-5, 17).poisson(40.0), PixelStream(-5, 17).poisson(40.0));
    int same = 0;
    for (uint64_t i = 0; i < 1000; ++i) same += PixelStream(-5, i).poisson(40.0) == PixelStream(-6, i).poisson(40.0);
    EXPECT_LT(same, 150);  // P(two independent draws of mean 40 equal) is about 0.045
    // channels of one pixel are independent streams
    EXPECT_NE(PixelStream(-5, 3, 0).uniform(), PixelStream(-5, 3, 1).uniform());
}

}  // namespace
}  // namespace nb
