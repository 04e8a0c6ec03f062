// How long a render will take at best, and the refusal of runaway runs whose
// size nobody asked for: a typo such as -cell 100 100 2147483648 makes C
// nanoBragg (and us, before this check) auto-select 12,884,902-fold
// oversampling and run for years with a progress bar.
#pragma once
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/experiment.hpp"

namespace nb {

// Evaluations per second at best, measured (docs/performance.md, docs/gpu.md):
// the H200's float render kernel reached 8.4e10, one CPU core of the test
// machines at most 3e8. Optimistic on purpose: the estimate is a lower bound.
constexpr double kBestGpuEvalsPerSecond = 1e11;
constexpr double kBestCpuEvalsPerCoreSecond = 3e8;

// A run refused unless every count that makes it this long was given: one day
// at the best rate.
constexpr double kRunawaySeconds = 86400;

// Sampling counts the set-up chose itself (flag and value), those larger than 1.
std::vector<std::pair<std::string, long long>> auto_selected_counts(const Experiment& e, const SimConfig& cfg);

// The least time `frames` renders of e can take on this device.
double best_case_seconds(const Experiment& e, int frames, bool gpu, int cpu_threads);

// "" when the run may go ahead; else the one-line refusal naming what was
// auto-selected, the evaluation count and the flags that force it.
std::string runaway_refusal(const Experiment& e, const SimConfig& cfg, int frames, bool gpu, int cpu_threads);

// "3.2 h", "12 min", "4.1 days", "3e+05 years".
std::string human_duration(double seconds);

}  // namespace nb
