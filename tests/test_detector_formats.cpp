// Pieces of the NeXus and miniCBF writers that readers cannot see directly:
// the byte-offset encoding at each width and the lab-frame change. The files
// themselves are read back by DIALS, h5py and CBFlib in detector_formats_dials.py.
#include <gtest/gtest.h>

#include "engine/cbf_writer.hpp"
#include "engine/nexus_writer.hpp"

TEST(DetectorFormats, ByteOffsetUsesOneTwoFourAndEightBytes) {
    // differences 0, 127 (1 byte), -128, 201 (2 bytes), 39800, -80000 (4 bytes), 2147523647 (8 bytes)
    const std::vector<int32_t> pixels = {0, 127, -1, 200, 40000, -40000, 2147483647};
    const std::vector<unsigned char> expect = {0x00, 0x7f, 0x80, 0x80, 0xff, 0x80, 0xc9, 0x00, 0x80, 0x00,
                                               0x80, 0x78, 0x9b, 0x00, 0x00, 0x80, 0x00, 0x80, 0x80, 0xc7,
                                               0xfe, 0xff, 0x80, 0x00, 0x80, 0x00, 0x00, 0x00, 0x80, 0x3f,
                                               0x9c, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00};
    EXPECT_EQ(nb::cbf_byte_offset(pixels), expect);
}

TEST(DetectorFormats, McStasFramePutsTheBeamAlongZAndTheSpindleAlongMinusX) {
    struct Case {
        nb::Vec3D beam, spindle;
    };
    // MOSFLM/Denzo, XDS/ADXV and DIALS beam and spindle vectors, and an oblique beam
    for (const Case& c : {Case{{1, 0, 0}, {0, 0, 1}}, Case{{0, 0, 1}, {1, 0, 0}}, Case{{0, 0, 1}, {0, 1, 0}},
                          Case{{0.6, 0.8, 0}, {0, 0, 1}}}) {
        nb::DetectorGeometry d;
        d.beam = c.beam;
        d.spindle = c.spindle;
        d.fdet = {0, 0, 1};
        const nb::McStasFrame m(d);
        const nb::Vec3D b = m(c.beam), s = m(c.spindle);
        EXPECT_NEAR(b.z, 1.0, 1e-12);
        EXPECT_NEAR(s.x, -1.0, 1e-12);  // imgCIF +x, the usual rotation axis
        // a proper rotation: orthonormal and right-handed
        const nb::Vec3D zx = nb::cross(m.z, m.x);
        EXPECT_NEAR(nb::dot(zx, m.y), 1.0, 1e-12);
        EXPECT_NEAR(nb::dot(m.x, m.z), 0.0, 1e-12);
    }
}

// -expt: DIALS's own frame while its beam runs along -z (engine +x); a beam
// off that axis turns the frame by the least rotation that puts it on McStas z
// (readers take the beam along z for granted), against it half a turn.
TEST(DetectorFormats, ExptMcStasFrameKeepsDialsAxesAndPutsTheBeamOnZ) {
    nb::DetectorGeometry d;
    d.beam = {1, 0, 0};
    const nb::McStasFrame same = nb::McStasFrame::dials(d);
    EXPECT_EQ(same.x.z, -1.0);
    EXPECT_EQ(same.y.y, 1.0);
    EXPECT_EQ(same.z.x, 1.0);
    for (const nb::Vec3D& beam : {nb::Vec3D{0.999, 0.02, 0.03}, nb::Vec3D{0.2, -0.9, 0.1}, nb::Vec3D{-1, 0, 0}}) {
        d.beam = beam;
        const nb::McStasFrame m = nb::McStasFrame::dials(d);
        const nb::Vec3D b = m(nb::scale(beam, 1.0 / nb::magnitude(beam)));
        EXPECT_NEAR(b.z, 1.0, 1e-12);
        EXPECT_NEAR(nb::dot(nb::cross(m.z, m.x), m.y), 1.0, 1e-12);  // a proper rotation
        EXPECT_NEAR(nb::dot(m.x, m.z), 0.0, 1e-12);
        EXPECT_NEAR(nb::dot(m.x, m.y), 0.0, 1e-12);
        // the least rotation: DIALS's axis normal to both beams stays where it was
        const nb::Vec3D k = nb::cross(nb::Vec3D{1, 0, 0}, beam);
        if (nb::magnitude(k) > 1e-9) {
            const nb::Vec3D kk = nb::scale(k, 1.0 / nb::magnitude(k));
            const nb::Vec3D a = m(kk), a0 = same(kk);
            EXPECT_NEAR(a.x, a0.x, 1e-12);
            EXPECT_NEAR(a.y, a0.y, 1e-12);
            EXPECT_NEAR(a.z, a0.z, 1e-12);
        }
    }
}

TEST(DetectorFormats, MiniCbfLimitsNameWhatTheHeaderCannotHold) {
    nb::DetectorGeometry d;  // MOSFLM: beam +x, fast +z, slow -y, spindle +z
    d.beam = {1, 0, 0};
    d.fdet = {0, 0, 1};
    d.sdet = {0, -1, 0};
    d.spindle = {0, 0, 1};
    EXPECT_EQ(nb::minicbf_geometry_limits(d), "");
    d.spindle = {0, -1, 0};  // rotation about the slow axis (DIALS convention)
    EXPECT_NE(nb::minicbf_geometry_limits(d).find("rotation axis"), std::string::npos);
    d.spindle = {0, 0, 1};
    d.sdet = {0.1, -0.99498743710662, 0};  // tilted
    EXPECT_NE(nb::minicbf_geometry_limits(d).find("not normal to the beam (-twotheta, -detector_rot*)"),
              std::string::npos);
    EXPECT_NE(nb::minicbf_geometry_limits(d, true).find("not normal to the beam (as the experiment list places it)"),
              std::string::npos);
}

TEST(DetectorFormats, DataFilesAreNamedAfterTheMasterAsEigerNamesThem) {
    EXPECT_EQ(nb::NexusWriter::data_file_name("sweep_master.h5", 1), "sweep_data_000001.h5");
    EXPECT_EQ(nb::NexusWriter::data_file_name("out/sweep.nxs", 12), "out/sweep_data_000012.h5");
    EXPECT_EQ(nb::NexusWriter::data_file_name("run.1/sweep", 3), "run.1/sweep_data_000003.h5");
    EXPECT_EQ(nb::NexusWriter::data_file_name("dir/.hidden", 2), "dir/.hidden_data_000002.h5");
    EXPECT_EQ(nb::NexusWriter::data_file_name("_master.h5", 1), "_master_data_000001.h5");
}
