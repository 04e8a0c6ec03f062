// Detector set-up: pixel counts, beam-centre conventions, pivots, rotations.
#pragma once

#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/experiment.hpp"

namespace nb {

// Applies C nanoBragg's detector rules to the configuration: pixel counts
// from sizes, convention axes and beam-centre mapping, pivot, rotations
// (x, y, z, then twotheta), and the derived centres (Fbeam/Sbeam, Fclose/
// Sclose, ORGX/ORGY, DIALS origin).
DetectorGeometry resolve_detector(const SimConfig& cfg, std::vector<std::string>& notes);

// Pixel counts before the geometry: C derives them from detsize and pixel size.
void resolve_pixel_counts(const SimConfig& cfg, int& fpixels, int& spixels, double& detsize_f, double& detsize_s);

const char* convention_name(Convention c);

// The WARNING printed when C's substring matching made "-twotheta_axis X Y Z"
// also "-twotheta X" (nanoBragg and nonBragg).
std::string twotheta_from_axis_warning(double twotheta);  // radians

}  // namespace nb
