"""Long-term metrics: VOT-LT tracking precision, recall and F-score, and the re-entry measure.

VOT-LT (Lukezic et al., "Now you see me", and vot-toolkit 0.9 ``vot.analysis.longterm``,
whose arithmetic is reproduced here and cross-checked in tests/evaluation):

* each run reports a region per frame and a confidence; frame 0 is the initialisation
  marker (overlap 0 with the target, confidence 0 unless given). Overlaps are raster
  IoUs bounded by the image, 0 where the target is absent;
* a frame where the tracker reports the target absent is reported at no threshold: its
  confidence is NaN here. This is the paper's definition (precision over the frames
  where the tracker reports the target). The toolkit's own analysis of a results folder
  differs on such frames: it takes a missing confidence as 0 and the overlap of two
  empty regions as 1, so an absent report on an absent frame adds to the recall's
  numerator (recall can exceed 1); we do not copy that;
* thresholds: the confidences of all runs of all sequences, NaN dropped, sorted in
  descending order; with more than ``resolution - 2`` of them, ``resolution - 2`` are
  picked at the rounded positions ``linspace(d, n - d, resolution - 2)``,
  ``d = floor(n / (resolution - 2))``; ``+inf`` and ``-inf`` are added at the ends;
* at threshold tau, a run's precision is the mean overlap over its frames with
  confidence >= tau (1 when there are none) and its recall the summed overlap of those
  frames over the number of frames where the target is visible; runs of a sequence are
  averaged, then sequences (each weighs the same);
* F(tau) = 2 Pr Re / (Pr + Re) (0 when both are 0); the reported ``lt_f`` is its maximum
  over tau, ``lt_precision`` and ``lt_recall`` the values at the first maximising tau.

Re-entry (issue #22): a re-entry is a frame where the target is visible after at least
``REENTRY_MIN_ABSENT`` frames in which it was not (and at least ``REENTRY_WINDOW``
frames remain); the tracker is back on target when, within ``REENTRY_WINDOW`` frames from
there, it reports the target present with IoU > 0.5. ``re_entry`` is the fraction of
re-entries after which it is.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trackerzoo.formats import results_io
from trackerzoo.formats.regions import INITIALIZATION, UNKNOWN, Rectangle, box_iou, region_overlaps

RESOLUTION = 100
REENTRY_MIN_ABSENT = 10
REENTRY_WINDOW = 30
REENTRY_IOU = 0.5


def confidence_thresholds(scores: Iterable[float], resolution: int = RESOLUTION) -> np.ndarray:
    """The thresholds of the precision/recall curves (module docstring), from the largest to ``-inf``.

    Raises ``ValueError`` for ``resolution`` < 3.
    """
    if resolution < 3:
        raise ValueError(f"resolution must be >= 3, got {resolution}")
    values = sorted((float(s) for s in scores if not math.isnan(float(s))), reverse=True)
    if len(values) > resolution - 2:
        delta = math.floor(len(values) / (resolution - 2))
        positions = np.round(np.linspace(delta, len(values) - delta, num=resolution - 2)).astype(int)
        values = [values[i] for i in positions]
    return np.array([math.inf, *values, -math.inf], dtype=np.float64)


def run_precision_recall(overlaps: np.ndarray, confidence: np.ndarray, visible_frames: int,
                         thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall of one run at each threshold (``[K]`` each).

    ``overlaps`` and ``confidence`` are ``[T]`` (frame 0 included); ``visible_frames`` the
    frames where the target is visible. Raises ``ValueError`` for mismatched lengths or
    ``visible_frames`` < 1.
    """
    overlaps = np.asarray(overlaps, dtype=np.float64)
    confidence = np.asarray(confidence, dtype=np.float64)
    if overlaps.shape != confidence.shape:
        raise ValueError(f"{overlaps.shape[0]} overlaps for {confidence.shape[0]} confidences")
    if visible_frames < 1:
        raise ValueError(f"visible_frames must be >= 1, got {visible_frames}")
    reported = confidence[None, :] >= np.asarray(thresholds, dtype=np.float64)[:, None]  # [K, T]
    counts = reported.sum(axis=1)
    sums = (reported * overlaps[None, :]).sum(axis=1)
    precision = np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)
    recall = np.where(counts > 0, sums / visible_frames, 0.0)
    return precision, recall


@dataclass(frozen=True)
class LongTermRun:
    """One run of one sequence: per-frame overlaps and confidences ``[T]``; frames with the target visible."""

    overlaps: np.ndarray
    confidence: np.ndarray
    visible_frames: int


@dataclass
class LongTermResult:
    precision: float
    recall: float
    f: float
    thresholds: np.ndarray
    precision_curve: np.ndarray
    recall_curve: np.ndarray
    f_curve: np.ndarray
    per_sequence: dict[str, dict[str, float]] = field(default_factory=dict)


def evaluate_longterm(runs: Mapping[str, Sequence[LongTermRun]], resolution: int = RESOLUTION) -> LongTermResult:
    """VOT-LT precision, recall and F over sequences (module docstring).

    Sequences without a visible frame are left out (nothing to recall); when none is left
    every number is NaN. Raises ``ValueError`` for a sequence without runs.
    """
    empty = [name for name, seq in runs.items() if not seq]
    if empty:
        raise ValueError(f"no runs for sequence(s) {empty[:5]}")
    scored = {name: seq for name, seq in runs.items() if all(run.visible_frames > 0 for run in seq)}
    thresholds = confidence_thresholds(
        np.concatenate([run.confidence for seq in scored.values() for run in seq]) if scored else [], resolution)
    if not scored:
        nan = np.full(thresholds.shape, math.nan)
        return LongTermResult(math.nan, math.nan, math.nan, thresholds, nan, nan, nan)
    precision_sum = np.zeros(thresholds.shape)
    recall_sum = np.zeros(thresholds.shape)
    per_sequence = {}
    for name, seq in scored.items():
        curves = [run_precision_recall(run.overlaps, run.confidence, run.visible_frames, thresholds) for run in seq]
        precision = np.mean([c[0] for c in curves], axis=0)
        recall = np.mean([c[1] for c in curves], axis=0)
        precision_sum += precision
        recall_sum += recall
        per_sequence[name] = {"runs": len(seq)}
    precision = precision_sum / len(scored)
    recall = recall_sum / len(scored)
    denominator = precision + recall
    f = np.where(denominator > 0, 2.0 * precision * recall / np.where(denominator > 0, denominator, 1.0), 0.0)
    best = int(np.argmax(f))
    return LongTermResult(float(precision[best]), float(recall[best]), float(f[best]), thresholds,
                          precision, recall, f, per_sequence)


def re_entries(visible: np.ndarray, *, min_absent: int = REENTRY_MIN_ABSENT,
               window: int = REENTRY_WINDOW) -> list[int]:
    """Frames where the target becomes visible after >= ``min_absent`` frames without it (``window`` frames left)."""
    flags = np.asarray(visible, dtype=bool)
    found, hidden = [], 0
    for index, flag in enumerate(flags):
        if flag:
            if hidden >= min_absent and index + window <= flags.size:
                found.append(index)
            hidden = 0
        else:
            hidden += 1
    return found


def re_entry_hits(ious: np.ndarray, present: np.ndarray, visible: np.ndarray, *,
                  min_absent: int = REENTRY_MIN_ABSENT, window: int = REENTRY_WINDOW,
                  iou: float = REENTRY_IOU) -> tuple[int, int]:
    """``(re-entries back on target within window frames, re-entries)`` of one sequence.

    ``ious``, ``present`` and ``visible`` are per frame ``[T]``: the box IoU with the
    ground truth, whether the tracker reported the target, whether it is visible.
    """
    ious, present = np.asarray(ious, dtype=np.float64), np.asarray(present, dtype=bool)
    starts = re_entries(visible, min_absent=min_absent, window=window)
    hits = sum(bool(np.any(present[t:t + window] & (ious[t:t + window] > iou))) for t in starts)
    return hits, len(starts)


# --------------------------------------------------------------------------- result folders

def has_absent_frames(dataset: Iterable[Any]) -> bool:
    """Whether some sequence has a frame after the first without a visible target (long-term metrics apply)."""
    return any(seq.visible is not None and not np.all(np.asarray(seq.visible, dtype=bool)[1:]) for seq in dataset)


def presence_and_confidence(folder: str | os.PathLike, sequence: Any) -> tuple[np.ndarray, np.ndarray]:
    """``[T]`` reported presence and confidence of a sequence's box results in ``folder``.

    From ``<seq>_present.value`` and ``<seq>_confidence.value`` (``results_io``); without
    them every frame is reported present with confidence 0 (the toolkit's default for a
    missing confidence). Frame 0 is present; a blank confidence is 0. Raises
    ``ValueError`` naming the file when a file's length is not the sequence's.
    """
    length = len(sequence)
    present_file = results_io.presence_path(folder, sequence.name)
    present = results_io.read_presence(present_file) if present_file.is_file() else np.ones(length, dtype=bool)
    confidence_file = results_io.confidence_path(folder, sequence.name)
    confidence = results_io.read_times(confidence_file) if confidence_file.is_file() else np.zeros(length)
    for path, values in ((present_file, present), (confidence_file, confidence)):
        if len(values) != length:
            raise ValueError(f"{os.fspath(path)!r} has {len(values)} lines for {length} frames")
    present[0] = True
    return present, np.nan_to_num(confidence, nan=0.0)


def longterm_metrics(folder: str | os.PathLike, dataset: Iterable[Any], predictions: Mapping[str, np.ndarray],
                     image_sizes: Mapping[str, tuple[int, int]]) -> dict[str, float]:
    """``lt_precision``, ``lt_recall``, ``lt_f``, ``re_entry`` and ``auc_present`` of box results.

    ``predictions[name]`` are the ``[T, 4]`` boxes (``x, y, w, h`` pixels) read from
    ``folder``, ``image_sizes[name]`` ``(width, height)``; presence and confidence come
    from ``presence_and_confidence``, and a frame whose box is not finite counts as not
    reported (an empty region, the toolkit's absence). A frame counts as visible when the sequence's
    ``visible`` flag is set (all frames without flags) and its box is finite.
    """
    from trackerzoo.evaluation.ope import evaluate_ope

    sequences = list(dataset)
    runs, hits, entries = {}, 0, 0
    for seq in sequences:
        boxes = np.asarray(predictions[seq.name], dtype=np.float64)
        present, confidence = presence_and_confidence(Path(folder), seq)
        # A box that is not finite (e.g. the box of an empty mask) is no region: not reported,
        # as the toolkit's empty region. The first frame is the initialisation.
        present = present & np.isfinite(boxes).all(axis=1)
        present[0] = True
        flags = seq.visible if seq.visible is not None else np.ones(len(seq), dtype=bool)
        visible = np.asarray(flags, dtype=bool) & np.isfinite(seq.boxes).all(axis=1)
        predicted = [INITIALIZATION] + [Rectangle(*box) if flag else UNKNOWN
                                        for box, flag in zip(boxes[1:], present[1:], strict=True)]
        truth = [Rectangle(*box) if flag else UNKNOWN for box, flag in zip(seq.boxes, visible, strict=True)]
        overlaps = region_overlaps(predicted, truth, image_sizes[seq.name])
        reported = np.where(present, confidence, np.nan)  # an absent report is no report at any threshold
        reported[0] = confidence[0]
        runs[seq.name] = [LongTermRun(overlaps, reported, int(visible.sum()))]
        ious = np.where(visible, box_iou(np.nan_to_num(boxes), np.nan_to_num(seq.boxes)), 0.0)
        found, count = re_entry_hits(ious, present, visible)
        hits, entries = hits + found, entries + count
    result = evaluate_longterm(runs)
    absent_excluded = evaluate_ope({name: np.asarray(boxes) for name, boxes in predictions.items()},
                                   {seq.name: seq.boxes for seq in sequences},
                                   {seq.name: seq.visible for seq in sequences}, invalid_frames="exclude")
    return {"lt_precision": result.precision, "lt_recall": result.recall, "lt_f": result.f,
            "re_entry": hits / entries if entries else math.nan, "auc_present": absent_excluded.auc}
