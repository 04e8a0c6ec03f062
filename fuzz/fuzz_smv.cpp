#include <stdexcept>

#include "engine/smv_io.hpp"
#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        nb::SmvImage img = nb::parse_smv(nbfuzz::bytes_of(data, size), "fuzz.img", "-img");
        if (img.data.size() != (size_t)img.width * img.height) __builtin_trap();
        nb::SimConfig c;
        nb::apply_smv_header(c, img, size % 2 == 0);
    } catch (const std::runtime_error&) {
    }
    return 0;
}
