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

// -device auto in a program that renders and exits (nanoBragg, nonBragg):
// every GPU process took 0.33-0.42 s whatever its work (H200, 2026-11-30,
// reports/gpu-2026-11-30.md), most of it CUDA's start, where the CPU's
// set-up takes 20-30 ms. A run the CPU surely finishes before that stays on
// the CPU. "Surely": at the slowest rate our CPU renders were measured at
// per core (tricubic interpolation in double, 1.7e7 evaluations per core
// second on a 2-core VM), and a start a quarter below the GPU's measured.
constexpr double kGpuProcessStartSeconds = 0.25;
constexpr double kSlowCpuEvalsPerCoreSecond = 1.5e7;

// Whether `evaluations` (every frame's) render on `cpu_threads` cores before
// a GPU process would have started.
bool sooner_on_the_cpu(double evaluations, int cpu_threads);

// The log line of -device auto's choice of the CPU for a short run.
std::string short_run_on_the_cpu(double evaluations, int cpu_threads);

// A run refused unless every count that makes it this long was given: one day
// at the best rate.
constexpr double kRunawaySeconds = 86400;

// Sampling counts the set-up chose itself (flag and value), those larger than 1.
std::vector<std::pair<std::string, long long>> auto_selected_counts(const Experiment& e, const SimConfig& cfg);

// The least time `frames` renders of e can take on this device.
double best_case_seconds(const Experiment& e, int frames, bool gpu, int cpu_threads);

// The least time `evaluations` take on this device.
double best_case_seconds(double evaluations, bool gpu, int cpu_threads);

// "" when the run may go ahead; else the one-line refusal naming what was
// auto-selected, the evaluation count and the flags that force it.
std::string runaway_refusal(const Experiment& e, const SimConfig& cfg, int frames, bool gpu, int cpu_threads);

// The same for a run of `evaluations` in all whose counts `chosen`
// (auto_selected_counts) were picked by the set-up.
std::string runaway_refusal(const std::vector<std::pair<std::string, long long>>& chosen, double evaluations, bool gpu,
                            int cpu_threads);

// "3.2 h", "12 min", "4.1 days", "3e+05 years".
std::string human_duration(double seconds);

}  // namespace nb
