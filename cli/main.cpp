// nanoBragg-compatible command line: parse C's flags, render, write C's files.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <exception>

#include "cli/args.hpp"
#include "cli/report.hpp"
#include "engine/image_io.hpp"
#include "engine/png_preview.hpp"
#include "engine/render.hpp"
#include "engine/setup.hpp"
#include "kernels/cuda_launcher.hpp"

namespace {

int run(int argc, char** argv) {
    nb::ParsedArgs parsed = nb::parse_args(argc, argv);
    if (parsed.help) {
        std::fputs(parsed.help_text.c_str(), stdout);
        return 0;
    }
    const nb::SimConfig& cfg = parsed.config;
    nb::Experiment e = nb::prepare_experiment(cfg);
    nb::print_setup(e);

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
        if (cfg.device == "auto") spdlog::info("no CUDA GPU found: rendering on the CPU");
        opt.device = nb::Device::Cpu;
    }
    nb::ProgressBar bar(cfg.progress && ::isatty(STDOUT_FILENO));
    if (bar.enabled()) opt.progress = [&bar](double f) { bar.update(f); };
    nb::RenderResult r = nb::render_image(e, opt);
    bar.finish();
    spdlog::info("rendered on {}", r.backend);
    if (r.interp_disabled_at >= 0) {
        spdlog::warn("WARNING: out of range for three point interpolation at pixel ({}, {}); interpolation "
                     "disabled for the rest of the image, as C nanoBragg does",
                     r.interp_disabled_at % e.det.fpixels, r.interp_disabled_at / e.det.fpixels);
    }

    std::vector<nb::OutputFile> files;
    files.push_back({cfg.float_file, "-floatfile", nb::float_image_bytes(r.image)});
    nb::print_stats(r.stats);
    double int_scale = cfg.intfile_scale;
    std::vector<uint16_t> ints = nb::int_image(e, r.image, r.stats.max_I, int_scale);
    std::printf("intfile_scale = %g\n", int_scale);
    if (cfg.write_int) files.push_back({cfg.int_file, "-intfile", nb::smv_bytes(e, ints)});
    if (cfg.write_pgm) {
        double pgm_scale = cfg.pgm_scale;
        std::vector<char> pgm = nb::pgm_bytes(e, r.image, pgm_scale, int_scale, r.stats.rmsd);
        std::printf("pgm_scale = %g\n", pgm_scale);
        files.push_back({cfg.pgm_file, "-pgmfile", std::move(pgm)});
    }
    if (cfg.write_noise) {
        int64_t seed = cfg.seed ? *cfg.seed : -(int64_t)std::time(nullptr);
        double photons = 0;
        int overloads = 0;
        std::vector<uint16_t> noise = nb::noise_image(e, r.image, seed, photons, overloads);
        std::printf("%.0f photons on noise image (%d overloads)\n", photons, overloads);
        files.push_back({cfg.noise_file, "-noisefile", nb::smv_bytes(e, noise)});
    }
    if (!cfg.png_file.empty()) {
        double level = cfg.png_level > 0 ? cfg.png_level : nb::png_default_white_level(r.image);
        files.push_back({cfg.png_file, "-pngfile",
                         nb::png_preview_bytes(r.image, e.det.fpixels, e.det.spixels, level)});
        std::printf("png_level = %g\n", level);
    }
    nb::commit_outputs(files);
    for (const auto& f : files) std::printf("wrote %s (%zu bytes)\n", f.path.c_str(), f.bytes.size());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_pattern("%v");
    try {
        return run(argc, argv);
    } catch (const nb::MissingInput& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "nanoBragg: error: %s\n", e.what());
        std::fprintf(stderr, "usage: nanoBragg -hkl Fs.hkl -mat auto.mat (or -cell a b c al be ga, -default_F F) ...\n");
        std::fprintf(stderr, "run 'nanoBragg -h' for the list of flags\n");
        return 2;
    } catch (const nb::UsageError& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "nanoBragg: error: %s\n", e.what());
        std::fprintf(stderr, "run 'nanoBragg -h' for the list of flags\n");
        return 2;
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "nanoBragg: error: %s\n", e.what());
        return 2;
    }
}
