// Output images in C nanoBragg's formats: raw float, SMV (unsigned short
// with its 512-byte header), PGM, and the Poisson noise image. Files are
// built in memory and committed together (temp file + rename), so a failed
// run never leaves a half-written image or clobbers an existing one.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/experiment.hpp"
#include "engine/pixel_random.hpp"
#include "engine/render.hpp"

namespace nb {

// The Poisson-noise image in C's generator order (continuing e.ran from the
// mosaic draws): photons + adc, clipped to 0..65535 as C's SMV holds it
// (pixels outside the ROI are 0). Every noise output (SMV, NeXus, CBF) of a
// frame is written from one of these, so they hold the same counts.
struct NoiseImage {
    std::vector<uint16_t> pixels;  // fast-major
    double photons = 0;            // sum before the adc offset and clipping
    int overloads = 0;             // pixels clipped at 65535
    std::string log;               // the detector model's lines (PSF radius, lost photons), if any
};

// A file that is a header and then an image's rows (raw float, SMV, PGM):
// commit_outputs writes it a block of rows at a time, each block at its
// offset, on the run's threads.
struct RowFile {
    std::string header;
    int rows = 0;
    size_t row_bytes = 0;
    // The file's bytes of rows [r0, r0 + n): a pointer into the frame's own
    // pixels, or `scratch` (n * row_bytes bytes) filled. Called from any
    // thread, for different blocks at once; throws std::runtime_error.
    std::function<const void*(int r0, int n, void* scratch)> rows_at;
};

// `r`, shared, holding `owners` (what its rows point into) for as long as it
// lives: a frame's files may be written after the code that made them returns.
template <typename... Owners>
std::shared_ptr<const RowFile> rows_holding(RowFile r, Owners... owners) {
    r.rows_at = [owners..., at = std::move(r.rows_at)](int r0, int n, void* scratch) { return at(r0, n, scratch); };
    return std::make_shared<const RowFile>(std::move(r));
}

// One output file: its path, the flag that named it (for messages) and how
// its bytes are made: a writer that streams them (so no full copy of an image
// is held twice), or, for the row formats, its rows.
struct OutputFile {
    std::string path;
    std::string flag;
    std::function<void(std::FILE*)> write;  // throws std::runtime_error on failure
    bool needs_noise = false;               // written from the noise image (-noisefile, -cbffile)
    // Set for the row formats, written by blocks instead of `write`. What it
    // points into must outlive the commit.
    std::shared_ptr<const RowFile> rows;
};

// An OutputFile written by rows.
OutputFile row_output(std::string path, std::string flag, std::shared_ptr<const RowFile> rows,
                      bool needs_noise = false);

// C's image files as rows, referring to `image` / `noise` and `e`: e's rows,
// starting at row `first_row` of the image (a panel of a stacked multi-panel
// image, with its panel experiment as e). Another program's SMV header (nonBragg's,
// noisify's) replaces `header` in the result.
// Raw float32, fast-major.
RowFile float_rows(const Experiment& e, const std::vector<float>& image, int first_row = 0);
// Noiseless SMV: pixel*scale + adc, rounded as C does, clipped to 0..65535
// (pixels outside the ROI are 0).
RowFile smv_int_rows(const Experiment& e, const std::vector<float>& image, double scale, int first_row = 0);
// PGM: pixel*pgm_scale clipped to 0..255 (pixels outside the ROI are 0).
RowFile pgm_rows(const Experiment& e, const std::vector<float>& image, double pgm_scale, int first_row = 0);
// The noise image as C's SMV file.
RowFile smv_noise_rows(const Experiment& e, const NoiseImage& noise, int first_row = 0);

// C's SMV header text for this experiment, as smv_header_block writes it.
std::string smv_header(const Experiment& e);

// C's intfile_scale rule: <= 0 selects 55000/max_I (1 when max_I <= 0).
double auto_int_scale(double scale, double max_I);

// That is -exact; the default mode draws each pixel from its own stream, in
// parallel (engine/pixel_random.hpp): C's distribution, not C's values.
// With a detector model (cfg.detector_model) the draws are C noisify's instead
// (engine/detector_response.hpp), from a fresh generator (-exact) or per pixel.
NoiseImage make_noise_image(Experiment& e, const std::vector<float>& image, int64_t seed);

// The default mode's noise image, a block of rows at a time (each pixel from
// its own stream): make_noise_image fills a whole image with it, and a noise
// file that is the only use of the noise is drawn straight into the file's
// blocks, with no image-sized buffer (on the VMs we measure on, a fresh 8 MB
// buffer took 4-15 ms to touch, as long as drawing the noise).
class NoiseRows {
public:
    // where the default mode's per-pixel streams apply: not -exact (C's
    // sequence), not C nonBragg's order, no detector model
    static bool applies(const Experiment& e);
    NoiseRows(const Experiment& e, const std::vector<float>& image, int64_t seed);
    // whole rows [r0, r0 + n) into dst (0 outside the ROI); disjoint rows may
    // be filled at once from several threads
    void fill(int r0, int n, uint16_t* dst);
    // once every row is filled: the NoiseImage's photons and overloads
    double photons() const;
    int overloads() const;

private:
    const Experiment& e_;
    const std::vector<float>& image_;
    PixelKey key_;
    std::vector<double> row_photons_;
    std::vector<int> row_overloads_;
};

// C's pgm_scale rule: <= 0 selects 250/(5 rmsd), or intfile_scale when rmsd is 0.
double auto_pgm_scale(double pgm_scale, double intfile_scale, double rmsd);

// A frame's files written under temporary names beside their targets, not yet
// in place: commit() renames them all (on a failure it removes the rest and
// throws naming the flag and file); destroyed uncommitted, it removes them.
// Two frames may be staged at once and committed in order.
class StagedOutputs {
public:
    StagedOutputs() = default;
    StagedOutputs(StagedOutputs&& o) noexcept;
    StagedOutputs& operator=(StagedOutputs&& o) noexcept;
    StagedOutputs(const StagedOutputs&) = delete;
    StagedOutputs& operator=(const StagedOutputs&) = delete;
    ~StagedOutputs();
    void commit();

private:
    friend StagedOutputs stage_outputs(const std::vector<OutputFile>&, const std::function<void()>&);
    void remove_temporaries() noexcept;
    std::vector<std::string> temps_, paths_, flags_;
    // targets that are streams (a character device or FIFO: /dev/null,
    // /dev/stdout), written at commit, in order, where they are
    std::vector<OutputFile> streams_;
};

// Writes each file to its temporary name; on any failure removes them and
// throws naming the flag/file. make_noise (may be null) runs meanwhile, before
// the files made from the noise image.
StagedOutputs stage_outputs(const std::vector<OutputFile>& files, const std::function<void()>& make_noise = nullptr);

// Whether `path` is a stream (a character device or FIFO, through links):
// written in place as C writes it, never replaced by a file, and never
// numbered per frame or panel (every frame of -floatfile /dev/null goes there).
bool is_stream_target(const std::string& path);

// One name for every spelling of a file: absolute, "." and ".." resolved,
// links in its folders and itself followed (./a.img, a.img and a link to it
// are one file). A name whose folder is not there is kept as spelled.
std::string file_identity(const std::string& path);

// The temporary name beside `path` under which it is written before it is put
// in place: path + suffix, its file name shortened (and told apart by a hash
// of the whole) where that would pass the 255 bytes a name may hold.
inline std::string temporary_name(const std::string& path, const std::string& suffix) {
    const size_t slash = path.find_last_of('/');
    const size_t base = slash == std::string::npos ? 0 : slash + 1;
    const size_t limit = 255;
    if (path.size() - base + suffix.size() <= limit) return path + suffix;
    char tag[24];
    std::snprintf(tag, sizeof tag, "~%016zx", std::hash<std::string>{}(path.substr(base)));
    const size_t keep = limit - suffix.size() - std::strlen(tag);
    return path.substr(0, base + keep) + tag + suffix;
}

// Where an output named `path` is written: through a symbolic link (a chain
// of them, dangling or not) to the file it names, as C's fopen writes, so
// that the link stays; `path` itself otherwise.
inline std::string output_link_target(const std::string& path) {
    namespace fs = std::filesystem;
    fs::path p(path);
    std::error_code ec;
    for (int hops = 0; hops < 40 && fs::is_symlink(p, ec); ++hops) {
        const fs::path to = fs::read_symlink(p, ec);
        if (ec) break;
        p = to.is_absolute() ? to : p.parent_path() / to;
    }
    return p.string();
}

// Whether names a and b are one file (through links and spellings).
bool same_file(const std::string& a, const std::string& b);

// Whether two outputs named a and b would write one file (a stream may take several).
inline bool same_output_file(const std::string& a, const std::string& b) {
    return same_file(a, b) && !is_stream_target(a);
}

// Refuses (naming the flag) a target that is a folder, a block device or
// socket, or whose folder does not exist, and (unless `stream_ok`) a stream:
// the front ends call it before rendering, and staging again before any file
// of a frame is written, so that no output is put in place by a run that then
// fails on another.
void check_output_target(const std::string& path, const std::string& flag, bool stream_ok = true);

// Closes the streams the run's outputs opened (one per path, kept open across
// a series' frames), so that their readers see the end: at the end of a run.
void close_output_streams();

// stage_outputs, then commit.
void commit_outputs(const std::vector<OutputFile>& files, const std::function<void()>& make_noise = nullptr);

}  // namespace nb
