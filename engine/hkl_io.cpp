#include "engine/hkl_io.hpp"

#include "engine/file_read.hpp"
#include "engine/memory_budget.hpp"
#include "engine/zeroed_buffer.hpp"

#include <omp.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
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
    allocate_filled(g.F, (size_t)n, fill);
}

}  // namespace

HklGrid read_hkl_text(const std::string& path, double default_F, std::vector<std::string>& notes) {
    const MappedFile mapped(path);  // the page cache itself: no copy
    if (mapped.mapped()) return parse_hkl_text(mapped.text(), path, default_F, notes);
    const std::string text = read_file_bytes(path, "-hkl");  // empty files, pipes
    return parse_hkl_text(std::string_view(text), path, default_F, notes);
}

HklGrid parse_hkl_text(std::istream& in, const std::string& path, double default_F, std::vector<std::string>& notes) {
    // the whole text at once: a getline per line, and the growing reflection
    // list, took more time than the numbers
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return parse_hkl_text(std::string_view(text), path, default_F, notes);
}

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// A Miller index written as a plain integer ("-12", "+3"): its exact value
// without a floating-point parse (most of a file's numbers).
bool small_integer(const char* at, const char* end, double& v) {
    const char* p = at;
    bool negative = false;
    if (p < end && (*p == '-' || *p == '+')) negative = *p++ == '-';
    if (p == end || end - p > 9) return false;
    int n = 0;
    for (; p < end; ++p) {
        if (*p < '0' || *p > '9') return false;
        n = n * 10 + (*p - '0');
    }
    v = negative ? -n : n;
    return true;
}

}  // namespace

namespace {

// The lines of [begin, end), the first of them numbered first_line + 1.
// `c_reading` gets the first line that C reads otherwise than line by line
// (a fifth column, an index not written as a whole number); the caller then
// reads the file as C does (read_hkl_as_c).
void parse_hkl_lines(const char* begin, const char* text_end, int first_line, const std::string& path,
                     std::vector<Reflection>& refl, std::string& c_reading) {
    reserve_huge(refl, (size_t)std::count(begin, text_end, '\n') + 1);
    int lineno = first_line;
    const double limit = 1e6;  // |index| beyond this is not a real reflection list
    const char* next = begin;
    while (next < text_end) {
        const char* line = next;
        const char* nl = static_cast<const char*>(std::memchr(line, '\n', (size_t)(text_end - line)));
        // a NUL ends the line's content, as it ended the C string of a line before
        const char* line_end = nl ? nl : text_end;
        if (const void* z = std::memchr(line, '\0', (size_t)(line_end - line))) line_end = static_cast<const char*>(z);
        next = nl ? nl + 1 : text_end;
        ++lineno;
        const char* at = line;
        while (at < line_end && is_blank(*at)) ++at;
        if (at == line_end || *at == '#') continue;
        double v[4];
        std::string_view tok[4];
        for (int i = 0; i < 4; ++i) {
            while (at < line_end && is_blank(*at)) ++at;
            const char* tok_end = at;
            while (tok_end < line_end && !is_blank(*tok_end)) ++tok_end;
            if (tok_end == at) {
                throw std::runtime_error(where(path, lineno) + ": expected 'h k l F', found " + std::to_string(i) +
                                         " column(s)");
            }
            tok[i] = std::string_view(at, (size_t)(tok_end - at));
            if (i == 3 || !small_integer(at, tok_end, v[i])) {
                // from_chars (several times faster than strtod, the same correctly
                // rounded value); strtod for what it does not take ("+1", hex), as C's %lf
                const std::from_chars_result fc = std::from_chars(at, tok_end, v[i]);
                const char* end = fc.ptr;
                if (fc.ec != std::errc() || end != tok_end) {
                    const std::string t(tok[i]);  // strtod needs a terminated string
                    char* e = nullptr;
                    v[i] = std::strtod(t.c_str(), &e);
                    end = at + (e - t.c_str());
                }
                if (end != tok_end || !std::isfinite(v[i])) {
                    throw std::runtime_error(where(path, lineno) + ": '" + std::string(tok[i]) + "' is not a number");
                }
                if (i < 3 && c_reading.empty())
                    c_reading = "line " + std::to_string(lineno) + ": index '" + std::string(tok[i]) + "'";
            }
            at = tok_end;
        }
        for (int i = 0; i < 3; ++i) {
            if (std::fabs(v[i]) > limit) {
                throw std::runtime_error(where(path, lineno) + ": Miller index " + std::string(tok[i]) +
                                         " out of range (|index| > 1e6)");
            }
        }
        // more columns: numbers still, or the file is not a reflection list
        for (int column = 5;; ++column) {
            while (at < line_end && is_blank(*at)) ++at;
            if (at == line_end) break;
            const char* tok_end = at;
            while (tok_end < line_end && !is_blank(*tok_end)) ++tok_end;
            const std::string t(at, tok_end);
            char* e = nullptr;
            const double x = std::strtod(t.c_str(), &e);
            if (e != t.c_str() + t.size() || !std::isfinite(x))
                throw std::runtime_error(where(path, lineno) + ": '" + t + "' is not a number");
            if (c_reading.empty())
                c_reading = "line " + std::to_string(lineno) + ": " + std::to_string(column) + " columns";
            at = tok_end;
        }
        refl.push_back(Reflection{(int)v[0], (int)v[1], (int)v[2], v[3]});
    }
}

HklGrid grid_from_chunks(const std::vector<const std::vector<Reflection>*>& chunks, double default_F,
                         const std::string& what);

}  // namespace

HklGrid parse_hkl_text(std::string_view text, const std::string& path, double default_F,
                       std::vector<std::string>& notes) {
    // A large file is parsed in pieces at once, each from a line start; the
    // pieces' reflections are then taken in file order (a repeated index
    // keeps its last F, as in one pass).
    const int pieces = text.size() < (512u << 10) ? 1 : std::max(1, std::min(8, omp_get_max_threads()));
    std::vector<const char*> starts{text.data()};
    const char* const text_end = text.data() + text.size();
    for (int k = 1; k < pieces; ++k) {
        const char* at = std::max(starts.back(), text.data() + text.size() * k / pieces);
        const char* nl = static_cast<const char*>(std::memchr(at, '\n', (size_t)(text_end - at)));
        if (!nl) break;
        starts.push_back(nl + 1);
    }
    starts.push_back(text_end);
    const int n = (int)starts.size() - 1;
    std::vector<int> first_line(n, 0);
    for (int k = 1; k < n; ++k) first_line[k] = first_line[k - 1] + (int)std::count(starts[k - 1], starts[k], '\n');
    std::vector<std::vector<Reflection>> chunks(n);
    std::vector<std::string> c_reading(n);
    std::vector<std::exception_ptr> failed(n);
#pragma omp parallel for schedule(static, 1) num_threads(n) if (n > 1)
    for (int k = 0; k < n; ++k) {
        try {
            parse_hkl_lines(starts[k], starts[k + 1], first_line[k], path, chunks[k], c_reading[k]);
        } catch (...) {
            failed[k] = std::current_exception();
        }
    }
    for (int k = 0; k < n; ++k)
        if (failed[k]) std::rethrow_exception(failed[k]);  // the first bad line of the file
    for (int k = 0; k < n; ++k)
        if (!c_reading[k].empty()) return read_hkl_as_c(text, path, default_F, notes, c_reading[k]);
    std::vector<const std::vector<Reflection>*> in_order;
    for (const auto& c : chunks) in_order.push_back(&c);
    return grid_from_chunks(in_order, default_F, "-hkl: '" + path + "'");
}

namespace {

// The grid over g's ranges, default_F where no reflection sets a value.
void fill_chunks(HklGrid& g, const std::vector<const std::vector<Reflection>*>& chunks, double default_F,
                 const std::string& what) {
    allocate(g, default_F, what);
    const long long kr = g.k_range(), lr = g.l_range();
    for (const auto* c : chunks)
        for (const auto& r : *c) g.F[((long long)(r.h - g.h_min) * kr + (r.k - g.k_min)) * lr + (r.l - g.l_min)] = r.F;
}

HklGrid grid_from_chunks(const std::vector<const std::vector<Reflection>*>& chunks, double default_F,
                         const std::string& what) {
    HklGrid g;
    long long count = 0;
    for (const auto* c : chunks) count += (long long)c->size();
    if (count == 0) throw std::runtime_error(what + " holds no reflections");
    g.h_min = g.k_min = g.l_min = std::numeric_limits<int>::max();
    g.h_max = g.k_max = g.l_max = std::numeric_limits<int>::min();
    for (const auto* c : chunks)
        for (const auto& r : *c) {
            g.h_min = std::min(g.h_min, r.h);
            g.h_max = std::max(g.h_max, r.h);
            g.k_min = std::min(g.k_min, r.k);
            g.k_max = std::max(g.k_max, r.k);
            g.l_min = std::min(g.l_min, r.l);
            g.l_max = std::max(g.l_max, r.l);
        }
    fill_chunks(g, chunks, default_F, what);
    g.hkls = count;
    return g;
}

}  // namespace

void fill_hkl_grid(HklGrid& g, const std::vector<Reflection>& refl, double default_F, const std::string& what) {
    fill_chunks(g, {&refl}, default_F, what);
}

HklGrid hkl_grid_from_reflections(const std::vector<Reflection>& refl, double default_F, const std::string& what) {
    return grid_from_chunks({&refl}, default_F, what);
}

void write_fdump(const std::string& path, const HklGrid& g) {
    std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write structure-factor cache '" + path + "'");
    std::fprintf(f, "%d %d %d %d %d %d\n\f", g.h_min, g.h_max, g.k_min, g.k_max, g.l_min, g.l_max);
    const int hr = g.h_range(), kr = g.k_range(), lr = g.l_range();
    // a plane of h at a time: one system call each (a row each had taken 256
    // calls for lyso.hkl's 1 MB, stdio's buffer being one page)
    std::vector<double> plane((size_t)(kr + 1) * (lr + 1));
    bool ok = true;
    for (int h = 0; h <= hr && ok; ++h) {
        for (int k = 0; k <= kr; ++k)
            for (int l = 0; l <= lr; ++l)
                plane[(size_t)k * (lr + 1) + l] =
                    (h < hr && k < kr && l < lr) ? g.F[((size_t)h * kr + k) * lr + l] : 0.0;
        ok = std::fwrite(plane.data(), sizeof(double), plane.size(), f) == plane.size();
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
