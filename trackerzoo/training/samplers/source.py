"""Which sequence and which frames a training sample comes from.

Shared by the pair and the sequence samplers: both draw a dataset (by weight), a
sequence in it, and frames whose box is known and whose target is visible, within a
maximum frame gap of each other (the gap bounds how much the target may change
between the frames a tracker learns to match).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def _sequences_of(dataset: Any) -> list[Any]:
    sequences = getattr(dataset, "sequences", None)
    return list(sequences) if sequences is not None else list(dataset)


class SequencePool:
    """Datasets with weights, and the usable frames of every sequence (computed on first use)."""

    def __init__(
        self,
        datasets: Any | Sequence[Any],
        weights: Sequence[float] | None = None,
        *,
        require_masks: bool = False,
    ) -> None:
        if hasattr(datasets, "sequences"):
            datasets = [datasets]
        groups = [_sequences_of(dataset) for dataset in datasets]
        if require_masks:
            groups = [[seq for seq in group if getattr(seq, "has_masks", False)] for group in groups]
        if weights is None:
            weights = [float(len(group)) for group in groups]
        if len(weights) != len(groups):
            raise ValueError(f"got {len(weights)} dataset weights for {len(groups)} datasets")
        if any(w < 0 for w in weights):
            raise ValueError(f"dataset weights must be >= 0, got {list(weights)}")
        kept = [(group, float(w)) for group, w in zip(groups, weights, strict=True) if group and w > 0]
        if not kept:
            what = "sequences with masks" if require_masks else "sequences"
            raise ValueError(f"no {what} to sample from (datasets: {[len(g) for g in groups]} sequences)")
        self.groups = [group for group, _ in kept]
        total = sum(w for _, w in kept)
        self.probabilities = np.array([w / total for _, w in kept])
        self._valid: dict[int, np.ndarray] = {}

    @property
    def sequences(self) -> Iterable[Any]:
        for group in self.groups:
            yield from group

    @property
    def all_have_masks(self) -> bool:
        return all(getattr(seq, "has_masks", False) for seq in self.sequences)

    def valid_frames(self, sequence: Any) -> np.ndarray:
        """Indices of the frames with a finite, non-empty box and a visible target."""
        key = id(sequence)
        if key not in self._valid:
            boxes = np.asarray(sequence.boxes, dtype=np.float64)
            usable = np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
            visible = getattr(sequence, "visible", None)
            if visible is not None:
                usable &= np.asarray(visible, dtype=bool)
            usable = usable[: len(sequence)]
            self._valid[key] = np.flatnonzero(usable)
        return self._valid[key]

    def draw_sequence(self, rng: np.random.Generator) -> Any:
        group = self.groups[int(rng.choice(len(self.groups), p=self.probabilities))]
        return group[int(rng.integers(len(group)))]

    def draw_frames(
        self, rng: np.random.Generator, count: int, max_gap: int, attempts: int = 100
    ) -> tuple[Any, np.ndarray]:
        """A sequence and ``count`` usable frame indices, the first a random base frame and the
        others distinct frames at most ``max_gap`` before or after it.

        ``count`` = 2 gives a template/search pair; a sequence with a single usable frame
        (a still image) gives that frame twice, as Siamese training on image datasets does.
        """
        for _ in range(attempts):
            sequence = self.draw_sequence(rng)
            valid = self.valid_frames(sequence)
            if valid.size == 0:
                continue
            base = int(valid[rng.integers(valid.size)])
            window = valid[(valid >= base - max_gap) & (valid <= base + max_gap)]
            others = window[window != base]
            if others.size >= count - 1:
                chosen = rng.choice(others, size=count - 1, replace=False) if count > 1 else others[:0]
            elif count == 2 and others.size == 0 and valid.size == 1:
                chosen = np.array([base])  # a single annotated image: template and search from it
            else:
                continue
            frames = np.concatenate([[base], chosen]).astype(np.int64)
            return sequence, frames
        raise ValueError(
            f"could not find {count} usable frames within a gap of {max_gap} in {attempts} attempts; "
            "increase max_gap or use longer sequences"
        )
