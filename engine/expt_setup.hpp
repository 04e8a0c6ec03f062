// A DIALS experiment (-expt, engine/expt.hpp) as the engine's configuration:
// the beam, crystal and scan go into SimConfig like their flags would; the
// detector's panels replace the geometry C's detector flags would have made
// (docs/expt.md).
#pragma once

#include "engine/config.hpp"
#include "engine/experiment.hpp"
#include "engine/expt.hpp"

namespace nb {

// What the command line sets itself, over the file (documented overrides).
struct ExptOverrides {
    bool polarization = false;                       // -polar, -nopolar
    bool sensor = false;                             // -detector_thick, -detector_abs
    bool divergence = false;                         // -divergence, -hdivrange, -vdivrange
    bool phi = false, osc = false, nframes = false;  // -phi, -osc, -nframes: part of the scan, or another start
    bool exposure = false;                           // -exposure
};

// Wavelength, polarization, divergence, the sensor, the crystal's A matrix
// (when the file has one), the spindle and the scan (phi0, osc, nframes),
// pixel counts and size (from the panels; several panels must share them).
void apply_expt_config(const ExptModel& m, SimConfig& cfg, const ExptOverrides& keep);

// The panels' frames into e.det (one panel) or e.panels with e.det the
// stacked raster (several), and their masks into e.mask.
void apply_expt_detector(const ExptModel& m, Experiment& e);

}  // namespace nb
