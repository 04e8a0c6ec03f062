// The printed statistics: C's serial order in -exact, row sums in parallel
// otherwise; and the output commit refusing two outputs with one name.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/image_io.hpp"
#include "engine/image_stats.hpp"

using namespace nb;

namespace {

// 301 x 203 pixels (no multiple of a vector width), an ROI, a mask, values
// over nine decades and one NaN inside the ROI.
struct Scene {
    Experiment e;
    std::vector<float> image;
    Scene() {
        e.det.fpixels = 301;
        e.det.spixels = 203;
        e.det.pixel_size = 0.1e-3;
        e.samp.oversample = 2;
        e.samp.roi_xmin = 7;
        e.samp.roi_xmax = 290;
        e.samp.roi_ymin = 3;
        e.samp.roi_ymax = 200;
        std::mt19937_64 gen(42);
        std::uniform_real_distribution<double> u(-3, 6);
        image.resize((size_t)e.det.fpixels * e.det.spixels);
        for (float& v : image) v = (float)std::pow(10.0, u(gen));
        e.mask.assign(image.size(), 1);
        for (size_t i = 0; i < image.size(); i += 17) e.mask[i] = 0;
        image[(size_t)150 * e.det.fpixels + 11] = std::numeric_limits<float>::quiet_NaN();
    }
};

// C nanoBragg's loops, written out: the reference for the -exact statistics.
ImageStats c_loops(const Experiment& e, const std::vector<float>& image) {
    ImageStats st;
    double sum = 0, sumsqr = 0, dev = 0;
    long long n = 0, m = 0;
    const Sampling& s = e.samp;
    const double sub = e.det.pixel_size / s.oversample;
    for (int y = 0; y < e.det.spixels; ++y)
        for (int x = 0; x < e.det.fpixels; ++x) {
            if (x < s.roi_xmin || x > s.roi_xmax || y < s.roi_ymin || y > s.roi_ymax) continue;
            const size_t i = (size_t)y * e.det.fpixels + x;
            if (e.mask[i] == 0) continue;
            const double v = image[i];
            if (v > st.max_I) {
                st.max_I = v;
                st.max_I_x = sub * (x * s.oversample + s.oversample - 1) + sub / 2.0;
                st.max_I_y = sub * (y * s.oversample + s.oversample - 1) + sub / 2.0;
            }
            sum += v;
            sumsqr += image[i] * image[i];  // a float product in C (floatimage is float*)
            ++n;
        }
    st.sum = sum;
    st.counted = n;
    st.mean = sum / n;
    st.rms = std::sqrt(sumsqr / (n - 1));
    for (int y = s.roi_ymin; y <= s.roi_ymax; ++y)
        for (int x = s.roi_xmin; x <= s.roi_xmax; ++x) {
            const double t = image[(size_t)y * e.det.fpixels + x] - st.mean;
            dev += t * t;
            ++m;
        }
    st.rmsd = std::sqrt(dev / (m - 1));
    return st;
}

// The NaN pixel makes sum, mean, rms and rmsd NaN, as in C: compare them without it.
void drop_nan(Scene& sc) { sc.image[(size_t)150 * sc.e.det.fpixels + 11] = 1.0f; }

}  // namespace

TEST(ImageStats, COrderIsCsLoopsBitForBit) {
    Scene sc;
    drop_nan(sc);
    const ImageStats ref = c_loops(sc.e, sc.image);
    for (int threads : {1, 2, 3}) {
        const ImageStats st = image_stats(sc.e, sc.image, true, threads);
        EXPECT_EQ(st.sum, ref.sum);
        EXPECT_EQ(st.mean, ref.mean);
        EXPECT_EQ(st.rms, ref.rms);
        EXPECT_EQ(st.rmsd, ref.rmsd);
        EXPECT_EQ(st.max_I, ref.max_I);
        EXPECT_EQ(st.max_I_x, ref.max_I_x);
        EXPECT_EQ(st.max_I_y, ref.max_I_y);
        EXPECT_EQ(st.counted, ref.counted);
    }
}

TEST(ImageStats, RowOrderAgreesWithCsAndIgnoresTheThreadCount) {
    Scene sc;
    drop_nan(sc);
    const ImageStats ref = c_loops(sc.e, sc.image);
    const ImageStats one = image_stats(sc.e, sc.image, false, 1);
    EXPECT_NEAR(one.sum / ref.sum, 1.0, 1e-13);
    EXPECT_NEAR(one.rms / ref.rms, 1.0, 1e-13);
    EXPECT_NEAR(one.rmsd / ref.rmsd, 1.0, 1e-13);
    EXPECT_EQ(one.max_I, ref.max_I);
    EXPECT_EQ(one.max_I_x, ref.max_I_x);
    EXPECT_EQ(one.max_I_y, ref.max_I_y);
    EXPECT_EQ(one.counted, ref.counted);
    long long roi_unmasked = 0;
    for (int y = 3; y <= 200; ++y)
        for (int x = 7; x <= 290; ++x) roi_unmasked += ((size_t)y * 301 + x) % 17 != 0;
    EXPECT_EQ(one.counted, roi_unmasked);
    for (int threads : {2, 3, 8}) {
        const ImageStats st = image_stats(sc.e, sc.image, false, threads);
        EXPECT_EQ(st.sum, one.sum) << threads;
        EXPECT_EQ(st.rms, one.rms) << threads;
        EXPECT_EQ(st.rmsd, one.rmsd) << threads;
    }
}

TEST(ImageStats, FirstMaximumWinsAndNaNIsCounted) {
    Scene sc;
    for (float& v : sc.image) v = std::min(v, 100.0f);
    sc.image[(size_t)20 * sc.e.det.fpixels + 30] = 500.0f;  // the first of two equal maxima
    sc.image[(size_t)90 * sc.e.det.fpixels + 10] = 500.0f;
    for (bool c_order : {true, false}) {
        const ImageStats st = image_stats(sc.e, sc.image, c_order, 2);
        EXPECT_EQ(st.max_I, 500.0);
        EXPECT_DOUBLE_EQ(st.max_I_x, 0.05e-3 * (30 * 2 + 1) + 0.025e-3);
        EXPECT_DOUBLE_EQ(st.max_I_y, 0.05e-3 * (20 * 2 + 1) + 0.025e-3);
        EXPECT_EQ(st.nonfinite, 1);
        EXPECT_TRUE(std::isnan(st.mean));
    }
}

// C adds floatimage[i]*floatimage[i], a float product: a pixel above ~1.8e19
// makes rms infinite, and C prints rms= inf (a random golden line, random_054,
// found us printing 7.2e+31). The mean stays finite.
TEST(ImageStats, SquaresOverflowAsCsFloatProductDoes) {
    Scene sc;
    for (float& v : sc.image) v = 1.0f;
    sc.image[(size_t)40 * sc.e.det.fpixels + 50] = 3e19f;
    for (bool c_order : {true, false}) {
        const ImageStats st = image_stats(sc.e, sc.image, c_order, 2);
        EXPECT_TRUE(std::isinf(st.rms)) << st.rms;
        EXPECT_TRUE(std::isfinite(st.mean));
        EXPECT_TRUE(std::isfinite(st.rmsd));  // C's deviations are squared in double
    }
    EXPECT_EQ(c_square(2.0f), 4.0);
    EXPECT_TRUE(std::isinf(c_square(2e19f)));
}

// Without a mask the row sums take a path with no branch per pixel: the same
// numbers as with a mask that keeps every pixel, the first maximum included.
TEST(ImageStats, WithoutAMaskEqualsAMaskKeepingEveryPixelBitForBit) {
    Scene sc;
    sc.image[(size_t)30 * sc.e.det.fpixels + 40] = 2e6f;  // the first of two equal maxima, row 30
    sc.image[(size_t)30 * sc.e.det.fpixels + 200] = 2e6f;
    sc.image[(size_t)60 * sc.e.det.fpixels + 41] = 2e6f;
    for (bool with_nan : {false, true}) {
        if (!with_nan) drop_nan(sc);
        if (with_nan) sc.image[(size_t)150 * sc.e.det.fpixels + 11] = std::numeric_limits<float>::quiet_NaN();
        sc.e.mask.assign(sc.image.size(), 1);
        const ImageStats kept = image_stats(sc.e, sc.image, false, 2);
        sc.e.mask.clear();
        const ImageStats none = image_stats(sc.e, sc.image, false, 2);
        EXPECT_EQ(none.max_I, 2e6);
        EXPECT_EQ(none.max_I, kept.max_I);
        EXPECT_EQ(none.max_I_x, kept.max_I_x);
        EXPECT_EQ(none.max_I_y, kept.max_I_y);
        EXPECT_DOUBLE_EQ(none.max_I_x, 0.05e-3 * (40 * 2 + 1) + 0.025e-3);
        EXPECT_EQ(none.counted, kept.counted);
        EXPECT_EQ(none.counted, (long long)(290 - 7 + 1) * (200 - 3 + 1));
        EXPECT_EQ(none.nonfinite, with_nan ? 1 : 0);
        EXPECT_EQ(none.nonfinite, kept.nonfinite);
        if (with_nan) {
            EXPECT_TRUE(std::isnan(none.sum));
            EXPECT_TRUE(std::isnan(kept.sum));
        } else {
            EXPECT_EQ(none.sum, kept.sum);
            EXPECT_EQ(none.rms, kept.rms);
            EXPECT_EQ(none.rmsd, kept.rmsd);
            EXPECT_NEAR(none.sum / c_loops(
                                       [&] {
                                           Experiment e = sc.e;
                                           e.mask.assign(sc.image.size(), 1);
                                           return e;
                                       }(),
                                       sc.image)
                                       .sum,
                        1.0, 1e-13);
        }
    }
}

TEST(CommitOutputs, TwoOutputsWithOneNameAreRefusedBeforeWriting) {
    const std::string path = testing::TempDir() + "/nb_same_name.bin";
    std::remove(path.c_str());
    auto writer = [](std::FILE* f) { std::fputs("data", f); };
    std::vector<OutputFile> files{{path, "-floatfile", writer}, {path, "-intfile", writer}};
    try {
        commit_outputs(files);
        FAIL() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("-intfile: '" + path + "' is also the -floatfile file"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(std::fopen(path.c_str(), "rb"), nullptr);
}

// The noise image draws C's one random sequence pixel by pixel (the draws are
// inlined, ran1's step folded modulo 2^31 - 1). Means on both sides of 12,
// above 1e6, NaN, infinities, negatives and an ROI: every pixel as C's loop.
TEST(NoiseImage, DrawsEqualCsLoopWithLibmExp) {
    Experiment e;
    e.det.fpixels = 1500;
    e.det.spixels = 700;
    e.samp.roi_xmin = 3;
    e.samp.roi_xmax = 1490;
    e.samp.roi_ymin = 1;
    e.samp.roi_ymax = 690;
    e.cfg.adc_offset = 40;
    std::mt19937_64 gen(7);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<float> image((size_t)e.det.fpixels * e.det.spixels);
    for (float& v : image) {
        const double r = u(gen);
        v = r < 0.6 ? (float)(12 * u(gen)) : r < 0.95 ? (float)(12 + 200 * u(gen)) : (float)(1e5 * u(gen) * 30);
    }
    image[5000] = std::numeric_limits<float>::quiet_NaN();
    image[600000] = std::numeric_limits<float>::infinity();
    image[600001] = -std::numeric_limits<float>::infinity();
    image[700000] = -3.0f;
    image[800000] = 65600.0f;
    const int64_t seed = -12345;
    e.cfg.exact = true;  // C's one generator in pixel order (the default mode: below)

    Experiment ref_e = e;
    Deviates dev(ref_e.ran);
    int64_t s = seed;
    std::vector<uint16_t> want(image.size(), 0);
    double photons = 0;
    int overloads = 0;
    for (int y = 0; y < e.det.spixels; ++y)
        for (int x = 0; x < e.det.fpixels; ++x) {
            if (x < 3 || x > 1490 || y < 1 || y > 690) continue;
            const size_t i = (size_t)y * e.det.fpixels + x;
            double t;
            if (image[i] < 12.0f) {  // C's direct method, g from libm
                const float g = (float)std::exp(-(double)image[i]);
                float em = -1, prod = 1.0f;
                do {
                    ++em;
                    prod *= ref_e.ran.next(s);
                } while (prod > g);
                t = em;
            } else {
                t = dev.poisson(image[i], s);
            }
            // C's sum and conversion: a NaN draw (the NaN pixel; the +inf
            // one when its Gaussian is <= 0) counts NaN and reads 0
            photons += t;
            t += 40;
            if (t > 65535.0) {
                t = 65535.0;
                ++overloads;
            }
            want[i] = t > (double)INT_MIN && t < 2147483648.0 ? (uint16_t)(int)t : 0;
        }
    const NoiseImage got = make_noise_image(e, image, seed);
    EXPECT_EQ(got.pixels, want);
    EXPECT_EQ(want[5000], 0);
    ASSERT_TRUE(std::isnan(photons));  // as C prints: "-nan photons on noise image"
    EXPECT_TRUE(std::isnan(got.photons));
    EXPECT_EQ(got.overloads, overloads);
    EXPECT_GT(overloads, 1000);  // the Gaussian branch above 1e6 clips
}

// The default mode draws each pixel from its own stream (engine/pixel_random.hpp):
// the same image for any thread count, Poisson statistics, C's handling of NaN
// and infinite pixels.
TEST(NoiseImage, DefaultModeDrawsPerPixelWithPoissonStatistics) {
    Experiment e;
    e.det.fpixels = 600;
    e.det.spixels = 500;
    e.samp.roi_xmin = 0;
    e.samp.roi_xmax = 599;
    e.samp.roi_ymin = 0;
    e.samp.roi_ymax = 499;
    e.cfg.adc_offset = 40;
    std::vector<float> image((size_t)600 * 500);
    for (size_t i = 0; i < image.size(); ++i) image[i] = i < image.size() / 2 ? 5.0f : 150.0f;
    image[10] = std::numeric_limits<float>::quiet_NaN();
    image[11] = std::numeric_limits<float>::infinity();
    image[12] = -std::numeric_limits<float>::infinity();
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const NoiseImage one = make_noise_image(e, image, -77);
    omp_set_num_threads(std::max(2, threads));
    const NoiseImage two = make_noise_image(e, image, -77);
    omp_set_num_threads(threads);
    EXPECT_EQ(one.pixels, two.pixels);
    EXPECT_EQ(one.photons, two.photons);
    EXPECT_EQ(one.pixels[10], 40);     // NaN: no photons
    EXPECT_EQ(one.pixels[11], 65535);  // +inf: an overload
    EXPECT_EQ(one.overloads, 1);
    EXPECT_NE(make_noise_image(e, image, -78).pixels, one.pixels);  // the seed matters
    for (int half = 0; half < 2; ++half) {
        const double mean = half ? 150.0 : 5.0;
        double m = 0, v = 0, n = 0;
        for (size_t i = half * image.size() / 2 + 20; i < (half + 1) * image.size() / 2; ++i) {
            const double c = one.pixels[i] - 40.0;
            m += c, v += c * c, ++n;
        }
        m /= n;
        v = v / n - m * m;
        // 150000 draws: the mean within 5 standard errors, the variance within 2%
        EXPECT_NEAR(m, mean, 5 * std::sqrt(mean / n)) << mean;
        EXPECT_NEAR(v / mean, 1.0, 0.02) << mean;
    }
}
