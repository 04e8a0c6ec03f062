#include "engine/detector_response.hpp"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstdarg>
#include <cstdio>

#include "engine/pixel_random.hpp"
#include "engine/psf_fft.hpp"
#include "engine/random.hpp"
#include "engine/smv_io.hpp"
#include "engine/stage_timer.hpp"
#include "engine/zeroed_buffer.hpp"

namespace nb {

namespace {

constexpr double kThomsonSq = 7.94079248018965e-30;  // r_e^2 (m^2)
constexpr double kLostPhotonFactor = 10.0;           // PSF tails below sqrt(N)/10 photons are not rendered
constexpr double kFiberWidth = 0.652383013252053;    // fiber PSF: g per FWHM, g = fwhm / (2 sqrt(2^(2/3) - 1))

void appendf(std::string& log, const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0) log.append(buf, (size_t)std::min(n, (int)sizeof buf - 1));
}

// C's casts from double as gcc compiles them on x86-64: to unsigned short
// through a 32-bit signed conversion, to unsigned int through a 64-bit one;
// out-of-range values and NaN convert to the "indefinite" integer (low bits 0).
uint16_t as_c_ushort(double v) {
    int32_t i = (v > -2147483649.0 && v < 2147483648.0) ? (int32_t)v : INT32_MIN;
    return (uint16_t)i;
}
uint32_t as_c_uint(double v) {
    int64_t i = (v > -9223372036854775808.0 && v < 9223372036854775808.0) ? (int64_t)v : INT64_MIN;
    return (uint32_t)i;
}

// 1 + ceil(x) as C's int, for a radius that is then capped at `cap`: values
// C could not represent (NaN: a pixel of under 0.01 photons under a Gaussian
// PSF) become the smallest radius, 1.
int radius_of(double x, int cap) {
    if (std::isnan(x)) return 1;
    double r = 1 + std::ceil(x);
    if (r > (double)cap) return cap + 1;  // above the cap: capped by the caller
    return (int)r;
}

// Integral of the unit-volume, unit-FWHM 2D Gaussian from the origin to (x, y).
double gauss_integral(double x, double y) {
    return 0.125 * (std::erf(2 * x * std::sqrt(std::log(2.0))) * std::erf(y * std::sqrt(std::log(16.0))) *
                    std::sqrt(std::log(16.0) / std::log(2.0)));
}

// Integral of the fiber PSF g / (2 pi (g^2 + r^2)^(3/2)) from the origin to (x, y).
double fiber_integral(double x, double y, double g) {
    return std::atan((x * y) / (g * std::sqrt(g * g + x * x + y * y))) / 2.0 / M_PI;
}

}  // namespace

double gauss_psf_pixel(double dx, double dy, double fwhm_pixels) {
    const double x = dx / fwhm_pixels, y = dy / fwhm_pixels, half = (1.0 / fwhm_pixels) / 2.;
    return gauss_integral(x + half, y + half) - gauss_integral(x + half, y - half) -
           gauss_integral(x - half, y + half) + gauss_integral(x - half, y - half);
}

double fiber_psf_pixel(double dx, double dy, double g) {
    const double half = 1.0 / 2.;
    return fiber_integral(dx + half, dy + half, g) - fiber_integral(dx + half, dy - half, g) -
           fiber_integral(dx - half, dy + half, g) + fiber_integral(dx - half, dy - half, g);
}

namespace {

// C's loop: source pixels in memory order, dx outer, dy inner; each
// contribution rounded to float as it is added.
void spread_c_order(const std::vector<float>& in, const std::vector<int>& radius_at, const std::vector<double>& kernel,
                    int kr, int xpixels, int ypixels, std::vector<float>& out) {
    const long long pixels = (long long)xpixels * ypixels;
    const int ks = 2 * kr + 1;
    for (long long i = 0; i < pixels; ++i) {
        const int r = radius_at[(size_t)i];
        if (r == 0) continue;
        const float v = in[(size_t)i];
        const int x0 = (int)(i % xpixels), y0 = (int)(i / xpixels);
        for (int dx = -r; dx <= r; ++dx) {
            const int x = x0 + dx;
            if (x < 0 || x > xpixels) continue;
            for (int dy = -r; dy <= r; ++dy) {
                const double k = kernel[(size_t)ks * (kr + dy) + kr + dx];
                if (k == 0.0) continue;
                if ((double)(dx * dx + dy * dy) > (double)r * r) continue;
                const int y = y0 + dy;
                if (y < 0 || y > ypixels) continue;
                const long long j = (long long)y * xpixels + x;
                if (j > pixels) continue;
                out[(size_t)j] = (float)((double)out[(size_t)j] + (double)v * k);
            }
        }
    }
}

// The largest d >= 0 with d^2 + dy^2 <= r^2 (-1: none).
int half_width(int r, int dy) {
    const long long room = (long long)r * r - (long long)dy * dy;
    if (room < 0) return -1;
    long long d = (long long)std::sqrt((double)room);
    while (d * d > room) --d;
    while ((d + 1) * (d + 1) <= room) ++d;
    return (int)d;
}

// The same sums, each output pixel receiving the same contributions in the
// same order (source pixels in memory order), so the same bytes; but output
// rows are split into bands run in parallel, and a band's rows are filled
// along x (contiguous in the kernel and the image). Within one source pixel
// the only output that receives two contributions is column 0 of a row,
// from dx = -x0 and, wrapped from column x == xpixels of the row above,
// from dx = xpixels - x0: C adds the first first (dx outer), and so do we,
// the wrapped ones after the rest of that pixel's spot. A kernel value of
// exactly 0 adds nothing either way.
void spread_by_rows(const std::vector<float>& in, const std::vector<int>& radius_at, const std::vector<double>& kernel,
                    int kr, int xpixels, int ypixels, std::vector<float>& out) {
    const int ks = 2 * kr + 1;
    const int band = 8;
    const int bands = (ypixels + band - 1) / band;
#pragma omp parallel for schedule(dynamic, 1)
    for (int b = 0; b < bands; ++b) {
        const int t0 = b * band, t1 = std::min(ypixels, t0 + band);  // output rows [t0, t1)
        const int s0 = std::max(0, t0 - kr - 1), s1 = std::min(ypixels - 1, t1 - 1 + kr);
        for (int y0 = s0; y0 <= s1; ++y0) {
            for (int x0 = 0; x0 < xpixels; ++x0) {
                const size_t i = (size_t)y0 * xpixels + x0;
                const int r = radius_at[i];
                if (r == 0) continue;
                const double v = in[i];
                for (int t = std::max(t0, y0 - r); t <= std::min(t1 - 1, y0 + r); ++t) {
                    const int dy = t - y0, hw = half_width(r, dy);
                    const int lo = std::max(-hw, -x0), hi = std::min(hw, xpixels - 1 - x0);
                    const double* krow = kernel.data() + (size_t)ks * (kr + dy) + kr;
                    float* orow = out.data() + (size_t)t * xpixels + x0;
                    for (int dx = lo; dx <= hi; ++dx) orow[dx] = (float)((double)orow[dx] + v * krow[dx]);
                }
                const int dxw = xpixels - x0;  // column x == xpixels: column 0 of the next row
                if (dxw > r) continue;
                for (int t = std::max({t0, y0 - r + 1, 1}); t <= std::min(t1 - 1, y0 + r + 1); ++t) {  // y = t - 1 >= 0
                    const int dy = t - 1 - y0;
                    if ((long long)dxw * dxw + (long long)dy * dy > (long long)r * r) continue;
                    float& o = out[(size_t)t * xpixels];
                    o = (float)((double)o + v * kernel[(size_t)ks * (kr + dy) + kr + dxw]);
                }
            }
        }
    }
}

}  // namespace

namespace {

// C's radii: the kernel's, from the brightest pixel (or the user's), and
// each pixel's own, from its photons.
struct PsfRadii {
    PsfType type;
    double fwhm_pixels, g;
    int user_radius, maxwidth;

    // the kernel's radius from the user's or the automatic one: at least 1,
    // at most the detector's width
    int kernel(int radius) const { return std::min(std::max(radius, 1), maxwidth); }
    // the kernel's automatic radius as C computes and prints it (0 possible)
    int automatic(double max_I) const {
        const double lost = std::sqrt(max_I) / kLostPhotonFactor;
        double r = 0;
        if (type == PsfType::Gauss) r = std::sqrt(-std::log(lost / max_I) / std::log(4) / 2) * fwhm_pixels;
        if (type == PsfType::Fiber) r = g * (max_I / lost);
        return radius_of(r, INT_MAX - 1);
    }
    int of_pixel(float v) const {
        int r = user_radius;
        if (user_radius == 0) {
            const double lost = std::sqrt((double)v) / kLostPhotonFactor;
            double rr = 0;
            if (type == PsfType::Gauss) rr = std::sqrt(-std::log(lost / v) / std::log(16)) * fwhm_pixels;
            if (type == PsfType::Fiber) rr = g * (v / lost);
            r = radius_of(rr, maxwidth);
        }
        if (r == 0) r = 1;
        if (r > maxwidth) r = maxwidth;
        return r;
    }
    // C's photons beyond a radius, returned to the whole image
    double lost_beyond(double v, int r) const {
        if (type == PsfType::Gauss) {
            double rsq = r;
            rsq = rsq / fwhm_pixels;
            rsq = rsq * rsq;
            return v * std::exp(-std::log(16) * rsq);
        }
        return v * g / std::sqrt(g * g + (double)(r * r));
    }
};

PsfRadii psf_radii(int xpixels, int ypixels, PsfType type, double fwhm_pixels, int user_radius) {
    return PsfRadii{type, fwhm_pixels, fwhm_pixels * kFiberWidth, user_radius, std::max(xpixels, ypixels)};
}

double brightest(const std::vector<float>& in) {
    double max_I = 0.0;
#pragma omp parallel for reduction(max : max_I) schedule(static)
    for (long long i = 0; i < (long long)in.size(); ++i)
        if (max_I < in[(size_t)i]) max_I = in[(size_t)i];
    return max_I;
}

// One pass over the image in blocks: each block's photons beyond the
// kernel's radius kr (C's tail formula at kr, the FFT's lost photons; when
// `block_lost` is given), and, for `loop` Auto, whether spreading each pixel
// within its own radius costs more than the FFT. The cost is an integer sum
// counted only until it passes the FFT's: the choice is the same, and a
// bright image needs a few blocks.
bool fft_cheaper_by_scan(const std::vector<float>& in, int xpixels, int ypixels, const PsfRadii& radii, int kr,
                         PsfLoop loop, std::vector<double>* block_lost) {
    const long long pixels = (long long)in.size();
    // lost_beyond(v, kr) with its constant part taken once (the same operations)
    const double tail_den = std::sqrt(radii.g * radii.g + (double)(kr * kr));
    const double tail_gauss = radii.lost_beyond(1.0, kr);
    const bool gauss = radii.type == PsfType::Gauss;
    const double fft_cost = 4 * fft_convolution_cost(xpixels, ypixels, kr);
    std::atomic<bool> fft_cheaper{loop == PsfLoop::Fft};
    double direct_cost = 0;
    const long long block = 1 << 16, blocks = (pixels + block - 1) / block;
    if (block_lost) block_lost->assign((size_t)blocks, 0.0);
#pragma omp parallel for reduction(+ : direct_cost) schedule(dynamic, 4)
    for (long long b = 0; b < blocks; ++b) {
        const long long i0 = b * block, i1 = std::min(pixels, (b + 1) * block);
        if (block_lost) {
            double lost = 0;
            for (long long i = i0; i < i1; ++i) {
                const float v = in[(size_t)i];
                if (v > 0.0f) lost += gauss ? v * tail_gauss : v * radii.g / tail_den;
            }
            (*block_lost)[(size_t)b] = lost;
        }
        if (loop != PsfLoop::Auto || fft_cheaper.load(std::memory_order_relaxed)) continue;
        for (long long i = i0; i < i1; ++i) {
            const float v = in[(size_t)i];
            if (!(v > 0.0f)) continue;
            const int r = std::min(radii.of_pixel(v), kr);  // a pixel never reaches past the kernel
            direct_cost += (2.0 * r + 1) * (2.0 * r + 1);
        }
        if (direct_cost > fft_cost) fft_cheaper.store(true, std::memory_order_relaxed);  // this thread's part alone
    }
    return fft_cheaper.load() || (loop == PsfLoop::Auto && direct_cost > fft_cost);
}

}  // namespace

bool psf_prefers_fft(const std::vector<float>& in, int xpixels, int ypixels, PsfType type, double fwhm_pixels,
                     int user_radius) {
    if (type == PsfType::None || in.empty() || !(fwhm_pixels > 0.0)) return false;
    const PsfRadii radii = psf_radii(xpixels, ypixels, type, fwhm_pixels, user_radius);
    int radius = user_radius;
    if (radius <= 0) {
        const double max_I = brightest(in);
        if (max_I <= 0.0) return false;
        radius = radii.automatic(max_I);
    }
    const int kr = radii.kernel(radius);
    return fft_cheaper_by_scan(in, xpixels, ypixels, radii, kr, PsfLoop::Auto, nullptr);
}

PsfResult apply_psf(std::vector<float> in, int xpixels, int ypixels, PsfType type, double fwhm_pixels, int user_radius,
                    std::string& log, PsfLoop loop) {
    StageTimer timer("detector: PSF");
    PsfResult res;
    const long long pixels = (long long)xpixels * ypixels;
    if (type == PsfType::None || pixels == 0) {
        res.image = std::move(in);
        return res;
    }
    if (fwhm_pixels <= 0.0) {
        appendf(log, "WARNING: apply_psf function has zero size\n");
        res.image = std::move(in);
        return res;
    }
    const PsfRadii radii = psf_radii(xpixels, ypixels, type, fwhm_pixels, user_radius);

    int radius = user_radius;
    if (radius <= 0) {
        const double max_I = brightest(in);
        appendf(log, "  maximum input photon/pixel: %g\n", max_I);
        if (max_I <= 0.0) {
            appendf(log, "WARNING: no photons, PSF skipped\n");
            res.image.assign((size_t)pixels, 0.0f);  // as C: an empty image, nothing added back
            return res;
        }
        radius = radii.automatic(max_I);
        appendf(log, "  auto-selected psf_radius = %d pixels\n", radius);
        res.auto_radius = radius;
    }
    const int kr = radii.kernel(radius);
    const int ks = 2 * kr + 1;
    std::vector<double> block_lost;
    const bool by_fft = fft_cheaper_by_scan(in, xpixels, ypixels, radii, kr, loop, &block_lost);

    // The kernel, pixel-integrated, within a disc of the radius.
    auto kernel_at = [&](int dx, int dy) {
        return type == PsfType::Gauss ? gauss_psf_pixel(dx, dy, fwhm_pixels) : fiber_psf_pixel(dx, dy, radii.g);
    };
    // The lost photons spread evenly over the convolved image, as C does.
    auto add_back = [&](std::vector<float> out, double total_lost) {
        const double per_pixel = total_lost / (double)pixels;
        appendf(log, "adding back %g lost photons\n", total_lost);
#pragma omp parallel for schedule(static)
        for (long long i = 0; i < pixels; ++i) out[(size_t)i] = (float)((double)out[(size_t)i] + per_pixel);
        res.image = std::move(out);
        res.lost_photons = total_lost;
    };

    if (by_fft) {
        // The FFT's kernel as its quadrant dx, dy >= 0, each value computed
        // once for itself and its mirror across the diagonal (the kernel is
        // symmetric; its float transform is far coarser than the last bits
        // that reflection changes).
        std::vector<double> quadrant;
        allocate_zeroed(quadrant, (size_t)(kr + 1) * (kr + 1));
        StageTimer tk("detector: PSF kernel");
#pragma omp parallel for schedule(dynamic, 8)
        for (int dy = 0; dy <= kr; ++dy) {
            for (int dx = dy; dx <= kr; ++dx) {
                if ((double)(dx * dx + dy * dy) > (double)kr * kr) break;
                quadrant[(size_t)(kr + 1) * dy + dx] = quadrant[(size_t)(kr + 1) * dx + dy] = kernel_at(dx, dy);
            }
        }
        tk.stop();
        appendf(log, "  PSF convolved by FFT (radius %d pixels for every pixel)\n", kr);
        double total_lost = 0.0;
        for (double bl : block_lost) total_lost += bl;
        std::vector<float> out = std::move(in);
        convolve_fft_even_in_place(out, xpixels, ypixels, quadrant, kr, FftPrecision::Single);  // see psf_fft.hpp
        add_back(std::move(out), total_lost);
        return res;
    }

    // Direct spreading, C's own loop, takes every element as C computes it.
    std::vector<double> kernel;
    allocate_zeroed(kernel, (size_t)ks * ks);
    StageTimer tk("detector: PSF kernel");
#pragma omp parallel for schedule(dynamic, 8)
    for (int dy = -kr; dy <= kr; ++dy) {
        for (int dx = -kr; dx <= kr; ++dx) {
            if ((double)(dx * dx + dy * dy) > (double)kr * kr) continue;
            kernel[(size_t)ks * (kr + dy) + kr + dx] = kernel_at(dx, dy);
        }
    }
    tk.stop();

    // C's sum of the photons beyond each pixel's own radius, in C's order
    std::vector<int> radius_at;
    allocate_zeroed(radius_at, (size_t)pixels);
    double total_lost = 0.0;
    for (long long i = 0; i < pixels; ++i) {
        const float v = in[(size_t)i];
        if (v <= 0.0f) continue;
        const int r = radii.of_pixel(v);
        total_lost += radii.lost_beyond(v, r);
        radius_at[(size_t)i] = std::min(r, kr);
    }

    // One slot past the image: C's bounds let a spot's far edge land on index
    // `pixels` (then lost), and a column x == xpixels wraps to the next row.
    std::vector<float> out;
    allocate_zeroed(out, (size_t)pixels + 1);
    if (loop == PsfLoop::COrder)
        spread_c_order(in, radius_at, kernel, kr, xpixels, ypixels, out);
    else
        spread_by_rows(in, radius_at, kernel, kr, xpixels, ypixels, out);
    out.resize((size_t)pixels);
    add_back(std::move(out), total_lost);
    return res;
}

DetectorImages detector_response(DetectorResponse& p, const float* input) {
    StageTimer timer("detector model");
    DetectorImages out;
    const size_t n = (size_t)p.xpixels * p.ypixels;
    if (!p.noise) p.calibration_noise = p.readout_noise = p.flicker_noise = 0.0;

    // photons per pixel
    StageTimer tph("detector: photons");
    allocate_zeroed(out.photons, n);
    const double to_photons = (p.fluence * kThomsonSq) * p.photon_scale;
    double max_input = 0;
#pragma omp parallel for reduction(max : max_input) schedule(static)
    for (long long i = 0; i < (long long)n; ++i) {
        const double I = input[(size_t)i];
        if (max_input < I) max_input = I;
        out.photons[(size_t)i] = (float)(to_photons * I);
    }
    out.max_input = max_input;
    tph.stop();
    appendf(out.noiseless_log, "maximum value in input file: %g ( %g on photon scale)\n", out.max_input,
            out.max_input * p.photon_scale * p.fluence * kThomsonSq);

    const bool psf = p.psf != PsfType::None && p.psf_fwhm > 0.0f;
    const double fwhm_pixels = (double)p.psf_fwhm / p.pixel_size;
    if (!p.noise && psf) {
        appendf(out.noiseless_log, "  applying PSF to noiseless image width = %g pixels\n", fwhm_pixels);
        PsfResult r = apply_psf(std::move(out.photons), p.xpixels, p.ypixels, p.psf, fwhm_pixels, p.psf_radius,
                                out.noiseless_log, p.exact ? PsfLoop::Rows : PsfLoop::Auto);
        out.photons = std::move(r.image);
        out.auto_psf_radius = r.auto_radius;
        out.lost_photons = r.lost_photons;
    }

    // the noiseless image clipped at 65535 in both widths (as C): 16 bits
    // always (the PGM preview is made from it), 32 when that is the file's
    if (!p.noise_only) {
        const bool wide = p.bits == 32;
        allocate_zeroed(out.noiseless.int16, n);
        if (wide) allocate_zeroed(out.noiseless.int32, n);
#pragma omp parallel for schedule(static)
        for (long long i = 0; i < (long long)n; ++i) {
            double adu = out.photons[(size_t)i] * p.quantum_gain + p.adc_offset;
            if (adu > 2147483647.0) adu = 2147483647.0;
            if (adu > 65535.0) adu = 65535.0;
            if (wide) out.noiseless.int32[(size_t)i] = as_c_uint(adu);
            out.noiseless.int16[(size_t)i] = as_c_ushort(adu);
        }
    }
    if (!p.noise) return out;

    // Where the PSF goes by FFT, the images are not C's bytes whatever the
    // draws (docs/noisify.md): the default mode then draws per pixel, in
    // parallel, as nanoBragg's does, instead of C's serial sequence (on a
    // realistic 512x512 image with a fiber PSF, 50 ms of one core). The FFT
    // is decided before the draws, from the noiseless photons.
    PsfLoop psf_loop = p.exact ? PsfLoop::Rows : PsfLoop::Auto;
    bool pixel_streams = p.pixel_streams;
    if (psf && !p.exact && !pixel_streams &&
        psf_prefers_fft(out.photons, p.xpixels, p.ypixels, p.psf, fwhm_pixels, p.psf_radius)) {
        pixel_streams = true;
        psf_loop = PsfLoop::Fft;
        appendf(out.noise_log, "  noise drawn per pixel (the PSF goes by FFT; -exact draws C's sequence)\n");
    }

    // One generator for both seeds, as C's static ran1 table and Gaussian spare
    // value are shared: the calibration draws interleave with the noise draws.
    StageTimer tn("detector: photon noise");
    Ran1 ran;
    Deviates dev(ran);
    // the counts replace the photons in their buffer where nothing reads the
    // photons afterwards (the noise image alone)
    std::vector<float> counts;
    if (p.noise_only)
        counts = std::move(out.photons);
    else
        allocate_zeroed(counts, n);
    const std::vector<float>& photons = p.noise_only ? counts : out.photons;
    double sum = 0.0;
    // pixel streams: the pixel's own draws (engine/pixel_random.hpp), rows of
    // the image in parallel, sums added in block order
    const long long blocks = ((long long)n + 4095) / 4096;
    std::vector<double> block_sum(pixel_streams ? (size_t)blocks : 0, 0.0);
    if (pixel_streams) {
        const PixelKey photon_key(p.seed), flicker_key(p.seed, 1), calibration_key(p.calib_seed, 2);
#pragma omp parallel for schedule(dynamic, 8)
        for (long long b = 0; b < blocks; ++b) {
            double bs = 0;
            for (size_t i = (size_t)b * 4096; i < std::min(n, (size_t)(b + 1) * 4096); ++i) {
                double photons0 = photons[i];
                // the calibration error is the pixel's, from its own seed: the same in every frame
                if (p.flicker_noise > 0.0) photons0 *= 1.0 + p.flicker_noise * PixelStream(flicker_key, i).gauss();
                if (p.calibration_noise > 0.0)
                    photons0 *= 1.0 + p.calibration_noise * PixelStream(calibration_key, i).gauss();
                counts[i] = (float)PixelStream(photon_key, i).poisson((float)photons0);
                bs += counts[i];
            }
            block_sum[(size_t)b] = bs;
        }
        for (double bs : block_sum) sum += bs;
    }
    for (size_t i = 0; i < n && !pixel_streams; ++i) {
        double photons0 = photons[i];
        if (p.flicker_noise > 0.0) photons0 *= (1.0 + p.flicker_noise * dev.gauss(p.seed));
        if (p.calibration_noise > 0.0) photons0 *= (1.0 + p.calibration_noise * dev.gauss(p.calib_seed));
        counts[i] = dev.poisson((float)photons0, p.seed);
        sum += counts[i];
    }
    tn.stop();
    out.photons_before_psf = sum;
    if (psf) {
        appendf(out.noise_log, "%.0f photons on noise image before PSF\n", sum);
        appendf(out.noise_log, "  applying PSF width = %g um\n", (double)p.psf_fwhm * 1e6);
        PsfResult r = apply_psf(std::move(counts), p.xpixels, p.ypixels, p.psf, fwhm_pixels, p.psf_radius,
                                out.noise_log, psf_loop);
        counts = std::move(r.image);
        out.auto_psf_radius = r.auto_radius;
        out.lost_photons = r.lost_photons;
    }

    StageTimer tadu("detector: ADU");
    const bool want32 = p.bits == 32, want16 = p.bits == 16;  // the file's width only
    if (want16) allocate_zeroed(out.noisy.int16, n);
    if (want32) allocate_zeroed(out.noisy.int32, n);
    // counts to ADU: gain, offset, read-out noise, clipping to the chosen width
    auto to_adu = [&](size_t i, double readout, int& overloads) {
        double adu = counts[i] * p.quantum_gain + p.adc_offset;
        if (p.readout_noise > 0.0) adu += p.readout_noise * readout;
        if (adu > 2147483647.0) {
            adu = 2147483647.0;
            if (p.bits == 32) ++overloads;
        }
        if (want32) out.noisy.int32[i] = as_c_uint(adu);
        if (adu > 65535.0) {
            adu = 65535.0;
            if (p.bits == 16) ++overloads;
        }
        if (want16) out.noisy.int16[i] = as_c_ushort(adu);
    };
    sum = 0.0;
    int overloads = 0;
    if (pixel_streams) {
        // blocks in parallel, their sums added in block order
        std::vector<double> block_photons((size_t)blocks, 0.0);
        std::vector<int> block_overloads((size_t)blocks, 0);
        const PixelKey readout_key(p.seed, 3);
#pragma omp parallel for schedule(dynamic, 8)
        for (long long b = 0; b < blocks; ++b) {
            double bs = 0;
            for (size_t i = (size_t)b * 4096; i < std::min(n, (size_t)(b + 1) * 4096); ++i) {
                bs += counts[i];
                to_adu(i, p.readout_noise > 0.0 ? PixelStream(readout_key, (uint64_t)i).gauss() : 0.0,
                       block_overloads[(size_t)b]);
            }
            block_photons[(size_t)b] = bs;
        }
        for (long long b = 0; b < blocks; ++b) {
            sum += block_photons[(size_t)b];
            overloads += block_overloads[(size_t)b];
        }
    } else {
        for (size_t i = 0; i < n; ++i) {
            sum += counts[i];
            to_adu(i, p.readout_noise > 0.0 ? dev.gauss(p.seed) : 0.0, overloads);
        }
    }
    out.noise_photons = sum;
    out.overloads = overloads;
    appendf(out.noise_log, "%.0f photons on noise image (%d overloads)\n", sum, overloads);
    return out;
}

std::string noisify_smv_header(const NoisifyHeader& h, bool c_bytes) {
    char buf[1024];
    int n = std::snprintf(buf, sizeof buf,
                          "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=%s;\n"
                          "SIZE1=%d;\nSIZE2=%d;\nPIXEL_SIZE=%g;\nDISTANCE=%g;\n"
                          "WAVELENGTH=%g;\nBEAM_CENTER_X=%g;\nBEAM_CENTER_Y=%g;\n"
                          "PHI=%g;\nOSC_START=%g;\nOSC_RANGE=%g;\n"
                          "DETECTOR_SN=000;\nBEAMLINE=fake;\n}\f",
                          h.bits == 32 ? "long_integer" : "unsigned_short", h.xpixels, h.ypixels, h.pixel_size * 1000.0,
                          h.distance * 1000.0, h.lambda, h.Xbeam * 1000.0, (h.detsize_y - h.Ybeam) * 1000, h.phi, h.phi,
                          h.osc);
    return smv_header_block(std::string(buf, (size_t)std::max(n, 0)), c_bytes);
}

}  // namespace nb
