// -version, the line that opens every run's output, and the progress line.
#include <gtest/gtest.h>

#include "cli/report.hpp"
#include "engine/build_info.hpp"
#include "tests/run_cli.hpp"

using namespace nbtest;

TEST(CliVersion, PrintsVersionCommitBuildCudaCpuMpiPng) {
    TempDir d("version");
    for (const char* flag : {"-version", "--version"}) {
        RunResult r = run_cli({flag}, d.path.string());
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(r.out, nb::version_line() + "\n");
        EXPECT_EQ(r.out.rfind("nanoBragg engine 0.1.0 (git ", 0), 0u) << r.out;
        for (const char* part : {"CPU paths ", ", running ", "; MPI ", "; PNG "})
            EXPECT_NE(r.out.find(part), std::string::npos) << part << " missing in " << r.out;
        EXPECT_TRUE(r.out.find("CUDA sm ") != std::string::npos || r.out.find("no CUDA") != std::string::npos);
    }
    for (const auto& e : std::filesystem::directory_iterator(d.path)) {
        const std::string name = e.path().filename().string();  // run_cli's own captures only
        EXPECT_TRUE(name == "stdout.txt" || name == "stderr.txt") << "-version wrote " << name;
    }
}

TEST(CliVersion, OpensEveryRunsOutput) {
    TempDir d("version_run");
    RunResult r = run_cli({"-cell", "100", "100", "100", "90", "90", "90", "-default_F", "100", "-N", "2", "-detpixels",
                           "8", "-floatfile", "f.bin", "-nonoise", "-nopgm"},
                          d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.substr(0, r.out.find('\n')), nb::version_line());
}

TEST(ProgressLine, ShowsPercentRateAndTimeLeft) {
    // half of 1e8 evaluations in 2 s: 2.5e7 evaluations/s, 2 s to go
    std::string one = nb::ProgressBar::line(0.5, 2.0, 1e8, 1, 1);
    EXPECT_NE(one.find(" 50%"), std::string::npos) << one;
    EXPECT_NE(one.find("2.5e+07 evals/s"), std::string::npos) << one;
    EXPECT_NE(one.find("0:02 left"), std::string::npos) << one;
    EXPECT_EQ(one.find("frame"), std::string::npos) << "a single image shows no frame number: " << one;
    EXPECT_EQ(one.find('#'), 1u);
    EXPECT_EQ(std::count(one.begin(), one.end(), '#'), 15);
}

TEST(ProgressLine, SeriesShowsFrameAndTimeToTheEnd) {
    // frame 3 of 10, a quarter done after 1 s: 4 s a frame, 3 s of this one and 7 more frames left
    std::string s = nb::ProgressBar::line(0.25, 1.0, 4e6, 3, 10);
    EXPECT_NE(s.find("frame 3/10"), std::string::npos) << s;
    EXPECT_NE(s.find("1e+06 evals/s"), std::string::npos) << s;
    EXPECT_NE(s.find("0:31 left"), std::string::npos) << s;
    // an hour and more is shown with hours
    EXPECT_NE(nb::ProgressBar::line(0.01, 60.0, 1e9, 1, 1).find("1:39:00 left"), std::string::npos);
    // nothing measured yet
    EXPECT_NE(nb::ProgressBar::line(0.0, 0.0, 1e9, 1, 2).find("--:-- left"), std::string::npos);
}
