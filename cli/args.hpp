// nanoBragg's command line (single-dash long flags, C's units and side
// effects, applied in command-line order) parsed with CLI11.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "cli/flag_table.hpp"  // UsageError, translate_flags
#include "engine/config.hpp"

namespace nb {

// Output-file flags present on the command line (under any of their
// spellings). The CLI writes C's default files regardless; the Python module
// writes only these.
struct OutputFlagsGiven {
    bool floatfile = false, intfile = false, noisefile = false, pgmfile = false, pngfile = false;
};

struct ParsedArgs {
    SimConfig config;
    OutputFlagsGiven outputs_given;
    bool help = false;
    bool version = false;        // -version / --version: print the build line and stop
    bool nframes_given = false;  // -nframes on the line (-expt's scan sets nframes too)
    std::string help_text;
};

// Throws UsageError (bad flags) or std::runtime_error (unreadable -img/-mask).
ParsedArgs parse_args(int argc, const char* const* argv);

}  // namespace nb
