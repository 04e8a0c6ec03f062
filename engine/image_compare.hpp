// Image agreement metrics shared by nb-compare and the tests: Pearson
// correlation, sums and their ratio, RMSE, max |difference|, and the position
// error of the brightest peaks matched within a 1-pixel gate.
#pragma once

#include <vector>

namespace nb {

struct CompareRegion {
    int xmin, xmax, ymin, ymax;  // inclusive
};

struct ImageComparison {
    double correlation = 0, sum_a = 0, sum_b = 0, sum_ratio = 0, rmse = 0, max_abs_diff = 0;
    int peaks_compared = 0, peaks_matched = 0;
    double peak_error_mean = 0, peak_error_max = 0;  // pixels
};

ImageComparison compare_images(const std::vector<float>& a, const std::vector<float>& b, int fpixels, int spixels,
                               CompareRegion roi, int peaks);

}  // namespace nb
