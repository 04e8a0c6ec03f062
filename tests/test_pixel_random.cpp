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
