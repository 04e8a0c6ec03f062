// libnb_mpi.so: the MPI calls of the job layer (cli/mpi_job.cpp), in C MPI.
// the C API only: no C++ bindings (libmpi_cxx) are linked
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include "cli/mpi_module.hpp"

namespace {

void init(int* argc, char*** argv, int* rank, int* size) {
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
}

void gather_doubles(const double* mine, int n, double* all) {
    MPI_Gather(const_cast<double*>(mine), n, MPI_DOUBLE, all, n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
}

void finalize() { MPI_Finalize(); }

void abort_job(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

const nb::MpiApi kApi{init, gather_doubles, finalize, abort_job};

}  // namespace

extern "C" __attribute__((visibility("default"))) const nb::MpiApi* nb_mpi_api() { return &kApi; }
