#include "engine/sampling_rules.hpp"

#include <climits>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "engine/units.hpp"

namespace nb {

int step_count(double range, double step, const char* flags) {
    const double n = std::ceil(range / step);
    if (!(n <= INT_MAX)) {
        char buf[200];
        std::snprintf(buf, sizeof buf, "%s: a range of %g in steps of %g gives %g steps, more than %d", flags, range,
                      step, n, INT_MAX);
        throw std::runtime_error(buf);
    }
    return (int)n;
}

StepTriple resolve_phi_steps(int phisteps, double osc, double phistep) {
    if (phisteps < 0) {
        if (osc < 0.0) {
            if (phistep <= 0.0) return {1, 0.0, 0.0};
            return {2, phistep, phistep};
        }
        if (phistep <= 0.0) return {2, osc, osc / 2.0};
        return {step_count(osc, phistep, "-osc/-phistep"), osc, phistep};
    }
    if (phisteps == 0) phisteps = 1;
    if (osc < 0.0) {
        if (phistep <= 0.0) {
            osc = 1.0 / RTD;
            return {phisteps, osc, osc / phisteps};
        }
        return {2, phistep, phistep};
    }
    if (phistep < 0.0) return {phisteps, osc, osc / phisteps};
    return {phisteps, osc, phistep};
}

StepTriple resolve_spread_steps(int steps, double range, double step, const char* flags) {
    StepTriple r{steps, range, step};
    if (steps <= 0) {
        if (range < 0.0) {
            if (step <= 0.0)
                r = {1, 0.0, 0.0};
            else
                r = {2, step, step};
        } else {
            if (step <= 0.0)
                r = {2, range, range};
            else
                r = {step_count(range, step, flags), range, step};
        }
    } else {
        if (range < 0.0) {
            if (step <= 0.0)
                r = {steps, 1.0, 1.0 / steps};
            else
                r = {2, step, step};
        } else if (step <= 0.0) {
            if (steps <= 1) steps = 2;
            r = {steps, range, range / (steps - 1)};
        }
    }
    if (r.range <= 0.0 || r.step <= 0.0 || r.steps <= 0) r = {1, 0.0, 0.0};
    return r;
}

StepTriple resolve_thickness_steps(int steps, double thick, double step) {
    StepTriple r{steps, thick, step};
    if (steps <= 0) {
        if (thick < 0.0) {
            if (step <= 0.0)
                r = {1, 0.0, 0.0};
            else
                r = {2, step, step};
        } else {
            if (step <= 0.0)
                r = {2, thick, thick / 2};
            else
                r = {step_count(thick, step, "-detector_thick/-detector_thickstep"), thick, step};
        }
    } else {
        if (thick < 0.0) {
            if (step <= 0.0)
                r = {steps, 0.5e-6, 0.5e-6 / steps};
            else
                r = {2, step, step};
        } else if (step <= 0.0) {
            if (steps <= 1) steps = 2;
            r = {steps, thick, thick / (steps - 1)};
        }
    }
    if (r.range <= 0.0 || r.step <= 0.0 || r.steps <= 0) r = {1, 0.0, 0.0};
    return r;
}

MosaicChoice resolve_mosaic(int domains, double spread, std::vector<std::string>& notes) {
    if (domains <= 0) {
        if (spread < 0.0) return {1, 0.0};
        if (spread == 0.0) return {1, spread};
        notes.push_back("WARNING: finite mosaicity with only one domain! upping to 10 mosaic domains");
        return {10, spread};
    }
    if (spread < 0.0) {
        notes.push_back("WARNING: no mosaic spread specified.  setting mosaic_domains = 1");
        return {1, 0.0};
    }
    if (spread == 0.0) {
        notes.push_back("WARNING: zero mosaic spread specified.  setting mosaic_domains = 1");
        return {1, spread};
    }
    return {domains, spread};
}

}  // namespace nb
