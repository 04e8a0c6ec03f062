// Runaway runs: sampling the set-up chose itself that would take over a day
// even at the best measured rate is refused before anything is written;
// counts the user gave run (issue 19, item 2).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/render.hpp"
#include "engine/run_estimate.hpp"
#include "engine/setup.hpp"
#include "run_cli.hpp"

using namespace nb;
using namespace nbtest;

namespace {

// One typed digit too many: C auto-selects 12,884,902-fold oversampling here.
const std::vector<std::string> kTypo = {"-cell",      "100", "100", "2147483648", "90",         "90", "90",
                                        "-default_F", "1",   "-N",  "2",          "-detpixels", "32"};

SimConfig typo_config() {
    SimConfig c;
    c.user_cell = true;
    c.cell_a = c.cell_b = 100;
    c.cell_c = 2147483648.0;
    c.default_F = 1;
    c.Na = c.Nb = c.Nc = 2;
    c.fpixels = c.spixels = 32;
    return c;
}

}  // namespace

TEST(RunEstimate, TypoInTheCellIsRefusedNamingTheAutoSelectedOversampling) {
    TempDir d("runaway");
    RunResult r = run_cli(kTypo, d.path.string(), 60);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("auto-selected sampling (-oversample 12884902)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("1.7e+17 evaluations"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("give the counts explicitly (-oversample 12884902)"), std::string::npos) << r.err;
    for (const auto& entry : std::filesystem::directory_iterator(d.path)) {  // beside run_cli's own captures
        const std::string name = entry.path().filename().string();
        EXPECT_TRUE(name == "stdout.txt" || name == "stderr.txt") << "a refused run wrote " << name;
    }
}

TEST(RunEstimate, ExplicitCountsAreTheUsersChoice) {
    SimConfig c = typo_config();
    Experiment auto_chosen = prepare_experiment(c);
    EXPECT_EQ(auto_chosen.samp.oversample, 12884902);
    EXPECT_FALSE(runaway_refusal(auto_chosen, c, 1, false, 2).empty());
    EXPECT_FALSE(runaway_refusal(auto_chosen, c, 1, true, 2).empty());  // over a day on the GPU too

    c.oversample = 12884902;  // the same run, asked for
    Experiment asked = prepare_experiment(c);
    EXPECT_TRUE(runaway_refusal(asked, c, 1, false, 2).empty());
    EXPECT_GT(best_case_seconds(asked, 1, false, 2), 86400.0 * 365);
}

TEST(RunEstimate, OrdinaryRunsAreNotRefused) {
    SimConfig c = typo_config();
    c.cell_c = 100;
    Experiment e = prepare_experiment(c);
    EXPECT_TRUE(runaway_refusal(e, c, 1000, false, 1).empty());
    EXPECT_LT(best_case_seconds(e, 1, false, 1), 1.0);
}

TEST(RunEstimate, AutoSelectedCountsNameTheirFlags) {
    SimConfig c = typo_config();
    c.cell_c = 100;
    c.mosaic_spread = 0.5 * 3.14159265358979 / 180;  // domains not given: C's default count
    c.osc = 1 * 3.14159265358979 / 180;
    c.phistep = 0.1 * 3.14159265358979 / 180;  // steps from the range and the step
    Experiment e = prepare_experiment(c);
    const auto chosen = auto_selected_counts(e, c);
    std::vector<std::string> flags;
    for (const auto& [flag, value] : chosen) flags.push_back(flag);
    EXPECT_NE(std::find(flags.begin(), flags.end(), "-phisteps"), flags.end());
    EXPECT_NE(std::find(flags.begin(), flags.end(), "-mosaic_domains"), flags.end());
}

TEST(RunEstimate, DurationsReadAsPeopleSayThem) {
    EXPECT_EQ(human_duration(30), "30 s");
    EXPECT_EQ(human_duration(600), "10 min");
    EXPECT_EQ(human_duration(3 * 3600), "3.0 h");
    EXPECT_EQ(human_duration(5 * 86400), "5.0 days");
    EXPECT_EQ(human_duration(3.156e7 * 1000), "1e+03 years");
}

// -device auto keeps a run on the CPU only when the CPU, at its slowest
// measured rate, is done before a GPU process would have started (0.25 s).
TEST(RunEstimate, ShortRunsStayOnTheCpuUnderAuto) {
    // 1.5e7 evaluations per core second: the line at 3.75e6 per core
    EXPECT_TRUE(sooner_on_the_cpu(3.7e6, 1));
    EXPECT_FALSE(sooner_on_the_cpu(3.8e6, 1));
    EXPECT_TRUE(sooner_on_the_cpu(7.4e6, 2));
    EXPECT_FALSE(sooner_on_the_cpu(7.6e6, 2));
    EXPECT_TRUE(sooner_on_the_cpu(3.7e6, 0));  // 0 threads: one
    // nb-bench's workloads on 16 cores: a single 2048x2048 still (4.19e6) and a
    // 4096x4096 image (1.68e7) on the CPU; 30 mosaic domains with 2x2
    // sub-pixels (5.03e8), or the still as a 100-frame series, on the GPU
    EXPECT_TRUE(sooner_on_the_cpu(4194304, 16));
    EXPECT_TRUE(sooner_on_the_cpu(16777216, 16));
    EXPECT_FALSE(sooner_on_the_cpu(503316480, 16));
    EXPECT_FALSE(sooner_on_the_cpu(100 * 4194304.0, 16));
    const std::string line = short_run_on_the_cpu(4194304, 16);
    EXPECT_NE(line.find("-device auto: a short run (4.19e+06 evaluations, 16 CPU threads) renders on the CPU"),
              std::string::npos)
        << line;
    EXPECT_NE(line.find("-device cuda to use one"), std::string::npos) << line;
}

// -device auto decides from the geometry and starts a GPU while the HKL file
// is read: the hook sees everything evaluation_count reads, no structure
// factors yet, and the set-up's notes come out in the order they did.
TEST(RunEstimate, GeometryIsReadyBeforeTheHklFileIsRead) {
    TempDir d("geometry_ready");
    std::ofstream(d.file("f.hkl")) << "0 0 1 10\n1 0 0.5 20\n";  // a note from the HKL read
    std::ofstream(d.file("s.txt")) << "-10 0 0 1 1e-10\n-10 0.02 0 1 1e-10\n";
    SimConfig c;
    c.user_cell = true;
    c.cell_a = c.cell_b = c.cell_c = 100;
    c.Na = c.Nb = c.Nc = 5;
    c.fpixels = c.spixels = 48;
    c.oversample = 3;
    c.mosaic_spread = 0.01 * 3.141592653589793 / 180;
    c.mosaic_domains = 4;
    c.hkl_file = d.file("f.hkl");
    c.fdump_file = d.file("Fdump.bin");
    c.source_file = d.file("s.txt");
    c.dispersion = 0.1;  // ignored beside -sourcefile, with a note after the HKL's
    int calls = 0;
    double seen = -1;
    long long hkls_then = 99;
    Experiment hooked = prepare_experiment(c, [&](const Experiment& g) {
        ++calls;
        seen = evaluation_count(g);
        hkls_then = g.hkl.hkls;
        EXPECT_FALSE(std::filesystem::exists(d.file("Fdump.bin")));  // not written yet either
    });
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(hkls_then, 0);
    EXPECT_GT(hooked.hkl.hkls, 0);
    // 48x48 pixels, 3x3 sub-pixels, 2 sources, 4 domains
    EXPECT_EQ(seen, 48.0 * 48 * 9 * 2 * 4);
    EXPECT_EQ(seen, evaluation_count(hooked));
    Experiment plain = prepare_experiment(c);
    EXPECT_EQ(hooked.notes, plain.notes);
    const auto at = [&](const char* s) {
        for (size_t i = 0; i < plain.notes.size(); ++i)
            if (plain.notes[i].find(s) != std::string::npos) return (long)i;
        return -1L;
    };
    ASSERT_GE(at("non-integer value for l"), 0) << ::testing::PrintToString(plain.notes);
    ASSERT_GE(at("-sourcefile given"), 0) << ::testing::PrintToString(plain.notes);
    EXPECT_LT(at("non-integer value for l"), at("-sourcefile given"));  // C's order: the HKL file first
}
