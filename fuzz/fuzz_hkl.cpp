#include <stdexcept>

#include "engine/hkl_io.hpp"
#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string path = nbfuzz::scratch_file(data, size, "hkl");
    std::vector<std::string> notes;
    try {
        nb::HklGrid g = nb::read_hkl_text(path, 1.0, notes);
        if (g.F.size() != (size_t)g.h_range() * g.k_range() * g.l_range()) __builtin_trap();
    } catch (const std::runtime_error&) {
    }
    return 0;
}
