// The HDF5 NeXus writer, built as the module libnb_nexus.so (engine/nexus_writer.hpp).
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "engine/expt.hpp"
#include "engine/nexus_hdf5_parallel_filter.hpp"
#include "engine/nexus_writer.hpp"
#include "engine/units.hpp"

namespace nb {

namespace {

// HDF5 filter ids registered with The HDF Group; the plugins come from
// Debian's bitshuffle package (bitshuffle+LZ4) or hdf5-filter-plugin (LZ4).
constexpr H5Z_filter_t kBitshuffle = 32008;
constexpr H5Z_filter_t kLz4 = 32004;

// The innermost message of HDF5's error stack (it names the system error,
// e.g. "No space left on device"), so a failure says why.
std::string hdf5_error() {
    std::string msg;
    auto walk = [](unsigned, const H5E_error2_t* err, void* data) -> herr_t {
        auto* m = static_cast<std::string*>(data);
        if (err->desc && *err->desc) *m = err->desc;
        return 0;
    };
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk, &msg);
    H5Eclear2(H5E_DEFAULT);
    // "... errno = 28, error message = 'No space left on device', ...": the system's words suffice
    const std::string key = "error message = '";
    size_t at = msg.find(key);
    if (at != std::string::npos) {
        at += key.size();
        msg = msg.substr(at, msg.find('\'', at) - at);
    }
    return msg.empty() ? "HDF5 error" : msg;
}

std::string utc_now() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

// Small RAII handle so every early exit closes what it opened.
struct H {
    hid_t id;
    herr_t (*close)(hid_t);
    H(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
    ~H() {
        if (id >= 0) close(id);
    }
    H(const H&) = delete;
    H& operator=(const H&) = delete;
    operator hid_t() const { return id; }
};

class Builder {
public:
    explicit Builder(const std::string& where) : where_(where) {}

    hid_t ok(hid_t id, const char* what) const {
        if (id < 0) throw std::runtime_error(where_ + ": " + what + ": " + hdf5_error());
        return id;
    }
    void ok(herr_t rc, const char* what, int) const {
        if (rc < 0) throw std::runtime_error(where_ + ": " + what + ": " + hdf5_error());
    }

    hid_t group(hid_t parent, const char* name, const char* nx_class) const {
        hid_t g = ok(H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name);
        attr(g, "NX_class", nx_class);
        return g;
    }
    void attr(hid_t obj, const char* name, const std::string& value) const {
        H type(ok(H5Tcopy(H5T_C_S1), "string type"), H5Tclose);
        ok(H5Tset_size(type, value.size() ? value.size() : 1), "string size", 0);
        ok(H5Tset_strpad(type, H5T_STR_NULLTERM), "string pad", 0);
        H space(ok(H5Screate(H5S_SCALAR), "space"), H5Sclose);
        H a(ok(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), name), H5Aclose);
        ok(H5Awrite(a, type, value.c_str()), name, 0);
    }
    void attr(hid_t obj, const char* name, const std::vector<double>& v) const {
        hsize_t n = v.size();
        H space(ok(H5Screate_simple(1, &n, nullptr), "space"), H5Sclose);
        H a(ok(H5Acreate2(obj, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT), name), H5Aclose);
        ok(H5Awrite(a, H5T_NATIVE_DOUBLE, v.data()), name, 0);
    }
    void attr(hid_t obj, const char* name, const Vec3D& v) const {
        attr(obj, name, std::vector<double>{v.x, v.y, v.z});
    }
    void attr(hid_t obj, const char* name, int value) const {
        H space(ok(H5Screate(H5S_SCALAR), "space"), H5Sclose);
        H a(ok(H5Acreate2(obj, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT), name), H5Aclose);
        ok(H5Awrite(a, H5T_NATIVE_INT, &value), name, 0);
    }

    hid_t text(hid_t parent, const char* name, const std::string& value) const {
        H type(ok(H5Tcopy(H5T_C_S1), "string type"), H5Tclose);
        ok(H5Tset_size(type, value.size() ? value.size() : 1), "string size", 0);
        ok(H5Tset_strpad(type, H5T_STR_NULLTERM), "string pad", 0);
        H space(ok(H5Screate(H5S_SCALAR), "space"), H5Sclose);
        hid_t d = ok(H5Dcreate2(parent, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name);
        ok(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, value.c_str()), name, 0);
        return d;
    }
    // A 1-D (or, with scalar, 0-D) float64 dataset with its units.
    // `columns` > 0: a table of v.size() / columns rows
    hid_t numbers(hid_t parent, const char* name, const std::vector<double>& v, const char* units, bool scalar = false,
                  hsize_t columns = 0) const {
        const hsize_t dims[2] = {columns ? v.size() / columns : v.size(), columns};
        H space(ok(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(columns ? 2 : 1, dims, nullptr), "space"),
                H5Sclose);
        hid_t d = ok(H5Dcreate2(parent, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name);
        ok(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), name, 0);
        if (units && *units) attr(d, "units", units);
        return d;
    }
    void number(hid_t parent, const char* name, double v, const char* units) const {
        H d(numbers(parent, name, {v}, units, true), H5Dclose);
    }
    void integers(hid_t parent, const char* name, const std::vector<int>& v, bool scalar = false) const {
        hsize_t n = v.size();
        H space(ok(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), "space"), H5Sclose);
        H d(ok(H5Dcreate2(parent, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name), H5Dclose);
        ok(H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), name, 0);
    }
    void string(hid_t parent, const char* name, const std::string& value) const {
        H d(text(parent, name, value), H5Dclose);
    }

    // A scalar NXtransformations axis (translation in mm or rotation in deg).
    void axis(hid_t parent, const char* name, double value, const char* type, const Vec3D& vector,
              const std::string& depends_on) const {
        H d(numbers(parent, name, {value}, std::string(type) == "rotation" ? "deg" : "mm", true), H5Dclose);
        attr(d, "transformation_type", type);
        attr(d, "vector", vector);
        attr(d, "offset", Vec3D{0, 0, 0});
        attr(d, "offset_units", "mm");
        attr(d, "depends_on", depends_on);
    }

private:
    std::string where_;
};

// Rows of one chunk: a module's (a reader reads each module's slab alone:
// dxtbx read a Jungfrau-4M-sized frame in 73 ms this way, 556 ms from
// whole-frame chunks). One panel over 4 MB is cut into bands of about 2 MB,
// which are compressed at once (ParallelFilter).
int chunk_rows(int module_rows, int fast, bool one_panel) {
    const size_t row_bytes = (size_t)fast * 4, module_bytes = row_bytes * (size_t)module_rows;
    constexpr size_t band = 2u << 20;
    if (!one_panel || module_bytes <= 2 * band) return module_rows;
    const int bands = (int)((module_bytes + band - 1) / band);
    return (module_rows + bands - 1) / bands;
}

// Frame-extendible 3-D dataset (frames, slow, fast), chunks of `chunk_rows`
// rows of one frame.
hid_t frame_dataset(const Builder& b, hid_t parent, const char* name, hid_t type, int slow, int fast,
                    const std::string& compression, int chunk_rows) {
    hsize_t dims[3] = {0, (hsize_t)slow, (hsize_t)fast};
    hsize_t maxdims[3] = {H5S_UNLIMITED, (hsize_t)slow, (hsize_t)fast};
    hsize_t chunk[3] = {1, (hsize_t)chunk_rows, (hsize_t)fast};
    H space(b.ok(H5Screate_simple(3, dims, maxdims), "space"), H5Sclose);
    H dcpl(b.ok(H5Pcreate(H5P_DATASET_CREATE), "dcpl"), H5Pclose);
    b.ok(H5Pset_chunk(dcpl, 3, chunk), "chunk", 0);
    if (compression == "bitshuffle+lz4") {
        const unsigned cd[2] = {0, 2};  // automatic block size, LZ4 (the bitshuffle filter's own numbering)
        b.ok(H5Pset_filter(dcpl, kBitshuffle, H5Z_FLAG_MANDATORY, 2, cd), "bitshuffle filter", 0);
    } else if (compression == "lz4") {
        b.ok(H5Pset_filter(dcpl, kLz4, H5Z_FLAG_MANDATORY, 0, nullptr), "lz4 filter", 0);
    } else if (compression == "deflate") {
        b.ok(H5Pset_shuffle(dcpl), "shuffle filter", 0);
        b.ok(H5Pset_deflate(dcpl, 4), "deflate filter", 0);
    }
    return b.ok(H5Dcreate2(parent, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), name);
}

// "auto": bitshuffle+LZ4 as Eiger and Jungfrau files when its plugin loads, else
// deflate, which every HDF5 reader has (an LZ4-only file would need a plugin on
// the reader's side too). An explicit choice whose filter is missing is an error.
std::string pick_compression(const std::string& requested) {
    auto need = [&](H5Z_filter_t id, const char* package) {
        if (H5Zfilter_avail(id) <= 0)
            throw std::runtime_error("-nexus_compression " + requested + ": the HDF5 filter plugin (filter " +
                                     std::to_string(id) + ") is not installed (Debian package " + package +
                                     "; HDF5_PLUGIN_PATH names where plugins are looked for); use deflate");
    };
    if (requested == "auto") return H5Zfilter_avail(kBitshuffle) > 0 ? "bitshuffle+lz4" : "deflate";
    if (requested == "bitshuffle") {
        need(kBitshuffle, "bitshuffle");
        return "bitshuffle+lz4";
    }
    if (requested == "lz4") need(kLz4, "hdf5-filter-plugin");
    if (requested == "lz4" || requested == "deflate" || requested == "none") return requested;
    throw std::runtime_error("-nexus_compression: expected auto, bitshuffle, lz4, deflate or none, got '" + requested +
                             "'");
}

std::string base_name(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The master's view of every frame: a virtual dataset over the data files
// (readers such as dxtbx's NXmx read one dataset), relative file names so that
// the set of files can move together. A missing data file reads as -1, which
// readers mask, never as a plausible 0.
void virtual_frames(const Builder& b, hid_t group, const std::vector<std::string>& files, int frames, int per_file,
                    int slow, int fast) {
    hsize_t dims[3] = {(hsize_t)frames, (hsize_t)slow, (hsize_t)fast};
    H vspace(b.ok(H5Screate_simple(3, dims, nullptr), "space"), H5Sclose);
    H dcpl(b.ok(H5Pcreate(H5P_DATASET_CREATE), "dcpl"), H5Pclose);
    const int missing = -1;
    b.ok(H5Pset_fill_value(dcpl, H5T_NATIVE_INT, &missing), "fill value", 0);
    for (size_t k = 0; k < files.size(); ++k) {
        const int first = (int)k * per_file, n = std::min(per_file, frames - first);
        hsize_t start[3] = {(hsize_t)first, 0, 0}, count[3] = {(hsize_t)n, (hsize_t)slow, (hsize_t)fast};
        b.ok(H5Sselect_hyperslab(vspace, H5S_SELECT_SET, start, nullptr, count, nullptr), "select", 0);
        H src(b.ok(H5Screate_simple(3, count, nullptr), "space"), H5Sclose);
        b.ok(H5Pset_virtual(dcpl, vspace, base_name(files[k]).c_str(), "/entry/data/data", src), "virtual map", 0);
    }
    H5Sselect_all(vspace);
    H d(b.ok(H5Dcreate2(group, "data", H5T_STD_I32LE, vspace, H5P_DEFAULT, dcpl, H5P_DEFAULT), "virtual data"),
        H5Dclose);
}

// A frame through the parallel filter: its chunks compressed at once, then
// stored in order; false where the data set's filters are not that one alone.
bool append_frame_parallel(const Builder& b, const ParallelFilter& filter, hid_t dset, int index, int slow, int fast,
                           int rows, const ParallelFilter::Fill& fill) {
    std::vector<ParallelFilter::Chunk> chunks = filter.compress(dset, slow, fast, rows, fill);
    if (chunks.empty()) return false;
    hsize_t dims[3] = {(hsize_t)index + 1, (hsize_t)slow, (hsize_t)fast};
    b.ok(H5Dset_extent(dset, dims), "extend", 0);
    for (size_t k = 0; k < chunks.size(); ++k) {
        const hsize_t offset[3] = {(hsize_t)index, (hsize_t)k * rows, 0};
        b.ok(H5Dwrite_chunk(dset, H5P_DEFAULT, 0, offset, chunks[k].bytes, chunks[k].data.get()), "writing the frame",
             0);
    }
    return true;
}

void append_frame(const Builder& b, hid_t dset, int index, int slow, int fast, hid_t mem_type, const void* data) {
    hsize_t dims[3] = {(hsize_t)index + 1, (hsize_t)slow, (hsize_t)fast};
    b.ok(H5Dset_extent(dset, dims), "extend", 0);
    H file_space(b.ok(H5Dget_space(dset), "space"), H5Sclose);
    hsize_t start[3] = {(hsize_t)index, 0, 0}, count[3] = {1, (hsize_t)slow, (hsize_t)fast};
    b.ok(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr), "select", 0);
    H mem_space(b.ok(H5Screate_simple(3, count, nullptr), "space"), H5Sclose);
    b.ok(H5Dwrite(dset, mem_type, mem_space, file_space, H5P_DEFAULT, data), "writing the frame", 0);
}

}  // namespace

class Hdf5NexusWriter final : public NexusWriter {
public:
    Hdf5NexusWriter(Options opt, const Experiment& first);
    ~Hdf5NexusWriter() override;
    Hdf5NexusWriter(const Hdf5NexusWriter&) = delete;
    Hdf5NexusWriter& operator=(const Hdf5NexusWriter&) = delete;

    void append(const Experiment& e, const NoiseImage& noise, const std::vector<float>& image) override;
    void finish() override;
    const std::string& compression() const override { return compression_; }
    bool parallel_compression() const override { return (bool)parallel_; }
    const std::string& path() const override { return opt_.path; }

private:
    void fail(const std::string& what) const;
    void close_all() noexcept;
    void remove_temporaries() noexcept;
    void track(const std::string& path, bool written) const noexcept;  // opt_.track_temporary
    void open_data_file();                                             // the next data file of the master + data layout
    void close_data_file();  // closes the current one (its last frame number is then known)

    Options opt_;
    std::string target_, tmp_, compression_;
    hid_t file_ = -1, data_ = -1, float_ = -1;
    hid_t data_file_ = -1;  // the open data file (master + data layout)
    // data files: their names (the master's links), the files they are written
    // to (through a link, as the master), and their temporary names
    std::vector<std::string> data_paths_, data_targets_, data_tmps_;
    int frames_ = 0, fpixels_ = 0, spixels_ = 0;
    int module_rows_ = 0;      // rows of one module (all of them for one panel)
    int chunk_rows_ = 0;       // rows of one chunk (chunk_rows)
    ParallelFilter parallel_;  // bitshuffle+LZ4 on every chunk at once, when its plugin is found
    Vec3D spindle_{-1, 0, 0};  // McStas
    // an -expt multi-axis goniometer (innermost first; McStas vectors)
    struct ChainAxis {
        std::string name;
        Vec3D vector;
        double angle = 0;  // deg
    };
    std::vector<ChainAxis> chain_;
    int chain_scan_ = 0;
    std::vector<double> omega_, omega_end_, wavelength_;
    bool finished_ = false;
};

Hdf5NexusWriter::Hdf5NexusWriter(Options opt, const Experiment& first) : opt_(std::move(opt)) {
    const std::string where = "-nexusfile: '" + opt_.path + "'";
    Builder b(where);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported once, by the exception
    target_ = output_link_target(opt_.path);      // a link stays a link
    tmp_ = temporary_name(target_, ".partial." + std::to_string(::getpid()));
    track(tmp_, true);
    compression_ = pick_compression(opt_.compression);
    const DetectorGeometry& d = first.det;
    fpixels_ = d.fpixels;
    spixels_ = d.spixels;
    module_rows_ = first.panel_rows();
    chunk_rows_ = chunk_rows(module_rows_, fpixels_, first.panels.size() <= 1);
    if (compression_ == "bitshuffle+lz4") parallel_ = ParallelFilter::find(kBitshuffle);
    const McStasFrame m = first.cfg.expt ? McStasFrame::dials(d) : McStasFrame(d);
    unitize(m(d.spindle), spindle_);
    if (first.cfg.expt && first.cfg.expt->axes.size() > 1) {
        const ExptModel& x = *first.cfg.expt;
        for (size_t i = 0; i < x.axes.size(); ++i) {
            ChainAxis a;
            // an HDF5 name of its own: dxtbx names the axis by it
            for (char c : x.axis_names[i]) a.name += std::isalnum((unsigned char)c) || c == '-' ? c : '_';
            if (a.name.empty()) a.name = "axis" + std::to_string(i);
            for (const ChainAxis& b : chain_)
                if (b.name == a.name || b.name == a.name + "_end" || a.name == b.name + "_end")
                    a.name += "_" + std::to_string(i);
            unitize(m(engine_from_dials(x.axes[i])), a.vector);
            a.angle = x.angles[i];
            chain_.push_back(a);
        }
        chain_scan_ = x.scan_axis;
    }
    try {
        file_ = H5Fcreate(tmp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        if (file_ < 0) throw std::runtime_error(where + ": cannot write: " + hdf5_error());
        const std::string& version = opt_.creator;
        b.attr(file_, "file_name", opt_.path);
        b.attr(file_, "file_time", utc_now());
        b.attr(file_, "creator", version);
        b.attr(file_, "NX_class", "NXroot");
        H entry(b.group(file_, "entry", "NXentry"), H5Gclose);
        b.string(entry, "definition", "NXmx");
        b.string(entry, "start_time", utc_now());
        {
            H prog(b.text(entry, "program_name", "nanoBragg engine"), H5Dclose);
            b.attr(prog, "version", opt_.program_version);
            b.attr(prog, "configuration", version);
        }

        // ---- pixel data ----
        H data(b.group(entry, "data", "NXdata"), H5Gclose);
        b.attr(data, "signal", "data");
        if (opt_.frames_per_file > 0) {
            // master + data files: data_000001, ... link to the data files as they
            // open; finish() adds "data", a virtual dataset over all of them
        } else {
            data_ = frame_dataset(b, data, "data", H5T_STD_I32LE, spixels_, fpixels_, compression_, chunk_rows_);
            b.attr(data_, "compression", compression_);
        }

        // ---- instrument: beam and detector ----
        H inst(b.group(entry, "instrument", "NXinstrument"), H5Gclose);
        b.string(inst, "name", "nanoBragg simulation");
        H beam(b.group(inst, "beam", "NXbeam"), H5Gclose);  // incident_wavelength is written by finish()
        if (first.flux > 0) b.number(beam, "total_flux", first.flux, "Hz");
        H det(b.group(inst, "detector", "NXdetector"), H5Gclose);
        b.string(det, "description", "nanoBragg simulated pixel array detector");
        b.string(det, "type", "pixel");
        b.string(det, "depends_on",
                 first.panels.empty() ? "/entry/instrument/detector/module/module_offset"
                                      : "/entry/instrument/detector/module_000/module_offset");
        // nanoBragg models no sensor material; an experiment list's is kept, else
        // silicon, what readers expect of a pixel detector. Without
        // -detector_thick the simulated sensor has no depth (no parallax);
        // readers refuse 0, so 1 nm stands for it (a shift < 1e-5 pixel).
        const std::string material =
            first.cfg.expt && !first.cfg.expt->panels.empty() && !first.cfg.expt->panels[0].material.empty()
                ? first.cfg.expt->panels[0].material
                : "Si";
        b.string(det, "sensor_material", material.c_str());
        b.number(det, "sensor_thickness", first.samp.thick > 0 ? first.samp.thick : 1e-9, "m");
        {
            H sat(b.ok(H5Screate(H5S_SCALAR), "space"), H5Sclose);
            H ds(b.ok(H5Dcreate2(det, "saturation_value", H5T_STD_I32LE, sat, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      "saturation_value"),
                 H5Dclose);
            const int value = 65535;  // the noise image is clipped as C's SMV is
            b.ok(H5Dwrite(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value), "saturation_value", 0);
        }
        b.number(det, "count_time", first.exposure, "s");
        b.number(det, "frame_time", first.exposure, "s");
        b.number(det, "distance", d.distance * 1000.0, "mm");
        b.number(det, "x_pixel_size", d.pixel_size, "m");
        b.number(det, "y_pixel_size", d.pixel_size, "m");
        b.number(det, "beam_center_x", d.Fbeam / d.pixel_size, "pixel");
        b.number(det, "beam_center_y", d.Sbeam / d.pixel_size, "pixel");
        {
            // One NXdetector_module per panel: its rows of the data (panels stacked
            // along slow), the first pixel's corner (pix0) and the fast and slow
            // pixel vectors, exactly the engine's, in the McStas frame. One panel
            // keeps the name "module"; several are module_000, module_001, ... (dxtbx
            // orders modules by name).
            const int panels = first.panels.empty() ? 1 : (int)first.panels.size();
            for (int k = 0; k < panels; ++k) {
                char name[32];
                std::snprintf(name, sizeof name, panels == 1 ? "module" : "module_%03d", k);
                H mod(b.group(det, name, "NXdetector_module"), H5Gclose);
                b.integers(mod, "data_origin", {k * module_rows_, 0});
                b.integers(mod, "data_size", {module_rows_, fpixels_});
                b.integers(mod, "data_stride", {1, 1});
                const Vec3D p0 = first.panels.empty() ? d.pix0 : first.panels[(size_t)k].pix0;
                const Vec3D fd = first.panels.empty() ? d.fdet : first.panels[(size_t)k].fdet;
                const Vec3D sd = first.panels.empty() ? d.sdet : first.panels[(size_t)k].sdet;
                Vec3D pix0 = m(p0), pix0_unit{0, 0, 1};
                const double pix0_mm = unitize(pix0, pix0_unit) * 1000.0;
                if (pix0_mm == 0) pix0_unit = Vec3D{0, 0, 1};
                b.axis(mod, "module_offset", pix0_mm, "translation", pix0_unit, ".");
                const std::string offset = std::string("/entry/instrument/detector/") + name + "/module_offset";
                b.axis(mod, "fast_pixel_direction", d.pixel_size * 1000.0, "translation", m(fd), offset);
                b.axis(mod, "slow_pixel_direction", d.pixel_size * 1000.0, "translation", m(sd), offset);
            }
        }

        // ---- the engine's own numbers, for people and for re-running ----
        H nb(b.group(entry, "nanobragg", "NXcollection"), H5Gclose);
        b.string(nb, "version", version);
        b.string(nb, "command_line", opt_.command_line);
        static const char* conventions[] = {"custom", "adxv", "mosflm", "xds", "dials", "denzo"};
        b.string(nb, "convention", conventions[(int)d.convention]);
        b.string(nb, "pivot", d.pivot == Pivot::Sample ? "sample" : "beam");
        b.number(nb, "twotheta", d.twotheta * RTD, "deg");
        b.numbers(nb, "detector_rotation", {d.rotx * RTD, d.roty * RTD, d.rotz * RTD}, "deg");
        b.number(nb, "close_distance", d.close_distance * 1000.0, "mm");
        b.number(nb, "adc_offset", first.cfg.adc_offset, "");
        {
            // C nanoBragg's lab frame, so a reader can map back to -pix0_vector etc.
            H lab(b.group(nb, "lab_frame", "NXcollection"), H5Gclose);
            b.numbers(lab, "mcstas_x", {m.x.x, m.x.y, m.x.z}, "");
            b.numbers(lab, "mcstas_y", {m.y.x, m.y.y, m.y.z}, "");
            b.numbers(lab, "mcstas_z", {m.z.x, m.z.y, m.z.z}, "");
            b.numbers(lab, "pix0_vector", {d.pix0.x, d.pix0.y, d.pix0.z}, "m");
            b.numbers(lab, "fdet_vector", {d.fdet.x, d.fdet.y, d.fdet.z}, "");
            b.numbers(lab, "sdet_vector", {d.sdet.x, d.sdet.y, d.sdet.z}, "");
            b.numbers(lab, "beam_vector", {d.beam.x, d.beam.y, d.beam.z}, "");
            b.numbers(lab, "spindle_axis", {d.spindle.x, d.spindle.y, d.spindle.z}, "");
        }
        {
            // The beam's spectrum and divergence as rendered (-sourcefile,
            // -dispersion, -divergence): one row per source point.
            H src(b.group(nb, "sources", "NXcollection"), H5Gclose);
            const Sources& s = first.src;
            std::vector<double> lambda, weight, dir;
            for (size_t i = 0; i < s.lambda.size(); ++i) {
                lambda.push_back(s.lambda[i] * 1e10);
                weight.push_back(s.applied_weight.empty() ? (i < s.weight.size() ? s.weight[i] : 1.0)
                                                          : s.applied_weight[i]);
                Vec3D v = m(s.direction[i]);
                dir.insert(dir.end(), {v.x, v.y, v.z});
            }
            H l(b.numbers(src, "wavelength", lambda, "angstrom"), H5Dclose);
            H w(b.numbers(src, "weight", weight, ""), H5Dclose);
            H dd(b.numbers(src, "direction_mcstas", dir, "", false, 3), H5Dclose);
        }
        if (opt_.float_image) {
            float_ = frame_dataset(b, nb, "float_image", H5T_IEEE_F32LE, spixels_, fpixels_, compression_, chunk_rows_);
            b.attr(float_, "units", "photons");
        }
        // sample: written by finish() (the omega values are per frame)
    } catch (...) {
        close_all();
        remove_temporaries();
        throw;
    }
}

Hdf5NexusWriter::~Hdf5NexusWriter() {
    if (!finished_) {
        close_all();
        remove_temporaries();
    }
}

void Hdf5NexusWriter::close_all() noexcept {
    if (float_ >= 0) H5Dclose(float_);
    if (data_ >= 0) H5Dclose(data_);
    if (data_file_ >= 0) H5Fclose(data_file_);
    if (file_ >= 0) H5Fclose(file_);
    float_ = data_ = data_file_ = file_ = -1;
}

void Hdf5NexusWriter::remove_temporaries() noexcept {
    std::remove(tmp_.c_str());
    track(tmp_, false);
    for (const std::string& t : data_tmps_) {
        std::remove(t.c_str());
        track(t, false);
    }
}

void Hdf5NexusWriter::track(const std::string& path, bool written) const noexcept {
    if (opt_.track_temporary) opt_.track_temporary(path.c_str(), written);
}

void Hdf5NexusWriter::open_data_file() {
    close_data_file();
    const int index = (int)data_paths_.size() + 1;
    const std::string path = data_file_name(opt_.path, index);
    const std::string target = output_link_target(path);  // a link stays a link
    const std::string tmp = temporary_name(target, ".partial." + std::to_string(::getpid()));
    Builder b("-nexusfile: data file '" + path + "'");
    track(tmp, true);
    data_file_ = H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (data_file_ < 0) b.ok(data_file_, "cannot write");
    data_paths_.push_back(path);
    data_targets_.push_back(target);
    data_tmps_.push_back(tmp);
    b.attr(data_file_, "NX_class", "NXroot");
    b.attr(data_file_, "creator", opt_.creator);
    H entry(b.group(data_file_, "entry", "NXentry"), H5Gclose);
    H group(b.group(entry, "data", "NXdata"), H5Gclose);
    b.attr(group, "signal", "data");
    data_ = frame_dataset(b, group, "data", H5T_STD_I32LE, spixels_, fpixels_, compression_, chunk_rows_);
    b.attr(data_, "compression", compression_);
    b.attr(data_, "image_nr_low", frames_ + 1);  // Eiger's frame numbers, from 1
    // the master's link, by relative name: master and data files move together
    char link[32];
    std::snprintf(link, sizeof link, "data_%06d", index);
    H master_data(b.ok(H5Gopen2(file_, "entry/data", H5P_DEFAULT), "entry/data"), H5Gclose);
    b.ok(H5Lcreate_external(base_name(path).c_str(), "/entry/data/data", master_data, link, H5P_DEFAULT, H5P_DEFAULT),
         "external link", 0);
}

void Hdf5NexusWriter::close_data_file() {
    if (data_file_ < 0) return;
    Builder b("-nexusfile: data file '" + data_paths_.back() + "'");
    b.attr(data_, "image_nr_high", frames_);
    H5Dclose(data_);
    data_ = -1;
    const herr_t closed = H5Fclose(data_file_);
    data_file_ = -1;
    b.ok(closed, "closing", 0);
}

void Hdf5NexusWriter::fail(const std::string& what) const {
    throw std::runtime_error("-nexusfile: failed writing '" + opt_.path + "': " + what);
}

void Hdf5NexusWriter::append(const Experiment& e, const NoiseImage& noise, const std::vector<float>& image) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // Debian's HDF5 keeps the setting per thread
    Builder b("-nexusfile: failed writing '" + opt_.path + "'");
    if (e.det.fpixels != fpixels_ || e.det.spixels != spixels_) fail("the detector changed size between frames");
    const int per_file = opt_.frames_per_file;
    if (per_file > 0 && frames_ % per_file == 0) open_data_file();
    const int index = per_file > 0 ? frames_ % per_file : frames_;
    const size_t row = (size_t)fpixels_;
    auto counts_rows = [&](int r0, int n, void* dst) {
        const uint16_t* src = noise.pixels.data() + (size_t)r0 * row;
        int32_t* d = static_cast<int32_t*>(dst);
        for (size_t i = 0; i < (size_t)n * row; ++i) d[i] = src[i];
    };
    if (!(parallel_ &&
          append_frame_parallel(b, parallel_, data_, index, spixels_, fpixels_, chunk_rows_, counts_rows))) {
        std::vector<int32_t> counts(noise.pixels.size());
        counts_rows(0, spixels_, counts.data());
        append_frame(b, data_, index, spixels_, fpixels_, H5T_NATIVE_INT32, counts.data());
    }
    auto float_rows = [&](int r0, int n, void* dst) {
        std::memcpy(dst, image.data() + (size_t)r0 * row, (size_t)n * row * sizeof(float));
    };
    if (float_ >= 0 && !(parallel_ && append_frame_parallel(b, parallel_, float_, frames_, spixels_, fpixels_,
                                                            chunk_rows_, float_rows)))
        append_frame(b, float_, frames_, spixels_, fpixels_, H5T_NATIVE_FLOAT, image.data());
    // on disk now, so a full disk stops the run at this frame, not at the end
    if (data_file_ >= 0) b.ok(H5Fflush(data_file_, H5F_SCOPE_LOCAL), "flush", 0);
    b.ok(H5Fflush(file_, H5F_SCOPE_LOCAL), "flush", 0);
    omega_.push_back(e.samp.phi0 * RTD);
    omega_end_.push_back((e.samp.phi0 + e.samp.osc) * RTD);
    wavelength_.push_back(e.cfg.lambda0 * 1e10);
    ++frames_;
}

void Hdf5NexusWriter::finish() {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    Builder b("-nexusfile: failed writing '" + opt_.path + "'");
    if (frames_ == 0) fail("no frames were rendered");
    {
        H entry(b.ok(H5Gopen2(file_, "entry", H5P_DEFAULT), "entry"), H5Gclose);
        b.string(entry, "end_time", utc_now());
        {
            // One wavelength for the run, or one per frame where shots change it.
            H beam(b.ok(H5Gopen2(entry, "instrument/beam", H5P_DEFAULT), "beam"), H5Gclose);
            bool same = true;
            for (double w : wavelength_) same = same && w == wavelength_[0];
            H wl(b.numbers(beam, "incident_wavelength", same ? std::vector<double>{wavelength_[0]} : wavelength_,
                           "angstrom", same),
                 H5Dclose);
        }
        H sample(b.group(entry, "sample", "NXsample"), H5Gclose);
        b.string(sample, "name", "simulated crystal");
        H tr(b.group(sample, "transformations", "NXtransformations"), H5Gclose);
        // A multi-axis goniometer as its chain of axes, innermost first, when
        // the scan turns one of them: a reader finds the scan axis as the one
        // whose angle changes. Otherwise (one frame, no rotation) the lab
        // rotation axis alone, which a reader takes for the scan's.
        bool turns = false;
        for (double w : omega_) turns = turns || w != omega_[0];
        const std::string where = "/entry/sample/transformations/";
        auto scan_axis = [&](const std::string& name, const Vec3D& vector, const std::string& depends_on) {
            H omega(b.numbers(tr, name.c_str(), omega_, "deg"), H5Dclose);
            b.attr(omega, "transformation_type", "rotation");
            b.attr(omega, "vector", vector);
            b.attr(omega, "depends_on", depends_on);
            H end(b.numbers(tr, (name + "_end").c_str(), omega_end_, "deg"), H5Dclose);
            b.number(tr, (name + "_increment_set").c_str(), omega_end_[0] - omega_[0], "deg");
        };
        if (chain_.empty() || !turns) {
            b.string(sample, "depends_on", where + "omega");
            scan_axis("omega", spindle_, ".");
        } else {
            b.string(sample, "depends_on", where + chain_[0].name);
            for (size_t i = 0; i < chain_.size(); ++i) {
                const std::string next = i + 1 < chain_.size() ? where + chain_[i + 1].name : ".";
                if ((int)i == chain_scan_) {
                    scan_axis(chain_[i].name, chain_[i].vector, next);
                    continue;
                }
                H a(b.numbers(tr, chain_[i].name.c_str(), {chain_[i].angle}, "deg"), H5Dclose);
                b.attr(a, "transformation_type", "rotation");
                b.attr(a, "vector", chain_[i].vector);
                b.attr(a, "depends_on", next);
            }
        }
        if (opt_.frames_per_file > 0) {
            close_data_file();
            H data(b.ok(H5Gopen2(entry, "data", H5P_DEFAULT), "entry/data"), H5Gclose);
            virtual_frames(b, data, data_paths_, frames_, opt_.frames_per_file, spixels_, fpixels_);
        }
    }
    if (float_ >= 0) H5Dclose(float_);
    if (data_ >= 0) H5Dclose(data_);
    float_ = data_ = -1;
    const herr_t closed = H5Fclose(file_);  // writes what the cache still holds
    file_ = -1;
    if (closed < 0) fail(hdf5_error());
    // data files first, so that the master never names a file that is not there
    for (size_t k = 0; k < data_paths_.size(); ++k)
        if (std::rename(data_tmps_[k].c_str(), data_targets_[k].c_str()) != 0) {
            for (size_t j = 0; j < k; ++j) std::remove(data_targets_[j].c_str());
            remove_temporaries();
            throw std::runtime_error("-nexusfile: cannot create '" + data_paths_[k] + "'");
        }
    if (std::rename(tmp_.c_str(), target_.c_str()) != 0) {
        for (const std::string& p : data_targets_) std::remove(p.c_str());
        std::remove(tmp_.c_str());
        track(tmp_, false);
        throw std::runtime_error("-nexusfile: cannot create '" + opt_.path + "'");
    }
    track(tmp_, false);
    for (const std::string& t : data_tmps_) track(t, false);
    finished_ = true;
}

}  // namespace nb

// C linkage so that the engine finds it with dlsym; exceptions (std::runtime_error
// naming -nexusfile) reach the caller, built with the same compiler and library.
extern "C" __attribute__((visibility("default"))) nb::NexusWriter* nb_nexus_open(const nb::NexusWriter::Options* opt,
                                                                                 const nb::Experiment* first) {
    return new nb::Hdf5NexusWriter(*opt, *first);
}
