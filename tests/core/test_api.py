"""The public API: list_trackers, create, Tracker/Prediction behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from trackerzoo_opencv.tracker import CsrtTracker

import trackerzoo
from trackerzoo.errors import TrackerNotFoundError
from trackerzoo.session import track_frames


def test_list_trackers_reports_opencv_baselines():
    infos = {info.name: info for info in trackerzoo.list_trackers()}
    for name in ("csrt", "kcf", "mil"):
        info = infos[name]
        assert info.outputs == {"box"}
        assert info.distribution == "trackerzoo-opencv"
        assert info.default_variant in info.variants
        assert info.paper


def test_unknown_tracker_lists_available_names():
    with pytest.raises(TrackerNotFoundError) as excinfo:
        trackerzoo.create("nope")
    assert isinstance(excinfo.value, KeyError)
    assert "'nope'" in str(excinfo.value)
    assert "csrt" in str(excinfo.value) and "kcf" in str(excinfo.value)


def test_unknown_parameter_lists_valid_ones():
    with pytest.raises(ValueError, match=r"bogus.*valid parameters: .*psr_threshold"):
        trackerzoo.create("csrt", bogus=1)


def test_parameter_override_reaches_the_tracker():
    tracker = trackerzoo.create("csrt", psr_threshold=0.5)
    assert tracker.params.psr_threshold == 0.5


def test_unknown_variant():
    with pytest.raises(ValueError, match=r"'fast'.*default"):
        trackerzoo.create("kcf", variant="fast")


def test_bad_device_string():
    with pytest.raises(ValueError, match="quantum"):
        trackerzoo.create("kcf", device="quantum")


def _moving_square_frames(count: int, rng: np.random.Generator) -> tuple[list[np.ndarray], list[tuple]]:
    """A textured square sliding over a textured background, with its true boxes."""
    background = rng.integers(0, 120, size=(140, 200, 3), dtype=np.uint8)
    patch = rng.integers(130, 256, size=(30, 30, 3), dtype=np.uint8)
    frames, boxes = [], []
    for t in range(count):
        x, y = 20 + 3 * t, 30 + 2 * t
        frame = background.copy()
        frame[y : y + 30, x : x + 30] = patch
        frames.append(frame)
        boxes.append((x, y, 30, 30))
    return frames, boxes


@pytest.mark.parametrize("name", ["csrt", "kcf", "mil"])
def test_baselines_follow_a_sliding_square(name, rng):
    frames, boxes = _moving_square_frames(20, rng)
    run = track_frames(trackerzoo.create(name), frames, init_box=boxes[0])
    assert len(run.predictions) == len(frames)
    prediction = run.predictions[-1]
    x, y, _, _ = boxes[-1]
    px, py, pw, ph = prediction.box
    centre_error = np.hypot(px + pw / 2 - (x + 15), py + ph / 2 - (y + 15))
    assert centre_error < 10, f"{name} drifted {centre_error:.1f} px"
    assert isinstance(prediction.score, float)
    assert prediction.mask is None


def test_two_trackers_do_not_share_state(rng):
    frames, boxes = _moving_square_frames(6, rng)
    first, second = trackerzoo.create("csrt"), trackerzoo.create("csrt")
    first.initialize(frames[0], box=boxes[0])
    assert not second.is_initialized
    second.initialize(frames[0], box=(150, 100, 30, 30))
    a, b = first.track(frames[1]), second.track(frames[1])
    assert abs(a.box[0] - b.box[0]) > 50


class _CudaOnly(trackerzoo.Tracker):
    supported_devices = ("cuda",)

    def _initialize(self, frame, box, mask):
        self.box = box

    def _track(self, frame):
        return trackerzoo.Prediction(self.box, 1.0)


class _CpuOnly(_CudaOnly):
    supported_devices = ("cpu",)


@pytest.mark.parametrize("spec", [CsrtTracker, "trackerzoo_opencv.tracker:CsrtTracker"])
def test_create_builds_an_unregistered_class_with_the_same_checks(spec):
    tracker = trackerzoo.create(spec, psr_threshold=0.25)
    assert type(tracker) is CsrtTracker
    assert tracker.params.psr_threshold == 0.25 and tracker.device.type == "cpu"
    with pytest.raises(ValueError, match=r"bogus.*valid parameters: .*psr_threshold"):
        trackerzoo.create(spec, bogus=1)


def test_create_checks_the_device_of_an_unregistered_class():
    with pytest.raises(ValueError, match=r"runs on cuda only; got device='cpu'"):
        trackerzoo.create(_CudaOnly, device="cpu")
    assert trackerzoo.create(_CpuOnly).device.type == "cpu"  # "auto" never picks an unsupported CUDA
    with pytest.raises(ValueError, match="quantum"):
        trackerzoo.create(_CpuOnly, device="quantum")


@pytest.mark.parametrize(("spec", "message"), [
    ("no_such_module_xyz:Tracker", "cannot import 'Tracker' from 'no_such_module_xyz'"),
    ("trackerzoo:NoSuchName", "cannot import 'NoSuchName'"),
    ("trackerzoo:Prediction", "not a trackerzoo.Tracker subclass"),
    (":CsrtTracker", "expected a registered name or 'module:Class'"),
    (trackerzoo.Prediction, "not a trackerzoo.Tracker subclass"),
])
def test_create_rejects_bad_class_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        trackerzoo.create(spec)
