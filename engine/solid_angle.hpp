// C nanoBragg's "solid angle subtended by detector" line: the solid angle of
// every rendered pixel (in the -roi, not masked), summed as C sums it.
#pragma once

#include <string>

#include "engine/experiment.hpp"

namespace nb {

// C's sum over rendered pixels, layers and sub-pixels. C prints it over its
// step count, e.steps (sources x mosaic x phi x oversample^2: the layers are
// not in it, so a thick sensor counts each pixel once per layer); the sum
// depends on the detector alone, the steps on the frame (a shot's mosaic).
double detector_solid_angle_sum(const Experiment& e);

// C's line, with its "% sphere" (C's blank line before it ends its progress meter).
std::string solid_angle_text(double steradians);

}  // namespace nb
