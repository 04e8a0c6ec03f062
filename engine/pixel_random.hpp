// Noise drawn per pixel, in parallel, for the default mode. C draws every
// pixel's noise from one generator in pixel order (ran1: a serial chain); the
// default mode gives each pixel its own stream instead, keyed by the seed and
// the pixel, so that pixels draw on any thread in any order and the image is
// the same for every thread count. The deviates have C's distributions (the
// same Poisson methods), not C's values: -exact keeps C's sequence
// (engine/random.hpp) for byte-identical noise images (docs/precision.md).
#pragma once

#include <cmath>
#include <cstdint>

namespace nb {

class PixelStream {
public:
    // `channel` separates independent draws of one pixel (photon noise,
    // calibration error, read-out noise).
    PixelStream(int64_t seed, uint64_t pixel, uint64_t channel = 0)
        : state_(mix((uint64_t)seed * 0x9E3779B97F4A7C15ull ^ mix(pixel + 0x632BE59BD9B4E019ull * (channel + 1)))) {}

    // uniform in (0, 1), 53 bits
    double uniform() { return ((double)(next() >> 11) + 0.5) * 0x1.0p-53; }

    double gauss() {
        // Box-Muller on two fresh uniforms (no spare kept: one stream value per call site)
        const double u = uniform(), v = uniform();
        return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
    }

    // C's methods (Numerical Recipes' poidev): multiplication of uniforms below a
    // mean of 12, Lorentzian rejection above, a Gaussian beyond 1e6.
    double poisson(double mean) {
        if (!(mean > 0)) return 0;
        if (mean > 1.0e6) return mean + std::sqrt(mean) * gauss();  // as C: not rounded
        if (mean < 12.0) {
            double t = uniform();
            // the first test needs no exp when t <= 1 - mean <= exp(-mean) (most pixels of a still)
            if (t <= 1.0 - mean) return 0;
            const double g = std::exp(-mean);
            double em = 0;
            while (t > g) {
                ++em;
                t *= uniform();
            }
            return em;
        }
        const double sq = std::sqrt(2.0 * mean), alxm = std::log(mean), g = mean * alxm - std::lgamma(mean + 1.0);
        double em, y;
        for (;;) {
            do {
                y = std::tan(M_PI * uniform());
                em = sq * y + mean;
            } while (em < 0.0);
            em = std::floor(em);
            const double t = 0.9 * (1.0 + y * y) * std::exp(em * alxm - std::lgamma(em + 1.0) - g);
            if (uniform() <= t) return em;
        }
    }

private:
    static uint64_t mix(uint64_t z) {  // SplitMix64's finalizer
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    uint64_t next() { return mix(state_ += 0x9E3779B97F4A7C15ull); }
    uint64_t state_;
};

}  // namespace nb
