// Multi-panel detectors (-expt): the engine's image stacks the panels' rows
// (Experiment::panels); these take one panel back out of it, for the files
// written one per panel and for the PNG preview of the whole detector.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/experiment.hpp"
#include "engine/image_io.hpp"

namespace nb {

int panel_count(const Experiment& e);

// Panel q's frame into d, with the centres C reports from it (beam centre,
// closest point, ORGX/ORGY, DIALS origin); d.beam and d.pixel_size as they are.
void set_panel_frame(DetectorGeometry& d, const DetectorPanel& q);

// Panel k as a single-panel experiment (its frame in det, its rows only; no
// HKL grid): what its SMV, CBF and PGM headers describe.
Experiment panel_experiment(const Experiment& e, int k);

// Panel k's pixels of a stacked image.
template <typename T>
std::vector<T> panel_pixels(const Experiment& e, const std::vector<T>& image, int k) {
    const size_t n = (size_t)e.det.fpixels * e.panel_rows();
    return std::vector<T>(image.begin() + (ptrdiff_t)(n * k), image.begin() + (ptrdiff_t)(n * (k + 1)));
}
NoiseImage panel_noise(const Experiment& e, const NoiseImage& noise, int k);

// name.ext -> name_p03.ext (two digits, three from 100 panels): panel k's file.
// In a pattern the tag goes before the frame number: sweep_%04d.cbf ->
// sweep_p03_%04d.cbf.
std::string panel_file_name(const std::string& name, int k, int panels);

// The whole detector as one picture: every pixel's centre projected along the
// beam onto the plane across it, `width` pixels wide (the brightest pixel
// wins where several land), gaps and the space around the panels empty.
// Returns the picture (fast-major) and its height.
std::vector<float> detector_layout(const Experiment& e, const std::vector<float>& image, int width, int& height);

}  // namespace nb
