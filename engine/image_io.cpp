#include "engine/image_io.hpp"

#include <omp.h>

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <future>
#include <stdexcept>

#include "engine/detector_response.hpp"
#include "engine/pixel_random.hpp"
#include "engine/smv_io.hpp"
#include "engine/units.hpp"
#include "engine/vector_clones.hpp"
#include "engine/zeroed_buffer.hpp"

namespace nb {

std::string smv_header(const Experiment& e) {
    const DetectorGeometry& d = e.det;
    const Sampling& s = e.samp;
    char buf[2048];
    int n = std::snprintf(buf, sizeof buf,
                          "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\n"
                          "SIZE1=%d;\nSIZE2=%d;\nPIXEL_SIZE=%g;\nDISTANCE=%g;\n"
                          "WAVELENGTH=%g;\n"
                          "BEAM_CENTER_X=%g;\nBEAM_CENTER_Y=%g;\n"
                          "ADXV_CENTER_X=%g;\nADXV_CENTER_Y=%g;\n"
                          "MOSFLM_CENTER_X=%g;\nMOSFLM_CENTER_Y=%g;\n"
                          "DENZO_X_BEAM=%g;\nDENZO_Y_BEAM=%g;\n"
                          "DIALS_ORIGIN=%g,%g,%g\n"
                          "XDS_ORGX=%g;\nXDS_ORGY=%g;\n"
                          "CLOSE_DISTANCE=%g;\n"
                          "PHI=%g;\nOSC_START=%g;\nOSC_RANGE=%g;\n"
                          "TWOTHETA=%g;\n"
                          "DETECTOR_SN=000;\n"
                          "BEAMLINE=fake;\n"
                          "}\f",
                          d.fpixels, d.spixels, d.pixel_size * 1000.0, d.distance * 1000.0, e.cfg.lambda0 * 1e10,
                          d.Xbeam * 1000.0, d.Ybeam * 1000, d.Fbeam * 1000.0, (d.detsize_s - d.Sbeam) * 1000,
                          (d.Sbeam - 0.5 * d.pixel_size) * 1000.0, (d.Fbeam - 0.5 * d.pixel_size) * 1000,
                          (d.Sbeam - 0.0 * d.pixel_size) * 1000.0, (d.Fbeam - 0.0 * d.pixel_size) * 1000,
                          d.dials_origin.x, d.dials_origin.y, d.dials_origin.z, d.ORGX, d.ORGY,
                          d.close_distance * 1000.0, s.phi0 * RTD, s.phi0 * RTD, s.osc * RTD, d.twotheta * RTD);
    return smv_header_block(std::string(buf, (size_t)std::max(n, 0)), e.cfg.exact);
}

namespace {
bool in_roi(const Sampling& s, int f, int sp) {
    return !(f < s.roi_xmin || f > s.roi_xmax || sp < s.roi_ymin || sp > s.roi_ymax);
}
}  // namespace

double auto_int_scale(double scale, double max_I) {
    if (scale <= 0.0) {
        scale = 1.0;
        if (max_I > 0.0) scale = 55000.0 / max_I;
    }
    return scale;
}

namespace {

// C's SMV pixel: pixel*scale + adc rounded through floorf, clipped to 0..65535.
inline uint16_t smv_int_pixel(float v, double scale, double adc) {
    double t = v * scale + adc;
    if (t > 65535.0) t = 65535.0;
    if (!(t >= 0.0)) t = 0.0;  // NaN too: converting it is undefined (C on x86 writes 0)
    // C rounds through floorf: the sum is narrowed to float first. It is
    // positive here, so truncating is floorf (and vectorizes).
    return (uint16_t)(int)(float)(t + 0.5);
}

// C's PGM pixel: pixel*scale cast to a byte, 255 at most.
inline unsigned char pgm_pixel(float v, double scale) {
    double t = v * scale;
    if (t > 255.0) t = 255.0;
    if (!(t > INT_MIN)) t = 0;  // NaN, -inf, beyond int: undefined to convert (C on x86 gives 0)
    // C converts with a plain cast; negative values wrap the same way here.
    return (unsigned char)(int)t;
}

NB_VECTOR_CLONES void smv_int_pixels(const float* in, uint16_t* out, int n, double scale, double adc) {
    for (int i = 0; i < n; ++i) out[i] = smv_int_pixel(in[i], scale, adc);
}

NB_VECTOR_CLONES void pgm_pixels(const float* in, unsigned char* out, int n, double scale) {
    for (int i = 0; i < n; ++i) out[i] = pgm_pixel(in[i], scale);
}

struct SmvIntPixels {
    double scale, adc;
    void operator()(const float* in, uint16_t* out, int n) const { smv_int_pixels(in, out, n, scale, adc); }
};

struct PgmPixels {
    double scale;
    void operator()(const float* in, unsigned char* out, int n) const { pgm_pixels(in, out, n, scale); }
};

// Rows [r0, r0 + n) of the ROI's pixels converted by `convert` (a run of
// pixels at a time) into `dst`, 0 outside the ROI: the conversion is per
// pixel, so the bytes do not depend on how rows are shared among threads.
template <typename P, typename Convert>
void convert_rows(const Experiment& e, const float* image, int r0, int n, P* dst, Convert convert) {
    const int fp = e.det.fpixels;
    const int f_lo = std::max(e.samp.roi_xmin, 0), f_hi = std::min(e.samp.roi_xmax, fp - 1);
    for (int r = 0; r < n; ++r) {
        const int s = r0 + r;
        P* row = dst + (size_t)r * fp;
        const float* in = image + (size_t)s * fp;
        const bool roi_row = s >= e.samp.roi_ymin && s <= e.samp.roi_ymax && f_hi >= f_lo;
        if (!roi_row || f_lo > 0 || f_hi < fp - 1) std::fill(row, row + fp, P(0));
        if (roi_row) convert(in + f_lo, row + f_lo, f_hi - f_lo + 1);
    }
}

std::string pgm_header(const Experiment& e, double pgm_scale) {
    char head[256];
    int n = std::snprintf(head, sizeof head, "P5\n%d %d\n# pixels scaled by %g\n255\n", e.det.fpixels, e.det.spixels,
                          pgm_scale);
    return std::string(head, (size_t)std::max(n, 0));
}

template <typename P, typename Convert>
RowFile converted_rows(const Experiment& e, const std::vector<float>& image, int first_row, std::string header,
                       Convert convert) {
    RowFile r;
    r.header = std::move(header);
    r.rows = e.det.spixels;
    r.row_bytes = (size_t)e.det.fpixels * sizeof(P);
    r.rows_at = [&e, &image, first_row, convert](int r0, int n, void* scratch) -> const void* {
        convert_rows(e, image.data() + (size_t)first_row * e.det.fpixels, r0, n, static_cast<P*>(scratch), convert);
        return scratch;
    };
    return r;
}

}  // namespace

RowFile smv_int_rows(const Experiment& e, const std::vector<float>& image, double scale, int first_row) {
    return converted_rows<uint16_t>(e, image, first_row, smv_header(e), SmvIntPixels{scale, e.cfg.adc_offset});
}

namespace {

// The noise image through C noisify's detector model (-psf, -readout,
// -calibration, -flicker, -gain): the image taken as photons per pixel, the
// draws from a fresh generator seeded as noisify seeds it, so that the counts
// equal noisify's on the same float image (docs/realistic.md).
NoiseImage detector_model_noise(const Experiment& e, const std::vector<float>& image, int64_t seed) {
    const DetectorModel& m = e.cfg.detector_model;
    const long long none = (long long)image.size();
    long long first_bad = none;  // the first non-finite pixel, found in parallel
#pragma omp parallel for reduction(min : first_bad) schedule(static)
    for (long long i = 0; i < none; ++i)
        if (!std::isfinite(image[(size_t)i])) first_bad = std::min(first_bad, i);
    if (first_bad != none)
        throw std::runtime_error("-psf/-readout/-calibration: pixel " + std::to_string(first_bad % e.det.fpixels) +
                                 " " + std::to_string(first_bad / e.det.fpixels) +
                                 " is not finite; the detector model needs finite photons");
    DetectorResponse r;
    r.xpixels = e.det.fpixels;
    r.ypixels = e.det.spixels;
    r.pixel_size = e.det.pixel_size;
    r.flicker_noise = m.flicker;
    r.calibration_noise = m.calibration;
    r.readout_noise = m.readout;
    r.quantum_gain = m.gain;
    r.adc_offset = e.cfg.adc_offset;
    r.psf = m.psf == 1 ? PsfType::Gauss : m.psf == 2 ? PsfType::Fiber : PsfType::None;
    r.psf_fwhm = (float)m.psf_fwhm;
    r.psf_radius = m.psf_radius;
    r.seed = seed;
    r.calib_seed = m.calib_seed;
    r.exact = e.cfg.exact;
    r.pixel_streams = !e.cfg.exact;
    r.noise_only = true;
    DetectorImages d = detector_response(r, image);
    NoiseImage out;
    out.pixels = std::move(d.noisy.int16);
    out.photons = d.noise_photons;
    out.overloads = d.overloads;
    out.log = d.noise_log;
    return out;
}

}  // namespace

namespace {

// photons + adc as C's SMV holds it: a NaN pixel (or inf - inf in the Gaussian
// branch) counts no photons and reads 0, as C's conversion gives on x86; +inf
// is an overload
inline uint16_t noise_adu(float mean, double t, double adc, double& photons, int& overloads) {
    if (std::isinf(mean) && mean > 0) t = HUGE_VAL;
    if (std::isnan(t)) t = 0;
    if (std::isfinite(t)) photons += t;
    t += adc;
    if (t > 65535.0) {
        t = 65535.0;
        ++overloads;
    }
    return (uint16_t)t;
}

// C's own noise pixel, for C's order of draws (-exact, nonBragg): every draw
// summed (a +inf pixel's Gaussian draw is inf - inf, NaN, for about half of
// them: the count reads nan), and converted as C converts on x86: NaN and
// values beyond int read 0, others wrap to 16 bits.
inline uint16_t c_noise_adu(double t, double adc, double& photons, int& overloads) {
    photons += t;
    t += adc;
    if (t > 65535.0) {
        t = 65535.0;
        ++overloads;
    }
    if (!(t > (double)INT_MIN && t < 2147483648.0)) return 0;
    return (uint16_t)(int)t;
}

}  // namespace

bool NoiseRows::applies(const Experiment& e) {
    return !e.cfg.detector_model.enabled && !e.cfg.exact && !e.cfg.c_noise_order;
}

NoiseRows::NoiseRows(const Experiment& e, const std::vector<float>& image, int64_t seed)
    : e_(e),
      image_(image),
      key_(seed),
      row_photons_((size_t)e.det.spixels, 0.0),
      row_overloads_((size_t)e.det.spixels, 0) {}

namespace {

// The first pass over a row: every pixel gets `zero` (no photon), and
// need[i] says whether it draws after all, from its stream's first value
// (the Poisson draw's first test, t <= 1 - mean, in the same arithmetic).
// No branch, so that it vectorizes: a branch per pixel that the data decides
// took as long as the render.
NB_VECTOR_CLONES void settle_row(const float* in, PixelKey key, uint64_t first, int n, uint16_t zero, uint16_t* out,
                                 unsigned char* need) {
    for (int i = 0; i < n; ++i) {
        const double mean = in[i];
        const double u = PixelStream(key, first + (uint64_t)i).uniform();
        out[i] = zero;
        need[i] = (mean > 0.0) & !(u <= 1.0 - mean);
    }
}

}  // namespace

// Most pixels of a still draw no photon, settled by the first pass; the
// others draw in full.
void NoiseRows::fill(int r0, int n, uint16_t* dst) {
    const int fp = e_.det.fpixels;
    const int f_lo = std::max(e_.samp.roi_xmin, 0), f_hi = std::min(e_.samp.roi_xmax, fp - 1);
    const double adc = e_.cfg.adc_offset;
    const bool settle_zeros = adc >= 0.0 && adc <= 65535.0;  // no photon: the offset, no overload
    const uint16_t zero_adu = settle_zeros ? (uint16_t)adc : 0;
    const float* in = image_.data();
    thread_local std::vector<unsigned char> need;
    thread_local std::vector<int> drawn;
    if (need.size() < (size_t)fp) need.resize((size_t)fp), drawn.resize((size_t)fp);
    for (int r = 0; r < n; ++r) {
        const int s = r0 + r;
        uint16_t* out = dst + (size_t)r * fp;
        double photons = 0;
        int overloads = 0;
        const size_t row = (size_t)s * fp;
        const bool roi_row = s >= e_.samp.roi_ymin && s <= e_.samp.roi_ymax && f_hi >= f_lo;
        if (!roi_row || f_lo > 0 || f_hi < fp - 1) std::fill(out, out + fp, (uint16_t)0);
        if (roi_row) {
            const int m = f_hi - f_lo + 1;
            if (settle_zeros)
                settle_row(in + row + f_lo, key_, row + f_lo, m, zero_adu, out + f_lo, need.data());
            else
                std::fill(need.begin(), need.begin() + m, (unsigned char)1);
            // the drawing pixels listed without a branch, then drawn
            int k = 0;
            for (int i = 0; i < m; ++i) {
                drawn[(size_t)k] = i;
                k += need[(size_t)i];
            }
            for (int j = 0; j < k; ++j) {
                const int fi = f_lo + drawn[(size_t)j];
                const size_t at = row + fi;
                out[fi] = noise_adu(in[at], PixelStream(key_, at).poisson(in[at]), adc, photons, overloads);
            }
        }
        row_photons_[(size_t)s] = photons;
        row_overloads_[(size_t)s] = overloads;
    }
}

// the rows' sums added in row order: the same count for any thread count
double NoiseRows::photons() const {
    double sum = 0;
    for (double p : row_photons_) sum += p;
    return sum;
}

int NoiseRows::overloads() const {
    int sum = 0;
    for (int o : row_overloads_) sum += o;
    return sum;
}

NoiseImage make_noise_image(Experiment& e, const std::vector<float>& image, int64_t seed) {
    if (e.cfg.detector_model.enabled) return detector_model_noise(e, image, seed);
    NoiseImage out;
    const int fp = e.det.fpixels, spn = e.det.spixels;
    allocate_zeroed(out.pixels, (size_t)fp * spn);
    if (!NoiseRows::applies(e)) {
        // C's single generator, pixel after pixel
        Deviates dev(e.ran);
        for (int s = 0; s < spn; ++s) {
            for (int fi = 0; fi < fp; ++fi) {
                if (!in_roi(e.samp, fi, s)) continue;
                const size_t i = (size_t)s * fp + fi;
                const float mean = image[i];
                // draws as C, NaN and inf too
                out.pixels[i] = c_noise_adu(dev.poisson(mean, seed), e.cfg.adc_offset, out.photons, out.overloads);
            }
        }
        return out;
    }
    // The default mode: a stream per pixel (engine/pixel_random.hpp), blocks
    // of rows in parallel
    NoiseRows rows(e, image, seed);
    const int block = 16;
#pragma omp parallel for schedule(dynamic, 1)
    for (int s0 = 0; s0 < spn; s0 += block)
        rows.fill(s0, std::min(block, spn - s0), out.pixels.data() + (size_t)s0 * fp);
    out.photons = rows.photons();
    out.overloads = rows.overloads();
    return out;
}

double auto_pgm_scale(double pgm_scale, double intfile_scale, double rmsd) {
    if (pgm_scale <= 0.0) {
        pgm_scale = intfile_scale;
        if (rmsd > 0.0) pgm_scale = 250.0 / (5.0 * rmsd);
    }
    return pgm_scale;
}

RowFile pgm_rows(const Experiment& e, const std::vector<float>& image, double pgm_scale, int first_row) {
    return converted_rows<unsigned char>(e, image, first_row, pgm_header(e, pgm_scale), PgmPixels{pgm_scale});
}

RowFile float_rows(const Experiment& e, const std::vector<float>& image, int first_row) {
    RowFile r;
    r.rows = e.det.spixels;
    r.row_bytes = (size_t)e.det.fpixels * sizeof(float);
    r.rows_at = [&image, first_row, fp = e.det.fpixels](int r0, int, void*) -> const void* {
        return image.data() + (size_t)(first_row + r0) * fp;
    };
    return r;
}

RowFile smv_noise_rows(const Experiment& e, const NoiseImage& noise, int first_row) {
    RowFile r;
    r.header = smv_header(e);
    r.rows = e.det.spixels;
    r.row_bytes = (size_t)e.det.fpixels * sizeof(uint16_t);
    r.rows_at = [&noise, first_row, fp = e.det.fpixels](int r0, int, void*) -> const void* {
        return noise.pixels.data() + (size_t)(first_row + r0) * fp;
    };
    return r;
}

}  // namespace nb
