// Output images in C nanoBragg's formats: raw float, SMV (unsigned short
// with its 512-byte header), PGM, and the Poisson noise image. Files are
// built in memory and committed together (temp file + rename), so a failed
// run never leaves a half-written image or clobbers an existing one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/experiment.hpp"
#include "engine/render.hpp"

namespace nb {

struct OutputFile {
    std::string path;
    std::string flag;  // the flag that named it, for error messages
    std::vector<char> bytes;
};

std::vector<char> float_image_bytes(const std::vector<float>& image);

// C's SMV header text for this experiment, padded to 512 bytes.
std::string smv_header(const Experiment& e);

// Noiseless integer image: pixel*scale + adc, rounded, clipped to 0..65535.
// `scale` <= 0 selects C's auto scale 55000/max_I; the scale used is returned.
std::vector<uint16_t> int_image(const Experiment& e, const std::vector<float>& image, double max_I,
                                double& scale);

// Poisson noise image in C's generator order; returns photons and overloads.
std::vector<uint16_t> noise_image(Experiment& e, const std::vector<float>& image, int64_t seed,
                                  double& photons, int& overloads);

std::vector<char> pgm_bytes(const Experiment& e, const std::vector<float>& image, double& pgm_scale,
                            double intfile_scale, double rmsd);

std::vector<char> smv_bytes(const Experiment& e, const std::vector<uint16_t>& data);

// Writes every file to a temporary name beside its target, then renames them
// all; on any failure removes the temporaries and throws naming the flag/file.
void commit_outputs(const std::vector<OutputFile>& files);

}  // namespace nb
