// nb-bench: fixed workloads, warm-up plus repeated runs (median), evaluations
// per second and peak memory, for our nanoBragg and optionally a reference
// nanoBragg-compatible binary run the same way. Writes JSON and a markdown
// table. Each run is a separate process in a fresh folder, so peak memory is
// the child's maximum resident set size.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Workload {
    std::string name;
    std::string args;  // {in} = golden inputs folder
    std::string what;
};

// Each workload takes at least about 1 s in C nanoBragg at 2 threads, so that
// process start and file output do not dominate (issue 11).
std::vector<Workload> workloads() {
    const std::string cubic = "-cell 100 100 100 90 90 90 -default_F 100 ";
    const std::string lyso = "-cell 79.1 79.1 38.4 90 90 90 -hkl {in}/lyso.hkl -misset 10 20 30 -lambda 1.0 ";
    return {
        {"cubic_4096", cubic + "-lambda 6.2 -N 5 -detpixels 4096 -distance 100 -oversample 1 -seed 12345",
         "golden cubic_1024 at 4096x4096, one evaluation per pixel"},
        {"lyso_tricubic_4096", lyso + "-N 2 -detpixels 4096 -distance 600 -oversample 1 -interpolate",
         "lyso.hkl, N 2, 4096x4096, one evaluation per pixel, tricubic interpolation everywhere (at 600 mm every "
         "neighbourhood lies inside the grid; closer, C switches it off at the first pixel)"},
        {"still_2048", lyso + "-N 10 -detpixels 2048 -pixel 0.075 -distance 200 -oversample 1 -nointerpolate",
         "still: lyso.hkl, one mosaic domain, one phi step, 2048x2048, nearest F"},
        {"divergence_dispersion",
         cubic + "-lambda 1 -N 5 -dispersion 0.1 -dispsteps 3 -distance 100 -detpixels 512 -pixel 0.1 -oversample 1 "
                 "-hdivrange 0.28 -hdivstep 0.01 -vdivrange 0.28 -vdivstep 0.01 -fluence 1e24",
         "3 wavelengths x elliptical divergence grid (about 2000 sources), 512x512"},
        {"mosaic_50_oversample",
         cubic + "-lambda 1.0 -N 10 -detpixels 512 -distance 100 -mosaic 0.5 -mosaic_dom 50 -oversample 3",
         "golden case: 50 mosaic domains, 3x3 oversampling"},
        {"integration",
         "-cell 70 80 90 75 85 95 -default_F 100 -N 5 -mosaic 0.5 -mosaic_dom 5 -phi 0 -osc 90 -phisteps 9 "
         "-detector_rotx 5 -detector_roty 3 -detector_rotz 2 -twotheta 10 -detector_abs 500 -detector_thick 450 "
         "-thicksteps 5 -polar 0.95 -detpixels 512 -pixel 0.1 -distance 100 -oversample 1 -lambda 1.0 -seed 42 "
         "-mosaic_seed 4242",
         "golden case: phi sweep, mosaic, rotated detector, 5 sensor layers"},
        {"lyso_2048_realistic",
         lyso + "-N 20 -detpixels 2048 -pixel 0.075 -distance 200 -mosaic 0.05 -mosaic_dom 30 "
                "-oversample 2",
         "lyso.hkl, 2048x2048 x 0.075 mm, N 20, 30 mosaic domains over 0.05 deg, oversample 2"},
    };
}

// What a failed run said: its "error:" line, else its last line.
std::string last_line(const std::string& out) {
    if (size_t e = out.find("error: "); e != std::string::npos) {
        const size_t start = out.rfind('\n', e);
        const size_t from = start == std::string::npos ? 0 : start + 1;
        return out.substr(from, out.find('\n', e) - from);
    }
    size_t end = out.find_last_not_of("\n ");
    if (end == std::string::npos) return "(no output)";
    size_t start = out.rfind('\n', end);
    return out.substr(start == std::string::npos ? 0 : start + 1,
                      end - (start == std::string::npos ? 0 : start + 1) + 1);
}

struct Run {
    double seconds = 0;
    double cpu_seconds = 0;  // user + system time of the process, every thread
    long peak_kb = 0;
    int status = -1;
    std::string out;
};

std::string read_file(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> split(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> v;
    std::string t;
    while (in >> t) v.push_back(t);
    return v;
}

Run run_once(const std::string& binary, const std::vector<std::string>& args, int threads) {
    fs::path dir = fs::temp_directory_path() / ("nb_bench_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    Run r;
    auto start = std::chrono::steady_clock::now();
    pid_t pid = ::fork();
    if (pid == 0) {
        if (::chdir(dir.c_str()) != 0) ::_exit(126);
        int o = ::open("stdout.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(o, 1);
        ::dup2(o, 2);
        ::setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
        std::vector<char*> argv{const_cast<char*>(binary.c_str())};
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    int status = 0;
    struct rusage ru {};
    ::wait4(pid, &status, 0, &ru);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.peak_kb = ru.ru_maxrss;
    r.cpu_seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_file((dir / "stdout.txt").string());
    fs::remove_all(dir);
    return r;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

long long evaluations_of(const std::string& out) {
    size_t p = out.find("evaluations: ");
    return p == std::string::npos ? 0 : std::atoll(out.c_str() + p + 13);
}

std::string value_after(const std::string& out, const std::string& key) {
    size_t p = out.find(key);
    if (p == std::string::npos) return "";
    size_t e = out.find('\n', p);
    return out.substr(p + key.size(), e - p - key.size());
}

struct Result {
    std::string workload, binary, label, precision, backend, image;
    int threads = 0, repeats = 0;
    long long evaluations = 0;
    double seconds = 0, cpu_seconds = 0, evals_per_s = 0, ratio = 0;
    double kernel_ms = -1;    // GPU runs: the render kernels' time the program printed (median)
    double kernel_ratio = 0;  // reference: its wall time over our double kernel time
    long peak_mb = 0;
    bool ok = true;
};

void usage() {
    std::puts(
        "usage: nb-bench [--nanobragg PATH] [--reference PATH] [--threads N] [--repeats R] [--warmup W]\n"
        "                [--precision double,float] [--device cpu|cuda] [--workloads a,b,...] [--golden DIR]\n"
        "                [--out PREFIX] [--series N] [--list]\n"
        "Runs each workload W times to warm up (default 1), then R times (default 3), and reports the median.\n"
        "--reference runs another nanoBragg-compatible binary on the same command lines with\n"
        "OMP_NUM_THREADS=N and adds the speed ratio. Writes PREFIX.json and PREFIX.md\n"
        "(default reports/bench-<UTC date>).\n"
        "--series N also times an N-frame rotation series in one process against N separate runs.\n"
        "--list prints each workload's name and command line (tab-separated) and exits.");
}

}  // namespace

int main(int argc, char** argv) {
    std::string self = fs::canonical("/proc/self/exe").parent_path().string();
    std::string ours = self + "/nanoBragg", reference, golden, device = "cpu";
    std::string precisions = "double", only;
    int series = 0;
    bool list_only = false;  // --list: print each workload's name and command line, run nothing
    int threads = (int)std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)), repeats = 3, warmup = 1;
    char date[32];
    std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
    std::string out_prefix = std::string("reports/bench-") + date;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "nb-bench: %s needs a value\n", a.c_str());
                std::exit(1);
            }
            return argv[++i];
        };
        if (a == "--nanobragg")
            ours = next();
        else if (a == "--reference")
            reference = next();
        else if (a == "--threads")
            threads = std::atoi(next().c_str());
        else if (a == "--repeats")
            repeats = std::max(1, std::atoi(next().c_str()));
        else if (a == "--warmup")
            warmup = std::max(0, std::atoi(next().c_str()));
        else if (a == "--precision")
            precisions = next();
        else if (a == "--device")
            device = next();
        else if (a == "--workloads")
            only = next();
        else if (a == "--golden")
            golden = next();
        else if (a == "--out")
            out_prefix = next();
        else if (a == "--series")
            series = std::atoi(next().c_str());
        else if (a == "--list")
            list_only = true;
        else if (a == "-h" || a == "--help") {
            usage();
            return 0;
        } else {
            std::fprintf(stderr, "nb-bench: unknown option %s\n", a.c_str());
            usage();
            return 1;
        }
    }
    if (golden.empty()) golden = self + "/../../tests/golden";
    if (!fs::exists(golden + "/inputs/lyso.hkl")) {
        std::fprintf(stderr, "nb-bench: golden inputs not found under %s (use --golden DIR)\n", golden.c_str());
        return 1;
    }
    golden = fs::canonical(golden).string();
    if (list_only) {
        for (const Workload& w : workloads()) {
            std::string args = w.args;
            for (size_t p; (p = args.find("{in}")) != std::string::npos;) args.replace(p, 4, golden + "/inputs");
            std::printf("%s\t%s\n", w.name.c_str(), args.c_str());
        }
        return 0;
    }
    std::vector<Result> results;
    for (const Workload& w : workloads()) {
        if (!only.empty() && ("," + only + ",").find("," + w.name + ",") == std::string::npos) continue;
        std::string args = w.args;
        for (size_t p; (p = args.find("{in}")) != std::string::npos;) args.replace(p, 4, golden + "/inputs");
        std::vector<std::string> base = split(args);
        base.insert(base.end(), {"-floatfile", "out.bin", "-nonoise", "-nopgm", "-intfile", "out.img"});
        std::vector<std::pair<std::string, std::vector<std::string>>> runs;
        std::replace(only.begin(), only.end(), ' ', ',');
        std::string prec_list = precisions;
        std::replace(prec_list.begin(), prec_list.end(), ',', ' ');
        for (const std::string& prec : split(prec_list)) {
            std::vector<std::string> a = base;
            a.insert(a.end(), {"-precision", prec, "-device", device, "-threads", std::to_string(threads)});
            runs.push_back({prec, a});
        }
        long long evals = 0;
        double our_double_s = 0, our_double_kernel_ms = -1;
        for (auto& [prec, a] : runs) {
            Result r;
            r.workload = w.name;
            r.binary = ours;
            r.label = "ours";
            r.precision = prec;
            r.threads = threads;
            r.repeats = repeats;
            for (int k = 0; k < warmup; ++k) run_once(ours, a, threads);
            std::vector<double> t, cpu, kms;
            long peak = 0;
            std::string out;
            for (int k = 0; k < repeats; ++k) {
                Run x = run_once(ours, a, threads);
                if (x.status != 0) r.ok = false;
                if (std::string v = value_after(x.out, "(render kernels "); !v.empty())
                    kms.push_back(std::atof(v.c_str()));
                t.push_back(x.seconds);
                cpu.push_back(x.cpu_seconds);
                peak = std::max(peak, x.peak_kb);
                out = x.out;
            }
            r.seconds = median(t);
            r.cpu_seconds = median(cpu);
            r.evaluations = evals = evaluations_of(out);
            r.evals_per_s = r.seconds > 0 ? r.evaluations / r.seconds : 0;
            r.peak_mb = peak / 1024;
            r.backend = value_after(out, "rendered on ");
            r.backend = r.backend.substr(0, r.backend.find(" ("));
            if (!kms.empty()) r.kernel_ms = median(kms);
            size_t px = out.find(" pixels)");
            size_t open = px == std::string::npos ? std::string::npos : out.rfind('(', px);
            r.image = open == std::string::npos ? "" : out.substr(open + 1, px - open - 1);
            if (prec == "double") {
                our_double_s = r.seconds;
                our_double_kernel_ms = r.kernel_ms;
            }
            if (!r.ok) {  // a failed run is no measurement: say so, with what it printed last
                r.evals_per_s = 0;
                std::printf("%-24s %-8s %-6s %2d thr  FAILED: %s\n", w.name.c_str(), "ours", prec.c_str(), threads,
                            last_line(out).c_str());
            } else {
                std::printf("%-24s %-8s %-6s %2d thr  %9.3f s  %10.3g eval/s  %6ld MB  %s\n", w.name.c_str(), "ours",
                            prec.c_str(), threads, r.seconds, r.evals_per_s, r.peak_mb, r.backend.c_str());
            }
            if (prec == "double" && !r.ok) our_double_s = 0;
            std::fflush(stdout);
            results.push_back(r);
        }
        if (!reference.empty()) {
            Result r;
            r.workload = w.name;
            r.binary = reference;
            r.label = "reference";
            r.precision = "double";
            r.threads = threads;
            r.repeats = repeats;
            for (int k = 0; k < warmup; ++k) run_once(reference, base, threads);
            std::vector<double> t, cpu;
            long peak = 0;
            for (int k = 0; k < repeats; ++k) {
                Run x = run_once(reference, base, threads);
                if (x.status != 0) r.ok = false;
                t.push_back(x.seconds);
                cpu.push_back(x.cpu_seconds);
                peak = std::max(peak, x.peak_kb);
            }
            r.seconds = median(t);
            r.cpu_seconds = median(cpu);
            r.evaluations = evals;
            r.evals_per_s = r.seconds > 0 ? evals / r.seconds : 0;
            r.peak_mb = peak / 1024;
            r.backend = "OMP_NUM_THREADS=" + std::to_string(threads);
            r.ratio = our_double_s > 0 && r.ok ? r.seconds / our_double_s : 0;
            r.kernel_ratio = our_double_kernel_ms > 0 && r.ok ? r.seconds / (our_double_kernel_ms / 1000) : 0;
            if (!r.ok) {
                r.evals_per_s = 0;
                std::printf("%-24s %-8s %-6s %2d thr  FAILED (the reference program did not run: %s)\n", w.name.c_str(),
                            "ref", "double", threads, reference.c_str());
            } else {
                std::printf("%-24s %-8s %-6s %2d thr  %9.3f s  %10.3g eval/s  %6ld MB  ours is %.2fx faster\n",
                            w.name.c_str(), "ref", "double", threads, r.seconds, r.evals_per_s, r.peak_mb, r.ratio);
            }
            std::fflush(stdout);
            results.push_back(r);
        }
    }

    // rotation series: one process for N frames against N processes
    double series_one = 0, series_many = 0;
    std::string series_args;
    if (series > 0) {
        series_args = "-cell 79.1 79.1 38.4 90 90 90 -hkl " + golden +
                      "/inputs/lyso.hkl -misset 10 20 30 -lambda 1.0 -N 10 -detpixels 512 -pixel 0.2 -distance 150 "
                      "-oversample 1 -osc 1 -seed 1 -nopgm -device " +
                      device + " -threads " + std::to_string(threads);
        std::vector<std::string> one = split(series_args);
        one.insert(one.end(), {"-nframes", std::to_string(series), "-floatfile", "f_%04d.bin", "-intfile", "i_%04d.img",
                               "-noisefile", "n_%04d.img"});
        run_once(ours, one, threads);  // warm-up
        Run r1 = run_once(ours, one, threads);
        series_one = r1.seconds;
        auto t0 = std::chrono::steady_clock::now();
        for (int k = 0; k < series; ++k) {
            std::vector<std::string> a = split(series_args);
            a.insert(a.end(), {"-phi", std::to_string(k * 1.0), "-seed", std::to_string(1 + k), "-floatfile", "f.bin",
                               "-intfile", "i.img", "-noisefile", "n.img"});
            run_once(ours, a, threads);
        }
        series_many = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf(
            "series: %d frames in one process %.3f s (%.2f frames/s); %d separate runs %.3f s (%.2f frames/s)\n",
            series, series_one, series / series_one, series, series_many, series / series_many);
    }

    fs::create_directories(fs::path(out_prefix).parent_path().empty() ? "." : fs::path(out_prefix).parent_path());
    nlohmann::ordered_json js = {{"date", date}, {"threads", threads}, {"repeats", repeats}};
    js["results"] = nlohmann::ordered_json::array();
    for (const Result& r : results) {
        nlohmann::ordered_json row = {{"workload", r.workload},
                                      {"program", r.label},
                                      {"binary", r.binary},
                                      {"backend", r.backend},
                                      {"precision", r.precision},
                                      {"threads", r.threads},
                                      {"image", r.image},
                                      {"evaluations", r.evaluations},
                                      {"seconds_median", r.seconds},
                                      {"cpu_seconds_median", r.cpu_seconds},
                                      {"evaluations_per_second", r.evals_per_s},
                                      {"peak_memory_mb", r.peak_mb},
                                      {"ok", r.ok}};
        if (r.kernel_ms >= 0) row["render_kernels_ms_median"] = r.kernel_ms;
        if (r.label == "reference") row["reference_over_ours"] = r.ratio;
        if (r.kernel_ratio > 0) row["reference_over_our_double_kernels"] = r.kernel_ratio;
        js["results"].push_back(row);
    }
    if (series > 0) {
        js["series"] = {{"frames", series},
                        {"one_process_seconds", series_one},
                        {"one_process_frames_per_second", series / series_one},
                        {"separate_runs_seconds", series_many},
                        {"separate_runs_frames_per_second", series / series_many}};
    }
    std::ofstream(out_prefix + ".json") << js.dump(2) << "\n";
    std::ofstream md(out_prefix + ".md");
    {
        std::string cpu;
        std::ifstream ci("/proc/cpuinfo");
        for (std::string line; std::getline(ci, line);)
            if (line.rfind("model name", 0) == 0) {
                cpu = line.substr(line.find(':') + 2);
                break;
            }
        std::string cmd;
        for (int k = 0; k < argc; ++k) cmd += std::string(k ? " " : "") + argv[k];
        md << "# nb-bench " << date << "\n\n- Machine: " << cpu << ", " << ::sysconf(_SC_NPROCESSORS_ONLN)
           << " cores online\n- Command: `" << cmd << "`\n- Each workload: " << warmup
           << " warm-up run(s), then the median of " << repeats
           << " runs; every run is a fresh process in an empty folder (peak MB = its maximum resident set).\n\n";
    }
    md << "| workload | program | backend | precision | threads | image | evaluations | seconds (median of " << repeats
       << ") | evaluations/s | peak MB | GPU kernels ms | reference / ours "
          "|\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const Result& r : results) {
        char line[512];
        std::string kernel = r.kernel_ms >= 0 ? std::to_string(r.kernel_ms).substr(0, 8) : "";
        std::string ratio;
        char buf[96];
        if (!r.ok) {
            ratio = "FAILED";
        } else if (r.label == "reference" && r.ratio > 0) {
            std::snprintf(buf, sizeof buf, "%.2fx", r.ratio);
            ratio = buf;
            if (r.kernel_ratio > 0) {
                std::snprintf(buf, sizeof buf, " (%.1fx over kernels)", r.kernel_ratio);
                ratio += buf;
            }
        }
        std::snprintf(line, sizeof line, "| %s | %s | %s | %s | %d | %s | %lld | %.3f | %.3g | %ld | %s | %s |\n",
                      r.workload.c_str(), r.label.c_str(), r.backend.c_str(), r.precision.c_str(), r.threads,
                      r.image.c_str(), r.evaluations, r.seconds, r.evals_per_s, r.peak_mb, kernel.c_str(),
                      ratio.c_str());
        md << line;
    }
    if (series > 0) {
        char line[1024];
        std::snprintf(
            line, sizeof line,
            "\n## Rotation series, %d frames\n\nCommand line of each frame: `nanoBragg %s` (+ -nframes %d, or "
            "-phi i -seed 1+i per separate run)\n\n| mode | seconds | frames/s |\n|---|---|---|\n"
            "| one process, -nframes %d | %.3f | %.2f |\n| %d separate runs | %.3f | %.2f |\n",
            series, series_args.c_str(), series, series, series_one, series / series_one, series, series_many,
            series / series_many);
        md << line;
    }
    std::printf("wrote %s.json and %s.md\n", out_prefix.c_str(), out_prefix.c_str());
    bool all_ok = std::all_of(results.begin(), results.end(), [](const Result& r) { return r.ok; });
    return all_ok ? 0 : 2;
}
