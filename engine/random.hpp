// C nanoBragg's random number generators, reproduced exactly: Numerical
// Recipes' ran1 (with its shuffle table shared across all seeds, as C's static
// state is), the Gaussian and Poisson deviates built on it, and the random
// rotations used for mosaic domains and -misset random.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace nb {

// One process-wide generator state in C; here an object the caller owns.
// Seeds are C `long`s (64-bit): a seed <= 0 re-initializes the shuffle table.
class Ran1 {
public:
    static constexpr int64_t IA = 16807, IM = 2147483647, IQ = 127773, IR = 2836, NTAB = 32;
    static constexpr int64_t NDIV = 1 + (IM - 1) / NTAB;

    // C's Schrage step: IA * idum mod IM without overflowing 32 bits; for a
    // seed outside (0, IM) it is its own arithmetic, kept bit for bit.
    static int64_t schrage(int64_t idum) {
        const int64_t k = idum / IQ;
        idum = IA * (idum - k * IQ) - IR * k;
        if (idum < 0) idum += IM;
        return idum;
    }
    // The same step inside (0, IM), where Schrage's result is exactly IA * idum
    // mod IM: a 64-bit product folded modulo the Mersenne prime 2^31 - 1, a
    // third of the latency of the division (the noise image's draws are one
    // serial chain of these).
    static int64_t lcg_step(int64_t idum) {
        if (idum <= 0 || idum >= IM) return schrage(idum);
        const uint64_t x = (uint64_t)IA * (uint64_t)idum;
        uint64_t r = (x & (uint64_t)IM) + (x >> 31);
        if (r >= (uint64_t)IM) r -= (uint64_t)IM;
        return (int64_t)r;
    }

    float next(int64_t& idum) {
        if (idum <= 0 || !iy_) initialize(idum);
        idum = lcg_step(idum);
        const int j = (int)(iy_ / NDIV);
        iy_ = iv_[j];
        iv_[j] = idum;
        const float temp = (float)(kAM * iy_);
        // C compares the float against the double RNMX and returns RNMX as a float.
        if (temp > kRNMX) return (float)kRNMX;
        return temp;
    }

private:
    static constexpr double kAM = 1.0 / IM, kRNMX = 1.0 - 1.2e-7;
    void initialize(int64_t& idum);
    int64_t iy_ = 0;
    std::array<int64_t, 32> iv_{};
};

// Deviates with C's cached state (Box-Muller spare value, Poisson constants).
class Deviates {
public:
    explicit Deviates(Ran1& r) : ran_(r) {}
    float gauss(int64_t& idum);
    float poisson(float mean, int64_t& idum);
    // C's direct method for a mean below 12, given g = (float)exp(-mean): the
    // draws are the sequence's, g is not, so callers may compute g ahead.
    float poisson_direct(float g, int64_t& idum) {
        float em = -1, t = 1.0f;
        do {
            ++em;
            t *= ran_.next(idum);
        } while (t > g);
        return em;
    }
    // (float)exp(-(double)mean) bit for bit as C gets it from libm, without the
    // libm call (a fifth of the noise image's serial time): for 0 <= mean < 12
    // a degree-13 polynomial after Cody-Waite reduction, within 1e-15 of the
    // true value; where that interval holds a float rounding boundary (about 3
    // in 10^8 means), libm decides. Checked against libm on every float of
    // [0, 12) by hand (1,094,713,344 values, no difference).
    static float poisson_direct_limit(float mean) {
        const double x = -(double)mean;
        if (!(mean >= 0.0f && mean < 12.0f)) return (float)std::exp(x);
        const double k = std::floor(x * 1.4426950408889634 + 0.5);  // x = k ln2 + r, |r| <= ln2 / 2
        double r = x - k * 6.93147180369123816490e-01;              // ln2 to 32 bits: k * it is exact
        r = r - k * 1.90821492927058770002e-10;
        double p = 1.0 / 6227020800.0;
        for (double c : {1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
                         1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0})
            p = p * r + c;
        uint64_t bits = (uint64_t)(1023 + (int64_t)k) << 52;  // 2^k, k in [-18, 0]
        double two_k;
        std::memcpy(&two_k, &bits, sizeof two_k);
        const double e = p * two_k;
        const float lo = (float)(e * (1 - 1e-15)), hi = (float)(e * (1 + 1e-15));
        return lo == hi ? lo : (float)std::exp(x);
    }

private:
    Ran1& ran_;
    int iset_ = 0;
    float gset_ = 0;
    float sq_ = 0, alxm_ = 0, g_ = 0, oldm_ = -1.0f;
};

float gammln(float xx);

// Random rotation on a spherical cap of "diameter" mosaicity (radians; C
// passes it through a float). Row-major 3x3.
std::array<double, 9> mosaic_rotation_umat(float mosaicity, Ran1& ran, int64_t& seed);

// Rotation matrix to x,y,z missetting angles (radians), as C's umat2misset.
std::array<double, 3> umat2misset(const std::array<double, 9>& umat);

}  // namespace nb
