// The MPI job layer as a module of its own (libnb_mpi.so, built where MPI is
// found): a program loads it only when an MPI launcher started it, so plain
// runs never load OpenMPI's nine libraries (3.3 ms of every start).
#pragma once

namespace nb {

struct MpiApi {
    // MPI_Init, then this process's rank and the job's size
    void (*init)(int* argc, char*** argv, int* rank, int* size);
    // every rank's n doubles, gathered to rank 0 (all: size * n)
    void (*gather_doubles)(const double* mine, int n, double* all);
    void (*finalize)();
    // ends every rank of the job with `code`: one rank's error must not leave
    // the others waiting in a collective call for the whole allocation
    void (*abort)(int code);
};

inline constexpr const char* kMpiModule = "libnb_mpi.so";
inline constexpr const char* kMpiApiSymbol = "nb_mpi_api";
using MpiApiFn = const MpiApi* (*)();

}  // namespace nb
