// The detector and source part of the per-image staging (PixelParams), for
// either precision: the Bragg term (engine/render.cpp) and the amorphous term
// (engine/amorphous.cpp) read the same geometry.
#pragma once

#include <vector>

#include "engine/experiment.hpp"
#include "kernels/pixel_params.hpp"

namespace nb {

template <typename T>
struct SourceTables {
    std::vector<T> dir, lambda, weight;
    std::vector<PanelFrame<T>> panels;
};

template <typename T>
Vec3<T> narrow_vec(const Vec3D& v) {
    return Vec3<T>{(T)v.x, (T)v.y, (T)v.z};
}

// Detector raster, ROI, mask, sub-pixels, sensor, sources and polarization.
// `weights`: the per-source factors the kernel applies (empty: none).
template <typename T>
void stage_geometry(const Experiment& e, const std::vector<double>& weights, PixelParams<T>& p, SourceTables<T>& t) {
    const DetectorGeometry& d = e.det;
    const Sampling& s = e.samp;
    p.fpixels = d.fpixels;
    p.spixels = d.spixels;
    p.roi_xmin = s.roi_xmin;
    p.roi_xmax = s.roi_xmax;
    p.roi_ymin = s.roi_ymin;
    p.roi_ymax = s.roi_ymax;
    p.mask = e.mask.empty() ? nullptr : e.mask.data();
    p.oversample = s.oversample;
    p.pixel_size = (T)d.pixel_size;
    p.subpixel_size = (T)(d.pixel_size / s.oversample);
    p.fdet = narrow_vec<T>(d.fdet);
    p.sdet = narrow_vec<T>(d.sdet);
    p.odet = narrow_vec<T>(d.odet);
    p.pix0 = narrow_vec<T>(d.pix0);
    p.beam = narrow_vec<T>(d.beam);
    p.distance = (T)d.distance;
    p.close_distance = (T)d.close_distance;
    p.curved_detector = d.curved;
    p.point_pixel = d.point_pixel;
    p.thicksteps = s.thicksteps;
    p.thick = (T)s.thick;
    p.thickstep = (T)s.thickstep;
    p.mu = (T)s.mu;
    p.oversample_thick = e.cfg.oversample_thick;
    p.oversample_polar = e.cfg.oversample_polar;
    p.oversample_omega = e.cfg.oversample_omega;

    t = SourceTables<T>{};
    for (size_t i = 0; i < e.src.direction.size(); ++i) {
        t.dir.push_back((T)e.src.direction[i].x);
        t.dir.push_back((T)e.src.direction[i].y);
        t.dir.push_back((T)e.src.direction[i].z);
        t.lambda.push_back((T)e.src.lambda[i]);
    }
    for (double w : weights) t.weight.push_back((T)w);
    for (const DetectorPanel& k : e.panels)
        t.panels.push_back(PanelFrame<T>{narrow_vec<T>(k.fdet), narrow_vec<T>(k.sdet), narrow_vec<T>(k.odet),
                                         narrow_vec<T>(k.pix0), (T)k.distance, (T)k.close_distance});
    p.panels = t.panels.empty() ? nullptr : t.panels.data();
    p.panel_rows = e.panel_rows();
    p.sources = (int)e.src.direction.size();
    p.source_dir = t.dir.data();
    p.source_lambda = t.lambda.data();
    p.source_weight = t.weight.empty() ? nullptr : t.weight.data();
    p.dmin = (T)e.cfg.dmin;
    p.nopolar = e.cfg.nopolar;
    p.polarization = (T)e.cfg.polarization;
    p.polar_vector = narrow_vec<T>(d.polar);
    p.exact = e.cfg.exact;
}

}  // namespace nb
