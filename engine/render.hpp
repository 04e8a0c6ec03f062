// Orchestration of one image: stage the per-image tables, run an executor,
// gather C nanoBragg's statistics.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "engine/experiment.hpp"
#include "engine/image_stats.hpp"
#include "kernels/frame_ticket.hpp"

namespace nb {

struct RenderResult {
    std::vector<float> image;  // spixels x fpixels, fast-major
    ImageStats stats;
    long long interp_disabled_at = -1;  // pixel where tricubic interpolation switched off
    std::string backend;
    double kernel_ms = -1;  // GPU: the render kernels' time by CUDA events (-1: not on a GPU)
};

enum class Precision { Double, Float };
// HostPipeline: the GPU's frame pipeline (kernels/frame_pipeline.hpp) run on
// the CPU by its host backend, so that tests check the GPU's orchestration
// without a GPU; not a user-facing device.
enum class Device { Auto, Cpu, Cuda, HostPipeline };

struct RenderOptions {
    int threads = 0;
    Precision precision = Precision::Double;
    Device device = Device::Cpu;
    std::function<void(double)> progress;  // fraction done; may be empty
};

class HostFrameBackend;
// The persistent host backend of Device::HostPipeline (its counters are what
// tests of buffer reuse read).
HostFrameBackend& host_pipeline_backend();

RenderResult render_image(const Experiment& e, const RenderOptions& opt);

// Images rendered in the order they are submitted. On a device (the GPU, or
// the host backend of its pipeline) two frames may be in flight: the next
// frame's kernels run while the previous frame is copied back, collected and
// handed on. On the CPU depth() is 1 and submit renders at once.
class FrameQueue {
public:
    explicit FrameQueue(const RenderOptions& opt);
    ~FrameQueue();
    FrameQueue(const FrameQueue&) = delete;
    FrameQueue& operator=(const FrameQueue&) = delete;

    struct Frame {
        Experiment exp;  // the submitted experiment's geometry_copy (no HKL grid)
        RenderResult result;
    };
    int depth() const { return depth_; }
    int pending() const { return (int)pending_.size(); }
    // e need not outlive the call; at most depth() frames may be pending
    void submit(const Experiment& e);
    Frame collect();  // the oldest pending frame
    // An image the caller is done with (a written frame's), for a later frame
    // to fill without new pages; safe from any thread.
    void recycle(std::vector<float>&& image);

private:
    struct Pending {
        Experiment exp;
        RenderResult result;
        FrameTicket ticket;
        bool done = false;
    };
    std::vector<float> take_spare();
    RenderOptions opt_;
    Device device_;
    int depth_ = 1;
    std::deque<Pending> pending_;
    std::mutex spare_mutex_;
    std::vector<std::vector<float>> spare_;
};

template <typename T>
struct PixelParams;
// The parameters the render of e reads, staged as for a render in `precision`
// with `hkl` for e's grid (a frame's geometry_copy has none), handed to the
// callback of that precision: for a host-side look at single pixels
// (engine/pixel_report.hpp).
void with_staged_params(const Experiment& e, const HklGrid& hkl, Precision precision,
                        const std::function<void(const PixelParams<double>&)>& in_double,
                        const std::function<void(const PixelParams<float>&)>& in_float);

// pixels x sub-pixels x sources x mosaic domains x phi steps x sensor layers
double evaluation_count(const Experiment& e);

// Real-space a,b,c for every (phi step, mosaic domain), 9 doubles per pair,
// phi-major. `first_sweep` selects the table of the image's very first sweep:
// C only rotates the cell when phi != 0, so a phi == 0 step reuses the last
// rotated cell, which is the unrotated one only before any rotation happened.
std::vector<double> stage_cell_table(const Experiment& e, bool first_sweep);

}  // namespace nb
