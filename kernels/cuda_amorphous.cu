// The amorphous term on the GPU: one thread per pixel running
// render_amorphous_pixel (the function the scalar CPU executor runs). The
// tables are small (sources, the |F| table); they go up once per image, with
// the image (the background adds to the spots).
// Compiled without fused multiply-adds (CMakeLists.txt), so its sums round
// as C's.
#include <cuda_runtime.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/amorphous_launcher.hpp"
#include "kernels/cuda_render.hpp"
#include "kernels/frame_pipeline.hpp"

namespace nb {

namespace {

void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess)
        throw std::runtime_error(std::string("CUDA (amorphous term) ") + what + ": " + cudaGetErrorString(e));
}

// Device copy of a host array, freed on scope exit.
template <typename T>
struct DeviceCopy {
    T* ptr = nullptr;
    DeviceCopy(const T* host, size_t n, const char* what) {
        if (!host || n == 0) return;
        check(cudaMalloc(&ptr, n * sizeof(T)), what);
        check(cudaMemcpy(ptr, host, n * sizeof(T), cudaMemcpyHostToDevice), what);
    }
    DeviceCopy(const DeviceCopy&) = delete;
    DeviceCopy& operator=(const DeviceCopy&) = delete;
    ~DeviceCopy() {
        if (ptr) cudaFree(ptr);
    }
};

// omega_total may be null (the background of nanoBragg's frames prints no total)
template <typename T>
__global__ void amorphous_kernel(PixelParams<T> p, AmorphousParams<T> a, const PolarizationFrame<T>* frames,
                                 float* image, double* omega_total) {
    const int f = blockIdx.x * blockDim.x + threadIdx.x;
    const int s = first_row(p) + blockIdx.y * blockDim.y + threadIdx.y;
    double omega = 0, values[kMaxMaterials];
    const long long idx = pixel_to_render(p, f, s, 0);
    if (idx >= 0) {
        render_amorphous_pixel(p, a, frames, f, s, values, &omega);
        store_amorphous(a, image[idx], values);
    }
    if (!omega_total) return;
    // one atomic per warp
    for (int off = 16; off > 0; off /= 2) omega += __shfl_down_sync(0xffffffffu, omega, off);
    if ((threadIdx.x & 31) == 0) atomicAdd(omega_total, omega);
}

}  // namespace

template <typename T>
cudaError_t launch_amorphous(const PixelParams<T>& p, const AmorphousParams<T>& a, const PolarizationFrame<T>* frames,
                             float* image, double* omega_total, cudaStream_t stream) {
    if (row_count(p) == 0) return cudaSuccess;
    const dim3 block(32, 8);
    const dim3 grid((p.fpixels + block.x - 1) / block.x, (row_count(p) + block.y - 1) / block.y);
    amorphous_kernel<T><<<grid, block, 0, stream>>>(p, a, frames, image, omega_total);
    return cudaGetLastError();
}

template cudaError_t launch_amorphous<double>(const PixelParams<double>&, const AmorphousParams<double>&,
                                              const PolarizationFrame<double>*, float*, double*, cudaStream_t);
template cudaError_t launch_amorphous<float>(const PixelParams<float>&, const AmorphousParams<float>&,
                                             const PolarizationFrame<float>*, float*, double*, cudaStream_t);

template <typename T>
void render_amorphous_cuda(const PixelParams<T>& host_p, const AmorphousParams<T>& host_a, float* image,
                           double* omega_total) {
    PixelParams<T> p = host_p;
    AmorphousParams<T> a = host_a;
    const size_t pixels = (size_t)p.fpixels * p.spixels;
    const std::vector<PolarizationFrame<T>> frames = source_polarization_frames(p);

    DeviceCopy<T> dir(p.source_dir, 3 * (size_t)p.sources, "sources"),
        lambda(p.source_lambda, (size_t)p.sources, "sources"), weight(p.source_weight, (size_t)p.sources, "sources");
    DeviceCopy<uint16_t> mask(p.mask, p.mask ? pixels : 0, "mask");
    DeviceCopy<PolarizationFrame<T>> dframes(frames.data(), frames.size(), "sources");
    // each material's table arrays, up
    std::vector<std::unique_ptr<DeviceCopy<T>>> tables;
    auto up = [&tables](const T* host, size_t n) {
        tables.push_back(std::make_unique<DeviceCopy<T>>(host, n, "table"));
        return tables.back()->ptr;
    };
    for (int m = 0; m < a.materials; ++m) {
        AmorphousTable<T>& t = a.tables[m];
        t.stol = up(t.stol, (size_t)t.rows);
        t.F = up(t.F, (size_t)t.rows);
        t.cubic = up(t.cubic, t.cubic ? 6 * (size_t)t.rows : 0);
        t.bucket = up(t.bucket, (size_t)t.buckets);
    }
    p.source_dir = dir.ptr;
    p.source_lambda = lambda.ptr;
    p.source_weight = weight.ptr;
    p.mask = mask.ptr;
    p.reference = nullptr;

    DeviceCopy<float> dimage(image, pixels, "image");
    const double zero = 0;
    DeviceCopy<double> domega(&zero, 1, "image");
    // several panels: a launch per panel with its frame and rows (as frame_pipeline.hpp)
    for (const PixelParams<T>& v : launch_views(p))
        check(launch_amorphous(fold_panel_start(v), a, dframes.ptr, dimage.ptr, domega.ptr, 0), "launch");
    check(cudaMemcpy(image, dimage.ptr, pixels * sizeof(float), cudaMemcpyDeviceToHost), "image copy");
    check(cudaMemcpy(omega_total, domega.ptr, sizeof(double), cudaMemcpyDeviceToHost), "image copy");
}

template void render_amorphous_cuda<double>(const PixelParams<double>&, const AmorphousParams<double>&, float*,
                                            double*);
template void render_amorphous_cuda<float>(const PixelParams<float>&, const AmorphousParams<float>&, float*, double*);

}  // namespace nb
