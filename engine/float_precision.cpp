#include "engine/float_precision.hpp"

#include <cmath>
#include <cstdio>

namespace nb {

CrystalSpan crystal_span(const Experiment& e) {
    double lambda = 0;  // Angstrom
    for (double l : e.src.lambda)
        if (l > 0 && (lambda == 0 || l * 1e10 < lambda)) lambda = l * 1e10;
    const Crystal& x = e.xtal;
    const XtalShape shape = e.cfg.xtal_shape;
    CrystalSpan best;
    if (!(lambda > 0)) return best;
    const double fudge = shape == XtalShape::Square ? 1.0 : e.cfg.fudge;
    const double sharpen = fudge > 0 ? std::sqrt(fudge) : 1.0;
    if (shape == XtalShape::Gauss || shape == XtalShape::Tophat) {
        const double cells = x.Na * x.Nb * x.Nc;
        best = CrystalSpan{
            cells * sharpen / lambda, 0, cells, 0, fudge, shape == XtalShape::Gauss ? "-gauss_xtal" : "-tophat_spots"};
        return best;
    }
    const double N[3] = {x.Na, x.Nb, x.Nc}, len[3] = {x.a_len, x.b_len, x.c_len};
    for (int i = 0; i < 3; ++i) {
        const double w = N[i] * len[i] * sharpen / lambda;
        if (w > best.wavelengths)
            best = CrystalSpan{
                w, "abc"[i], N[i], N[i] * len[i] * 1e-4, fudge, shape == XtalShape::Round ? "-round_xtal" : ""};
    }
    return best;
}

std::string float_precision_warning(const Experiment& e, Precision precision) {
    if (precision != Precision::Float) return "";
    const CrystalSpan c = crystal_span(e);
    if (!(c.wavelengths > kFloatSpanLimit)) return "";
    char what[200];
    if (c.axis == 0)
        std::snprintf(what, sizeof what,
                      "with %s the spots are as sharp as a crystal %.0f wavelengths long (Na Nb Nc = %.0f cells",
                      c.shape, c.wavelengths, c.N);
    else
        std::snprintf(what, sizeof what, "the crystal is %.0f wavelengths long along %c (%.0f cells, %.3g um",
                      c.wavelengths, c.axis, c.N, c.size_um);
    char fudge[60] = "";
    if (c.fudge != 1) std::snprintf(fudge, sizeof fudge, ", -fudge %g", c.fudge);
    char buf[600];
    std::snprintf(buf, sizeof buf,
                  "WARNING: -precision float: %s%s; over %.0f): float's rounding moves the flanks of spots this "
                  "sharp, and an image of a few spots can be off by 0.1%% to 1.5%%; use -precision double for "
                  "accurate intensities (docs/precision.md)",
                  what, fudge, kFloatSpanLimit);
    return buf;
}

}  // namespace nb
