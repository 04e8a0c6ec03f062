// Whole files into memory in one read, the size taken from the system: a
// stream iterator (a call per byte) took several ms per MB.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
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

// A regular file's bytes mapped read-only: the page cache itself, no copy
// and no fresh memory (a first touch of a page cost about 11 us on our VMs),
// the pages populated at once rather than by a fault each. mapped() is false
// for what cannot be mapped (missing, empty, a pipe): read it instead.
class MappedFile {
public:
    explicit MappedFile(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    bool mapped() const { return data_ != nullptr; }
    std::string_view text() const { return {data_, size_}; }
    const void* data() const { return data_; }
    size_t size() const { return size_; }

private:
    const char* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace nb
