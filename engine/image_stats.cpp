#include "engine/image_stats.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace nb {

ImageStats stats_from_sums(const Experiment& e, double max_I, long long max_index, double sum, double sumsqr,
                           long long n, double dev, long long m, long long nonfinite) {
    ImageStats st;
    st.max_I = max_I;
    if (max_index >= 0) {
        const int os = e.samp.oversample;
        const double sub = e.det.pixel_size / os;
        st.max_I_x = sub * ((max_index % e.det.fpixels) * os + os - 1) + sub / 2.0;
        st.max_I_y = sub * ((max_index / e.det.fpixels) * os + os - 1) + sub / 2.0;
    }
    st.counted = n;
    st.sum = sum;
    long long sumn = n <= 0 ? 1 : n;
    st.mean = sum / sumn;
    if (sumn <= 1) sumn = 2;
    st.rms = std::sqrt(sumsqr / (sumn - 1));
    if (m <= 1) m = 2;
    st.rmsd = std::sqrt(dev / (m - 1));
    st.nonfinite = nonfinite;
    return st;
}

namespace {

// Squared deviations from `mean` over every ROI pixel, in C's order.
void c_order_spread(const Experiment& e, const std::vector<float>& image, const StatsRows& r, double mean, double& dev,
                    long long& m, long long& nonfinite) {
    dev = 0, m = 0, nonfinite = 0;
    for (int sp = r.s_lo; sp <= r.s_hi; ++sp)
        for (int f = r.f_lo; f <= r.f_hi; ++f) {
            const float v = image[(long long)sp * e.det.fpixels + f];
            if (!std::isfinite(v)) ++nonfinite;
            const double t = v - mean;
            dev += t * t;
            ++m;
        }
}

// C's loops: one pass for max, sum and sum of squares over unmasked ROI
// pixels, a second for the squared deviations over every ROI pixel.
ImageStats c_order_stats(const Experiment& e, const std::vector<float>& image, const StatsRows& r) {
    const int fp = e.det.fpixels;
    double sum = 0, sumsqr = 0, max_I = 0;
    long long n = 0, max_index = -1;
    for (int sp = r.s_lo; sp <= r.s_hi; ++sp)
        for (int f = r.f_lo; f <= r.f_hi; ++f) {
            const long long idx = (long long)sp * fp + f;
            if (!e.mask.empty() && e.mask[idx] == 0) continue;
            const double v = image[idx];
            if (v > max_I) {
                max_I = v;
                max_index = idx;
            }
            sum += v;
            sumsqr += c_square(image[idx]);
            ++n;
        }
    double dev;
    long long m, nonfinite;
    c_order_spread(e, image, r, sum / (n <= 0 ? 1 : n), dev, m, nonfinite);
    return stats_from_sums(e, max_I, max_index, sum, sumsqr, n, dev, m, nonfinite);
}

}  // namespace

StatsRows stats_rows(const Experiment& e) {
    StatsRows r;
    const Sampling& s = e.samp;
    r.s_lo = std::max(s.roi_ymin, 0);
    r.s_hi = std::min(s.roi_ymax, e.det.spixels - 1);
    r.f_lo = std::max(s.roi_xmin, 0);
    r.f_hi = std::min(s.roi_xmax, e.det.fpixels - 1);
    if (r.s_hi < r.s_lo || r.f_hi < r.f_lo) r.s_hi = r.s_lo - 1, r.f_hi = r.f_lo - 1;
    r.rows.resize((size_t)(r.s_hi - r.s_lo + 1));
    return r;
}

// Four interleaved sums (no serial chain of additions), in a fixed order:
// pixel f0 + 4 j + k goes to sum k, the tail to sum 0.
RowStats row_stats(const Experiment& e, const float* image, int s, const StatsRows& layout) {
    constexpr int lanes = 4;
    RowStats q;
    const long long row0 = (long long)s * e.det.fpixels;
    const float* row = image + row0;
    const uint16_t* mask = e.mask.empty() ? nullptr : e.mask.data() + row0;
    const int f0 = layout.f_lo, f1 = layout.f_hi + 1;
    double sum[lanes] = {}, sumsqr[lanes] = {}, all[lanes] = {};
    long long n = 0, nonfinite = 0;
    auto visit = [&](int f, int k) {
        const double v = row[f];
        all[k] += v;
        nonfinite += !std::isfinite(v);
        if (mask && mask[f] == 0) return;
        if (v > q.max_I) {  // strict: the first maximum in C's order wins
            q.max_I = v;
            q.max_index = row0 + f;
        }
        sum[k] += v;
        sumsqr[k] += c_square(row[f]);
        ++n;
    };
    int f = f0;
    if (mask) {
        for (; f + lanes <= f1; f += lanes) {
#pragma GCC unroll 4
            for (int k = 0; k < lanes; ++k) visit(f + k, k);
        }
        for (; f < f1; ++f) visit(f, 0);
    } else {
        // The same sums in the same order without a branch per pixel (it
        // vectorizes): every pixel counts, the maximum is found after the row.
        double top = q.max_I;
        auto add = [&](int f, int k) {
            const double v = row[f];
            all[k] += v;
            sumsqr[k] += c_square(row[f]);
            nonfinite += !(std::fabs(v) <= std::numeric_limits<double>::max());
            top = v > top ? v : top;
        };
        for (; f + lanes <= f1; f += lanes) {
#pragma GCC unroll 4
            for (int k = 0; k < lanes; ++k) add(f + k, k);
        }
        for (; f < f1; ++f) add(f, 0);
        for (int k = 0; k < lanes; ++k) sum[k] = all[k];
        n = f1 - f0;
        if (top > q.max_I) {  // the first pixel holding it: C's first-maximum rule
            int at = f0;
            while ((double)row[at] != top) ++at;
            q.max_I = top;
            q.max_index = row0 + at;
        }
    }
    q.n = n;
    q.nonfinite = nonfinite;
    q.m = f1 - f0;
    for (int k = 0; k < lanes; ++k) q.sum += sum[k], q.sumsqr += sumsqr[k], q.mean_all += all[k];
    q.mean_all /= std::max<long long>(q.m, 1);
    double dev[lanes] = {};
    f = f0;
    for (; f + lanes <= f1; f += lanes) {
#pragma GCC unroll 4
        for (int k = 0; k < lanes; ++k) {
            const double t = row[f + k] - q.mean_all;
            dev[k] += t * t;
        }
    }
    for (; f < f1; ++f) {
        const double t = row[f] - q.mean_all;
        dev[0] += t * t;
    }
    for (int k = 0; k < lanes; ++k) q.spread_all += dev[k];
    return q;
}

ImageStats combine_rows(const Experiment& e, const std::vector<float>& image, const StatsRows& r) {
    double sum = 0, sumsqr = 0, max_I = 0;
    long long n = 0, m = 0, max_index = -1, nonfinite = 0;
    for (const RowStats& q : r.rows) {
        if (q.max_I > max_I) {
            max_I = q.max_I;
            max_index = q.max_index;
        }
        sum += q.sum;
        sumsqr += q.sumsqr;
        n += q.n;
        m += q.m;
        nonfinite += q.nonfinite;
    }
    const double mean = sum / (n <= 0 ? 1 : n);
    // Squared deviations from the image mean, row by row: a row's spread about
    // its own mean plus m (row mean - mean)^2 (exact algebra, stable rounding).
    // A non-finite pixel makes that NaN where C's loop may give inf: then
    // C's loop itself.
    double dev = 0;
    if (nonfinite == 0) {
        for (const RowStats& q : r.rows) {
            const double shift = q.mean_all - mean;
            dev += q.spread_all + q.m * shift * shift;
        }
    } else {
        c_order_spread(e, image, r, mean, dev, m, nonfinite);
    }
    return stats_from_sums(e, max_I, max_index, sum, sumsqr, n, dev, m, nonfinite);
}

ImageStats image_stats(const Experiment& e, const std::vector<float>& image, bool c_order, int threads) {
    StatsRows r = stats_rows(e);
    if (c_order) return c_order_stats(e, image, r);
    const int rows = (int)r.rows.size();
#pragma omp parallel for schedule(static) num_threads(threads > 0 ? threads : omp_get_max_threads())
    for (int i = 0; i < rows; ++i) r.rows[i] = row_stats(e, image.data(), r.s_lo + i, r);
    return combine_rows(e, image, r);
}

}  // namespace nb
