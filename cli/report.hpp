// What the CLI prints: C nanoBragg's set-up summary and statistics lines,
// and a progress bar on terminals.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "engine/experiment.hpp"
#include "engine/render.hpp"

namespace nb {

// noise_seed: the noise image's seed (C's "noise image paramters" block), when one is made
void print_setup(const Experiment& e, std::optional<int64_t> noise_seed);
void print_stats(const ImageStats& s);
// C's two statistics lines, as print_stats prints them
std::string stats_text(const ImageStats& s);

// One line redrawn in place on terminals: the bar, the frame of a series,
// evaluations per second and the time left (for a series, to its end).
class ProgressBar {
public:
    explicit ProgressBar(bool enabled) : enabled_(enabled) {}
    bool enabled() const { return enabled_; }
    // frame is 1-based; evaluations is this frame's total
    void start_frame(int frame, int nframes, double evaluations);
    void update(double fraction);
    void finish();

    // The text of the line (without '\r'), for the given progress of the
    // current frame, seconds spent on it, and its total evaluations.
    static std::string line(double fraction, double frame_seconds, double evaluations, int frame, int nframes);

private:
    bool enabled_;
    int last_pct_ = -1;
    double last_draw_ = -1;
    int frame_ = 1, nframes_ = 1;
    double evaluations_ = 0;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace nb
