// The `nanobragg` Python module: the engine behind NumPy arrays.
//
// simulate(args) runs the command line's pipeline (same parser, same set-up,
// same device choice, same file writers) and hands the image over as a NumPy
// array that owns the engine's buffer. Simulator(args) sets up once and
// re-renders after changes, each change applied the way its command-line flag
// would be, so an image after set_phi(x) is the image of a fresh run with
// "-phi x". Rendering releases the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli/args.hpp"
#include "cli/frames.hpp"
#include "cli/outputs.hpp"
#include "engine/build_info.hpp"
#include "engine/detector_geometry.hpp"
#include "engine/expt.hpp"
#include "engine/float_precision.hpp"
#include "engine/hkl_io.hpp"
#include "engine/nexus_writer.hpp"
#include "engine/render.hpp"
#include "engine/setup.hpp"
#include "engine/units.hpp"

namespace py = pybind11;

namespace {

// ---- arguments ----

// Whether v is an instance of numbers.<abc> (Python's numbers, NumPy's
// scalars), and not a bool: True is not a number of a flag.
bool is_number(const py::object& v, const char* abc) {
    // (NumPy's bool_ is no number of the numbers module)
    if (py::isinstance<py::bool_>(v)) return false;
    return py::isinstance(v, py::module_::import("numbers").attr(abc));
}

// A setter's number, named by its flag when it is not a real one.
double real_argument(const py::object& v, const char* flag) {
    if (!is_number(v, "Real"))
        throw nb::UsageError(std::string(flag) + ": expected a real number, got " +
                             py::str(py::repr(v)).cast<std::string>());
    return py::float_(v).cast<double>();
}

long long integer_argument(const py::object& v, const char* flag) {
    if (!is_number(v, "Integral"))
        throw nb::UsageError(std::string(flag) + ": expected an integer, got " +
                             py::str(py::repr(v)).cast<std::string>());
    const py::int_ i(v);
    try {
        return i.cast<long long>();
    } catch (const py::cast_error&) {
        throw nb::UsageError(std::string(flag) + ": " + py::repr(i).cast<std::string>() + " is out of range");
    }
}

// A list of arguments (numbers are turned into text with str(), paths with
// os.fspath), or one string split on white space.
std::vector<std::string> to_args(const py::object& args) {
    std::vector<std::string> out;
    if (py::isinstance<py::str>(args)) {
        std::istringstream in(args.cast<std::string>());
        for (std::string w; in >> w;) out.push_back(w);
        return out;
    }
    const std::string got = py::str(py::type::of(args).attr("__name__")).cast<std::string>();
    if (py::isinstance<py::bytes>(args) || py::isinstance<py::bytearray>(args) || !py::isinstance<py::iterable>(args))
        throw nb::UsageError("args: give a list of arguments or one string, not " + got);
    size_t position = 0;
    for (const py::handle item : args) {
        if (py::isinstance<py::str>(item) || is_number(py::reinterpret_borrow<py::object>(item), "Real"))
            out.push_back(py::str(item).cast<std::string>());
        else if (py::hasattr(item, "__fspath__"))
            out.push_back(py::str(py::module_::import("os").attr("fspath")(item)).cast<std::string>());
        else
            throw nb::UsageError("args: item " + std::to_string(position) + " is " +
                                 py::str(py::type::of(item).attr("__name__")).cast<std::string>() +
                                 ", not a string, a number or a path");
        ++position;
    }
    return out;
}

nb::ParsedArgs parse(const std::vector<std::string>& args) {
    std::vector<const char*> argv{"nanoBragg"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    nb::ParsedArgs p = nb::parse_args((int)argv.size(), argv.data());
    if (p.help) throw nb::UsageError("-h: nanobragg.help() returns the list of flags");
    if (p.version) throw nb::UsageError("-version: nanobragg.version() returns the version line");
    // -expt with a scan: the module renders the scan's first image (set_phi for the others)
    if (p.config.expt && p.config.nframes > 1 && !p.nframes_given) p.config.nframes = 1;
    if (p.config.nframes > 1)
        throw nb::UsageError(
            "-nframes: the Python module renders one image per call; use Simulator.set_phi for a series");
    if (!p.config.shots_file.empty())
        throw nb::UsageError("-shots: the Python module renders one image per call; use Simulator's setters per shot");
    if (p.config.printout || p.config.trace_fpixel >= 0)
        throw nb::UsageError(std::string(p.config.printout ? "-printout" : "-trace_pixel") +
                             ": the Python module prints no per-pixel lines; run nanoBragg with the same arguments "
                             "for them (Result.image holds every pixel's value)");
    p.config.write_fdump = false;  // nothing on disk unless an output flag asks
    p.config.progress = false;
    return p;
}

// The temporary .expt files that hold dxtbx objects given as expt=: the
// engine's messages name them as -expt files, the user gave none.
// The names stay listed after their files go (an error is translated after
// the call's ExptFile is gone); the last 64 are kept, each a fresh mkstemp name.
std::mutex temporary_expt_mutex;
std::deque<std::string> temporary_expt_paths;
PyObject* usage_error_type = nullptr;
PyObject* missing_input_type = nullptr;

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
    return s;
}

// A message with each temporary file named as what the user gave.
std::string as_given(std::string message) {
    std::lock_guard<std::mutex> lock(temporary_expt_mutex);
    for (const std::string& path : temporary_expt_paths) {
        message = replace_all(message, "-expt " + path, "expt= (dxtbx objects)");
        message = replace_all(message, path, "expt= (dxtbx objects)");
    }
    return message;
}

// expt=: a path, or dxtbx's Experiment or ExperimentList written to a
// temporary .expt (kept while the arguments may be parsed again).
class ExptFile {
public:
    explicit ExptFile(const py::object& expt) {
        if (expt.is_none()) return;
        if (py::isinstance<py::str>(expt) || py::hasattr(expt, "__fspath__")) {
            path_ = py::str(py::module_::import("os").attr("fspath")(expt)).cast<std::string>();
            return;
        }
        py::object list = expt;
        if (!py::hasattr(expt, "as_file")) {
            if (!py::hasattr(expt, "detector") || !py::hasattr(expt, "beam"))
                throw nb::UsageError("expt: give a path to a .expt file, or dxtbx's Experiment or ExperimentList");
            py::object el = py::module_::import("dxtbx.model.experiment_list").attr("ExperimentList");
            list = el();
            list.attr("append")(expt);
        }
        if (py::len(list) == 0) throw nb::UsageError("expt: the experiment list holds no experiment");
        py::tuple fd = py::module_::import("tempfile").attr("mkstemp")(py::arg("suffix") = ".expt");
        py::module_::import("os").attr("close")(fd[0]);
        path_ = fd[1].cast<std::string>();
        temporary_ = true;
        {
            std::lock_guard<std::mutex> lock(temporary_expt_mutex);
            temporary_expt_paths.push_back(path_);
            if (temporary_expt_paths.size() > 64) temporary_expt_paths.pop_front();
        }
        list.attr("as_file")(path_);
    }
    ~ExptFile() {
        if (temporary_) std::remove(path_.c_str());
    }
    ExptFile(const ExptFile&) = delete;
    ExptFile& operator=(const ExptFile&) = delete;
    void add_to(std::vector<std::string>& args) const {
        if (path_.empty()) return;
        for (const std::string& a : args)
            if (a == "-expt" || a == "--expt")
                throw nb::UsageError("expt: the arguments hold -expt too: give the experiment list once");
        args.push_back("-expt");
        args.push_back(path_);
    }

private:
    std::string path_;
    bool temporary_ = false;
};

std::string exact(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

// ---- structure factors from NumPy ----

using IntArray = py::array_t<long long, py::array::c_style | py::array::forcecast>;
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

nb::HklGrid grid_from_arrays(const py::object& h_in, const py::object& k_in, const py::object& l_in,
                             const py::object& F_in, double default_F) {
    const char* what = "structure factors";
    // integers and reals only: NumPy would drop a complex F's phase (with a
    // warning) and read True as 1
    const py::object asarray = py::module_::import("numpy").attr("asarray");
    for (const auto& [obj, name] : {std::pair{&h_in, "h"}, {&k_in, "k"}, {&l_in, "l"}, {&F_in, "F"}}) {
        const py::array a = asarray(*obj);
        const char kind = a.dtype().kind();
        if (kind == 'c')
            throw nb::UsageError(std::string(what) + ": " + name +
                                 " holds complex numbers; give real amplitudes |F| (numpy.abs)");
        if (kind != 'i' && kind != 'u' && kind != 'f')
            throw nb::UsageError(std::string(what) + ": " + name + " must be a numeric array (got dtype " +
                                 py::str(a.dtype()).cast<std::string>() + ")");
    }
    DoubleArray hd = DoubleArray::ensure(h_in), kd = DoubleArray::ensure(k_in), ld = DoubleArray::ensure(l_in),
                F = DoubleArray::ensure(F_in);
    if (!hd || !kd || !ld || !F) throw nb::UsageError(std::string(what) + ": h, k, l and F must be numeric arrays");
    const py::ssize_t n = F.size();
    if (hd.ndim() != 1 || kd.ndim() != 1 || ld.ndim() != 1 || F.ndim() != 1 || hd.size() != n || kd.size() != n ||
        ld.size() != n)
        throw nb::UsageError(std::string(what) + ": h, k, l and F must be one-dimensional arrays of one length (got " +
                             std::to_string(hd.size()) + ", " + std::to_string(kd.size()) + ", " +
                             std::to_string(ld.size()) + ", " + std::to_string(n) + ")");
    if (n == 0) throw nb::UsageError(std::string(what) + ": the arrays hold no reflection");
    std::vector<nb::Reflection> refl;
    refl.reserve((size_t)n);
    const double* idx[3] = {hd.data(), kd.data(), ld.data()};
    for (py::ssize_t i = 0; i < n; ++i) {
        int hkl[3];
        for (int j = 0; j < 3; ++j) {
            const double v = idx[j][i];
            if (!(std::fabs(v) <= 1e6) || v != std::floor(v))
                throw nb::UsageError(std::string(what) + ": Miller index " + exact(v) + " at position " +
                                     std::to_string(i) + " is not an integer within +/-1e6");
            hkl[j] = (int)v;
        }
        if (!std::isfinite(F.data()[i]))
            throw nb::UsageError(std::string(what) + ": F at position " + std::to_string(i) + " is not finite");
        refl.push_back(nb::Reflection{hkl[0], hkl[1], hkl[2], F.data()[i]});
    }
    return nb::hkl_grid_from_reflections(refl, default_F, what);
}

// ---- results ----

struct Geometry {
    int fpixels = 0, spixels = 0;
    double pixel_size_mm = 0, distance_mm = 0, close_distance_mm = 0;
    std::array<double, 2> beam_center_mm{0, 0};  // Xbeam, Ybeam in the convention's frame
    std::array<double, 2> beam_fs_mm{0, 0};      // Fbeam, Sbeam: the beam spot along fast, slow
    std::array<double, 3> fdet{}, sdet{}, odet{}, beam{}, polar{}, spindle{}, pix0_m{};
    double wavelength_A = 0, phi_deg = 0, osc_deg = 0, twotheta_deg = 0;
    std::string convention, pivot;
};

std::array<double, 3> arr(const nb::Vec3D& v) { return {v.x, v.y, v.z}; }

Geometry geometry_of(const nb::Experiment& e) {
    const nb::DetectorGeometry& d = e.det;
    Geometry g;
    g.fpixels = d.fpixels;
    g.spixels = d.spixels;
    g.pixel_size_mm = d.pixel_size * 1000;
    g.distance_mm = d.distance * 1000;
    g.close_distance_mm = d.close_distance * 1000;
    g.beam_center_mm = {d.Xbeam * 1000, d.Ybeam * 1000};
    g.beam_fs_mm = {d.Fbeam * 1000, d.Sbeam * 1000};
    g.fdet = arr(d.fdet);
    g.sdet = arr(d.sdet);
    g.odet = arr(d.odet);
    g.beam = arr(d.beam);
    g.polar = arr(d.polar);
    g.spindle = arr(d.spindle);
    g.pix0_m = arr(d.pix0);
    g.wavelength_A = e.cfg.lambda0 * 1e10;
    g.phi_deg = e.samp.phi0 * nb::RTD;
    g.osc_deg = e.samp.osc * nb::RTD;
    g.twotheta_deg = d.twotheta * nb::RTD;
    g.convention = nb::convention_name(d.convention);
    g.pivot = d.pivot == nb::Pivot::Sample ? "sample" : "beam";
    return g;
}

struct Result {
    py::array image;
    py::list panels;  // one array per panel (views of image), with several
    nb::ImageStats stats;
    Geometry geometry;
    std::string backend;
    std::vector<std::string> notes, warnings, files;
};

// What a render leaves before Python objects are made (built without the GIL).
struct Rendered {
    nb::RenderResult r;
    int panels = 1, panel_rows = 0;
    Geometry geometry;
    std::vector<std::string> notes, warnings, files;
};

Rendered finish(const nb::Experiment& e, nb::Precision precision, nb::RenderResult&& r) {
    Rendered out;
    out.geometry = geometry_of(e);
    out.panels = e.panels.empty() ? 1 : (int)e.panels.size();
    out.panel_rows = e.panel_rows();
    for (const std::string& n : e.notes) out.notes.push_back(as_given(n));
    out.notes.insert(out.notes.end(), e.oversample_notes.begin(), e.oversample_notes.end());
    for (const std::string& w :
         {nb::float_precision_warning(e, precision), nb::interpolation_warning(e, r), nb::nonfinite_warning(e, r)})
        if (!w.empty()) out.warnings.push_back(as_given(w));
    out.r = std::move(r);
    return out;
}

// The image as a NumPy array that owns the engine's buffer (no copy).
Result to_python(Rendered&& x) {
    Result res;
    auto* buffer = new std::vector<float>(std::move(x.r.image));
    py::capsule owner(buffer, [](void* p) { delete static_cast<std::vector<float>*>(p); });
    res.image =
        py::array_t<float>({(py::ssize_t)x.geometry.spixels, (py::ssize_t)x.geometry.fpixels}, buffer->data(), owner);
    for (int k = 0; k < x.panels; ++k)
        res.panels.append(res.image[py::slice((py::ssize_t)k * x.panel_rows, (py::ssize_t)(k + 1) * x.panel_rows, 1)]);
    res.stats = x.r.stats;
    res.geometry = std::move(x.geometry);
    res.backend = x.r.backend;
    res.notes = std::move(x.notes);
    res.warnings = std::move(x.warnings);
    res.files = std::move(x.files);
    return res;
}

// structure_factors=(h, k, l, F): instead of -hkl, not beside it
std::optional<nb::HklGrid> grid_argument(const py::object& structure_factors, const nb::SimConfig& cfg) {
    if (structure_factors.is_none()) return std::nullopt;
    if (!cfg.hkl_file.empty())
        throw nb::UsageError("structure_factors: the arguments hold -hkl " + cfg.hkl_file +
                             " too: give the structure factors once");
    if (!py::isinstance<py::tuple>(structure_factors) && !py::isinstance<py::list>(structure_factors))
        throw nb::UsageError("structure_factors: expected a tuple (h, k, l, F), got " +
                             py::str(py::type::of(structure_factors).attr("__name__")).cast<std::string>());
    const py::sequence t = structure_factors;
    if (t.size() != 4)
        throw nb::UsageError("structure_factors: expected a tuple (h, k, l, F), got " + std::to_string(t.size()) +
                             " items");
    return grid_from_arrays(t[0], t[1], t[2], t[3], cfg.default_F);
}

// ---- simulate ----

Result simulate(const py::object& args_in, const py::object& structure_factors, const py::object& expt) {
    std::vector<std::string> args = to_args(args_in);
    const ExptFile expt_file(expt);
    expt_file.add_to(args);
    nb::ParsedArgs parsed = parse(args);
    std::optional<nb::HklGrid> grid = grid_argument(structure_factors, parsed.config);
    Rendered out;
    {
        py::gil_scoped_release release;
        nb::SimConfig& cfg = parsed.config;
        nb::check_output_names(cfg);
        const nb::OutputFlagsGiven& given = parsed.outputs_given;
        nb::OutputSelection which;
        which.float_file = given.floatfile;
        which.int_file = given.intfile;
        which.noise_file = given.noisefile && cfg.write_noise;
        which.pgm_file = given.pgmfile && cfg.write_pgm;
        which.png_file = given.pngfile;
        which.cbf_file = !cfg.cbf_file.empty();
        nb::check_output_targets(cfg, which);
        nb::Experiment e = grid ? nb::prepare_experiment(cfg, std::move(*grid)) : nb::prepare_experiment(cfg);
        const bool nexus = !cfg.nexus_file.empty();
        // the NeXus module loaded and its temporary file made before anything
        // renders or is written, as on the command line: a failure leaves no file
        std::unique_ptr<nb::NexusWriter> writer;
        if (nexus) {
            std::string command_line = "nanobragg.simulate";
            for (const std::string& a : args) command_line += " " + a;
            writer = nb::NexusWriter::open(nb::NexusWriter::from_config(cfg, command_line), e);
        }
        const nb::RenderOptions opt = nb::render_options(cfg, 0, false);
        out = finish(e, opt.precision, nb::render_image(e, opt));
        if (which.float_file || which.int_file || which.noise_file || which.pgm_file || which.png_file ||
            which.cbf_file || nexus) {
            auto fo = std::make_shared<nb::FrameOutput>();
            fo->exp = std::move(e);
            fo->exp.hkl = nb::HklGrid{};
            fo->result = std::move(out.r);
            fo->seed = nb::frame_seed(nb::noise_seed_base(cfg), 0);
            fo->needs_noise = nexus;
            const std::vector<nb::OutputFile> files = nb::image_output_files(cfg, fo, which, nullptr);
            nb::commit_outputs(files, [&fo] { nb::make_frame_noise(*fo); });
            nb::close_output_streams();  // a pipe's reader sees the end of this call's image
            nb::finish_frame_noise(*fo);
            for (const auto& f : files) out.files.push_back(f.path);
            if (writer) {
                writer->append(fo->exp, fo->noise, fo->result.image);
                writer->finish();
                out.files.push_back(cfg.nexus_file);
            }
            out.r = std::move(fo->result);
        }
    }
    return to_python(std::move(out));
}

// ---- Simulator ----

class Simulator {
public:
    Simulator(const py::object& args_in, const py::object& structure_factors, const py::object& expt)
        : expt_(std::make_unique<ExptFile>(expt)), args_(to_args(args_in)) {
        expt_->add_to(args_);
        nb::ParsedArgs parsed = parse(args_);
        const nb::OutputFlagsGiven& g = parsed.outputs_given;
        for (const auto& [given, flag] : {std::pair{g.floatfile, "-floatfile"},
                                          {g.intfile, "-intfile"},
                                          {g.noisefile, "-noisefile"},
                                          {g.pgmfile, "-pgmfile"},
                                          {g.pngfile, "-pngfile"},
                                          {!parsed.config.cbf_file.empty(), "-cbffile"},
                                          {!parsed.config.nexus_file.empty(), "-nexusfile"}})
            if (given)
                throw nb::UsageError(std::string(flag) +
                                     ": Simulator renders to memory; write files with nanobragg.simulate");
        // -misset random without a seed draws from the clock: draw once, keep it
        if (parsed.config.misset_mode == -1 && !parsed.config.misset_seed)
            pinned_misset_seed_ = -(long)std::time(nullptr);
        std::optional<nb::HklGrid> grid = grid_argument(structure_factors, parsed.config);
        py::gil_scoped_release release;
        nb::SimConfig cfg = configure(std::move(parsed.config));
        e_ = grid ? nb::prepare_experiment(cfg, std::move(*grid)) : nb::prepare_experiment(cfg);
        opt_ = nb::render_options(cfg, 0, false);
    }

    Result render() {
        Rendered out;
        {
            py::gil_scoped_release release;
            std::lock_guard<std::mutex> lock(mutex_);
            out = finish(e_, opt_.precision, nb::render_image(e_, opt_));
        }
        return to_python(std::move(out));
    }

    // -phi: only the starting angle changes, so nothing is set up again.
    void set_phi(const py::object& value) {
        const double degrees = real_argument(value, "-phi");
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(mutex_);
        const nb::SimConfig cfg = parse_with("-phi", exact(degrees));  // the flag's checks and messages
        keep("-phi", exact(degrees));
        e_.cfg.phi0 = cfg.phi0;
        e_.samp.phi0 = cfg.phi0;
    }

    // A MOSFLM A matrix as a -mat file holds it: rows are the file's lines,
    // columns a*, b*, c* (reciprocal axes in 1/A, times the wavelength in A).
    void set_orientation(const py::object& matrix) {
        DoubleArray m = DoubleArray::ensure(matrix);
        if (!m || m.ndim() != 2 || m.shape(0) != 3 || m.shape(1) != 3)
            throw nb::UsageError("-mat: the orientation must be a 3x3 array (MOSFLM A matrix)");
        std::array<double, 9> a{};
        for (int i = 0; i < 9; ++i) {
            a[i] = m.data()[i];
            if (!std::isfinite(a[i]))
                throw nb::UsageError("-mat: the orientation matrix holds a value that is not finite");
        }
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(mutex_);
        if (e_.cfg.expt && e_.cfg.expt->has_crystal)  // as -mat beside it on the command line
            throw nb::UsageError("-mat: the experiment list (-expt " + e_.cfg.expt_file +
                                 ") gives the crystal and its orientation: change it there");
        std::optional<std::array<double, 9>> before = matrix_;
        matrix_ = a;
        try {
            rebuild();
        } catch (...) {
            matrix_ = before;
            throw;
        }
    }

    void set_mosaic_seed(const py::object& seed) {
        set_flag("-mosaic_seed", std::to_string(integer_argument(seed, "-mosaic_seed")));
    }
    void set_fluence(const py::object& fluence) { set_flag("-fluence", exact(real_argument(fluence, "-fluence"))); }
    void set_wavelength(const py::object& angstrom) { set_flag("-lambda", exact(real_argument(angstrom, "-lambda"))); }

    void set_structure_factors(const py::object& h, const py::object& k, const py::object& l, const py::object& F) {
        double default_F;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            default_F = e_.cfg.default_F;
        }
        nb::HklGrid grid = grid_from_arrays(h, k, l, F, default_F);
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(mutex_);
        rebuild(&grid);
    }

    Geometry geometry() {
        std::lock_guard<std::mutex> lock(mutex_);
        return geometry_of(e_);
    }

private:
    // The configuration the arguments, the changes so far and `extra` give.
    nb::SimConfig parse_with(const std::string& flag = "", const std::string& value = "") const {
        std::vector<std::string> args = args_;
        for (const auto& [f, v] : overrides_) {
            args.push_back(f);
            args.push_back(v);
        }
        if (!flag.empty()) {
            args.push_back(flag);
            args.push_back(value);
        }
        return configure(parse(args).config);
    }

    nb::SimConfig configure(nb::SimConfig cfg) const {
        if (pinned_misset_seed_) cfg.misset_seed = *pinned_misset_seed_;
        if (matrix_) {
            cfg.mat_values = *matrix_;
            cfg.mat_file.clear();
        }
        return cfg;
    }

    // Records a flag's latest value (replacing an earlier one).
    void keep(const std::string& flag, const std::string& value) {
        for (auto it = overrides_.begin(); it != overrides_.end(); ++it)
            if (it->first == flag) {
                overrides_.erase(it);
                break;
            }
        overrides_.push_back({flag, value});
    }

    // A change of a flag: the whole set-up again but for the HKL grid, which
    // is kept. On failure nothing changes.
    void set_flag(const std::string& flag, const std::string& value) {
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(mutex_);
        const auto before = overrides_;
        keep(flag, value);
        try {
            rebuild();
        } catch (...) {
            overrides_ = before;
            throw;
        }
    }

    void rebuild(nb::HklGrid* grid = nullptr) {
        const nb::SimConfig cfg = parse_with();
        nb::Experiment e = nb::prepare_experiment(cfg, std::move(grid ? *grid : e_.hkl));
        e_ = std::move(e);
    }

    std::unique_ptr<ExptFile> expt_;  // before args_, which may name its file
    std::vector<std::string> args_;
    std::vector<std::pair<std::string, std::string>> overrides_;  // flags set since, applied after args_
    std::optional<std::array<double, 9>> matrix_;
    std::optional<long> pinned_misset_seed_;
    nb::Experiment e_;
    nb::RenderOptions opt_;
    std::mutex mutex_;
};

std::string help_text() {
    const char* argv[] = {"nanoBragg", "-h"};
    return nb::parse_args(2, argv).help_text;
}

std::string stats_repr(const Result& r) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "<nanobragg.Result %dx%d on %s: max_I = %g at %g %g, mean= %g rms= %g rmsd= %g>",
                  r.geometry.spixels, r.geometry.fpixels, r.backend.c_str(), r.stats.max_I, r.stats.max_I_x,
                  r.stats.max_I_y, r.stats.mean, r.stats.rms, r.stats.rmsd);
    return buf;
}

}  // namespace

PYBIND11_MODULE(nanobragg, m) {
    m.doc() = "nanoBragg engine: diffraction images as NumPy arrays (see docs/python.md)";

    // The command line's error classes; str(exception) is the text the CLI
    // prints after "nanoBragg: error: ".
    auto& usage_error = py::register_exception<nb::UsageError>(m, "UsageError", PyExc_ValueError);
    auto& missing_input = py::register_exception<nb::MissingInput>(m, "MissingInput", usage_error.ptr());
    usage_error_type = usage_error.ptr();
    missing_input_type = missing_input.ptr();
    // tried before the two above: a message names a temporary .expt as the
    // dxtbx objects the user gave
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const std::runtime_error& e) {
            const std::string message = as_given(e.what());
            if (message == e.what()) throw;  // the next translator's
            PyObject* type = dynamic_cast<const nb::MissingInput*>(&e) ? missing_input_type
                             : dynamic_cast<const nb::UsageError*>(&e) ? usage_error_type
                                                                       : PyExc_RuntimeError;
            PyErr_SetString(type, message.c_str());
        }
    });

    py::class_<Geometry>(m, "Geometry", "The resolved detector and beam (units: mm, A, deg; pix0 in m)")
        .def_readonly("fpixels", &Geometry::fpixels)
        .def_readonly("spixels", &Geometry::spixels)
        .def_readonly("pixel_size_mm", &Geometry::pixel_size_mm)
        .def_readonly("distance_mm", &Geometry::distance_mm)
        .def_readonly("close_distance_mm", &Geometry::close_distance_mm)
        .def_readonly("beam_center_mm", &Geometry::beam_center_mm, "(Xbeam, Ybeam) in the convention's frame")
        .def_readonly("beam_fs_mm", &Geometry::beam_fs_mm, "(Fbeam, Sbeam): the beam spot along fast, slow")
        .def_readonly("fdet", &Geometry::fdet)
        .def_readonly("sdet", &Geometry::sdet)
        .def_readonly("odet", &Geometry::odet)
        .def_readonly("beam_vector", &Geometry::beam)
        .def_readonly("polar_vector", &Geometry::polar)
        .def_readonly("spindle_axis", &Geometry::spindle)
        .def_readonly("pix0_m", &Geometry::pix0_m, "DETECTOR_PIX0_VECTOR (m)")
        .def_readonly("wavelength_A", &Geometry::wavelength_A)
        .def_readonly("phi_deg", &Geometry::phi_deg)
        .def_readonly("osc_deg", &Geometry::osc_deg)
        .def_readonly("twotheta_deg", &Geometry::twotheta_deg)
        .def_readonly("convention", &Geometry::convention)
        .def_readonly("pivot", &Geometry::pivot);

    py::class_<Result>(m, "Result", "One rendered image, C nanoBragg's statistics and the resolved geometry")
        .def_readonly("image", &Result::image, "float32 array, shape (slow, fast); several panels: stacked along slow")
        .def_readonly("panels", &Result::panels, "one float32 array per panel (views of image)")
        .def_property_readonly("max_I", [](const Result& r) { return r.stats.max_I; })
        .def_property_readonly(
            "max_I_pos_m",
            [](const Result& r) {
                return std::array<double, 2>{r.stats.max_I_x, r.stats.max_I_y};
            },
            "position of max_I (m), as C prints it")
        .def_property_readonly("mean", [](const Result& r) { return r.stats.mean; })
        .def_property_readonly("rms", [](const Result& r) { return r.stats.rms; })
        .def_property_readonly("rmsd", [](const Result& r) { return r.stats.rmsd; })
        .def_property_readonly("sum", [](const Result& r) { return r.stats.sum; })
        .def_property_readonly("counted", [](const Result& r) { return r.stats.counted; })
        .def_property_readonly("nonfinite", [](const Result& r) { return r.stats.nonfinite; })
        .def_readonly("geometry", &Result::geometry)
        .def_readonly("backend", &Result::backend)
        .def_readonly("notes", &Result::notes, "what C prints during set-up (warnings, auto-selections)")
        .def_readonly("warnings", &Result::warnings)
        .def_readonly("files", &Result::files, "files written (output flags only)")
        .def("__repr__", &stats_repr);

    m.def("simulate", &simulate, py::arg("args"), py::arg("structure_factors") = py::none(),
          py::arg("expt") = py::none(),
          "Render one image from a nanoBragg argument list (list, or one string split on white space). "
          "structure_factors=(h, k, l, F) replaces -hkl. expt: a .expt path or dxtbx's Experiment/ExperimentList "
          "(as -expt; several panels: Result.panels). Writes only the files its output flags name.");

    py::class_<Simulator>(m, "Simulator", "Set up once, render many times")
        .def(py::init<const py::object&, const py::object&, const py::object&>(), py::arg("args"),
             py::arg("structure_factors") = py::none(), py::arg("expt") = py::none(),
             "expt: a .expt path or dxtbx's Experiment/ExperimentList (as -expt; the scan's first image, set_phi "
             "for the others)")
        .def("render", &Simulator::render)
        .def("set_phi", &Simulator::set_phi, py::arg("degrees"), "starting spindle angle, as -phi")
        .def("set_orientation", &Simulator::set_orientation, py::arg("A"),
             "MOSFLM A matrix (3x3, as a -mat file holds it: columns a*, b*, c* times lambda)")
        .def("set_mosaic_seed", &Simulator::set_mosaic_seed, py::arg("seed"), "as -mosaic_seed")
        .def("set_fluence", &Simulator::set_fluence, py::arg("fluence"), "photons/m^2, as -fluence")
        .def("set_wavelength", &Simulator::set_wavelength, py::arg("angstrom"), "as -lambda")
        .def("set_structure_factors", &Simulator::set_structure_factors, py::arg("h"), py::arg("k"), py::arg("l"),
             py::arg("F"), "replaces the HKL grid (unlisted reflections get -default_F)")
        .def_property_readonly("geometry", &Simulator::geometry);

    m.def("help", &help_text, "the command line's list of flags");
    m.def("version", &nb::version_line, "version, git commit, build type, CUDA architectures, CPU paths");
}
