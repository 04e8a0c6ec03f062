// One pixel's intermediate values, printed as C nanoBragg prints them:
// -printout (its block per pixel) and -trace_pixel (the TRACE_C lines of the
// reference's traced build), so that a user can diff the two programs' lines.
// The pixel is replayed on the host by render_pixel with an observer
// (kernels/pixel_physics.hpp): the same physics, in the run's precision.
#pragma once
#include <cstdio>
#include <string>

#include "engine/render.hpp"

namespace nb {

struct PixelReportInput {
    const Experiment* frame = nullptr;  // the frame's geometry (a geometry_copy will do)
    const HklGrid* hkl = nullptr;       // its structure factors
    Precision precision = Precision::Double;
    const RenderResult* result = nullptr;  // the rendered frame: its pixel values and interpolation switch-off
};

// Which pixels to report: -printout (printout_f < 0: every rendered pixel,
// in ROI and not masked) and -trace_pixel (trace_f < 0: none).
struct PixelReports {
    bool printout = false;
    int printout_f = -1, printout_s = -1;
    int trace_f = -1, trace_s = -1;
    bool trace_skipped = false;  // trace_f's pixel renders nothing: C's TRACE_CONFIG line alone
};

// The reports in C's order: TRACE_CONFIG, then pixel by pixel in raster order
// the traced pixel's TRACE_C lines and each printed pixel's -printout block.
// The pixels asked for by position must be rendered (pixel_report_skipped).
void print_pixel_reports(std::FILE* out, const PixelReportInput& in, const PixelReports& what);

// Why pixel (f, s) of e renders nothing to report ("" when it renders): outside
// the -roi or masked. Outside the detector is refused up front
// (pixel_report_target_problem).
std::string pixel_report_skipped(const Experiment& e, int f, int s);

// "" or what is wrong with asking flag `flag` for pixel (f, s) of e's detector.
std::string pixel_report_target_problem(const Experiment& e, const std::string& flag, int f, int s);

}  // namespace nb
