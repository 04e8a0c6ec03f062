#include "engine/psf_fft.hpp"

#include "engine/stage_timer.hpp"
#include "engine/zeroed_buffer.hpp"

#include <fftw3.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <tuple>

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

// FFTW's two precisions behind one interface
template <typename R>
struct Fftw;
template <>
struct Fftw<double> {
    using plan = fftw_plan;
    using complex = fftw_complex;
    static void* malloc(size_t n) { return fftw_malloc(n); }
    static void free(void* p) { fftw_free(p); }
    static int init_threads() { return fftw_init_threads(); }
    static void plan_with_nthreads(int n) { fftw_plan_with_nthreads(n); }
    static plan r2c(int q, int p, double* in, complex* out) {
        return fftw_plan_dft_r2c_2d(q, p, in, out, FFTW_ESTIMATE);
    }
    static plan c2r(int q, int p, complex* in, double* out) {
        return fftw_plan_dft_c2r_2d(q, p, in, out, FFTW_ESTIMATE);
    }
    static void r2c_on(plan p, double* in, complex* out) { fftw_execute_dft_r2c(p, in, out); }
    static void destroy(plan p) { fftw_destroy_plan(p); }
    static void c2r_on(plan p, complex* in, double* out) { fftw_execute_dft_c2r(p, in, out); }
};
template <>
struct Fftw<float> {
    using plan = fftwf_plan;
    using complex = fftwf_complex;
    static void* malloc(size_t n) { return fftwf_malloc(n); }
    static void free(void* p) { fftwf_free(p); }
    static int init_threads() { return fftwf_init_threads(); }
    static void plan_with_nthreads(int n) { fftwf_plan_with_nthreads(n); }
    static plan r2c(int q, int p, float* in, complex* out) {
        return fftwf_plan_dft_r2c_2d(q, p, in, out, FFTW_ESTIMATE);
    }
    static plan c2r(int q, int p, complex* in, float* out) {
        return fftwf_plan_dft_c2r_2d(q, p, in, out, FFTW_ESTIMATE);
    }
    static void r2c_on(plan p, float* in, complex* out) { fftwf_execute_dft_r2c(p, in, out); }
    static void destroy(plan p) { fftwf_destroy_plan(p); }
    static void c2r_on(plan p, complex* in, float* out) { fftwf_execute_dft_c2r(p, in, out); }
};

template <typename R>
struct FftwFree {
    void operator()(R* p) const { Fftw<R>::free(p); }
};
template <typename R>
using FftwBuffer = std::unique_ptr<R, FftwFree<R>>;

template <typename R>
FftwBuffer<R> fftw_buffer(size_t n) {
    FftwBuffer<R> b(static_cast<R*>(Fftw<R>::malloc(n * sizeof(R))));
    if (!b)
        throw std::runtime_error("-psf: cannot allocate the FFT buffers (" + std::to_string(n * sizeof(R) >> 20) +
                                 " MB)");
    advise_huge_pages(b.get(), n * sizeof(R));
    return b;
}

// FFTW's planner is not thread-safe: plans are made under one lock.
std::mutex& planner_lock() {
    static std::mutex m;
    return m;
}

// FFTW's threads for a P x Q transform: one below a million points, where
// its threads cost more than they give (686x686 on 2 cores: planning 4.5 ->
// 3.3 ms, a transform 2.5 -> 1.8 ms on one thread), and two cores fewer than
// the run's threads above: nanoBragg convolves its noise image while the
// frame's files are written on other threads, and a team as wide as the
// machine waits at FFTW's barriers on the writers' cores (the realistic
// 2048x2048 frame on 2 cores: its three 2592x2592 transforms and their plans
// 94 ms on two threads, 75 on one; alone, two threads halve a transform).
int fft_threads(int P, int Q) {
    if ((long long)P * Q < (1LL << 20)) return 1;
    return std::max(1, omp_get_max_threads() - 2);
}

// FFTW's threads, set up once per precision (under the planner lock).
template <typename R>
void plan_with_threads(int threads) {
    static const bool ready = Fftw<R>::init_threads() != 0;
    if (ready) Fftw<R>::plan_with_nthreads(threads);
}

// The in-place transforms of one padded size, planned once and kept (FFTW
// plans are reusable on any buffer of the same layout and alignment, and
// every buffer here comes from fftw_malloc): planning took as long as a
// transform. Keyed by size and thread count.
template <typename R>
struct Plans {
    typename Fftw<R>::plan forward = nullptr, back = nullptr;
};

// The kept plans, destroyed at exit (FFTW's memory handed back: a leak
// checker sees none).
template <typename R>
struct PlanCache {
    std::map<std::tuple<int, int, int>, Plans<R>> plans;
    PlanCache() = default;
    PlanCache(const PlanCache&) = delete;
    PlanCache& operator=(const PlanCache&) = delete;
    ~PlanCache() {
        for (auto& entry : plans) {
            if (entry.second.forward) Fftw<R>::destroy(entry.second.forward);
            if (entry.second.back) Fftw<R>::destroy(entry.second.back);
        }
    }
};

template <typename R>
Plans<R> plans_for(int P, int Q, R* buffer) {
    static PlanCache<R> kept;
    std::lock_guard<std::mutex> lock(planner_lock());
    const int threads = fft_threads(P, Q);
    Plans<R>& p = kept.plans[{P, Q, threads}];
    if (!p.forward || !p.back) {
        plan_with_threads<R>(threads);
        auto* c = reinterpret_cast<typename Fftw<R>::complex*>(buffer);
        p.forward = Fftw<R>::r2c(Q, P, buffer, c);  // FFTW_ESTIMATE: the buffer is not touched
        p.back = Fftw<R>::c2r(Q, P, c, buffer);
    }
    if (!p.forward || !p.back)
        throw std::runtime_error("-psf: FFTW could not plan a " + std::to_string(P) + "x" + std::to_string(Q) +
                                 " transform");
    return p;
}

}  // namespace

double fft_convolution_cost(int xpixels, int ypixels, int kr) {
    const double n = (double)good_size(xpixels + kr) * good_size(ypixels + kr);
    return 3.0 * n * std::log2(std::max(n, 2.0));
}

namespace {

// The kernel's transform, kept for the next image of the same size and kernel
// (the frames of a series, the shots of a list): each then costs two
// transforms instead of three. One entry per precision, keyed by the padded
// size and a hash of the kernel's values.

// A kernel even in x and in y (every PSF's) has a real transform, even in
// both frequencies: `even` spectra keep only rows 0 .. Q/2 of real values
// (a quarter of the complex half-spectrum's memory, and no second
// transform-sized buffer: the kernel is transformed in the image's buffer).
template <typename R>
struct KernelSpectrum {
    int P = 0, Q = 0;
    unsigned long long hash = 0;
    bool even = false;
    std::shared_ptr<const FftwBuffer<R>> spectrum;
};

template <typename R>
std::mutex& spectrum_lock() {
    static std::mutex m;
    return m;
}
template <typename R>
KernelSpectrum<R>& spectrum_cache() {
    static KernelSpectrum<R> c;
    return c;
}

unsigned long long kernel_hash(const std::vector<double>& kernel, int kr) {
    unsigned long long h = 1469598103934665603ULL ^ (unsigned long long)kr;
    for (double v : kernel) {
        unsigned long long w;
        std::memcpy(&w, &v, sizeof w);
        h = (h ^ w) * 1099511628211ULL;
    }
    return h;
}

// Whether k(dx, dy) = k(-dx, dy) = k(dx, -dy) to 1e-12 of the largest value
// (a PSF's pixel integrals are symmetric up to their last bits).
bool kernel_is_even(const std::vector<double>& kernel, int kr) {
    const int ks = 2 * kr + 1;
    double largest = 0;
    for (double v : kernel) largest = std::max(largest, std::fabs(v));
    const double tolerance = 1e-12 * largest;
    for (int dy = -kr; dy <= kr; ++dy)
        for (int dx = -kr; dx <= kr; ++dx) {
            const double k = kernel[(size_t)ks * (dy + kr) + dx + kr];
            if (std::fabs(k - kernel[(size_t)ks * (dy + kr) - dx + kr]) > tolerance ||
                std::fabs(k - kernel[(size_t)ks * (-dy + kr) + dx + kr]) > tolerance)
                return false;
        }
    return true;
}

template <typename R>
void convolve_in(std::vector<float>& image_inout, int xpixels, int ypixels, const std::vector<double>& kernel, int kr) {
    const std::vector<float>& in = image_inout;
    StageTimer timer("detector: PSF FFT");
    const int P = good_size(xpixels + kr), Q = good_size(ypixels + kr);
    const int Pc = P / 2 + 1;           // complex columns of a real row
    const size_t row = 2 * (size_t)Pc;  // real row length of the in-place transform
    const size_t n = row * Q;
    using F = Fftw<R>;
    const unsigned long long hash = kernel_hash(kernel, kr);
    std::shared_ptr<const FftwBuffer<R>> spectrum;
    bool even = false;
    {
        std::lock_guard<std::mutex> lock(spectrum_lock<R>());
        const KernelSpectrum<R>& c = spectrum_cache<R>();
        if (c.P == P && c.Q == Q && c.hash == hash) spectrum = c.spectrum, even = c.even;
    }
    FftwBuffer<R> image = fftw_buffer<R>(n);
    R* a = image.get();
    auto* ca_fftw = reinterpret_cast<typename F::complex*>(a);
    const int half_rows = Q / 2 + 1;  // rows 0 .. Q/2 of an even spectrum
    if (!spectrum) {
        // the kernel centred on (0, 0), negative offsets wrapped to the far
        // end, transformed in the image's buffer (even) or its own
        even = kernel_is_even(kernel, kr);
        std::shared_ptr<FftwBuffer<R>> full;
        R* b = a;
        if (!even) {
            full = std::make_shared<FftwBuffer<R>>(fftw_buffer<R>(n));
            b = full->get();
        }
#pragma omp parallel for schedule(static)
        for (int y = 0; y < Q; ++y)
            for (size_t x = 0; x < row; ++x) b[(size_t)y * row + x] = 0;
        const int ks = 2 * kr + 1;
        for (int dy = -kr; dy <= kr; ++dy) {
            R* brow = b + (size_t)(dy < 0 ? dy + Q : dy) * row;
            const double* krow = kernel.data() + (size_t)ks * (dy + kr) + kr;
            for (int dx = -kr; dx <= kr; ++dx)
                if (krow[dx] != 0.0) brow[dx < 0 ? dx + P : dx] = (R)krow[dx];
        }
        const Plans<R> plans = plans_for<R>(P, Q, a);
        F::r2c_on(plans.forward, b, reinterpret_cast<typename F::complex*>(b));
        if (even) {
            // the real parts (the imaginary ones are rounding) of rows 0 .. Q/2
            auto compact = std::make_shared<FftwBuffer<R>>(fftw_buffer<R>((size_t)Pc * half_rows));
            R* sr = compact->get();
            const auto* cb = reinterpret_cast<const std::complex<R>*>(b);
#pragma omp parallel for schedule(static)
            for (int v = 0; v < half_rows; ++v)
                for (int u = 0; u < Pc; ++u) sr[(size_t)v * Pc + u] = cb[(size_t)v * Pc + u].real();
            spectrum = compact;
        } else {
            spectrum = full;
        }
        std::lock_guard<std::mutex> lock(spectrum_lock<R>());
        spectrum_cache<R>() = KernelSpectrum<R>{P, Q, hash, even, spectrum};
    }
#pragma omp parallel for schedule(static)
    for (int y = 0; y < Q; ++y) {
        R* ar = a + (size_t)y * row;
        for (size_t x = 0; x < row; ++x) ar[x] = 0;
        if (y < ypixels)
            for (int x = 0; x < xpixels; ++x) ar[x] = in[(size_t)y * xpixels + x];
    }

    const Plans<R> plans = plans_for<R>(P, Q, a);
    F::r2c_on(plans.forward, a, ca_fftw);
    const R scale = (R)(1.0 / ((double)P * Q));
    auto* ca = reinterpret_cast<std::complex<R>*>(a);
    if (even) {
        const R* sr = spectrum->get();
#pragma omp parallel for schedule(static)
        for (int v = 0; v < Q; ++v) {
            const R* srow = sr + (size_t)(v < half_rows ? v : Q - v) * Pc;  // S(u, Q - v) = S(u, v)
            std::complex<R>* crow = ca + (size_t)v * Pc;
            for (int u = 0; u < Pc; ++u) crow[u] *= srow[u] * scale;
        }
    } else {
        const auto* cb = reinterpret_cast<const std::complex<R>*>(spectrum->get());
        const long long cells = (long long)Pc * Q;
#pragma omp parallel for schedule(static)
        for (long long i = 0; i < cells; ++i) ca[i] *= cb[i] * scale;
    }
    F::c2r_on(plans.back, ca_fftw, a);
    // back into the caller's buffer (its pixels were copied in above): a
    // fresh image-sized buffer cost more in page faults than the copy
    std::vector<float>& out = image_inout;
#pragma omp parallel for schedule(static)
    for (int y = 0; y < ypixels; ++y)
        for (int x = 0; x < xpixels; ++x) out[(size_t)y * xpixels + x] = (float)a[(size_t)y * row + x];
}

}  // namespace

void convolve_fft_in_place(std::vector<float>& image, int xpixels, int ypixels, const std::vector<double>& kernel,
                           int kr, FftPrecision precision) {
    if (precision == FftPrecision::Single)
        convolve_in<float>(image, xpixels, ypixels, kernel, kr);
    else
        convolve_in<double>(image, xpixels, ypixels, kernel, kr);
}

std::vector<float> convolve_fft(const std::vector<float>& in, int xpixels, int ypixels,
                                const std::vector<double>& kernel, int kr, FftPrecision precision) {
    std::vector<float> out = in;
    convolve_fft_in_place(out, xpixels, ypixels, kernel, kr, precision);
    return out;
}

}  // namespace nb
