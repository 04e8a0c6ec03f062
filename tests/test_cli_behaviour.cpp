// The CLI as a user meets it: exit codes, messages naming the flag or file,
// no output written on failure, existing files never clobbered by a failed run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "engine/smv_io.hpp"
#include "tests/run_cli.hpp"

using namespace nbtest;

namespace {

const std::vector<std::string> kSmall = {"-cell", "100",        "100", "100",   "90", "90",
                                         "90",    "-default_F", "100", "-N",    "5",  "-detpixels",
                                         "32",    "-distance",  "100", "-seed", "1"};

std::vector<std::string> with(std::vector<std::string> a, std::initializer_list<std::string> more) {
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

bool no_images(const TempDir& d) {
    for (const char* f : {"floatimage.bin", "intimage.img", "noiseimage.img", "image.pgm", "out.bin"})
        if (std::filesystem::exists(d.file(f))) return false;
    return true;
}

// A run of `base` then `extra` in d that must succeed: its float image (f.bin) and its output.
std::pair<std::string, std::string> float_image(const TempDir& d, const std::vector<std::string>& base,
                                                const std::vector<std::string>& extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"-floatfile", "f.bin"});
    RunResult r = run_cli(args, d.path.string());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return {read_file(d.file("f.bin")), r.out};
}

}  // namespace

TEST(CliBehaviour, WritesCsDefaultFilesAndStatistics) {
    TempDir d("cli_ok");
    RunResult r = run_cli(kSmall, d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(std::filesystem::file_size(d.file("floatimage.bin")), 32u * 32u * 4u);
    EXPECT_EQ(std::filesystem::file_size(d.file("intimage.img")), 512u + 32u * 32u * 2u);
    EXPECT_EQ(std::filesystem::file_size(d.file("noiseimage.img")), 512u + 32u * 32u * 2u);
    EXPECT_TRUE(std::filesystem::exists(d.file("image.pgm")));
    EXPECT_NE(r.out.find("max_I = "), std::string::npos);
    EXPECT_NE(r.out.find("mean= "), std::string::npos);
}

TEST(CliBehaviour, BadFlagsExitTwoNamingTheFlagAndWriteNothing) {
    struct Bad {
        std::vector<std::string> args;
        std::string expect;
    };
    std::vector<Bad> cases = {
        {with(kSmall, {"-bogus", "1"}), "-bogus"},
        {with(kSmall, {"-N", "five"}), "-N"},
        {with(kSmall, {"-detpixels", "-3"}), "-detpixels"},
        {with(kSmall, {"-lambda", "0"}), "-lambda"},
        {with(kSmall, {"-distance", "0"}), "-distance"},
        {{"-cell", "100", "100", "100", "-default_F", "1"}, "-cell"},
        {{"-default_F", "1"}, "-cell"},
        {{"-cell", "100", "100", "100", "90", "90", "90"}, "-hkl"},
        {with(kSmall, {"-hkl", "/nonexistent/F.hkl"}), "/nonexistent/F.hkl"},
        {with(kSmall, {"-mat", "/nonexistent/A.mat"}), "/nonexistent/A.mat"},
        {with(kSmall, {"-sourcefile", "/nonexistent/s.txt"}), "/nonexistent/s.txt"},
        {with(kSmall, {"-device", "tpu"}), "-device"},
    };
    for (const Bad& b : cases) {
        TempDir d("cli_bad");
        RunResult r = run_cli(b.args, d.path.string());
        EXPECT_EQ(r.exit_code, 2) << b.expect;
        // the first line is the error and names the flag or file; later lines are hints
        std::string first = r.err.substr(0, r.err.find('\n'));
        EXPECT_NE(first.find(b.expect), std::string::npos) << "stderr: " << r.err;
        EXPECT_EQ(first.rfind("nanoBragg: error: ", 0), 0u) << r.err;
        EXPECT_TRUE(no_images(d)) << b.expect;
    }
}

TEST(CliBehaviour, MalformedInputFilesAreRefusedWithTheirName) {
    TempDir d("cli_files");
    write_text(d.file("short.hkl"), "1 2 3 100\n4 5\n");
    write_text(d.file("text.hkl"), "1 2 3 abc\n");
    write_text(d.file("bad.mat"), "0.01 0 0\n0 0.01\n");
    write_text(d.file("empty.txt"), "\n\n");
    write_text(d.file("words.txt"), "-10 0 0 1\nup 0 0\n");
    write_text(d.file("mask.img"), "{\nHEADER_BYTES=512;\nDIM=2;\nSIZE1=64;\nSIZE2=64;\n}");
    // C would read these as 2, infinity, a source with no direction and one
    // of wavelength 0: an image of nothing or of NaN, with exit 0
    write_text(d.file("junk.txt"), "-10 0 0 1\n-10 0 2.0x 1\n");
    write_text(d.file("inf.txt"), "-10 0 0 inf\n");
    write_text(d.file("origin.txt"), "-10 0 0\n0 0 0 1\n");
    write_text(d.file("lambda0.txt"), "-10 0 0 1 0\n");
    // a binary file given by mistake: its bytes are quoted back as \xNN, not raw
    write_text(d.file("binary.hkl"), std::string("\x7f"
                                                 "ELF\x02\x01 1 2 3\n"));
    std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {with(kSmall, {"-sourcefile", d.file("junk.txt")}), "junk.txt' line 2: column 3 is not a number ('2.0x')"},
        {with(kSmall, {"-sourcefile", d.file("inf.txt")}), "inf.txt' line 1: column 4 is not finite"},
        {with(kSmall, {"-sourcefile", d.file("origin.txt")}),
         "origin.txt' source 2: the position 0 0 0 gives no direction to the sample"},
        {with(kSmall, {"-sourcefile", d.file("lambda0.txt")}), "lambda0.txt' source 1: the wavelength must be > 0"},
        {with(kSmall, {"-hkl", d.file("short.hkl")}), "short.hkl' line 2"},
        {with(kSmall, {"-hkl", d.file("text.hkl")}), "'abc' is not a number"},
        {with(kSmall, {"-mat", d.file("bad.mat")}), "needs 9"},
        {with(kSmall, {"-sourcefile", d.file("empty.txt")}), "no data rows"},
        {with(kSmall, {"-sourcefile", d.file("words.txt")}), "words.txt' line 2: column 1 is not a number"},
        {with(kSmall, {"-mask", d.file("mask.img")}), "-mask"},
        {with(kSmall, {"-hkl", d.file("binary.hkl")}), "binary.hkl' line 1: '\\x7fELF\\x02\\x01' is not a number"},
    };
    for (const auto& [args, expect] : cases) {
        RunResult r = run_cli(args, d.path.string());
        EXPECT_EQ(r.exit_code, 2) << expect;
        EXPECT_NE(r.err.find(expect), std::string::npos) << "stderr: " << r.err;
        for (unsigned char ch : r.err)
            EXPECT_TRUE((ch >= 0x20 && ch != 0x7f) || ch == '\n') << "a control byte in: " << r.err;
        EXPECT_FALSE(std::filesystem::exists(d.file("floatimage.bin"))) << expect;
    }
}

TEST(CliBehaviour, FailedRunLeavesExistingFilesUntouched) {
    TempDir d("cli_keep");
    write_text(d.file("floatimage.bin"), "precious");
    // the noise file's folder does not exist: the run fails after rendering
    RunResult r = run_cli(with(kSmall, {"-noisefile", "missing_dir/noise.img"}), d.path.string());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("missing_dir/noise.img"), std::string::npos) << r.err;
    EXPECT_EQ(read_file(d.file("floatimage.bin")), "precious");
    EXPECT_FALSE(std::filesystem::exists(d.file("intimage.img")));
    for (const auto& entry : std::filesystem::directory_iterator(d.path))
        EXPECT_EQ(entry.path().filename().string().find(".partial"), std::string::npos) << entry.path();
}

// A target that is a folder, or in a folder that is not there, stops the run
// before rendering: no other output is written or replaced (every file kind).
TEST(CliBehaviour, AFolderAsAnOutputStopsTheRunBeforeAnyFileIsWritten) {
    TempDir d("cli_folder_target");
    write_text(d.file("keep.bin"), "precious");
    std::filesystem::create_directories(d.file("adir"));
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"-intfile", "adir"}, "-intfile: 'adir' is a folder, not a file"},
        {{"-noisefile", "adir"}, "-noisefile: 'adir' is a folder, not a file"},
        {{"-pgmfile", "adir"}, "-pgmfile: 'adir' is a folder, not a file"},
        {{"-nexusfile", "adir"}, "-nexusfile: 'adir' is a folder, not a file"},
        {{"-pngfile", "adir"}, "-pngfile: 'adir' is a folder, not a file"},
        {{"-cbffile", "adir"}, "-cbffile: 'adir' is a folder, not a file"},
        {{"-intfile", "nodir/x.img"}, "-intfile: cannot create 'nodir/x.img': 'nodir' does not exist"},
        {{"-intfile", "keep.bin/x.img"}, "-intfile: cannot create 'keep.bin/x.img': 'keep.bin' is not a folder"},
        {{"-nframes", "3", "-intfile", "s_%d.img", "-nonoise"}, "-intfile: 's_2.img' is a folder, not a file"},
        {{"-intfile", "keep.bin"}, "-intfile: 'keep.bin' is also the -floatfile file: give each output its own name"},
    };
    std::filesystem::create_directories(d.file("s_2.img"));
    for (const auto& [extra, message] : cases) {
        std::vector<std::string> args = with(kSmall, {"-floatfile", "keep.bin"});
        args.insert(args.end(), extra.begin(), extra.end());
        RunResult r = run_cli(args, d.path.string());
        EXPECT_EQ(r.exit_code, 2) << extra[1];
        EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
        EXPECT_EQ(r.out.find("max_I"), std::string::npos) << "rendered before refusing " << extra[1];
        EXPECT_EQ(read_file(d.file("keep.bin")), "precious") << extra[1];
        EXPECT_TRUE(no_images(d)) << extra[1];
        EXPECT_FALSE(std::filesystem::exists(d.file("s_1.img")));
    }
}

TEST(CliBehaviour, FdumpCacheIsWrittenAndReadBack) {
    TempDir d("cli_fdump");
    write_text(d.file("F.hkl"), "# comment\n0 0 1 50 0.5\n1 2 3 100\n\n-1 0 2 25\n");
    RunResult first = run_cli(with(kSmall, {"-hkl", "F.hkl", "-floatfile", "a.bin"}), d.path.string());
    ASSERT_EQ(first.exit_code, 0) << first.err;
    ASSERT_TRUE(std::filesystem::exists(d.file("Fdump.bin")));
    RunResult second = run_cli(with(kSmall, {"-floatfile", "b.bin"}), d.path.string());
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(read_file(d.file("a.bin")), read_file(d.file("b.bin")));
}

// -device auto: a short run stays on the CPU, GPU or not (it would be done
// before CUDA had started), and says so; a longer one looks for a GPU.
TEST(CliBehaviour, AutoKeepsShortRunsOnTheCpu) {
    TempDir d("cli_auto_short");
    RunResult r = run_cli(with(kSmall, {"-device", "auto", "-threads", "1"}), d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // 32x32 pixels, 2x2 sub-pixels (auto-selected)
    EXPECT_NE(r.out.find("-device auto: a short run (4.1e+03 evaluations, 1 CPU thread) renders on the CPU"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("rendered on cpu/double"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("no CUDA GPU found"), std::string::npos) << r.out;  // CUDA not asked
}

TEST(CliBehaviour, DeviceCudaWithoutGpuIsAnErrorAndAutoFallsBack) {
    TempDir d("cli_dev");
    // long enough for auto to look for a GPU: 32x32 pixels x 62x62 sub-pixels,
    // 3.94e6 evaluations, over the 3.75e6 one thread renders in 0.25 s
    RunResult autor = run_cli(with(kSmall, {"-device", "auto", "-threads", "1", "-oversample", "62"}), d.path.string());
    ASSERT_EQ(autor.exit_code, 0) << autor.err;
    EXPECT_EQ(autor.out.find("a short run"), std::string::npos) << autor.out;
    if (autor.out.find("rendered on cuda") != std::string::npos) GTEST_SKIP() << "a GPU is present";
    EXPECT_NE(autor.out.find("no CUDA GPU found: rendering on the CPU"), std::string::npos) << autor.out;
    TempDir d2("cli_dev2");
    RunResult cuda = run_cli(with(kSmall, {"-device", "cuda"}), d2.path.string());
    EXPECT_EQ(cuda.exit_code, 2);
    EXPECT_NE(cuda.err.find("-device cuda: no CUDA GPU found (use -device cpu)"), std::string::npos) << cuda.err;
    EXPECT_TRUE(no_images(d2));
}

TEST(CliBehaviour, TooLargeForMemoryIsAClearError) {
    TempDir d("cli_big");
    ::setenv("NB_MEMORY_LIMIT_MB", "64", 1);
    // 8192x8192 floats = 256 MB > 64 MB
    RunResult big = run_cli(with(kSmall, {"-detpixels", "8192"}), d.path.string());
    // absurd but legal indices: a 2001^3 grid of doubles
    write_text(d.file("far.hkl"), "-1000 -1000 -1000 1\n1000 1000 1000 2\n");
    RunResult grid = run_cli(with(kSmall, {"-hkl", "far.hkl"}), d.path.string());
    // indices beyond any real reflection list
    write_text(d.file("absurd.hkl"), "0 0 0 1\n5000000 0 0 2\n");
    RunResult absurd = run_cli(with(kSmall, {"-hkl", "absurd.hkl"}), d.path.string());
    ::unsetenv("NB_MEMORY_LIMIT_MB");
    EXPECT_EQ(big.exit_code, 2);
    EXPECT_NE(big.err.find("-detpixels: a 8192x8192 image needs 256 MB"), std::string::npos) << big.err;
    EXPECT_EQ(grid.exit_code, 2);
    EXPECT_NE(grid.err.find("too large for this machine's memory"), std::string::npos) << grid.err;
    EXPECT_EQ(absurd.exit_code, 2);
    EXPECT_NE(absurd.err.find("out of range"), std::string::npos) << absurd.err;
    EXPECT_TRUE(no_images(d));
}

TEST(CliBehaviour, SmvHeadersThatLieAreRefused) {
    TempDir d("cli_smv");
    auto smv = [&](const std::string& name, const std::string& keys, size_t data_bytes) {
        std::string h =
            "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\n" + keys + "}\f";
        h.resize(512, ' ');
        write_text(d.file(name), h + std::string(data_bytes, '\1'));
    };
    smv("short.img", "SIZE1=64;\nSIZE2=64;\n", 100);  // promises 8192 data bytes
    smv("huge_header.img", "SIZE1=4;\nSIZE2=4;\nHEADER_BYTES=99999;\n", 32);
    smv("nosize.img", "PIXEL_SIZE=0.1;\n", 32);
    write_text(d.file("notsmv.img"), std::string(600, 'x'));
    // values that had read as absent (NaN) or went on to another flag's error
    smv("nan.img", "SIZE1=4;\nSIZE2=4;\nDISTANCE=nan;\n", 32);
    smv("inf_pixel.img", "SIZE1=4;\nSIZE2=4;\nPIXEL_SIZE=inf;\n", 32);
    smv("negative_pixel.img", "SIZE1=4;\nSIZE2=4;\nPIXEL_SIZE=-0.1;\n", 32);
    for (const auto& [file, expect] : std::vector<std::pair<std::string, std::string>>{
             {"short.img", "is truncated"},
             {"huge_header.img", "is shorter than its HEADER_BYTES"},
             {"nosize.img", "has missing or invalid SIZE1/SIZE2"},
             {"notsmv.img", "does not look like an SMV"},
             {"nan.img", "has DISTANCE = nan, not a finite number"},
             {"inf_pixel.img", "has PIXEL_SIZE = inf, not a number above 0"},
             {"negative_pixel.img", "has PIXEL_SIZE = -0.1, not a number above 0"}}) {
        for (const char* flag : {"-img", "-mask"}) {
            RunResult r = run_cli(with(kSmall, {flag, file}), d.path.string());
            EXPECT_EQ(r.exit_code, 2) << file;
            EXPECT_NE(r.err.find(std::string(flag) + ": '" + file + "' " + expect), std::string::npos) << r.err;
        }
    }
    EXPECT_TRUE(no_images(d));
}

// A noise file that is the noise image's only use is drawn block by block into
// the file; with a miniCBF beside it the whole image is made first. Both hold
// the same pixels and print the same photon count (the file of 1100 rows is
// written in several blocks).
TEST(CliBehaviour, NoiseDrawnIntoTheFilesBlocksIsTheWholeNoiseImage) {
    TempDir d("cli_noise_rows");
    const std::vector<std::string> base = {
        "-cell", "100",       "100", "100",   "90", "90",     "90",   "-default_F", "100", "-N",   "5",  "-detpixels",
        "1100",  "-distance", "100", "-seed", "3",  "-pixel", "0.05", "-roi",       "10",  "1000", "20", "1090"};
    RunResult a = run_cli(with(base, {"-noisefile", "a.img", "-nopgm"}), d.path.string());
    RunResult b = run_cli(with(base, {"-noisefile", "b.img", "-cbffile", "b.cbf", "-nopgm"}), d.path.string());
    ASSERT_EQ(a.exit_code, 0) << a.err;
    ASSERT_EQ(b.exit_code, 0) << b.err;
    const std::string pa = read_file(d.file("a.img")), pb = read_file(d.file("b.img"));
    ASSERT_EQ(pa.size(), 512u + 1100u * 1100u * 2u);
    EXPECT_TRUE(pa.substr(512) == pb.substr(512));
    auto photons_line = [](const std::string& out) {
        const size_t at = out.find(" photons on noise image");
        if (at == std::string::npos) return std::string();
        const size_t start = out.rfind('\n', at) + 1;  // npos + 1 = 0: the first line
        return out.substr(start, at - start);
    };
    EXPECT_FALSE(photons_line(a.out).empty()) << a.out;
    EXPECT_EQ(photons_line(a.out), photons_line(b.out));
}

// A header text past 512 bytes (a turned detector, long numbers): C writes on
// past byte 512 while saying HEADER_BYTES=512, and readers (DIALS) take the
// tail for pixels. -exact keeps C's bytes, with a WARNING; otherwise the file
// says HEADER_BYTES=1024 and holds the same pixels after it.
TEST(CliBehaviour, AnSmvHeaderPast512BytesSaysItsSize) {
    EXPECT_EQ(nb::smv_header_block("{\nHEADER_BYTES=512;\n}\f", false).size(), 512u);
    const std::string text = "{\nHEADER_BYTES=512;\n" + std::string(500, 'x') + "\n}\f";
    EXPECT_EQ(nb::smv_header_block(text, true), text);
    const std::string block = nb::smv_header_block(text, false);
    EXPECT_EQ(block.size(), 1024u);
    EXPECT_EQ(block.rfind("{\nHEADER_BYTES=1024;\n", 0), 0u);

    TempDir d("cli_long_header");
    const std::vector<std::string> turned = {
        "-pixel",         "0.1723", "-distance",      "123.4567", "-lambda",   "1.23456", "-detector_rotx", "3.123",
        "-detector_roty", "-2.777", "-detector_rotz", "1.555",    "-twotheta", "12.3456", "-nopgm"};
    std::vector<std::string> args = kSmall;
    args.insert(args.end(), turned.begin(), turned.end());
    std::vector<std::string> exact = args;
    args.insert(args.end(), {"-intfile", "i.img", "-noisefile", "n.img"});
    exact.insert(exact.end(), {"-exact", "-intfile", "ci.img", "-noisefile", "cn.img"});
    RunResult r = run_cli(args, d.path.string()), c = run_cli(exact, d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(c.exit_code, 0) << c.err;
    EXPECT_EQ((r.out + r.err).find("WARNING: -intfile/-noisefile: the SMV header"), std::string::npos);
    const size_t pixels_bytes = 32 * 32 * 2;
    const size_t c_header = read_file(d.file("ci.img")).size() - pixels_bytes;
    ASSERT_GT(c_header, 512u);
    EXPECT_NE((c.out + c.err)
                  .find("WARNING: -intfile/-noisefile: the SMV header is " + std::to_string(c_header) +
                        " bytes; -exact writes it as C does, saying HEADER_BYTES=512, so readers take its last " +
                        std::to_string(c_header - 512) + " bytes for pixels"),
              std::string::npos)
        << c.out << c.err;
    for (const char* f : {"i.img", "n.img"}) {
        const std::string ours = read_file(d.file(f)), cs = read_file(d.file(std::string("c") + f));
        ASSERT_EQ(ours.size(), 1024 + pixels_bytes) << f;
        ASSERT_EQ(cs.size(), c_header + pixels_bytes) << f;
        // the same pixels (the default mode's noise is drawn otherwise than C's)
        if (std::string(f) == "i.img") EXPECT_TRUE(ours.substr(1024) == cs.substr(c_header));
        const nb::SmvImage img = nb::parse_smv(ours, f, "-intfile");
        EXPECT_EQ(img.header_size, 1024);
        EXPECT_EQ(img.width, 32);
        EXPECT_NEAR(img.value_of("TWOTHETA"), 12.3456, 1e-9);
    }
}

// -printout_pixel and -trace_pixel outside the detector stop the run before
// anything is written; outside the -roi or masked they warn and render; -roi's
// -1 is that edge of the detector, as in C.
TEST(CliBehaviour, PixelReportsNameBadPixelsAndRoiTakesNegativesAsTheEdge) {
    TempDir d("cli_pixel_reports");
    for (const auto& bad : std::vector<std::vector<std::string>>{
             {"-printout_pixel", "32", "0"}, {"-printout_pixel", "0", "40"}, {"-trace_pixel", "32", "1"}}) {
        RunResult r = run_cli(with(with(kSmall, {"-floatfile", "out.bin"}), {bad[0], bad[1], bad[2]}), d.path.string());
        EXPECT_EQ(r.exit_code, 2) << bad[0];
        EXPECT_NE(r.err.find(bad[0] + ": pixel (fast "), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("outside the 32x32 detector"), std::string::npos) << r.err;
        EXPECT_TRUE(no_images(d)) << bad[0];
    }
    RunResult r = run_cli(with(kSmall, {"-roi", "4", "9", "4", "9", "-printout_pixel", "2", "2", "-trace_pixel", "5",
                                        "6", "-floatfile", "out.bin"}),
                          d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("WARNING: -printout_pixel: pixel (fast 2, slow 2) is outside the -roi"), std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find(" : stol = "), std::string::npos);
    EXPECT_NE(r.out.find("TRACE_CONFIG: tracing pixel (spixel=5, fpixel=6)"), std::string::npos);
    EXPECT_NE(r.out.find("TRACE_C: floatimage_accumulated "), std::string::npos);

    // -printout alone: one block per rendered pixel, 6x6 of them
    r = run_cli(with(kSmall, {"-roi", "4", "9", "4", "9", "-printout", "-floatfile", "out.bin"}), d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    size_t blocks = 0;
    for (size_t p = 0; (p = r.out.find(" : stol = ", p)) != std::string::npos; ++p) ++blocks;
    EXPECT_EQ(blocks, 36u);
    EXPECT_NE(r.out.find("   4    4 : stol = "), std::string::npos);
    EXPECT_NE(r.out.find("   9    9 : stol = "), std::string::npos);
    // as C: -printout_pixel with any negative fast is -printout; -trace_pixel -1 -1 is off;
    // a pixel traced outside the -roi still gets C's TRACE_CONFIG line, and no TRACE_C
    const std::string all = r.out.substr(r.out.find("   4    4 : stol = "));
    r = run_cli(with(kSmall, {"-roi", "4", "9", "4", "9", "-printout_pixel", "-2", "-7", "-trace_pixel", "-1", "-1",
                              "-floatfile", "out.bin"}),
                d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(all.substr(0, all.find("\n", all.rfind(" : stol = ")))), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("TRACE_C"), std::string::npos);
    r = run_cli(with(kSmall, {"-roi", "4", "9", "4", "9", "-trace_pixel", "1", "2", "-floatfile", "out.bin"}),
                d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("WARNING: -trace_pixel: pixel (fast 2, slow 1) is outside the -roi"), std::string::npos);
    EXPECT_NE(r.out.find("TRACE_CONFIG: tracing pixel (spixel=1, fpixel=2)"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("TRACE_C:"), std::string::npos);
    for (const auto& bad : std::vector<std::vector<std::string>>{
             {"-trace_pixel", "-1", "3", "-trace_pixel: slow and fast are a pixel"},
             {"-trace_pixel", "3", "-2", "-trace_pixel: -2 is out of range"},
             {"-printout_pixel", "3", "-1", "-printout_pixel: slow -1 with fast 3 names no pixel"}}) {
        r = run_cli(with(kSmall, {bad[0], bad[1], bad[2], "-floatfile", "bad.bin"}), d.path.string());
        EXPECT_EQ(r.exit_code, 2) << bad[0];
        EXPECT_NE(r.err.find(bad[3]), std::string::npos) << r.err;
        EXPECT_FALSE(std::filesystem::exists(d.file("bad.bin")));
    }

    const std::string whole =
        read_file((run_cli(with(kSmall, {"-floatfile", "whole.bin"}), d.path.string()), d.file("whole.bin")));
    r = run_cli(with(kSmall, {"-roi", "-1", "-1", "-1", "-1", "-floatfile", "roi.bin"}), d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(d.file("roi.bin")), whole);
    // any negative bound is that edge, as C reads it (the image byte-identical to C's by hand,
    // 2026-12-04); beyond int's range is refused
    r = run_cli(with(kSmall, {"-roi", "-2", "5", "-7", "5", "-floatfile", "neg.bin"}), d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_cli(with(kSmall, {"-roi", "0", "5", "0", "5", "-floatfile", "zero.bin"}), d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(d.file("neg.bin")), read_file(d.file("zero.bin")));
    EXPECT_NE(read_file(d.file("neg.bin")), whole);
    r = run_cli(with(kSmall, {"-roi", "0", "5", "0", "3e9", "-floatfile", "big.bin"}), d.path.string());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("-roi: 3e9 is out of range"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(d.file("big.bin")));
}

// The set-up summary carries C nanoBragg's lines (scripts read them): values
// here are C's output for the same command lines.
TEST(CliBehaviour, SetupSummaryPrintsCsLines) {
    TempDir d("cli_setup_lines");
    const std::vector<std::string> base = {"-cell", "50",         "60", "70",    "90", "95",
                                           "90",    "-default_F", "10", "-N",    "3",  "-detpixels",
                                           "32",    "-distance",  "50", "-seed", "5"};
    RunResult r = run_cli(with(base, {"-tophat_spots", "-xds", "-twotheta", "10", "-roi", "2", "20", "3", "25",
                                      "-water", "100", "-floatfile", "a.bin"}),
                          d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* line :
         {"  tophat-spot xtal: 3x3x3 cells\n", "  Fbeam=0.0016 Sbeam=0.0102824\n",
          "  DIRECTION_OF_DETECTOR_Y-AXIS= 0 0.984808 0.173648\n",
          "  DIRECTION_OF_DETECTOR_Z-AXIS= 0 -0.173648 0.984808\n", "  INCIDENT_BEAM_DIRECTION= 0 0 1\n",
          "  spindle ROTATION_AXIS= 1 0 0\n", "  POLARIZATION_PLANE_NORMAL= 0 1 0\n",
          "  dials origin= 48.9626 -10.2581 1.6\n", "  roi: 2 < x < 20 && 3 < y < 25\n",
          "  hdivrange=0 hdivstep=0  radians\n", "  1 divergence steps\n", "\n  noise image paramters:\n  seed: -5\n",
          "  water droplet size: 0.0001 m\n", "XDS incident beam: 0 0.173648 0.984808\n",
          "auto-selected no interpolation\n", "Recp Cell: 0.0200764 0.0166667 0.0143403 90 85 90\n",
          "X: 49.80973490 -0.00000000  0.00000000\n", "X:  0.02007640 -0.00000000  0.00124984\n",
          "solid angle subtended by detector = 0.00174696 steradian ( 0.0139018% sphere)\n"})
        EXPECT_NE(r.out.find(line), std::string::npos) << line << r.out;
    // C chooses the oversampling from the crystal's size, and says so after "crystal is"
    const size_t crystal_at =
        r.out.find("\ncrystal is 0.015 x 0.018 x 0.021 microns\nauto-selected 2-fold oversampling\n");
    EXPECT_NE(crystal_at, std::string::npos) << r.out;
    EXPECT_LT(r.out.find("Unit Cell: "), crystal_at);
    write_text(d.file("src.txt"), "0 0 -10 1 1e-10\n-10 0.01 0 1 1.1e-10\n");
    const std::vector<std::string> thick_curved =
        with(base, {"-oversample_omega", "-detector_thick", "100", "-detector_thicksteps", "2", "-curved_det", "1"});
    r = run_cli(with(thick_curved, {"-sourcefile", "src.txt", "-oversample", "2", "-oversample_polar", "-nonoise",
                                    "-source_distance", "3", "-floatfile", "b.bin"}),
                d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("  -1 divergence steps\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("  2x2 pixel oversample steps +polar +omega\n"), std::string::npos) << r.out;
    // a thick sensor's layers, each sub-pixel's solid angle and the curved detector, as C sums them
    EXPECT_NE(r.out.find("solid angle subtended by detector = 0.004096 steradian ( 0.0325949% sphere)\n"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("noise image paramters"), std::string::npos) << r.out;
    EXPECT_NE((r.out + r.err).find("WARNING: -source_distance changes nothing"), std::string::npos);
    // it changes nothing indeed
    ASSERT_EQ(run_cli(with(thick_curved, {"-sourcefile", "src.txt", "-oversample", "2", "-oversample_polar", "-nonoise",
                                          "-floatfile", "c.bin"}),
                      d.path.string())
                  .exit_code,
              0);
    EXPECT_EQ(read_file(d.file("b.bin")), read_file(d.file("c.bin")));
}

// HDF5 loads the filter plugins while it looks for bitshuffle; Debian builds
// the bitshuffle and LZF plugins with -ffast-math, whose loading turned on
// flush-to-zero: 2914 of these 4096 subnormal pixels came out 0 beside a
// -nexusfile.
TEST(CliBehaviour, ANexusFileLeavesSubnormalPixelsAsTheyAre) {
    TempDir d("cli_nexus_subnormal");
    const std::vector<std::string> args = {
        "-cell", "50",       "50",         "50",      "90",     "90",     "90",        "-default_F", "10",
        "-N",    "5",        "-detpixels", "64",      "-pixel", "0.1",    "-distance", "100",        "-lambda",
        "1",     "-fluence", "1e-8",       "-device", "cpu",    "-nopgm", "-nonoise"};
    RunResult plain = run_cli(with(args, {"-floatfile", "a.bin"}), d.path.string());
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    RunResult nexus = run_cli(with(args, {"-floatfile", "b.bin", "-nexusfile", "b.h5"}), d.path.string());
    ASSERT_EQ(nexus.exit_code, 0) << nexus.err;
    const std::string a = read_file(d.file("a.bin")), b = read_file(d.file("b.bin"));
    ASSERT_EQ(a.size(), 64u * 64u * 4u);
    int subnormal = 0;
    for (size_t i = 0; i < a.size(); i += 4) {
        float v;
        std::memcpy(&v, a.data() + i, 4);
        if (std::fpclassify(v) == FP_SUBNORMAL) ++subnormal;
    }
    EXPECT_GT(subnormal, 2000);
    EXPECT_TRUE(a == b) << "the float image changed beside a -nexusfile";
}

// A device or pipe named as an output is written where it is, as C writes it:
// -floatfile /dev/null had been replaced by a regular file (a temporary renamed
// over it), and a series had created /dev/null_0001, ... beside it.
TEST(CliBehaviour, ADeviceOrPipeAsAnOutputIsWrittenInPlace) {
    TempDir d("cli_stream_targets");
    std::filesystem::create_symlink("/dev/null", d.file("dn"));
    const std::vector<std::string> base = {"-cell", "50",         "50",    "50", "90",      "90",
                                           "90",    "-default_F", "10",    "-N", "2",       "-detpixels",
                                           "16",    "-nopgm",     "-seed", "1",  "-device", "cpu"};
    RunResult r = run_cli(with(base, {"-floatfile", "dn", "-intfile", "dn", "-noisefile", "dn", "-nframes", "3"}),
                          d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::is_symlink(d.file("dn")));
    EXPECT_TRUE(std::filesystem::is_character_file(d.file("dn")));
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(d.path)) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"dn", "stderr.txt", "stdout.txt"}));
    // a pipe: the frames one after another, through one open (held open here,
    // read and write, so that the program's open does not wait; its 2 KB fit
    // the pipe's buffer)
    ASSERT_EQ(::mkfifo(d.file("pipe").c_str(), 0600), 0);
    const int fd = ::open(d.file("pipe").c_str(), O_RDWR | O_NONBLOCK);
    ASSERT_GE(fd, 0);
    r = run_cli(with(base, {"-floatfile", "pipe", "-intfile", "i.img", "-nonoise", "-nframes", "2"}), d.path.string(),
                60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string got;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) got.append(buf, (size_t)n);
    ::close(fd);
    EXPECT_EQ(got.size(), 2u * 16u * 16u * 4u);
    EXPECT_EQ((std::filesystem::status(d.file("pipe")).type()), std::filesystem::file_type::fifo);
    // HDF5 needs a file it can seek
    r = run_cli(with(base, {"-floatfile", "f.bin", "-nexusfile", "dn"}), d.path.string());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("-nexusfile: 'dn' is a device or pipe"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(d.file("f.bin")));
}

// One file under two names, or an input named as an output: refused before
// anything is written. "-intfile a.img -noisefile ./a.img" had replaced a.img
// and the default outputs, then failed naming ENOENT; "-intfile lyso.hkl"
// had replaced the HKL file (exit 0); a_%d's frame 11 had been a_1%d's frame
// 1, and a NeXus data file a -floatfile frame, silently.
TEST(CliBehaviour, OneFileUnderTwoNamesOrAnInputAsAnOutputIsRefused) {
    TempDir d("cli_one_file_two_names");
    std::filesystem::create_directory(d.file("sub"));
    std::filesystem::create_directory_symlink("sub", d.file("lnk"));
    write_text(d.file("a.img"), "precious");
    write_text(d.file("F.hkl"), "0 0 1 10\n");
    const std::vector<std::string> base = {"-cell", "50",         "50", "50",    "90", "90",      "90", "-N",
                                           "2",     "-detpixels", "16", "-seed", "1",  "-device", "cpu"};
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"-default_F", "10", "-intfile", "a.img", "-noisefile", "./a.img"},
         "-noisefile: './a.img' is also the -intfile file: give each output its own name"},
        {{"-default_F", "10", "-intfile", "sub/b.img", "-floatfile", "lnk/b.img"},
         "-intfile: 'sub/b.img' is also the -floatfile file: give each output its own name"},
        {{"-hkl", "F.hkl", "-intfile", "./F.hkl"}, "-intfile: './F.hkl' is an input file of this run (-hkl)"},
        {{"-default_F", "10", "-osc", "1", "-nframes", "12", "-intfile", "a_%d.img", "-noisefile", "a_1%d.img"},
         "-noisefile: 'a_11.img' is also the -intfile file: give each output its own name"},
        {{"-default_F", "10", "-osc", "1", "-nframes", "2", "-nexusfile", "n.h5", "-nexus_frames_per_file", "1",
          "-floatfile", "n_data_%06d.h5"},
         "-floatfile: 'n_data_000001.h5' is also a data file of -nexusfile: give each output its own name"},
    };
    for (const auto& [extra, message] : cases) {
        std::vector<std::string> args = base;
        args.insert(args.end(), extra.begin(), extra.end());
        RunResult r = run_cli(args, d.path.string());
        EXPECT_EQ(r.exit_code, 2) << message;
        EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    }
    EXPECT_EQ(read_file(d.file("a.img")), "precious");
    EXPECT_EQ(read_file(d.file("F.hkl")), "0 0 1 10\n");
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(d.path)) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"F.hkl", "a.img", "lnk", "stderr.txt", "stdout.txt", "sub"}));
    EXPECT_TRUE(std::filesystem::is_empty(d.file("sub")));
}

// -exact's noise image is C's byte for byte where pixels are +inf too: C's
// Gaussian draw there is inf + inf x g, NaN whenever g <= 0, and NaN converts
// to 0 (the pixels below are C nanoBragg's, this command line, measured). The
// default mode had written 65535 for every one of them in -exact too.
TEST(CliBehaviour, ExactNoiseOfInfinitePixelsIsCs) {
    TempDir d("cli_exact_inf_noise");
    RunResult r = run_cli({"-cell",
                           "50",
                           "50",
                           "50",
                           "90",
                           "90",
                           "90",
                           "-default_F",
                           "100",
                           "-N",
                           "3",
                           "-lambda",
                           "1",
                           "-distance",
                           "100",
                           "-detpixels",
                           "32",
                           "-point_pixel",
                           "-oversample_omega",
                           "-oversample",
                           "6",
                           "-seed",
                           "5",
                           "-roi",
                           "0",
                           "15",
                           "0",
                           "0",
                           "-exact",
                           "-noisefile",
                           "n.img"},
                          d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("-nan photons on noise image (8 overloads)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("the noise image counts them as C does"), std::string::npos) << r.out;
    const std::string img = read_file(d.file("n.img"));
    ASSERT_EQ(img.size(), 512u + 32u * 32u * 2u);
    std::vector<uint16_t> px(16);
    std::memcpy(px.data(), img.data() + 512, 32);
    EXPECT_EQ(px,
              (std::vector<uint16_t>{65535, 0, 65535, 65535, 65535, 0, 0, 65535, 0, 65535, 0, 65535, 0, 0, 65535, 0}));
}

// An output named by a link is written to the file it names, as C's fopen
// does (the link had been replaced by a file); a name of 250 bytes works (its
// temporary name had passed the 255 a name may hold), one of 256 is refused
// before anything is written, as is a NeXus data file's name that would be.
TEST(CliBehaviour, OutputsThroughLinksAndLongNames) {
    TempDir d("cli_links_long_names");
    std::filesystem::create_directory(d.file("store"));
    write_text(d.file("store/real.img"), "old");
    std::filesystem::create_symlink("store/real.img", d.file("link.img"));
    std::filesystem::create_symlink("store/new.bin", d.file("dangling.bin"));
    const std::vector<std::string> base = {"-cell", "50",     "50",       "50",         "90", "90",
                                           "90",    "-N",     "2",        "-default_F", "10", "-detpixels",
                                           "16",    "-nopgm", "-nonoise", "-device",    "cpu"};
    RunResult r = run_cli(with(base, {"-intfile", "link.img", "-floatfile", "dangling.bin"}), d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::is_symlink(d.file("link.img")));
    EXPECT_TRUE(std::filesystem::is_symlink(d.file("dangling.bin")));
    EXPECT_EQ(read_file(d.file("store/real.img")).size(), 512u + 16u * 16u * 2u);
    EXPECT_EQ(read_file(d.file("store/new.bin")).size(), 16u * 16u * 4u);
    const std::string long_name(246, 'a');
    r = run_cli(with(base, {"-intfile", long_name + ".img", "-floatfile", "f.bin"}), d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::exists(d.file(long_name + ".img")));
    const std::string too_long(252, 'b');
    r = run_cli(with(base, {"-intfile", too_long + ".img", "-floatfile", "g.bin"}), d.path.string());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("the file name is 256 bytes long (at most 255)"), std::string::npos) << r.err;
    r = run_cli(with(base, {"-floatfile", "g.bin", "-nexusfile", long_name + ".h5", "-nexus_frames_per_file", "1"}),
                d.path.string());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("-nexusfile: '" + long_name + "_data_000001.h5': the file name is 261 bytes long"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(std::filesystem::exists(d.file("g.bin")));
}

// -beamsize negative, as C reads it: the crystal is not clipped to the beam
// and -flux does not set the fluence (C compares the size with 0). It had been
// refused; C's images were byte-identical by hand (2026-12-04). The clipping
// warning prints its sizes as C does.
TEST(CliBehaviour, NegativeBeamsizeLeavesTheCrystalUnclipped) {
    TempDir d("cli_negative_beamsize");
    const std::vector<std::string> base = {"-cell",  "100",        "100", "100",         "90",  "90",
                                           "90",     "-default_F", "100", "-xtalsize",   "0.2", "-detpixels",
                                           "24",     "-distance",  "100", "-oversample", "1",   "-nonoise",
                                           "-nopgm", "-device",    "cpu"};
    auto image = [&](const std::vector<std::string>& extra) { return float_image(d, base, extra); };
    const auto unclipped = image({"-beamsize", "-1", "-flux", "1e12"});
    const auto wide = image({"-beamsize", "1000"});
    const auto clipped = image({});  // the 0.1 mm beam clips the 0.2 mm crystal
    ASSERT_EQ(unclipped.first.size(), 24u * 24u * 4u);
    EXPECT_EQ(unclipped.first, wide.first);
    EXPECT_NE(clipped.first, wide.first);
    EXPECT_EQ(unclipped.second.find("WARNING: clipping"), std::string::npos);
    // C's %lg (ours had printed 0.000200 m)
    EXPECT_NE(clipped.second.find("WARNING: clipping sample (0.0002 m high) with beam (0.0001 m)"), std::string::npos)
        << clipped.second;
    RunResult r = run_cli({"-cell", "100", "100", "100", "90", "90", "90", "-beamsize", "0"}, d.path.string());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("-beamsize: 0 is a beam of no size"), std::string::npos) << r.err;
    r = run_cli({"-cell", "100", "100", "100", "90", "90", "90", "-default_F", "100", "-detpixels", "8", "-beamsize",
                 "-1", "-amorphous", "water:0.1"},
                d.path.string());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("-beamsize -1 mm gives it no size"), std::string::npos) << r.err;
}

// A NeXus data file named by a link is written to the file the link names, as
// the master and every other output are (it had been replaced by a file).
TEST(CliBehaviour, NexusDataFilesThroughLinks) {
    TempDir d("cli_nexus_links");
    std::filesystem::create_directory(d.file("store"));
    std::filesystem::create_symlink("store/d1.h5", d.file("n_data_000001.h5"));
    write_text(d.file("store/d2.h5"), "old");
    std::filesystem::create_symlink("store/d2.h5", d.file("n_data_000002.h5"));
    const RunResult r = run_cli({"-cell",    "50",
                                 "50",       "50",
                                 "90",       "90",
                                 "90",       "-N",
                                 "2",        "-default_F",
                                 "10",       "-detpixels",
                                 "16",       "-nopgm",
                                 "-nonoise", "-device",
                                 "cpu",      "-nframes",
                                 "2",        "-osc",
                                 "0.1",      "-floatfile",
                                 "f_%d.bin", "-nexusfile",
                                 "n.h5",     "-nexus_frames_per_file",
                                 "1"},
                                d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* name : {"n_data_000001.h5", "n_data_000002.h5"})
        EXPECT_TRUE(std::filesystem::is_symlink(d.file(name))) << name;
    for (const char* name : {"store/d1.h5", "store/d2.h5"}) {
        const std::string bytes = read_file(d.file(name));
        ASSERT_GT(bytes.size(), 8u) << name;
        EXPECT_EQ(bytes.substr(0, 8), std::string("\x89HDF\r\n\x1a\n", 8)) << name;
    }
    EXPECT_TRUE(std::filesystem::is_regular_file(d.file("n.h5")));
    for (const auto& entry : std::filesystem::directory_iterator(d.path))
        EXPECT_EQ(entry.path().filename().string().find(".partial."), std::string::npos) << entry.path();
}

// A run stopped by Ctrl-C (or kill, or a closed terminal) leaves none of its
// temporary files: the frame being written and the NeXus file had stayed as
// NAME.partial.PID. The process still ends by the signal.
TEST(CliBehaviour, AnInterruptedRunLeavesNoTemporaryFile) {
    for (const int sig : {SIGINT, SIGTERM}) {
        TempDir d("cli_interrupted");
        const std::vector<std::string> args = {cli_path(),    "-cell",      "79.1",
                                               "79.1",        "38.4",       "90",
                                               "90",          "90",         "-default_F",
                                               "100",         "-N",         "5",
                                               "-detpixels",  "128",        "-phisteps",
                                               "10",          "-mosaic",    "0.5",
                                               "-mosaic_dom", "10",         "-nframes",
                                               "2000",        "-osc",       "0.1",
                                               "-nexusfile",  "s.h5",       "-nexus_frames_per_file",
                                               "5",           "-floatfile", "f.bin",
                                               "-cbffile",    "c_%04d.cbf", "-device",
                                               "cpu"};
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            if (::chdir(d.path.c_str()) != 0) ::_exit(127);
            const int out = ::open("out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(out, 1);
            ::dup2(out, 2);
            std::vector<char*> argv;
            for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        // stopped while it writes frames (the 3rd frame's files are there)
        for (int i = 0; i < 600 && !std::filesystem::exists(d.file("c_0003.cbf")); ++i) ::usleep(50000);
        ::kill(pid, sig);
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << status;
        int partial = 0, frames = 0;
        for (const auto& entry : std::filesystem::directory_iterator(d.path)) {
            const std::string name = entry.path().filename();
            partial += name.find(".partial") != std::string::npos;
            frames += name.rfind("c_", 0) == 0;
        }
        EXPECT_EQ(partial, 0) << read_file(d.file("out.txt"));
        EXPECT_GE(frames, 3);
        EXPECT_LT(frames, 2000);
    }
}

// C's own "auto" values, which scripts written for C pass on: -1 for the
// sampling counts and steps (C's initial values), -phisteps 0, one step to
// C, and -detpixels 0, the count from -detsize. They had been refused; each
// image is the one the default gives.
TEST(CliBehaviour, CsAutoValuesAreAccepted) {
    TempDir d("cli_c_auto_values");
    const std::vector<std::string> base = {
        "-cell", "50",         "60",   "70",       "85",          "95",      "100",         "-default_F", "100",
        "-N",    "3",          "-osc", "0.3",      "-divergence", "0.4",     "-dispersion", "0.5",        "-mosaic",
        "0.2",   "-detpixels", "24",   "-nonoise", "-nopgm",      "-device", "cpu"};
    auto image = [&](const std::vector<std::string>& extra) { return float_image(d, base, extra).first; };
    const std::string plain = image({});
    ASSERT_EQ(plain.size(), 24u * 24u * 4u);
    EXPECT_EQ(image({"-oversample", "-1", "-hdivsteps", "-1", "-vdivsteps", "-1", "-dispsteps", "-1", "-mosaic_dom",
                     "-1", "-phisteps", "-1", "-phistep", "-1", "-hdivstep", "-1", "-thicksteps", "-1"}),
              plain);
    // any negative is auto, as C's "< 0" and "<= 0" tests read it (byte-identical to C by hand)
    EXPECT_EQ(
        image({"-oversample", "-4", "-hdivsteps", "-2", "-vdivsteps", "-3", "-dispsteps", "-7",   "-mosaic_dom", "-3",
               "-phisteps",   "-5", "-phistep",   "-2", "-hdivstep",  "-3", "-vdivstep",  "-0.5", "-thicksteps", "-2"}),
        plain);
    EXPECT_EQ(image({"-osc", "-3"}), image({"-osc", "-1"}));
    EXPECT_NE(image({"-osc", "-3"}), plain);
    EXPECT_EQ(image({"-phisteps", "0"}), image({"-phisteps", "1"}));
    EXPECT_NE(image({"-phisteps", "1"}), plain);
    // -detpixels 0: the count from -detsize, as C fills it in (2.4 mm of 0.1 mm pixels)
    EXPECT_EQ(image({"-detpixels", "0", "-detsize", "2.4"}), plain);
    EXPECT_EQ(image({"-detpixels_f", "0", "-detsize_f", "2.4"}), plain);
}
