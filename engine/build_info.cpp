#include "engine/build_info.hpp"

#include "kernels/cpu_launcher.hpp"
#include "nb_git_commit.h"  // generated at every build (cmake/git_commit.cmake)

namespace nb {

BuildInfo build_info() {
    BuildInfo b;
    b.version = NB_VERSION;
    b.git_commit = NB_GIT_COMMIT;
    b.build_type = NB_BUILD_TYPE;
    b.cuda_architectures = NB_CUDA_ARCHITECTURES;
    b.cpu_vector_paths = NB_CPU_VECTOR_PATHS;
    b.cpu_vector_path = cpu_isa();
#ifdef NB_BUILT_WITH_MPI
    b.mpi = true;
#endif
#ifdef NB_HAVE_PNG
    b.png = true;
#endif
    return b;
}

std::string version_line() {
    const BuildInfo b = build_info();
    const std::string cuda = b.cuda_architectures == "none" ? "no CUDA" : "CUDA sm " + b.cuda_architectures;
    return "nanoBragg engine " + b.version + " (git " + b.git_commit + ", " + b.build_type + "; " + cuda +
           "; CPU paths " + b.cpu_vector_paths + ", running " + b.cpu_vector_path + "; MPI " + (b.mpi ? "yes" : "no") +
           "; PNG " + (b.png ? "yes" : "no") + ")";
}

}  // namespace nb
