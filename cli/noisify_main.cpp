// noisify: C nanoBragg's companion program, as a drop-in. Reads a float image
// of photons per pixel (nanoBragg's -floatfile), applies the detector model
// (engine/detector_response.hpp) and writes the noiseless and noisy SMV
// images and a PGM preview, with C's flags, defaults, printed lines and bytes.
#include <omp.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "cli/flag_table.hpp"
#include "engine/build_info.hpp"
#include "engine/detector_response.hpp"
#include "engine/file_read.hpp"
#include "engine/heap_policy.hpp"
#include "engine/image_io.hpp"
#include "engine/interrupt_cleanup.hpp"
#include "engine/smv_io.hpp"
#include "engine/stage_timer.hpp"

namespace {

struct Options {
    std::string float_file, header_file;
    std::string int_file = "intimage.img", pgm_file = "image.pgm", noise_file = "noiseimage.img";
    bool write_pgm = true;
    double distance = 100.0e-3, detsize_x = 102.4e-3, detsize_y = 102.4e-3, pixel = 0.1e-3;  // m
    double Xbeam = -1e99, Ybeam = -1e99;                                                     // m; -1e99: centre
    double lambda = 1.0;                                                                     // A (header only)
    double phi = 0, osc = 1;                                                                 // deg (header only)
    int xpixels = 0, ypixels = 0;
    bool seed_given = false;
    nb::DetectorResponse resp;
    bool help = false, version = false;
};

void register_flags(CLI::App& app, Options& o) {
    nb::FlagTable t(app);
    constexpr double mm = 1000.0;
    nb::DetectorResponse& r = o.resp;

    // ---- files ----
    t.text("--floatfile,--floatimage,--bin", "input: raw float32 image in photons/pixel, fast-major (required)",
           [&](const std::string& v) { o.float_file = v; });
    t.text("--header",
           "SMV file whose header gives the size, pixel, distance and beam centre (overriding those flags, as "
           "in C) and is copied into both output images",
           [&](const std::string& v) { o.header_file = v; });
    t.text("--intfile,--intimage", "noiseless SMV image (default intimage.img)",
           [&](const std::string& v) { o.int_file = v; });
    t.text("--noisefile,--noiseimage", "SMV image with noise (default noiseimage.img)",
           [&](const std::string& v) { o.noise_file = v; });
    t.text("--pgmfile,--pgmimage", "8-bit PGM of the noiseless image, clipped at 255 (default image.pgm)",
           [&](const std::string& v) { o.pgm_file = v; });
    t.flag("--nopgm", "do not write the PGM image", [&] { o.write_pgm = false; });
    t.integer("--bits", "integer width of both SMV images: 16 (unsigned_short) or 32 (long_integer) (default 16)",
              nb::kAny, [&](int v) {
                  if (v != 16 && v != 32) nb::bad_flag("-bits", std::to_string(v) + " is not 16 or 32");
                  r.bits = v;
              });

    // ---- detector (the header of the images; the pixel size also sets the PSF width in pixels) ----
    t.integer("--detpixels", "detector pixels, square (default: from the file size)", nb::at_least(1),
              [&](int v) { o.xpixels = o.ypixels = v; });
    t.integer("--detpixels_x,--detpixels_f", "detector pixels along the fast axis", nb::at_least(1),
              [&](int v) { o.xpixels = v; });
    t.integer("--detpixels_y,--detpixels_s", "detector pixels along the slow axis", nb::at_least(1),
              [&](int v) { o.ypixels = v; });
    t.number("--pixel", "pixel size (mm, default 0.1)", nb::above(0), [&](double v) { o.pixel = v / mm; });
    t.number("--detsize", "detector size (mm), square (accepted; as in C the size follows from the pixel count)",
             nb::above(0), [&](double v) { o.detsize_x = o.detsize_y = v / mm; });
    t.number("--detsize_x,--detsize_f", "detector size along fast (mm; accepted, as -detsize)", nb::above(0),
             [&](double v) { o.detsize_x = v / mm; });
    t.number("--detsize_y,--detsize_s", "detector size along slow (mm; accepted, as -detsize)", nb::above(0),
             [&](double v) { o.detsize_y = v / mm; });
    t.number("--distance", "sample to detector distance (mm, default 100; header only)", nb::above(0),
             [&](double v) { o.distance = v / mm; });
    t.number("--Xbeam", "beam centre, fast (mm, default: detector centre; header only)", nb::kAny,
             [&](double v) { o.Xbeam = v / mm; });
    t.number("--Ybeam", "beam centre, slow (mm, default: detector centre; header only)", nb::kAny,
             [&](double v) { o.Ybeam = v / mm; });
    t.number("--lambda", "wavelength (A, default 1; header only)", nb::above(0), [&](double v) { o.lambda = v; });
    t.number("--phi", "spindle start (deg, default 0; header only)", nb::kAny, [&](double v) { o.phi = v; });
    t.number("--osc", "oscillation range (deg, default 1; header only)", nb::at_least(0), [&](double v) { o.osc = v; });

    // ---- photons ----
    t.number("--scale", "factor putting the float image on the photons/pixel scale (default 1)", nb::at_least(0),
             [&](double v) { r.photon_scale = v; });
    t.number("--fluence",
             "incident fluence (photons/m^2); photons = fluence * r_e^2 * scale * pixel (default 1.26e29: "
             "photons = scale * pixel)",
             nb::above(0), [&](double v) { r.fluence = v; });

    // ---- noise ----
    t.flag("--nonoise", "no noise image: only the noiseless image (the PSF applied to it)", [&] { r.noise = false; });
    t.number("--flicker", "source flicker: fractional Gaussian error per pixel (default 0)", nb::at_least(0),
             [&](double v) { r.flicker_noise = v; });
    t.number("--calibration", "static calibration error: fractional, per pixel (default 0.03; 0: none)",
             nb::at_least(0), [&](double v) { r.calibration_noise = v; });
    t.number("--readout,--readout_noise,--readnoise,--readnoi", "read-out noise: Gaussian, ADU rms (default 0)",
             nb::at_least(0), [&](double v) { r.readout_noise = v; });
    t.number("--gain", "ADU per photon (default 1)", nb::at_least(0), [&](double v) { r.quantum_gain = v; });
    t.number("--adc", "offset added to every pixel (ADU, default 40)", nb::at_least(0),
             [&](double v) { r.adc_offset = v; });
    t.integer("--seed", "seed of the flicker, photon and read-out noise (default: the time)", nb::kAny, [&](int v) {
        r.seed = -(int64_t)v;
        o.seed_given = true;
    });
    t.integer("--calib_seed", "seed of the calibration error (default 123456789)", nb::kAny,
              [&](int v) { r.calib_seed = -(int64_t)v; });
    t.integer("--badpix_seed", "accepted, unused (as in C)", nb::kAny, [](int) {});
    t.integer("--hotpix_seed", "accepted, unused (as in C)", nb::kAny, [](int) {});

    // ---- point-spread function ----
    t.text("--psf", "point-spread function: gauss, fiber or none (default: none)", [&](const std::string& v) {
        if (v == "none")  // the default, named (C warns "unknown psf type" and applies none)
            r.psf = nb::PsfType::None;
        else if (v.find("gauss") != std::string::npos)
            r.psf = nb::PsfType::Gauss;
        else if (v.find("fiber") != std::string::npos)
            r.psf = nb::PsfType::Fiber;
        else
            nb::bad_flag("-psf", "expected gauss, fiber or none, got '" + v + "'");
    });
    t.number(
        "--psf_fwhm,--psf_width,--psf_sigma,--psf_fw,--psf_wi,--psf_si",
        "PSF full width at half maximum (um, default 46; 0: no PSF; -psf_width and -psf_sigma set the same, as in C)",
        nb::at_least(0), [&](double v) { r.psf_fwhm = (float)(v / 1e6); });
    t.integer(
        "--psf_radius,--psf_rad", "PSF rendering radius (pixels, default 0: from each pixel's photons)",
        nb::at_least(0, "0: automatic"), [&](int v) { r.psf_radius = v; }, /*c_atoi=*/false);  // C: atof

    t.flag("--exact", "the PSF by C's direct spreading: C's bytes (default: by FFT where faster, docs/noisify.md)",
           [&] { r.exact = true; });
    t.integer("--threads", "CPU threads (default: all cores)", nb::thread_count(), [](int v) {
        if (v > 0) omp_set_num_threads(v);
    });

    app.add_flag("-h,--help,--usage", o.help, "print this help");
    app.add_flag("--version", o.version, "print version, git commit and build type");
}

std::string read_bytes(const std::string& path, const std::string& flag) {
    try {
        return nb::read_file_bytes(path, flag);
    } catch (const std::runtime_error& e) {
        throw nb::UsageError(e.what());
    }
}

int run(Options& o) {
    nb::DetectorResponse& r = o.resp;
    if (o.float_file.empty())
        throw nb::UsageError("-floatfile: no input image given (noisify -floatfile image.bin ...)");
    if (!o.seed_given) r.seed = -(int64_t)std::time(nullptr);

    nb::StageTimer t_read("noisify: read input");
    // the float image mapped where it can be (the page cache itself: no
    // fresh memory), else read (a pipe)
    const nb::MappedFile mapped(o.float_file);
    size_t bytes = mapped.size();
    std::vector<float> read_in;
    if (!mapped.mapped()) {
        try {
            read_in = nb::read_file_values<float>(o.float_file, "-floatfile", bytes);
        } catch (const std::runtime_error& e) {
            throw nb::UsageError(e.what());
        }
    }
    const float* image = mapped.mapped() ? static_cast<const float*>(mapped.data()) : read_in.data();
    if (bytes % sizeof(float) != 0)
        throw nb::UsageError("-floatfile: '" + o.float_file + "' holds " + std::to_string(bytes) +
                             " bytes, not a whole number of 4-byte floats");
    long long pixels = (long long)(bytes / sizeof(float));
    if (pixels == 0) throw nb::UsageError("-floatfile: '" + o.float_file + "' is empty");

    std::string header_bytes;
    if (!o.header_file.empty()) {
        std::printf("taking header from %s\n", o.header_file.c_str());
        const std::string bytes = read_bytes(o.header_file, "-header");
        nb::SmvImage h;
        try {
            h = nb::parse_smv(bytes, o.header_file, "-header");
        } catch (const std::runtime_error& e) {
            throw nb::UsageError(e.what());
        }
        std::printf("reading %s\n", o.header_file.c_str());
        header_bytes = bytes.substr(0, (size_t)h.header_size);
        // C reads the header after every flag: its values win
        o.xpixels = h.width;
        o.ypixels = h.height;
        pixels = (long long)o.xpixels * o.ypixels;
        auto value = [&h](const char* key, bool positive = false) {
            try {
                return h.finite_value(key, "-header", positive);
            } catch (const std::runtime_error& e) {
                throw nb::UsageError(e.what());
            }
        };
        double t = value("PIXEL_SIZE", true);
        if (!std::isnan(t)) o.pixel = t / 1000.0;
        o.detsize_x = o.pixel * o.xpixels;
        o.detsize_y = o.pixel * o.ypixels;
        if (!std::isnan(t = value("DISTANCE"))) o.distance = t / 1000.0;
        if (!std::isnan(t = value("WAVELENGTH", true))) o.lambda = t / 1e10;
        if (!std::isnan(t = value("BEAM_CENTER_X"))) o.Xbeam = t / 1000.0;
        if (!std::isnan(t = value("BEAM_CENTER_Y"))) o.Ybeam = o.detsize_y - t / 1000.0;
    }

    if (!o.xpixels && !o.ypixels) {
        std::printf("WARNING: guessing xy pixel dimensions.\n");
        o.xpixels = (int)std::sqrt((double)pixels);
        o.ypixels = (int)(pixels / o.xpixels);
        while (pixels != (long long)o.xpixels * o.ypixels && o.xpixels > 0) {
            --o.xpixels;
            o.ypixels = (int)(pixels / o.xpixels);
        }
    }
    if (o.xpixels && !o.ypixels) o.ypixels = (int)(pixels / o.xpixels);
    if (!o.xpixels && o.ypixels) o.xpixels = (int)(pixels / o.ypixels);
    if (o.xpixels < 1 || o.ypixels < 1)
        throw nb::UsageError("-floatfile: '" + o.float_file + "' holds " + std::to_string(pixels) +
                             " floats, too few for the detector's pixel count");
    o.detsize_x = o.pixel * o.xpixels;
    o.detsize_y = o.pixel * o.ypixels;
    const long long npix = (long long)o.xpixels * o.ypixels;
    if ((long long)(bytes / sizeof(float)) != npix)
        throw nb::UsageError("-floatfile: '" + o.float_file + "' holds " + std::to_string(bytes / sizeof(float)) +
                             " floats, the detector has " + std::to_string(o.xpixels) + "x" +
                             std::to_string(o.ypixels) + " = " + std::to_string(npix) + " pixels");

    for (size_t i = 0; i < (size_t)npix; ++i) {
        if (!std::isfinite(image[i]))
            throw nb::UsageError("-floatfile: '" + o.float_file + "' has a value that is not finite (" +
                                 std::to_string(image[i]) + ") at pixel " + std::to_string(i % o.xpixels) + " " +
                                 std::to_string(i / o.xpixels) + " (fast slow)");
    }

    // outputs: refuse clashing names before anything is computed
    const bool noise = r.noise;
    {
        std::vector<std::pair<std::string, std::string>> names{{o.int_file, "-intfile"}};
        if (o.write_pgm) names.push_back({o.pgm_file, "-pgmfile"});
        if (noise) names.push_back({o.noise_file, "-noisefile"});
        for (size_t i = 0; i < names.size(); ++i) {
            if (names[i].first.empty()) throw nb::UsageError(names[i].second + ": empty file name");
            nb::check_output_target(names[i].first, names[i].second);
            if (nb::same_file(names[i].first, o.float_file))
                throw nb::UsageError(names[i].second + ": '" + names[i].first + "' is the input -floatfile");
            if (!o.header_file.empty() && nb::same_file(names[i].first, o.header_file))
                throw nb::UsageError(names[i].second + ": '" + names[i].first + "' is the input -header");
            for (size_t j = 0; j < i; ++j)
                if (nb::same_output_file(names[i].first, names[j].first))
                    throw nb::UsageError(names[i].second + ": '" + names[i].first + "' is also the " + names[j].second +
                                         " file: give each output its own name");
        }
    }
    std::printf("importing %lld pixel intensites: %s\n", npix, o.float_file.c_str());

    if (o.Xbeam <= -1e99) o.Xbeam = o.detsize_x / 2.0;
    if (o.Ybeam <= -1e99) o.Ybeam = o.detsize_y / 2.0;
    if (!noise) r.calibration_noise = r.readout_noise = r.flicker_noise = 0;
    r.xpixels = o.xpixels;
    r.ypixels = o.ypixels;
    r.pixel_size = o.pixel;

    std::printf("  distance=%g detsize=%gx%g  pixel=%g meters (%dx%d pixels)\n", o.distance, o.detsize_x, o.detsize_y,
                o.pixel, o.xpixels, o.ypixels);
    std::printf("  Xbeam=%g Ybeam=%g\n", o.Xbeam, o.Ybeam);
    if (r.psf == nb::PsfType::Gauss) std::printf("  Gaussian PSF fwhm = %g um ", (double)r.psf_fwhm * 1e6);
    if (r.psf == nb::PsfType::Fiber) std::printf("  fiber PSF fwhm = %g um ", (double)r.psf_fwhm * 1e6);
    if (r.psf != nb::PsfType::None && r.psf_radius == 0) std::printf("  with automatic rendering radius\n");
    if (r.psf != nb::PsfType::None && r.psf_radius >= 0) std::printf("  with rendering radius: %d\n", r.psf_radius);
    std::printf("  seed: %lld\n", (long long)r.seed);
    std::printf("  calibration noise seed: %lld\n", (long long)r.calib_seed);
    std::printf("  calibration_noise = %g %%\n", r.calibration_noise * 100);
    std::printf("  input file scale = %g\n", r.photon_scale);
    std::printf("  readout_noise = %g ADU\n", r.readout_noise);
    std::printf("  flicker_noise = %g %%\n", r.flicker_noise * 100);
    std::printf("  quantum_gain = %g ADU/photon\n", r.quantum_gain);
    std::printf("  adc_offset = %g ADU\n", r.adc_offset);
    std::printf("\n");
    long long negative = 0;  // C warns of each; we list ten
    for (size_t i = 0; i < (size_t)npix; ++i) {
        if (image[i] < 0.0f && ++negative <= 10)
            std::printf("WARNING: negative intensity in %s: %g\n", o.float_file.c_str(), (double)image[i]);
    }
    if (negative > 10) std::printf("WARNING: %lld more negative pixels not listed\n", negative - 10);
    std::fflush(stdout);

    t_read.stop();
    auto images = std::make_shared<nb::DetectorImages>(nb::detector_response(r, image));
    const nb::DetectorImages& out = *images;

    nb::NoisifyHeader hd;
    hd.xpixels = o.xpixels;
    hd.ypixels = o.ypixels;
    hd.bits = r.bits;
    hd.pixel_size = o.pixel;
    hd.distance = o.distance;
    hd.lambda = o.lambda;
    hd.Xbeam = o.Xbeam;
    hd.Ybeam = o.Ybeam;
    hd.detsize_y = o.detsize_y;
    hd.phi = o.phi;
    hd.osc = o.osc;
    const std::string header = header_bytes.empty() ? nb::noisify_smv_header(hd, r.exact) : header_bytes;
    if (std::string w = nb::smv_header_overrun_warning(header, "-intfile/-noisefile"); !w.empty())
        spdlog::warn("{}", w);
    const int bits = r.bits;
    // the files by rows (engine/image_io.hpp, RowFile): each holds the images
    const int w = o.xpixels, hgt = o.ypixels;
    auto smv_rows = [images, header, bits, w, hgt](const nb::IntImages nb::DetectorImages::*which) {
        nb::RowFile r;
        r.header = header;
        r.rows = hgt;
        r.row_bytes = (size_t)w * (size_t)(bits / 8);
        r.rows_at = [images, which, bits, w](int r0, int, void*) -> const void* {
            const nb::IntImages& im = (*images).*which;
            const size_t at = (size_t)r0 * w;
            return bits == 16 ? (const void*)(im.int16.data() + at) : (const void*)(im.int32.data() + at);
        };
        return std::make_shared<const nb::RowFile>(std::move(r));
    };

    std::vector<nb::OutputFile> files;
    std::fputs(out.noiseless_log.c_str(), stdout);
    std::printf("writing %s as %lld %d-byte integers\n", o.int_file.c_str(), npix, bits / 8);
    files.push_back(nb::row_output(o.int_file, "-intfile", smv_rows(&nb::DetectorImages::noiseless)));
    if (o.write_pgm) {
        std::printf("writing %s as 1-byte integers\n", o.pgm_file.c_str());
        nb::RowFile r;
        char head[128];
        const int n = std::snprintf(head, sizeof head, "P5\n%d %d\n# pixels scaled by %g\n255\n", w, hgt, 1.0);
        r.header.assign(head, (size_t)std::max(n, 0));
        r.rows = hgt;
        r.row_bytes = (size_t)w;
        r.rows_at = [images, w](int r0, int n, void* scratch) -> const void* {
            const uint16_t* in = images->noiseless.int16.data() + (size_t)r0 * w;
            unsigned char* px = static_cast<unsigned char*>(scratch);
            for (size_t i = 0; i < (size_t)n * w; ++i) px[i] = (unsigned char)std::min<uint16_t>(in[i], 255);
            return scratch;
        };
        files.push_back(nb::row_output(o.pgm_file, "-pgmfile", std::make_shared<const nb::RowFile>(std::move(r))));
    }
    if (noise) {
        std::fputs(out.noise_log.c_str(), stdout);
        std::printf("writing %s as %d-byte integers\n", o.noise_file.c_str(), bits / 8);
        files.push_back(nb::row_output(o.noise_file, "-noisefile", smv_rows(&nb::DetectorImages::noisy)));
    }
    std::fflush(stdout);
    nb::StageTimer t_write("noisify: write files");
    nb::commit_outputs(files);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    nb::remove_temporaries_on_stop_signals();  // before any thread: Ctrl-C leaves no temporary file
    spdlog::set_pattern("%v");
    nb::use_huge_page_heap();  // engine/heap_policy.hpp: one job, then exit
    Options o;
    CLI::App app{"noisify: detector effects on a float image (drop-in for C nanoBragg's noisify)", "noisify"};
    app.set_help_flag();
    app.allow_extras(false);
    register_flags(app, o);
    std::vector<std::string> args(argv + 1, argv + argc);
    // C takes a bare argument naming the float image
    std::vector<std::string> flags;
    for (size_t i = 0; i < args.size(); ++i) {
        const bool value = i > 0 && args[i - 1].size() > 1 && args[i - 1][0] == '-' && !nb::is_number(args[i - 1]) &&
                           args[i - 1] != "-nonoise" && args[i - 1] != "-nopgm" && args[i - 1] != "-h" &&
                           args[i - 1] != "-help" && args[i - 1] != "-version";
        if (!value && args[i].find("floatimage.bin") != std::string::npos && args[i][0] != '-') {
            o.float_file = args[i];
            continue;
        }
        flags.push_back(args[i]);
    }
    const std::string version = "noisify, " + nb::version_line();
    return nb::run_program(app, flags, {"noisify", version, version}, o.help, o.version, [&] { return run(o); });
}
