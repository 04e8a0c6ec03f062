#include <cuda_runtime.h>
#include <nvtx3/nvToolsExt.h>
#include <thrust/iterator/counting_iterator.h>

#include <cub/device/device_reduce.cuh>

#include <climits>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "kernels/cuda_launcher.hpp"
#include "kernels/cuda_render.hpp"

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

// One device allocation that only grows: the frames of a series or a shot
// list reuse it instead of a cudaMalloc/cudaFree pair per table per frame.
struct DeviceBuffer {
    void* ptr = nullptr;
    size_t capacity = 0;
    DeviceBuffer() = default;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    ~DeviceBuffer() {
        if (ptr) cudaFree(ptr);
    }
    void* ensure(size_t bytes, const char* what) {
        if (bytes > capacity) {
            if (ptr) cudaFree(ptr);
            ptr = nullptr;
            capacity = 0;
            check(cudaMalloc(&ptr, bytes), what);
            capacity = bytes;
        }
        return ptr;
    }
    // Copies n host elements up (in stream order); null for an absent table.
    template <typename U>
    const U* upload(const U* host, size_t n, cudaStream_t stream, const char* what) {
        if (!host || n == 0) return nullptr;
        void* d = ensure(n * sizeof(U), what);
        check(cudaMemcpyAsync(d, host, n * sizeof(U), cudaMemcpyHostToDevice, stream), what);
        return static_cast<const U*>(d);
    }
};

unsigned long long fnv1a(const void* data, size_t n) {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    unsigned long long h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

// What lives on one GPU across the images of a process (a series, a shot
// list, a Python Simulator's renders): the stream, every table's buffer, the
// image and the HKL grid, which is re-uploaded only when its contents change
// (keyed by size and a hash of the bytes, so that a freed-and-reused host
// address cannot alias a stale grid).
struct DeviceContext {
    cudaStream_t stream = nullptr;
    cudaEvent_t started = nullptr, rendered = nullptr;
    // waited on with a blocking sync: the host thread sleeps instead of
    // spinning a core that the file writer and its threads need
    cudaEvent_t done = nullptr;
    DeviceBuffer mask, source_dir, source_lambda, source_weight, cells, cells_first, image, fail, grid;
    DeviceBuffer reduce_temp, results;
    size_t grid_bytes = 0;
    unsigned long long grid_hash = 0;
    explicit DeviceContext(int) {
        check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "create stream");
        check(cudaEventCreate(&started), "create event");
        check(cudaEventCreate(&rendered), "create event");
        check(cudaEventCreateWithFlags(&done, cudaEventBlockingSync | cudaEventDisableTiming), "create event");
    }
    void wait(const char* what) {
        check(cudaEventRecord(done, stream), what);
        check(cudaEventSynchronize(done), what);
    }
    ~DeviceContext() {
        if (started) cudaEventDestroy(started);
        if (rendered) cudaEventDestroy(rendered);
        if (done) cudaEventDestroy(done);
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

// One image on the device at a time per process (threads of one program, the
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

struct PixelMoments {
    double sum, sumsqr, max_I;
    long long max_index, counted;
};

struct MomentsOf {
    const float* image;
    const uint16_t* mask;
    int fpixels, roi_xmin, roi_xmax, roi_ymin, roi_ymax;
    __host__ __device__ PixelMoments operator()(long long idx) const {
        int f = (int)(idx % fpixels), s = (int)(idx / fpixels);
        if (f < roi_xmin || f > roi_xmax || s < roi_ymin || s > roi_ymax || (mask && mask[idx] == 0))
            return PixelMoments{0, 0, 0, -1, 0};
        double v = image[idx];
        return PixelMoments{v, v * v, v, v > 0 ? idx : -1, 1};
    }
};

struct Spread {
    double dev;
    long long m, nonfinite;
};

// The mean comes from the first reduction's result on the device, so that
// both reductions are queued without a round trip to the host.
struct SpreadOf {
    const float* image;
    const PixelMoments* moments;
    int fpixels, roi_xmin, roi_xmax, roi_ymin, roi_ymax;
    __device__ Spread operator()(long long idx) const {
        int f = (int)(idx % fpixels), s = (int)(idx / fpixels);
        if (f < roi_xmin || f > roi_xmax || s < roi_ymin || s > roi_ymax) return Spread{0, 0, 0};
        const float v = image[idx];
        const double mean = moments->sum / (moments->counted <= 0 ? 1 : moments->counted);
        const double t = v - mean;
        return Spread{t * t, 1, isfinite(v) ? 0 : 1};
    }
};

struct AddSpread {
    __host__ __device__ Spread operator()(const Spread& a, const Spread& b) const {
        return Spread{a.dev + b.dev, a.m + b.m, a.nonfinite + b.nonfinite};
    }
};

// C keeps the first strict maximum in serial order (starting from 0).
struct CombineMoments {
    __host__ __device__ PixelMoments operator()(const PixelMoments& a, const PixelMoments& b) const {
        PixelMoments r{a.sum + b.sum, a.sumsqr + b.sumsqr, a.max_I, a.max_index, a.counted + b.counted};
        if (b.max_index >= 0 &&
            (r.max_index < 0 || b.max_I > r.max_I || (b.max_I == r.max_I && b.max_index < r.max_index))) {
            r.max_I = b.max_I;
            r.max_index = b.max_index;
        }
        return r;
    }
};

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

template <typename T>
long long render_image_cuda(const PixelParams<T>& hp, float* image, DeviceStats* stats) {
    std::lock_guard<std::mutex> lock(render_mutex);
    NvtxRange whole("nanoBragg image (cuda)");
    DeviceContext& ctx = context_for_current_device();
    cudaStream_t st = ctx.stream;
    const size_t npix = (size_t)hp.fpixels * hp.spixels;
    const size_t ncells = (size_t)9 * hp.phisteps * hp.mosaic_domains;
    const size_t nF = hp.hkl.F ? (size_t)hp.hkl.h_range * hp.hkl.k_range * hp.hkl.l_range : 0;

    PixelParams<T> dp = hp;
    float* d_image = nullptr;
    unsigned long long* d_fail = nullptr;
    {
        NvtxRange r("stage tables");
        dp.mask = ctx.mask.upload(hp.mask, hp.mask ? npix : 0, st, "copy mask");
        dp.source_dir = ctx.source_dir.upload(hp.source_dir, 3 * (size_t)hp.sources, st, "copy sources");
        dp.source_lambda = ctx.source_lambda.upload(hp.source_lambda, (size_t)hp.sources, st, "copy wavelengths");
        dp.source_weight = ctx.source_weight.upload(hp.source_weight, hp.source_weight ? (size_t)hp.sources : 0, st,
                                                    "copy source weights");
        dp.cells = ctx.cells.upload(hp.cells, ncells, st, "copy cell table");
        dp.cells_first = ctx.cells_first.upload(hp.cells_first, ncells, st, "copy first-sweep cell table");
        dp.hkl.F = ctx.hkl_grid(hp.hkl.F, nF);
        d_image = static_cast<float*>(ctx.image.ensure(npix * sizeof(float), "cudaMalloc (image)"));
        check(cudaMemsetAsync(d_image, 0, npix * sizeof(float), st), "zero image");
        d_fail = static_cast<unsigned long long*>(ctx.fail.ensure(sizeof(unsigned long long), "cudaMalloc (flag)"));
        check(cudaMemsetAsync(d_fail, 0xff, sizeof(unsigned long long), st), "reset failure flag");
    }
    check(cudaEventRecord(ctx.started, st), "record event");
    {
        NvtxRange r("render pass");
        check(launch_render(dp, InterpCutoff{LLONG_MAX, 0}, 0, d_image, d_fail, st), "launch render kernel");
    }
    unsigned long long fail = ULLONG_MAX;
    if (hp.interpolate) {
        // C switches interpolation off for the rest of the image at the first
        // out-of-range neighbourhood, in serial order: re-render every later
        // pixel without it (the only mid-frame wait, and only when interpolating)
        check(cudaMemcpyAsync(&fail, d_fail, sizeof fail, cudaMemcpyDeviceToHost, st), "copy failure flag");
        ctx.wait("render kernel");
        if (fail != ULLONG_MAX) {
            NvtxRange r("re-render after interpolation switch-off");
            check(launch_render(dp, InterpCutoff{-1, 0}, (long long)fail + 1, d_image, d_fail, st),
                  "launch render kernel");
        }
    }
    check(cudaEventRecord(ctx.rendered, st), "record event");
    struct Results {
        PixelMoments moments;
        Spread spread;
    };
    Results* d_results = static_cast<Results*>(ctx.results.ensure(sizeof(Results), "cudaMalloc (statistics)"));
    if (stats) {
        NvtxRange r("statistics reduction");
        MomentsOf op{d_image, dp.mask, hp.fpixels, hp.roi_xmin, hp.roi_xmax, hp.roi_ymin, hp.roi_ymax};
        queue_reduce(ctx, op, CombineMoments{}, PixelMoments{0, 0, 0, -1, 0}, (long long)npix, &d_results->moments,
                     "statistics reduction");
        // the second pass C makes for rmsd, over every ROI pixel
        SpreadOf sop{d_image, &d_results->moments, hp.fpixels, hp.roi_xmin, hp.roi_xmax, hp.roi_ymin, hp.roi_ymax};
        queue_reduce(ctx, sop, AddSpread{}, Spread{0, 0, 0}, (long long)npix, &d_results->spread, "rmsd reduction");
    }
    Results res{};
    {
        NvtxRange r("copy image to host");
        check(cudaMemcpyAsync(image, d_image, npix * sizeof(float), cudaMemcpyDeviceToHost, st), "copy image");
        if (stats) check(cudaMemcpyAsync(&res, d_results, sizeof res, cudaMemcpyDeviceToHost, st), "copy statistics");
        ctx.wait("copy image");
    }
    if (stats) {
        stats->sum = res.moments.sum;
        stats->sumsqr = res.moments.sumsqr;
        stats->max_I = res.moments.max_index >= 0 ? res.moments.max_I : 0.0;
        stats->max_index = res.moments.max_index;
        stats->counted = res.moments.counted;
        stats->dev = res.spread.dev;
        stats->dev_counted = res.spread.m;
        stats->nonfinite = res.spread.nonfinite;
        float ms = 0;
        check(cudaEventElapsedTime(&ms, ctx.started, ctx.rendered), "kernel time");
        stats->kernel_ms = ms;
    }
    return fail == ULLONG_MAX ? -1 : (long long)fail;
}

template long long render_image_cuda<double>(const PixelParams<double>&, float*, DeviceStats*);
template long long render_image_cuda<float>(const PixelParams<float>&, float*, DeviceStats*);

}  // namespace nb
