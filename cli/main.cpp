// nanoBragg-compatible command line: parse C's flags, render, write C's files.
// With -nframes, a rotation series in one process (set-up once; frame i+1
// renders while frame i is written), split across MPI ranks when launched
// by mpirun/srun.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <future>
#include <memory>

#include "cli/args.hpp"
#include "cli/frames.hpp"
#include "cli/mpi_job.hpp"
#include "cli/report.hpp"
#include "cli/shots.hpp"
#include "engine/build_info.hpp"
#include "engine/cbf_writer.hpp"
#include "engine/image_io.hpp"
#include "engine/nexus_writer.hpp"
#include "engine/png_preview.hpp"
#include "engine/render.hpp"
#include "engine/setup.hpp"
#include "kernels/cuda_launcher.hpp"

namespace {

nb::RenderOptions render_options(const nb::SimConfig& cfg, const nb::Job& job) {
    nb::RenderOptions opt;
    opt.threads = cfg.threads;
    opt.precision = cfg.precision == "float" ? nb::Precision::Float : nb::Precision::Double;
    const int gpus = nb::cuda_device_count();
    if (cfg.device == "cuda") {
        if (gpus == 0) throw nb::UsageError("-device cuda: no CUDA GPU is available on this machine");
        opt.device = nb::Device::Cuda;
    } else if (cfg.device == "auto" && gpus > 0) {
        opt.device = nb::Device::Cuda;
    } else {
        if (cfg.device == "auto" && job.rank == 0) spdlog::info("no CUDA GPU found: rendering on the CPU");
        opt.device = nb::Device::Cpu;
    }
    if (opt.device == nb::Device::Cuda) nb::cuda_use_device(job.local_rank);
    return opt;
}

// Everything one frame's files need, owned, so they can be written while the
// next frame renders.
struct FrameOutput {
    nb::Experiment exp;  // header fields and the noise generator (no HKL grid)
    nb::RenderResult result;
    int index = 0;
    bool needs_noise = false;
    int64_t seed = 0;      // this frame's noise seed
    nb::NoiseImage noise;  // made on the writer thread, shared by SMV, CBF and NeXus
};

// A path without its directory and extension: the miniCBF data block name.
std::string base_name(const std::string& path) {
    size_t slash = path.find_last_of('/');
    std::string b = slash == std::string::npos ? path : path.substr(slash + 1);
    size_t dot = b.find_last_of('.');
    return dot == std::string::npos || dot == 0 ? b : b.substr(0, dot);
}

std::vector<nb::OutputFile> frame_files(const nb::SimConfig& cfg, const std::shared_ptr<FrameOutput>& fo) {
    const int number = fo->index + 1, n = cfg.nframes;
    auto name = [&](const std::string& pattern, const char* flag) {
        return nb::frame_file_name(pattern, number, n, flag);
    };
    std::vector<nb::OutputFile> files;
    files.push_back({name(cfg.float_file, "-floatfile"), "-floatfile",
                     [fo](std::FILE* f) { nb::write_float_image(f, fo->result.image); }});
    const nb::ImageStats& st = fo->result.stats;
    const double int_scale = nb::auto_int_scale(cfg.intfile_scale, st.max_I);
    std::printf("intfile_scale = %g\n", int_scale);
    if (cfg.write_int)
        files.push_back({name(cfg.int_file, "-intfile"), "-intfile", [fo, int_scale](std::FILE* f) {
                             nb::write_smv_int(f, fo->exp, fo->result.image, int_scale);
                         }});
    if (cfg.write_pgm) {
        const double pgm_scale = nb::auto_pgm_scale(cfg.pgm_scale, int_scale, st.rmsd);
        std::printf("pgm_scale = %g\n", pgm_scale);
        files.push_back({name(cfg.pgm_file, "-pgmfile"), "-pgmfile",
                         [fo, pgm_scale](std::FILE* f) { nb::write_pgm(f, fo->exp, fo->result.image, pgm_scale); }});
    }
    if (cfg.write_noise)
        files.push_back({name(cfg.noise_file, "-noisefile"), "-noisefile",
                         [fo](std::FILE* f) { nb::write_smv_noise(f, fo->exp, fo->noise); }});
    if (!cfg.cbf_file.empty()) {
        const std::string path = name(cfg.cbf_file, "-cbffile");
        files.push_back({path, "-cbffile",
                         [fo, path](std::FILE* f) { nb::write_minicbf(f, fo->exp, fo->noise, base_name(path)); }});
    }
    if (!cfg.png_file.empty()) {
        const double level = cfg.png_level > 0 ? cfg.png_level : nb::png_default_white_level(fo->result.image);
        std::printf("png_level = %g\n", level);
        files.push_back({name(cfg.png_file, "-pngfile"), "-pngfile", [fo, level](std::FILE* f) {
                             std::vector<char> png = nb::png_preview_bytes(fo->result.image, fo->exp.det.fpixels,
                                                                           fo->exp.det.spixels, level);
                             if (std::fwrite(png.data(), 1, png.size(), f) != png.size())
                                 throw std::runtime_error("write failed (disk full?)");
                         }});
    }
    return files;
}

void commit_and_report(const std::vector<nb::OutputFile>& files) {
    nb::commit_outputs(files);
    for (const auto& f : files) std::printf("wrote %s\n", f.path.c_str());
    std::fflush(stdout);
}

// The noise image, then every file of the frame, then the frame's NeXus slice.
void write_frame(const std::shared_ptr<FrameOutput>& fo, const std::vector<nb::OutputFile>& files,
                 nb::NexusWriter* nexus) {
    if (fo->needs_noise) {
        fo->noise = nb::make_noise_image(fo->exp, fo->result.image, fo->seed);
        std::printf("%.0f photons on noise image (%d overloads)\n", fo->noise.photons, fo->noise.overloads);
    }
    commit_and_report(files);
    if (nexus) nexus->append(fo->exp, fo->noise, fo->result.image);
}

int run(const nb::ParsedArgs& parsed, const nb::Job& job, const std::string& command_line) {
    nb::SimConfig cfg = parsed.config;
    std::vector<nb::Shot> shots;
    if (!cfg.shots_file.empty()) {
        if (cfg.nframes > 1) throw nb::UsageError("-shots: cannot be combined with -nframes");
        shots = nb::read_shots(cfg.shots_file);
        cfg.nframes = (int)shots.size();  // one image per shot, numbered from 1
    }
    auto start = std::chrono::steady_clock::now();
    // bad output names stop the run before any rendering
    for (const auto& [pattern, flag] : {std::pair{cfg.float_file, "-floatfile"},
                                        {cfg.int_file, "-intfile"},
                                        {cfg.noise_file, "-noisefile"},
                                        {cfg.pgm_file, "-pgmfile"},
                                        {cfg.png_file, "-pngfile"},
                                        {cfg.cbf_file, "-cbffile"}})
        if (!pattern.empty()) nb::frame_file_name(pattern, 1, cfg.nframes, flag);
    // a miniCBF series names its frames itself: a bare name would silently get "_%04d"
    if (!cfg.cbf_file.empty() && cfg.nframes > 1 && cfg.cbf_file.find('%') == std::string::npos)
        throw nb::UsageError("-cbffile: '" + cfg.cbf_file + "' has no frame number, but the run writes " +
                             std::to_string(cfg.nframes) + " frames: use a pattern such as name_%04d.cbf");
    if (!cfg.nexus_file.empty() && job.size > 1)
        throw nb::UsageError("-nexusfile: one file cannot be written by " + std::to_string(job.size) +
                             " MPI ranks; run one process, or use per-frame outputs (-cbffile, -noisefile)");
    // set-up once: the HKL grid and detector are shared by every frame or shot
    nb::Experiment e = nb::prepare_experiment(shots.empty() ? cfg : nb::apply_shot(cfg, shots[0]));
    if (job.rank == 0) nb::print_setup(e);
    nb::RenderOptions opt = render_options(cfg, job);
    nb::ProgressBar bar(cfg.progress && ::isatty(STDOUT_FILENO) && job.size == 1);
    if (bar.enabled()) opt.progress = [&bar](double f) { bar.update(f); };

    if (!cfg.cbf_file.empty()) {
        const std::string limits = nb::minicbf_geometry_limits(e.det);
        if (!limits.empty() && job.rank == 0)
            spdlog::warn(
                "WARNING: -cbffile: a miniCBF header holds no detector orientation and readers assume "
                "a rotation about the fast axis; here {}: readers will see other geometry than "
                "simulated (-nexusfile holds it exactly)",
                limits);
    }
    std::unique_ptr<nb::NexusWriter> nexus;
    if (!cfg.nexus_file.empty()) {
        nb::NexusWriter::Options o;
        o.path = cfg.nexus_file;
        o.float_image = cfg.nexus_float;
        o.command_line = command_line;
        o.nframes = cfg.nframes;
        o.rotation = shots.empty();
        nexus = std::make_unique<nb::NexusWriter>(o, e);
    }
    const int64_t seed_base = cfg.seed ? *cfg.seed : -(int64_t)std::time(nullptr);
    const double phi_start = e.samp.phi0;
    std::future<void> writing;
    int frames_done = 0;
    double evaluations = 0;
    for (int i = 0; i < cfg.nframes; ++i) {
        if (!job.owns(i)) continue;
        nb::Experiment shot_experiment;
        nb::Experiment* cur = &e;
        if (!shots.empty()) {
            shot_experiment = nb::prepare_experiment(nb::apply_shot(cfg, shots[i]), e.hkl);
            cur = &shot_experiment;
            std::printf("shot %d of %d (line %d)\n", i + 1, cfg.nframes, shots[i].line);
        } else {
            e.samp.phi0 = phi_start + i * e.samp.osc;
        }
        auto fo = std::make_shared<FrameOutput>();
        fo->index = i;
        bar.start_frame(i + 1, cfg.nframes, nb::evaluation_count(*cur));
        fo->result = nb::render_image(*cur, opt);
        bar.finish();
        if (cfg.nframes > 1 && shots.empty())
            std::printf("frame %d of %d: phi = %g deg\n", i + 1, cfg.nframes, e.samp.phi0 * 57.29577951308232);
        spdlog::info("rendered on {}", fo->result.backend);
        if (fo->result.interp_disabled_at >= 0) {
            spdlog::warn(
                "WARNING: out of range for three point interpolation at pixel ({}, {}); interpolation "
                "disabled for the rest of the image, as C nanoBragg does",
                fo->result.interp_disabled_at % e.det.fpixels, fo->result.interp_disabled_at / e.det.fpixels);
        }
        nb::print_stats(fo->result.stats);
        if (fo->result.stats.nonfinite > 0)
            spdlog::warn(
                "WARNING: {} pixels are not finite (NaN or infinity), as C nanoBragg would leave them; the "
                "noise image holds 0 for them (docs/precision.md)",
                fo->result.stats.nonfinite);
        fo->exp = *cur;
        fo->exp.hkl = nb::HklGrid{};  // writers need geometry and the generator, not F
        fo->needs_noise = cfg.write_noise || !cfg.cbf_file.empty() || nexus;
        fo->seed = nb::frame_seed(seed_base, i);
        std::vector<nb::OutputFile> files = frame_files(cfg, fo);
        if (writing.valid()) writing.get();  // the previous frame is on disk before this one starts
        writing = std::async(std::launch::async, [fo, files, w = nexus.get()]() { write_frame(fo, files, w); });
        ++frames_done;
        evaluations += nb::evaluation_count(*cur);
    }
    if (writing.valid()) writing.get();
    if (nexus) {
        nexus->finish();
        std::printf("wrote %s (%d frame%s, NeXus/NXmx, %s compression)\n", nexus->path().c_str(), frames_done,
                    frames_done == 1 ? "" : "s", nexus->compression().c_str());
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (cfg.nframes > 1 || job.size > 1) nb::job_summary(job, frames_done, seconds, evaluations);
    return 0;
}

int report_error(const char* what, bool usage_hint, bool inputs_hint) {
    std::fflush(stdout);
    std::fprintf(stderr, "nanoBragg: error: %s\n", what);
    if (inputs_hint)
        std::fprintf(stderr,
                     "usage: nanoBragg -hkl Fs.hkl -mat auto.mat (or -cell a b c al be ga, -default_F F) ...\n");
    if (usage_hint) std::fprintf(stderr, "run 'nanoBragg -h' for the list of flags\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_pattern("%v");
    nb::Job job = nb::job_start(&argc, &argv);
    int rc = 0;
    try {
        nb::ParsedArgs parsed = nb::parse_args(argc, argv);
        if (parsed.version) {
            if (job.rank == 0) std::printf("%s\n", nb::version_line().c_str());
        } else if (parsed.help) {
            if (job.rank == 0) std::fputs(parsed.help_text.c_str(), stdout);
        } else {
            if (job.rank == 0) std::printf("%s\n", nb::version_line().c_str());
            std::string command_line;
            for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
            rc = run(parsed, job, command_line);
        }
    } catch (const nb::MissingInput& e) {
        rc = report_error(e.what(), true, true);
    } catch (const nb::UsageError& e) {
        rc = report_error(e.what(), true, false);
    } catch (const std::exception& e) {
        rc = report_error(e.what(), false, false);
    }
    nb::job_finish(job);
    return rc;
}
