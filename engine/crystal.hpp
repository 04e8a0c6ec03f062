// Unit cell and orientation: -cell or a MOSFLM -mat file, -misset (angles or
// random), crystal size in cells, and C's oversampling recommendation.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/experiment.hpp"

namespace nb {

// Reads a MOSFLM A matrix (3 lines of a*, b*, c* x/y/z components, scaled by
// 1/lambda); throws std::runtime_error naming the file on failure.
std::array<double, 9> read_mosflm_matrix(const std::string& path);
std::array<double, 9> parse_mosflm_matrix(std::istream& in, const std::string& path);

// Builds the cell (uses ran for -misset random, consuming C's draws).
Crystal build_crystal(const SimConfig& cfg, Ran1& ran, int64_t& misset_seed, std::vector<std::string>& notes);

}  // namespace nb
