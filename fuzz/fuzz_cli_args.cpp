// The command line end to end: argv from the input bytes, then (when the
// arguments parse) set-up, a render of the image and its SMV/PGM encodings,
// so that a value that passes the flag checks but breaks the physics (issue
// 10: -N -5 -ORGY 1e400 read outside the HKL grid) is found here. A custom
// mutator pulls numbers toward the edges (NaN, infinities, overflow, zero,
// int limits), which plain byte flips rarely reach. A hash of the input
// picks the CPU executor: the SIMD one (default and, with -exact, exact
// arithmetic) or the scalar reference.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "engine/cbf_writer.hpp"
#include "engine/hkl_io.hpp"
#include "engine/image_io.hpp"
#include "engine/render.hpp"
#include "engine/setup.hpp"

namespace {

// Renders larger than this are skipped: the fuzzer is after wrong control
// flow and memory errors, which a small image shows as well as a big one.
constexpr double kMaxEvaluations = 20000;

std::vector<std::string> split_tokens(const uint8_t* data, size_t size) {
    std::vector<std::string> tokens;
    std::string cur;
    for (size_t i = 0; i <= size; ++i) {
        char c = i < size ? (char)data[i] : ' ';
        if (c == ' ' || c == '\n' || c == '\t' || c == '\0') {
            if (!cur.empty()) tokens.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    return tokens;
}

// Seeds name golden inputs by their bare names (lyso.hkl, ortho.mat); they
// are resolved in NB_FUZZ_INPUTS. Fdump.bin goes to a private directory, so
// it never lands in the tree (changing directory would upset libFuzzer's
// relative corpus paths).
struct Workdir {
    Workdir() {
        if (const char* d = std::getenv("NB_FUZZ_INPUTS")) inputs = d;
        char tmpl[] = "/tmp/nb_fuzz_cli_XXXXXX";
        if (!mkdtemp(tmpl)) std::abort();
        dir = tmpl;
        fdump = dir + "/Fdump.bin";
        devnull = std::fopen("/dev/null", "wb");
    }
    ~Workdir() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    std::string resolve(const std::string& token) const {
        namespace fs = std::filesystem;
        if (inputs.empty() || token.empty() || token[0] == '-' || token.find('/') != std::string::npos) return token;
        std::error_code ec;
        const fs::path p = fs::path(inputs) / token;
        return fs::is_regular_file(p, ec) ? p.string() : token;
    }
    std::string inputs, dir, fdump;
    std::FILE* devnull = nullptr;
};

bool names_a_device_file(const std::string& t) {
    return t.find("/dev") != std::string::npos || t.find("/proc") != std::string::npos ||
           t.find("/sys") != std::string::npos;
}

// A row file's bytes, every row in one piece (what the writers' blocks hold).
void put_rows(std::FILE* sink, const nb::RowFile& rf) {
    std::vector<char> scratch((size_t)rf.rows * rf.row_bytes);
    const void* rows = rf.rows_at(0, rf.rows, scratch.data());
    std::fwrite(rf.header.data(), 1, rf.header.size(), sink);
    std::fwrite(rows, 1, scratch.size(), sink);
}

void render_and_encode(const nb::SimConfig& cfg, const Workdir& work) {
    nb::SimConfig c = cfg;
    c.threads = 1;
    c.fdump_file = work.fdump;
    // The HKL text parser has a target of its own; reading lyso.hkl (1.6 MB)
    // on every input would make this one twenty times slower.
    static std::map<std::pair<std::string, double>, nb::HklGrid> grids;
    const nb::HklGrid* grid = nullptr;
    if (!c.hkl_file.empty() && c.hkl_file.rfind(work.inputs, 0) == 0 && !work.inputs.empty()) {
        auto key = std::make_pair(c.hkl_file, c.default_F);
        auto it = grids.find(key);
        if (it == grids.end()) {
            std::vector<std::string> notes;
            it = grids.emplace(key, nb::read_hkl_text(c.hkl_file, c.default_F, notes)).first;
        }
        grid = &it->second;
    }
    nb::Experiment e = grid ? nb::prepare_experiment(c, *grid) : nb::prepare_experiment(c);
    std::remove(work.fdump.c_str());  // each input starts from the same files
    std::FILE* sink = work.devnull;
    // Sub-pixels cost geometry work even when no source survives (C then
    // divides by zero steps, a NaN image, in seconds or hours of loops).
    const double subpixels =
        (double)e.det.fpixels * e.det.spixels * e.samp.oversample * e.samp.oversample * e.samp.thicksteps;
    if (!(nb::evaluation_count(e) <= kMaxEvaluations && subpixels <= kMaxEvaluations)) return;
    nb::RenderOptions opt;
    opt.threads = 1;
    opt.precision = cfg.precision == "float" ? nb::Precision::Float : nb::Precision::Double;
    nb::RenderResult r = nb::render_image(e, opt);
    const double int_scale = nb::auto_int_scale(cfg.intfile_scale, r.stats.max_I);
    put_rows(sink, nb::smv_int_rows(e, r.image, int_scale));
    put_rows(sink, nb::pgm_rows(e, r.image, nb::auto_pgm_scale(cfg.pgm_scale, int_scale, r.stats.rmsd)));
    const nb::NoiseImage noise = nb::make_noise_image(e, r.image, cfg.seed ? *cfg.seed : 1);
    put_rows(sink, nb::smv_noise_rows(e, noise));
    nb::write_minicbf(sink, e, noise, "fuzz");
}

const char* const kEdgeNumbers[] = {"nan",    "-nan",       "inf",        "-inf",        "1e400",      "-1e400",
                                    "0",      "-0",         "-1",         "-5",          "1e-320",     "1e308",
                                    "-1e308", "2147483647", "2147483648", "-2147483649", "4294967296", "0.5",
                                    "1e-9",   "180",        "360",        "90",          "9e18",       "0x1p-1074"};

bool looks_numeric(const std::string& t) {
    return !t.empty() && (std::isdigit((unsigned char)t[0]) || ((t[0] == '-' || t[0] == '+' || t[0] == '.') &&
                                                                t.size() > 1 && !std::isalpha((unsigned char)t[1])));
}

// FNV-1a: the same input always takes the same executor (reproducible findings)
bool takes_scalar_executor(const uint8_t* data, size_t size) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 16777619u;
    return h & 1;
}

}  // namespace

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

// Half the time one number of the command line becomes an edge value; the
// other half libFuzzer's own byte-level mutations run.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
    std::minstd_rand rng(seed);
    std::vector<std::string> tokens = split_tokens(data, size);
    std::vector<size_t> numeric;
    for (size_t i = 0; i < tokens.size(); ++i)
        if (looks_numeric(tokens[i])) numeric.push_back(i);
    if (numeric.empty() || rng() % 2 == 0) return LLVMFuzzerMutate(data, size, max_size);
    tokens[numeric[rng() % numeric.size()]] = kEdgeNumbers[rng() % (sizeof kEdgeNumbers / sizeof *kEdgeNumbers)];
    std::string out;
    for (const std::string& t : tokens) out += (out.empty() ? "" : " ") + t;
    if (out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
    std::memcpy(data, out.data(), out.size());
    return out.size();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Workdir work;
    // kernels/cpu_dispatch.cpp reads NB_CPU_ISA at each render
    if (takes_scalar_executor(data, size))
        setenv("NB_CPU_ISA", "scalar", 1);
    else
        unsetenv("NB_CPU_ISA");
    std::vector<std::string> tokens{"nanoBragg"};
    for (std::string& t : split_tokens(data, size)) {
        if (names_a_device_file(t)) return 0;
        tokens.push_back(work.resolve(t));
    }
    // -img/-mask read headers from files the fuzzer names; dropped
    std::vector<const char*> argv;
    for (size_t i = 0; i < tokens.size(); ++i) {
        if (tokens[i] == "-img" || tokens[i] == "-mask") {
            ++i;
            continue;
        }
        argv.push_back(tokens[i].c_str());
    }
    try {
        nb::ParsedArgs p = nb::parse_args((int)argv.size(), argv.data());
        if (!p.help && !p.version) render_and_encode(p.config, work);
    } catch (const nb::UsageError&) {
    } catch (const std::runtime_error&) {  // MissingInput and file errors too
    }
    std::remove(work.fdump.c_str());
    return 0;
}
