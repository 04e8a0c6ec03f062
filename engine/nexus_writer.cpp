#include "engine/nexus_writer.hpp"

#include <dlfcn.h>

#include <cfenv>
#include <cstdlib>
#include <stdexcept>

#include "engine/build_info.hpp"
#include "engine/interrupt_cleanup.hpp"
#include "engine/module_loader.hpp"

namespace nb {

NexusWriter::Options NexusWriter::from_config(const SimConfig& cfg, std::string command_line) {
    Options o;
    o.path = cfg.nexus_file;
    o.float_image = cfg.nexus_float;
    o.command_line = std::move(command_line);
    o.nframes = cfg.nframes;
    o.compression = cfg.nexus_compression;
    o.frames_per_file = cfg.nexus_frames_per_file;
    o.creator = version_line();
    o.program_version = build_info().version;
    o.track_temporary = &track_temporary_c;
    return o;
}

namespace {

// The module beside the program (engine/module_loader.hpp); NB_NEXUS_MODULE
// names it outright.
NexusOpenFn load_module() {
    static NexusOpenFn fn = nullptr;
    static std::string why;
    if (fn) return fn;
    if (!why.empty()) throw std::runtime_error(why);
    std::string errors;
    if (void* handle = open_module(kNexusModule, "NB_NEXUS_MODULE", RTLD_NOW | RTLD_LOCAL, errors)) {
        fn = reinterpret_cast<NexusOpenFn>(dlsym(handle, kNexusOpenSymbol));
        if (fn) return fn;
        errors += std::string(" no ") + kNexusOpenSymbol + " in it";
    }
    why = std::string("-nexusfile: cannot load the NeXus writer module ") + kNexusModule + ":" + errors;
    throw std::runtime_error(why);
}

}  // namespace

std::unique_ptr<NexusWriter> NexusWriter::open(const Options& opt, const Experiment& first) {
    // HDF5 loads the filter plugins while it looks for bitshuffle, and
    // Debian's bitshuffle and LZF plugins are built with -ffast-math: loading
    // one sets flush-to-zero and denormals-are-zero in this thread (threads
    // started later inherit them), so a Python session's NumPy lost its
    // subnormals. The thread's floating-point environment is put back.
    std::fenv_t env;
    std::fegetenv(&env);
    struct Restore {
        const std::fenv_t& env;
        ~Restore() { std::fesetenv(&env); }
    } restore{env};
    return std::unique_ptr<NexusWriter>(load_module()(&opt, &first));
}

}  // namespace nb
