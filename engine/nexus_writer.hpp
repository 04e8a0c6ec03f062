// NeXus/NXmx (HDF5) output of a rotation series or shot list (-nexusfile):
// one file (or a master and data files), frames appended as they render (one
// frame per chunk, so memory stays at one frame whatever the series length),
// geometry written from the engine's own detector vectors. Layout and
// compression: docs/formats.md.
//
// The HDF5 writer is a module of its own (libnb_nexus.so, engine/nexus_hdf5.cpp),
// loaded when a run asks for a NeXus file: HDF5 and the libraries Debian builds
// it with (curl, gnutls, krb5, ...) took 25 ms to load in every process, a sixth
// of a 2048x2048 still's whole run.
#pragma once

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/experiment.hpp"
#include "engine/image_io.hpp"
#include "kernels/rotation.hpp"

namespace nb {

// Lab vectors of the engine (any convention) expressed in the NeXus McStas
// frame: beam along +z, the spindle's component normal to the beam along -x
// (so that readers, which convert to imgCIF, see the usual +x rotation axis).
struct McStasFrame {
    Vec3D x, y, z;  // McStas axes as engine-frame unit vectors
    explicit McStasFrame(const DetectorGeometry& d) {
        Vec3D beam;
        unitize(d.beam, beam);
        z = beam;
        // the rotation axis normal to the beam; a spindle along the beam falls back on the fast axis
        Vec3D s = sub(d.spindle, scale(z, dot(d.spindle, z)));
        if (magnitude(s) < 1e-9) s = sub(d.fdet, scale(z, dot(d.fdet, z)));
        Vec3D sx;
        unitize(s, sx);
        x = scale(sx, -1.0);  // imgCIF +x (the usual rotation axis) is McStas -x
        y = cross(z, x);
    }
    // -expt: DIALS's own lab frame (engine_from_dials), so that dials.import
    // gives back the file's models whatever its rotation axis. NXmx puts the
    // beam on McStas +z, and DIALS's reader takes that for granted (dxtbx 3.11
    // reads no beam direction): a beam off that axis turns the whole frame,
    // rigidly, by the least rotation that puts the beam on it (the beam centre
    // and every angle kept; the models come back turned).
    static McStasFrame dials(const DetectorGeometry& d) {
        McStasFrame m;
        m.x = Vec3D{0, 0, -1};
        m.y = Vec3D{0, 1, 0};
        m.z = Vec3D{1, 0, 0};
        Vec3D beam;
        unitize(d.beam, beam);
        const Vec3D k = cross(m.z, beam);
        const double sin_a = magnitude(k), cos_a = dot(m.z, beam);
        if (sin_a < 1e-15 && cos_a > 0) return m;
        Vec3D axis = m.y;  // a beam against z: half a turn about y
        if (sin_a >= 1e-15) unitize(k, axis);
        const double angle = std::atan2(sin_a, cos_a);  // z onto the beam
        m.x = rotate_axis(m.x, axis, angle);
        m.y = rotate_axis(m.y, axis, angle);
        m.z = beam;
        return m;
    }
    Vec3D operator()(const Vec3D& v) const { return Vec3D{dot(x, v), dot(y, v), dot(z, v)}; }

private:
    McStasFrame() = default;
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
        std::string creator;               // version_line() of the program
        std::string program_version;       // build_info().version
        // told of each temporary file written and removed or renamed, so that a
        // run stopped by a signal removes them (engine/interrupt_cleanup.hpp)
        void (*track_temporary)(const char* path, bool written) = nullptr;
    };
    // The options a run's configuration asks for (the CLI and the Python module alike).
    static Options from_config(const SimConfig& cfg, std::string command_line);

    // NAME_data_000001.h5 beside the master NAME_master.h5 (or NAME.ext), as Eiger names them.
    static std::string data_file_name(const std::string& master, int index) {
        std::string stem = master;
        const size_t slash = stem.find_last_of('/'), dot = stem.find_last_of('.');
        if (dot != std::string::npos && (slash == std::string::npos || dot > slash + 1)) stem.erase(dot);
        const std::string tag = "_master";
        if (stem.size() > tag.size() && stem.compare(stem.size() - tag.size(), tag.size(), tag) == 0)
            stem.erase(stem.size() - tag.size());
        char number[32];
        std::snprintf(number, sizeof number, "_data_%06d.h5", index);
        return stem + number;
    }

    // Loads the module, creates the temporary file(s) and writes the set-up
    // metadata from `first`. Throws std::runtime_error naming -nexusfile.
    static std::unique_ptr<NexusWriter> open(const Options& opt, const Experiment& first);

    // A writer destroyed before finish() removes its temporary files.
    virtual ~NexusWriter() = default;
    // Appends the next frame (frames arrive in order) and flushes it to disk.
    virtual void append(const Experiment& e, const NoiseImage& noise, const std::vector<float>& image) = 0;
    // Writes the per-frame axes, closes the files and renames them to their final names.
    virtual void finish() = 0;
    virtual const std::string& compression() const = 0;
    // Whether a frame's chunks are compressed at once (bitshuffle+LZ4 with its
    // plugin found), not one after another by HDF5.
    virtual bool parallel_compression() const = 0;
    virtual const std::string& path() const = 0;
};

// The module's one entry point (C linkage, found with dlsym).
using NexusOpenFn = NexusWriter* (*)(const NexusWriter::Options*, const Experiment*);
inline constexpr const char* kNexusModule = "libnb_nexus.so";
inline constexpr const char* kNexusOpenSymbol = "nb_nexus_open";

}  // namespace nb
