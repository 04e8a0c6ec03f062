#include <cuda_runtime.h>
#include <nvtx3/nvToolsExt.h>
#include <thrust/iterator/counting_iterator.h>

#include <cub/device/device_reduce.cuh>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cuda_launcher.hpp"
#include "kernels/cuda_render.hpp"
#include "kernels/frame_pipeline.hpp"

namespace nb {

namespace {

void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess) {
        throw std::runtime_error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(err));
    }
}

struct NvtxRange {
    explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
    ~NvtxRange() { nvtxRangePop(); }
};

cudaError_t device_alloc(void** p, size_t bytes) { return cudaMalloc(p, bytes); }
cudaError_t device_free(void* p) { return cudaFree(p); }
cudaError_t pinned_alloc(void** p, size_t bytes) { return cudaHostAlloc(p, bytes, cudaHostAllocDefault); }
cudaError_t pinned_free(void* p) { return cudaFreeHost(p); }

// An allocation that only grows: the frames of a series or a shot list reuse
// it instead of an allocate/free pair per table per frame.
template <cudaError_t (*Allocate)(void**, size_t), cudaError_t (*Free)(void*)>
struct GrowingBuffer {
    void* ptr = nullptr;
    size_t capacity = 0;
    GrowingBuffer() = default;
    GrowingBuffer(const GrowingBuffer&) = delete;
    GrowingBuffer& operator=(const GrowingBuffer&) = delete;
    ~GrowingBuffer() {
        if (ptr) Free(ptr);
    }
    void* ensure(size_t bytes, const char* what) {
        if (bytes > capacity) {
            if (ptr) Free(ptr);
            ptr = nullptr;
            capacity = 0;
            check(Allocate(&ptr, bytes), what);
            capacity = bytes;
        }
        return ptr;
    }
};

// Device memory.
struct DeviceBuffer : GrowingBuffer<device_alloc, device_free> {
    // Copies n host elements up (in stream order); null for an absent table.
    template <typename U>
    const U* upload(const U* host, size_t n, cudaStream_t stream, const char* what) {
        if (!host || n == 0) return nullptr;
        void* d = ensure(n * sizeof(U), what);
        check(cudaMemcpyAsync(d, host, n * sizeof(U), cudaMemcpyHostToDevice, stream), what);
        return static_cast<const U*>(d);
    }
};

// Page-locked host memory: the copy back of a frame runs truly asynchronously
// into it (from pageable memory the driver stages the copy itself, and the
// call does not return before it is done).
using PinnedBuffer = GrowingBuffer<pinned_alloc, pinned_free>;

// FNV-1a over 8-byte words (the tail byte by byte): lyso.hkl's grid is about
// 1 MB, hashed once per frame, and byte by byte that was a millisecond.
unsigned long long fnv1a(const void* data, size_t n) {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    unsigned long long h = 1469598103934665603ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        unsigned long long w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * 1099511628211ULL;
    }
    for (; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

// What one frame slot holds (kernels/frame_pipeline.hpp, SlotRing): the
// image and statistics on the device and their pinned host copies, and the
// events that time its render and order its copy back.
struct FrameSlot {
    DeviceBuffer image, results;
    PinnedBuffer host_image, host_results;
    cudaEvent_t started = nullptr, rendered = nullptr;
    cudaEvent_t queued = nullptr;  // the frame's device work is queued up to here (copy stream waits on it)
    // the copy back is done; waited on with a blocking sync, so that the host
    // thread sleeps instead of spinning a core that the file writer needs
    cudaEvent_t copied = nullptr;
    FrameSlot() {
        check(cudaEventCreate(&started), "create event");
        check(cudaEventCreate(&rendered), "create event");
        check(cudaEventCreateWithFlags(&queued, cudaEventDisableTiming), "create event");
        check(cudaEventCreateWithFlags(&copied, cudaEventBlockingSync | cudaEventDisableTiming), "create event");
    }
    FrameSlot(const FrameSlot&) = delete;
    FrameSlot& operator=(const FrameSlot&) = delete;
    ~FrameSlot() {
        for (cudaEvent_t e : {started, rendered, queued, copied})
            if (e) cudaEventDestroy(e);
    }
};

// What lives on one GPU across the images of a process (a series, a shot
// list, a Python Simulator's renders): two streams, every table's buffer, two
// frame slots and the HKL grid, which is re-uploaded only when its contents
// change (keyed by size and a hash of the bytes, so that a freed-and-reused
// host address cannot alias a stale grid). Frames render on `stream`; their
// copies back run on `copy_stream`, so that the next frame's kernels overlap
// the previous frame's copy.
struct DeviceContext {
    cudaStream_t stream = nullptr, copy_stream = nullptr;
    cudaEvent_t done = nullptr;  // mid-frame waits on `stream` (blocking sync)
    DeviceBuffer tables[(int)Table::Count], fail, grid;
    DeviceBuffer reduce_temp, beam_list, beam_index;
    FrameSlot slot[SlotRing::kSlots];
    SlotRing slots;
    size_t grid_bytes = 0;
    unsigned long long grid_hash = 0;
    // which render kernels are on the device: [float][exact][launch shape][sweep kind]
    bool render_loaded[2][2][3][2] = {};
    explicit DeviceContext(int) {
        check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "create stream");
        check(cudaStreamCreateWithFlags(&copy_stream, cudaStreamNonBlocking), "create stream");
        check(cudaEventCreateWithFlags(&done, cudaEventBlockingSync | cudaEventDisableTiming), "create event");
    }
    void wait(const char* what) {
        check(cudaEventRecord(done, stream), what);
        check(cudaEventSynchronize(done), what);
    }
    ~DeviceContext() {
        if (done) cudaEventDestroy(done);
        if (copy_stream) cudaStreamDestroy(copy_stream);
        if (stream) cudaStreamDestroy(stream);
    }
    template <typename T>
    const T* hkl_grid(const T* host, size_t count) {
        if (!host || count == 0) return nullptr;
        const size_t bytes = count * sizeof(T);
        const unsigned long long h = fnv1a(host, bytes);
        if (!(grid.ptr && grid_bytes == bytes && grid_hash == h)) {
            grid_bytes = 0;
            grid.upload(host, count, stream, "HKL grid");
            grid_bytes = bytes;
            grid_hash = h;
        }
        return static_cast<const T*>(grid.ptr);
    }
};

// One caller on a device's context at a time (threads of one program, the
// Python module's, may render at once); one context per device.
std::mutex render_mutex;

DeviceContext& context_for_current_device() {
    static std::map<int, std::unique_ptr<DeviceContext>> contexts;
    int dev = 0;
    check(cudaGetDevice(&dev), "cudaGetDevice");
    auto& c = contexts[dev];
    if (!c) c = std::make_unique<DeviceContext>(dev);
    return *c;
}

// A round crystal's pixels on the direct beam, into the list.
template <typename T>
__global__ void beam_kernel(PixelParams<T> p, BeamList* beam) {
    const int f = blockIdx.x * blockDim.x + threadIdx.x;
    const int s = first_row(p) + blockIdx.y * blockDim.y + threadIdx.y;
    const long long idx = pixel_to_render(p, f, s, 0);
    if (idx >= 0 && pixel_on_direct_beam(p, f, s)) note_beam_pixel(beam, atomicAdd(&beam->count, 1ULL), idx);
}

// Queues a transform-reduce over pixel indices [0, n) on the context's
// stream into d_out, with the context's growing scratch buffer (no
// allocation per frame once it is large enough).
template <typename Transform, typename Combine, typename R>
void queue_reduce(DeviceContext& ctx, Transform op, Combine combine, R init, long long n, R* d_out, const char* what) {
    thrust::counting_iterator<long long> first(0);
    size_t bytes = 0;
    check(cub::DeviceReduce::TransformReduce(nullptr, bytes, first, d_out, n, combine, op, init, ctx.stream), what);
    void* temp = ctx.reduce_temp.ensure(bytes, what);
    check(cub::DeviceReduce::TransformReduce(temp, bytes, first, d_out, n, combine, op, init, ctx.stream), what);
}

}  // namespace

namespace {
int launch_shape_from_env(int fallback) {
    const char* e = std::getenv("NB_CUDA_LAUNCH");
    if (!e || !*e) return fallback;
    char* end = nullptr;
    const long v = std::strtol(e, &end, 10);
    if (*end != '\0' || v < 0 || v > 2)
        throw std::runtime_error(std::string("NB_CUDA_LAUNCH: expected 0, 1 or 2, got '") + e + "'");
    return (int)v;
}
}  // namespace

namespace {
// NB_CUDA_SWEEP: unset, empty or "auto": each run's own sweep; "any": the general one
bool general_sweep_from_env() {
    const char* e = std::getenv("NB_CUDA_SWEEP");
    if (!e || !*e || std::string(e) == "auto") return false;
    if (std::string(e) == "any") return true;
    throw std::runtime_error(std::string("NB_CUDA_SWEEP: expected auto or any, got '") + e + "'");
}
}  // namespace

template <typename T>
SweepKind device_sweep_kind(const PixelParams<T>& p) {
    static const bool general = general_sweep_from_env();
    return general ? SweepKind::Any : sweep_kind(p);
}
template SweepKind device_sweep_kind<float>(const PixelParams<float>&);
template SweepKind device_sweep_kind<double>(const PixelParams<double>&);

template <>
int launch_shape_for<float>() {
    static const int shape = launch_shape_from_env(kDefaultLaunchShapeFloat);
    return shape;
}
template <>
int launch_shape_for<double>() {
    static const int shape = launch_shape_from_env(kDefaultLaunchShapeDouble);
    return shape;
}

int cuda_device_count() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();  // clear the sticky "no device" error
        return 0;
    }
    return n;
}

void cuda_use_device(int index) {
    int n = cuda_device_count();
    if (n > 0) check(cudaSetDevice(index % n), "cudaSetDevice");
}

CudaUnavailable cuda_unavailable() {
    int n = 0, driver = 0, runtime = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    cudaGetLastError();  // the sticky "no device" error
    if (e == cudaSuccess && n > 0) return {};
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    return describe_cuda_unavailable(
        driver, runtime, e == cudaErrorNoDevice || (e == cudaSuccess && n == 0),
        e == cudaSuccess ? std::string() : std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")");
}

void cuda_start(int index) {
    const int n = cuda_device_count();
    if (n == 0) return;
    // the primary context, which every thread of the process shares: the
    // render thread's cudaSetDevice then finds it made
    if (cudaSetDevice(index % n) != cudaSuccess || cudaFree(nullptr) != cudaSuccess) cudaGetLastError();
}

namespace {

// The frame pipeline's Backend (kernels/frame_pipeline.hpp) on a GPU: every
// operation is queued on the context's stream, a frame's copy back on its copy
// stream; read_flag, read_beam_list and collect wait on blocking-sync events.
class CudaBackend {
public:
    explicit CudaBackend(DeviceContext& ctx, HostCopy copy = nullptr, int threads = 0)
        : ctx_(ctx), copy_(copy), threads_(threads) {}
    SlotRing& slots() { return ctx_.slots; }
    template <typename U>
    const U* upload(Table t, const U* host, size_t n) {
        return table(t).upload(host, n, ctx_.stream, "copy a table to the device");
    }
    template <typename U>
    const U* hkl_grid(const U* host, size_t n) {
        return ctx_.hkl_grid(host, n);
    }
    float* zeroed_image(int slot, size_t n) {
        FrameSlot& fs = ctx_.slot[slot];
        // the slot's previous frame may still be copying out of this buffer
        check(cudaStreamWaitEvent(ctx_.stream, fs.copied, 0), "wait for the slot's copy back");
        float* d = static_cast<float*>(fs.image.ensure(n * sizeof(float), "cudaMalloc (image)"));
        check(cudaMemsetAsync(d, 0, n * sizeof(float), ctx_.stream), "zero image");
        return d;
    }
    unsigned long long* reset_flag() {
        auto* d = static_cast<unsigned long long*>(ctx_.fail.ensure(sizeof(unsigned long long), "cudaMalloc (flag)"));
        check(cudaMemsetAsync(d, 0xff, sizeof(unsigned long long), ctx_.stream), "reset failure flag");
        return d;
    }
    BeamList* reset_beam_list(size_t capacity) {
        auto* list = static_cast<BeamList*>(ctx_.beam_list.ensure(sizeof(BeamList), "cudaMalloc (beam list)"));
        auto* index =
            static_cast<long long*>(ctx_.beam_index.ensure(capacity * sizeof(long long), "cudaMalloc (beam list)"));
        const BeamList h{0, capacity, index};
        // from pageable memory: the call returns once h is staged, so h may go
        check(cudaMemcpyAsync(list, &h, sizeof h, cudaMemcpyHostToDevice, ctx_.stream), "reset beam list");
        return list;
    }
    template <typename T>
    void load_render(const PixelParams<T>& p) {
        bool& loaded = ctx_.render_loaded[sizeof(T) == sizeof(float)][p.exact ? 1 : 0][launch_shape_for<T>()]
                                         [(int)device_sweep_kind(p)];
        if (loaded) return;
        NvtxRange r("load render kernel");
        check(nb::load_render(p, ctx_.stream), "load render kernel");
        loaded = true;
    }
    void mark_start(int slot) { check(cudaEventRecord(ctx_.slot[slot].started, ctx_.stream), "record event"); }
    void mark_rendered(int slot) { check(cudaEventRecord(ctx_.slot[slot].rendered, ctx_.stream), "record event"); }
    double kernel_ms(int slot) {
        float ms = 0;
        check(cudaEventElapsedTime(&ms, ctx_.slot[slot].started, ctx_.slot[slot].rendered), "kernel time");
        return ms;
    }
    template <typename T>
    void render(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                unsigned long long* flag) {
        NvtxRange r(from_pixel > 0 ? "re-render after interpolation switch-off" : "render pass");
        check(launch_render(fold_panel_start(p), cutoff, from_pixel, image, flag, ctx_.stream), "launch render kernel");
    }
    template <typename T>
    void add_background(const PixelParams<T>& p, const AmorphousParams<T>& a, const PolarizationFrame<T>* frames,
                        float* image) {
        NvtxRange r("background materials");
        check(launch_amorphous(fold_panel_start(p), a, frames, image, nullptr, ctx_.stream),
              "launch background kernel");
    }
    template <typename T>
    void find_beam_pixels(const PixelParams<T>& p, BeamList* beam) {
        if (row_count(p) == 0) return;
        dim3 block(32, 8);
        dim3 grid((p.fpixels + block.x - 1) / block.x, (row_count(p) + block.y - 1) / block.y);
        beam_kernel<T><<<grid, block, 0, ctx_.stream>>>(fold_panel_start(p), beam);
        check(cudaGetLastError(), "launch direct-beam scan");
    }
    unsigned long long read_flag(const unsigned long long* flag) {
        unsigned long long v = ULLONG_MAX;
        check(cudaMemcpyAsync(&v, flag, sizeof v, cudaMemcpyDeviceToHost, ctx_.stream), "copy failure flag");
        ctx_.wait("render kernel");
        return v;
    }
    std::vector<long long> read_beam_list(const BeamList* beam) {
        BeamList h{};
        check(cudaMemcpyAsync(&h, beam, sizeof h, cudaMemcpyDeviceToHost, ctx_.stream), "copy beam list");
        ctx_.wait("render kernel");
        if (h.count > h.capacity)
            throw std::runtime_error("CUDA: more direct-beam pixels than the list holds (" + std::to_string(h.count) +
                                     ")");
        std::vector<long long> idx(h.count);
        if (h.count) {
            check(
                cudaMemcpyAsync(idx.data(), h.index, h.count * sizeof(long long), cudaMemcpyDeviceToHost, ctx_.stream),
                "copy beam list");
            ctx_.wait("copy beam list");
        }
        return idx;
    }
    void patch(float* image, const std::vector<long long>& idx, const std::vector<float>& values) {
        // a handful of pixels, one small copy each (from pageable memory: staged before the call returns)
        for (size_t i = 0; i < idx.size(); ++i)
            check(cudaMemcpyAsync(image + idx[i], &values[i], sizeof(float), cudaMemcpyHostToDevice, ctx_.stream),
                  "patch direct-beam pixels");
    }
    FrameResults* results(int slot) {
        return static_cast<FrameResults*>(
            ctx_.slot[slot].results.ensure(sizeof(FrameResults), "cudaMalloc (statistics)"));
    }
    template <typename Op, typename Combine, typename R>
    void reduce(Op op, Combine combine, R init, long long n, R* out) {
        NvtxRange r("statistics reduction");
        queue_reduce(ctx_, op, combine, init, n, out, "statistics reduction");
    }
    // Queued behind the frame's device work on the copy stream, into the
    // slot's pinned buffers: the next frame's kernels need not wait for it.
    void copy_back(int slot, const float* image, size_t n, const FrameResults* results) {
        NvtxRange r("copy image to host");
        FrameSlot& fs = ctx_.slot[slot];
        void* host = fs.host_image.ensure(n * sizeof(float), "cudaHostAlloc (image)");
        check(cudaEventRecord(fs.queued, ctx_.stream), "record event");
        check(cudaStreamWaitEvent(ctx_.copy_stream, fs.queued, 0), "order the copy back");
        check(cudaMemcpyAsync(host, image, n * sizeof(float), cudaMemcpyDeviceToHost, ctx_.copy_stream), "copy image");
        if (results) {
            void* h = fs.host_results.ensure(sizeof(FrameResults), "cudaHostAlloc (statistics)");
            check(cudaMemcpyAsync(h, results, sizeof(FrameResults), cudaMemcpyDeviceToHost, ctx_.copy_stream),
                  "copy statistics");
        }
        check(cudaEventRecord(fs.copied, ctx_.copy_stream), "record event");
    }
    void collect(int slot, float* host_image, size_t n, FrameResults* host) {
        FrameSlot& fs = ctx_.slot[slot];
        check(cudaEventSynchronize(fs.copied), "copy image");
        const float* pinned = static_cast<const float*>(fs.host_image.ptr);
        if (copy_)
            copy_(host_image, pinned, n, threads_);
        else
            std::memcpy(host_image, pinned, n * sizeof(float));
        if (host) std::memcpy(host, fs.host_results.ptr, sizeof *host);
    }

private:
    DeviceBuffer& table(Table t) { return ctx_.tables[(int)t]; }
    DeviceContext& ctx_;
    HostCopy copy_;
    int threads_;
};

}  // namespace

template <typename T>
FrameTicket submit_image_cuda(const PixelParams<T>& hp, const std::vector<BackgroundPass<T>>& background) {
    std::lock_guard<std::mutex> lock(render_mutex);
    NvtxRange whole("submit image (cuda)");
    CudaBackend backend(context_for_current_device());
    return submit_frame(backend, hp, true, background);
}

long long collect_image_cuda(const FrameTicket& t, float* image, DeviceStats* stats, HostCopy copy, int threads) {
    std::lock_guard<std::mutex> lock(render_mutex);
    NvtxRange whole("collect image (cuda)");
    CudaBackend backend(context_for_current_device(), copy, threads);
    return collect_frame(backend, t, image, stats);
}

template FrameTicket submit_image_cuda<double>(const PixelParams<double>&, const std::vector<BackgroundPass<double>>&);
template FrameTicket submit_image_cuda<float>(const PixelParams<float>&, const std::vector<BackgroundPass<float>>&);

}  // namespace nb
