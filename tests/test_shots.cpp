// Shot lists: parsing, errors naming the line, and a shot rendered alone
// equals the same shot in the list.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/shots.hpp"
#include "engine/units.hpp"
#include "tests/run_cli.hpp"

using namespace nbtest;

TEST(Shots, ParsesOrientationsAndOverrides) {
    TempDir d("shots_parse");
    std::ofstream(d.file("s.txt")) << "# header\n\nmisset 10 20 30\nrandom 77 fluence=1e25 N=8 mosaic=0.2\n"
                                      "amat 0.01 0 0 0 0.01 0 0 0 0.02 lambda=1.5 xtalsize=0.001\n";
    std::vector<nb::Shot> s = nb::read_shots(d.file("s.txt"));
    ASSERT_EQ(s.size(), 3u);
    EXPECT_EQ(s[0].line, 3);
    nb::SimConfig base;
    nb::SimConfig a = nb::apply_shot(base, s[0]);
    EXPECT_EQ(a.misset_mode, 1);
    EXPECT_DOUBLE_EQ(a.misset_rot[1], 20 / nb::RTD);
    nb::SimConfig b = nb::apply_shot(base, s[1]);
    EXPECT_EQ(b.misset_mode, -1);
    EXPECT_EQ(*b.misset_seed, -77);
    EXPECT_DOUBLE_EQ(b.fluence, 1e25);
    EXPECT_EQ(b.Nb, 8);
    EXPECT_DOUBLE_EQ(b.mosaic_spread, 0.2 / nb::RTD);
    nb::SimConfig c = nb::apply_shot(base, s[2]);
    ASSERT_TRUE(c.mat_values.has_value());
    EXPECT_DOUBLE_EQ((*c.mat_values)[8], 0.02);
    EXPECT_DOUBLE_EQ(c.lambda0, 1.5e-10);
    EXPECT_DOUBLE_EQ(c.sample_y, 1e-6);
}

TEST(Shots, MalformedLinesNameFileAndLine) {
    TempDir d("shots_bad");
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"misset 1 2\n", "line 1: 'misset' needs three angles"},
        {"\nrandom\n", "line 2: 'random' needs a seed"},
        {"amat 1 2 3\n", "'amat' needs 9 numbers"},
        {"spin 1 2 3\n", "expected 'misset', 'random' or 'amat'"},
        {"misset 1 2 3 N=red\n", "'red' is not a number"},
        {"misset 1 2 3 speed=4\n", "unknown key 'speed'"},
        {"misset 1 2 3 N=2.5\n", "line 1: N: 2.5 is not a whole number"},
        {"misset 1 2 3 N=-1\n", "N: -1 is out of range (must be >= 0"},
        {"misset 1 2 3 N=1e12\n", "N: 1e12 is out of range (an integer here is at most 2147483647)"},
        {"misset 1 nan 3\n", "line 1: misset angle 2: 'nan' is not a number"},
        {"random inf\n", "line 1: random seed: 'inf' is not a number"},
        {"amat 1 0 0 0 1 0 0 0 x\n", "line 1: amat element A33: 'x' is not a number"},
        {"\namat 0 0 0 0 0 0 0 0 0\n", "line 2: the amat matrix is singular"},
        {"amat 0.01 0 0 0.02 0 0 0 0 0.02\n", "line 1: the amat matrix is singular"},
        {"random 4 mosaic=-1\n", "mosaic: -1 is out of range (must be >= 0"},
        {"misset 1 2 3 lambda=0\n", "lambda: 0 is out of range (must be > 0"},
        {"misset 1 2 3 fluence=inf\n", "fluence: inf is not a finite number"},
        {"misset 1 2 3 xtalsize=-0.1\n", "xtalsize: -0.1 is out of range"},
        {"misset 1 2 3 N=5 mosaic=0.1 N=6\n", "line 1: N= is given twice"},
        {"# nothing\n", "lists no shots"},
        {std::string("\x7f"
                     "ELF\x02\x01\x01\x03",
                     8),
         "line 1: byte 0x7f is not text"},  // a binary given by mistake
        {std::string("misset 1 2 3\nrandom 5\x00\x01\n", 23), "line 2: byte 0x00 is not text"},
    };
    for (const auto& [text, expect] : cases) {
        std::ofstream(d.file("s.txt")) << text;
        try {
            nb::read_shots(d.file("s.txt"));
            ADD_FAILURE() << "accepted: " << text;
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("-shots"), std::string::npos) << e.what();
            for (unsigned char ch : std::string(e.what()))
                EXPECT_FALSE(ch < 0x20 || ch == 0x7f) << "a control byte in the message: " << (int)ch;
        }
    }
}

TEST(Shots, ShotAloneEqualsShotInList) {
    TempDir d("shots_run");
    std::ofstream(d.file("s.txt")) << "misset 10 20 30\nrandom 1234 fluence=1e25 N=8\n";
    std::vector<std::string> base{"-cell", "79.1", "79.1", "38.4",       "90", "90",        "90",  "-default_F",
                                  "100",   "-N",   "5",    "-detpixels", "48", "-distance", "100", "-nopgm"};
    std::vector<std::string> list = base;
    list.insert(list.end(), {"-shots", "s.txt", "-seed", "2", "-intfile", "shot_%02d.img", "-noisefile", "n_%02d.img"});
    RunResult r = run_cli(list, d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> alone = base;
    alone.insert(alone.end(), {"-N", "8", "-misset", "random", "-misset_seed", "1234", "-fluence", "1e25", "-seed", "3",
                               "-intfile", "a.img", "-noisefile", "an.img", "-floatfile", "a.bin"});
    RunResult a = run_cli(alone, d.path.string());
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(read_file(d.file("shot_02.img")), read_file(d.file("a.img")));
    EXPECT_EQ(read_file(d.file("n_02.img")), read_file(d.file("an.img")));
    EXPECT_EQ(read_file(d.file("floatimage_0002.bin")), read_file(d.file("a.bin")));
    EXPECT_NE(read_file(d.file("shot_01.img")), read_file(d.file("shot_02.img")));
}

// A list of one line numbers its files as a longer list does (docs/shots.md), so
// a script's names do not depend on its list's length; a bare -cbffile name is
// refused as in a series.
TEST(Shots, AOneLineListNumbersItsFiles) {
    TempDir d("shots_one");
    std::ofstream(d.file("one.txt")) << "misset 10 20 30\n";
    std::vector<std::string> base{"-cell", "60", "60",         "60", "90",     "90",       "90",     "-default_F", "10",
                                  "-N",    "3",  "-detpixels", "24", "-nopgm", "-nonoise", "-shots", "one.txt"};
    std::vector<std::string> run = base;
    run.insert(run.end(), {"-floatfile", "f.bin", "-intfile", "i_%03d.img"});
    RunResult r = run_cli(run, d.path.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::exists(d.file("f_0001.bin")));
    EXPECT_TRUE(std::filesystem::exists(d.file("i_001.img")));
    EXPECT_FALSE(std::filesystem::exists(d.file("f.bin")));
    run = base;
    run.insert(run.end(), {"-cbffile", "c.cbf"});
    r = run_cli(run, d.path.string());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("-cbffile: 'c.cbf' has no frame number, but the run writes a frame per line of the -shots "
                         "list"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(std::filesystem::exists(d.file("c.cbf")));
}

// Every shot is set up before any renders: a line that cannot be set up, or
// whose auto-selected sampling alone would run for days, stops the run naming
// its line, before any file exists (the shots before it had been written).
TEST(Shots, AShotThatCannotBeSetUpStopsTheRunBeforeAnyFile) {
    TempDir d("shots_setup");
    std::ofstream(d.file("big.txt")) << "misset 0 0 0\nmisset 1 2 3\n\nmisset 1 2 3 N=1000000000\n";
    std::ofstream(d.file("long.txt")) << "misset 0 0 0\nmisset 1 2 3 N=2\nmisset 2 2 2 xtalsize=50\n";
    std::ofstream(d.file("nocell.txt")) << "amat 0.01 0 0 0 0.01 0 0 0 0.01\nmisset 1 2 3\n";
    const std::vector<std::string> base{"-default_F", "100",       "-N",         "5",         "-detpixels",
                                        "32",         "-distance", "100",        "-nopgm",    "-nonoise",
                                        "-device",    "cpu",       "-floatfile", "g_%02d.bin"};
    const std::string cell[] = {"-cell", "79.1", "79.1", "38.4", "90", "90", "90"};
    struct Case {
        std::string list;
        bool with_cell;
        std::string message;
    };
    for (const Case& c :
         {Case{"big.txt", true, "error: -shots: 'big.txt' line 4: -oversample: the crystal (7.91e+06 um across)"},
          Case{"long.txt", true,
               "error: -shots: 'long.txt' line 3 (the longest shot): auto-selected sampling (-oversample 1500001)"},
          Case{"nocell.txt", false, "error: -shots: 'nocell.txt' line 2: -cell: no unit cell"}}) {
        std::vector<std::string> args = base;
        if (c.with_cell) args.insert(args.end(), std::begin(cell), std::end(cell));
        args.insert(args.end(), {"-shots", c.list});
        const RunResult r = run_cli(args, d.path.string(), 60);
        EXPECT_EQ(r.exit_code, 2) << c.list;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
        EXPECT_FALSE(std::filesystem::exists(d.file("g_01.bin"))) << c.list;
        EXPECT_FALSE(std::filesystem::exists(d.file("intimage_0001.img"))) << c.list;
    }
}
