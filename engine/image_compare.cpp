#include "engine/image_compare.hpp"

#include <algorithm>
#include <cmath>

namespace nb {

namespace {

struct Peak {
    float value;
    int f, s;
};

// The brightest local maxima (3x3) inside the region, brightest first.
std::vector<Peak> top_peaks(const std::vector<float>& img, int fp, int sp, CompareRegion r, int n) {
    std::vector<Peak> peaks;
    for (int s = r.ymin; s <= r.ymax; ++s)
        for (int f = r.xmin; f <= r.xmax; ++f) {
            float v = img[(size_t)s * fp + f];
            if (!(v > 0)) continue;
            bool is_max = true;
            for (int ds = -1; ds <= 1 && is_max; ++ds)
                for (int df = -1; df <= 1; ++df) {
                    int ff = f + df, ss = s + ds;
                    if ((df || ds) && ff >= 0 && ss >= 0 && ff < fp && ss < sp && img[(size_t)ss * fp + ff] > v) {
                        is_max = false;
                        break;
                    }
                }
            if (is_max) peaks.push_back({v, f, s});
        }
    std::sort(peaks.begin(), peaks.end(), [](const Peak& x, const Peak& y) {
        return x.value != y.value ? x.value > y.value : (x.s != y.s ? x.s < y.s : x.f < y.f);
    });
    if ((int)peaks.size() > n) peaks.resize(n);
    return peaks;
}

}  // namespace

ImageComparison compare_images(const std::vector<float>& a, const std::vector<float>& b, int fp, int sp,
                               CompareRegion r, int npeaks) {
    r.xmin = std::max(r.xmin, 0);
    r.ymin = std::max(r.ymin, 0);
    r.xmax = std::min(r.xmax, fp - 1);
    r.ymax = std::min(r.ymax, sp - 1);
    ImageComparison c;
    double n = 0, sab = 0, saa = 0, sbb = 0, se = 0;
    bool nonfinite = false;
    for (int s = r.ymin; s <= r.ymax; ++s)
        for (int f = r.xmin; f <= r.xmax; ++f) {
            double x = a[(size_t)s * fp + f], y = b[(size_t)s * fp + f];
            nonfinite = nonfinite || !std::isfinite(x) || !std::isfinite(y);
            c.sum_a += x;
            c.sum_b += y;
            saa += x * x;
            sbb += y * y;
            sab += x * y;
            se += (x - y) * (x - y);
            c.max_abs_diff = std::max(c.max_abs_diff, std::fabs(x - y));
            n += 1;
        }
    if (n > 0) {
        double va = saa - c.sum_a * c.sum_a / n, vb = sbb - c.sum_b * c.sum_b / n;
        c.correlation =
            (va > 0 && vb > 0) ? (sab - c.sum_a * c.sum_b / n) / std::sqrt(va * vb) : (c.max_abs_diff == 0 ? 1.0 : 0.0);
        c.rmse = std::sqrt(se / n);
    }
    // a NaN or infinite pixel agrees with nothing (std::max above would drop a
    // NaN difference, and the fallback call two NaN images a perfect match)
    if (nonfinite) c.correlation = c.max_abs_diff = NAN;
    c.sum_ratio = c.sum_b != 0 ? c.sum_a / c.sum_b : (c.sum_a == 0 ? 1.0 : INFINITY);
    if (nonfinite) c.sum_ratio = NAN;

    std::vector<Peak> pb = top_peaks(b, fp, sp, r, npeaks), pa = top_peaks(a, fp, sp, r, npeaks * 2);
    c.peaks_compared = (int)pb.size();
    double total = 0;
    for (const Peak& p : pb) {
        double best = 1e30;
        for (const Peak& q : pa) best = std::min(best, std::hypot(q.f - p.f, q.s - p.s));
        if (best <= 1.0 + 1e-9) {
            ++c.peaks_matched;
            total += best;
            c.peak_error_max = std::max(c.peak_error_max, best);
        }
    }
    c.peak_error_mean = c.peaks_matched ? total / c.peaks_matched : 0;
    return c;
}

}  // namespace nb
