// Wall time per pipeline stage, printed to stderr when NB_TIMINGS is set (a
// profiling aid: which stage of a run takes the time, with no profiler).
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace nb {

class StageTimer {
public:
    explicit StageTimer(const char* name) : name_(name), t0_(std::chrono::steady_clock::now()) {}
    ~StageTimer() { stop(); }
    // prints the time so far once (a stage that ends before the scope does)
    void stop() {
        if (stopped_ || !enabled()) return;
        stopped_ = true;
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count();
        const double at = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start()).count();
        std::fprintf(stderr, "[timing] %-28s %9.1f ms   (ends %6.1f ms into the run)\n", name_, ms, at);
    }
    StageTimer(const StageTimer&) = delete;
    StageTimer& operator=(const StageTimer&) = delete;

    // the program's start, as near as a timer can know it: its static
    // initialization, after the loader's work
    static std::chrono::steady_clock::time_point start() { return start_; }

    static bool enabled() {
        static const bool on = std::getenv("NB_TIMINGS") != nullptr;
        return on;
    }

private:
    const char* name_;
    std::chrono::steady_clock::time_point t0_;
    bool stopped_ = false;
    static inline const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace nb
