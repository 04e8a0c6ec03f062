#include "engine/module_loader.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <vector>

namespace nb {

void* open_module(const std::string& file, const char* env, int dlopen_flags, std::string& errors) {
    std::vector<std::string> tries;
    if (const char* path = env ? std::getenv(env) : nullptr) {
        tries.push_back(path);
    } else {
        Dl_info info{};
        if (dladdr((void*)&open_module, &info) && info.dli_fname) {
            std::string dir = info.dli_fname;
            const size_t slash = dir.find_last_of('/');
            dir = slash == std::string::npos ? "." : dir.substr(0, slash);
            tries.push_back(dir + "/../lib/" + file);
            tries.push_back(dir + "/" + file);
        }
        tries.push_back(file);
    }
    for (const std::string& path : tries) {
        if (void* handle = dlopen(path.c_str(), dlopen_flags)) return handle;
        const char* e = dlerror();
        errors += (errors.empty() ? " " : "; ") + (e ? std::string(e) : path);
    }
    return nullptr;
}

}  // namespace nb
