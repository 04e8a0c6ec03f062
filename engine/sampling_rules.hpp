// C nanoBragg's rules for filling in missing (count, range, step) triples:
// spindle phi, divergence, dispersion, sensor layers and mosaic domains.
#pragma once

#include <string>
#include <vector>

namespace nb {

struct StepTriple {
    int steps;
    double range;
    double step;
};

// ceil(range / step) as a step count. C's int conversion overflows (undefined)
// past INT_MAX; we refuse with a message naming `flags` instead.
int step_count(double range, double step, const char* flags);

// Spindle rotation: phisteps/osc/phistep with -1 meaning "not given".
StepTriple resolve_phi_steps(int phisteps, double osc, double phistep);

// Divergence (h or v) and dispersion share one rule set, followed by the
// sanity check that collapses any non-positive result to a single step.
StepTriple resolve_spread_steps(int steps, double range, double step, const char* flags = "-divrange/-divstep");

// Sensor layers: thickness, layer step and count.
StepTriple resolve_thickness_steps(int steps, double thick, double step);

struct MosaicChoice {
    int domains;
    double spread;
};
MosaicChoice resolve_mosaic(int domains, double spread, std::vector<std::string>& notes);

}  // namespace nb
