#include <stdexcept>

#include "engine/text_table.hpp"
#include "fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string path = nbfuzz::scratch_file(data, size, "src");
    try {
        auto rows = nb::read_text_table(path, 5, "-sourcefile");
        for (const auto& r : rows)
            if (r.size() != 5) __builtin_trap();
    } catch (const std::runtime_error&) {
    }
    return 0;
}
