#include <stdexcept>

#include "engine/text_table.hpp"
#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::istringstream in(nbfuzz::bytes_of(data, size));
    try {
        auto rows = nb::parse_text_table(in, "sources.txt", 5, "-sourcefile");
        for (const auto& r : rows)
            if (r.size() != 5) __builtin_trap();
    } catch (const std::runtime_error&) {
    }
    return 0;
}
