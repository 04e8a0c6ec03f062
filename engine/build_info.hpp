// What built this program: version, git commit, build type, CUDA
// architectures, CPU vector paths, MPI and PNG support. Opens every run's
// output so a log says what produced it.
#pragma once

#include <string>

namespace nb {

struct BuildInfo {
    std::string version;             // project version (CMake)
    std::string git_commit;          // `git describe --always --dirty`, or "unknown"
    std::string build_type;          // Release, Debug, ...
    std::string cuda_architectures;  // e.g. "80,90", or "none" without the CUDA backend
    std::string cpu_vector_paths;    // compiled CPU paths, e.g. "generic,avx2,avx512"
    std::string cpu_vector_path;     // the one this CPU runs
    bool mpi = false, png = false;
};

BuildInfo build_info();

// "nanoBragg engine 0.1.0 (git ..., Release; CUDA sm 80,90; CPU ...; MPI yes; PNG yes)"
std::string version_line();

}  // namespace nb
