// The golden parity suite: every command line in tests/golden/manifest.json
// run through our CLI and compared with C nanoBragg's outputs. Double
// precision: correlation >= 0.99999 and |sum ratio - 1| <= 1e-5 on the float
// image; with -exact the float image, SMV, PGM and noise files byte-identical
// and the printed statistics equal (SIMD and scalar executors).
// Float precision: correlation >= 0.9999 and |sum ratio - 1| <= 1e-3.
#include <gtest/gtest.h>

#include <cctype>
#include <sstream>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "kernels/cuda_launcher.hpp"
#include "tests/golden_agreement.hpp"
#include "tests/run_cli.hpp"

using namespace nbtest;

namespace {

struct Case {
    std::string id;
    std::string args;
    int fpixels = 0, spixels = 0;
    std::vector<std::string> outputs;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.id; }

std::vector<Case> load_cases() {
    std::string text = read_file(golden_dir() + "/manifest.json");
    std::vector<Case> cases;
    if (text.empty()) return cases;
    const nlohmann::json m = nlohmann::json::parse(text);
    for (const auto& [id, c] : m.at("cases").items()) {
        Case k;
        k.id = id;
        k.args = c.at("args").get<std::string>();
        k.fpixels = c.at("fpixels").get<int>();
        k.spixels = c.at("spixels").get<int>();
        k.outputs = c.at("outputs").get<std::vector<std::string>>();
        cases.push_back(k);
    }
    return cases;
}

std::string line_starting(const std::string& text, const std::string& prefix) {
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        if (text.compare(pos, prefix.size(), prefix) == 0) return text.substr(pos, end - pos);
        pos = end + 1;
    }
    return "";
}

std::string name_of(const testing::TestParamInfo<Case>& info) {
    std::string n = info.param.id;
    for (char& c : n)
        if (!std::isalnum((unsigned char)c)) c = '_';
    return n;
}

// The lines of -printout's blocks (from "f s : stol = " to "Z: ") and of
// -trace_pixel (TRACE_C..., TRACE_CONFIG), in order.
// C's list of sources: from "  created a total of N sources:" to the mosaic
// domains' count, with the molecular-weight line before it (C's hoidn build
// prints debugging lines among them, which are skipped).
std::vector<std::string> source_list_lines(const std::string& text) {
    std::vector<std::string> out;
    bool in_list = false;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("approximate MW = ", 0) == 0) out.push_back(line);
        if (line.rfind("  created a total of", 0) == 0) {
            out.push_back(line);
            in_list = line.back() == ':';
        } else if (in_list && !line.empty() && (std::isdigit((unsigned char)line[0]) || line[0] == '-')) {
            out.push_back(line);
        } else {
            in_list = false;
        }
    }
    return out;
}

std::vector<std::string> pixel_report_lines(const std::string& text) {
    std::vector<std::string> out;
    bool in_block = false;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.find(" : stol = ") != std::string::npos) in_block = true;
        if (in_block || line.rfind("TRACE_C", 0) == 0 || line.rfind("TRACE_CONFIG", 0) == 0) out.push_back(line);
        if (line.rfind("Z: ", 0) == 0) in_block = false;
    }
    return out;
}

class Golden : public testing::TestWithParam<Case> {
protected:
    void check_image(const Case& c, const std::vector<std::string>& extra, const char* label, double min_corr,
                     double max_sum_error);

    // Runs the case; returns the float image (empty on failure).
    std::vector<float> run(const Case& c, TempDir& dir, const std::vector<std::string>& extra, RunResult& rr) {
        std::string args = c.args;
        const std::string key = "{in}";
        for (size_t p; (p = args.find(key)) != std::string::npos;)
            args.replace(p, key.size(), golden_dir() + "/inputs");
        std::vector<std::string> argv = split_ws(args);
        argv.insert(argv.end(), {"-floatfile", "out.float.bin"});
        argv.insert(argv.end(), extra.begin(), extra.end());
        rr = run_cli(argv, dir.path.string(), 900);
        EXPECT_FALSE(rr.timed_out) << c.id << " timed out";
        EXPECT_EQ(rr.exit_code, 0) << c.id << " failed:\n" << rr.err;
        std::vector<float> img = floats(read_file(dir.file("out.float.bin")));
        EXPECT_EQ(img.size(), (size_t)c.fpixels * c.spixels) << c.id << ": image size";
        return img;
    }
};

// The default mode (fused multiply-adds, vector math): the parity bar on the
// float image; whether the integer files came out byte-identical is printed.
TEST_P(Golden, DoublePrecisionMatchesC) {
    const Case& c = GetParam();
    TempDir dir("golden_" + c.id);
    RunResult rr;
    std::vector<float> ours = run(c, dir, {"-precision", "double", "-device", "cpu"}, rr);
    std::string case_dir = golden_dir() + "/cases/" + c.id + "/";
    std::vector<float> ref = floats(read_file(case_dir + "c.float.bin"));
    ASSERT_EQ(ours.size(), ref.size());
    Agreement a = compare(ours, ref);
    std::printf("[parity double] %-28s corr=%.10f sum_ratio-1=%+.3e maxrel=%.3e\n", c.id.c_str(), a.corr,
                a.sum_ratio - 1, a.max_rel);
    EXPECT_GE(a.corr, 0.99999) << c.id;
    EXPECT_LE(std::fabs(a.sum_ratio - 1), 1e-5) << c.id;
    for (const std::string& f : c.outputs) {
        if (f == "c.float.bin") continue;
        std::string theirs = read_file(case_dir + f), mine = read_file(dir.file(f));
        ASSERT_FALSE(mine.empty()) << c.id << ": we did not write " << f;
        std::printf("[parity double] %-28s %s byte-identical: %s\n", c.id.c_str(), f.c_str(),
                    mine == theirs ? "yes" : "no");
    }
}

// -exact (C's sincg, no fused multiply-add, C's libm) on the SIMD executor:
// the float image and every SMV, PGM and noise file byte-identical to C's,
// and the printed statistics equal.
TEST_P(Golden, ExactModeIsByteIdenticalToC) {
    const Case& c = GetParam();
    TempDir dir("golden_exact_" + c.id);
    RunResult rr;
    std::vector<float> ours = run(c, dir, {"-precision", "double", "-device", "cpu", "-exact"}, rr);
    std::string case_dir = golden_dir() + "/cases/" + c.id + "/";
    std::string ref = read_file(case_dir + "c.float.bin");
    ASSERT_EQ(ours.size() * sizeof(float), ref.size());
    EXPECT_EQ(0, std::memcmp(ours.data(), ref.data(), ref.size())) << c.id << ": float image differs";

    for (const std::string& f : c.outputs) {
        if (f == "c.float.bin") continue;
        std::string theirs = read_file(case_dir + f), mine = read_file(dir.file(f));
        ASSERT_FALSE(mine.empty()) << c.id << ": we did not write " << f;
        if (f.size() > 4 && f.compare(f.size() - 4, 4, ".img") == 0) {
            ASSERT_EQ(mine.size(), theirs.size()) << c.id << " " << f;
            EXPECT_TRUE(mine.compare(512, std::string::npos, theirs, 512, std::string::npos) == 0)
                << c.id << ": " << f << " pixel data differs";
            EXPECT_EQ(mine.substr(0, 512), theirs.substr(0, 512)) << c.id << ": " << f << " header differs";
        } else {
            EXPECT_TRUE(mine == theirs) << c.id << ": " << f << " differs";
        }
    }

    // the statistics lines C printed
    std::string c_out = read_file(case_dir + "c.stdout.txt");
    for (const char* prefix : {"max_I = ", "mean= "}) {
        EXPECT_EQ(line_starting(rr.out, prefix), line_starting(c_out, prefix)) << c.id;
    }
    // the molecular weight, the sources and the mosaic domains as C lists them
    EXPECT_EQ(source_list_lines(rr.out), source_list_lines(c_out)) << c.id;
    // -printout and -trace_pixel: every line of C's pixel reports, digit for digit
    const std::vector<std::string> theirs = pixel_report_lines(c_out), mine = pixel_report_lines(rr.out);
    EXPECT_EQ(mine.size(), theirs.size()) << c.id;
    for (size_t i = 0; i < std::min(mine.size(), theirs.size()); ++i)
        EXPECT_EQ(mine[i], theirs[i]) << c.id << ": pixel report line " << i;
}

// The scalar reference executor (render_pixel, NB_CPU_ISA=scalar) in exact
// mode: byte-identical to C as well, so the SIMD and scalar paths agree bit
// for bit on every golden case.
TEST_P(Golden, ScalarReferenceExactModeIsByteIdenticalToC) {
    const Case& c = GetParam();
    TempDir dir("golden_scalar_" + c.id);
    RunResult rr;
    setenv("NB_CPU_ISA", "scalar", 1);
    std::vector<float> ours = run(c, dir, {"-precision", "double", "-device", "cpu", "-exact"}, rr);
    unsetenv("NB_CPU_ISA");
    std::string ref = read_file(golden_dir() + "/cases/" + c.id + "/c.float.bin");
    ASSERT_EQ(ours.size() * sizeof(float), ref.size());
    EXPECT_EQ(0, std::memcmp(ours.data(), ref.data(), ref.size())) << c.id << ": float image differs";
}

// One float image against C's with the given thresholds (float precision and the GPU runs).
void Golden::check_image(const Case& c, const std::vector<std::string>& extra, const char* label, double min_corr,
                         double max_sum_error) {
    TempDir dir("golden_" + std::string(label) + "_" + c.id);
    RunResult rr;
    std::vector<float> ours = run(c, dir, extra, rr);
    std::vector<float> ref = floats(read_file(golden_dir() + "/cases/" + c.id + "/c.float.bin"));
    ASSERT_EQ(ours.size(), ref.size());
    Agreement a = compare(ours, ref);
    std::printf("[parity %s] %-28s corr=%.10f sum_ratio-1=%+.3e maxrel=%.3e\n", label, c.id.c_str(), a.corr,
                a.sum_ratio - 1, a.max_rel);
    if (std::string(label) == "gpu exact")
        std::printf("[parity %s] %-28s float image bit-identical: %s\n", label, c.id.c_str(),
                    std::memcmp(ours.data(), ref.data(), ref.size() * sizeof(float)) == 0 ? "yes" : "no");
    EXPECT_GE(a.corr, min_corr) << c.id;
    EXPECT_LE(std::fabs(a.sum_ratio - 1), max_sum_error) << c.id;
}

TEST_P(Golden, FloatPrecisionMeetsItsThresholds) {
    check_image(GetParam(), {"-precision", "float", "-device", "cpu"}, "float", 0.9999, 1e-3);
}

// The same suite on the GPU (issue #4); skipped cleanly on machines without one.
TEST_P(Golden, GpuDoublePrecisionMatchesC) {
    if (nb::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA GPU on this machine";
    check_image(GetParam(), {"-precision", "double", "-device", "cuda"}, "gpu double", 0.99999, 1e-5);
}

// -exact on the GPU: the kernel compiled without fused multiply-adds. The
// device's sin, cos and exp are not glibc's, so the bar is the double one;
// whether the image came out bit for bit as C's is printed.
TEST_P(Golden, GpuExactModeMatchesC) {
    if (nb::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA GPU on this machine";
    check_image(GetParam(), {"-precision", "double", "-device", "cuda", "-exact"}, "gpu exact", 0.99999, 1e-5);
}

TEST_P(Golden, GpuFloatPrecisionMeetsItsThresholds) {
    if (nb::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA GPU on this machine";
    check_image(GetParam(), {"-precision", "float", "-device", "cuda"}, "gpu float", 0.9999, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Cases, Golden, testing::ValuesIn(load_cases()), name_of);
// Without this the suite could pass by running nothing: a missing or empty
// manifest leaves Golden uninstantiated, which GoogleTest reports as a failure
// of its own, and this test fails with the reason.

TEST(GoldenSuite, ManifestHoldsEveryCaseWithItsFiles) {
    std::vector<Case> cases = load_cases();
    std::printf("[golden] %zu cases in %s/manifest.json\n", cases.size(), golden_dir().c_str());
    ASSERT_FALSE(cases.empty()) << "no golden cases found in " << golden_dir() << "/manifest.json";
    size_t dirs = 0;
    for (const auto& e : std::filesystem::directory_iterator(golden_dir() + "/cases"))
        if (e.is_directory()) ++dirs;
    EXPECT_EQ(cases.size(), dirs) << "every folder under cases/ is a case of the manifest";
    EXPECT_EQ(cases.size(), 246u) << "the C reference suite has 246 command lines";
    for (const Case& c : cases)
        for (const std::string& f : c.outputs)
            EXPECT_FALSE(read_file(golden_dir() + "/cases/" + c.id + "/" + f).empty()) << c.id << ": " << f;
}

}  // namespace
