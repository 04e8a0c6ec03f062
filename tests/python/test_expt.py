"""-expt from Python: a path or dxtbx's own objects, one array per panel."""
import json
import math
import os

import numpy as np
import pytest

import nanobragg

CRYSTAL = "-cell 79.1 79.1 38.4 90 90 90 -misset 10 20 30 -default_F 100 -N 6 -oversample 1".split()


def three_panels(tmp_path):
    panels = []
    for k in range(3):
        t = math.radians(5.0 + 7.0 * k)
        panels.append({"name": f"p{k}", "type": "SENSOR_PAD", "fast_axis": [math.cos(t), 0, math.sin(t)],
                       "slow_axis": [0, -1, 0], "origin": [-40.0 + 30 * k, 15.0, -110.0 - 10 * k],
                       "image_size": [200, 150], "pixel_size": [0.172, 0.172], "trusted_range": [-1, 65535],
                       "thickness": 0.0, "material": "Si", "mu": 0.0})
    doc = {"__id__": "ExperimentList",
           "experiment": [{"__id__": "Experiment", "beam": 0, "detector": 0, "goniometer": 0, "scan": 0}],
           "beam": [{"direction": [0, 0, 1], "wavelength": 1.0}],
           "detector": [{"panels": panels,
                         "hierarchy": {"name": "", "fast_axis": [1, 0, 0], "slow_axis": [0, 1, 0],
                                       "origin": [0, 0, 0], "children": [{"panel": k} for k in range(3)]}}],
           "goniometer": [{"rotation_axis": [1, 0, 0]}],
           "scan": [{"image_range": [1, 5], "oscillation": [2.0, 0.5], "exposure_time": [1.0] * 5}]}
    path = tmp_path / "three.expt"
    path.write_text(json.dumps(doc))
    return path


def test_a_path_gives_one_array_per_panel(tmp_path):
    path = three_panels(tmp_path)
    r = nanobragg.simulate(CRYSTAL, expt=str(path))
    assert r.image.shape == (450, 200)
    assert len(r.panels) == 3
    for k, p in enumerate(r.panels):
        assert p.shape == (150, 200)
        assert np.array_equal(p, r.image[150 * k:150 * (k + 1)])
        assert p.sum() > 0
    # the scan's first image; set_phi renders the others
    s = nanobragg.Simulator(CRYSTAL, expt=path)
    first = s.render()
    assert np.array_equal(first.image, r.image)
    s.set_phi(3.0)
    third = s.render()
    assert not np.array_equal(third.image, first.image)
    cli = nanobragg.simulate(CRYSTAL + ["-phi", "3"], expt=str(path))
    assert np.array_equal(third.image, cli.image)


def test_dxtbx_objects_render_as_their_file(tmp_path):
    pytest.importorskip("dxtbx")
    from dxtbx.model.experiment_list import ExperimentListFactory
    path = three_panels(tmp_path)
    el = ExperimentListFactory.from_json_file(str(path), check_format=False)
    from_file = nanobragg.simulate(CRYSTAL, expt=str(path))
    from_list = nanobragg.simulate(CRYSTAL, expt=el)
    from_one = nanobragg.Simulator(CRYSTAL, expt=el[0]).render()
    assert len(from_list.panels) == 3
    # dxtbx writes the same models back (its numbers in full precision)
    np.testing.assert_allclose(from_list.image, from_file.image, rtol=1e-6, atol=1e-6 * from_file.image.max())
    assert np.array_equal(from_one.image, from_list.image)


def test_bad_expt_object_is_refused():
    with pytest.raises(Exception, match="expt: give a path to a .expt file"):
        nanobragg.simulate(CRYSTAL, expt=42)


def test_conflicting_or_empty_inputs_are_refused(tmp_path):
    path = three_panels(tmp_path)
    # a scan makes a series; -nframes on the line asks for one, which a call cannot return
    with pytest.raises(nanobragg.UsageError, match="^-nframes:"):
        nanobragg.simulate(CRYSTAL + ["-nframes", "2"], expt=str(path))
    with pytest.raises(nanobragg.UsageError, match="^expt: the arguments hold -expt too"):
        nanobragg.simulate(CRYSTAL + ["-expt", str(path)], expt=str(path))
    pytest.importorskip("dxtbx")
    from dxtbx.model.experiment_list import ExperimentList
    with pytest.raises(nanobragg.UsageError, match="^expt: the experiment list holds no experiment$"):
        nanobragg.simulate(CRYSTAL, expt=ExperimentList())


def test_set_orientation_is_refused_when_the_expt_gives_the_crystal(tmp_path):
    pytest.importorskip("dxtbx")
    from dxtbx.model import Crystal
    from dxtbx.model.experiment_list import ExperimentListFactory
    el = ExperimentListFactory.from_json_file(str(three_panels(tmp_path)), check_format=False)
    el[0].crystal = Crystal((79.1, 0, 0), (0, 79.1, 0), (0, 0, 38.4), space_group_symbol="P 1")
    sim = nanobragg.Simulator("-default_F 100 -N 6 -oversample 1".split(), expt=el)
    before = sim.render().image
    # as -mat beside such a list on the command line
    with pytest.raises(nanobragg.UsageError, match="^-mat: the experiment list .* gives the crystal"):
        sim.set_orientation(np.eye(3) * 0.01)
    assert np.array_equal(sim.render().image, before)


def test_messages_name_dxtbx_objects_not_their_temporary_file(tmp_path):
    pytest.importorskip("dxtbx")
    from dxtbx.model.experiment_list import ExperimentListFactory
    el = ExperimentListFactory.from_json_file(str(three_panels(tmp_path)), check_format=False)
    # two experiments: the first is rendered, with a WARNING that names the objects
    two = ExperimentListFactory.from_json_file(str(three_panels(tmp_path)), check_format=False)
    two.append(el[0])
    r = nanobragg.simulate(CRYSTAL, expt=two)
    note = [n for n in r.notes if "experiments" in n]
    assert note == ["WARNING: expt= (dxtbx objects) holds 2 experiments: rendering experiment 0 alone"], r.notes
    # a geometry the engine refuses: the message names expt=, not /tmp/....expt
    el[0].detector[1].set_image_size((100, 150))
    # (a RuntimeError, as for the same geometry in a file)
    with pytest.raises(RuntimeError, match=r"^expt= \(dxtbx objects\): detector, panel 1: 100 x 150 pixels where "
                       "panel 0 has 200 x 150") as e:
        nanobragg.simulate(CRYSTAL, expt=el)
    assert ".expt" not in str(e.value)
    with pytest.raises(RuntimeError, match=r"^expt= \(dxtbx objects\): detector"):
        nanobragg.Simulator(CRYSTAL, expt=el[0])
