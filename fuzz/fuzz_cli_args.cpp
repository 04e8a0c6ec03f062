#include <stdexcept>
#include <string>
#include <vector>

#include "cli/args.hpp"

// Input bytes split on whitespace/NUL into argv; -img/-mask are dropped so the
// target never reads files named by the fuzzer.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> tokens{"nanoBragg"};
    std::string cur;
    for (size_t i = 0; i <= size; ++i) {
        char c = i < size ? (char)data[i] : ' ';
        if (c == ' ' || c == '\n' || c == '\t' || c == '\0') {
            if (!cur.empty()) tokens.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    std::vector<const char*> argv;
    for (size_t i = 0; i < tokens.size(); ++i) {
        if (tokens[i] == "-img" || tokens[i] == "-mask") {
            ++i;
            continue;
        }
        argv.push_back(tokens[i].c_str());
    }
    try {
        nb::parse_args((int)argv.size(), argv.data());
    } catch (const nb::UsageError&) {
    } catch (const std::runtime_error&) {
    }
    return 0;
}
