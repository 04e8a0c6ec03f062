#include "engine/text_table.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace nb {

std::vector<std::vector<double>> read_text_table(const std::string& path, int columns, const std::string& flag) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(flag + ": cannot open '" + path + "'");
    return parse_text_table(in, path, columns, flag);
}

std::vector<std::vector<double>> parse_text_table(std::istream& in, const std::string& path, int columns,
                                                  const std::string& flag) {
    static const char* delimiters = " \t,;:!\r";
    std::vector<std::vector<double>> rows;
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        std::vector<double> row(columns, NAN);
        const char* p = line.c_str();
        p += std::strspn(p, delimiters);
        if (*p == '\0') continue;  // blank line
        if (*p == '#') continue;   // comment (C would read it as zeros; we skip)
        for (int col = 0; col < columns && *p; ++col) {
            char* end = nullptr;
            double x = std::strtod(p, &end);
            if (end == p) {
                throw std::runtime_error(flag + ": '" + path + "' line " + std::to_string(lineno) + ": column " +
                                         std::to_string(col + 1) + " is not a number");
            }
            const std::string where =
                flag + ": '" + path + "' line " + std::to_string(lineno) + ": column " + std::to_string(col + 1);
            // C's atof would read "2.0x" as 2 and "inf" as infinity: bad input
            // here; "nan" stays what a missing column is (the caller's default)
            if (*end != '\0' && !std::strchr(delimiters, *end))
                throw std::runtime_error(where + " is not a number ('" + std::string(p, std::strcspn(p, delimiters)) +
                                         "')");
            if (std::isinf(x)) throw std::runtime_error(where + " is not finite");
            row[col] = x;
            p = end;
            p += std::strspn(p, delimiters);
        }
        rows.push_back(std::move(row));
    }
    if (rows.empty()) throw std::runtime_error(flag + ": '" + path + "' holds no data rows");
    return rows;
}

}  // namespace nb
