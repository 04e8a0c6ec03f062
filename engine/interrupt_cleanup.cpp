#include "engine/interrupt_cleanup.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

namespace nb {

namespace {

std::mutex& registry_mutex() {
    static std::mutex m;
    return m;
}

std::multiset<std::string>& registry() {
    static std::multiset<std::string> paths;
    return paths;
}

sigset_t stop_signals() {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGHUP);
    return s;
}

}  // namespace

void track_temporary(const std::string& path) {
    std::lock_guard<std::mutex> lock(registry_mutex());
    registry().insert(path);
}

void untrack_temporary(const std::string& path) {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto it = registry().find(path);
    if (it != registry().end()) registry().erase(it);
}

void track_temporary_c(const char* path, bool written) {
    if (written)
        track_temporary(path);
    else
        untrack_temporary(path);
}

void remove_temporaries_on_stop_signals() {
    static std::once_flag once;
    std::call_once(once, [] {
        // blocked here, so in every thread started after: only the waiter takes them
        sigset_t s = stop_signals();
        if (pthread_sigmask(SIG_BLOCK, &s, nullptr) != 0) return;
        std::thread([] {
            sigset_t set = stop_signals();
            int sig = 0;
            if (sigwait(&set, &sig) != 0) return;
            {
                // held to the end: no temporary is made or renamed meanwhile
                registry_mutex().lock();
                for (const std::string& p : registry()) ::unlink(p.c_str());
            }
            std::fflush(stdout);
            signal(sig, SIG_DFL);
            sigset_t one;
            sigemptyset(&one);
            sigaddset(&one, sig);
            pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
            raise(sig);
            _exit(128 + sig);  // not reached: the default action ends the process
        }).detach();
    });
}

}  // namespace nb
