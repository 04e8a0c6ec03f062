#include "engine/psf_fft.hpp"

#include <fftw3.h>
#include <omp.h>

#include <cmath>
#include <complex>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace nb {

namespace {

// The smallest n' >= n of the form 2^a 3^b 5^c 7^d (FFTW is fastest there).
int good_size(int n) {
    for (int m = std::max(n, 1);; ++m) {
        int r = m;
        for (int p : {2, 3, 5, 7})
            while (r % p == 0) r /= p;
        if (r == 1) return m;
    }
}

struct FftwFree {
    void operator()(double* p) const { fftw_free(p); }
};
using FftwBuffer = std::unique_ptr<double, FftwFree>;

FftwBuffer fftw_buffer(size_t n) {
    FftwBuffer b(static_cast<double*>(fftw_malloc(n * sizeof(double))));
    if (!b) throw std::runtime_error("-psf: cannot allocate the FFT buffers (" + std::to_string(n * 8 >> 20) + " MB)");
    return b;
}

// FFTW's planner is not thread-safe: plans are made under one lock.
std::mutex& planner_lock() {
    static std::mutex m;
    return m;
}

}  // namespace

double fft_convolution_cost(int xpixels, int ypixels, int kr) {
    const double n = (double)good_size(xpixels + kr) * good_size(ypixels + kr);
    return 3.0 * n * std::log2(std::max(n, 2.0));
}

std::vector<float> convolve_fft(const std::vector<float>& in, int xpixels, int ypixels,
                                const std::vector<double>& kernel, int kr) {
    const int P = good_size(xpixels + kr), Q = good_size(ypixels + kr);
    const int Pc = P / 2 + 1;           // complex columns of a real row
    const size_t row = 2 * (size_t)Pc;  // real row length of the in-place transform
    const size_t n = row * Q;
    FftwBuffer image = fftw_buffer(n), psf = fftw_buffer(n);
    double* a = image.get();
    double* b = psf.get();
    const int ks = 2 * kr + 1;
#pragma omp parallel for schedule(static)
    for (int y = 0; y < Q; ++y) {
        double* ar = a + (size_t)y * row;
        double* br = b + (size_t)y * row;
        for (size_t x = 0; x < row; ++x) ar[x] = br[x] = 0.0;
        if (y < ypixels)
            for (int x = 0; x < xpixels; ++x) ar[x] = in[(size_t)y * xpixels + x];
    }
    // the kernel centred on (0, 0), negative offsets wrapped to the far end
    for (int dy = -kr; dy <= kr; ++dy)
        for (int dx = -kr; dx <= kr; ++dx) {
            const double k = kernel[(size_t)ks * (dy + kr) + dx + kr];
            if (k != 0.0) b[(size_t)((dy + Q) % Q) * row + (size_t)((dx + P) % P)] = k;
        }

    fftw_plan fa, fb, back;
    {
        std::lock_guard<std::mutex> lock(planner_lock());
        static const bool threads_ready = fftw_init_threads() != 0;
        if (threads_ready) fftw_plan_with_nthreads(omp_get_max_threads());
        auto* ca = reinterpret_cast<fftw_complex*>(a);
        auto* cb = reinterpret_cast<fftw_complex*>(b);
        fa = fftw_plan_dft_r2c_2d(Q, P, a, ca, FFTW_ESTIMATE);
        fb = fftw_plan_dft_r2c_2d(Q, P, b, cb, FFTW_ESTIMATE);
        back = fftw_plan_dft_c2r_2d(Q, P, ca, a, FFTW_ESTIMATE);
    }
    if (!fa || !fb || !back)
        throw std::runtime_error("-psf: FFTW could not plan a " + std::to_string(P) + "x" + std::to_string(Q) +
                                 " transform");
    fftw_execute(fa);
    fftw_execute(fb);
    const double scale = 1.0 / ((double)P * Q);
    auto* ca = reinterpret_cast<std::complex<double>*>(a);
    const auto* cb = reinterpret_cast<const std::complex<double>*>(b);
    const long long cells = (long long)Pc * Q;
#pragma omp parallel for schedule(static)
    for (long long i = 0; i < cells; ++i) ca[i] *= cb[i] * scale;
    fftw_execute(back);
    {
        std::lock_guard<std::mutex> lock(planner_lock());
        fftw_destroy_plan(fa);
        fftw_destroy_plan(fb);
        fftw_destroy_plan(back);
    }
    std::vector<float> out((size_t)xpixels * ypixels);
#pragma omp parallel for schedule(static)
    for (int y = 0; y < ypixels; ++y)
        for (int x = 0; x < xpixels; ++x) out[(size_t)y * xpixels + x] = (float)a[(size_t)y * row + x];
    return out;
}

}  // namespace nb
