// The amorphous-scattering stage (C nanoBragg's nonBragg): the |F| table of
// one molecule against sin(theta)/lambda, the sample that scales it, and the
// render of the term on the CPU or GPU (kernels/amorphous_physics.hpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/experiment.hpp"
#include "engine/render.hpp"
#include "kernels/amorphous_physics.hpp"

namespace nb {

// How the first column reads: sin(theta)/lambda (-stol), 4 sin(theta)/lambda
// (-4stol) or Q = 4 pi sin(theta)/lambda (-Q), all in 1/Angstrom.
enum class TableAxis { Stol, FourStol, Q };
double table_axis_to_stol_per_m(TableAxis axis);

// The text of a built-in table (water, air, ice: the C suite's), or null.
const char* builtin_amorphous_table_text(const std::string& name);

// A -amorphous material resolved: its table (built-in or file) and the number
// of molecules in the beam: thickness x beamsize^2 x density x N_A / MW.
AmorphousTerm resolve_amorphous_layer(const AmorphousLayer& layer, double beamsize);

// Parses "MATERIAL:THICKNESS_MM[:DENSITY_G_CM3[:MW]]" (-amorphous).
AmorphousLayer parse_amorphous_spec(const std::string& spec);

// Reads a two-column text table (C's tokenizer rules). Refuses, naming `flag`
// and the file: no rows, a missing or non-finite value, a first column that
// does not increase from row to row.
AmorphousTableData read_amorphous_table(const std::string& path, const std::string& flag, TableAxis axis);
AmorphousTableData amorphous_table_from_rows(const std::vector<std::vector<double>>& rows, const std::string& name,
                                             const std::string& flag, TableAxis axis);

// The scale of the term: r_e^2 fluence molecules / steps (steps = sources x
// sub-pixels, as C nonBragg divides).
struct AmorphousScale {
    double r_e_sqr = 7.94079248018965e-30;
    double fluence = 0, molecules = 0, steps = 1;
    bool fmap = false;  // -Fmap: each pixel holds the F of its last evaluation
    bool add = false;   // add the term to the image's pixels (in float) instead of replacing them
};

// Adds every term of e.amorphous to `image` (float sums, in order), as
// nonBragg's images added to nanoBragg's; sources weigh as the spots' do
// (once each, unless -source_weights).
void add_amorphous_background(const Experiment& e, const RenderOptions& opt, std::vector<float>& image);

// The same terms staged for a device's frame pipeline (kernels/frame_pipeline.hpp),
// which adds them to the spots on the device, before the statistics: passes()
// point into this object.
template <typename T>
class BackgroundStaging {
public:
    explicit BackgroundStaging(const Experiment& e);
    ~BackgroundStaging();
    BackgroundStaging(const BackgroundStaging&) = delete;
    BackgroundStaging& operator=(const BackgroundStaging&) = delete;
    const std::vector<BackgroundPass<T>>& passes() const { return passes_; }
    struct Pass;

private:
    std::vector<std::unique_ptr<Pass>> storage_;
    std::vector<BackgroundPass<T>> passes_;
};

// Renders the term over the ROI into `image` (pixels outside it are left
// alone) with the experiment's geometry and sources, each source's term times
// `weights[i]` (empty: 1). Returns the solid angles summed over every
// evaluated sub-pixel (C prints it).
double render_amorphous(const Experiment& e, const AmorphousTableData& table, const AmorphousScale& scale,
                        const std::vector<double>& weights, const RenderOptions& opt, std::vector<float>& image);

}  // namespace nb
