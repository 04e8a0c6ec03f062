#include <cuda_runtime.h>
#include <nvtx3/nvToolsExt.h>
#include <thrust/device_ptr.h>
#include <thrust/execution_policy.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform_reduce.h>

#include <climits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cuda_launcher.hpp"

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

// Owns one device allocation; copies a host array up on construction.
template <typename U>
struct DeviceArray {
    U* ptr = nullptr;
    DeviceArray(const U* host, size_t n) {
        if (!host || n == 0) return;
        check(cudaMalloc(&ptr, n * sizeof(U)), "cudaMalloc");
        check(cudaMemcpy(ptr, host, n * sizeof(U), cudaMemcpyHostToDevice), "copy to device");
    }
    DeviceArray(const DeviceArray&) = delete;
    DeviceArray& operator=(const DeviceArray&) = delete;
    ~DeviceArray() {
        if (ptr) cudaFree(ptr);
    }
};

template <typename T>
__global__ void render_kernel(PixelParams<T> p, InterpCutoff cutoff, long long from_pixel, float* image,
                              unsigned long long* first_failure) {
    int f = blockIdx.x * blockDim.x + threadIdx.x;
    int s = blockIdx.y * blockDim.y + threadIdx.y;
    if (f >= p.fpixels || s >= p.spixels) return;
    if (f < p.roi_xmin || f > p.roi_xmax || s < p.roi_ymin || s > p.roi_ymax) return;
    long long idx = (long long)s * p.fpixels + f;
    if (idx < from_pixel) return;
    if (p.mask && p.mask[idx] == 0) return;
    PixelResult r = render_pixel(p, f, s, cutoff);
    image[idx] = (float)r.value;
    if (r.first_interp_failure >= 0) atomicMin(first_failure, (unsigned long long)idx);
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

// The HKL grid stays on the device between images of a series or shot list:
// re-uploaded only when its contents change (keyed by size and a hash of the
// bytes, so a freed-and-reused host address cannot alias a stale grid).
struct GridCache {
    void* device = nullptr;
    size_t bytes = 0;
    unsigned long long hash = 0;
    int device_id = -1;
    ~GridCache() {
        if (device) cudaFree(device);
    }
};

unsigned long long fnv1a(const void* data, size_t n) {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    unsigned long long h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

// One image on the device at a time per process: the grid cache is shared, and
// threads of one program (the Python module's) may render at once.
std::mutex render_mutex;

template <typename T>
const T* cached_grid(const T* host, size_t count) {
    static GridCache cache;
    if (!host || count == 0) return nullptr;
    const size_t bytes = count * sizeof(T);
    const unsigned long long h = fnv1a(host, bytes);
    int dev = 0;
    cudaGetDevice(&dev);
    if (!(cache.device && cache.bytes == bytes && cache.hash == h && cache.device_id == dev)) {
        if (cache.device) cudaFree(cache.device);
        cache.device = nullptr;
        check(cudaMalloc(&cache.device, bytes), "cudaMalloc (HKL grid)");
        check(cudaMemcpy(cache.device, host, bytes, cudaMemcpyHostToDevice), "copy HKL grid");
        cache.bytes = bytes;
        cache.hash = h;
        cache.device_id = dev;
    }
    return static_cast<const T*>(cache.device);
}

}  // namespace

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
    const size_t npix = (size_t)hp.fpixels * hp.spixels;
    const size_t ncells = (size_t)9 * hp.phisteps * hp.mosaic_domains;
    const size_t nF = hp.hkl.F ? (size_t)hp.hkl.h_range * hp.hkl.k_range * hp.hkl.l_range : 0;

    PixelParams<T> dp = hp;
    nvtxRangePushA("stage tables");
    DeviceArray<uint16_t> mask(hp.mask, hp.mask ? npix : 0);
    DeviceArray<T> source_dir(hp.source_dir, 3 * (size_t)hp.sources);
    DeviceArray<T> source_lambda(hp.source_lambda, (size_t)hp.sources);
    DeviceArray<T> source_weight(hp.source_weight, hp.source_weight ? (size_t)hp.sources : 0);
    DeviceArray<T> cells(hp.cells, ncells);
    DeviceArray<T> cells_first(hp.cells_first, ncells);
    const T* device_F = cached_grid(hp.hkl.F, nF);
    std::vector<float> zeros(npix, 0.0f);
    DeviceArray<float> d_image(zeros.data(), npix);
    unsigned long long none = ULLONG_MAX;
    DeviceArray<unsigned long long> d_fail(&none, 1);
    nvtxRangePop();
    dp.mask = mask.ptr;
    dp.source_dir = source_dir.ptr;
    dp.source_lambda = source_lambda.ptr;
    dp.source_weight = source_weight.ptr;
    dp.cells = cells.ptr;
    dp.cells_first = cells_first.ptr;
    dp.hkl.F = device_F;

    dim3 block(32, 8);
    dim3 grid((hp.fpixels + block.x - 1) / block.x, (hp.spixels + block.y - 1) / block.y);
    {
        NvtxRange r("render pass");
        render_kernel<T><<<grid, block>>>(dp, InterpCutoff{LLONG_MAX, 0}, 0, d_image.ptr, d_fail.ptr);
        check(cudaGetLastError(), "launch render kernel");
        check(cudaDeviceSynchronize(), "render kernel");
    }
    unsigned long long fail = ULLONG_MAX;
    check(cudaMemcpy(&fail, d_fail.ptr, sizeof fail, cudaMemcpyDeviceToHost), "copy failure flag");
    if (fail != ULLONG_MAX) {
        // C's serial-order switch-off of interpolation: re-render later pixels without it.
        NvtxRange r("re-render after interpolation switch-off");
        render_kernel<T><<<grid, block>>>(dp, InterpCutoff{-1, 0}, (long long)fail + 1, d_image.ptr, d_fail.ptr);
        check(cudaGetLastError(), "launch render kernel");
        check(cudaDeviceSynchronize(), "render kernel");
    }
    if (stats) {
        NvtxRange r("statistics reduction");
        MomentsOf op{d_image.ptr, mask.ptr, hp.fpixels, hp.roi_xmin, hp.roi_xmax, hp.roi_ymin, hp.roi_ymax};
        PixelMoments m = thrust::transform_reduce(thrust::device, thrust::counting_iterator<long long>(0),
                                                  thrust::counting_iterator<long long>((long long)npix), op,
                                                  PixelMoments{0, 0, 0, -1, 0}, CombineMoments{});
        stats->sum = m.sum;
        stats->sumsqr = m.sumsqr;
        stats->max_I = m.max_index >= 0 ? m.max_I : 0.0;
        stats->max_index = m.max_index;
        stats->counted = m.counted;
    }
    {
        NvtxRange r("copy image to host");
        check(cudaMemcpy(image, d_image.ptr, npix * sizeof(float), cudaMemcpyDeviceToHost), "copy image");
    }
    return fail == ULLONG_MAX ? -1 : (long long)fail;
}

template long long render_image_cuda<double>(const PixelParams<double>&, float*, DeviceStats*);
template long long render_image_cuda<float>(const PixelParams<float>&, float*, DeviceStats*);

}  // namespace nb
