// The per-pixel physics on a group of neighbouring pixels of one row, one
// pixel per SIMD lane (Highway). The formulas are those of render_pixel
// (kernels/pixel_physics.hpp), instantiated on the lane type of
// kernels/lanes_hwy.hpp; only the driver below (loops, masks, gathers) is
// written for lanes. Loops over sensor layers, sub-pixels, sources and the
// (phi, mosaic) sweep are the same for every lane; the per-pixel conditions
// (ROI and mask, -dmin, F_latt == 0, the HKL grid range) are lane masks, and
// C's "last value" polarization, solid angle and capture fraction are kept
// per lane. Tests compare it with render_pixel on every golden case.
#if defined(NB_PIXEL_PHYSICS_SIMD_TOGGLE) == defined(HWY_TARGET_TOGGLE)
#ifdef NB_PIXEL_PHYSICS_SIMD_TOGGLE
#undef NB_PIXEL_PHYSICS_SIMD_TOGGLE
#else
#define NB_PIXEL_PHYSICS_SIMD_TOGGLE
#endif

#include "kernels/lanes_hwy.hpp"
#include "kernels/pixel_physics.hpp"

HWY_BEFORE_NAMESPACE();
namespace nb {
namespace NB_SIMD_VARIANT {
namespace HWY_NAMESPACE {

// Index into the HKL grid of integer grid coordinates (already offset by the
// grid minima, every lane inside the grid). Double lanes compute it exactly in
// double and convert to 64-bit indices; float lanes convert each coordinate to
// 32 bits first (a float cannot hold every index of a large grid).
template <class D>
struct GridIndexer {
    using T = hn::TFromD<D>;
    using DI = hn::RebindToSigned<D>;
    using VI = hn::Vec<DI>;
    struct Index {
        VI v[kVectors];
        HWY_INLINE Index plus(int n) const {
            Index r;
            for (int i = 0; i < kVectors; ++i) r.v[i] = hn::Add(v[i], hn::Set(DI(), n));
            return r;
        }
    };
    const HklGridView<T>& g;

    HWY_INLINE Index operator()(Lane<D> h, Lane<D> k, Lane<D> l) const {
        const D d;
        const DI di;
        Index r;
        for (int i = 0; i < kVectors; ++i) {
            if constexpr (sizeof(T) == 8) {
                // The index is an exact integer in [0, 2^52): adding 2^52 puts it in
                // the low mantissa bits (AVX2 has no double -> int64 conversion).
                const auto flat =
                    hn::MulAdd(hn::MulAdd(h.v[i], hn::Set(d, T(g.k_range)), k.v[i]), hn::Set(d, T(g.l_range)), l.v[i]);
                const auto magic = hn::Set(d, T(4503599627370496.0));
                r.v[i] = hn::Sub(hn::BitCast(di, hn::Add(flat, magic)), hn::BitCast(di, magic));
            } else {
                const VI hi = hn::ConvertTo(di, h.v[i]), ki = hn::ConvertTo(di, k.v[i]), li = hn::ConvertTo(di, l.v[i]);
                r.v[i] = hn::Add(hn::Mul(hn::Add(hn::Mul(hi, hn::Set(di, g.k_range)), ki), hn::Set(di, g.l_range)), li);
            }
        }
        return r;
    }
    // How a vector's lanes spread over the grid: every lane at one index, at
    // one of two (the first lane's, or the first plus `step`: a row of
    // pixels crossing one cell boundary), or more. Gathers at offsets from
    // the same indices spread the same way.
    struct Spread {
        enum Kind { Many, One, Two } kind[kVectors];
        hn::Mask<DI> first[kVectors];  // Two: the lanes at the first lane's index
        int64_t step[kVectors];
    };
    HWY_INLINE Lane<D> gather(const Index& index, const Spread* spread = nullptr) const {
        Lane<D> r;
        for (int i = 0; i < kVectors; ++i) {
            if (!spread || spread->kind[i] == Spread::Many) {
                r.v[i] = hn::GatherIndex(D(), g.F, index.v[i]);
                continue;
            }
            const int64_t at = hn::GetLane(index.v[i]);
            r.v[i] = hn::Set(D(), g.F[at]);
            if (spread->kind[i] == Spread::Two)
                r.v[i] = hn::IfThenElse(hn::RebindMask(D(), spread->first[i]), r.v[i],
                                        hn::Set(D(), g.F[at + spread->step[i]]));
        }
        return r;
    }
    HWY_INLINE Spread spread_of(const Index& index) const {
        const DI di;
        Spread sp;
        for (int i = 0; i < kVectors; ++i) {
            const auto first = hn::Set(di, hn::GetLane(index.v[i]));
            const auto last = hn::Set(di, hn::ExtractLane(index.v[i], hn::Lanes(di) - 1));
            sp.first[i] = hn::Eq(index.v[i], first);
            sp.step[i] = (int64_t)hn::GetLane(last) - (int64_t)hn::GetLane(first);
            sp.kind[i] = hn::AllTrue(di, sp.first[i])                                     ? Spread::One
                         : hn::AllTrue(di, hn::Or(sp.first[i], hn::Eq(index.v[i], last))) ? Spread::Two
                                                                                          : Spread::Many;
        }
        return sp;
    }
};

// F by nearest neighbour: lanes whose index is off the grid get default_F.
template <class D>
HWY_INLINE Lane<D> lookup_nearest_lanes(const HklGridView<hn::TFromD<D>>& g, Lane<D> h, Lane<D> k, Lane<D> l,
                                        hn::TFromD<D> default_F) {
    using T = hn::TFromD<D>;
    if (!g.hkls) return Lane<D>(default_F);
    const Lane<D> h0 = nearest_index_fp(h), k0 = nearest_index_fp(k), l0 = nearest_index_fp(l);
    const LaneMask<D> in = (h0 <= Lane<D>(T(g.h_max))) & (h0 >= Lane<D>(T(g.h_min))) & (k0 <= Lane<D>(T(g.k_max))) &
                           (k0 >= Lane<D>(T(g.k_min))) & (l0 <= Lane<D>(T(g.l_max))) & (l0 >= Lane<D>(T(g.l_min)));
    if (!any_lane(in)) return Lane<D>(default_F);
    const Lane<D> zero(0);
    GridIndexer<D> ix{g};
    const Lane<D> F = ix.gather(
        ix(lselect(in, h0 - T(g.h_min), zero), lselect(in, k0 - T(g.k_min), zero), lselect(in, l0 - T(g.l_min), zero)));
    return lselect(in, F, Lane<D>(default_F));
}

// C's tricubic interpolation (polint4 of kernels/structure_factor.hpp on
// lanes) with gathers; lanes outside `use` read a valid neighbourhood at the
// grid's corner instead (the caller discards them).
template <class D>
HWY_INLINE Lane<D> lookup_tricubic_lanes(const HklGridView<hn::TFromD<D>>& g, Lane<D> h, Lane<D> k, Lane<D> l,
                                         LaneMask<D> use) {
    using T = hn::TFromD<D>;
    h = lselect(use, h, Lane<D>(T(g.h_min + 2)));
    k = lselect(use, k, Lane<D>(T(g.k_min + 2)));
    l = lselect(use, l, Lane<D>(T(g.l_min + 2)));
    const Lane<D> hf = lfloor(h), kf = lfloor(k), lf = lfloor(l);
    Lane<D> hd[4], kd[4], ld[4];
    for (int i = 0; i < 4; ++i) {
        hd[i] = hf + T(i - 1);
        kd[i] = kf + T(i - 1);
        ld[i] = lf + T(i - 1);
    }
    GridIndexer<D> ix{g};
    const Lane<D> h_base = hf - T(g.h_min + 1), k_base = kf - T(g.k_min + 1), l_base = lf - T(g.l_min + 1);
    // Neighbouring pixels mostly share one 4x4x4 neighbourhood, or two: a
    // vector whose lanes do reads each value once (twice) and broadcasts it
    // (64 gathers per evaluation were most of the lookup's time; float's
    // vectors, twice as wide, more often span two neighbourhoods).
    const typename GridIndexer<D>::Spread same = ix.spread_of(ix(h_base, k_base, l_base));
    Lane<D> over_h[4];
    for (int i1 = 0; i1 < 4; ++i1) {
        Lane<D> over_k[4];
        for (int i2 = 0; i2 < 4; ++i2) {
            const auto row = ix(h_base + T(i1), k_base + T(i2), l_base);
            Lane<D> vals[4];
            for (int i3 = 0; i3 < 4; ++i3) vals[i3] = ix.gather(row.plus(i3), &same);
            over_k[i2] = polint4(ld, vals, l);
        }
        over_h[i1] = polint4(kd, over_k, k);
    }
    return polint4(hd, over_h, h);
}

// Renders the pixels f0 .. f0+lanes-1 of row s (lanes past the row are
// computed at clamped positions and never stored) into value[]. `want`:
// lanes whose value is used. `interp`: tricubic interpolation for every lane.
// `frames`: polarization_frame of each source.
// Returns false when a wanted lane's interpolation neighbourhood leaves the
// grid, or a wanted lane of a round crystal is on the direct beam: the caller
// renders that group with the C-rounded reference (render_pixel_reference),
// which reproduces C's serial switch-off and C's value on the beam.
template <class D>
HWY_INLINE bool render_group(const PixelParams<hn::TFromD<D>>& p, const PolarizationFrame<hn::TFromD<D>>* frames,
                             int f0, int s, LaneMask<D> want, bool interp, double* value) {
    if (p.panels) return render_group<D>(panel_params(p, s), frames, f0, s, want, interp, value);
    using T = hn::TFromD<D>;
    using V = Lane<D>;
    const V f = V(T(f0)) + V::iota();
    const LaneMask<D> every = f == f;  // every lane

    V I = V(p.I_bg);
    V polar = V(p.nopolar ? T(1) : T(0));
    V omega = V(T(0));
    V capture = V(T(0));
    const int per_source = p.phisteps * p.mosaic_domains;

    for (int thick_tic = 0; thick_tic < p.thicksteps; ++thick_tic) {
        capture = V(p.thick == T(0) ? T(1) : T(0));
        for (int subS = 0; subS < p.oversample; ++subS) {
            const V S = V(T(s * p.oversample + subS));
            for (int subF = 0; subF < p.oversample; ++subF) {
                const V F = f * T(p.oversample) + T(subF);
                Vec3<V> pos = subpixel_position(p, F, S, thick_tic);
                Vec3<V> diffracted;
                V airpath = unitize(pos, diffracted);

                {
                    const LaneMask<D> redo = p.oversample_omega ? every : (omega == V(T(0)));
                    if (any_lane(redo)) omega = lselect(redo, solid_angle(p, airpath), omega);
                }
                {
                    const LaneMask<D> redo = p.oversample_thick ? every : (capture == V(T(0)));
                    if (any_lane(redo))
                        capture = lselect(redo, capture_fraction(p, thick_tic, dot(diffracted, p.odet)), capture);
                }

                for (int source = 0; source < p.sources; ++source) {
                    const Vec3<T> incident = source_incident(p, source);
                    const T lambda = p.source_lambda[source];
                    const Vec3<V> scattering = scattering_vector(diffracted, incident, lambda);
                    LaneMask<D> live = want;
                    if (p.dmin > T(0)) {
                        const V stol = V(T(0.5)) * magnitude(scattering);
                        live = live & !beyond_dmin(p.dmin, stol);
                        if (!any_lane(live)) continue;
                    }
                    // a round crystal on the direct beam: C's rounding decides (on_direct_beam)
                    if (p.lattice.shape == Shape::Round &&
                        any_lane(live & on_direct_beam(V(T(0.5)) * magnitude(scattering), lambda)))
                        return false;

                    {
                        const LaneMask<D> redo = p.oversample_polar ? live : (live & (polar == V(T(0))));
                        if (any_lane(redo)) {
#if NB_SIMD_EXACT
                            // C re-normalizes `diffracted` in place here; later sources see it.
                            Vec3<V> u;
                            unitize(diffracted, u);
                            diffracted = Vec3<V>{lselect(redo, u.x, diffracted.x), lselect(redo, u.y, diffracted.y),
                                                 lselect(redo, u.z, diffracted.z)};
#endif
                            // (the fast mode skips that: `diffracted` is a unit vector to the last bit or two)
                            polar =
                                lselect(redo, polarization_factor(p.polarization, frames[source], diffracted), polar);
                        }
                    }

                    const T* table = p.cells;  // the first sweep's pixel is never rendered here
                    const T *ax = table, *ay = ax + per_source, *az = ay + per_source;
                    const T *bx = az + per_source, *by = bx + per_source, *bz = by + per_source;
                    const T *cx = bz + per_source, *cy = cx + per_source, *cz = cy + per_source;
                    const T weight = p.source_weight ? p.source_weight[source] : T(1);
                    for (int j = 0; j < per_source; ++j) {
                        const V h = scattering.x * ax[j] + scattering.y * ay[j] + scattering.z * az[j];
                        const V k = scattering.x * bx[j] + scattering.y * by[j] + scattering.z * bz[j];
                        const V l = scattering.x * cx[j] + scattering.y * cy[j] + scattering.z * cz[j];
                        V h0, k0, l0;
                        if (p.lattice.shape != Shape::Square) {
                            h0 = nearest_index_fp(h);
                            k0 = nearest_index_fp(k);
                            l0 = nearest_index_fp(l);
                        }
                        const V F_latt = lattice_factor(p.lattice, h, k, l, h0, k0, l0);
                        const LaneMask<D> term = p.water ? live : (live & (F_latt != V(T(0))));
                        if (!any_lane(term)) continue;

                        V F_cell;
                        if (interp) {
                            const LaneMask<D> in = interpolation_in_range(p.hkl, h, k, l);
                            if (any_lane(term & !in)) return false;
                            F_cell = lookup_tricubic_lanes(p.hkl, h, k, l, term);
                        } else {
                            F_cell = lookup_nearest_lanes(p.hkl, h, k, l, p.default_F);
                        }
                        V sum = p.source_weight ? I + F_cell * F_cell * F_latt * F_latt * weight
                                                : I + F_cell * F_cell * F_latt * F_latt;
                        // C's -oversample_* flags scale the running sum, not the term.
                        if (p.oversample_thick) sum = sum * capture;
                        if (p.oversample_polar) sum = sum * polar;
                        if (p.oversample_omega) sum = sum * omega;
                        I = lselect(term, sum, I);
                    }
                }
            }
        }
    }

    constexpr size_t kMax = kVectors * HWY_MAX_BYTES / sizeof(T);
    const size_t N = kVectors * hn::Lanes(D());
    alignas(64) T Ib[kMax], cb[kMax], pb[kMax], ob[kMax];
    I.store(Ib);
    capture.store(cb);
    polar.store(pb);
    omega.store(ob);
    for (size_t i = 0; i < N; ++i) {
        double v = p.r_e_sqr * p.fluence * (double)Ib[i] / p.steps;
        if (!p.oversample_thick) v *= (double)cb[i];
        if (!p.oversample_polar) v *= (double)pb[i];
        if (!p.oversample_omega) v *= (double)ob[i];
        value[i] = v;
    }
    return true;
}

}  // namespace HWY_NAMESPACE
}  // namespace NB_SIMD_VARIANT
}  // namespace nb
HWY_AFTER_NAMESPACE();

#endif  // NB_PIXEL_PHYSICS_SIMD_TOGGLE
