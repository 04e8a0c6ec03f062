#include "cli/frames.hpp"

#include <cstdio>
#include <stdexcept>

#include "engine/image_io.hpp"

namespace nb {

namespace {

// Exactly one %d-style conversion (flags/width allowed), and "%%" escapes.
bool valid_pattern(const std::string& p) {
    int conversions = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        if (p[i] != '%') continue;
        if (i + 1 < p.size() && p[i + 1] == '%') {
            ++i;
            continue;
        }
        size_t j = i + 1;
        while (j < p.size() && (p[j] == '0' || p[j] == '-' || p[j] == '+' || p[j] == ' ')) ++j;
        while (j < p.size() && p[j] >= '0' && p[j] <= '9') ++j;
        if (j >= p.size() || (p[j] != 'd' && p[j] != 'i' && p[j] != 'u')) return false;
        ++conversions;
        i = j;
    }
    return conversions == 1;
}

}  // namespace

std::string frame_file_name(const std::string& pattern, int number, bool numbered, const std::string& flag) {
    std::string p = pattern;
    if (p.find('%') == std::string::npos) {
        // every frame to /dev/null (or a pipe), as the name says
        if (!numbered || is_stream_target(p)) return p;
        size_t slash = p.find_last_of('/');
        size_t dot = p.find_last_of('.');
        if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) dot = p.size();
        p.insert(dot, "_%04d");
    }
    if (!valid_pattern(p)) {
        throw std::runtime_error(flag + ": '" + pattern + "' must hold one integer conversion such as %04d");
    }
    char buf[4096];
    int n = std::snprintf(buf, sizeof buf, p.c_str(), number);
    if (n < 0 || n >= (int)sizeof buf) throw std::runtime_error(flag + ": file name too long");
    return buf;
}

}  // namespace nb
