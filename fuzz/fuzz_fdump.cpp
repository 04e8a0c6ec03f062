#include <stdexcept>

#include "engine/hkl_io.hpp"
#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string path = nbfuzz::scratch_file(data, size, "fdump");
    try {
        nb::HklGrid g = nb::read_fdump(path);
        if (g.F.size() != (size_t)g.h_range() * g.k_range() * g.l_range()) __builtin_trap();
    } catch (const std::runtime_error&) {
    }
    return 0;
}
