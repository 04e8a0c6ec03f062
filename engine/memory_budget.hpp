// How much memory one allocation of ours (image, HKL grid) may take before
// we refuse with a clear message instead of dying in the allocator:
// NB_MEMORY_LIMIT_MB when set (tests and fuzzing use it), else 80% of
// physical memory.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace nb {

inline uint64_t memory_budget_bytes() {
    if (const char* v = std::getenv("NB_MEMORY_LIMIT_MB")) {
        long long mb = std::atoll(v);
        if (mb > 0) return (uint64_t)mb << 20;
    }
    long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return (uint64_t)8 << 30;
    return (uint64_t)((double)pages * (double)page * 0.8);
}

}  // namespace nb
