#include "engine/smv_io.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "engine/file_read.hpp"
#include "engine/units.hpp"

namespace nb {

double SmvImage::value_of(const std::string& keyword) const {
    size_t pos = header.find(keyword);
    if (pos == std::string::npos) return NAN;
    size_t last = pos;
    while ((pos = header.find(keyword, last + keyword.size())) != std::string::npos) last = pos;
    size_t eq = header.find('=', last + keyword.size());
    if (eq == std::string::npos) return 0.0;
    return std::atof(header.c_str() + eq + 1);
}

double SmvImage::finite_value(const std::string& keyword, const std::string& flag, bool positive) const {
    const double v = value_of(keyword);
    if (header.find(keyword) == std::string::npos) return v;
    if (!std::isfinite(v) || (positive && !(v > 0))) {
        char text[32];
        std::snprintf(text, sizeof text, "%g", v);
        throw std::runtime_error(flag + ": '" + path + "' has " + keyword + " = " + text + ", not " +
                                 (positive ? "a number above 0" : "a finite number"));
    }
    return v;
}

SmvImage read_smv(const std::string& path, const std::string& flag) {
    return parse_smv(read_file_bytes(path, flag), path, flag);
}

SmvImage parse_smv(const std::string& bytes, const std::string& path, const std::string& flag) {
    auto fail = [&](const std::string& why) { return std::runtime_error(flag + ": '" + path + "' " + why); };
    if (bytes.size() < 512)
        throw fail("is too short to hold an SMV header (" + std::to_string(bytes.size()) + " bytes)");
    if (bytes.compare(0, 12, "{\nHEADER_BYT") != 0) throw fail("does not look like an SMV (ADSC) image");

    SmvImage img;
    img.path = path;
    img.header = bytes.substr(0, 512);
    double hb = img.value_of("HEADER_BYTES");
    if (!(hb >= 512 && hb <= 1e6) || hb != std::floor(hb)) throw fail("has an invalid HEADER_BYTES value");
    img.header_size = (int)hb;
    if (bytes.size() < (size_t)img.header_size) throw fail("is shorter than its HEADER_BYTES");
    img.header = bytes.substr(0, (size_t)img.header_size);
    size_t nul = img.header.find('\0');
    if (nul != std::string::npos) img.header.resize(nul);

    double w = img.value_of("SIZE1"), h = img.value_of("SIZE2");
    if (std::isnan(w) || w == 0) w = h = img.value_of("DETECTOR_DIMENSIONS");
    if (!(w >= 1 && h >= 1 && w <= 1e6 && h <= 1e6)) throw fail("has missing or invalid SIZE1/SIZE2");
    img.width = (int)w;
    img.height = (int)h;
    size_t need = (size_t)img.header_size + 2 * (size_t)img.width * img.height;
    if (bytes.size() < need) {
        throw fail("is truncated: header promises " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                   " pixels (" + std::to_string(need) + " bytes), file has " + std::to_string(bytes.size()));
    }
    img.data.resize((size_t)img.width * img.height);
    std::memcpy(img.data.data(), bytes.data() + img.header_size, img.data.size() * 2);
    return img;
}

void apply_smv_header(SimConfig& cfg, const SmvImage& img, bool is_mask) {
    cfg.fpixels = img.width;
    cfg.spixels = img.height;
    const std::string flag = is_mask ? "-mask" : "-img";
    auto value = [&](const char* key, bool positive = false) { return img.finite_value(key, flag, positive); };
    double t = value("PIXEL_SIZE", true);
    if (!std::isnan(t)) cfg.pixel_size = t / 1000.0;
    cfg.detsize_f = cfg.pixel_size * cfg.fpixels;
    cfg.detsize_s = cfg.pixel_size * cfg.spixels;
    if (!std::isnan(t = value("DISTANCE"))) cfg.distance = t / 1000.0;
    if (!std::isnan(t = value("CLOSE_DISTANCE"))) cfg.close_distance = t / 1000.0;
    if (!std::isnan(t = value("WAVELENGTH", true))) cfg.lambda0 = t / 1e10;
    if (!std::isnan(t = value("BEAM_CENTER_X"))) cfg.Xbeam = t / 1000.0;
    if (!std::isnan(t = value("BEAM_CENTER_Y"))) cfg.Ybeam = is_mask ? cfg.detsize_s - t / 1000.0 : t / 1000.0;
    if (!std::isnan(t = value("ORGX"))) cfg.ORGX = t;
    if (!std::isnan(t = value("ORGY"))) cfg.ORGY = t;
    if (!std::isnan(t = value("PHI"))) cfg.phi0 = t / RTD;
    if (!std::isnan(t = value("OSC_RANGE"))) cfg.osc = t / RTD;
    // C stores TWOTHETA in a variable the geometry never reads.
    if (!std::isnan(t = value("TWOTHETA"))) cfg.header_twotheta = t / RTD;
}

namespace {
// what every header of the suite says of its size, as C writes it
const std::string kHeaderBytes512 = "HEADER_BYTES=512;";
}  // namespace

std::string smv_header_block(std::string text, bool c_bytes) {
    const std::string& key = kHeaderBytes512;
    const size_t at = text.find(key);
    if (text.size() > 512 && !c_bytes && at != std::string::npos) {
        size_t bytes = 512;
        std::string said;
        for (int i = 0; i < 3; ++i) {  // the new value's digits may lengthen the text past the next block
            said = "HEADER_BYTES=" + std::to_string(bytes) + ";";
            const size_t length = text.size() - key.size() + said.size();
            if (length <= bytes) break;
            bytes = (length + 511) / 512 * 512;
        }
        text.replace(at, key.size(), said);
        text.append(bytes - text.size(), ' ');
        return text;
    }
    if (text.size() < 512) text.append(512 - text.size(), ' ');
    return text;
}

std::string smv_header_overrun_warning(const std::string& header, const std::string& flag) {
    if (header.size() <= 512 || header.find(kHeaderBytes512) == std::string::npos) return "";
    return "WARNING: " + flag + ": the SMV header is " + std::to_string(header.size()) +
           " bytes; -exact writes it as C does, saying HEADER_BYTES=512, so readers take its last " +
           std::to_string(header.size() - 512) + " bytes for pixels (without -exact it says HEADER_BYTES=" +
           std::to_string((header.size() + 1 + 511) / 512 * 512) + ")";
}

}  // namespace nb
