// How the command-line programs take memory from the system. On the VMs we
// measure on, the first touch of a 4 KB page costs about 11 us (the host backs
// the page): noisify on a 512x512 image faulted 3,600 pages, 40 ms of its
// 113. glibc maps each buffer over 128 KB on its own, in 4 KB pages, and
// unmaps it when freed, so the next buffer faults again.
#pragma once

#include <cstddef>

namespace nb {

// Large buffers come from the main heap, which gets `reserve` bytes ahead
// in transparent huge pages (madvise: one fault per 2 MB) and keeps freed
// memory for the next buffer instead of returning it to the system. For
// programs that run one job and exit, not for a library inside a
// long-running process (the Python module does not call it). Returns
// whether the heap's reserve could be advised. NB_HEAP=system in the
// environment keeps glibc's defaults (to measure the difference).
bool use_huge_page_heap(size_t reserve = size_t(512) << 20);

}  // namespace nb
