#include "engine/run_estimate.hpp"

#include <cstdio>

#include "engine/render.hpp"

namespace nb {

std::vector<std::pair<std::string, long long>> auto_selected_counts(const Experiment& e, const SimConfig& cfg) {
    const Sampling& s = e.samp;
    std::vector<std::pair<std::string, long long>> out;
    auto add = [&out](bool chosen, const char* flag, long long value) {
        if (chosen && value > 1) out.emplace_back(flag, value);
    };
    add(cfg.oversample <= 0, "-oversample", s.oversample);
    add(cfg.phisteps <= 0, "-phisteps", s.phisteps);
    add(cfg.mosaic_domains <= 0, "-mosaic_domains", s.mosaic_domains);
    add(cfg.hdivsteps <= 0, "-hdivsteps", s.hdivsteps);
    add(cfg.vdivsteps <= 0, "-vdivsteps", s.vdivsteps);
    add(cfg.dispsteps <= 0, "-dispsteps", s.dispsteps);
    add(cfg.detector_thicksteps <= 0, "-thicksteps", s.thicksteps);
    return out;
}

double best_case_seconds(double evaluations, bool gpu, int cpu_threads) {
    const double rate = gpu ? kBestGpuEvalsPerSecond : kBestCpuEvalsPerCoreSecond * (cpu_threads > 0 ? cpu_threads : 1);
    return evaluations / rate;
}

double best_case_seconds(const Experiment& e, int frames, bool gpu, int cpu_threads) {
    return best_case_seconds(evaluation_count(e) * (frames > 0 ? frames : 1), gpu, cpu_threads);
}

bool sooner_on_the_cpu(double evaluations, int cpu_threads) {
    const double cores = cpu_threads > 0 ? cpu_threads : 1;
    return evaluations / (kSlowCpuEvalsPerCoreSecond * cores) < kGpuProcessStartSeconds;
}

std::string short_run_on_the_cpu(double evaluations, int cpu_threads) {
    char buf[240];
    std::snprintf(buf, sizeof buf,
                  "-device auto: a short run (%.3g evaluations, %d CPU thread%s) renders on the CPU, done before a "
                  "GPU would have started (about %.2g s); -device cuda to use one",
                  evaluations, cpu_threads, cpu_threads == 1 ? "" : "s", kGpuProcessStartSeconds);
    return buf;
}

std::string human_duration(double seconds) {
    char buf[64];
    if (seconds < 120)
        std::snprintf(buf, sizeof buf, "%.0f s", seconds);
    else if (seconds < 7200)
        std::snprintf(buf, sizeof buf, "%.0f min", seconds / 60);
    else if (seconds < 2 * 86400)
        std::snprintf(buf, sizeof buf, "%.1f h", seconds / 3600);
    else if (seconds < 730 * 86400)
        std::snprintf(buf, sizeof buf, "%.1f days", seconds / 86400);
    else
        std::snprintf(buf, sizeof buf, "%.2g years", seconds / (365.25 * 86400));
    return buf;
}

std::string runaway_refusal(const Experiment& e, const SimConfig& cfg, int frames, bool gpu, int cpu_threads) {
    return runaway_refusal(auto_selected_counts(e, cfg), evaluation_count(e) * (frames > 0 ? frames : 1), gpu,
                           cpu_threads);
}

std::string runaway_refusal(const std::vector<std::pair<std::string, long long>>& chosen, double evaluations, bool gpu,
                            int cpu_threads) {
    const double seconds = best_case_seconds(evaluations, gpu, cpu_threads);
    if (!(seconds > kRunawaySeconds)) return "";
    if (chosen.empty()) return "";  // every count was given: the user asked for this run
    std::string what, force;
    for (const auto& [flag, value] : chosen) {
        what += (what.empty() ? "" : ", ") + flag + " " + std::to_string(value);
        force += (force.empty() ? "" : " ") + flag + " " + std::to_string(value);
    }
    const std::string where = gpu ? "the GPU" : "the CPU (" + std::to_string(cpu_threads) + " threads)";
    char buf[200];
    std::snprintf(buf, sizeof buf, "%.3g evaluations, at least %s on %s", evaluations, human_duration(seconds).c_str(),
                  where.c_str());
    return "auto-selected sampling (" + what + ") makes this run " + buf +
           "; check the cell, -N, -xtalsize, the ranges and steps, or give the counts explicitly (" + force +
           ") to run it anyway";
}

}  // namespace nb
