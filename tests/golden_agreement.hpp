// The parity measure of the golden suites (nanoBragg's and nonBragg's): a
// float image against C's, as Pearson correlation and sum ratio in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace nbtest {

// A raw float file's pixels.
inline std::vector<float> floats(const std::string& bytes) {
    std::vector<float> f(bytes.size() / sizeof(float));
    std::memcpy(f.data(), bytes.data(), f.size() * sizeof(float));
    return f;
}

struct Agreement {
    double corr = 0, sum_ratio = 0, max_rel = 0;  // max_rel: largest |difference| over C's largest |pixel|
};

// Two images without spread (all pixels equal) correlate 1 when identical, 0 otherwise.
inline Agreement compare(const std::vector<float>& ours, const std::vector<float>& ref) {
    double n = (double)ref.size(), sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, maxd = 0, maxr = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        double x = ref[i], y = ours[i];
        sx += x;
        sy += y;
        sxx += x * x;
        syy += y * y;
        sxy += x * y;
        maxd = std::max(maxd, std::fabs(x - y));
        maxr = std::max(maxr, std::fabs(x));
    }
    Agreement a;
    double vx = sxx - sx * sx / n, vy = syy - sy * sy / n;
    a.corr = (vx > 0 && vy > 0) ? (sxy - sx * sy / n) / std::sqrt(vx * vy) : (maxd == 0 ? 1.0 : 0.0);
    a.sum_ratio = sx != 0 ? sy / sx : (sy == 0 ? 1.0 : INFINITY);
    a.max_rel = maxd / (maxr > 0 ? maxr : 1.0);
    return a;
}

}  // namespace nbtest
