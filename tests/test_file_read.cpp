// engine/file_read.hpp: whole files in one read, from regular files and pipes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "engine/file_read.hpp"
#include "tests/run_cli.hpp"

using nbtest::TempDir;

TEST(FileRead, RegularFilesPipesAndErrors) {
    TempDir dir("file_read");
    std::string text;
    for (int i = 0; i < 300000; ++i) text += char('a' + i % 26);
    std::ofstream(dir.file("t.bin"), std::ios::binary) << text;
    EXPECT_EQ(nb::read_file_bytes(dir.file("t.bin"), "-x"), text);
    std::ofstream(dir.file("empty.bin"), std::ios::binary).flush();
    EXPECT_EQ(nb::read_file_bytes(dir.file("empty.bin"), "-x"), "");

    // 4-byte values: the byte count says whether the length was whole
    const float v[3] = {1.5f, -2.0f, 3.25f};
    std::ofstream(dir.file("f.bin"), std::ios::binary).write(reinterpret_cast<const char*>(v), 10);
    size_t bytes = 0;
    std::vector<float> got = nb::read_file_values<float>(dir.file("f.bin"), "-floatfile", bytes);
    EXPECT_EQ(bytes, 10u);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], 1.5f);
    EXPECT_EQ(got[1], -2.0f);

    // a pipe has no size: read until its end, over several steps
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::thread writer([&] {
        size_t off = 0;
        while (off < text.size()) {
            const ssize_t w = ::write(fds[1], text.data() + off, std::min<size_t>(4096, text.size() - off));
            if (w <= 0) break;
            off += (size_t)w;
        }
        ::close(fds[1]);
    });
    const std::string piped = nb::read_file_bytes("/proc/self/fd/" + std::to_string(fds[0]), "-x");
    writer.join();
    ::close(fds[0]);
    EXPECT_EQ(piped, text);

    try {
        nb::read_file_bytes(dir.file("missing.bin"), "-floatfile");
        FAIL() << "a missing file was read";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("-floatfile: cannot open '"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
    }
    try {
        nb::read_file_bytes(dir.path.string(), "-floatfile");
        FAIL() << "a folder was read";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("Is a directory"), std::string::npos) << e.what();
    }
}

// The tests' own reader of golden files (tests/run_cli.hpp): C's images are
// stored as X.gz, and a damaged copy must fail the test, not read as short.
TEST(GoldenFileRead, TakesTheGzipCopyAndRefusesADamagedOne) {
    TempDir dir("golden_gz");
    std::string bytes;
    for (int i = 0; i < 200000; ++i) bytes += char((i * 7919) % 251);
    gzFile gz = gzopen(dir.file("c.float.bin.gz").c_str(), "wb9");
    ASSERT_NE(gz, nullptr);
    ASSERT_EQ(gzwrite(gz, bytes.data(), (unsigned)bytes.size()), (int)bytes.size());
    ASSERT_EQ(gzclose(gz), Z_OK);
    EXPECT_TRUE(nbtest::file_exists(dir.file("c.float.bin")));
    EXPECT_EQ(nbtest::read_file(dir.file("c.float.bin")), bytes);
    // a plain file of the name wins over its .gz
    std::ofstream(dir.file("c.float.bin"), std::ios::binary) << "plain";
    EXPECT_EQ(nbtest::read_file(dir.file("c.float.bin")), "plain");

    // cut in half: gzread reports the truncated stream
    const std::string packed = nbtest::read_file(dir.file("c.float.bin.gz"));
    std::ofstream(dir.file("cut.bin.gz"), std::ios::binary) << packed.substr(0, packed.size() / 2);
    EXPECT_THROW(nbtest::read_file(dir.file("cut.bin")), std::runtime_error);
    // one byte changed in the middle: the inflate or the CRC check fails
    std::string flipped = packed;
    flipped[flipped.size() / 2] ^= 0x5a;
    std::ofstream(dir.file("flipped.bin.gz"), std::ios::binary) << flipped;
    EXPECT_THROW(nbtest::read_file(dir.file("flipped.bin")), std::runtime_error);
    EXPECT_FALSE(nbtest::file_exists(dir.file("absent.bin")));
    EXPECT_EQ(nbtest::read_file(dir.file("absent.bin")), "");
}
