// -source_weights: opt-in weighting of -sourcefile sources, normalized to sum
// to the number of sources. C's default (weights ignored) is unchanged.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "engine/render.hpp"
#include "engine/setup.hpp"

using namespace nb;

namespace {

std::string source_file(const std::string& name, const std::string& rows) {
    std::string path = testing::TempDir() + "/" + name;
    std::ofstream(path) << rows;
    return path;
}

SimConfig base(const std::string& sources) {
    SimConfig c;
    c.user_cell = true;
    c.cell_a = c.cell_b = c.cell_c = 100;
    c.default_F = 100;
    c.Na = c.Nb = c.Nc = 5;
    c.fpixels = c.spixels = 64;
    c.pixel_size = 0.2e-3;
    c.nopolar = true;  // C computes polarization from the first source only
    c.source_file = sources;
    return c;
}

std::vector<float> render(const SimConfig& c) {
    RenderOptions opt;
    return render_image(prepare_experiment(c), opt).image;
}

}  // namespace

TEST(SourceWeights, EqualWeightsGiveExactlyTheUnweightedImage) {
    std::string f = source_file("w11.txt", "-10 0 0 1 1e-10\n-10 0.02 0 1 1e-10\n");
    SimConfig off = base(f), on = base(f);
    on.source_weights = true;
    std::vector<float> a = render(off), b = render(on);
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
    // and unequal weights in the file change nothing without the flag (C's semantics)
    std::string g = source_file("w15.txt", "-10 0 0 1 1e-10\n-10 0.02 0 5 1e-10\n");
    std::vector<float> c = render(base(g));
    EXPECT_EQ(0, std::memcmp(a.data(), c.data(), a.size() * sizeof(float)));
}

TEST(SourceWeights, UnequalWeightsMixSingleSourceRenders) {
    std::string both = source_file("w102.txt", "-10 0 0 1 1e-10\n-10 0.02 0 0.2 1.2e-10\n");
    std::string first = source_file("s1.txt", "-10 0 0 1 1e-10\n");
    std::string second = source_file("s2.txt", "-10 0.02 0 1 1.2e-10\n");
    SimConfig w = base(both);
    w.source_weights = true;
    std::vector<float> mixed = render(w), a = render(base(first)), b = render(base(second));
    // weights (1, 0.2) normalized to sum to 2: (5/3, 1/3); a two-source image averages over sources
    const double wa = 2.0 * 1.0 / 1.2, wb = 2.0 * 0.2 / 1.2;
    double worst = 0, peak = 0;
    for (size_t i = 0; i < mixed.size(); ++i) {
        double expect = (wa * a[i] + wb * b[i]) / 2.0;
        worst = std::max(worst, std::fabs(mixed[i] - expect));
        peak = std::max(peak, expect);
    }
    EXPECT_GT(peak, 0);
    EXPECT_LT(worst / peak, 1e-6);
    // the unweighted image is the plain average, which differs
    std::vector<float> plain = render(base(both));
    double differ = 0;
    for (size_t i = 0; i < plain.size(); ++i) differ = std::max(differ, (double)std::fabs(plain[i] - mixed[i]));
    EXPECT_GT(differ / peak, 1e-3);
}

TEST(SourceWeights, NonPositiveWeightsAreRefused) {
    for (const char* rows : {"-10 0 0 1\n-10 0.02 0 0\n", "-10 0 0 0\n-10 0.02 0 0\n", "-10 0 0 -1\n"}) {
        SimConfig c = base(source_file("bad.txt", rows));
        c.source_weights = true;
        try {
            prepare_experiment(c);
            ADD_FAILURE() << "accepted weights: " << rows;
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find("-source_weights"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("must be positive"), std::string::npos) << e.what();
        }
    }
}

TEST(SourceWeights, DivergenceFlagsWithASourceFileWarnOnce) {
    SimConfig c = base(source_file("one.txt", "-10 0 0 1\n"));
    c.hdivrange = 0.1e-3;
    c.dispersion = 0.01;
    c.dispsteps = 3;
    Experiment e = prepare_experiment(c);
    int warnings = 0;
    for (const auto& n : e.notes)
        warnings += n.find("divergence and dispersion flags are ignored") != std::string::npos;
    EXPECT_EQ(warnings, 1);
    Experiment quiet = prepare_experiment(base(source_file("one.txt", "-10 0 0 1\n")));
    for (const auto& n : quiet.notes) EXPECT_EQ(n.find("ignored"), std::string::npos) << n;
}
