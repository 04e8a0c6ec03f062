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
#include <utility>

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

// FFTW's two precisions behind one interface: the 1D transforms the 2D
// convolution is made of.
template <typename R>
struct Fftw;
template <>
struct Fftw<double> {
    using plan = fftw_plan;
    using complex = fftw_complex;
    static void* malloc(size_t n) { return fftw_malloc(n); }
    static void free(void* p) { fftw_free(p); }
    static plan r2c(int n, double* in) { return fftw_plan_dft_r2c_1d(n, in, (complex*)in, FFTW_ESTIMATE); }
    static plan c2r(int n, double* in) { return fftw_plan_dft_c2r_1d(n, (complex*)in, in, FFTW_ESTIMATE); }
    static plan c2c(int n, double* in, int sign) {
        return fftw_plan_dft_1d(n, (complex*)in, (complex*)in, sign, FFTW_ESTIMATE);
    }
    static void r2c_on(plan p, double* a) { fftw_execute_dft_r2c(p, a, (complex*)a); }
    static void c2r_on(plan p, double* a) { fftw_execute_dft_c2r(p, (complex*)a, a); }
    static void c2c_on(plan p, double* a) { fftw_execute_dft(p, (complex*)a, (complex*)a); }
    static void destroy(plan p) { fftw_destroy_plan(p); }
};
template <>
struct Fftw<float> {
    using plan = fftwf_plan;
    using complex = fftwf_complex;
    static void* malloc(size_t n) { return fftwf_malloc(n); }
    static void free(void* p) { fftwf_free(p); }
    static plan r2c(int n, float* in) { return fftwf_plan_dft_r2c_1d(n, in, (complex*)in, FFTW_ESTIMATE); }
    static plan c2r(int n, float* in) { return fftwf_plan_dft_c2r_1d(n, (complex*)in, in, FFTW_ESTIMATE); }
    static plan c2c(int n, float* in, int sign) {
        return fftwf_plan_dft_1d(n, (complex*)in, (complex*)in, sign, FFTW_ESTIMATE);
    }
    static void r2c_on(plan p, float* a) { fftwf_execute_dft_r2c(p, a, (complex*)a); }
    static void c2r_on(plan p, float* a) { fftwf_execute_dft_c2r(p, (complex*)a, a); }
    static void c2c_on(plan p, float* a) { fftwf_execute_dft(p, (complex*)a, (complex*)a); }
    static void destroy(plan p) { fftwf_destroy_plan(p); }
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

// Reals from n up to a whole 64 bytes: every row, column and thread's scratch
// then starts at the alignment of its fftw_malloc'd buffer, which a plan made
// on one such array needs of every array it is run on.
template <typename R>
size_t padded(size_t n) {
    const size_t per = 64 / sizeof(R);
    return (n + per - 1) / per * per;
}

// FFTW's planner is not thread-safe: plans are made under one lock.
std::mutex& planner_lock() {
    static std::mutex m;
    return m;
}

// The in-place 1D transforms of one padded size P x Q, planned once and kept
// (FFTW runs a plan on any array of its layout and alignment, from any
// thread): rows of P reals, columns of Q complex values both ways, and
// columns of Q reals (an even kernel's spectrum). Each is run by our threads
// on their own rows and columns, not by FFTW's: the image's zero padding is
// never transformed as rows, the columns are transformed, multiplied and
// transformed back while in cache, and the work is shared dynamically with
// the threads that write the frame's files meanwhile (FFTW's 2D plans on two
// threads waited at their barriers for a thread busy writing).
template <typename R>
struct Plans {
    typename Fftw<R>::plan row_r2c = nullptr, row_c2r = nullptr, col_fwd = nullptr, col_back = nullptr,
                           col_r2c = nullptr;
    bool complete() const { return row_r2c && row_c2r && col_fwd && col_back && col_r2c; }
};

// The kept plans, destroyed at exit (FFTW's memory handed back: a leak
// checker sees none).
template <typename R>
struct PlanCache {
    std::map<std::pair<int, int>, Plans<R>> plans;
    PlanCache() = default;
    PlanCache(const PlanCache&) = delete;
    PlanCache& operator=(const PlanCache&) = delete;
    ~PlanCache() {
        for (auto& entry : plans)
            for (auto p : {entry.second.row_r2c, entry.second.row_c2r, entry.second.col_fwd, entry.second.col_back,
                           entry.second.col_r2c})
                if (p) Fftw<R>::destroy(p);
    }
};

template <typename R>
Plans<R> plans_for(int P, int Q) {
    static PlanCache<R> kept;
    std::lock_guard<std::mutex> lock(planner_lock());
    Plans<R>& p = kept.plans[{P, Q}];
    if (!p.complete()) {
        // FFTW_ESTIMATE: the arrays are not touched, only their alignment seen
        FftwBuffer<R> a = fftw_buffer<R>(padded<R>(2 * (size_t)std::max(P / 2 + 1, Q)));
        if (!p.row_r2c) p.row_r2c = Fftw<R>::r2c(P, a.get());
        if (!p.row_c2r) p.row_c2r = Fftw<R>::c2r(P, a.get());
        if (!p.col_fwd) p.col_fwd = Fftw<R>::c2c(Q, a.get(), FFTW_FORWARD);
        if (!p.col_back) p.col_back = Fftw<R>::c2c(Q, a.get(), FFTW_BACKWARD);
        if (!p.col_r2c) p.col_r2c = Fftw<R>::r2c(Q, a.get());
    }
    if (!p.complete())
        throw std::runtime_error("-psf: FFTW could not plan a " + std::to_string(P) + "x" + std::to_string(Q) +
                                 " transform");
    return p;
}

// One scratch slice per thread, in one buffer allocated before the threads
// start (an allocation failure is then an exception on the calling thread).
template <typename R>
struct Scratch {
    size_t slice;
    FftwBuffer<R> all;
    explicit Scratch(size_t reals)
        : slice(padded<R>(reals)), all(fftw_buffer<R>(slice * (size_t)omp_get_max_threads())) {}
    R* mine() const { return all.get() + slice * (size_t)omp_get_thread_num(); }
};

}  // namespace

double fft_convolution_cost(int xpixels, int ypixels, int kr) {
    const double n = (double)good_size(xpixels + kr) * good_size(ypixels + kr);
    return 3.0 * n * std::log2(std::max(n, 2.0));
}

namespace {

// The kernel's transform, kept for the next image of the same size and kernel
// (the frames of a series, the shots of a list): each then costs two
// transforms instead of three. One entry per precision, keyed by the image
// size and a hash of the kernel's radius and values. Stored by columns (u
// outer), the order the convolution's column pass reads it in.

// A kernel even in x and in y (every PSF's) has a real transform, even in
// both frequencies: `even` spectra keep rows v = 0 .. Q/2 of real values (a
// quarter of the complex spectrum's memory), made from the kernel's rows
// dy >= 0 alone, each a real transform.
template <typename R>
struct KernelSpectrum {
    int xpixels = 0, ypixels = 0;  // with kr (in the hash) they fix the padded size
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

// A kernel's values: all (2 kr + 1)^2 (row dy + kr, column dx + kr), or
// the quadrant dx, dy >= 0 ((kr + 1)^2, row dy, column dx) of one even in x
// and y, its mirror images implied.
struct KernelValues {
    const std::vector<double>& values;
    int kr;
    bool quadrant;
    double at(int dx, int dy) const {
        if (quadrant) return values[(size_t)(kr + 1) * std::abs(dy) + std::abs(dx)];
        return values[(size_t)(2 * kr + 1) * (dy + kr) + dx + kr];
    }
};

unsigned long long kernel_hash(const KernelValues& k) {
    unsigned long long h = 1469598103934665603ULL ^ (unsigned long long)k.kr ^ ((unsigned long long)k.quadrant << 40);
    for (double v : k.values) {
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

// The padded geometry of one convolution. Only kernel offsets below the
// image's size reach a pixel from another (kx, ky): the others are left out,
// and the rest then never wrap onto each other (P > 2 kx, Q > 2 ky).
struct Layout {
    int kx, ky, P, Q, Pc, Qh;
    Layout(int xp, int yp, int r)
        : kx(std::min(r, xp - 1)),
          ky(std::min(r, yp - 1)),
          P(good_size(xp + r)),
          Q(good_size(yp + r)),
          Pc(P / 2 + 1),
          Qh(Q / 2 + 1) {}
};

// Columns a thread takes at a time: transformed, multiplied and transformed
// back in its scratch (16 columns of 2560 complex floats: 330 KB, in L2).
constexpr int kColumns = 16;

// Kernel row dy, offsets |dx| <= kx wrapped into P reals, transformed in place.
template <typename R>
void kernel_row(const KernelValues& kernel, const Layout& g, int dy, const Plans<R>& plans, R* row) {
    std::fill(row, row + 2 * (size_t)g.Pc, R(0));
    for (int dx = -g.kx; dx <= g.kx; ++dx) row[dx < 0 ? dx + g.P : dx] = (R)kernel.at(dx, dy);
    Fftw<R>::r2c_on(plans.row_r2c, row);
}

template <typename R>
std::shared_ptr<const FftwBuffer<R>> kernel_spectrum(const KernelValues& kernel, const Layout& g, bool even,
                                                     const Plans<R>& plans) {
    const int Pc = g.Pc, Q = g.Q, Qh = g.Qh;
    Scratch<R> scratch(2 * std::max((size_t)Pc, (size_t)Q));
    if (even) {
        // rows dy = 0 .. ky: real transforms (the imaginary parts are rounding)
        std::vector<R> rows((size_t)(g.ky + 1) * Pc);
#pragma omp parallel for schedule(dynamic, 4)
        for (int dy = 0; dy <= g.ky; ++dy) {
            R* row = scratch.mine();
            kernel_row(kernel, g, dy, plans, row);
            for (int u = 0; u < Pc; ++u) rows[(size_t)dy * Pc + u] = row[2 * u];
        }
        // each column u, even in dy, transformed as Q reals: S(u, v), v <= Q/2
        auto out = std::make_shared<FftwBuffer<R>>(fftw_buffer<R>((size_t)Pc * Qh));
        R* s = out->get();
#pragma omp parallel for schedule(dynamic, 16)
        for (int u = 0; u < Pc; ++u) {
            R* c = scratch.mine();
            std::fill(c, c + 2 * (size_t)Qh, R(0));
            c[0] = rows[u];
            for (int dy = 1; dy <= g.ky; ++dy) c[dy] = c[Q - dy] = rows[(size_t)dy * Pc + u];
            Fftw<R>::r2c_on(plans.col_r2c, c);
            for (int v = 0; v < Qh; ++v) s[(size_t)u * Qh + v] = c[2 * v];
        }
        return out;
    }
    // any other kernel: rows dy = -ky .. ky complex, columns complex
    const int nrows = 2 * g.ky + 1;
    std::vector<std::complex<R>> rows((size_t)nrows * Pc);
#pragma omp parallel for schedule(dynamic, 4)
    for (int dy = -g.ky; dy <= g.ky; ++dy) {
        R* row = scratch.mine();
        kernel_row(kernel, g, dy, plans, row);
        const auto* rc = reinterpret_cast<const std::complex<R>*>(row);
        std::copy(rc, rc + Pc, &rows[(size_t)(dy + g.ky) * Pc]);
    }
    auto out = std::make_shared<FftwBuffer<R>>(fftw_buffer<R>(2 * (size_t)Pc * Q));
    auto* s = reinterpret_cast<std::complex<R>*>(out->get());
#pragma omp parallel for schedule(dynamic, 16)
    for (int u = 0; u < Pc; ++u) {
        auto* c = reinterpret_cast<std::complex<R>*>(scratch.mine());
        std::fill(c, c + Q, std::complex<R>(0));
        for (int dy = -g.ky; dy <= g.ky; ++dy) c[dy < 0 ? dy + Q : dy] = rows[(size_t)(dy + g.ky) * Pc + u];
        Fftw<R>::c2c_on(plans.col_fwd, reinterpret_cast<R*>(c));
        std::copy(c, c + Q, s + (size_t)u * Q);
    }
    return out;
}

template <typename R>
void convolve_in(std::vector<float>& image, int xpixels, int ypixels, const KernelValues& kernel) {
    StageTimer timer("detector: PSF FFT");
    const int kr = kernel.kr;
    Layout g(xpixels, ypixels, kr);
    const int P = g.P, Q = g.Q, Pc = g.Pc, Qh = g.Qh;
    const Plans<R> plans = plans_for<R>(P, Q);
    const unsigned long long hash = kernel_hash(kernel);
    std::shared_ptr<const FftwBuffer<R>> spectrum;
    bool even = false;
    {
        std::lock_guard<std::mutex> lock(spectrum_lock<R>());
        const KernelSpectrum<R>& c = spectrum_cache<R>();
        if (c.xpixels == xpixels && c.ypixels == ypixels && c.hash == hash) spectrum = c.spectrum, even = c.even;
    }
    if (!spectrum) {
        even = kernel.quadrant || kernel_is_even(kernel.values, kr);
        spectrum = kernel_spectrum<R>(kernel, g, even, plans);
        std::lock_guard<std::mutex> lock(spectrum_lock<R>());
        spectrum_cache<R>() = KernelSpectrum<R>{xpixels, ypixels, hash, even, spectrum};
    }

    // the image's rows' half spectra: ypixels rows of Pc complex values (the
    // padding rows are zero and stay so until the column pass)
    using C = std::complex<R>;
    const size_t col = padded<R>(2 * (size_t)Q) / 2;  // complex values per scratch column
    FftwBuffer<R> half_buffer = fftw_buffer<R>(2 * (size_t)ypixels * Pc);
    C* half = reinterpret_cast<C*>(half_buffer.get());
    Scratch<R> scratch(std::max(2 * (size_t)Pc, 2 * col * kColumns));
    const R scale = (R)(1.0 / ((double)P * Q));
    const R* sr = spectrum->get();
    const C* sc = reinterpret_cast<const C*>(spectrum->get());
#pragma omp parallel
    {
#pragma omp for schedule(dynamic, 16)
        for (int y = 0; y < ypixels; ++y) {
            R* row = scratch.mine();
            const float* in = image.data() + (size_t)y * xpixels;
            for (int x = 0; x < xpixels; ++x) row[x] = in[x];
            std::fill(row + xpixels, row + 2 * (size_t)Pc, R(0));
            Fftw<R>::r2c_on(plans.row_r2c, row);
            const C* rc = reinterpret_cast<const C*>(row);
            std::copy(rc, rc + Pc, half + (size_t)y * Pc);
        }
#pragma omp for schedule(dynamic, 1)
        for (int u0 = 0; u0 < Pc; u0 += kColumns) {
            const int w = std::min(kColumns, Pc - u0);
            C* cols = reinterpret_cast<C*>(scratch.mine());
            for (int y = 0; y < ypixels; ++y)
                for (int c = 0; c < w; ++c) cols[(size_t)c * col + y] = half[(size_t)y * Pc + u0 + c];
            for (int c = 0; c < w; ++c) {
                C* a = cols + (size_t)c * col;
                const int u = u0 + c;
                std::fill(a + ypixels, a + Q, C(0));
                Fftw<R>::c2c_on(plans.col_fwd, reinterpret_cast<R*>(a));
                if (even) {
                    const R* su = sr + (size_t)u * Qh;  // S(u, Q - v) = S(u, v)
                    for (int v = 0; v < Qh; ++v) a[v] *= su[v] * scale;
                    for (int v = Qh; v < Q; ++v) a[v] *= su[Q - v] * scale;
                } else {
                    const C* su = sc + (size_t)u * Q;
                    for (int v = 0; v < Q; ++v) a[v] *= su[v] * scale;
                }
                Fftw<R>::c2c_on(plans.col_back, reinterpret_cast<R*>(a));
            }
            for (int y = 0; y < ypixels; ++y)
                for (int c = 0; c < w; ++c) half[(size_t)y * Pc + u0 + c] = cols[(size_t)c * col + y];
        }
#pragma omp for schedule(dynamic, 16)
        for (int y = 0; y < ypixels; ++y) {
            R* row = scratch.mine();
            std::copy(half + (size_t)y * Pc, half + (size_t)(y + 1) * Pc, reinterpret_cast<C*>(row));
            Fftw<R>::c2r_on(plans.row_c2r, row);
            float* out = image.data() + (size_t)y * xpixels;
            for (int x = 0; x < xpixels; ++x) out[x] = (float)row[x];
        }
    }
}

}  // namespace

namespace {

void convolve_with(std::vector<float>& image, int xpixels, int ypixels, const KernelValues& k, FftPrecision precision) {
    if (precision == FftPrecision::Single)
        convolve_in<float>(image, xpixels, ypixels, k);
    else
        convolve_in<double>(image, xpixels, ypixels, k);
}

}  // namespace

void convolve_fft_in_place(std::vector<float>& image, int xpixels, int ypixels, const std::vector<double>& kernel,
                           int kr, FftPrecision precision) {
    convolve_with(image, xpixels, ypixels, KernelValues{kernel, kr, false}, precision);
}

void convolve_fft_even_in_place(std::vector<float>& image, int xpixels, int ypixels,
                                const std::vector<double>& quadrant, int kr, FftPrecision precision) {
    convolve_with(image, xpixels, ypixels, KernelValues{quadrant, kr, true}, precision);
}

std::vector<float> convolve_fft(const std::vector<float>& in, int xpixels, int ypixels,
                                const std::vector<double>& kernel, int kr, FftPrecision precision) {
    std::vector<float> out = in;
    convolve_fft_in_place(out, xpixels, ypixels, kernel, kr, precision);
    return out;
}

}  // namespace nb
