// From user configuration to a fully resolved Experiment, in C nanoBragg's
// order (which matters: its random generator state flows from the -misset
// random draw into the mosaic domains and on to the noise image).
#pragma once

#include <functional>
#include <stdexcept>

#include "engine/config.hpp"
#include "engine/experiment.hpp"

namespace nb {

// The command line lacks a required input (structure factors or a unit cell).
struct MissingInput : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws MissingInput, or std::runtime_error naming the flag or file, on bad input.
Experiment prepare_experiment(const SimConfig& cfg);

// The same, reusing structure factors already loaded (series and shot lists
// read the HKL file once).
Experiment prepare_experiment(const SimConfig& cfg, const HklGrid& preloaded);

// The same, taking the grid over without a copy (moved from only when the
// set-up succeeds: a refused set-up leaves it intact).
Experiment prepare_experiment(const SimConfig& cfg, HklGrid&& preloaded);

// The same, calling `geometry_ready` once everything but the structure factors
// is set up (the detector, sampling, sources and mosaic domains: what
// evaluation_count reads), before the HKL file is read: a GPU can start
// meanwhile once the run's size says it is wanted.
Experiment prepare_experiment(const SimConfig& cfg, const std::function<void(const Experiment&)>& geometry_ready);

}  // namespace nb
