// Lattice (crystal-shape) factor F_latt for one fractional Miller index.
#pragma once
#include <cmath>

#include "kernels/sincg.hpp"
#include "kernels/vec3.hpp"

namespace nb {

enum class Shape : int { Square = 0, Round = 1, Gauss = 2, Tophat = 3 };

template <typename T>
struct LatticeParams {
    Shape shape;
    T Na, Nb, Nc;
    T fudge;
    // Unrotated reciprocal cell (1/Angstrom): C measures spot radius for the
    // round/gauss/tophat shapes with the phi=0, mosaic-free reciprocal cell.
    Vec3<T> a_star, b_star, c_star;
    // true: sin(N pi h)/sin(pi h) exactly as C evaluates it (bit-for-bit parity,
    // about 2x slower); false: the fractional-index form sincg_frac.
    bool c_exact_sincg = false;
};

// F_latt for the square (parallelepiped) crystal on a block of n indices,
// written without branches so the compiler vectorizes it across mosaic
// domains and phi steps (CPU executor; the GPU runs one index per thread).
template <typename T>
NB_HD_INLINE void square_lattice_block(const LatticeParams<T>& p, const T* h, const T* k, const T* l, int n,
                                       T* F_latt) {
    const T Na = p.Na, Nb = p.Nb, Nc = p.Nc;
    const bool ua = Na > 1, ub = Nb > 1, uc = Nc > 1;
#if !defined(__CUDA_ARCH__)
#pragma omp simd
#endif
    for (int j = 0; j < n; ++j) {
        // sincg_frac_product without branches: the same products, one division
        T na, da, nb, db, nc, dc;
        sincg_frac_parts(h[j], Na, na, da);
        sincg_frac_parts(k[j], Nb, nb, db);
        sincg_frac_parts(l[j], Nc, nc, dc);
        T num = T(1), den = T(1);
        num = ua ? num * na : num, den = ua ? den * da : den;
        num = ub ? num * nb : num, den = ub ? den * db : den;
        num = uc ? num * nc : num, den = uc ? den * dc : den;
        F_latt[j] = num / den;
    }
}

// F_latt at fractional (h, k, l) with nearest integer indices (h0, k0, l0)
// (C's ceil(h - 0.5), as floating-point numbers); V is a lane type (lanes.hpp).
template <typename V, typename T>
NB_HD_INLINE V lattice_factor(const LatticeParams<T>& p, V h, V k, V l, V h0, V k0, V l0) {
    const T pi = T(M_PI);
    if (p.shape == Shape::Square) {
        V F = V(T(1));
        if (p.c_exact_sincg) {
            // C's formula, argument for argument (reference/validation mode)
            if (p.Na > 1) F = F * sincg(h * pi, p.Na);
            if (p.Nb > 1) F = F * sincg(k * pi, p.Nb);
            if (p.Nc > 1) F = F * sincg(l * pi, p.Nc);
            return F;
        }
        return sincg_frac_product(h, k, l, p.Na, p.Nb, p.Nc);
    }
    V dh = h - h0, dk = k - k0, dl = l - l0;
    if (p.shape == Shape::Round) {
        V hrad_sqr = dh * dh * p.Na * p.Na + dk * dk * p.Nb * p.Nb + dl * dl * p.Nc * p.Nc;
        // 0.7236... corrects for the sqrt of the cube/sphere volume ratio.
        return V(p.Na * p.Nb * p.Nc * T(0.723601254558268)) * sinc3(lsqrt(hrad_sqr * p.fudge) * pi);
    }
    V dx = dh * p.a_star.x + dk * p.b_star.x + dl * p.c_star.x;
    V dy = dh * p.a_star.y + dk * p.b_star.y + dl * p.c_star.y;
    V dz = dh * p.a_star.z + dk * p.b_star.z + dl * p.c_star.z;
    V rad_star_sqr = (dx * dx + dy * dy + dz * dz) * p.Na * p.Na * p.Nb * p.Nb * p.Nc * p.Nc;
    if (p.shape == Shape::Gauss) {
        const V x = rad_star_sqr / T(0.63) * p.fudge;
        const V F = V(p.Na * p.Nb * p.Nc) * lexp(V(T(0)) - x);
        if constexpr (sizeof(T) == sizeof(float)) {
            // "F_latt == 0" is a branch of C's loop: a zero term is skipped, and
            // skipping it also skips the -oversample_* multiplies of the running sum.
            // C's double exp(-x) is nonzero up to x = 745.13, float's only to 103.97:
            // in between keep the term nonzero, with a square that vanishes in float
            // as C's does in double (found by a random line: 200x too bright).
            return lselect((F == V(T(0))) & (x < V(T(745.13f))), V(T(1.17549435e-38f)), F);
        }
        return F;
    }
    // Tophat: flat-top spot with the height and volume of a square-crystal spot.
    return V(p.Na * p.Nb * p.Nc) * lselect(rad_star_sqr * p.fudge < V(T(0.3969)), V(T(1)), V(T(0)));
}

}  // namespace nb
