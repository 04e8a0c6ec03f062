// The pieces every nanoBragg-suite command line shares: C's single-dash long
// flags mapped onto CLI11, numeric checks whose ranges also print in -h, and
// one-line usage errors naming the flag. Used by nanoBragg (cli/args.cpp),
// noisify (cli/noisify_main.cpp) and nonBragg (cli/nonbragg_main.cpp).
#pragma once

#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace CLI {  // CLI11, included by the .cpp files that build a table
class App;
class Option;
}  // namespace CLI

namespace nb {

// Bad command line: one line naming the flag and the problem.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// nanoBragg flag spelling -> CLI11 spelling: "-hkl" -> "--hkl"; one-letter
// flags, negative numbers and plain values are left alone.
std::vector<std::string> translate_flags(const std::vector<std::string>& args);

bool is_number(const std::string& s);

// CLI11 reports flags in its own "--name" spelling; users typed "-name".
std::string single_dash(std::string msg);

[[noreturn]] void bad_flag(const std::string& flag, const std::string& why);

// The values a numeric flag accepts. One declaration per flag drives both the
// check and the "[...]" note in -h (tests walk -h to find every range).
struct Range {
    double lo = -HUGE_VAL, hi = HUGE_VAL;
    bool lo_open = false, hi_open = false;
    std::string note;  // what an edge value means, as C reads it ("0: auto")

    bool contains(double v) const { return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi); }
    bool unbounded() const { return lo == -HUGE_VAL && hi == HUGE_VAL; }
    std::string text() const;
    std::string help() const;
};

extern const Range kAny;
Range above(double lo, std::string note = "");
Range at_least(double lo, std::string note = "");
Range within(double lo, double hi, std::string note = "");
Range inside(double lo, double hi, std::string note = "");
// Any value, for a sampling flag that C resolves by a "< 0" or "<= 0" test
// (engine/sampling_rules.cpp): every negative is auto there, not only -1.
Range auto_when_negative(std::string note = "0 or negative: auto, as C");

// -threads of every front end: 0 (all cores) up to a team OpenMP can start
// (100000 crashed libgomp, 40000 failed to start on a 2-core machine).
inline Range thread_count() { return within(0, 4096, "0: all cores"); }

// The text as a finite number in `r`; UsageError naming `flag` otherwise.
double parse_number(const std::string& flag, const std::string& raw, const Range& r);
// c_atoi: C reads this flag with atoi, which stops at the first character that
// is not a digit ("1e1" is 1 to C); a text whose number differs from what atoi
// reads is refused rather than read either way. Flags C reads with atof and
// then truncates (noisify's -psf_radius) pass false.
int parse_integer(const std::string& flag, const std::string& raw, const Range& r, bool c_atoi = true);

// Registers flags on `app`, each applying its effect as it is parsed
// (trigger_on_parse), so later flags override earlier ones exactly as in C's
// single pass over argv.
class FlagTable {
public:
    explicit FlagTable(CLI::App& app) : app_(app) {}

    void number(const std::string& names, const std::string& help, const Range& r, std::function<void(double)> fn);
    void integer(const std::string& names, const std::string& help, const Range& r, std::function<void(int)> fn,
                 bool c_atoi = true);
    void text(const std::string& names, const std::string& help, std::function<void(const std::string&)> fn);
    // n numbers; ranges[i] (the last one repeats) checks number i.
    void numbers(const std::string& names, int n, const std::string& help, std::vector<Range> ranges,
                 std::function<void(const std::vector<double>&)> fn, const std::string& what = "",
                 const std::string& type = "FLOAT");
    void flag(const std::string& names, const std::string& help, std::function<void()> fn);
    static std::string display_name(const std::string& names);

private:
    void add(CLI::Option* o);
    CLI::App& app_;
};

// Parses C-style `args` (argv without the program name) with `app`. Bad
// flags, values and unknown flags throw UsageError naming the flag; when
// `early_exit()` says -h or -version was seen, parse errors are ignored.
void parse_flag_table(CLI::App& app, const std::vector<std::string>& args, const std::function<bool()>& early_exit);

// What a companion program (noisify, nonBragg) says of itself.
struct ProgramName {
    const char* name;     // in error lines: "<name>: error: ..."
    std::string version;  // the -version line
    std::string banner;   // the first line of a run
};

// A companion program's main once its table is registered: parses `args`,
// answers -version and -h (the flags `version` and `help` set), prints the
// banner and runs. A bad flag or file is one "<name>: error: ..." line on
// stderr (after a usage error with the -h hint) and exit 2.
// An error message as the terminal should show it: control bytes (from a
// binary file read as text, quoted back) as \xNN.
std::string printable(const std::string& message);

int run_program(CLI::App& app, const std::vector<std::string>& args, const ProgramName& program, const bool& help,
                const bool& version, const std::function<int()>& run);

}  // namespace nb
