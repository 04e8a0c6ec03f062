#include "engine/file_read.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace nb {

size_t read_file_with(const std::string& path, const std::string& flag, const std::function<char*(size_t)>& room) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct Closer {
        int fd;
        ~Closer() {
            if (fd >= 0) ::close(fd);
        }
    } closer{fd};
    if (fd < 0) throw std::runtime_error(flag + ": cannot open '" + path + "': " + std::strerror(errno));
    struct stat st {};
    // a regular file in one read (one byte more, to see its end); else 64 KB
    // at a time, then 1 MB
    size_t step = (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) ? (size_t)st.st_size + 1 : size_t(64) << 10;
    size_t used = 0, size = 0;
    char* buffer = nullptr;
    for (;;) {
        if (size == used) {
            size = used + step;
            buffer = room(size);
            step = std::max(step, size_t(1) << 20);
        }
        const ssize_t got = ::read(fd, buffer + used, size - used);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw std::runtime_error(flag + ": cannot read '" + path + "': " + std::strerror(errno));
        if (got == 0) break;
        used += (size_t)got;
    }
    return used;
}

MappedFile::MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void* p = ::mmap(nullptr, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p != MAP_FAILED) data_ = static_cast<const char*>(p), size_ = (size_t)st.st_size;
    }
    ::close(fd);
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
}

}  // namespace nb
