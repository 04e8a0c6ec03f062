// PNG preview of a float image for people who would rather look than read:
// dark spots on a white background, square-root intensity scale.
#pragma once

#include <string>
#include <vector>

namespace nb {

// Intensity shown as black. <= 0 selects the default: the 99.9th percentile
// of the positive pixels (bright Bragg spots saturate, weak ones stay visible).
double png_default_white_level(const std::vector<float>& image);

// 8-bit greyscale PNG bytes (NaN pixels mid grey: no detector there); throws
// std::runtime_error if PNG support is missing.
std::vector<char> png_preview_bytes(const std::vector<float>& image, int width, int height, double level);

bool png_supported();

}  // namespace nb
