// nb-compare: every exit code, and the evidence bundle's files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/run_cli.hpp"

using namespace nbtest;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kArgs = {"--",         "-cell", "100",        "100", "100",      "90",
                                        "90",         "90",    "-default_F", "100", "-N",       "5",
                                        "-detpixels", "48",    "-distance",  "100", "-nonoise", "-nopgm"};

// kArgs' image by our CLI, as ref.bin in d; the exit status
int write_reference(const TempDir& d) {
    std::vector<std::string> args(kArgs.begin() + 1, kArgs.end());
    args.insert(args.end(), {"-floatfile", "ref.bin"});
    return run_cli(args, d.path.string()).exit_code;
}

std::vector<std::string> opts(std::initializer_list<std::string> head, std::vector<std::string> tail = kArgs) {
    std::vector<std::string> v(head);
    v.insert(v.end(), tail.begin(), tail.end());
    return v;
}

// a script standing in for "another nanoBragg": ours with one flag appended
std::string wrapper(const TempDir& d, const std::string& name, const std::string& extra) {
    std::string path = d.file(name);
    std::ofstream(path) << "#!/bin/sh\nexec " << cli_path() << " \"$@\" " << extra << "\n";
    fs::permissions(path, fs::perms::owner_all);
    return path;
}

fs::path only_bundle(const TempDir& d, const std::string& name) {
    fs::path root = d.path / "reports" / name;
    for (const auto& e : fs::directory_iterator(root)) return e.path();
    return {};
}

}  // namespace

TEST(NbCompare, IdenticalRunsPassAndWriteTheBundle) {
    TempDir d("cmp_ok");
    RunResult r = run_cli(opts({"--c-bin", cli_path(), "--name", "same", "--out-root", d.file("reports"), "--threshold",
                                "0.999999", "--save-diff"}),
                          d.path.string(), 300, compare_path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    fs::path b = only_bundle(d, "same");
    for (const char* f : {"commands.txt", "summary.md", "summary.json", "env.json", "correlation.txt", "sum_ratio.txt",
                          "ours.stdout.txt", "ours.stderr.txt", "other.stdout.txt", "other.stderr.txt", "ours.png",
                          "other.png", "diff.png", "diff.float.bin"})
        EXPECT_TRUE(fs::exists(b / f)) << f;
    EXPECT_EQ(std::stod(read_file((b / "correlation.txt").string())), 1.0);
    EXPECT_EQ(std::stod(read_file((b / "sum_ratio.txt").string())), 1.0);
    std::string summary = read_file((b / "summary.json").string());
    EXPECT_NE(summary.find("\"max_abs_diff\": 0"), std::string::npos) << summary;
    EXPECT_NE(summary.find("\"peaks_matched\": 20"), std::string::npos) << summary;
    const std::string env = read_file((b / "env.json").string());
    EXPECT_NE(env.find("sha256"), std::string::npos);
    EXPECT_NE(env.find("\"version\": \"nanoBragg engine "), std::string::npos) << env;
    EXPECT_NE(read_file((b / "commands.txt").string()).find("-floatfile float.bin"), std::string::npos);
}

TEST(NbCompare, PerturbedRunFallsBelowThresholdWithExitThree) {
    TempDir d("cmp_low");
    std::string other = wrapper(d, "shifted.sh", "-Xbeam 5.5");  // moves the pattern by ~10 pixels
    RunResult r =
        run_cli(opts({"--c-bin", other, "--name", "shifted", "--out-root", d.file("reports"), "--threshold", "0.9999"}),
                d.path.string(), 300, compare_path());
    EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
    EXPECT_NE(r.err.find("below the threshold"), std::string::npos);
    double corr = std::stod(read_file((only_bundle(d, "shifted") / "correlation.txt").string()));
    EXPECT_LT(corr, 0.9999);
}

TEST(NbCompare, ReferenceImageAndSizeMismatch) {
    TempDir d("cmp_ref");
    ASSERT_EQ(write_reference(d), 0);
    RunResult ok = run_cli(
        opts({"--ref-image", d.file("ref.bin"), "--out-root", d.file("reports"), "--roi", "0", "47", "0", "20"}),
        d.path.string(), 300, compare_path());
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    std::vector<std::string> bigger = kArgs;
    bigger[std::find(bigger.begin(), bigger.end(), "48") - bigger.begin()] = "64";
    RunResult mismatch = run_cli(opts({"--ref-image", d.file("ref.bin"), "--out-root", d.file("reports")}, bigger),
                                 d.path.string(), 300, compare_path());
    EXPECT_EQ(mismatch.exit_code, 4) << mismatch.err;
    EXPECT_NE(mismatch.err.find("sizes differ"), std::string::npos);
}

TEST(NbCompare, UsageRunnerAndIoErrors) {
    TempDir d("cmp_err");
    EXPECT_EQ(run_cli({"--bogus"}, d.path.string(), 60, compare_path()).exit_code, 1);
    EXPECT_EQ(run_cli({"--c-bin", cli_path()}, d.path.string(), 60, compare_path()).exit_code, 1);  // no "--"
    EXPECT_EQ(
        run_cli(opts({"--c-bin", cli_path(), "--threshold", "high"}), d.path.string(), 60, compare_path()).exit_code,
        1);
    std::string failing = wrapper(d, "fails.sh", "-bogus_flag");
    RunResult r =
        run_cli(opts({"--c-bin", failing, "--out-root", d.file("reports")}), d.path.string(), 300, compare_path());
    EXPECT_EQ(r.exit_code, 2) << r.err;
    RunResult io = run_cli(opts({"--ref-image", d.file("missing.bin"), "--out-root", d.file("reports")}),
                           d.path.string(), 300, compare_path());
    EXPECT_EQ(io.exit_code, 5) << io.err;
    RunResult unwritable = run_cli(opts({"--c-bin", cli_path(), "--out-root", "/proc/nb_no_such_dir"}), d.path.string(),
                                   300, compare_path());
    EXPECT_EQ(unwritable.exit_code, 5) << unwritable.err;
}

// A series or a shot list writes numbered frames, not float.bin: refused up
// front, naming the flag (it had run both programs, then reported a missing
// float.bin), with no bundle written. -nframes 1 writes one image and passes.
TEST(NbCompare, SeriesAndShotListsAreRefusedByName) {
    TempDir d("cmp_series");
    const std::string root = d.file("reports");
    std::vector<std::string> series = kArgs;
    series.insert(series.end(), {"-nframes", "2", "-osc", "0.1"});
    RunResult r =
        run_cli(opts({"--c-bin", cli_path(), "--out-root", root}, series), d.path.string(), 300, compare_path());
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("-nframes 2: a series writes numbered frames"), std::string::npos) << r.err;
    std::vector<std::string> shots = kArgs;
    shots.insert(shots.end(), {"-shots", d.file("shots.txt")});
    r = run_cli(opts({"--c-bin", cli_path(), "--out-root", root}, shots), d.path.string(), 300, compare_path());
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("-shots: a shot list writes one numbered image per shot"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(root)) << "a refused comparison writes no bundle";
    std::vector<std::string> one = kArgs;
    one.insert(one.end(), {"-nframes", "1"});
    r = run_cli(opts({"--c-bin", cli_path(), "--out-root", root}, one), d.path.string(), 300, compare_path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

// The parity bar is correlation and sum: a reference of half our photons has
// correlation 1 and fails --sum-tolerance; a NaN reference fails both (it had
// come out as a perfect match).
TEST(NbCompare, SumToleranceAndNonFiniteImagesFail) {
    TempDir d("cmp_sum");
    ASSERT_EQ(write_reference(d), 0);
    std::string bytes = read_file(d.file("ref.bin"));
    std::vector<float> px(bytes.size() / 4);
    std::memcpy(px.data(), bytes.data(), bytes.size());
    auto write = [&](const std::string& name, auto f) {
        std::vector<float> v = px;
        for (float& x : v) x = f(x);
        std::ofstream(d.file(name), std::ios::binary).write(reinterpret_cast<const char*>(v.data()), v.size() * 4);
    };
    write("half.bin", [](float x) { return x * 0.5f; });
    write("nan.bin", [](float) { return NAN; });
    const std::vector<std::string> bar = {"--threshold", "0.99999", "--sum-tolerance", "1e-5"};
    auto compare = [&](const std::string& ref, std::vector<std::string> gates) {
        std::vector<std::string> a = {"--ref-image", d.file(ref), "--out-root", d.file("reports")};
        a.insert(a.end(), gates.begin(), gates.end());
        a.insert(a.end(), kArgs.begin(), kArgs.end());
        return run_cli(a, d.path.string(), 300, compare_path());
    };
    EXPECT_EQ(compare("ref.bin", bar).exit_code, 0);
    EXPECT_EQ(compare("half.bin", {"--threshold", "0.99999"}).exit_code, 0);  // the correlation alone is 1
    RunResult half = compare("half.bin", bar);
    EXPECT_EQ(half.exit_code, 3);
    EXPECT_NE(half.err.find("|sum ratio - 1| = 1.000e+00 is over the tolerance 1e-05"), std::string::npos) << half.err;
    RunResult nan = compare("nan.bin", {"--threshold", "0.99999"});
    EXPECT_EQ(nan.exit_code, 3) << nan.out;
    EXPECT_NE(nan.out.find("correlation=nan"), std::string::npos) << nan.out;
    EXPECT_EQ(compare("ref.bin", {"--peaks", "-3"}).exit_code, 1);
    EXPECT_EQ(compare("ref.bin", {"--threshold", "nan"}).exit_code, 1);
}

// Each program runs in an empty folder: files named relative to where
// nb-compare runs are passed by absolute path. Two runs of one name in one
// second get bundles of their own; a ROI outside the image is refused; no
// temporary folder is left behind.
TEST(NbCompare, RelativePathsBundlesOfTheirOwnAndRoiChecks) {
    TempDir d("cmp_rel");
    std::ofstream(d.file("rel.hkl")) << "1 0 0 100\n0 1 0 80\n1 1 0 60\n";
    std::vector<std::string> rel = {"--",     "-cell",    "100",        "100",     "100",       "90",
                                    "90",     "90",       "-hkl",       "rel.hkl", "-N",        "5",
                                    "-nopgm", "-nonoise", "-detpixels", "48",      "-distance", "100"};
    // nb-compare's temporary folders go under tmp/ here
    fs::create_directories(d.file("tmp"));
    const std::vector<std::pair<std::string, std::string>> env = {{"TMPDIR", d.file("tmp")}};
    for (int k = 0; k < 2; ++k) {
        RunResult r = run_cli(opts({"--c-bin", cli_path(), "--name", "rel", "--out-root", d.file("reports"),
                                    "--threshold", "0.99999", "--sum-tolerance", "1e-5"},
                                   rel),
                              d.path.string(), 300, compare_path(), env);
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    }
    size_t bundles = 0;
    for (const auto& e : fs::directory_iterator(d.path / "reports" / "rel")) bundles += e.is_directory();
    EXPECT_EQ(bundles, 2u);
    RunResult roi =
        run_cli(opts({"--c-bin", cli_path(), "--out-root", d.file("reports"), "--roi", "40", "10", "0", "47"}),
                d.path.string(), 300, compare_path());
    EXPECT_EQ(roi.exit_code, 1);
    EXPECT_NE(roi.err.find("--roi 40 10 0 47: not a rectangle of the 48x48 image"), std::string::npos) << roi.err;
    EXPECT_TRUE(fs::is_empty(d.file("tmp")));
}
