// The statistics C nanoBragg prints after rendering (max_I and where, mean,
// rms, rmsd), which also set the -intfile and -pgmfile scales.
#pragma once
#include <vector>

#include "engine/experiment.hpp"

namespace nb {

// A pixel's square as C adds it to its sum of squares: a float product
// (floatimage[i]*floatimage[i]), so a pixel above ~1.8e19 gives infinity and
// C prints rms= inf.
inline double c_square(float v) {
    const float sq = v * v;
    return sq;
}

struct ImageStats {
    double max_I = 0, max_I_x = 0, max_I_y = 0;  // position in meters (last sub-pixel, as C)
    double sum = 0, mean = 0, rms = 0, rmsd = 0;
    long long counted = 0;
    long long nonfinite = 0;  // NaN or infinite pixels in the ROI (C writes them without a word)
};

// C's statistics over the ROI (masked pixels count in rmsd only, as in C).
// `c_order`: C's summation order, one pass over the whole image, so that the
// printed digits and the PGM scale are C's (-exact). Otherwise from per-row
// sums (RowStats, in parallel) added in row order: the same numbers for any
// thread count, C's up to rounding.
ImageStats image_stats(const Experiment& e, const std::vector<float>& image, bool c_order, int threads = 0);

// The printed numbers from the sums, with C's formulas and its guards for
// n <= 1: max_I at image index max_index (-1: none), sum and sum of squares
// over n pixels, squared deviations `dev` over m pixels (rmsd).
ImageStats stats_from_sums(const Experiment& e, double max_I, long long max_index, double sum, double sumsqr,
                           long long n, double dev, long long m, long long nonfinite);

// What one detector row adds to the statistics; the CPU executors fill them
// as rows finish (kernels/cpu_launcher.hpp RowHooks), while the row is in cache.
struct RowStats {
    double sum = 0, sumsqr = 0, max_I = 0;  // unmasked ROI pixels
    long long max_index = -1, n = 0;
    double mean_all = 0, spread_all = 0;  // every ROI pixel: mean, sum of squared deviations from it
    long long m = 0, nonfinite = 0;
};

// Rows of the statistics: one entry per ROI row, from the first ROI row.
struct StatsRows {
    int s_lo = 0, s_hi = -1, f_lo = 0, f_hi = -1;
    std::vector<RowStats> rows;
};
StatsRows stats_rows(const Experiment& e);
RowStats row_stats(const Experiment& e, const float* image, int s, const StatsRows& layout);
ImageStats combine_rows(const Experiment& e, const std::vector<float>& image, const StatsRows& rows);

}  // namespace nb
