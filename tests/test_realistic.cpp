// Realistic images from one nanoBragg run (-amorphous, the detector-model
// flags): the combined run must equal nanoBragg, nonBragg and noisify run one
// after the other on the same inputs, byte for byte under -exact; the
// built-in tables must be C's files; bad specifications are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "engine/amorphous.hpp"
#include "engine/setup.hpp"
#include "tests/run_cli.hpp"

using namespace nbtest;

namespace {

std::string tables() { return golden_dir() + "/nonbragg/inputs"; }
std::string lyso() { return golden_dir() + "/inputs/lyso.hkl"; }

std::vector<float> floats(const std::string& path) {
    const std::string b = read_file(path);
    std::vector<float> v(b.size() / sizeof(float));
    std::memcpy(v.data(), b.data(), v.size() * sizeof(float));
    return v;
}

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// A detector both programs lay out the same way: explicit axes (nanoBragg's
// CUSTOM convention, nonBragg's defaults) and beam centre, and explicit
// oversampling (nanoBragg would choose its own from the crystal).
const std::vector<std::string> kGeometry = split_ws(
    "-detpixels 96 -pixel 0.25 -distance 80 -Xbeam 12.1 -Ybeam 11.9 -fdet_vector 0 0 1 -sdet_vector 0 -1 0 "
    "-odet_vector 1 0 0 -beam_vector 1 0 0 -fluence 1e23 -beamsize 0.001 -oversample 2 -dispersion 0.5 -dispsteps 2");
const std::vector<std::string> kCrystal =
    split_ws("-cell 79.1 79.1 38.4 90 90 90 -N 30 -misset 10 20 30 -default_F 50");
const std::vector<std::string> kDetectorModel =
    split_ws("-psf fiber -psf_fwhm 120 -readout 2.5 -calibration 0.03 -flicker 0.01 -gain 1.5 -seed 11");

void expect_ok(const RunResult& r, const char* what) { ASSERT_EQ(r.exit_code, 0) << what << "\n" << r.out << r.err; }

}  // namespace

TEST(Realistic, CombinedRunEqualsNanoBraggNonBraggAndNoisifyInExact) {
    TempDir dir("realistic_exact");
    const std::string d = dir.path.string();
    const std::vector<std::string> quiet = split_ws("-nopgm -noprogress");
    // the spots alone
    RunResult a = run_cli(cat(cat(cat(kCrystal, kGeometry), quiet),
                              {"-hkl", lyso(), "-exact", "-floatfile", "spots.bin", "-nonoise", "-intfile", "a.img"}),
                          d);
    expect_ok(a, "nanoBragg (spots)");
    // water 10 um and 20 mm of air, each from nonBragg
    RunResult w = run_cli(cat(cat(kGeometry, quiet), {"-stol", tables() + "/water.stol", "-thick", "0.01", "-exact",
                                                      "-floatfile", "water.bin", "-nonoise", "-intfile", "w.img"}),
                          d, 600, nonbragg_path());
    expect_ok(w, "nonBragg (water)");
    RunResult air = run_cli(
        cat(cat(kGeometry, quiet), {"-stol", tables() + "/air.stol", "-thick", "20", "-density", "0.0012", "-MW", "29",
                                    "-exact", "-floatfile", "air.bin", "-nonoise", "-intfile", "x.img"}),
        d, 600, nonbragg_path());
    expect_ok(air, "nonBragg (air)");
    // the sum a user would feed to noisify (float32 additions, in this order)
    std::vector<float> spots = floats(dir.file("spots.bin")), water = floats(dir.file("water.bin")),
                       airf = floats(dir.file("air.bin"));
    ASSERT_EQ(spots.size(), 96u * 96u);
    ASSERT_EQ(water.size(), spots.size());
    ASSERT_EQ(airf.size(), spots.size());
    std::vector<float> sum(spots.size());
    double spot_max = 0, water_max = 0;
    for (size_t i = 0; i < sum.size(); ++i) {
        sum[i] = spots[i] + water[i];
        sum[i] = sum[i] + airf[i];
        spot_max = std::max(spot_max, (double)spots[i]);
        water_max = std::max(water_max, (double)water[i]);
    }
    // both terms matter on this image
    EXPECT_GT(spot_max, 10 * water_max);
    EXPECT_GT(water_max, 1.0);
    {
        std::ofstream out(dir.file("sum.bin"), std::ios::binary);
        out.write(reinterpret_cast<const char*>(sum.data()), (std::streamsize)(sum.size() * sizeof(float)));
    }
    RunResult n = run_cli(cat(kDetectorModel, {"-floatfile", "sum.bin", "-detpixels", "96", "-pixel", "0.25",
                                               "-noisefile", "noisify.img", "-intfile", "n.img", "-nopgm", "-exact"}),
                          d, 600, noisify_path());
    expect_ok(n, "noisify");

    // one nanoBragg run
    RunResult c = run_cli(cat(cat(cat(cat(kCrystal, kGeometry), quiet), kDetectorModel),
                              {"-hkl", lyso(), "-exact", "-amorphous", "water:0.01", "-amorphous", "air:20",
                               "-floatfile", "combined.bin", "-noisefile", "combined.img", "-intfile", "c.img"}),
                          d);
    expect_ok(c, "nanoBragg -amorphous");
    const std::vector<float> combined = floats(dir.file("combined.bin"));
    ASSERT_EQ(combined.size(), sum.size());
    size_t differ = 0;
    for (size_t i = 0; i < sum.size(); ++i) differ += std::memcmp(&sum[i], &combined[i], sizeof(float)) != 0;
    EXPECT_EQ(differ, 0u) << "float pixels differing from nanoBragg + nonBragg (water) + nonBragg (air)";
    const std::string ours = read_file(dir.file("combined.img")), theirs = read_file(dir.file("noisify.img"));
    ASSERT_EQ(ours.size(), 512u + 96u * 96u * 2u);
    ASSERT_EQ(theirs.size(), ours.size());
    EXPECT_TRUE(ours.compare(512, std::string::npos, theirs, 512, std::string::npos) == 0)
        << "noise image differs from noisify's on the summed image";
    // the detector model's lines are printed (lost photons of the fiber PSF)
    EXPECT_NE(c.out.find("lost photons"), std::string::npos) << c.out;
}

TEST(Realistic, BuiltInTablesAreTheCSuitesFiles) {
    TempDir dir("realistic_tables");
    const std::string d = dir.path.string();
    const std::vector<std::string> base = cat(cat(kCrystal, kGeometry), split_ws("-nonoise -nopgm"));
    for (const char* m : {"water", "ice", "air"}) {
        const std::string density = std::string(m) == "air" ? ":0.0012:29" : std::string(m) == "ice" ? ":0.92" : "";
        RunResult a = run_cli(
            cat(base, {"-amorphous", std::string(m) + ":0.05", "-floatfile", "builtin.bin", "-intfile", "a.img"}), d);
        expect_ok(a, m);
        RunResult b = run_cli(cat(base, {"-amorphous", tables() + "/" + m + ".stol:0.05" + density, "-floatfile",
                                         "file.bin", "-intfile", "b.img"}),
                              d);
        expect_ok(b, m);
        const std::string x = read_file(dir.file("builtin.bin")), y = read_file(dir.file("file.bin"));
        ASSERT_EQ(x.size(), 96u * 96u * 4u) << m;
        EXPECT_TRUE(x == y) << m << ": the built-in table differs from the C suite's file";
        // a real background: every pixel lit
        const std::vector<float> v = floats(dir.file("builtin.bin"));
        EXPECT_GT(*std::min_element(v.begin(), v.end()), 0.0f) << m;
    }
}

TEST(Realistic, BackgroundAndDetectorModelReachEverySeriesFrame) {
    TempDir dir("realistic_series");
    const std::string d = dir.path.string();
    RunResult r = run_cli(cat(cat(cat(kCrystal, kGeometry), kDetectorModel),
                              split_ws("-amorphous water:0.01 -nframes 2 -osc 1 -floatfile f_%03d.bin -noisefile "
                                       "n_%03d.img -intfile i_%03d.img -nopgm -noprogress")),
                          d);
    expect_ok(r, "series");
    for (const char* n : {"001", "002"}) {
        const std::vector<float> v = floats(dir.file(std::string("f_") + n + ".bin"));
        ASSERT_EQ(v.size(), 96u * 96u) << n;
        EXPECT_GT(*std::min_element(v.begin(), v.end()), 0.0f) << "frame " << n << " has no background";
        const std::string noise = read_file(dir.file(std::string("n_") + n + ".img"));
        ASSERT_EQ(noise.size(), 512u + 96u * 96u * 2u) << n;
    }
    // frames draw different noise
    EXPECT_NE(read_file(dir.file("n_001.img")), read_file(dir.file("n_002.img")));
}

// "-psf none" names the default: no PSF, and nothing else of the detector
// model turned on (the noise image is the plain Poisson one).
TEST(Realistic, PsfNoneNamesTheDefault) {
    TempDir dir("realistic_psf_none");
    auto noise = [&](std::vector<std::string> extra, const std::string& name) {
        RunResult r =
            run_cli(cat(cat(kCrystal, kGeometry), cat(extra, {"-seed", "3", "-noisefile", name})), dir.path.string());
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return read_file(dir.file(name));
    };
    const std::string plain = noise({}, "plain.img");
    EXPECT_GT(plain.size(), 512u);
    EXPECT_EQ(noise({"-psf", "none"}, "none.img"), plain);
    const std::string fiber = noise({"-psf", "fiber"}, "fiber.img");
    EXPECT_NE(fiber, plain);
    EXPECT_EQ(noise({"-psf", "fiber", "-psf", "none"}, "off.img"), noise({"-psf_fwhm", "46"}, "fwhm.img"));
    // noisify's names for the same flags
    const std::string named =
        noise({"-psf", "gauss", "-psf_fwhm", "60", "-psf_radius", "4", "-readout", "2"}, "named.img");
    EXPECT_NE(named, plain);
    EXPECT_EQ(noise({"-psf", "gauss", "-psf_width", "60", "-psf_rad", "4", "-readnoise", "2"}, "width.img"), named);
    EXPECT_EQ(noise({"-psf", "gauss", "-psf_sigma", "60", "-psf_radius", "4", "-readout_noise", "2"}, "sigma.img"),
              named);
    // a width without a type is said to draw no PSF; an error names the flag as typed
    RunResult r =
        run_cli(cat(cat(kCrystal, kGeometry), {"-psf_width", "60", "-noisefile", "w.img"}), dir.path.string());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("WARNING: -psf_fwhm draws no PSF without -psf gauss or -psf fiber"), std::string::npos)
        << r.out;
    r = run_cli(cat(cat(kCrystal, kGeometry), {"-psf", "gauss", "-psf_width", "-5", "-noisefile", "bad.img"}),
                dir.path.string());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("error: -psf_width: -5 is out of range (must be >= 0)"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.file("bad.img")));
}

TEST(Realistic, BadSpecificationsAreRefusedWithNothingWritten) {
    const std::vector<std::vector<std::string>> bad = {
        {"-amorphous", "water"},
        {"-amorphous", "water:-1"},
        {"-amorphous", "water:0"},
        {"-amorphous", "water:nan"},
        {"-amorphous", "water:1:inf"},
        {"-amorphous", "no_such_table.stol:1"},
        {"-amorphous", "water:1:1:0:5"},
        {"-psf", "square"},
        {"-readout", "-1"},
        {"-calibration", "nan"},
        {"-psf_fwhm", "-3"},
    };
    for (const auto& extra : bad) {
        TempDir dir("realistic_bad");
        RunResult r = run_cli(
            cat(cat(kCrystal, kGeometry), cat(extra, split_ws("-floatfile o.bin -noisefile n.img -intfile i.img"))),
            dir.path.string());
        EXPECT_EQ(r.exit_code, 2) << extra[0] << " " << extra[1] << "\n" << r.err;
        EXPECT_NE(r.err.find(extra[0]), std::string::npos) << r.err;
        for (const char* f : {"o.bin", "n.img", "i.img"})
            EXPECT_FALSE(std::filesystem::exists(dir.file(f))) << f << " written for " << extra[0] << " " << extra[1];
    }
}

// Five materials, beyond the four one pass renders: each pass adds its
// materials' float values in turn, bit for bit what adding each material
// alone gives, on the SIMD executor and the scalar reference, in double and
// float.
TEST(Realistic, MaterialsInOnePassEqualEachAddedInTurn) {
    const std::vector<std::string> words = split_ws(
        "-cell 79.1 79.1 38.4 90 90 90 -default_F 1 -lambda 1.0 -N 2 -detpixels 64 -pixel 0.2 -distance 20 "
        "-oversample 2 -polar 0.9 -dispersion 0.05 -dispsteps 2 -amorphous water:0.01 -amorphous air:20 "
        "-amorphous ice:0.005 -amorphous water:0.02 -amorphous air:5");
    std::vector<const char*> argv{"nanoBragg"};
    for (const std::string& w : words) argv.push_back(w.c_str());
    nb::SimConfig cfg = nb::parse_args((int)argv.size(), argv.data()).config;
    cfg.write_fdump = false;
    const nb::Experiment e = nb::prepare_experiment(cfg);
    ASSERT_EQ(e.amorphous.size(), 5u);
    std::vector<float> spots((size_t)64 * 64);
    for (size_t i = 0; i < spots.size(); ++i) spots[i] = 1e-3f * (float)(i % 97);
    for (const char* isa : {"", "scalar"}) {
        if (*isa) ::setenv("NB_CPU_ISA", isa, 1);
        for (nb::Precision precision : {nb::Precision::Double, nb::Precision::Float}) {
            SCOPED_TRACE(std::string(isa) + (precision == nb::Precision::Float ? " float" : " double"));
            nb::RenderOptions o;
            o.device = nb::Device::Cpu;
            o.precision = precision;
            o.threads = 2;
            std::vector<float> fused = spots, turn = spots;
            nb::add_amorphous_background(e, o, fused);
            nb::AmorphousScale scale;
            scale.fluence = e.fluence;
            scale.steps = (double)e.src.direction.size() * e.samp.oversample * e.samp.oversample;
            scale.add = true;
            for (const nb::AmorphousTerm& t : e.amorphous) {
                scale.molecules = t.molecules;
                const std::vector<float> before = turn;
                nb::render_amorphous(e, t.table, scale, e.src.applied_weight, o, turn);
                EXPECT_NE(turn, before) << t.table.name << " " << t.molecules;  // every material adds something
            }
            EXPECT_EQ(fused, turn);
        }
    }
    ::unsetenv("NB_CPU_ISA");
}
