#include "cli/mpi_job.hpp"

#include <dlfcn.h>

#include <algorithm>
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

RankTimes job_summary(const Job& job, const RankTimes& mine) {
    constexpr int kFields = 7;
    const double own[kFields] = {mine.frames,    mine.seconds, mine.evaluations, mine.render_s,
                                 mine.kernel_ms, mine.write_s, mine.wait_s};
    std::vector<double> all(own, own + kFields);
#ifdef NB_HAVE_MPI
    if (job.mpi) {
        all.resize(kFields * (size_t)job.size);
        mpi().gather_doubles(own, kFields, all.data());
    }
#endif
    if (job.rank != 0) return mine;
    const int ranks = (int)(all.size() / kFields);
    RankTimes total;
    for (int r = 0; r < ranks; ++r) {
        const double* v = &all[kFields * (size_t)r];
        total.frames += v[0];
        total.seconds = std::max(total.seconds, v[1]);
        total.evaluations += v[2];
        total.render_s += v[3];
        total.kernel_ms += v[4];
        total.write_s += v[5];
        total.wait_s += v[6];
    }
    std::printf("job summary: %.0f frames in %.3f s on %d rank(s) (%.2f frames/s)", total.frames, total.seconds,
                job.size, total.seconds > 0 ? total.frames / total.seconds : 0.0);
    for (int r = 0; r < ranks; ++r) {
        const double* v = &all[kFields * (size_t)r];
        std::printf("; rank %d: %.0f frames, %.3g eval/s", r, v[0], v[1] > 0 ? v[2] / v[1] : 0.0);
    }
    std::printf("\n");
    std::fflush(stdout);
    return total;
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
