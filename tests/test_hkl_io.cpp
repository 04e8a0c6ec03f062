// The -hkl reader: a large file is parsed in pieces at once; the grid, the
// warnings and the first error must be those of one pass over the file.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/hkl_io.hpp"

using namespace nb;

namespace {

// About 60,000 lines (1 MB: parsed in pieces) with comments, blank lines,
// CRLF endings, tabs, "+" signs, non-integer indices and repeated indices far
// apart (the last F wins).
std::string big_hkl(int lines) {
    std::mt19937 gen(7);
    std::uniform_int_distribution<int> idx(-30, 30);
    std::ostringstream out;
    for (int i = 1; i <= lines; ++i) {
        if (i % 997 == 0) {
            out << "# comment " << i << "\n";
        } else if (i % 1009 == 0) {
            out << "  \t\r\n";
        } else if (i == 20000 || i == 50000) {
            out << "1 2 3 " << (i == 20000 ? "11.5" : "22.25") << "\n";  // the same index twice
        } else if (i % 12007 == 0) {
            out << "0.5 1 2 7.0\n";  // C warns and reads index 0
        } else {
            const int h = idx(gen), k = idx(gen), l = idx(gen);
            out << h << (i % 3 ? " " : "\t") << (k >= 0 && i % 7 == 0 ? "+" : "") << k << " " << l << " "
                << (i % 100) * 1.25 + 0.5 << (i % 5 ? "\n" : "\r\n");
        }
    }
    return out.str();
}

struct Parsed {
    HklGrid grid;
    std::vector<std::string> notes;
};

Parsed parse_with(int threads, const std::string& text) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    Parsed p;
    try {
        p.grid = parse_hkl_text(std::string_view(text), "t.hkl", 3.0, p.notes);
    } catch (...) {
        omp_set_num_threads(saved);
        throw;
    }
    omp_set_num_threads(saved);
    return p;
}

std::string error_of(int threads, const std::string& text) {
    try {
        parse_with(threads, text);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(HklText, PiecesGiveTheGridAndWarningsOfOnePass) {
    const std::string text = big_hkl(60000);
    ASSERT_GT(text.size(), 512u << 10);
    const Parsed one = parse_with(1, text);
    EXPECT_EQ(one.grid.h_min, -30);
    EXPECT_EQ(one.grid.h_max, 30);
    EXPECT_EQ(one.grid.F[((1 + 30) * 61 + (2 + 30)) * 61 + (3 + 30)], 22.25);  // the later line's F
    ASSERT_EQ(one.notes.size(), 4u);
    EXPECT_NE(one.notes[0].find("at line 12007"), std::string::npos) << one.notes[0];
    EXPECT_NE(one.notes[3].find("at line 48028"), std::string::npos) << one.notes[3];
    for (int threads : {2, 3, 4, 8}) {
        const Parsed p = parse_with(threads, text);
        EXPECT_EQ(p.grid.F, one.grid.F) << threads;
        EXPECT_EQ(p.grid.hkls, one.grid.hkls) << threads;
        EXPECT_EQ(p.grid.l_min, one.grid.l_min) << threads;
        EXPECT_EQ(p.grid.l_max, one.grid.l_max) << threads;
        EXPECT_EQ(p.notes, one.notes) << threads;
    }
}

TEST(HklText, TheFirstBadLineIsReportedWhicheverPieceHoldsIt) {
    std::string text = big_hkl(60000);
    // break line 55001 (in the last piece), then also line 9001 (in the first)
    auto line_start = [&text](int line) {
        size_t at = 0;
        for (int i = 1; i < line; ++i) at = text.find('\n', at) + 1;
        return at;
    };
    text.insert(line_start(55001), "1 2 x3 4\n");
    for (int threads : {1, 2, 4})
        EXPECT_NE(error_of(threads, text).find("line 55001: 'x3' is not a number"), std::string::npos);
    text.insert(line_start(9001), "1 2\n");
    for (int threads : {1, 2, 4}) {
        const std::string why = error_of(threads, text);
        EXPECT_NE(why.find("'t.hkl' line 9001: expected 'h k l F', found 2 column(s)"), std::string::npos) << why;
    }
}

TEST(HklText, TheFileReaderEqualsTheStreamReader) {
    const std::string text = big_hkl(30000);
    const std::string path = ::testing::TempDir() + "hkl_io_test.hkl";
    {
        std::ofstream out(path, std::ios::binary);
        out << text;
    }
    std::vector<std::string> a_notes, b_notes;
    const HklGrid a = read_hkl_text(path, 3.0, a_notes);
    std::istringstream in(text);
    const HklGrid b = parse_hkl_text(in, path, 3.0, b_notes);
    EXPECT_EQ(a.F, b.F);
    EXPECT_EQ(a_notes, b_notes);
    std::ofstream(path, std::ios::trunc).close();  // an empty file: no reflections
    std::vector<std::string> notes;
    try {
        read_hkl_text(path, 3.0, notes);
        ADD_FAILURE() << "an empty file was accepted";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("holds no reflections"), std::string::npos) << e.what();
    }
    std::remove(path.c_str());
}
