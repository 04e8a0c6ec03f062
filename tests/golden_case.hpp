// A golden case's command line (tests/golden/manifest.json) parsed as
// nanoBragg parses it, for tests that render it through the engine rather
// than the program.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "run_cli.hpp"

namespace nbtest {

// Case `id`'s configuration, with `extra` flags after its own; no fdump cache is written.
inline nb::SimConfig golden_config(const std::string& id, const std::string& extra = "") {
    std::ifstream in(golden_dir() + "/manifest.json");
    const nlohmann::json m = nlohmann::json::parse(in);
    std::string args = m.at("cases").at(id).at("args").get<std::string>() + " " + extra;
    for (size_t p; (p = args.find("{in}")) != std::string::npos;) args.replace(p, 4, golden_dir() + "/inputs");
    std::vector<std::string> words = split_ws(args);
    std::vector<const char*> argv{"nanoBragg"};
    for (const std::string& w : words) argv.push_back(w.c_str());
    nb::SimConfig c = nb::parse_args((int)argv.size(), argv.data()).config;
    c.write_fdump = false;
    return c;
}

}  // namespace nbtest
