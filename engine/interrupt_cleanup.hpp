// Temporary files removed when the program is stopped by a signal (Ctrl-C,
// kill, a closed terminal, mpirun ending a job): outputs are written under
// temporary names and put in place at the end, and an interrupted run must
// not leave those half-written files behind.
#pragma once

#include <string>

namespace nb {

// From the front ends' main(), before any other thread starts: SIGINT,
// SIGTERM and SIGHUP are then taken by a thread of their own, which removes
// the tracked temporaries and ends the process by the same signal (its exit
// status says so, as without this). Not for the Python module: the
// interpreter owns its signals.
void remove_temporaries_on_stop_signals();

// A temporary about to be written, and one renamed or removed.
void track_temporary(const std::string& path);
void untrack_temporary(const std::string& path);

// The same for the NeXus module, which links none of the engine (a function
// pointer passed in its options).
void track_temporary_c(const char* path, bool written);

}  // namespace nb
