// A host implementation of the frame pipeline's Backend (kernels/frame_pipeline.hpp):
// the same staging into reusable buffers, passes, reductions and copies as the
// CUDA backend, run serially on the CPU, so that tests check the orchestration
// (indexing, ROI, masks, the interpolation re-render, buffer reuse across
// frames, the statistics, two frames in flight) on machines without a GPU.
//
// Its copy back is deferred to collect, the latest a GPU's asynchronous copy
// may happen: a pipeline that let the next frame write into a slot before its
// copy was read would hand back the wrong frame here too.
#pragma once
#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/frame_pipeline.hpp"

namespace nb {

class HostFrameBackend {
public:
    template <typename U>
    const U* upload(Table t, const U* host, size_t n) {
        if (!host || n == 0) return nullptr;
        std::vector<unsigned char>& buf = tables_[(int)t];
        grow(buf, n * sizeof(U));
        std::memcpy(buf.data(), host, n * sizeof(U));
        ++uploads_;
        return reinterpret_cast<const U*>(buf.data());
    }
    template <typename U>
    const U* hkl_grid(const U* host, size_t n) {
        if (!host || n == 0) return nullptr;
        const size_t bytes = n * sizeof(U);
        if (grid_.size() < bytes || grid_bytes_ != bytes || std::memcmp(grid_.data(), host, bytes) != 0) {
            grow(grid_, bytes);
            std::memcpy(grid_.data(), host, bytes);
            grid_bytes_ = bytes;
            ++grid_uploads_;
        }
        return reinterpret_cast<const U*>(grid_.data());
    }
    SlotRing& slots() { return slots_; }
    float* zeroed_image(int slot, size_t n) {
        std::vector<unsigned char>& image = image_[slot];
        grow(image, n * sizeof(float));
        float* p = reinterpret_cast<float*>(image.data());
        std::memset(p, 0, n * sizeof(float));
        return p;
    }
    unsigned long long* reset_flag() {
        flag_ = ULLONG_MAX;
        return &flag_;
    }
    template <typename T>
    void load_render(const PixelParams<T>&) {
        ++loads_;
    }
    void mark_start(int) { loads_at_start_ = loads_; }
    void mark_rendered(int) {}
    double kernel_ms(int) const { return 0; }
    BeamList* reset_beam_list(size_t capacity) {
        beam_index_.assign(capacity, -1);
        beam_ = BeamList{0, capacity, beam_index_.data()};
        return &beam_;
    }
    template <typename T>
    void render(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                unsigned long long* flag) {
        ++passes_;
        // the GPU kernel's compiled case (kernels/cuda_render_kernel.cuh)
        with_device_sweep(sweep_kind(p),
                          [&](auto sweep) { render_as<decltype(sweep)>(p, cutoff, from_pixel, image, flag); });
    }
    template <typename T>
    void add_background(const PixelParams<T>& p, const AmorphousParams<T>& a, const PolarizationFrame<T>* frames,
                        float* image) {
        ++background_passes_;
        for (int s = 0; s < p.spixels; ++s)
            for (int f = 0; f < p.fpixels; ++f) {
                const long long idx = pixel_to_render(p, f, s, 0);
                if (idx < 0) continue;
                double omega = 0, values[kMaxMaterials];
                render_amorphous_pixel(p, a, frames, f, s, values, &omega);
                store_amorphous(a, image[idx], values);
            }
    }
    template <typename T>
    void find_beam_pixels(const PixelParams<T>& p, BeamList* beam) {
        for (int s = 0; s < p.spixels; ++s)
            for (int f = 0; f < p.fpixels; ++f) {
                const long long idx = pixel_to_render(p, f, s, 0);
                if (idx >= 0 && pixel_on_direct_beam(p, f, s)) note_beam_pixel(beam, beam->count++, idx);
            }
    }
    unsigned long long read_flag(const unsigned long long* flag) const { return *flag; }
    std::vector<long long> read_beam_list(const BeamList* beam) const {
        if (beam->count > beam->capacity)
            throw std::runtime_error("more direct-beam pixels than the list holds (" + std::to_string(beam->count) +
                                     ")");
        return std::vector<long long>(beam->index, beam->index + beam->count);
    }
    void patch(float* image, const std::vector<long long>& idx, const std::vector<float>& values) {
        for (size_t i = 0; i < idx.size(); ++i) image[idx[i]] = values[i];
        patched_ += (int)idx.size();
    }
    FrameResults* results(int slot) { return &results_[slot]; }
    template <typename Op, typename Combine, typename R>
    void reduce(Op op, Combine combine, R init, long long n, R* out) {
        // in blocks, then the blocks combined: the order differs from a serial sum, as on the GPU
        const long long block = 4096;
        R total = init;
        for (long long b0 = 0; b0 < n; b0 += block) {
            R part = init;
            for (long long i = b0; i < n && i < b0 + block; ++i) part = combine(part, op(i));
            total = combine(total, part);
        }
        *out = total;
    }
    void copy_back(int slot, const float* image, size_t n, const FrameResults* results) {
        copies_[slot] = Copy{image, n, results, true};
    }
    void collect(int slot, float* host_image, size_t n, FrameResults* host) {
        Copy& c = copies_[slot];
        if (!c.queued || c.n != n) throw std::logic_error("host pipeline: collect without its copy back");
        std::memcpy(host_image, c.image, n * sizeof(float));
        if (host) *host = *c.results;
        c.queued = false;
    }

    // what the tests look at
    int uploads() const { return uploads_; }
    int loads() const { return loads_; }
    int loads_at_start() const { return loads_at_start_; }
    int grid_uploads() const { return grid_uploads_; }
    int passes() const { return passes_; }
    int patched() const { return patched_; }
    int background_passes() const { return background_passes_; }
    size_t image_capacity(int slot = 0) const { return image_[slot].size(); }
    int in_flight() const { return slots_.in_flight(); }

private:
    template <typename Sweep, typename T>
    static void render_as(const PixelParams<T>& p, InterpCutoff cutoff, long long from_pixel, float* image,
                          unsigned long long* flag) {
        for (int s = 0; s < p.spixels; ++s)
            for (int f = 0; f < p.fpixels; ++f) {
                const long long idx = pixel_to_render(p, f, s, from_pixel);
                if (idx < 0) continue;
                const PixelResult r = render_pixel<Sweep>(p, f, s, cutoff);
                image[idx] = (float)r.value;
                if (r.first_interp_failure >= 0 && (unsigned long long)idx < *flag) *flag = (unsigned long long)idx;
            }
    }
    static void grow(std::vector<unsigned char>& v, size_t bytes) {
        if (v.size() < bytes) v.resize(bytes);
    }
    std::vector<unsigned char> tables_[(int)Table::Count];
    struct Copy {
        const float* image = nullptr;
        size_t n = 0;
        const FrameResults* results = nullptr;
        bool queued = false;
    };
    SlotRing slots_;
    std::vector<unsigned char> grid_, image_[SlotRing::kSlots];
    Copy copies_[SlotRing::kSlots];
    size_t grid_bytes_ = 0;
    unsigned long long flag_ = ULLONG_MAX;
    FrameResults results_[SlotRing::kSlots]{};
    std::vector<long long> beam_index_;
    BeamList beam_{};
    int uploads_ = 0, grid_uploads_ = 0, passes_ = 0, patched_ = 0, background_passes_ = 0;
    int loads_ = 0, loads_at_start_ = 0;  // render-kernel loads, in all and before the last timed pass
};

}  // namespace nb
