// Whole files into memory in one read, the size taken from the system: a
// stream iterator (a call per byte) took several ms per MB.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace nb {

// Reads the whole file into a buffer that `room(n)` makes at least n bytes
// long (keeping what it held) and returns the bytes read: regular files in
// one read, pipes and devices until their end. Errors name `flag` (the flag
// or kind of file) and the path.
size_t read_file_with(const std::string& path, const std::string& flag, const std::function<char*(size_t)>& room);

inline std::string read_file_bytes(const std::string& path, const std::string& flag) {
    std::string bytes;
    bytes.resize(read_file_with(path, flag, [&](size_t n) {
        bytes.resize(n);
        return &bytes[0];
    }));
    return bytes;
}

// The file as values of T (an image of floats) without a second copy;
// `bytes` receives its length, which need not be a whole number of values
// (the caller says what is wrong with such a file).
template <typename T>
std::vector<T> read_file_values(const std::string& path, const std::string& flag, size_t& bytes) {
    std::vector<T> values;
    bytes = read_file_with(path, flag, [&](size_t n) {
        values.resize((n + sizeof(T) - 1) / sizeof(T));
        return reinterpret_cast<char*>(values.data());
    });
    values.resize(bytes / sizeof(T));
    return values;
}

}  // namespace nb
