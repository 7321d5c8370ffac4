"""Validation by tracking: run the model as a tracker and score it with OPE.

The validation loss says whether the network fits its training objective; whether it
tracks better is what the zoo cares about. A recipe turns its model into a tracker
with ``make_tracker(model, device)`` and passes :func:`ope_evaluator` as its
``evaluate`` callable; the trainer then logs success AUC and precision (the OTB/LaSOT
definitions of :mod:`trackerzoo.evaluation.ope`) at every validation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from trackerzoo.evaluation.ope import evaluate_ope


def track_sequence(tracker: Any, sequence: Any, max_frames: int | None = None) -> np.ndarray:
    """One OPE run: initialise on frame 0 (with the mask when the tracker accepts one),
    then track; returns the ``[T, 4]`` boxes (frame 0 is the ground truth)."""
    length = len(sequence) if max_frames is None else min(len(sequence), max_frames)
    boxes = np.full((length, 4), np.nan)
    first_box = np.asarray(sequence.boxes[0], dtype=np.float64)
    if not np.all(np.isfinite(first_box)):
        raise ValueError(f"sequence {sequence.name!r} has no ground-truth box on frame 0 to initialise from")
    mask = None
    if getattr(tracker, "accepts_mask", False) and getattr(sequence, "has_masks", False):
        mask = sequence.mask(0)
    if mask is not None and mask.any():
        tracker.initialize(sequence.frame(0), mask=mask)
    else:
        tracker.initialize(sequence.frame(0), box=tuple(float(v) for v in first_box))
    boxes[0] = first_box
    for index in range(1, length):
        boxes[index] = np.asarray(tracker.track(sequence.frame(index)).box, dtype=np.float64)
    return boxes


def ope_evaluator(
    make_tracker: Callable[[nn.Module, torch.device], Any],
    sequences: Iterable[Any],
    *,
    max_frames: int | None = None,
    prefix: str = "val_",
) -> Callable[[nn.Module, torch.device], dict[str, float]]:
    """An ``evaluate(model, device)`` for :class:`~trackerzoo.training.Recipe` that tracks
    ``sequences`` (first ``max_frames`` frames of each) and returns
    ``{prefix + "auc", prefix + "precision", prefix + "normalized_precision"}``."""
    sequences = list(getattr(sequences, "sequences", sequences))
    if not sequences:
        raise ValueError("ope_evaluator needs at least one validation sequence")
    names = [sequence.name for sequence in sequences]
    if len(set(names)) != len(names):
        raise ValueError(f"validation sequence names must be unique, got {names}")

    def evaluate(model: nn.Module, device: torch.device) -> dict[str, float]:
        predictions, groundtruth, visible = {}, {}, {}
        for sequence in sequences:
            tracker = make_tracker(model, device)
            boxes = track_sequence(tracker, sequence, max_frames)
            predictions[sequence.name] = boxes
            groundtruth[sequence.name] = np.asarray(sequence.boxes[: len(boxes)], dtype=np.float64)
            flags = getattr(sequence, "visible", None)
            visible[sequence.name] = None if flags is None else np.asarray(flags[: len(boxes)], dtype=bool)
        result = evaluate_ope(predictions, groundtruth, visible)
        return {
            f"{prefix}auc": result.auc,
            f"{prefix}precision": result.precision,
            f"{prefix}normalized_precision": result.normalized_precision,
        }

    return evaluate
