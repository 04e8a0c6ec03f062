#include <stdexcept>

#include "engine/crystal.hpp"
#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string path = nbfuzz::scratch_file(data, size, "mat");
    try {
        nb::read_mosflm_matrix(path);
    } catch (const std::runtime_error&) {
    }
    return 0;
}
