// Multi-column numeric text files (source lists, stol tables), read with C
// nanoBragg's tokenizer rules: blank lines skipped, separators " \t,;:!",
// missing trailing columns left as NaN.
#pragma once

#include <istream>
#include <string>
#include <vector>

namespace nb {

// Returns one row per non-blank line with exactly `columns` entries (NaN where
// absent). Throws std::runtime_error naming `flag` and the file when it cannot
// be opened, has no data rows, or a field is not a number (trailing junk, as
// "2.0x", included) or infinite; "nan" is read as NaN, as a missing column.
std::vector<std::vector<double>> read_text_table(const std::string& path, int columns, const std::string& flag);
std::vector<std::vector<double>> parse_text_table(std::istream& in, const std::string& path, int columns,
                                                  const std::string& flag);

}  // namespace nb
