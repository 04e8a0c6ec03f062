// The scalar OpenMP executor: render_pixel, one pixel at a time. It is the
// reference the SIMD executor (kernels/cpu_simd.cpp) is tested against, and
// runs when NB_CPU_ISA=scalar.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <functional>
#include <vector>

#include "kernels/amorphous_launcher.hpp"
#include "kernels/cpu_launcher.hpp"
#include "kernels/cpu_rows.hpp"
#include "kernels/pixel_physics.hpp"

namespace nb {

template <typename T>
PixelResult render_pixel_reference(const PixelParams<T>& p, int f, int s, InterpCutoff cutoff) {
    PixelResult r = render_pixel(p, f, s, cutoff);
    if (r.on_beam && p.reference) r = render_pixel(*p.reference, f, s, cutoff);
    return r;
}

template PixelResult render_pixel_reference<double>(const PixelParams<double>&, int, int, InterpCutoff);
template PixelResult render_pixel_reference<float>(const PixelParams<float>&, int, int, InterpCutoff);

namespace scalar {

template <typename T>
long long render_image_cpu(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                           int threads, const RowHooks& hooks) {
    const PixelSpan span = roi_span(p);
    const int s_lo = span.s_lo, s_hi = span.s_hi, f_lo = span.f_lo, f_hi = span.f_hi;
    long long first_failure = LLONG_MAX;
    if (span.empty()) return -1;
    std::atomic<long long> known_failure{LLONG_MAX};
    RowCount count{span.rows()};
    const int nthreads = threads > 0 ? threads : omp_get_max_threads();
    // each source's polarization frame once, as the other executors stage it:
    // the same function in this file's rounding, so the same bits as per pixel
    const std::vector<PolarizationFrame<T>> frames = source_polarization_frames(p);
    PixelParams<T> staged = p;
    staged.polar_frames = frames.data();

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads) reduction(min : first_failure)
    for (int s = s_lo; s <= s_hi; ++s) {
        PixelParams<T> row_panel;  // several panels: the row's frame, once per row
        const PixelParams<T>& q = p.panels ? (row_panel = panel_params(staged, s)) : staged;
        for (int f = f_lo; f <= f_hi; ++f) {
            const long long idx = (long long)s * p.fpixels + f;
            if (idx < from_pixel) continue;
            if (p.mask && p.mask[idx] == 0) continue;
            if (idx > known_failure.load(std::memory_order_relaxed)) break;
            store_reference_pixel(q, f, s, cutoff, idx, image, first_failure, known_failure);
        }
        row_finished(hooks, count, s, (long long)s * p.fpixels + f_hi <= known_failure.load(std::memory_order_relaxed));
    }
    return first_failure == LLONG_MAX ? -1 : first_failure;
}

template long long render_image_cpu<double>(const PixelParams<double>&, InterpCutoff, long long, float*, int,
                                            const RowHooks&);
template long long render_image_cpu<float>(const PixelParams<float>&, InterpCutoff, long long, float*, int,
                                           const RowHooks&);

template <typename T>
void render_amorphous_cpu(const PixelParams<T>& p, const AmorphousParams<T>& a, float* image, double* row_omega,
                          int threads, const RowHooks& hooks) {
    const PixelSpan span = roi_span(p);
    if (span.empty()) return;
    const std::vector<PolarizationFrame<T>> frames = source_polarization_frames(p);
    RowCount count{span.rows()};
    const int nthreads = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
    for (int s = span.s_lo; s <= span.s_hi; ++s) {
        PixelParams<T> row_panel;
        const PixelParams<T>& q = p.panels ? (row_panel = panel_params(p, s)) : p;
        double row_sum = 0;
        for (int f = span.f_lo; f <= span.f_hi; ++f) {
            const long long idx = (long long)s * p.fpixels + f;
            if (p.mask && p.mask[idx] == 0) continue;
            double omega = 0, values[kMaxMaterials];
            render_amorphous_pixel(q, a, frames.data(), f, s, values, &omega);
            store_amorphous(a, image[idx], values);
            row_sum += omega;
        }
        row_omega[s] = row_sum;
        row_finished(hooks, count, s);
    }
}

template void render_amorphous_cpu<double>(const PixelParams<double>&, const AmorphousParams<double>&, float*, double*,
                                           int, const RowHooks&);
template void render_amorphous_cpu<float>(const PixelParams<float>&, const AmorphousParams<float>&, float*, double*,
                                          int, const RowHooks&);

}  // namespace scalar
}  // namespace nb
