// Runs the nanoBragg CLI as a child process (no shell) in a given folder,
// capturing stdout and stderr, with a time limit. Shared by the CLI tests.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace nbtest {

// The programs under test and the golden data: the environment's value (the
// GPU bundle runs the tests away from the build tree), else the build's
// (tests/CMakeLists.txt), else a name on PATH.
#ifndef NB_CLI_PATH
#define NB_CLI_PATH "nanoBragg"
#endif
#ifndef NB_NOISIFY_PATH
#define NB_NOISIFY_PATH "noisify"
#endif
#ifndef NB_NONBRAGG_PATH
#define NB_NONBRAGG_PATH "nonBragg"
#endif
#ifndef NB_COMPARE_PATH
#define NB_COMPARE_PATH "nb-compare"
#endif
#ifndef NB_GOLDEN_DIR
#define NB_GOLDEN_DIR "tests/golden"
#endif

inline std::string env_or(const char* var, const char* fallback) {
    const char* e = std::getenv(var);
    return e ? e : fallback;
}
inline std::string cli_path() { return env_or("NB_CLI_PATH", NB_CLI_PATH); }
inline std::string noisify_path() { return env_or("NB_NOISIFY_PATH", NB_NOISIFY_PATH); }
inline std::string nonbragg_path() { return env_or("NB_NONBRAGG_PATH", NB_NONBRAGG_PATH); }
inline std::string compare_path() { return env_or("NB_COMPARE_PATH", NB_COMPARE_PATH); }
inline std::string bench_path() { return env_or("NB_BENCH_PATH", NB_BENCH_PATH); }
inline std::string golden_dir() { return env_or("NB_GOLDEN_DIR", NB_GOLDEN_DIR); }

// A file's bytes, or "" when it cannot be read. The golden suites keep C's
// images gzip-compressed (tests/golden/README.md): a path that is not there
// is read from path + ".gz", so that tests name C's files as C wrote them.
inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (in) return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string packed = path + ".gz";
    if (!std::filesystem::exists(packed)) return {};
    gzFile gz = gzopen(packed.c_str(), "rb");
    if (!gz) throw std::runtime_error(packed + ": cannot open");
    std::string out;
    std::vector<char> buf(1 << 20);
    int n;
    while ((n = gzread(gz, buf.data(), (unsigned)buf.size())) > 0) out.append(buf.data(), (size_t)n);
    // gzclose says Z_BUF_ERROR when the data ended inside the stream (a cut file)
    const int closed = gzclose(gz);
    if (n < 0 || closed != Z_OK) throw std::runtime_error(packed + ": damaged gzip data");
    return out;
}

// Whether read_file finds the file (as itself or gzip-compressed).
inline bool file_exists(const std::string& path) {
    return std::filesystem::exists(path) || std::filesystem::exists(path + ".gz");
}

inline std::vector<std::string> split_ws(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> out;
    std::string tok;
    while (in >> tok) out.push_back(tok);
    return out;
}

// A fresh, uniquely named folder removed when the object goes away.
struct TempDir {
    std::filesystem::path path;
    bool keep = false;
    explicit TempDir(const std::string& tag) {
        std::string tmpl = (std::filesystem::temp_directory_path() / ("nb_" + tag + "_XXXXXX")).string();
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
        path = buf.data();
    }
    ~TempDir() {
        std::error_code ec;
        if (!keep) std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

struct RunResult {
    int exit_code = -1;  // -1: killed or did not exit normally
    bool timed_out = false;
    std::string out, err;
};

// `env`: variables set for the program alone (OMP_NUM_THREADS, ...)
inline RunResult run_cli(const std::vector<std::string>& args, const std::string& workdir, int timeout_s = 600,
                         const std::string& binary = cli_path(),
                         const std::vector<std::pair<std::string, std::string>>& env = {}) {
    RunResult r;
    std::string out_path = workdir + "/stdout.txt", err_path = workdir + "/stderr.txt";
    pid_t pid = ::fork();
    if (pid == 0) {
        if (::chdir(workdir.c_str()) != 0) ::_exit(126);
        int o = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0) ::_exit(126);
        ::dup2(o, 1);
        ::dup2(e, 2);
        for (const auto& kv : env) ::setenv(kv.first.c_str(), kv.second.c_str(), 1);
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(binary.c_str()));
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    auto start = std::chrono::steady_clock::now();
    int status = 0;
    for (;;) {
        pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (std::chrono::steady_clock::now() - start > std::chrono::seconds(timeout_s)) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            r.timed_out = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!r.timed_out && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    r.out = read_file(out_path);
    r.err = read_file(err_path);
    return r;
}

}  // namespace nbtest
