// Structure factors: the -hkl text format ("h k l F"; other layouts read as C reads them)
// and C nanoBragg's Fdump.bin cache.
#pragma once

#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "engine/experiment.hpp"

namespace nb {

// One reflection as C reads it: integer indices, F.
struct Reflection {
    int h, k, l;
    double F;
};

// C's dense grid over the reflections' index ranges, prefilled with default_F
// (a repeated index keeps its last F). `what` names the source in messages.
// Throws std::runtime_error for an empty list or a grid beyond memory.
HklGrid hkl_grid_from_reflections(const std::vector<Reflection>& refl, double default_F, const std::string& what);

// Fills g (its ranges set) with default_F and then the reflections, each
// inside the ranges (g.hkls is the caller's).
void fill_hkl_grid(HklGrid& g, const std::vector<Reflection>& refl, double default_F, const std::string& what);

// C nanoBragg's own reading of an HKL file (engine/hkl_c_reading.cpp): two
// passes over one stream of numbers, for a file that is not four plain columns
// (`why` says how; it goes into the WARNING the reading adds to `notes`).
HklGrid read_hkl_as_c(std::string_view text, const std::string& path, double default_F, std::vector<std::string>& notes,
                      const std::string& why);

// Reads an HKL text file into a dense grid prefilled with default_F.
// Throws std::runtime_error naming the file and line on malformed input.
HklGrid read_hkl_text(const std::string& path, double default_F, std::vector<std::string>& notes);

// C's Fdump.bin layout: the text line "h_min h_max k_min k_max l_min l_max\n\f"
// then (h_range+1) x (k_range+1) rows of (l_range+1) native doubles (the extra
// plane/row/column is zero padding).
void write_fdump(const std::string& path, const HklGrid& grid);
HklGrid read_fdump(const std::string& path);

// The same readers on an open stream (`path` names it in messages).
HklGrid parse_hkl_text(std::istream& in, const std::string& path, double default_F, std::vector<std::string>& notes);
HklGrid parse_hkl_text(std::string_view text, const std::string& path, double default_F,
                       std::vector<std::string>& notes);
HklGrid parse_fdump(std::istream& in, const std::string& path);

// Largest grid we agree to allocate (entries); beyond it the input is refused.
inline constexpr long long kMaxHklGridEntries = 1LL << 30;

}  // namespace nb
