// The statistics C nanoBragg prints after rendering (max_I and where, mean,
// rms, rmsd), which also set the -intfile and -pgmfile scales.
#pragma once
#include <vector>

#include "engine/experiment.hpp"

namespace nb {

struct ImageStats {
    double max_I = 0, max_I_x = 0, max_I_y = 0;  // position in meters (last sub-pixel, as C)
    double sum = 0, mean = 0, rms = 0, rmsd = 0;
    long long counted = 0;
    long long nonfinite = 0;  // NaN or infinite pixels in the ROI (C writes them without a word)
};

// C's statistics over the ROI (masked pixels count in rmsd only, as in C).
// `c_order`: C's summation order, one pass over the whole image, so that the
// printed digits and the PGM scale are C's (-exact); otherwise each row is
// summed on its own (four interleaved sums), in parallel, and the row sums
// are added in row order:
// the same numbers for any thread count, C's up to rounding.
ImageStats image_stats(const Experiment& e, const std::vector<float>& image, bool c_order, int threads = 0);

}  // namespace nb
