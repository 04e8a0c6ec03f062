// The detector model of C nanoBragg's companion program noisify, as an engine
// stage: a float image of photons per pixel becomes the noiseless integer
// image and the noise image (flicker, calibration error, Poisson photon noise,
// point-spread function, gain, ADC offset, read-out noise), with C's
// arithmetic and C's order of random draws, so that both images are
// byte-identical to C's for the same seeds (docs/noisify.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nb {

enum class PsfType { None, Gauss, Fiber };

struct DetectorResponse {
    int xpixels = 0, ypixels = 0;  // fast, slow
    double pixel_size = 0.1e-3;    // m (the PSF width is converted to pixels with it)

    // Photons per pixel = fluence * r_e^2 * photon_scale * input. C's default
    // fluence makes fluence * r_e^2 (almost exactly) 1.
    double fluence = 125932015286227086360700780544.0;  // photons/m^2
    double photon_scale = 1.0;

    bool noise = true;                // false: only the noiseless image (C's -nonoise)
    double flicker_noise = 0.0;       // fractional source noise per pixel
    double calibration_noise = 0.03;  // fractional static error per pixel (C's default 3%)
    double readout_noise = 0.0;       // Gaussian, ADU
    double quantum_gain = 1.0;        // ADU per photon
    double adc_offset = 40.0;         // ADU

    PsfType psf = PsfType::None;
    float psf_fwhm = 46e-6f;  // m; single precision as in C
    int psf_radius = 0;       // pixels; 0: from the brightest pixel

    int bits = 16;  // 16 or 32: which integer image is written

    // -exact: the PSF by C's direct spreading (C's bytes); otherwise by FFT
    // where that is faster (apply_psf, PsfLoop::Auto)
    bool exact = false;
    // draws per pixel, in parallel (engine/pixel_random.hpp), instead of C's one
    // generator in pixel order: nanoBragg's default mode (noisify keeps C's order)
    bool pixel_streams = false;
    // only the noise image in the chosen width (nanoBragg): no noiseless images
    bool noise_only = false;

    // C's seeds as C stores them (negated flag values); they are updated as
    // C's ran1 updates them.
    int64_t seed = -1;
    int64_t calib_seed = 123456789;
};

// An integer image in C's widths: the file's (bits), and for the noiseless
// image 16 bits always (the PGM preview's source).
struct IntImages {
    std::vector<uint16_t> int16;
    std::vector<uint32_t> int32;
};

struct DetectorImages {
    double max_input = 0;           // brightest input pixel (before any scale)
    std::vector<float> photons;     // noiseless photons per pixel (after the PSF under -nonoise);
                                    // empty for noise_only with noise (its buffer took the counts)
    IntImages noiseless;            // photons * gain + adc, clipped at 65535 in both widths, as C
    IntImages noisy;                // empty when !noise
    double photons_before_psf = 0;  // Poisson photons, summed before the PSF
    double noise_photons = 0;       // photons on the noise image (after the PSF and lost photons)
    int overloads = 0;              // pixels clipped in the chosen width
    int auto_psf_radius = -1;       // the radius auto-selected from the brightest pixel (-1: none)
    double lost_photons = -1;       // photons the PSF spread back over the image (-1: no PSF)
    std::string noiseless_log;      // C's lines up to the noiseless image
    std::string noise_log;          // C's lines of the noise stage
};

// Runs the stage on `input` (xpixels * ypixels values, fast-major; an image
// in memory or a mapped file). The
// caller checks sizes and finiteness; `p.seed` and `p.calib_seed` end as C's
// generator leaves them.
DetectorImages detector_response(DetectorResponse& p, const float* input);
inline DetectorImages detector_response(DetectorResponse& p, const std::vector<float>& input) {
    return detector_response(p, input.data());
}

// C's point-spread function by direct convolution (O(pixels x radius^2)):
// each pixel's photons spread over a kernel integrated over pixels, within a
// radius chosen per pixel from its own count, the photons beyond the radius
// spread evenly over the whole image. `log` receives C's lines.
struct PsfResult {
    std::vector<float> image;
    int auto_radius = -1;
    double lost_photons = 0;
};
// Rows (default): output rows in parallel bands, filled along x; COrder: C's
// own loop, serial. The same bytes either way, for any thread count.
// Fft: an FFT convolution (engine/psf_fft.hpp): every pixel spreads over the
// whole kernel radius (C truncates each pixel at a radius chosen from its own
// photons and spreads the rest evenly; with -psf_radius both are the same
// model), see docs/noisify.md. Auto: Rows or Fft, whichever costs less.
enum class PsfLoop { Rows, COrder, Fft, Auto };
// `in` by value: a caller that moves its image in lets the FFT path convolve
// in that buffer.
PsfResult apply_psf(std::vector<float> in, int xpixels, int ypixels, PsfType type, double fwhm_pixels, int user_radius,
                    std::string& log, PsfLoop loop = PsfLoop::Rows);

// Whether apply_psf's Auto would convolve `in` by FFT (the same radius and
// cost rules): noisify's default mode asks before its draws (photon noise per
// pixel where the PSF goes by FFT, C's sequence where it spreads directly).
bool psf_prefers_fft(const std::vector<float>& in, int xpixels, int ypixels, PsfType type, double fwhm_pixels,
                     int user_radius);

// The fraction of a unit PSF that falls on the pixel (dx, dy) pixels away from
// the centre of the spot (both kernels integrate to 1 over the plane).
double gauss_psf_pixel(double dx, double dy, double fwhm_pixels);
double fiber_psf_pixel(double dx, double dy, double g);

// C's noisify SMV header (512 bytes) for an image written without -header.
struct NoisifyHeader {
    int xpixels = 0, ypixels = 0, bits = 16;
    double pixel_size = 0, distance = 0;  // m
    double lambda = 1;                    // as given (A)
    double Xbeam = 0, Ybeam = 0;          // m, Ybeam from the top edge as C keeps it
    double detsize_y = 0;                 // m
    double phi = 0, osc = 1;              // deg
};
// As smv_header_block writes it (c_bytes: -exact).
std::string noisify_smv_header(const NoisifyHeader& h, bool c_bytes);

}  // namespace nb
