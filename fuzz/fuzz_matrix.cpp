#include <stdexcept>

#include "engine/crystal.hpp"
#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::istringstream in(nbfuzz::bytes_of(data, size));
    try {
        nb::parse_mosflm_matrix(in, "fuzz.mat");
    } catch (const std::runtime_error&) {
    }
    return 0;
}
