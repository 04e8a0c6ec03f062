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
// CRLF endings, tabs, "+" signs and repeated indices far apart (the last F
// wins). `odd_line`, when given, is put at every line number divisible by 12007.
std::string big_hkl(int lines, const std::string& odd_line = "") {
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
        } else if (i % 12007 == 0 && !odd_line.empty()) {
            out << odd_line << "\n";
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
    EXPECT_EQ(one.notes.size(), 0u);
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

// ---- files that are not four plain columns: read as C reads them ----

namespace {
double F_at(const HklGrid& g, int h, int k, int l) {
    return g.F[((size_t)(h - g.h_min) * g.k_range() + (k - g.k_min)) * g.l_range() + (l - g.l_min)];
}
}  // namespace

// C reads the numbers as one stream, four at a time: a fifth column shifts
// the sets; its second reading ("%d") stops inside "3.5".
TEST(HklCReading, AFifthColumnShiftsBothReadings) {
    std::vector<std::string> notes;
    const HklGrid g =
        parse_hkl_text(std::string_view("1 0 0 50 3.5\n0 1 0 60 2.5\n1 1 1 70 4.5\n"), "s.hkl", 7.0, notes);
    // first reading: (1 0 0 50) (3.5 0 1 0) (60 2.5 1 1); "70 4.5" is not a set of four
    EXPECT_EQ(g.hkls, 3);
    EXPECT_EQ(g.h_min, 1);
    EXPECT_EQ(g.h_max, 60);
    EXPECT_EQ(g.k_min, 0);
    EXPECT_EQ(g.k_max, 2);  // 2.5 cut toward zero, as C's int
    EXPECT_EQ(g.l_min, 0);
    EXPECT_EQ(g.l_max, 1);
    // second reading: (1 0 0 50), then "3.5" ends it
    EXPECT_EQ(F_at(g, 1, 0, 0), 50.0);
    EXPECT_EQ(F_at(g, 1, 1, 1), 7.0);
    EXPECT_EQ(F_at(g, 3, 0, 1), 7.0);
    ASSERT_EQ(notes.size(), 3u) << testing::PrintToString(notes);
    EXPECT_EQ(notes[0], "WARNING: non-integer value for h (3.5) at line 1");  // C counts sets from 0
    EXPECT_EQ(notes[1], "WARNING: non-integer value for k (2.5) at line 2");
    EXPECT_NE(notes[2].find("'s.hkl' is not four columns of whole-number h k l and F (line 1: 5 columns)"),
              std::string::npos)
        << notes[2];
    EXPECT_NE(notes[2].find("3 sets of four numbers in its first reading, 1 structure factors set"), std::string::npos)
        << notes[2];
}

// Whole-number sigmas keep the second reading going, out of step.
TEST(HklCReading, WholeNumberSigmasKeepTheSecondReadingGoingOutOfStep) {
    std::vector<std::string> notes;
    const HklGrid g =
        parse_hkl_text(std::string_view("1 0 0 50 3\n0 1 0 60 2\n1 1 1 70 4\n0 0 1 30 1\n"), "s.hkl", 5.0, notes);
    // sets: (1 0 0 50) (3 0 1 0) (60 2 1 1) (1 70 4 0); then "0 1 30 1" is only four numbers... of the fifth set
    EXPECT_EQ(g.hkls, 5);
    EXPECT_EQ(g.h_max, 60);
    EXPECT_EQ(g.k_max, 70);
    EXPECT_EQ(F_at(g, 1, 0, 0), 50.0);
    EXPECT_EQ(F_at(g, 3, 0, 1), 0.0);
    EXPECT_EQ(F_at(g, 60, 2, 1), 1.0);
    EXPECT_EQ(F_at(g, 0, 1, 0), 5.0);  // 60 was read as an index, not as this F
    ASSERT_FALSE(notes.empty());
    EXPECT_NE(notes.back().find("5 structure factors set"), std::string::npos) << notes.back();
}

// An index written "1.0" (numpy's savetxt) ends C's second reading there.
TEST(HklCReading, AnIndexWithADecimalPointEndsTheSecondReading) {
    std::vector<std::string> notes;
    const HklGrid g =
        parse_hkl_text(std::string_view("1 0 0 50\n0 1 0 60\n1.0 1 1 70\n-1 0 1 80\n"), "d.hkl", 2.0, notes);
    EXPECT_EQ(g.hkls, 4);
    EXPECT_EQ(g.h_min, -1);
    EXPECT_EQ(F_at(g, 1, 0, 0), 50.0);
    EXPECT_EQ(F_at(g, 0, 1, 0), 60.0);
    EXPECT_EQ(F_at(g, 1, 1, 1), 2.0);
    EXPECT_EQ(F_at(g, -1, 0, 1), 2.0);
    ASSERT_EQ(notes.size(), 1u) << testing::PrintToString(notes);  // 1.0 is a whole number: no C warning
    EXPECT_NE(notes[0].find("(line 3: index '1.0')"), std::string::npos) << notes[0];
    // the same when the odd line sits in a later piece of a large file
    const std::string big = big_hkl(60000, "1.0 1 1 9");
    std::vector<std::string> big_notes;
    const HklGrid b = parse_hkl_text(std::string_view(big), "big.hkl", 3.0, big_notes);
    ASSERT_FALSE(big_notes.empty());
    EXPECT_NE(big_notes.back().find("(line 12007: index '1.0')"), std::string::npos) << big_notes.back();
    // the lines before it, less 12 comment and 11 blank lines
    EXPECT_NE(big_notes.back().find(" 11983 structure factors set"), std::string::npos) << big_notes.back();
    EXPECT_EQ(b.hkls, 60000 - 60 - 59);  // every set of four: lines less comments and blanks
}

// Where C's second reading lands outside the ranges of its first, C writes
// outside its table (and crashes): refused, naming the index.
TEST(HklCReading, ASecondReadingOutsideTheTableIsRefused) {
    std::vector<std::string> notes;
    // "1.0" as l: "%d" takes its "1", "%lg" its ".0" as F, and the next set starts at 70
    try {
        parse_hkl_text(std::string_view("1 0 0 50\n0 1 0 60\n1 1 1.0 70\n-1 0 1 80\n"), "o.hkl", 0.0, notes);
        ADD_FAILURE() << "accepted";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("'o.hkl': read as C reads it (line 3: index '1.0'), its second reading "
                                             "gives index 70 -1 0, outside the ranges of its first"),
                  std::string::npos)
            << e.what();
    }
    // a column that is not a number is still refused, whatever its place
    try {
        parse_hkl_text(std::string_view("1 0 0 50 x\n"), "x.hkl", 0.0, notes);
        ADD_FAILURE() << "accepted";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("'x.hkl' line 1: 'x' is not a number"), std::string::npos) << e.what();
    }
}
