// C nanoBragg's own reading of an -hkl file, for the files our line reader
// does not take as four plain columns: a fifth column ("h k l F sigF") or an
// index written "1.0". C reads the file twice as one stream of numbers, not
// line by line: first with "%lg%lg%lg%lg" (the index ranges and the count),
// then with "%d%d%d%lg" (the values). A fifth column shifts both readings;
// "%d" stops inside "1.5", which ends the second one there. The image follows
// from that, so we read such a file the same way and say so in a WARNING.
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "engine/hkl_io.hpp"

namespace nb {

namespace {

// fscanf's view of the text: whitespace (newlines too) before each number.
class NumberStream {
public:
    explicit NumberStream(const std::string& text) : p_(text.c_str()), end_(text.c_str() + text.size()) {}
    // "%lg": the longest number strtod takes here (the text ends with a NUL)
    bool real(double& v) {
        skip_space();
        if (p_ == end_) return false;
        char* e = nullptr;
        v = std::strtod(p_, &e);
        if (e == p_) return false;
        p_ = e;
        return true;
    }
    // "%d": a sign and decimal digits, stopping at the first other character
    bool integer(long long& v) {
        skip_space();
        const char* q = p_;
        if (q < end_ && (*q == '+' || *q == '-')) ++q;
        if (q == end_ || !std::isdigit((unsigned char)*q)) return false;
        errno = 0;
        char* e = nullptr;
        v = std::strtoll(p_, &e, 10);
        if (errno == ERANGE) v = v < 0 ? LLONG_MIN : LLONG_MAX;
        p_ = e;
        return true;
    }

private:
    void skip_space() {
        while (p_ < end_ && std::isspace((unsigned char)*p_)) ++p_;
    }
    const char* p_;
    const char* end_;
};

// C keeps the ranges in ints: a double assigned to one is cut toward zero.
int to_c_int(double v) { return v >= 2147483647.0 ? INT_MAX : v <= -2147483648.0 ? INT_MIN : (int)v; }

}  // namespace

HklGrid read_hkl_as_c(std::string_view file_text, const std::string& path, double default_F,
                      std::vector<std::string>& notes, const std::string& why) {
    // '#' comment lines are skipped here too (our one departure, docs/parity.md)
    std::string text(file_text);
    for (size_t at = 0; at < text.size();) {
        size_t nl = text.find('\n', at);
        if (nl == std::string::npos) nl = text.size();
        size_t first = text.find_first_not_of(" \t\r", at);
        if (first < nl && text[first] == '#') text.replace(at, nl - at, nl - at, ' ');
        at = nl + 1;
    }
    const std::string what = "-hkl: '" + path + "'";

    // the first reading: ranges and count
    int h_min = 1000000000, k_min = 1000000000, l_min = 1000000000;
    int h_max = -1000000000, k_max = -1000000000, l_max = -1000000000;
    long long counted = 0;
    {
        NumberStream in(text);
        double h, k, l, F;
        while (in.real(h) && in.real(k) && in.real(l) && in.real(F)) {
            const double idx[3] = {h, k, l};
            for (int i = 0; i < 3; ++i) {
                if (idx[i] != std::ceil(idx[i] - 0.4)) {
                    char buf[160];
                    std::snprintf(buf, sizeof buf, "WARNING: non-integer value for %c (%g) at line %lld", "hkl"[i],
                                  idx[i], counted);
                    notes.push_back(buf);
                }
            }
            if (!std::isfinite(h) || !std::isfinite(k) || !std::isfinite(l) || std::fabs(h) > 1e6 ||
                std::fabs(k) > 1e6 || std::fabs(l) > 1e6)
                throw std::runtime_error(what + ": read as C reads it (" + why + "), number set " +
                                         std::to_string(counted + 1) +
                                         " has an index that is not finite or beyond 1e6");
            if (h_min > h) h_min = to_c_int(h);
            if (k_min > k) k_min = to_c_int(k);
            if (l_min > l) l_min = to_c_int(l);
            if (h_max < h) h_max = to_c_int(h);
            if (k_max < k) k_max = to_c_int(k);
            if (l_max < l) l_max = to_c_int(l);
            ++counted;
        }
    }
    if (counted == 0 || h_max < h_min || k_max < k_min || l_max < l_min)
        throw std::runtime_error(what + " holds no reflections (read as C reads it: " + why + ")");

    // the second reading: the values, while four numbers of the right kinds follow
    std::vector<Reflection> refl;
    {
        NumberStream in(text);
        long long h, k, l;
        double F;
        while (in.integer(h) && in.integer(k) && in.integer(l) && in.real(F)) {
            if (!std::isfinite(F))
                throw std::runtime_error(what + ": read as C reads it (" + why + "), F of " + std::to_string(h) + " " +
                                         std::to_string(k) + " " + std::to_string(l) + " is not finite");
            // C writes outside its table there
            if (h < h_min || h > (long long)h_max + 1 || k < k_min || k > (long long)k_max + 1 || l < l_min ||
                l > (long long)l_max + 1)
                throw std::runtime_error(what + ": read as C reads it (" + why + "), its second reading gives index " +
                                         std::to_string(h) + " " + std::to_string(k) + " " + std::to_string(l) +
                                         ", outside the ranges of its first; C would write outside its table");
            // one past a range: C's padding row, which no lookup reads
            if (h > h_max || k > k_max || l > l_max) continue;
            refl.push_back(Reflection{(int)h, (int)k, (int)l, F});
        }
    }

    HklGrid g;
    g.h_min = h_min, g.h_max = h_max, g.k_min = k_min, g.k_max = k_max, g.l_min = l_min, g.l_max = l_max;
    fill_hkl_grid(g, refl, default_F, what);
    g.hkls = counted;
    notes.push_back("WARNING: " + what + " is not four columns of whole-number h k l and F (" + why +
                    "): read as C nanoBragg reads it, as one stream of numbers (" + std::to_string(counted) +
                    " sets of four numbers in its first reading, " + std::to_string(refl.size()) +
                    " structure factors set in its second)");
    return g;
}

}  // namespace nb
