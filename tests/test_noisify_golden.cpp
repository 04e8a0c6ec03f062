// noisify against C noisify: every command line of tests/golden/noisify
// (manifest.json) run through our noisify in a fresh folder. The SMV files
// must hold C's bytes after the 512-byte header and the same header keys and
// values, the PGM C's bytes, and the printed statistics C's numbers. Then bad
// input: one line naming the flag or file, exit status 2, nothing written.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <regex>

#include "engine/detector_response.hpp"
#include "engine/psf_fft.hpp"
#include "tests/run_cli.hpp"

using namespace nbtest;

namespace {

std::string noisify_golden() { return golden_dir() + "/noisify"; }
std::string inputs() { return noisify_golden() + "/inputs"; }

struct Case {
    std::string id, args;
    std::vector<std::string> outputs;
    nlohmann::json stats;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.id; }

std::vector<Case> load_cases() {
    std::string text = read_file(noisify_golden() + "/manifest.json");
    std::vector<Case> cases;
    if (text.empty()) return cases;
    const nlohmann::json m = nlohmann::json::parse(text);
    for (const auto& [id, c] : m.at("cases").items()) cases.push_back({id, c.at("args"), c.at("outputs"), c});
    return cases;
}

std::string substitute(std::string s, const std::string& from, const std::string& to) {
    for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
        s.replace(pos, from.size(), to);
    return s;
}

// An SMV header's KEY=VALUE; pairs, in order.
std::vector<std::pair<std::string, std::string>> header_fields(const std::string& file) {
    std::vector<std::pair<std::string, std::string>> out;
    const std::string h = file.substr(0, std::min<size_t>(512, file.size()));
    std::regex kv("([A-Z_0-9]+)=([^;\\n]*);");
    for (std::sregex_iterator it(h.begin(), h.end(), kv), end; it != end; ++it) out.push_back({(*it)[1], (*it)[2]});
    return out;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

// The number after `prefix` on the line that starts with it (NaN when absent).
double number_after(const std::string& text, const std::string& prefix) {
    for (const auto& l : lines(text))
        if (l.rfind(prefix, 0) == 0) return std::strtod(l.c_str() + prefix.size(), nullptr);
    return NAN;
}
double number_before(const std::string& text, const std::string& suffix) {
    for (const auto& l : lines(text)) {
        size_t p = l.find(suffix);
        if (p != std::string::npos) return std::strtod(l.c_str(), nullptr);
    }
    return NAN;
}

class NoisifyGolden : public testing::TestWithParam<Case> {};

// -exact: C's direct PSF (the default mode may convolve by FFT, below)
TEST_P(NoisifyGolden, ByteIdenticalToC) {
    const Case& c = GetParam();
    TempDir dir("noisify_" + c.id);
    RunResult r =
        run_cli(split_ws(substitute(c.args, "{in}", inputs()) + " -exact"), dir.path.string(), 300, noisify_path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string cdir = noisify_golden() + "/cases/" + c.id;

    for (const std::string& o : c.outputs) {
        const std::string ours = read_file(dir.file(o)), ref = read_file(cdir + "/" + o);
        ASSERT_GT(ref.size(), 512u) << o;
        ASSERT_EQ(ours.size(), ref.size()) << o;
        if (o.size() > 4 && o.substr(o.size() - 4) == ".pgm") {
            EXPECT_TRUE(ours == ref) << o << ": PGM differs from C's";
            continue;
        }
        EXPECT_EQ(header_fields(ours), header_fields(ref)) << o << ": SMV header keys or values differ";
        EXPECT_GE(header_fields(ref).size(), 10u) << o;
        size_t first = std::string::npos;
        for (size_t i = 512; i < ref.size() && first == std::string::npos; ++i)
            if (ours[i] != ref[i]) first = i;
        EXPECT_EQ(first, std::string::npos) << o << ": data differ from C's first at byte " << first;
        EXPECT_TRUE(ours == ref) << o << ": bytes differ from C's (header padding included)";
    }

    // statistics, as numbers
    const std::string c_out = substitute(read_file(cdir + "/c.stdout.txt"), "{in}", inputs());
    if (c.stats.contains("noise_photons")) {
        EXPECT_EQ(number_before(r.out, " photons on noise image ("), c.stats["noise_photons"].get<double>());
        EXPECT_EQ(number_after(r.out.substr(r.out.find(" photons on noise image (") + 25), ""),
                  c.stats["overloads"].get<double>());
    }
    if (c.stats.contains("psf_radius") && c.args.find("-psf_radius") == std::string::npos)
        EXPECT_EQ(number_after(r.out, "  auto-selected psf_radius = "), c.stats["psf_radius"].get<double>());
    const double c_max = number_after(c_out, "maximum value in input file: ");
    ASSERT_FALSE(std::isnan(c_max));
    EXPECT_EQ(number_after(r.out, "maximum value in input file: "), c_max);
    for (const char* p : {"adding back ", "  maximum input photon/pixel: "}) {
        EXPECT_EQ(std::isnan(number_after(r.out, p)), std::isnan(number_after(c_out, p))) << p;
        if (!std::isnan(number_after(c_out, p))) EXPECT_EQ(number_after(r.out, p), number_after(c_out, p)) << p;
    }

    // and every line C printed after its banner (the seed line only when -seed fixes it)
    std::vector<std::string> want = lines(c_out), got = lines(r.out);
    ASSERT_EQ(got.size(), want.size()) << r.out;
    const bool seeded = c.args.find("-seed") != std::string::npos;
    for (size_t i = 1; i < want.size(); ++i) {
        if (!seeded && want[i].rfind("  seed: ", 0) == 0) continue;
        EXPECT_EQ(got[i], want[i]) << "stdout line " << i + 1;
    }
}

namespace {

struct Agreement {
    double mean_ratio = 0, std_ratio = 0, correlation = 0, far = 0;  // far: fraction of pixels > 3 apart
};
Agreement compare_images(const std::vector<double>& a, const std::vector<double>& b) {
    const size_t n = a.size();
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    size_t far = 0;
    for (size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
    ma /= n, mb /= n;
    for (size_t i = 0; i < n; ++i) {
        sab += (a[i] - ma) * (b[i] - mb), saa += (a[i] - ma) * (a[i] - ma), sbb += (b[i] - mb) * (b[i] - mb);
        far += std::fabs(a[i] - b[i]) > 3;
    }
    return {ma / mb, std::sqrt(saa / sbb), sab / std::sqrt(saa * sbb), (double)far / n};
}

std::vector<double> smv_pixels(const std::string& bytes) {
    std::vector<double> v((bytes.size() - 512) / 2);
    for (size_t i = 0; i < v.size(); ++i) {
        uint16_t u;
        std::memcpy(&u, bytes.data() + 512 + 2 * i, 2);
        v[i] = u;
    }
    return v;
}

}  // namespace

// The default mode: C's bytes wherever it spreads the PSF directly; where it
// convolves by FFT (a large automatic radius) the images differ only by the
// model's difference (docs/noisify.md): every pixel's tail spread by the kernel
// instead of C's even add-back of the photons beyond each pixel's own radius.
TEST_P(NoisifyGolden, DefaultModeIsCsBytesOrTheFftModel) {
    const Case& c = GetParam();
    TempDir dir("noisify_default_" + c.id);
    RunResult r = run_cli(split_ws(substitute(c.args, "{in}", inputs())), dir.path.string(), 300, noisify_path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string cdir = noisify_golden() + "/cases/" + c.id;
    const bool fft = r.out.find("PSF convolved by FFT") != std::string::npos;
    for (const std::string& o : c.outputs) {
        const std::string ours = read_file(dir.file(o)), ref = read_file(cdir + "/" + o);
        ASSERT_EQ(ours.size(), ref.size()) << o;
        if (!fft) {
            EXPECT_TRUE(ours.compare(512, std::string::npos, ref, 512, std::string::npos) == 0) << o;
            continue;
        }
        // 16-bit images of the FFT cases: same mean within 0.5%, correlation >= 0.999, and
        // fewer than 1% of the pixels more than 3 ADU apart
        ASSERT_NE(o.find(".img"), std::string::npos) << o;
        const Agreement g = compare_images(smv_pixels(ours), smv_pixels(ref));
        EXPECT_NEAR(g.mean_ratio, 1.0, 5e-3) << o;
        EXPECT_GE(g.correlation, 0.999) << o;
        EXPECT_LT(g.far, 0.01) << o;
    }
}

namespace {

// The two ways of spreading at one fixed radius: the direct image's photons
// and the largest pixel difference between them.
struct SpreadAgreement {
    double total = 0, worst = 0;
};
SpreadAgreement spread_both_ways(const std::vector<float>& img, int w, int h, nb::PsfType type, int radius,
                                 std::string& fft_log) {
    std::string direct_log;
    const auto direct = nb::apply_psf(img, w, h, type, 3.0, radius, direct_log, nb::PsfLoop::Rows);
    const auto fft = nb::apply_psf(img, w, h, type, 3.0, radius, fft_log, nb::PsfLoop::Fft);
    EXPECT_EQ(direct.image.size(), fft.image.size());
    EXPECT_DOUBLE_EQ(direct.lost_photons, fft.lost_photons);
    SpreadAgreement a;
    for (size_t i = 0; i < std::min(direct.image.size(), fft.image.size()); ++i) {
        a.total += direct.image[i];
        a.worst = std::max(a.worst, (double)std::fabs(direct.image[i] - fft.image[i]));
    }
    return a;
}

}  // namespace

TEST(NoisifyPsf, FftEqualsDirectSpreadingAtAFixedRadius) {
    // with -psf_radius every pixel spreads within the same disc: the two ways
    // are the same model and differ by rounding only (away from C's row wrap
    // at the right edge, so the spots stay inside)
    const int w = 96, h = 80;
    std::vector<float> img((size_t)w * h, 0.0f);
    uint32_t state = 12345;
    for (int y = 20; y < 60; ++y)
        for (int x = 20; x < 70; ++x) {
            state = state * 1664525u + 1013904223u;
            img[(size_t)y * w + x] = (float)(state >> 20);
        }
    for (nb::PsfType type : {nb::PsfType::Fiber, nb::PsfType::Gauss}) {
        std::string log;
        const SpreadAgreement a = spread_both_ways(img, w, h, type, 12, log);
        EXPECT_NE(log.find("PSF convolved by FFT"), std::string::npos) << log;
        EXPECT_GT(a.total, 1e6);
        EXPECT_LT(a.worst, 1e-3 * a.total / img.size()) << "largest pixel difference";
    }
}

TEST(NoisifyPsf, FftEqualsDirectSpreadingWhenTheKernelIsTallerThanTheImage) {
    // a strip 12 pixels high under a radius of 40: the FFT leaves out the
    // kernel's rows that reach no pixel (|dy| >= 12), and must still equal
    // direct spreading (the strip's spots stay clear of C's row wrap at the
    // right edge)
    const int w = 96, h = 12;
    std::vector<float> img((size_t)w * h, 0.0f);
    for (int y = 0; y < h; ++y)
        for (int x = 44; x < 52; ++x) img[(size_t)y * w + x] = (float)(100 + 7 * x + 13 * y);
    std::string log;
    const SpreadAgreement a = spread_both_ways(img, w, h, nb::PsfType::Fiber, 40, log);
    EXPECT_NE(log.find("PSF convolved by FFT (radius 40"), std::string::npos) << log;
    EXPECT_GT(a.total, 3e4);
    EXPECT_LT(a.worst, 1e-4 * a.total / img.size()) << "largest pixel difference";
}

TEST(NoisifyPsf, FftOnARealisticImageStaysCloseToCsDirectSpreading) {
    // inputs/realistic_512.bin: lysozyme spots on water (the C suite's PSF timing image) under
    // noisify's fiber PSF (46 um on 0.1 mm pixels), whose automatic radius, 167 pixels on
    // these photons, makes the default mode convolve by FFT: the two models on the same photons
    const std::string raw = read_file(inputs() + "/realistic_512.bin");
    ASSERT_EQ(raw.size(), 512u * 512u * 4u);
    std::vector<float> img(512 * 512);
    std::memcpy(img.data(), raw.data(), raw.size());
    std::string la, lb;
    const double fwhm = (double)46e-6f / 0.1e-3;
    const auto direct = nb::apply_psf(img, 512, 512, nb::PsfType::Fiber, fwhm, 0, la, nb::PsfLoop::Rows);
    const auto fft = nb::apply_psf(img, 512, 512, nb::PsfType::Fiber, fwhm, 0, lb, nb::PsfLoop::Auto);
    EXPECT_NE(lb.find("PSF convolved by FFT (radius 167 pixels"), std::string::npos) << lb;
    EXPECT_EQ(la.find("PSF convolved by FFT"), std::string::npos) << la;
    EXPECT_TRUE(nb::psf_prefers_fft(img, 512, 512, nb::PsfType::Fiber, fwhm, 0)) << "the prediction is Auto's choice";
    const Agreement a = compare_images(std::vector<double>(fft.image.begin(), fft.image.end()),
                                       std::vector<double>(direct.image.begin(), direct.image.end()));
    // measured: mean 0.17% lower (tails carried off the edges), correlation 0.99908, 0.19% of
    // the pixels more than 3 photons apart
    EXPECT_NEAR(a.mean_ratio, 1.0, 5e-3);
    EXPECT_GE(a.correlation, 0.999);
    EXPECT_LT(a.far, 0.01);
    EXPECT_NE(fft.image, direct.image) << "the two ways cannot give the same values here";
}

TEST(NoisifyPsf, DefaultModeDrawsPerPixelWhereThePsfGoesByFft) {
    // where the PSF goes by FFT the default mode's noise comes from per-pixel streams
    // (engine/pixel_random.hpp), drawn in parallel: the same bytes for any thread count,
    // C's distributions but not C's values (-exact: C's serial sequence)
    TempDir dir("noisify_fft");
    const std::string args = "-floatfile " + inputs() + "/realistic_512.bin -detpixels 512 -psf fiber -seed 1 -nopgm";
    RunResult fft =
        run_cli(split_ws(args + " -noisefile fft.img -intfile a.img"), dir.path.string(), 300, noisify_path());
    RunResult one = run_cli(split_ws(args + " -noisefile one.img -intfile c.img"), dir.path.string(), 300,
                            noisify_path(), {{"OMP_NUM_THREADS", "1"}});
    RunResult direct = run_cli(split_ws(args + " -noisefile direct.img -intfile b.img -exact"), dir.path.string(), 300,
                               noisify_path());
    ASSERT_EQ(fft.exit_code, 0) << fft.err;
    ASSERT_EQ(one.exit_code, 0) << one.err;
    ASSERT_EQ(direct.exit_code, 0) << direct.err;
    EXPECT_NE(fft.out.find("noise drawn per pixel"), std::string::npos) << fft.out;
    EXPECT_NE(fft.out.find("PSF convolved by FFT"), std::string::npos) << fft.out;
    EXPECT_EQ(direct.out.find("noise drawn per pixel"), std::string::npos) << direct.out;
    const std::string a = read_file(dir.file("fft.img")), b = read_file(dir.file("direct.img"));
    ASSERT_EQ(a.size(), 512u + 512u * 512u * 2u);
    ASSERT_EQ(b.size(), a.size());
    EXPECT_EQ(a, read_file(dir.file("one.img"))) << "one thread and two give the same image";
    EXPECT_EQ(read_file(dir.file("a.img")), read_file(dir.file("b.img"))) << "the noiseless images are the same";
    const Agreement g = compare_images(smv_pixels(a), smv_pixels(b));
    // measured: mean 0.16% lower (the FFT's tails carried off the edges), spread 0.8% lower,
    // correlation 0.9635 (two independent noise images of a mean of 162 ADU)
    EXPECT_NEAR(g.mean_ratio, 1.0, 5e-3);
    EXPECT_NEAR(g.std_ratio, 1.0, 0.02);
    EXPECT_GE(g.correlation, 0.95);
    EXPECT_LT(g.correlation, 0.99) << "independent draws";
}

TEST(NoisifyPsf, SinglePrecisionFftStaysWithinAMillionthOfTheBrightestPixel) {
    // the default mode convolves in single precision (engine/psf_fft.hpp): on
    // realistic_512 with the automatic fiber radius (171 pixels) it must stay
    // within 1e-6 of the brightest pixel of the double transform everywhere
    const std::string raw = read_file(inputs() + "/realistic_512.bin");
    const int w = 512, h = 512;
    ASSERT_EQ(raw.size(), (size_t)w * h * 4);
    std::vector<float> img((size_t)w * h);
    std::memcpy(img.data(), raw.data(), raw.size());
    for (float& v : img) v = std::max(0.0f, v) * 1000.0f;  // counts of a bright frame
    const int kr = 171, ks = 2 * kr + 1;
    const double g = 0.652383013252053 * 1.0;  // fiber kernel, FWHM one pixel
    std::vector<double> kernel((size_t)ks * ks, 0.0);
    for (int dy = -kr; dy <= kr; ++dy)
        for (int dx = -kr; dx <= kr; ++dx)
            if (dx * dx + dy * dy <= kr * kr) kernel[(size_t)ks * (dy + kr) + dx + kr] = nb::fiber_psf_pixel(dx, dy, g);
    const auto d = nb::convolve_fft(img, w, h, kernel, kr, nb::FftPrecision::Double);
    const auto f = nb::convolve_fft(img, w, h, kernel, kr, nb::FftPrecision::Single);
    double brightest = 0, worst = 0, sum_d = 0, sum_f = 0;
    for (size_t i = 0; i < d.size(); ++i) {
        brightest = std::max(brightest, (double)d[i]);
        worst = std::max(worst, (double)std::fabs(d[i] - f[i]));
        sum_d += d[i], sum_f += f[i];
    }
    EXPECT_GT(brightest, 1e5);
    EXPECT_GT(worst, 0.0) << "the two precisions cannot agree to the bit";
    EXPECT_LT(worst, 1e-6 * brightest);
    EXPECT_NEAR(sum_f / sum_d, 1.0, 1e-6);
}

TEST(NoisifyPsf, TheKernelsTransformIsKeptForTheNextImage) {
    // a series convolves every frame with the same kernel: its transform is
    // made once; another kernel (or size) makes its own
    const int w = 120, h = 90, kr = 20, ks = 2 * kr + 1;
    std::vector<float> a((size_t)w * h, 0.0f), b = a;
    for (size_t i = 0; i < a.size(); i += 37) a[i] = 100.0f + (float)(i % 11);
    for (size_t i = 5; i < b.size(); i += 53) b[i] = 50.0f + (float)(i % 7);
    auto fiber = [&](double g) {
        std::vector<double> k((size_t)ks * ks, 0.0);
        for (int dy = -kr; dy <= kr; ++dy)
            for (int dx = -kr; dx <= kr; ++dx)
                if (dx * dx + dy * dy <= kr * kr) k[(size_t)ks * (dy + kr) + dx + kr] = nb::fiber_psf_pixel(dx, dy, g);
        return k;
    };
    const std::vector<double> k1 = fiber(1.0), k2 = fiber(3.0);
    for (nb::FftPrecision p : {nb::FftPrecision::Single, nb::FftPrecision::Double}) {
        nb::convolve_fft(a, w, h, k1, kr, p);
        const std::vector<float> kept = nb::convolve_fft(b, w, h, k1, kr, p);  // k1's transform from the first call
        const std::vector<float> other = nb::convolve_fft(b, w, h, k2, kr, p);
        const std::vector<float> fresh = nb::convolve_fft(b, w, h, k1, kr, p);  // made again after k2
        EXPECT_EQ(kept, fresh);
        EXPECT_NE(kept, other);
        double sum_b = 0, sum_kept = 0;
        for (size_t i = 0; i < b.size(); ++i) sum_b += b[i], sum_kept += kept[i];
        EXPECT_GT(sum_kept, 0.5 * sum_b);  // the photons stay (less the tails beyond the edges)
    }
}

TEST(NoisifyPsf, AnAsymmetricKernelShiftsTheImage) {
    // a PSF's kernel is even in x and y (its transform is kept as real values);
    // any other kernel takes the complex transform: a single off-centre element
    // moves every pixel by its offset
    const int w = 64, h = 48, kr = 5, ks = 2 * kr + 1;
    std::vector<float> img((size_t)w * h);
    for (size_t i = 0; i < img.size(); ++i) img[i] = (float)((i * 2654435761u) % 1000);
    std::vector<double> kernel((size_t)ks * ks, 0.0);
    kernel[(size_t)ks * (-2 + kr) + 3 + kr] = 1.0;  // dx = 3, dy = -2
    for (nb::FftPrecision p : {nb::FftPrecision::Single, nb::FftPrecision::Double}) {
        const std::vector<float> out = nb::convolve_fft(img, w, h, kernel, kr, p);
        double worst = 0;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const int sx = x - 3, sy = y + 2;
                const float want = sx >= 0 && sy < h ? img[(size_t)sy * w + sx] : 0.0f;
                worst = std::max(worst, (double)std::fabs(out[(size_t)y * w + x] - want));
            }
        EXPECT_LT(worst, 1e-3) << (p == nb::FftPrecision::Single ? "single" : "double");
    }
}

std::string name_of(const testing::TestParamInfo<Case>& i) { return i.param.id; }
INSTANTIATE_TEST_SUITE_P(Cases, NoisifyGolden, testing::ValuesIn(load_cases()), name_of);

TEST(NoisifyGoldenSuite, ManifestHoldsEveryCaseWithItsFiles) {
    const auto cases = load_cases();
    ASSERT_EQ(cases.size(), 15u);
    for (const auto& c : cases) {
        ASSERT_FALSE(c.outputs.empty()) << c.id;
        for (const auto& o : c.outputs)
            EXPECT_TRUE(file_exists(noisify_golden() + "/cases/" + c.id + "/" + o)) << c.id << " " << o;
        for (const auto& a : split_ws(c.args))
            if (a.rfind("{in}/", 0) == 0)
                EXPECT_TRUE(std::filesystem::exists(inputs() + a.substr(4))) << c.id << " " << a;
    }
}

// ---- bad input ----

// Files in `dir` other than the runner's own stdout/stderr captures.
std::vector<std::string> written(const TempDir& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir.path)) {
        const std::string n = e.path().filename().string();
        if (n != "stdout.txt" && n != "stderr.txt" && n.rfind("in_", 0) != 0) out.push_back(n);
    }
    return out;
}

void write_floats(const std::string& path, const std::vector<float>& v) {
    std::ofstream(path, std::ios::binary).write((const char*)v.data(), (std::streamsize)(v.size() * sizeof(float)));
}

// Runs a bad command line; expects exit 2, a first stderr line naming `names`
// and no file written (an existing intimage.img untouched).
void expect_refused(const std::vector<std::string>& args, const std::string& names, const std::string& setup = "") {
    TempDir dir("noisify_bad");
    std::ofstream(dir.file("intimage.img")) << "keep";
    if (setup == "nan" || setup == "inf") {
        std::vector<float> v(16 * 16, 1.0f);
        v[37] = setup == "nan" ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
        write_floats(dir.file("in_bad.bin"), v);
    }
    RunResult r = run_cli(args, dir.path.string(), 60, noisify_path());
    SCOPED_TRACE(testing::PrintToString(args));
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    const std::string first = r.err.substr(0, r.err.find('\n'));
    EXPECT_NE(first.find(names), std::string::npos) << first;
    EXPECT_EQ(first.rfind("noisify: error: ", 0), 0u) << first;
    EXPECT_EQ(read_file(dir.file("intimage.img")), "keep");
    std::vector<std::string> files = written(dir);
    EXPECT_EQ(files, std::vector<std::string>{"intimage.img"});
}

TEST(NoisifyBadInput, ImageSizeNotMatchingTheDetector) {
    const std::string spots = inputs() + "/spots_256.bin";
    expect_refused({"-floatfile", spots, "-detpixels", "200", "-seed", "1"}, "-floatfile: '" + spots + "' holds 65536");
    expect_refused({"-floatfile", spots, "-detpixels_x", "300", "-seed", "1"}, "300x218");
    // the -header's 160x120 pixels against a 256x256 image
    expect_refused({"-floatfile", spots, "-header", inputs() + "/header_160x120.img", "-seed", "1"}, "160x120 = 19200");
}

TEST(NoisifyBadInput, NegativeOrNonFiniteValues) {
    const std::string spots = inputs() + "/spots_256.bin";
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"-psf_fwhm", "-5"}, {"-readout", "-1"},  {"-flicker", "-0.1"},  {"-calibration", "-0.01"}, {"-gain", "-2"},
        {"-adc", "-40"},     {"-scale", "-1"},    {"-psf_radius", "-3"}, {"-fluence", "0"},         {"-pixel", "0"},
        {"-detpixels", "0"}, {"-readout", "nan"}, {"-flicker", "inf"},   {"-psf_fwhm", "-nan"},     {"-bits", "8"},
        {"-psf", "lorentz"}, {"-seed", "1.5"},    {"-distance", "-100"}};
    for (const auto& [flag, value] : bad)
        expect_refused({"-floatfile", spots, "-detpixels", "256", flag, value, "-psf", "gauss"}, flag + ":");
}

TEST(NoisifyBadInput, NanOrInfInTheImage) {
    expect_refused({"-floatfile", "in_bad.bin", "-detpixels", "16", "-seed", "2"},
                   "-floatfile: 'in_bad.bin' has a value that is not finite (nan) at pixel 5 2", "nan");
    expect_refused({"-floatfile", "in_bad.bin", "-detpixels", "16", "-seed", "2"}, "not finite (inf) at pixel 5 2",
                   "inf");
}

TEST(NoisifyBadInput, MissingFilesAndFlags) {
    expect_refused({"-detpixels", "16"}, "-floatfile: no input image given");
    expect_refused({"-floatfile", "no_such.bin"}, "-floatfile: cannot open 'no_such.bin'");
    expect_refused({"-floatfile", inputs() + "/spots_256.bin", "-header", inputs() + "/spots_256.bin"},
                   "-header: '" + inputs() + "/spots_256.bin' does not look like an SMV");
    expect_refused({"-floatfile", inputs() + "/spots_256.bin", "-bogus", "3"}, "-bogus: unknown flag");
    expect_refused({"-floatfile", inputs() + "/spots_256.bin", "-noisefile", "intimage.img"},
                   "-noisefile: 'intimage.img' is also the -intfile file");
    // one file under another spelling (it had been overwritten with exit 0)
    expect_refused({"-floatfile", inputs() + "/spots_256.bin", "-noisefile", "./intimage.img"},
                   "-noisefile: './intimage.img' is also the -intfile file");
    expect_refused({"-floatfile", inputs() + "/spots_256.bin", "-pgmfile", inputs() + "/../inputs/spots_256.bin"},
                   "-pgmfile: '" + inputs() + "/../inputs/spots_256.bin' is the input -floatfile");
}

// ---- behaviour ----

TEST(Noisify, HelpListsEveryFlagWithUnitsAndDefaults) {
    TempDir dir("noisify_help");
    RunResult r = run_cli({"-h"}, dir.path.string(), 60, noisify_path());
    ASSERT_EQ(r.exit_code, 0);
    for (const char* s : {"-floatfile",
                          "-header",
                          "-intfile",
                          "-noisefile",
                          "-pgmfile",
                          "-nopgm",
                          "-bits",
                          "-detpixels",
                          "-pixel",
                          "pixel size (mm, default 0.1)",
                          "-distance",
                          "-Xbeam",
                          "-Ybeam",
                          "-lambda",
                          "-scale",
                          "-fluence",
                          "-nonoise",
                          "-flicker",
                          "-calibration",
                          "default 0.03",
                          "-readout",
                          "ADU rms (default 0)",
                          "-gain",
                          "-adc",
                          "(ADU, default 40)",
                          "-seed",
                          "-calib_seed",
                          "default 123456789",
                          "-psf ",
                          "-psf_fwhm",
                          "(um, default 46",
                          "-psf_radius",
                          "(pixels, default 0"})
        EXPECT_NE(r.out.find(s), std::string::npos) << s;
    EXPECT_EQ(r.out.find("--"), std::string::npos) << "flags are shown with one dash";
}

// The stems C's substring matching accepts (-psf_fw, -psf_si, -psf_wi,
// -psf_rad, -readnoi) are the same flags as their full names.
TEST(Noisify, CsFlagStemsAreTheSameFlags) {
    TempDir dir("noisify_stems");
    const std::vector<std::string> base = {
        "-floatfile", inputs() + "/spots_256.bin", "-psf", "gauss", "-seed", "5", "-nopgm", "-intfile", "i.img"};
    std::vector<std::string> full = base, stems = base;
    full.insert(full.end(), {"-psf_fwhm", "90", "-psf_radius", "3", "-readout", "2", "-noisefile", "full.img"});
    ASSERT_EQ(run_cli(full, dir.path.string(), 60, noisify_path()).exit_code, 0);
    const std::string expected = read_file(dir.file("full.img"));
    EXPECT_EQ(expected.size(), 512u + 2 * 65536);
    // C reads -psf_radius with atof: "1e1" is 10 there, where an atoi count
    // would be 1 (refused: tests/test_cli_numeric_edges.cpp)
    for (const char* radius : {"10", "1e1"}) {
        std::vector<std::string> args = base;
        args.insert(args.end(), {"-psf_fwhm", "90", "-psf_radius", radius, "-noisefile", radius + std::string(".img")});
        RunResult r = run_cli(args, dir.path.string(), 60, noisify_path());
        ASSERT_EQ(r.exit_code, 0) << radius << r.err;
    }
    EXPECT_EQ(read_file(dir.file("1e1.img")), read_file(dir.file("10.img")));
    EXPECT_NE(read_file(dir.file("10.img")), expected);  // 10, not 3
    for (const char* width : {"-psf_fw", "-psf_si", "-psf_wi"}) {
        std::vector<std::string> args = stems;
        args.insert(args.end(), {width, "90", "-psf_rad", "3", "-readnoi", "2", "-noisefile", "stem.img"});
        RunResult r = run_cli(args, dir.path.string(), 60, noisify_path());
        ASSERT_EQ(r.exit_code, 0) << width << r.err;
        EXPECT_EQ(read_file(dir.file("stem.img")), expected) << width;
    }
}

// "-psf none" names the default (our -h says so); C warns "unknown psf type"
// and applies none. A later -psf wins, as in C.
TEST(Noisify, PsfNoneIsTheDefaultNamed) {
    TempDir dir("noisify_psf_none");
    auto noise = [&](std::vector<std::string> extra, const std::string& name) {
        std::vector<std::string> args = {
            "-floatfile", inputs() + "/spots_256.bin", "-seed", "5", "-nopgm", "-intfile", "i.img", "-noisefile", name};
        args.insert(args.end(), extra.begin(), extra.end());
        RunResult r = run_cli(args, dir.path.string(), 60, noisify_path());
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return read_file(dir.file(name));
    };
    const std::string plain = noise({}, "plain.img"), none = noise({"-psf", "none"}, "none.img");
    EXPECT_EQ(plain.size(), 512u + 2 * 65536);
    EXPECT_EQ(none, plain);
    const std::string gauss = noise({"-psf", "gauss"}, "gauss.img");
    EXPECT_NE(gauss, plain);
    EXPECT_EQ(noise({"-psf", "none", "-psf", "gauss"}, "later.img"), gauss);
    EXPECT_EQ(noise({"-psf", "gauss", "-psf", "none"}, "off.img"), plain);
}

TEST(Noisify, WritesCsDefaultFilesAndSkipsNoiseUnderNonoise) {
    TempDir dir("noisify_defaults");
    RunResult r =
        run_cli({"-floatfile", inputs() + "/spots_256.bin", "-seed", "5"}, dir.path.string(), 60, noisify_path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("WARNING: guessing xy pixel dimensions."), std::string::npos);
    EXPECT_EQ(read_file(dir.file("intimage.img")).size(), 512u + 2 * 65536);
    EXPECT_EQ(read_file(dir.file("noiseimage.img")).size(), 512u + 2 * 65536);
    const std::string pgm = read_file(dir.file("image.pgm"));
    EXPECT_EQ(pgm.substr(0, 40), std::string("P5\n256 256\n# pixels scaled by 1\n255\n") + pgm.substr(36, 4));
    EXPECT_EQ(pgm.size(), 36u + 65536);

    TempDir quiet("noisify_nonoise");
    r = run_cli({"-floatfile", inputs() + "/spots_256.bin", "-detpixels", "256", "-nonoise", "-nopgm"},
                quiet.path.string(), 60, noisify_path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::exists(quiet.file("intimage.img")));
    EXPECT_FALSE(std::filesystem::exists(quiet.file("noiseimage.img")));
    EXPECT_FALSE(std::filesystem::exists(quiet.file("image.pgm")));
    EXPECT_NE(r.out.find("  calibration_noise = 0 %"), std::string::npos);
}

TEST(Noisify, NegativePixelsAreWarnedOfAndCountNoPhotons) {
    TempDir dir("noisify_negative");
    std::vector<float> v(8 * 8, 0.0f);
    for (int i = 0; i < 12; ++i) v[(size_t)i * 5] = -2.5f;
    write_floats(dir.file("in_neg.bin"), v);
    RunResult r = run_cli({"-floatfile", "in_neg.bin", "-detpixels", "8", "-seed", "4", "-nopgm", "-adc", "7"},
                          dir.path.string(), 60, noisify_path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    size_t warnings = 0;
    for (const auto& l : lines(r.out)) warnings += l == "WARNING: negative intensity in in_neg.bin: -2.5";
    EXPECT_EQ(warnings, 10u);
    EXPECT_NE(r.out.find("WARNING: 2 more negative pixels not listed"), std::string::npos);
    EXPECT_NE(r.out.find("maximum value in input file: 0 ( 0 on photon scale)"), std::string::npos);
    EXPECT_NE(r.out.find("0 photons on noise image (0 overloads)"), std::string::npos);
    const std::string noise = read_file(dir.file("noiseimage.img"));
    ASSERT_EQ(noise.size(), 512u + 2 * 64);
    // a negative mean draws no photon: every pixel is the offset
    for (size_t i = 512; i < noise.size(); i += 2) EXPECT_EQ((uint8_t)noise[i] | (uint8_t)noise[i + 1] << 8, 7) << i;
}

// ---- the engine stage ----

TEST(DetectorResponse, PsfKernelsIntegrateToOne) {
    // a Gaussian of FWHM 2 pixels: all but ~1e-40 within 12 pixels
    double sum = 0;
    for (int dy = -12; dy <= 12; ++dy)
        for (int dx = -12; dx <= 12; ++dx) sum += nb::gauss_psf_pixel(dx, dy, 2.0);
    EXPECT_NEAR(sum, 1.0, 1e-12);
    // centre pixel of a FWHM-1 Gaussian: erf(sqrt(ln 2))^2
    EXPECT_NEAR(nb::gauss_psf_pixel(0, 0, 1.0), std::pow(std::erf(std::sqrt(std::log(2.0))), 2), 1e-14);
    // fiber: the square of half-width R holds 4 atan(R^2 / (g sqrt(g^2 + 2 R^2))) / (2 pi)
    const double g = 1.5, R = 20.5;
    sum = 0;
    for (int dy = -20; dy <= 20; ++dy)
        for (int dx = -20; dx <= 20; ++dx) sum += nb::fiber_psf_pixel(dx, dy, g);
    EXPECT_NEAR(sum, 4 * std::atan(R * R / (g * std::sqrt(g * g + 2 * R * R))) / (2 * M_PI), 1e-12);
    EXPECT_NEAR(sum, 0.934270, 1e-6);  // a fiber PSF reaches far: 6.6% beyond 20 pixels
}

TEST(DetectorResponse, NoiselessImageIsPhotonsTimesGainPlusOffsetClippedAsC) {
    nb::DetectorResponse p;
    p.xpixels = 4;
    p.ypixels = 1;
    p.noise = false;
    p.bits = 32;  // the 32-bit noiseless image is made for a 32-bit file only
    p.quantum_gain = 2.5;
    p.adc_offset = 10;
    p.fluence = 1.0 / 7.94079248018965e-30;  // photons = input
    nb::DetectorImages out = nb::detector_response(p, {0.0f, 3.9f, 30000.0f, 1e9f});
    EXPECT_EQ(out.noiseless.int16, (std::vector<uint16_t>{10, 19, 65535, 65535}));
    // C clips the noiseless 32-bit image at 65535 too
    EXPECT_EQ(out.noiseless.int32, (std::vector<uint32_t>{10, 19, 65535, 65535}));
    EXPECT_EQ(out.max_input, 1e9);
    EXPECT_TRUE(out.noisy.int16.empty());
}

TEST(DetectorResponse, SeedsDecideTheNoiseAndCalibrationSharesTheGenerator) {
    nb::DetectorResponse p;
    p.xpixels = p.ypixels = 8;
    p.fluence = 1.0 / 7.94079248018965e-30;
    std::vector<float> flat(64, 100.0f);
    auto run = [&](int64_t seed, int64_t calib_seed, double calib) {
        nb::DetectorResponse q = p;
        q.seed = seed;
        q.calib_seed = calib_seed;
        q.calibration_noise = calib;
        return nb::detector_response(q, flat);
    };
    const auto a = run(-7, 123456789, 0.03), b = run(-7, 123456789, 0.03), c = run(-8, 123456789, 0.03);
    EXPECT_EQ(a.noisy.int16, b.noisy.int16);
    EXPECT_NE(a.noisy.int16, c.noisy.int16);
    // the calibration seed changes the noise image too: its draws interleave
    EXPECT_NE(a.noisy.int16, run(-7, -777, 0.03).noisy.int16);
    EXPECT_NE(a.noisy.int16, run(-7, 123456789, 0.0).noisy.int16);
    // 64 pixels of 100 photons: the sum is within 5 sigma of 6400
    EXPECT_NEAR(a.noise_photons, 6400, 5 * std::sqrt(6400.0 * (1 + 64 * 0.03 * 0.03 * 100 / 64)));
    EXPECT_EQ(a.overloads, 0);
}

}  // namespace

namespace {

// The row-band PSF loop against C's own loop: the same float bytes, on images
// whose spots wrap past the right edge (C's x == xpixels bound) and leave the
// bottom, for both kernels, given and automatic radii, and 1 or 2 threads.
TEST(DetectorResponse, PsfRowLoopGivesCsLoopBytes) {
    uint32_t state = 12345;
    auto next = [&]() {
        state = state * 1664525u + 1013904223u;
        return (state >> 8) / 16777216.0;
    };
    int checked = 0;
    for (auto [w, h] : {std::pair{7, 5}, std::pair{13, 11}, std::pair{40, 9}}) {
        std::vector<float> img((size_t)w * h);
        for (float& v : img) v = next() < 0.4 ? 0.0f : (float)std::floor(next() * (next() < 0.1 ? 5000 : 20));
        for (nb::PsfType type : {nb::PsfType::Gauss, nb::PsfType::Fiber}) {
            for (int radius : {0, 1, 3, 9, 50}) {
                for (double fwhm : {0.7, 2.5}) {
                    std::string log_a, log_b;
                    const auto a = nb::apply_psf(img, w, h, type, fwhm, radius, log_a, nb::PsfLoop::COrder);
                    const auto b = nb::apply_psf(img, w, h, type, fwhm, radius, log_b, nb::PsfLoop::Rows);
                    ASSERT_EQ(a.image.size(), img.size());
                    EXPECT_EQ(0, std::memcmp(a.image.data(), b.image.data(), img.size() * sizeof(float)))
                        << w << "x" << h << " radius " << radius << " fwhm " << fwhm;
                    EXPECT_EQ(log_a, log_b);
                    // C's lost-photon estimate is the tail of the whole plane beyond the
                    // radius: not a conservation law (a disc of radius 1 holds more)
                    double in = 0, out = 0;
                    for (size_t i = 0; i < img.size(); ++i) in += img[i], out += a.image[i];
                    EXPECT_GT(out, 0.5 * in);
                    EXPECT_LT(out, 2.0 * in);
                    ++checked;
                }
            }
        }
    }
    EXPECT_EQ(checked, 60);
}

}  // namespace
