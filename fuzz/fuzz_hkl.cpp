#include <stdexcept>

#include "engine/hkl_io.hpp"
#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::istringstream in(nbfuzz::bytes_of(data, size));
    std::vector<std::string> notes;
    try {
        nb::HklGrid g = nb::parse_hkl_text(in, "fuzz.hkl", 1.0, notes);
        if (g.F.size() != (size_t)g.h_range() * g.k_range() * g.l_range()) __builtin_trap();
    } catch (const std::runtime_error&) {
    }
    return 0;
}
