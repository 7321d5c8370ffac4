"""The OpenCV baselines report presence from OpenCV's success flag (issue #22)."""

from __future__ import annotations

import numpy as np

import trackerzoo


def test_present_is_the_success_flag_and_the_box_is_kept_on_loss():
    tracker = trackerzoo.create("kcf")
    frame = np.zeros((60, 80, 3), dtype=np.uint8)
    frame[20:30, 30:40] = 255
    tracker.initialize(frame, box=(30, 20, 10, 10))
    found = tracker.track(frame)
    assert found.present and found.score == 1.0
    tracker._cv_update = lambda bgr: (False, (0, 0, 5, 5))  # OpenCV reports the target lost
    lost = tracker.track(frame)
    assert not lost.present and lost.score == 0.0 and lost.box == found.box
