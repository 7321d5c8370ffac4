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
from trackerzoo.session import run_ope


def track_sequence(tracker: Any, sequence: Any, max_frames: int | None = None) -> np.ndarray:
    """One OPE run (``trackerzoo.session.run_ope``) of the first ``max_frames`` frames; the ``[T, 4]`` boxes."""
    return run_ope(tracker, sequence, max_frames=max_frames)[0]


def ope_evaluator(
    make_tracker: Callable[[nn.Module, torch.device], Any],
    sequences: Iterable[Any],
    *,
    max_frames: int | None = None,
    prefix: str = "val_",
) -> Callable[[nn.Module, torch.device], dict[str, float]]:
    """An ``evaluate(model, device)`` for :class:`~trackerzoo.training.Recipe` that tracks
    ``sequences`` (first ``max_frames`` frames of each) and returns
    ``{prefix + "auc", prefix + "precision", prefix + "norm_precision"}``."""
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
            f"{prefix}norm_precision": result.normalized_precision,
        }

    return evaluate
