// Splitting a series across MPI ranks (one process per GPU or node share).
// Without MPI, or when not started by an MPI launcher, this is a job of one.
#pragma once

namespace nb {

struct Job {
    int rank = 0, size = 1, local_rank = 0;
    bool mpi = false;
    bool owns(int frame_index) const { return frame_index % size == rank; }
    // this rank's share of `frames`, round robin as owns() deals them: its
    // count, and its k-th frame (no list: -nframes 1e9 had taken 12 GB)
    long long frames_owned(int frames) const { return frames > rank ? (frames - rank - 1) / size + 1 : 0; }
    int owned_frame(long long k) const { return (int)(rank + k * size); }
};

// Starts MPI only when an MPI launcher started us (mpirun/srun set the
// environment), so plain runs never pay for MPI.
Job job_start(int* argc, char*** argv);

// What one rank measured of its share of a series.
struct RankTimes {
    double frames = 0, seconds = 0, evaluations = 0;
    // rendering (render kernels within it), the writers' own time and the
    // wait for earlier frames' files, summed over this rank's frames
    double render_s = 0, kernel_ms = 0, write_s = 0, wait_s = 0;
};

// One line for the whole job, printed by rank 0: frames, wall seconds and
// evaluations per second of every rank. Returns every rank's times summed
// (wall seconds: the longest), on rank 0; on the others their own.
RankTimes job_summary(const Job& job, const RankTimes& mine);

void job_finish(const Job& job);

// A failed rank of a job of several: ends the whole job with `code` (its error
// line already printed), so that no rank waits on it; otherwise returns.
void job_abort(const Job& job, int code);

}  // namespace nb
