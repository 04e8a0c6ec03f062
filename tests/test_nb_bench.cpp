// nb-bench: a run that failed is reported as failed, never as a time.
#include <gtest/gtest.h>

#include "tests/run_cli.hpp"

using namespace nbtest;

TEST(NbBench, AFailedRunIsMarkedNotMeasured) {
    TempDir d("bench_failed");
    // -precision quad: our program refuses it; the reference does not exist
    RunResult r = run_cli({"--workloads", "integration", "--repeats", "1", "--warmup", "0", "--precision", "quad",
                           "--reference", d.file("no_such_program"), "--out", d.file("b")},
                          d.path.string(), 300, bench_path());
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.out.find("FAILED: nanoBragg: error: -precision"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("FAILED (the reference program did not run"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("eval/s"), std::string::npos) << r.out;
    const std::string md = read_file(d.file("b.md"));
    EXPECT_NE(md.find("| FAILED |"), std::string::npos) << md;
    EXPECT_EQ(md.find("0.00x"), std::string::npos) << md;
}
