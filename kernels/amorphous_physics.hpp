// The scattering of amorphous material (water, air, ice: C nanoBragg's
// companion program nonBragg), written once for the scalar CPU, SIMD and CUDA
// executors. Each (sub-pixel, sensor layer, source) adds
//   sign(F) F^2 * polarization * solid angle * source weight * capture fraction
// with F the |F| of one molecule interpolated from a table against
// sin(theta)/lambda; the pixel is that sum times r_e^2 fluence molecules/steps.
// The geometry (sub-pixel position, solid angle, polarization, scattering
// vector) is the Bragg term's (kernels/pixel_physics.hpp). Loop order and the
// order of operations follow C nonBragg, which differ from C nanoBragg's:
// sensor layers inside sub-pixels, no "last value" caching, the solid angle
// of the whole pixel, and each source's weight applied.
#pragma once
#include <cmath>

#include "kernels/lanes.hpp"
#include "kernels/pixel_physics.hpp"
#include "kernels/polarization.hpp"
#include "kernels/structure_factor.hpp"

namespace nb {

// The table, staged by the host (engine/amorphous.hpp). `stol` and `F` hold
// C's rows: two guard rows at each end (stol -1e99, -1e98 ... 1e98, 1e99; F
// the first and last F), so that a 4-point window exists for any stol. The
// kernel interpolates between rows row and row+1, row being the last with
// stol[row] <= stol (where C's walk from its previous position ends on an
// increasing table).
// -exact evaluates C's 4-point Lagrange formula on those rows (double).
// Otherwise the kernel evaluates the same cubic from per-row coefficients the
// host computed in double: `cubic` holds 6 values per row (origin, 1/width,
// c0..c3; F = c0 + t (c1 + t (c2 + t c3)) with t = (stol - origin) / width):
// no divisions, 6 gathers instead of 8 on the SIMD lanes, and the only form
// single precision can hold (the guard rows overflow a float, and so do C's
// products of differences in 1/m).
template <typename T>
struct AmorphousTable {
    int rows = 0;
    const T* stol = nullptr;   // 1/m (C multiplies the file's column: -stol, -4stol, -Q)
    const T* F = nullptr;      // electrons per molecule
    const T* cubic = nullptr;  // single precision: 6 per row; null in double
    // Where to start the search: bucket b covers stol from origin + b/scale;
    // bucket[b] is a row at or before the answer for any stol in it (as T: the
    // SIMD executor gathers it like the table).
    const T* bucket = nullptr;
    int buckets = 0;
    T bucket_origin = 0, bucket_scale = 0;
    // A table on an even grid (with `cubic`): row = 1 + floor((stol - even_origin) * even_scale),
    // clamped to the rows, and t from the same product: no search, no origin gathers.
    bool even = false;
    T even_origin = 0, even_scale = 0;
};

// The materials one pass renders: a background of several (a water jet in
// air) shares each sub-pixel's geometry, each material adding its own term.
inline constexpr int kMaxMaterials = 4;

// Run constants of the amorphous stage besides the geometry (PixelParams).
template <typename T>
struct AmorphousParams {
    int materials = 1;
    AmorphousTable<T> tables[kMaxMaterials];
    bool fmap = false;  // -Fmap (one material): a pixel holds the F of its last evaluation
    bool add = false;   // add each material's value to the image (a background on the spots) instead of storing it
    // kept in double in every precision: r_e^2 fluence molecules spans 1e-30..1e30
    double r_e_sqr = 0, fluence = 0, steps = 1;
    double molecules[kMaxMaterials] = {};
};

// The table row to interpolate from for one stol (scalar lanes).
template <typename T>
NB_HD_INLINE int amorphous_row(const AmorphousTable<T>& t, T stol) {
    const T u = (stol - t.bucket_origin) * t.bucket_scale;
    int row = (int)t.bucket[!(u >= T(0)) ? 0 : u >= T(t.buckets - 1) ? t.buckets - 1 : (int)u];
    // the guard row at 1e98 stops this; a stol beyond it (a wavelength under
    // 1e-88 m) stays in the last window C could read
    while (row < t.rows - 3 && t.stol[row + 1] <= stol) ++row;
    return row;
}

// F at stol: C's polint over rows row-1 .. row+2 (double), or the same cubic
// from its coefficients (float).
template <typename T>
NB_HD_INLINE T amorphous_F(const AmorphousTable<T>& t, T stol) {
    if (t.even) {
        const T u = (stol - t.even_origin) * t.even_scale;
        T r = std::floor(u);
        r = r < T(0) ? T(0) : r > T(t.rows - 4) ? T(t.rows - 4) : r;  // rows 1 .. rows-3
        const T x = u - r;
        const T* c = t.cubic + 6 * (1 + (int)r);
        return c[2] + x * (c[3] + x * (c[4] + x * c[5]));
    }
    const int row = amorphous_row(t, stol);
    if (t.cubic) {
        const T* c = t.cubic + 6 * row;
        const T x = (stol - c[0]) * c[1];
        return c[2] + x * (c[3] + x * (c[4] + x * c[5]));
    }
    return polint4_c(t.stol + row - 1, t.F + row - 1, stol);
}

// One pixel's (or one lane group's) sums over sub-pixels, sensor layers and
// sources, before the scale, one per material (I[m]). V: lane type
// (kernels/lanes.hpp); F0, S0: the sub-pixel raster coordinates of the
// pixel's first sub-pixel (f * oversample, s * oversample). `lookup(m, stol)`
// gives material m's F (amorphous_F, or the SIMD executor's gathering
// version). `frames`: polarization_frame of each source. Also returns the
// solid angles summed (C prints their total) and the last F (-Fmap). Each
// material's sum takes the operations of its own nonBragg run: the shared
// geometry is computed once.
template <typename V, typename T, typename Lookup>
NB_HD_INLINE void amorphous_sum(const PixelParams<T>& p, const PolarizationFrame<T>* frames, V F0, V S0, int materials,
                                Lookup lookup, V* I, V& omega_sum, V& last_F) {
    for (int m = 0; m < materials; ++m) I[m] = V(T(0));
    for (int subS = 0; subS < p.oversample; ++subS) {
        for (int subF = 0; subF < p.oversample; ++subF) {
            const V F = F0 + V(T(subF)), S = S0 + V(T(subS));
            for (int thick_tic = 0; thick_tic < p.thicksteps; ++thick_tic) {
                Vec3<V> diffracted;
                const V airpath = unitize(subpixel_position(p, F, S, thick_tic), diffracted);
                // C nonBragg: the solid angle of the whole pixel, whatever the oversampling
                const V omega = solid_angle(p, airpath);
                omega_sum = omega_sum + omega;
                const V capture = p.thick > T(0) ? capture_fraction(p, thick_tic, dot(diffracted, p.odet)) : V(T(1));
                for (int source = 0; source < p.sources; ++source) {
                    const T lambda = p.source_lambda[source];
                    const Vec3<V> scattering = scattering_vector(diffracted, source_incident(p, source), lambda);
                    const V stol = V(T(0.5)) * magnitude(scattering);
                    V polar = V(T(1));
                    if (!p.nopolar) {
                        // C's polarization_factor re-normalizes `diffracted` in place:
                        // later sources see it (the default mode skips that: it is a
                        // unit vector to the last bit or two)
                        if (p.exact) unitize(diffracted, diffracted);
                        polar = polarization_factor(p.polarization, frames[source], diffracted);
                    }
                    const T weight = p.source_weight ? p.source_weight[source] : T(1);
                    for (int m = 0; m < materials; ++m) {
                        const V Fbg = lookup(m, stol);
                        last_F = Fbg;
                        // a negative F gives a negative intensity (C's sign)
                        const V sign = lselect(Fbg < V(T(0)), V(T(-1)), V(T(1)));
                        I[m] = I[m] + sign * Fbg * Fbg * polar * omega * weight * capture;
                    }
                }
            }
        }
    }
}

// One pass of up to kMaxMaterials materials over a detector: the geometry
// and sources it is rendered with, and the materials (host tables; the frame
// pipeline takes them to the device).
template <typename T>
struct BackgroundPass {
    PixelParams<T> p;
    AmorphousParams<T> a;
};

// Material m's value from its sum, in C's order of operations (double).
template <typename T>
NB_HD_INLINE double amorphous_value(const AmorphousParams<T>& a, int m, double I) {
    return I * a.r_e_sqr * a.fluence * a.molecules[m] / a.steps;
}

// A pixel's values (material m at values[m * stride]) into the image, each
// rounded to float first: added in order, they are the float sum of
// nanoBragg's image and each nonBragg image (-exact's bytes); stored, the one
// material's value (nonBragg).
template <typename T>
NB_HD_INLINE void store_amorphous(const AmorphousParams<T>& a, float& pixel, const double* values, int stride = 1) {
    if (!a.add) {
        pixel = (float)values[0];
        return;
    }
    float v = pixel;
    for (int m = 0; m < a.materials; ++m) v = v + (float)values[m * stride];
    pixel = v;
}

// One pixel on the scalar lanes (CPU reference and CUDA): each material's
// value (or the last F under -Fmap) into values[m].
template <typename T>
NB_HD_INLINE void render_amorphous_pixel(const PixelParams<T>& p, const AmorphousParams<T>& a,
                                         const PolarizationFrame<T>* frames, int f, int s, double* values,
                                         double* omega_sum) {
#ifndef __CUDA_ARCH__  // the GPU launches each panel with its own parameters (frame_pipeline.hpp)
    if (p.panels) return render_amorphous_pixel(panel_params(p, s), a, frames, f, s, values, omega_sum);
#endif
    T omega = T(0), last_F = T(0);
    T I[kMaxMaterials];
    amorphous_sum(
        p, frames, T(f * p.oversample), T(s * p.oversample), a.materials,
        [&](int m, T stol) { return amorphous_F(a.tables[m], stol); }, I, omega, last_F);
    if (omega_sum) *omega_sum = (double)omega;
    for (int m = 0; m < a.materials; ++m) values[m] = a.fmap ? (double)last_F : amorphous_value(a, m, (double)I[m]);
}

}  // namespace nb
