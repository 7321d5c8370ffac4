"""Huge and absurd boxes are refused where a box enters (issue #20, item 7).

Before the fix (0, 0, 1e12, 1e12) reached the trackers (OverflowError, sampling
RuntimeError), 10**400 raised OverflowError, bools and (2, 2) arrays were taken as
numbers, and ``--init 0,0,1e308,5`` crashed the CLI's drawing.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

import trackerzoo
from trackerzoo.cli.main import main
from trackerzoo.cli.options import parse_box
from trackerzoo.prediction import Prediction
from trackerzoo.validation import MAX_BOX_TO_FRAME, as_box
from trackerzoo.visualize import draw_prediction

HW = (120, 160)  # frame height, width
H, W = HW


@pytest.mark.parametrize(
    ("box", "needle"),
    [
        ((0, 0, 1e12, 1e12), "larger than 4 times"),
        ((0, 0, 1e308, 5), "larger than 4 times"),
        ((0, 0, 5, 1e308), "larger than 4 times"),
        ((1e12, 0, 5, 5), "outside the frame"),
        ((-1e12, 0, 5, 5), "outside the frame"),
        ((-1e300, -1e300, 1e300, 1e300), "larger than 4 times"),
        ((0, 0, 10**400, 5), "too large"),
        ((10**400, 0, 5, 5), "too large"),
        ((0, 0, 1e308 * 10, 5), "non-finite"),
        ((0, 0, -5, 5), "w=-5"),
        ((0, 0, 5, 0), "h=0"),
        ((0, 0, -0.0, 5), "positive"),
        ((math.nan, 0, 5, 5), "non-finite"),
        ((0, 0, math.inf, 5), "non-finite"),
        ((0, 0, -math.inf, 5), "non-finite"),
        ((True, 0, 5, 5), "real numbers"),
        ((0, 0, np.bool_(True), 5), "real numbers"),
        (("1", 0, 5, 5), "real numbers"),
        ((None, 0, 5, 5), "real numbers"),
        ((0, 0, 5 + 0j, 5), "real numbers"),
        ((0, 0, [5], 5), "real numbers"),
        ((0, 0, 5), "4 values"),
        ((0, 0, 5, 5, 5), "4 values"),
        ((), "4 values"),
        ("0,0,5,5", "sequence"),
        (b"abcd", "sequence"),
        (None, "sequence"),
        (5, "sequence"),
        (np.zeros((2, 2)) + 5, r"shape \(2, 2\)"),
        (np.full((1, 4), 5.0), r"shape \(1, 4\)"),
        (np.full((4, 1), 5.0), r"shape \(4, 1\)"),
        (np.array(5.0), r"shape \(\)"),
        (np.full(5, 5.0), r"shape \(5,\)"),
        (np.array(["0", "0", "5", "5"]), "real numbers"),
    ],
)
def test_absurd_boxes_are_refused_naming_the_box(box, needle):
    with pytest.raises(ValueError, match=needle):
        as_box(box, HW)


@pytest.mark.parametrize(
    "box",
    [
        (0, 0, MAX_BOX_TO_FRAME * W, 5),  # exactly 4 frame widths wide
        (0, 0, 5, MAX_BOX_TO_FRAME * H),
        (-3 * W, -3 * H, MAX_BOX_TO_FRAME * W, MAX_BOX_TO_FRAME * H),  # huge, one pixel-ish on the frame
        (W - 0.001, 0, 5, 5),  # starts just inside the right edge
        (0, H - 0.001, 5, 5),
        (-5 + 0.001, 0, 5, 5),  # ends just inside the left edge
        (0, -5 + 0.001, 5, 5),
        (0, 0, 1e-3, 1e-3),
        (np.int64(3), np.float32(4), np.uint8(5), np.float64(6)),
        np.array([3, 4, 5, 6], dtype=np.int32),
        [3, 4, 5, 6],
    ],
)
def test_boxes_just_inside_the_limits_are_accepted(box):
    assert as_box(box, HW) == tuple(float(v) for v in box)


@pytest.mark.parametrize(
    ("box", "needle"),
    [
        ((0, 0, MAX_BOX_TO_FRAME * W + 0.001, 5), "larger than 4 times"),
        ((0, 0, 5, MAX_BOX_TO_FRAME * H + 0.001), "larger than 4 times"),
        ((W, 0, 5, 5), "outside the frame"),  # starts on the right edge: no pixel of the frame
        ((0, H, 5, 5), "outside the frame"),
        ((-5, 0, 5, 5), "outside the frame"),  # ends on the left edge
        ((0, -5, 5, 5), "outside the frame"),
    ],
)
def test_boxes_just_outside_the_limits_are_refused(box, needle):
    with pytest.raises(ValueError, match=needle) as caught:
        as_box(box, HW)
    assert repr(box) in str(caught.value)


@pytest.mark.parametrize("box", [(0, 0, 1e12, 1e12), (0, 0, 10**400, 5), (0, 0, True, 5)])
@pytest.mark.parametrize("name", ["csrt", "mil"])
def test_trackers_refuse_absurd_boxes_at_initialize(name, box):
    frame = np.zeros((H, W, 3), np.uint8)
    tracker = trackerzoo.create(name)
    with pytest.raises(ValueError, match="box"):
        tracker.initialize(frame, box)
    assert not tracker.is_initialized


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("0,0,1e308,5", None),  # finite: refused later, against the frame (test below)
        ("0,0,1e400,5", "finite"),
        ("0,0," + "9" * 400 + ",5", "finite"),
        ("nan,0,5,5", "finite"),
        ("0,0,inf,5", "finite"),
        ("0,0,-5,5", "positive"),
        ("0,0,5,0", "positive"),
        ("0,0,5", "4 comma-separated"),
        ("a,0,5,5", "numbers"),
    ],
)
def test_cli_box_parsing(text, needle):
    if needle is None:
        assert parse_box(text) == (0.0, 0.0, 1e308, 5.0)
        return
    with pytest.raises(ValueError, match=needle) as caught:
        parse_box(text)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize("init", ["0,0,1e308,5", "0,0,1e12,1e12", "1e12,0,5,5", "0,0,1e400,5"])
def test_track_command_refuses_absurd_init_boxes_with_one_line(tmp_path, capsys, init):
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
    for _ in range(3):
        writer.write(np.full((H, W, 3), 90, np.uint8))
    writer.release()
    assert main(["track", str(video), "--tracker", "csrt", "--init", init, "--out", str(tmp_path / "out")]) != 0
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert "box" in error or "--init" in error


@pytest.mark.parametrize(
    "box",
    [(0, 0, 1e308, 5), (-1e12, -1e12, 3e12, 3e12), (float("nan"), 0, 5, 5), (0, 0, float("inf"), 5), (5, 5, 20, 30)],
)
def test_drawing_any_box_never_crashes(box):
    frame = np.zeros((H, W, 3), np.uint8)
    drawn = draw_prediction(frame, Prediction(box=box, score=0.5))
    assert drawn.shape == frame.shape
    if box == (5, 5, 20, 30):
        assert drawn[5, 10].any() and not drawn[60, 100].any()
