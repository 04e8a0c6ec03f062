#include "engine/detector_geometry.hpp"

#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "engine/units.hpp"
#include "kernels/rotation.hpp"

namespace nb {

namespace {
Vec3D v(const Vec3d& a) { return Vec3D{a.x, a.y, a.z}; }
}  // namespace

const char* convention_name(Convention c) {
    switch (c) {
        case Convention::Adxv:
            return "adxv";
        case Convention::Mosflm:
            return "mosflm";
        case Convention::Xds:
            return "xds";
        case Convention::Dials:
            return "dials";
        case Convention::Denzo:
            return "denzo";
        case Convention::Custom:
            return "custom";
    }
    return "?";
}

std::string twotheta_from_axis_warning(double twotheta) {
    char buf[240];
    std::snprintf(buf, sizeof buf,
                  "WARNING: -twotheta_axis also set -twotheta to %g degrees (its first number, as C reads it) "
                  "and the pivot to sample; give -twotheta after -twotheta_axis",
                  twotheta * RTD);
    return buf;
}

void resolve_pixel_counts(const SimConfig& cfg, int& fpixels, int& spixels, double& detsize_f, double& detsize_s) {
    detsize_f = cfg.detsize_f;
    detsize_s = cfg.detsize_s;
    if (cfg.fpixels) detsize_f = cfg.pixel_size * cfg.fpixels;
    if (cfg.spixels) detsize_s = cfg.pixel_size * cfg.spixels;
    if (!(cfg.pixel_size > 0)) throw std::runtime_error("-pixel: too small: the size underflows to 0 in meters");
    const double nf = std::ceil(detsize_f / cfg.pixel_size - 0.5), ns = std::ceil(detsize_s / cfg.pixel_size - 0.5);
    // A pixel that underflows in meters (-pixel 1e-320) or a detector of more
    // than INT_MAX pixels a side would overflow C's int conversion.
    if (!(nf >= 0 && nf <= INT_MAX && ns >= 0 && ns <= INT_MAX)) {
        char buf[240];
        std::snprintf(buf, sizeof buf,
                      "-detsize/-pixel: a %g x %g mm detector in %g mm pixels gives %g x %g pixels (at most %d a side)",
                      detsize_f * 1e3, detsize_s * 1e3, cfg.pixel_size * 1e3, nf, ns, INT_MAX);
        throw std::runtime_error(buf);
    }
    fpixels = (int)nf;
    spixels = (int)ns;
}

DetectorGeometry resolve_detector(const SimConfig& cfg, std::vector<std::string>& notes) {
    DetectorGeometry d;
    d.convention = cfg.convention;
    d.pivot = cfg.pivot;
    d.pixel_size = cfg.pixel_size;
    resolve_pixel_counts(cfg, d.fpixels, d.spixels, d.detsize_f, d.detsize_s);
    d.rotx = cfg.detector_rotx;
    d.roty = cfg.detector_roty;
    d.rotz = cfg.detector_rotz;
    d.twotheta = cfg.twotheta;
    d.curved = cfg.curved_detector;
    d.point_pixel = cfg.point_pixel;

    const double pixel = cfg.pixel_size;
    double Fclose = kNaN, Sclose = kNaN, Fbeam = kNaN, Sbeam = kNaN;
    double Xbeam = cfg.Xbeam, Ybeam = cfg.Ybeam, Xclose = cfg.Xclose, Yclose = cfg.Yclose;
    if (!std::isnan(cfg.ORGX)) Fclose = (cfg.ORGX - 0.5) * pixel;
    if (!std::isnan(cfg.ORGY)) Sclose = (cfg.ORGY - 0.5) * pixel;
    if (std::isnan(Fclose)) Fclose = d.detsize_f / 2.0;
    if (std::isnan(Sclose)) Sclose = d.detsize_s / 2.0;
    if (std::isnan(Xclose)) Xclose = Fclose;
    if (std::isnan(Yclose)) Yclose = Sclose;
    if (std::isnan(Fbeam)) Fbeam = Fclose;
    if (std::isnan(Sbeam)) Sbeam = Sclose;

    Vec3D beam = v(cfg.beam), fdet = v(cfg.fdet), sdet = v(cfg.sdet), odet = v(cfg.odet);
    Vec3D twotheta_axis = v(cfg.twotheta_axis), polar = v(cfg.polar_vec), spindle = v(cfg.spindle);
    Pivot pivot = cfg.pivot;

    // Each convention fixes the lab axes and maps the user's beam centre onto
    // the detector's fast/slow axes in its own way.
    switch (cfg.convention) {
        case Convention::Adxv:
            if (std::isnan(Xbeam)) Xbeam = (d.detsize_f + pixel) / 2.0;
            if (std::isnan(Ybeam)) Ybeam = (d.detsize_s - pixel) / 2.0;
            beam = {0, 0, 1};
            fdet = {1, 0, 0};
            sdet = {0, -1, 0};
            odet = {0, 0, 1};
            twotheta_axis = {-1, 0, 0};
            polar = {1, 0, 0};
            spindle = {1, 0, 0};
            Fbeam = Xbeam;
            Sbeam = d.detsize_s - Ybeam;
            pivot = Pivot::Beam;
            break;
        case Convention::Mosflm:
        case Convention::Denzo: {
            if (std::isnan(Xbeam)) Xbeam = (d.detsize_s + pixel) / 2.0;
            if (std::isnan(Ybeam)) Ybeam = (d.detsize_f + pixel) / 2.0;
            beam = {1, 0, 0};
            odet = {1, 0, 0};
            fdet = {0, 0, 1};
            sdet = {0, -1, 0};
            twotheta_axis = {0, 0, -1};
            polar = {0, 0, 1};
            spindle = {0, 0, 1};
            // MOSFLM measures the beam from the first pixel's corner; DENZO from its centre.
            const double half = cfg.convention == Convention::Mosflm ? 0.5 : 0.0;
            Fbeam = Ybeam + half * pixel;
            Sbeam = Xbeam + half * pixel;
            pivot = Pivot::Beam;
            break;
        }
        case Convention::Xds:
        case Convention::Dials: {
            if (std::isnan(Xbeam)) Xbeam = Xclose;
            if (std::isnan(Ybeam)) Ybeam = Yclose;
            beam = {0, 0, 1};
            fdet = {1, 0, 0};
            sdet = {0, 1, 0};
            odet = {0, 0, 1};
            // the two differ in their rotation axis alone: XDS's x, DIALS' y
            const Vec3D axis = cfg.convention == Convention::Xds ? Vec3D{1, 0, 0} : Vec3D{0, 1, 0};
            twotheta_axis = axis;
            polar = axis;
            spindle = axis;
            Fbeam = Xbeam;
            Sbeam = Ybeam;
            pivot = Pivot::Sample;
            break;
        }
        case Convention::Custom:
            if (std::isnan(Xbeam)) Xbeam = Xclose;
            if (std::isnan(Ybeam)) Ybeam = Yclose;
            Fbeam = Xbeam;
            Sbeam = Ybeam;
            Fclose = Xbeam;
            Sclose = Ybeam;
            break;
    }

    if (cfg.twotheta_from_axis) notes.push_back(twotheta_from_axis_warning(cfg.twotheta));
    unitize(beam, beam);
    unitize(fdet, fdet);
    unitize(sdet, sdet);
    if (unitize(odet, odet) != 1.0) {
        notes.push_back("WARNING: auto-generating odet_vector");
        unitize(cross(fdet, sdet), odet);
    }
    unitize(polar, polar);
    unitize(spindle, spindle);
    Vec3D vert;
    unitize(cross(beam, polar), vert);

    // Relationship between the beam-centre distance and the closest approach.
    double distance = cfg.distance, close_distance = cfg.close_distance;
    Vec3D odet_rot = rotate_xyz(odet, d.rotx, d.roty, d.rotz);
    double ratio = dot(beam, odet_rot);
    if (ratio == 0.0) ratio = DBL_MIN;
    if (std::isnan(close_distance)) close_distance = std::fabs(ratio * distance);
    distance = close_distance / ratio;

    Vec3D pix0{0, 0, 0};
    if (pivot == Pivot::Sample) {
        pix0 = Vec3D{-Fclose * fdet.x - Sclose * sdet.x + close_distance * odet.x,
                     -Fclose * fdet.y - Sclose * sdet.y + close_distance * odet.y,
                     -Fclose * fdet.z - Sclose * sdet.z + close_distance * odet.z};
        pix0 = rotate_xyz(pix0, d.rotx, d.roty, d.rotz);
        pix0 = rotate_axis(pix0, twotheta_axis, d.twotheta);
    }
    fdet = rotate_axis(rotate_xyz(fdet, d.rotx, d.roty, d.rotz), twotheta_axis, d.twotheta);
    sdet = rotate_axis(rotate_xyz(sdet, d.rotx, d.roty, d.rotz), twotheta_axis, d.twotheta);
    odet = rotate_axis(rotate_xyz(odet, d.rotx, d.roty, d.rotz), twotheta_axis, d.twotheta);
    if (pivot == Pivot::Beam) {
        pix0 = Vec3D{-Fbeam * fdet.x - Sbeam * sdet.x + distance * beam.x,
                     -Fbeam * fdet.y - Sbeam * sdet.y + distance * beam.y,
                     -Fbeam * fdet.z - Sbeam * sdet.z + distance * beam.z};
    }

    // Closest point and where the direct beam lands, after all rotations.
    Fclose = -dot(pix0, fdet);
    Sclose = -dot(pix0, sdet);
    close_distance = dot(pix0, odet);
    Vec3D hit{close_distance / ratio * beam.x - pix0.x, close_distance / ratio * beam.y - pix0.y,
              close_distance / ratio * beam.z - pix0.z};
    Fbeam = dot(fdet, hit);
    Sbeam = dot(sdet, hit);
    distance = close_distance / ratio;

    d.ORGX = Fclose / pixel + 0.5;
    d.ORGY = Sclose / pixel + 0.5;
    d.dials_origin = Vec3D{1000.0 * dot(pix0, Vec3D{0, 0, 1}), 1000.0 * dot(pix0, Vec3D{0, 1, 0}),
                           1000.0 * dot(pix0, Vec3D{-1, 0, 0})};

    d.pivot = pivot;
    d.fdet = fdet;
    d.sdet = sdet;
    d.odet = odet;
    d.pix0 = pix0;
    d.beam = beam;
    d.polar = polar;
    d.spindle = spindle;
    d.vert = vert;
    d.twotheta_axis = twotheta_axis;
    d.distance = distance;
    d.close_distance = close_distance;
    d.ratio = ratio;
    d.Xbeam = Xbeam;
    d.Ybeam = Ybeam;
    d.Fbeam = Fbeam;
    d.Sbeam = Sbeam;
    d.Xclose = Xclose;
    d.Yclose = Yclose;
    d.Fclose = Fclose;
    d.Sclose = Sclose;
    return d;
}

}  // namespace nb
