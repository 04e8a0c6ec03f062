#pragma once
#include <cstddef>

namespace nb {

// A frame submitted to a device (kernels/frame_pipeline.hpp) and not yet
// collected: its slot, its size, whether statistics were reduced, and the
// pixel where interpolation switched off (-1: never), known at submission.
struct FrameTicket {
    int slot = -1;
    long long interp_disabled_at = -1;
    size_t npix = 0;
    bool stats = false;
};

}  // namespace nb
