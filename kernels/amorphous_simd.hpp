// The amorphous term on SIMD lanes: amorphous_sum (kernels/amorphous_physics.hpp)
// on the lane type of kernels/lanes_hwy.hpp, with the table lookup done by
// gathers: each lane finds its row from the bucket hint and a few steps,
// then gathers its window (double: C's polint on the rows; float: the cubic's
// coefficients). Same bits as the scalar lookup in each variant.
#if defined(NB_AMORPHOUS_SIMD_TOGGLE) == defined(HWY_TARGET_TOGGLE)
#ifdef NB_AMORPHOUS_SIMD_TOGGLE
#undef NB_AMORPHOUS_SIMD_TOGGLE
#else
#define NB_AMORPHOUS_SIMD_TOGGLE
#endif

#include "kernels/amorphous_physics.hpp"
#include "kernels/lanes_hwy.hpp"

HWY_BEFORE_NAMESPACE();
namespace nb {
namespace NB_SIMD_VARIANT {
namespace HWY_NAMESPACE {

// Gather indices from lanes holding small non-negative integers.
template <class D>
HWY_INLINE hn::Vec<hn::RebindToSigned<D>> table_index(D d, hn::Vec<D> v) {
    const hn::RebindToSigned<D> di;
    if constexpr (sizeof(hn::TFromD<D>) == 8) {
        // exact below 2^52: the integer lands in the low mantissa bits (AVX2
        // has no double -> int64 conversion)
        const auto magic = hn::Set(d, 4503599627370496.0);
        return hn::Sub(hn::BitCast(di, hn::Add(v, magic)), hn::BitCast(di, magic));
    } else {
        return hn::ConvertTo(di, v);
    }
}

template <class D>
HWY_INLINE Lane<D> amorphous_F_lanes(const AmorphousTable<hn::TFromD<D>>& t, const Lane<D>& stol) {
    using T = hn::TFromD<D>;
    const D d;
    const hn::RebindToSigned<D> di;
    const auto one = hn::Set(d, T(1));
    const auto last_row = hn::Set(d, T(t.rows - 3));
    Lane<D> out;
    Lane<D> xa[4], ya[4];
    if (t.even) {
        // row and position from stol alone (an even grid, AmorphousTable::even)
        for (int i = 0; i < kVectors; ++i) {
            const auto u = hn::Mul(hn::Sub(stol.v[i], hn::Set(d, t.even_origin)), hn::Set(d, t.even_scale));
            auto r = hn::Floor(u);
            r = hn::Min(hn::Max(r, hn::Zero(d)), hn::Set(d, T(t.rows - 4)));  // NaN: the first row
            const auto x = hn::Sub(u, r);
            const auto base = table_index(d, hn::Mul(hn::Add(r, one), hn::Set(d, T(6))));
            auto c = [&](int k) { return hn::GatherIndex(d, t.cubic, hn::Add(base, hn::Set(di, k))); };
            out.v[i] = hn::MulAdd(x, hn::MulAdd(x, hn::MulAdd(x, c(5), c(4)), c(3)), c(2));
        }
        return out;
    }
    for (int i = 0; i < kVectors; ++i) {
        const auto x = stol.v[i];
        auto u = hn::Mul(hn::Sub(x, hn::Set(d, t.bucket_origin)), hn::Set(d, t.bucket_scale));
        u = hn::IfThenElseZero(hn::Ge(u, hn::Zero(d)), u);  // NaN too
        u = hn::Floor(hn::Min(u, hn::Set(d, T(t.buckets - 1))));
        auto row = hn::GatherIndex(d, t.bucket, table_index(d, u));
        for (;;) {
            const auto next = hn::GatherIndex(d, t.stol, hn::Add(table_index(d, row), hn::Set(di, 1)));
            const auto step = hn::And(hn::Le(next, x), hn::Lt(row, last_row));
            if (hn::AllFalse(d, step)) break;
            row = hn::Add(row, hn::IfThenElseZero(step, one));
        }
        const auto idx = table_index(d, row);
        if (t.cubic) {
            const auto base = table_index(d, hn::Mul(row, hn::Set(d, T(6))));
            auto c = [&](int k) { return hn::GatherIndex(d, t.cubic, hn::Add(base, hn::Set(di, k))); };
            const auto s = hn::Mul(hn::Sub(x, c(0)), c(1));
            out.v[i] = hn::Add(c(2), hn::Mul(s, hn::Add(c(3), hn::Mul(s, hn::Add(c(4), hn::Mul(s, c(5)))))));
        } else {
            for (int j = 0; j < 4; ++j) {
                const auto at = hn::Add(idx, hn::Set(di, j - 1));
                xa[j].v[i] = hn::GatherIndex(d, t.stol, at);
                ya[j].v[i] = hn::GatherIndex(d, t.F, at);
            }
        }
    }
    if (!t.cubic) out = polint4_c(xa, ya, stol);
    return out;
}

// Renders pixels f0 .. f0+lanes-1 of row s: material m's value of lane i into
// value[m * lanes + i], the lanes' solid angles into omega[] (lanes past the
// row are computed at clamped positions and discarded by the caller).
template <class D>
HWY_INLINE void render_amorphous_group(const PixelParams<hn::TFromD<D>>& p, const AmorphousParams<hn::TFromD<D>>& a,
                                       const PolarizationFrame<hn::TFromD<D>>* frames, int f0, int s, double* value,
                                       double* omega) {
    if (p.panels) return render_amorphous_group<D>(panel_params(p, s), a, frames, f0, s, value, omega);
    using T = hn::TFromD<D>;
    using V = Lane<D>;
    const V f = V(T(f0)) + V::iota();
    V omega_sum = V(T(0)), last_F = V(T(0));
    V I[kMaxMaterials];
    amorphous_sum(
        p, frames, f * T(p.oversample), V(T(s * p.oversample)), a.materials,
        [&](int m, const V& stol) { return amorphous_F_lanes<D>(a.tables[m], stol); }, I, omega_sum, last_F);
    constexpr size_t kMax = kVectors * HWY_MAX_BYTES / sizeof(T);
    const size_t N = kVectors * hn::Lanes(D());
    alignas(64) T Ib[kMax], ob[kMax], fb[kMax];
    omega_sum.store(ob);
    last_F.store(fb);
    for (size_t i = 0; i < N; ++i) omega[i] = (double)ob[i];
    for (int m = 0; m < a.materials; ++m) {
        I[m].store(Ib);
        for (size_t i = 0; i < N; ++i) value[m * N + i] = a.fmap ? (double)fb[i] : amorphous_value(a, m, (double)Ib[i]);
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace NB_SIMD_VARIANT
}  // namespace nb
HWY_AFTER_NAMESPACE();

#endif  // NB_AMORPHOUS_SIMD_TOGGLE
