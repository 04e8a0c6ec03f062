#include "cli/outputs.hpp"

#include "engine/panels.hpp"
#include "engine/smv_io.hpp"
#include "engine/stage_timer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "cli/args.hpp"
#include "cli/frames.hpp"
#include "engine/cbf_writer.hpp"
#include "engine/nexus_writer.hpp"
#include "engine/png_preview.hpp"
#include "engine/run_estimate.hpp"
#include "kernels/cuda_launcher.hpp"

namespace nb {

Device choose_device(const std::string& device, bool log) {
    if (device == "cpu") return Device::Cpu;
    if (cuda_device_count() > 0) return Device::Cuda;
    const CudaUnavailable u = cuda_unavailable();
    if (device == "cuda") throw UsageError("-device cuda: " + u.why + " (use -device cpu)");
    if (u.problem)  // never silent: the user may think the GPU rendered
        spdlog::warn("WARNING: -device auto: a CUDA GPU cannot be used ({}): rendering on the CPU", u.why);
    else if (log)
        spdlog::info("no CUDA GPU found: rendering on the CPU");
    return Device::Cpu;
}

std::string device_for_run(const std::string& device, double evaluations, int cpu_threads, bool log) {
    if (device != "auto" || !sooner_on_the_cpu(evaluations, cpu_threads)) return device;
    if (log) spdlog::info("{}", short_run_on_the_cpu(evaluations, cpu_threads));
    return "cpu";
}

RenderOptions render_options(const SimConfig& cfg, int local_rank, bool log) {
    RenderOptions opt;
    opt.threads = cfg.threads;
    opt.precision = cfg.precision == "float" ? Precision::Float : Precision::Double;
    opt.device = choose_device(cfg.device, log);
    if (opt.device == Device::Cuda) cuda_use_device(local_rank);
    // For tests of the GPU's orchestration without a GPU: -device cpu renders
    // through the GPU's frame pipeline on its host backend (two frames in
    // flight, the device's statistics), the whole command line around it.
    if (const char* e = std::getenv("NB_PIPELINE_ON_HOST"); e && std::string(e) == "1" && opt.device == Device::Cpu)
        opt.device = Device::HostPipeline;
    return opt;
}

std::string interpolation_warning(const Experiment& e, const RenderResult& r) {
    if (r.interp_disabled_at < 0) return "";
    return "WARNING: out of range for three point interpolation at pixel (" +
           std::to_string(r.interp_disabled_at % e.det.fpixels) + ", " +
           std::to_string(r.interp_disabled_at / e.det.fpixels) +
           "); interpolation disabled for the rest of the image, as C nanoBragg does";
}

std::string nonfinite_warning(const Experiment& e, const RenderResult& r) {
    if (r.stats.nonfinite <= 0) return "";
    return "WARNING: " + std::to_string(r.stats.nonfinite) +
           " pixels are not finite (NaN or infinity), as C nanoBragg would leave them; the noise image counts " +
           (NoiseRows::applies(e) ? "no photons for NaN and an overload for +inf"
                                  : "them as C does (0 for NaN and for about half of +inf, the count nan)") +
           " (docs/precision.md)";
}

OutputSelection cli_outputs(const SimConfig& cfg) {
    OutputSelection s;
    s.float_file = true;
    s.int_file = cfg.write_int;
    s.pgm_file = cfg.write_pgm;
    s.noise_file = cfg.write_noise;
    s.png_file = !cfg.png_file.empty();
    s.cbf_file = !cfg.cbf_file.empty();
    return s;
}

int64_t noise_seed_base(const SimConfig& cfg) { return cfg.seed ? *cfg.seed : -(int64_t)std::time(nullptr); }

void make_frame_noise(FrameOutput& fo) {
    if (!fo.needs_noise) return;
    if (fo.stream_noise) {
        fo.noise_rows = std::make_shared<NoiseRows>(fo.exp, fo.result.image, fo.seed);
        return;
    }
    StageTimer timer("noise image");
    fo.noise = make_noise_image(fo.exp, fo.result.image, fo.seed);
}

void finish_frame_noise(FrameOutput& fo) {
    if (!fo.noise_rows) return;
    fo.noise.photons = fo.noise_rows->photons();
    fo.noise.overloads = fo.noise_rows->overloads();
    fo.noise_rows.reset();
}

void print_frame_noise(const FrameOutput& fo) {
    if (!fo.needs_noise) return;
    // the detector model's lines end with the photon count
    if (!fo.noise.log.empty())
        std::fputs(fo.noise.log.c_str(), stdout);
    else
        std::printf("%.0f photons on noise image (%d overloads)\n", fo.noise.photons, fo.noise.overloads);
}

namespace {

// A path without its directory and extension: the miniCBF data block name.
std::string base_name(const std::string& path) {
    size_t slash = path.find_last_of('/');
    std::string b = slash == std::string::npos ? path : path.substr(slash + 1);
    size_t dot = b.find_last_of('.');
    return dot == std::string::npos || dot == 0 ? b : b.substr(0, dot);
}

bool numbered_outputs(const SimConfig& cfg) { return nb::numbered_outputs(cfg.nframes, !cfg.shots_file.empty()); }

}  // namespace

std::vector<OutputFile> image_output_files(const SimConfig& cfg, const std::shared_ptr<FrameOutput>& fo,
                                           const OutputSelection& which, std::string* log) {
    const int number = cfg.first_frame + fo->index;
    const bool numbered = numbered_outputs(cfg);
    auto name = [&](const std::string& pattern, const char* flag) {
        return frame_file_name(pattern, number, numbered, flag);
    };
    // several panels (-expt): each image file once per panel (engine/panels.hpp)
    const int panels = panel_count(fo->exp);
    auto panel_exp = [fo](int k) {
        return fo->exp.panels.empty() ? std::make_shared<Experiment>()
                                      : std::make_shared<Experiment>(panel_experiment(fo->exp, k));
    };
    auto exp_of = [fo](const std::shared_ptr<Experiment>& pe) -> const Experiment& {
        return fo->exp.panels.empty() ? fo->exp : *pe;
    };
    std::vector<OutputFile> files;
    const ImageStats& st = fo->result.stats;
    const double int_scale = auto_int_scale(cfg.intfile_scale, st.max_I);
    const double pgm_scale = auto_pgm_scale(cfg.pgm_scale, int_scale, st.rmsd);
    auto say = [log](const char* key, double v) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s = %g\n", key, v);
        *log += buf;
    };
    if (log) say("intfile_scale", int_scale);
    if (log && which.pgm_file) say("pgm_scale", pgm_scale);
    // the noise drawn into its file's blocks when nothing else reads it (no
    // NeXus slice, which set needs_noise before, no miniCBF, one panel)
    // (a stream target is written at commit, after the noise's counts are taken)
    fo->stream_noise = which.noise_file && !which.cbf_file && !fo->needs_noise && fo->exp.panels.empty() &&
                       NoiseRows::applies(fo->exp) && !is_stream_target(name(cfg.noise_file, "-noisefile"));
    if (which.noise_file || which.cbf_file) fo->needs_noise = true;
    bool warned_header = false;
    for (int k = 0; k < panels; ++k) {
        // the panel's tag before the frame number: dxtbx reads each panel's frames as one sweep
        auto pname = [&](const std::string& pattern, const char* flag) {
            return name(panel_file_name(pattern, k, panels), flag);
        };
        const std::shared_ptr<Experiment> pe = panel_exp(k);
        const Experiment& ek = exp_of(pe);
        // The raw formats by rows, straight from the frame's own pixels: a
        // panel's rows start at its first row of the stacked image. The rows
        // refer to the frame and the panel's experiment, which each file holds.
        const int first_row = fo->exp.panels.empty() ? 0 : k * fo->exp.panel_rows();
        if (log && (which.int_file || which.noise_file) && !warned_header) {
            const std::string w = smv_header_overrun_warning(smv_header(ek), "-intfile/-noisefile");
            if (!w.empty()) *log += w + "\n";
            warned_header = !w.empty();
        }
        auto rows = [fo, pe](RowFile r) { return rows_holding(std::move(r), fo, pe); };
        if (which.float_file)
            files.push_back(row_output(pname(cfg.float_file, "-floatfile"), "-floatfile",
                                       rows(float_rows(ek, fo->result.image, first_row))));
        if (which.int_file)
            files.push_back(row_output(pname(cfg.int_file, "-intfile"), "-intfile",
                                       rows(smv_int_rows(ek, fo->result.image, int_scale, first_row))));
        if (which.pgm_file)
            files.push_back(row_output(pname(cfg.pgm_file, "-pgmfile"), "-pgmfile",
                                       rows(pgm_rows(ek, fo->result.image, pgm_scale, first_row))));
        if (which.noise_file && fo->stream_noise) {
            RowFile r;
            r.header = smv_header(fo->exp);
            r.rows = fo->exp.det.spixels;
            r.row_bytes = (size_t)fo->exp.det.fpixels * sizeof(uint16_t);
            r.rows_at = [fo](int r0, int n, void* scratch) -> const void* {
                fo->noise_rows->fill(r0, n, static_cast<uint16_t*>(scratch));
                return scratch;
            };
            files.push_back(row_output(pname(cfg.noise_file, "-noisefile"), "-noisefile",
                                       std::make_shared<const RowFile>(std::move(r)), true));
        } else if (which.noise_file) {
            files.push_back(row_output(pname(cfg.noise_file, "-noisefile"), "-noisefile",
                                       rows(smv_noise_rows(ek, fo->noise, first_row)), true));
        }
        auto with_noise = [fo, k](const auto& use) {
            if (fo->exp.panels.empty())
                use(fo->noise);
            else
                use(panel_noise(fo->exp, fo->noise, k));
        };
        if (which.cbf_file) {
            const std::string path = pname(cfg.cbf_file, "-cbffile");
            files.push_back({path, "-cbffile",
                             [exp_of, pe, with_noise, path](std::FILE* f) {
                                 with_noise(
                                     [&](const NoiseImage& n) { write_minicbf(f, exp_of(pe), n, base_name(path)); });
                             },
                             true});
        }
    }
    if (which.png_file) {
        const double level = cfg.png_level > 0 ? cfg.png_level : png_default_white_level(fo->result.image);
        if (log) say("png_level", level);
        files.push_back(
            {name(cfg.png_file, "-pngfile"), "-pngfile", [fo, level](std::FILE* f) {
                 std::vector<char> png;
                 if (fo->exp.panels.empty()) {
                     png = png_preview_bytes(fo->result.image, fo->exp.det.fpixels, fo->exp.det.spixels, level);
                 } else {
                     // the whole detector laid out in its plane
                     int height = 0;
                     const int width = std::min(2048, std::max(512, fo->exp.det.fpixels * 2));
                     const std::vector<float> picture = detector_layout(fo->exp, fo->result.image, width, height);
                     png = png_preview_bytes(picture, width, height, level);
                 }
                 if (std::fwrite(png.data(), 1, png.size(), f) != png.size())
                     throw std::runtime_error("write failed (disk full?)");
             }});
    }
    return files;
}

void check_output_names(const SimConfig& cfg) {
    const bool numbered = numbered_outputs(cfg);
    for (const auto& [pattern, flag] : {std::pair{cfg.float_file, "-floatfile"},
                                        {cfg.int_file, "-intfile"},
                                        {cfg.noise_file, "-noisefile"},
                                        {cfg.pgm_file, "-pgmfile"},
                                        {cfg.png_file, "-pngfile"},
                                        {cfg.cbf_file, "-cbffile"}})
        if (!pattern.empty()) frame_file_name(pattern, 1, numbered, flag);
    if (cfg.nexus_file.empty() && cfg.nexus_frames_per_file > 0)
        throw UsageError("-nexus_frames_per_file: needs -nexusfile (the master file's name)");
    if (cfg.nexus_file.empty() && cfg.nexus_compression != "auto")
        throw UsageError("-nexus_compression: needs -nexusfile");
    // a miniCBF series names its frames itself: a bare name would silently get "_%04d"
    if (!cfg.cbf_file.empty() && numbered && cfg.cbf_file.find('%') == std::string::npos &&
        !is_stream_target(cfg.cbf_file))
        throw UsageError(
            "-cbffile: '" + cfg.cbf_file + "' has no frame number, but the run writes " +
            (cfg.shots_file.empty() ? std::to_string(cfg.nframes) + " frames" : "a frame per line of the -shots list") +
            ": use a pattern such as name_%04d.cbf");
}

void check_output_targets(const SimConfig& cfg, const OutputSelection& which) {
    // bad input, before anything runs (the Python module's UsageError)
    auto check_target = [](const std::string& path, const char* flag) {
        try {
            // HDF5 writes a file it can seek, put in place by a rename
            check_output_target(path, flag, std::string(flag) != "-nexusfile");
        } catch (const std::runtime_error& e) {
            throw UsageError(e.what());
        }
    };
    const int frames = std::max(1, cfg.nframes);
    const bool numbered = numbered_outputs(cfg);
    std::vector<std::pair<const std::string*, const char*>> patterns;  // the selected outputs' name patterns
    for (const auto& [selected, pattern, flag] : {std::tuple{which.float_file, &cfg.float_file, "-floatfile"},
                                                  {which.int_file, &cfg.int_file, "-intfile"},
                                                  {which.noise_file, &cfg.noise_file, "-noisefile"},
                                                  {which.pgm_file, &cfg.pgm_file, "-pgmfile"},
                                                  {which.png_file, &cfg.png_file, "-pngfile"},
                                                  {which.cbf_file, &cfg.cbf_file, "-cbffile"}})
        if (selected && !pattern->empty()) patterns.push_back({pattern, flag});
    for (const auto& [pattern, flag] : patterns) {
        // the first 10000 frames' names and the last (a later folder that is not
        // there still stops the series at that frame, with nothing half-written)
        for (int i = 1; i <= frames; i = i < 10000 ? i + 1 : (i < frames ? frames : frames + 1))
            check_target(frame_file_name(*pattern, cfg.first_frame + i - 1, numbered, flag), flag);
    }
    if (!cfg.nexus_file.empty()) check_target(cfg.nexus_file, "-nexusfile");
    // The run's input files, which no output may replace.
    std::vector<std::pair<std::string, std::string>> inputs;
    for (const auto& [name, flag] : {std::pair{&cfg.hkl_file, "-hkl"},
                                     {&cfg.mat_file, "-mat"},
                                     {&cfg.source_file, "-sourcefile"},
                                     {&cfg.img_file, "-img"},
                                     {&cfg.mask_file, "-mask"},
                                     {&cfg.stol_file, "-stol"},
                                     {&cfg.expt_file, "-expt"},
                                     {&cfg.shots_file, "-shots"},
                                     {&cfg.fdump_file, "the structure-factor cache"}})
        if (!name->empty()) inputs.push_back({*name, flag});
    for (const AmorphousLayer& layer : cfg.amorphous)
        if (std::filesystem::is_regular_file(layer.table)) inputs.push_back({layer.table, "-amorphous"});
    const std::string data_files = "a data file of -nexusfile";
    // `other`: an output's flag, data_files, or an input's flag
    auto clash = [&inputs, &data_files](const std::string& name, const std::string& flag, const std::string& other) {
        for (const auto& in : inputs)
            if (in.second == other)
                return UsageError(flag + ": '" + name + "' is an input file of this run (" + other + ")");
        return UsageError(flag + ": '" + name + "' is also " +
                          (other == data_files ? other : "the " + other + " file") + ": give each output its own name");
    };
    // Every frame's names, as spelled (absolute, "." and ".." resolved):
    // a_%d's frame 11 is a_1%d's frame 1, and a NeXus data file may be named
    // as a frame. Links and other spellings below.
    {
        const std::filesystem::path cwd = std::filesystem::current_path();
        auto key = [&cwd](const std::string& name) {
            const std::filesystem::path p(name);
            return (p.is_absolute() ? p : cwd / p).lexically_normal().string();
        };
        std::unordered_map<std::string, std::string> seen;  // name -> its flag
        auto claim = [&](const std::string& name, const std::string& flag) {
            if (is_stream_target(name)) return;
            auto [it, fresh] = seen.emplace(key(name), flag);
            if (!fresh) throw clash(name, flag, it->second);
        };
        for (const auto& [name, flag] : inputs) seen.emplace(key(name), flag);
        if (!cfg.nexus_file.empty()) {
            claim(cfg.nexus_file, "-nexusfile");
            if (cfg.nexus_frames_per_file > 0)
                for (int k = 1; k <= (frames + cfg.nexus_frames_per_file - 1) / cfg.nexus_frames_per_file; ++k) {
                    claim(NexusWriter::data_file_name(cfg.nexus_file, k), data_files);
                    check_target(NexusWriter::data_file_name(cfg.nexus_file, k), "-nexusfile");
                }
        }
        for (const auto& [pattern, flag] : patterns)
            for (int i = 1; i <= frames; i = i < 10000 ? i + 1 : (i < frames ? frames : frames + 1))
                claim(frame_file_name(*pattern, cfg.first_frame + i - 1, numbered, flag), flag);
    }
    // the first and last frames' names through links too (refused again when
    // staged, but that is after the render and the HKL grid's Fdump.bin)
    for (const int i : {1, frames}) {
        std::vector<std::pair<std::string, std::string>> names;
        for (const auto& [pattern, flag] : patterns)
            names.push_back({frame_file_name(*pattern, cfg.first_frame + i - 1, numbered, flag), flag});
        if (!cfg.nexus_file.empty()) names.push_back({cfg.nexus_file, "-nexusfile"});
        for (size_t a = 0; a < names.size(); ++a) {
            for (size_t b = 0; b < a; ++b)
                if (same_output_file(names[a].first, names[b].first))
                    throw clash(names[a].first, names[a].second, names[b].second);
            for (const auto& [name, flag] : inputs)
                if (!is_stream_target(names[a].first) && same_file(names[a].first, name))
                    throw clash(names[a].first, names[a].second, flag);
        }
    }
}

}  // namespace nb
