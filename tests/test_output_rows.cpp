// The frame's files written by blocks of rows on the run's threads
// (engine/commit_outputs.cpp) and the default mode's noise image drawn a
// block at a time (NoiseRows): the same bytes as one pass in order.
#include <gtest/gtest.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/image_io.hpp"
#include "engine/pixel_random.hpp"

using namespace nb;

namespace {

// 333 x 257 pixels (rows of no round size), an ROI, means in every branch of
// the Poisson draw: 0, below 1 (most pixels settle on the first value), up to
// 12, the rejection range, beyond 1e6, and NaN, infinities, negatives.
struct NoiseScene {
    Experiment e;
    std::vector<float> image;
    NoiseScene() {
        e.det.fpixels = 333;
        e.det.spixels = 257;
        e.det.pixel_size = 0.1e-3;
        e.samp.oversample = 1;
        e.samp.roi_xmin = 5;
        e.samp.roi_xmax = 320;
        e.samp.roi_ymin = 2;
        e.samp.roi_ymax = 250;
        e.cfg.adc_offset = 40;
        std::mt19937_64 gen(11);
        std::uniform_real_distribution<double> u(0, 1);
        image.resize((size_t)e.det.fpixels * e.det.spixels);
        for (float& v : image) {
            const double r = u(gen);
            v = r < 0.2    ? 0.0f
                : r < 0.7  ? (float)std::pow(10.0, -9 + 9 * u(gen))
                : r < 0.85 ? (float)(12 * u(gen))
                : r < 0.98 ? (float)(12 + 500 * u(gen))
                           : (float)(1e6 + 5e6 * u(gen));
        }
        image[1000] = std::numeric_limits<float>::quiet_NaN();
        image[2000] = std::numeric_limits<float>::infinity();
        image[3000] = -std::numeric_limits<float>::infinity();
        image[4000] = -2.5f;
    }
};

// The noise image as the definition says: every ROI pixel its own stream's
// Poisson draw plus the offset, clipped (C's handling of NaN and +inf).
NoiseImage noise_by_definition(const Experiment& e, const std::vector<float>& image, int64_t seed) {
    NoiseImage out;
    out.pixels.assign(image.size(), 0);
    for (int s = e.samp.roi_ymin; s <= e.samp.roi_ymax; ++s) {
        double row_photons = 0;  // each row's sum, the rows' sums added in order
        for (int f = e.samp.roi_xmin; f <= e.samp.roi_xmax; ++f) {
            const size_t i = (size_t)s * e.det.fpixels + f;
            double t = PixelStream(seed, i).poisson(image[i]);
            if (std::isinf(image[i]) && image[i] > 0) t = HUGE_VAL;
            if (std::isnan(t)) t = 0;
            if (std::isfinite(t)) row_photons += t;
            t += e.cfg.adc_offset;
            if (t > 65535.0) {
                t = 65535.0;
                ++out.overloads;
            }
            out.pixels[i] = (uint16_t)t;
        }
        out.photons += row_photons;
    }
    return out;
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

// The first pass settles most pixels on their stream's first value; every
// pixel must still be exactly its stream's full draw, whatever the offset
// (an offset outside 0..65535 draws every pixel in full).
TEST(NoiseRows, EveryPixelIsItsStreamsPoissonDraw) {
    NoiseScene sc;
    for (double adc : {40.0, 0.0, -7.0, 70000.0}) {
        sc.e.cfg.adc_offset = adc;
        const NoiseImage want = noise_by_definition(sc.e, sc.image, -4242);
        const NoiseImage got = make_noise_image(sc.e, sc.image, -4242);
        EXPECT_EQ(got.pixels, want.pixels) << adc;
        EXPECT_EQ(got.photons, want.photons) << adc;
        EXPECT_EQ(got.overloads, want.overloads) << adc;
    }
    EXPECT_GT(noise_by_definition(sc.e, sc.image, -4242).overloads, 1000);  // all clipped at 70000
}

// Blocks of any size, in any order, from any thread: the same image and sums.
TEST(NoiseRows, BlocksInAnyOrderGiveTheWholeImage) {
    NoiseScene sc;
    const NoiseImage whole = make_noise_image(sc.e, sc.image, -99);
    ASSERT_GT(whole.photons, 0);
    for (int block : {1, 7, 64, 300}) {
        NoiseRows rows(sc.e, sc.image, -99);
        std::vector<uint16_t> px(sc.image.size(), 12345);
        const int n = sc.e.det.spixels;
        const int blocks = (n + block - 1) / block;
#pragma omp parallel for schedule(dynamic, 1) num_threads(2)
        for (int b = blocks - 1; b >= 0; --b) {
            const int r0 = b * block;
            rows.fill(r0, std::min(block, n - r0), px.data() + (size_t)r0 * sc.e.det.fpixels);
        }
        EXPECT_EQ(px, whole.pixels) << block;
        EXPECT_EQ(rows.photons(), whole.photons) << block;
        EXPECT_EQ(rows.overloads(), whole.overloads) << block;
    }
}

// Each row format written by blocks at their offsets, on several threads,
// holds the bytes of the same file made in one piece, header first.
TEST(CommitOutputs, RowFilesHoldTheBytesOfTheirStreams) {
    NoiseScene sc;
    for (float& v : sc.image)
        if (std::isfinite(v)) v = std::fmod(std::fabs(v), 3000.0f);
    const NoiseImage noise = make_noise_image(sc.e, sc.image, -5);
    const std::string dir = testing::TempDir();
    const std::vector<std::pair<std::string, RowFile>> forms{{"float", float_rows(sc.e, sc.image)},
                                                             {"int", smv_int_rows(sc.e, sc.image, 7.5)},
                                                             {"pgm", pgm_rows(sc.e, sc.image, 0.3)},
                                                             {"noise", smv_noise_rows(sc.e, noise)}};
    std::vector<OutputFile> files;
    for (const auto& [name, rf] : forms)
        files.push_back(
            row_output(dir + "/nb_rows_" + name + ".bin", "-" + name + "file", std::make_shared<const RowFile>(rf)));
    commit_outputs(files);
    // the same files in one piece: the header, then every row in order (their
    // bytes against C's are the golden suite's business)
    std::vector<std::string> want;
    for (const auto& [name, rf] : forms) {
        std::vector<char> scratch((size_t)rf.rows * rf.row_bytes);
        const char* rows = static_cast<const char*>(rf.rows_at(0, rf.rows, scratch.data()));
        want.push_back(rf.header + std::string(rows, scratch.size()));
    }
    for (size_t i = 0; i < files.size(); ++i) {
        const std::string got = file_bytes(files[i].path);
        EXPECT_EQ(got.size(), want[i].size()) << files[i].flag;
        EXPECT_TRUE(got == want[i]) << files[i].flag;
        std::remove(files[i].path.c_str());
    }
    EXPECT_EQ(want[1].size(), 512 + 2 * sc.image.size());  // the SMV header and the pixels
}

// A block that fails stops the commit: the error names the flag and file,
// no temporary is left and the file that was there is untouched.
TEST(CommitOutputs, AFailedBlockLeavesNoFileAndKeepsTheOldOne) {
    NoiseScene sc;
    const std::string path = testing::TempDir() + "/nb_rows_failing.bin";
    {
        std::ofstream old(path, std::ios::binary);
        old << "the user's file";
    }
    RowFile rf = smv_int_rows(sc.e, sc.image, 1.0);  // the header is written, then the block fails
    rf.rows_at = [](int, int, void*) -> const void* { throw std::runtime_error("no more pixels"); };
    std::vector<OutputFile> files{row_output(path, "-floatfile", std::make_shared<const RowFile>(rf))};
    try {
        commit_outputs(files);
        FAIL() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("-floatfile: failed writing '" + path + "': no more pixels"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(file_bytes(path), "the user's file");
    for (const auto& entry : std::filesystem::directory_iterator(testing::TempDir()))
        EXPECT_NE(entry.path().filename().string().rfind("nb_rows_failing.bin.partial", 0), 0u) << entry.path();
    std::remove(path.c_str());
}

// Staged files are not in place until committed, and go when dropped
// uncommitted (a series' frame after a failed one).
TEST(CommitOutputs, StagedFilesAppearOnlyWhenCommitted) {
    NoiseScene sc;
    const std::string dir = testing::TempDir() + "/nb_staged";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto staged_files = [&](const std::string& name) {
        return std::vector<OutputFile>{
            row_output(dir + "/" + name, "-floatfile", std::make_shared<const RowFile>(float_rows(sc.e, sc.image)))};
    };
    auto names = [&] {
        std::vector<std::string> n;
        for (const auto& entry : std::filesystem::directory_iterator(dir)) n.push_back(entry.path().filename());
        std::sort(n.begin(), n.end());
        return n;
    };
    {
        StagedOutputs a = stage_outputs(staged_files("a.bin"));
        StagedOutputs b = stage_outputs(staged_files("a.bin"));  // the same target, staged twice at once
        ASSERT_EQ(names().size(), 2u);
        EXPECT_FALSE(std::filesystem::exists(dir + "/a.bin"));
        a.commit();
        EXPECT_EQ(file_bytes(dir + "/a.bin").size(), sc.image.size() * sizeof(float));
        StagedOutputs c = std::move(b);  // the moved-from one removes nothing
        const std::vector<std::string> n = names();
        ASSERT_EQ(n.size(), 2u);
        EXPECT_EQ(n[0], "a.bin");
        EXPECT_EQ(n[1].rfind("a.bin.partial.", 0), 0u) << n[1];
    }
    EXPECT_EQ(names(), std::vector<std::string>{"a.bin"});  // b, moved into c, removed uncommitted
    std::filesystem::remove_all(dir);
}

// A frame whose targets include a folder puts none of its files in place,
// whether the folder is there when staging or appears before the commit.
TEST(CommitOutputs, AFolderAmongTheTargetsPutsNoFileInPlace) {
    NoiseScene sc;
    const std::string dir = testing::TempDir() + "/nb_staged_folder";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir + "/adir");
    auto file = [&](const std::string& name, const char* flag) {
        return row_output(dir + "/" + name, flag, std::make_shared<const RowFile>(float_rows(sc.e, sc.image)));
    };
    try {
        stage_outputs({file("a.bin", "-floatfile"), file("adir", "-intfile")});
        ADD_FAILURE() << "a folder as a target was staged";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), ("-intfile: '" + dir + "/adir' is a folder, not a file").c_str());
    }
    StagedOutputs staged = stage_outputs({file("a.bin", "-floatfile"), file("b.bin", "-intfile")});
    std::filesystem::create_directories(dir + "/b.bin");
    EXPECT_THROW(staged.commit(), std::runtime_error);
    size_t entries = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        ++entries;
        EXPECT_TRUE(entry.is_directory()) << entry.path();
    }
    EXPECT_EQ(entries, 2u);  // adir and b.bin: no a.bin, no temporaries
    EXPECT_THROW(check_output_target(dir + "/missing/x.bin", "-floatfile"), std::runtime_error);
    EXPECT_NO_THROW(check_output_target(dir + "/x.bin", "-floatfile"));
    std::filesystem::remove_all(dir);
}
