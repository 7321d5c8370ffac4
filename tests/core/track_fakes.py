"""Trackers for the ``track`` tests: named as ``track_fakes:Class`` on the command line.

``SlowTracker`` sleeps a little per frame so a test can signal a real ``track``
subprocess in the middle of a run; ``MaskTracker`` returns a new full-frame mask on every
frame (the memory test); ``ColourProbe`` remembers the mean colour of every frame it saw.
"""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np

import trackerzoo


class SlowTracker(trackerzoo.Tracker):
    """Reports its initial box, shifted one pixel right per frame, after sleeping 20 ms."""

    def _initialize(self, frame, box, mask):
        self._box = np.asarray(box, dtype=np.float64)
        self._frames = 0

    def _track(self, frame):
        time.sleep(0.02)
        self._frames += 1
        box = self._box + np.array([self._frames, 0.0, 0.0, 0.0])
        return trackerzoo.Prediction(box=tuple(box), score=0.5)


class MaskTracker(trackerzoo.Tracker):
    """A segmentation tracker whose every prediction carries a fresh ``(H, W)`` mask."""

    outputs = frozenset({"box", "mask"})

    def _initialize(self, frame, box, mask):
        self._box = tuple(float(v) for v in box) if box is not None else (0.0, 0.0, 4.0, 4.0)

    def _track(self, frame):
        mask = np.zeros(frame.shape[:2], dtype=bool)
        x, y, w, h = (int(v) for v in self._box)
        mask[y:y + h, x:x + w] = True
        rotated = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float64)
        return trackerzoo.Prediction(box=self._box, score=0.75, mask=mask, rotated_box=rotated)


class ColourProbe(trackerzoo.Tracker):
    """Keeps the mean ``(c0, c1, c2)`` of every frame it is given, in order (class-wide list)."""

    seen: ClassVar[list[tuple[float, float, float]]] = []

    def _initialize(self, frame, box, mask):
        self._box = box
        ColourProbe.seen.append(tuple(frame.reshape(-1, 3).mean(axis=0)))

    def _track(self, frame):
        ColourProbe.seen.append(tuple(frame.reshape(-1, 3).mean(axis=0)))
        return trackerzoo.Prediction(box=self._box, score=1.0)
