// What the CLI prints: C nanoBragg's set-up summary and statistics lines,
// and a progress bar on terminals.
#pragma once

#include "engine/experiment.hpp"
#include "engine/render.hpp"

namespace nb {

void print_setup(const Experiment& e);
void print_stats(const ImageStats& s);

class ProgressBar {
public:
    explicit ProgressBar(bool enabled) : enabled_(enabled) {}
    bool enabled() const { return enabled_; }
    void update(double fraction);
    void finish();

private:
    bool enabled_;
    int last_ = -1;
};

}  // namespace nb
