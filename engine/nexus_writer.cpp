#include "engine/nexus_writer.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <stdexcept>

#include "engine/build_info.hpp"

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
    return o;
}

namespace {

// The module beside the program that holds this code (an executable in bin/ or
// the Python module): ../lib/ as built and as installed, then the same folder,
// then the loader's own search (LD_LIBRARY_PATH). NB_NEXUS_MODULE names it
// outright.
NexusOpenFn load_module() {
    static NexusOpenFn fn = nullptr;
    static std::string why;
    if (fn) return fn;
    if (!why.empty()) throw std::runtime_error(why);
    std::vector<std::string> tries;
    if (const char* env = std::getenv("NB_NEXUS_MODULE")) {
        tries.push_back(env);
    } else {
        Dl_info info{};
        if (dladdr((void*)&load_module, &info) && info.dli_fname) {
            std::string dir = info.dli_fname;
            const size_t slash = dir.find_last_of('/');
            dir = slash == std::string::npos ? "." : dir.substr(0, slash);
            tries.push_back(dir + "/../lib/" + kNexusModule);
            tries.push_back(dir + "/" + kNexusModule);
        }
        tries.push_back(kNexusModule);
    }
    std::string errors;
    for (const std::string& path : tries) {
        void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            const char* e = dlerror();
            errors += (errors.empty() ? " " : "; ") + (e ? std::string(e) : path);
            continue;
        }
        fn = reinterpret_cast<NexusOpenFn>(dlsym(handle, kNexusOpenSymbol));
        if (fn) return fn;
        errors += (errors.empty() ? " " : "; ") + path + ": no " + kNexusOpenSymbol;
    }
    why = std::string("-nexusfile: cannot load the NeXus writer module ") + kNexusModule + ":" + errors;
    throw std::runtime_error(why);
}

}  // namespace

std::unique_ptr<NexusWriter> NexusWriter::open(const Options& opt, const Experiment& first) {
    return std::unique_ptr<NexusWriter>(load_module()(&opt, &first));
}

}  // namespace nb
