// The OpenMP executor on SIMD lanes: each thread takes rows; a row is cut into
// groups of neighbouring pixels, one per lane (kernels/pixel_physics_simd.hpp).
//
// The build compiles this file once per vector ISA (NB_CPU_ISA: sse4, avx2,
// avx512 on x86-64, generic elsewhere) with that ISA's compiler flags, so that
// Highway's static target is that ISA and the shared formula templates of
// kernels/*.hpp are compiled for it too (Highway's foreach_target would leave
// them, defined outside its target regions, unable to inline the vector ops);
// kernels/cpu_dispatch.cpp picks one at run time. And twice per ISA:
// NB_SIMD_EXACT=1 (namespace simd_exact, -ffp-contract=off, C's libm: the same
// bits as render_pixel and C) and NB_SIMD_EXACT=0 (namespace simd_fast: fused
// multiply-adds and Highway's vector math).
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <functional>
#include <vector>

#include "kernels/cpu_launcher.hpp"
#include "kernels/cpu_rows.hpp"

#include "hwy/highway.h"
#include "kernels/amorphous_simd.hpp"
#include "kernels/pixel_physics_simd.hpp"

HWY_BEFORE_NAMESPACE();
namespace nb {
namespace NB_SIMD_VARIANT {
namespace HWY_NAMESPACE {

template <typename T>
long long render_rows(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image, int threads,
                      const RowHooks& hooks) {
    using D = hn::ScalableTag<T>;
    const D d;
    const int N = kVectors * (int)hn::Lanes(d);
    const PixelSpan span = roi_span(p);
    const int s_lo = span.s_lo, s_hi = span.s_hi, f_lo = span.f_lo, f_hi = span.f_hi;
    long long first_failure = LLONG_MAX;
    if (span.empty()) return -1;
    std::atomic<long long> known_failure{LLONG_MAX};
    RowCount count{span.rows()};
    const int nthreads = threads > 0 ? threads : omp_get_max_threads();
    const std::vector<PolarizationFrame<T>> frames = source_polarization_frames(p);

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads) reduction(min : first_failure)
    for (int s = s_lo; s <= s_hi; ++s) {
        // several panels: the row's panel frame, copied once per row (not per group)
        PixelParams<T> row_panel;
        const PixelParams<T>& q = p.panels ? (row_panel = panel_params(p, s)) : p;
        alignas(64) T want_lane[kVectors * HWY_MAX_BYTES / sizeof(T)];
        double value[kVectors * HWY_MAX_BYTES / sizeof(T)];
        const long long row0 = (long long)s * p.fpixels;
        for (int f0 = f_lo; f0 <= f_hi; f0 += N) {
            const int n = std::min(N, f_hi - f0 + 1);
            const long long first = row0 + f0, last = first + n - 1;
            if (first > known_failure.load(std::memory_order_relaxed)) break;
            int wanted = 0;
            for (int i = 0; i < N; ++i) {
                const long long idx = first + i;
                const bool w = i < n && idx >= from_pixel && !(p.mask && p.mask[idx] == 0);
                want_lane[i] = w ? T(1) : T(0);
                wanted += w;
            }
            if (!wanted) continue;
            // Groups holding the image's first sweep (its own cell table) or the
            // interpolation cut-off pixel, and those render_group hands back, go
            // through the C-rounded reference.
            const bool first_sweep_here = p.first_sweep_pixel >= first && p.first_sweep_pixel <= last;
            const bool interp_all = p.interpolate && cutoff.pixel > last;
            const bool interp_none = !p.interpolate || cutoff.pixel < first;
            if (!first_sweep_here && (interp_all || interp_none)) {
                const LaneMask<D> want = lane_nonzero(Lane<D>::load(want_lane));
                if (render_group(q, frames.data(), f0, s, want, interp_all, value)) {
                    for (int i = 0; i < n; ++i)
                        if (want_lane[i] != T(0)) image[first + i] = (float)value[i];
                    continue;
                }
            }
            for (int i = 0; i < n; ++i) {
                if (want_lane[i] == T(0)) continue;
                const long long idx = first + i;
                if (idx > known_failure.load(std::memory_order_relaxed)) break;
                store_reference_pixel(q, f0 + i, s, cutoff, idx, image, first_failure, known_failure);
            }
        }
        row_finished(hooks, count, s, (long long)s * p.fpixels + f_hi <= known_failure.load(std::memory_order_relaxed));
    }
    return first_failure == LLONG_MAX ? -1 : first_failure;
}

template <typename T>
void render_amorphous_rows(const PixelParams<T>& p, const AmorphousParams<T>& a, float* image, double* row_omega,
                           int threads, const RowHooks& hooks) {
    using D = hn::ScalableTag<T>;
    const int N = kVectors * (int)hn::Lanes(D());
    const PixelSpan span = roi_span(p);
    if (span.empty()) return;
    const std::vector<PolarizationFrame<T>> frames = source_polarization_frames(p);
    RowCount count{span.rows()};
    const int nthreads = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
    for (int s = span.s_lo; s <= span.s_hi; ++s) {
        PixelParams<T> row_panel;
        const PixelParams<T>& q = p.panels ? (row_panel = panel_params(p, s)) : p;
        double value[kMaxMaterials * kVectors * HWY_MAX_BYTES / sizeof(T)], omega[kVectors * HWY_MAX_BYTES / sizeof(T)];
        const long long row0 = (long long)s * p.fpixels;
        double row_sum = 0;
        for (int f0 = span.f_lo; f0 <= span.f_hi; f0 += N) {
            const int n = std::min(N, span.f_hi - f0 + 1);
            render_amorphous_group<D>(q, a, frames.data(), f0, s, value, omega);
            for (int i = 0; i < n; ++i) {
                if (p.mask && p.mask[row0 + f0 + i] == 0) continue;
                store_amorphous(a, image[row0 + f0 + i], value + i, N);
                row_sum += omega[i];
            }
        }
        row_omega[s] = row_sum;
        row_finished(hooks, count, s);
    }
}

}  // namespace HWY_NAMESPACE

namespace NB_CPU_ISA {
void render_amorphous_rows(const PixelParams<double>& p, const AmorphousParams<double>& a, float* image,
                           double* row_omega, int threads, const RowHooks& hooks) {
    HWY_NAMESPACE::render_amorphous_rows(p, a, image, row_omega, threads, hooks);
}
void render_amorphous_rows(const PixelParams<float>& p, const AmorphousParams<float>& a, float* image,
                           double* row_omega, int threads, const RowHooks& hooks) {
    HWY_NAMESPACE::render_amorphous_rows(p, a, image, row_omega, threads, hooks);
}
long long render_rows(const PixelParams<double>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                      int threads, const RowHooks& hooks) {
    return HWY_NAMESPACE::render_rows(p, cutoff, from_pixel, image, threads, hooks);
}
long long render_rows(const PixelParams<float>& p, InterpCutoff cutoff, long long from_pixel, float* image, int threads,
                      const RowHooks& hooks) {
    return HWY_NAMESPACE::render_rows(p, cutoff, from_pixel, image, threads, hooks);
}
const char* target() { return hwy::TargetName(HWY_STATIC_TARGET); }
}  // namespace NB_CPU_ISA
}  // namespace NB_SIMD_VARIANT
}  // namespace nb
HWY_AFTER_NAMESPACE();
