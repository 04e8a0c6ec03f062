// C nanoBragg's random number generators, reproduced exactly: Numerical
// Recipes' ran1 (with its shuffle table shared across all seeds, as C's static
// state is), the Gaussian and Poisson deviates built on it, and the random
// rotations used for mosaic domains and -misset random.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

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
    static float poisson_direct_limit(float mean) { return (float)std::exp(-(double)mean); }

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
