"""Presence calibration (issue #22): the Platt fit, ECE, on-target labels, the weight file's map, `calibrate`."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

import trackerzoo
from trackerzoo.calibration import (
    PresenceCalibration,
    PresenceMap,
    expected_calibration_error,
    fit_platt,
    on_target_labels,
)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_platt_fit_recovers_the_map_that_drew_the_labels():
    rng = np.random.default_rng(3)
    raw = rng.uniform(0.0, 1.0, 40000)
    labels = rng.uniform(size=raw.size) < _sigmoid(6.0 * raw - 4.0)
    fitted = fit_platt(raw, labels)
    assert fitted.slope == pytest.approx(6.0, rel=0.05)
    assert fitted.intercept == pytest.approx(-4.0, rel=0.05)
    calibrated = [fitted(v) for v in raw]
    assert expected_calibration_error(calibrated, labels) < 0.01
    assert expected_calibration_error(raw, labels) > 0.1  # the raw score was not a probability


def test_the_map_increases_and_inverts():
    calibration = PresenceCalibration(10.0, -6.0)
    values = [calibration(v) for v in np.linspace(-5.0, 5.0, 101)]
    assert all(b >= a for a, b in itertools.pairwise(values))
    assert min(values) >= 0.0 and max(values) <= 1.0
    assert calibration(0.6) == pytest.approx(0.5)
    assert calibration.raw_at(calibration(0.37)) == pytest.approx(0.37)
    assert calibration(-1e6) == 0.0 and calibration(1e6) == 1.0  # no overflow either side


@pytest.mark.parametrize("slope, intercept", [(0.0, 0.0), (-1.0, 0.0), (math.nan, 0.0), (1.0, math.inf)])
def test_a_map_that_does_not_increase_is_refused(slope, intercept):
    with pytest.raises(ValueError, match=r"slope|intercept"):
        PresenceCalibration(slope, intercept)


def test_fit_errors_name_the_problem():
    with pytest.raises(ValueError, match="on and off the target; got 3 on, 0 off"):
        fit_platt([0.1, 0.2, 0.3], [True, True, True])
    with pytest.raises(ValueError, match="finite"):
        fit_platt([0.1, math.nan], [True, False])
    with pytest.raises(ValueError, match="one length"):
        fit_platt([0.1, 0.2], [True])
    with pytest.raises(ValueError, match="does not rise"):
        fit_platt(np.linspace(0, 1, 50), np.linspace(0, 1, 50) < 0.5)  # high raw = off target
    with pytest.raises(ValueError, match="in \\(0, 1\\)"):
        PresenceCalibration(1.0, 0.0).raw_at(1.0)


def test_expected_calibration_error_by_hand():
    # all at 0.9 but half right: |0.5 - 0.9| = 0.4; one bin
    assert expected_calibration_error([0.9] * 4, [True, False, True, False]) == pytest.approx(0.4)
    # two bins, each exact
    assert expected_calibration_error([0.05, 0.05, 0.95, 0.95], [False, False, True, True]) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="bins"):
        expected_calibration_error([0.5], [True], bins=0)


def test_on_target_needs_a_visible_target_and_iou_of_a_half():
    truth = np.array([[0, 0, 10, 10]] * 4, dtype=float)
    boxes = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [2, 0, 10, 10], [0, 0, 10, 10]], dtype=float)
    # IoU 1, 1/3, 2/3, 1 (but the last frame's target is not visible)
    assert on_target_labels(boxes, truth, np.array([True, True, True, False])).tolist() == [True, False, True, False]
    empty = truth.copy()
    empty[0] = [0, 0, 0, 0]
    assert not on_target_labels(boxes, empty, None)[0]
    with pytest.raises(ValueError, match="3 boxes against 4"):
        on_target_labels(boxes[:3], truth, None)


def test_the_map_comes_from_the_weight_files_manifest_entry(tmp_path):
    pytest.importorskip("trackerzoo_cract")
    shipped = PresenceMap.for_weights("cract", "mobilenetv2", "default")
    assert shipped.calibrated and shipped.calibration.slope > 0
    assert not PresenceMap.for_weights("cract", "mobilenetv2", None).calibrated  # random weights
    assert not PresenceMap.for_weights("cract", "no-such-variant", "default").calibrated
    uncalibrated = PresenceMap(None)
    assert (uncalibrated(-0.5), uncalibrated(0.25), uncalibrated(3.0)) == (0.0, 0.25, 1.0)


def test_a_malformed_manifest_calibration_is_named(tmp_path, monkeypatch):
    from trackerzoo.weights.files import sha256_file

    (tmp_path / "w.bin").write_bytes(b"x")
    entry = {"name": "fake_w", "file": "w.bin", "sha256": sha256_file(tmp_path / "w.bin"), "parameter_count": 1,
             "tracker": "fake", "variant": "v", "presence_calibration": {"slope": -2.0, "intercept": 0.0}}
    (tmp_path / "manifest.json").write_text(json.dumps([entry]))
    monkeypatch.setenv("TRACKERZOO_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=r"fake_w.*presence_calibration"):
        PresenceMap.for_weights("fake", "v", "default")


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    """Two procedural 160x120 sequences of 24 to 32 frames."""
    from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, build_dataset

    spec = DatasetSpec(sequences=2, frames=(24, 32), seed=11, procedural=True,
                       config=SceneConfig(frame_size=(160, 120), object_size=(60.0, 110.0)))
    return build_dataset(spec, tmp_path_factory.mktemp("calibration_set"), progress=False)


class DriftingTracker(trackerzoo.Tracker):
    """Drifts 6 px right per frame from its first box; its raw presence score falls as it drifts."""

    def _initialize(self, frame, box, mask):
        self._box, self._frames = np.asarray(box, dtype=np.float64), 0

    def _track(self, frame):
        self._frames += 1
        raw = math.exp(-self._frames / 6.0)
        return trackerzoo.Prediction(box=tuple(self._box + np.array([6.0 * self._frames, 0.0, 0.0, 0.0])), score=raw,
                                     extra={"presence_raw": raw})


def test_calibrate_command_fits_and_saves_the_frames(small_set, tmp_path, capsys):
    from trackerzoo.cli.main import main

    out = tmp_path / "frames.json"
    code = main(["calibrate", "--tracker", f"{__name__}:DriftingTracker", "--dataset", f"synthetic:{small_set}",
                 "--frames-out", str(out), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["frames"] == sum(len(s["raw"]) for s in json.loads(out.read_text())["sequences"].values())
    assert 0 < result["on_target"] < result["frames"]
    assert result["slope"] > 0 and result["ece_calibrated"] <= result["ece_raw"] + 1e-9


def test_calibrate_refuses_a_tracker_without_a_raw_presence_score(small_set, capsys):
    from trackerzoo.cli.main import main

    pytest.importorskip("trackerzoo_opencv")
    assert main(["calibrate", "--tracker", "kcf", "--dataset", f"synthetic:{small_set}"]) != 0
    assert "KcfTracker reports no raw presence score" in capsys.readouterr().err
