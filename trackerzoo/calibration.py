"""Presence calibration: a tracker's raw score mapped to P(the box is on the target) (issue #22).

Every deep tracker of the zoo reports ``Prediction.score`` as a *calibrated presence
confidence*: the probability that the target is in view and the reported box overlaps it
(IoU >= ``ON_TARGET_IOU``). Each tracker computes a raw score of its own (documented in its
README: a classifier probability, a score-map peak, ...), puts it in
``Prediction.extra["presence_raw"]`` and maps it with Platt scaling

    p = 1 / (1 + exp(-(slope * raw + intercept)))

(J. Platt, "Probabilistic outputs for support vector machines", 1999, with the smoothed
targets of Lin, Lin & Weng, 2007). ``slope`` and ``intercept`` are fitted per tracker and
weight file by ``trackerzoo calibrate`` on the held-out calibration preset
``zoo-synth-calib`` (training-split assets, never a benchmark sequence) and written into
the tracker's code beside the weights they belong to. The map is increasing, so every
ranking metric (VOT-LT precision/recall/F, the order of candidates) is unchanged by it;
it changes what the number means, not which frame wins.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

import numpy as np

ON_TARGET_IOU = 0.5


@dataclasses.dataclass(frozen=True)
class PresenceCalibration:
    """Platt scaling of a raw score (module docstring); ``fitted_on`` names the data and weights.

    Raises ``ValueError`` for a non-finite or non-positive ``slope`` (the map must increase)
    or a non-finite ``intercept``.
    """

    slope: float
    intercept: float
    fitted_on: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.slope) and self.slope > 0.0):
            raise ValueError(f"slope must be a finite positive number (an increasing map), got {self.slope!r}")
        if not math.isfinite(self.intercept):
            raise ValueError(f"intercept must be finite, got {self.intercept!r}")

    def __call__(self, raw: float) -> float:
        """The presence confidence in [0, 1] of one raw score."""
        z = self.slope * float(raw) + self.intercept
        if z >= 0.0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def raw_at(self, confidence: float) -> float:
        """The raw score mapped to ``confidence`` (the inverse map); ``confidence`` in (0, 1).

        Raises ``ValueError`` outside (0, 1).
        """
        if not 0.0 < confidence < 1.0:
            raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
        return (math.log(confidence / (1.0 - confidence)) - self.intercept) / self.slope


def fit_platt(raw: Iterable[float], on_target: Iterable[bool], *, fitted_on: str = "",
              iterations: int = 100) -> PresenceCalibration:
    """Platt scaling fitted to raw scores ``[N]`` and labels ``[N]`` (True: box on the target).

    Newton's method on the cross-entropy with Lin et al.'s smoothed targets
    ``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)``. Raises ``ValueError`` when the inputs
    differ in length, hold a non-finite score, or lack either class, or when the fitted
    slope is not positive (a raw score that does not rise with being on target cannot be
    calibrated by an increasing map).
    """
    x = np.asarray(list(raw), dtype=np.float64)
    y = np.asarray(list(on_target), dtype=bool)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"raw scores {x.shape} and labels {y.shape} must be two 1-d arrays of one length")
    if not np.isfinite(x).all():
        raise ValueError(f"raw scores must be finite; got {x[~np.isfinite(x)][:3].tolist()}")
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        raise ValueError(f"calibration needs frames on and off the target; got {positives} on, {negatives} off")
    t = np.where(y, (positives + 1.0) / (positives + 2.0), 1.0 / (negatives + 2.0))
    a, b = 0.0, math.log((positives + 1.0) / (negatives + 1.0))
    for _ in range(iterations):
        z = a * x + b
        p = 1.0 / (1.0 + np.exp(-z))
        w = np.maximum(p * (1.0 - p), 1e-12)
        g = np.array([np.dot(p - t, x), np.sum(p - t)])
        h = np.array([[np.dot(w, x * x) + 1e-12, np.dot(w, x)], [np.dot(w, x), np.sum(w) + 1e-12]])
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    if not a > 0.0:
        raise ValueError(f"the raw score does not rise with being on target (fitted slope {a:.4g}); "
                         "it cannot be calibrated by an increasing map")
    return PresenceCalibration(float(a), float(b), fitted_on)


def expected_calibration_error(confidence: Iterable[float], on_target: Iterable[bool], bins: int = 10) -> float:
    """ECE: the frame-weighted mean |accuracy - confidence| over ``bins`` equal-width bins of [0, 1].

    Confidences outside [0, 1] are clipped. Raises ``ValueError`` for ``bins`` < 1 or no frames.
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    c = np.clip(np.asarray(list(confidence), dtype=np.float64), 0.0, 1.0)
    y = np.asarray(list(on_target), dtype=np.float64)
    if c.size == 0 or c.shape != y.shape:
        raise ValueError(f"need one label per confidence and at least one frame; got {c.shape} and {y.shape}")
    index = np.minimum((c * bins).astype(int), bins - 1)
    error = 0.0
    for k in range(bins):
        chosen = index == k
        if chosen.any():
            error += chosen.sum() * abs(y[chosen].mean() - c[chosen].mean())
    return float(error / c.size)


def on_target_labels(boxes: np.ndarray, truth: np.ndarray, visible: np.ndarray | None) -> np.ndarray:
    """``[N]`` bool: the target is visible and IoU(box, truth) >= ``ON_TARGET_IOU``.

    ``boxes`` and ``truth`` are ``[N, 4]`` ``x, y, w, h`` pixels; ``visible`` ``[N]`` bool or
    None (every frame visible). A ground-truth box with no area counts as not visible.
    """
    from trackerzoo.geometry.boxes import box_iou_elementwise

    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    truth = np.asarray(truth, dtype=np.float64).reshape(-1, 4)
    if boxes.shape != truth.shape:
        raise ValueError(f"{boxes.shape[0]} boxes against {truth.shape[0]} ground-truth boxes")
    valid = np.isfinite(truth).all(axis=1) & (truth[:, 2] > 0) & (truth[:, 3] > 0)
    if visible is not None:
        valid &= np.asarray(visible, dtype=bool).reshape(-1)
    iou = np.zeros(len(boxes))
    iou[valid] = box_iou_elementwise(boxes[valid], truth[valid])
    return valid & (iou >= ON_TARGET_IOU)


class PresenceMap:
    """Raw presence score -> ``Prediction.score`` for one tracker instance.

    With a ``PresenceCalibration`` it applies it; without one (a weight file outside the
    manifest, random weights) it passes the raw score through clipped to [0, 1] and
    ``calibrated`` is False. Build it with ``for_weights``.
    """

    def __init__(self, calibration: PresenceCalibration | None) -> None:
        self.calibration = calibration

    @property
    def calibrated(self) -> bool:
        return self.calibration is not None

    def __call__(self, raw: float) -> float:
        if self.calibration is None:
            return min(max(float(raw), 0.0), 1.0)
        return self.calibration(raw)

    @classmethod
    def for_weights(cls, tracker: str, variant: str | None, weights: str | None) -> PresenceMap:
        """The map of the manifest entry that serves ``weights`` (``"default"``, a manifest name or a path).

        No entry, or an entry without ``presence_calibration``: the uncalibrated map. A
        malformed ``presence_calibration`` raises ``ValueError`` naming the entry.
        """
        from trackerzoo.errors import WeightsNotFoundError
        from trackerzoo.weights.files import resolve_weights
        from trackerzoo.weights.manifest import weights_for

        if weights is None:
            return cls(None)
        try:
            entry = weights_for(tracker, variant) if weights == "default" else resolve_weights(weights)[1]
        except WeightsNotFoundError:
            return cls(None)
        if entry is None or not entry.presence_calibration:
            return cls(None)
        raw = entry.presence_calibration
        try:
            calibration = PresenceCalibration(float(raw["slope"]), float(raw["intercept"]),
                                              str(raw.get("fitted_on", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"manifest entry {entry.name!r} has a malformed presence_calibration {raw!r}: "
                             f"{exc}") from exc
        return cls(calibration)
