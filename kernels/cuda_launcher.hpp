// CUDA executor of the per-pixel physics (the same functions the CPU runs).
// Without a CUDA build these report no device and refuse to render.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "kernels/amorphous_physics.hpp"
#include "kernels/cuda_unavailable.hpp"
#include "kernels/frame_ticket.hpp"
#include "kernels/pixel_physics.hpp"

namespace nb {

// Number of usable CUDA devices (0 without a CUDA build, driver or GPU).
int cuda_device_count();

// Why no CUDA GPU can be used, for the messages of -device auto and cuda
// (kernels/cuda_unavailable.hpp).
CudaUnavailable cuda_unavailable();

// Binds this process to GPU `index % count` (MPI ranks pick by local rank).
void cuda_use_device(int index);

// Starts CUDA ahead of the first render: the driver and GPU `index % count`'s
// context, a large part of a GPU run's fixed time, so that a thread can do it
// while the host reads its inputs. Any thread; reports nothing (a failure is
// met again, and reported, by cuda_use_device or the render).
void cuda_start(int index);

struct DeviceStats {
    double sum = 0, sumsqr = 0, max_I = 0;
    long long max_index = -1, counted = 0;
    double kernel_ms = 0;  // the render passes, timed with CUDA events
    // over every ROI pixel, masked or not (C's rmsd): squared deviations from
    // the mean sum/counted, their count, and the NaN or infinite pixels
    double dev = 0;
    long long dev_counted = 0, nonfinite = 0;
};

// Renders an image on the GPU in two steps, so that the next frame's kernels
// are queued before this one is collected (two frames in flight at most;
// engine/render.hpp, FrameQueue). submit stages the tables (the HKL grid only
// when its bytes change) and queues C's two-pass interpolation protocol, the
// background materials (added on the device), the statistics reductions
// over the ROI and mask, and the copy back into pinned
// host memory; it waits mid-frame only when interpolating or for a round
// crystal's direct-beam pixels. collect waits for that copy and hands the
// image to `copy` (with `threads`; null: one memcpy) into `image`; it returns
// the pixel where tricubic interpolation switched off, or -1. Both throw
// std::runtime_error on any CUDA failure.
using HostCopy = void (*)(float* dst, const float* src, size_t n, int threads);
template <typename T>
FrameTicket submit_image_cuda(const PixelParams<T>& p, const std::vector<BackgroundPass<T>>& background);
long long collect_image_cuda(const FrameTicket& t, float* image, DeviceStats* stats, HostCopy copy, int threads);

}  // namespace nb
