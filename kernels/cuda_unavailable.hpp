// The words for a CUDA GPU that cannot be used, from what the CUDA runtime
// reported: host code, in a header for the CUDA build's launcher and the
// tests (which run without a GPU).
#pragma once

#include <string>

namespace nb {

// `problem`: a GPU may well be there and cannot be used (a driver older than
// this build's CUDA runtime, a runtime error), which a run that falls back to
// the CPU must say; otherwise there is simply none (or no CUDA build).
struct CudaUnavailable {
    bool problem = false;
    std::string why;
};

// Versions as CUDA encodes them (1000 * major + 10 * minor), driver 0 when no
// NVIDIA driver is installed; `error`: the device count's error, "" if none.
inline CudaUnavailable describe_cuda_unavailable(int driver_version, int runtime_version, bool no_device,
                                                 const std::string& error) {
    auto version = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
    // without a driver the runtime reports an "insufficient driver" too: no
    // driver at all is a machine without a GPU, not a problem
    if (driver_version == 0 || no_device) return {false, "no CUDA GPU found"};
    if (runtime_version > 0 && driver_version < runtime_version)
        return {true, "the NVIDIA driver supports CUDA " + version(driver_version) +
                          ", older than this build's CUDA runtime " + version(runtime_version) +
                          ": update the driver, or build with an older CUDA toolkit"};
    if (!error.empty()) return {true, "the CUDA runtime reports: " + error};
    return {false, "no CUDA GPU found"};
}

}  // namespace nb
