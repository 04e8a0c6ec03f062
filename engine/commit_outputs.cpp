// Writing a frame's files: each to a temporary name beside its target, then
// all renamed at once, so that a failed run leaves no half-written image and
// replaces none.
#include <fcntl.h>
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "engine/image_io.hpp"
#include "engine/interrupt_cleanup.hpp"

namespace nb {

namespace {

// Rows converted and written at a time: about 512 KB, in cache while
// converted, in few system calls.
int rows_per_block(const RowFile& rf) {
    return (int)std::max<size_t>(1, ((size_t)1 << 19) / std::max<size_t>(rf.row_bytes, 1));
}

// Writes one file to its temporary name; "" or what went wrong.
std::string write_temp(const OutputFile& f, const std::string& tmp) {
    FILE* fh = std::fopen(tmp.c_str(), "wb");
    if (!fh) return f.flag + ": cannot write '" + f.path + "': " + std::strerror(errno);
    try {
        f.write(fh);
    } catch (const std::exception& ex) {
        std::fclose(fh);
        return f.flag + ": failed writing '" + f.path + "': " + ex.what();
    }
    if (std::fclose(fh) != 0) return f.flag + ": failed writing '" + f.path + "' (disk full?)";
    return "";
}

void pwrite_all(int fd, const void* data, size_t bytes, off_t at) {
    const char* p = static_cast<const char*>(data);
    while (bytes > 0) {
        const ssize_t n = ::pwrite(fd, p, bytes, at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error(n < 0 ? std::strerror(errno) : "write failed (disk full?)");
        p += n, bytes -= (size_t)n, at += n;
    }
}

// The row files (`which`) at once on the run's threads: every block of rows
// of every file is a task that fills its bytes and writes them at their
// offset. Blocks of different files alternate, so that the threads copy into
// different files' page caches (one file's writes take its lock in turn).
// One team and no writer threads: on a 2-core machine, threads of their own
// had the files' conversions, the noise image and spinning OpenMP workers
// competing for the cores.
void write_row_files(const std::vector<OutputFile>& files, const std::vector<std::string>& temps,
                     const std::vector<size_t>& which, std::vector<std::string>& errors) {
    std::vector<int> fds(files.size(), -1);
    struct Task {
        size_t file;
        int r0, n;
    };
    std::vector<Task> tasks;
    size_t scratch_bytes = 0;
    std::vector<std::vector<Task>> per_file;
    for (size_t i : which) {
        const RowFile& rf = *files[i].rows;
        fds[i] = ::open(temps[i].c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fds[i] < 0) {
            errors[i] = files[i].flag + ": cannot write '" + files[i].path + "': " + std::strerror(errno);
            continue;
        }
        const int block = rows_per_block(rf);
        std::vector<Task> t;
        for (int r0 = 0; r0 < rf.rows; r0 += block) t.push_back({i, r0, std::min(block, rf.rows - r0)});
        per_file.push_back(std::move(t));
        scratch_bytes = std::max(scratch_bytes, (size_t)block * rf.row_bytes);
    }
    for (size_t k = 0;; ++k) {
        bool any = false;
        for (const auto& t : per_file)
            if (k < t.size()) tasks.push_back(t[k]), any = true;
        if (!any) break;
    }
    const int threads = std::max(1, std::min(4, omp_get_max_threads()));
#pragma omp parallel num_threads(threads)
    {
        std::vector<char> scratch(scratch_bytes);
#pragma omp for schedule(dynamic, 1)
        for (size_t k = 0; k < tasks.size(); ++k) {
            const Task& t = tasks[k];
            const RowFile& rf = *files[t.file].rows;
            try {
                if (t.r0 == 0) pwrite_all(fds[t.file], rf.header.data(), rf.header.size(), 0);
                const void* bytes = rf.rows_at(t.r0, t.n, scratch.data());
                pwrite_all(fds[t.file], bytes, (size_t)t.n * rf.row_bytes,
                           (off_t)(rf.header.size() + (size_t)t.r0 * rf.row_bytes));
            } catch (const std::exception& ex) {
#pragma omp critical(nb_row_file_errors)
                if (errors[t.file].empty())
                    errors[t.file] = files[t.file].flag + ": failed writing '" + files[t.file].path + "': " + ex.what();
            }
        }
    }
    for (size_t i : which)
        if (fds[i] >= 0 && ::close(fds[i]) != 0 && errors[i].empty())
            errors[i] = files[i].flag + ": failed writing '" + files[i].path + "' (disk full?)";
}

// A stream stays open once opened, until the run ends (close_output_streams):
// a series' frames follow one another in one pipe (a reader would see its end
// after the first frame, and the next open would wait for a reader that has gone).
std::mutex open_streams_mutex;
std::map<std::string, std::unique_ptr<std::FILE, int (*)(std::FILE*)>> open_streams;

std::FILE* open_stream(const std::string& path) {
    std::lock_guard<std::mutex> lock(open_streams_mutex);
    auto& open = open_streams;
    auto it = open.find(path);
    if (it != open.end()) return it->second.get();
    std::FILE* fh = std::fopen(path.c_str(), "wb");
    if (fh) open.emplace(path, std::unique_ptr<std::FILE, int (*)(std::FILE*)>(fh, std::fclose));
    return fh;
}

// A stream target's bytes in file order (a pipe cannot seek), at commit.
std::string write_stream(const OutputFile& f) {
    std::FILE* fh = open_stream(f.path);
    if (!fh) return f.flag + ": cannot write '" + f.path + "': " + std::strerror(errno);
    try {
        if (f.rows) {
            const RowFile& rf = *f.rows;
            const int block = rows_per_block(rf);
            std::vector<char> scratch((size_t)block * rf.row_bytes);
            if (std::fwrite(rf.header.data(), 1, rf.header.size(), fh) != rf.header.size())
                throw std::runtime_error(std::strerror(errno));
            for (int r0 = 0; r0 < rf.rows; r0 += block) {
                const int n = std::min(block, rf.rows - r0);
                const size_t bytes = (size_t)n * rf.row_bytes;
                if (std::fwrite(rf.rows_at(r0, n, scratch.data()), 1, bytes, fh) != bytes)
                    throw std::runtime_error(std::strerror(errno));
            }
        } else {
            f.write(fh);
        }
    } catch (const std::exception& ex) {
        return f.flag + ": failed writing '" + f.path + "': " + ex.what();
    }
    if (std::fflush(fh) != 0) return f.flag + ": failed writing '" + f.path + "': " + std::strerror(errno);
    return "";
}

}  // namespace

void close_output_streams() {
    std::lock_guard<std::mutex> lock(open_streams_mutex);
    open_streams.clear();
}

OutputFile row_output(std::string path, std::string flag, std::shared_ptr<const RowFile> rows, bool needs_noise) {
    OutputFile f;
    f.path = std::move(path);
    f.flag = std::move(flag);
    f.needs_noise = needs_noise;
    f.rows = std::move(rows);
    return f;
}

StagedOutputs::StagedOutputs(StagedOutputs&& o) noexcept
    : temps_(std::move(o.temps_)),
      paths_(std::move(o.paths_)),
      flags_(std::move(o.flags_)),
      streams_(std::move(o.streams_)) {
    o.temps_.clear();
    o.streams_.clear();
}

StagedOutputs& StagedOutputs::operator=(StagedOutputs&& o) noexcept {
    if (this != &o) {
        remove_temporaries();
        temps_ = std::move(o.temps_);
        paths_ = std::move(o.paths_);
        flags_ = std::move(o.flags_);
        streams_ = std::move(o.streams_);
        o.temps_.clear();
        o.streams_.clear();
    }
    return *this;
}

std::string file_identity(const std::string& path) {
    std::error_code ec;
    const std::filesystem::path p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
    return ec ? path : p.string();
}

bool same_file(const std::string& a, const std::string& b) {
    if (a == b) return true;
    std::error_code ec;
    if (std::filesystem::equivalent(a, b, ec) && !ec) return true;  // hard links too
    return file_identity(a) == file_identity(b);
}

bool is_stream_target(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode));
}

void check_output_target(const std::string& path, const std::string& flag, bool stream_ok) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path p(path);
    if (fs::is_directory(p, ec)) throw std::runtime_error(flag + ": '" + path + "' is a folder, not a file");
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        const bool stream = S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode);
        if (stream && stream_ok) return;
        throw std::runtime_error(flag + ": '" + path + "' is " +
                                 (S_ISBLK(st.st_mode) ? "a block device"
                                  : stream            ? "a device or pipe, which this output cannot be written to"
                                                      : "not a regular file") +
                                 ": give a file name");
    }
    if (p.filename().string().size() > 255)
        throw std::runtime_error(flag + ": '" + path + "': the file name is " +
                                 std::to_string(p.filename().string().size()) + " bytes long (at most 255)");
    // as C's fopen: a file this user may not write is not replaced
    if (::access(path.c_str(), F_OK) == 0 && ::access(path.c_str(), W_OK) != 0)
        throw std::runtime_error(flag + ": cannot write '" + path + "': " + std::strerror(errno));
    const fs::path target(output_link_target(path));  // a link's file is the one written
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    if (fs::is_directory(dir, ec)) return;
    throw std::runtime_error(flag + ": cannot create '" + path + "': '" + dir.string() + "' " +
                             (fs::exists(dir, ec) ? "is not a folder" : "does not exist"));
}

StagedOutputs::~StagedOutputs() { remove_temporaries(); }

void StagedOutputs::remove_temporaries() noexcept {
    for (const auto& t : temps_) {
        std::remove(t.c_str());
        untrack_temporary(t);
    }
    temps_.clear();
}

void StagedOutputs::commit() {
    // every target first: a rename that fails after others would leave a
    // frame's files half in place
    for (size_t i = 0; i < temps_.size(); ++i) {
        try {
            check_output_target(paths_[i], flags_[i]);
        } catch (...) {
            remove_temporaries();
            throw;
        }
    }
    for (size_t i = 0; i < temps_.size(); ++i) {
        if (std::rename(temps_[i].c_str(), paths_[i].c_str()) != 0) {
            const std::string why = std::strerror(errno);
            remove_temporaries();
            throw std::runtime_error(flags_[i] + ": cannot create '" + paths_[i] + "': " + why);
        }
    }
    for (const auto& t : temps_) untrack_temporary(t);
    temps_.clear();
    std::vector<OutputFile> streams = std::move(streams_);
    streams_.clear();
    for (const OutputFile& f : streams)
        if (const std::string err = write_stream(f); !err.empty()) throw std::runtime_error(err);
}

StagedOutputs stage_outputs(const std::vector<OutputFile>& files, const std::function<void()>& make_noise) {
    for (size_t i = 0; i < files.size(); ++i)
        for (size_t j = 0; j < i; ++j)
            if (same_output_file(files[i].path, files[j].path))
                throw std::runtime_error(files[i].flag + ": '" + files[i].path + "' is also the " + files[j].flag +
                                         " file: give each output its own name");
    for (const auto& f : files) check_output_target(f.path, f.flag);
    // a name of this process and this staging: two frames staged at once may
    // name the same target
    static std::atomic<unsigned long long> stagings{0};
    const std::string suffix = ".partial." + std::to_string(::getpid()) + "." + std::to_string(stagings++);
    StagedOutputs staged;
    // the streams are written at commit; the files here, to temporary names
    std::vector<OutputFile> staged_files;
    for (const auto& f : files) (is_stream_target(f.path) ? staged.streams_ : staged_files).push_back(f);
    const std::vector<OutputFile>& files_here = staged_files;
    std::vector<std::string> errors(files_here.size());
    for (const auto& f : files_here) {
        const std::string target = output_link_target(f.path);  // a link stays a link
        staged.temps_.push_back(temporary_name(target, suffix));
        track_temporary(staged.temps_.back());
        staged.paths_.push_back(target);
        staged.flags_.push_back(f.flag);
    }
    const std::vector<std::string>& temps = staged.temps_;
    // Files other than the row formats (CBF, PNG) each on a thread of its
    // own, at once (the writers only read the frame); the noise image is
    // drawn meanwhile, here, and the files made from it start when it is
    // there. Then the row files on the run's threads.
    std::vector<std::future<void>> writers;
    auto start = [&](size_t i) {
        writers.push_back(
            std::async(std::launch::async, [&, i]() { errors[i] = write_temp(files_here[i], temps[i]); }));
    };
    for (size_t i = 0; i < files_here.size(); ++i)
        if (!files_here[i].rows && (!make_noise || !files_here[i].needs_noise)) start(i);
    if (make_noise) {
        try {
            make_noise();
        } catch (...) {
            for (auto& w : writers) w.wait();
            throw;  // `staged` removes the temporaries
        }
        for (size_t i = 0; i < files_here.size(); ++i)
            if (!files_here[i].rows && files_here[i].needs_noise) start(i);
    }
    std::vector<size_t> row_files;
    for (size_t i = 0; i < files_here.size(); ++i)
        if (files_here[i].rows) row_files.push_back(i);
    if (!row_files.empty()) write_row_files(files_here, temps, row_files, errors);
    for (auto& w : writers) w.get();
    for (const auto& err : errors)
        if (!err.empty()) throw std::runtime_error(err);
    return staged;
}

void commit_outputs(const std::vector<OutputFile>& files, const std::function<void()>& make_noise) {
    stage_outputs(files, make_noise).commit();
}

}  // namespace nb
