// Issue 10: every numeric flag refuses NaN, infinities, overflow and values
// outside the range its -h line states, naming the flag and the value, with
// exit status 2 and no file written. The flags and ranges come from -h itself,
// so a flag added later is walked too.
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "engine/smv_io.hpp"
#include "run_cli.hpp"

using namespace nbtest;

namespace {

struct NumericFlag {
    std::string name;  // first spelling, as messages use it
    std::string type;  // FLOAT or INT
    int arity = 1;
    std::string range;  // text inside "[...]" at the end of the help line, or ""
};

// -h lists "  -name[,-alias...] TYPE[ x N]   help [range]", the help text on
// the same line or indented on the next ones.
std::vector<NumericFlag> numeric_flags_of_help(const std::string& help) {
    std::vector<std::string> entries;
    std::istringstream in(help);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("  -", 0) == 0)
            entries.push_back(line);
        else if (!entries.empty() && line.rfind("      ", 0) == 0)
            entries.back() += " " + line;
    }
    static const std::regex head(R"(^  (-[^ ,]+)(?:,[^ ]+)? (FLOAT|INT|TEXT)(?: x ([0-9]+))?\s)");
    static const std::regex tail(R"(\[([^\]]*)\]\s*$)");
    std::vector<NumericFlag> out;
    for (const std::string& e : entries) {
        std::smatch m, r;
        if (!std::regex_search(e, m, head)) continue;
        NumericFlag f{m[1], m[2], m[3].matched ? std::stoi(m[3]) : 1, ""};
        if (std::regex_search(e, r, tail)) f.range = r[1];
        if (f.type == "TEXT" && f.range.empty()) continue;  // a file name or a word
        out.push_back(f);
    }
    return out;
}

// A value just outside "> x", ">= x" or "a to b" (the first clause of the
// range): x itself for "> x", unless the note gives x a meaning ("0: none").
std::string outside(const NumericFlag& f) {
    std::smatch m;
    const size_t semi = f.range.find(';');
    const std::string clause = f.range.substr(0, semi);
    const std::string note = semi == std::string::npos ? "" : f.range.substr(semi);
    if (std::regex_search(clause, m, std::regex(R"(^>= (-?[0-9.e+-]+))")))
        return std::to_string((long long)std::floor(std::stod(m[1]) - 1));
    if (std::regex_search(clause, m, std::regex(R"(^> (-?[0-9.e+-]+))"))) {
        if (note.find(" " + m[1].str() + ":") == std::string::npos) return m[1];
        return std::to_string((long long)std::floor(std::stod(m[1]) - 1));
    }
    if (std::regex_search(clause, m, std::regex(R"(^(-?[0-9.e+-]+) to (-?[0-9.e+-]+))")))
        return std::to_string((long long)std::ceil(std::stod(m[2]) + 1));
    return "";
}

// A command that renders (and writes out.bin) when nothing is wrong with it.
const std::vector<std::string> kBase = {"-cell",      "100", "100",        "100", "90",       "90",     "90",
                                        "-default_F", "1",   "-detpixels", "8",   "-nonoise", "-nopgm", "-noprogress"};

std::vector<std::string> with_flag(const NumericFlag& f, const std::string& value) {
    std::vector<std::string> a = kBase;
    a.push_back(f.name);
    a.push_back(value);
    for (int i = 1; i < f.arity; ++i) a.push_back("1");  // checked after the bad first value
    a.push_back("-floatfile");
    a.push_back("out.bin");
    return a;
}

std::string help_text() {
    TempDir d("edges_help");
    RunResult h = run_cli({"-h"}, d.path.string(), 60);
    EXPECT_EQ(h.exit_code, 0);
    return h.out;
}

}  // namespace

TEST(CliNumericEdges, HelpListsEveryNumericFlagWithItsRange) {
    std::vector<NumericFlag> flags = numeric_flags_of_help(help_text());
    auto find = [&](const std::string& n) {
        for (const auto& f : flags)
            if (f.name == n) return f;
        return NumericFlag{};
    };
    EXPECT_GE(flags.size(), 70u);
    EXPECT_EQ(find("-fluence").range, "> 0");
    EXPECT_EQ(find("-mosaic").range, ">= 0");
    EXPECT_EQ(find("-polar").range, "-1 to 1");
    EXPECT_EQ(find("-cell").arity, 6);
    EXPECT_EQ(find("-cell").range.rfind("> 0; angles > 0 and < 180", 0), 0u);
    EXPECT_EQ(find("-N").type, "INT");
    EXPECT_EQ(find("-N").range.rfind(">= 0", 0), 0u);  // C: N = 0 is one isolated unit cell
    EXPECT_EQ(find("-misset").arity, 3);
    EXPECT_EQ(find("-detector_abs").type, "TEXT");  // a depth, or the word inf
    EXPECT_EQ(find("-twotheta").range, "");         // any finite angle
    EXPECT_EQ(outside(find("-fluence")), "0");
    EXPECT_EQ(outside(find("-detpixels")), "-1");  // 0, as in C: the count from -detsize
    EXPECT_EQ(outside(find("-polar")), "2");
    EXPECT_EQ(outside(find("-detector_abs")), "-1");  // 0 means no absorption
}

// One test per kind of bad value, so that ctest -j spreads the ~80 launches
// of each (each stops at parsing, ~40 ms, mostly loading shared libraries).
class CliNumericEdgeValue : public testing::TestWithParam<std::string> {};

TEST_P(CliNumericEdgeValue, EveryNumericFlagRefusesIt) {
    const auto start = std::chrono::steady_clock::now();
    const std::string kind = GetParam();
    std::vector<NumericFlag> flags = numeric_flags_of_help(help_text());
    ASSERT_GE(flags.size(), 70u);
    TempDir d("edges");
    auto only_logs_there = [&] {
        std::vector<std::string> extra;
        for (const auto& entry : std::filesystem::directory_iterator(d.path)) {
            const std::string n = entry.path().filename().string();
            if (n != "stdout.txt" && n != "stderr.txt") extra.push_back(n);
        }
        return extra;
    };
    // the base command alone renders: every refusal below is the flag's doing
    {
        RunResult ok = run_cli(with_flag({"-phi", "FLOAT", 1, ""}, "0"), d.path.string(), 120);
        ASSERT_EQ(ok.exit_code, 0) << ok.err;
        ASSERT_TRUE(std::filesystem::exists(d.file("out.bin")));
        for (const std::string& n : only_logs_there()) std::filesystem::remove(d.file(n));
    }
    int runs = 0;
    for (const NumericFlag& f : flags) {
        std::string value = kind, message = kind + " is not a finite number";
        if (kind == "out_of_range") {
            if (f.range.empty()) continue;
            value = outside(f);
            ASSERT_FALSE(value.empty()) << f.name << ": cannot read the range '" << f.range << "'";
            message = value + " is out of range (must be ";
        }
        // C's -detector_abs reads the word inf as "no absorption"
        if (f.name == "-detector_abs" && value == "inf") continue;
        SCOPED_TRACE(f.name + " " + value);
        RunResult r = run_cli(with_flag(f, value), d.path.string(), 60);
        ++runs;
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find("nanoBragg: error: " + f.name + ": " + message), std::string::npos) << r.err;
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(only_logs_there(), std::vector<std::string>{});
    }
    EXPECT_GE(runs, kind == "out_of_range" ? 50 : 70);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %d refused command lines over %zu numeric flags in %.1f s\n", kind.c_str(), runs, flags.size(), s);
}

INSTANTIATE_TEST_SUITE_P(Values, CliNumericEdgeValue, testing::Values("nan", "inf", "-inf", "1e400", "out_of_range"),
                         [](const testing::TestParamInfo<std::string>& i) {
                             std::string n = i.param == "-inf" ? "minus_inf" : i.param;
                             for (char& c : n)
                                 if (!std::isalnum((unsigned char)c)) c = '_';
                             return n;
                         });

// The cases named in issue 10, and derived checks the per-flag ranges cannot make.
TEST(CliNumericEdges, IssueCasesAreRefused) {
    TempDir d("edges_issue");
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<std::string> cell = {"-default_F", "1", "-detpixels", "8", "-floatfile", "out.bin"};
    auto cmd = [&](std::vector<std::string> a) {
        a.insert(a.end(), cell.begin(), cell.end());
        return a;
    };
    const std::vector<Case> cases = {
        {cmd({"-cell", "100", "100", "100", "90", "90", "nan"}), "-cell: nan is not a finite number"},
        {cmd({"-cell", "100", "100", "100", "90", "90", "0"}), "-cell: 0 is out of range (must be > 0 and < 180)"},
        {cmd({"-cell", "-100", "100", "100", "90", "90", "90"}), "-cell: -100 is out of range (must be > 0)"},
        // each angle below the sum of the other two: C folds the sign and goes on
        {cmd({"-cell", "100", "100", "100", "30", "40", "120"}), "-cell: 100 100 100 30 40 120 has no positive volume"},
        {cmd({"-cell", "100", "100", "100", "170", "170", "170"}), "-cell: 100 100 100 170 170 170 has no positive"},
        {cmd({"-cell", "100", "100", "100", "90", "90", "90", "-N", "-1"}), "-N: -1 is out of range (must be >= 0)"},
        {cmd({"-cell", "100", "100", "100", "90", "90", "90", "-mosaic", "nan"}), "-mosaic: nan is not a finite"},
        {cmd({"-cell", "100", "100", "100", "90", "90", "90", "-mosaic", "-1"}), "-mosaic: -1 is out of range"},
        {cmd({"-cell", "100", "100", "100", "90", "90", "90", "-misset", "nan", "0", "0"}),
         "-misset: nan is not a finite number"},
        {cmd({"-cell", "100", "100", "100", "90", "90", "90", "-misset", "0", "-inf", "0"}),
         "-misset: -inf is not a finite number"},
        {cmd({"-cell", "100", "100", "100", "90", "90", "90", "-beam_vector", "0", "0", "0"}),
         "-beam_vector: 0 0 0 is not a direction"},
        {cmd({"-cell", "100", "100", "100", "90", "90", "90", "-N", "2.5"}), "-N: 2.5 is not a whole number"},
        {cmd({"-cell", "100", "100", "100", "90", "90", "90", "-N", "3000000000"}), "-N: 3000000000 is out of range"},
        // C reads counts with atoi, which stops at the 'e': 1 cell, not 10
        {cmd({"-cell", "100", "100", "100", "90", "90", "90", "-N", "1e1"}),
         "-N: 1e1 is 10, but C reads 1 (only the leading digits): write 10 or 1"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.message);
        RunResult r = run_cli(c.args, d.path.string(), 60);
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find("nanoBragg: error: " + c.message), std::string::npos) << r.err;
        EXPECT_FALSE(std::filesystem::exists(d.file("out.bin")));
    }
}

// Values C gives a meaning stay accepted: -N 0 (one isolated unit cell, the
// example in C's header), 0 for "auto" counts, -detector_abs inf.
TEST(CliNumericEdges, CsMeaningfulEdgeValuesAreAccepted) {
    TempDir d("edges_ok");
    const std::vector<std::string> args = {"-cell", "100",         "100",    "100",         "90",     "90",
                                           "90",    "-N",          "0",      "-default_F",  "1",      "-detpixels",
                                           "8",     "-oversample", "0",      "-mosaic_dom", "0",      "-detector_abs",
                                           "inf",   "-nonoise",    "-nopgm", "-floatfile",  "out.bin"};
    RunResult r = run_cli(args, d.path.string(), 120);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::exists(d.file("out.bin")));
}

// A detector edge-on to the beam (distance ~0) asks for ~1e17-fold
// oversampling; C's int holds INT_MIN, its "<= 0" test makes it 1 and it
// renders. So do we, and we say why (golden case edge_on_detector_auto_oversample).
TEST(CliNumericEdges, OversamplingPastIntsRangeFallsBackToOneAsInC) {
    TempDir d("edge_on");
    const std::vector<std::string> args = {
        "-cell",      "50", "60",     "70",  "90",        "90", "90",        "-N", "5",          "-default_F", "100",
        "-detpixels", "16", "-pixel", "0.2", "-distance", "20", "-twotheta", "90", "-floatfile", "out.bin"};
    RunResult r = run_cli(args, d.path.string(), 120);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string said = r.out + r.err;
    EXPECT_NE(said.find("sub-pixels per pixel edge, past C's integer range: C then takes 1, and so does this run"),
              std::string::npos)
        << said;
    EXPECT_NE(said.find("auto-selected 1-fold oversampling"), std::string::npos) << said;
    EXPECT_EQ(read_file(d.file("out.bin")).size(), 16u * 16u * sizeof(float));
}

// Where C's atoi and the number agree the text is accepted: "10.0" is 10 to
// both, "8e0" is 8 to both. noisify's -psf_radius is read with atof in C, so
// "3e0" there is 3 without any question.
TEST(CliNumericEdges, WholeNumbersAsCReadsThemAreAccepted) {
    TempDir d("edges_atoi");
    RunResult r = run_cli({"-cell", "100", "100", "100", "90", "90", "90", "-N", "10.0", "-default_F", "1",
                           "-detpixels", "8e0", "-floatfile", "out.bin"},
                          d.path.string(), 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(d.file("out.bin")).size(), 8u * 8u * sizeof(float));
    EXPECT_NE((r.out + r.err).find("xtal: 10x10x10 cells"), std::string::npos) << r.out;
}

// The crash of issue 10 (exit 139 in the render): negative N, and an origin
// that overflows to inf. Both are refused now (the kernel's own safety is
// tested in test_render.cpp, without the CLI); a huge but finite origin
// renders, as C does.
TEST(CliNumericEdges, CrashCommandOfIssue10) {
    TempDir d("edges_crash");
    const std::string in = golden_dir() + "/inputs/";
    RunResult r = run_cli({"-mat", in + "ortho.mat", "-hkl", in + "lyso.hkl", "-N", "-5", "-detpixels", "40", "-xds",
                           "-ORGY", "1e400", "-floatfile", "o.bin"},
                          d.path.string(), 120);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("-N: -5 is out of range"), std::string::npos) << r.err;
    r = run_cli({"-mat", in + "ortho.mat", "-hkl", in + "lyso.hkl", "-N", "0", "-detpixels", "40", "-xds", "-ORGY",
                 "1e400", "-floatfile", "o.bin"},
                d.path.string(), 120);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("-ORGY: 1e400 is not a finite number"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(d.file("o.bin")));
    r = run_cli({"-mat", in + "ortho.mat", "-hkl", in + "lyso.hkl", "-N", "0", "-detpixels", "40", "-xds", "-ORGY",
                 "1e300", "-floatfile", "o.bin", "-nonoise", "-nopgm"},
                d.path.string(), 120);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(std::filesystem::file_size(d.file("o.bin")), 40u * 40u * 4u);
}

// Found by the command-line fuzz target (it renders what parses): values each
// within its flag's range whose combination overflowed an int in the set-up
// (undefined behaviour, and a hang or a garbage image after it). Each is now
// refused naming the flags, before any file is opened.
TEST(CliNumericEdges, FuzzFindingsInTheSetUpAreRefused) {
    TempDir d("edges_fuzz");
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<std::string> base = {"-default_F", "100",        "-lambda", "1",          "-distance",
                                           "100",        "-detpixels", "128",     "-floatfile", "o.bin"};
    const std::vector<Case> cases = {
        // auto-oversampling for a 7 m crystal: 2.2e8 sub-pixels per edge, an int for C
        // (which runs for ever) but past the sub-pixel grid of 128 pixels. (Past int's
        // range C takes 1-fold: golden case edge_on_detector_auto_oversample.)
        {{"-cell", "9e9", "100", "100", "90", "90", "90", "-N", "8", "-gauss_xtal"},
         "-oversample: the crystal (7.2e+06 um across) needs more than 16777215 sub-pixels per pixel edge"},
        {{"-cell", "100", "100", "100", "90", "90", "90", "-N", "5", "-oversample", "20000000"},
         "-oversample: 20000000 sub-pixels per edge on a 128-pixel detector exceed the sub-pixel grid"},
        // a 2e9 mrad divergence range in 0.02 mrad steps: ceil(range / step) overflowed
        {{"-cell", "100", "100", "100", "90", "90", "90", "-N", "5", "-vdivrange", "2147483647", "-vdivstep", "0.02"},
         "-vdivrange/-vdivstep: a range of"},
        {{"-cell", "100", "100", "100", "90", "90", "90", "-N", "5", "-hdivrange", "1", "-hdivsteps", "2000000000",
          "-vdivrange", "1", "-vdivsteps", "2000000000"},
         "-hdivsteps/-vdivsteps/-dispsteps: 2000000000 x 2000000000 x 1 sources need more memory"},
        {{"-cell", "100", "100", "100", "90", "90", "90", "-N", "5", "-mosaic", "1", "-mosaic_dom", "2000000000",
          "-phisteps", "1000"},
         "-phisteps/-mosaic_domains: 1000 phi steps x 2000000000 mosaic domains need more memory"},
    };
    for (const Case& c : cases) {
        std::vector<std::string> args = c.args;
        args.insert(args.end(), base.begin(), base.end());
        RunResult r = run_cli(args, d.path.string(), 60);
        EXPECT_EQ(r.exit_code, 2) << c.message << "\n" << r.err;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
        EXPECT_FALSE(std::filesystem::exists(d.file("o.bin"))) << c.message;
    }
}

// Finite flags can still give non-finite pixels: a fluence of 1e300 photons/m^2
// overflows every float pixel to +inf. The run warns once with the count, and
// the files hold what docs/precision.md says: +inf in the float image, an
// overload (65535) in the noise image.
TEST(CliNumericEdges, NonFinitePixelsAreCountedAndWrittenAsDocumented) {
    TempDir d("edges_nonfinite");
    RunResult r = run_cli({"-cell", "100",        "100",   "100",        "90",    "90",       "90",    "-default_F",
                           "100",   "-N",         "5",     "-detpixels", "32",    "-fluence", "1e300", "-floatfile",
                           "f.bin", "-noisefile", "n.img", "-intfile",   "i.img", "-seed",    "1"},
                          d.path.string(), 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string all = r.out + r.err;
    EXPECT_NE(all.find("WARNING: 1024 pixels are not finite"), std::string::npos) << all;
    EXPECT_NE(r.out.find("0 photons on noise image (1024 overloads)"), std::string::npos) << r.out;
    const std::string f = read_file(d.file("f.bin"));
    ASSERT_EQ(f.size(), 32u * 32u * 4u);
    for (size_t i = 0; i < f.size(); i += 4) {
        float v;
        std::memcpy(&v, f.data() + i, 4);
        ASSERT_TRUE(std::isinf(v) && v > 0) << "pixel " << i / 4 << " = " << v;
    }
    // the int image's automatic scale is 55000 / max_I = 0, and inf * 0 is NaN: 0
    for (auto [name, want] : {std::pair<const char*, int>{"n.img", 65535}, {"i.img", 0}}) {
        nb::SmvImage img = nb::read_smv(d.file(name), name);
        ASSERT_EQ(img.data.size(), 1024u) << name;
        for (uint16_t v : img.data) ASSERT_EQ(v, want) << name;
    }
}

// Also found by fuzzing: a pixel of 2^-1074 mm is positive but underflows to
// 0 in meters, so the detector's pixel count was 0/0 converted to int.
TEST(CliNumericEdges, PixelThatUnderflowsIsRefused) {
    TempDir d("edges_pixel");
    RunResult r = run_cli({"-cell",     "300",       "300",  "90",          "90", "90",         "90",   "-default_F",
                           "100",       "-N",        "10",   "-lambda",     "6",  "-detpixels", "512",  "-pixel",
                           "0x1p-1074", "-distance", "1e-9", "-oversample", "1",  "-floatfile", "o.bin"},
                          d.path.string(), 60);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("-pixel: too small: the size underflows to 0 in meters"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(d.file("o.bin")));
}
