// The point-spread function by FFT convolution (FFTW 1D transforms on our OpenMP threads):
// O(N log N) whatever the radius, where C's direct spreading is
// O(pixels x radius^2) and a fiber PSF's automatic radius reaches hundreds of
// pixels (docs/noisify.md, "Two ways to convolve").
#pragma once

#include <vector>

namespace nb {

// `in` (xpixels x ypixels, fast-major) convolved with `kernel` ((2 kr + 1)^2
// values, row dy + kr, column dx + kr): every pixel spread over the whole
// kernel. Linear, not circular: the image is zero-padded to at least
// (xpixels + kr) x (ypixels + kr).
// Double: errors near 1e-12 of the image's photons; single (FFTW's float
// transforms, half the time): near 1e-6 of the brightest pixel, below a
// photon wherever the brightest holds under a million (docs/noisify.md).
enum class FftPrecision { Double, Single };
std::vector<float> convolve_fft(const std::vector<float>& in, int xpixels, int ypixels,
                                const std::vector<double>& kernel, int kr,
                                FftPrecision precision = FftPrecision::Double);

// The same, the result replacing `image`'s pixels (no second image buffer).
void convolve_fft_in_place(std::vector<float>& image, int xpixels, int ypixels, const std::vector<double>& kernel,
                           int kr, FftPrecision precision = FftPrecision::Double);

// The same for a kernel even in x and y (every PSF's) given as its quadrant
// dx, dy >= 0 ((kr + 1)^2 values, row dy, column dx): a quarter of the
// memory, and no mirror images to compute or check.
void convolve_fft_even_in_place(std::vector<float>& image, int xpixels, int ypixels,
                                const std::vector<double>& quadrant, int kr,
                                FftPrecision precision = FftPrecision::Double);

// Rough operation counts deciding between the two: direct spreading of
// `kernel_cells` (pixel, kernel element) pairs, and the FFT of this image size.
double fft_convolution_cost(int xpixels, int ypixels, int kr);

}  // namespace nb
