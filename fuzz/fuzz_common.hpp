// Shared by the libFuzzer targets. Each parser has a stream/bytes entry point
// (the file readers are thin wrappers), so inputs are fed from memory.
// Rejections are std::runtime_error with a message; anything else (crash,
// sanitizer report, another exception type) is a finding.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>

namespace nbfuzz {

inline std::string bytes_of(const uint8_t* data, size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace nbfuzz
