// Shot lists for serial crystallography (-shots FILE): one image per line,
// each with its own orientation and, optionally, fluence, crystal size,
// mosaicity and wavelength. Format: docs/shots.md.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "engine/config.hpp"

namespace nb {

struct Shot {
    int line = 0;
    enum class Orientation { Misset, Random, Matrix } orientation = Orientation::Misset;
    double misset_deg[3] = {0, 0, 0};
    long random_seed = 0;
    std::array<double, 9> matrix{};
    std::optional<double> fluence, N, mosaic_deg, lambda_A, xtalsize_mm;
};

// Throws std::runtime_error naming -shots, the file and the line.
std::vector<Shot> read_shots(const std::string& path);

// The command line's configuration with one shot's settings applied.
SimConfig apply_shot(const SimConfig& base, const Shot& shot);

}  // namespace nb
