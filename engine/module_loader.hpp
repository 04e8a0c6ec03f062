// Optional parts of the program built as modules of their own and loaded only
// by the runs that need them (the HDF5 NeXus writer, the MPI job layer): a
// plain run does not pay for loading their libraries.
#pragma once

#include <string>

namespace nb {

// dlopen()s `file`: the folder `env` names outright if set, else ../lib/ beside
// the program that holds this code (an executable in bin/ or the Python
// module, as built and as installed), the same folder, then the loader's own
// search (LD_LIBRARY_PATH). Returns the handle, or null with each try's
// error in `errors`.
void* open_module(const std::string& file, const char* env, int dlopen_flags, std::string& errors);

}  // namespace nb
