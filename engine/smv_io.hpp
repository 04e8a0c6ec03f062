// Reading SMV (ADSC) images for -img and -mask: header keywords with C
// nanoBragg's lookup rules, and the unsigned-short pixel data; and the size
// of the headers the suite writes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/config.hpp"

namespace nb {

struct SmvImage {
    std::string path;
    std::string header;  // header_size bytes
    int header_size = 0;
    int width = 0, height = 0;
    std::vector<uint16_t> data;  // width*height, as stored (C never byte-swaps)

    // C's ValueOf: the text after '=' following the LAST occurrence of
    // `keyword` anywhere in the header (so "DISTANCE" can hit
    // "CLOSE_DISTANCE"); NaN when the keyword is absent.
    double value_of(const std::string& keyword) const;
    // value_of, refusing (naming `flag` and the file) a keyword that is there
    // with a value that is not finite ("DISTANCE=nan;" had read as absent),
    // or not above 0 where `positive`.
    double finite_value(const std::string& keyword, const std::string& flag, bool positive = false) const;
};

// Throws std::runtime_error naming `flag` and the file on any problem:
// missing, not SMV, a header that lies about its size, truncated data.
SmvImage read_smv(const std::string& path, const std::string& flag);
SmvImage parse_smv(const std::string& bytes, const std::string& path, const std::string& flag);

// A header text as written: padded with spaces to HEADER_BYTES=512. C writes
// a longer text (long numbers, a turned detector) on past byte 512 while it
// still says 512, so readers take its tail for pixels: c_bytes (-exact) keeps
// that; otherwise the text says the next multiple of 512 and is padded to it.
std::string smv_header_block(std::string text, bool c_bytes);

// The WARNING for a header that -exact writes past 512 bytes as C does ("" when
// it fits).
std::string smv_header_overrun_warning(const std::string& header, const std::string& flag);

// Applies the header to the configuration as C does before reading any flag
// (a mask's BEAM_CENTER_Y is measured from the other edge).
void apply_smv_header(SimConfig& cfg, const SmvImage& img, bool is_mask);

}  // namespace nb
