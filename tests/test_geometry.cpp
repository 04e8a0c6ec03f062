// Detector conventions, pivots and rotations against the vectors C
// nanoBragg printed for the golden cases (DETECTOR_PIX0_VECTOR etc.).
#include <gtest/gtest.h>

#include "engine/detector_geometry.hpp"
#include "engine/sampling_rules.hpp"
#include "engine/units.hpp"

using namespace nb;

namespace {

SimConfig base256() {
    SimConfig c;
    c.fpixels = c.spixels = 256;
    c.distance = 0.1;
    return c;
}

void expect_vec(const Vec3D& v, double x, double y, double z, double tol = 1e-14) {
    EXPECT_NEAR(v.x, x, tol);
    EXPECT_NEAR(v.y, y, tol);
    EXPECT_NEAR(v.z, z, tol);
}

DetectorGeometry resolve(const SimConfig& c) {
    std::vector<std::string> notes;
    return resolve_detector(c, notes);
}

}  // namespace

TEST(Geometry, MosflmBeamCentreIsMeasuredFromThePixelCorner) {
    SimConfig c = base256();
    c.Xbeam = c.Ybeam = 0.0256;
    DetectorGeometry d = resolve(c);
    expect_vec(d.fdet, 0, 0, 1);
    expect_vec(d.sdet, 0, -1, 0);
    expect_vec(d.pix0, 0.1, 0.02565, -0.02565);
    EXPECT_NEAR(d.Fbeam, 0.02565, 1e-15);
    EXPECT_EQ(d.pivot, Pivot::Beam);
}

TEST(Geometry, DenzoBeamCentreIsMeasuredFromThePixelCentre) {
    SimConfig c = base256();
    c.convention = Convention::Denzo;
    c.Xbeam = c.Ybeam = 0.0256;
    expect_vec(resolve(c).pix0, 0.1, 0.0256, -0.0256);
}

TEST(Geometry, AdxvConvention) {
    SimConfig c = base256();
    c.convention = Convention::Adxv;
    c.Xbeam = c.Ybeam = 0.0256;
    DetectorGeometry d = resolve(c);
    expect_vec(d.fdet, 1, 0, 0);
    expect_vec(d.sdet, 0, -1, 0);
    expect_vec(d.pix0, -0.0256, 0, 0.1);
    EXPECT_NEAR(d.Sbeam, 0.0, 1e-15);
}

TEST(Geometry, XdsConventionFromOrgxOrgy) {
    SimConfig c = base256();
    c.convention = Convention::Xds;
    c.pivot = Pivot::Sample;
    c.ORGX = c.ORGY = 128;
    DetectorGeometry d = resolve(c);
    expect_vec(d.sdet, 0, 1, 0);
    expect_vec(d.pix0, -0.01275, -0.01275, 0.1);
    EXPECT_EQ(d.pivot, Pivot::Sample);
    EXPECT_NEAR(d.ORGX, 128.0, 1e-9);
}

TEST(Geometry, DialsTwothetaPivotsAboutTheSample) {
    SimConfig c = base256();
    c.convention = Convention::Dials;
    c.twotheta = 5.0 / RTD;
    DetectorGeometry d = resolve(c);
    expect_vec(d.fdet, 0.996194698091746, 0, -0.0871557427476582);
    expect_vec(d.pix0, -0.00403571786080853, -0.0128, 0.100735063316345);
}

TEST(Geometry, MosflmForcesBeamPivotEvenWhenSampleRequested) {
    SimConfig c = base256();
    c.pivot = Pivot::Sample;
    c.twotheta = 12.0 / RTD;
    DetectorGeometry d = resolve(c);
    EXPECT_EQ(d.pivot, Pivot::Beam);
    expect_vec(d.sdet, -0.207911690817759, -0.978147600733806, 0);
    expect_vec(d.pix0, 0.102682060811549, 0.0126181040494661, -0.0129);
    EXPECT_NEAR(d.distance, 0.0978148, 1e-7);
}

TEST(Geometry, RotationsThenTwothetaWithRFactorDistance) {
    SimConfig c = base256();
    c.detector_rotx = 5 / RTD;
    c.detector_roty = 3 / RTD;
    c.detector_rotz = 2 / RTD;
    c.twotheta = 10 / RTD;
    DetectorGeometry d = resolve(c);
    expect_vec(d.fdet, 0.0394996753697612, -0.0935635894768646, 0.994829447880333);
    expect_vec(d.sdet, -0.143160493403945, -0.985864978490508, -0.0870362988312832);
    expect_vec(d.pix0, 0.101337224552641, 0.0139246285267791, -0.0117105316227327);
    EXPECT_NEAR(d.distance, 0.0990872, 1e-7);
}

TEST(Geometry, CloseDistanceSetsTheNormalDistance) {
    SimConfig c = base256();
    c.close_distance = 0.09;
    c.detector_roty = 6 / RTD;
    DetectorGeometry d = resolve(c);
    expect_vec(d.pix0, 0.0891473279845637, 0.0129, -0.0128293324502507);
    EXPECT_NEAR(d.distance, 0.0904957, 1e-7);
}

TEST(Geometry, CustomVectorsIgnoreTheGivenPix0AsCDoes) {
    SimConfig c = base256();
    c.convention = Convention::Custom;
    c.pix0_given = true;
    c.pix0 = {0.5, 0.5, 0.5};
    DetectorGeometry d = resolve(c);
    expect_vec(d.pix0, 0.1, 0.0128, -0.0128);
}

TEST(Geometry, PixelCountsFromDetectorSize) {
    SimConfig c;
    c.detsize_f = 0.0512;
    c.detsize_s = 0.03;
    c.pixel_size = 0.0001;
    int f, s;
    double df, ds;
    resolve_pixel_counts(c, f, s, df, ds);
    EXPECT_EQ(f, 512);
    EXPECT_EQ(s, 300);
}

TEST(AutoSelect, PhiSteps) {
    StepTriple t = resolve_phi_steps(-1, -1, -1);
    EXPECT_EQ(t.steps, 1);
    EXPECT_EQ(t.range, 0.0);
    t = resolve_phi_steps(-1, 0.9, -1);  // osc only: two steps of osc/2
    EXPECT_EQ(t.steps, 2);
    EXPECT_DOUBLE_EQ(t.step, 0.45);
    t = resolve_phi_steps(-1, 1.0, 0.3);  // osc and step: ceil(osc/step)
    EXPECT_EQ(t.steps, 4);
    t = resolve_phi_steps(9, 90 / RTD, -1);
    EXPECT_DOUBLE_EQ(t.step, 10 / RTD);
    t = resolve_phi_steps(5, -1, -1);  // steps only: over one degree
    EXPECT_DOUBLE_EQ(t.range, 1 / RTD);
}

TEST(AutoSelect, DivergenceAndDispersion) {
    StepTriple t = resolve_spread_steps(-1, 0.28e-3, 0.02e-3);
    EXPECT_EQ(t.steps, 14);
    t = resolve_spread_steps(3, 0.2e-3, -1);  // range and count: count-1 intervals
    EXPECT_DOUBLE_EQ(t.step, 0.1e-3);
    t = resolve_spread_steps(-1, 0.02, -1);  // range only: two points
    EXPECT_EQ(t.steps, 2);
    t = resolve_spread_steps(5, 0.0, -1);  // zero range collapses to one point
    EXPECT_EQ(t.steps, 1);
    EXPECT_EQ(t.step, 0.0);
}

TEST(AutoSelect, ThicknessAndMosaic) {
    StepTriple t = resolve_thickness_steps(5, 450e-6, -1);
    EXPECT_EQ(t.steps, 5);
    EXPECT_DOUBLE_EQ(t.step, 450e-6 / 4);
    t = resolve_thickness_steps(-1, 0.0, -1);
    EXPECT_EQ(t.steps, 1);
    std::vector<std::string> notes;
    EXPECT_EQ(resolve_mosaic(-1, 0.5 / RTD, notes).domains, 10);
    EXPECT_EQ(resolve_mosaic(7, -1, notes).domains, 1);
    EXPECT_EQ(resolve_mosaic(7, 0.0, notes).domains, 1);
    EXPECT_EQ(resolve_mosaic(7, 0.8 / RTD, notes).domains, 7);
}
