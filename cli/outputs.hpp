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

// -device auto|cpu|cuda as a Device. Throws UsageError for cuda without a
// usable GPU, saying why. auto's fall-back to the CPU is a warning when a
// GPU may be there and cannot be used (an old driver); `log` also reports
// the plain one.
Device choose_device(const std::string& device, bool log);

// -device auto in a program that renders once and exits (nanoBragg,
// nonBragg): "cpu" for a run the CPU finishes before CUDA would have started
// (engine/run_estimate.hpp), with a line that says so when `log`; else
// `device` unchanged.
std::string device_for_run(const std::string& device, double evaluations, int cpu_threads, bool log);

// -device and -precision as RenderOptions. Throws UsageError for -device cuda
// without a GPU; selects GPU `local_rank` (modulo the count) when rendering
// there. `log` reports the CPU fallback of -device auto.
RenderOptions render_options(const SimConfig& cfg, int local_rank, bool log);

// The warnings a rendered image may carry (empty when none): interpolation
// switched off part-way, as C does; pixels that are not finite.
std::string interpolation_warning(const Experiment& e, const RenderResult& r);
std::string nonfinite_warning(const Experiment& e, const RenderResult& r);

// Which image files to write.
struct OutputSelection {
    bool float_file = false, int_file = false, noise_file = false, pgm_file = false, png_file = false;
    bool cbf_file = false;
};

// The command line's files: C's defaults (float, int, pgm and noise images)
// less those turned off, plus -pngfile and -cbffile when given.
OutputSelection cli_outputs(const SimConfig& cfg);

// Everything one image's files need, owned, so they can be written while the
// next image renders.
struct FrameOutput {
    Experiment exp;  // header fields and the noise generator (no HKL grid needed)
    RenderResult result;
    int index = 0;             // frame of a series, from 0
    bool needs_noise = false;  // a noise file, a miniCBF or a NeXus slice is written
    int64_t seed = 0;          // this frame's noise seed (frame_seed of the run's base)
    NoiseImage noise;          // made once on the writer thread, shared by SMV, CBF and NeXus
    // A noise file that is the noise image's only use: drawn into the file's
    // blocks as they are written (noise.pixels stays empty)
    bool stream_noise = false;
    std::shared_ptr<NoiseRows> noise_rows;
    // the frame's lines before its files' (heading, backend, warnings, statistics):
    // printed by its writer once the frame before it is on disk, so that a
    // series' log keeps frame order
    std::string log;
};

// The run's noise seed base: -seed, or C's -time() when none is given.
int64_t noise_seed_base(const SimConfig& cfg);

// Draws the frame's noise image when a file needs it. Call before writing
// the frame's files, and finish_frame_noise after: a streamed noise image's
// count is known then. print_frame_noise echoes C's photon count line (or the
// detector model's lines), once the frame's turn to print has come.
void make_frame_noise(FrameOutput& fo);
void finish_frame_noise(FrameOutput& fo);
void print_frame_noise(const FrameOutput& fo);

// The files `which` selects for one image, named from cfg's patterns (frame
// numbers in a series). `log` (may be null) gains C's scale lines
// (intfile_scale etc.) and header warnings. Marks fo->needs_noise when a
// selected file holds the noise image.
std::vector<OutputFile> image_output_files(const SimConfig& cfg, const std::shared_ptr<FrameOutput>& fo,
                                           const OutputSelection& which, std::string* log);

// Refuses a bad output file name pattern before anything renders (and a
// -cbffile without a frame number when several frames are written).
void check_output_names(const SimConfig& cfg);

// Every file the selected outputs (and -nexusfile) will write, each frame's
// name: none may be a folder or lie in a folder that does not exist
// (check_output_target), checked before anything renders.
void check_output_targets(const SimConfig& cfg, const OutputSelection& which);

}  // namespace nb
