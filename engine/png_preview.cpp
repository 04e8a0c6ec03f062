#include "engine/png_preview.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#ifdef NB_HAVE_PNG
#include <png.h>
#endif

namespace nb {

double png_default_white_level(const std::vector<float>& image) {
    std::vector<float> positive;
    for (float v : image)
        if (v > 0) positive.push_back(v);
    if (positive.empty()) return 1.0;
    size_t k = (size_t)(0.999 * (positive.size() - 1));
    std::nth_element(positive.begin(), positive.begin() + k, positive.end());
    return positive[k] > 0 ? positive[k] : 1.0;
}

bool png_supported() {
#ifdef NB_HAVE_PNG
    return true;
#else
    return false;
#endif
}

#ifdef NB_HAVE_PNG
namespace {
void append_bytes(png_structp png, png_bytep data, png_size_t n) {
    auto* out = static_cast<std::vector<char>*>(png_get_io_ptr(png));
    out->insert(out->end(), reinterpret_cast<char*>(data), reinterpret_cast<char*>(data) + n);
}
void no_flush(png_structp) {}
}  // namespace
#endif

std::vector<char> png_preview_bytes(const std::vector<float>& image, int width, int height, double level) {
#ifdef NB_HAVE_PNG
    if (level <= 0) level = png_default_white_level(image);
    std::vector<unsigned char> grey((size_t)width * height);
    for (size_t i = 0; i < grey.size(); ++i) {
        // NaN: no pixel there (the gaps and surroundings of a multi-panel layout), mid grey
        if (std::isnan(image[i])) {
            grey[i] = 170;
            continue;
        }
        double t = image[i] > 0 ? std::sqrt(image[i] / level) : 0.0;
        grey[i] = (unsigned char)(255 - (int)std::lround(255.0 * std::min(1.0, t)));
    }
    std::vector<char> out;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        throw std::runtime_error("-pngfile: cannot initialise libpng");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        throw std::runtime_error("-pngfile: libpng failed to encode the image");
    }
    png_set_write_fn(png, &out, append_bytes, no_flush);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; ++y) png_write_row(png, grey.data() + (size_t)y * width);
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return out;
#else
    (void)image;
    (void)width;
    (void)height;
    (void)level;
    throw std::runtime_error("-pngfile: this build has no PNG support (install libpng-dev and rebuild)");
#endif
}

}  // namespace nb
