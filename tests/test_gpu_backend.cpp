// CPU and GPU executors run the same physics: their images must agree.
// Every test here skips cleanly on a machine without a CUDA GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <utility>

#include "engine/hkl_io.hpp"
#include "engine/render.hpp"
#include "engine/setup.hpp"
#include "engine/units.hpp"
#include "expt_fixture.hpp"
#include "kernels/cuda_launcher.hpp"
#include "run_cli.hpp"

using namespace nb;

namespace {

SimConfig cubic(int n) {
    SimConfig c;
    c.user_cell = true;
    c.cell_a = c.cell_b = c.cell_c = 100;
    c.default_F = 100;
    c.Na = c.Nb = c.Nc = 5;
    c.fpixels = c.spixels = n;
    return c;
}

double correlation(const std::vector<float>& a, const std::vector<float>& b) {
    double n = a.size(), sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        sx += a[i];
        sy += b[i];
        sxx += a[i] * a[i];
        syy += b[i] * b[i];
        sxy += a[i] * b[i];
    }
    return (sxy - sx * sy / n) / std::sqrt((sxx - sx * sx / n) * (syy - sy * sy / n));
}

// A device's image against the CPU's of the same experiment: the CPU/GPU
// agreement bar of each precision.
void expect_images_agree(const RenderResult& cpu, const RenderResult& dev, Precision prec) {
    EXPECT_EQ(cpu.interp_disabled_at, dev.interp_disabled_at);
    EXPECT_GE(correlation(cpu.image, dev.image), prec == Precision::Double ? 0.9999999 : 0.99999);
    EXPECT_NEAR(dev.stats.sum / cpu.stats.sum, 1.0, prec == Precision::Double ? 1e-9 : 1e-4);
}

void expect_cpu_gpu_agree(const SimConfig& cfg, Precision prec) {
    Experiment e = prepare_experiment(cfg);
    RenderOptions cpu, gpu;
    cpu.device = Device::Cpu;
    gpu.device = Device::Cuda;
    cpu.precision = gpu.precision = prec;
    RenderResult a = render_image(e, cpu), b = render_image(e, gpu);
    EXPECT_EQ(b.backend.rfind("cuda", 0), 0u);
    expect_images_agree(a, b, prec);
}

// A grid of structure factors over -4..4 on each axis whose values follow
// `pattern` (two patterns: two grids of the same shape and size).
HklGrid patterned_grid(int pattern) {
    std::vector<Reflection> refl;
    for (int h = -4; h <= 4; ++h)
        for (int k = -4; k <= 4; ++k)
            for (int l = -4; l <= 4; ++l)
                refl.push_back({h, k, l, 10.0 + ((pattern ? 5 * h + 11 * k + 3 * l : 7 * h + 3 * k + l) & 15)});
    return hkl_grid_from_reflections(refl, 0, "test grid");
}

// The HKL grid stays on the device across renders and goes up again only
// when its bytes change (a Python Simulator's set_structure_factors, shots):
// renders that swap two grids of the same shape, one at a time and two in
// flight, must each give the CPU's image of its own grid.
void expect_each_render_uses_its_own_grid(Device device) {
    SimConfig c = cubic(96);
    c.default_F = 0;
    c.misset_mode = 0;
    c.lambda0 = 1.2e-10;
    c.distance = 60e-3;
    const Experiment one = prepare_experiment(c, patterned_grid(0)), two = prepare_experiment(c, patterned_grid(1));
    ASSERT_EQ(one.hkl.F.size(), two.hkl.F.size());
    for (Precision p : {Precision::Double, Precision::Float}) {
        SCOPED_TRACE(p == Precision::Float ? "float" : "double");
        RenderOptions cpu, dev;
        cpu.device = Device::Cpu;
        dev.device = device;
        cpu.precision = dev.precision = p;
        const RenderResult want_one = render_image(one, cpu), want_two = render_image(two, cpu);
        // the two grids' images are far apart: a stale grid cannot pass for the other
        ASSERT_LT(correlation(want_one.image, want_two.image), 0.99);
        const RenderResult a = render_image(one, dev), b = render_image(two, dev), c1 = render_image(one, dev);
        expect_images_agree(want_one, a, p);
        expect_images_agree(want_two, b, p);
        EXPECT_EQ(0, std::memcmp(a.image.data(), c1.image.data(), a.image.size() * sizeof(float)));
        // two in flight: the second frame's grid goes up behind the first frame's kernels
        FrameQueue q(dev);
        q.submit(two);
        q.submit(one);
        const FrameQueue::Frame f2 = q.collect(), f1 = q.collect();
        EXPECT_EQ(0, std::memcmp(b.image.data(), f2.result.image.data(), b.image.size() * sizeof(float)));
        EXPECT_EQ(0, std::memcmp(a.image.data(), f1.result.image.data(), a.image.size() * sizeof(float)));
    }
}

}  // namespace

// The same on the host implementation of the GPU's frame pipeline, on every CI run.
TEST(FramePipeline, EachRenderUsesItsOwnStructureFactors) {
    expect_each_render_uses_its_own_grid(Device::HostPipeline);
}

class GpuBackend : public testing::Test {
protected:
    void SetUp() override {
        if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA GPU on this machine";
    }
};

TEST_F(GpuBackend, CubicDoubleAndFloat) {
    expect_cpu_gpu_agree(cubic(256), Precision::Double);
    expect_cpu_gpu_agree(cubic(256), Precision::Float);
}

TEST_F(GpuBackend, MosaicPhiDetectorAndSensor) {
    SimConfig c = cubic(128);
    c.mosaic_spread = 0.5 / RTD;
    c.mosaic_domains = 7;
    c.osc = 3 / RTD;
    c.phisteps = 3;
    c.detector_rotx = 5 / RTD;
    c.twotheta = 10 / RTD;
    c.detector_thick = 450e-6;
    c.detector_mu = 1 / 500e-6;
    c.detector_thicksteps = 3;
    c.polarization = 0.95;
    c.oversample = 2;
    expect_cpu_gpu_agree(c, Precision::Double);
    expect_cpu_gpu_agree(c, Precision::Float);
}

TEST_F(GpuBackend, NoGpuPathIsNotTakenSilently) {
    // with a GPU present, -device auto renders there
    Experiment e = prepare_experiment(cubic(16));
    RenderOptions opt;
    opt.device = Device::Auto;
    EXPECT_EQ(render_image(e, opt).backend.rfind("cuda", 0), 0u);
}

TEST(GpuBackendAbsent, CudaRequestWithoutGpuThrowsInsteadOfCrashing) {
    if (cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present";
    Experiment e = prepare_experiment(cubic(16));
    RenderOptions opt;
    opt.device = Device::Cuda;
    EXPECT_THROW(render_image(e, opt), std::runtime_error);
}

// Why no GPU can be used: an old driver is a problem to warn of (a GPU is
// likely there); no driver or no device is simply none.
TEST(GpuBackendAbsent, AnOldDriverIsSaidNotHidden) {
    const CudaUnavailable none = describe_cuda_unavailable(0, 13000, false, "cudaErrorInsufficientDriver (x)");
    EXPECT_FALSE(none.problem);
    EXPECT_EQ(none.why, "no CUDA GPU found");
    const CudaUnavailable old = describe_cuda_unavailable(12040, 13000, false, "cudaErrorInsufficientDriver (x)");
    EXPECT_TRUE(old.problem);
    EXPECT_NE(old.why.find("the NVIDIA driver supports CUDA 12.4, older than this build's CUDA runtime 13.0"),
              std::string::npos)
        << old.why;
    const CudaUnavailable nodev = describe_cuda_unavailable(13000, 13000, true, "cudaErrorNoDevice (x)");
    EXPECT_FALSE(nodev.problem);
    const CudaUnavailable err = describe_cuda_unavailable(13010, 13000, false, "cudaErrorSystemNotReady (y)");
    EXPECT_TRUE(err.problem);
    EXPECT_EQ(err.why, "the CUDA runtime reports: cudaErrorSystemNotReady (y)");
    // this machine: no GPU, no driver (or no CUDA build) is not a problem
    if (cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present";
    EXPECT_FALSE(cuda_unavailable().problem) << cuda_unavailable().why;
}

// Several panels (-expt): a launch per panel, each with its frame; the
// amorphous term too.
TEST_F(GpuBackend, SeveralPanelsAsTheCpu) {
    nbtest::TempDir dir("gpu_panels");
    const std::string expt = nbtest::write_three_panel_expt(dir.file("p.expt"));
    for (Precision p : {Precision::Double, Precision::Float}) {
        expect_cpu_gpu_agree(
            nbtest::expt_config(expt, nbtest::split_ws("-cell 70 80 90 75 85 95 -default_F 100 -N 5 -oversample 2")),
            p);
        expect_cpu_gpu_agree(nbtest::expt_config(expt, nbtest::split_ws("-cell 70 80 90 75 85 95 -default_F 100 -N 5 "
                                                                        "-oversample 2 -amorphous water:0.1")),
                             p);
    }
}

// Two frames in flight on the GPU (the second's kernels queued before the
// first is copied back and collected) come back as the frames rendered one
// at a time, bit for bit, with their statistics.
TEST_F(GpuBackend, TwoFramesInFlightAsOneAtATime) {
    for (Precision p : {Precision::Double, Precision::Float}) {
        SimConfig ca = cubic(256), cb = cubic(128);
        cb.Na = cb.Nb = cb.Nc = 8;
        Experiment a = prepare_experiment(ca), b = prepare_experiment(cb);
        RenderOptions o;
        o.device = Device::Cuda;
        o.precision = p;
        const RenderResult want_a = render_image(a, o), want_b = render_image(b, o);
        FrameQueue q(o);
        ASSERT_EQ(q.depth(), 2);
        q.submit(a);
        q.submit(b);
        const FrameQueue::Frame fa = q.collect();
        q.submit(a);
        const FrameQueue::Frame fb = q.collect(), fc = q.collect();
        for (const auto& [want, got] : {std::pair{&want_a, &fa.result}, {&want_b, &fb.result}, {&want_a, &fc.result}}) {
            ASSERT_EQ(want->image.size(), got->image.size());
            EXPECT_EQ(0, std::memcmp(want->image.data(), got->image.data(), want->image.size() * sizeof(float)));
            EXPECT_EQ(want->stats.sum, got->stats.sum);
            EXPECT_EQ(want->stats.max_I, got->stats.max_I);
            EXPECT_GT(got->kernel_ms, 0);
        }
    }
}

TEST_F(GpuBackend, EachRenderUsesItsOwnStructureFactors) { expect_each_render_uses_its_own_grid(Device::Cuda); }
