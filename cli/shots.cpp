#include "cli/shots.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "cli/flag_table.hpp"
#include "engine/render.hpp"
#include "engine/run_estimate.hpp"
#include "engine/setup.hpp"
#include "engine/units.hpp"
#include "kernels/vec3.hpp"

namespace nb {

namespace {

double number(const std::string& tok, const std::string& where) {
    char* end = nullptr;
    double v = std::strtod(tok.c_str(), &end);
    if (end == tok.c_str() || *end != '\0' || !std::isfinite(v))
        throw std::runtime_error(where + ": '" + tok + "' is not a number");
    return v;
}

// A key's value checked as its flag's is; the message as every -shots error.
template <typename F>
auto as_shot_error(F&& parse) {
    try {
        return parse();
    } catch (const UsageError& e) {
        throw std::runtime_error(e.what());
    }
}

}  // namespace

std::vector<Shot> read_shots(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw std::runtime_error("-shots: '" + path + "' is a folder, not a file");
    std::ifstream in(path);
    if (!in) throw std::runtime_error("-shots: cannot open '" + path + "'");
    std::vector<Shot> shots;
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
        ++lineno;
        size_t hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        const std::string where = "-shots: '" + path + "' line " + std::to_string(lineno);
        // a control byte: a binary file given by mistake (its bytes are not echoed)
        for (unsigned char ch : line)
            if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f) {
                char hex[8];
                std::snprintf(hex, sizeof hex, "0x%02x", (unsigned)ch);
                throw std::runtime_error(where + ": byte " + hex + " is not text; a shot list is a text file (" +
                                         "docs/shots.md)");
            }
        std::istringstream ls(line);
        std::vector<std::string> tok;
        for (std::string t; ls >> t;) tok.push_back(t);
        if (tok.empty()) continue;
        Shot s;
        s.line = lineno;
        size_t next = 0;
        if (tok[0] == "misset") {
            if (tok.size() < 4) throw std::runtime_error(where + ": 'misset' needs three angles (deg)");
            for (int k = 0; k < 3; ++k)
                s.misset_deg[k] = number(tok[1 + k], where + ": misset angle " + std::to_string(k + 1));
            next = 4;
        } else if (tok[0] == "random") {
            if (tok.size() < 2) throw std::runtime_error(where + ": 'random' needs a seed");
            double seed = number(tok[1], where + ": random seed");
            if (seed != std::floor(seed)) throw std::runtime_error(where + ": the random seed must be an integer");
            if (std::fabs(seed) > 2147483647.0)
                throw std::runtime_error(where + ": the random seed is out of range (at most 2147483647 in size)");
            s.orientation = Shot::Orientation::Random;
            s.random_seed = (long)seed;
            next = 2;
        } else if (tok[0] == "amat") {
            if (tok.size() < 10)
                throw std::runtime_error(where + ": 'amat' needs 9 numbers (MOSFLM A matrix, row by row)");
            s.orientation = Shot::Orientation::Matrix;
            for (int k = 0; k < 9; ++k)
                s.matrix[k] = number(
                    tok[1 + k], where + ": amat element A" + std::to_string(k / 3 + 1) + std::to_string(k % 3 + 1));
            const auto& m = s.matrix;
            const double volume = dot(Vec3D{m[0], m[1], m[2]}, cross(Vec3D{m[3], m[4], m[5]}, Vec3D{m[6], m[7], m[8]}));
            // as -mat refuses it (engine/crystal.cpp), but named by its line before anything renders
            if (!std::isfinite(1.0 / volume))
                throw std::runtime_error(where + ": the amat matrix is singular: its columns a*, b*, c* span no " +
                                         "volume, so there is no unit cell");
            next = 10;
        } else {
            throw std::runtime_error(where + ": expected 'misset', 'random' or 'amat', found '" + tok[0] + "'");
        }
        std::vector<std::string> seen;
        for (size_t k = next; k < tok.size(); ++k) {
            size_t eq = tok[k].find('=');
            if (eq == std::string::npos)
                throw std::runtime_error(where + ": expected key=value, found '" + tok[k] + "'");
            std::string key = tok[k].substr(0, eq), value = tok[k].substr(eq + 1);
            for (const std::string& was : seen)
                if (was == key) throw std::runtime_error(where + ": " + key + "= is given twice");
            seen.push_back(key);
            // the ranges of the flags each key stands for (-fluence, -N, -mosaic, -lambda, -xtalsize)
            const std::string what = where + ": " + key;
            auto real = [&](const Range& r) { return as_shot_error([&] { return parse_number(what, value, r); }); };
            if (key == "fluence")
                s.fluence = real(above(0));
            else if (key == "N")
                s.N = as_shot_error([&] { return parse_integer(what, value, at_least(0), false); });
            else if (key == "mosaic")
                s.mosaic_deg = real(at_least(0));
            else if (key == "lambda")
                s.lambda_A = real(above(0));
            else if (key == "xtalsize")
                s.xtalsize_mm = real(at_least(0, "0: size from N"));
            else
                throw std::runtime_error(where + ": unknown key '" + key + "' (fluence, N, mosaic, lambda, xtalsize)");
        }
        shots.push_back(s);
    }
    if (shots.empty()) throw std::runtime_error("-shots: '" + path + "' lists no shots");
    return shots;
}

SimConfig apply_shot(const SimConfig& base, const Shot& s) {
    SimConfig c = base;
    switch (s.orientation) {
        case Shot::Orientation::Misset:
            c.misset_mode = 1;
            for (int k = 0; k < 3; ++k) c.misset_rot[k] = s.misset_deg[k] / RTD;
            break;
        case Shot::Orientation::Random:
            c.misset_mode = -1;
            c.misset_seed = -s.random_seed;  // stored negated, as -misset_seed is
            break;
        case Shot::Orientation::Matrix:
            c.misset_mode = 0;
            c.mat_values = s.matrix;
            c.mat_file.clear();
            break;
    }
    if (s.fluence) c.fluence = *s.fluence;
    if (s.N) c.Na = c.Nb = c.Nc = std::floor(*s.N);
    if (s.mosaic_deg) c.mosaic_spread = *s.mosaic_deg / RTD;
    if (s.lambda_A) c.lambda0 = *s.lambda_A / 1.0e10;
    if (s.xtalsize_mm) c.sample_x = c.sample_y = c.sample_z = *s.xtalsize_mm / 1000.0;
    return c;
}

void rethrow_for_shot(const std::string& path, const Shot& shot) {
    const std::string where = "-shots: '" + path + "' line " + std::to_string(shot.line) + ": ";
    try {
        throw;
    } catch (const MissingInput& e) {
        throw MissingInput(where + e.what());
    } catch (const UsageError& e) {
        throw UsageError(where + e.what());
    } catch (const std::exception& e) {
        throw std::runtime_error(where + e.what());
    }
}

std::vector<ShotSize> set_up_every_shot(const SimConfig& cfg, const std::vector<Shot>& shots, Experiment& first) {
    std::vector<ShotSize> sizes(shots.size());
    sizes[0] = {evaluation_count(first), auto_selected_counts(first, cfg)};
    HklGrid grid = std::move(first.hkl);
    for (size_t i = 1; i < shots.size(); ++i) {
        const SimConfig c = apply_shot(cfg, shots[i]);
        try {
            Experiment e = prepare_experiment(c, std::move(grid));  // moved from only when it succeeds
            sizes[i] = {evaluation_count(e), auto_selected_counts(e, c)};
            grid = std::move(e.hkl);
        } catch (...) {
            first.hkl = std::move(grid);
            rethrow_for_shot(cfg.shots_file, shots[i]);
        }
    }
    first.hkl = std::move(grid);
    return sizes;
}

}  // namespace nb
