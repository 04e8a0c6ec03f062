// Physical constants and unit conversions, with C nanoBragg's exact values.
#pragma once
#include <cmath>

namespace nb {
inline constexpr double RTD = 180.0 * M_1_PI;                // radians -> degrees
inline constexpr double kThomsonSqr = 7.94079248018965e-30;  // r_e^2, m^2
inline constexpr double kAvogadro = 6.02214179e23;
inline constexpr double kWaterF = 2.57;  // water F in the forward direction
inline constexpr double kWaterMW = 18.0;
inline constexpr double kSourceDistance = 10.0;      // m, default up-beam source position
inline constexpr double kEnergyToLambda = 12398.42;  // eV*Angstrom
}  // namespace nb
