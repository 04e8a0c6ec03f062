#include "engine/float_precision.hpp"

#include <cstdio>

namespace nb {

CrystalSpan crystal_span(const Experiment& e) {
    double lambda = 0;  // Angstrom
    for (double l : e.src.lambda)
        if (l > 0 && (lambda == 0 || l * 1e10 < lambda)) lambda = l * 1e10;
    const Crystal& x = e.xtal;
    const double N[3] = {x.Na, x.Nb, x.Nc}, len[3] = {x.a_len, x.b_len, x.c_len};
    CrystalSpan best;
    if (!(lambda > 0)) return best;
    for (int i = 0; i < 3; ++i) {
        const double w = N[i] * len[i] / lambda;
        if (w > best.wavelengths) best = CrystalSpan{w, "abc"[i], N[i], N[i] * len[i] * 1e-4};
    }
    return best;
}

std::string float_precision_warning(const Experiment& e, Precision precision) {
    if (precision != Precision::Float) return "";
    const CrystalSpan c = crystal_span(e);
    if (!(c.wavelengths > kFloatSpanLimit)) return "";
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "WARNING: -precision float: the crystal is %.0f wavelengths long along %c (%.0f cells, %.3g um; "
                  "over %.0f): float's rounding moves the flanks of spots this sharp, and an image of a few spots "
                  "can be off by 0.1%% to 1.5%%; use -precision double for accurate intensities (docs/precision.md)",
                  c.wavelengths, c.axis, c.N, c.size_um, kFloatSpanLimit);
    return buf;
}

}  // namespace nb
