// Everything the per-pixel physics reads, staged once per image by the host.
// Plain data with raw pointers so the same struct works on CPU and GPU.
#pragma once
#include <cstdint>

#include "kernels/hd.hpp"
#include "kernels/lattice_shape.hpp"
#include "kernels/polarization.hpp"
#include "kernels/structure_factor.hpp"
#include "kernels/vec3.hpp"

namespace nb {

// One panel of a multi-panel detector (-expt): its frame in the lab (m).
template <typename T>
struct PanelFrame {
    Vec3<T> fdet, sdet, odet, pix0;
    T distance = 0, close_distance = 0;
};

template <typename T>
struct PixelParams {
    // detector raster
    int fpixels = 0, spixels = 0;
    int roi_xmin = 0, roi_xmax = 0, roi_ymin = 0, roi_ymax = 0;  // inclusive, as in C
    const uint16_t* mask = nullptr;                              // zero: skip pixel
    int oversample = 1;
    T pixel_size = 0, subpixel_size = 0;
    Vec3<T> fdet, sdet, odet, pix0, beam;
    T distance = 0, close_distance = 0;
    bool curved_detector = false, point_pixel = false;
    // Multi-panel detectors: the raster stacks the panels' rows, rows
    // [k panel_rows, (k + 1) panel_rows) being panel k's. The physics' entry
    // points read a copy with panel k's frame in the fields above
    // (panel_params); panel_s0 is then the sub-pixel row where panel k starts,
    // so that a panel's positions are computed from its own first row, as a
    // single-panel run of that panel computes them (0 for one panel).
    const PanelFrame<T>* panels = nullptr;
    int panel_rows = 0;
    T panel_s0 = 0;

    // sensor
    int thicksteps = 1;
    T thick = 0, thickstep = 0, mu = 0;
    bool oversample_thick = false, oversample_polar = false, oversample_omega = false;

    // sources: unit vectors from the sample towards each source, and wavelengths (m)
    int sources = 0;
    const T* source_dir = nullptr;  // 3 per source
    const T* source_lambda = nullptr;
    const T* source_weight = nullptr;  // -source_weights; null: every source counts once (C)
    // each source's polarization frame, staged by the host (the GPU: 4 square
    // roots and 12 divisions a pixel fewer); null: worked out per pixel
    const PolarizationFrame<T>* polar_frames = nullptr;
    T dmin = 0;
    bool nopolar = false;
    T polarization = 0;  // Kahn factor
    Vec3<T> polar_vector;

    // crystal: real-space a,b,c (m) for every (phi step, mosaic domain), phi-major,
    // structure-of-arrays: component c (ax ay az bx .. cz) of pair j at c*pairs + j. `cells_first` holds the table C
    // effectively uses in the very first phi sweep of the image (see docs/parity.md, "phi carry-over").
    int phisteps = 1, mosaic_domains = 1;
    const T* cells = nullptr;
    const T* cells_first = nullptr;
    long long first_sweep_pixel = -1;  // image index of the pixel holding that sweep

    LatticeParams<T> lattice;
    HklGridView<T> hkl;
    T default_F = 0;
    bool interpolate = false;

    // scale
    T I_bg = 0;          // water background per pixel before corrections
    bool water = false;  // a nonzero water term disables the F_latt==0 skip
    // kept in double in every precision mode: r_e^2 * fluence spans 1e-30..1e30
    double r_e_sqr = 0, fluence = 0;
    double steps = 1;

    // -exact: the CPU executors round every operation as C does (no fused
    // multiply-add, C's libm); otherwise they may fuse and use vector math.
    bool exact = false;

    // Single precision: the double-precision staging of the same image (host
    // memory; the CPU executors render from it the pixels whose value hangs on
    // C's rounding, see on_direct_beam). Null in double precision and on the GPU.
    const PixelParams<double>* reference = nullptr;
};

// The parameters as panel k of row s sees them (see PixelParams::panels).
template <typename T>
NB_HD_INLINE PixelParams<T> panel_params(const PixelParams<T>& p, int s) {
    PixelParams<T> q = p;
    const int k = s / p.panel_rows;
    const PanelFrame<T>& f = p.panels[k];
    q.fdet = f.fdet;
    q.sdet = f.sdet;
    q.odet = f.odet;
    q.pix0 = f.pix0;
    q.distance = f.distance;
    q.close_distance = f.close_distance;
    q.panel_s0 = T(k) * T(p.panel_rows) * T(p.oversample);
    q.panels = nullptr;
    return q;
}

}  // namespace nb
