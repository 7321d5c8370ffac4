"""Running one tracker over one frame source, timing the tracker alone.

Shared by ``trackerzoo track`` and ``trackerzoo demo``: it separates the time spent
inside ``initialize``/``track`` (what FPS reports) from decoding and drawing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from trackerzoo.prediction import Prediction
from trackerzoo.tracker import Tracker
from trackerzoo.validation import mask_to_box


@dataclasses.dataclass
class TrackingRun:
    """Per-frame predictions (frame 0 holds the initial target) and tracker-only times."""

    predictions: list[Prediction]
    seconds: list[float]

    @property
    def fps(self) -> float:
        """Frames per second of ``track()`` calls alone (the first frame's initialisation excluded)."""
        tracked = self.seconds[1:]
        return len(tracked) / sum(tracked) if tracked and sum(tracked) > 0 else float("nan")


def track_frames(
    tracker: Tracker,
    frames: Iterable[np.ndarray],
    *,
    init_box=None,
    init_mask: np.ndarray | None = None,
    on_frame: Callable[[int, np.ndarray, Prediction], None] | None = None,
) -> TrackingRun:
    """Initialise on the first frame, track the rest, and call ``on_frame`` after each."""
    iterator: Iterator[np.ndarray] = iter(frames)
    try:
        first = next(iterator)
    except StopIteration:
        raise ValueError("the frame source yields no frames") from None
    start = time.perf_counter()
    tracker.initialize(first, box=init_box, mask=init_mask)
    seconds = [time.perf_counter() - start]
    first_box = tuple(float(v) for v in init_box) if init_box is not None else mask_to_box(init_mask.astype(bool))
    first_prediction = Prediction(box=first_box, score=1.0, mask=None if init_mask is None else init_mask.astype(bool))
    predictions = [first_prediction]
    if on_frame is not None:
        on_frame(0, first, first_prediction)
    for index, frame in enumerate(iterator, start=1):
        start = time.perf_counter()
        prediction = tracker.track(frame)
        seconds.append(time.perf_counter() - start)
        predictions.append(prediction)
        if on_frame is not None:
            on_frame(index, frame, prediction)
    return TrackingRun(predictions=predictions, seconds=seconds)
