// Beam sources: a -sourcefile list, or C's generated grid of divergence
// points (elliptically trimmed unless -square_div) times dispersion steps.
#pragma once

#include <vector>

#include "engine/config.hpp"
#include "engine/experiment.hpp"

namespace nb {

Sources build_sources(const SimConfig& cfg, const DetectorGeometry& det, const Sampling& samp);

}  // namespace nb
