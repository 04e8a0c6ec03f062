#include "engine/cbf_writer.hpp"

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <stdexcept>

#include "engine/units.hpp"

namespace nb {

namespace {

void put(std::FILE* f, const void* data, size_t bytes) {
    if (bytes && std::fwrite(data, 1, bytes, f) != bytes) throw std::runtime_error("write failed (disk full?)");
}
void put(std::FILE* f, const std::string& s) { put(f, s.data(), s.size()); }

std::string fmt(const char* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

}  // namespace

std::vector<unsigned char> cbf_byte_offset(const std::vector<int32_t>& pixels) {
    std::vector<unsigned char> out;
    out.reserve(pixels.size() + 16);
    auto le = [&out](int64_t v, int bytes) {
        for (int i = 0; i < bytes; ++i) out.push_back((unsigned char)((uint64_t)v >> (8 * i)));
    };
    int64_t prev = 0;
    for (int32_t p : pixels) {
        const int64_t diff = (int64_t)p - prev;
        prev = p;
        if (diff >= -127 && diff <= 127) {
            le(diff, 1);
        } else if (diff >= -32767 && diff <= 32767) {
            out.push_back(0x80);
            le(diff, 2);
        } else if (diff >= -2147483647LL && diff <= 2147483647LL) {
            out.push_back(0x80);
            le(-32768, 2);  // 0x8000: a 4-byte difference follows
            le(diff, 4);
        } else {
            out.push_back(0x80);
            le(-32768, 2);
            le(INT32_MIN, 4);  // 0x80000000: an 8-byte difference follows
            le(diff, 8);
        }
    }
    return out;
}

std::string minicbf_geometry_limits(const DetectorGeometry& d, bool from_expt) {
    Vec3D beam, f, s, axis;
    unitize(d.beam, beam);
    unitize(d.fdet, f);
    unitize(d.sdet, s);
    unitize(d.spindle, axis);
    std::string why;
    const Vec3D normal = cross(f, s);  // a reader's fast x slow is +x x -y = -z, the beam direction
    if (dot(normal, beam) < 1 - 1e-9)
        why += std::string("the detector is not normal to the beam (") +
               (from_expt ? "as the experiment list places it" : "-twotheta, -detector_rot*") + ")";
    if (dot(axis, f) < 1 - 1e-9) {
        if (!why.empty()) why += "; ";
        why += "the rotation axis is not the detector's fast axis";
    }
    return why;
}

void write_minicbf(std::FILE* f, const Experiment& e, const NoiseImage& noise, const std::string& name) {
    const DetectorGeometry& d = e.det;
    std::vector<int32_t> pixels(noise.pixels.begin(), noise.pixels.end());
    const std::vector<unsigned char> packed = cbf_byte_offset(pixels);

    char stamp[40];
    std::time_t t = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S.000", std::gmtime(&t));
    std::string h = "###CBF: VERSION 1.5, nanoBragg engine - Pilatus-style miniCBF\r\n\r\n";
    h += "data_" + name + "\r\n\r\n";
    // GENERIC_MINI: the Pilatus header for a detector of any size (dxtbx's
    // PILATUS reader would insist on Pilatus module gaps).
    h += "_array_data.header_convention \"GENERIC_MINI\"\r\n";
    h += "_array_data.header_contents\r\n;\r\n";
    h += "# Detector: nanoBragg simulation, S/N 0-0000\r\n";
    h += std::string("# ") + stamp + "\r\n";
    h += "# Pixel_size " + fmt("%.10g", d.pixel_size) + " m x " + fmt("%.10g", d.pixel_size) + " m\r\n";
    if (e.samp.thick > 0) h += "# Silicon sensor, thickness " + fmt("%.10g", e.samp.thick) + " m\r\n";
    h += "# Exposure_time " + fmt("%.10g", e.exposure) + " s\r\n";
    h += "# Exposure_period " + fmt("%.10g", e.exposure) + " s\r\n";
    h += "# Tau = 0 s\r\n";
    h += "# Count_cutoff 65535 counts\r\n";  // the noise image is clipped as C's SMV is
    h += "# Threshold_setting: 0 eV\r\n";
    h += "# N_excluded_pixels = 0\r\n";
    h += "# Wavelength " + fmt("%.10g", e.cfg.lambda0 * 1e10) + " A\r\n";
    h += "# Detector_distance " + fmt("%.12g", d.distance) + " m\r\n";
    h += "# Beam_xy (" + fmt("%.10g", d.Fbeam / d.pixel_size) + ", " + fmt("%.10g", d.Sbeam / d.pixel_size) +
         ") pixels\r\n";
    h += "# Start_angle " + fmt("%.10g", e.samp.phi0 * RTD) + " deg.\r\n";
    h += "# Angle_increment " + fmt("%.10g", e.samp.osc * RTD) + " deg.\r\n";
    h += "# Phi " + fmt("%.10g", e.samp.phi0 * RTD) + " deg.\r\n";
    h += "# Oscillation_axis X, CW\r\n";
    h += ";\r\n\r\n";
    h += "_array_data.data\r\n;\r\n--CIF-BINARY-FORMAT-SECTION--\r\n";
    h += "Content-Type: application/octet-stream;\r\n     conversions=\"x-CBF_BYTE_OFFSET\"\r\n";
    h += "Content-Transfer-Encoding: BINARY\r\n";
    h += "X-Binary-Size: " + std::to_string(packed.size()) + "\r\n";
    h += "X-Binary-ID: 1\r\n";
    h += "X-Binary-Element-Type: \"signed 32-bit integer\"\r\n";
    h += "X-Binary-Element-Byte-Order: LITTLE_ENDIAN\r\n";
    h += "X-Binary-Number-of-Elements: " + std::to_string(pixels.size()) + "\r\n";
    h += "X-Binary-Size-Fastest-Dimension: " + std::to_string(d.fpixels) + "\r\n";
    h += "X-Binary-Size-Second-Dimension: " + std::to_string(d.spixels) + "\r\n";
    h += "X-Binary-Size-Padding: 4095\r\n\r\n";
    put(f, h);
    const unsigned char start[4] = {0x0c, 0x1a, 0x04, 0xd5};
    put(f, start, 4);
    put(f, packed.data(), packed.size());
    const std::vector<unsigned char> padding(4095, 0);
    put(f, padding.data(), padding.size());
    put(f, std::string("\r\n--CIF-BINARY-FORMAT-SECTION----\r\n;\r\n\r\n"));
}

}  // namespace nb
