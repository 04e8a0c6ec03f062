#include "engine/module_loader.hpp"

#include <dlfcn.h>

#include <stdlib.h>

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
            // dladdr names the main program as it was started: a bare name
            // when found through PATH, a symlink's own folder when started
            // through one; its real file is where lib/ is found
            std::string object = info.dli_fname;
            if (object.find('/') == std::string::npos) object = "/proc/self/exe";
            if (char* real = ::realpath(object.c_str(), nullptr)) {
                object = real;
                std::free(real);
            }
            const size_t slash = object.find_last_of('/');
            const std::string dir = slash == std::string::npos ? "." : object.substr(0, slash);
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
