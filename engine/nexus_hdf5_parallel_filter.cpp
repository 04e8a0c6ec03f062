#include "engine/nexus_hdf5_parallel_filter.hpp"

#include <dlfcn.h>
#include <link.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace nb {

ParallelFilter ParallelFilter::find(H5Z_filter_t id) {
    ParallelFilter f;
    if (const char* e = std::getenv("NB_NEXUS_SERIAL_FILTER"); e && std::string(e) == "1") return f;
    // chunks are written as the file's little-endian elements, straight from memory
    if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__ || H5Zfilter_avail(id) <= 0) return f;  // loads the plugin
    // the loaded libraries' names first: no dlopen while the loader's list is held
    std::vector<std::string> names;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* out) -> int {
            if (info->dlpi_name && *info->dlpi_name)
                static_cast<std::vector<std::string>*>(out)->push_back(info->dlpi_name);
            return 0;
        },
        &names);
    for (const std::string& name : names) {
        void* lib = ::dlopen(name.c_str(), RTLD_LAZY | RTLD_NOLOAD);
        if (!lib) continue;
        using Info = const void* (*)();
        auto info = reinterpret_cast<Info>(::dlsym(lib, "H5PLget_plugin_info"));
        const auto* cls = info ? static_cast<const H5Z_class2_t*>(info()) : nullptr;
        ::dlclose(lib);  // HDF5 keeps its plugins loaded to the end of the process
        if (cls && cls->version == H5Z_CLASS_T_VERS && cls->id == id && cls->encoder_present && cls->filter) {
            f.id_ = id;
            f.filter_ = cls->filter;
            return f;
        }
    }
    return f;
}

std::vector<ParallelFilter::Chunk> ParallelFilter::compress(hid_t dset, int slow, int fast, int rows,
                                                            const Fill& fill) const {
    std::vector<Chunk> out;
    if (!filter_) return out;
    const hid_t dcpl = H5Dget_create_plist(dset);
    if (dcpl < 0) return out;
    unsigned flags = 0, cd[16];
    size_t ncd = 16;
    const bool alone =
        H5Pget_nfilters(dcpl) == 1 && H5Pget_filter_by_id2(dcpl, id_, &flags, &ncd, cd, 0, nullptr, nullptr) >= 0;
    H5Pclose(dcpl);
    if (!alone) {
        H5Eclear2(H5E_DEFAULT);
        return out;
    }
    const int chunks = (slow + rows - 1) / rows;
    const size_t chunk_bytes = (size_t)rows * fast * 4;
    out.resize((size_t)chunks);
    bool failed = false;
#pragma omp parallel for schedule(dynamic, 1) num_threads(std::max(1, std::min(chunks, omp_get_max_threads())))
    for (int k = 0; k < chunks; ++k) {
        void* buf = std::malloc(chunk_bytes);  // the filter frees it and returns its own
        if (!buf) {
#pragma omp atomic write
            failed = true;
            continue;
        }
        const int r0 = k * rows, n = std::min(rows, slow - r0);
        fill(r0, n, buf);
        // HDF5 pads an edge chunk with the fill value, 0
        const size_t filled = (size_t)n * fast * 4;
        std::memset(static_cast<char*>(buf) + filled, 0, chunk_bytes - filled);
        size_t buf_size = chunk_bytes;
        const size_t bytes = filter_(0, ncd, cd, chunk_bytes, &buf_size, &buf);
        out[(size_t)k].data.reset(buf);
        out[(size_t)k].bytes = bytes;
        if (bytes == 0) {
#pragma omp atomic write
            failed = true;
        }
    }
    if (failed) throw std::runtime_error("-nexusfile: the compression filter failed on a chunk (out of memory?)");
    return out;
}

}  // namespace nb
