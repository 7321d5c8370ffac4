"""The runner's two protocols on the one loop: frame-0 handling, frame order, outputs, builder."""

from __future__ import annotations

import numpy as np
import pytest

from trackerzoo import Prediction, Tracker
from trackerzoo.evaluation.runner import Job, TrackerSpec, _run_vot
from trackerzoo.formats.regions import INITIALIZATION, Mask, Rectangle, rasterize
from trackerzoo.session import run_ope

HEIGHT, WIDTH = 30, 40


class BoxRecorder(Tracker):
    """Records how it was initialised and which frames it saw; moves its box 2 px right per frame."""

    def _initialize(self, frame, box, mask):
        self.init_box, self.init_mask = box, mask
        self.box = box
        self.seen = [int(frame[0, 0, 0])]

    def _track(self, frame):
        self.seen.append(int(frame[0, 0, 0]))
        x, y, w, h = self.box
        self.box = (x + 2.0, y, w, h)
        return Prediction(self.box, 0.5)


class MaskRecorder(BoxRecorder):
    """A mask tracker: predicts the filled box as its mask on odd frames, no mask on even ones."""

    outputs = frozenset({"box", "mask"})

    def _track(self, frame):
        prediction = super()._track(frame)
        if int(frame[0, 0, 0]) % 2 == 0:
            return prediction
        x, y, w, h = (int(v) for v in prediction.box)
        mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
        mask[y:y + h, x:x + w] = True
        return Prediction(prediction.box, prediction.score, mask=mask)


class CudaOnly(BoxRecorder):
    supported_devices = ("cuda",)


class FakeSequence:
    """The sequence surface the runner reads: frames whose pixels hold their index, boxes, masks, regions."""

    def __init__(self, length: int, *, masks: bool, regions=None):
        self.name = "fake"
        self.length = length
        self.boxes = np.array([[3.5 + i, 4.25, 10.0, 8.0] for i in range(length)])
        self.has_masks = masks
        self.regions = regions
        self.frames_read: list[int] = []

    def __len__(self) -> int:
        return self.length

    def frame(self, index: int) -> np.ndarray:
        self.frames_read.append(index)
        return np.full((HEIGHT, WIDTH, 3), index, dtype=np.uint8)

    def mask(self, index: int) -> np.ndarray | None:
        mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
        mask[5:15, 6:20] = True
        return mask


def test_ope_initialises_mask_trackers_from_the_mask_and_keeps_the_ground_truth_row():
    sequence = FakeSequence(5, masks=True)
    tracker = MaskRecorder()
    boxes, times = run_ope(tracker, sequence)
    assert tracker.init_mask is not None and tracker.init_mask.sum() == 140
    assert tracker.init_box == (6.0, 5.0, 14.0, 10.0)  # the tracker's box comes from the mask
    assert tracker.seen == [0, 1, 2, 3, 4] and len(times) == 5
    np.testing.assert_array_equal(boxes[0], sequence.boxes[0])  # row 0 is the ground truth, not the mask's box
    np.testing.assert_array_equal(boxes[1:, 0], [8.0, 10.0, 12.0, 14.0])


@pytest.mark.parametrize(("tracker_type", "masks"), [(BoxRecorder, True), (MaskRecorder, False)])
def test_ope_initialises_from_the_box_otherwise(tracker_type, masks):
    sequence = FakeSequence(4, masks=masks)
    tracker = tracker_type()
    boxes, _ = run_ope(tracker, sequence)
    assert tracker.init_mask is None and tracker.init_box == (3.5, 4.25, 10.0, 8.0)
    np.testing.assert_array_equal(boxes[1:], [[5.5, 4.25, 10, 8], [7.5, 4.25, 10, 8], [9.5, 4.25, 10, 8]])


def test_ope_falls_back_to_the_box_when_frame_zero_mask_is_empty():
    sequence = FakeSequence(3, masks=True)
    sequence.mask = lambda index: np.zeros((HEIGHT, WIDTH), dtype=bool)
    tracker = MaskRecorder()
    run_ope(tracker, sequence)
    assert tracker.init_mask is None and tracker.init_box == (3.5, 4.25, 10.0, 8.0)


def _vot_sequence(length: int, anchor: int) -> FakeSequence:
    """Rectangles everywhere but at ``anchor``: a 5x4 mask region whose box is (12, 8, 5, 4)."""
    anchor_mask = np.zeros((6, 8), dtype=bool)
    anchor_mask[1:5, 2:7] = True
    regions = [Rectangle(1, 2, 10, 8)] * length
    regions[anchor] = Mask(anchor_mask, offset=(10, 7))
    return FakeSequence(length, masks=False, regions=regions)


def test_vot_rasterises_a_mask_region_for_mask_trackers_and_runs_backward_anchors_in_reverse():
    sequence = _vot_sequence(6, anchor=4)
    tracker = MaskRecorder()
    output, times = _run_vot(tracker, sequence, Job("fake", 5, anchor=4, reverse=True))
    np.testing.assert_array_equal(tracker.init_mask, rasterize(sequence.regions[4], WIDTH, HEIGHT))
    assert tracker.seen == [4, 3, 2, 1, 0] and len(times) == 5
    assert output[0] == INITIALIZATION
    assert isinstance(output[1], Mask) and isinstance(output[3], Mask)  # frames 3 and 1: odd, masks
    assert output[2] == Rectangle(16.0, 8.0, 5.0, 4.0) and output[4] == Rectangle(20.0, 8.0, 5.0, 4.0)


def test_vot_gives_box_trackers_the_box_of_the_region_forward():
    sequence = _vot_sequence(5, anchor=1)
    tracker = BoxRecorder()
    output, _ = _run_vot(tracker, sequence, Job("fake", 4, anchor=1))
    assert tracker.init_mask is None and tracker.init_box == (12.0, 8.0, 5.0, 4.0)
    assert tracker.seen == [1, 2, 3, 4]
    assert output == [INITIALIZATION, Rectangle(14.0, 8.0, 5.0, 4.0), Rectangle(16.0, 8.0, 5.0, 4.0),
                      Rectangle(18.0, 8.0, 5.0, 4.0)]


def test_tracker_spec_builds_through_create_with_its_device_check():
    spec = TrackerSpec(f"{__name__}:BoxRecorder")
    assert type(spec.build()) is BoxRecorder
    with pytest.raises(ValueError, match="runs on cuda only"):
        TrackerSpec(f"{__name__}:CudaOnly", device="cpu").build()
    with pytest.raises(ValueError, match="unknown parameter"):
        TrackerSpec(f"{__name__}:BoxRecorder", params={"search": 2.0}).build()
