// Large zeroed image buffers. Zeroing 64 MB in 4 KB page faults took 66 ms of a
// 0.3 s run, in 2 MB transparent huge pages a tenth: large buffers ask for them
// (madvise, so it works where THP is "madvise", Debian's default) before zeroing.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <vector>

namespace nb {

template <typename T>
void allocate_zeroed(std::vector<T>& buffer, size_t n) {
    buffer.clear();
    buffer.reserve(n);
#ifdef MADV_HUGEPAGE
    const uintptr_t page = 4096, begin = ((uintptr_t)buffer.data() + page - 1) & ~(page - 1);
    const uintptr_t end = ((uintptr_t)(buffer.data() + n)) & ~(page - 1);
    if (n * sizeof(T) >= (4u << 20) && end > begin) ::madvise((void*)begin, end - begin, MADV_HUGEPAGE);
#endif
    buffer.assign(n, T(0));
}

}  // namespace nb
