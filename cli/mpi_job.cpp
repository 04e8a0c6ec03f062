#include "cli/mpi_job.hpp"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/mpi_module.hpp"
#include "engine/module_loader.hpp"

namespace nb {

namespace {
int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v ? std::atoi(v) : fallback;
}

// The MPI module (cli/mpi_module.hpp), loaded once. RTLD_GLOBAL: OpenMPI's
// own plugins, which it dlopen()s, resolve symbols of the libmpi it brings.
const MpiApi& mpi() {
    static const MpiApi* api = [] {
        std::string errors;
        void* handle = open_module(kMpiModule, "NB_MPI_MODULE", RTLD_NOW | RTLD_GLOBAL, errors);
        const auto fn = handle ? reinterpret_cast<MpiApiFn>(dlsym(handle, kMpiApiSymbol)) : nullptr;
        if (!fn)
            throw std::runtime_error(std::string("an MPI launcher started this program, but its MPI module ") +
                                     kMpiModule + " cannot be loaded:" + errors +
                                     (handle ? std::string(" no ") + kMpiApiSymbol : std::string()));
        return fn();
    }();
    return *api;
}

}  // namespace

Job job_start(int* argc, char*** argv) {
    Job j;
    bool launched = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK") ||
                    std::getenv("SLURM_STEP_NUM_TASKS");
#ifdef NB_HAVE_MPI
    if (launched) {
        mpi().init(argc, argv, &j.rank, &j.size);
        j.mpi = true;
    }
#else
    (void)argc;
    (void)argv;
    (void)launched;
#endif
    j.local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", env_int("SLURM_LOCALID", env_int("MPI_LOCALRANKID", 0)));
    return j;
}

void job_summary(const Job& job, int frames, double seconds, double evaluations) {
    std::vector<double> mine{(double)frames, seconds, evaluations};
    std::vector<double> all(3 * (size_t)job.size);
#ifdef NB_HAVE_MPI
    if (job.mpi) {
        mpi().gather_doubles(mine.data(), 3, all.data());
    } else {
        all = mine;
    }
#else
    all = mine;
#endif
    if (job.rank != 0) return;
    double total_frames = 0, wall = 0;
    for (int r = 0; r < job.size; ++r) {
        total_frames += all[3 * r];
        if (all[3 * r + 1] > wall) wall = all[3 * r + 1];
    }
    std::printf("job summary: %.0f frames in %.3f s on %d rank(s) (%.2f frames/s)", total_frames, wall, job.size,
                wall > 0 ? total_frames / wall : 0.0);
    for (int r = 0; r < job.size; ++r) {
        double s = all[3 * r + 1];
        std::printf("; rank %d: %.0f frames, %.3g eval/s", r, all[3 * r], s > 0 ? all[3 * r + 2] / s : 0.0);
    }
    std::printf("\n");
    std::fflush(stdout);
}

void job_abort(const Job& job, int code) {
#ifdef NB_HAVE_MPI
    if (job.mpi && job.size > 1) {
        std::fflush(stdout);
        std::fflush(stderr);
        mpi().abort(code);
    }
#else
    (void)job;
    (void)code;
#endif
}

void job_finish(const Job& job) {
#ifdef NB_HAVE_MPI
    if (job.mpi) mpi().finalize();
#else
    (void)job;
#endif
}

}  // namespace nb
