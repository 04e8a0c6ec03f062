// Pilatus-style miniCBF output (-cbffile): one file per frame, the Pilatus
// header (pixel size, distance, wavelength, start angle, increment, beam
// centre, exposure) and the noise image as byte-offset compressed int32.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/experiment.hpp"
#include "engine/image_io.hpp"

namespace nb {

// CBF byte-offset compression of int32 pixels (each value as its difference
// from the previous one in 1, 2 or 4 bytes, little-endian).
std::vector<unsigned char> cbf_byte_offset(const std::vector<int32_t>& pixels);

// The miniCBF file; `name` becomes the data block name. Throws
// std::runtime_error when the write fails.
void write_minicbf(std::FILE* f, const Experiment& e, const NoiseImage& noise, const std::string& name);

// Empty when a miniCBF header (a detector normal to the beam, fast axis +x,
// slow axis -y, rotation about +x, as readers assume) describes this
// geometry; otherwise what it cannot hold, for a warning.
std::string minicbf_geometry_limits(const DetectorGeometry& d, bool from_expt = false);

}  // namespace nb
