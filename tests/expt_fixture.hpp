// A three-panel DIALS experiment list (tilted panels at different distances)
// for the tests that render several panels on each executor.
#pragma once

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/args.hpp"

namespace nbtest {

inline std::string write_three_panel_expt(const std::string& path) {
    nlohmann::json panels = nlohmann::json::array(), children = nlohmann::json::array();
    for (int k = 0; k < 3; ++k) {
        const double t = (4.0 + 9.0 * k) * M_PI / 180;
        panels.push_back({{"name", "p" + std::to_string(k)},
                          {"fast_axis", {std::cos(t), 0, std::sin(t)}},
                          {"slow_axis", {0, -1, 0}},
                          {"origin", {-30.0 + 25.0 * k, 12.0, -95.0 - 8.0 * k}},
                          {"image_size", {96, 64}},
                          {"pixel_size", {0.172, 0.172}}});
        children.push_back({{"panel", k}});
    }
    const nlohmann::json el = {
        {"__id__", "ExperimentList"},
        {"experiment", {{{"beam", 0}, {"detector", 0}}}},
        {"beam", {{{"direction", {0, 0, 1}}, {"wavelength", 1.1}}}},
        {"detector",
         {{{"panels", panels},
           {"hierarchy",
            {{"fast_axis", {1, 0, 0}}, {"slow_axis", {0, 1, 0}}, {"origin", {0, 0, 0}}, {"children", children}}}}}}};
    std::ofstream(path) << el.dump();
    return path;
}

// The configuration of `args` (C's flags) with -expt PATH first.
inline nb::SimConfig expt_config(const std::string& expt, const std::vector<std::string>& args) {
    std::vector<const char*> argv{"nanoBragg", "-expt", expt.c_str()};
    for (const std::string& a : args) argv.push_back(a.c_str());
    return nb::parse_args((int)argv.size(), argv.data()).config;
}

}  // namespace nbtest
