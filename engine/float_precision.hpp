// Where -precision float stops meeting its accuracy bar: a spot is 1/N wide in
// the Miller index, and float rounds a pixel's direction (and so h = a.S) to
// about 1e-7 of 1/lambda: N |a| / lambda, the crystal's size in wavelengths
// along an axis, sets how far a spot's flank moves.
#pragma once
#include <string>

#include "engine/experiment.hpp"
#include "engine/render.hpp"

namespace nb {

// The crystal axis that is the most wavelengths long (the shortest wavelength).
struct CrystalSpan {
    double wavelengths = 0;  // N |a| / lambda
    char axis = 'a';         // 'a', 'b' or 'c'
    double N = 1;            // cells along that axis
    double size_um = 0;      // N |a|, micrometres
};
CrystalSpan crystal_span(const Experiment& e);

// Beyond this many wavelengths float images of a few sharp spots missed the
// float bar (|sum ratio - 1| <= 1e-3) against C in a random sweep
// (docs/precision.md).
constexpr double kFloatSpanLimit = 3000;

// "" in double or below the limit; else a warning naming the axis, its size and
// the remedy.
std::string float_precision_warning(const Experiment& e, Precision precision);

}  // namespace nb
