// The CLI acceptance tests AT-CLI-001..009 of spec-a-cli.md (hoidn/nanoBragg,
// branch feature/spec-based-2), one GoogleTest (and so one CTest test) each.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/run_cli.hpp"

using namespace nbtest;

namespace {

const std::vector<std::string> kBase = {"-cell",      "100",    "100", "100",       "90",      "90",    "90",
                                        "-default_F", "100",    "-N",  "5",         "-lambda", "1.0",   "-detpixels",
                                        "32",         "-pixel", "0.1", "-distance", "100",     "-seed", "7"};

std::vector<std::string> with(std::vector<std::string> a, std::initializer_list<std::string> more) {
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

std::vector<float> floats_of(const std::string& path) {
    std::string b = read_file(path);
    std::vector<float> f(b.size() / 4);
    std::memcpy(f.data(), b.data(), f.size() * 4);
    return f;
}

std::vector<uint16_t> smv_pixels(const std::string& path) {
    std::string b = read_file(path);
    std::vector<uint16_t> p((b.size() - 512) / 2);
    std::memcpy(p.data(), b.data() + 512, p.size() * 2);
    return p;
}

double header_value(const std::string& header, const std::string& key) {
    size_t p = header.find("\n" + key + "=");
    if (p == std::string::npos) return NAN;
    return std::atof(header.c_str() + p + key.size() + 2);
}

// A minimal SMV file: header with the given extra keys, pixel data from `value(f, s)`.
void write_smv(const std::string& path, int w, int h, const std::string& keys,
               const std::function<uint16_t(int, int)>& value) {
    std::string head =
        "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\nSIZE1=" + std::to_string(w) +
        ";\nSIZE2=" + std::to_string(h) + ";\n" + keys + "}\f";
    head.resize(512, ' ');
    std::ofstream out(path, std::ios::binary);
    out << head;
    for (int s = 0; s < h; ++s)
        for (int f = 0; f < w; ++f) {
            uint16_t v = value(f, s);
            out.write(reinterpret_cast<const char*>(&v), 2);
        }
}

}  // namespace

TEST(AT_CLI, 001_HelpListsTheRequiredFlags) {
    TempDir d("at1");
    RunResult r = run_cli({"-h"}, d.path.string());
    EXPECT_EQ(r.exit_code, 0);
    for (const char* f : {"-hkl",    "-mat",       "-cell",    "-pixel",     "-detpixels", "-distance", "-lambda",
                          "-energy", "-floatfile", "-intfile", "-noisefile", "-pgmfile",   "-scale",    "-adc",
                          "-mosflm", "-xds",       "-adxv",    "-denzo",     "-dials",     "-roi"})
        EXPECT_NE(r.out.find(std::string("  ") + f), std::string::npos) << f;
}

TEST(AT_CLI, 002_MinimalRenderWritesFloatAndSmvWithAllHeaderKeys) {
    TempDir d("at2");
    RunResult r = run_cli(with(kBase, {"-floatfile", "f.bin", "-intfile", "i.img"}), d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<float> f = floats_of(d.file("f.bin"));
    ASSERT_EQ(f.size(), 32u * 32u);
    std::string img = read_file(d.file("i.img"));
    ASSERT_EQ(img.size(), 512u + 2u * 32u * 32u);
    std::string h = img.substr(0, 512);
    for (const char* k : {"HEADER_BYTES",    "DIM",
                          "BYTE_ORDER",      "TYPE",
                          "SIZE1",           "SIZE2",
                          "PIXEL_SIZE",      "DISTANCE",
                          "WAVELENGTH",      "BEAM_CENTER_X",
                          "BEAM_CENTER_Y",   "ADXV_CENTER_X",
                          "ADXV_CENTER_Y",   "MOSFLM_CENTER_X",
                          "MOSFLM_CENTER_Y", "DENZO_X_BEAM",
                          "DENZO_Y_BEAM",    "DIALS_ORIGIN",
                          "XDS_ORGX",        "XDS_ORGY",
                          "CLOSE_DISTANCE",  "PHI",
                          "OSC_START",       "OSC_RANGE",
                          "TWOTHETA",        "DETECTOR_SN",
                          "BEAMLINE"})
        EXPECT_NE(h.find(std::string("\n") + k + "="), std::string::npos) << k;
    EXPECT_EQ(h.compare(h.find('}'), 2, "}\f"), 0);
    EXPECT_DOUBLE_EQ(header_value(h, "PIXEL_SIZE"), 0.1);
    EXPECT_DOUBLE_EQ(header_value(h, "DISTANCE"), 100);
    EXPECT_DOUBLE_EQ(header_value(h, "WAVELENGTH"), 1.0);
    // fast-major: the pattern of a cubic cell on axis is symmetric under fast<->slow swap
    // only approximately, but the int image must follow the float image index for index
    std::vector<uint16_t> px = smv_pixels(d.file("i.img"));
    size_t fmax = std::max_element(f.begin(), f.end()) - f.begin();
    EXPECT_EQ(px[fmax], 55040);  // the brightest float pixel is the 55000-count pixel, same index
    EXPECT_EQ(*std::max_element(px.begin(), px.end()), 55040);
}

TEST(AT_CLI, 003_ConventionsSetThePivot) {
    TempDir d("at3");
    RunResult m = run_cli(with(kBase, {"-mosflm", "-roi", "0", "3", "0", "3", "-intfile", "m.img"}), d.path.string());
    RunResult x = run_cli(with(kBase, {"-xds", "-roi", "0", "3", "0", "3", "-intfile", "x.img"}), d.path.string());
    RunResult xb = run_cli(with(kBase, {"-xds", "-pivot", "beam", "-twotheta", "5", "-pivot", "beam", "-roi", "0", "3",
                                        "0", "3", "-intfile", "xb.img"}),
                           d.path.string());
    ASSERT_EQ(m.exit_code, 0);
    ASSERT_EQ(x.exit_code, 0);
    ASSERT_EQ(xb.exit_code, 0);
    EXPECT_NE(m.out.find("pivoting detector around direct beam spot"), std::string::npos);
    EXPECT_NE(x.out.find("pivoting detector around sample"), std::string::npos);
    std::string hm = read_file(d.file("m.img")).substr(0, 512), hx = read_file(d.file("x.img")).substr(0, 512);
    // MOSFLM centre: default beam centre (detsize + pixel)/2 = 1.65 mm
    EXPECT_DOUBLE_EQ(header_value(hm, "MOSFLM_CENTER_X"), 1.65);
    // XDS origin at the detector middle, in pixels
    EXPECT_DOUBLE_EQ(header_value(hx, "XDS_ORGX"), 16.5);
    EXPECT_DOUBLE_EQ(header_value(hx, "XDS_ORGY"), 16.5);
    // -pivot beam overrides XDS's sample pivot: the beam spot stays where it was
    std::string hb = read_file(d.file("xb.img")).substr(0, 512);
    EXPECT_NEAR(header_value(hb, "ADXV_CENTER_X"), header_value(hx, "ADXV_CENTER_X"), 1e-6);
}

TEST(AT_CLI, 004_HeaderPrecedenceAndMask) {
    TempDir d("at4");
    write_smv(d.file("img.img"), 24, 20, "PIXEL_SIZE=0.2;\nDISTANCE=80;\nWAVELENGTH=1.3;\n",
              [](int, int) { return 1; });
    write_smv(d.file("mask.img"), 24, 20, "PIXEL_SIZE=0.1;\nDISTANCE=120;\nWAVELENGTH=1.1;\n",
              [](int f, int s) { return (uint16_t)((f >= 4 && f < 8 && s >= 4 && s < 8) ? 0 : 1); });
    std::vector<std::string> base{"-cell", "100", "100", "100", "90", "90", "90", "-default_F", "100", "-N", "5"};
    RunResult r =
        run_cli(with(base, {"-mask", "mask.img", "-img", "img.img", "-floatfile", "f.bin", "-intfile", "i.img"}),
                d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // -img is read after -mask, so its header wins
    std::string h = read_file(d.file("i.img")).substr(0, 512);
    EXPECT_DOUBLE_EQ(header_value(h, "PIXEL_SIZE"), 0.2);
    EXPECT_DOUBLE_EQ(header_value(h, "DISTANCE"), 80);
    EXPECT_DOUBLE_EQ(header_value(h, "WAVELENGTH"), 1.3);
    std::vector<float> f = floats_of(d.file("f.bin"));
    ASSERT_EQ(f.size(), 24u * 20u);
    for (int s = 4; s < 8; ++s)
        for (int x = 4; x < 8; ++x) EXPECT_EQ(f[s * 24 + x], 0.0f) << x << "," << s;
    EXPECT_GT(f[0], 0.0f);
}

TEST(AT_CLI, 005_RoiBoundsEveryOutput) {
    TempDir d("at5");
    RunResult r = run_cli(
        with(kBase, {"-roi", "8", "20", "10", "15", "-floatfile", "f.bin", "-intfile", "i.img", "-noisefile", "n.img"}),
        d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<float> f = floats_of(d.file("f.bin"));
    std::vector<uint16_t> i = smv_pixels(d.file("i.img")), n = smv_pixels(d.file("n.img"));
    for (int s = 0; s < 32; ++s)
        for (int x = 0; x < 32; ++x) {
            bool inside = x >= 8 && x <= 20 && s >= 10 && s <= 15;
            size_t k = (size_t)s * 32 + x;
            if (inside) {
                EXPECT_GT(f[k], 0.0f);
                EXPECT_GT(i[k], 0);
            } else {
                EXPECT_EQ(f[k], 0.0f);
                EXPECT_EQ(i[k], 0);
                EXPECT_EQ(n[k], 0);
            }
        }
}

TEST(AT_CLI, 006_IntScaleAndPgm) {
    TempDir d("at6");
    RunResult a =
        run_cli(with(kBase, {"-nonoise", "-floatfile", "f.bin", "-intfile", "auto.img", "-pgmfile", "auto.pgm"}),
                d.path.string());
    RunResult b = run_cli(with(kBase, {"-nonoise", "-floatfile", "g.bin", "-intfile", "s.img", "-scale", "3", "-adc",
                                       "10", "-pgmfile", "s.pgm", "-pgmscale", "2"}),
                          d.path.string());
    ASSERT_EQ(a.exit_code, 0);
    ASSERT_EQ(b.exit_code, 0);
    std::vector<float> f = floats_of(d.file("f.bin"));
    std::vector<uint16_t> autoscaled = smv_pixels(d.file("auto.img")), scaled = smv_pixels(d.file("s.img"));
    // autoscale: the brightest pixel lands on 55000 counts (plus the default adc offset of 40)
    EXPECT_EQ(*std::max_element(autoscaled.begin(), autoscaled.end()), 55040);
    for (size_t k = 0; k < f.size(); ++k) {
        double expect = std::floor(std::min(65535.0, f[k] * 3.0 + 10) + 0.5);
        EXPECT_NEAR(scaled[k], expect, 1.0) << k;
    }
    std::string pgm = read_file(d.file("s.pgm"));
    std::string head = "P5\n32 32\n# pixels scaled by 2\n255\n";
    ASSERT_EQ(pgm.compare(0, head.size(), head), 0) << pgm.substr(0, 40);
    for (size_t k = 0; k < f.size(); ++k)
        EXPECT_EQ((unsigned char)pgm[head.size() + k], (unsigned char)std::min(255.0, std::floor(f[k] * 2.0))) << k;
}

TEST(AT_CLI, 007_NoiseIsDeterministicPerSeed) {
    TempDir d("at7");
    auto noise = [&](const std::string& seed, const std::string& name) {
        RunResult r = run_cli(with(kBase, {"-seed", seed, "-fluence", "1e31", "-noisefile", name}), d.path.string());
        EXPECT_EQ(r.exit_code, 0);
        return std::make_pair(read_file(d.file(name)), r.out.substr(r.out.find("photons on noise image")));
    };
    auto a = noise("11", "a.img"), b = noise("11", "b.img"), c = noise("12", "c.img");
    EXPECT_EQ(a.first, b.first);
    EXPECT_EQ(a.second.substr(0, a.second.find('\n')), b.second.substr(0, b.second.find('\n')));
    EXPECT_NE(a.first, c.first);
}

TEST(AT_CLI, 008_DminRemovesHighAngleIntensity) {
    TempDir d("at8");
    std::vector<std::string> base{"-cell",      "100",       "100", "100",      "90",      "90",  "90",
                                  "-default_F", "100",       "-N",  "5",        "-lambda", "1.0", "-detpixels",
                                  "64",         "-distance", "50",  "-nonoise", "-nopgm"};
    RunResult a = run_cli(with(base, {"-floatfile", "all.bin"}), d.path.string());
    RunResult b = run_cli(with(base, {"-floatfile", "cut.bin", "-dmin", "20"}), d.path.string());  // corners reach 11 A
    ASSERT_EQ(a.exit_code, 0);
    ASSERT_EQ(b.exit_code, 0);
    std::vector<float> all = floats_of(d.file("all.bin")), cut = floats_of(d.file("cut.bin"));
    double sa = 0, sb = 0;
    for (size_t k = 0; k < all.size(); ++k) {
        sa += all[k];
        sb += cut[k];
    }
    EXPECT_LT(sb, sa);
    // corners (highest angle) are cut, the centre is not
    EXPECT_EQ(cut[0], 0.0f);
    EXPECT_EQ(cut[32 * 64 + 32], all[32 * 64 + 32]);
}

TEST(AT_CLI, 009_MissingStructureFactorsIsAUsageError) {
    TempDir d("at9");
    RunResult r = run_cli({"-cell", "100", "100", "100", "90", "90", "90", "-default_F", "0", "-detpixels", "16"},
                          d.path.string());
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("-hkl"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nanoBragg -h"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(d.file("floatimage.bin")));
}
