"""DAVIS video-object-segmentation metrics: region similarity J and contour accuracy F.

Definitions of the DAVIS benchmark (davis2017-evaluation), per object and frame;
J/F per frame are cross-checked against ``vos-benchmark``:

* J = |pred & gt| / |pred | gt| over pixels that are not void (label 255 in the
  annotation); an empty union scores 1;
* F = harmonic mean of boundary precision and recall. Boundaries are the pixels
  whose right, lower or lower-right neighbour differs (the last row/column compare
  to the neighbour inside the image only); a boundary pixel matches when the other
  boundary, dilated with a disk of radius ``ceil(0.008 * image diagonal)`` (8 px at
  480x854), covers it. Void pixels are removed from both masks first. No predicted
  boundary: precision 1; no ground-truth boundary: recall 1;
* semi-supervised protocol: the first frame (given) and the last frame are not scored;
* per object: mean, recall (fraction of frames above 0.5) and decay (mean of the
  first quarter minus mean of the last quarter of the frames, with DAVIS's
  overlapping quarter boundaries); dataset scores average the objects, and
  JF = (mean J + mean F) / 2 (DAVIS's J&F). Summary keys: ``J``, ``F``, ``JF`` (means) and
  ``J_recall``, ``J_decay``, ``F_recall``, ``F_decay``.

**Absent targets**: a frame where the object is absent in both ground truth and
prediction scores J = 1 and F = 1 (nothing to segment, nothing segmented), as in
DAVIS; predicting pixels for an absent object scores 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

BOUNDARY_FRACTION = 0.008


def region_similarity(predicted: np.ndarray, groundtruth: np.ndarray, void: np.ndarray | None = None) -> float:
    """J of one frame."""
    pred = np.asarray(predicted, dtype=bool)
    gt = np.asarray(groundtruth, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f"predicted mask {pred.shape} and ground truth {gt.shape} differ in size")
    keep = ~np.asarray(void, dtype=bool) if void is not None else np.ones_like(gt)
    union = np.count_nonzero((pred | gt) & keep)
    if union == 0:
        return 1.0
    return np.count_nonzero(pred & gt & keep) / union


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` whose right, lower or lower-right neighbour has the other value."""
    seg = np.asarray(mask, dtype=bool)
    right = np.zeros_like(seg)
    below = np.zeros_like(seg)
    diagonal = np.zeros_like(seg)
    right[:, :-1] = seg[:, 1:]
    below[:-1, :] = seg[1:, :]
    diagonal[:-1, :-1] = seg[1:, 1:]
    boundary = (seg ^ right) | (seg ^ below) | (seg ^ diagonal)
    boundary[-1, :] = seg[-1, :] ^ right[-1, :]
    boundary[:, -1] = seg[:, -1] ^ below[:, -1]
    boundary[-1, -1] = False
    return boundary


def boundary_tolerance(shape: tuple[int, int], fraction: float = BOUNDARY_FRACTION) -> int:
    """Matching distance in pixels: ``fraction`` of the image diagonal, rounded up."""
    return math.ceil(fraction * math.hypot(shape[0], shape[1]))


def _disk(radius: int) -> np.ndarray:
    offsets = np.arange(-radius, radius + 1)
    return (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius ** 2).astype(np.uint8)


def contour_accuracy(predicted: np.ndarray, groundtruth: np.ndarray, void: np.ndarray | None = None,
                     fraction: float = BOUNDARY_FRACTION) -> float:
    """F of one frame."""
    pred = np.asarray(predicted, dtype=bool)
    gt = np.asarray(groundtruth, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f"predicted mask {pred.shape} and ground truth {gt.shape} differ in size")
    if void is not None:
        keep = ~np.asarray(void, dtype=bool)
        pred, gt = pred & keep, gt & keep
    pred_boundary = boundary_map(pred)
    gt_boundary = boundary_map(gt)
    kernel = _disk(boundary_tolerance(gt.shape, fraction))
    pred_dilated = cv2.dilate(pred_boundary.astype(np.uint8), kernel).astype(bool)
    gt_dilated = cv2.dilate(gt_boundary.astype(np.uint8), kernel).astype(bool)
    n_pred = np.count_nonzero(pred_boundary)
    n_gt = np.count_nonzero(gt_boundary)
    if n_pred == 0 and n_gt == 0:
        return 1.0
    precision = np.count_nonzero(pred_boundary & gt_dilated) / n_pred if n_pred else 1.0
    recall = np.count_nonzero(gt_boundary & pred_dilated) / n_gt if n_gt else 1.0
    if n_pred and not n_gt:
        precision = 0.0
    if n_gt and not n_pred:
        recall = 0.0
    if precision + recall == 0:
        return 0.0
    return 2.0 * precision * recall / (precision + recall)


def statistics(values: np.ndarray) -> tuple[float, float, float]:
    """DAVIS (mean, recall, decay) of per-frame values.

    Decay splits the frames into four bins at ``round(linspace(1, n, 5)) - 1``; each
    bin includes its right edge, so neighbouring bins share a frame. (davis2017-evaluation
    stores those edges as uint8, which wraps around beyond 255 frames; DAVIS sequences
    are shorter, and we keep exact integers so longer sequences get a meaningful decay.)
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.mean(v))
    recall = float(np.mean(v > 0.5))
    edges = (np.round(np.linspace(1, v.size, 5) + 1e-10) - 1).astype(np.int64)
    bins = [v[edges[i]:edges[i + 1] + 1] for i in range(4)]
    decay = float(np.mean(bins[0]) - np.mean(bins[3]))
    return mean, recall, decay


@dataclass
class DAVISResult:
    j_mean: float
    j_recall: float
    j_decay: float
    f_mean: float
    f_recall: float
    f_decay: float
    per_object: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def jf_mean(self) -> float:
        return (self.j_mean + self.f_mean) / 2.0

    def summary(self) -> dict[str, float | int]:
        return {"JF": self.jf_mean, "J": self.j_mean, "J_recall": self.j_recall, "J_decay": self.j_decay,
                "F": self.f_mean, "F_recall": self.f_recall, "F_decay": self.f_decay,
                "objects": len(self.per_object)}


def object_scores(predicted: Sequence[np.ndarray], groundtruth: Sequence[np.ndarray],
                  void: Sequence[np.ndarray | None] | None = None, *, skip_first_and_last: bool = True,
                  name: str = "object") -> tuple[np.ndarray, np.ndarray]:
    """Per-frame J and F of one object over its scored frames."""
    if len(predicted) != len(groundtruth):
        raise ValueError(f"{name}: {len(predicted)} predicted masks for {len(groundtruth)} annotated frames")
    indices = range(1, len(groundtruth) - 1) if skip_first_and_last else range(len(groundtruth))
    j_values, f_values = [], []
    for i in indices:
        void_i = void[i] if void is not None else None
        pred = predicted[i] if predicted[i] is not None else np.zeros_like(groundtruth[i], dtype=bool)
        j_values.append(region_similarity(pred, groundtruth[i], void_i))
        f_values.append(contour_accuracy(pred, groundtruth[i], void_i))
    return np.asarray(j_values), np.asarray(f_values)


def evaluate_davis(predictions: Mapping[str, Sequence[np.ndarray]], groundtruth: Mapping[str, Sequence[np.ndarray]],
                   voids: Mapping[str, Sequence[np.ndarray | None]] | None = None, *,
                   skip_first_and_last: bool = True) -> DAVISResult:
    """Dataset J/F: per-object statistics averaged over objects (one key per object)."""
    missing = [name for name in groundtruth if name not in predictions]
    if missing:
        raise ValueError(f"no predictions for objects {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if not groundtruth:
        raise ValueError("no objects to evaluate")
    per_object: dict[str, dict[str, float]] = {}
    for name, gt in groundtruth.items():
        j, f = object_scores(predictions[name], gt, (voids or {}).get(name),
                             skip_first_and_last=skip_first_and_last, name=name)
        jm, jr, jd = statistics(j)
        fm, fr, fd = statistics(f)
        per_object[name] = {"J": jm, "J_recall": jr, "J_decay": jd, "F": fm, "F_recall": fr,
                            "F_decay": fd}

    def average(key: str) -> float:
        return float(np.nanmean([scores[key] for scores in per_object.values()]))

    return DAVISResult(average("J"), average("J_recall"), average("J_decay"), average("F"),
                       average("F_recall"), average("F_decay"), per_object)
