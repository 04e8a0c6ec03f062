// Shot lists for serial crystallography (-shots FILE): one image per line,
// each with its own orientation and, optionally, fluence, crystal size,
// mosaicity and wavelength. Format: docs/shots.md.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/config.hpp"
#include "engine/experiment.hpp"

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

// Rethrows the exception being handled, of its class, with the shot's file
// and line before its message. Only inside a catch block.
[[noreturn]] void rethrow_for_shot(const std::string& path, const Shot& shot);

// What setting up a shot found: its evaluations and the sampling counts its
// set-up chose itself (auto_selected_counts).
struct ShotSize {
    double evaluations = 0;
    std::vector<std::pair<std::string, long long>> chosen;
};

// Sets up every shot after the first (`first`, whose HKL grid each borrows)
// before anything renders, so that a shot that cannot be set up stops the
// run naming its line, with no file written; returns every shot's size,
// first's included.
std::vector<ShotSize> set_up_every_shot(const SimConfig& cfg, const std::vector<Shot>& shots, Experiment& first);

}  // namespace nb
