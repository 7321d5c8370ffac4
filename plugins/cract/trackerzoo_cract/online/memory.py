"""Short-long sample memory of the discriminator (MDNet's update strategy, adopted by the paper).

Positives stay long (the target's appearance from the last ``long_term_frames`` frames,
plus the first frame for the whole sequence: it is the only sample known to be right);
negatives stay short (the background of the last ``short_term_frames`` frames), because
the background changes faster than the target and stale negatives mislead.
"""

from __future__ import annotations

import dataclasses

import torch


@dataclasses.dataclass
class SampleSet:
    frame: int
    projected: torch.Tensor  # [K, D] conv-stage output of the discriminator
    labels: torch.Tensor  # [K], 1 = target, 0 = background


class ShortLongMemory:
    def __init__(self, long_term_frames: int, short_term_frames: int) -> None:
        self.long_term_frames = long_term_frames
        self.short_term_frames = short_term_frames
        self.initial: SampleSet | None = None
        self.recent: list[SampleSet] = []

    def reset(self, initial: SampleSet) -> None:
        self.initial = initial
        self.recent = []

    def add(self, samples: SampleSet) -> None:
        self.recent.append(samples)
        horizon = max(self.long_term_frames, self.short_term_frames)
        self.recent = [s for s in self.recent if samples.frame - s.frame < horizon]

    def training_set(self, frame: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(projected, labels, weights)`` for an update at ``frame``.

        Weights are balanced per class (each class sums to 0.5), so the few positives are
        not outvoted by the many negatives and the scores stay calibrated around 0/1,
        which matters because Eq. 9 adds them to the identifier's probabilities.
        """
        if self.initial is None:
            raise RuntimeError("the discriminator memory is empty: initialise the tracker first")
        positives, negatives = [], []
        for samples in [self.initial, *self.recent]:
            age = frame - samples.frame
            is_positive = samples.labels > 0.5
            if samples is self.initial or age < self.long_term_frames:
                positives.append(samples.projected[is_positive])
            if age < self.short_term_frames:
                negatives.append(samples.projected[~is_positive])
        if sum(n.shape[0] for n in negatives) == 0:  # no recent background: fall back to the first frame's
            negatives.append(self.initial.projected[self.initial.labels <= 0.5])
        pos = torch.cat(positives)
        neg = torch.cat(negatives)
        projected = torch.cat((pos, neg))
        labels = torch.cat((torch.ones(pos.shape[0]), torch.zeros(neg.shape[0]))).to(projected)
        weights = torch.cat((
            torch.full((pos.shape[0],), 0.5 / max(pos.shape[0], 1)),
            torch.full((neg.shape[0],), 0.5 / max(neg.shape[0], 1)),
        )).to(projected)
        return projected, labels, weights
