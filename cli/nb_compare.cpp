// nb-compare: runs two nanoBragg-compatible programs on the same arguments (or
// one program against a stored float image), compares the float images and
// writes an evidence bundle under reports/<name>/<UTC timestamp>/.
//
// Exit codes: 0 success, 1 usage, 2 a runner failed, 3 correlation below
// --threshold, 4 image sizes differ, 5 I/O or parse error.
#include <fcntl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
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

#include "cli/frames.hpp"
#include "engine/build_info.hpp"
#include "engine/image_compare.hpp"
#include "engine/png_preview.hpp"

namespace fs = std::filesystem;
using nb::ImageComparison;

namespace {

enum Exit { kOk = 0, kUsage = 1, kRunnerFailed = 2, kBelowThreshold = 3, kSizeMismatch = 4, kIoError = 5 };

struct Failure {
    int code;
    std::string message;
};

struct Options {
    std::string ours, other, ref_image, name = "compare", out_root = "reports";
    std::vector<std::string> args;
    int roi[4] = {-1, -1, -1, -1};
    bool have_roi = false, save_diff = false, have_threshold = false, have_sum_tolerance = false;
    double threshold = 0, sum_tolerance = 0;
    int peaks = 20;
    int fpixels = 0, spixels = 0;  // for --ref-image without a run of ours... taken from our run
};

void usage(FILE* to) {
    std::fputs(
        "usage: nb-compare [options] -- <nanoBragg arguments>\n"
        "  --c-bin PATH        the other program (default: $NB_C_BIN)\n"
        "  --ours PATH         our program (default: nanoBragg beside nb-compare)\n"
        "  --ref-image FILE    compare our run with a stored float image instead of running --c-bin\n"
        "  --name NAME         bundle name: reports/NAME/<UTC timestamp>/ (default: compare)\n"
        "  --out-root DIR      where bundles go (default: reports)\n"
        "  --roi xmin xmax ymin ymax   compare only this pixel rectangle (inclusive)\n"
        "  --threshold C       exit 3 when the correlation is below C (or not a number)\n"
        "  --sum-tolerance E   exit 3 when |sum ratio - 1| is over E (the parity bar: --threshold 0.99999\n"
        "                      --sum-tolerance 1e-5 in double, 0.9999 and 1e-3 in float)\n"
        "  --peaks N           peaks matched for the position error (default 20)\n"
        "  --save-diff         also write diff.float.bin (ours - other)\n"
        "exit codes: 0 ok, 1 usage, 2 a runner failed, 3 below threshold, 4 image sizes differ, 5 I/O error\n",
        to);
}

std::string read_file(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw Failure{kIoError, "cannot read '" + p + "'"};
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
    if (!out) throw Failure{kIoError, "cannot write '" + p.string() + "'"};
}

std::string shell_quote(const std::string& s) {
    if (!s.empty() && s.find_first_of(" \t'\"\\$`*?") == std::string::npos) return s;
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

std::string command_line(const std::string& bin, const std::vector<std::string>& args) {
    std::string s = shell_quote(bin);
    for (const auto& a : args) s += " " + shell_quote(a);
    return s;
}

// Runs `bin args` in `dir` with output captured; returns the exit status.
int run_in(const std::string& bin, const std::vector<std::string>& args, const fs::path& dir) {
    pid_t pid = ::fork();
    if (pid == 0) {
        if (::chdir(dir.c_str()) != 0) ::_exit(126);
        int o = ::open("stdout.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = ::open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(o, 1);
        ::dup2(e, 2);
        std::vector<char*> argv{const_cast<char*>(bin.c_str())};
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(bin.c_str(), argv.data());
        ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string sha256_of(const std::string& path) {
    std::string cmd = "sha256sum " + shell_quote(path) + " 2>/dev/null";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return "";
    char buf[128] = {0};
    std::string out = std::fgets(buf, sizeof buf, p) ? std::string(buf) : "";
    ::pclose(p);
    return out.substr(0, out.find(' '));
}

std::string trimmed_output(const std::string& cmd) {
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return "";
    char buf[512] = {0};
    std::string out = std::fgets(buf, sizeof buf, p) ? std::string(buf) : "";
    ::pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

std::vector<float> floats_from(const std::string& bytes) {
    std::vector<float> f(bytes.size() / sizeof(float));
    std::memcpy(f.data(), bytes.data(), f.size() * sizeof(float));
    return f;
}

// fpixels/spixels of our run, from its printed geometry line "(FxS pixels)"
bool image_size_from(const std::string& out, int& f, int& s) {
    size_t px = out.find(" pixels)");
    if (px == std::string::npos) return false;
    size_t open = out.rfind('(', px);
    return open != std::string::npos && std::sscanf(out.c_str() + open + 1, "%dx%d", &f, &s) == 2;
}

std::string utc_stamp() {
    char buf[32];
    std::time_t t = std::time(nullptr);
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", std::gmtime(&t));
    return buf;
}

int run(int argc, char** argv) {
    Options o;
    std::string self = fs::canonical("/proc/self/exe").parent_path().string();
    o.ours = self + "/nanoBragg";
    if (const char* c = std::getenv("NB_C_BIN")) o.other = c;
    int i = 1;
    auto need = [&](const std::string& flag) -> std::string {
        if (i + 1 >= argc) throw Failure{kUsage, flag + " needs a value"};
        return argv[++i];
    };
    auto number = [&](const std::string& flag) -> double {
        std::string v = need(flag);
        char* end = nullptr;
        double x = std::strtod(v.c_str(), &end);
        if (end == v.c_str() || *end || !std::isfinite(x))
            throw Failure{kUsage, flag + ": '" + v + "' is not a finite number"};
        return x;
    };
    for (; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--") {
            o.args.assign(argv + i + 1, argv + argc);
            break;
        }
        if (a == "--c-bin")
            o.other = need(a);
        else if (a == "--ours")
            o.ours = need(a);
        else if (a == "--ref-image")
            o.ref_image = need(a);
        else if (a == "--name")
            o.name = need(a);
        else if (a == "--out-root")
            o.out_root = need(a);
        else if (a == "--threshold") {
            o.threshold = number(a);
            o.have_threshold = true;
        } else if (a == "--sum-tolerance") {
            o.sum_tolerance = number(a);
            o.have_sum_tolerance = true;
            if (o.sum_tolerance < 0) throw Failure{kUsage, "--sum-tolerance: must be >= 0"};
        } else if (a == "--peaks") {
            const double n = number(a);
            if (n < 0 || n > 100000 || n != std::floor(n))
                throw Failure{kUsage, "--peaks: a whole number from 0 to 100000"};
            o.peaks = (int)n;
        } else if (a == "--save-diff")
            o.save_diff = true;
        else if (a == "--roi") {
            for (int k = 0; k < 4; ++k) {
                const double v = number(a);
                if (v != std::floor(v) || std::fabs(v) > 1e9)
                    throw Failure{kUsage, "--roi: pixel indices are whole numbers"};
                o.roi[k] = (int)v;
            }
            o.have_roi = true;
        } else if (a == "-h" || a == "--help") {
            usage(stdout);
            return kOk;
        } else {
            throw Failure{kUsage, "unknown option '" + a + "'"};
        }
    }
    if (o.args.empty()) throw Failure{kUsage, "no nanoBragg arguments (put them after --)"};
    if (o.ref_image.empty() && o.other.empty())
        throw Failure{kUsage, "give --c-bin PATH (or NB_C_BIN) or --ref-image FILE"};
    for (size_t i = 0; i < o.args.size(); ++i) {
        const std::string& a = o.args[i];
        if (a == "-floatfile" || a == "-floatimage")
            throw Failure{kUsage, "do not pass -floatfile: nb-compare names it"};
        // a series or shot list writes numbered frames (float_0001.bin, ...), and
        // C nanoBragg knows neither flag: one image is compared
        if (a == "-shots" || a == "--shots")
            throw Failure{kUsage, a + ": a shot list writes one numbered image per shot; nb-compare compares one "
                                      "image (give that shot's orientation with -misset or -mat)"};
        if ((a == "-nframes" || a == "--nframes") && i + 1 < o.args.size()) {
            char* end = nullptr;
            const double n = std::strtod(o.args[i + 1].c_str(), &end);
            if (end == o.args[i + 1].c_str() || *end != '\0' || n != 1)
                throw Failure{kUsage, a + " " + o.args[i + 1] +
                                          ": a series writes numbered frames; nb-compare compares one image (give "
                                          "-phi and -osc of the frame to compare, without -nframes)"};
        }
    }

    // Each program runs in an empty folder of its own: the files it reads are
    // named by absolute paths (an argument or program that names an existing
    // file relative to here)
    auto absolute_if_here = [](std::string& a) {
        std::error_code e;
        if (!a.empty() && a[0] != '-' && a[0] != '/' && fs::exists(a, e)) a = fs::absolute(a, e).string();
    };
    for (std::string& a : o.args) absolute_if_here(a);
    if (o.ours.find('/') != std::string::npos) absolute_if_here(o.ours);
    if (o.other.find('/') != std::string::npos) absolute_if_here(o.other);
    for (const std::string& bin : {o.ours, o.other})
        if (!bin.empty() && bin.find('/') != std::string::npos && ::access(bin.c_str(), X_OK) != 0)
            throw Failure{kUsage, "'" + bin + "' is not an executable program"};

    // a bundle of its own: a second run in the same second gets "-2", ...
    std::error_code ec;
    fs::create_directories(fs::path(o.out_root) / o.name, ec);
    if (ec)
        throw Failure{kIoError, "cannot create bundle folder '" + (fs::path(o.out_root) / o.name).string() +
                                    "': " + ec.message()};
    const fs::path stamp = fs::path(o.out_root) / o.name / utc_stamp();
    fs::path bundle = stamp;
    for (int k = 2; !fs::create_directory(bundle, ec); ++k) {
        if (ec || k > 1000) throw Failure{kIoError, "cannot create bundle folder '" + bundle.string() + "'"};
        bundle = stamp.string() + "-" + std::to_string(k);
    }
    std::string work_name = (fs::temp_directory_path() / "nb_compare_XXXXXX").string();
    if (!::mkdtemp(work_name.data())) throw Failure{kIoError, "cannot create a temporary folder"};
    const fs::path work = work_name;
    struct RemoveWork {
        fs::path p;
        ~RemoveWork() {
            std::error_code e;
            fs::remove_all(p, e);
        }
    } remove_work{work};
    fs::create_directories(work / "ours");
    fs::create_directories(work / "other");

    std::vector<std::string> args = o.args;
    args.insert(args.end(), {"-floatfile", "float.bin"});
    std::string commands = "# ours (in its own empty folder)\n" + command_line(o.ours, args) + "\n";
    int rc_ours = run_in(o.ours, args, work / "ours");
    fs::copy_file(work / "ours" / "stdout.txt", bundle / "ours.stdout.txt", fs::copy_options::overwrite_existing, ec);
    fs::copy_file(work / "ours" / "stderr.txt", bundle / "ours.stderr.txt", fs::copy_options::overwrite_existing, ec);
    int rc_other = 0;
    if (o.ref_image.empty()) {
        commands += "# other (in its own empty folder)\n" + command_line(o.other, args) + "\n";
        rc_other = run_in(o.other, args, work / "other");
        fs::copy_file(work / "other" / "stdout.txt", bundle / "other.stdout.txt", fs::copy_options::overwrite_existing,
                      ec);
        fs::copy_file(work / "other" / "stderr.txt", bundle / "other.stderr.txt", fs::copy_options::overwrite_existing,
                      ec);
    } else {
        commands += "# reference image\n" + o.ref_image + "\n";
    }
    write_file(bundle / "commands.txt", commands);
    if (rc_ours != 0 || rc_other != 0) {
        fs::remove_all(work, ec);
        throw Failure{kRunnerFailed, std::string(rc_ours != 0 ? "our run" : "the other run") + " failed (exit " +
                                         std::to_string(rc_ours != 0 ? rc_ours : rc_other) + "); see " +
                                         bundle.string()};
    }

    // a run that numbers its frames after all (an -expt file's scan, say)
    const std::string first_frame = nb::frame_file_name("float.bin", 1, true, "-floatfile");
    if (!fs::exists(work / "ours" / "float.bin", ec) && fs::exists(work / "ours" / first_frame, ec)) {
        fs::remove_all(work, ec);
        throw Failure{kUsage, "our run wrote numbered frames (" + first_frame +
                                  ", ...): nb-compare compares one image; see " + bundle.string()};
    }
    std::string ours_out = read_file((bundle / "ours.stdout.txt").string());
    int fp = 0, sp = 0;
    if (!image_size_from(ours_out, fp, sp)) throw Failure{kIoError, "cannot find the image size in our run's output"};
    std::vector<float> a = floats_from(read_file((work / "ours" / "float.bin").string()));
    std::vector<float> b =
        floats_from(read_file(o.ref_image.empty() ? (work / "other" / "float.bin").string() : o.ref_image));
    fs::remove_all(work, ec);
    if (a.size() != (size_t)fp * sp) throw Failure{kIoError, "our float image has an unexpected size"};
    if (a.size() != b.size()) {
        write_file(bundle / "summary.md", "# nb-compare\n\nimage sizes differ: ours " + std::to_string(a.size()) +
                                              " pixels, other " + std::to_string(b.size()) + " pixels\n");
        throw Failure{kSizeMismatch, "image sizes differ: ours " + std::to_string(a.size()) + " pixels, other " +
                                         std::to_string(b.size())};
    }

    nb::CompareRegion roi{0, fp - 1, 0, sp - 1};
    if (o.have_roi) {
        roi = {o.roi[0], o.roi[1], o.roi[2], o.roi[3]};
        if (roi.xmin < 0 || roi.xmin > roi.xmax || roi.xmax >= fp || roi.ymin < 0 || roi.ymin > roi.ymax ||
            roi.ymax >= sp)
            throw Failure{kUsage, "--roi " + std::to_string(roi.xmin) + " " + std::to_string(roi.xmax) + " " +
                                      std::to_string(roi.ymin) + " " + std::to_string(roi.ymax) +
                                      ": not a rectangle of the " + std::to_string(fp) + "x" + std::to_string(sp) +
                                      " image (xmin <= xmax < " + std::to_string(fp) + ", ymin <= ymax < " +
                                      std::to_string(sp) + ")"};
    }
    ImageComparison c = nb::compare_images(a, b, fp, sp, roi, o.peaks);

    char buf[4096];
    std::snprintf(buf, sizeof buf, "%.12f\n", c.correlation);
    write_file(bundle / "correlation.txt", buf);
    std::snprintf(buf, sizeof buf, "%.12g\n", c.sum_ratio);
    write_file(bundle / "sum_ratio.txt", buf);
    nlohmann::ordered_json summary = {{"correlation", c.correlation},
                                      {"sum_ours", c.sum_a},
                                      {"sum_other", c.sum_b},
                                      {"sum_ratio", c.sum_ratio},
                                      {"abs_sum_ratio_minus_1", std::fabs(c.sum_ratio - 1)},
                                      {"rmse", c.rmse},
                                      {"max_abs_diff", c.max_abs_diff},
                                      {"peaks_compared", c.peaks_compared},
                                      {"peaks_matched", c.peaks_matched},
                                      {"peak_position_error_mean_px", c.peak_error_mean},
                                      {"peak_position_error_max_px", c.peak_error_max},
                                      {"image", {fp, sp}},
                                      {"roi", {roi.xmin, roi.xmax, roi.ymin, roi.ymax}},
                                      {"threshold", nullptr}};
    if (o.have_threshold) summary["threshold"] = o.threshold;
    summary["sum_tolerance"] = nullptr;
    if (o.have_sum_tolerance) summary["sum_tolerance"] = o.sum_tolerance;
    write_file(bundle / "summary.json", summary.dump(2) + "\n");
    std::snprintf(
        buf, sizeof buf,
        "# nb-compare: %s\n\n| metric | value |\n|---|---|\n| correlation | %.10f |\n| sum ours | %.8g |\n"
        "| sum other | %.8g |\n| sum ratio - 1 | %+.3e |\n| RMSE | %.6g |\n| max abs diff | %.6g |\n"
        "| peaks matched (1-pixel gate) | %d of %d |\n| peak position error, mean / max (px) | %.3f / %.3f |\n"
        "\nImage %dx%d, ROI x %d..%d, y %d..%d. Commands: commands.txt. Previews: ours.png, other.png, diff.png "
        "(same intensity scale; dark = high).\n",
        o.name.c_str(), c.correlation, c.sum_a, c.sum_b, c.sum_ratio - 1, c.rmse, c.max_abs_diff, c.peaks_matched,
        c.peaks_compared, c.peak_error_mean, c.peak_error_max, fp, sp, roi.xmin, roi.xmax, roi.ymin, roi.ymax);
    write_file(bundle / "summary.md", buf);

    struct utsname u {};
    ::uname(&u);
    const std::string other_path = o.ref_image.empty() ? o.other : o.ref_image;
    nlohmann::ordered_json env = {
        {"machine", std::string(u.sysname) + " " + u.release + " " + u.machine},
        {"host_cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
        {"compiler", std::string("g++ ") + __VERSION__},
        {"nb_compare", nb::version_line()},
        {"git_commit", trimmed_output("git -C " + shell_quote(fs::path(o.ours).parent_path().string()) +
                                      " rev-parse HEAD 2>/dev/null")},
        // the binary's own build (its commit can differ from the folder's checkout)
        {"ours",
         {{"path", o.ours},
          {"sha256", sha256_of(o.ours)},
          {"version", trimmed_output(shell_quote(o.ours) + " -version 2>/dev/null")}}},
        {"other", {{"path", other_path}, {"sha256", sha256_of(other_path)}}}};
    write_file(bundle / "env.json", env.dump(2) + "\n");

    // previews on one shared scale (the other image's), and |ours - other| on it too
    if (nb::png_supported()) {
        double level = nb::png_default_white_level(b);
        std::vector<float> diff(a.size());
        for (size_t k = 0; k < a.size(); ++k) diff[k] = std::fabs(a[k] - b[k]);
        auto save = [&](const std::string& name, const std::vector<float>& img) {
            std::vector<char> png = nb::png_preview_bytes(img, fp, sp, level);
            write_file(bundle / name, std::string(png.begin(), png.end()));
        };
        save("ours.png", a);
        save("other.png", b);
        save("diff.png", diff);
    }
    if (o.save_diff) {
        std::vector<float> diff(a.size());
        for (size_t k = 0; k < a.size(); ++k) diff[k] = a[k] - b[k];
        write_file(bundle / "diff.float.bin", std::string(reinterpret_cast<const char*>(diff.data()), diff.size() * 4));
    }

    std::printf("correlation=%.10f sum_ratio-1=%+.3e rmse=%.6g max_abs_diff=%.6g peaks %d/%d matched\nbundle: %s\n",
                c.correlation, c.sum_ratio - 1, c.rmse, c.max_abs_diff, c.peaks_matched, c.peaks_compared,
                bundle.string().c_str());
    if (o.have_threshold && !(c.correlation >= o.threshold)) {
        std::fprintf(stderr, "nb-compare: correlation %.10f is below the threshold %g\n", c.correlation, o.threshold);
        return kBelowThreshold;
    }
    if (o.have_sum_tolerance && !(std::fabs(c.sum_ratio - 1) <= o.sum_tolerance)) {
        std::fprintf(stderr, "nb-compare: |sum ratio - 1| = %.3e is over the tolerance %g\n",
                     std::fabs(c.sum_ratio - 1), o.sum_tolerance);
        return kBelowThreshold;
    }
    return kOk;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const Failure& f) {
        std::fprintf(stderr, "nb-compare: %s\n", f.message.c_str());
        if (f.code == kUsage) usage(stderr);
        return f.code;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nb-compare: %s\n", e.what());
        return kIoError;
    }
}
