// nonBragg against C nonBragg: every command line of tests/golden/nonbragg
// (manifest.json) run through our nonBragg in a fresh folder. Double
// precision: the float image within correlation >= 0.99999 and |sum ratio - 1|
// <= 1e-5 of C's; with -exact (SIMD and scalar executors) byte-identical.
// In both, the SMV files hold C's bytes after the 512-byte header and the same
// header keys and values, the PGM is a correct PGM holding C's pixel bytes, and
// the printed statistics are C's numbers. Float precision: correlation >=
// 0.9999 and |sum ratio - 1| <= 1e-3. Then bad input (one line naming the flag
// or file, exit status 2, nothing written), the help text and C's default
// output names.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "kernels/cuda_launcher.hpp"
#include "tests/golden_agreement.hpp"
#include "tests/run_cli.hpp"

using namespace nbtest;

namespace {

// Absolute, as the program runs in a temporary folder.
std::string nonbragg_golden() { return std::filesystem::absolute(golden_dir() + "/nonbragg").string(); }
std::string inputs() { return nonbragg_golden() + "/inputs"; }

struct Case {
    std::string id, args;
    std::vector<std::string> outputs;
    nlohmann::json stats;  // the whole manifest entry: max_I, mean, rms, rmsd, intfile_scale, ...
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.id; }

std::vector<Case> load_cases() {
    std::string text = read_file(nonbragg_golden() + "/manifest.json");
    std::vector<Case> cases;
    if (text.empty()) return cases;
    const nlohmann::json m = nlohmann::json::parse(text);
    for (const auto& [id, c] : m.at("cases").items())
        cases.push_back({id, c.at("args").get<std::string>(), c.at("outputs").get<std::vector<std::string>>(), c});
    return cases;
}

std::string substitute(std::string s, const std::string& from, const std::string& to) {
    for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
        s.replace(pos, from.size(), to);
    return s;
}

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

// An SMV header's KEY=VALUE; pairs, in order.
std::vector<std::pair<std::string, std::string>> header_fields(const std::string& file) {
    std::vector<std::pair<std::string, std::string>> out;
    const std::string h = file.substr(0, std::min<size_t>(512, file.size()));
    std::regex kv("([A-Z_0-9]+)=([^;\\n]*);");
    for (std::sregex_iterator it(h.begin(), h.end(), kv), end; it != end; ++it) out.push_back({(*it)[1], (*it)[2]});
    return out;
}

// The SMV file `name`: C's bytes after the 512-byte header, the same header pairs in the same order.
void expect_smv_matches(const std::string& ours, const std::string& ref, const std::string& name) {
    ASSERT_GT(ref.size(), 512u) << name;
    ASSERT_EQ(ours.size(), ref.size()) << name;
    const auto fields = header_fields(ref);
    EXPECT_GE(fields.size(), 10u) << name;
    EXPECT_EQ(header_fields(ours), fields) << name << ": SMV header keys or values differ";
    size_t first = std::string::npos;
    for (size_t i = 512; i < ref.size() && first == std::string::npos; ++i)
        if (ours[i] != ref[i]) first = i;
    EXPECT_EQ(first, std::string::npos) << name << ": data differ from C's first at byte " << first;
}

// A PGM header "P5\n<w> <h>\n# ...\n255\n": its length, size and the scale of
// "# pixels scaled by <s>" (NaN when that comment is absent). length 0: not a PGM.
struct PgmHeader {
    size_t length = 0;
    long w = 0, h = 0;
    double scale = NAN;
    std::string comment;
};

PgmHeader pgm_header(const std::string& f) {
    PgmHeader p;
    size_t pos = 0;
    auto next_line = [&](std::string& l) {
        size_t e = f.find('\n', pos);
        if (e == std::string::npos) return false;
        l = f.substr(pos, e - pos);
        pos = e + 1;
        return true;
    };
    std::string l;
    if (!next_line(l) || l != "P5") return p;
    if (!next_line(l) || std::sscanf(l.c_str(), "%ld %ld", &p.w, &p.h) != 2) return p;
    for (;;) {
        if (!next_line(l)) return p;
        if (l.empty() || l[0] != '#') break;
        p.comment = l;
        const std::string key = "# pixels scaled by ";
        if (l.rfind(key, 0) == 0) p.scale = std::strtod(l.c_str() + key.size(), nullptr);
    }
    if (l != "255") return p;
    p.length = pos;
    return p;
}

// Ours: exactly "P5\n<w> <h>\n# pixels scaled by <s>\n255\n" and w*h bytes;
// C's: the same header announcing w*h, followed by 2*w*h bytes, the first w*h of which must be ours.
void expect_pgm_matches(const std::string& ours, const std::string& ref, const std::string& name) {
    const PgmHeader c = pgm_header(ref), o = pgm_header(ours);
    ASSERT_GT(c.length, 0u) << name << ": C's file is not a PGM";
    ASSERT_GE(ref.size(), c.length + (size_t)(c.w * c.h)) << name;
    ASSERT_GT(o.length, 0u) << name << ": ours is not a PGM: " << ours.substr(0, 60);
    EXPECT_EQ(o.w, c.w) << name;
    EXPECT_EQ(o.h, c.h) << name;
    EXPECT_EQ(ours.substr(0, o.length),
              "P5\n" + std::to_string(o.w) + " " + std::to_string(o.h) + "\n" + o.comment + "\n255\n")
        << name << ": one comment line expected";
    ASSERT_FALSE(std::isnan(o.scale)) << name << ": no '# pixels scaled by' line";
    EXPECT_LE(std::fabs(o.scale - c.scale), 1e-5 * std::fabs(c.scale))
        << name << ": scale " << o.scale << " vs C's " << c.scale;
    EXPECT_EQ(ours.size(), o.length + (size_t)(o.w * o.h)) << name << ": a PGM holds w*h bytes after its header";
    if (o.w != c.w || o.h != c.h || ours.size() < o.length + (size_t)(o.w * o.h)) return;
    const size_t n = (size_t)(c.w * c.h);
    size_t first = std::string::npos;
    for (size_t i = 0; i < n && first == std::string::npos; ++i)
        if (ours[o.length + i] != ref[c.length + i]) first = i;
    EXPECT_EQ(first, std::string::npos) << name << ": pixel bytes differ from C's first at pixel " << first;
}

// The number right after the first `key` in `text` (NaN when absent).
double printed_after(const std::string& text, const std::string& key) {
    const size_t p = text.find(key);
    if (p == std::string::npos) return NAN;
    const char* s = text.c_str() + p + key.size();
    char* end = nullptr;
    const double v = std::strtod(s, &end);
    return end == s ? NAN : v;
}

// "<n> photons on noise image (<m> overloads)": n and m (NaN when absent).
std::pair<double, double> noise_counts(const std::string& text) {
    for (const auto& l : lines(text)) {
        const size_t p = l.find(" photons on noise image (");
        if (p == std::string::npos) continue;
        return {std::strtod(l.c_str(), nullptr), std::strtod(l.c_str() + p + 25, nullptr)};
    }
    return {NAN, NAN};
}

// The statistics C printed (manifest keys) against ours: %g, 6 significant
// digits, so 1e-5 relative; the photon count within 1e-9, overloads exact.
void expect_statistics(const Case& c, const std::string& out) {
    const std::vector<std::pair<std::string, std::string>> printed = {{"max_I", "max_I = "},
                                                                      {"mean", "mean= "},
                                                                      {"rms", " rms= "},
                                                                      {"rmsd", " rmsd= "},
                                                                      {"intfile_scale", "intfile_scale = "}};
    for (const auto& [key, text] : printed) {
        if (!c.stats.contains(key)) continue;
        const double want = c.stats[key].get<double>(), got = printed_after(out, text);
        ASSERT_FALSE(std::isnan(got)) << c.id << ": we did not print '" << text << "'\n" << out;
        EXPECT_LE(std::fabs(got - want), 1e-5 * std::fabs(want))
            << c.id << ": " << key << " = " << got << ", C " << want;
    }
    if (c.stats.contains("noise_photons")) {
        const auto [photons, overloads] = noise_counts(out);
        ASSERT_FALSE(std::isnan(photons)) << c.id << ": no 'photons on noise image' line\n" << out;
        const double want = c.stats["noise_photons"].get<double>();
        EXPECT_LE(std::fabs(photons - want), 1e-9 * std::fabs(want))
            << c.id << ": photons " << photons << ", C " << want;
        if (c.stats.contains("overloads")) {
            EXPECT_EQ(overloads, c.stats["overloads"].get<double>()) << c.id;
        }
    }
}

std::string name_of(const testing::TestParamInfo<Case>& info) {
    std::string n = info.param.id;
    for (char& ch : n)
        if (!std::isalnum((unsigned char)ch)) ch = '_';
    return n;
}

class NonBraggGolden : public testing::TestWithParam<Case> {
protected:
    std::string case_dir(const Case& c) const { return nonbragg_golden() + "/cases/" + c.id + "/"; }

    // Runs the case with `extra` appended (and NB_CPU_ISA=scalar when asked); returns the float image.
    std::vector<float> run(const Case& c, const TempDir& dir, const std::vector<std::string>& extra, RunResult& rr,
                           bool scalar = false) {
        std::vector<std::string> argv = split_ws(substitute(c.args, "{in}", inputs()));
        argv.insert(argv.end(), extra.begin(), extra.end());
        if (scalar) setenv("NB_CPU_ISA", "scalar", 1);
        rr = run_cli(argv, dir.path.string(), 300, nonbragg_path());
        if (scalar) unsetenv("NB_CPU_ISA");
        EXPECT_FALSE(rr.timed_out) << c.id << " timed out";
        EXPECT_EQ(rr.exit_code, 0) << c.id << " failed:\n" << rr.err;
        return floats(read_file(dir.file("c.float.bin")));
    }

    // Every SMV and PGM file the case lists, against C's.
    void check_files(const Case& c, const TempDir& dir) {
        for (const std::string& f : c.outputs) {
            if (f == "c.float.bin") continue;
            const std::string theirs = read_file(case_dir(c) + f), mine = read_file(dir.file(f));
            ASSERT_FALSE(mine.empty()) << c.id << ": we did not write " << f;
            if (ends_with(f, ".pgm"))
                expect_pgm_matches(mine, theirs, c.id + " " + f);
            else
                expect_smv_matches(mine, theirs, c.id + " " + f);
        }
    }

    void check_exact(const Case& c, const char* label, bool scalar);
    void check_image(const Case& c, const std::vector<std::string>& extra, const char* label, double min_corr,
                     double max_sum_error);
};

TEST_P(NonBraggGolden, DoublePrecisionMatchesC) {
    const Case& c = GetParam();
    TempDir dir("nonbragg_" + c.id);
    RunResult rr;
    std::vector<float> ours = run(c, dir, {"-precision", "double", "-device", "cpu"}, rr);
    std::vector<float> ref = floats(read_file(case_dir(c) + "c.float.bin"));
    ASSERT_FALSE(ref.empty()) << c.id;
    ASSERT_EQ(ours.size(), ref.size()) << c.id << ": image size";
    Agreement a = compare(ours, ref);
    std::printf("[nonBragg double] %-20s corr=%.10f sum_ratio-1=%+.3e maxrel=%.3e\n", c.id.c_str(), a.corr,
                a.sum_ratio - 1, a.max_rel);
    EXPECT_GE(a.corr, 0.99999) << c.id;
    EXPECT_LE(std::fabs(a.sum_ratio - 1), 1e-5) << c.id;
    check_files(c, dir);
    expect_statistics(c, rr.out);
}

// -exact: the float image byte-identical to C's, on the SIMD executor or the
// scalar reference (NB_CPU_ISA=scalar).
void NonBraggGolden::check_exact(const Case& c, const char* label, bool scalar) {
    TempDir dir(std::string("nonbragg_") + label + "_" + c.id);
    RunResult rr;
    std::vector<float> ours = run(c, dir, {"-precision", "double", "-device", "cpu", "-exact"}, rr, scalar);
    const std::string ref = read_file(case_dir(c) + "c.float.bin");
    ASSERT_FALSE(ref.empty()) << c.id;
    ASSERT_EQ(ours.size() * sizeof(float), ref.size()) << c.id << ": image size";
    size_t first = std::string::npos;
    const std::vector<float> theirs = floats(ref);
    for (size_t i = 0; i < theirs.size() && first == std::string::npos; ++i)
        if (std::memcmp(&ours[i], &theirs[i], sizeof(float)) != 0) first = i;
    EXPECT_EQ(first, std::string::npos) << c.id << ": float image differs from C's first at pixel " << first << " ("
                                        << (first < ours.size() ? ours[first] : 0.0f) << " vs "
                                        << (first < theirs.size() ? theirs[first] : 0.0f) << ")";
    check_files(c, dir);
    expect_statistics(c, rr.out);
}

TEST_P(NonBraggGolden, ExactModeIsByteIdenticalToC) { check_exact(GetParam(), "exact", false); }

TEST_P(NonBraggGolden, ScalarReferenceExactModeIsByteIdenticalToC) { check_exact(GetParam(), "scalar", true); }

// One float image against C's with the given thresholds (float precision and the GPU runs).
void NonBraggGolden::check_image(const Case& c, const std::vector<std::string>& extra, const char* label,
                                 double min_corr, double max_sum_error) {
    TempDir dir(std::string("nonbragg_") + label + "_" + c.id);
    RunResult rr;
    std::vector<float> ours = run(c, dir, extra, rr);
    std::vector<float> ref = floats(read_file(case_dir(c) + "c.float.bin"));
    ASSERT_FALSE(ref.empty()) << c.id;
    ASSERT_EQ(ours.size(), ref.size()) << c.id << ": image size";
    Agreement a = compare(ours, ref);
    std::printf("[nonBragg %s] %-20s corr=%.10f sum_ratio-1=%+.3e maxrel=%.3e\n", label, c.id.c_str(), a.corr,
                a.sum_ratio - 1, a.max_rel);
    EXPECT_GE(a.corr, min_corr) << c.id;
    EXPECT_LE(std::fabs(a.sum_ratio - 1), max_sum_error) << c.id;
}

TEST_P(NonBraggGolden, FloatPrecisionMeetsItsThresholds) {
    check_image(GetParam(), {"-precision", "float", "-device", "cpu"}, "float", 0.9999, 1e-3);
}

TEST_P(NonBraggGolden, GpuDoublePrecisionMatchesC) {
    if (nb::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA GPU on this machine";
    check_image(GetParam(), {"-precision", "double", "-device", "cuda"}, "gpu_double", 0.99999, 1e-5);
}

TEST_P(NonBraggGolden, GpuFloatPrecisionMeetsItsThresholds) {
    if (nb::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA GPU on this machine";
    check_image(GetParam(), {"-precision", "float", "-device", "cuda"}, "gpu_float", 0.9999, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Cases, NonBraggGolden, testing::ValuesIn(load_cases()), name_of);

// Without this the suite could pass by running nothing: a missing manifest
// leaves NonBraggGolden uninstantiated, and this test fails with the reason.
TEST(NonBraggGoldenSuite, ManifestHoldsEveryCaseWithItsFiles) {
    const auto cases = load_cases();
    ASSERT_EQ(cases.size(), 26u) << "cases in " << nonbragg_golden() << "/manifest.json";
    size_t dirs = 0;
    for (const auto& e : std::filesystem::directory_iterator(nonbragg_golden() + "/cases"))
        if (e.is_directory()) ++dirs;
    EXPECT_EQ(dirs, cases.size()) << "every folder under cases/ is a case of the manifest";
    for (const auto& c : cases) {
        ASSERT_FALSE(c.outputs.empty()) << c.id;
        EXPECT_NE(std::find(c.outputs.begin(), c.outputs.end(), "c.float.bin"), c.outputs.end()) << c.id;
        EXPECT_NE(c.args.find("-floatfile c.float.bin"), std::string::npos) << c.id;
        const std::string dir = nonbragg_golden() + "/cases/" + c.id + "/";
        for (const auto& o : c.outputs) {
            EXPECT_FALSE(read_file(dir + o).empty()) << c.id << " " << o;
            EXPECT_NE(c.args.find(" " + o), std::string::npos) << c.id << ": " << o << " is not named by its args";
        }
        EXPECT_FALSE(read_file(dir + "c.stdout.txt").empty()) << c.id;
        for (const char* key : {"max_I", "mean", "rms", "rmsd", "intfile_scale"})
            EXPECT_TRUE(c.stats.contains(key)) << c.id << " " << key;
        if (std::find(c.outputs.begin(), c.outputs.end(), "c.noise.img") != c.outputs.end()) {
            EXPECT_TRUE(c.stats.contains("noise_photons")) << c.id;
            EXPECT_TRUE(c.stats.contains("overloads")) << c.id;
        }
        for (const auto& a : split_ws(c.args)) {
            if (a.rfind("{in}/", 0) == 0) {
                EXPECT_TRUE(std::filesystem::exists(inputs() + a.substr(4))) << c.id << " " << a;
            }
        }
        // C's PGM announces w*h pixels and holds 2*w*h bytes after its header
        if (std::find(c.outputs.begin(), c.outputs.end(), "c.pgm") != c.outputs.end()) {
            const std::string pgm = read_file(dir + "c.pgm");
            const PgmHeader h = pgm_header(pgm);
            ASSERT_GT(h.length, 0u) << c.id;
            EXPECT_EQ(pgm.size(), h.length + 2 * (size_t)(h.w * h.h)) << c.id;
        }
    }
}

// ---- bad input ----

// Files in `dir` other than the runner's own stdout/stderr captures and the inputs we put there (in_*).
std::vector<std::string> written(const TempDir& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir.path)) {
        const std::string n = e.path().filename().string();
        if (n != "stdout.txt" && n != "stderr.txt" && n.rfind("in_", 0) != 0) out.push_back(n);
    }
    return out;
}

// Runs a bad command line (a 16x16 detector, every output named) in a fresh
// folder holding `files` (name -> text); expects exit status 2, one line on
// stderr naming one of `names`, and no file written.
void expect_refused(std::vector<std::string> args, const std::vector<std::string>& names,
                    const std::map<std::string, std::string>& files = {}) {
    TempDir dir("nonbragg_bad");
    for (const auto& [name, text] : files) std::ofstream(dir.file(name), std::ios::binary) << text;
    args.insert(args.end(), {"-detpixels", "16", "-floatfile", "o.bin", "-intfile", "o.img", "-noisefile", "n.img",
                             "-pgmfile", "o.pgm", "-noprogress"});
    RunResult r = run_cli(args, dir.path.string(), 60, nonbragg_path());
    SCOPED_TRACE(testing::PrintToString(args));
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    std::string err = r.err;
    if (!err.empty() && err.back() == '\n') err.pop_back();
    EXPECT_FALSE(err.empty()) << "nothing on stderr";
    EXPECT_EQ(err.find('\n'), std::string::npos) << "one line on stderr expected:\n" << r.err;
    bool named = false;
    for (const auto& n : names) named = named || err.find(n) != std::string::npos;
    EXPECT_TRUE(named) << "stderr names none of " << testing::PrintToString(names) << ": " << err;
    EXPECT_EQ(written(dir), std::vector<std::string>{}) << "files written";
}

std::string water() { return inputs() + "/water.stol"; }

TEST(NonBraggBadInput, EmptyTable) {
    expect_refused({"-stol", "in_empty.stol"}, {"in_empty.stol"}, {{"in_empty.stol", ""}});
    expect_refused({"-4stol", "in_empty.stol"}, {"in_empty.stol"}, {{"in_empty.stol", ""}});
    expect_refused({"-Q", "in_empty.stol"}, {"in_empty.stol"}, {{"in_empty.stol", ""}});
}

TEST(NonBraggBadInput, TableNotIncreasingInSinThetaOverLambda) {
    expect_refused({"-stol", "in_order.stol"}, {"-stol", "in_order.stol"}, {{"in_order.stol", "0 1\n0.2 2\n0.1 3\n"}});
}

TEST(NonBraggBadInput, NanInTheTable) {
    expect_refused({"-stol", "in_nan.stol"}, {"-stol", "in_nan.stol"}, {{"in_nan.stol", "0 1\n0.1 nan\n0.2 3\n"}});
}

TEST(NonBraggBadInput, MissingTableFile) {
    expect_refused({"-stol", "no_such.stol"}, {"no_such.stol"});
    expect_refused({"-Q", "no_such_q.txt"}, {"no_such_q.txt"});
}

TEST(NonBraggBadInput, NoTableGiven) {
    // C prints its usage and exits; we name -stol
    expect_refused({"-distance", "100"}, {"-stol"});
}

TEST(NonBraggBadInput, NegativeSampleProperties) {
    for (const char* flag : {"-thick", "-density", "-samplesize", "-MW"})
        expect_refused({"-stol", water(), flag, "-1"}, {flag});
}

TEST(NonBraggBadInput, PrintoutPixelIsNotOffered) {
    expect_refused({"-stol", water(), "-printout_pixel", "3", "4"}, {"-printout_pixel"});
}

TEST(NonBraggBadInput, NonFiniteValues) {
    expect_refused({"-stol", water(), "-fluence", "nan"}, {"-fluence"});
    expect_refused({"-stol", water(), "-distance", "inf"}, {"-distance"});
}

// ---- behaviour ----

// Whether `flag` occurs in `text` as a word of its own (not inside -hdivsteps, -nopolar, ...).
bool mentions_flag(const std::string& text, const std::string& flag) {
    for (size_t p = text.find(flag); p != std::string::npos; p = text.find(flag, p + 1)) {
        const bool start =
            p == 0 || !(std::isalnum((unsigned char)text[p - 1]) || text[p - 1] == '-' || text[p - 1] == '_');
        const size_t e = p + flag.size();
        const bool end = e == text.size() || !(std::isalnum((unsigned char)text[e]) || text[e] == '_');
        if (start && end) return true;
    }
    return false;
}

// The help text about `flag`: every line that mentions it, each with the lines
// that follow up to the next line starting with a flag.
std::vector<std::string> help_blocks(const std::string& help, const std::string& flag) {
    const std::vector<std::string> ls = lines(help);
    std::vector<std::string> out;
    for (size_t i = 0; i < ls.size(); ++i) {
        if (!mentions_flag(ls[i], flag)) continue;
        std::string block = ls[i];
        for (size_t j = i + 1; j < ls.size(); ++j) {
            const size_t k = ls[j].find_first_not_of(" \t");
            if (k == std::string::npos || ls[j][k] == '-') break;
            block += "\n" + ls[j];
        }
        out.push_back(block);
    }
    return out;
}

TEST(NonBragg, HelpListsEveryFlagWithUnitsAndDefaults) {
    TempDir dir("nonbragg_help");
    RunResult r = run_cli({"-h"}, dir.path.string(), 60, nonbragg_path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string& help = r.out;
    for (const char* f : {"-stol",       "-4stol",     "-Q",          "-thick",     "-samplesize", "-density",
                          "-MW",         "-molecules", "-beamsize",   "-flux",      "-exposure",   "-fluence",
                          "-lambda",     "-energy",    "-dispersion", "-dispsteps", "-divergence", "-hdivrange",
                          "-vdivrange",  "-divsteps",  "-sourcefile", "-distance",  "-pixel",      "-detpixels",
                          "-oversample", "-polar",     "-nopolar",    "-floatfile", "-intfile",    "-pgmfile",
                          "-noisefile",  "-seed",      "-adc",        "-scale",     "-roi",        "-Fmap"})
        EXPECT_TRUE(mentions_flag(help, f)) << f << " missing from the help";

    // the unit of each flag that has one, on its line (or the lines under it)
    const std::vector<std::pair<std::string, std::vector<std::string>>> units = {
        {"-thick", {"mm"}},
        {"-samplesize", {"mm"}},
        {"-beamsize", {"mm"}},
        {"-distance", {"mm"}},
        {"-pixel", {"mm"}},
        {"-density", {"g/cm^3", "g/cm3", "g/cc"}},
        {"-MW", {"g/mol", "Da"}},
        {"-flux", {"photons/s"}},
        {"-exposure", {"(s", "s)", " s ", " s,", "second"}},
        {"-fluence", {"photons/m^2", "photons/m2"}},
        {"-lambda", {"Angstrom", "(A", "A)", " A ", " A,", "\xC3\x85"}},
        {"-energy", {"eV"}},
        {"-dispersion", {"%", "percent"}},
        {"-divergence", {"mrad"}},
        {"-hdivrange", {"mrad"}},
        {"-vdivrange", {"mrad"}},
        {"-adc", {"ADU"}},
    };
    for (const auto& [flag, alternatives] : units) {
        bool found = false;
        for (const auto& b : help_blocks(help, flag))
            for (const auto& u : alternatives) found = found || b.find(u) != std::string::npos;
        EXPECT_TRUE(found) << flag << ": no unit (" << testing::PrintToString(alternatives) << ") on its help line";
    }
    // C's defaults that the golden cases show: beam 0.1 mm, water (1 g/cm^3, 18 g/mol), 1 A
    const std::vector<std::pair<std::string, std::string>> defaults = {
        {"-beamsize", "0.1"}, {"-density", "1"}, {"-MW", "18"}, {"-lambda", "1"}};
    for (const auto& [flag, value] : defaults) {
        bool found = false;
        for (const auto& b : help_blocks(help, flag)) {
            const size_t d = b.find("default");
            found = found || (d != std::string::npos && b.find(value, d) != std::string::npos);
        }
        EXPECT_TRUE(found) << flag << ": no 'default ... " << value << "' on its help line";
    }
    EXPECT_EQ(help.find("--"), std::string::npos) << "flags are shown with one dash";
}

// C's -gain serves only its inverse mode, and C recomputes -pix0_vector from
// the beam centre: both are accepted and change nothing, as in C; so are a
// nanoBragg line's -hkl, -mat and -dmin (C's parsing of them is commented out).
TEST(NonBragg, GainAndPix0VectorChangeNothingAsInC) {
    TempDir dir("nonbragg_ignored");
    const std::vector<std::string> base = {"-stol", water(), "-detpixels", "24", "-nonoise", "-nopgm", "-noprogress"};
    std::vector<std::string> a = base, b = base;
    a.insert(a.end(), {"-floatfile", "a.bin"});
    b.insert(b.end(), {"-gain", "3", "-pix0_vector", "0.1", "0.02", "-0.03", "-hkl", "no.hkl", "-mat", "no.mat",
                       "-dmin", "2", "-floatfile", "b.bin"});
    ASSERT_EQ(run_cli(a, dir.path.string(), 60, nonbragg_path()).exit_code, 0);
    RunResult r = run_cli(b, dir.path.string(), 60, nonbragg_path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* f : {"-hkl", "-mat", "-dmin"})
        EXPECT_NE((r.out + r.err).find(std::string("WARNING: ") + f + " changes nothing"), std::string::npos) << f;
    const std::string ia = read_file(dir.file("a.bin"));
    EXPECT_EQ(ia.size(), 4u * 24 * 24);
    EXPECT_EQ(ia, read_file(dir.file("b.bin")));
}

// -detpixels 0, as C reads it: the count from -detsize, ceil(2.35 mm / 0.1 mm)
// = 24 (nonBragg's rule; nanoBragg's would give 23). It had been refused.
TEST(NonBragg, DetpixelsZeroTakesTheCountFromDetsize) {
    TempDir dir("nonbragg_detpixels_zero");
    RunResult r = run_cli({"-stol", water(), "-detpixels", "0", "-detsize", "2.35", "-nonoise", "-nopgm", "-noprogress",
                           "-floatfile", "z.bin"},
                          dir.path.string(), 60, nonbragg_path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("(24x24 pixels)"), std::string::npos) << r.out;
    EXPECT_EQ(read_file(dir.file("z.bin")).size(), 4u * 24 * 24);
}

// -beamsize negative, as C nonBragg reads it: the sample is not clipped to
// the beam and -flux does not set the fluence. It had been refused.
TEST(NonBragg, NegativeBeamsizeLeavesTheSampleUnclipped) {
    TempDir dir("nonbragg_negative_beamsize");
    auto image = [&](const std::vector<std::string>& extra) {
        std::vector<std::string> a = {"-stol", water(),    "-detpixels", "24",         "-width",
                                      "0.2",   "-nonoise", "-nopgm",     "-noprogress"};
        a.insert(a.end(), extra.begin(), extra.end());
        a.insert(a.end(), {"-floatfile", "b.bin"});
        RunResult r = run_cli(a, dir.path.string(), 60, nonbragg_path());
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return read_file(dir.file("b.bin"));
    };
    const std::string unclipped = image({"-beamsize", "-1", "-flux", "1e12"}), wide = image({"-beamsize", "1000"});
    ASSERT_EQ(unclipped.size(), 4u * 24 * 24);
    EXPECT_EQ(unclipped, wide);
    EXPECT_NE(image({}), wide);  // the 0.1 mm beam clips the 0.2 mm wide sample
}

// The sampling flags C resolves by "<= 0" or "< 0" tests take any negative
// value as auto, as C does (the images and SMV files byte-identical to C's
// by hand, 2026-12-04); they had been refused below 0.
TEST(NonBragg, NegativeSamplingValuesAreAutoAsC) {
    TempDir dir("nonbragg_negative_sampling");
    auto image = [&](const std::vector<std::string>& extra) {
        std::vector<std::string> a = {"-stol",    water(),       "-detpixels",  "24",       "-divergence",
                                      "0.3",      "-dispersion", "0.1",         "-osc",     "0.2",
                                      "-nonoise", "-nopgm",      "-noprogress", "-intfile", "i.img"};
        a.insert(a.end(), extra.begin(), extra.end());
        a.insert(a.end(), {"-floatfile", "b.bin"});
        RunResult r = run_cli(a, dir.path.string(), 60, nonbragg_path());
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return read_file(dir.file("b.bin")) + read_file(dir.file("i.img"));
    };
    const std::string plain = image({});
    ASSERT_GT(plain.size(), 4u * 24 * 24);
    EXPECT_EQ(image({"-oversample", "-3", "-hdivsteps", "-2", "-vdivsteps", "-5", "-dispsteps", "-7", "-hdivstep", "-1",
                     "-vdivstep", "-2", "-phisteps", "-4", "-phistep", "-1"}),
              plain);
    EXPECT_EQ(image({"-divsteps", "-2"}), plain);
    EXPECT_EQ(image({"-oversample", "-2"}), image({"-oversample", "1"}));
    EXPECT_NE(image({"-divsteps", "3"}), plain);
}

// C sets -curved_det only when some argument follows it, and reads none: a
// value after it is skipped, a flag after it stays a flag (we had taken
// "-floatfile" for its value), and last on the line it does nothing.
TEST(NonBragg, CurvedDetIsReadAsC) {
    TempDir dir("nonbragg_curved");
    const std::vector<std::string> base = {"-stol", water(),    "-detpixels", "24",         "-distance",
                                           "5",     "-nonoise", "-nopgm",     "-noprogress"};
    auto render = [&](std::vector<std::string> extra, const std::string& file, bool last) {
        std::vector<std::string> a = base;
        if (!last) a.insert(a.end(), extra.begin(), extra.end());
        a.insert(a.end(), {"-floatfile", file});
        if (last) a.insert(a.end(), extra.begin(), extra.end());
        RunResult r = run_cli(a, dir.path.string(), 60, nonbragg_path());
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return std::make_pair(read_file(dir.file(file)), r.out + r.err);
    };
    const auto flat = render({}, "flat.bin", false);
    const auto value = render({"-curved_det", "1"}, "value.bin", false);
    const auto flag = render({"-curved_det"}, "flag.bin", false);  // followed by -floatfile
    const auto last = render({"-curved_det"}, "last.bin", true);
    ASSERT_EQ(flat.first.size(), 4u * 24 * 24);
    EXPECT_NE(value.first, flat.first);  // curved at 5 mm: the corners move
    EXPECT_EQ(flag.first, value.first);
    EXPECT_EQ(last.first, flat.first);
    EXPECT_NE(last.second.find("WARNING: -curved_det is the last argument"), std::string::npos) << last.second;
}

TEST(NonBragg, WritesCsDefaultFileNames) {
    TempDir dir("nonbragg_defaults");
    RunResult r =
        run_cli({"-stol", water(), "-detpixels", "32", "-seed", "1"}, dir.path.string(), 120, nonbragg_path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(dir.file("floatimage.bin")).size(), 32u * 32 * 4);
    EXPECT_EQ(read_file(dir.file("intimage.img")).size(), 512u + 32 * 32 * 2);
    EXPECT_EQ(read_file(dir.file("noiseimage.img")).size(), 512u + 32 * 32 * 2);
    const std::string pgm = read_file(dir.file("image.pgm"));
    const PgmHeader h = pgm_header(pgm);
    ASSERT_GT(h.length, 0u) << "image.pgm is not a PGM: " << pgm.substr(0, 60);
    EXPECT_EQ(h.w, 32);
    EXPECT_EQ(h.h, 32);
    EXPECT_EQ(pgm.size(), h.length + 32u * 32);
}

// -device auto (the default) keeps a short run on the CPU and says so, as
// nanoBragg does: 32x32 pixels, one source, no oversampling
TEST(NonBragg, AutoKeepsShortRunsOnTheCpu) {
    TempDir dir("nonbragg_auto");
    RunResult r = run_cli({"-stol", water(), "-detpixels", "32", "-seed", "1", "-threads", "2", "-nonoise", "-nopgm"},
                          dir.path.string(), 120, nonbragg_path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("-device auto: a short run (1.02e+03 evaluations, 2 CPU threads) renders on the CPU"),
              std::string::npos)
        << r.out;
}

}  // namespace
