"""The per-frame result every tracker returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Prediction:
    """What ``Tracker.track`` returns for one frame.

    ``box`` is ``(x, y, w, h)`` in pixels of the input frame; ``score`` is the tracker's
    confidence (its scale is tracker-specific); ``mask`` is an ``(H, W)`` boolean array
    for segmentation trackers, else ``None``; ``rotated_box`` is a ``(4, 2)`` array of
    corner points when the tracker estimates orientation.
    """

    box: tuple[float, float, float, float]
    score: float
    mask: np.ndarray | None = None
    rotated_box: np.ndarray | None = None
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "box", tuple(float(v) for v in self.box))
        object.__setattr__(self, "score", float(self.score))
