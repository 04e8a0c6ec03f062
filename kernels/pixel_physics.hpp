// The per-pixel physics of nanoBragg, written once for the CPU (OpenMP) and
// CUDA executors. Loop order, "last value" caching of polarization, solid
// angle and capture fraction, and the order of floating-point operations
// follow C nanoBragg so that double precision reproduces it.
#pragma once
#include <cmath>
#include <vector>

#include "kernels/lanes.hpp"
#include "kernels/lattice_shape.hpp"
#include "kernels/pixel_params.hpp"
#include "kernels/polarization.hpp"
#include "kernels/rotation.hpp"
#include "kernels/structure_factor.hpp"
#include "kernels/sweep_case.hpp"

namespace nb {

// Interpolation switch-off point: C turns tricubic interpolation off for the
// rest of the run at the first out-of-range neighbourhood, in serial pixel
// order. Evaluations before (pixel, eval) interpolate; that one and all later
// ones use the nearest F.
struct InterpCutoff {
    long long pixel;
    long long eval;
};

// Sweep block: (phi, mosaic) pairs handled together. On the GPU a block of
// one: the arrays of a larger block are indexed by a run-time count, so they
// live in local memory (8 pairs: a 160-byte stack frame in float, 304 in
// double, and 28 more registers), and a GPU thread gains nothing from them.
#if defined(__CUDA_ARCH__)
constexpr int kSweepBlock = 1;
#else
constexpr int kSweepBlock = 64;
#endif

// Miller indices h = a.S, k = b.S, l = c.S for sweep entries [base, base+n);
// the cell table is structure-of-arrays: component c of entry j at c*count + j.
template <typename T>
NB_HD_INLINE void miller_block(const T* table, int count, int base, int n, const Vec3<T>& S, T* h, T* k, T* l) {
    const T *ax = table + base, *ay = ax + count, *az = ay + count;
    const T *bx = az + count, *by = bx + count, *bz = by + count;
    const T *cx = bz + count, *cy = cx + count, *cz = cy + count;
#if !defined(__CUDA_ARCH__)
#pragma omp simd
#endif
    for (int j = 0; j < n; ++j) {
        h[j] = ax[j] * S.x + ay[j] * S.y + az[j] * S.z;
        k[j] = bx[j] * S.x + by[j] * S.y + bz[j] * S.z;
        l[j] = cx[j] * S.x + cy[j] * S.y + cz[j] * S.z;
    }
}

// The same from a device's interleaved table (kernels/sweep_case.hpp). On a
// GPU a pair's 9 values come in 16-byte loads through the read-only cache
// (the table is 16-byte aligned: cudaMalloc's 256, and a pair is 48 or 96 bytes).
template <typename T>
NB_HD_INLINE void load_cell(const T* cell, T* v) {
#if defined(__CUDA_ARCH__)
    if constexpr (sizeof(T) == sizeof(float)) {
        const float4* q = reinterpret_cast<const float4*>(cell);
        const float4 a = __ldg(q), b = __ldg(q + 1), c = __ldg(q + 2);
        v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w, v[8] = c.x;
    } else {
        const double2* q = reinterpret_cast<const double2*>(cell);
        for (int i = 0; i < 5; ++i) {
            const double2 x = __ldg(q + i);
            v[2 * i] = x.x;
            if (2 * i + 1 < 9) v[2 * i + 1] = x.y;
        }
    }
#else
    for (int i = 0; i < 9; ++i) v[i] = cell[i];
#endif
}
template <typename T>
NB_HD_INLINE void miller_interleaved(const T* table, int base, int n, const Vec3<T>& S, T* h, T* k, T* l) {
    for (int j = 0; j < n; ++j) {
        T v[9];
        load_cell(table + (size_t)kDeviceCellStride * (base + j), v);
        h[j] = v[0] * S.x + v[1] * S.y + v[2] * S.z;
        k[j] = v[3] * S.x + v[4] * S.y + v[5] * S.z;
        l[j] = v[6] * S.x + v[7] * S.y + v[8] * S.z;
    }
}

struct PixelResult {
    double value;
    long long first_interp_failure;  // eval index, or -1
    // a round-crystal evaluation on the direct beam (on_direct_beam): only
    // C's rounding of the scattering vector decides this pixel's value
    bool on_beam = false;
};

// Position of the sub-pixel at sub-pixel raster coordinates (F, S) (pixel
// f, sub-pixel subF: F = f * oversample + subF, an integer) in detector layer
// thick_tic. V: lane type (kernels/lanes.hpp), one pixel or a vector of them.
template <typename V, typename T>
NB_HD_INLINE Vec3<V> subpixel_position(const PixelParams<T>& p, V F, V S, int thick_tic) {
    const T Odet = thick_tic * p.thickstep;
    const V Fdet = F * p.subpixel_size + V(p.subpixel_size / T(2));
#ifdef __CUDA_ARCH__
    // the GPU's panel launches carry the panel's start in pix0 (fold_panel_start):
    // no extra live value in the render kernel
    const V Sdet = S * p.subpixel_size + V(p.subpixel_size / T(2));
#else
    const V Sdet = (S - V(p.panel_s0)) * p.subpixel_size + V(p.subpixel_size / T(2));
#endif
    Vec3<V> pos{Fdet * p.fdet.x + Sdet * p.sdet.x + Odet * p.odet.x + p.pix0.x,
                Fdet * p.fdet.y + Sdet * p.sdet.y + Odet * p.odet.y + p.pix0.y,
                Fdet * p.fdet.z + Sdet * p.sdet.z + Odet * p.odet.z + p.pix0.z};
    if (p.curved_detector) {
        // pixels on a sphere of radius `distance`: detector coordinates become angles
        const Vec3<V> v{V(p.beam.x * p.distance), V(p.beam.y * p.distance), V(p.beam.z * p.distance)};
        Vec3<V> nv = rotate_axis(v, p.sdet, pos.y / p.distance);
        pos = rotate_axis(nv, p.fdet, pos.z / p.distance);
    }
    return pos;
}

// A GPU panel launch: the panel's start moved from panel_s0 into pix0 (the
// device code does not subtract it; positions agree to rounding).
template <typename T>
PixelParams<T> fold_panel_start(PixelParams<T> p) {
    const T shift = p.panel_s0 * p.subpixel_size;
    p.pix0 = Vec3<T>{p.pix0.x - shift * p.sdet.x, p.pix0.y - shift * p.sdet.y, p.pix0.z - shift * p.sdet.z};
    p.panel_s0 = T(0);
    return p;
}

template <typename T>
NB_HD_INLINE Vec3<T> subpixel_position(const PixelParams<T>& p, int f, int s, int subF, int subS, int thick_tic) {
    return subpixel_position(p, T(f * p.oversample + subF), T(s * p.oversample + subS), thick_tic);
}

// Solid angle of a (sub-)pixel at distance airpath from the sample.
template <typename V, typename T>
NB_HD_INLINE V solid_angle(const PixelParams<T>& p, V airpath) {
    if (p.point_pixel) return V(T(1)) / airpath / airpath;
    return ldiv_cubed(V(p.pixel_size * p.pixel_size), airpath, p.close_distance);
}

// Fraction of the X-rays absorbed in sensor layer thick_tic, along a ray of
// direction cosine `parallax` with the detector normal.
template <typename V, typename T>
NB_HD_INLINE V capture_fraction(const PixelParams<T>& p, int thick_tic, V parallax) {
    return lexp(V(-thick_tic * p.thickstep * p.mu) / parallax) -
           lexp(V(-(thick_tic + 1) * p.thickstep * p.mu) / parallax);
}

template <typename V, typename T>
NB_HD_INLINE Vec3<V> scattering_vector(const Vec3<V>& diffracted, const Vec3<T>& incident, T lambda) {
    return Vec3<V>{ldiv_const(diffracted.x - incident.x, lambda), ldiv_const(diffracted.y - incident.y, lambda),
                   ldiv_const(diffracted.z - incident.z, lambda)};
}

// C's "-dmin" cut: skip a source when its scattering resolution is finer than dmin.
template <typename V, typename T>
NB_HD_INLINE auto beyond_dmin(T dmin, V stol) {
    return (stol > V(T(0))) & (V(dmin) > V(T(0.5)) / stol);
}

// The direct beam of a round crystal. C's F_latt there is N^3 * 0.7236 *
// sinc3(x) with x ~ |S|: the full spot height when C's scattering vector S is
// exactly zero, and 0 when a last-bit residual of the sub-pixel position or
// direction leaves it at ~1e-16 (sinc3 cancels to 0 there, kernels/sincg.hpp).
// Which one C gets is decided in the last bit of its double arithmetic, so
// fused multiply-adds or single precision cannot tell. An evaluation whose
// direction lies within 1e-5 rad of the source's (|S| lambda < 1e-5: far wider
// than any rounding, narrower than a pixel) marks its pixel for the
// C-rounded double-precision reference (kernels/cpu_launcher.cpp). Only the
// round shape: the other shapes are smooth at S = 0.
template <typename V, typename T>
NB_HD_INLINE auto on_direct_beam(V stol, T lambda) {
    // |S| lambda = 2 stol lambda < 1e-5: from stol, which every evaluation has
    // already, so that the GPU kernel keeps no extra vector live for it
    return stol * V(lambda) < V(T(5e-6));
}

template <typename T>
NB_HD_INLINE Vec3<T> source_incident(const PixelParams<T>& p, int source) {
    return Vec3<T>{-p.source_dir[3 * source], -p.source_dir[3 * source + 1], -p.source_dir[3 * source + 2]};
}

// Each source's polarization frame (the executors' per-image table, staged on
// the host from host-side sources). Static, as every function of these headers:
// the SIMD executor's file is compiled once per ISA, and a copy with external
// linkage compiled for AVX-512 could be the one the linker keeps for all.
template <typename T>
static std::vector<PolarizationFrame<T>> source_polarization_frames(const PixelParams<T>& p) {
    std::vector<PolarizationFrame<T>> frames((size_t)p.sources);
    for (int i = 0; i < p.sources; ++i) frames[i] = polarization_frame(source_incident(p, i), p.polar_vector);
    return frames;
}

// Whether some evaluation of pixel (f, s) that passes the -dmin cut
// satisfies pred(stol, lambda): the loops of render_pixel down to its sources,
// for the host and the GPU to ask about a pixel without rendering it.
template <typename T, typename Pred>
NB_HD_INLINE bool any_evaluation(const PixelParams<T>& p, int f, int s, Pred pred) {
#ifndef __CUDA_ARCH__  // the GPU launches each panel with its own parameters (frame_pipeline.hpp)
    if (p.panels) return any_evaluation(panel_params(p, s), f, s, pred);
#endif
    for (int t = 0; t < p.thicksteps; ++t)
        for (int subS = 0; subS < p.oversample; ++subS)
            for (int subF = 0; subF < p.oversample; ++subF) {
                Vec3<T> diffracted;
                unitize(subpixel_position(p, f, s, subF, subS, t), diffracted);
                for (int src = 0; src < p.sources; ++src) {
                    const T lambda = p.source_lambda[src];
                    const T stol = T(0.5) * magnitude(scattering_vector(diffracted, source_incident(p, src), lambda));
                    if (p.dmin > T(0) && beyond_dmin(p.dmin, stol)) continue;
                    if (pred(stol, lambda)) return true;
                }
            }
    return false;
}

struct AnyStol {
    template <typename T>
    NB_HD_METHOD bool operator()(T, T) const {
        return true;
    }
};
struct OnDirectBeam {
    template <typename T>
    NB_HD_METHOD bool operator()(T stol, T lambda) const {
        return on_direct_beam(stol, lambda);
    }
};

// Whether C would enter the phi/mosaic sweep at least once for this pixel
// (some source passes the dmin cut). Used by the host to locate the pixel
// that holds the image's first sweep.
template <typename T>
NB_HD inline bool pixel_enters_sweep(const PixelParams<T>& p, int f, int s) {
    if (p.mask && p.mask[(long long)s * p.fpixels + f] == 0) return false;
    if (!(p.dmin > T(0))) return true;
    return any_evaluation(p, f, s, AnyStol{});
}

// Whether some evaluation of pixel (f, s) lies on the direct beam
// (on_direct_beam), as render_pixel flags it: the GPU finds a round crystal's
// such pixels in a pass of its own, so that its render kernel carries no flag
// (the flag cost the float kernel 16 more bytes of spills).
template <typename T>
NB_HD inline bool pixel_on_direct_beam(const PixelParams<T>& p, int f, int s) {
    return any_evaluation(p, f, s, OnDirectBeam{});
}

// One pixel's share of C's "solid angle subtended by detector": its solid
// angle added once per layer and sub-pixel, taken as render_pixel takes it
// (at the first sub-pixel only, unless -oversample_omega: then the sum costs
// what the render's geometry does, otherwise one evaluation per pixel).
template <typename T>
NB_HD inline double pixel_solid_angle_sum(const PixelParams<T>& p, int f, int s) {
#ifndef __CUDA_ARCH__
    if (p.panels) return pixel_solid_angle_sum(panel_params(p, s), f, s);
#endif
    if (!p.oversample_omega) {  // the first sub-pixel's, for every layer and sub-pixel
        Vec3<T> diffracted;
        const T airpath = unitize(subpixel_position(p, f, s, 0, 0, 0), diffracted);
        return (double)solid_angle(p, airpath) * p.thicksteps * p.oversample * p.oversample;
    }
    double sum = 0;
    for (int thick_tic = 0; thick_tic < p.thicksteps; ++thick_tic)
        for (int subS = 0; subS < p.oversample; ++subS)
            for (int subF = 0; subF < p.oversample; ++subF) {
                Vec3<T> diffracted;
                const T airpath = unitize(subpixel_position(p, f, s, subF, subS, thick_tic), diffracted);
                sum += (double)solid_angle(p, airpath);
            }
    return sum;
}

// What render_pixel shows an observer of one pixel: the host's pixel reports
// (-printout, -trace_pixel: engine/pixel_report.cpp) replay a pixel with one.
// The renders pass NoObserver, whose empty hooks compile to nothing.
//   subpixel(p, thick_tic, subS, subF, pos, airpath, diffracted, omega, capture)
//   source(source, incident, lambda, scattering, stol)       before the -dmin cut
//   polarization()                                           C's polarization step ran for this source
//   evaluation(source, j, table, pairs, h, k, l, F_latt)     j: (phi, mosaic) pair, before the F_latt == 0 skip
//   structure_factor(F_cell, I, polar, diffracted)           I: the running sum after this term; diffracted
//                                                            as C's polarization step re-normalized it
//   finish(I, capture, polar, omega, value)
struct NoObserver {
    template <typename... A>
    NB_HD_METHOD void subpixel(const A&...) const {}
    template <typename... A>
    NB_HD_METHOD void source(const A&...) const {}
    NB_HD_METHOD void polarization() const {}
    template <typename... A>
    NB_HD_METHOD void evaluation(const A&...) const {}
    template <typename... A>
    NB_HD_METHOD void structure_factor(const A&...) const {}
    template <typename... A>
    NB_HD_METHOD void finish(const A&...) const {}
};

// Sweep: what is known of the run when this is compiled (kernels/sweep_case.hpp).
template <typename Sweep = HostSweep, typename T, typename Observer>
NB_HD inline PixelResult render_pixel(const PixelParams<T>& p, int f, int s, InterpCutoff cutoff, Observer& obs) {
#ifndef __CUDA_ARCH__  // the GPU launches each panel with its own parameters (frame_pipeline.hpp)
    if (p.panels) return render_pixel<Sweep>(panel_params(p, s), f, s, cutoff, obs);
#endif
    // the common case's sweep is compiled without the options it leaves out
    constexpr bool sq = Sweep::square_nearest;
    const Shape shape = sq ? Shape::Square : p.lattice.shape;
    const bool exact_sincg = !sq && p.lattice.c_exact_sincg;
    const bool oversample_thick = !sq && p.oversample_thick;
    const bool oversample_polar = !sq && p.oversample_polar;
    const bool oversample_omega = !sq && p.oversample_omega;
    const T* const source_weight = sq ? nullptr : p.source_weight;
    const long long pixel = (long long)s * p.fpixels + f;
    PixelResult out{0.0, -1, false};

    T I = p.I_bg;
    T polar = p.nopolar ? T(1) : T(0);
    T omega = T(0);
    T capture = T(0);
    bool interp = !sq && p.interpolate && pixel <= cutoff.pixel;
    const bool interp_limited = (pixel == cutoff.pixel);
    bool first_sweep = (pixel == p.first_sweep_pixel);
    const int per_source = p.phisteps * p.mosaic_domains;
    long long eval = 0;

    for (int thick_tic = 0; thick_tic < p.thicksteps; ++thick_tic) {
        capture = T(0);
        if (p.thick == T(0)) capture = T(1);
        for (int subS = 0; subS < p.oversample; ++subS) {
            for (int subF = 0; subF < p.oversample; ++subF) {
                Vec3<T> pos = subpixel_position(p, f, s, subF, subS, thick_tic);
                Vec3<T> diffracted;
                T airpath = unitize(pos, diffracted);

                if (omega == T(0) || oversample_omega) omega = solid_angle(p, airpath);
                if (capture == T(0) || oversample_thick) {
                    capture = capture_fraction(p, thick_tic, dot(diffracted, p.odet));
                }
                obs.subpixel(p, thick_tic, subS, subF, pos, airpath, diffracted, omega, capture);

                for (int source = 0; source < p.sources; ++source, eval += per_source) {
                    Vec3<T> incident = source_incident(p, source);
                    T lambda = p.source_lambda[source];
                    Vec3<T> scattering = scattering_vector(diffracted, incident, lambda);
                    T stol = T(0.5) * magnitude(scattering);
                    obs.source(source, incident, lambda, scattering, stol);
                    if (p.dmin > T(0) && beyond_dmin(p.dmin, stol)) continue;
                    if (shape == Shape::Round && on_direct_beam(stol, lambda)) out.on_beam = true;

                    if (polar == T(0) || oversample_polar) {
                        // C re-normalizes `diffracted` in place here; later sources see it.
                        unitize(diffracted, diffracted);
                        polar = polarization_factor(
                            p.polarization,
                            p.polar_frames ? p.polar_frames[source] : polarization_frame(incident, p.polar_vector),
                            diffracted);
                        obs.polarization();
                    }

                    const T* table = first_sweep ? p.cells_first : p.cells;
                    first_sweep = false;
                    // the (phi, mosaic) sweep, in blocks: Miller indices and F_latt for a
                    // block first (vectorized on the CPU), then F and the running sum in
                    // C's order
                    for (int base = 0; base < per_source; base += kSweepBlock) {
                        const int n = per_source - base < kSweepBlock ? per_source - base : kSweepBlock;
                        T hb[kSweepBlock], kb[kSweepBlock], lb[kSweepBlock], fl[kSweepBlock];
                        if constexpr (Sweep::interleaved_cells)
                            miller_interleaved(table, base, n, scattering, hb, kb, lb);
                        else
                            miller_block(table, per_source, base, n, scattering, hb, kb, lb);
                        if constexpr (sq) {
                            for (int j = 0; j < n; ++j)
                                fl[j] = sincg_frac_product_unsigned(hb[j], kb[j], lb[j], p.lattice.Na, p.lattice.Nb,
                                                                    p.lattice.Nc);
                        } else if (shape == Shape::Square && !exact_sincg) {
                            square_lattice_block(p.lattice, hb, kb, lb, n, fl);
                        } else {
                            for (int j = 0; j < n; ++j) {
                                fl[j] = lattice_factor(p.lattice, hb[j], kb[j], lb[j], nearest_index_fp(hb[j]),
                                                       nearest_index_fp(kb[j]), nearest_index_fp(lb[j]));
                            }
                        }
                        for (int j = 0; j < n; ++j) {
                            const long long e = eval + base + j;
                            T F_latt = fl[j];
                            obs.evaluation(source, base + j, table, per_source, hb[j], kb[j], lb[j], F_latt);
                            if (F_latt == T(0) && !p.water) continue;
                            T h = hb[j], k = kb[j], l = lb[j];

                            if (interp && interp_limited && e >= cutoff.eval) interp = false;
                            if (interp && interpolation_out_of_range(p.hkl, h, k, l)) {
                                interp = false;
                                if (out.first_interp_failure < 0) out.first_interp_failure = e;
                            }
                            T F_cell;
                            if constexpr (sq) {
                                F_cell = lookup_nearest_fp(p.hkl, h, k, l, p.default_F);
                            } else if (interp) {
                                F_cell = lookup_tricubic(p.hkl, h, k, l);
                            } else {
                                F_cell = lookup_nearest(p.hkl, nearest_index(h), nearest_index(k), nearest_index(l),
                                                        p.default_F);
                            }

                            if (source_weight) {
                                I += F_cell * F_cell * F_latt * F_latt * source_weight[source];
                            } else {
                                I += F_cell * F_cell * F_latt * F_latt;
                            }
                            // C's -oversample_* flags scale the running sum, not the term.
                            if (oversample_thick) I *= capture;
                            if (oversample_polar) I *= polar;
                            if (oversample_omega) I *= omega;
                            obs.structure_factor(F_cell, I, polar, diffracted);
                        }
                    }
                }
            }
        }
    }

    double value = p.r_e_sqr * p.fluence * (double)I / p.steps;
    if (!oversample_thick) value *= (double)capture;
    if (!oversample_polar) value *= (double)polar;
    if (!oversample_omega) value *= (double)omega;
    obs.finish(I, capture, polar, omega, value);
    out.value = value;
    return out;
}

template <typename Sweep = HostSweep, typename T>
NB_HD inline PixelResult render_pixel(const PixelParams<T>& p, int f, int s, InterpCutoff cutoff) {
    NoObserver none;
    return render_pixel<Sweep>(p, f, s, cutoff, none);
}

}  // namespace nb
