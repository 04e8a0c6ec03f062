// NeXus/NXmx (HDF5) output of a rotation series or shot list (-nexusfile):
// one file, frames appended as they render (one frame per chunk, so memory
// stays at one frame whatever the series length), geometry written from the
// engine's own detector vectors. Layout and compression: docs/formats.md.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

#include "engine/experiment.hpp"
#include "engine/image_io.hpp"

namespace nb {

// Lab vectors of the engine (any convention) expressed in the NeXus McStas
// frame: beam along +z, the spindle's component normal to the beam along -x
// (so that readers, which convert to imgCIF, see the usual +x rotation axis).
struct McStasFrame {
    Vec3D x, y, z;  // McStas axes as engine-frame unit vectors
    explicit McStasFrame(const DetectorGeometry& d);
    Vec3D operator()(const Vec3D& v) const { return Vec3D{dot(x, v), dot(y, v), dot(z, v)}; }
};

class NexusWriter {
public:
    struct Options {
        std::string path;          // final name; written as path.partial.PID, renamed by finish()
        bool float_image = false;  // -nexus_float: also the float image, under /entry/nanobragg
        std::string command_line;
        int nframes = 1;
        bool rotation = true;              // rotation series (false: shot list, every frame at the same phi)
        std::string compression = "auto";  // auto, bitshuffle, lz4, deflate or none (-nexus_compression)
        int frames_per_file = 0;           // 0: one file; N: a master file and data files of N frames (Eiger)
    };
    // The options a run's configuration asks for (the CLI and the Python module alike).
    static Options from_config(const SimConfig& cfg, std::string command_line);
    // NAME_data_000001.h5 beside the master NAME_master.h5 (or NAME.ext), as Eiger names them.
    static std::string data_file_name(const std::string& master, int index);

    // Creates the temporary file and writes the set-up metadata from `first`.
    // Throws std::runtime_error naming -nexusfile and the file.
    NexusWriter(Options opt, const Experiment& first);
    // A writer destroyed before finish() removes its temporary file.
    ~NexusWriter();
    NexusWriter(const NexusWriter&) = delete;
    NexusWriter& operator=(const NexusWriter&) = delete;

    // Appends the next frame (frames arrive in order) and flushes it to disk.
    void append(const Experiment& e, const NoiseImage& noise, const std::vector<float>& image);
    // Writes the per-frame axes, closes the file and renames it to its final name.
    void finish();

    const std::string& compression() const { return compression_; }
    const std::string& path() const { return opt_.path; }

private:
    void fail(const std::string& what) const;
    void close_all() noexcept;
    void remove_temporaries() noexcept;
    void open_data_file();   // the next data file of the master + data layout
    void close_data_file();  // closes the current one (its last frame number is then known)

    Options opt_;
    std::string tmp_, compression_;
    hid_t file_ = -1, data_ = -1, float_ = -1;
    hid_t data_file_ = -1;                             // the open data file (master + data layout)
    std::vector<std::string> data_paths_, data_tmps_;  // data files: final and temporary names
    int frames_ = 0, fpixels_ = 0, spixels_ = 0;
    Vec3D spindle_{-1, 0, 0};  // McStas
    std::vector<double> omega_, omega_end_, wavelength_;
    bool finished_ = false;
};

}  // namespace nb
