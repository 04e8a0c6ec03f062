// Image buffers: a recycled one is filled again on the threads, a new one
// allocated and filled; either way every element holds the value.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "engine/zeroed_buffer.hpp"

namespace {

TEST(ZeroedBuffer, ARecycledImageIsZeroedWhole) {
    // 2048x2048 floats (16 MB: the threads' path) and a small one (one thread)
    for (size_t n : {(size_t)2048 * 2048 + 3, (size_t)1000}) {
        std::vector<float> image(n, 7.0f);
        const float* before = image.data();
        nb::allocate_zeroed(image, n);
        EXPECT_EQ(image.data(), before) << n << ": a buffer of the right size is kept, not reallocated";
        ASSERT_EQ(image.size(), n);
        EXPECT_EQ(std::count(image.begin(), image.end(), 0.0f), (long)n) << n;
    }
}

TEST(ZeroedBuffer, NewAndResizedBuffersHoldTheValue) {
    std::vector<float> image;
    nb::allocate_filled(image, (size_t)2048 * 2048, 2.5f);
    EXPECT_EQ(std::count(image.begin(), image.end(), 2.5f), 2048L * 2048);
    nb::allocate_zeroed(image, 100);  // smaller: within capacity
    ASSERT_EQ(image.size(), 100u);
    EXPECT_EQ(std::count(image.begin(), image.end(), 0.0f), 100);
}

}  // namespace
