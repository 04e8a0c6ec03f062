// nanoBragg-compatible command line: parse C's flags, render, write C's files.
// With -nframes, a rotation series in one process (set-up once; frame i+1
// renders while frame i is written), split across MPI ranks when launched
// by mpirun/srun.
#include <omp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <deque>
#include <exception>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "cli/args.hpp"
#include "cli/frames.hpp"
#include "cli/mpi_job.hpp"
#include "cli/outputs.hpp"
#include "cli/report.hpp"
#include "cli/shots.hpp"
#include "engine/build_info.hpp"
#include "engine/cbf_writer.hpp"
#include "engine/float_precision.hpp"
#include "engine/heap_policy.hpp"
#include "engine/image_io.hpp"
#include "engine/interrupt_cleanup.hpp"
#include "engine/nexus_writer.hpp"
#include "engine/pixel_report.hpp"
#include "engine/render.hpp"
#include "engine/run_estimate.hpp"
#include "engine/setup.hpp"
#include "engine/solid_angle.hpp"
#include "engine/stage_timer.hpp"
#include "kernels/cpu_launcher.hpp"
#include "kernels/cuda_launcher.hpp"

namespace {

// A frame's noise image and files, under temporary names (while the previous
// frame's are still being written, when `previous` is one in progress); then,
// once the previous frame is in place, its files renamed, its lines printed
// and its NeXus slice appended: files and lines appear in frame order, and a
// frame after a failed one is not put in place. `busy_us` gains the time this
// frame's own work took (not the wait for the previous one).
void write_frame(const std::shared_ptr<nb::FrameOutput>& fo, const std::vector<nb::OutputFile>& files,
                 nb::NexusWriter* nexus, const std::shared_future<void>& previous, std::atomic<long long>& busy_us) {
    using clock = std::chrono::steady_clock;
    auto t = clock::now();
    auto add_busy = [&] { busy_us += std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - t).count(); };
    nb::StageTimer timer("noise + files");
    nb::StagedOutputs staged = nb::stage_outputs(files, [&fo] { nb::make_frame_noise(*fo); });
    nb::finish_frame_noise(*fo);
    add_busy();
    if (previous.valid()) previous.get();  // its failure stops this frame too (its temporaries are removed)
    t = clock::now();
    std::fputs(fo->log.c_str(), stdout);
    staged.commit();
    nb::print_frame_noise(*fo);
    for (const auto& f : files) std::printf("wrote %s\n", f.path.c_str());
    std::fflush(stdout);
    if (nexus) nexus->append(fo->exp, fo->noise, fo->result.image);
    add_busy();
}

// -printout and -trace_pixel: the pixels' intermediate values, after the
// render and before the statistics (C prints them from its pixel loop).
void print_pixel_reports(const nb::SimConfig& cfg, const nb::Experiment& frame, const nb::HklGrid& hkl,
                         nb::Precision precision, const nb::RenderResult& result) {
    if (!cfg.printout && cfg.trace_fpixel < 0) return;
    nb::PixelReportInput in{&frame, &hkl, precision, &result};
    auto rendered = [&](const char* flag, int f, int s) {
        const std::string why = nb::pixel_report_skipped(frame, f, s);
        if (!why.empty())
            spdlog::warn("WARNING: {}: pixel (fast {}, slow {}) is {}: nothing rendered to print", flag, f, s, why);
        return why.empty();
    };
    nb::PixelReports what;
    what.printout = cfg.printout &&
                    (cfg.printout_fpixel < 0 || rendered("-printout_pixel", cfg.printout_fpixel, cfg.printout_spixel));
    what.printout_f = cfg.printout_fpixel;
    what.printout_s = cfg.printout_spixel;
    if (cfg.trace_fpixel >= 0) {
        what.trace_f = cfg.trace_fpixel;
        what.trace_s = cfg.trace_spixel;
        what.trace_skipped = !rendered("-trace_pixel", cfg.trace_fpixel, cfg.trace_spixel);  // as C: TRACE_CONFIG still
    }
    nb::print_pixel_reports(stdout, in, what);
    std::fflush(stdout);
}

// `alike`: true while an error would be every rank's alike (said once, by
// rank 0): the set-up, until the first frame renders
int run(const nb::ParsedArgs& parsed, const nb::Job& job, const std::string& command_line, bool& alike) {
    nb::SimConfig cfg = parsed.config;
    // CUDA's start (driver and context, a large part of a GPU run's fixed
    // time) on a thread of its own while the inputs are read and set up;
    // -device auto first asks whether the run is long enough to want it,
    // once the geometry is set up and before the HKL file is read
    std::future<void> device_start;
    auto start_device = [&device_start, index = job.local_rank] {
        device_start = std::async(std::launch::async, [index] {
            nb::StageTimer timer("device start (CUDA)");
            nb::cuda_start(index);
        });
    };
    if (cfg.device == "cuda") start_device();
    std::vector<nb::Shot> shots;
    if (!cfg.shots_file.empty()) {
        if (cfg.nframes > 1)  // the series may be an -expt file's scan
            throw nb::UsageError(
                "-shots: cannot be combined with a series of " + std::to_string(cfg.nframes) + " frames (" +
                (cfg.expt_file.empty() ? std::string("-nframes") : "-nframes, or the scan of -expt " + cfg.expt_file) +
                "; -nframes 1 gives one)");
        shots = nb::read_shots(cfg.shots_file);
        cfg.nframes = (int)shots.size();  // one image per shot, numbered from 1
        cfg.first_frame = 1;
    }
    auto start = std::chrono::steady_clock::now();
    nb::check_output_names(cfg);  // bad output names stop the run before any rendering
    nb::check_output_targets(cfg, nb::cli_outputs(cfg));
    if (!cfg.nexus_file.empty() && job.size > 1)
        throw nb::UsageError("-nexusfile: one file cannot be written by " + std::to_string(job.size) +
                             " MPI ranks; run one process, or use per-frame outputs (-cbffile, -noisefile)");
    const int threads = cfg.threads > 0 ? cfg.threads : omp_get_max_threads();
    const int frames = ((cfg.nframes > 0 ? cfg.nframes : 1) + job.size - 1) / job.size;  // this rank's share
    // every rank decides alike (the same share), so that one series is
    // rendered by one kind of device
    std::string device = cfg.device;
    double evaluations_seen = 0;
    auto choose = [&](const nb::Experiment& g) {
        if (device != "auto") return;
        evaluations_seen = nb::evaluation_count(g) * frames;
        device = nb::device_for_run(device, evaluations_seen, threads, false);
        if (device != "cpu") start_device();
    };
    // set-up once: the HKL grid and detector are shared by every frame or shot
    nb::Experiment e = [&] {
        if (shots.empty()) return nb::prepare_experiment(cfg, choose);
        try {
            return nb::prepare_experiment(nb::apply_shot(cfg, shots[0]), choose);
        } catch (...) {
            nb::rethrow_for_shot(cfg.shots_file, shots[0]);
        }
    }();
    const int64_t seed_base = nb::noise_seed_base(cfg);
    if (job.rank == 0) nb::print_setup(e, cfg.write_noise ? std::optional<int64_t>(seed_base) : std::nullopt);
    // the line saying why, after the set-up's lines
    if (cfg.device == "auto" && device == "cpu" && job.rank == 0)
        spdlog::info("{}", nb::short_run_on_the_cpu(evaluations_seen, threads));
    cfg.device = device;
    if (device_start.valid()) {
        nb::StageTimer timer("wait for the device start");
        device_start.get();
    }
    if (cfg.printout && cfg.printout_fpixel >= 0)
        if (std::string why =
                nb::pixel_report_target_problem(e, "-printout_pixel", cfg.printout_fpixel, cfg.printout_spixel);
            !why.empty())
            throw nb::UsageError(why);
    if (cfg.trace_fpixel >= 0)
        if (std::string why = nb::pixel_report_target_problem(e, "-trace_pixel", cfg.trace_fpixel, cfg.trace_spixel);
            !why.empty())
            throw nb::UsageError(why);
    nb::RenderOptions opt = nb::render_options(cfg, job.local_rank, job.rank == 0);
    if (job.rank == 0)
        if (std::string w = nb::float_precision_warning(e, opt.precision); !w.empty()) spdlog::warn("{}", w);
    {
        // a runaway run nobody asked for stops here, before any file exists
        const bool gpu = opt.device == nb::Device::Cuda;
        double seconds = 0, per_frame = nb::evaluation_count(e);
        if (shots.empty()) {
            if (std::string why = nb::runaway_refusal(e, cfg, frames, gpu, threads); !why.empty())
                throw nb::UsageError(why);
            seconds = nb::best_case_seconds(e, frames, gpu, threads);
        } else {
            // every shot set up before any renders: one that cannot be stops
            // the run here, not after the shots before it are written
            const std::vector<nb::ShotSize> sizes = nb::set_up_every_shot(cfg, shots, e);
            // the largest rank's share decides, alike on every rank
            std::vector<double> share(job.size, 0.0);
            size_t heaviest = 0;
            for (size_t i = 0; i < sizes.size(); ++i) {
                share[i % job.size] += sizes[i].evaluations;
                if (sizes[i].evaluations > sizes[heaviest].evaluations) heaviest = i;
            }
            const double most = *std::max_element(share.begin(), share.end());
            if (std::string why = nb::runaway_refusal(sizes[heaviest].chosen, most, gpu, threads); !why.empty())
                throw nb::UsageError("-shots: '" + cfg.shots_file + "' line " + std::to_string(shots[heaviest].line) +
                                     " (the longest shot): " + why);
            seconds = nb::best_case_seconds(most, gpu, threads);
            per_frame = most / frames;
        }
        if (seconds > 60 && job.rank == 0)
            std::printf("estimated time: at least %s (%.3g evaluations per frame%s)\n",
                        nb::human_duration(seconds).c_str(), per_frame, shots.empty() ? "" : " on average");
    }
    std::fflush(stdout);  // the set-up and the estimate reach a log file before a long render, not after it
    // C's "solid angle subtended" line: the detector is the set-up's for every frame
    const double solid_angle_sum = nb::detector_solid_angle_sum(e);
    nb::ProgressBar bar(cfg.progress && ::isatty(STDOUT_FILENO) && job.size == 1);
    if (bar.enabled()) opt.progress = [&bar](double f) { bar.update(f); };

    if (!cfg.cbf_file.empty()) {
        const std::string limits = nb::minicbf_geometry_limits(e.det, e.cfg.expt != nullptr);
        if (!limits.empty() && job.rank == 0)
            spdlog::warn(
                "WARNING: -cbffile: a miniCBF header holds no detector orientation and readers assume "
                "a rotation about the fast axis; here {}: readers will see other geometry than "
                "simulated (-nexusfile holds it exactly)",
                limits);
    }
    std::unique_ptr<nb::NexusWriter> nexus;
    if (!cfg.nexus_file.empty()) {
        nb::NexusWriter::Options o = nb::NexusWriter::from_config(cfg, command_line);
        o.rotation = shots.empty();
        nexus = nb::NexusWriter::open(o, e);
    }
    const double phi_start = e.samp.phi0;
    // On a GPU the next frame is submitted before this one is collected, so
    // that its kernels run while this frame is copied back and handed to the
    // writer (the queue's depth is 1 on the CPU: render, then collect). It
    // outlives the writer, which hands written images back to it.
    nb::FrameQueue queue(opt);
    // Frames being written, oldest first. Behind a device, several frames'
    // files are written at once: a filesystem takes one writer per file at a
    // time (16 MB of floats into tmpfs: 10 ms from one thread or from two),
    // so one frame's files cannot use the cores a device leaves free. A frame
    // writes its files with up to 4 threads: a writer per 4 cores, 2 to 4. On
    // the CPU the render wants those cores: one frame at a time.
    std::deque<std::shared_future<void>> writing;
    const size_t writers = queue.depth() > 1 ? (size_t)std::clamp(omp_get_max_threads() / 4, 2, 4) : 1;
    int frames_done = 0;
    double evaluations = 0;
    // where a series' time goes: rendering (GPU kernels within it) and waiting
    // for earlier frames' files, which are written while the next renders
    double render_s = 0, kernel_ms = 0, wait_s = 0;
    auto write_us = std::make_shared<std::atomic<long long>>(0);  // the writers' own time
    using clock = std::chrono::steady_clock;
    const long long mine = job.frames_owned(cfg.nframes);  // this rank's frames
    long long submitted = 0;
    std::deque<double> frame_evaluations;  // the frames in flight's, oldest first
    auto submit_next = [&] {
        const int i = job.owned_frame(submitted);
        nb::Experiment shot;
        const nb::Experiment* frame = &e;
        if (!shots.empty()) {
            shot = nb::prepare_experiment(nb::apply_shot(cfg, shots[i]), e.hkl);
            frame = &shot;
        } else {
            // a frame meant at phi 0 (-phi -0.3 -osc 0.1, frame 4) is that, not a
            // rounding residue: C takes phi == 0 on its own path (docs/parity.md),
            // and -phi 0 is how one renders that frame alone
            e.samp.phi0 = phi_start + i * e.samp.osc;
            if (std::fabs(e.samp.phi0) <= 1e-12 * (std::fabs(phi_start) + i * std::fabs(e.samp.osc))) e.samp.phi0 = 0;
        }
        frame_evaluations.push_back(nb::evaluation_count(*frame));
        bar.start_frame(i + 1, cfg.nframes, frame_evaluations.back());
        queue.submit(*frame);
        ++submitted;
    };
    alike = false;  // from here a rank's error is its own
    for (long long k = 0; k < mine; ++k) {
        const int i = job.owned_frame(k);
        // this frame's lines, printed after the earlier frames' (FrameOutput::log)
        std::string log;
        if (!shots.empty()) log += fmt::format("shot {} of {} (line {})\n", i + 1, cfg.nframes, shots[i].line);
        auto fo = std::make_shared<nb::FrameOutput>();
        fo->index = i;
        const auto render_start = clock::now();
        {
            nb::StageTimer tr("render_image");
            while (submitted < mine && queue.pending() < queue.depth()) submit_next();
            nb::FrameQueue::Frame frame = queue.collect();
            fo->result = std::move(frame.result);
            fo->exp = std::move(frame.exp);
        }
        render_s += std::chrono::duration<double>(clock::now() - render_start).count();
        if (fo->result.kernel_ms > 0) kernel_ms += fo->result.kernel_ms;
        bar.finish();
        if (cfg.nframes > 1 && shots.empty()) {
            char phi[64];
            std::snprintf(phi, sizeof phi, "%g", fo->exp.samp.phi0 * 57.29577951308232);
            log += fmt::format("frame {} of {}: phi = {} deg\n", i + 1, cfg.nframes, phi);
        }
        if (fo->result.kernel_ms >= 0)
            log += fmt::format("rendered on {} (render kernels {:.3f} ms)\n", fo->result.backend, fo->result.kernel_ms);
        else
            log += fmt::format("rendered on {}\n", fo->result.backend);
        if (std::string w = nb::interpolation_warning(fo->exp, fo->result); !w.empty()) log += w + "\n";
        if (cfg.printout || cfg.trace_fpixel >= 0) {
            // per-pixel lines can be many: printed now, once the earlier frames' lines are out
            while (!writing.empty()) {
                writing.front().get();
                writing.pop_front();
            }
            std::fputs(log.c_str(), stdout);
            log.clear();
            print_pixel_reports(cfg, fo->exp, e.hkl, opt.precision, fo->result);
        }
        log += nb::solid_angle_text(solid_angle_sum / fo->exp.steps);
        log += nb::stats_text(fo->result.stats);
        if (std::string w = nb::nonfinite_warning(fo->exp, fo->result); !w.empty()) log += w + "\n";
        fo->needs_noise = nexus != nullptr;
        fo->seed = nb::frame_seed(seed_base, i);
        std::vector<nb::OutputFile> files = nb::image_output_files(cfg, fo, nb::cli_outputs(cfg), &log);
        fo->log = std::move(log);
        const auto wait_start = clock::now();
        while (writing.size() >= writers) {  // the oldest frame is on disk before another starts
            writing.front().get();
            writing.pop_front();
        }
        wait_s += std::chrono::duration<double>(clock::now() - wait_start).count();
        const std::shared_future<void> previous = writing.empty() ? std::shared_future<void>() : writing.back();
        const bool last = k + 1 == mine;
        auto write = [fo, files, w = nexus.get(), write_us, &queue, last, previous]() {
            write_frame(fo, files, w, previous, *write_us);
            // a later frame fills this image's pages instead of new ones
            if (!last) queue.recycle(std::move(fo->result.image));
        };
        // A frame's files are written while the next renders; the last
        // frame's here, by the run's own threads (a writer thread's team of
        // its own had competed with the idle team's spinning workers).
        if (last)
            write();
        else
            writing.push_back(std::async(std::launch::async, write).share());
        ++frames_done;
        evaluations += frame_evaluations.front();
        frame_evaluations.pop_front();
    }
    while (!writing.empty()) {
        writing.front().get();
        writing.pop_front();
    }
    nb::close_output_streams();  // a pipe's reader sees its end now, not at exit
    if (nexus) {
        nexus->finish();
        std::printf("wrote %s (%d frame%s, NeXus/NXmx, %s compression%s)\n", nexus->path().c_str(), frames_done,
                    frames_done == 1 ? "" : "s", nexus->compression().c_str(),
                    nexus->parallel_compression() ? ", a frame's chunks at once" : "");
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (cfg.nframes <= 1 && job.size == 1) return 0;
    nb::RankTimes own;
    own.frames = frames_done;
    own.seconds = seconds;
    own.evaluations = evaluations;
    own.render_s = render_s;
    own.kernel_ms = kernel_ms;
    own.write_s = 1e-6 * (double)*write_us;
    own.wait_s = wait_s;
    // every rank's frames in one line, on rank 0
    const nb::RankTimes all = nb::job_summary(job, own);
    if (cfg.nframes > 1 && all.frames > 0 && job.rank == 0)
        std::printf(
            "frame timing: rendering %.2f ms/frame (render kernels %.2f), writing %.2f ms/frame (%zu frame%s at "
            "once), waiting for the earlier frames' files %.2f ms/frame\n",
            1e3 * all.render_s / all.frames, all.kernel_ms / all.frames, 1e3 * all.write_s / all.frames, writers,
            writers == 1 ? "" : "s", 1e3 * all.wait_s / all.frames);
    return 0;
}

int report_error(const char* what, bool usage_hint, bool inputs_hint) {
    std::fflush(stdout);
    std::fprintf(stderr, "nanoBragg: error: %s\n", nb::printable(what).c_str());
    if (inputs_hint)
        std::fprintf(stderr,
                     "usage: nanoBragg -hkl Fs.hkl -mat auto.mat (or -cell a b c al be ga, -default_F F) ...\n");
    if (usage_hint) std::fprintf(stderr, "run 'nanoBragg -h' for the list of flags\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    nb::remove_temporaries_on_stop_signals();  // before any thread: Ctrl-C leaves no temporary file
    spdlog::set_pattern("%v");
    nb::use_huge_page_heap();  // engine/heap_policy.hpp: one job, then exit
    nb::Job job;
    try {
        job = nb::job_start(&argc, &argv);
    } catch (const std::exception& e) {
        return report_error(e.what(), false, false);
    }
    int rc = 0;
    // An error before the first frame renders (the command line, the files it
    // names, a shot's set-up) is met by every rank alike: rank 0 says it and
    // ends the job. Another rank says it only if it is still running a while
    // later (a file its node cannot read), so that no error goes unsaid.
    bool alike = true;
    struct Failure {
        std::string what;
        bool usage_hint = false, inputs_hint = false;
    } failure;
    try {
        nb::StageTimer targs("command line");
        nb::ParsedArgs parsed = nb::parse_args(argc, argv);
        targs.stop();
        if (parsed.version) {
            if (job.rank == 0) std::printf("%s\n", nb::version_line().c_str());
        } else if (parsed.help) {
            if (job.rank == 0) std::fputs(parsed.help_text.c_str(), stdout);
        } else {
            if (job.rank == 0) std::printf("%s\n", nb::version_line().c_str());
            if (const std::string w = nb::cpu_isa_request_warning(); !w.empty() && job.rank == 0) spdlog::warn("{}", w);
            std::string command_line;
            for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
            nb::StageTimer trun("the run");
            rc = run(parsed, job, command_line, alike);
        }
    } catch (const nb::MissingInput& e) {
        failure = {e.what(), true, true};
    } catch (const nb::UsageError& e) {
        failure = {e.what(), true, false};
    } catch (const std::exception& e) {
        failure = {e.what(), false, false};
    }
    if (!failure.what.empty()) {
        if (alike && job.rank != 0 && job.size > 1) std::this_thread::sleep_for(std::chrono::seconds(5));
        rc = report_error(failure.what.c_str(), failure.usage_hint, failure.inputs_hint);
    }
    // a failed rank ends the whole job: no rank waits on it
    if (rc != 0) nb::job_abort(job, rc);
    nb::job_finish(job);
    return rc;
}
