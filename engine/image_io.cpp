#include "engine/image_io.hpp"

#include <unistd.h>

#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "engine/units.hpp"

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

void write_smv_int(std::FILE* f, const Experiment& e, const std::vector<float>& image, double scale) {
    std::string h = smv_header(e);
    put(f, h.data(), h.size());
    const int fp = e.det.fpixels, spn = e.det.spixels;
    std::vector<uint16_t> row((size_t)fp);
    for (int s = 0; s < spn; ++s) {
        for (int fi = 0; fi < fp; ++fi) {
            row[fi] = 0;
            if (!in_roi(e.samp, fi, s)) continue;
            double t = image[(size_t)s * fp + fi] * scale + e.cfg.adc_offset;
            if (t > 65535.0) t = 65535.0;
            if (!(t >= 0.0)) t = 0.0;  // NaN too: converting it is undefined (C on x86 writes 0)
            // C rounds through floorf: the sum is narrowed to float first.
            row[fi] = (uint16_t)std::floor((float)(t + 0.5));
        }
        put(f, row.data(), row.size() * sizeof(uint16_t));
    }
}

NoiseImage make_noise_image(Experiment& e, const std::vector<float>& image, int64_t seed) {
    NoiseImage out;
    Deviates dev(e.ran);
    const int fp = e.det.fpixels, spn = e.det.spixels;
    out.pixels.assign((size_t)fp * spn, 0);
    for (int s = 0; s < spn; ++s) {
        for (int fi = 0; fi < fp; ++fi) {
            if (!in_roi(e.samp, fi, s)) continue;
            const float mean = image[(size_t)s * fp + fi];
            double t = dev.poisson(mean, seed);  // draws as C does, also for NaN and inf
            // A NaN pixel (or inf - inf in the Gaussian branch) counts no photons
            // and reads 0, as C's conversion gives on x86; +inf is an overload.
            if (std::isinf(mean) && mean > 0) t = HUGE_VAL;
            if (std::isnan(t)) t = 0;
            if (std::isfinite(t)) out.photons += t;
            t += e.cfg.adc_offset;
            if (t > 65535.0) {
                t = 65535.0;
                ++out.overloads;
            }
            out.pixels[(size_t)s * fp + fi] = (uint16_t)t;
        }
    }
    return out;
}

void write_smv_noise(std::FILE* f, const Experiment& e, const NoiseImage& noise) {
    std::string h = smv_header(e);
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
    std::vector<unsigned char> row((size_t)fp);
    for (int s = 0; s < spn; ++s) {
        for (int fi = 0; fi < fp; ++fi) {
            row[fi] = 0;
            if (!in_roi(e.samp, fi, s)) continue;
            double t = image[(size_t)s * fp + fi] * pgm_scale;
            if (t > 255.0) t = 255.0;
            if (!(t > INT_MIN)) t = 0;  // NaN, -inf, beyond int: undefined to convert (C on x86 gives 0)
            // C converts with a plain cast; negative values wrap the same way here.
            row[fi] = (unsigned char)(int)t;
        }
        put(f, row.data(), row.size());
    }
}

void commit_outputs(const std::vector<OutputFile>& files) {
    std::vector<std::string> temps;
    auto cleanup = [&]() {
        for (const auto& t : temps) std::remove(t.c_str());
    };
    for (const auto& f : files) {
        std::string tmp = f.path + ".partial." + std::to_string(::getpid());
        FILE* fh = std::fopen(tmp.c_str(), "wb");
        if (!fh) {
            cleanup();
            throw std::runtime_error(f.flag + ": cannot write '" + f.path + "': " + std::strerror(errno));
        }
        temps.push_back(tmp);
        try {
            f.write(fh);
        } catch (const std::exception& ex) {
            std::fclose(fh);
            cleanup();
            throw std::runtime_error(f.flag + ": failed writing '" + f.path + "': " + ex.what());
        }
        if (std::fclose(fh) != 0) {
            cleanup();
            throw std::runtime_error(f.flag + ": failed writing '" + f.path + "' (disk full?)");
        }
    }
    for (size_t i = 0; i < files.size(); ++i) {
        if (std::rename(temps[i].c_str(), files[i].path.c_str()) != 0) {
            cleanup();
            throw std::runtime_error(files[i].flag + ": cannot create '" + files[i].path +
                                     "': " + std::strerror(errno));
        }
    }
}

}  // namespace nb
