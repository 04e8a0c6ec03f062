#include "cli/flag_table.hpp"

#include "kernels/cpu_launcher.hpp"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstdlib>

namespace nb {

bool is_number(const std::string& s) {
    if (s.empty()) return false;
    char* end = nullptr;
    std::strtod(s.c_str(), &end);
    return end != s.c_str() && *end == '\0';
}

std::string single_dash(std::string msg) {
    size_t pos = 0;
    while ((pos = msg.find("--", pos)) != std::string::npos) {
        bool flag_follows = pos + 2 < msg.size() && std::isalnum((unsigned char)msg[pos + 2]);
        bool word_start = pos == 0 || !std::isalnum((unsigned char)msg[pos - 1]);
        if (flag_follows && word_start) msg.erase(pos, 1);
        pos += 1;
    }
    return msg;
}

void bad_flag(const std::string& flag, const std::string& why) { throw UsageError(flag + ": " + why); }

namespace {
std::string num_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}
}  // namespace

std::string Range::text() const {
    std::string lo_s = (lo_open ? "> " : ">= ") + num_text(lo), hi_s = (hi_open ? "< " : "<= ") + num_text(hi);
    if (hi == HUGE_VAL) return lo_s;
    if (lo == -HUGE_VAL) return hi_s;
    if (!lo_open && !hi_open) return num_text(lo) + " to " + num_text(hi);
    return lo_s + " and " + hi_s;
}

std::string Range::help() const {
    if (unbounded()) return note.empty() ? "" : " (" + note + ")";  // no bracket: no range to check
    return " [" + text() + (note.empty() ? "" : "; " + note) + "]";
}

const Range kAny{};
Range above(double lo, std::string note) { return {lo, HUGE_VAL, true, false, std::move(note)}; }
Range at_least(double lo, std::string note) { return {lo, HUGE_VAL, false, false, std::move(note)}; }
Range within(double lo, double hi, std::string note) { return {lo, hi, false, false, std::move(note)}; }
Range inside(double lo, double hi, std::string note) { return {lo, hi, true, true, std::move(note)}; }
Range auto_when_negative(std::string note) { return {-HUGE_VAL, HUGE_VAL, false, false, std::move(note)}; }

// CLI11 hands the text through; the number, its finiteness and its range are
// checked here so that every refusal names the flag and the value.
double parse_number(const std::string& flag, const std::string& raw, const Range& r) {
    std::string v = raw.substr(raw.find_first_not_of(' ') == std::string::npos ? 0 : raw.find_first_not_of(' '));
    if (!is_number(v)) bad_flag(flag, "'" + v + "' is not a number");
    double x = std::strtod(v.c_str(), nullptr);
    if (!std::isfinite(x)) bad_flag(flag, v + " is not a finite number");
    if (!r.contains(x)) bad_flag(flag, v + " is out of range (must be " + r.text() + ")");
    return x;
}

int parse_integer(const std::string& flag, const std::string& raw, const Range& r, bool c_atoi) {
    std::string v = raw.substr(raw.find_first_not_of(' ') == std::string::npos ? 0 : raw.find_first_not_of(' '));
    double x = parse_number(flag, v, kAny);
    if (x != std::floor(x)) bad_flag(flag, v + " is not a whole number");
    if (r.contains(x) && (x < INT_MIN || x > INT_MAX))
        bad_flag(flag, v + " is out of range (an integer here is " +
                           (x > 0 ? "at most " + std::to_string(INT_MAX) : "at least " + std::to_string(INT_MIN)) +
                           ")");
    if (!r.contains(x)) {
        Range shown = r;
        if (shown.unbounded()) shown = within(INT_MIN, INT_MAX);
        bad_flag(flag, v + " is out of range (must be " + shown.text() + ")");
    }
    if (c_atoi) {
        const long digits = std::strtol(v.c_str(), nullptr, 10);  // atoi's reading, without its overflow
        if (digits != (long)x)
            bad_flag(flag, v + " is " + std::to_string((long long)x) + ", but C reads " + std::to_string(digits) +
                               " (only the leading digits): write " + std::to_string((long long)x) + " or " +
                               std::to_string(digits));
    }
    return (int)x;
}

void FlagTable::number(const std::string& names, const std::string& help, const Range& r,
                       std::function<void(double)> fn) {
    std::string flag = display_name(names);
    auto checked = [fn = std::move(fn), flag, r](const std::string& v) { fn(parse_number(flag, v, r)); };
    add(app_.add_option_function<std::string>(names, checked, help + r.help())->type_name("FLOAT"));
}

void FlagTable::integer(const std::string& names, const std::string& help, const Range& r, std::function<void(int)> fn,
                        bool c_atoi) {
    std::string flag = display_name(names);
    auto checked = [fn = std::move(fn), flag, r, c_atoi](const std::string& v) {
        fn(parse_integer(flag, v, r, c_atoi));
    };
    add(app_.add_option_function<std::string>(names, checked, help + r.help())->type_name("INT"));
}

void FlagTable::text(const std::string& names, const std::string& help, std::function<void(const std::string&)> fn) {
    // translate_flags made "-name" into "--name" before CLI11 saw it; a value
    // so made would silently name another file (C takes "-foo.bin" as it is)
    auto checked = [fn = std::move(fn), flag = display_name(names)](const std::string& v) {
        if (v.size() > 2 && v[0] == '-' && v[1] == '-')
            throw UsageError(flag + ": '" + v.substr(1) +
                             "' looks like a flag, not a value (a file name may not begin "
                             "with '-': write ./" +
                             v.substr(1) + ")");
        fn(v);
    };
    add(app_.add_option_function<std::string>(names, std::move(checked), help));
}

void FlagTable::numbers(const std::string& names, int n, const std::string& help, std::vector<Range> ranges,
                        std::function<void(const std::vector<double>&)> fn, const std::string& what,
                        const std::string& type) {
    std::string flag = display_name(names);
    std::string need = what.empty() ? "" : " (" + what + ")";
    if (ranges.empty()) ranges.push_back(kAny);
    std::string note = ranges[0].help();
    auto checked = [fn = std::move(fn), n, flag, need, ranges, type](const std::vector<std::string>& v) {
        if ((int)v.size() != n)
            bad_flag(flag, "needs " + std::to_string(n) + " numbers" + need + ", got " + std::to_string(v.size()));
        std::vector<double> x;
        for (size_t i = 0; i < v.size(); ++i) {
            const Range& r = ranges[std::min(i, ranges.size() - 1)];
            x.push_back(type == "INT" ? parse_integer(flag, v[i], r) : parse_number(flag, v[i], r));
        }
        fn(x);
    };
    add(app_.add_option_function<std::vector<std::string>>(names, checked, help + note)->expected(n)->type_name(type));
}

std::string FlagTable::display_name(const std::string& names) {
    std::string first = names.substr(0, names.find(','));
    return first.rfind("--", 0) == 0 ? first.substr(1) : first;
}

void FlagTable::flag(const std::string& names, const std::string& help, std::function<void()> fn) {
    add(app_.add_flag_callback(names, std::move(fn), help));
}

void FlagTable::add(CLI::Option* o) {
    o->trigger_on_parse();
    o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

std::vector<std::string> translate_flags(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    out.reserve(args.size());
    for (const std::string& a : args) {
        bool long_flag = a.size() > 2 && a[0] == '-' && a[1] != '-' && !is_number(a);
        out.push_back(long_flag ? "-" + a : a);
    }
    return out;
}

namespace {
bool known_flag(CLI::App& app, const std::string& user_flag) {
    std::string name = translate_flags({user_flag})[0];
    try {
        app.get_option(name);
        return true;
    } catch (const CLI::OptionNotFound&) {
        return false;
    }
}

// C nanoBragg matches most of its flags with strstr, so a C command line may
// hold a longer spelling of one (-pixel_size for -pixel) that C read as it:
// the longest known flag an unknown one holds is offered, not assumed.
std::string unknown_flag_message(CLI::App& app, const std::string& user_flag) {
    std::string held;
    for (const CLI::Option* o : app.get_options()) {
        for (const std::string& long_name : o->get_lnames()) {
            const std::string name = "-" + long_name;
            if (name.size() > held.size() && name.size() < user_flag.size() &&
                user_flag.find(name) != std::string::npos)
                held = name;
        }
    }
    std::string message = user_flag + ": unknown flag";
    if (!held.empty()) message += " (did you mean " + held + "?)";
    return message;
}

// A flag's error names it by its first name; a user who typed one of its other
// names (-psf_width for -psf_fwhm) reads the name typed.
std::string named_as_typed(CLI::App& app, const std::vector<std::string>& args, const std::string& message) {
    const size_t colon = message.find(':');
    if (message.empty() || message[0] != '-' || colon == std::string::npos) return message;
    const std::string flag = message.substr(0, colon);
    for (const CLI::Option* o : app.get_options()) {
        const std::vector<std::string>& names = o->get_lnames();
        if (names.size() < 2 || "-" + names[0] != flag) continue;
        std::string typed;
        for (const std::string& a : args)
            for (const std::string& n : names)
                if (a == "-" + n && a != typed) {
                    if (!typed.empty()) return message;  // two of its names on the line: keep the first name
                    typed = a;
                }
        return typed.empty() ? message : typed + message.substr(colon);
    }
    return message;
}
}  // namespace

// C sets -curved_det only when an argument follows it (its "argc > i+1" test)
// and reads none: last on the line it does nothing, and a value after it is a
// stray token that C skips ("-curved_det 1"). Flags after it stay flags.
static std::vector<std::string> curved_det_as_c(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    out.reserve(args.size());
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] != "-curved_det") {
            out.push_back(args[i]);
            continue;
        }
        if (i + 1 == args.size()) {
            spdlog::warn(
                "WARNING: -curved_det is the last argument: C nanoBragg then leaves the detector flat (it "
                "needs an argument after it), and so does this run");
            continue;
        }
        out.push_back(args[i]);
        const std::string& next = args[i + 1];
        if (next.empty() || next[0] != '-' || is_number(next)) ++i;  // C's stray value, skipped
    }
    return out;
}

void parse_flag_table(CLI::App& app, const std::vector<std::string>& raw_args,
                      const std::function<bool()>& early_exit) {
    const std::vector<std::string> args = known_flag(app, "-curved_det") ? curved_det_as_c(raw_args) : raw_args;
    std::vector<std::string> translated = translate_flags(args);
    // CLI11 takes "-inf" or "-nan" for a short flag, not a value; a leading
    // space keeps it a value, which the number check then refuses by name.
    for (std::string& a : translated)
        if (a.size() > 1 && a[0] == '-' && std::isalpha((unsigned char)a[1]) && is_number(a)) a = " " + a;
    std::reverse(translated.begin(), translated.end());  // CLI11 consumes from the back
    try {
        app.parse(translated);
    } catch (const UsageError& e) {
        throw UsageError(named_as_typed(app, args, e.what()));
    } catch (const CLI::ExtrasError& e) {
        for (const std::string& a : args)
            if (a.size() > 1 && a[0] == '-' && !is_number(a) && !known_flag(app, a))
                throw UsageError(unknown_flag_message(app, a));
        // a value after a flag that takes none ("-oversample_thick 1"): C
        // skips any word that is not a flag, so C command lines hold these
        for (size_t i = 0; i + 1 < args.size(); ++i) {
            const std::string& a = args[i];
            if (a.size() < 2 || a[0] != '-' || is_number(a) || !known_flag(app, a)) continue;
            const CLI::Option* o = app.get_option(translate_flags({a})[0]);
            const std::string& next = args[i + 1];
            if (o->get_items_expected_max() == 0 && !(next.size() > 1 && next[0] == '-' && !is_number(next)))
                throw UsageError(a + ": takes no value; C nanoBragg skips the '" + next + "' after it, with " + a +
                                 " in force: remove the '" + next + "', or the flag");
        }
        throw UsageError("unexpected value(s) on the command line: " + single_dash(e.what()));
    } catch (const CLI::ConversionError& e) {
        throw UsageError(single_dash(e.what()) + " (not a valid number)");
    } catch (const CLI::ParseError& e) {
        if (early_exit()) return;
        throw UsageError(single_dash(e.what()));
    }
}

int run_program(CLI::App& app, const std::vector<std::string>& args, const ProgramName& program, const bool& help,
                const bool& version, const std::function<int()>& run) {
    try {
        parse_flag_table(app, args, [&] { return help || version; });
        if (version) {
            std::printf("%s\n", program.version.c_str());
            return 0;
        }
        if (help) {
            std::fputs(single_dash(app.help()).c_str(), stdout);
            return 0;
        }
        std::printf("%s\n", program.banner.c_str());
        if (const std::string w = cpu_isa_request_warning(); !w.empty()) spdlog::warn("{}", w);
        return run();
    } catch (const UsageError& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "%s: error: %s (%s -h lists the flags)\n", program.name, printable(e.what()).c_str(),
                     program.name);
        return 2;
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "%s: error: %s\n", program.name, printable(e.what()).c_str());
        return 2;
    }
}

std::string printable(const std::string& message) {
    std::string out;
    for (unsigned char ch : message) {
        if (ch < 0x20 || ch == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", (unsigned)ch);
            out += hex;
        } else {
            out += (char)ch;
        }
    }
    return out;
}

}  // namespace nb
