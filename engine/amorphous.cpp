#include "engine/amorphous.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "engine/stage_geometry.hpp"
#include "engine/text_table.hpp"
#include "kernels/amorphous_launcher.hpp"

namespace nb {

double table_axis_to_stol_per_m(TableAxis axis) {
    switch (axis) {
        case TableAxis::FourStol:
            return 1e10 / 4;
        case TableAxis::Q:
            return 1e10 / M_PI / 4;
        default:
            return 1e10;
    }
}

AmorphousTableData amorphous_table_from_rows(const std::vector<std::vector<double>>& rows, const std::string& name,
                                             const std::string& flag, TableAxis axis) {
    const std::string where = flag + ": '" + name + "'";
    if (rows.empty()) throw std::runtime_error(where + " holds no rows (expected: sin(theta)/lambda  F)");
    const double mult = table_axis_to_stol_per_m(axis);
    AmorphousTableData t;
    t.name = name;
    const size_t n = rows.size();
    t.stol.resize(n + 4);
    t.F.resize(n + 4);
    for (size_t i = 0; i < n; ++i) {
        const std::string row = " row " + std::to_string(i + 1);
        if (rows[i].size() < 2 || !std::isfinite(rows[i][0]) || !std::isfinite(rows[i][1]))
            throw std::runtime_error(where + row + ": needs two finite numbers (sin(theta)/lambda and F)");
        if (i > 0 && !(rows[i][0] > rows[i - 1][0]))
            throw std::runtime_error(where + row + ": " + std::to_string(rows[i][0]) +
                                     " does not increase from the row before (" + std::to_string(rows[i - 1][0]) +
                                     "); the first column must increase");
        // C multiplies the column as it reads it
        t.stol[i + 2] = rows[i][0] * mult;
        t.F[i + 2] = rows[i][1];
    }
    t.stol[0] = -1e99;
    t.stol[1] = -1e98;
    t.F[0] = t.F[1] = t.F[2];
    t.stol[n + 2] = 1e98;
    t.stol[n + 3] = 1e99;
    t.F[n + 2] = t.F[n + 3] = t.F[n + 1];
    return t;
}

AmorphousTableData read_amorphous_table(const std::string& path, const std::string& flag, TableAxis axis) {
    std::vector<std::vector<double>> rows;
    try {
        rows = read_text_table(path, 2, flag);
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        if (what.find("no data rows") != std::string::npos)
            throw std::runtime_error(flag + ": '" + path + "' holds no rows (expected: sin(theta)/lambda  F)");
        throw;
    }
    return amorphous_table_from_rows(rows, path, flag, axis);
}

namespace {

struct Material {
    const char* name;
    double density;  // g/cm^3
    double molecular_weight;
};
// densities and molecular weights of the built-in tables (air: as the C suite's
// own example runs it)
constexpr Material kMaterials[] = {{"water", 1.0, 18.0}, {"ice", 0.92, 18.0}, {"air", 0.0012, 29.0}};

double spec_number(const std::string& spec, const std::string& field, const char* what) {
    char* end = nullptr;
    const double v = std::strtod(field.c_str(), &end);
    if (field.empty() || *end != '\0' || !std::isfinite(v) || !(v > 0))
        throw std::runtime_error("-amorphous " + spec + ": the " + what + " '" + field + "' is not a positive number");
    return v;
}

}  // namespace

AmorphousLayer parse_amorphous_spec(const std::string& spec) {
    std::vector<std::string> f;
    std::stringstream in(spec);
    for (std::string item; std::getline(in, item, ':');) f.push_back(item);
    if (f.size() < 2 || f.size() > 4 || f[0].empty())
        throw std::runtime_error("-amorphous " + spec +
                                 ": expected MATERIAL:THICKNESS_MM[:DENSITY_G_CM3[:MW]] (MATERIAL: water, air, ice "
                                 "or a table file of sin(theta)/lambda and F)");
    AmorphousLayer l;
    l.spec = spec;
    l.table = f[0];
    l.thickness = spec_number(spec, f[1], "thickness (mm)") / 1000.0;
    if (f.size() > 2) l.density = spec_number(spec, f[2], "density (g/cm^3)") * 1e6;
    if (f.size() > 3) l.molecular_weight = spec_number(spec, f[3], "molecular weight (g/mol)");
    return l;
}

AmorphousTerm resolve_amorphous_layer(const AmorphousLayer& layer, double beamsize) {
    AmorphousTerm t;
    double density = 1.0e6, mw = 18.0;
    const std::string flag = "-amorphous " + layer.spec;
    if (const char* text = builtin_amorphous_table_text(layer.table)) {
        std::istringstream in(text);
        t.table =
            amorphous_table_from_rows(parse_text_table(in, layer.table, 2, flag), layer.table, flag, TableAxis::Stol);
        for (const Material& m : kMaterials)
            if (layer.table == m.name) density = m.density * 1e6, mw = m.molecular_weight;
    } else {
        t.table = read_amorphous_table(layer.table, flag, TableAxis::Stol);
    }
    if (layer.density > 0) density = layer.density;
    if (layer.molecular_weight > 0) mw = layer.molecular_weight;
    const double avogadro = 6.02214179e23;
    if (!(beamsize > 0)) {  // C's -beamsize -1 (no clipping) gives the beam no size to count molecules in
        char mm[32];
        std::snprintf(mm, sizeof mm, "%g", beamsize * 1000);
        throw std::runtime_error(flag + ": counts the molecules in the beam, and -beamsize " + mm +
                                 " mm gives it no size");
    }
    // C nonBragg's sample: thickness along the beam, the beam's width and height
    t.molecules = layer.thickness * beamsize * beamsize * density * avogadro / mw;
    if (!std::isfinite(t.molecules))
        throw std::runtime_error(flag + ": '" + layer.spec + "' puts more molecules in the beam than a number holds");
    if (!(t.molecules > 0))
        throw std::runtime_error(flag + ": the beam (-beamsize " + std::to_string(beamsize * 1000) +
                                 " mm) sees no molecules");
    return t;
}

namespace {

// C's 4-point Lagrange formula (kernels/structure_factor.hpp polint4_c) on the
// table's rows row-1 .. row+2, in double.
double table_polint(const AmorphousTableData& t, int row, double x) {
    return polint4_c(t.stol.data() + row - 1, t.F.data() + row - 1, x);
}

template <typename T>
struct StagedTable {
    std::vector<T> stol, F, cubic, bucket;
    AmorphousTable<T> view;
};

// `cubic`: the coefficient form (single precision always; double outside
// -exact, where it saves C's four divisions and two gathers per evaluation).
template <typename T>
void stage_table(const AmorphousTableData& t, StagedTable<T>& st, bool cubic) {
    const int rows = t.points();
    const int first = 2, last = rows - 3;  // the file's rows
    st.F.assign(t.F.begin(), t.F.end());
    st.stol.resize(rows);
    for (int i = 0; i < rows; ++i) {
        // a float cannot hold the guard rows: they only need to compare beyond any stol
        st.stol[i] = sizeof(T) == 8 ? (T)t.stol[i] : i < first ? -INFINITY : i > last ? INFINITY : (T)t.stol[i];
    }
    // A table on an even grid (water.stol: 6 printed digits, every row within 1% of a
    // row spacing of it) needs no search: the row and the position in it follow from stol
    // (rows near a knot may take the neighbouring row's cubic a hair beyond its interval:
    // the same smooth polynomial family, no visible difference).
    const double h = last > first ? (t.stol[last] - t.stol[first]) / (last - first) : 0.0;
    bool even = cubic || sizeof(T) == 4;
    for (int i = first; i <= last && even; ++i)
        even = h > 0 && std::fabs(t.stol[i] - (t.stol[first] + (i - first) * h)) <= 0.05 * h;
    if (cubic || sizeof(T) == 4) {
        // per row: the cubic through its 4-point window, as c0..c3 in t = (stol - origin) / width,
        // from samples of C's formula at t = 0, 1, 2, 3 (forward differences)
        st.cubic.assign(6 * (size_t)rows, T(0));
        for (int row = 1; row <= last; ++row) {
            double origin, width;
            if (even) {
                origin = t.stol[first] + (row - first) * h;
                width = h;
            } else if (row == 1) {  // below the first row: measured from it, toward the second
                origin = t.stol[first];
                width = last > first ? t.stol[first + 1] - t.stol[first] : 1.0;
                width = -width;
            } else if (row == last) {  // beyond the last row: from it, away from the one before
                origin = t.stol[last];
                width = last > first ? t.stol[last] - t.stol[last - 1] : 1.0;
            } else {
                origin = t.stol[row];
                width = t.stol[row + 1] - t.stol[row];
            }
            double p[4];
            for (int k = 0; k < 4; ++k) p[k] = table_polint(t, row, origin + k * width);
            double d1 = p[1] - p[0], d2 = p[2] - 2 * p[1] + p[0], d3 = p[3] - 3 * p[2] + 3 * p[1] - p[0];
            if (row == 1 || row == last) {
                // beyond the table C's window holds two guard rows: its cubic is the line
                // through the two end rows (the other terms are ~1e-196). Only the line is
                // kept, so that extrapolating far (t in the thousands) amplifies no rounding.
                d1 = (table_polint(t, row, origin + 64 * width) - p[0]) / 64;
                d2 = d3 = 0;
            }
            T* c = st.cubic.data() + 6 * (size_t)row;
            c[0] = (T)origin;
            c[1] = (T)(1.0 / width);
            c[2] = (T)p[0];
            c[3] = (T)(d1 - d2 / 2 + d3 / 3);
            c[4] = (T)(d2 / 2 - d3 / 2);
            c[5] = (T)(d3 / 6);
        }
    }
    // search hints: buckets about as wide as the narrowest row spacing (at
    // most 2^20 of them), each starting a row before its start's answer
    const double lo = t.stol[first], hi = t.stol[last];
    double narrowest = hi - lo;
    for (int i = first; i < last; ++i) narrowest = std::min(narrowest, t.stol[i + 1] - t.stol[i]);
    double width = std::max(narrowest, (hi - lo) / (1 << 20));
    if (!(width > 0)) width = 1.0;
    const int buckets = (int)std::min<double>((hi - lo) / width + 2, (1 << 20) + 2);
    st.bucket.resize(buckets);
    int answer = 1;
    for (int b = 0; b < buckets; ++b) {
        const double start = lo + (b - 1) * width;
        while (answer < last && t.stol[answer + 1] <= start) ++answer;
        st.bucket[b] = (T)std::max(1, answer - 1);
    }
    AmorphousTable<T>& v = st.view;
    v.rows = rows;
    v.stol = st.stol.data();
    v.F = st.F.data();
    v.cubic = st.cubic.empty() ? nullptr : st.cubic.data();
    v.bucket = st.bucket.data();
    v.buckets = buckets;
    v.bucket_origin = (T)lo;
    v.bucket_scale = (T)(1.0 / width);
    v.even = even;
    v.even_origin = (T)(t.stol[first] - h);  // row 1's origin
    v.even_scale = (T)(even ? 1.0 / h : 0.0);
}

}  // namespace

// One pass over the detector for up to kMaxMaterials materials: the
// geometry and sources staged as the spots' are, each material's table, and
// the scale; `view` points into the rest.
template <typename T>
struct BackgroundStaging<T>::Pass {
    SourceTables<T> src;
    std::vector<StagedTable<T>> staged;
    BackgroundPass<T> view;
};

namespace {

template <typename T>
void stage_pass(const Experiment& e, const std::vector<const AmorphousTableData*>& tables,
                const std::vector<double>& molecules, const AmorphousScale& scale, const std::vector<double>& weights,
                typename BackgroundStaging<T>::Pass& pass) {
    PixelParams<T>& p = pass.view.p;
    stage_geometry(e, weights, p, pass.src);
    pass.staged.resize(tables.size());
    AmorphousParams<T>& a = pass.view.a;
    a.materials = (int)tables.size();
    for (size_t m = 0; m < tables.size(); ++m) {
        stage_table(*tables[m], pass.staged[m], !e.cfg.exact);
        a.tables[m] = pass.staged[m].view;
        a.molecules[m] = molecules[m];
    }
    a.fmap = scale.fmap;
    a.add = scale.add;
    a.r_e_sqr = scale.r_e_sqr;
    a.fluence = scale.fluence;
    a.steps = scale.steps;
}

template <typename T>
double render_in(const Experiment& e, const std::vector<const AmorphousTableData*>& tables,
                 const std::vector<double>& molecules, const AmorphousScale& scale, const std::vector<double>& weights,
                 const RenderOptions& opt, std::vector<float>& image) {
    typename BackgroundStaging<T>::Pass pass;
    stage_pass<T>(e, tables, molecules, scale, weights, pass);
    const PixelParams<T>& p = pass.view.p;
    const AmorphousParams<T>& a = pass.view.a;
    image.resize((size_t)p.fpixels * p.spixels, 0.0f);
    if (opt.device == Device::Cuda) {
        double omega = 0;
        render_amorphous_cuda(p, a, image.data(), &omega);
        return omega;
    }
    std::vector<double> row_omega((size_t)p.spixels, 0.0);
    RowHooks hooks;
    hooks.progress = opt.progress;
    render_amorphous_cpu(p, a, image.data(), row_omega.data(), opt.threads, hooks);
    double omega = 0;
    for (double r : row_omega) omega += r;
    return omega;
}

double render_materials(const Experiment& e, const std::vector<const AmorphousTableData*>& tables,
                        const std::vector<double>& molecules, const AmorphousScale& scale,
                        const std::vector<double>& weights, const RenderOptions& opt, std::vector<float>& image) {
    if (opt.precision == Precision::Float) return render_in<float>(e, tables, molecules, scale, weights, opt, image);
    return render_in<double>(e, tables, molecules, scale, weights, opt, image);
}

}  // namespace

namespace {

// The background's materials in passes of up to kMaxMaterials, added in
// place, in order: the same float sums as their own images added afterwards,
// the geometry computed once per pass. Sources weigh as the spots' do (none,
// C nanoBragg, unless -source_weights).
template <typename F>
void for_each_background_pass(const Experiment& e, F&& pass) {
    AmorphousScale scale;
    scale.fluence = e.fluence;
    scale.steps = (double)e.src.direction.size() * e.samp.oversample * e.samp.oversample;
    scale.add = true;
    for (size_t first = 0; first < e.amorphous.size(); first += kMaxMaterials) {
        std::vector<const AmorphousTableData*> tables;
        std::vector<double> molecules;
        for (size_t m = first; m < std::min(e.amorphous.size(), first + kMaxMaterials); ++m) {
            tables.push_back(&e.amorphous[m].table);
            molecules.push_back(e.amorphous[m].molecules);
        }
        pass(tables, molecules, scale, e.src.applied_weight);
    }
}

}  // namespace

void add_amorphous_background(const Experiment& e, const RenderOptions& opt, std::vector<float>& image) {
    for_each_background_pass(
        e, [&](const std::vector<const AmorphousTableData*>& tables, const std::vector<double>& molecules,
               const AmorphousScale& scale, const std::vector<double>& weights) {
            render_materials(e, tables, molecules, scale, weights, opt, image);
        });
}

template <typename T>
BackgroundStaging<T>::BackgroundStaging(const Experiment& e) {
    for_each_background_pass(
        e, [&](const std::vector<const AmorphousTableData*>& tables, const std::vector<double>& molecules,
               const AmorphousScale& scale, const std::vector<double>& weights) {
            storage_.push_back(std::make_unique<Pass>());
            stage_pass<T>(e, tables, molecules, scale, weights, *storage_.back());
            passes_.push_back(storage_.back()->view);
        });
}

template <typename T>
BackgroundStaging<T>::~BackgroundStaging() = default;

template class BackgroundStaging<double>;
template class BackgroundStaging<float>;

double render_amorphous(const Experiment& e, const AmorphousTableData& table, const AmorphousScale& scale,
                        const std::vector<double>& weights, const RenderOptions& opt, std::vector<float>& image) {
    return render_materials(e, {&table}, {scale.molecules}, scale, weights, opt, image);
}

}  // namespace nb
