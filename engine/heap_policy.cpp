#include "engine/heap_policy.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace nb {

bool use_huge_page_heap(size_t reserve) {
    const char* env = std::getenv("NB_HEAP");
    if (env && std::string(env) == "system") return false;  // glibc's defaults, to measure against
    if (reserve > (size_t(1) << 30)) reserve = size_t(1) << 30;
    // buffers up to 1 GB from the heap; freed memory stays for the next one
    // (the trim threshold above the reserve: a trim would give the advised
    // range back, and the heap would grow again without the advice)
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    // every thread's buffers from that heap too (a thread's own arena is a
    // separate mapping in 4 KB pages); the threads allocate per frame, not
    // per pixel, so they seldom wait for each other
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    // the heap grows by the reserve at its next growth: one range to advise
    mallopt(M_TOP_PAD, (int)reserve);
    void* probe = std::malloc(size_t(1) << 20);  // more than the heap holds free at start
    mallopt(M_TOP_PAD, 128 << 10);               // glibc's default for later growth
    if (!probe) return false;
    const uintptr_t huge = uintptr_t(2) << 20;
    const uintptr_t begin = ((uintptr_t)probe + huge - 1) & ~(huge - 1);
    const uintptr_t end = (uintptr_t)::sbrk(0) & ~(huge - 1);
    bool advised = false;
#ifdef MADV_HUGEPAGE
    // the reserve is address space: untouched pages cost nothing
    if (end > begin) advised = ::madvise((void*)begin, end - begin, MADV_HUGEPAGE) == 0;
#endif
    std::free(probe);
    // the heap's memory below the first huge page stays unused (address space
    // only): the buffers start in the advised range (kept reachable for the
    // leak checker)
    static void* below_first_huge_page = nullptr;
    if (advised && begin - (uintptr_t)probe > 64) below_first_huge_page = std::malloc(begin - (uintptr_t)probe - 64);
    return advised;
}

}  // namespace nb
