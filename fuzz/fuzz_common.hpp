// Shared by the libFuzzer targets: the parsers read files, so each input is
// written to a per-process scratch file first. Rejections are
// std::runtime_error with a message; anything else (crash, sanitizer report,
// another exception type) is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace nbfuzz {

inline std::string scratch_file(const uint8_t* data, size_t size, const char* tag) {
    std::string path = "/tmp/nbfuzz_" + std::string(tag) + "_" + std::to_string(::getpid());
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f) {
        if (size) std::fwrite(data, 1, size, f);
        std::fclose(f);
    }
    return path;
}

}  // namespace nbfuzz
