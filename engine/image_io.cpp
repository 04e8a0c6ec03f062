#include "engine/image_io.hpp"

#include <omp.h>

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <future>
#include <stdexcept>

#include "engine/detector_response.hpp"
#include "engine/pixel_random.hpp"
#include "engine/units.hpp"
#include "engine/zeroed_buffer.hpp"

namespace nb {

namespace {

void put(std::FILE* f, const void* data, size_t bytes) {
    if (bytes && std::fwrite(data, 1, bytes, f) != bytes) throw std::runtime_error("write failed (disk full?)");
}

}  // namespace

void write_float_image(std::FILE* f, const std::vector<float>& image) {
    put(f, image.data(), image.size() * sizeof(float));
}

std::string smv_header(const Experiment& e) {
    const DetectorGeometry& d = e.det;
    const Sampling& s = e.samp;
    char buf[2048];
    int n = std::snprintf(buf, sizeof buf,
                          "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\n"
                          "SIZE1=%d;\nSIZE2=%d;\nPIXEL_SIZE=%g;\nDISTANCE=%g;\n"
                          "WAVELENGTH=%g;\n"
                          "BEAM_CENTER_X=%g;\nBEAM_CENTER_Y=%g;\n"
                          "ADXV_CENTER_X=%g;\nADXV_CENTER_Y=%g;\n"
                          "MOSFLM_CENTER_X=%g;\nMOSFLM_CENTER_Y=%g;\n"
                          "DENZO_X_BEAM=%g;\nDENZO_Y_BEAM=%g;\n"
                          "DIALS_ORIGIN=%g,%g,%g\n"
                          "XDS_ORGX=%g;\nXDS_ORGY=%g;\n"
                          "CLOSE_DISTANCE=%g;\n"
                          "PHI=%g;\nOSC_START=%g;\nOSC_RANGE=%g;\n"
                          "TWOTHETA=%g;\n"
                          "DETECTOR_SN=000;\n"
                          "BEAMLINE=fake;\n"
                          "}\f",
                          d.fpixels, d.spixels, d.pixel_size * 1000.0, d.distance * 1000.0, e.cfg.lambda0 * 1e10,
                          d.Xbeam * 1000.0, d.Ybeam * 1000, d.Fbeam * 1000.0, (d.detsize_s - d.Sbeam) * 1000,
                          (d.Sbeam - 0.5 * d.pixel_size) * 1000.0, (d.Fbeam - 0.5 * d.pixel_size) * 1000,
                          (d.Sbeam - 0.0 * d.pixel_size) * 1000.0, (d.Fbeam - 0.0 * d.pixel_size) * 1000,
                          d.dials_origin.x, d.dials_origin.y, d.dials_origin.z, d.ORGX, d.ORGY,
                          d.close_distance * 1000.0, s.phi0 * RTD, s.phi0 * RTD, s.osc * RTD, d.twotheta * RTD);
    std::string h(buf, (size_t)std::max(n, 0));
    if (h.size() < 512) h.append(512 - h.size(), ' ');
    return h;
}

namespace {
bool in_roi(const Sampling& s, int f, int sp) {
    return !(f < s.roi_xmin || f > s.roi_xmax || sp < s.roi_ymin || sp > s.roi_ymax);
}
}  // namespace

double auto_int_scale(double scale, double max_I) {
    if (scale <= 0.0) {
        scale = 1.0;
        if (max_I > 0.0) scale = 55000.0 / max_I;
    }
    return scale;
}

namespace {

// Writes the ROI pixels converted by `convert` (0 outside the ROI), a block
// of rows at a time; the rows of a block are converted in parallel (the
// conversion is per pixel, so the bytes do not depend on the threads).
template <typename P, typename Convert>
void put_converted(std::FILE* f, const Experiment& e, const std::vector<float>& image, Convert convert) {
    const int fp = e.det.fpixels, spn = e.det.spixels;
    const int block = std::max(1, (1 << 18) / std::max(fp, 1));  // about 256 K pixels
    const int f_lo = std::max(e.samp.roi_xmin, 0), f_hi = std::min(e.samp.roi_xmax, fp - 1);
    std::vector<P> rows((size_t)std::min(block, spn) * fp);
    // At most 4 threads: the conversion is bound by memory, and the files are
    // written while the next frame renders. A team as wide as the machine
    // left its spinning workers competing with the writer itself and the
    // renderer (a 2048x2048 frame's files took 60 ms on 16 cores, against
    // 20 ms on 2).
    const int threads = std::min(4, omp_get_max_threads());
    for (int s0 = 0; s0 < spn; s0 += block) {
        const int n = std::min(block, spn - s0);
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int r = 0; r < n; ++r) {
            const int s = s0 + r;
            P* row = rows.data() + (size_t)r * fp;
            const float* in = image.data() + (size_t)s * fp;
            const bool roi_row = s >= e.samp.roi_ymin && s <= e.samp.roi_ymax;
            for (int fi = 0; fi < fp; ++fi) row[fi] = P(0);
            if (roi_row)
                for (int fi = f_lo; fi <= f_hi; ++fi) row[fi] = convert(in[fi]);
        }
        put(f, rows.data(), (size_t)n * fp * sizeof(P));
    }
}

}  // namespace

void write_smv_int(std::FILE* f, const Experiment& e, const std::vector<float>& image, double scale) {
    write_smv_int(f, e, image, scale, smv_header(e));
}

void write_smv_int(std::FILE* f, const Experiment& e, const std::vector<float>& image, double scale,
                   const std::string& h) {
    put(f, h.data(), h.size());
    const double adc = e.cfg.adc_offset;
    put_converted<uint16_t>(f, e, image, [scale, adc](float v) {
        double t = v * scale + adc;
        if (t > 65535.0) t = 65535.0;
        if (!(t >= 0.0)) t = 0.0;  // NaN too: converting it is undefined (C on x86 writes 0)
        // C rounds through floorf: the sum is narrowed to float first. It is
        // positive here, so truncating is floorf (and vectorizes).
        return (uint16_t)(int)(float)(t + 0.5);
    });
}

namespace {

// The noise image through C noisify's detector model (-psf, -readout,
// -calibration, -flicker, -gain): the image taken as photons per pixel, the
// draws from a fresh generator seeded as noisify seeds it, so that the counts
// equal noisify's on the same float image (docs/realistic.md).
NoiseImage detector_model_noise(const Experiment& e, const std::vector<float>& image, int64_t seed) {
    const DetectorModel& m = e.cfg.detector_model;
    const long long none = (long long)image.size();
    long long first_bad = none;  // the first non-finite pixel, found in parallel
#pragma omp parallel for reduction(min : first_bad) schedule(static)
    for (long long i = 0; i < none; ++i)
        if (!std::isfinite(image[(size_t)i])) first_bad = std::min(first_bad, i);
    if (first_bad != none)
        throw std::runtime_error("-psf/-readout/-calibration: pixel " + std::to_string(first_bad % e.det.fpixels) +
                                 " " + std::to_string(first_bad / e.det.fpixels) +
                                 " is not finite; the detector model needs finite photons");
    DetectorResponse r;
    r.xpixels = e.det.fpixels;
    r.ypixels = e.det.spixels;
    r.pixel_size = e.det.pixel_size;
    r.flicker_noise = m.flicker;
    r.calibration_noise = m.calibration;
    r.readout_noise = m.readout;
    r.quantum_gain = m.gain;
    r.adc_offset = e.cfg.adc_offset;
    r.psf = m.psf == 1 ? PsfType::Gauss : m.psf == 2 ? PsfType::Fiber : PsfType::None;
    r.psf_fwhm = (float)m.psf_fwhm;
    r.psf_radius = m.psf_radius;
    r.seed = seed;
    r.calib_seed = m.calib_seed;
    r.exact = e.cfg.exact;
    r.pixel_streams = !e.cfg.exact;
    r.noise_only = true;
    DetectorImages d = detector_response(r, image);
    NoiseImage out;
    out.pixels = std::move(d.noisy.int16);
    out.photons = d.noise_photons;
    out.overloads = d.overloads;
    out.log = d.noise_log;
    return out;
}

}  // namespace

NoiseImage make_noise_image(Experiment& e, const std::vector<float>& image, int64_t seed) {
    if (e.cfg.detector_model.enabled) return detector_model_noise(e, image, seed);
    NoiseImage out;
    const int fp = e.det.fpixels, spn = e.det.spixels;
    allocate_zeroed(out.pixels, (size_t)fp * spn);
    // photons + adc as C's SMV holds it: a NaN pixel (or inf - inf in the Gaussian
    // branch) counts no photons and reads 0, as C's conversion gives on x86; +inf
    // is an overload
    auto store = [&](size_t i, float mean, double t, double& photons, int& overloads) {
        if (std::isinf(mean) && mean > 0) t = HUGE_VAL;
        if (std::isnan(t)) t = 0;
        if (std::isfinite(t)) photons += t;
        t += e.cfg.adc_offset;
        if (t > 65535.0) {
            t = 65535.0;
            ++overloads;
        }
        out.pixels[i] = (uint16_t)t;
    };
    if (e.cfg.exact || e.cfg.c_noise_order) {
        // C's single generator, pixel after pixel
        Deviates dev(e.ran);
        for (int s = 0; s < spn; ++s) {
            for (int fi = 0; fi < fp; ++fi) {
                if (!in_roi(e.samp, fi, s)) continue;
                const size_t i = (size_t)s * fp + fi;
                const float mean = image[i];
                store(i, mean, dev.poisson(mean, seed), out.photons, out.overloads);  // draws as C, NaN and inf too
            }
        }
        return out;
    }
    // The default mode: a stream per pixel (engine/pixel_random.hpp), rows in
    // parallel, the sums added in row order (the same image and count for any
    // thread count)
    std::vector<double> row_photons((size_t)spn, 0.0);
    std::vector<int> row_overloads((size_t)spn, 0);
#pragma omp parallel for schedule(dynamic, 16)
    for (int s = 0; s < spn; ++s) {
        for (int fi = 0; fi < fp; ++fi) {
            if (!in_roi(e.samp, fi, s)) continue;
            const size_t i = (size_t)s * fp + fi;
            const float mean = image[i];
            PixelStream stream(seed, i);
            store(i, mean, stream.poisson(mean), row_photons[(size_t)s], row_overloads[(size_t)s]);
        }
    }
    for (int s = 0; s < spn; ++s) {
        out.photons += row_photons[(size_t)s];
        out.overloads += row_overloads[(size_t)s];
    }
    return out;
}

void write_smv_noise(std::FILE* f, const Experiment& e, const NoiseImage& noise) {
    write_smv_noise(f, noise, smv_header(e));
}

void write_smv_noise(std::FILE* f, const NoiseImage& noise, const std::string& h) {
    put(f, h.data(), h.size());
    put(f, noise.pixels.data(), noise.pixels.size() * sizeof(uint16_t));
}

double auto_pgm_scale(double pgm_scale, double intfile_scale, double rmsd) {
    if (pgm_scale <= 0.0) {
        pgm_scale = intfile_scale;
        if (rmsd > 0.0) pgm_scale = 250.0 / (5.0 * rmsd);
    }
    return pgm_scale;
}

void write_pgm(std::FILE* f, const Experiment& e, const std::vector<float>& image, double pgm_scale) {
    const int fp = e.det.fpixels, spn = e.det.spixels;
    char head[256];
    int n = std::snprintf(head, sizeof head, "P5\n%d %d\n# pixels scaled by %g\n255\n", fp, spn, pgm_scale);
    put(f, head, (size_t)n);
    put_converted<unsigned char>(f, e, image, [pgm_scale](float v) {
        double t = v * pgm_scale;
        if (t > 255.0) t = 255.0;
        if (!(t > INT_MIN)) t = 0;  // NaN, -inf, beyond int: undefined to convert (C on x86 gives 0)
        // C converts with a plain cast; negative values wrap the same way here.
        return (unsigned char)(int)t;
    });
}

namespace {

// Writes one file to its temporary name; "" or what went wrong.
std::string write_temp(const OutputFile& f, const std::string& tmp) {
    FILE* fh = std::fopen(tmp.c_str(), "wb");
    if (!fh) return f.flag + ": cannot write '" + f.path + "': " + std::strerror(errno);
    try {
        f.write(fh);
    } catch (const std::exception& ex) {
        std::fclose(fh);
        return f.flag + ": failed writing '" + f.path + "': " + ex.what();
    }
    if (std::fclose(fh) != 0) return f.flag + ": failed writing '" + f.path + "' (disk full?)";
    return "";
}

}  // namespace

void commit_outputs(const std::vector<OutputFile>& files, const std::function<void()>& make_noise) {
    for (size_t i = 0; i < files.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (files[i].path == files[j].path)
                throw std::runtime_error(files[i].flag + ": '" + files[i].path + "' is also the " + files[j].flag +
                                         " file: give each output its own name");
    std::vector<std::string> temps, errors(files.size());
    for (const auto& f : files) temps.push_back(f.path + ".partial." + std::to_string(::getpid()));
    auto cleanup = [&]() {
        for (const auto& t : temps) std::remove(t.c_str());
    };
    // The files at once (the writers only read the frame): large images spend
    // most of their writing time copying into the page cache, one core each.
    // The noise image (C's serial random sequence) is drawn meanwhile, here;
    // the files made from it start when it is there.
    std::vector<std::future<void>> writers;
    auto start = [&](size_t i) {
        writers.push_back(std::async(std::launch::async, [&, i]() { errors[i] = write_temp(files[i], temps[i]); }));
    };
    for (size_t i = 0; i < files.size(); ++i)
        if (!make_noise || !files[i].needs_noise) start(i);
    if (make_noise) {
        try {
            make_noise();
        } catch (...) {
            for (auto& w : writers) w.wait();
            cleanup();
            throw;
        }
        for (size_t i = 0; i < files.size(); ++i)
            if (files[i].needs_noise) start(i);
    }
    for (auto& w : writers) w.get();
    for (const auto& err : errors)
        if (!err.empty()) {
            cleanup();
            throw std::runtime_error(err);
        }
    for (size_t i = 0; i < files.size(); ++i) {
        if (std::rename(temps[i].c_str(), files[i].path.c_str()) != 0) {
            const std::string why = std::strerror(errno);
            cleanup();
            throw std::runtime_error(files[i].flag + ": cannot create '" + files[i].path + "': " + why);
        }
    }
}

}  // namespace nb
