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
#include "golden_case.hpp"
#include "kernels/frame_host_backend.hpp"
#include "run_cli.hpp"

using namespace nb;

namespace {

using nbtest::golden_config;

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
// launch per panel renders its spots, then its background.
TEST(FramePipeline, SeveralPanelsAsTheCpu) {
    nbtest::TempDir dir("pipeline_panels");
    const SimConfig c = nbtest::expt_config(nbtest::write_three_panel_expt(dir.file("p.expt")),
                                            nbtest::split_ws("-cell 70 80 90 75 85 95 -default_F 100 -N 5 "
                                                             "-oversample 2 -round_xtal -amorphous water:0.01"));
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

// Background materials are added on the device, after the spots and before
// the statistics, in the CPU's float order: five materials (two passes of at
// most four), a mask, and float and double.
TEST(FramePipeline, BackgroundMaterialsAddedOnTheDeviceAsTheCpu) {
    const std::string materials =
        "-amorphous water:0.01 -amorphous air:20 -amorphous ice:0.01 -amorphous water:0.02 -amorphous air:5";
    const SimConfig c = golden_config("mask", materials);
    ASSERT_EQ(c.amorphous.size(), 5u);
    const int before = host_pipeline_backend().background_passes();
    for (Precision p : {Precision::Double, Precision::Float}) expect_same_frame(c, "mask + 5 materials", p);
    EXPECT_EQ(host_pipeline_backend().background_passes() - before, 4);  // 2 passes x 2 precisions
    for (Precision p : {Precision::Double, Precision::Float})
        expect_same_frame(golden_config("lyso_interp_out_of_range", "-amorphous water:0.05"), "interpolation + water",
                          p);
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

// The render kernel's code is put on the device before the frame's timed
// passes start (kernel_ms is the passes' time, not a module's first load).
TEST(FramePipeline, TheRenderKernelIsLoadedBeforeTheTimedPasses) {
    HostFrameBackend& b = host_pipeline_backend();
    SimConfig c = golden_config("roi");
    c.fpixels = c.spixels = 32;
    const int before = b.loads();
    host_pipeline(prepare_experiment(c), Precision::Float);
    EXPECT_EQ(b.loads(), before + 1);
    EXPECT_EQ(b.loads_at_start(), before + 1);
}

namespace {

void expect_same_image(const RenderResult& want, const RenderResult& got) {
    ASSERT_EQ(want.image.size(), got.image.size());
    EXPECT_EQ(0, std::memcmp(want.image.data(), got.image.data(), want.image.size() * sizeof(float)));
    EXPECT_EQ(want.interp_disabled_at, got.interp_disabled_at);
    EXPECT_EQ(want.stats.max_I, got.stats.max_I);
    EXPECT_EQ(want.stats.counted, got.stats.counted);
    EXPECT_NEAR(got.stats.sum, want.stats.sum, 1e-12 * std::fabs(want.stats.sum));
}

RenderOptions pipeline_options(Precision prec) {
    RenderOptions o;
    o.device = Device::HostPipeline;
    o.precision = prec;
    return o;
}

}  // namespace

// Two frames in flight: the second is queued before the first is collected,
// and each comes back as its own (the host backend copies back only at
// collect, so a slot shared by both frames would hand back the second twice).
// Frames of different sizes, one interpolating with C's switch-off, one not.
TEST(FramePipeline, TwoFramesInFlightEachComeBackAsTheirOwn) {
    const SimConfig ca = golden_config("lyso_interp_out_of_range");
    SimConfig cb = golden_config("roi");
    cb.fpixels = cb.spixels = 128;
    for (Precision p : {Precision::Double, Precision::Float}) {
        SCOPED_TRACE(p == Precision::Float ? "float" : "double");
        Experiment a = prepare_experiment(ca), b = prepare_experiment(cb);
        const RenderResult want_a = scalar_cpu(a, p), want_b = scalar_cpu(b, p);
        ASSERT_GE(want_a.interp_disabled_at, 0);
        FrameQueue q(pipeline_options(p));
        ASSERT_EQ(q.depth(), 2);
        q.submit(a);
        q.submit(b);
        EXPECT_EQ(host_pipeline_backend().in_flight(), 2);
        const FrameQueue::Frame fa = q.collect();
        EXPECT_EQ(host_pipeline_backend().in_flight(), 1);
        // a third frame takes the first one's slot while the second is still out
        a.samp.phi0 += 0.02;
        const RenderResult want_c = scalar_cpu(a, p);
        q.submit(a);
        const FrameQueue::Frame fb = q.collect();
        const FrameQueue::Frame fc = q.collect();
        EXPECT_EQ(host_pipeline_backend().in_flight(), 0);
        expect_same_image(want_a, fa.result);
        expect_same_image(want_b, fb.result);
        expect_same_image(want_c, fc.result);
        // each frame carries the geometry it was submitted with
        EXPECT_EQ(fa.exp.det.fpixels, 256);
        EXPECT_EQ(fb.exp.det.fpixels, 128);
        EXPECT_EQ(fc.exp.samp.phi0, a.samp.phi0);
        EXPECT_EQ(fa.exp.samp.phi0 + 0.02, fc.exp.samp.phi0);
    }
}

// No more than two frames are in flight, and a slot is given back even when
// its frame is dropped (a run stopped by an error destroys its queue).
TEST(FramePipeline, AThirdFrameInFlightIsRefused) {
    SimConfig c = golden_config("roi");
    Experiment e = prepare_experiment(c);
    {
        FrameQueue q(pipeline_options(Precision::Float));
        q.submit(e);
        q.submit(e);
        EXPECT_THROW(q.submit(e), std::logic_error);
        EXPECT_EQ(q.pending(), 2);
    }
    EXPECT_EQ(host_pipeline_backend().in_flight(), 0);
    // the slot ring under every backend: frame k takes slot k % 2, a busy slot is refused
    SlotRing ring;
    EXPECT_EQ(ring.take(), 0);
    EXPECT_EQ(ring.take(), 1);
    EXPECT_THROW(ring.take(), std::logic_error);
    ring.give_back(0);
    EXPECT_FALSE(ring.busy(0));
    EXPECT_TRUE(ring.busy(1));
    EXPECT_EQ(ring.take(), 0);
    EXPECT_EQ(ring.in_flight(), 2);
}

// A written frame's image handed back to the queue is filled by a later frame
// without new pages: every pixel is overwritten, those outside the ROI with 0.
TEST(FramePipeline, RecycledImagesAreFilledWhole) {
    Experiment e = prepare_experiment(golden_config("roi"));
    const size_t n = (size_t)e.det.fpixels * e.det.spixels;
    for (Device d : {Device::HostPipeline, Device::Cpu}) {
        SCOPED_TRACE(d == Device::Cpu ? "cpu" : "host pipeline");
        RenderOptions o = pipeline_options(Precision::Double);
        o.device = d;
        FrameQueue q(o);
        EXPECT_EQ(q.depth(), d == Device::Cpu ? 1 : 2);
        std::vector<float> old(n, 7.0f);
        const float* storage = old.data();
        q.recycle(std::move(old));
        q.submit(e);
        const FrameQueue::Frame f = q.collect();
        EXPECT_EQ(f.result.image.data(), storage);
        expect_same_image(scalar_cpu(e, Precision::Double), f.result);
        EXPECT_EQ(f.result.image[0], 0.0f);  // (0,0) lies outside the case's ROI
    }
}
