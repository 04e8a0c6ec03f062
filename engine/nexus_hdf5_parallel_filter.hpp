// A frame's chunks compressed at once, for the NeXus writer (its module only).
// HDF5 filters a data set's chunks one after another on the writing thread:
// bitshuffle+LZ4 took about 30 ms of a 2048x2048 frame on one core, a series'
// pace behind a GPU. The filter here is the plugin's own function (the class
// its H5PLget_plugin_info hands HDF5) with the data set's own parameters, run
// on every chunk at once; H5Dwrite_chunk then stores the bytes HDF5 would have.
#pragma once

#include <hdf5.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <vector>

namespace nb {

class ParallelFilter {
public:
    // The loaded plugin's filter `id`; none (HDF5 filters as usual) where it
    // cannot be found, or with NB_NEXUS_SERIAL_FILTER=1 (to compare the two).
    static ParallelFilter find(H5Z_filter_t id);
    explicit operator bool() const { return filter_ != nullptr; }

    // Puts rows [r0, r0 + n) of the frame at dst, as the file's 4-byte elements.
    using Fill = std::function<void(int r0, int n, void* dst)>;
    struct Chunk {
        std::unique_ptr<void, void (*)(void*)> data{nullptr, std::free};
        size_t bytes = 0;
    };
    // One frame of `dset` (slow x fast, 4-byte elements) in chunks of `rows`
    // rows, filtered on the run's threads; none where the data set's filters
    // are not this one alone. Throws std::runtime_error where the filter fails.
    std::vector<Chunk> compress(hid_t dset, int slow, int fast, int rows, const Fill& fill) const;

private:
    H5Z_filter_t id_ = -1;
    H5Z_func_t filter_ = nullptr;
};

}  // namespace nb
