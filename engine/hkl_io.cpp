#include "engine/hkl_io.hpp"

#include "engine/memory_budget.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string_view>

namespace nb {

namespace {

std::string where(const std::string& path, int lineno) { return "-hkl: '" + path + "' line " + std::to_string(lineno); }

void allocate(HklGrid& g, double fill, const std::string& what) {
    long long n = (long long)g.h_range() * g.k_range() * g.l_range();
    if (g.h_range() <= 0 || g.k_range() <= 0 || g.l_range() <= 0 || n > kMaxHklGridEntries ||
        (uint64_t)n * sizeof(double) > memory_budget_bytes()) {
        throw std::runtime_error(what + ": index ranges h " + std::to_string(g.h_min) + ".." + std::to_string(g.h_max) +
                                 ", k " + std::to_string(g.k_min) + ".." + std::to_string(g.k_max) + ", l " +
                                 std::to_string(g.l_min) + ".." + std::to_string(g.l_max) + " give a grid of " +
                                 std::to_string(n) + " structure factors, too large for this machine's memory");
    }
    g.F.assign((size_t)n, fill);
}

}  // namespace

HklGrid read_hkl_text(const std::string& path, double default_F, std::vector<std::string>& notes) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("-hkl: cannot open '" + path + "'");
    return parse_hkl_text(in, path, default_F, notes);
}

HklGrid parse_hkl_text(std::istream& in, const std::string& path, double default_F, std::vector<std::string>& notes) {
    std::vector<Reflection> refl;
    std::string line;
    int lineno = 0;
    const double limit = 1e6;  // |index| beyond this is not a real reflection list
    while (std::getline(in, line)) {
        ++lineno;
        size_t start = line.find_first_not_of(" \t\r");
        if (start == std::string::npos || line[start] == '#') continue;
        // fields split in place (an istringstream per line took most of the load time)
        double v[4];
        std::string_view tok[4];
        const char* at = line.c_str() + start;
        for (int i = 0; i < 4; ++i) {
            while (*at == ' ' || *at == '\t' || *at == '\r') ++at;
            const char* tok_end = at;
            while (*tok_end && *tok_end != ' ' && *tok_end != '\t' && *tok_end != '\r') ++tok_end;
            if (tok_end == at) {
                throw std::runtime_error(where(path, lineno) + ": expected 'h k l F', found " + std::to_string(i) +
                                         " column(s)");
            }
            tok[i] = std::string_view(at, (size_t)(tok_end - at));
            // from_chars (several times faster than strtod, the same correctly
            // rounded value); strtod for what it does not take ("+1", hex), as C's %lf
            const std::from_chars_result fc = std::from_chars(at, tok_end, v[i]);
            const char* end = fc.ptr;
            if (fc.ec != std::errc() || end != tok_end) {
                char* e = nullptr;
                v[i] = std::strtod(at, &e);
                end = e;
            }
            if (end != tok_end || !std::isfinite(v[i])) {
                throw std::runtime_error(where(path, lineno) + ": '" + std::string(tok[i]) + "' is not a number");
            }
            at = tok_end;
        }
        for (int i = 0; i < 3; ++i) {
            if (std::fabs(v[i]) > limit) {
                throw std::runtime_error(where(path, lineno) + ": Miller index " + std::string(tok[i]) +
                                         " out of range (|index| > 1e6)");
            }
            if (v[i] != std::ceil(v[i] - 0.4)) {
                const char* name = i == 0 ? "h" : (i == 1 ? "k" : "l");
                char buf[160];
                std::snprintf(buf, sizeof buf, "WARNING: non-integer value for %s (%g) at line %d", name, v[i], lineno);
                notes.push_back(buf);
            }
        }
        // C's second pass reads the indices with %d: the integer part.
        refl.push_back(Reflection{(int)v[0], (int)v[1], (int)v[2], v[3]});
    }
    return hkl_grid_from_reflections(refl, default_F, "-hkl: '" + path + "'");
}

HklGrid hkl_grid_from_reflections(const std::vector<Reflection>& refl, double default_F, const std::string& what) {
    HklGrid g;
    if (refl.empty()) throw std::runtime_error(what + " holds no reflections");
    g.h_min = g.k_min = g.l_min = std::numeric_limits<int>::max();
    g.h_max = g.k_max = g.l_max = std::numeric_limits<int>::min();
    for (const auto& r : refl) {
        g.h_min = std::min(g.h_min, r.h);
        g.h_max = std::max(g.h_max, r.h);
        g.k_min = std::min(g.k_min, r.k);
        g.k_max = std::max(g.k_max, r.k);
        g.l_min = std::min(g.l_min, r.l);
        g.l_max = std::max(g.l_max, r.l);
    }
    allocate(g, default_F, what);
    const long long kr = g.k_range(), lr = g.l_range();
    for (const auto& r : refl) {
        g.F[((long long)(r.h - g.h_min) * kr + (r.k - g.k_min)) * lr + (r.l - g.l_min)] = r.F;
    }
    g.hkls = (long long)refl.size();
    return g;
}

void write_fdump(const std::string& path, const HklGrid& g) {
    std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write structure-factor cache '" + path + "'");
    std::fprintf(f, "%d %d %d %d %d %d\n\f", g.h_min, g.h_max, g.k_min, g.k_max, g.l_min, g.l_max);
    const int hr = g.h_range(), kr = g.k_range(), lr = g.l_range();
    std::vector<double> row((size_t)lr + 1);
    bool ok = true;
    for (int h = 0; h <= hr; ++h)
        for (int k = 0; k <= kr; ++k) {
            for (int l = 0; l <= lr; ++l)
                row[l] = (h < hr && k < kr && l < lr) ? g.F[((size_t)h * kr + k) * lr + l] : 0.0;
            ok = ok && std::fwrite(row.data(), sizeof(double), row.size(), f) == row.size();
        }
    ok = (std::fclose(f) == 0) && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw std::runtime_error("cannot write structure-factor cache '" + path + "'");
    }
}

HklGrid read_fdump(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open structure-factor cache '" + path + "'");
    return parse_fdump(in, path);
}

HklGrid parse_fdump(std::istream& in, const std::string& path) {
    HklGrid g;
    // header: six integers on one line, then a form feed
    std::string line;
    bool ok = (bool)std::getline(in, line) && line.size() < 256;
    long long v[6] = {0, 0, 0, 0, 0, 0};
    if (ok) {
        const char* p = line.c_str();
        for (int i = 0; i < 6 && ok; ++i) {
            char* end = nullptr;
            v[i] = std::strtoll(p, &end, 10);
            ok = end != p && v[i] >= -1000000 && v[i] <= 1000000;
            p = end;
        }
        while (ok && (*p == ' ' || *p == '\t')) ++p;
        ok = ok && *p == '\0' && in.get() == '\f' && v[1] >= v[0] && v[3] >= v[2] && v[5] >= v[4];
    }
    if (!ok) throw std::runtime_error("'" + path + "' is not a nanoBragg Fdump file (bad header)");
    g.h_min = (int)v[0];
    g.h_max = (int)v[1];
    g.k_min = (int)v[2];
    g.k_max = (int)v[3];
    g.l_min = (int)v[4];
    g.l_max = (int)v[5];
    allocate(g, 0.0, "'" + path + "'");
    const int hr = g.h_range(), kr = g.k_range(), lr = g.l_range();
    std::vector<double> row((size_t)lr + 1);
    for (int h = 0; h <= hr; ++h)
        for (int k = 0; k <= kr; ++k) {
            if (!in.read(reinterpret_cast<char*>(row.data()), (std::streamsize)(row.size() * sizeof(double))))
                throw std::runtime_error("'" + path + "' is truncated");
            if (h < hr && k < kr)
                for (int l = 0; l < lr; ++l) g.F[((size_t)h * kr + k) * lr + l] = row[l];
        }
    g.hkls = (long long)hr * kr * lr;
    return g;
}

}  // namespace nb
