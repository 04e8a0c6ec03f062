// The GPU's frame pipeline (kernels/frame_pipeline.hpp: staging into reused
// buffers, both interpolation passes, the direct-beam fix-up, the statistics
// reductions, the copy back) run by its host backend, against the scalar CPU
// executor (render_pixel, pixel by pixel): the orchestration the GPU runs is
// checked on every CI machine, without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "engine/render.hpp"
#include "engine/setup.hpp"
#include "expt_fixture.hpp"
#include "kernels/frame_host_backend.hpp"
#include "run_cli.hpp"

using namespace nb;

namespace {

SimConfig golden_config(const std::string& id) {
    std::ifstream in(nbtest::golden_dir() + "/manifest.json");
    const nlohmann::json m = nlohmann::json::parse(in);
    std::string args = m.at("cases").at(id).at("args").get<std::string>();
    for (size_t p; (p = args.find("{in}")) != std::string::npos;) args.replace(p, 4, nbtest::golden_dir() + "/inputs");
    std::vector<std::string> words = nbtest::split_ws(args);
    std::vector<const char*> argv{"nanoBragg"};
    for (const std::string& w : words) argv.push_back(w.c_str());
    SimConfig c = parse_args((int)argv.size(), argv.data()).config;
    c.write_fdump = false;
    return c;
}

RenderResult scalar_cpu(const Experiment& e, Precision prec) {
    RenderOptions o;
    o.device = Device::Cpu;
    o.precision = prec;
    o.threads = 1;
    setenv("NB_CPU_ISA", "scalar", 1);
    RenderResult r = render_image(e, o);
    unsetenv("NB_CPU_ISA");
    return r;
}

RenderResult host_pipeline(const Experiment& e, Precision prec) {
    RenderOptions o;
    o.device = Device::HostPipeline;
    o.precision = prec;
    return render_image(e, o);
}

void expect_same_frame(const SimConfig& cfg, const std::string& id, Precision prec) {
    SCOPED_TRACE(id + (prec == Precision::Float ? " float" : " double"));
    Experiment e = prepare_experiment(cfg);
    const RenderResult a = scalar_cpu(e, prec), b = host_pipeline(e, prec);
    ASSERT_EQ(a.image.size(), b.image.size());
    size_t differ = 0;
    for (size_t i = 0; i < a.image.size(); ++i)
        if (std::memcmp(&a.image[i], &b.image[i], sizeof(float)) != 0) ++differ;
    EXPECT_EQ(differ, 0u) << "pixels that differ from the scalar executor";
    EXPECT_EQ(a.interp_disabled_at, b.interp_disabled_at);
    EXPECT_EQ(a.stats.max_I, b.stats.max_I);
    EXPECT_EQ(a.stats.max_I_x, b.stats.max_I_x);
    EXPECT_EQ(a.stats.max_I_y, b.stats.max_I_y);
    EXPECT_EQ(a.stats.counted, b.stats.counted);
    EXPECT_EQ(a.stats.nonfinite, b.stats.nonfinite);
    EXPECT_NEAR(b.stats.sum, a.stats.sum, 1e-12 * std::fabs(a.stats.sum));
    EXPECT_NEAR(b.stats.rms, a.stats.rms, 1e-12 * std::fabs(a.stats.rms));
    EXPECT_NEAR(b.stats.rmsd, a.stats.rmsd, 1e-9 * std::fabs(a.stats.rmsd));
    EXPECT_GT(a.stats.sum, 0);
}

void expect_same_frame(const std::string& id, Precision prec) { expect_same_frame(golden_config(id), id, prec); }

}  // namespace

// Several panels (-expt): the panel table travels with the other tables, one
// launch renders every panel.
TEST(FramePipeline, SeveralPanelsAsTheCpu) {
    nbtest::TempDir dir("pipeline_panels");
    const SimConfig c = nbtest::expt_config(nbtest::write_three_panel_expt(dir.file("p.expt")),
                                            nbtest::split_ws("-cell 70 80 90 75 85 95 -default_F 100 -N 5 "
                                                             "-oversample 2 -round_xtal"));
    for (Precision p : {Precision::Double, Precision::Float}) expect_same_frame(c, "three panels", p);
}

// ROI and mask: pixels outside stay 0, the statistics skip them (masked ones count in rmsd only).
TEST(FramePipeline, RoiAndMaskAsTheCpu) {
    for (Precision p : {Precision::Double, Precision::Float}) {
        expect_same_frame("roi", p);
        expect_same_frame("mask", p);
    }
}

// C's serial switch-off of tricubic interpolation: the second pass from the first failing pixel.
TEST(FramePipeline, InterpolationSwitchOffReRendersLaterPixels) {
    for (Precision p : {Precision::Double, Precision::Float}) expect_same_frame("lyso_interp_out_of_range", p);
    const int before = host_pipeline_backend().passes();
    Experiment e = prepare_experiment(golden_config("lyso_interp_out_of_range"));
    const RenderResult r = host_pipeline(e, Precision::Double);
    EXPECT_GE(r.interp_disabled_at, 0);
    EXPECT_EQ(host_pipeline_backend().passes() - before, 2);
}

// A round crystal on the direct beam: the kernel's list, re-rendered with C's rounding on the host.
TEST(FramePipeline, RoundCrystalDirectBeamPixelsArePatched) {
    for (Precision p : {Precision::Double, Precision::Float}) {
        expect_same_frame("beam_round_sparse_dials", p);
        expect_same_frame("beam_round_lyso_mosaic_divergence", p);
    }
    const int before = host_pipeline_backend().patched();
    Experiment e = prepare_experiment(golden_config("beam_round_sparse_dials"));
    host_pipeline(e, Precision::Float);
    EXPECT_GE(host_pipeline_backend().patched() - before, 1);
}

// Weighted sources and a water background (every pixel nonzero).
TEST(FramePipeline, SourcesAndWaterAsTheCpu) {
    for (Precision p : {Precision::Double, Precision::Float}) {
        expect_same_frame("sourcefile_weights", p);
        expect_same_frame("water", p);
    }
}

// Frames after the first reuse the buffers: the HKL grid goes up once while
// its bytes stay the same, the image buffer grows only for a larger frame.
TEST(FramePipeline, BuffersAndGridAreReusedAcrossFrames) {
    HostFrameBackend& b = host_pipeline_backend();
    SimConfig c = golden_config("lyso_interp_out_of_range");
    c.fpixels = c.spixels = 64;
    Experiment small = prepare_experiment(c);
    host_pipeline(small, Precision::Double);
    const int grids = b.grid_uploads();
    const size_t capacity = b.image_capacity();
    EXPECT_GE(capacity, 64u * 64u * sizeof(float));
    small.samp.phi0 += 0.01;
    const RenderResult second = host_pipeline(small, Precision::Double);
    EXPECT_EQ(b.grid_uploads(), grids);
    EXPECT_EQ(b.image_capacity(), capacity);
    const RenderResult cpu = scalar_cpu(small, Precision::Double);
    EXPECT_EQ(0, std::memcmp(cpu.image.data(), second.image.data(), cpu.image.size() * sizeof(float)));
    c.fpixels = c.spixels = 32;  // a smaller frame in the larger buffer: only its own pixels are read back
    Experiment smaller = prepare_experiment(c);
    const RenderResult third = host_pipeline(smaller, Precision::Double);
    EXPECT_EQ(third.image.size(), 32u * 32u);
    EXPECT_EQ(b.image_capacity(), capacity);
    const RenderResult cpu3 = scalar_cpu(smaller, Precision::Double);
    EXPECT_EQ(0, std::memcmp(cpu3.image.data(), third.image.data(), cpu3.image.size() * sizeof(float)));
}
