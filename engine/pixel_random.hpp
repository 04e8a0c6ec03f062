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

// The part of a stream's start that is the same for every pixel: made once
// per image, so that a pixel's stream costs one hash to start.
struct PixelKey {
    // `channel` separates independent draws of one pixel (photon noise,
    // calibration error, read-out noise).
    explicit PixelKey(int64_t seed, uint64_t channel = 0)
        : value(mix64((uint64_t)seed * 0x9E3779B97F4A7C15ull ^ mix64(0x632BE59BD9B4E019ull * (channel + 1)))) {}
    uint64_t value;

    static uint64_t mix64(uint64_t z) {  // SplitMix64's finalizer
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
};

class PixelStream {
public:
    // A pixel's first value is the hash of its key and index (distinct pixels,
    // distinct values), the values after it SplitMix64 started there: one
    // hash for the one draw most pixels need. Two pixels' draws overlap only
    // if their starts fall within as many steps of each other on the Weyl
    // sequence, a chance of about 2^-64 per pair and step.
    PixelStream(PixelKey key, uint64_t pixel) : state_(PixelKey::mix64(key.value ^ pixel * 0xD1B54A32D192ED03ull)) {}
    PixelStream(int64_t seed, uint64_t pixel, uint64_t channel = 0) : PixelStream(PixelKey(seed, channel), pixel) {}

    // uniform in (0, 1), 53 bits
    double uniform() { return ((double)(next() >> 11) + 0.5) * 0x1.0p-53; }

    // The standard normal by Marsaglia and Tsang's ziggurat (2000, 256
    // layers): about 99% of draws take one stream value, a table lookup and a
    // multiplication (the polar method it replaced took three values, a log,
    // a square root and a division on average).
    double gauss();

    // Below a mean of 12 C's method (multiplication of uniforms), beyond 1e6 C's
    // Gaussian; between them Hormann's transformed rejection with squeeze
    // (PTRS, 1993) where C uses a Lorentzian rejection: the same Poisson
    // distribution, but about 86% of draws take two uniforms and no
    // transcendental function (C's method needs tan, exp and two lgamma per try).
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
        const double slam = std::sqrt(mean);
        const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
        const double vr = 0.9277 - 3.6224 / (b - 2.0);
        double alpha = 0, log_mean = 0;  // the slow path's constants, computed once when needed
        bool slow_ready = false;
        for (;;) {
            const double u = uniform() - 0.5, v = uniform();
            const double us = 0.5 - std::fabs(u);
            const double k = std::floor((2.0 * a / us + b) * u + mean + 0.43);
            if (us >= 0.07 && v <= vr) return k;
            if (k < 0.0 || (us < 0.013 && v > us)) continue;
            if (!slow_ready) {
                slow_ready = true;
                alpha = 1.1239 + 1.1328 / (b - 3.4);
                log_mean = std::log(mean);
            }
            // log(v alpha / (a / us^2 + b)) in one log: a fifth of the draws
            // at a background's means come here, and the logs were most of
            // their cost
            if (std::log(v * alpha / (a / (us * us) + b)) <= -mean + k * log_mean - std::lgamma(k + 1.0)) return k;
        }
    }

private:
    uint64_t next() {
        if (fresh_) {
            fresh_ = false;
            return state_;
        }
        return PixelKey::mix64(state_ += 0x9E3779B97F4A7C15ull);
    }
    uint64_t state_;
    bool fresh_ = true;
};

// The ziggurat's layers: x[i] the right edges (x[0] the base layer's
// equivalent width v / f(r), x[1] = r, x[256] = 0), f[i] = exp(-x[i]^2 / 2).
struct NormalZiggurat {
    static constexpr double r = 3.6541528853610088;  // the tail's start
    static constexpr double v = 0.00492867323399;    // each layer's area
    double x[257], f[257];
    NormalZiggurat() {
        const auto pdf = [](double t) { return std::exp(-0.5 * t * t); };
        x[0] = v / pdf(r);
        x[1] = r;
        for (int i = 2; i < 256; ++i) x[i] = std::sqrt(-2.0 * std::log(v / x[i - 1] + pdf(x[i - 1])));
        x[256] = 0;
        for (int i = 0; i < 257; ++i) f[i] = pdf(x[i]);
    }
    static const NormalZiggurat& get() {
        static const NormalZiggurat z;
        return z;
    }
};

inline double PixelStream::gauss() {
    const NormalZiggurat& z = NormalZiggurat::get();
    for (;;) {
        const uint64_t bits = next();
        const int i = (int)(bits & 0xff);                         // the layer: the low 8 bits
        const double u = (double)(bits >> 12) * 0x1.0p-51 - 1.0;  // [-1, 1): the top 52
        const double x = u * z.x[i];
        if (std::fabs(x) < z.x[i + 1]) return x;  // inside the layer's rectangle
        if (i == 0) {
            // beyond r: Marsaglia's tail method
            double a, b;
            do {
                a = -std::log(uniform()) / NormalZiggurat::r;
                b = -std::log(uniform());
            } while (b + b < a * a);
            return u < 0 ? -(NormalZiggurat::r + a) : NormalZiggurat::r + a;
        }
        if (z.f[i + 1] + (z.f[i] - z.f[i + 1]) * uniform() < std::exp(-0.5 * x * x)) return x;  // under the curve
    }
}

}  // namespace nb
