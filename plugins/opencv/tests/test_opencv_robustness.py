"""The OpenCV plugin never crashes, hangs or raises ``cv2.error`` (issue #20 item 3).

OpenCV segfaults (CSRT ``number_of_scales=-3``, MIL ``num_features=0``), hangs (MIL with
a box side <= 4 px) or asserts (thin or 1-pixel CSRT boxes, MIL whole-frame boxes,
1-pixel-wide frames) on inputs our validation used to pass through. The risky cases run
in a child process with a timeout, so that a segfault or a hang fails the test instead of
taking pytest down; each case states what must come back: tracking with a rectangle
inside the frame, or a ``ValueError`` naming the frame or the box.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
from trackerzoo_opencv.tracker import BoxLimits, fit_rect

import trackerzoo

CHILD = r'''
import json, sys, warnings
import numpy as np
import trackerzoo

warnings.simplefilter("ignore")
for case in json.loads(sys.argv[1]):
    name, params, (width, height), box, frames = case
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    try:
        tracker = trackerzoo.create(name, **params)
        tracker.initialize(frame, box)
        rect = list(tracker._last_box)
        scores = [tracker.track(np.roll(frame, step, axis=1)).score for step in range(1, frames + 1)]
        result = {"result": "ok", "rect": rect, "scores": scores}
    except ValueError as exc:
        result = {"result": "ValueError", "message": str(exc)}
    except Exception as exc:
        result = {"result": type(exc).__module__ + "." + type(exc).__name__, "message": str(exc)}
    print(json.dumps(result), flush=True)
'''


def _run_cases(cases: list[tuple], timeout: float = 120.0) -> list[dict]:
    """Run ``cases`` in one child process; fail naming the case that crashed or hung."""
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cases)], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout or b""
        finished = (output.decode() if isinstance(output, bytes) else output).count("\n")
        pytest.fail(f"hung on case {cases[finished]} (no answer within {timeout} s)")
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or len(results) != len(cases):
        pytest.fail(f"child died (rc={done.returncode}) on case {cases[len(results)]}: {done.stderr[-2000:]}")
    return results


def _inside(rect: list[float], width: int, height: int) -> bool:
    x, y, w, h = rect
    return x >= 0 and y >= 0 and w >= 1 and h >= 1 and x + w <= width and y + h <= height


OK, REFUSED = "ok", "ValueError"
FRAME = (640, 360)

CSRT_CASES = [
    # (params, frame (W, H), box, expected, what the error names)
    ({}, FRAME, (100, 100, 500, 3), OK, None),  # the thin box
    ({}, FRAME, (100, 100, 3, 300), OK, None),
    ({}, FRAME, (50, 100, 96, 2), OK, None),
    ({}, FRAME, (100, 100, 1, 1), OK, None),  # 1x1 and its neighbours
    ({}, FRAME, (100, 100, 2, 1), OK, None),
    ({}, FRAME, (100, 100, 2, 2), OK, None),
    ({}, FRAME, (638, 358, 2, 2), OK, None),  # touching the last row and column
    ({}, FRAME, (639.6, 359.6, 0.4, 0.4), OK, None),
    ({}, FRAME, (0, 358, 64, 2), OK, None),
    ({}, FRAME, (0, 0, 640, 360), OK, None),  # whole frame
    ({}, (1, 360), (0, 0, 1, 10), REFUSED, "frame 1x360"),  # 1-pixel-wide frames
    ({}, (360, 1), (0, 0, 10, 1), REFUSED, "frame 360x1"),
    ({}, (2, 2), (0, 0, 2, 2), REFUSED, "frame 2x2"),
    ({}, (3, 3), (0, 0, 3, 3), OK, None),
    ({}, (64, 8), (0, 0, 64, 8), (OK, REFUSED), "64x8 frame"),  # OpenCV asserts: a ValueError, not cv2.error
    ({"number_of_scales": 1}, FRAME, (100, 100, 50, 40), OK, None),
    ({"number_of_scales": 100, "template_size": 10.0}, FRAME, (100, 100, 50, 40), OK, None),
]

KCF_CASES = [
    ({}, FRAME, (100, 100, 1, 1), OK, None),
    ({}, FRAME, (639.6, 359.6, 0.4, 0.4), OK, None),
    ({}, FRAME, (100, 100, 500, 3), OK, None),
    ({}, FRAME, (0, 0, 640, 360), OK, None),
    ({}, (1, 360), (0, 0, 1, 10), OK, None),
    ({}, (1, 1), (0, 0, 1, 1), OK, None),
    ({"sigma": 10.0, "output_sigma_factor": 1.0, "detect_thresh": 1.0}, FRAME, (100, 100, 50, 40), OK, None),
]

MIL_CASES = [
    ({}, FRAME, (100, 100, 4, 4), OK, None),  # the hang, and its neighbours
    ({}, FRAME, (100, 100, 1, 1), OK, None),
    ({}, FRAME, (100, 100, 2, 8), OK, None),
    ({}, FRAME, (100, 100, 3, 5), OK, None),
    ({}, FRAME, (100, 100, 1, 50), OK, None),
    ({}, FRAME, (100, 100, 50, 1), OK, None),
    ({}, FRAME, (100, 100, 5, 5), OK, None),
    ({}, FRAME, (639, 359, 1, 1), OK, None),
    ({}, FRAME, (0, 0, 640, 360), OK, None),  # whole frame
    ({}, FRAME, (0, 0, 639, 359), OK, None),
    ({}, (1, 360), (0, 0, 1, 10), REFUSED, "frame 1x360"),
    ({}, (14, 14), (0, 0, 14, 14), REFUSED, "frame 14x14"),
    ({}, (15, 15), (0, 0, 15, 15), OK, None),
    ({"init_positive_radius": 10.0}, (200, 120), (0, 0, 200, 120), OK, None),
    ({"init_positive_radius": 6.0, "search_window_size": 10.0}, (200, 120), (1, 1, 199, 119), OK, None),
    ({"init_positive_radius": 0.1, "search_window_size": 3.0}, FRAME, (100, 100, 50, 40), OK, None),
    ({"num_features": 250}, FRAME, (100, 100, 5, 5), OK, None),
]


@pytest.mark.parametrize(("name", "cases"), [("csrt", CSRT_CASES), ("kcf", KCF_CASES), ("mil", MIL_CASES)])
def test_no_crash_hang_or_cv2_error(name, cases):
    results = _run_cases([(name, params, frame, box, 3) for params, frame, box, _, _ in cases])
    for (params, (width, height), box, expected, names), result in zip(cases, results, strict=True):
        label = f"{name} {params} box {box} in {width}x{height}"
        allowed = expected if isinstance(expected, tuple) else (expected,)
        assert result["result"] in allowed, f"{label}: {result}"
        if result["result"] == OK:
            assert _inside(result["rect"], width, height), f"{label}: rectangle {result['rect']} leaves the frame"
            assert len(result["scores"]) == 3
        elif expected == REFUSED:
            assert names in result["message"], f"{label}: {result['message']}"


@pytest.mark.parametrize(("name", "params"), [("csrt", {"number_of_scales": -3}), ("mil", {"num_features": 0}),
                                              ("mil", {"num_features": 249}), ("csrt", {"template_size": 1.0})])
def test_parameters_that_crash_opencv_are_refused_at_create(name, params):
    with pytest.raises(ValueError, match=next(iter(params))):
        trackerzoo.create(name, **params)


def test_the_rectangle_given_to_opencv_is_inside_the_frame_and_within_the_limits():
    limits = [BoxLimits(), BoxLimits(min_side=3, max_aspect=32.0), BoxLimits(min_side=5, margin=5)]
    sizes = [(640, 360), (15, 15), (40, 3), (3, 40)]
    coordinates = [-3.0, 0.0, 0.4, 0.6, 1.5, 12.0, 37.6, 38.5, 39.4, 359.6, 639.6]
    extents = [0.3, 1.0, 2.0, 4.0, 5.0, 40.0, 500.0, 640.0]
    for limit, (width, height) in itertools.product(limits, sizes):
        need = limit.min_side + 2 * limit.margin
        if width < need or height < need:
            with pytest.raises(ValueError, match=f"frame {width}x{height}"):
                limit.check_frame("T", width, height)
            continue
        for x, y, w, h in itertools.product(coordinates, coordinates, extents, extents):
            if x >= width or y >= height or x + w <= 0 or y + h <= 0:
                continue  # the core validation refuses these before the plugin sees them
            rx, ry, rw, rh = fit_rect((x, y, w, h), width, height, limit)
            assert all(isinstance(v, int) for v in (rx, ry, rw, rh))
            assert limit.margin <= rx and rx + rw <= width - limit.margin, (limit, width, height, (x, y, w, h))
            assert limit.margin <= ry and ry + rh <= height - limit.margin, (limit, width, height, (x, y, w, h))
            assert rw >= limit.min_side and rh >= limit.min_side
            assert max(rw, rh) <= limit.max_aspect * min(rw, rh)


def test_a_box_that_fits_keeps_the_rectangle_the_plugin_always_used():
    # round(x), round(x + w): the rectangles of every earlier result file stay the same.
    assert fit_rect((10.4, 20.6, 30.3, 40.2), 640, 360, BoxLimits()) == (10, 21, 31, 40)
    assert fit_rect((-5.0, -5.0, 30.0, 30.0), 640, 360, BoxLimits()) == (0, 0, 25, 25)
    # The last column: round(639.6) == 640 used to give a rectangle at x = 640, outside.
    assert fit_rect((639.6, 100.0, 0.4, 10.0), 640, 360, BoxLimits()) == (639, 100, 1, 10)
    # The thin CSRT box grows its short side about the centre; MIL's whole frame shrinks.
    assert fit_rect((100, 100, 500, 3), 640, 360, BoxLimits(min_side=3, max_aspect=32.0)) == (100, 94, 500, 16)
    assert fit_rect((0, 0, 640, 360), 640, 360, BoxLimits(min_side=5, margin=5)) == (5, 5, 630, 350)


def test_a_changed_box_warns_with_both_rectangles():
    frame = np.zeros((360, 640, 3), dtype=np.uint8)
    tracker = trackerzoo.create("csrt")  # in this process: CSRT at worst asserts, it does not hang
    with pytest.warns(RuntimeWarning, match=r"box \(100\.0, 100\.0, 1\.0, 1\.0\) was changed to the rectangle "
                      r"\(99, 99, 3, 3\)"):
        tracker.initialize(frame, (100, 100, 1, 1))
