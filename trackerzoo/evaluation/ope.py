"""One-pass evaluation (OPE): success, precision and normalized precision.

Used for OTB-100, LaSOT, UAV123, NfS and TrackingNet. Definitions (OTB / LaSOT
toolkits, cross-checked against the ``got10k`` package's OTB experiment):

* IoU is the continuous box IoU (``regions.box_iou``); the success curve is the
  fraction of frames with IoU **strictly greater** than each of the 21 thresholds
  0, 0.05, ..., 1, and the success score (AUC) is the mean of that curve.
* precision: fraction of frames whose centre error is **at most** 0..50 px; the score
  is the value at 20 px.
* normalized precision (LaSOT): centre offsets divided by the ground-truth width and
  height, curve over 0, 0.01, ..., 0.5, score read at 0.20.
* the dataset score is the mean over sequences of the per-sequence curves (each
  sequence weighs the same, as in the OTB and LaSOT toolkits).

Frame rules, shared by all OPE datasets here:

* frame 0 is the initialisation: it is scored with the ground-truth box (as the
  toolkits do by overwriting the first result), so it always succeeds.
* a missing prediction (NaN row, or non-positive width/height) on a frame whose
  ground truth is known repeats the previous prediction, as in LaSOT's
  ``calc_seq_err_robust``.
* absent target / unknown ground truth (NaN, non-positive width or height, or
  ``visible`` False): the frame **stays in the denominator and can never succeed** on
  any of the three curves. This is the LaSOT rule, and we apply it to UAV123 and
  NfS too so that one tracker output always yields one number; ``invalid_frames=
  "exclude"`` drops such frames instead (the got10k package's LaSOT convention).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from trackerzoo.formats.regions import box_iou

SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 21)
PRECISION_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
NORMALIZED_PRECISION_THRESHOLDS = np.linspace(0.0, 0.5, 51)
PRECISION_AT = 20
NORMALIZED_PRECISION_AT = 20  # index of 0.20 in NORMALIZED_PRECISION_THRESHOLDS

INVALID_FRAME_RULES = ("count", "exclude")


@dataclass
class OPECurves:
    """Per-sequence curves, plus the frame count that went into them."""

    success: np.ndarray
    precision: np.ndarray
    normalized_precision: np.ndarray
    frames: int


@dataclass
class OPEResult:
    success_curve: np.ndarray
    precision_curve: np.ndarray
    normalized_precision_curve: np.ndarray
    per_sequence: dict[str, OPECurves] = field(default_factory=dict)

    @property
    def auc(self) -> float:
        return float(np.mean(self.success_curve))

    @property
    def precision(self) -> float:
        return float(self.precision_curve[PRECISION_AT])

    @property
    def normalized_precision(self) -> float:
        return float(self.normalized_precision_curve[NORMALIZED_PRECISION_AT])

    def summary(self) -> dict[str, float | int]:
        return {"auc": self.auc, "precision": self.precision,
                "norm_precision": self.normalized_precision, "sequences": len(self.per_sequence)}


def valid_boxes(boxes: np.ndarray) -> np.ndarray:
    """Rows that describe a real box: finite and with positive width and height."""
    finite = np.isfinite(boxes).all(axis=1)
    with np.errstate(invalid="ignore"):
        return finite & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)


def _repair_predictions(predicted: np.ndarray, groundtruth: np.ndarray, gt_known: np.ndarray) -> np.ndarray:
    """First frame := ground truth; an invalid prediction repeats the previous one."""
    boxes = predicted.copy()
    boxes[0] = groundtruth[0]
    usable = valid_boxes(boxes)
    for index in range(1, len(boxes)):
        if not usable[index] and gt_known[index]:
            boxes[index] = boxes[index - 1]
    return boxes


def _centers(boxes: np.ndarray) -> np.ndarray:
    return boxes[:, :2] + boxes[:, 2:] / 2.0


def sequence_curves(predicted: np.ndarray, groundtruth: np.ndarray, visible: np.ndarray | None = None,
                    *, invalid_frames: str = "count", name: str = "sequence") -> OPECurves:
    """Success, precision and normalized-precision curves of one sequence."""
    if invalid_frames not in INVALID_FRAME_RULES:
        raise ValueError(f"invalid_frames={invalid_frames!r}; expected one of {INVALID_FRAME_RULES}")
    gt = np.asarray(groundtruth, dtype=np.float64).reshape(-1, 4)
    pred = np.asarray(predicted, dtype=np.float64).reshape(-1, 4)
    if len(pred) != len(gt):
        raise ValueError(f"{name}: {len(pred)} predicted boxes for {len(gt)} ground-truth frames")
    if len(gt) == 0:
        raise ValueError(f"{name}: empty sequence")
    scored = valid_boxes(gt)
    if visible is not None:
        flags = np.asarray(visible, dtype=bool)
        if flags.shape != (len(gt),):
            raise ValueError(f"{name}: visibility flags of shape {flags.shape} for {len(gt)} frames")
        scored &= flags
    boxes = _repair_predictions(pred, gt, np.isfinite(gt).all(axis=1))
    if invalid_frames == "exclude":
        boxes, gt, keep = boxes[scored], gt[scored], scored[scored]
    else:
        keep = scored
    frames = len(gt)
    if frames == 0:
        zeros = np.zeros
        return OPECurves(zeros(len(SUCCESS_THRESHOLDS)), zeros(len(PRECISION_THRESHOLDS)),
                         zeros(len(NORMALIZED_PRECISION_THRESHOLDS)), 0)
    iou = np.where(keep, box_iou(boxes, gt), -1.0)
    offset = _centers(boxes) - _centers(gt)
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.where(keep, np.hypot(offset[:, 0], offset[:, 1]), np.inf)
        normalized = np.where(keep, np.hypot(offset[:, 0] / gt[:, 2], offset[:, 1] / gt[:, 3]), np.inf)
    error = np.nan_to_num(error, nan=np.inf)
    normalized = np.nan_to_num(normalized, nan=np.inf)
    return OPECurves(
        success=(iou[:, None] > SUCCESS_THRESHOLDS[None, :]).mean(axis=0),
        precision=(error[:, None] <= PRECISION_THRESHOLDS[None, :]).mean(axis=0),
        normalized_precision=(normalized[:, None] <= NORMALIZED_PRECISION_THRESHOLDS[None, :]).mean(axis=0),
        frames=frames,
    )


def evaluate_ope(predictions: Mapping[str, np.ndarray], groundtruth: Mapping[str, np.ndarray],
                 visible: Mapping[str, np.ndarray | None] | None = None, *,
                 invalid_frames: str = "count") -> OPEResult:
    """Dataset-level OPE: the mean of per-sequence curves over the given sequences.

    Every sequence in ``groundtruth`` must have a prediction; a missing one is an error
    rather than a silently smaller benchmark.
    """
    missing = [name for name in groundtruth if name not in predictions]
    if missing:
        raise ValueError(f"no predictions for sequences {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if not groundtruth:
        raise ValueError("no sequences to evaluate")
    per_sequence = {
        name: sequence_curves(predictions[name], gt, (visible or {}).get(name),
                              invalid_frames=invalid_frames, name=name)
        for name, gt in groundtruth.items()
    }
    curves = list(per_sequence.values())
    return OPEResult(
        success_curve=np.mean([c.success for c in curves], axis=0),
        precision_curve=np.mean([c.precision for c in curves], axis=0),
        normalized_precision_curve=np.mean([c.normalized_precision for c in curves], axis=0),
        per_sequence=per_sequence,
    )
