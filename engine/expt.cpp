#include "engine/expt.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace nb {

using json = nlohmann::json;

namespace {

class Reader {
public:
    explicit Reader(std::string path) : path_(std::move(path)) {}

    [[noreturn]] void fail(const std::string& object, const std::string& problem) const {
        throw std::runtime_error("-expt " + path_ + ": " + object + ": " + problem);
    }

    const json& member(const json& j, const char* key, const std::string& object) const {
        if (!j.is_object()) fail(object, "is not a JSON object");
        auto it = j.find(key);
        if (it == j.end() || it->is_null()) fail(object, std::string("has no '") + key + "'");
        return *it;
    }
    bool has(const json& j, const char* key) const {
        return j.is_object() && j.find(key) != j.end() && !j.find(key)->is_null();
    }

    double number(const json& j, const std::string& object, const std::string& what) const {
        if (!j.is_number()) fail(object, what + " is not a number");
        const double v = j.get<double>();
        if (!std::isfinite(v)) fail(object, what + " is not finite");
        return v;
    }
    double number(const json& j, const char* key, const std::string& object) const {
        return number(member(j, key, object), object, key);
    }
    double number_or(const json& j, const char* key, const std::string& object, double fallback) const {
        return has(j, key) ? number(j, key, object) : fallback;
    }
    std::vector<double> numbers(const json& j, const char* key, size_t n, const std::string& object) const {
        const json& a = member(j, key, object);
        if (!a.is_array() || a.size() != n)
            fail(object, std::string(key) + " must be a list of " + std::to_string(n) + " numbers");
        std::vector<double> out;
        for (size_t i = 0; i < n; ++i) out.push_back(number(a[i], object, key));
        return out;
    }
    Vec3D vec(const json& j, const char* key, const std::string& object) const {
        auto v = numbers(j, key, 3, object);
        return Vec3D{v[0], v[1], v[2]};
    }
    Vec3D unit(const json& j, const char* key, const std::string& object) const {
        Vec3D v = vec(j, key, object), u{0, 0, 0};
        if (!(unitize(v, u) > 0)) fail(object, std::string(key) + " has length zero");
        return u;
    }
    int index(const json& j, const char* key, const json& list, const std::string& object) const {
        const json& v = member(j, key, object);
        if (!v.is_number_integer()) fail(object, std::string(key) + " must be an index into the '" + key + "' list");
        const long long i = v.get<long long>();
        if (i < 0 || !list.is_array() || i >= (long long)list.size())
            fail(object, std::string(key) + " " + std::to_string(i) + " is not in the file's '" + key + "' list");
        return (int)i;
    }

private:
    std::string path_;
};

// A panel or group frame composed into its parent's global frame (fast,
// slow, origin), as dxtbx composes a hierarchy: the child's local axes are
// coordinates along the parent's fast, slow and normal.
struct Frame {
    Vec3D fast{1, 0, 0}, slow{0, 1, 0}, origin{0, 0, 0};
};

Frame compose(const Frame& parent, const Vec3D& lf, const Vec3D& ls, const Vec3D& lo) {
    const Vec3D n = cross(parent.fast, parent.slow);
    auto in_parent = [&](const Vec3D& l) {
        return Vec3D{parent.fast.x * l.x + parent.slow.x * l.y + n.x * l.z,
                     parent.fast.y * l.x + parent.slow.y * l.y + n.y * l.z,
                     parent.fast.z * l.x + parent.slow.z * l.y + n.z * l.z};
    };
    Frame f;
    f.fast = in_parent(lf);
    f.slow = in_parent(ls);
    f.origin = add(parent.origin, in_parent(lo));
    return f;
}

struct DetectorReader {
    const Reader& r;
    const json& panels;
    std::vector<ExptPanel>& out;
    std::vector<bool> placed;
    std::string object;

    void local(const json& node, const std::string& what, Vec3D& f, Vec3D& s, Vec3D& o) const {
        f = r.unit(node, "fast_axis", what);
        s = r.unit(node, "slow_axis", what);
        o = r.vec(node, "origin", what);
    }
    void walk(const json& node, const Frame& parent, int depth) {
        if (depth > 64) r.fail(object, "the hierarchy is nested more than 64 deep");
        if (node.is_object() && node.contains("panel")) {
            const json& pi = node["panel"];
            if (!pi.is_number_integer() || pi.get<long long>() < 0 || pi.get<long long>() >= (long long)panels.size())
                r.fail(object, "hierarchy names a panel that is not in its 'panels' list");
            const int i = pi.get<int>();
            if (placed[(size_t)i]) r.fail(object, "hierarchy names panel " + std::to_string(i) + " twice");
            placed[(size_t)i] = true;
            Vec3D f, s, o;
            local(panels[(size_t)i], object + ", panel " + std::to_string(i), f, s, o);
            const Frame g = compose(parent, f, s, o);
            out[(size_t)i].fast = g.fast;
            out[(size_t)i].slow = g.slow;
            out[(size_t)i].origin = g.origin;
            return;
        }
        const std::string what = object + ", hierarchy group";
        Vec3D f, s, o;
        local(node, what, f, s, o);
        const Frame g = compose(parent, f, s, o);
        const json& children = r.member(node, "children", what);
        if (!children.is_array()) r.fail(what, "children is not a list");
        for (const json& c : children) walk(c, g, depth + 1);
    }
};

ExptPanel read_panel(const Reader& r, const json& p, const std::string& object) {
    ExptPanel out;
    if (r.has(p, "name") && p["name"].is_string()) out.name = p["name"].get<std::string>();
    const json& size = r.member(p, "image_size", object);
    if (!size.is_array() || size.size() != 2 || !size[0].is_number_integer() || !size[1].is_number_integer())
        r.fail(object, "image_size must be two whole numbers (fast, slow)");
    const long long f = size[0].get<long long>(), s = size[1].get<long long>();
    if (f <= 0 || s <= 0)
        r.fail(object, "image_size " + std::to_string(f) + " x " + std::to_string(s) + " holds no pixels");
    if (f > 1000000 || s > 1000000 || f * s > (1ll << 31))
        r.fail(object, "image_size " + std::to_string(f) + " x " + std::to_string(s) + " is too large");
    out.fpixels = (int)f;
    out.spixels = (int)s;
    auto px = r.numbers(p, "pixel_size", 2, object);
    if (!(px[0] > 0 && px[1] > 0)) r.fail(object, "pixel_size must be positive");
    out.pixel_fast = px[0];
    out.pixel_slow = px[1];
    out.thickness = r.number_or(p, "thickness", object, 0.0);
    out.mu = r.number_or(p, "mu", object, 0.0);
    if (out.thickness < 0 || out.mu < 0) r.fail(object, "thickness and mu must not be negative");
    if (r.has(p, "material") && p["material"].is_string()) out.material = p["material"].get<std::string>();
    if (r.has(p, "mask")) {
        const json& rects = p["mask"];
        if (!rects.is_array()) r.fail(object, "mask is not a list of rectangles");
        for (const json& q : rects) {
            if (!q.is_array() || q.size() != 4) r.fail(object, "a mask rectangle is not 4 whole numbers");
            std::array<int, 4> rect{};
            for (int i = 0; i < 4; ++i) {
                if (!q[(size_t)i].is_number_integer()) r.fail(object, "a mask rectangle is not 4 whole numbers");
                rect[(size_t)i] = q[(size_t)i].get<int>();
            }
            // dxtbx's order, as Panel::apply_untrusted_rectangle_mask reads it: fast from, slow
            // from, fast to, slow to (the "to" bounds excluded). Until 2026-12-04 this test read
            // fast from, fast to, slow from, slow to, and refused valid rectangles.
            if (rect[0] > rect[2] || rect[1] > rect[3])
                r.fail(object, "a mask rectangle ends before it starts (fast from, slow from, fast to, slow to)");
            out.mask.push_back(rect);
        }
    }
    return out;
}

Mat3 rotation(const Vec3D& axis, double deg) {
    Vec3D u{0, 0, 0};
    unitize(axis, u);
    const double t = deg * M_PI / 180, c = std::cos(t), s = std::sin(t), C = 1 - c;
    return Mat3{c + u.x * u.x * C,       u.x * u.y * C - u.z * s, u.x * u.z * C + u.y * s,
                u.y * u.x * C + u.z * s, c + u.y * u.y * C,       u.y * u.z * C - u.x * s,
                u.z * u.x * C - u.y * s, u.z * u.y * C + u.x * s, c + u.z * u.z * C};
}

const Mat3 kIdentity{1, 0, 0, 0, 1, 0, 0, 0, 1};

// A goniometer's fixed or setting rotation: a proper rotation (orthonormal
// rows, determinant +1), else the crystal would be stretched or mirrored.
Mat3 matrix(const Reader& r, const json& j, const char* key, const std::string& object) {
    if (!r.has(j, key)) return kIdentity;
    auto v = r.numbers(j, key, 9, object);
    Mat3 m;
    for (int i = 0; i < 9; ++i) m[i] = v[i];
    double worst = 0;
    for (int i = 0; i < 3; ++i)
        for (int k = 0; k < 3; ++k) {
            const double d = m[3 * i] * m[3 * k] + m[3 * i + 1] * m[3 * k + 1] + m[3 * i + 2] * m[3 * k + 2];
            worst = std::max(worst, std::fabs(d - (i == k ? 1.0 : 0.0)));
        }
    const double det = dot(Vec3D{m[0], m[1], m[2]}, cross(Vec3D{m[3], m[4], m[5]}, Vec3D{m[6], m[7], m[8]}));
    if (!(worst < 1e-5) || !(det > 0))
        r.fail(object, std::string(key) + " is not a rotation (its rows must be orthonormal, determinant +1)");
    return m;
}

}  // namespace

Mat3 mat_mul(const Mat3& a, const Mat3& b) {
    Mat3 m{};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            for (int k = 0; k < 3; ++k) m[3 * i + j] += a[3 * i + k] * b[3 * k + j];
    return m;
}

Vec3D mat_apply(const Mat3& m, const Vec3D& v) {
    return Vec3D{m[0] * v.x + m[1] * v.y + m[2] * v.z, m[3] * v.x + m[4] * v.y + m[5] * v.z,
                 m[6] * v.x + m[7] * v.y + m[8] * v.z};
}

void reciprocal_at(const ExptModel& m, double phi, Vec3D& a_star, Vec3D& b_star, Vec3D& c_star) {
    const double V = dot(m.real_a, cross(m.real_b, m.real_c));
    const Mat3 to_lab = mat_mul(m.setting, mat_mul(rotation(m.rotation_axis, phi), m.fixed));
    a_star = mat_apply(to_lab, scale(cross(m.real_b, m.real_c), 1.0 / V));
    b_star = mat_apply(to_lab, scale(cross(m.real_c, m.real_a), 1.0 / V));
    c_star = mat_apply(to_lab, scale(cross(m.real_a, m.real_b), 1.0 / V));
}

ExptModel parse_expt(const std::string& text, const std::string& path, int index) {
    const Reader r(path);
    json doc;
    try {
        doc = json::parse(text);
    } catch (const json::exception& e) {
        // Python's json writes a non-finite float as NaN or Infinity, which is not JSON
        for (const char* word : {"NaN", "Infinity"}) {
            const size_t at = text.find(word);
            if (at == std::string::npos) continue;
            const size_t line = 1 + (size_t)std::count(text.begin(), text.begin() + (long)at, '\n');
            r.fail("JSON", std::string("line ") + std::to_string(line) + " holds " + word +
                               ", a value that is not a finite number (Python's json writes it for one)");
        }
        // parse_error, and out_of_range for a number beyond a double (e.g. 1E999)
        r.fail("JSON", std::string("not valid JSON (") + e.what() + ")");
    }
    if (!doc.is_object()) r.fail("JSON", "the top level is not an object");
    if (!doc.contains("__id__") || doc["__id__"] != "ExperimentList")
        r.fail("JSON", "not a DIALS experiment list (no \"__id__\": \"ExperimentList\")");
    const json& experiments = r.member(doc, "experiment", "experiment list");
    if (!experiments.is_array() || experiments.empty()) r.fail("experiment list", "holds no experiment");
    if (index < 0 || index >= (int)experiments.size())
        r.fail("experiment list",
               "has " + std::to_string(experiments.size()) + " experiments; there is no " + std::to_string(index));
    ExptModel m;
    m.path = path;
    m.experiment = index;
    m.experiments = (int)experiments.size();
    const json& ex = experiments[(size_t)index];
    const std::string exname = "experiment " + std::to_string(index);
    auto model = [&](const char* key, bool required) -> const json* {
        if (!r.has(ex, key)) {
            if (required) r.fail(exname, std::string("has no ") + key);
            return nullptr;
        }
        if (ex[key].is_string())
            r.fail(exname, std::string(key) + " refers to another file ('" + ex[key].get<std::string>() +
                               "'); models in other files are not supported");
        const json& list = r.member(doc, key, "experiment list");
        return &list[(size_t)r.index(ex, key, list, exname)];
    };

    // beam
    const json& beam = *model("beam", true);
    const std::string bname = "beam " + std::to_string(ex["beam"].get<int>());
    if (r.has(beam, "__id__") && beam["__id__"].is_string()) {
        const std::string id = beam["__id__"].get<std::string>();
        if (id != "MonochromaticBeam" && id != "Beam")
            r.fail(bname, "is a '" + id + "'; only monochromatic beams are supported");
    }
    if (r.has(beam, "probe") && beam["probe"].is_string() && beam["probe"] != "x-ray")
        r.fail(bname, "probe '" + beam["probe"].get<std::string>() + "' is not supported (x-ray only)");
    m.to_source = r.unit(beam, "direction", bname);
    m.wavelength = r.number(beam, "wavelength", bname);
    if (!(m.wavelength > 0)) r.fail(bname, "wavelength must be positive");
    if (r.has(beam, "polarization_normal")) m.polarization_normal = r.unit(beam, "polarization_normal", bname);
    m.polarization_fraction = r.number_or(beam, "polarization_fraction", bname, 0.999);
    if (m.polarization_fraction < 0 || m.polarization_fraction > 1)
        r.fail(bname, "polarization_fraction must be between 0 and 1");
    m.divergence = r.number_or(beam, "divergence", bname, 0.0);
    m.sigma_divergence = r.number_or(beam, "sigma_divergence", bname, 0.0);
    if (m.divergence < 0 || m.sigma_divergence < 0) r.fail(bname, "divergence must not be negative");

    // detector
    const json& det = *model("detector", true);
    const std::string dname = "detector " + std::to_string(ex["detector"].get<int>());
    const json& panels = r.member(det, "panels", dname);
    if (!panels.is_array() || panels.empty()) r.fail(dname, "has no panels");
    for (size_t i = 0; i < panels.size(); ++i)
        m.panels.push_back(read_panel(r, panels[i], dname + ", panel " + std::to_string(i)));
    DetectorReader dr{r, panels, m.panels, std::vector<bool>(panels.size(), false), dname};
    if (r.has(det, "hierarchy")) {
        dr.walk(det["hierarchy"], Frame{}, 0);
        for (size_t i = 0; i < panels.size(); ++i)
            if (!dr.placed[i]) r.fail(dname, "panel " + std::to_string(i) + " is not in the hierarchy");
    } else {
        for (size_t i = 0; i < panels.size(); ++i) {
            const std::string what = dname + ", panel " + std::to_string(i);
            Vec3D f, s, o;
            dr.local(panels[i], what, f, s, o);
            m.panels[i].fast = f;
            m.panels[i].slow = s;
            m.panels[i].origin = o;
        }
    }
    for (size_t i = 0; i < m.panels.size(); ++i) {
        ExptPanel& p = m.panels[i];
        Vec3D n{0, 0, 0};
        if (!(unitize(cross(p.fast, p.slow), n) > 1e-6))
            r.fail(dname + ", panel " + std::to_string(i), "fast and slow axes are parallel");
        if (std::fabs(dot(p.fast, p.slow)) > 1e-6)
            r.fail(dname + ", panel " + std::to_string(i),
                   "fast and slow axes are not perpendicular (skewed pixels are not supported)");
    }

    // goniometer: single axis (rotation_axis, fixed, setting) or several axes
    if (const json* g = model("goniometer", false)) {
        const std::string gname = "goniometer " + std::to_string(ex["goniometer"].get<int>());
        m.has_goniometer = true;
        if (r.has(*g, "axes")) {
            const json& axes = (*g)["axes"];
            const json& angles = r.member(*g, "angles", gname);
            if (!axes.is_array() || !angles.is_array() || axes.empty() || axes.size() != angles.size())
                r.fail(gname, "axes and angles must be lists of the same length");
            const json& sa = r.member(*g, "scan_axis", gname);
            if (!sa.is_number_integer() || sa.get<long long>() < 0 || sa.get<long long>() >= (long long)axes.size())
                r.fail(gname, "scan_axis is not one of its axes");
            const int k = sa.get<int>(), n = (int)axes.size();
            std::vector<Vec3D> ax;
            std::vector<double> an;
            for (int i = 0; i < n; ++i) {
                if (!axes[(size_t)i].is_array() || axes[(size_t)i].size() != 3)
                    r.fail(gname, "axis " + std::to_string(i) + " is not 3 numbers");
                Vec3D v{r.number(axes[(size_t)i][0], gname, "axes"), r.number(axes[(size_t)i][1], gname, "axes"),
                        r.number(axes[(size_t)i][2], gname, "axes")};
                Vec3D u{0, 0, 0};
                if (!(unitize(v, u) > 0)) r.fail(gname, "axis " + std::to_string(i) + " has length zero");
                ax.push_back(u);
                an.push_back(r.number(angles[(size_t)i], gname, "angles"));
            }
            // axes[0] is the innermost: F = R(k-1) ... R(0), S = R(n-1) ... R(k+1)
            m.fixed = kIdentity;
            for (int i = 0; i < k; ++i) m.fixed = mat_mul(rotation(ax[i], an[i]), m.fixed);
            m.setting = kIdentity;
            for (int i = k + 1; i < n; ++i) m.setting = mat_mul(rotation(ax[i], an[i]), m.setting);
            m.rotation_axis = ax[k];
            m.axes = ax;
            m.angles = an;
            m.scan_axis = k;
            const json* names = r.has(*g, "names") ? &(*g)["names"] : nullptr;
            for (int i = 0; i < n; ++i)
                m.axis_names.push_back(names && names->is_array() && (size_t)i < names->size() &&
                                               (*names)[(size_t)i].is_string()
                                           ? (*names)[(size_t)i].get<std::string>()
                                           : "");
        } else {
            m.rotation_axis = r.unit(*g, "rotation_axis", gname);
            m.fixed = matrix(r, *g, "fixed_rotation", gname);
            m.setting = matrix(r, *g, "setting_rotation", gname);
        }
    }

    // scan: image_range and oscillation (deg)
    if (const json* s = model("scan", false)) {
        const std::string sname = "scan " + std::to_string(ex["scan"].get<int>());
        m.has_scan = true;
        const json& range = r.member(*s, "image_range", sname);
        if (!range.is_array() || range.size() != 2 || !range[0].is_number_integer() || !range[1].is_number_integer())
            r.fail(sname, "image_range must be two whole numbers");
        m.first_image = range[0].get<int>();
        m.last_image = range[1].get<int>();
        if (m.last_image < m.first_image) r.fail(sname, "image_range ends before it starts");
        if (r.has(*s, "oscillation")) {
            auto osc = r.numbers(*s, "oscillation", 2, sname);
            m.osc_start = osc[0];
            m.osc_width = osc[1];
        } else if (r.has(*s, "properties") && r.has((*s)["properties"], "oscillation")) {
            // newer dxtbx: the start of every image
            const json& o = (*s)["properties"]["oscillation"];
            if (!o.is_array() || o.empty()) r.fail(sname, "properties.oscillation is empty");
            m.osc_start = r.number(o[0], sname, "oscillation");
            if (o.size() > 1)
                m.osc_width = r.number(o[1], sname, "oscillation") - m.osc_start;
            else if (r.has(*s, "properties") && r.has((*s)["properties"], "oscillation_width"))
                m.osc_width = r.number((*s)["properties"]["oscillation_width"][0], sname, "oscillation_width");
        } else {
            r.fail(sname, "has no oscillation");
        }
        if (m.osc_width < 0) r.fail(sname, "oscillation width must not be negative");
        // the first image's exposure (dxtbx lists one per image; older files, one)
        const json* times = r.has(*s, "exposure_time") ? &(*s)["exposure_time"]
                            : r.has(*s, "properties") && r.has((*s)["properties"], "exposure_time")
                                ? &(*s)["properties"]["exposure_time"]
                                : nullptr;
        if (times && times->is_array() && !times->empty()) {
            m.exposure_time = r.number((*times)[0], sname, "exposure_time");
            if (m.exposure_time < 0) r.fail(sname, "exposure_time must not be negative");
        }
    }

    // crystal: real-space vectors (Angstrom)
    if (const json* c = model("crystal", false)) {
        const std::string cname = "crystal " + std::to_string(ex["crystal"].get<int>());
        m.has_crystal = true;
        m.scan_varying = r.has(*c, "A_at_scan_points");
        m.real_a = r.vec(*c, "real_space_a", cname);
        m.real_b = r.vec(*c, "real_space_b", cname);
        m.real_c = r.vec(*c, "real_space_c", cname);
        const double V = dot(m.real_a, cross(m.real_b, m.real_c));
        const double scale = magnitude(m.real_a) * magnitude(m.real_b) * magnitude(m.real_c);
        if (!(std::fabs(V) > 1e-9 * scale) || !(scale > 0))
            r.fail(cname, "real_space_a, b and c are linearly dependent (a singular matrix)");
        if (V < 0) r.fail(cname, "real_space_a, b and c form a left-handed cell (negative volume)");
    }
    return m;
}

ExptModel read_expt(const std::string& path, int index) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw std::runtime_error("-expt " + path + ": is a folder, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("-expt " + path + ": cannot open the file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_expt(ss.str(), path, index);
}

}  // namespace nb
