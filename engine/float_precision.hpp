// Where -precision float stops meeting its accuracy bar: float rounds a pixel's
// direction (and so the scattering vector S) to about 1e-7 of 1/lambda, and a
// spot is 1/W wide in S, W the length its lattice shape gives it: W / lambda,
// the spot's sharpness in wavelengths, sets how far a spot's flank moves.
#pragma once
#include <string>

#include "engine/experiment.hpp"
#include "engine/render.hpp"

namespace nb {

// How sharp the spots are, as the length of a crystal in wavelengths (at the
// shortest wavelength):
// - square and round crystals: N |a| along the longest axis (round ones times
//   sqrt(-fudge), which multiplies their hrad^2);
// - Gaussian and tophat spots: C scales |dS|^2 by (Na Nb Nc)^2 and -fudge, so a
//   spot is 1 / (Na Nb Nc sqrt(fudge)) A^-1 wide whatever the cell.
struct CrystalSpan {
    double wavelengths = 0;
    char axis = 'a';         // square and round: 'a', 'b' or 'c'; Gaussian and tophat: 0
    double N = 1;            // cells along that axis; Gaussian and tophat: Na Nb Nc
    double size_um = 0;      // square and round: N |a|, micrometres
    double fudge = 1;        // -fudge where the shape uses it, else 1
    const char* shape = "";  // "-round_xtal", "-gauss_xtal", "-tophat_spots" or "" (square)
};
CrystalSpan crystal_span(const Experiment& e);

// Beyond this many wavelengths float images of a few sharp spots missed the
// float bar (|sum ratio - 1| <= 1e-3) against C in random sweeps
// (docs/precision.md).
constexpr double kFloatSpanLimit = 3000;

// "" in double or below the limit; else a warning naming what makes the spots
// that sharp, and the remedy.
std::string float_precision_warning(const Experiment& e, Precision precision);

}  // namespace nb
