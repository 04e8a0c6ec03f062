// Large zeroed image buffers. Zeroing 64 MB in 4 KB page faults took 66 ms of a
// 0.3 s run, in 2 MB transparent huge pages a tenth: large buffers ask for them
// (madvise, so it works where THP is "madvise", Debian's default) before zeroing.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <vector>

namespace nb {

// Asks for transparent huge pages over the whole 4 KB pages of [p, p + bytes)
// when the range is large (before its first touch, where the faults are).
inline void advise_huge_pages(void* p, size_t bytes) {
#ifdef MADV_HUGEPAGE
    const uintptr_t page = 4096, begin = ((uintptr_t)p + page - 1) & ~(page - 1);
    const uintptr_t end = ((uintptr_t)p + bytes) & ~(page - 1);
    if (bytes >= (4u << 20) && end > begin) ::madvise((void*)begin, end - begin, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

template <typename T>
void allocate_zeroed(std::vector<T>& buffer, size_t n) {
    buffer.clear();
    buffer.reserve(n);
    advise_huge_pages(buffer.data(), n * sizeof(T));
    buffer.assign(n, T(0));
}

}  // namespace nb
