// What happens to a rendered image: the device it renders on, and the files
// the command line asks for. Shared by the nanoBragg program and the Python
// module (python/module.cpp), so both choose devices and write files alike.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/experiment.hpp"
#include "engine/image_io.hpp"
#include "engine/render.hpp"

namespace nb {

// -device and -precision as RenderOptions. Throws UsageError for -device cuda
// without a GPU; selects GPU `local_rank` (modulo the count) when rendering
// there. `log` reports the CPU fallback of -device auto.
RenderOptions render_options(const SimConfig& cfg, int local_rank, bool log);

// The warnings a rendered image may carry (empty when none): interpolation
// switched off part-way, as C does; pixels that are not finite.
std::string interpolation_warning(const Experiment& e, const RenderResult& r);
std::string nonfinite_warning(const RenderResult& r);

// Which image files to write.
struct OutputSelection {
    bool float_file = false, int_file = false, noise_file = false, pgm_file = false, png_file = false;
};

// The command line's files: C's defaults (float, int, pgm and noise images)
// less those turned off, plus -pngfile when given.
OutputSelection cli_outputs(const SimConfig& cfg);

// Everything one image's files need, owned, so they can be written while the
// next image renders.
struct FrameOutput {
    Experiment exp;  // header fields and the noise generator (no HKL grid needed)
    RenderResult result;
    int index = 0;  // frame of a series, from 0
};

// The files `which` selects for one image, named from cfg's patterns (frame
// numbers in a series). `print` echoes C's scale lines (intfile_scale etc.)
// and, when written, the noise image's photon count.
std::vector<OutputFile> image_output_files(const SimConfig& cfg, const std::shared_ptr<FrameOutput>& fo,
                                           const OutputSelection& which, bool print);

// Refuses a bad output file name pattern before anything renders.
void check_output_names(const SimConfig& cfg);

}  // namespace nb
