"""GOT-10k metrics: average overlap (AO) and success rates SR0.5 / SR0.75.

As the official GOT-10k toolkit (``got10k`` package, ``ExperimentGOT10k.report``)
computes them, and cross-checked against it:

* frame 0 (the initialisation) is excluded;
* absent targets: only frames whose ``cover.label`` is > 0 count (the target is at
  least partly visible); in a ``Sequence`` these are the frames with ``visible`` True.
  Frames without visibility information all count;
* both boxes are first bounded by the image the toolkit's way: ``x`` and ``y`` are
  clipped to ``[0, W]`` / ``[0, H]``, then ``w`` to ``[0, W - x]`` and ``h`` to
  ``[0, H - y]`` (note: a box starting left of the image keeps its full width);
* IoUs of all frames of all sequences (and all repetitions of a sequence) are pooled:
  AO is their mean, SR0.5 the fraction above 0.5, SR0.75 the fraction above the
  76th of 101 evenly spaced thresholds (the toolkit reads SR0.75 from that curve);
* a prediction containing NaN scores IoU 0 (the toolkit would turn the whole AO into
  NaN, which helps nobody);
* nothing to score: a sequence with no visible frame after the first has AO = SR =
  NaN (not 0, which would read as a total failure) and adds no frame to the pooled
  scores; when no sequence has such a frame the pooled scores are NaN too. Either way a
  ``NothingToScoreWarning`` names the sequences.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from trackerzoo.errors import NothingToScoreWarning

SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 101)


def bound_boxes(boxes: np.ndarray, width: float, height: float) -> np.ndarray:
    """Clip ``x, y, w, h`` boxes to the image exactly as the GOT-10k toolkit does."""
    b = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    b[:, 0] = np.clip(b[:, 0], 0, width)
    b[:, 1] = np.clip(b[:, 1], 0, height)
    b[:, 2] = np.clip(b[:, 2], 0, width - b[:, 0])
    b[:, 3] = np.clip(b[:, 3], 0, height - b[:, 1])
    return b


def bounded_iou(predicted: np.ndarray, groundtruth: np.ndarray, image_size: tuple[float, float]) -> np.ndarray:
    """IoU of toolkit-bounded boxes; ``image_size`` is ``(width, height)``."""
    a = bound_boxes(predicted, *image_size)
    b = bound_boxes(groundtruth, *image_size)
    ix = np.maximum(np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0)
    iy = np.maximum(np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0)
    intersection = ix * iy
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - intersection
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, intersection / union, 0.0)
    return np.clip(np.nan_to_num(iou, nan=0.0), 0.0, 1.0)


@dataclass
class GOT10kResult:
    ao: float
    sr50: float
    sr75: float
    success_curve: np.ndarray
    per_sequence: dict[str, dict[str, float]] = field(default_factory=dict)
    frames: int = 0

    def summary(self) -> dict[str, float | int]:
        return {"ao": self.ao, "sr50": self.sr50, "sr75": self.sr75,
                "sequences": len(self.per_sequence), "frames": self.frames}


def sequence_ious(predicted: np.ndarray, groundtruth: np.ndarray, image_size: tuple[float, float],
                  visible: np.ndarray | None = None, *, name: str = "sequence") -> np.ndarray:
    """IoUs of the frames that count for one run (frame 0 and invisible frames dropped)."""
    gt = np.asarray(groundtruth, dtype=np.float64).reshape(-1, 4)
    pred = np.asarray(predicted, dtype=np.float64).reshape(-1, 4)
    if len(pred) != len(gt):
        raise ValueError(f"{name}: {len(pred)} predicted boxes for {len(gt)} ground-truth frames")
    keep = np.ones(len(gt), dtype=bool)
    keep[0] = False
    if visible is not None:
        flags = np.asarray(visible, dtype=bool)
        if flags.shape != (len(gt),):
            raise ValueError(f"{name}: visibility flags of shape {flags.shape} for {len(gt)} frames")
        keep &= flags
    if not np.isfinite(gt[keep]).all():
        raise ValueError(f"{name}: ground truth is unknown on frames that count (a test split cannot be scored)")
    return bounded_iou(pred[keep], gt[keep], image_size)


def _scores(ious: np.ndarray) -> tuple[float, float, float, np.ndarray]:
    if ious.size == 0:  # nothing to score: undefined, not a failure
        return math.nan, math.nan, math.nan, np.full(len(SUCCESS_THRESHOLDS), math.nan)
    curve = (ious[:, None] > SUCCESS_THRESHOLDS[None, :]).mean(axis=0)
    return float(ious.mean()), float((ious > 0.5).mean()), float(curve[75]), curve


def evaluate_got10k(predictions: Mapping[str, np.ndarray | Sequence[np.ndarray]],
                    groundtruth: Mapping[str, np.ndarray],
                    image_sizes: Mapping[str, tuple[float, float]],
                    visible: Mapping[str, np.ndarray | None] | None = None) -> GOT10kResult:
    """Pooled AO/SR over sequences; a prediction may be one run or a list of repetitions."""
    missing = [name for name in groundtruth if name not in predictions]
    if missing:
        raise ValueError(f"no predictions for sequences {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if not groundtruth:
        raise ValueError("no sequences to evaluate")
    pooled = []
    per_sequence = {}
    for name, gt in groundtruth.items():
        runs = predictions[name]
        if isinstance(runs, np.ndarray) and runs.ndim == 2:
            runs = [runs]
        ious = np.concatenate([
            sequence_ious(run, gt, image_sizes[name], (visible or {}).get(name), name=name) for run in runs
        ])
        ao, sr50, sr75, _ = _scores(ious)
        per_sequence[name] = {"ao": ao, "sr50": sr50, "sr75": sr75, "frames": int(ious.size)}
        pooled.append(ious)
    unscored = [name for name, scores in per_sequence.items() if scores["frames"] == 0]
    all_ious = np.concatenate(pooled)
    if unscored:
        listing = ", ".join(repr(name) for name in unscored[:5]) + (" ..." if len(unscored) > 5 else "")
        scope = ("so AO and SR are undefined (NaN)" if all_ious.size == 0 else
                 "so their AO and SR are undefined (NaN) and they add nothing to the pooled scores")
        warnings.warn(f"GOT-10k: {len(unscored)} sequence(s) have no visible frame after the first "
                      f"({listing}), {scope}", NothingToScoreWarning, stacklevel=2)
    ao, sr50, sr75, curve = _scores(all_ious)
    return GOT10kResult(ao, sr50, sr75, curve, per_sequence, int(all_ious.size))
