// -expt (engine/expt.hpp, engine/expt_setup.hpp): DIALS experiment lists in,
// the detector hierarchy composed, multi-panel detectors rendered in one pass.
// DIALS itself reads our files back in tests/e2e_dials_expt.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/args.hpp"
#include "engine/expt.hpp"
#include "engine/panels.hpp"
#include "engine/setup.hpp"
#include "tests/run_cli.hpp"

using namespace nbtest;

namespace {

using json = nlohmann::json;

struct Panel {
    std::array<double, 3> origin, fast, slow;  // mm, DIALS lab frame
    int fpixels = 0, spixels = 0;
    double pixel = 0.1;
};

json panel_json(const Panel& p, const std::string& name) {
    return json{{"name", name},
                {"type", "SENSOR_PAD"},
                {"fast_axis", p.fast},
                {"slow_axis", p.slow},
                {"origin", p.origin},
                {"image_size", {p.fpixels, p.spixels}},
                {"pixel_size", {p.pixel, p.pixel}},
                {"trusted_range", {-1, 65535}},
                {"thickness", 0.0},
                {"material", "Si"},
                {"mu", 0.0}};
}

// A flat list of panels (the root group the identity), a beam along -z, a
// goniometer about +x and a one-image scan of 0.5 deg from `phi`.
json experiment_list(const std::vector<Panel>& panels, double phi = 0.0) {
    json ps = json::array(), children = json::array();
    for (size_t i = 0; i < panels.size(); ++i) {
        ps.push_back(panel_json(panels[i], "panel" + std::to_string(i)));
        children.push_back({{"panel", i}});
    }
    json root = {{"name", ""},
                 {"fast_axis", {1, 0, 0}},
                 {"slow_axis", {0, 1, 0}},
                 {"origin", {0, 0, 0}},
                 {"children", children}};
    return json{
        {"__id__", "ExperimentList"},
        {"experiment", {{{"__id__", "Experiment"}, {"beam", 0}, {"detector", 0}, {"goniometer", 0}, {"scan", 0}}}},
        {"beam",
         {{{"direction", {0, 0, 1}},
           {"wavelength", 1.0},
           {"polarization_normal", {0, 1, 0}},
           {"polarization_fraction", 0.999}}}},
        {"detector", {{{"panels", ps}, {"hierarchy", root}}}},
        {"goniometer", {{{"rotation_axis", {1, 0, 0}}}}},
        {"scan", {{{"image_range", {1, 1}}, {"oscillation", {phi, 0.5}}, {"exposure_time", {1.0}}}}}};
}

void write(const std::string& path, const json& j) { std::ofstream(path) << j.dump(1); }

std::array<double, 3> plus(const std::array<double, 3>& a, const std::array<double, 3>& b, double s) {
    return {a[0] + s * b[0], a[1] + s * b[1], a[2] + s * b[2]};
}

std::vector<float> floats(const std::string& path) {
    const std::string raw = read_file(path);
    std::vector<float> v(raw.size() / 4);
    std::memcpy(v.data(), raw.data(), v.size() * 4);
    return v;
}

const std::vector<std::string> kCrystal = {"-cell",      "79.1",        "79.1", "38.4",     "90",      "90",    "90",
                                           "-default_F", "100",         "-N",   "6",        "-misset", "10",    "20",
                                           "30",         "-oversample", "2",    "-nonoise", "-nopgm",  "-seed", "1"};

RunResult render(const TempDir& dir, const std::string& expt, const std::string& floatfile,
                 std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"-expt", expt, "-floatfile", floatfile, "-intfile", "int.img"};
    args.insert(args.end(), kCrystal.begin(), kCrystal.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args, dir.path.string());
}

// A 512x512 panel 120 mm away, tilted 10 degrees about its fast axis.
Panel tilted_panel() {
    const double t = 10 * M_PI / 180;
    Panel p;
    p.fast = {1, 0, 0};
    p.slow = {0, -std::cos(t), std::sin(t)};
    p.origin = {-25.6, 20.0, -120.0};
    p.fpixels = p.spixels = 512;
    return p;
}

}  // namespace

TEST(ExptReader, ComposesTheHierarchyIntoLabFrames) {
    // a group turned 90 degrees about z (its fast axis along lab y) and moved;
    // the panel 10 mm along the group's fast axis and 5 mm along its normal
    json j = experiment_list({tilted_panel()});
    json& det = j["detector"][0];
    det["panels"][0]["fast_axis"] = {0, 1, 0};
    det["panels"][0]["slow_axis"] = {-1, 0, 0};
    det["panels"][0]["origin"] = {10, 0, 5};
    det["hierarchy"] = {{"name", "group"},
                        {"fast_axis", {0, 1, 0}},
                        {"slow_axis", {-1, 0, 0}},
                        {"origin", {1, 2, -100}},
                        {"children", {{{"panel", 0}}}}};
    const nb::ExptModel m = nb::parse_expt(j.dump(), "h.expt");
    ASSERT_EQ(m.panels.size(), 1u);
    const nb::ExptPanel& p = m.panels[0];
    // group frame: fast (0,1,0), slow (-1,0,0), normal (0,0,1)
    EXPECT_NEAR(p.fast.x, -1, 1e-15);  // local fast (0,1,0) is the group's slow
    EXPECT_NEAR(p.fast.y, 0, 1e-15);
    EXPECT_NEAR(p.slow.y, -1, 1e-15);  // local slow (-1,0,0) is minus the group's fast
    EXPECT_NEAR(p.origin.x, 1, 1e-12);
    EXPECT_NEAR(p.origin.y, 12, 1e-12);
    EXPECT_NEAR(p.origin.z, -95, 1e-12);
    EXPECT_EQ(p.fpixels, 512);
    EXPECT_TRUE(m.has_goniometer && m.has_scan);
    EXPECT_DOUBLE_EQ(m.osc_width, 0.5);
}

TEST(ExptReader, MultiAxisGoniometerGivesFixedAndSettingRotations) {
    json j = experiment_list({tilted_panel()});
    // kappa-like: omega (outermost, the scan axis), then chi and phi inside it
    j["goniometer"][0] = {{"axes", {{1, 0, 0}, {0, 0, 1}, {1, 0, 0}}},
                          {"angles", {30, 90, 5}},
                          {"names", {"phi", "chi", "omega"}},
                          {"scan_axis", 2}};
    const nb::ExptModel m = nb::parse_expt(j.dump(), "g.expt");
    // F = R(chi 90 about z) R(phi 30 about x); S = I; e = x
    EXPECT_NEAR(m.setting[0], 1, 1e-15);
    EXPECT_NEAR(m.rotation_axis.x, 1, 1e-15);
    const nb::Vec3D y = nb::mat_apply(m.fixed, nb::Vec3D{0, 1, 0});  // R_x(30) y = (0, cos30, sin30), then R_z(90)
    EXPECT_NEAR(y.x, -std::cos(M_PI / 6), 1e-12);
    EXPECT_NEAR(y.y, 0, 1e-12);
    EXPECT_NEAR(y.z, std::sin(M_PI / 6), 1e-12);
}

TEST(ExptReader, BadFilesNameTheFileTheObjectAndTheProblem) {
    auto error_of = [](const std::string& text) {
        try {
            nb::parse_expt(text, "bad.expt");
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(error_of("{\"__id__\": \"ExperimentList\", ").find("-expt bad.expt: JSON: not valid JSON"),
              std::string::npos);
    EXPECT_NE(error_of("[1, 2]").find("the top level is not an object"), std::string::npos);
    // Python's json.dump writes float("nan") as NaN, which JSON has not
    EXPECT_EQ(error_of("{\"__id__\": \"ExperimentList\",\n \"beam\": [{\"wavelength\": NaN}]}"),
              "-expt bad.expt: JSON: line 2 holds NaN, a value that is not a finite number (Python's json writes it "
              "for one)");
    EXPECT_NE(error_of("{\"x\": [1, -Infinity]}").find("line 1 holds Infinity"), std::string::npos);
    // a number beyond a double is nlohmann's out_of_range, not a parse_error (found by fuzz_expt)
    EXPECT_NE(error_of("{\"__id__\": \"ExperimentList\", \"x\": -99E99499999999}").find("not valid JSON"),
              std::string::npos);
    json j = experiment_list({tilted_panel()});
    json k = j;
    k["detector"][0]["panels"][0]["image_size"] = {0, 512};
    EXPECT_NE(error_of(k.dump()).find("detector 0, panel 0: image_size 0 x 512 holds no pixels"), std::string::npos)
        << error_of(k.dump());
    k = j;
    k["crystal"] = {{{"__id__", "crystal"},
                     {"real_space_a", {10, 0, 0}},
                     {"real_space_b", {20, 0, 0}},
                     {"real_space_c", {0, 0, 30}}}};
    k["experiment"][0]["crystal"] = 0;
    EXPECT_NE(error_of(k.dump()).find("crystal 0: real_space_a, b and c are linearly dependent"), std::string::npos);
    k = j;
    k["beam"][0]["__id__"] = "PolychromaticBeam";
    EXPECT_NE(error_of(k.dump()).find("beam 0: is a 'PolychromaticBeam'; only monochromatic beams are supported"),
              std::string::npos);
    k = j;
    k["detector"][0]["hierarchy"]["children"] = json::array();
    EXPECT_NE(error_of(k.dump()).find("detector 0: panel 0 is not in the hierarchy"), std::string::npos);
    k = j;
    k["beam"][0]["wavelength"] = -1;
    EXPECT_NE(error_of(k.dump()).find("beam 0: wavelength must be positive"), std::string::npos);
    k = j;
    k["experiment"][0]["detector"] = 3;
    EXPECT_NE(error_of(k.dump()).find("experiment 0: detector 3 is not in the file's 'detector' list"),
              std::string::npos);
    k = j;
    k["detector"][0]["panels"][0]["slow_axis"] = {1, 0, 0};
    EXPECT_NE(error_of(k.dump()).find("fast and slow axes are parallel"), std::string::npos);
    // a goniometer matrix that is no rotation had stretched the crystal (or, singular, was blamed on -mat)
    for (const json& bad :
         {json{2, 0, 0, 0, 1, 0, 0, 0, 1}, json{0, 0, 0, 0, 0, 0, 0, 0, 0}, json{-1, 0, 0, 0, 1, 0, 0, 0, 1}}) {
        k = j;
        k["goniometer"][0]["fixed_rotation"] = bad;
        EXPECT_NE(error_of(k.dump()).find("goniometer 0: fixed_rotation is not a rotation"), std::string::npos)
            << error_of(k.dump());
        k = j;
        k["goniometer"][0]["setting_rotation"] = bad;
        EXPECT_NE(error_of(k.dump()).find("goniometer 0: setting_rotation is not a rotation"), std::string::npos);
    }
    k = j;
    k["goniometer"][0]["setting_rotation"] = {0, -1, 0, 1, 0, 0, 0, 0, 1};  // 90 deg about z: fine
    EXPECT_EQ(error_of(k.dump()), "no error");
    k = j;
    k["detector"][0]["panels"][0]["mask"] = {{100, 10, 0, 20}};  // fast from 100 to 0
    EXPECT_NE(error_of(k.dump()).find("detector 0, panel 0: a mask rectangle ends before it starts"),
              std::string::npos);
    k["detector"][0]["panels"][0]["mask"] = {{0, 30, 10, 20}};  // slow from 30 to 20
    EXPECT_NE(error_of(k.dump()).find("a mask rectangle ends before it starts"), std::string::npos);
    k["detector"][0]["panels"][0]["mask"] = {{50, 10, 60, 20}};  // dxtbx's (fast, slow, fast, slow): fine
    EXPECT_EQ(error_of(k.dump()), "no error");
}

// What a file holds and the render leaves out is said: a second experiment
// (an index of several lattices), a scan-varying crystal.
TEST(ExptCli, ExperimentsAndModelsNotRenderedAreNamedInAWarning) {
    TempDir dir("expt_unrendered");
    json j = experiment_list({tilted_panel()});
    j["crystal"] = {{{"__id__", "crystal"},
                     {"real_space_a", {40, 0, 0}},
                     {"real_space_b", {0, 50, 0}},
                     {"real_space_c", {0, 0, 60}},
                     {"A_at_scan_points", json::array()}}};
    j["experiment"][0]["crystal"] = 0;
    j["experiment"].push_back(j["experiment"][0]);
    write(dir.file("two.expt"), j);
    RunResult r = run_cli({"-expt", "two.expt", "-floatfile", "out.bin", "-intfile", "int.img", "-default_F", "100",
                           "-N", "3", "-oversample", "1", "-nonoise", "-nopgm"},
                          dir.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string all = r.out + r.err;
    EXPECT_NE(all.find("WARNING: -expt two.expt holds 2 experiments: rendering experiment 0 alone"), std::string::npos)
        << all;
    EXPECT_NE(all.find("WARNING: -expt two.expt: the crystal's scan-varying model (A_at_scan_points) is not rendered"),
              std::string::npos);
    std::filesystem::create_directories(dir.file("folder.expt"));
    r = render(dir, "folder.expt", "out2.bin");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("-expt folder.expt: is a folder, not a file"), std::string::npos) << r.err;
}

TEST(ExptCli, BadInputStopsWithOneLineAndWritesNothing) {
    TempDir dir("expt_bad");
    write(dir.file("bad.expt"), json{{"__id__", "ExperimentList"}, {"experiment", json::array()}});
    RunResult r = render(dir, "bad.expt", "out.bin");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("-expt bad.expt: experiment list: holds no experiment"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.file("out.bin")));
    EXPECT_FALSE(std::filesystem::exists(dir.file("int.img")));
    // a second geometry on the command line is refused, naming both
    write(dir.file("one.expt"), experiment_list({tilted_panel()}));
    r = render(dir, "one.expt", "out.bin", {"-distance", "100"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("-distance: the detector comes from -expt one.expt; give one or the other"), std::string::npos)
        << r.err;
    r = render(dir, "one.expt", "out.bin", {"-lambda", "1.2"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("-lambda: the beam comes from -expt one.expt"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.file("out.bin")));
    r = render(dir, "missing.expt", "out.bin");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("-expt missing.expt: cannot open the file"), std::string::npos) << r.err;
}

TEST(ExptCli, SplittingAPanelIntoFourOrIntoTwoTiltedHalvesChangesNoPixel) {
    TempDir dir("expt_split");
    const Panel whole = tilted_panel();
    write(dir.file("whole.expt"), experiment_list({whole}));
    std::vector<Panel> four, two;
    for (int k = 0; k < 4; ++k) {
        Panel p = whole;
        p.spixels = 128;
        p.origin = plus(whole.origin, whole.slow, k * 128 * whole.pixel);
        four.push_back(p);
    }
    for (int k = 0; k < 2; ++k) {
        Panel p = whole;
        p.spixels = 256;
        p.origin = plus(whole.origin, whole.slow, k * 256 * whole.pixel);
        two.push_back(p);
    }
    write(dir.file("four.expt"), experiment_list(four));
    write(dir.file("two.expt"), experiment_list(two));
    RunResult r_whole = render(dir, "whole.expt", "whole.bin");
    ASSERT_EQ(r_whole.exit_code, 0) << r_whole.err;
    RunResult r4 = render(dir, "four.expt", "four.bin");
    ASSERT_EQ(r4.exit_code, 0) << r4.err;
    ASSERT_EQ(render(dir, "two.expt", "two.bin").exit_code, 0);
    const std::vector<float> ref = floats(dir.file("whole.bin"));
    ASSERT_EQ(ref.size(), 512u * 512u);
    double total = 0;
    for (float v : ref) total += v;
    EXPECT_GT(total, 0.0);
    for (const auto& [name, n] : {std::pair<std::string, int>{"four", 4}, {"two", 2}}) {
        const size_t per = ref.size() / n;
        size_t same = 0;
        double worst = 0;
        for (int k = 0; k < n; ++k) {
            char file[64];
            std::snprintf(file, sizeof file, "%s_p%02d.bin", name.c_str(), k);
            const std::vector<float> part = floats(dir.file(file));
            ASSERT_EQ(part.size(), per) << file;
            for (size_t i = 0; i < per; ++i) {
                const double a = ref[k * per + i], b = part[i];
                same += a == b;
                worst = std::max(worst, std::fabs(a - b) / std::max(1e-30, std::fabs(a)));
            }
        }
        // the panels' first pixels are the whole panel's pixel positions to the
        // last bit or two (k * 12.8 mm along a tilted axis): pixel values agree
        // to 1e-12, and measured here every one is the same float
        EXPECT_LT(worst, 1e-6) << name;
        EXPECT_GT(same, ref.size() * 99 / 100) << name;
    }
    // statistics over the whole detector: the same maximum and mean as the one panel's
    auto value_after = [](const std::string& out, const std::string& key) {
        const size_t at = out.find(key);
        return at == std::string::npos ? -1.0 : std::atof(out.c_str() + at + key.size());
    };
    EXPECT_NEAR(value_after(r4.out, "max_I = "), value_after(r_whole.out, "max_I = "),
                1e-6 * value_after(r_whole.out, "max_I = "));
    EXPECT_NEAR(value_after(r4.out, "mean= "), value_after(r_whole.out, "mean= "),
                1e-6 * value_after(r_whole.out, "mean= "));
    EXPECT_GT(value_after(r4.out, "max_I = "), 0.0);
}

TEST(ExptCli, EachPanelEqualsASinglePanelRunOfItsGeometry) {
    // three panels at different tilts and distances in one run, then each alone
    TempDir dir("expt_panels");
    std::vector<Panel> panels;
    for (int k = 0; k < 3; ++k) {
        const double t = (5.0 + 7.0 * k) * M_PI / 180;
        Panel p;
        p.fast = {std::cos(t), 0, std::sin(t)};
        p.slow = {0, -1, 0};
        p.origin = {-40.0 + 30.0 * k, 15.0, -110.0 - 10.0 * k};
        p.fpixels = 200;
        p.spixels = 150;
        p.pixel = 0.172;
        panels.push_back(p);
    }
    write(dir.file("three.expt"), experiment_list(panels, 2.0));
    // in double and float, on the SIMD executor and on the scalar reference
    for (const char* isa : {"", "scalar"}) {
        if (*isa) ::setenv("NB_CPU_ISA", isa, 1);
        for (const char* precision : {"double", "float"}) {
            SCOPED_TRACE(std::string(precision) + " " + isa);
            RunResult r = render(dir, "three.expt", "three.bin", {"-precision", precision});
            ASSERT_EQ(r.exit_code, 0) << r.err;
            for (int k = 0; k < 3; ++k) {
                const std::string one = "one" + std::to_string(k);
                write(dir.file(one + ".expt"), experiment_list({panels[k]}, 2.0));
                ASSERT_EQ(render(dir, one + ".expt", one + ".bin", {"-precision", precision}).exit_code, 0);
                char part[32];
                std::snprintf(part, sizeof part, "three_p%02d.bin", k);
                const std::vector<float> a = floats(dir.file(part)), b = floats(dir.file(one + ".bin"));
                ASSERT_EQ(a.size(), 200u * 150u);
                EXPECT_EQ(a, b) << "panel " << k;
                double sum = 0;
                for (float v : a) sum += v;
                EXPECT_GT(sum, 0.0) << "panel " << k;
            }
        }
    }
    ::unsetenv("NB_CPU_ISA");
}

TEST(ExptCli, TheScanGivesTheSeriesAndPanelMasksSkipPixels) {
    TempDir dir("expt_scan");
    json j = experiment_list({tilted_panel()}, 1.0);
    j["scan"][0]["image_range"] = {1, 3};
    // the panel's untrusted rectangles, as dxtbx reads them (fast from, slow from, fast to,
    // slow to): fast 10..29, slow 20..39; fast 300..309, slow 100..104
    j["detector"][0]["panels"][0]["mask"] = {{10, 20, 30, 40}, {300, 100, 310, 105}};
    write(dir.file("scan.expt"), j);
    RunResult r = render(dir, "scan.expt", "out.bin");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (int k = 1; k <= 3; ++k) {
        char name[32];
        std::snprintf(name, sizeof name, "out_%04d.bin", k);
        EXPECT_TRUE(std::filesystem::exists(dir.file(name))) << name;
    }
    EXPECT_NE(r.out.find("frame 3 of 3: phi = 2 deg"), std::string::npos) << r.out;
    const std::vector<float> img = floats(dir.file("out_0001.bin"));
    ASSERT_EQ(img.size(), 512u * 512u);
    double inside = 0, around = 0;
    for (int s = 20; s < 40; ++s)
        for (int f = 10; f < 30; ++f) inside += img[(size_t)s * 512 + f];
    for (int s = 20; s < 40; ++s)
        for (int f = 30; f < 50; ++f) around += img[(size_t)s * 512 + f];
    EXPECT_EQ(inside, 0.0);
    EXPECT_GT(around, 0.0);
    double second = 0, beside = 0;
    for (int s = 100; s < 105; ++s)
        for (int f = 300; f < 310; ++f) second += img[(size_t)s * 512 + f], beside += img[(size_t)(s + 5) * 512 + f];
    EXPECT_EQ(second, 0.0);
    EXPECT_GT(beside, 0.0);
    // -nframes (and -phi, -osc) on the command line take part of the scan
    r = render(dir, "scan.expt", "one.bin", {"-nframes", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::exists(dir.file("one.bin")));
    EXPECT_FALSE(std::filesystem::exists(dir.file("one_0002.bin")));
}

TEST(ExptReader, APanelsTagGoesBeforeTheFrameNumber) {
    EXPECT_EQ(nb::panel_file_name("out.bin", 3, 8), "out_p03.bin");
    EXPECT_EQ(nb::panel_file_name("out.bin", 3, 1), "out.bin");
    EXPECT_EQ(nb::panel_file_name("dir.v2/out", 3, 101), "dir.v2/out_p003");
    EXPECT_EQ(nb::panel_file_name("sweep_%04d.cbf", 3, 8), "sweep_p03_%04d.cbf");
    EXPECT_EQ(nb::panel_file_name("sweep%04d.cbf", 3, 8), "sweep_p03_%04d.cbf");
    EXPECT_EQ(nb::panel_file_name("run_%03d/img.cbf", 3, 8), "run_%03d/img_p03.cbf");
    EXPECT_EQ(nb::panel_file_name("a%%b_%d.bin", 0, 2), "a%%b_p00_%d.bin");
    EXPECT_EQ(nb::panel_file_name("/dev/null", 3, 8), "/dev/null");
}

// dxtbx takes sweep_p01_0011.cbf ... as one sweep of images 11-12; with the
// panel's tag after the number each frame would be a sweep of its own
TEST(ExptCli, FilesAreNumberedAsTheScansImagesWithThePanelBeforeTheNumber) {
    TempDir dir("expt_range");
    Panel a = tilted_panel(), b = tilted_panel();
    a.fpixels = a.spixels = b.fpixels = b.spixels = 32;
    b.origin = plus(a.origin, a.slow, 40 * a.pixel);
    json j = experiment_list({a, b}, 5.0);
    j["scan"][0]["image_range"] = {11, 12};
    write(dir.file("range.expt"), j);
    RunResult r = render(dir, "range.expt", "out.bin", {"-cbffile", "sweep_%04d.cbf"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* name : {"out_p00_0011.bin", "out_p01_0012.bin", "int_p00_0011.img", "int_p01_0012.img",
                             "sweep_p00_0011.cbf", "sweep_p01_0012.cbf"})
        EXPECT_TRUE(std::filesystem::exists(dir.file(name))) << name << "\n" << r.out;
    for (const char* name : {"out_p00_0001.bin", "out_0011_p00.bin", "out_p00_0013.bin", "sweep_0011_p00.cbf"})
        EXPECT_FALSE(std::filesystem::exists(dir.file(name))) << name;
    // images 11 and 12 start at 5 and 5.5 deg
    EXPECT_NE(r.out.find("phi = 5.5 deg"), std::string::npos) << r.out;
    // another start (-phi) is not the scan's images: numbered from 1
    r = render(dir, "range.expt", "other.bin", {"-phi", "0"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::exists(dir.file("other_p01_0002.bin")));
    EXPECT_FALSE(std::filesystem::exists(dir.file("other_p01_0012.bin")));
    // a shot list is not the scan: its series is refused naming the file, and
    // with one frame of the scan its shots are numbered from 1
    std::ofstream(dir.file("shots.txt")) << "misset 0 0 0\nmisset 1 0 0\n";
    r = render(dir, "range.expt", "shot.bin", {"-shots", "shots.txt"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("-shots: cannot be combined with a series of 2 frames (-nframes, or the scan of -expt "
                         "range.expt; -nframes 1 gives one)"),
              std::string::npos)
        << r.err;
    r = render(dir, "range.expt", "shot.bin", {"-shots", "shots.txt", "-nframes", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::exists(dir.file("shot_p01_0002.bin")));
}

TEST(ExptCli, EachPanelEqualsARunOfCsCustomVectorsAtItsGeometry) {
    // the same panels as C's flags would place them: -fdet/-sdet/-odet/-beam/
    // -polar/-spindle vectors in the engine's frame, the panel's corner through
    // -Xbeam/-Ybeam/-close_distance about the sample (C recomputes -pix0_vector
    // from those, docs/parity.md), C's -polar for DIALS's polarization
    TempDir dir("expt_custom");
    std::vector<Panel> panels;
    for (int k = 0; k < 2; ++k) {
        const double t = (6.0 + 11.0 * k) * M_PI / 180;
        Panel p;
        p.fast = {std::cos(t), 0, std::sin(t)};
        p.slow = {0, -1, 0};
        p.origin = {-35.0 + 40.0 * k, 14.0, -105.0 - 12.0 * k};
        p.fpixels = 160;
        p.spixels = 120;
        p.pixel = 0.172;
        panels.push_back(p);
    }
    write(dir.file("two.expt"), experiment_list(panels, 2.0));
    RunResult r = render(dir, "two.expt", "two.bin");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto engine = [](const std::array<double, 3>& d) { return nb::engine_from_dials(nb::Vec3D{d[0], d[1], d[2]}); };
    auto text = [](double v) {
        char b[40];
        std::snprintf(b, sizeof b, "%.17g", v);
        return std::string(b);
    };
    auto vec_flag = [&](const std::string& flag, const nb::Vec3D& v) {
        return std::vector<std::string>{flag, text(v.x), text(v.y), text(v.z)};
    };
    for (int k = 0; k < 2; ++k) {
        const Panel& p = panels[k];
        const nb::Vec3D f = engine(p.fast), s = engine(p.slow), o0 = nb::scale(engine(p.origin), 1e-3);
        nb::Vec3D o;
        nb::unitize(nb::cross(f, s), o);
        if (nb::dot(o0, o) < 0) o = nb::scale(o, -1.0);
        std::vector<std::string> args = {"-cell",
                                         "79.1",
                                         "79.1",
                                         "38.4",
                                         "90",
                                         "90",
                                         "90",
                                         "-default_F",
                                         "100",
                                         "-N",
                                         "6",
                                         "-misset",
                                         "10",
                                         "20",
                                         "30",
                                         "-oversample",
                                         "2",
                                         "-nonoise",
                                         "-nopgm",
                                         "-seed",
                                         "1",
                                         "-lambda",
                                         "1",
                                         "-phi",
                                         "2",
                                         "-osc",
                                         "0.5",
                                         "-pixel",
                                         "0.172",
                                         "-detpixels_f",
                                         "160",
                                         "-detpixels_s",
                                         "120",
                                         "-pivot",
                                         "sample",
                                         "-polar",
                                         text(2 * 0.999 - 1),
                                         "-Xbeam",
                                         text(-1e3 * nb::dot(o0, f)),
                                         "-Ybeam",
                                         text(-1e3 * nb::dot(o0, s)),
                                         "-close_distance",
                                         text(1e3 * nb::dot(o0, o)),
                                         "-floatfile",
                                         "custom.bin",
                                         "-intfile",
                                         "c.img"};
        for (const auto& [flag, v] : {std::pair<std::string, nb::Vec3D>{"-fdet_vector", f},
                                      {"-sdet_vector", s},
                                      {"-odet_vector", o},
                                      {"-beam_vector", nb::Vec3D{1, 0, 0}},
                                      {"-polar_vector", nb::Vec3D{0, 0, 1}},
                                      {"-spindle_axis", nb::Vec3D{0, 0, 1}},
                                      {"-pix0_vector", o0}}) {
            const auto w = vec_flag(flag, v);
            args.insert(args.end(), w.begin(), w.end());
        }
        RunResult c = run_cli(args, dir.path.string());
        ASSERT_EQ(c.exit_code, 0) << c.err;
        char part[32];
        std::snprintf(part, sizeof part, "two_p%02d.bin", k);
        const std::vector<float> a = floats(dir.file(part)), b = floats(dir.file("custom.bin"));
        ASSERT_EQ(a.size(), b.size());
        double worst = 0, top = 0;
        for (size_t i = 0; i < a.size(); ++i) {
            worst = std::max(worst, (double)std::fabs(a[i] - b[i]));
            top = std::max(top, (double)a[i]);
        }
        EXPECT_GT(top, 0.0) << "panel " << k;
        // the corner rebuilt from three dot products moves it by rounding only
        EXPECT_LT(worst, 1e-6 * top) << "panel " << k;
    }
}

// -trace_pixel on a stacked multi-panel image replays the pixel with its
// panel's frame: the lines are those of the same pixel in a run of that panel alone.
TEST(ExptCli, TracePixelOfAPanelIsThatOfTheSamePanelAlone) {
    TempDir dir("expt_trace");
    std::vector<Panel> panels;
    for (int k = 0; k < 2; ++k) {
        Panel p = tilted_panel();
        p.fpixels = 64;
        p.spixels = 48;
        p.pixel = 0.4;
        p.origin = {-12.8 + 14.0 * k, 9.6 - 4.0 * k, -120.0};
        panels.push_back(p);
    }
    write(dir.file("two.expt"), experiment_list(panels));
    write(dir.file("second.expt"), experiment_list({panels[1]}));
    RunResult alone = render(dir, "second.expt", "second.bin");
    ASSERT_EQ(alone.exit_code, 0) << alone.err;
    const std::vector<float> img = floats(dir.file("second.bin"));
    ASSERT_EQ(img.size(), 64u * 48u);
    const size_t peak = std::max_element(img.begin(), img.end()) - img.begin();
    ASSERT_GT(img[peak], 0.0f);
    const int f = (int)(peak % 64), s = (int)(peak / 64);

    auto trace_lines = [](const std::string& out) {
        std::vector<std::string> lines;
        std::istringstream in(out);
        for (std::string l; std::getline(in, l);)
            if (l.rfind("TRACE_C", 0) == 0 && l.rfind("TRACE_CONFIG", 0) != 0) lines.push_back(l);
        return lines;
    };
    for (const char* precision : {"double", "float"}) {
        SCOPED_TRACE(precision);
        RunResult one = render(dir, "second.expt", "a.bin",
                               {"-precision", precision, "-trace_pixel", std::to_string(s), std::to_string(f)});
        RunResult both = render(dir, "two.expt", "b.bin",
                                {"-precision", precision, "-trace_pixel", std::to_string(48 + s), std::to_string(f)});
        ASSERT_EQ(one.exit_code, 0) << one.err;
        ASSERT_EQ(both.exit_code, 0) << both.err;
        const std::vector<std::string> a = trace_lines(one.out), b = trace_lines(both.out);
        ASSERT_GT(a.size(), 20u);
        EXPECT_EQ(a, b);
        // the replayed value is the image's (rendered by the SIMD executor, with
        // fused multiply-adds: in float they move the last digits; the image
        // holds it in float)
        double replayed = 0, stored = 0;
        for (const std::string& l : a) {
            if (l.rfind("TRACE_C: I_pixel_final ", 0) == 0) replayed = std::stod(l.substr(23));
            if (l.rfind("TRACE_C: floatimage_accumulated ", 0) == 0) stored = std::stod(l.substr(32));
        }
        EXPECT_GT(stored, 0.0);
        EXPECT_NEAR(replayed, stored, (std::string(precision) == "float" ? 1e-5 : 2e-7) * stored);
        EXPECT_EQ((float)stored, floats(dir.file("b_p01.bin"))[(size_t)s * 64 + f]);
    }
}

// The scan's exposure is -exposure's default (the NeXus count_time; with
// -flux, the fluence); it had been 1 s whatever the file said.
TEST(ExptCli, TheScansExposureTimeIsTheExposure) {
    TempDir dir("expt_exposure");
    json j = experiment_list({tilted_panel()});
    j["scan"][0]["exposure_time"] = {0.1, 0.1};
    write(dir.file("e.expt"), j);
    const std::string path = dir.file("e.expt");
    auto parsed = [&](std::vector<const char*> more) {
        std::vector<const char*> argv = {"nanoBragg", "-expt", path.c_str(), "-cell", "50",         "50",
                                         "50",        "90",    "90",         "90",    "-default_F", "1"};
        argv.insert(argv.end(), more.begin(), more.end());
        return nb::parse_args((int)argv.size(), argv.data()).config;
    };
    EXPECT_EQ(parsed({}).exposure, 0.1);
    EXPECT_EQ(parsed({"-exposure", "2"}).exposure, 2.0);
    const nb::SimConfig c = parsed({"-flux", "1e12", "-beamsize", "0.1"});
    const nb::Experiment e = nb::prepare_experiment(c);
    EXPECT_DOUBLE_EQ(e.fluence, 1e12 * 0.1 / 1e-4 / 1e-4);
    j["scan"][0]["exposure_time"] = {-1.0};
    write(path, j);
    EXPECT_THROW(parsed({}), std::exception);
}
