// Rotation series (-nframes): file naming, per-frame headers, and a frame
// rendered alone equals the same frame rendered in the series, byte for byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "cli/frames.hpp"
#include "cli/mpi_job.hpp"
#include "tests/run_cli.hpp"

using namespace nbtest;

namespace {
const std::vector<std::string> kLyso = {"-cell", "79.1",       "79.1", "38.4", "90", "90",
                                        "90",    "-default_F", "100",  "-N",   "5",  "-detpixels",
                                        "48",    "-distance",  "100",  "-osc", "1",  "-nopgm"};
std::vector<std::string> with(std::vector<std::string> a, std::initializer_list<std::string> more) {
    a.insert(a.end(), more.begin(), more.end());
    return a;
}
}  // namespace

TEST(Series, FrameFileNames) {
    EXPECT_EQ(nb::frame_file_name("sweep_%04d.img", 7, true, "-intfile"), "sweep_0007.img");
    EXPECT_EQ(nb::frame_file_name("image.img", 1, false, "-intfile"), "image.img");
    EXPECT_EQ(nb::frame_file_name("dir.v2/image.img", 3, true, "-intfile"), "dir.v2/image_0003.img");
    EXPECT_EQ(nb::frame_file_name("floatimage", 12, true, "-floatfile"), "floatimage_0012");
    EXPECT_EQ(nb::frame_file_name("a%%b_%d.bin", 2, true, "-floatfile"), "a%b_2.bin");
    EXPECT_THROW(nb::frame_file_name("bad_%s.img", 1, true, "-intfile"), std::runtime_error);
    EXPECT_THROW(nb::frame_file_name("two_%d_%d.img", 1, true, "-intfile"), std::runtime_error);
    EXPECT_TRUE(nb::numbered_outputs(2, false));
    EXPECT_TRUE(nb::numbered_outputs(1, true));
    EXPECT_FALSE(nb::numbered_outputs(1, false));
    EXPECT_EQ(nb::frame_seed(-5, 0), -5);
    EXPECT_EQ(nb::frame_seed(-5, 3), -8);
}

// A rank's share of a series, dealt round robin without a list of frames (a
// -nframes 1e9 run had built two lists of 1e9 entries, 12 GB, before its
// first frame): the same frames as owns() picks, in order.
TEST(Series, ARanksFramesAreDealtRoundRobinWithoutAList) {
    for (int size = 1; size <= 4; ++size)
        for (int rank = 0; rank < size; ++rank)
            for (int frames = 0; frames <= 11; ++frames) {
                nb::Job job;
                job.rank = rank, job.size = size;
                std::vector<int> want, got;
                for (int i = 0; i < frames; ++i)
                    if (job.owns(i)) want.push_back(i);
                for (long long k = 0; k < job.frames_owned(frames); ++k) got.push_back(job.owned_frame(k));
                EXPECT_EQ(got, want) << "rank " << rank << " of " << size << ", " << frames << " frames";
            }
    nb::Job job;
    job.rank = 2, job.size = 3;
    EXPECT_EQ(job.frames_owned(2000000000), 666666666);
    EXPECT_EQ(job.owned_frame(666666665), 1999999997);
}

TEST(Series, FrameAloneEqualsFrameInSeries) {
    TempDir d("series");
    RunResult series = run_cli(with(kLyso, {"-phi", "10", "-nframes", "4", "-seed", "3", "-floatfile", "f_%02d.bin",
                                            "-intfile", "s_%02d.img", "-noisefile", "n_%02d.img"}),
                               d.path.string());
    ASSERT_EQ(series.exit_code, 0) << series.err;
    EXPECT_NE(series.out.find("job summary: 4 frames"), std::string::npos) << series.out;
    // frame 3 (1-based) is at phi = 10 + 2*1 and uses seed 3 + 2
    RunResult alone = run_cli(
        with(kLyso, {"-phi", "12", "-seed", "5", "-floatfile", "f.bin", "-intfile", "s.img", "-noisefile", "n.img"}),
        d.path.string());
    ASSERT_EQ(alone.exit_code, 0) << alone.err;
    EXPECT_EQ(read_file(d.file("f_03.bin")), read_file(d.file("f.bin")));
    EXPECT_EQ(read_file(d.file("s_03.img")), read_file(d.file("s.img")));
    EXPECT_EQ(read_file(d.file("n_03.img")), read_file(d.file("n.img")));
    std::string h = read_file(d.file("s_03.img")).substr(0, 512);
    EXPECT_NE(h.find("\nPHI=12;"), std::string::npos) << h;
    EXPECT_NE(h.find("\nOSC_START=12;"), std::string::npos);
    EXPECT_NE(h.find("\nOSC_RANGE=1;"), std::string::npos);
    EXPECT_NE(read_file(d.file("f_01.bin")), read_file(d.file("f_02.bin")));
    EXPECT_FALSE(std::filesystem::exists(d.file("f_05.bin")));
}

// -phi -0.3 -osc 0.1: frame 4 is at phi 0, as -phi 0 renders it alone (not at
// the sum's 5e-17 deg, which takes C's phi != 0 path: sum 7.8e-5 off C's).
TEST(Series, AFrameMeantAtPhiZeroIsAtZero) {
    TempDir d("series_phi_zero");
    const std::vector<std::string> base = {"-cell", "50", "60", "70",         "90", "90",   "90",  "-default_F",
                                           "100",   "-N", "4",  "-detpixels", "32", "-osc", "0.1", "-exact"};
    RunResult series = run_cli(with(base, {"-phi", "-0.3", "-nframes", "4", "-floatfile", "f_%d.bin", "-intfile",
                                           "s_%d.img", "-nonoise", "-nopgm"}),
                               d.path.string());
    ASSERT_EQ(series.exit_code, 0) << series.err;
    RunResult alone = run_cli(
        with(base, {"-phi", "0", "-floatfile", "f.bin", "-intfile", "s.img", "-nonoise", "-nopgm"}), d.path.string());
    ASSERT_EQ(alone.exit_code, 0) << alone.err;
    EXPECT_TRUE(read_file(d.file("f_4.bin")) == read_file(d.file("f.bin")));
    const std::string h = read_file(d.file("s_4.img")).substr(0, 512);
    EXPECT_NE(h.find("\nPHI=0;"), std::string::npos) << h;
}

TEST(Series, BadPatternIsRefusedBeforeRendering) {
    TempDir d("series_bad");
    RunResult r = run_cli(with(kLyso, {"-nframes", "2", "-intfile", "s_%s.img"}), d.path.string());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("-intfile"), std::string::npos) << r.err;
    RunResult z = run_cli(with(kLyso, {"-nframes", "0"}), d.path.string());
    EXPECT_EQ(z.exit_code, 2);
    EXPECT_NE(z.err.find("-nframes"), std::string::npos) << z.err;
}

// The GPU's orchestration of a series, run on the host backend of its frame
// pipeline (NB_PIPELINE_ON_HOST=1): two frames in flight, images recycled
// after writing, the device's statistics. Every file is byte for byte the
// scalar CPU executor's, one frame at a time; a shot list too.
TEST(Series, FramesInFlightWriteTheFilesOfOneAtATime) {
    TempDir d("series_in_flight");
    const auto files = with(kLyso, {"-phi", "10", "-seed", "3", "-mosaic", "0.3", "-mosaic_dom", "3", "-floatfile",
                                    "f_%02d.bin", "-intfile", "s_%02d.img", "-noisefile", "n_%02d.img"});
    // 16 threads: a writer per 4 of them, 4 frames' files at once
    const std::vector<std::pair<std::string, std::string>> scalar = {{"NB_CPU_ISA", "scalar"}},
                                                           pipeline = {{"NB_PIPELINE_ON_HOST", "1"},
                                                                       {"OMP_NUM_THREADS", "16"}};
    std::filesystem::create_directories(d.file("cpu"));
    std::filesystem::create_directories(d.file("pipe"));
    RunResult a = run_cli(with(files, {"-nframes", "5"}), d.file("cpu"), 600, cli_path(), scalar);
    RunResult b = run_cli(with(files, {"-nframes", "5"}), d.file("pipe"), 600, cli_path(), pipeline);
    ASSERT_EQ(a.exit_code, 0) << a.err;
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_NE(b.out.find("rendered on host-pipeline/double"), std::string::npos) << b.out;
    for (int i = 1; i <= 5; ++i)
        for (const char* pattern : {"f_%02d.bin", "s_%02d.img", "n_%02d.img"}) {
            char name[32];
            std::snprintf(name, sizeof name, pattern, i);
            SCOPED_TRACE(name);
            const std::string want = read_file(d.file(std::string("cpu/") + name));
            ASSERT_FALSE(want.empty());
            EXPECT_TRUE(want == read_file(d.file(std::string("pipe/") + name)));
        }
    // frames print in order, each with its own phi
    EXPECT_LT(b.out.find("frame 2 of 5: phi = 11 deg"), b.out.find("frame 3 of 5: phi = 12 deg"));
    EXPECT_NE(b.out.find("(4 frames at once)"), std::string::npos) << b.out;
    EXPECT_NE(a.out.find("(1 frame at once)"), std::string::npos) << a.out;
    // several frames' files are written at once behind a device, their lines still in frame order
    size_t at = 0;
    for (int i = 1; i <= 5; ++i)
        for (const char* pattern : {"n_%02d.img", "f_%02d.bin"}) {
            char line[48];
            std::snprintf(line, sizeof line, "wrote %s", pattern);
            std::snprintf(line, sizeof line, std::string(line).c_str(), i);
            const size_t pos = b.out.find(line);
            ASSERT_NE(pos, std::string::npos) << line;
            if (pattern[0] == 'n') EXPECT_GT(pos, at) << line << " before the previous frame's lines";
            at = std::max(at, pos);
        }
    // each frame's heading and statistics come after the previous frame's files' lines
    // and before its own (its writer prints them): the log reads frame by frame
    for (const RunResult* r : {&a, &b}) {
        size_t last = 0;
        for (int i = 1; i <= 5; ++i) {
            char head[32], wrote[32];
            std::snprintf(head, sizeof head, "frame %d of 5: phi", i);
            std::snprintf(wrote, sizeof wrote, "wrote f_%02d.bin", i);
            const size_t h = r->out.find(head), m = r->out.find("max_I = ", h), w = r->out.find(wrote);
            ASSERT_NE(h, std::string::npos) << head;
            EXPECT_GT(h, last) << head << " before the previous frame's files:\n" << r->out;
            EXPECT_LT(m, w) << head;
            last = w;
        }
    }
    // a shot list, in float
    std::ofstream(d.file("cpu/shots.txt")) << "random 1\nrandom 2\nrandom 3\n";
    std::filesystem::copy_file(d.file("cpu/shots.txt"), d.file("pipe/shots.txt"));
    const auto shots = with(kLyso, {"-shots", "shots.txt", "-precision", "float", "-floatfile", "shot_%d.bin"});
    a = run_cli(shots, d.file("cpu"), 600, cli_path(), scalar);
    b = run_cli(shots, d.file("pipe"), 600, cli_path(), pipeline);
    ASSERT_EQ(a.exit_code, 0) << a.err;
    ASSERT_EQ(b.exit_code, 0) << b.err;
    for (int i = 1; i <= 3; ++i) {
        const std::string name = "shot_" + std::to_string(i) + ".bin";
        SCOPED_TRACE(name);
        EXPECT_TRUE(read_file(d.file("cpu/" + name)) == read_file(d.file("pipe/" + name)));
    }
}

// A frame whose file cannot be written stops the series: the frames before it
// are in place, no later frame is (behind a device the next frame's files are
// staged while this one's are written, and are removed unplaced), and no
// temporary file is left.
TEST(Series, AFailedFrameStopsTheFramesAfterIt) {
    for (const bool pipeline : {false, true}) {
        SCOPED_TRACE(pipeline ? "frame pipeline" : "cpu");
        TempDir d(pipeline ? "series_fail_pipe" : "series_fail_cpu");
        for (int i : {1, 2, 4, 5, 6}) std::filesystem::create_directories(d.file("d" + std::to_string(i)));
        // a folder no file can be made in, not even by root: the targets pass
        // the check before rendering, and frame 3's files fail when staged
        std::filesystem::create_directory_symlink("/proc", d.file("d3"));
        std::vector<std::pair<std::string, std::string>> env;
        if (pipeline) env.push_back({"NB_PIPELINE_ON_HOST", "1"});
        RunResult r = run_cli(with(kLyso, {"-nframes", "6", "-floatfile", "f_%d.bin", "-intfile", "d%d/s.img"}),
                              d.path.string(), 600, cli_path(), env);
        EXPECT_NE(r.exit_code, 0);
        EXPECT_NE(r.err.find("-intfile"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("d3/s.img"), std::string::npos) << r.err;
        for (int i : {1, 2}) {
            EXPECT_TRUE(std::filesystem::exists(d.file("d" + std::to_string(i) + "/s.img"))) << i;
            EXPECT_TRUE(std::filesystem::exists(d.file("f_" + std::to_string(i) + ".bin"))) << i;
        }
        for (int i : {3, 4, 5, 6}) {
            EXPECT_FALSE(std::filesystem::exists(d.file("d" + std::to_string(i) + "/s.img"))) << i;
            EXPECT_FALSE(std::filesystem::exists(d.file("f_" + std::to_string(i) + ".bin"))) << i;
        }
        for (const auto& entry : std::filesystem::recursive_directory_iterator(d.path))
            EXPECT_EQ(entry.path().string().find(".partial"), std::string::npos) << entry.path();
    }
}
