// What a compiled render_pixel knows of its run before it starts: the layout
// of the (phi, mosaic) cell table, and whether the run is the common case of
// a square crystal with nearest-neighbour F, whose sweep then carries no code
// for the other shapes, interpolation, source weights or the -oversample_*
// flags. The host's executors and pixel reports take HostSweep; the GPU's
// kernels, and the host backend that stands in for them in tests
// (kernels/frame_host_backend.hpp), take DeviceSweep of sweep_kind(p).
#pragma once
#include <cstddef>
#include <vector>

#include "kernels/pixel_params.hpp"

namespace nb {

enum class SweepKind : int { Any = 0, SquareNearest = 1 };

// The host's: the cell table in structure-of-arrays (the CPU vectorizes over
// pairs), every run option read at run time.
struct HostSweep {
    static constexpr bool interleaved_cells = false;
    static constexpr bool square_nearest = false;
};

// A device's: the cell table interleaved, kDeviceCellStride values a pair (a
// thread reads its pair with wide loads through one pointer: 9 structure-of-
// arrays pointers held 18 registers of the float kernel and an address each).
template <SweepKind K>
struct DeviceSweep {
    static constexpr SweepKind kind = K;
    static constexpr bool interleaved_cells = true;
    // Only F_latt squared reaches the image here (no observer, no -exact), so
    // the square crystal's F_latt leaves out its sign and takes a reciprocal
    // (sincg.hpp, sincg_frac_squared_block).
    static constexpr bool square_nearest = K == SweepKind::SquareNearest;
};

// Pair j's a, b, c (9 values) at table[kDeviceCellStride * j]: 12, so that a
// pair starts on 16 bytes in float (three 16-byte loads) and double (six).
constexpr int kDeviceCellStride = 12;

// The device table of a host (structure-of-arrays) one with `pairs` pairs.
template <typename T>
std::vector<T> interleave_cells(const T* soa, size_t pairs) {
    std::vector<T> out(soa ? pairs * kDeviceCellStride : 0, T(0));
    if (soa)
        for (size_t j = 0; j < pairs; ++j)
            for (int c = 0; c < 9; ++c) out[j * kDeviceCellStride + c] = soa[c * pairs + j];
    return out;
}

// The compiled case a device render of p runs: SquareNearest for a square
// crystal with nearest F, none of the options its sweep leaves out, and an
// HKL grid of fewer than 2^32 values (its offsets are 32-bit).
template <typename T>
SweepKind sweep_kind(const PixelParams<T>& p) {
    const unsigned long long grid =
        (unsigned long long)p.hkl.h_range * (unsigned long long)p.hkl.k_range * (unsigned long long)p.hkl.l_range;
    const bool square_nearest = p.lattice.shape == Shape::Square && !p.lattice.c_exact_sincg && !p.interpolate &&
                                !p.source_weight && !p.oversample_thick && !p.oversample_polar && !p.oversample_omega &&
                                !p.exact && grid < (1ull << 32);
    return square_nearest ? SweepKind::SquareNearest : SweepKind::Any;
}

// fn(DeviceSweep<K>{}) for the compiled case K of a run's kind: the one place
// where the kind picks a template (the GPU's launches, the host backend that
// stands in for them, the kernel-physics test). WithSquareNearest false: a
// translation unit that compiles no square-nearest kernel (-exact's) sends
// every kind to Any. Static: callers compile it with their own lane forms.
template <bool WithSquareNearest = true, typename Fn>
static auto with_device_sweep(SweepKind kind, Fn&& fn) {
    if constexpr (WithSquareNearest)
        if (kind == SweepKind::SquareNearest) return fn(DeviceSweep<SweepKind::SquareNearest>{});
    return fn(DeviceSweep<SweepKind::Any>{});
}

}  // namespace nb
