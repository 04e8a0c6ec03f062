// From user configuration to a fully resolved Experiment, in C nanoBragg's
// order (which matters: its random generator state flows from the -misset
// random draw into the mosaic domains and on to the noise image).
#pragma once

#include "engine/config.hpp"
#include "engine/experiment.hpp"

namespace nb {

// Throws std::runtime_error (message names the flag or file) on bad input.
Experiment prepare_experiment(const SimConfig& cfg);

}  // namespace nb
