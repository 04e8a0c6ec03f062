// Large zeroed image buffers. Zeroing 64 MB in 4 KB page faults took 66 ms of a
// 0.3 s run, in 2 MB transparent huge pages a tenth: large buffers ask for them
// (madvise, so it works where THP is "madvise", Debian's default) before zeroing.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
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

// Capacity for n elements (an empty vector) in which a buffer of 1 MB or more
// can sit in 2 MB huge pages: on a VM a 4 KB page fault took about 10 us, and
// a buffer of 2 MB rarely holds an aligned 2 MB page unless given room for one.
template <typename T>
void reserve_huge(std::vector<T>& buffer, size_t n) {
    constexpr size_t huge = 2u << 20;
    const size_t bytes = n * sizeof(T);
    if (bytes < (1u << 20)) {
        buffer.reserve(n);
        return;
    }
    buffer.reserve(n + huge / sizeof(T));
#ifdef MADV_HUGEPAGE
    const uintptr_t p = (uintptr_t)buffer.data();
    const uintptr_t begin = (p + huge - 1) & ~(uintptr_t)(huge - 1);
    const uintptr_t end = (p + bytes + huge - 1) & ~(uintptr_t)(huge - 1);  // within the extra room
    if (end > begin) ::madvise((void*)begin, end - begin, MADV_HUGEPAGE);
#endif
}

// value over [p, p + n) on the threads, in 2 MB pieces: a recycled frame's
// 16 MB image took 3-5 ms to fill with assign() on this 2-core VM, 1.4-1.7 ms
// so; a series frame's render on 16 cores takes about 10 ms.
template <typename T>
void fill_in_parallel(T* p, size_t n, T value) {
    constexpr size_t chunk = (2u << 20) / sizeof(T);
    if (n * sizeof(T) < (4u << 20)) {
        std::fill(p, p + n, value);
        return;
    }
    const long long chunks = (long long)((n + chunk - 1) / chunk);
#pragma omp parallel for schedule(static)
    for (long long k = 0; k < chunks; ++k) {
        const size_t off = (size_t)k * chunk;
        std::fill(p + off, p + std::min(n, off + chunk), value);
    }
}

// The first touch of a new buffer's pages spread over the threads: each
// takes its own page faults (the kernel's zeroing of a page is most of a
// fault's cost; 64 MB in huge pages: 4.7 ms on one thread, 2.6 on two).
inline void touch_in_parallel(void* p, size_t bytes) {
    if (bytes >= (4u << 20)) fill_in_parallel(static_cast<char*>(p), bytes, char(0));
}

template <typename T>
void allocate_filled(std::vector<T>& buffer, size_t n, T value) {
    if (buffer.size() == n) {  // a recycled buffer: its elements exist
        fill_in_parallel(buffer.data(), n, value);
        return;
    }
    if (buffer.capacity() < n) {
        std::vector<T>().swap(buffer);
        reserve_huge(buffer, n);
        // trivially constructible elements: the storage is touched before
        // assign() constructs them, on warm pages
        static_assert(std::is_trivially_copyable<T>::value, "plain values only");
        touch_in_parallel(buffer.data(), n * sizeof(T));
    }
    buffer.assign(n, value);
}

template <typename T>
void allocate_zeroed(std::vector<T>& buffer, size_t n) {
    allocate_filled(buffer, n, T(0));
}

}  // namespace nb
