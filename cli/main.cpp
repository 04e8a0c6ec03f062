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

    // Files stream from the one float image; C's order of reports and of
    // random draws (only the noise image draws) is kept.
    std::vector<nb::OutputFile> files;
    const std::vector<float>& img = r.image;
    files.push_back({cfg.float_file, "-floatfile", [&](std::FILE* f) { nb::write_float_image(f, img); }});
    nb::print_stats(r.stats);
    const double int_scale = nb::auto_int_scale(cfg.intfile_scale, r.stats.max_I);
    std::printf("intfile_scale = %g\n", int_scale);
    if (cfg.write_int)
        files.push_back({cfg.int_file, "-intfile", [&](std::FILE* f) { nb::write_smv_int(f, e, img, int_scale); }});
    if (cfg.write_pgm) {
        const double pgm_scale = nb::auto_pgm_scale(cfg.pgm_scale, int_scale, r.stats.rmsd);
        std::printf("pgm_scale = %g\n", pgm_scale);
        files.push_back({cfg.pgm_file, "-pgmfile", [&, pgm_scale](std::FILE* f) { nb::write_pgm(f, e, img, pgm_scale); }});
    }
    if (cfg.write_noise) {
        const int64_t seed = cfg.seed ? *cfg.seed : -(int64_t)std::time(nullptr);
        files.push_back({cfg.noise_file, "-noisefile", [&, seed](std::FILE* f) {
                             double photons = 0;
                             int overloads = 0;
                             nb::write_smv_noise(f, e, img, seed, photons, overloads);
                             std::printf("%.0f photons on noise image (%d overloads)\n", photons, overloads);
                         }});
    }
    if (!cfg.png_file.empty()) {
        const double level = cfg.png_level > 0 ? cfg.png_level : nb::png_default_white_level(img);
        std::printf("png_level = %g\n", level);
        files.push_back({cfg.png_file, "-pngfile", [&, level](std::FILE* f) {
                             std::vector<char> png = nb::png_preview_bytes(img, e.det.fpixels, e.det.spixels, level);
                             if (std::fwrite(png.data(), 1, png.size(), f) != png.size())
                                 throw std::runtime_error("write failed (disk full?)");
                         }});
    }
    nb::commit_outputs(files);
    for (const auto& f : files) std::printf("wrote %s\n", f.path.c_str());
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
