"""The per-frame result every tracker returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Prediction:
    """What ``Tracker.track`` returns for one frame.

    ``box`` is ``(x, y, w, h)`` in pixels of the input frame; ``score`` is the tracker's
    confidence that the target is in view at ``box`` (what the raw score is, and its scale,
    is documented per tracker in its README; in long-term mode, ``trackerzoo.longterm``,
    it is the presence confidence in [0, 1] the tracker's verifier gives); ``mask`` is an
    ``(H, W)`` boolean array for segmentation trackers, else ``None``; ``rotated_box`` is
    a ``(4, 2)`` array of corner points when the tracker estimates orientation.

    ``present`` says whether the tracker reports the target in view. It defaults to True
    (a short-term tracker always claims the target); a long-term tracker sets it False
    while it believes the target absent, and the OpenCV baselines report their success
    flag. While ``present`` is False, ``box`` is the last box at which the target was
    reported present (never ``None``, so box files keep one row per frame) and ``mask``
    is ``None`` or empty; the result writers write absence the toolkits' way (an empty
    VOT region, a separate presence file next to GOT/LaSOT box files).
    """

    box: tuple[float, float, float, float]
    score: float
    mask: np.ndarray | None = None
    rotated_box: np.ndarray | None = None
    extra: dict = field(default_factory=dict, compare=False, repr=False)
    present: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "box", tuple(float(v) for v in self.box))
        object.__setattr__(self, "score", float(self.score))
        object.__setattr__(self, "present", bool(self.present))
