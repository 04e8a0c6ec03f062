#include <stdexcept>

#include "engine/expt.hpp"
#include "fuzz/fuzz_common.hpp"

// The DIALS experiment list reader: any bytes give a model or one error.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        nb::parse_expt(nbfuzz::bytes_of(data, size), "fuzz.expt");
    } catch (const std::runtime_error&) {
    }
    return 0;
}
